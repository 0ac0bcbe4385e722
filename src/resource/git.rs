//! `git`: a working copy of a repository at a version, idempotent on the commit.
//!
//! The module is about git, so the host's `git` does the work. The probe reads the working
//! copy (its `HEAD` commit, the remote's URL, whether tracked files were modified) and asks
//! the repository which commit `version` names (`git ls-remote`, as Ansible's check mode
//! does: a branch, a tag, dereferenced when annotated, or `HEAD`; anything else is taken as a
//! commit). The copy is converged when its `HEAD` is that commit and its remote URL is
//! `repo`. The apply script clones (`--depth`, `--branch`), or fetches and checks the version
//! out (a branch is reset to the remote's, as Ansible does), re-checking everything on the
//! host. The task registers `before` and `after` (commits) and `remote_url_changed`.
//!
//! Differences from Ansible: submodules are not updated (`recursive` and `track_submodules`
//! are accepted and have no effect); `clone: false` with no working copy is converged rather
//! than reported as changed; `bare`, `archive`, `separate_git_dir`, `reference`, `refspec`,
//! `verify_commit`, `key_file`, `ssh_opts`, `executable` and `umask` are refused when given a
//! value other than their default, and `accept_hostkey`/`accept_newhostkey` pass
//! `StrictHostKeyChecking` to ssh.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value as Json};

use super::lifecycle::{key_values, plain_path, value_of, Args, BuildContext, Resource, Step};
use super::support::{detach_stdin, yes_no};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Checks out a repository at a version.
///
/// ```yaml
/// - git:
///     repo: https://github.com/example/app.git
///     dest: /srv/app
///     version: v1.4.2
///   register: app_checkout
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "git",
    fqcn: "ansible.builtin.git",
    params: &[
        P::new("repo", Str).required().aliases(&["name"]),
        P::new("dest", Path).required(),
        P::new("version", Str).default(D::Str("HEAD")),
        P::new("remote", Str).default(D::Str("origin")),
        P::new("force", Bool).default(D::Bool(false)),
        P::new("depth", Int),
        P::new("clone", Bool).default(D::Bool(true)),
        P::new("update", Bool).default(D::Bool(true)),
        P::new("accept_hostkey", Bool).default(D::Bool(false)),
        P::new("accept_newhostkey", Bool).default(D::Bool(false)),
        P::new("recursive", Bool).default(D::Bool(true)),
        P::new("track_submodules", Bool).default(D::Bool(false)),
        P::new("single_branch", Bool).default(D::Bool(false)),
        P::new("refspec", Str),
        P::new("reference", Str),
        P::new("verify_commit", Bool).default(D::Bool(false)),
        P::new("gpg_allowlist", List).aliases(&["gpg_whitelist"]),
        P::new("key_file", Path),
        P::new("ssh_opts", Str),
        P::new("executable", Path),
        P::new("bare", Bool).default(D::Bool(false)),
        P::new("umask", Raw),
        P::new("archive", Path),
        P::new("archive_prefix", Str),
        P::new("separate_git_dir", Path),
    ],
    mutually_exclusive: &[&["separate_git_dir", "bare"], &["accept_hostkey", "accept_newhostkey"]],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&[
        "refspec",
        "reference",
        "verify_commit",
        "key_file",
        "ssh_opts",
        "executable",
        "bare",
        "umask",
        "archive",
        "archive_prefix",
        "separate_git_dir",
    ])?;
    let depth = match args.int("depth")? {
        Some(depth) if depth < 1 => bail!("`depth` must be a positive number of commits"),
        other => other.map(|d| d as u64),
    };
    let ssh_command = if args.flag("accept_hostkey")? {
        Some("ssh -o StrictHostKeyChecking=no")
    } else if args.flag("accept_newhostkey")? {
        Some("ssh -o StrictHostKeyChecking=accept-new")
    } else {
        None
    };
    // As Ansible: a path is a `file://` URL (`depth` needs one), and is recorded so.
    let mut repo = args.required_str("repo")?;
    if repo.starts_with('/') {
        repo = format!("file://{repo}");
    }
    Ok(Box::new(Git {
        repo,
        dest: args.required_str("dest")?,
        version: args.str("version")?.unwrap_or_else(|| "HEAD".into()),
        remote: args.str("remote")?.unwrap_or_else(|| "origin".into()),
        force: args.flag("force")?,
        depth,
        clone: args.bool("clone")?.unwrap_or(true),
        update: args.bool("update")?.unwrap_or(true),
        single_branch: args.flag("single_branch")?,
        ssh_command,
    }))
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Git {
    pub repo: String,
    pub dest: String,
    pub version: String,
    pub remote: String,
    pub force: bool,
    pub depth: Option<u64>,
    pub clone: bool,
    pub update: bool,
    pub single_branch: bool,
    /// `GIT_SSH_COMMAND` for `accept_hostkey`/`accept_newhostkey`.
    pub ssh_command: Option<&'static str>,
}

/// What the version names on the remote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Remote {
    /// A branch (or the remote's `HEAD`) at this commit.
    Branch { name: Option<String>, commit: String },
    /// A tag at this commit (dereferenced).
    Tag(String),
    /// Not a ref the remote has: taken as a commit, as Ansible takes it.
    Commit(String),
}

impl Remote {
    pub fn commit(&self) -> &str {
        match self {
            Remote::Branch { commit, .. } | Remote::Tag(commit) | Remote::Commit(commit) => commit,
        }
    }
}

/// What the probe saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkout {
    /// The working copy's `HEAD` commit, when there is one.
    pub head: Option<String>,
    pub url: Option<String>,
    pub local_mods: bool,
    pub remote: Remote,
}

/// The commit `version` names among `git ls-remote` lines (`SHA<TAB>REF`).
pub fn remote_commit(version: &str, refs: &[(String, String)]) -> Remote {
    let find = |name: &str| refs.iter().find(|(_, r)| r == name).map(|(sha, _)| sha.clone());
    if version == "HEAD" {
        if let Some(commit) = find("HEAD") {
            // The branch the remote's HEAD points at, when a branch has the same commit.
            let name = refs
                .iter()
                .find(|(sha, r)| *sha == commit && r.starts_with("refs/heads/"))
                .map(|(_, r)| r.trim_start_matches("refs/heads/").to_string());
            return Remote::Branch { name, commit };
        }
    }
    if let Some(commit) = find(&format!("refs/heads/{version}")) {
        return Remote::Branch {
            name: Some(version.to_string()),
            commit,
        };
    }
    if let Some(commit) = find(&format!("refs/tags/{version}^{{}}")).or_else(|| find(&format!("refs/tags/{version}"))) {
        return Remote::Tag(commit);
    }
    Remote::Commit(version.to_string())
}

impl Git {
    fn git_dir_test(&self) -> &'static str {
        r#"[ -e "$d/.git/config" ]"#
    }

    fn variables(&self, script: &mut Script) {
        script.line(
            "r={}; d={}; v={}; o={}",
            &[&self.repo, &self.dest, &self.version, &self.remote],
        );
        if let Some(command) = self.ssh_command {
            script.line("GIT_SSH_COMMAND={}; export GIT_SSH_COMMAND", &[command]);
        }
        script.raw("GIT_TERMINAL_PROMPT=0; export GIT_TERMINAL_PROMPT");
    }
}

/// `git status --porcelain` lines other than untracked files, as Ansible counts local
/// modifications.
const LOCAL_MODS: &str = r#"deploy_git_mods() {
  git -C "$d" status --porcelain | while IFS= read -r _l; do case $_l in '??'*) ;; *) echo yes; break;; esac; done
}"#;

impl Resource for Git {
    type State = Checkout;

    fn target(&self) -> String {
        format!("{} @ {}", self.dest, self.version)
    }

    fn key(&self) -> String {
        self.dest.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.raw("command -v git >/dev/null || { echo 'git is not installed on the host' >&2; exit 1; }");
        self.variables(&mut script);
        script.raw(LOCAL_MODS);
        script.raw(self.git_dir_test());
        script.raw(r#"if [ $? -eq 0 ]; then
  echo "head=$(git -C "$d" rev-parse --verify -q HEAD)"
  echo "url=$(git -C "$d" config --get "remote.$o.url")"
  if [ -n "$(deploy_git_mods)" ]; then echo local_mods=yes; else echo local_mods=no; fi
fi"#);
        // Every ref: `version` may name a branch, a tag or the remote's HEAD.
        script.raw(r#"_refs=$(git ls-remote "$r") || exit 1
printf '%s\n' "$_refs" | while read -r _sha _ref; do [ -n "$_sha" ] && echo "ref=$_sha $_ref"; done"#);
        script
    }

    fn inspect(&self, out: &Section) -> Result<Checkout> {
        let pairs = key_values(out)?;
        let refs: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k == "ref")
            .map(|(_, v)| {
                let (sha, name) = v.split_once(' ').unwrap_or((v, ""));
                (sha.to_string(), name.to_string())
            })
            .collect();
        let exists = pairs.iter().any(|(k, _)| k == "head");
        let head = value_of(&pairs, "head").filter(|h| !h.is_empty()).map(str::to_string);
        let local_mods = if exists {
            yes_no(value_of(&pairs, "local_mods"), "local_mods")?
        } else {
            false
        };
        let checkout = Checkout {
            head,
            url: value_of(&pairs, "url").filter(|u| !u.is_empty()).map(str::to_string),
            local_mods,
            remote: remote_commit(&self.version, &refs),
        };
        if exists && self.update && checkout.local_mods && !self.force {
            bail!(
                "Local modifications exist in the destination: {} (force=no).",
                self.dest
            );
        }
        Ok(checkout)
    }

    fn diff(&self, have: &Checkout) -> Diff {
        let wanted = have.remote.commit();
        let Some(head) = &have.head else {
            if !self.clone {
                return Diff::converged();
            }
            let mut diff = Diff::new(Action::Create);
            diff.attributes.push(AttributeChange::new(
                "clone",
                None::<String>,
                Some(format!("{} at {wanted}", self.repo)),
            ));
            return diff;
        };
        if !self.update {
            return Diff::converged();
        }
        let mut attributes = Vec::new();
        if have.url.as_deref() != Some(self.repo.as_str()) {
            attributes.push(AttributeChange::new(
                "remote url",
                have.url.clone().or(Some(String::new())),
                Some(self.repo.clone()),
            ));
        }
        if have.local_mods {
            attributes.push(AttributeChange::new(
                "local modifications",
                Some("present"),
                Some("reset (force)"),
            ));
        }
        if !head.starts_with(wanted) {
            attributes.push(AttributeChange::new("commit", Some(head.clone()), Some(wanted.to_string())));
        }
        Diff::from_attributes(attributes)
    }

    fn apply(&self, have: &Checkout, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        self.variables(&mut script);
        script.raw(LOCAL_MODS);
        let depth = self.depth.map(|d| d.to_string()).unwrap_or_default();
        script.line("deploy_depth={}", &[&depth]);
        let (branch, checkout) = match &have.remote {
            Remote::Branch { name, .. } => (name.clone().unwrap_or_default(), String::new()),
            Remote::Tag(_) => (self.version.clone(), String::new()),
            Remote::Commit(commit) => (String::new(), commit.clone()),
        };
        // A tag is cloned with --branch too; a branch is then reset to the remote's.
        let is_branch = matches!(have.remote, Remote::Branch { .. });
        script.line(
            "deploy_branch={}; deploy_commit={}; deploy_is_branch={}",
            &[&branch, &checkout, if is_branch { "yes" } else { "" }],
        );
        script.line("deploy_single={}", &[if self.single_branch { "yes" } else { "" }]);
        script.raw(self.git_dir_test());
        script.raw(r#"if [ $? -ne 0 ]; then
  set -- --origin "$o"
  [ -z "$deploy_depth" ] || set -- "$@" --depth "$deploy_depth"
  [ -z "$deploy_branch" ] || set -- "$@" --branch "$deploy_branch"
  [ -z "$deploy_single" ] || set -- "$@" --single-branch
  mkdir -p -- "$(dirname -- "$d")" || exit 1
  git clone "$@" -- "$r" "$d" || exit 1
  deploy_changed
  if [ -n "$deploy_commit" ]; then git -C "$d" checkout --force "$deploy_commit" || exit 1; fi
  exit 0
fi"#);
        if !self.update {
            return script;
        }
        script.line(
            "deploy_force={}",
            &[if self.force { "yes" } else { "" }],
        );
        script.raw(r#"deploy_before=$(git -C "$d" rev-parse --verify -q HEAD)
if [ -n "$(deploy_git_mods)" ]; then
  [ -n "$deploy_force" ] || { printf 'Local modifications exist in the destination: %s (force=no).\n' "$d" >&2; exit 1; }
  git -C "$d" reset --hard HEAD || exit 1
  deploy_changed
fi
if [ "$(git -C "$d" config --get "remote.$o.url")" != "$r" ]; then
  git -C "$d" remote set-url "$o" "$r" 2>/dev/null || git -C "$d" remote add "$o" "$r" || exit 1
  deploy_changed
fi
set -- "$o" "+refs/heads/*:refs/remotes/$o/*" "+refs/tags/*:refs/tags/*"
[ -z "$deploy_depth" ] || set -- --depth "$deploy_depth" "$@"
git -C "$d" fetch "$@" || exit 1
if [ -n "$deploy_is_branch" ]; then
  if git -C "$d" show-ref --verify -q "refs/heads/$deploy_branch"; then
    git -C "$d" checkout --force "$deploy_branch" || exit 1
  else
    git -C "$d" checkout --force -b "$deploy_branch" --track "$o/$deploy_branch" || exit 1
  fi
  git -C "$d" reset --hard "$o/$deploy_branch" -- || exit 1
elif [ -n "$deploy_commit" ]; then
  git -C "$d" checkout --force "$deploy_commit" || exit 1
else
  git -C "$d" checkout --force "refs/tags/$deploy_branch" || exit 1
fi
[ "$(git -C "$d" rev-parse HEAD)" = "$deploy_before" ] || deploy_changed"#);
        script
    }

    fn confined_to(&self, _out: &Section) -> Option<Vec<String>> {
        plain_path(&self.dest).map(|p| vec![p])
    }

    /// `before`/`after` as Ansible registers them; once applied, `after` is the commit the
    /// version named when probed.
    fn result(&self, out: &Section) -> Result<Option<Json>> {
        let have = self.inspect(out).context("git")?;
        let before = have.head.clone();
        let after = match (&have.head, self.update) {
            (Some(head), false) => head.clone(),
            (None, false) if !self.clone => have.remote.commit().to_string(),
            _ => have.remote.commit().to_string(),
        };
        let remote_url_changed = have.head.is_some()
            && self.update
            && have.url.as_deref().is_some_and(|u| u != self.repo);
        let mut result = json!({"changed": false, "failed": false, "before": before, "after": after});
        if have.head.is_some() && self.update {
            result["remote_url_changed"] = json!(remote_url_changed);
        }
        Ok(Some(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};

    const A: &str = "1111111111111111111111111111111111111111";
    const B: &str = "2222222222222222222222222222222222222222";

    fn refs(lines: &[(&str, &str)]) -> Vec<(String, String)> {
        lines.iter().map(|(s, r)| (s.to_string(), r.to_string())).collect()
    }

    #[test]
    fn the_version_names_a_branch_a_tag_or_a_commit() {
        let remote = refs(&[
            (A, "HEAD"),
            (B, "refs/heads/dev"),
            (A, "refs/heads/main"),
            (B, "refs/tags/v1"),
            (A, "refs/tags/v1^{}"),
        ]);
        assert_eq!(
            remote_commit("HEAD", &remote),
            Remote::Branch { name: Some("main".into()), commit: A.into() }
        );
        assert_eq!(
            remote_commit("dev", &remote),
            Remote::Branch { name: Some("dev".into()), commit: B.into() }
        );
        assert_eq!(remote_commit("v1", &remote), Remote::Tag(A.into()), "dereferenced");
        assert_eq!(remote_commit("abc123", &remote), Remote::Commit("abc123".into()));
    }

    fn step(params: serde_json::Value) -> Box<dyn Step> {
        build_step(&SPEC, params, &NoContext).unwrap()
    }

    #[test]
    fn converged_on_the_commit_and_the_url() {
        let git = step(json!({"repo": "/srv/repo.git", "dest": "/srv/app", "version": "main"}));
        let at_a = format!("head={A}\nurl=file:///srv/repo.git\nlocal_mods=no\nref={A} refs/heads/main\n");
        assert!(git.plan(&section(&at_a)).unwrap().0.is_converged());
        assert_eq!(
            git.result(&section(&at_a)).unwrap().unwrap(),
            json!({"changed": false, "failed": false, "before": A, "after": A, "remote_url_changed": false})
        );
        let moved = format!("head={A}\nurl=file:///srv/repo.git\nlocal_mods=no\nref={B} refs/heads/main\n");
        let (diff, script) = git.plan(&section(&moved)).unwrap();
        assert_eq!(diff.attributes[0].describe(), format!("commit {A} → {B}"));
        assert!(script.as_str().contains("deploy_branch=main;"));
        assert_eq!(git.result(&section(&moved)).unwrap().unwrap()["after"], json!(B));
        let other_url = at_a.replace("url=file:///srv/repo.git", "url=/srv/old.git");
        let (diff, _) = git.plan(&section(&other_url)).unwrap();
        assert_eq!(diff.attributes[0].describe(), "remote url /srv/old.git → file:///srv/repo.git");
    }

    #[test]
    fn a_missing_copy_is_cloned_and_local_changes_need_force() {
        let git = step(json!({"repo": "/srv/repo.git", "dest": "/srv/app", "depth": 1}));
        let missing = format!("ref={A} HEAD\nref={A} refs/heads/main\n");
        let (diff, script) = git.plan(&section(&missing)).unwrap();
        assert_eq!(diff.action, Action::Create);
        assert!(script.as_str().contains("deploy_depth=1\n"));
        assert_eq!(
            git.result(&section(&missing)).unwrap().unwrap(),
            json!({"changed": false, "failed": false, "before": null, "after": A})
        );
        let dirty = format!("head={A}\nurl=file:///srv/repo.git\nlocal_mods=yes\nref={A} HEAD\n");
        let err = git.plan(&section(&dirty)).err().unwrap();
        assert_eq!(
            err.to_string(),
            "Local modifications exist in the destination: /srv/app (force=no)."
        );
        let forced = step(json!({"repo": "/srv/repo.git", "dest": "/srv/app", "force": true}));
        assert!(!forced.plan(&section(&dirty)).unwrap().0.is_converged());
        let frozen = step(json!({"repo": "/srv/repo.git", "dest": "/srv/app", "update": false}));
        assert!(frozen.plan(&section(&format!("{dirty}ref={B} refs/heads/main\n"))).unwrap().0.is_converged());
        let no_clone = step(json!({"repo": "/srv/repo.git", "dest": "/srv/app", "clone": false}));
        assert!(no_clone.plan(&section(&missing)).unwrap().0.is_converged());
    }

    #[test]
    fn clones_updates_and_converges_for_real() {
        if std::process::Command::new("git").arg("--version").output().is_err() {
            eprintln!("git is not installed: this test needs it");
            return;
        }
        use crate::resource::support::testing::{run_apply, run_probe};
        let dir = tempfile::tempdir().unwrap();
        let sh = |cmd: &str| {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(cmd)
                .current_dir(dir.path())
                .env("GIT_AUTHOR_NAME", "t")
                .env("GIT_AUTHOR_EMAIL", "t@x")
                .env("GIT_COMMITTER_NAME", "t")
                .env("GIT_COMMITTER_EMAIL", "t@x")
                .output()
                .unwrap();
            assert!(out.status.success(), "{cmd}: {}", String::from_utf8_lossy(&out.stderr));
            String::from_utf8(out.stdout).unwrap().trim().to_string()
        };
        sh("git init -q -b main src && cd src && echo 1 > f && git add f && git commit -qm one && git tag v1 && echo 2 > f && git commit -qam two");
        sh("git clone -q --bare src repo.git");
        let repo = dir.path().join("repo.git").display().to_string();
        let dest = dir.path().join("app").display().to_string();
        let git = step(json!({"repo": repo, "dest": dest, "version": "v1"}));
        let plan = |git: &dyn Step| git.plan(&run_probe(&git.probe(), dir.path())).unwrap();
        let (diff, script) = plan(git.as_ref());
        assert_eq!(diff.action, Action::Create);
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(changed);
        assert_eq!(sh("cat app/f"), "1");
        assert!(plan(git.as_ref()).0.is_converged());
        let main = step(json!({"repo": repo, "dest": dest, "version": "main"}));
        let (diff, script) = plan(main.as_ref());
        assert!(!diff.is_converged());
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(changed);
        assert_eq!(sh("cat app/f"), "2");
        assert!(plan(main.as_ref()).0.is_converged());
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success());
        assert!(!changed, "a stale plan re-checks the commit");
    }
}

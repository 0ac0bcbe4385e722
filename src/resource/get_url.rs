//! `get_url`: a file downloaded from a URL, checked against a checksum.
//!
//! Decided as Ansible decides it, from what the probe sees at `dest`: a missing file is
//! downloaded; an existing one stays unless its digest differs from `checksum` or `force` is
//! set (then the URL's content is hashed in the probe as it streams, so a re-run with the same
//! content is converged). Ansible, without a checksum, also sends an If-Modified-Since request
//! and replaces the file if the server has a newer one; `deploy` follows the documented rule
//! instead ("only downloaded if the destination does not exist"), which needs no request.
//! The download lands in a temporary file beside `dest`, is verified, gets its attributes,
//! and is renamed over `dest`: a failed or wrong download never leaves a partial file.

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::content::FileContent;
use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::path_state::{self, Kind, PathState};
use super::support::detach_stdin;
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Downloads a file to the host.
///
/// ```yaml
/// - get_url:
///     url: https://artifacts.elastic.co/GPG-KEY-elasticsearch
///     dest: /usr/share/keyrings/elastic.asc
///     mode: "0644"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "get_url",
    fqcn: "ansible.builtin.get_url",
    params: &[
        P::new("url", Str).required(),
        P::new("dest", Path).required(),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("checksum", Str).default(D::Str("")),
        P::new("force", Bool)
            .default(D::Bool(false))
            .aliases(&["thirsty"]),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("timeout", Int).default(D::Int(10)),
        P::new("headers", Dict),
        P::new("url_username", Str).aliases(&["username"]),
        P::new("url_password", Str).aliases(&["password"]),
        P::new("validate_certs", Bool).default(D::Bool(true)),
        P::new("use_proxy", Bool).default(D::Bool(true)),
        P::new("tmp_dest", Path),
        P::new("attributes", Str).aliases(&["attr"]),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(from_args(args)?))
}

/// The digests `checksum:` may name, each checked on the host by its coreutils tool.
const ALGORITHMS: &[(&str, &str, usize)] = &[
    ("md5", "md5sum", 32),
    ("sha1", "sha1sum", 40),
    ("sha224", "sha224sum", 56),
    ("sha256", "sha256sum", 64),
    ("sha384", "sha384sum", 96),
    ("sha512", "sha512sum", 128),
];

/// `checksum: ALGORITHM:HEX`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checksum {
    pub algorithm: &'static str,
    /// The coreutils command computing it (`sha256sum`).
    pub tool: &'static str,
    /// Lowercase hex.
    pub hex: String,
}

impl Checksum {
    /// Parses as Ansible does: split at the first `:`, non-word characters dropped from the
    /// digest, which must then be hex.
    pub fn parse(text: &str) -> Result<Checksum> {
        let (algorithm, digest) = text
            .split_once(':')
            .context("The checksum parameter has to be in format <algorithm>:<checksum>")?;
        if digest.contains("://") {
            bail!("a checksum given as a URL (a checksum file) is not supported by deploy; give the digest itself");
        }
        let &(algorithm, tool, length) = ALGORITHMS
            .iter()
            .find(|(name, _, _)| *name == algorithm)
            .with_context(|| {
                format!(
                    "unsupported checksum algorithm `{algorithm}`: deploy supports {}",
                    ALGORITHMS.iter().map(|a| a.0).collect::<Vec<_>>().join(", ")
                )
            })?;
        let hex: String = digest
            .chars()
            .filter(|c| c.is_alphanumeric() || *c == '_')
            .collect::<String>()
            .to_lowercase();
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            bail!("The checksum format is invalid");
        }
        if hex.len() != length {
            bail!(
                "a {algorithm} checksum has {length} hex digits, not {}",
                hex.len()
            );
        }
        Ok(Checksum { algorithm, tool, hex })
    }

    fn describe(&self) -> String {
        format!("{}:{}", self.algorithm, self.hex)
    }
}

/// A file at `dest` downloaded from `url`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GetUrl {
    pub url: String,
    pub dest: String,
    pub mode: Option<Value>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub checksum: Option<Checksum>,
    /// Download every time and replace the file when the content differs.
    pub force: bool,
    pub backup: bool,
    /// Seconds without progress (or to connect) before the download fails.
    pub timeout: i64,
    pub validate_certs: bool,
    pub use_proxy: bool,
}

/// What the probe saw at `dest`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Downloaded {
    pub path: PathState,
    /// The file's digest with the checksum's algorithm.
    pub digest: Option<String>,
    /// With `force`: the sha256 of what the URL serves now.
    pub remote_sha256: Option<String>,
}

/// `deploy_get URL OUTPUT`: downloads with curl, or wget when curl is missing. `OUTPUT` may be
/// `-` for stdout. Reads `$deploy_timeout`, `$deploy_insecure`, `$deploy_noproxy`. The timeout
/// is, as in Ansible, a limit on waiting (to connect, or without any byte arriving), not on
/// the whole transfer, so a large file on a slow link still arrives.
const FETCH: &str = r#"deploy_get() {
  if command -v curl >/dev/null 2>&1; then
    set -- -o "$2" --url "$1"
    if [ "$deploy_insecure" = yes ]; then set -- -k "$@"; fi
    if [ "$deploy_noproxy" = yes ]; then set -- --noproxy '*' "$@"; fi
    curl -fsSL --connect-timeout "$deploy_timeout" -y "$deploy_timeout" -Y 1 "$@"
  elif command -v wget >/dev/null 2>&1; then
    set -- -O "$2" -- "$1"
    if [ "$deploy_insecure" = yes ]; then set -- --no-check-certificate "$@"; fi
    if [ "$deploy_noproxy" = yes ]; then set -- --no-proxy "$@"; fi
    wget -q -T "$deploy_timeout" "$@"
  else
    echo 'get_url needs curl or wget on the host' >&2; return 127
  fi
}"#;

impl GetUrl {
    fn attributes(&self) -> FileContent {
        FileContent {
            dest: self.dest.clone(),
            content: Vec::new(),
            mode: self.mode.clone(),
            owner: self.owner.clone(),
            group: self.group.clone(),
            force: false,
            backup: false,
            validate: None,
        }
    }

    fn fetch_settings(&self, script: &mut Script) {
        script.line("url={}", &[&self.url]);
        script.line("deploy_timeout={}", &[&self.timeout.to_string()]);
        script.line(
            "deploy_insecure={}; deploy_noproxy={}",
            &[yes_no(!self.validate_certs), yes_no(!self.use_proxy)],
        );
        script.raw(FETCH);
    }

    /// Why the file must be downloaded, or `None` when the one on the host stays.
    fn download_reason(&self, have: &Downloaded) -> Option<AttributeChange> {
        match have.path.kind {
            Kind::File => {}
            Kind::Absent => {
                return Some(AttributeChange::new(
                    "url",
                    None::<String>,
                    Some(self.url.clone()),
                ))
            }
            other => {
                return Some(AttributeChange::new("type", Some(other.name()), Some("file")));
            }
        }
        if self.force {
            if have.remote_sha256 != have.path.sha256 {
                return Some(AttributeChange::new(
                    "content (differs from the URL's)",
                    None::<String>,
                    Some(self.url.clone()),
                ));
            }
            return None;
        }
        let checksum = self.checksum.as_ref()?;
        if have.digest.as_deref() == Some(checksum.hex.as_str()) {
            return None;
        }
        Some(AttributeChange::new(
            "checksum",
            have.digest
                .as_ref()
                .map(|d| format!("{}:{d}", checksum.algorithm)),
            Some(checksum.describe()),
        ))
    }

    /// The mode as `chmod` takes it (octal digits or symbolic).
    fn chmod_mode(&self) -> Option<String> {
        self.mode.as_ref().map(|mode| match mode {
            Value::Number(n) => format!("{:o}", n.as_u64().unwrap_or_default()),
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
    }
}

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

impl Resource for GetUrl {
    type State = Downloaded;

    fn target(&self) -> String {
        self.dest.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        path_state::probe(&mut script, &self.dest, None);
        if let Some(checksum) = &self.checksum {
            script.line(
                r#"if [ -f "$p" ] && [ ! -L "$p" ]; then echo "digest=$({} -- "$p" | cut -d' ' -f1)"; fi"#,
                &[checksum.tool],
            );
        }
        if self.force {
            // Hashed as it streams: nothing is written on the host.
            self.fetch_settings(&mut script);
            script.raw(
                r#"if [ -f "$p" ] && [ ! -L "$p" ]; then
  exec 4>&1
  printf 'remote_sha256='
  rc=$( { { deploy_get "$url" - 2>/dev/null; echo $? >&5; } | sha256sum | cut -c1-64 >&4; } 5>&1 )
  echo "fetch_rc=$rc"
fi"#,
            );
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<Downloaded> {
        let path = path_state::inspect(out)?;
        match path.kind {
            Kind::Directory => bail!(
                "dest {} is a directory on the host: deploy needs `dest` to name the file \
                 (Ansible would name it from the server's headers or the URL)",
                self.dest
            ),
            Kind::Other => bail!("dest {} is a special file on the host, not a file", self.dest),
            Kind::Absent | Kind::File | Kind::Link => {}
        }
        let pairs = key_values(out)?;
        let remote_sha256 = if self.force && path.kind == Kind::File {
            match value_of(&pairs, "fetch_rc") {
                Some("0") => value_of(&pairs, "remote_sha256").map(str::to_string),
                Some(rc) => bail!(
                    "downloading {} to compare it with {} failed (exit {rc})",
                    self.url,
                    self.dest
                ),
                None => bail!("probe: no download result for {}", self.url),
            }
        } else {
            None
        };
        let state = Downloaded {
            digest: value_of(&pairs, "digest").map(str::to_string),
            path,
            remote_sha256,
        };
        // Checked here because a diff cannot fail: a bad symbolic mode is the user's error.
        if let Some(mode) = &self.mode {
            let current = state
                .path
                .mode
                .as_deref()
                .and_then(|m| u32::from_str_radix(m, 8).ok());
            path_state::resolve_mode(mode, current, false)?;
        }
        Ok(state)
    }

    fn diff(&self, have: &Downloaded) -> Diff {
        let Some(reason) = self.download_reason(have) else {
            return self.attributes().diff(&have.path);
        };
        let mut diff = Diff::new(if have.path.kind == Kind::Absent {
            Action::Create
        } else {
            Action::Change
        });
        diff.attributes.push(reason);
        if have.path.kind == Kind::Absent {
            if let Some(checksum) = &self.checksum {
                diff.attributes.push(AttributeChange::new(
                    "checksum",
                    None::<String>,
                    Some(checksum.describe()),
                ));
            }
        }
        for (name, value) in [
            ("mode", self.chmod_mode()),
            ("owner", self.owner.clone()),
            ("group", self.group.clone()),
        ] {
            if let Some(value) = value {
                diff.attributes
                    .push(AttributeChange::new(name, None::<String>, Some(value)));
            }
        }
        diff
    }

    fn apply(&self, have: &Downloaded, diff: &Diff) -> Script {
        if self.download_reason(have).is_none() {
            return self.attributes().apply(&have.path, diff);
        }
        let mut script = Script::new();
        detach_stdin(&mut script);
        script.line("p={}", &[&self.dest]);
        self.fetch_settings(&mut script);
        script.raw(
            r#"d=$(dirname -- "$p")
[ -d "$d" ] || { printf 'Destination %s does not exist\n' "$d" >&2; exit 1; }"#,
        );
        // The guards: the host may have been converged since the probe.
        match (&self.checksum, self.force) {
            (Some(checksum), false) => {
                script.line(
                    r#"if [ -f "$p" ] && [ ! -L "$p" ] && [ "$({} -- "$p" | cut -d' ' -f1)" = {} ]; then exit 0; fi"#,
                    &[checksum.tool, &checksum.hex],
                );
            }
            (None, false) => {
                script.raw(r#"if [ -f "$p" ] && [ ! -L "$p" ]; then exit 0; fi"#);
            }
            (_, true) => {}
        }
        script.raw(
            r#"deploy_clean_temps "$d"
t=$(mktemp "$d/.deploy-tmp.$$.XXXXXXXX") || exit 1
if ! err=$(deploy_get "$url" "$t" 2>&1); then rm -f -- "$t"; printf 'Request failed: %s: %s\n' "$url" "$err" >&2; exit 1; fi"#,
        );
        if let Some(checksum) = &self.checksum {
            script.line(
                r#"got=$({} -- "$t" | cut -d' ' -f1); want={}"#,
                &[checksum.tool, &checksum.hex],
            );
            script.raw(
                r#"if [ "$got" != "$want" ]; then rm -f -- "$t"; printf 'The checksum for %s did not match %s; it was %s.\n' "$url" "$want" "$got" >&2; exit 1; fi"#,
            );
        }
        script.raw(r#"if [ -f "$p" ] && [ ! -L "$p" ] && cmp -s -- "$t" "$p"; then rm -f -- "$t"; else"#);
        if self.backup {
            script.raw(r#"  deploy_backup "$p" || { rm -f -- "$t"; exit 1; }"#);
        }
        // Attributes before the move, as `deploy_write` does: an existing file's, or the
        // default a new file would get, then the ones asked for.
        script.raw(
            r#"  if [ -f "$p" ] && [ ! -L "$p" ]; then chown --reference="$p" -- "$t" 2>/dev/null; chmod --reference="$p" -- "$t"
  else chmod -- "$(printf '%o' $((0666 & ~$(umask))))" "$t"; fi || { rm -f -- "$t"; exit 1; }"#,
        );
        if let Some(mode) = self.chmod_mode() {
            script.line(r#"  chmod -- {} "$t" || { rm -f -- "$t"; exit 1; }"#, &[&mode]);
        }
        if let Some(owner) = &self.owner {
            script.line(r#"  chown -- {} "$t" || { rm -f -- "$t"; exit 1; }"#, &[owner]);
        }
        if let Some(group) = &self.group {
            script.line(r#"  chgrp -- {} "$t" || { rm -f -- "$t"; exit 1; }"#, &[group]);
        }
        script.raw(
            r#"  mv -f -- "$t" "$p" || { rm -f -- "$t"; exit 1; }
  deploy_changed
fi"#,
        );
        script
    }
}

/// Builds the resource from `get_url`'s parameters.
pub fn from_args(args: &Args) -> Result<GetUrl> {
    args.refuse(&[
        "headers",
        "url_username",
        "url_password",
        "tmp_dest",
        "attributes",
    ])?;
    let dest = args.required_str("dest")?;
    if dest.ends_with('/') {
        bail!(
            "`dest` {dest} names a directory: deploy needs `dest` to name the file \
             (Ansible would name it from the server's headers or the URL)"
        );
    }
    if matches!(args.value("mode"), Some(Value::String(ref m)) if m == "preserve") {
        bail!("`mode: preserve` means nothing for a download: give a mode");
    }
    let url = args.required_str("url")?;
    let checksum = args
        .str("checksum")?
        .filter(|c| !c.is_empty())
        .map(|c| Checksum::parse(&c))
        .transpose()?;
    let timeout = args.int("timeout")?.unwrap_or(10);
    if timeout <= 0 {
        bail!("`timeout` must be a positive number of seconds");
    }
    Ok(GetUrl {
        url,
        dest,
        mode: args.value("mode"),
        owner: args.str("owner")?,
        group: args.str("group")?,
        checksum,
        force: args.flag("force")?,
        backup: args.flag("backup")?,
        timeout,
        validate_certs: args.bool("validate_certs")?.unwrap_or(true),
        use_proxy: args.bool("use_proxy")?.unwrap_or(true),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, run_apply, run_probe, section};
    use serde_json::json;

    const SHA: &str = "2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae";

    fn plan(params: serde_json::Value, probe: &str) -> Result<(Diff, Script)> {
        build_step(&SPEC, params, &NoContext)?.plan(&section(probe))
    }

    fn file(extra: &str) -> String {
        format!("kind=file\nmode=644\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=3\nsha256={SHA}\n{extra}")
    }

    #[test]
    fn checksums_as_ansible_reads_them() {
        let c = Checksum::parse(&format!("sha256:{}", SHA.to_uppercase())).unwrap();
        assert_eq!(
            (c.algorithm, c.tool, c.hex.as_str()),
            ("sha256", "sha256sum", SHA)
        );
        assert!(Checksum::parse("md5:d41d8cd98f00b204e9800998ecf8427e").is_ok());
        for bad in [
            SHA,
            "sha256:xyz",
            "crc32:1234",
            "sha256:https://x/SHA256SUMS",
            "sha1:abcd",
        ] {
            assert!(Checksum::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plans_from_canned_probe_output() {
        let base = json!({"url": "https://example.org/key.asc", "dest": "/etc/key.asc", "mode": "0644"});
        let (diff, script) = plan(base.clone(), "kind=absent\n").unwrap();
        assert_eq!(diff.action, Action::Create);
        assert_eq!(diff.attributes[0].describe(), "url https://example.org/key.asc");
        assert!(script.as_str().contains("deploy_get \"$url\" \"$t\""));
        let (diff, script) = plan(base.clone(), &file("")).unwrap();
        assert!(
            diff.is_converged(),
            "without force or checksum an existing file stays: {diff:?}"
        );
        assert!(script.is_empty());
        let mut with_sum = base.clone();
        with_sum["checksum"] = json!(format!("sha256:{SHA}"));
        assert!(plan(with_sum.clone(), &file(&format!("digest={SHA}\n")))
            .unwrap()
            .0
            .is_converged());
        let (diff, script) = plan(with_sum, &file("digest=00\n")).unwrap();
        assert_eq!(diff.action, Action::Change);
        assert_eq!(
            diff.attributes[0].describe(),
            format!("checksum sha256:00 → sha256:{SHA}")
        );
        assert!(script.as_str().contains("did not match"));
        let mut mode = base.clone();
        mode["mode"] = json!("0600");
        let (diff, _) = plan(mode, &file("")).unwrap();
        assert_eq!(diff.attributes[0].describe(), "mode 0644 → 0600");
        let err = plan(
            base.clone(),
            "kind=directory\nmode=755\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=1\n",
        )
        .unwrap_err();
        assert!(err.to_string().contains("is a directory"), "{err}");
        let mut forced = base;
        forced["force"] = json!(true);
        assert!(plan(
            forced.clone(),
            &file(&format!("remote_sha256={SHA}\nfetch_rc=0\n"))
        )
        .unwrap()
        .0
        .is_converged());
        assert_eq!(
            plan(forced.clone(), &file("remote_sha256=00\nfetch_rc=0\n"))
                .unwrap()
                .0
                .action,
            Action::Change
        );
        assert!(plan(forced, &file("remote_sha256=\nfetch_rc=22\n")).is_err());
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for params in [
            json!({"url": "http://x/a", "dest": "/tmp/", }),
            json!({"url": "http://x/a", "dest": "/tmp/a", "headers": {"A": "b"}}),
            json!({"url": "http://x/a", "dest": "/tmp/a", "url_password": "s"}),
            json!({"url": "http://x/a", "dest": "/tmp/a", "checksum": "sha256"}),
        ] {
            assert!(build_step(&SPEC, params.clone(), &NoContext).is_err(), "{params}");
        }
    }

    fn converge(step: &dyn Step, dir: &std::path::Path) -> Diff {
        let (diff, script) = step.plan(&run_probe(&step.probe(), dir)).unwrap();
        let (out, changed) = run_apply(&script, dir);
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            script.as_str()
        );
        assert_eq!(changed, !diff.is_converged(), "{diff:?}");
        let (again, _) = step.plan(&run_probe(&step.probe(), dir)).unwrap();
        assert!(again.is_converged(), "second run: {again:?}");
        diff
    }

    #[test]
    fn downloads_file_urls_for_real() {
        if std::process::Command::new("curl")
            .arg("--version")
            .output()
            .is_err()
        {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("source file.txt");
        std::fs::write(&source, "foo").unwrap();
        let url = format!("file://{}", source.display()).replace(' ', "%20");
        let dest = dir.path().join("dest.txt");
        let params = json!({"url": url, "dest": dest.to_str().unwrap(), "mode": "0600",
            "checksum": format!("sha256:{SHA}")});
        let step = build_step(&SPEC, params.clone(), &NoContext).unwrap();
        assert_eq!(converge(step.as_ref(), dir.path()).action, Action::Create);
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "foo");
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&dest).unwrap().permissions());
        assert_eq!(mode & 0o7777, 0o600);
        // A checksum the download does not match fails and leaves the file as it was.
        std::fs::write(&dest, "old").unwrap();
        let (diff, script) = step.plan(&run_probe(&step.probe(), dir.path())).unwrap();
        assert_eq!(diff.action, Action::Change);
        std::fs::write(&source, "tampered").unwrap();
        let (out, changed) = run_apply(&script, dir.path());
        assert!(!out.status.success());
        assert!(!changed);
        assert!(String::from_utf8_lossy(&out.stderr).contains("did not match"));
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "old");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with(".deploy-tmp")
            })
            .collect();
        assert!(leftovers.is_empty());
        // force: the URL's content is compared, and replaced when it differs.
        let forced = build_step(
            &SPEC,
            json!({"url": url, "dest": dest.to_str().unwrap(), "force": true}),
            &NoContext,
        )
        .unwrap();
        assert_eq!(converge(forced.as_ref(), dir.path()).action, Action::Change);
        assert_eq!(std::fs::read_to_string(&dest).unwrap(), "tampered");
        // A URL that fails is a clear error.
        let missing = build_step(
            &SPEC,
            json!({"url": "file:///nonexistent/deploy", "dest": dir.path().join("x").to_str().unwrap()}),
            &NoContext,
        )
        .unwrap();
        let (_, script) = missing.plan(&run_probe(&missing.probe(), dir.path())).unwrap();
        let (out, _) = run_apply(&script, dir.path());
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("Request failed: file:///nonexistent/deploy"));
    }
}

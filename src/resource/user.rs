//! `user`: a local account, its groups, shell, home and password.
//!
//! Follows Ansible's `user` module on Linux (`useradd`/`usermod`/`userdel`): only the given
//! attributes are compared, supplementary groups are the groups whose member list names the
//! user, and the password is a crypt hash compared with the shadow entry (leading `!` ignored).
//! The hash never appears in a plan, an argv or the probe's output: the probe returns a digest
//! of the current hash, and the apply script feeds `chpasswd -e` on stdin with `printf`.

use std::collections::BTreeSet;

use anyhow::{bail, Result};

use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::support::{detach_stdin, yes_no};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::digest::sha256_hex;
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Manages a local user account.
///
/// ```yaml
/// - user:
///     name: app
///     system: yes
///     shell: /usr/sbin/nologin
///     home: /srv/app
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "user",
    fqcn: "ansible.builtin.user",
    params: &[
        P::new("name", Str).required().aliases(&["user"]),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("uid", Int),
        P::new("comment", Str),
        P::new("hidden", Bool),
        P::new("non_unique", Bool).default(D::Bool(false)),
        P::new("seuser", Str),
        P::new("group", Str),
        P::new("groups", List),
        P::new("append", Bool).default(D::Bool(false)),
        P::new("shell", Str),
        P::new("home", Path),
        P::new("skeleton", Path),
        P::new("password", Str),
        P::new("create_home", Bool)
            .default(D::Bool(true))
            .aliases(&["createhome"]),
        P::new("move_home", Bool).default(D::Bool(false)),
        P::new("system", Bool).default(D::Bool(false)),
        P::new("force", Bool).default(D::Bool(false)),
        P::new("remove", Bool).default(D::Bool(false)),
        P::new("login_class", Str),
        P::new("generate_ssh_key", Bool).default(D::Bool(false)),
        P::new("ssh_key_bits", Int),
        P::new("ssh_key_type", Str).default(D::Str("rsa")),
        P::new("ssh_key_file", Path),
        P::new("ssh_key_comment", Str),
        P::new("ssh_key_passphrase", Str),
        P::new("update_password", Str)
            .default(D::Str("always"))
            .choices(&["always", "on_create"]),
        P::new("expires", Raw),
        P::new("password_lock", Bool),
        P::new("local", Bool).default(D::Bool(false)),
        P::new("profile", Str),
        P::new("authorization", Str),
        P::new("role", Str),
        P::new("umask", Str),
        P::new("password_expire_max", Int),
        P::new("password_expire_min", Int),
        P::new("password_expire_warn", Int),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(from_args(args)?))
}

/// A local account as `user` converges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub present: bool,
    pub uid: Option<i64>,
    pub non_unique: bool,
    /// Primary group, by name or number.
    pub group: Option<String>,
    /// Supplementary groups; `Some(empty)` asks for none.
    pub groups: Option<Vec<String>>,
    pub append: bool,
    pub shell: Option<String>,
    pub home: Option<String>,
    pub create_home: bool,
    pub move_home: bool,
    pub skeleton: Option<String>,
    pub system: bool,
    pub comment: Option<String>,
    /// A crypt(3) hash; never shown, never in argv.
    pub password: Option<String>,
    pub update_password_always: bool,
    pub remove: bool,
    pub force: bool,
}

/// The account as `getent` shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub uid: i64,
    pub gid: i64,
    pub comment: String,
    pub home: String,
    pub shell: String,
    /// Groups whose member list names the user (as Ansible counts membership).
    pub member_of: Vec<String>,
    pub home_exists: bool,
    /// sha256 of the shadow hash without leading `!`; `None` when /etc/shadow is unreadable.
    pub password_sha256: Option<String>,
}

/// What the probe saw: the account (if any) and the wanted groups as the host resolves them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserState {
    pub account: Option<Account>,
    /// `(as written, name, gid)` of each wanted group that exists.
    pub groups: Vec<(String, String, i64)>,
}

impl UserState {
    fn group(&self, wanted: &str) -> Option<&(String, String, i64)> {
        self.groups.iter().find(|(w, _, _)| w == wanted)
    }
}

/// Checks an account or group name before it reaches a command line.
pub fn check_account_name(kind: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && !name.starts_with('-')
        && !name.bytes().all(|b| b.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_.-$@".contains(c));
    if !ok {
        bail!("`{name}` is not a valid {kind} name");
    }
    Ok(())
}

impl User {
    fn wanted_groups(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self.group.iter().map(String::as_str).collect();
        all.extend(self.groups.iter().flatten().map(String::as_str));
        all
    }

    /// The `usermod` options for an existing account, as Ansible's `modify_user_usermod`.
    fn usermod_options(&self, have: &UserState, account: &Account) -> (Vec<String>, Vec<AttributeChange>) {
        let mut options = Vec::new();
        let mut shown = Vec::new();
        let mut push = |opts: &[&str], change: AttributeChange| {
            options.extend(opts.iter().map(|o| o.to_string()));
            shown.push(change);
        };
        if let Some(uid) = self.uid.filter(|u| *u != account.uid) {
            let uid_text = uid.to_string();
            let mut opts = vec!["-u", uid_text.as_str()];
            if self.non_unique {
                opts.push("-o");
            }
            push(
                &opts,
                AttributeChange::new("uid", Some(account.uid.to_string()), Some(uid_text.clone())),
            );
        }
        if let Some(group) = self.group.as_deref() {
            match have.group(group) {
                Some((_, name, gid)) if *gid != account.gid => {
                    let gid_text = gid.to_string();
                    push(
                        &["-g", &gid_text],
                        AttributeChange::new("group", Some(account.gid.to_string()), Some(name.clone())),
                    );
                }
                Some(_) => {}
                None => push(
                    &["-g", group],
                    AttributeChange::new("group", Some(account.gid.to_string()), Some(group.to_string())),
                ),
            }
        }
        if let Some(groups) = &self.groups {
            let wanted: BTreeSet<&str> = groups
                .iter()
                .map(|g| have.group(g).map_or(g.as_str(), |(_, name, _)| name.as_str()))
                .collect();
            let current: BTreeSet<&str> = account.member_of.iter().map(String::as_str).collect();
            let needs = if wanted.is_empty() {
                !current.is_empty() && !self.append
            } else if self.append {
                wanted.iter().any(|g| !current.contains(g))
            } else {
                wanted != current
            };
            if needs {
                let list = wanted.iter().copied().collect::<Vec<_>>().join(",");
                let before = current.iter().copied().collect::<Vec<_>>().join(",");
                let mut opts = vec![];
                if self.append {
                    opts.push("-a");
                }
                opts.extend(["-G", list.as_str()]);
                push(
                    &opts,
                    AttributeChange::new("groups", Some(before), Some(list.clone())),
                );
            }
        }
        for (name, flag, wanted, current) in [
            ("comment", "-c", &self.comment, &account.comment),
            ("home", "-d", &self.home, &account.home),
            ("shell", "-s", &self.shell, &account.shell),
        ] {
            if let Some(wanted) = wanted.as_ref().filter(|w| *w != current) {
                let mut opts = vec![flag, wanted.as_str()];
                if name == "home" && self.move_home {
                    opts.push("-m");
                }
                push(
                    &opts,
                    AttributeChange::new(name, Some(current.clone()), Some(wanted.clone())),
                );
            }
        }
        (options, shown)
    }

    fn password_differs(&self, account: &Account) -> bool {
        match (&self.password, &account.password_sha256) {
            (Some(wanted), Some(have)) if self.update_password_always => {
                sha256_hex(wanted.trim_start_matches('!')) != *have
            }
            _ => false,
        }
    }
}

/// Prints `passwd=`, `member=`, `home_exists=`, `shadow_sha256=` lines for account `$u`, and
/// `group=WRITTEN:ENTRY` for each wanted group.
const USER_PROBE: &str = r#"if e=$(getent passwd -- "$u"); then
  printf 'passwd=%s\n' "$e"
  getent group | while IFS=: read -r n p g m; do case ",$m," in *",$u,"*) printf 'member=%s\n' "$n";; esac; done
  # The home is the sixth of seven fields; the shell after it holds no colon.
  h=${e%:*}; h=${h##*:}
  if [ -d "$h" ]; then echo home_exists=yes; else echo home_exists=no; fi
  if [ -r /etc/shadow ]; then
    # The password field without its lock marks, hashed: the hash itself never leaves the host.
    s=$(getent shadow -- "$u"); s=${s#*:}; s=${s%%:*}
    while [ "${s#!}" != "$s" ]; do s=${s#!}; done
    s=$(printf '%s' "$s" | sha256sum); printf 'shadow_sha256=%s\n' "${s%% *}"
  fi
else echo passwd=absent; fi"#;

impl Resource for User {
    type State = UserState;

    fn target(&self) -> String {
        self.name.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.line("u={}", &[&self.name]);
        script.raw(USER_PROBE);
        for group in self.wanted_groups() {
            script.line(
                "if e=$(getent group -- {}); then printf 'group=%s:%s\\n' {} \"$e\"; fi",
                &[group, group],
            );
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<UserState> {
        let pairs = key_values(out)?;
        let mut state = UserState::default();
        for (key, value) in &pairs {
            if key == "group" {
                // WRITTEN:name:x:gid:members, WRITTEN being a checked name without `:`.
                let fields: Vec<&str> = value.split(':').collect();
                let [written, name, _, gid, ..] = fields.as_slice() else {
                    bail!("probe: bad group line {value:?}");
                };
                let gid = gid
                    .parse()
                    .map_err(|_| anyhow::anyhow!("probe: bad gid in {value:?}"))?;
                state.groups.push((written.to_string(), name.to_string(), gid));
            }
        }
        let passwd = value_of(&pairs, "passwd").ok_or_else(|| anyhow::anyhow!("probe: no passwd line"))?;
        if passwd != "absent" {
            let fields: Vec<&str> = passwd.split(':').collect();
            let [_, _, uid, gid, comment, home, shell] = fields.as_slice() else {
                bail!("probe: bad passwd entry for {}", self.name);
            };
            let number = |t: &str| -> Result<i64> {
                t.parse()
                    .map_err(|_| anyhow::anyhow!("probe: bad id {t:?} in the passwd entry"))
            };
            let account = Account {
                uid: number(uid)?,
                gid: number(gid)?,
                comment: comment.to_string(),
                home: home.to_string(),
                shell: shell.to_string(),
                member_of: pairs
                    .iter()
                    .filter(|(k, _)| k == "member")
                    .map(|(_, v)| v.clone())
                    .collect(),
                home_exists: yes_no(value_of(&pairs, "home_exists"), "home_exists")?,
                password_sha256: value_of(&pairs, "shadow_sha256").map(str::to_string),
            };
            if self.present
                && self.password.is_some()
                && self.update_password_always
                && account.password_sha256.is_none()
            {
                bail!(
                    "cannot read /etc/shadow to compare {}'s password: this task needs `become: true`",
                    self.name
                );
            }
            state.account = Some(account);
        }
        // A group missing now may be created by an earlier step of the same run: the plan
        // names it, and useradd/usermod report it at apply if it is still missing then.
        Ok(state)
    }

    fn diff(&self, have: &UserState) -> Diff {
        match (&have.account, self.present) {
            (None, false) => Diff::converged(),
            (Some(_), false) => {
                let mut diff = Diff::new(Action::Remove);
                if self.remove {
                    diff.attributes.push(AttributeChange::new(
                        "home (removed)",
                        None::<String>,
                        None::<String>,
                    ));
                }
                diff
            }
            (None, true) => {
                let mut diff = Diff::new(Action::Create);
                let mut add = |name: &str, value: Option<String>| {
                    if let Some(value) = value {
                        diff.attributes
                            .push(AttributeChange::new(name, None::<String>, Some(value)));
                    }
                };
                add("uid", self.uid.map(|u| u.to_string()));
                add("group", self.group.clone());
                add("groups", self.groups.as_ref().map(|g| g.join(",")));
                add("comment", self.comment.clone());
                add("home", self.home.clone());
                add("shell", self.shell.clone());
                add("system", self.system.then(|| "yes".to_string()));
                if self.password.is_some() {
                    diff.attributes.push(AttributeChange::new(
                        "password (set)",
                        None::<String>,
                        None::<String>,
                    ));
                }
                diff
            }
            (Some(account), true) => {
                let (_, mut shown) = self.usermod_options(have, account);
                if self.password_differs(account) {
                    shown.push(AttributeChange::new(
                        "password (changed)",
                        None::<String>,
                        None::<String>,
                    ));
                }
                if self.create_home && !account.home_exists {
                    let home = self.home.clone().unwrap_or_else(|| account.home.clone());
                    shown.push(AttributeChange::new(
                        "home directory",
                        None::<String>,
                        Some(format!("{home} (created)")),
                    ));
                }
                Diff::from_attributes(shown)
            }
        }
    }

    fn apply(&self, have: &UserState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        script.line("u={}", &[&self.name]);
        let run = |script: &mut Script, words: &[String]| {
            script.raw("set --");
            for word in words {
                script.line("set -- \"$@\" {}", &[word]);
            }
        };
        if !self.present {
            let mut words = vec!["userdel".to_string()];
            if self.force {
                words.push("-f".into());
            }
            if self.remove {
                words.push("-r".into());
            }
            run(&mut script, &words);
            script.raw(
                r#"if getent passwd -- "$u" >/dev/null; then "$@" "$u" >&2 || exit 1; deploy_changed; fi"#,
            );
            return script;
        }
        match &have.account {
            None => {
                let mut words = vec!["useradd".to_string()];
                if let Some(uid) = self.uid {
                    words.extend(["-u".into(), uid.to_string()]);
                    if self.non_unique {
                        words.push("-o".into());
                    }
                }
                if let Some(group) = &self.group {
                    words.extend(["-g".into(), group.clone()]);
                }
                if let Some(groups) = self.groups.as_ref().filter(|g| !g.is_empty()) {
                    words.extend(["-G".into(), groups.join(",")]);
                }
                for (flag, value) in [("-c", &self.comment), ("-d", &self.home), ("-s", &self.shell)] {
                    if let Some(value) = value {
                        words.extend([flag.to_string(), value.clone()]);
                    }
                }
                if self.create_home {
                    words.push("-m".into());
                    if let Some(skeleton) = &self.skeleton {
                        words.extend(["-k".into(), skeleton.clone()]);
                    }
                } else {
                    words.push("-M".into());
                }
                if self.system {
                    words.push("-r".into());
                }
                run(&mut script, &words);
                script.raw("if ! getent passwd -- \"$u\" >/dev/null; then");
                if self.group.is_none() {
                    // As Ansible: a group named like the user already exists, so useradd must
                    // not try to create it.
                    script.raw("  if getent group -- \"$u\" >/dev/null; then set -- \"$@\" -N; fi");
                }
                script.raw("  \"$@\" \"$u\" >&2 || exit 1; deploy_changed");
                if let Some(password) = &self.password {
                    script.line(
                        "  printf '%s:%s\\n' \"$u\" {} | chpasswd -e >&2 || { echo 'setting the password failed' >&2; exit 1; }",
                        &[password],
                    );
                }
                script.raw("fi");
            }
            Some(account) => {
                let (options, _) = self.usermod_options(have, account);
                if !options.is_empty() {
                    let mut words = vec!["usermod".to_string()];
                    words.extend(options);
                    run(&mut script, &words);
                    script.raw(r#""$@" "$u" >&2 || exit 1; deploy_changed"#);
                }
                if self.password_differs(account) {
                    let password = self.password.as_deref().unwrap_or_default();
                    script.line(
                        "printf '%s:%s\\n' \"$u\" {} | chpasswd -e >&2 || { echo 'setting the password failed' >&2; exit 1; }",
                        &[password],
                    );
                    script.raw("deploy_changed");
                }
                if self.create_home {
                    script.raw(r#"h=$(getent passwd -- "$u" | cut -d: -f6); g=$(getent passwd -- "$u" | cut -d: -f4)"#);
                    script.raw(
                        r#"if [ -n "$h" ] && [ ! -e "$h" ]; then mkdir -p -- "$h" && cp -a /etc/skel/. "$h"/ 2>/dev/null; chown -R -- "$u:$g" "$h" && chmod 0755 "$h" || exit 1; deploy_changed; fi"#,
                    );
                }
            }
        }
        script
    }
}

/// Builds the resource from `user`'s parameters.
pub fn from_args(args: &Args) -> Result<User> {
    args.refuse(&[
        "hidden",
        "seuser",
        "login_class",
        "generate_ssh_key",
        "ssh_key_bits",
        "ssh_key_file",
        "ssh_key_comment",
        "ssh_key_passphrase",
        "expires",
        "password_lock",
        "local",
        "profile",
        "authorization",
        "role",
        "umask",
        "password_expire_max",
        "password_expire_min",
        "password_expire_warn",
    ])?;
    if args
        .value("ssh_key_type")
        .and_then(|v| v.as_str().map(str::to_string))
        .as_deref()
        != Some("rsa")
    {
        bail!("parameter `ssh_key_type` of module `user` is not supported by deploy");
    }
    let name = args.required_str("name")?;
    check_account_name("user", &name)?;
    let group = args.str("group")?;
    let groups = match args.value("groups") {
        None => None,
        Some(_) => Some(args.list("groups")?),
    };
    for g in group.iter().chain(groups.iter().flatten()) {
        let is_gid = !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
        if !is_gid {
            check_account_name("group", g)?;
        }
    }
    let password = args.str("password")?;
    if password.as_deref().is_some_and(|p| p.contains(['\n', ':'])) {
        bail!("`password` must be a crypt hash (one line, no `:`), as Ansible expects");
    }
    Ok(User {
        name,
        present: args.str("state")?.as_deref() != Some("absent"),
        uid: args.int("uid")?,
        non_unique: args.flag("non_unique")?,
        group,
        groups,
        append: args.flag("append")?,
        shell: args.str("shell")?,
        home: args.str("home")?,
        create_home: args.bool("create_home")?.unwrap_or(true),
        move_home: args.flag("move_home")?,
        skeleton: args.str("skeleton")?,
        system: args.flag("system")?,
        comment: args.str("comment")?,
        password,
        update_password_always: args.str("update_password")?.as_deref() != Some("on_create"),
        remove: args.flag("remove")?,
        force: args.flag("force")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, section};
    use serde_json::json;

    const HASH: &str = "$6$salt$abcdefghijklmnopqrstuvwxyz";

    fn plan(params: serde_json::Value, probe: &str) -> (Diff, Script) {
        build(&SPEC, params, &NoContext)
            .unwrap()
            .plan(&section(probe))
            .unwrap()
    }

    fn shown(diff: &Diff) -> Vec<String> {
        diff.attributes.iter().map(|a| a.describe()).collect()
    }

    fn existing(extra: &str) -> String {
        format!(
            "passwd=app:x:998:998:App:/srv/app:/usr/sbin/nologin\nmember=www-data\nhome_exists=yes\n\
             shadow_sha256={}\n{extra}",
            sha256_hex(HASH)
        )
    }

    #[test]
    fn a_matching_account_is_converged() {
        let params = json!({"name": "app", "system": true, "shell": "/usr/sbin/nologin", "home": "/srv/app",
            "create_home": false, "password": HASH, "groups": ["www-data"]});
        let (diff, script) = plan(params, &existing("group=www-data:www-data:x:33:app\n"));
        assert!(diff.is_converged(), "{diff:?}");
        assert!(script.is_empty());
    }

    #[test]
    fn a_missing_account_is_created_and_its_password_set_on_stdin() {
        let params = json!({"name": "app", "system": true, "shell": "/usr/sbin/nologin", "password": HASH});
        let (diff, script) = plan(params, "passwd=absent\n");
        assert_eq!(diff.action, Action::Create);
        assert_eq!(
            shown(&diff),
            ["shell /usr/sbin/nologin", "system yes", "password (set)"]
        );
        assert!(
            !format!("{diff:?}").contains("salt"),
            "the hash is never in the plan"
        );
        let text = script.as_str();
        assert!(text.contains("set -- \"$@\" useradd"));
        assert!(text.contains("set -- \"$@\" '-r'"));
        assert!(
            text.contains(&format!("printf '%s:%s\\n' \"$u\" '{HASH}' | chpasswd -e")),
            "{text}"
        );
    }

    #[test]
    fn changes_are_usermod_options() {
        let params =
            json!({"name": "app", "shell": "/bin/bash", "groups": ["sudo"], "password": "$6$other$x"});
        let (diff, script) = plan(params, &existing("group=sudo:sudo:x:27:\n"));
        assert_eq!(
            shown(&diff),
            [
                "groups www-data → sudo",
                "shell /usr/sbin/nologin → /bin/bash",
                "password (changed)"
            ]
        );
        let text = script.as_str();
        assert!(text
            .contains("set -- \"$@\" usermod\nset -- \"$@\" '-G'\nset -- \"$@\" sudo\nset -- \"$@\" '-s'\n"));
        assert!(!format!("{diff:?}").contains("other"));
        // With append, groups already joined are kept and only missing ones count.
        let params = json!({"name": "app", "groups": ["www-data"], "append": true});
        assert!(plan(params, &existing("group=www-data:www-data:x:33:app\n"))
            .0
            .is_converged());
    }

    #[test]
    fn on_create_passwords_and_locked_hashes() {
        let params = json!({"name": "app", "password": "$6$new$y", "update_password": "on_create"});
        assert!(plan(params, &existing("")).0.is_converged());
        let params = json!({"name": "app", "password": format!("!{HASH}")});
        assert!(
            plan(params, &existing("")).0.is_converged(),
            "a leading ! is ignored, as Ansible does"
        );
        let step = build(&SPEC, json!({"name": "app", "password": HASH}), &NoContext).unwrap();
        let unreadable = "passwd=app:x:998:998:App:/srv/app:/bin/sh\nhome_exists=yes\n";
        let err = step.plan(&section(unreadable)).unwrap_err();
        assert!(err.to_string().contains("become"), "{err}");
    }

    #[test]
    fn primary_group_and_missing_groups() {
        let params = json!({"name": "app", "group": "www-data"});
        let (diff, script) = plan(params.clone(), &existing("group=www-data:www-data:x:33:\n"));
        assert_eq!(shown(&diff), ["group 998 → www-data"]);
        assert!(script.as_str().contains("set -- \"$@\" '-g'\nset -- \"$@\" 33\n"));
        // A group that does not exist yet (an earlier step creates it) is named, not refused.
        let (diff, script) = plan(params, &existing(""));
        assert_eq!(shown(&diff), ["group 998 → www-data"]);
        assert!(
            script
                .as_str()
                .contains("set -- \"$@\" '-g'\nset -- \"$@\" www-data\n"),
            "{}",
            script.as_str()
        );
    }

    #[test]
    fn a_missing_home_is_created() {
        let probe = existing("").replace("home_exists=yes", "home_exists=no");
        let (diff, script) = plan(json!({"name": "app"}), &probe);
        assert_eq!(shown(&diff), ["home directory /srv/app (created)"]);
        assert!(script.as_str().contains("mkdir -p"));
        assert!(plan(json!({"name": "app", "create_home": false}), &probe)
            .0
            .is_converged());
    }

    #[test]
    fn removal() {
        let (diff, script) = plan(
            json!({"name": "app", "state": "absent", "remove": true}),
            &existing(""),
        );
        assert_eq!(diff.action, Action::Remove);
        assert!(script
            .as_str()
            .contains("set -- \"$@\" userdel\nset -- \"$@\" '-r'\n"));
        assert!(plan(json!({"name": "app", "state": "absent"}), "passwd=absent\n")
            .0
            .is_converged());
    }

    #[test]
    fn refuses_bad_names_and_lies() {
        for bad in ["-o", "a b", "a:b", "123"] {
            assert!(build(&SPEC, json!({ "name": bad }), &NoContext).is_err(), "{bad}");
        }
        assert!(build(&SPEC, json!({"name": "a", "generate_ssh_key": true}), &NoContext).is_err());
        let step = build(&SPEC, json!({"name": "app"}), &NoContext).unwrap();
        assert!(step
            .plan(&section("passwd=app:x:notanumber:1:::\nhome_exists=yes\n"))
            .is_err());
        assert!(step.plan(&section("")).is_err());
    }

    #[test]
    fn the_probe_runs_here() {
        let dir = tempfile::tempdir().unwrap();
        let step = build(
            &SPEC,
            json!({"name": "root", "create_home": false, "groups": ["root"]}),
            &NoContext,
        )
        .unwrap();
        let probe = crate::resource::support::testing::run_probe(&step.probe(), dir.path());
        let state = User::inspect(
            &from_args(&Args::new(
                &SPEC,
                &[("name".to_string(), json!("root"))].into_iter().collect(),
            ))
            .unwrap(),
            &probe,
        )
        .unwrap();
        assert_eq!(state.account.unwrap().uid, 0);
        assert_eq!(
            step.plan(&probe).unwrap().1.is_empty(),
            step.plan(&probe).unwrap().0.is_converged()
        );
    }
}

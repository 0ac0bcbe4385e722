//! `user`: a local account, its groups, shell, home and password.
//!
//! Follows Ansible's `user` module on Linux (`useradd`/`usermod`/`userdel`): only the given
//! attributes are compared, supplementary groups are the groups whose member list names the
//! user, and the password is a crypt hash compared with the shadow entry (leading `!` ignored).
//! The hash never appears in a plan, an argv or the probe's output: the probe returns a digest
//! of the current hash, and the apply script feeds `chpasswd -e` on stdin with `printf`.
//!
//! Password ageing (`password_expire_min`/`_max`/`_warn`, through `chage`) and the account's
//! expiry date (`expires`, seconds since the epoch, compared by day as Ansible does) are read
//! from the shadow entry. `generate_ssh_key` runs the host's `ssh-keygen` when neither the key
//! nor its `.pub` exists; a passphrase reaches it through an `SSH_ASKPASS` helper written to a
//! private temporary file, never through argv. A converged task registers what Ansible returns
//! (`uid`, `home`, `shell`, `ssh_public_key`, `ssh_fingerprint`, ...).
//!
//! Differences from Ansible: with `force: true` an existing SSH key is kept (Ansible makes a new
//! one on every run); what a changed task registers is the apply's output, without the
//! account's fields.

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
#[derive(Clone, Debug, PartialEq)]
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
    /// Seconds since the epoch; negative removes the expiry.
    pub expires: Option<f64>,
    pub expire_min: Option<i64>,
    pub expire_max: Option<i64>,
    pub expire_warn: Option<i64>,
    pub ssh_key: Option<SshKey>,
}

/// The key `generate_ssh_key` makes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SshKey {
    pub kind: String,
    /// 0 leaves the size to `ssh-keygen`.
    pub bits: i64,
    /// Absolute, or relative to the home directory.
    pub file: String,
    /// `None`: Ansible's `ansible-generated on HOSTNAME`, with the host's name.
    pub comment: Option<String>,
    /// Never shown, never in argv.
    pub passphrase: Option<String>,
}

/// The ageing fields of a shadow entry, `-1` where empty (as `getspnam` reads them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ageing {
    pub min: i64,
    pub max: i64,
    pub warn: i64,
    /// Days since the epoch.
    pub expire: i64,
}

/// The SSH key as the probe found it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SshKeyState {
    pub file: String,
    pub exists: bool,
    pub public_exists: bool,
    pub public_key: Option<String>,
    pub fingerprint: Option<String>,
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
    /// `None` when /etc/shadow is unreadable.
    pub ageing: Option<Ageing>,
    pub ssh_key: Option<SshKeyState>,
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
        if let (Some(expires), Some(ageing)) = (self.expires, account.ageing) {
            let wanted = expiry_day(expires);
            let needs = match wanted {
                None => ageing.expire >= 0,
                Some(day) => ageing.expire < 0 || ageing.expire != day,
            };
            if needs {
                let date = wanted.map(day_to_date).unwrap_or_default();
                push(
                    &["-e", &date],
                    AttributeChange::new(
                        "expires",
                        Some(shown_expiry(ageing.expire)),
                        Some(shown_expiry(wanted.unwrap_or(-1))),
                    ),
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

    /// The `chage` options, and what they change, as Ansible's `set_password_expire`.
    fn chage_options(&self, ageing: Option<Ageing>) -> (Vec<String>, Vec<AttributeChange>) {
        let mut options = Vec::new();
        let mut shown = Vec::new();
        for (name, flag, wanted, current) in [
            ("password_expire_min", "-m", self.expire_min, ageing.map(|a| a.min)),
            ("password_expire_max", "-M", self.expire_max, ageing.map(|a| a.max)),
            ("password_expire_warn", "-W", self.expire_warn, ageing.map(|a| a.warn)),
        ] {
            if let Some(wanted) = wanted.filter(|w| Some(*w) != current) {
                options.extend([flag.to_string(), wanted.to_string()]);
                shown.push(AttributeChange::new(
                    name,
                    current.map(|c| c.to_string()),
                    Some(wanted.to_string()),
                ));
            }
        }
        (options, shown)
    }

    /// Whether `generate_ssh_key` has a key to make.
    fn needs_ssh_key(&self, account: Option<&Account>) -> bool {
        self.ssh_key.is_some()
            && account
                .and_then(|a| a.ssh_key.as_ref())
                .is_none_or(|k| !k.exists && !k.public_exists)
    }

    /// Makes the SSH key of `$u` unless it or its `.pub` exists, as Ansible's `ssh_key_gen`.
    fn ssh_keygen(&self, script: &mut Script) {
        let Some(key) = &self.ssh_key else {
            return;
        };
        script.raw(r#"e=$(getent passwd -- "$u") || exit 1; h=$(printf '%s\n' "$e" | cut -d: -f6); i=$(printf '%s\n' "$e" | cut -d: -f3); g=$(printf '%s\n' "$e" | cut -d: -f4)"#);
        script.line("k={}", &[&key.file]);
        script.raw(r#"case "$k" in /*) ;; *) [ -d "$h" ] || { echo "User $u home directory does not exist" >&2; exit 1; }; k="$h/$k";; esac"#);
        script.raw(r#"if [ ! -e "$k" ] && [ ! -e "$k.pub" ]; then"#);
        script.raw(r#"  d=$(dirname -- "$k"); if [ ! -d "$d" ]; then mkdir -m 0700 -- "$d" && chown -- "$i:$g" "$d" || exit 1; fi"#);
        script.line("  set -- ssh-keygen -t {}", &[&key.kind]);
        if key.bits > 0 {
            script.line("  set -- \"$@\" -b {}", &[&key.bits.to_string()]);
        }
        match &key.comment {
            Some(comment) => script.line("  set -- \"$@\" -C {}", &[comment]),
            None => script.raw(r#"  set -- "$@" -C "ansible-generated on $(uname -n)""#),
        };
        script.raw(r#"  set -- "$@" -f "$k""#);
        match &key.passphrase {
            None => {
                script.raw(r#"  "$@" -N '' </dev/null >/dev/null || exit 1"#);
            }
            Some(passphrase) => {
                // ssh-keygen asks an SSH_ASKPASS helper when its stdin is no terminal: the
                // passphrase stays in a file only root and the user can read, gone after.
                script.raw(r#"  a=$(mktemp) || exit 1; chmod 0700 "$a" || { rm -f -- "$a"; exit 1; }"#);
                let helper = format!("#!/bin/sh\nprintf '%s\\n' {}\n", crate::shell::quote(passphrase));
                script.write_bytes(helper.as_bytes(), "> \"$a\" || { rm -f -- \"$a\"; exit 1; }", &[]);
                script.raw(r#"  SSH_ASKPASS="$a" SSH_ASKPASS_REQUIRE=force DISPLAY=none "$@" </dev/null >/dev/null; r=$?; rm -f -- "$a"; [ "$r" = 0 ] || exit 1"#);
            }
        }
        script.raw(r#"  chown -- "$i:$g" "$k" "$k.pub" || exit 1; deploy_changed"#);
        script.raw("fi");
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
    s=$(getent shadow -- "$u")
    printf '%s\n' "$s" | { IFS=: read -r n p l mn mx wn in ex rest; printf 'shadow_ageing=%s:%s:%s:%s\n' "$mn" "$mx" "$wn" "$ex"; }
    # The password field without its lock marks, hashed: the hash itself never leaves the host.
    s=${s#*:}; s=${s%%:*}
    while [ "${s#!}" != "$s" ]; do s=${s#!}; done
    s=$(printf '%s' "$s" | sha256sum); printf 'shadow_sha256=%s\n' "${s%% *}"
  fi
else echo passwd=absent; fi"#;

/// Prints `ssh_key=`, `ssh_pub=`, `ssh_public_key=`, `ssh_fingerprint=` for the key `$k` of
/// account `$u` (relative to its home `$h`).
const SSH_KEY_PROBE: &str = r#"if [ -n "${e:-}" ] && getent passwd -- "$u" >/dev/null; then
  case "$k" in /*) ;; *) k="$h/$k";; esac
  printf 'ssh_file=%s\n' "$k"
  if [ -e "$k" ]; then echo ssh_key=yes; else echo ssh_key=no; fi
  if [ -e "$k.pub" ]; then echo ssh_pub=yes; p=$(cat -- "$k.pub") && printf 'ssh_public_key=%s\n' "$p"; else echo ssh_pub=no; fi
  if [ -e "$k" ] && f=$(ssh-keygen -l -f "$k" 2>/dev/null); then printf 'ssh_fingerprint=%s\n' "$f"; fi
fi"#;

/// The expiry day (days since the epoch) of `expires` seconds; `None` when it asks for none.
fn expiry_day(expires: f64) -> Option<i64> {
    (expires >= 0.0).then(|| (expires.floor() as i64).div_euclid(86400))
}

/// A day since the epoch as `YYYY-MM-DD`, the form `useradd -e` takes.
fn day_to_date(day: i64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(day.max(0) as u64 * 86400);
    humantime::format_rfc3339_seconds(time).to_string()[..10].to_string()
}

fn shown_expiry(day: i64) -> String {
    if day < 0 {
        "never".to_string()
    } else {
        day_to_date(day)
    }
}

impl Resource for User {
    type State = UserState;

    fn target(&self) -> String {
        self.name.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.line("u={}", &[&self.name]);
        script.raw(USER_PROBE);
        if let Some(key) = &self.ssh_key {
            script.line("k={}", &[&key.file]);
            script.raw(SSH_KEY_PROBE);
        }
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
                ageing: value_of(&pairs, "shadow_ageing").map(parse_ageing).transpose()?,
                ssh_key: match value_of(&pairs, "ssh_file") {
                    None => None,
                    Some(file) => Some(SshKeyState {
                        file: file.to_string(),
                        exists: yes_no(value_of(&pairs, "ssh_key"), "ssh_key")?,
                        public_exists: yes_no(value_of(&pairs, "ssh_pub"), "ssh_pub")?,
                        public_key: value_of(&pairs, "ssh_public_key").map(|k| k.trim().to_string()),
                        fingerprint: value_of(&pairs, "ssh_fingerprint").map(|f| f.trim().to_string()),
                    }),
                },
            };
            let reads_shadow = self.expires.is_some()
                || self.expire_min.is_some()
                || self.expire_max.is_some()
                || self.expire_warn.is_some();
            if self.present && reads_shadow && account.ageing.is_none() {
                bail!(
                    "cannot read /etc/shadow to compare {}'s password ageing: this task needs `become: true`",
                    self.name
                );
            }
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
                add("expires", self.expires.map(|e| shown_expiry(expiry_day(e).unwrap_or(-1))));
                add("password_expire_min", self.expire_min.map(|d| d.to_string()));
                add("password_expire_max", self.expire_max.map(|d| d.to_string()));
                add("password_expire_warn", self.expire_warn.map(|d| d.to_string()));
                add("ssh key", self.ssh_key.as_ref().map(|k| k.file.clone()));
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
                shown.extend(self.chage_options(account.ageing).1);
                if self.needs_ssh_key(Some(account)) {
                    let file = account.ssh_key.as_ref().map_or_else(
                        || self.ssh_key.as_ref().map(|k| k.file.clone()).unwrap_or_default(),
                        |k| k.file.clone(),
                    );
                    shown.push(AttributeChange::new("ssh key", None::<String>, Some(file)));
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
                if let Some(expires) = self.expires {
                    words.extend(["-e".into(), expiry_day(expires).map(day_to_date).unwrap_or_default()]);
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
                let (chage, _) = self.chage_options(None);
                if !chage.is_empty() {
                    let mut words = vec!["chage".to_string()];
                    words.extend(chage);
                    run(&mut script, &words);
                    script.raw(r#"  "$@" "$u" >&2 || exit 1"#);
                }
                script.raw("fi");
                self.ssh_keygen(&mut script);
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
                let (chage, _) = self.chage_options(account.ageing);
                if !chage.is_empty() {
                    let mut words = vec!["chage".to_string()];
                    words.extend(chage);
                    run(&mut script, &words);
                    script.raw(r#""$@" "$u" >&2 || exit 1; deploy_changed"#);
                }
                self.ssh_keygen(&mut script);
            }
        }
        script
    }

    fn result(&self, out: &Section) -> Result<Option<serde_json::Value>> {
        use serde_json::json;
        let state = self.inspect(out)?;
        let mut result = json!({"changed": false, "failed": false, "name": self.name,
            "state": if self.present { "present" } else { "absent" }});
        let Some(account) = state.account.as_ref().filter(|_| self.present) else {
            return Ok(Some(result));
        };
        for (key, value) in [
            ("uid", json!(account.uid)),
            ("group", json!(account.gid)),
            ("comment", json!(account.comment)),
            ("home", json!(account.home)),
            ("shell", json!(account.shell)),
            ("append", json!(self.append)),
            ("move_home", json!(self.move_home)),
        ] {
            result[key] = value;
        }
        if let Some(groups) = &self.groups {
            result["groups"] = json!(groups.join(","));
        }
        if self.password.is_some() {
            result["password"] = json!("NOT_LOGGING_PASSWORD");
        }
        if let (Some(_), Some(key)) = (&self.ssh_key, &account.ssh_key) {
            result["ssh_key_file"] = json!(key.file);
            result["ssh_public_key"] = json!(key.public_key);
            result["ssh_fingerprint"] = json!(key.fingerprint.clone().unwrap_or_default());
        }
        Ok(Some(result))
    }
}

/// `MIN:MAX:WARN:EXPIRE` of a shadow entry, empty fields as -1.
fn parse_ageing(text: &str) -> Result<Ageing> {
    let fields: Vec<i64> = text
        .split(':')
        .map(|f| if f.is_empty() { Ok(-1) } else { f.parse() })
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("probe: bad shadow ageing fields {text:?}"))?;
    let [min, max, warn, expire] = fields.as_slice() else {
        bail!("probe: bad shadow ageing fields {text:?}");
    };
    Ok(Ageing {
        min: *min,
        max: *max,
        warn: *warn,
        expire: *expire,
    })
}

/// Builds the resource from `user`'s parameters.
pub fn from_args(args: &Args) -> Result<User> {
    args.refuse(&[
        "hidden",
        "seuser",
        "login_class",
        "password_lock",
        "local",
        "profile",
        "authorization",
        "role",
        "umask",
    ])?;
    let ssh_key = if args.flag("generate_ssh_key")? {
        let kind = args.str("ssh_key_type")?.unwrap_or_else(|| "rsa".into());
        if !["rsa", "dsa", "ecdsa", "ed25519", "ecdsa-sk", "ed25519-sk"].contains(&kind.as_str()) {
            bail!("`ssh_key_type` must be a key type ssh-keygen knows (rsa, ecdsa, ed25519, ...), found `{kind}`");
        }
        Some(SshKey {
            file: args
                .str("ssh_key_file")?
                .filter(|f| !f.is_empty())
                .unwrap_or_else(|| format!(".ssh/id_{kind}")),
            kind,
            bits: args.int("ssh_key_bits")?.unwrap_or(0),
            comment: args.str("ssh_key_comment")?,
            passphrase: args.str("ssh_key_passphrase")?,
        })
    } else {
        None
    };
    let expires = match args.value("expires") {
        None => None,
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => Some(
            s.trim()
                .parse::<f64>()
                .map_err(|_| anyhow::anyhow!("parameter `expires` must be a number of seconds since the epoch, found `{s}`"))?,
        ),
        Some(other) => bail!("parameter `expires` must be a number of seconds since the epoch, found {other}"),
    };
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
        expires,
        expire_min: args.int("password_expire_min")?,
        expire_max: args.int("password_expire_max")?,
        expire_warn: args.int("password_expire_warn")?,
        ssh_key,
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
        assert!(build(&SPEC, json!({"name": "a", "umask": "077"}), &NoContext).is_err());
        assert!(build(
            &SPEC,
            json!({"name": "a", "generate_ssh_key": true, "ssh_key_type": "x; rm"}),
            &NoContext
        )
        .is_err());
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

#[cfg(test)]
mod ageing_and_key_tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, section};
    use serde_json::json;

    const ACCOUNT: &str = "passwd=app:x:998:998:App:/home/app:/bin/sh\nhome_exists=yes\nshadow_sha256=x\n";

    fn shown(params: serde_json::Value, probe: &str) -> (Vec<String>, Script) {
        let (diff, script) = build(&SPEC, params, &NoContext)
            .unwrap()
            .plan(&section(probe))
            .unwrap();
        (diff.attributes.iter().map(|a| a.describe()).collect(), script)
    }

    #[test]
    fn ageing_and_expiry_compare_with_the_shadow_entry() {
        let probe = format!("{ACCOUNT}shadow_ageing=0:99999:7:\n");
        // 1767225600 is 2026-01-01 00:00 UTC: day 20454.
        let params = json!({"name": "app", "password_expire_min": 1, "password_expire_max": 99999, "expires": 1767225600.5});
        let (changes, script) = shown(params, &probe);
        assert_eq!(
            changes,
            ["expires never → 2026-01-01", "password_expire_min 0 → 1"]
        );
        let text = script.as_str();
        assert!(text.contains("set -- \"$@\" '-e'\nset -- \"$@\" 2026-01-01\n"), "{text}");
        assert!(text.contains("set -- \"$@\" chage\nset -- \"$@\" '-m'\nset -- \"$@\" 1\n"), "{text}");
        let converged = format!("{ACCOUNT}shadow_ageing=1:99999:7:20454\n");
        let params = json!({"name": "app", "password_expire_min": 1, "expires": 1767230000});
        assert!(shown(params, &converged).0.is_empty());
        let (changes, _) = shown(json!({"name": "app", "expires": -1}), &converged);
        assert_eq!(changes, ["expires 2026-01-01 → never"]);
        let unreadable = "passwd=app:x:998:998:App:/home/app:/bin/sh\nhome_exists=yes\n";
        let step = build(&SPEC, json!({"name": "app", "expires": -1}), &NoContext).unwrap();
        assert!(step.plan(&section(unreadable)).is_err());
    }

    #[test]
    fn a_missing_key_is_generated_and_an_existing_one_answers() {
        let params = json!({"name": "app", "generate_ssh_key": true, "ssh_key_type": "ed25519",
            "ssh_key_passphrase": "sekrit", "ssh_key_comment": "app key"});
        let missing = format!("{ACCOUNT}ssh_file=/home/app/.ssh/id_ed25519\nssh_key=no\nssh_pub=no\n");
        let (changes, script) = shown(params.clone(), &missing);
        assert_eq!(changes, ["ssh key /home/app/.ssh/id_ed25519"]);
        let text = script.as_str();
        assert!(text.contains("ssh-keygen -t ed25519"), "{text}");
        assert!(text.contains("SSH_ASKPASS="), "{text}");
        assert!(!text.contains("sekrit"), "the passphrase travels encoded, never as a word: {text}");
        let present = format!(
            "{ACCOUNT}ssh_file=/home/app/.ssh/id_ed25519\nssh_key=yes\nssh_pub=yes\nssh_public_key=ssh-ed25519 AAAA app key\n\
             ssh_fingerprint=256 SHA256:abc app key (ED25519)\n"
        );
        let step = build(&SPEC, params, &NoContext).unwrap();
        assert!(step.plan(&section(&present)).unwrap().0.is_converged());
        let answer = step.result(&section(&present)).unwrap().unwrap();
        assert_eq!(answer["ssh_public_key"], json!("ssh-ed25519 AAAA app key"));
        assert_eq!(answer["ssh_key_file"], json!("/home/app/.ssh/id_ed25519"));
        assert_eq!(answer["home"], json!("/home/app"));
        assert_eq!(answer["uid"], json!(998));
    }
}

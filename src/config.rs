//! `ansible.cfg`, found and read as Ansible finds and reads it.
//!
//! Projects keep their inventory, `roles_path`, remote user and escalation defaults in an
//! `ansible.cfg` beside the playbooks, and expect every tool run from that directory to honour
//! it. Ansible takes the first of `$ANSIBLE_CONFIG`, `./ansible.cfg`, `~/.ansible.cfg` and
//! `/etc/ansible/ansible.cfg` that exists, parses it with Python's `configparser` (whose
//! quirks users' files rely on: `;` inline comments but not `#`, indented continuation lines,
//! `%%` kept as written because values are read raw), converts each value by its type
//! (relative paths are relative to the file), and lets an `ANSIBLE_*` environment variable
//! beat the file. [`Settings::resolve`] is that, as a pure function of the file's text and the
//! environment; the command line applies its own flags on top. Keys deploy has no use for are
//! ignored, as Ansible ignores keys it does not know.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, Result};
use indexmap::IndexMap;

use crate::error::{located, located_hint, Pos};

/// The settings deploy takes from `ansible.cfg` and `ANSIBLE_*` variables. `None` (or `false`
/// for the booleans that default to false) means neither gave one.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Settings {
    /// The file read, if any.
    pub file: Option<PathBuf>,
    /// `[defaults] inventory`, `ANSIBLE_INVENTORY`: comma-separated.
    pub inventory: Option<Vec<PathBuf>>,
    /// `[defaults] roles_path`, `ANSIBLE_ROLES_PATH`: colon-separated.
    pub roles_path: Option<Vec<PathBuf>>,
    pub remote_user: Option<String>,
    pub private_key_file: Option<PathBuf>,
    pub forks: Option<usize>,
    /// `host_key_checking`; `Some(false)` means unknown and changed keys are accepted.
    pub host_key_checking: Option<bool>,
    pub timeout: Option<u64>,
    /// `[defaults] vault_password_file`, `ANSIBLE_VAULT_PASSWORD_FILE`.
    pub vault_password_file: Option<PathBuf>,
    /// `[defaults] vault_identity_list`, `ANSIBLE_VAULT_IDENTITY_LIST`: `label@source`, comma-separated.
    pub vault_identity_list: Option<Vec<String>>,
    /// `[privilege_escalation]`.
    pub become_: Option<bool>,
    pub become_method: Option<String>,
    pub become_user: Option<String>,
    pub become_ask_pass: Option<bool>,
}

/// What the settings are read with: the environment, the current directory and the home
/// directory, passed in so that resolving them stays a pure function.
#[derive(Clone, Debug, Default)]
pub struct Environment {
    pub vars: HashMap<String, String>,
    pub cwd: PathBuf,
}

impl Environment {
    /// The process's own environment and working directory.
    pub fn current() -> Result<Environment> {
        Ok(Environment {
            vars: std::env::vars().collect(),
            cwd: std::env::current_dir().context("cannot read the current directory")?,
        })
    }

    fn var(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

/// Finds and reads the `ansible.cfg` Ansible would use, then the environment over it.
pub fn load(env: &Environment) -> Result<Settings> {
    let Some(path) = find_file(env)? else {
        return Settings::resolve(None, env);
    };
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read the Ansible configuration {}", path.display()))?;
    Settings::resolve(Some((&path, &text)), env)
}

/// The first of `$ANSIBLE_CONFIG` (a file, or a directory holding `ansible.cfg`),
/// `./ansible.cfg` (unless the directory is world-writable, which Ansible refuses to trust),
/// `~/.ansible.cfg` and `/etc/ansible/ansible.cfg` that exists and can be read.
pub fn find_file(env: &Environment) -> Result<Option<PathBuf>> {
    use std::os::unix::fs::PermissionsExt as _;
    let mut candidates = Vec::new();
    if let Some(named) = env.var("ANSIBLE_CONFIG") {
        let path = resolve_path(named, &env.cwd, env);
        candidates.push(if path.is_dir() {
            path.join("ansible.cfg")
        } else {
            path
        });
    }
    let world_writable = std::fs::metadata(&env.cwd).is_ok_and(|m| m.permissions().mode() & 0o002 != 0);
    if !world_writable {
        candidates.push(env.cwd.join("ansible.cfg"));
    }
    candidates.push(resolve_path("~/.ansible.cfg", &env.cwd, env));
    candidates.push(PathBuf::from("/etc/ansible/ansible.cfg"));
    let Some(found) = candidates
        .into_iter()
        .find(|p| std::fs::File::open(p).is_ok_and(|f| f.metadata().is_ok_and(|m| m.is_file())))
    else {
        return Ok(None);
    };
    match found.extension().and_then(|e| e.to_str()) {
        Some("cfg" | "ini") => Ok(Some(found)),
        _ => anyhow::bail!(
            "{}: Ansible reads its configuration from a `.cfg` or `.ini` file (ANSIBLE_CONFIG)",
            found.display()
        ),
    }
}

/// One `[section] key = value` of the file, with the line it starts on.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Entry {
    value: String,
    line: usize,
}

/// An INI file as `configparser.ConfigParser(inline_comment_prefixes=(';',))` reads it.
#[derive(Debug, Default)]
struct Ini {
    defaults: IndexMap<String, Entry>,
    sections: IndexMap<String, IndexMap<String, Entry>>,
}

impl Ini {
    fn parse(text: &str, path: &Arc<PathBuf>) -> Result<Ini> {
        let mut ini = Ini::default();
        // Where the option being read lives: `None` for `[DEFAULT]`.
        let mut section: Option<Option<String>> = None;
        let mut option: Option<String> = None;
        let mut lines: Vec<String> = Vec::new();
        let mut indent_level = 0usize;
        let mut seen_sections: Vec<String> = Vec::new();
        let mut seen_options: Vec<(Option<String>, String)> = Vec::new();
        // A value's lines are joined once the next key or section starts.
        fn finish(
            ini: &mut Ini,
            section: &Option<Option<String>>,
            option: &Option<String>,
            lines: &mut Vec<String>,
        ) {
            if let (Some(section), Some(option)) = (section, option) {
                let map = match section {
                    None => &mut ini.defaults,
                    Some(name) => ini.sections.entry(name.clone()).or_default(),
                };
                if let Some(entry) = map.get_mut(option) {
                    entry.value = lines.join("\n").trim_end().to_string();
                }
            }
            lines.clear();
        }
        for (index, raw) in text.lines().enumerate() {
            let number = index + 1;
            let comment_start = comment_start(raw);
            let value = raw[..comment_start.unwrap_or(raw.len())].trim();
            if value.is_empty() {
                // Blank lines belong to a value if more of it follows; trailing ones are dropped
                // when the value is joined.
                if comment_start.is_none() && option.is_some() {
                    lines.push(String::new());
                }
                continue;
            }
            let indent = raw.len() - raw.trim_start().len();
            if section.is_some() && option.is_some() && indent > indent_level {
                lines.push(value.to_string());
                continue;
            }
            finish(&mut ini, &section, &option, &mut lines);
            indent_level = indent;
            let at = |col: usize| Pos::new(path, number, col);
            if let Some(name) = section_header(value) {
                if name != "DEFAULT" && seen_sections.iter().any(|s| s == name) {
                    return Err(located(
                        &at(indent + 1),
                        format!("section [{name}] appears twice"),
                    ));
                }
                seen_sections.push(name.to_string());
                section = Some((name != "DEFAULT").then(|| name.to_string()));
                if let Some(Some(name)) = &section {
                    ini.sections.entry(name.clone()).or_default();
                }
                option = None;
                continue;
            }
            let Some(current) = &section else {
                return Err(located_hint(
                    &at(indent + 1),
                    "a setting before any [section]",
                    "settings go under a section header such as [defaults]",
                ));
            };
            let Some(delimiter) = value.find(['=', ':']) else {
                return Err(located_hint(
                    &at(indent + 1),
                    format!("expected `key = value`, found `{value}`"),
                    "each setting is `key = value` or `key: value`; continue a value on an indented line",
                ));
            };
            let key = value[..delimiter].trim_end().to_lowercase();
            if key.is_empty() {
                return Err(located(
                    &at(indent + 1),
                    format!("a value without a key: `{value}`"),
                ));
            }
            if seen_options.iter().any(|(s, k)| s == current && *k == key) {
                return Err(located(
                    &at(indent + 1),
                    format!("`{key}` is set twice in this section"),
                ));
            }
            seen_options.push((current.clone(), key.clone()));
            let map = match current {
                None => &mut ini.defaults,
                Some(name) => ini.sections.entry(name.clone()).or_default(),
            };
            map.insert(
                key.clone(),
                Entry {
                    value: String::new(),
                    line: number,
                },
            );
            lines.push(value[delimiter + 1..].trim().to_string());
            option = Some(key);
        }
        finish(&mut ini, &section, &option, &mut lines);
        Ok(ini)
    }

    /// `parser.get(section, key, raw=True, fallback=None)`: the section's own value, else
    /// `[DEFAULT]`'s, but only for a section the file has.
    fn get(&self, section: &str, key: &str) -> Option<&Entry> {
        let own = self.sections.get(section)?;
        own.get(key).or_else(|| self.defaults.get(key))
    }
}

/// Where a comment starts on a line: a whole line starting with `#` or `;`, or a `;` at the
/// start or after whitespace (`#` is not an inline comment for Ansible's parser).
fn comment_start(line: &str) -> Option<usize> {
    let trimmed = line.trim();
    if trimmed.starts_with('#') || trimmed.starts_with(';') {
        return Some(0);
    }
    line.char_indices()
        .find(|&(i, c)| c == ';' && (i == 0 || line[..i].ends_with(char::is_whitespace)))
        .map(|(i, _)| i)
}

/// `[name]` (anything up to the last `]`, as configparser's permissive pattern takes it).
fn section_header(value: &str) -> Option<&str> {
    let inner = value.strip_prefix('[')?;
    let end = inner.rfind(']')?;
    (end > 0).then(|| &inner[..end])
}

/// Where a setting's value came from, for paths (relative to the file, or to the current
/// directory for an environment variable) and for messages.
enum Source<'a> {
    Env(&'a str),
    File(Pos),
}

/// A setting Ansible knows by an environment variable and an INI key.
struct Key {
    env: &'static str,
    section: &'static str,
    key: &'static str,
}

const fn key(env: &'static str, section: &'static str, key: &'static str) -> Key {
    Key { env, section, key }
}

impl Settings {
    /// The settings from `file` (its path and text), with the environment's `ANSIBLE_*`
    /// variables over them.
    pub fn resolve(file: Option<(&Path, &str)>, env: &Environment) -> Result<Settings> {
        let (ini, path) = match file {
            Some((path, text)) => {
                let path = Arc::new(path.to_path_buf());
                (Ini::parse(text, &path)?, Some(path))
            }
            None => (Ini::default(), None),
        };
        let file_dir = path.as_ref().and_then(|p| p.parent()).map_or_else(
            || env.cwd.clone(),
            |dir| resolve_path(&dir.to_string_lossy(), &env.cwd, env),
        );
        let reader = Reader {
            ini: &ini,
            path: path.as_ref(),
            file_dir: &file_dir,
            env,
        };
        let text = |k: &Key| {
            reader
                .raw(k)
                .map(|(value, from)| (unquote_from(&value, &from), from))
        };
        let path_of = |k: &Key| {
            reader.raw(k).map(|(value, from)| {
                let resolved = resolve_path(&value, reader.base(&from), env);
                PathBuf::from(unquote_from(&resolved.to_string_lossy(), &from))
            })
        };
        let boolean = |k: &Key| reader.raw(k).map(|(value, _)| parse_bool(&value));
        let paths = |k: &Key, separator: char| {
            reader.raw(k).map(|(value, from)| {
                value
                    .split(separator)
                    .map(|item| {
                        resolve_path(
                            if separator == ',' { item.trim() } else { item },
                            reader.base(&from),
                            env,
                        )
                    })
                    .collect::<Vec<_>>()
            })
        };
        let become_method = match text(&key(
            "ANSIBLE_BECOME_METHOD",
            "privilege_escalation",
            "become_method",
        )) {
            Some((method, from)) => {
                if crate::transport::BecomeMethod::parse(&method).is_none() {
                    return Err(from.error(
                        format!("become_method is `{method}`"),
                        "deploy escalates with sudo or su",
                    ));
                }
                Some(method)
            }
            None => None,
        };
        Ok(Settings {
            file: path.as_ref().map(|p| p.to_path_buf()),
            inventory: paths(&key("ANSIBLE_INVENTORY", "defaults", "inventory"), ','),
            roles_path: paths(&key("ANSIBLE_ROLES_PATH", "defaults", "roles_path"), ':'),
            remote_user: text(&key("ANSIBLE_REMOTE_USER", "defaults", "remote_user")).map(|(v, _)| v),
            private_key_file: path_of(&key("ANSIBLE_PRIVATE_KEY_FILE", "defaults", "private_key_file")),
            forks: match reader.integer(&key("ANSIBLE_FORKS", "defaults", "forks"))? {
                Some((0, from)) => {
                    return Err(from.error("forks is 0", "at least one host must be worked on at a time"))
                }
                Some((n, _)) => Some(n as usize),
                None => None,
            },
            host_key_checking: boolean(&key("ANSIBLE_HOST_KEY_CHECKING", "defaults", "host_key_checking")),
            timeout: reader
                .integer(&key("ANSIBLE_TIMEOUT", "defaults", "timeout"))?
                .map(|(n, _)| n),
            vault_password_file: path_of(&key(
                "ANSIBLE_VAULT_PASSWORD_FILE",
                "defaults",
                "vault_password_file",
            )),
            vault_identity_list: text(&key(
                "ANSIBLE_VAULT_IDENTITY_LIST",
                "defaults",
                "vault_identity_list",
            ))
            .map(|(v, _)| {
                v.split(',')
                    .map(|id| id.trim().to_string())
                    .filter(|id| !id.is_empty())
                    .collect()
            }),
            become_: boolean(&key("ANSIBLE_BECOME", "privilege_escalation", "become")),
            become_method,
            become_user: text(&key("ANSIBLE_BECOME_USER", "privilege_escalation", "become_user"))
                .map(|(v, _)| v),
            become_ask_pass: boolean(&key(
                "ANSIBLE_BECOME_ASK_PASS",
                "privilege_escalation",
                "become_ask_pass",
            )),
        })
    }
}

struct Reader<'a> {
    ini: &'a Ini,
    path: Option<&'a Arc<PathBuf>>,
    file_dir: &'a Path,
    env: &'a Environment,
}

impl Reader<'_> {
    /// The raw value: the environment variable, else the file's key.
    fn raw(&self, key: &Key) -> Option<(String, Source<'static>)> {
        if let Some(value) = self.env.var(key.env) {
            return Some((value.to_string(), Source::Env(key.env)));
        }
        let entry = self.ini.get(key.section, key.key)?;
        let path = self.path.expect("a file gave the entry");
        Some((entry.value.clone(), Source::File(Pos::new(path, entry.line, 1))))
    }

    fn base(&self, from: &Source<'_>) -> &Path {
        match from {
            Source::Env(_) => &self.env.cwd,
            Source::File(_) => self.file_dir,
        }
    }

    /// A non-negative integer, as Ansible's `integer` type takes it (`5`, ` 5 `, `5.0`); an
    /// empty environment variable means unset, as in Ansible.
    fn integer(&self, key: &Key) -> Result<Option<(u64, Source<'static>)>> {
        let Some((value, from)) = self.raw(key) else {
            return Ok(None);
        };
        if matches!(from, Source::Env(_)) && value.is_empty() {
            return Ok(None);
        }
        match parse_integer(&value) {
            Some(n) => Ok(Some((n, from))),
            None => Err(from.error(
                format!("{} must be a whole number, found `{value}`", key.key),
                "write a number of seconds or hosts, like 10",
            )),
        }
    }
}

impl Source<'_> {
    fn error(&self, message: impl Into<String>, hint: &str) -> anyhow::Error {
        match self {
            Source::Env(name) => anyhow::anyhow!("{name}: {} ({hint})", message.into()),
            Source::File(pos) => located_hint(pos, message, hint),
        }
    }
}

/// A string from the file loses one pair of surrounding quotes, as Ansible's `unquote` does;
/// one from the environment is taken as it is.
fn unquote_from(value: &str, from: &Source<'_>) -> String {
    match from {
        Source::Env(_) => value.to_string(),
        Source::File(_) => unquote(value).to_string(),
    }
}

fn unquote(value: &str) -> &str {
    let bytes = value.as_bytes();
    let quoted = bytes.len() > 1
        && bytes[0] == bytes[bytes.len() - 1]
        && matches!(bytes[0], b'"' | b'\'')
        && bytes[bytes.len() - 2] != b'\\';
    if quoted {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// Ansible's lenient boolean: `y`, `yes`, `on`, `1`, `true`, `t` in any case are true, and
/// anything else is false.
pub(crate) fn parse_bool(value: &str) -> bool {
    matches!(
        value.trim().to_lowercase().as_str(),
        "y" | "yes" | "on" | "1" | "true" | "t"
    )
}

/// Python's `Decimal` then `int`: surrounding blanks and a zero fraction are fine.
fn parse_integer(value: &str) -> Option<u64> {
    let value = value.trim().replace('_', "");
    if let Ok(n) = value.parse::<u64>() {
        return Some(n);
    }
    let lowered = value.to_lowercase();
    if lowered.contains("inf") || lowered.contains("nan") {
        return None;
    }
    let float = value.parse::<f64>().ok()?;
    (float.fract() == 0.0 && float >= 0.0 && float < u64::MAX as f64).then_some(float as u64)
}

/// Ansible's `resolve_path`: `{{CWD}}`, then `$VAR` and `~`, then relative to `base`, then
/// normalised (`..` and `.` folded, without following links).
fn resolve_path(value: &str, base: &Path, env: &Environment) -> PathBuf {
    let value = value.replace("{{CWD}}", &env.cwd.to_string_lossy());
    let expanded = expand_user(&expand_vars(&value, env), env);
    let path = Path::new(&expanded);
    normalize(&if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    })
}

/// `os.path.expandvars`: `$NAME` and `${NAME}` of variables that are set; others stay.
fn expand_vars(value: &str, env: &Environment) -> String {
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let (name, used) = if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) => (&braced[..end], end + 2),
                None => ("", 0),
            }
        } else {
            let end = after
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(after.len());
            (&after[..end], end)
        };
        match env.var(name).filter(|_| !name.is_empty()) {
            Some(found) => {
                out.push_str(found);
                rest = &after[used..];
            }
            None => {
                out.push('$');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// `os.path.expanduser` for `~` and `~/...` (from `HOME`); `~user` is left as written.
fn expand_user(value: &str, env: &Environment) -> String {
    match (value.strip_prefix('~'), env.var("HOME")) {
        (Some(rest), Some(home)) if rest.is_empty() || rest.starts_with('/') => {
            format!("{}{rest}", home.trim_end_matches('/'))
        }
        _ => value.to_string(),
    }
}

/// `os.path.normpath` of an absolute path.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                if out.parent().is_some() {
                    out.pop();
                }
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &[(&str, &str)]) -> Environment {
        Environment {
            vars: vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            cwd: PathBuf::from("/work/project"),
        }
    }

    fn settings(text: &str, vars: &[(&str, &str)]) -> Result<Settings> {
        Settings::resolve(Some((Path::new("/etc/proj/ansible.cfg"), text)), &env(vars))
    }

    #[test]
    fn reads_the_settings_deploy_uses_relative_to_the_file() {
        let text = "\
# a comment
[defaults]
inventory = hosts, ../shared/inventory ; the fleet
roles_path = roles:~/roles:/opt/roles
Remote_User: \"deploy\"
private_key_file = keys/id_ed25519
forks = 8
host_key_checking = False
timeout = 30.0
vault_password_file = ~/.vault_pass
ssh_args = -o ControlMaster=auto

[privilege_escalation]
become = yes
become_method = su
become_user = app
become_ask_pass = true
";
        let s = settings(text, &[("HOME", "/home/me")]).unwrap();
        assert_eq!(s.file, Some(PathBuf::from("/etc/proj/ansible.cfg")));
        assert_eq!(
            s.inventory,
            Some(vec![
                PathBuf::from("/etc/proj/hosts"),
                PathBuf::from("/etc/shared/inventory")
            ])
        );
        assert_eq!(
            s.roles_path,
            Some(vec![
                PathBuf::from("/etc/proj/roles"),
                PathBuf::from("/home/me/roles"),
                PathBuf::from("/opt/roles")
            ])
        );
        assert_eq!(s.remote_user.as_deref(), Some("deploy"));
        assert_eq!(
            s.private_key_file,
            Some(PathBuf::from("/etc/proj/keys/id_ed25519"))
        );
        assert_eq!(s.forks, Some(8));
        assert_eq!(s.host_key_checking, Some(false));
        assert_eq!(s.timeout, Some(30));
        assert_eq!(s.vault_password_file, Some(PathBuf::from("/home/me/.vault_pass")));
        assert_eq!(s.become_, Some(true));
        assert_eq!(s.become_method.as_deref(), Some("su"));
        assert_eq!(s.become_user.as_deref(), Some("app"));
        assert_eq!(s.become_ask_pass, Some(true));
    }

    #[test]
    fn nothing_set_is_all_unset() {
        let s = Settings::resolve(None, &env(&[])).unwrap();
        assert_eq!(s, Settings::default());
        let s = settings("[defaults]\nunknown_key = 1\n[other]\nx=y\n", &[]).unwrap();
        assert_eq!(s.host_key_checking, None);
    }

    #[test]
    fn the_environment_beats_the_file_and_is_relative_to_the_current_directory() {
        let text = "[defaults]\ninventory = hosts\nforks = 8\nremote_user = a\n";
        let s = settings(
            text,
            &[
                ("ANSIBLE_INVENTORY", "inv/a,inv/b"),
                ("ANSIBLE_FORKS", "3"),
                ("ANSIBLE_REMOTE_USER", "'b'"),
            ],
        )
        .unwrap();
        assert_eq!(
            s.inventory,
            Some(vec![
                PathBuf::from("/work/project/inv/a"),
                PathBuf::from("/work/project/inv/b")
            ])
        );
        assert_eq!(s.forks, Some(3));
        // Quotes are removed from the file's values only.
        assert_eq!(s.remote_user.as_deref(), Some("'b'"));
        let s = settings(text, &[("ANSIBLE_FORKS", "")]).unwrap();
        assert_eq!(
            s.forks, None,
            "an empty variable means the default, even over the file"
        );
    }

    #[test]
    fn configparser_quirks() {
        let text = "\
[DEFAULT]
remote_user = everyone

[defaults]
inventory =
    first,
\n    second
private_key_file = %%literal;not a comment either
timeout = 5 ;a comment
";
        let s = settings(text, &[]).unwrap();
        assert_eq!(
            s.inventory,
            Some(vec![
                PathBuf::from("/etc/proj/first"),
                PathBuf::from("/etc/proj/second")
            ])
        );
        assert_eq!(
            s.remote_user.as_deref(),
            Some("everyone"),
            "[DEFAULT] fills sections"
        );
        assert_eq!(
            s.private_key_file,
            Some(PathBuf::from("/etc/proj/%%literal;not a comment either"))
        );
        assert_eq!(s.timeout, Some(5));
        let err = settings("[defaults]\nforks = 4 # four\n", &[]).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "/etc/proj/ansible.cfg:2:1: forks must be a whole number, found `4 # four`"
        );
        // `[DEFAULT]` alone gives no section, so nothing is read from it.
        let s = settings("[DEFAULT]\nforks = 2\n", &[]).unwrap();
        assert_eq!(s.forks, None);
        // Booleans are lenient: anything but a true word is false.
        let s = settings("[defaults]\nhost_key_checking = nope\n", &[]).unwrap();
        assert_eq!(s.host_key_checking, Some(false));
    }

    #[test]
    fn malformed_files_are_errors_with_their_line() {
        let cases = [
            (
                "forks = 2\n",
                "/etc/proj/ansible.cfg:1:1: a setting before any [section]",
            ),
            (
                "[defaults]\n\nnot a setting\n",
                "/etc/proj/ansible.cfg:3:1: expected `key = value`, found `not a setting`",
            ),
            (
                "[defaults]\nforks = 2\nFORKS = 3\n",
                "/etc/proj/ansible.cfg:3:1: `forks` is set twice in this section",
            ),
            (
                "[defaults]\n[x]\n[defaults]\n",
                "/etc/proj/ansible.cfg:3:1: section [defaults] appears twice",
            ),
            (
                "[defaults]\n = 3\n",
                "/etc/proj/ansible.cfg:2:2: a value without a key: `= 3`",
            ),
            (
                "[privilege_escalation]\nbecome_method = doas\n",
                "/etc/proj/ansible.cfg:2:1: become_method is `doas`",
            ),
        ];
        for (text, expected) in cases {
            let err = settings(text, &[]).unwrap_err();
            assert_eq!(format!("{err:#}"), expected, "for {text:?}");
        }
    }

    #[test]
    fn paths_expand_variables_and_fold_dots() {
        let e = env(&[("HOME", "/home/me"), ("SITE", "prod")]);
        assert_eq!(
            resolve_path("$HOME/x/${SITE}/../y/./$UNSET", Path::new("/b"), &e),
            PathBuf::from("/home/me/x/y/$UNSET")
        );
        assert_eq!(
            resolve_path("{{CWD}}/a", Path::new("/b"), &e),
            PathBuf::from("/work/project/a")
        );
        assert_eq!(
            resolve_path("~other/a", Path::new("/b"), &e),
            PathBuf::from("/b/~other/a")
        );
    }
}

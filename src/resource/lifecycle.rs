//! The lifecycle every resource follows: probe, inspect, diff, apply.
//!
//! All four are pure: a resource only builds shell text and reads shell output, and the
//! transport alone does I/O. That is what lets each resource be unit-tested from canned probe
//! output, and what lets the engine batch every resource of a host into one probe exec.

use anyhow::Result;

use crate::plan::Diff;
use crate::probe::Section;
use crate::shell::Script;

/// A piece of host state that a task converges.
pub trait Resource: Send + Sync {
    /// What `inspect` learns about the host.
    type State: Send + Sync + std::fmt::Debug;

    /// What it manages, as the plan shows it: a path, a package list, a service name.
    fn target(&self) -> String;

    /// Shell that prints the current state (run inside the probe, in a subshell).
    fn probe(&self) -> Script;

    /// The piece of host state this resource reads and writes (a path, a crontab): a later step
    /// with the same key cannot trust its probe once this one changes it. The target by default.
    fn key(&self) -> String {
        self.target()
    }

    /// Reads the probe's output.
    fn inspect(&self, out: &Section) -> Result<Self::State>;

    /// What differs; an empty diff means converged.
    fn diff(&self, have: &Self::State) -> Diff;

    /// A guarded, idempotent script making the change. It re-checks each guard on the host
    /// (the host may have changed since the probe), calls `deploy_changed` when it changed
    /// something, and exits non-zero on failure.
    fn apply(&self, have: &Self::State, diff: &Diff) -> Script;

    /// The only paths this resource's probe reads and its change writes, given what the probe
    /// saw (`out`); `None` when a change may reach anything (a package, a service, a command).
    /// A change confined to paths leaves the probes of unrelated paths valid, so the engine
    /// need not probe those again before applying them.
    fn confined_to(&self, _out: &Section) -> Option<Vec<String>> {
        None
    }

    /// What a task registers when the step is converged, if more than `changed: false`: a
    /// query module (`stat`) answers from its probe, in the same round as every other step.
    fn result(&self, _out: &Section) -> Result<Option<serde_json::Value>> {
        Ok(None)
    }

    /// What a task registers after its apply script ran, read from that script's stdout, when
    /// the module returns more than a command's result (a generated key's fingerprint). See
    /// [`super::support::answer_after_apply`].
    fn applied_result(&self, _stdout: &[u8]) -> Result<Option<serde_json::Value>> {
        Ok(None)
    }
}

/// `path` as a confinement: absolute and plain (no `.`, `..` or empty component), else
/// `None`, since such a path may name what another spelling names.
pub fn plain_path(path: &str) -> Option<String> {
    let trimmed = if path.len() > 1 {
        path.trim_end_matches('/')
    } else {
        path
    };
    let plain = trimmed.starts_with('/')
        && (trimmed == "/"
            || trimmed[1..]
                .split('/')
                .all(|c| !c.is_empty() && c != "." && c != ".."));
    plain.then(|| trimmed.to_string())
}

/// Whether two plain paths can touch each other: the same, or one below the other.
pub fn paths_overlap(a: &str, b: &str) -> bool {
    let below = |child: &str, parent: &str| {
        parent == "/"
            || child
                .strip_prefix(parent)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    a == b || below(a, b) || below(b, a)
}

/// The object-safe face of a resource that the engine schedules.
pub trait Step: Send + Sync {
    fn target(&self) -> String;
    fn key(&self) -> String {
        self.target()
    }
    fn probe(&self) -> Script;
    /// Inspects and diffs, and prepares the apply script for that diff.
    fn plan(&self, out: &Section) -> Result<(Diff, Script)>;
    /// See [`Resource::confined_to`].
    fn confined_to(&self, _out: &Section) -> Option<Vec<String>> {
        None
    }
    /// See [`Resource::result`].
    fn result(&self, _out: &Section) -> Result<Option<serde_json::Value>> {
        Ok(None)
    }
    /// See [`Resource::applied_result`].
    fn applied_result(&self, _stdout: &[u8]) -> Result<Option<serde_json::Value>> {
        Ok(None)
    }
}

impl<R: Resource> Step for R {
    fn target(&self) -> String {
        Resource::target(self)
    }

    fn key(&self) -> String {
        Resource::key(self)
    }

    fn probe(&self) -> Script {
        Resource::probe(self)
    }

    fn confined_to(&self, out: &Section) -> Option<Vec<String>> {
        Resource::confined_to(self, out)
    }

    fn result(&self, out: &Section) -> Result<Option<serde_json::Value>> {
        Resource::result(self, out)
    }

    fn applied_result(&self, stdout: &[u8]) -> Result<Option<serde_json::Value>> {
        Resource::applied_result(self, stdout)
    }

    fn plan(&self, out: &Section) -> Result<(Diff, Script)> {
        let have = self.inspect(out)?;
        let diff = self.diff(&have);
        let script = if diff.is_converged() {
            Script::new()
        } else {
            self.apply(&have, &diff)
        };
        Ok((diff, script))
    }
}

/// Parses `key=value` lines of probe output; a value may not contain a newline, and content
/// that could travels base64-encoded.
pub fn key_values(out: &Section) -> Result<Vec<(String, String)>> {
    let text = std::str::from_utf8(&out.output)
        .map_err(|_| anyhow::anyhow!("probe output is not UTF-8 where key=value lines were expected"))?;
    text.lines()
        .filter(|line| !line.is_empty())
        .map(|line| {
            line.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| anyhow::anyhow!("unexpected probe line {line:?}"))
        })
        .collect()
}

/// The value of `key` among parsed `key=value` lines.
pub fn value_of<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// A task's parameters after templating (one loop item): canonical names, the module's
/// defaults behind them, and typed access that re-checks types, since a template may have
/// produced any value.
pub struct Args<'a> {
    spec: &'static super::ModuleSpec,
    values: &'a indexmap::IndexMap<String, serde_json::Value>,
}

impl<'a> Args<'a> {
    pub fn new(
        spec: &'static super::ModuleSpec,
        values: &'a indexmap::IndexMap<String, serde_json::Value>,
    ) -> Self {
        Args { spec, values }
    }

    pub fn module(&self) -> &'static str {
        self.spec.name
    }

    /// The value given, or the module's default; `null` counts as not given.
    pub fn value(&self, name: &str) -> Option<serde_json::Value> {
        match self.values.get(name) {
            Some(serde_json::Value::Null) | None => self.spec.default_value(name),
            Some(v) => Some(v.clone()),
        }
    }

    /// A scalar as a string (numbers and booleans as Ansible prints them).
    pub fn str(&self, name: &str) -> Result<Option<String>> {
        use serde_json::Value;
        match self.value(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(if b { "True" } else { "False" }.to_string())),
            Some(other) => anyhow::bail!("parameter `{name}` must be a string, found {other}"),
        }
    }

    pub fn required_str(&self, name: &str) -> Result<String> {
        self.str(name)?
            .ok_or_else(|| anyhow::anyhow!("parameter `{name}` is required by module `{}`", self.spec.name))
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>> {
        use serde_json::Value;
        match self.value(name) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(b)),
            Some(Value::Number(n)) if n.as_i64() == Some(0) || n.as_i64() == Some(1) => {
                Ok(Some(n.as_i64() == Some(1)))
            }
            Some(Value::String(s)) => super::parse_bool(&s)
                .map(Some)
                .ok_or_else(|| anyhow::anyhow!("parameter `{name}` must be a boolean, found `{s}`")),
            Some(other) => anyhow::bail!("parameter `{name}` must be a boolean, found {other}"),
        }
    }

    /// A boolean that is false unless given (or defaulted) true.
    pub fn flag(&self, name: &str) -> Result<bool> {
        Ok(self.bool(name)?.unwrap_or(false))
    }

    pub fn int(&self, name: &str) -> Result<Option<i64>> {
        use serde_json::Value;
        match self.value(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| anyhow::anyhow!("parameter `{name}` must be an integer, found {n}")),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| anyhow::anyhow!("parameter `{name}` must be an integer, found `{s}`")),
            Some(other) => anyhow::bail!("parameter `{name}` must be an integer, found {other}"),
        }
    }

    /// Refuses parameters this module's spec knows (so playbooks load) but `deploy` does not
    /// implement: given with anything but their default, they are an error, never ignored.
    pub fn refuse(&self, names: &[&str]) -> Result<()> {
        for name in names {
            if let Some(value) = self.values.get(*name) {
                // An empty string is how roles leave a parameter unset
                // (`default_release: "{{ nginx_default_release }}"` with `""`), as Ansible
                // modules read it.
                let unset = value.is_null() || value.as_str() == Some("");
                if !unset && Some(value) != self.spec.default_value(name).as_ref() {
                    anyhow::bail!(
                        "parameter `{name}` of module `{}` is not supported by deploy",
                        self.spec.name
                    );
                }
            }
        }
        Ok(())
    }

    /// A list of scalars; a string is split on commas, as Ansible does for list parameters.
    pub fn list(&self, name: &str) -> Result<Vec<String>> {
        use serde_json::Value;
        let scalar = |v: &Value| -> Result<String> {
            match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(if *b { "True" } else { "False" }.to_string()),
                other => anyhow::bail!("parameter `{name}` must be a list of strings, found {other}"),
            }
        };
        match self.value(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items.iter().map(scalar).collect(),
            Some(Value::String(s)) => Ok(s
                .split(',')
                .map(|p| p.trim().to_string())
                .filter(|p| !p.is_empty())
                .collect()),
            Some(other) => Ok(vec![scalar(&other)?]),
        }
    }
}

/// What building a resource may ask of the engine: files and templates on the controller
/// (searched in the role's `files/`/`templates/` and beside the playbook), and the host's facts.
pub trait BuildContext {
    /// The bytes of a controller-side file named by a task's `src`.
    fn read_source(&self, src: &str) -> Result<Vec<u8>>;
    /// A controller-side template rendered with the task's variables and the `template`
    /// module's options.
    fn render_template(&self, src: &str, options: &crate::template::FileOptions) -> Result<String>;
    /// A fact of the host (`ansible_service_mgr`, ...).
    fn fact(&self, name: &str) -> Option<serde_json::Value>;
}

/// Builds a module's resource from its resolved parameters.
pub type Build = fn(&Args, &dyn BuildContext) -> Result<Box<dyn Step>>;

/// A build context with nothing in it, for unit tests of resources that need no files.
#[cfg(test)]
pub struct NoContext;

#[cfg(test)]
impl BuildContext for NoContext {
    fn read_source(&self, src: &str) -> Result<Vec<u8>> {
        anyhow::bail!("no file {src} in tests")
    }
    fn render_template(&self, src: &str, _: &crate::template::FileOptions) -> Result<String> {
        anyhow::bail!("no template {src} in tests")
    }
    fn fact(&self, name: &str) -> Option<serde_json::Value> {
        (name == "ansible_service_mgr").then(|| serde_json::Value::from("systemd"))
    }
}

#[cfg(test)]
mod confinement_tests {
    use super::{paths_overlap, plain_path};

    #[test]
    fn only_plain_absolute_paths_confine() {
        assert_eq!(plain_path("/srv/app/"), Some("/srv/app".to_string()));
        assert_eq!(plain_path("/"), Some("/".to_string()));
        for path in ["srv/app", "/srv/../etc", "/srv/./app", "/srv//app", ""] {
            assert_eq!(plain_path(path), None, "{path}");
        }
    }

    #[test]
    fn paths_overlap_when_one_is_at_or_below_the_other() {
        assert!(paths_overlap("/srv/a", "/srv/a"));
        assert!(paths_overlap("/srv/a", "/srv/a/f.conf"));
        assert!(paths_overlap("/srv/a/f.conf", "/srv/a"));
        assert!(paths_overlap("/", "/etc"));
        assert!(!paths_overlap("/srv/a", "/srv/ab"));
        assert!(!paths_overlap("/srv/a/x", "/srv/b/x"));
    }
}

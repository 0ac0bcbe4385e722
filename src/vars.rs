//! Variables in layers, resolved the way Ansible resolves them.
//!
//! A task sees one name space built from many sources: role defaults, inventory vars, play
//! vars, vars files, role vars, block and task vars, facts and registered results, and the
//! `-e` extra vars that beat everything. Roles are written against Ansible's precedence order,
//! so a [`VarStack`] keeps each source as its own layer, tagged with its [`Layer`], and the
//! highest layer that defines a name wins. Values stay raw until read: a value such as
//! `"{{ app_root }}/conf"` is templated when a template reads it (through [`Scope`], the
//! lazy minijinja object the templar renders against), so a later layer overriding `app_root`
//! changes what `conf` means, as in Ansible, and a loop `a -> b -> a` is reported instead of
//! overflowing the stack.

use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::{bail, Context, Result};
use indexmap::IndexMap;
use minijinja::value::{Enumerator, Object, ObjectRepr};
use minijinja::{Environment, Error, ErrorKind, Value};
use serde_json::Value as Json;

/// Variables of one source, in file order.
pub type VarMap = IndexMap<String, Json>;

/// What a parameter rendered from `{{ omit }}` holds; such parameters are dropped.
pub const OMIT_PLACEHOLDER: &str = "__omit_place_holder__deploy";

/// Where a variable comes from, lowest precedence first (Ansible's order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    RoleDefaults,
    /// Group and host vars, already merged per host by the inventory.
    Inventory,
    PlayVars,
    PlayVarsFiles,
    RoleVars,
    BlockVars,
    TaskVars,
    /// `include_vars`: above task variables, below `set_fact`.
    IncludeVars,
    IncludeParams,
    /// `set_fact` and `register`.
    Facts,
    ExtraVars,
    /// `inventory_hostname`, `groups`, `omit`...: provided by the engine, never overridden.
    Magic,
}

/// The hosts whose variables `hostvars[...]` can reach, resolved lazily per host.
pub trait HostVarsSource: Send + Sync + fmt::Debug {
    /// Every host name, in inventory order.
    fn host_names(&self) -> Vec<String>;
    /// The variables of `host`, or `None` for an unknown host.
    fn vars_of(&self, host: &str) -> Option<VarStack>;
}

/// The variables a host sees at one point of a play: layers plus magic variables.
///
/// Cloning is cheap (layers are shared), so the engine can build one per host and task.
#[derive(Clone, Debug, Default)]
pub struct VarStack {
    /// Sorted by layer; within one layer, later pushes win.
    layers: Vec<(Layer, Arc<VarMap>)>,
    hostvars: Option<Arc<dyn HostVarsSource>>,
}

impl VarStack {
    pub fn new() -> VarStack {
        VarStack::default()
    }

    /// Adds a source of variables; it beats lower layers and earlier sources of the same layer.
    pub fn push(&mut self, layer: Layer, vars: impl Into<Arc<VarMap>>) {
        let at = self.layers.partition_point(|(l, _)| *l <= layer);
        self.layers.insert(at, (layer, vars.into()));
    }

    /// Builder form of [`VarStack::push`].
    pub fn with(mut self, layer: Layer, vars: impl Into<Arc<VarMap>>) -> VarStack {
        self.push(layer, vars);
        self
    }

    /// Sets one variable in `layer` (a `set_fact`, a `register`, a magic variable).
    pub fn set(&mut self, layer: Layer, name: &str, value: Json) {
        let at = self.layers.partition_point(|(l, _)| *l <= layer);
        match at.checked_sub(1).map(|i| &mut self.layers[i]) {
            Some((l, map)) if *l == layer => {
                Arc::make_mut(map).insert(name.to_string(), value);
            }
            _ => {
                let mut map = VarMap::new();
                map.insert(name.to_string(), value);
                self.layers.insert(at, (layer, Arc::new(map)));
            }
        }
    }

    /// Makes `hostvars` available, resolved through `source` on access.
    pub fn set_hostvars(&mut self, source: Arc<dyn HostVarsSource>) {
        self.hostvars = Some(source);
    }

    /// The raw (untemplated) value of `name` and the layer it comes from.
    pub fn lookup(&self, name: &str) -> Option<(Layer, &Json)> {
        self.layers
            .iter()
            .rev()
            .find_map(|(layer, map)| map.get(name).map(|v| (*layer, v)))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.lookup(name).is_some() || (name == "hostvars" && self.hostvars.is_some())
    }

    /// Every defined name, sorted.
    /// Every name in the order Ansible's variables dictionary has them: layers from the
    /// lowest precedence up, each name where it first appears (`lookup('varnames')`).
    pub fn ordered_names(&self) -> Vec<String> {
        let mut seen = BTreeSet::new();
        let mut names = Vec::new();
        for (_, map) in &self.layers {
            for name in map.keys() {
                if seen.insert(name.clone()) {
                    names.push(name.clone());
                }
            }
        }
        names
    }

    pub fn names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self
            .layers
            .iter()
            .flat_map(|(_, map)| map.keys().cloned())
            .collect();
        if self.hostvars.is_some() {
            names.insert("hostvars".to_string());
        }
        names
    }
}

/// Parses one `-e` argument: `@file.yml`, `@file.json`, a JSON or YAML mapping, or
/// `k=v k2=v2` (values stay strings, as in Ansible). Relative files are taken from `base`.
pub fn parse_extra_vars(arg: &str, base: &Path) -> Result<VarMap> {
    let arg = arg.trim();
    if let Some(file) = arg.strip_prefix('@') {
        // Positions name the file as the user wrote it, not joined to the project root.
        let bytes = std::fs::read(base.join(file))
            .with_context(|| format!("cannot read extra vars file `{file}`"))?;
        let plain = crate::vault::open_bytes(bytes, Path::new(file))?;
        let from_vault = plain.from_vault;
        let text = crate::yaml::utf8_text(plain.bytes, Path::new(file))?;
        let node = crate::yaml::parse_str(&text, Path::new(file))?;
        if from_vault {
            crate::yaml::taint_strings(&node);
        }
        return match node.to_value() {
            Json::Object(map) => Ok(map.into_iter().collect()),
            Json::Null => Ok(VarMap::new()),
            _ => Err(node.error(format!(
                "extra vars must be a mapping, found {}",
                node.type_name()
            ))),
        };
    }
    if arg.starts_with('{') || arg.starts_with('[') {
        let node = crate::yaml::parse_str(arg, Path::new("-e")).map_err(|err| {
            match err.downcast::<crate::error::SourceError>() {
                // A position inside a one-line argument (often its end) helps nobody.
                Ok(source) => anyhow::anyhow!(
                    "extra vars `{arg}` are not a valid JSON or YAML mapping: {}",
                    source.message.trim_start_matches("invalid YAML: ")
                ),
                Err(err) => err,
            }
        })?;
        return match node.to_value() {
            Json::Object(map) => Ok(map.into_iter().collect()),
            _ => bail!("extra vars `{arg}` must be a mapping"),
        };
    }
    parse_key_values(arg)
}

/// `k=v k2='v 2'`: Ansible's `parse_kv` with shell-like quotes; values stay strings.
fn parse_key_values(arg: &str) -> Result<VarMap> {
    let mut vars = VarMap::new();
    for word in split_shell_words(arg)? {
        let Some((key, value)) = word.split_once('=') else {
            bail!("extra vars `{arg}`: `{word}` is not of the form key=value");
        };
        if key.is_empty() {
            bail!("extra vars `{arg}`: empty variable name before `=`");
        }
        vars.insert(key.to_string(), Json::String(value.to_string()));
    }
    Ok(vars)
}

/// The words of `-e` text, split with Python's `shlex.split` as the other shell-like
/// arguments are.
fn split_shell_words(text: &str) -> Result<Vec<String>> {
    crate::shell::split(text, false).map_err(|err| match err {
        crate::shell::SplitError::NoClosingQuotation => {
            anyhow::anyhow!("extra vars `{text}`: unterminated quote")
        }
        crate::shell::SplitError::NoEscapedCharacter => {
            anyhow::anyhow!("extra vars `{text}`: a `\\` ends the text, with nothing to escape")
        }
    })
}

/// Why a variable could not be read, kept so the templar can report the real cause.
#[derive(Debug, Default)]
struct Resolution {
    /// Names being templated right now, outermost first: the recursion guard.
    resolving: Vec<String>,
    cache: HashMap<String, Value>,
    /// Names looked up but not defined, in lookup order (with the chain that reached them).
    missing: Vec<String>,
    /// An error that must fail the render whatever filters did with the value.
    fatal: Option<String>,
    /// A value read holds a vault secret: what the render gives is secret too.
    tainted: bool,
}

/// A [`VarStack`] as a minijinja object: names are resolved and templated on access.
#[derive(Debug)]
pub struct Scope {
    stack: VarStack,
    env: Arc<Environment<'static>>,
    resolution: Mutex<Resolution>,
}

impl Scope {
    pub(crate) fn new(stack: VarStack, env: Arc<Environment<'static>>) -> Arc<Scope> {
        Arc::new(Scope {
            stack,
            env,
            resolution: Mutex::new(Resolution::default()),
        })
    }

    pub fn stack(&self) -> &VarStack {
        &self.stack
    }

    fn resolution(&self) -> std::sync::MutexGuard<'_, Resolution> {
        // A panic while holding the lock leaves only a cache behind; it is safe to reuse.
        self.resolution
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Names that were looked up but are undefined, in lookup order.
    pub(crate) fn missing(&self) -> Vec<String> {
        self.resolution().missing.clone()
    }

    /// The error that must fail this render, if a variable could not be templated at all.
    pub(crate) fn fatal(&self) -> Option<String> {
        self.resolution().fatal.clone()
    }

    /// Whether the render read a variable holding a vault secret (directly, or through the
    /// variables it refers to): then its result, whatever filters made of it, is secret too.
    pub(crate) fn tainted(&self) -> bool {
        self.resolution().tainted
    }

    /// Reads a variable, templating it (and what it refers to) on the way.
    fn resolve(self: &Arc<Self>, name: &str) -> Option<Value> {
        if name == crate::template::SCOPE_KEY {
            return Some(Value::from_dyn_object(Arc::clone(self)));
        }
        if name == "hostvars" {
            if let Some(source) = &self.stack.hostvars {
                return Some(Value::from_object(HostVars {
                    source: Arc::clone(source),
                    env: Arc::clone(&self.env),
                }));
            }
        }
        let Some((_, raw)) = self.stack.lookup(name) else {
            // Functions and `omit` are globals, found after the context: not missing.
            if !self.env.globals().any(|(global, _)| global == name) {
                self.resolution().missing.push(name.to_string());
            }
            return None;
        };
        if crate::vault::holds_tainted(raw) {
            self.resolution().tainted = true;
        }
        if !crate::template::has_template(raw) {
            return Some(Value::from_serialize(raw));
        }
        {
            let mut resolution = self.resolution();
            if let Some(value) = resolution.cache.get(name) {
                return Some(value.clone());
            }
            if let Some(start) = resolution.resolving.iter().position(|n| n == name) {
                let mut chain: Vec<&str> = resolution.resolving[start..].iter().map(String::as_str).collect();
                chain.push(name);
                let message = format!("recursive loop detected in template: {}", chain.join(" -> "));
                resolution.fatal.get_or_insert_with(|| message.clone());
                return Some(Value::from(Error::new(ErrorKind::InvalidOperation, message)));
            }
            resolution.resolving.push(name.to_string());
        }
        let result = crate::template::render_json_native(
            &self.env,
            raw,
            &Value::from_dyn_object(Arc::clone(self)),
            name,
        );
        let mut resolution = self.resolution();
        resolution.resolving.pop();
        match result {
            Ok(value) => {
                resolution.cache.insert(name.to_string(), value.clone());
                Some(value)
            }
            // An undefined name inside the value makes the value itself undefined, so that
            // `x | default(...)` still works; the inner name is already in `missing`.
            Err(err) if err.kind() == ErrorKind::UndefinedError && resolution.fatal.is_none() => None,
            Err(err) => {
                let message = resolution.fatal.clone().unwrap_or_else(|| {
                    format!(
                        "while templating variable '{name}': {}",
                        crate::template::describe_error(&err)
                    )
                });
                resolution.fatal.get_or_insert_with(|| message.clone());
                Some(Value::from(Error::new(ErrorKind::InvalidOperation, message)))
            }
        }
    }
}

impl Object for Scope {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        self.resolve(key.as_str()?)
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        let names: Vec<Value> = self.stack.names().into_iter().map(Value::from).collect();
        Enumerator::Values(names)
    }
}

/// `hostvars`: each host's variables, templated in that host's own context when read.
#[derive(Debug)]
struct HostVars {
    source: Arc<dyn HostVarsSource>,
    env: Arc<Environment<'static>>,
}

impl Object for HostVars {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let stack = self.source.vars_of(key.as_str()?)?;
        Some(Value::from_dyn_object(Scope::new(stack, Arc::clone(&self.env))))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Values(self.source.host_names().into_iter().map(Value::from).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Json) -> VarMap {
        match value {
            Json::Object(m) => m.into_iter().collect(),
            _ => panic!("not a map"),
        }
    }

    #[test]
    fn higher_layers_win_whatever_the_push_order() {
        let mut stack = VarStack::new();
        stack.push(Layer::ExtraVars, map(json!({"a": "extra"})));
        stack.push(Layer::RoleDefaults, map(json!({"a": "default", "b": "default"})));
        stack.push(Layer::PlayVars, map(json!({"b": "play"})));
        stack.push(Layer::PlayVars, map(json!({"b": "play2"})));
        assert_eq!(stack.lookup("a"), Some((Layer::ExtraVars, &json!("extra"))));
        assert_eq!(stack.lookup("b"), Some((Layer::PlayVars, &json!("play2"))));
        stack.set(Layer::Facts, "b", json!("fact"));
        assert_eq!(stack.lookup("b"), Some((Layer::Facts, &json!("fact"))));
        stack.set(Layer::Facts, "c", json!(1));
        assert_eq!(stack.lookup("b").map(|(_, v)| v), Some(&json!("fact")));
        assert_eq!(stack.names().into_iter().collect::<Vec<_>>(), ["a", "b", "c"]);
    }

    #[test]
    fn extra_vars_key_values_stay_strings() {
        let vars = parse_extra_vars("port=8080 flag=yes name='a b' empty=", Path::new(".")).unwrap();
        assert_eq!(vars["port"], json!("8080"));
        assert_eq!(vars["flag"], json!("yes"));
        assert_eq!(vars["name"], json!("a b"));
        assert_eq!(vars["empty"], json!(""));
    }

    #[test]
    fn extra_vars_json_keeps_types() {
        let vars =
            parse_extra_vars(r#"{"port": 8080, "list": [1, "a"], "on": true}"#, Path::new(".")).unwrap();
        assert_eq!(vars["port"], json!(8080));
        assert_eq!(vars["list"], json!([1, "a"]));
        assert_eq!(vars["on"], json!(true));
    }

    #[test]
    fn extra_vars_from_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("e.yml"), "port: 80\nname: web\n").unwrap();
        std::fs::write(dir.path().join("e.json"), r#"{"port": 81}"#).unwrap();
        assert_eq!(parse_extra_vars("@e.yml", dir.path()).unwrap()["port"], json!(80));
        assert_eq!(
            parse_extra_vars("@e.json", dir.path()).unwrap()["port"],
            json!(81)
        );
        let err = parse_extra_vars("@missing.yml", dir.path()).unwrap_err();
        assert!(format!("{err:#}").contains("missing.yml"), "{err:#}");
    }

    #[test]
    fn extra_vars_errors_say_what_is_wrong() {
        let err = parse_extra_vars("novalue", Path::new(".")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "extra vars `novalue`: `novalue` is not of the form key=value"
        );
        let err = parse_extra_vars("a='open", Path::new(".")).unwrap_err();
        assert_eq!(err.to_string(), "extra vars `a='open`: unterminated quote");
    }
}

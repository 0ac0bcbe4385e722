//! The modules `deploy` understands, one file each, and the one registry that lists them.
//!
//! A task names an Ansible module; everything about that module lives in its own file: its
//! parameter spec (names, types, aliases, defaults, choices, exclusive groups), its kind, and
//! its behaviour (a resource's probe/inspect/diff/apply, or a control module's function).
//! Keeping the spec as data lets the loader check every task's parameters at load time, with
//! positions, before anything touches a host, and lets "did you mean" and the list of
//! supported modules come from the same place. Adding a module is one file plus its name in
//! the `modules!` list below (docs/architecture.md §4).

use anyhow::Result;
use indexmap::IndexMap;
use serde_json::Value;

use crate::error::{did_you_mean, located, located_hint, Pos};
use crate::yaml::{Data, Node};

// The files that are not modules: what the modules share.
pub mod content;
pub mod control;
pub mod keyfile;
pub mod lifecycle;
pub mod path_state;
pub mod psql;
pub mod run_command;
pub mod support;
pub mod text_edit;
pub mod unsupported;

/// Declares each module's file and lists its spec in [`MODULES`]: adding a module is its file
/// plus its name here.
macro_rules! modules {
    ($($module:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// Every supported module. The order is the order of the "supported modules" list.
        pub static MODULES: &[&ModuleSpec] = &[$(&$module::SPEC),*];
    };
}

modules! {
    apt,
    apt_key,
    apt_repository,
    assert,
    authorized_key,
    blockinfile,
    command,
    copy,
    cron,
    deb822_repository,
    debconf,
    debug,
    dpkg_selections,
    fail,
    file,
    find,
    get_url,
    getent,
    git,
    group,
    hostname,
    import_role,
    import_tasks,
    include_role,
    include_tasks,
    include_vars,
    known_hosts,
    lineinfile,
    locale_gen,
    meta,
    mount,
    openssh_keypair,
    openssl_dhparam,
    openssl_privatekey,
    package,
    package_facts,
    pam_limits,
    pause,
    postgresql_db,
    postgresql_ext,
    postgresql_set,
    postgresql_user,
    raw,
    replace,
    script,
    service,
    service_facts,
    set_fact,
    setup,
    shell,
    slurp,
    stat,
    sysctl,
    systemd,
    template,
    timezone,
    ufw,
    uri,
    user,
    wait_for,
}

/// What the engine does with a module, broadly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModuleKind {
    /// Converges a piece of host state: probed, diffed, changed only when it differs.
    Resource,
    /// Runs a command; converged only through `creates`/`removes`.
    Command,
    /// Waits for a condition on the host (`wait_for`): never drift, since waiting changes
    /// nothing, but the wait still happens when applying.
    Wait,
    /// Acts on the run itself (`debug`, `set_fact`, `meta`): nothing on the host.
    Control,
    /// Brings in a task file or a role. The loader turns such a task into a block, an include
    /// step or a role step, so the engine never runs it as a module; the kind says which, so
    /// that the loader decides by the spec and not by the module's name.
    Include(IncludeKind),
}

/// What an include module brings in, and whether at load time or at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeKind {
    /// A task file expanded in place when the playbook is loaded (`import_tasks`).
    ImportTasks,
    /// A task file run when the task is reached, which may loop or be named by a template
    /// (`include_tasks`).
    IncludeTasks,
    /// A role expanded in place when the playbook is loaded (`import_role`).
    ImportRole,
    /// A role run when the task is reached (`include_role`).
    IncludeRole,
}

impl IncludeKind {
    /// Whether the loader expands it in place (an import), so that its name must be literal and
    /// it cannot loop.
    pub const fn is_static(self) -> bool {
        matches!(self, IncludeKind::ImportTasks | IncludeKind::ImportRole)
    }

    /// The include that does at run time what this one does (itself when already dynamic), for
    /// hints on an import that needs a templated name or a loop.
    pub const fn dynamic(self) -> IncludeKind {
        match self {
            IncludeKind::ImportTasks | IncludeKind::IncludeTasks => IncludeKind::IncludeTasks,
            IncludeKind::ImportRole | IncludeKind::IncludeRole => IncludeKind::IncludeRole,
        }
    }

    /// The module registered in [`MODULES`] for this kind of include.
    pub fn module(self) -> Option<&'static ModuleSpec> {
        MODULES
            .iter()
            .copied()
            .find(|spec| spec.kind == ModuleKind::Include(self))
    }
}

/// The type of a parameter, as Ansible's argument spec types it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParamType {
    Str,
    /// A path on the target or the controller; a string for checking purposes.
    Path,
    Bool,
    Int,
    /// A list; a string is split on commas, another scalar becomes a one-item list.
    List,
    Dict,
    /// Anything, kept as written.
    Raw,
    /// A file mode: an octal string (`"0644"`), a YAML integer (`0644` is 420), or symbolic.
    Mode,
}

impl ParamType {
    fn expected(self) -> &'static str {
        match self {
            ParamType::Str | ParamType::Path => "a string",
            ParamType::Bool => "a boolean",
            ParamType::Int => "an integer",
            ParamType::List => "a list",
            ParamType::Dict => "a mapping",
            ParamType::Raw => "a value",
            ParamType::Mode => "a file mode",
        }
    }
}

/// A parameter's default, for documentation and for the engine to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultValue {
    Str(&'static str),
    Bool(bool),
    Int(i64),
}

impl DefaultValue {
    pub fn to_value(self) -> Value {
        match self {
            DefaultValue::Str(s) => Value::from(s),
            DefaultValue::Bool(b) => Value::from(b),
            DefaultValue::Int(i) => Value::from(i),
        }
    }
}

/// One parameter of a module.
#[derive(Clone, Copy, Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    pub kind: ParamType,
    pub required: bool,
    pub default: Option<DefaultValue>,
    /// Allowed values; empty means any.
    pub choices: &'static [&'static str],
    pub aliases: &'static [&'static str],
}

impl ParamSpec {
    pub const fn new(name: &'static str, kind: ParamType) -> ParamSpec {
        ParamSpec {
            name,
            kind,
            required: false,
            default: None,
            choices: &[],
            aliases: &[],
        }
    }

    pub const fn required(mut self) -> ParamSpec {
        self.required = true;
        self
    }

    pub const fn default(mut self, value: DefaultValue) -> ParamSpec {
        self.default = Some(value);
        self
    }

    pub const fn choices(mut self, choices: &'static [&'static str]) -> ParamSpec {
        self.choices = choices;
        self
    }

    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> ParamSpec {
        self.aliases = aliases;
        self
    }
}

/// How a module takes a plain string instead of a mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreeForm {
    /// Only `key=value` pairs (`copy: src=a dest=b`).
    KeyValue,
    /// Free text (with the module's own `key=value` options for `command`/`shell`), stored
    /// in the named parameter: `command: ls chdir=/tmp` gives `cmd: ls`, `chdir: /tmp`.
    Raw(&'static str),
}

/// Module-specific checks beyond the declarative spec, run after the generic ones.
pub type Validate = fn(&ModuleSpec, &Params, &Pos) -> Result<()>;

/// Everything the loader (and later the engine) knows about a module.
#[derive(Debug)]
pub struct ModuleSpec {
    /// The short name, the one printed in plans.
    pub name: &'static str,
    /// The fully qualified name (`ansible.builtin.copy`); for `ansible.builtin` modules the
    /// `ansible.legacy.` form is accepted too.
    pub fqcn: &'static str,
    /// Other names (short), also accepted under the FQCN namespace.
    pub aliases: &'static [&'static str],
    pub kind: ModuleKind,
    pub params: &'static [ParamSpec],
    pub free_form: FreeForm,
    /// Any parameter name is accepted, each value kept raw (`set_fact`).
    pub any_params: bool,
    pub mutually_exclusive: &'static [&'static [&'static str]],
    pub required_one_of: &'static [&'static [&'static str]],
    /// `(param, value, needed)`: when `param` is `value`, the `needed` ones are required.
    pub required_if: &'static [(&'static str, &'static str, &'static [&'static str])],
    pub validate: Option<Validate>,
    /// Turns resolved parameters into the resource the engine probes, diffs and applies;
    /// `None` for control modules and includes.
    pub build: Option<lifecycle::Build>,
    /// A control module's behaviour (`debug`, `set_fact`, ...).
    pub control: Option<control::Control>,
    /// Where its `src` is looked for on the controller (`files`, `templates`), for modules
    /// that read one (unless `remote_src` is true): see `playbook::search`.
    pub source_dir: Option<&'static str>,
    /// Its parameters name host facts it sets (`set_fact`): when its values are known only
    /// after apply, so are those facts.
    pub sets_facts: bool,
    /// Its answer holds `ansible_facts` (`getent`, `service_facts`, `setup`): later tasks read
    /// them by name, so the engine probes it before resolving the next task.
    pub publishes_facts: bool,
}

impl ModuleSpec {
    /// The base for the specs in each module file (`..ModuleSpec::DEFAULT`).
    pub const DEFAULT: ModuleSpec = ModuleSpec {
        name: "",
        fqcn: "",
        aliases: &[],
        kind: ModuleKind::Resource,
        params: &[],
        free_form: FreeForm::KeyValue,
        any_params: false,
        mutually_exclusive: &[],
        required_one_of: &[],
        required_if: &[],
        validate: None,
        build: None,
        control: None,
        source_dir: None,
        sets_facts: false,
        publishes_facts: false,
    };

    /// Whether `name` (short, FQCN, alias) names this module.
    pub fn answers_to(&self, name: &str) -> bool {
        if name == self.name || name == self.fqcn {
            return true;
        }
        let namespace = self.fqcn.rsplit_once('.').map_or("", |(ns, _)| ns);
        let short = match name.rsplit_once('.') {
            Some((ns, short)) if ns == namespace => short,
            Some(("ansible.legacy", short)) if namespace == "ansible.builtin" => short,
            Some(_) => return false,
            None => name,
        };
        short == self.name || self.aliases.contains(&short)
    }

    pub fn param(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The spec of the parameter `name` or one of its aliases.
    pub fn param_or_alias(&self, name: &str) -> Option<&'static ParamSpec> {
        self.params
            .iter()
            .find(|p| p.name == name || p.aliases.contains(&name))
    }

    /// The default of a parameter, when the task does not set it.
    pub fn default_value(&self, name: &str) -> Option<Value> {
        self.param(name)?.default.map(DefaultValue::to_value)
    }
}

/// A checked parameter value and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Param {
    /// Converted to the parameter's type (`"yes"` is `true` for a bool); a value containing
    /// a template (`{{`, `{%`) is kept as the string written, to be resolved later.
    pub value: Value,
    pub pos: Pos,
}

/// A task's parameters, by canonical name (aliases resolved), in the order written.
pub type Params = IndexMap<String, Param>;

/// The module called `name`, if supported.
pub fn lookup(name: &str) -> Option<&'static ModuleSpec> {
    MODULES.iter().copied().find(|spec| spec.answers_to(name))
}

/// The short names of all supported modules, for "did you mean" and error lists.
pub fn names() -> impl Iterator<Item = &'static str> {
    MODULES
        .iter()
        .flat_map(|spec| std::iter::once(spec.name).chain(spec.aliases.iter().copied()))
}

/// The list printed when a module is not supported.
pub fn supported_list() -> String {
    let mut names: Vec<&str> = names().collect();
    names.sort_unstable();
    names.join(", ")
}

/// Whether a string is (or contains) a template, to be resolved later.
pub fn is_template(text: &str) -> bool {
    text.contains("{{") || text.contains("{%")
}

/// One parameter as written: the key's position and the value node.
#[derive(Clone, Debug)]
pub struct RawParam {
    pub name: String,
    pub key_pos: Pos,
    pub value: Node,
}

/// Checks parameters against the module's spec: unknown names, aliases, types, choices,
/// required, exclusive groups. `module_pos` locates errors about the task as a whole.
pub fn check_params(spec: &ModuleSpec, raw: Vec<RawParam>, module_pos: &Pos) -> Result<Params> {
    let mut params = Params::new();
    let mut written_as: IndexMap<&'static str, String> = IndexMap::new();
    for param in raw {
        if spec.any_params {
            // A templated name (`"{{ app }}_port"`) is checked once rendered, by the module.
            if !is_template(&param.name) {
                check_variable_name(&param.name, &param.key_pos)?;
            }
            params.insert(
                param.name,
                Param {
                    value: param.value.to_value(),
                    pos: param.value.pos.clone(),
                },
            );
            continue;
        }
        let Some(param_spec) = spec.param_or_alias(&param.name) else {
            return Err(unknown_param(spec, &param.name, &param.key_pos));
        };
        if let Some(first) = written_as.get(param_spec.name) {
            let message = if *first == param.name {
                format!("parameter `{}` of `{}` is given twice", param.name, spec.name)
            } else {
                format!(
                    "parameters `{first}` and `{}` of `{}` are the same parameter, given twice",
                    param.name, spec.name
                )
            };
            return Err(located_hint(&param.key_pos, message, "keep only one of them"));
        }
        written_as.insert(param_spec.name, param.name.clone());
        let value = convert(spec, param_spec, &param.name, &param.value)?;
        check_choice(spec, param_spec, &param.name, &value, &param.value.pos)?;
        params.insert(
            param_spec.name.to_string(),
            Param {
                value,
                pos: param.value.pos.clone(),
            },
        );
    }
    let given = |name: &str| params.get(name).is_some_and(|p| !p.value.is_null());
    for param_spec in spec.params.iter().filter(|p| p.required) {
        if !given(param_spec.name) {
            return Err(located_hint(
                module_pos,
                format!(
                    "`{}` needs the parameter `{}`, which is missing",
                    spec.name, param_spec.name
                ),
                format!("add `{}: ...` under `{}`", param_spec.name, spec.name),
            ));
        }
    }
    for group in spec.mutually_exclusive {
        // In the order written, so the error points at the second one the user wrote.
        let present: Vec<&str> = params
            .keys()
            .map(String::as_str)
            .filter(|name| group.contains(name) && given(name))
            .collect();
        if let [first, second, ..] = present.as_slice() {
            let pos = &params[*second].pos;
            return Err(located_hint(
                pos,
                format!(
                    "parameters `{first}` and `{second}` of `{}` are mutually exclusive",
                    spec.name
                ),
                "keep only one of them",
            ));
        }
    }
    for group in spec.required_one_of {
        if !group.iter().any(|name| given(name)) {
            return Err(located(
                module_pos,
                format!(
                    "`{}` needs one of the parameters {}",
                    spec.name,
                    backticked(group)
                ),
            ));
        }
    }
    for (param, value, needed) in spec.required_if {
        let matches = params.get(*param).and_then(|p| p.value.as_str()) == Some(value);
        if let (true, Some(missing)) = (matches, needed.iter().find(|name| !given(name))) {
            return Err(located(
                &params[*param].pos,
                format!(
                    "`{}` with `{param}: {value}` needs the parameter `{missing}`",
                    spec.name
                ),
            ));
        }
    }
    if let Some(validate) = spec.validate {
        validate(spec, &params, module_pos)?;
    }
    Ok(params)
}

fn backticked(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn unknown_param(spec: &ModuleSpec, name: &str, pos: &Pos) -> anyhow::Error {
    let candidates = spec
        .params
        .iter()
        .flat_map(|p| std::iter::once(p.name).chain(p.aliases.iter().copied()));
    let message = format!("unknown parameter `{name}` for module `{}`", spec.name);
    match did_you_mean(name, candidates) {
        Some(close) => located_hint(pos, message, format!("did you mean `{close}`?")),
        None => {
            let all: Vec<&str> = spec.params.iter().map(|p| p.name).collect();
            located_hint(pos, message, format!("`{}` takes: {}", spec.name, all.join(", ")))
        }
    }
}

/// Variable names must be identifiers, as Ansible requires for `set_fact` and `vars`.
pub fn check_variable_name(name: &str, pos: &Pos) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(())
    } else {
        Err(located(
            pos,
            format!(
                "invalid variable name `{name}`: expected letters, digits and `_`, not starting with a digit"
            ),
        ))
    }
}

/// Ansible's boolean strings (`module_utils.parsing.convert_bool`), case-insensitive.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.to_ascii_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" | "1.0" => Some(true),
        "n" | "no" | "off" | "0" | "false" | "f" | "0.0" => Some(false),
        _ => None,
    }
}

fn wrong_type(spec: &ModuleSpec, name: &str, kind: ParamType, node: &Node) -> anyhow::Error {
    let found = match &node.data {
        Data::Str { value, .. } => format!("`{value}`"),
        _ => node.type_name().to_string(),
    };
    let message = format!(
        "parameter `{name}` of `{}` must be {}, found {found}",
        spec.name,
        kind.expected()
    );
    match kind {
        ParamType::Bool => located_hint(&node.pos, message, "write yes/no or true/false"),
        ParamType::Mode => located_hint(
            &node.pos,
            message,
            "quote octal modes (`mode: \"0644\"`) or use symbolic ones (`u=rw,g=r,o=r`)",
        ),
        _ => located(&node.pos, message),
    }
}

fn convert(spec: &ModuleSpec, param: &ParamSpec, name: &str, node: &Node) -> Result<Value> {
    if let Data::Str { value, .. } = &node.data {
        if is_template(value) {
            return Ok(Value::String(value.clone()));
        }
    }
    if node.is_null() {
        return Ok(Value::Null);
    }
    let bad = || wrong_type(spec, name, param.kind, node);
    let value = match (param.kind, &node.data) {
        (ParamType::Raw, _) => node.to_value(),
        (ParamType::Str | ParamType::Path, Data::Seq(_) | Data::Map(_)) => return Err(bad()),
        (ParamType::Str | ParamType::Path, _) => {
            Value::String(node.scalar_string().expect("scalars render as strings"))
        }
        (ParamType::Bool, Data::Bool(b)) => Value::Bool(*b),
        (ParamType::Bool, Data::Int(i @ (0 | 1))) => Value::Bool(*i == 1),
        (ParamType::Bool, Data::Str { value, .. }) => Value::Bool(parse_bool(value).ok_or_else(bad)?),
        (ParamType::Bool, _) => return Err(bad()),
        (ParamType::Int, Data::Int(i)) => Value::from(*i),
        (ParamType::Int, Data::Float(f)) if f.fract() == 0.0 => Value::from(*f as i64),
        (ParamType::Int, Data::Str { value, .. }) => {
            Value::from(value.trim().parse::<i64>().map_err(|_| bad())?)
        }
        (ParamType::Int, _) => return Err(bad()),
        (ParamType::List, Data::Seq(_)) => node.to_value(),
        (ParamType::List, Data::Str { value, .. }) => {
            Value::Array(value.split(',').map(|s| Value::from(s.trim())).collect())
        }
        (ParamType::List, Data::Map(_)) => return Err(bad()),
        (ParamType::List, _) => Value::Array(vec![Value::String(
            node.scalar_string().expect("scalars render as strings"),
        )]),
        (ParamType::Dict, Data::Map(_)) => node.to_value(),
        (ParamType::Dict, Data::Str { value, .. }) => parse_dict_string(value).ok_or_else(bad)?,
        (ParamType::Dict, _) => return Err(bad()),
        (ParamType::Mode, Data::Int(i)) => Value::from(*i),
        (ParamType::Mode, Data::Str { value, .. }) if is_mode(value) => Value::String(value.clone()),
        (ParamType::Mode, _) => return Err(bad()),
    };
    Ok(value)
}

/// A dict given as a string: JSON, or `k=v, k=v` as Ansible's `check_type_dict` takes it.
fn parse_dict_string(text: &str) -> Option<Value> {
    let text = text.trim();
    if text.starts_with('{') {
        return serde_json::from_str::<Value>(text).ok().filter(Value::is_object);
    }
    let mut map = serde_json::Map::new();
    for part in text.split([',', ' ']).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=')?;
        map.insert(
            k.trim().to_string(),
            Value::from(super::playbook::kv::unquote(v.trim())),
        );
    }
    (!map.is_empty()).then_some(Value::Object(map))
}

/// Octal (`644`, `0644`, `01777`), `preserve`, or symbolic (`u=rw,g+r,o-wx`).
fn is_mode(text: &str) -> bool {
    if text == "preserve" {
        return true;
    }
    if !text.is_empty() && text.len() <= 5 && text.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return true;
    }
    text.split(',').all(|clause| {
        let who_len = clause.bytes().take_while(|b| b"ugoa".contains(b)).count();
        let rest = &clause[who_len..];
        !rest.is_empty()
            && rest.split_inclusive(['+', '-', '=']).count() > 0
            && rest.starts_with(['+', '-', '='])
            && rest.bytes().all(|b| b"+-=rwxXstugo".contains(&b))
    })
}

fn check_choice(spec: &ModuleSpec, param: &ParamSpec, name: &str, value: &Value, pos: &Pos) -> Result<()> {
    if param.choices.is_empty() || value.is_null() {
        return Ok(());
    }
    let text = match value {
        Value::String(s) if is_template(s) => return Ok(()),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.to_string(),
        other => other.to_string(),
    };
    if param.choices.contains(&text.as_str()) {
        return Ok(());
    }
    let message = format!(
        "parameter `{name}` of `{}` must be one of {}, found `{text}`",
        spec.name,
        param.choices.join(", ")
    );
    match did_you_mean(&text, param.choices.iter().copied()) {
        Some(close) => Err(located_hint(pos, message, format!("did you mean `{close}`?"))),
        None => Err(located(pos, message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_include_kind_has_one_module_and_imports_name_their_dynamic_form() {
        let kinds = [
            IncludeKind::ImportTasks,
            IncludeKind::IncludeTasks,
            IncludeKind::ImportRole,
            IncludeKind::IncludeRole,
        ];
        for kind in kinds {
            let registered = MODULES
                .iter()
                .filter(|spec| spec.kind == ModuleKind::Include(kind))
                .count();
            assert_eq!(registered, 1, "{kind:?}");
        }
        let name = |kind: IncludeKind| kind.module().map(|spec| spec.name);
        assert_eq!(name(IncludeKind::ImportTasks.dynamic()), Some("include_tasks"));
        assert_eq!(name(IncludeKind::ImportRole.dynamic()), Some("include_role"));
        assert!(IncludeKind::ImportTasks.is_static() && !IncludeKind::IncludeRole.is_static());
    }

    fn raw_params(yaml: &str) -> (Vec<RawParam>, Pos) {
        let node = crate::yaml::parse_str(yaml, Path::new("t.yml")).unwrap();
        let params = node
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, v)| RawParam {
                name: k.key_string().unwrap(),
                key_pos: k.pos.clone(),
                value: v.clone(),
            })
            .collect();
        (params, node.pos)
    }

    fn check(module: &str, yaml: &str) -> Result<Params> {
        let (params, pos) = raw_params(yaml);
        check_params(lookup(module).unwrap(), params, &pos)
    }

    fn message(result: Result<Params>) -> String {
        let err = result.unwrap_err();
        match crate::error::hint_of(&err) {
            Some(hint) => format!("{err:#} / {hint}"),
            None => format!("{err:#}"),
        }
    }

    #[test]
    fn registry_finds_short_fqcn_legacy_and_aliases() {
        assert_eq!(lookup("copy").unwrap().name, "copy");
        assert_eq!(lookup("ansible.builtin.copy").unwrap().name, "copy");
        assert_eq!(lookup("ansible.legacy.copy").unwrap().name, "copy");
        assert_eq!(lookup("systemd_service").unwrap().name, "systemd");
        assert_eq!(lookup("ansible.builtin.systemd_service").unwrap().name, "systemd");
        assert_eq!(
            lookup("community.postgresql.postgresql_db").unwrap().name,
            "postgresql_db"
        );
        assert_eq!(lookup("ansible.posix.sysctl").unwrap().name, "sysctl");
        assert!(lookup("ansible.builtin.sysctl").is_none());
        assert!(lookup("synchronize").is_none());
        assert!(lookup("ansible.posix.synchronize").is_none());
    }

    #[test]
    fn every_spec_is_consistent() {
        for spec in MODULES {
            assert!(spec.answers_to(spec.fqcn), "{}", spec.name);
            let mut seen = std::collections::HashSet::new();
            for p in spec.params {
                for name in std::iter::once(p.name).chain(p.aliases.iter().copied()) {
                    assert!(seen.insert(name), "{}: `{name}` twice", spec.name);
                }
                if let (Some(DefaultValue::Str(d)), false) = (p.default, p.choices.is_empty()) {
                    assert!(
                        p.choices.contains(&d),
                        "{}.{}: default not a choice",
                        spec.name,
                        p.name
                    );
                }
            }
            let groups = spec.mutually_exclusive.iter().chain(spec.required_one_of);
            for name in groups.flat_map(|g| g.iter()) {
                assert!(spec.param(name).is_some(), "{}: group names `{name}`", spec.name);
            }
            if let FreeForm::Raw(name) = spec.free_form {
                assert!(spec.param(name).is_some(), "{}: free form `{name}`", spec.name);
            }
        }
    }

    #[test]
    fn converts_types_and_resolves_aliases() {
        let params = check("file", "path: /x\nstate: directory\nmode: 0755\nrecurse: 'yes'\n").unwrap();
        assert_eq!(params["path"].value, Value::from("/x"));
        assert_eq!(params["mode"].value, Value::from(0o755));
        assert_eq!(params["recurse"].value, Value::Bool(true));
        let params = check("file", "dest: /x\n").unwrap();
        assert!(params.contains_key("path"));
        let params = check("apt", "name: a, b\n").unwrap();
        assert_eq!(params["name"].value, serde_json::json!(["a", "b"]));
        let params = check("wait_for", "port: '5432'\ntimeout: '{{ t }}'\n").unwrap();
        assert_eq!(params["port"].value, Value::from(5432));
        assert_eq!(params["timeout"].value, Value::from("{{ t }}"));
    }

    #[test]
    fn reports_spec_violations() {
        assert_eq!(
            message(check("copy", "dest: /x\nforce: maybe\n")),
            "t.yml:2:8: parameter `force` of `copy` must be a boolean, found `maybe` / write yes/no or true/false"
        );
        assert_eq!(
            message(check("copy", "dset: /x\n")),
            "t.yml:1:1: unknown parameter `dset` for module `copy` / did you mean `dest`?"
        );
        assert_eq!(
            message(check("copy", "src: a\n")),
            "t.yml:1:1: `copy` needs the parameter `dest`, which is missing / add `dest: ...` under `copy`"
        );
        assert_eq!(
            message(check("copy", "src: a\ncontent: b\ndest: /x\n")),
            "t.yml:2:10: parameters `src` and `content` of `copy` are mutually exclusive / keep only one of them"
        );
        assert_eq!(
            message(check("apt", "name: x\nstate: presnt\n")),
            "t.yml:2:8: parameter `state` of `apt` must be one of absent, build-dep, latest, present, fixed, found `presnt` / did you mean `present`?"
        );
        assert_eq!(
            message(check("file", "path: /a\ndest: /b\n")),
            "t.yml:2:1: parameters `path` and `dest` of `file` are the same parameter, given twice / keep only one of them"
        );
        assert_eq!(
            message(check("file", "path: /a\nmode: [1]\n")),
            "t.yml:2:7: parameter `mode` of `file` must be a file mode, found a list / quote octal modes (`mode: \"0644\"`) or use symbolic ones (`u=rw,g=r,o=r`)"
        );
    }

    #[test]
    fn modes() {
        for ok in ["0644", "644", "u=rw,g=r,o=r", "u+x", "a-w", "preserve", "01777"] {
            assert!(is_mode(ok), "{ok}");
        }
        for bad in ["rw", "0999", "u=rwz", "", "u"] {
            assert!(!is_mode(bad), "{bad}");
        }
    }

    #[test]
    fn booleans_as_ansible_reads_them() {
        for t in ["yes", "Yes", "on", "1", "true", "True", "t", "y"] {
            assert_eq!(parse_bool(t), Some(true), "{t}");
        }
        for f in ["no", "OFF", "0", "false", "f", "n"] {
            assert_eq!(parse_bool(f), Some(false), "{f}");
        }
        assert_eq!(parse_bool("maybe"), None);
    }
}

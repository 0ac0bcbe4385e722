//! `postgresql_set` (`community.postgresql.postgresql_set`): a server setting, with
//! `ALTER SYSTEM`.
//!
//! Compared as Ansible compares it in check mode: the value given and `SHOW name` are read as
//! sizes (`1MB` is `1024kB`) or numbers where they are ones; `reset` is converged when the
//! setting is its boot value. A setting changed outside `postmaster` context is reloaded with
//! `pg_reload_conf()`; `restart_required` says when it takes a restart. Runs through `psql`
//! (see [`super::psql`]).
//!
//! Differences from Ansible: `value: default` is read as `reset` (Ansible reports it changed
//! on every run); `reset` at the boot value is converged (Ansible's check mode reports it
//! changed every time, its apply does not); list-valued settings are not unquoted before comparing; the registered
//! result leaves out `queries`, and after a change `prev_val_pretty`.

use anyhow::{bail, Result};
use serde_json::{json, Value as Json};

use super::lifecycle::{value_of, Args, BuildContext, Resource, Step};
use super::psql::{self, unhex, Connection, Reply};
use super::support::{after_apply, answer_after_apply, detach_stdin};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Sets a PostgreSQL server setting.
///
/// ```yaml
/// - postgresql_set:
///     name: work_mem
///     value: 16MB
///   become_user: postgres
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "postgresql_set",
    fqcn: "community.postgresql.postgresql_set",
    params: &[
        P::new("name", Str).required(),
        P::new("value", Str),
        P::new("reset", Bool).default(D::Bool(false)),
        P::new("login_db", Str).aliases(&["db"]),
        P::new("session_role", Str),
        P::new("trust_input", Bool).default(D::Bool(true)),
        P::new("login_user", Str)
            .default(D::Str("postgres"))
            .aliases(&["login"]),
        P::new("login_password", Str),
        P::new("login_host", Str).aliases(&["host"]),
        P::new("login_unix_socket", Str).aliases(&["unix_socket"]),
        P::new("port", Int).default(D::Int(5432)).aliases(&["login_port"]),
        P::new("ssl_mode", Str).choices(&[
            "allow",
            "disable",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ]),
        P::new("ca_cert", Str).aliases(&["ssl_rootcert"]),
    ],
    mutually_exclusive: &[&["value", "reset"]],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(from_args(args)?))
}

/// A setting as `postgresql_set` converges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub name: String,
    /// The value as Ansible normalizes it; `None` for `reset`.
    pub value: Option<String>,
    pub connection: Connection,
}

/// A setting as `pg_settings` and `SHOW` give it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingInfo {
    /// `SHOW name`.
    pub current: String,
    /// `pg_settings.setting`, in the setting's unit.
    pub setting: String,
    pub unit: String,
    pub boot: String,
    pub context: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SettingState {
    Known(SettingInfo),
    NotYet(String),
}

const PROBE_SQL: &str = "SELECT concat_ws(E'\\n', \
     'current=' || encode(convert_to(current_setting(name), 'UTF8'), 'hex'), \
     'setting=' || encode(convert_to(coalesce(setting, ''), 'UTF8'), 'hex'), \
     'unit=' || encode(convert_to(coalesce(unit, ''), 'UTF8'), 'hex'), \
     'boot=' || encode(convert_to(coalesce(boot_val, ''), 'UTF8'), 'hex'), \
     'context=' || context) FROM pg_catalog.pg_settings WHERE name = :'name';\n";

/// A value as Ansible's `pretty_to_bytes` reads it, for comparing.
#[derive(Clone, Debug, PartialEq)]
enum Pretty {
    Number(f64),
    Text(String),
}

fn pretty_to_bytes(text: &str) -> Pretty {
    let Some(first) = text.chars().next() else {
        return Pretty::Text(String::new());
    };
    if !first.is_ascii_digit() {
        return Pretty::Text(text.to_string());
    }
    let last = text.chars().last().unwrap_or(first);
    if !last.is_alphabetic() {
        return text
            .parse::<f64>()
            .map(Pretty::Number)
            .unwrap_or_else(|_| Pretty::Text(text.to_string()));
    }
    let digits: String = text.chars().take_while(|c| c.is_ascii_digit()).collect();
    let number: f64 = digits.parse().unwrap_or(0.0);
    let suffix = &text[text.len().saturating_sub(2)..];
    let scaled = if text.len() >= 2 {
        [("kB", 1u64 << 10), ("MB", 1 << 20), ("GB", 1 << 30), ("TB", 1 << 40)]
            .iter()
            .find(|(unit, _)| suffix.contains(unit))
            .map(|(_, factor)| number * *factor as f64)
    } else {
        None
    };
    match scaled {
        Some(bytes) if bytes != 0.0 => Pretty::Number(bytes),
        _ if last == 'B' => Pretty::Number(number),
        _ => Pretty::Text(text.to_string()),
    }
}

/// Ansible's normalization of `value`: `8mb` is `8MB`, booleans are `on`/`off`.
pub fn normalize_value(value: &str) -> String {
    let len = value.len();
    let head_digits = |n: usize| len > n && value[..len - n].bytes().all(|b| b.is_ascii_digit());
    let lower_units = ["kb", "mb", "gb", "tb"];
    let sized = len > 2 && head_digits(2) && lower_units.contains(&&value[len - 2..]);
    let bytes = len > 1 && head_digits(1) && value.ends_with('b');
    let value = if sized || bytes {
        value.to_uppercase()
    } else {
        value.to_string()
    };
    match value.as_str() {
        "True" => "on".to_string(),
        "False" => "off".to_string(),
        _ => value,
    }
}

impl SettingInfo {
    /// Ansible's `raw_val`: kB and MB settings in bytes.
    fn raw(&self) -> Json {
        let factor = match self.unit.as_str() {
            "kB" => 1024,
            "MB" => 1024 * 1024,
            _ => return json!(self.setting),
        };
        match self.setting.parse::<i64>() {
            Ok(n) if n > 0 => json!(n * factor),
            Ok(n) => json!(n),
            Err(_) => json!(self.setting),
        }
    }

    fn unit(&self) -> &str {
        match self.unit.as_str() {
            "kB" | "MB" => "b",
            other => other,
        }
    }
}

impl Setting {
    fn differs(&self, info: &SettingInfo) -> bool {
        match &self.value {
            Some(value) => pretty_to_bytes(value) != pretty_to_bytes(&info.current),
            None => info.setting != info.boot,
        }
    }

    /// The value as `ALTER SYSTEM SET` takes it: a comma-separated list becomes a list of
    /// literals, as Ansible writes it.
    fn value_sql(&self, value: &str) -> Result<String> {
        if value.contains(',') && !self.name.ends_with("_command") && !self.name.ends_with("_prefix") {
            Ok(value
                .split(',')
                .map(|item| psql::literal(item.trim()))
                .collect::<Result<Vec<_>>>()?
                .join(", "))
        } else {
            psql::literal(value)
        }
    }

    fn sql(&self) -> String {
        let mut sql = String::from(
            "SELECT context <> 'postmaster' AS deploy_reload FROM pg_catalog.pg_settings WHERE name = :'name' \\gset\n",
        );
        match &self.value {
            Some(value) => {
                let literal = self.value_sql(value).unwrap_or_else(|_| "''".to_string());
                sql.push_str(&format!("ALTER SYSTEM SET :\"name\" = {literal};\n"));
            }
            None => sql.push_str("ALTER SYSTEM RESET :\"name\";\n"),
        }
        sql.push_str("\\echo deploy-changed\n\\if :deploy_reload\nSELECT pg_reload_conf() \\gset deploy_\n\\endif\n");
        sql
    }
}

impl Resource for Setting {
    type State = SettingState;

    fn target(&self) -> String {
        self.name.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        psql::probe(&mut script, &self.connection, &[("name", &self.name)], PROBE_SQL);
        script
    }

    fn inspect(&self, out: &Section) -> Result<SettingState> {
        let rows = match psql::inspect(out)? {
            Reply::NotYet(why) => return Ok(SettingState::NotYet(why)),
            Reply::Rows(rows) => rows,
        };
        if rows.is_empty() {
            bail!(
                "No such parameter: {}. Please check its spelling or presence in your PostgreSQL version \
                 (https://www.postgresql.org/docs/current/runtime-config.html)",
                self.name
            );
        }
        let get = |key: &str| {
            value_of(&rows, key).ok_or_else(|| anyhow::anyhow!("probe: no {key} for setting {}", self.name))
        };
        let info = SettingInfo {
            current: unhex(get("current")?)?,
            setting: unhex(get("setting")?)?,
            unit: unhex(get("unit")?)?,
            boot: unhex(get("boot")?)?,
            context: get("context")?.to_string(),
        };
        if info.context == "internal" {
            bail!(
                "{}: cannot be changed (internal context). See https://www.postgresql.org/docs/current/runtime-config-preset.html",
                self.name
            );
        }
        Ok(SettingState::Known(info))
    }

    fn diff(&self, have: &SettingState) -> Diff {
        match have {
            SettingState::NotYet(why) => {
                let mut diff = Diff::new(Action::Unknown);
                diff.attributes
                    .push(AttributeChange::new(why, None::<String>, None::<String>));
                diff
            }
            SettingState::Known(info) if self.differs(info) => {
                let mut after = self.value.clone().unwrap_or_else(|| format!("{} (reset)", info.boot));
                if info.context == "postmaster" {
                    after.push_str(" (takes a restart)");
                }
                Diff::from_attributes(vec![AttributeChange::new(
                    "value",
                    Some(info.current.clone()),
                    Some(after),
                )])
            }
            SettingState::Known(_) => Diff::converged(),
        }
    }

    fn apply(&self, _have: &SettingState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        psql::apply(
            &mut script,
            &self.connection,
            &[("name", &self.name)],
            &self.sql(),
            None,
        );
        answer_after_apply(&mut script, &Resource::probe(self));
        script
    }

    fn result(&self, out: &Section) -> Result<Option<Json>> {
        let SettingState::Known(info) = self.inspect(out)? else {
            return Ok(None);
        };
        Ok(Some(json!({
            "changed": false,
            "failed": false,
            "name": self.name,
            "restart_required": self.value.is_some() && info.context == "postmaster",
            "prev_val_pretty": info.current,
            "value_pretty": info.current,
            "value": {"value": info.raw(), "unit": info.unit()},
            "context": info.context,
        })))
    }

    fn applied_result(&self, stdout: &[u8]) -> Result<Option<Json>> {
        let Some(out) = after_apply(stdout) else {
            return Ok(None);
        };
        Ok(Resource::result(self, &out)?.map(|mut answer| {
            if let Some(map) = answer.as_object_mut() {
                map.remove("prev_val_pretty");
                if let Some(value) = &self.value {
                    // What Ansible reports for a setting that takes a restart: the value set.
                    map.insert("value_pretty".into(), json!(value));
                }
            }
            answer
        }))
    }
}

/// Builds the resource from `postgresql_set`'s parameters.
pub fn from_args(args: &Args) -> Result<Setting> {
    args.refuse(&["session_role"])?;
    let name = args.required_str("name")?;
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.') {
        bail!("`{name}` is not a PostgreSQL setting name");
    }
    let value = args.str("value")?.map(|v| normalize_value(&v));
    let reset = args.flag("reset")?;
    if name == "shared_preload_libraries" && value.as_deref() == Some("") {
        bail!(
            "Due to a PostgreSQL bug in resetting shared_preload_libraries with ALTER SYSTEM SET, setting it as an \
             empty string is not supported by the module to avoid crashes. Use the `value: default` or `reset: true` \
             argument instead."
        );
    }
    if value.is_some() && reset {
        bail!("{name}: value and reset params are mutually exclusive");
    }
    if value.is_none() && !reset {
        bail!("{name}: at least one of value or reset param must be specified");
    }
    let value = value.filter(|v| v != "default");
    if let Some(value) = &value {
        psql::literal(value)?;
    }
    Ok(Setting {
        connection: Connection::from_args(args, args.str("login_db")?)?,
        name,
        value,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};
    use serde_json::json;

    fn hex(text: &str) -> String {
        text.bytes().map(|b| format!("{b:02x}")).collect()
    }

    fn probe(current: &str, setting: &str, unit: &str, boot: &str, context: &str) -> String {
        format!(
            "current={}\nsetting={}\nunit={}\nboot={}\ncontext={context}\npsql_rc=0\n",
            hex(current),
            hex(setting),
            hex(unit),
            hex(boot)
        )
    }

    fn plan(params: Json, probe: &str) -> Result<(Diff, Script)> {
        build_step(&SPEC, params, &NoContext)?.plan(&section(probe))
    }

    #[test]
    fn sizes_compare_as_ansible_compares_them() {
        assert_eq!(pretty_to_bytes("1MB"), pretty_to_bytes("1024kB"));
        assert_eq!(pretty_to_bytes("100"), pretty_to_bytes("100.0"));
        assert_ne!(pretty_to_bytes("on"), pretty_to_bytes("off"));
        assert_eq!(normalize_value("8mb"), "8MB");
        assert_eq!(normalize_value("True"), "on");
        assert_eq!(normalize_value("ddl"), "ddl");
    }

    #[test]
    fn plans_from_canned_probe_output() {
        let work_mem = probe("4MB", "4096", "kB", "4096", "user");
        assert!(plan(json!({"name": "work_mem", "value": "4096kB"}), &work_mem).unwrap().0.is_converged());
        let (diff, script) = plan(json!({"name": "work_mem", "value": "16mb"}), &work_mem).unwrap();
        assert_eq!(diff.attributes[0].describe(), "value 4MB → 16MB");
        assert!(script.as_str().contains("ALTER SYSTEM SET :\"name\" = '\\''16MB'\\''"), "{}", script.as_str());
        let shared = probe("128MB", "16384", "8kB", "1024", "postmaster");
        let (diff, _) = plan(json!({"name": "shared_buffers", "value": "256MB"}), &shared).unwrap();
        assert_eq!(diff.attributes[0].describe(), "value 128MB → 256MB (takes a restart)");
        let step = build_step(&SPEC, json!({"name": "shared_buffers", "value": "128MB"}), &NoContext).unwrap();
        let answer = step.result(&section(&shared)).unwrap().unwrap();
        assert_eq!(answer["restart_required"], json!(true));
        assert_eq!(answer["value"], json!({"value": "16384", "unit": "8kB"}));
        let step = build_step(&SPEC, json!({"name": "work_mem", "reset": true}), &NoContext).unwrap();
        assert_eq!(step.result(&section(&work_mem)).unwrap().unwrap()["value"], json!({"value": 4194304, "unit": "b"}));
        assert!(step.plan(&section(&work_mem)).unwrap().0.is_converged());
        let (diff, script) = plan(json!({"name": "work_mem", "reset": true}), &probe("8MB", "8192", "kB", "4096", "user")).unwrap();
        assert_eq!(diff.attributes[0].describe(), "value 8MB → 4096 (reset)");
        assert!(script.as_str().contains("ALTER SYSTEM RESET"));
        let (_, script) = plan(json!({"name": "log_destination", "value": "stderr, csvlog"}), &probe("stderr", "stderr", "", "stderr", "sighup")).unwrap();
        assert!(script.as_str().contains("'\\''stderr'\\'', '\\''csvlog'\\''"), "{}", script.as_str());
        assert!(plan(json!({"name": "block_size", "value": "16"}), &probe("8192", "8192", "", "8192", "internal")).is_err());
        assert!(plan(json!({"name": "nope", "value": "1"}), "psql_rc=0\n").is_err());
        assert!(build_step(&SPEC, json!({"name": "work_mem"}), &NoContext).is_err());
        assert!(build_step(&SPEC, json!({"name": "work_mem; DROP", "value": "1"}), &NoContext).is_err());
    }
}

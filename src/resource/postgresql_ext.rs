//! `postgresql_ext` (`community.postgresql.postgresql_ext`): an extension in a database.
//!
//! Decided as Ansible's module decides it: a missing extension is created (in `schema`, at
//! `version`, with `CASCADE` as asked), an installed one is left alone unless `version` is
//! given and differs (then `ALTER EXTENSION ... UPDATE`; `latest` is the default version of
//! the extension's control file), and `comment` is set when it differs. All of it runs
//! through `psql` (see [`super::psql`]); the apply script re-checks on the server.
//!
//! Differences from Ansible: the registered result has `ext`, `db`, `prev_version` and
//! `version`, not `queries`; after a change, `prev_version` is left out.

use anyhow::{bail, Result};
use serde_json::{json, Value as Json};

use super::lifecycle::{value_of, Args, BuildContext, Resource, Step};
use super::psql::{self, check_name, unhex, Connection, Reply};
use super::support::{after_apply, answer_after_apply, detach_stdin};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Creates or drops a PostgreSQL extension.
///
/// ```yaml
/// - postgresql_ext:
///     name: pg_trgm
///     db: app
///   become_user: postgres
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "postgresql_ext",
    fqcn: "community.postgresql.postgresql_ext",
    params: &[
        P::new("ext", Str).required().aliases(&["name"]),
        P::new("login_db", Str).required().aliases(&["db"]),
        P::new("schema", Str),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("cascade", Bool).default(D::Bool(false)),
        P::new("version", Str),
        P::new("comment", Str),
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
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(from_args(args)?))
}

/// An extension as `postgresql_ext` converges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Extension {
    pub name: String,
    pub present: bool,
    pub schema: Option<String>,
    /// As given: a version, `latest`, or none (any installed version will do).
    pub version: Option<String>,
    pub cascade: bool,
    pub comment: Option<String>,
    pub connection: Connection,
}

/// What the server says about the extension.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionInfo {
    /// The installed version; `None` when not created in the database.
    pub installed: Option<String>,
    /// The control file's default version; `None` when the extension is not available.
    pub default: Option<String>,
    pub available: Vec<String>,
    pub comment: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExtensionState {
    Known(ExtensionInfo),
    NotYet(String),
}

const PROBE_SQL: &str = "SELECT concat_ws(E'\\n', \
     'installed=' || coalesce((SELECT encode(convert_to(extversion, 'UTF8'), 'hex') FROM pg_catalog.pg_extension WHERE extname = :'name'), '-'), \
     'default=' || coalesce((SELECT encode(convert_to(default_version, 'UTF8'), 'hex') FROM pg_catalog.pg_available_extensions WHERE name = :'name'), '-'), \
     'available=' || coalesce((SELECT string_agg(encode(convert_to(version, 'UTF8'), 'hex'), ',') FROM pg_catalog.pg_available_extension_versions WHERE name = :'name'), ''), \
     'comment=' || encode(convert_to(coalesce((SELECT obj_description(oid, 'pg_extension') FROM pg_catalog.pg_extension WHERE extname = :'name'), ''), 'UTF8'), 'hex'));\n";

impl Extension {
    fn vars(&self) -> Vec<(&str, &str)> {
        let mut vars = vec![("name", self.name.as_str())];
        for (key, value) in [
            ("schema", &self.schema),
            ("version", &self.version),
            ("comment", &self.comment),
        ] {
            if let Some(value) = value {
                vars.push((key, value.as_str()));
            }
        }
        vars
    }

    /// The version asked for, `latest` resolved; `None` when any will do. Ansible's errors.
    fn wanted_version(&self, info: &ExtensionInfo) -> Result<Option<String>> {
        if info.available.is_empty() && info.installed.is_none() {
            bail!("Extension {} is not available", self.name);
        }
        match self.version.as_deref() {
            None => Ok(None),
            Some("latest") => match &info.default {
                Some(default) => Ok(Some(default.clone())),
                None => bail!("Passed version 'latest' but no default_version available in extension control file"),
            },
            Some(version) => {
                if info.installed.is_none() && !info.available.iter().any(|v| v == version) {
                    bail!("Passed version '{version}' is not available");
                }
                Ok(Some(version.to_string()))
            }
        }
    }

    fn sql(&self) -> String {
        let mut sql = String::new();
        if !self.present {
            sql.push_str(
                "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = :'name') AS deploy_drop \\gset\n\\if :deploy_drop\n",
            );
            sql.push_str(if self.cascade {
                "DROP EXTENSION :\"name\" CASCADE;\n"
            } else {
                "DROP EXTENSION :\"name\";\n"
            });
            sql.push_str("\\echo deploy-changed\n\\endif\n");
            return sql;
        }
        sql.push_str(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_catalog.pg_extension WHERE extname = :'name') AS deploy_create \\gset\n\\if :deploy_create\n",
        );
        sql.push_str("CREATE EXTENSION :\"name\"");
        if self.schema.is_some() {
            sql.push_str(" WITH SCHEMA :\"schema\"");
        }
        if self.version.as_deref().is_some_and(|v| v != "latest") {
            sql.push_str(" VERSION :'version'");
        }
        if self.cascade {
            sql.push_str(" CASCADE");
        }
        sql.push_str(";\n\\echo deploy-changed\n");
        match self.version.as_deref() {
            None => {}
            Some("latest") => sql.push_str(
                "\\else\nSELECT e.extversion <> a.default_version AS deploy_update FROM pg_catalog.pg_extension e \
                 JOIN pg_catalog.pg_available_extensions a ON a.name = e.extname WHERE e.extname = :'name' \\gset\n\
                 \\if :deploy_update\nALTER EXTENSION :\"name\" UPDATE;\n\\echo deploy-changed\n\\endif\n",
            ),
            Some(_) => sql.push_str(
                "\\else\nSELECT extversion <> :'version' AS deploy_update FROM pg_catalog.pg_extension WHERE extname = :'name' \\gset\n\
                 \\if :deploy_update\nALTER EXTENSION :\"name\" UPDATE TO :'version';\n\\echo deploy-changed\n\\endif\n",
            ),
        }
        sql.push_str("\\endif\n");
        if self.comment.is_some() {
            sql.push_str(
                "SELECT coalesce(obj_description(oid, 'pg_extension'), '') <> :'comment' AS deploy_comment \
                 FROM pg_catalog.pg_extension WHERE extname = :'name' \\gset\n\
                 \\if :deploy_comment\nCOMMENT ON EXTENSION :\"name\" IS :'comment';\n\\echo deploy-changed\n\\endif\n",
            );
        }
        sql
    }
}

fn optional_hex(text: &str) -> Result<Option<String>> {
    if text == "-" {
        Ok(None)
    } else {
        unhex(text).map(Some)
    }
}

impl Resource for Extension {
    type State = ExtensionState;

    fn target(&self) -> String {
        format!("{} in {}", self.name, self.connection.database)
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        psql::probe(&mut script, &self.connection, &[("name", &self.name)], PROBE_SQL);
        script
    }

    fn inspect(&self, out: &Section) -> Result<ExtensionState> {
        let rows = match psql::inspect(out)? {
            Reply::NotYet(why) => return Ok(ExtensionState::NotYet(why)),
            Reply::Rows(rows) => rows,
        };
        let get = |key: &str| {
            value_of(&rows, key).ok_or_else(|| anyhow::anyhow!("probe: no {key} for extension {}", self.name))
        };
        let available = get("available")?;
        let info = ExtensionInfo {
            installed: optional_hex(get("installed")?)?,
            default: optional_hex(get("default")?)?,
            available: if available.is_empty() {
                Vec::new()
            } else {
                available.split(',').map(unhex).collect::<Result<_>>()?
            },
            comment: unhex(get("comment")?)?,
        };
        if self.present {
            self.wanted_version(&info)?;
        }
        Ok(ExtensionState::Known(info))
    }

    fn diff(&self, have: &ExtensionState) -> Diff {
        let nothing = None::<String>;
        let info = match have {
            ExtensionState::NotYet(why) => {
                let mut diff = Diff::new(Action::Unknown);
                diff.attributes
                    .push(AttributeChange::new(why, nothing.clone(), nothing));
                return diff;
            }
            ExtensionState::Known(info) => info,
        };
        match (&info.installed, self.present) {
            (None, false) => Diff::converged(),
            (Some(_), false) => Diff::new(Action::Remove),
            (None, true) => {
                let mut diff = Diff::new(Action::Create);
                let version = self.wanted_version(info).ok().flatten().or_else(|| info.default.clone());
                diff.attributes
                    .push(AttributeChange::new("version", nothing.clone(), version));
                for (name, value) in [("schema", &self.schema), ("comment", &self.comment)] {
                    if let Some(value) = value {
                        diff.attributes
                            .push(AttributeChange::new(name, nothing.clone(), Some(value.clone())));
                    }
                }
                diff
            }
            (Some(installed), true) => {
                let mut changes = Vec::new();
                if let Ok(Some(wanted)) = self.wanted_version(info) {
                    if wanted != *installed {
                        changes.push(AttributeChange::new("version", Some(installed.clone()), Some(wanted)));
                    }
                }
                if let Some(comment) = self.comment.as_ref().filter(|c| **c != info.comment) {
                    changes.push(AttributeChange::new(
                        "comment",
                        Some(info.comment.clone()),
                        Some(comment.clone()),
                    ));
                }
                Diff::from_attributes(changes)
            }
        }
    }

    fn apply(&self, _have: &ExtensionState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        psql::apply(&mut script, &self.connection, &self.vars(), &self.sql(), None);
        answer_after_apply(&mut script, &Resource::probe(self));
        script
    }

    fn result(&self, out: &Section) -> Result<Option<Json>> {
        let ExtensionState::Known(info) = self.inspect(out)? else {
            return Ok(None);
        };
        let version = info.installed.unwrap_or_default();
        Ok(Some(json!({
            "changed": false,
            "failed": false,
            "db": self.connection.database,
            "ext": self.name,
            "prev_version": version,
            "version": version,
        })))
    }

    fn applied_result(&self, stdout: &[u8]) -> Result<Option<Json>> {
        let Some(out) = after_apply(stdout) else {
            return Ok(None);
        };
        Ok(Resource::result(self, &out)?.map(|mut answer| {
            if let Some(map) = answer.as_object_mut() {
                map.remove("prev_version");
            }
            answer
        }))
    }
}

/// Builds the resource from `postgresql_ext`'s parameters.
pub fn from_args(args: &Args) -> Result<Extension> {
    args.refuse(&["session_role"])?;
    let name = args.required_str("ext")?;
    check_name("extension", &name)?;
    let nonempty = |key: &str| -> Result<Option<String>> { Ok(args.str(key)?.filter(|v| !v.is_empty())) };
    let schema = nonempty("schema")?;
    if let Some(schema) = &schema {
        check_name("schema", schema)?;
    }
    let database = args.required_str("login_db")?;
    check_name("database", &database)?;
    let comment = args.str("comment")?;
    if let Some(comment) = &comment {
        psql::literal(comment)?;
    }
    Ok(Extension {
        connection: Connection::from_args(args, Some(database))?,
        present: args.str("state")?.as_deref() != Some("absent"),
        schema,
        version: nonempty("version")?,
        cascade: args.flag("cascade")?,
        comment,
        name,
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

    fn probe(installed: Option<&str>, comment: &str) -> String {
        format!(
            "installed={}\ndefault={}\navailable={},{}\ncomment={}\npsql_rc=0\n",
            installed.map_or("-".to_string(), hex),
            hex("1.6"),
            hex("1.5"),
            hex("1.6"),
            hex(comment)
        )
    }

    fn plan(params: Json, probe: &str) -> Result<(Diff, Script)> {
        build_step(&SPEC, params, &NoContext)?.plan(&section(probe))
    }

    fn shown(diff: &Diff) -> Vec<String> {
        diff.attributes.iter().map(|a| a.describe()).collect()
    }

    #[test]
    fn plans_from_canned_probe_output() {
        let base = json!({"ext": "pg_trgm", "login_db": "app"});
        assert!(plan(base.clone(), &probe(Some("1.5"), "")).unwrap().0.is_converged());
        let (diff, script) = plan(base.clone(), &probe(None, "")).unwrap();
        assert_eq!((diff.action, shown(&diff)), (Action::Create, vec!["version 1.6".to_string()]));
        assert!(script.as_str().contains("CREATE EXTENSION :\"name\";"));
        let latest = json!({"ext": "pg_trgm", "login_db": "app", "version": "latest", "comment": "trigrams"});
        let (diff, script) = plan(latest, &probe(Some("1.5"), "")).unwrap();
        assert_eq!(shown(&diff), ["version 1.5 → 1.6", "comment  → trigrams"]);
        assert!(script.as_str().contains("ALTER EXTENSION :\"name\" UPDATE;"));
        let pinned = json!({"ext": "pg_trgm", "login_db": "app", "version": "1.9"});
        assert_eq!(
            plan(pinned, &probe(None, "")).unwrap_err().to_string(),
            "Passed version '1.9' is not available"
        );
        let missing = "installed=-\ndefault=-\navailable=\ncomment=\npsql_rc=0\n";
        assert_eq!(
            plan(base.clone(), missing).unwrap_err().to_string(),
            "Extension pg_trgm is not available"
        );
        let absent = json!({"ext": "pg_trgm", "login_db": "app", "state": "absent", "cascade": true});
        let (diff, script) = plan(absent.clone(), &probe(Some("1.5"), "")).unwrap();
        assert_eq!(diff.action, Action::Remove);
        assert!(script.as_str().contains("DROP EXTENSION :\"name\" CASCADE;"));
        assert!(plan(absent, missing).unwrap().0.is_converged());
        assert_eq!(plan(base, "psql=missing\n").unwrap().0.action, Action::Unknown);
    }
}

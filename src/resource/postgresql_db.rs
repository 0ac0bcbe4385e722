//! `postgresql_db` (`community.postgresql.postgresql_db`): a PostgreSQL database and its owner.
//!
//! Decided as Ansible's module decides it: a missing database is created with the options
//! given (and only those: no implicit template), an existing one gets its owner and
//! connection limit changed, and an encoding or collation that differs is an error, since
//! PostgreSQL cannot change them. All of it runs through `psql` (see [`super::psql`]).

use anyhow::{bail, Result};

use super::lifecycle::{value_of, Args, BuildContext, Resource, Step};
use super::psql::{self, check_name, unhex, Connection, Reply};
use super::support::{detach_stdin, yes_no};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Creates or drops a PostgreSQL database.
///
/// ```yaml
/// - postgresql_db:
///     name: app
///     owner: app
///   become_user: postgres
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "postgresql_db",
    fqcn: "community.postgresql.postgresql_db",
    params: &[
        P::new("name", Str).required().aliases(&["db"]),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["present", "absent", "dump", "restore", "rename"]),
        P::new("owner", Str),
        P::new("template", Str),
        P::new("encoding", Str),
        P::new("lc_collate", Str),
        P::new("lc_ctype", Str),
        P::new("icu_locale", Str),
        P::new("locale_provider", Str),
        P::new("tablespace", Path),
        P::new("conn_limit", Str),
        P::new("comment", Str),
        P::new("session_role", Str),
        P::new("target", Path),
        P::new("target_opts", Str),
        P::new("dump_extra_args", Str),
        P::new("maintenance_db", Str).default(D::Str("postgres")),
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
        P::new("trust_input", Bool).default(D::Bool(true)),
        P::new("force", Bool).default(D::Bool(false)),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(from_args(args)?))
}

/// A database as `postgresql_db` converges it (`state: present` or `absent`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Database {
    pub name: String,
    pub present: bool,
    pub owner: Option<String>,
    pub template: Option<String>,
    pub encoding: Option<String>,
    pub lc_collate: Option<String>,
    pub lc_ctype: Option<String>,
    pub conn_limit: Option<i64>,
    /// `DROP DATABASE ... WITH (FORCE)`: end the sessions using it.
    pub force: bool,
    pub connection: Connection,
}

/// An existing database as `pg_database` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatabaseInfo {
    pub owner: String,
    pub encoding: String,
    /// Whether `encoding`, as PostgreSQL names encodings (`utf8` is `UTF8`), is the one asked.
    pub encoding_matches: bool,
    pub lc_collate: String,
    pub lc_ctype: String,
    pub conn_limit: i64,
}

/// What the probe learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DatabaseState {
    Absent,
    Present(DatabaseInfo),
    /// The server could not be asked yet; the apply script decides on the host.
    NotYet(String),
}

impl Database {
    fn vars(&self) -> Vec<(&str, &str)> {
        let mut vars = vec![("name", self.name.as_str())];
        for (key, value) in [
            ("owner", &self.owner),
            ("template", &self.template),
            ("encoding", &self.encoding),
            ("lc_collate", &self.lc_collate),
            ("lc_ctype", &self.lc_ctype),
        ] {
            if let Some(value) = value {
                vars.push((key, value.as_str()));
            }
        }
        vars
    }

    /// The SQL converging the database, every decision re-checked on the server.
    fn sql(&self) -> String {
        let mut sql = String::new();
        if !self.present {
            sql.push_str(
                "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') AS deploy_drop \\gset\n\\if :deploy_drop\n",
            );
            sql.push_str(if self.force {
                "DROP DATABASE :\"name\" WITH (FORCE);\n"
            } else {
                "DROP DATABASE :\"name\";\n"
            });
            sql.push_str("\\echo deploy-changed\n\\endif\n");
            return sql;
        }
        sql.push_str(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name') AS deploy_create \\gset\n\\if :deploy_create\n",
        );
        // As Ansible builds it: only the options given.
        sql.push_str("CREATE DATABASE :\"name\"");
        if self.owner.is_some() {
            sql.push_str(" OWNER :\"owner\"");
        }
        if self.template.is_some() {
            sql.push_str(" TEMPLATE :\"template\"");
        }
        if self.encoding.is_some() {
            sql.push_str(" ENCODING :'encoding'");
        }
        if self.lc_collate.is_some() {
            sql.push_str(" LC_COLLATE :'lc_collate'");
        }
        if self.lc_ctype.is_some() {
            sql.push_str(" LC_CTYPE :'lc_ctype'");
        }
        if let Some(limit) = self.conn_limit {
            sql.push_str(&format!(" CONNECTION LIMIT {limit}"));
        }
        sql.push_str(";\n\\echo deploy-changed\n\\else\n");
        // What cannot change on an existing database fails the step, as in Ansible.
        let refusals = [
            (
                self.encoding.is_some(),
                "pg_char_to_encoding(:'encoding') <> encoding",
                "pg_encoding_to_char(encoding)",
                "Changing database encoding is not supported. Current encoding:",
            ),
            (
                self.lc_collate.is_some(),
                "datcollate <> :'lc_collate'",
                "datcollate",
                "Changing LC_COLLATE is not supported. Current LC_COLLATE:",
            ),
            (
                self.lc_ctype.is_some(),
                "datctype <> :'lc_ctype'",
                "datctype",
                "Changing LC_CTYPE is not supported. Current LC_CTYPE:",
            ),
        ];
        for (given, differs, current, message) in refusals {
            if given {
                sql.push_str(&format!(
                    "SELECT {differs} AS deploy_bad, {current} AS deploy_current FROM pg_database WHERE datname = :'name' \\gset\n\
                     \\if :deploy_bad\n\\echo 'deploy-error:{message}' :deploy_current\n\\quit\n\\endif\n"
                ));
            }
        }
        if self.owner.is_some() {
            sql.push_str(
                "SELECT EXISTS (SELECT 1 FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba \
                 WHERE d.datname = :'name' AND r.rolname <> :'owner') AS deploy_owner \\gset\n\
                 \\if :deploy_owner\nALTER DATABASE :\"name\" OWNER TO :\"owner\";\n\\echo deploy-changed\n\\endif\n",
            );
        }
        if let Some(limit) = self.conn_limit {
            sql.push_str(&format!(
                "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name' AND datconnlimit <> {limit}) AS deploy_limit \\gset\n\
                 \\if :deploy_limit\nALTER DATABASE :\"name\" CONNECTION LIMIT {limit};\n\\echo deploy-changed\n\\endif\n"
            ));
        }
        sql.push_str("\\endif\n");
        sql
    }
}

/// One row, hex where a value could hold anything: nothing when the database is missing.
const PROBE_SQL: &str = "SELECT concat_ws(E'\\n', \
     'owner=' || encode(convert_to(r.rolname, 'UTF8'), 'hex'), \
     'encoding=' || pg_encoding_to_char(d.encoding), \
     'encoding_matches=' || CASE WHEN :'encoding' = '' OR pg_char_to_encoding(:'encoding') = d.encoding THEN 'yes' ELSE 'no' END, \
     'collate=' || encode(convert_to(d.datcollate::text, 'UTF8'), 'hex'), \
     'ctype=' || encode(convert_to(d.datctype::text, 'UTF8'), 'hex'), \
     'conn_limit=' || d.datconnlimit) \
     FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE d.datname = :'name';\n";

impl Resource for Database {
    type State = DatabaseState;

    fn target(&self) -> String {
        self.name.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        let encoding = self.encoding.clone().unwrap_or_default();
        psql::probe(
            &mut script,
            &self.connection,
            &[("name", &self.name), ("encoding", &encoding)],
            PROBE_SQL,
        );
        script
    }

    fn inspect(&self, out: &Section) -> Result<DatabaseState> {
        let rows = match psql::inspect(out)? {
            Reply::NotYet(why) => return Ok(DatabaseState::NotYet(why)),
            Reply::Rows(rows) => rows,
        };
        if rows.is_empty() {
            return Ok(DatabaseState::Absent);
        }
        let get = |key: &str| {
            value_of(&rows, key).ok_or_else(|| anyhow::anyhow!("probe: no {key} for database {}", self.name))
        };
        let info = DatabaseInfo {
            owner: unhex(get("owner")?)?,
            encoding: get("encoding")?.to_string(),
            encoding_matches: yes_no(Some(get("encoding_matches")?), "encoding_matches")?,
            lc_collate: unhex(get("collate")?)?,
            lc_ctype: unhex(get("ctype")?)?,
            conn_limit: get("conn_limit")?
                .parse()
                .map_err(|_| anyhow::anyhow!("probe: bad conn_limit"))?,
        };
        if self.present {
            // Checked here because a diff cannot fail; Ansible's own messages.
            if !info.encoding_matches {
                bail!(
                    "Changing database encoding is not supported. Current encoding: {}",
                    info.encoding
                );
            }
            if self.lc_collate.as_ref().is_some_and(|c| *c != info.lc_collate) {
                bail!(
                    "Changing LC_COLLATE is not supported. Current LC_COLLATE: {}",
                    info.lc_collate
                );
            }
            if self.lc_ctype.as_ref().is_some_and(|c| *c != info.lc_ctype) {
                bail!(
                    "Changing LC_CTYPE is not supported.Current LC_CTYPE: {}",
                    info.lc_ctype
                );
            }
        }
        Ok(DatabaseState::Present(info))
    }

    fn diff(&self, have: &DatabaseState) -> Diff {
        match (have, self.present) {
            (DatabaseState::NotYet(why), _) => {
                let mut diff = Diff::new(Action::Unknown);
                diff.attributes
                    .push(AttributeChange::new(why, None::<String>, None::<String>));
                diff
            }
            (DatabaseState::Absent, false) => Diff::converged(),
            (DatabaseState::Present(_), false) => Diff::new(Action::Remove),
            (DatabaseState::Absent, true) => {
                let mut diff = Diff::new(Action::Create);
                for (name, value) in [
                    ("owner", self.owner.clone()),
                    ("template", self.template.clone()),
                    ("encoding", self.encoding.clone()),
                    ("lc_collate", self.lc_collate.clone()),
                    ("lc_ctype", self.lc_ctype.clone()),
                    ("conn_limit", self.conn_limit.map(|l| l.to_string())),
                ] {
                    if let Some(value) = value {
                        diff.attributes
                            .push(AttributeChange::new(name, None::<String>, Some(value)));
                    }
                }
                diff
            }
            (DatabaseState::Present(info), true) => {
                let mut changes = Vec::new();
                if let Some(owner) = self.owner.as_ref().filter(|o| **o != info.owner) {
                    changes.push(AttributeChange::new(
                        "owner",
                        Some(info.owner.clone()),
                        Some(owner.clone()),
                    ));
                }
                if let Some(limit) = self.conn_limit.filter(|l| *l != info.conn_limit) {
                    changes.push(AttributeChange::new(
                        "conn_limit",
                        Some(info.conn_limit.to_string()),
                        Some(limit.to_string()),
                    ));
                }
                Diff::from_attributes(changes)
            }
        }
    }

    fn apply(&self, _have: &DatabaseState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        psql::apply(&mut script, &self.connection, &self.vars(), &self.sql(), None);
        script
    }
}

/// Builds the resource from `postgresql_db`'s parameters.
pub fn from_args(args: &Args) -> Result<Database> {
    args.refuse(&[
        "icu_locale",
        "locale_provider",
        "tablespace",
        "comment",
        "target",
        "target_opts",
        "dump_extra_args",
    ])?;
    let state = args.str("state")?.unwrap_or_else(|| "present".to_string());
    let present = match state.as_str() {
        "present" => true,
        "absent" => false,
        other => {
            bail!("`state: {other}` of `postgresql_db` is not supported by deploy (present and absent are)")
        }
    };
    let name = args.required_str("name")?;
    check_name("database", &name)?;
    let owner = args.str("owner")?.filter(|o| !o.is_empty());
    if let Some(owner) = &owner {
        check_name("role", owner)?;
    }
    let nonempty = |key: &str| -> Result<Option<String>> { Ok(args.str(key)?.filter(|v| !v.is_empty())) };
    let conn_limit = match nonempty("conn_limit")? {
        None => None,
        Some(text) => Some(
            text.trim()
                .parse::<i64>()
                .map_err(|_| anyhow::anyhow!("`conn_limit` must be a number, found `{text}`"))?,
        ),
    };
    Ok(Database {
        connection: Connection::from_args(args, args.str("maintenance_db")?)?,
        name,
        present,
        owner,
        template: nonempty("template")?,
        encoding: nonempty("encoding")?,
        lc_collate: nonempty("lc_collate")?,
        lc_ctype: nonempty("lc_ctype")?,
        conn_limit,
        force: args.flag("force")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};
    use serde_json::json;

    fn plan(params: serde_json::Value, probe: &str) -> Result<(Diff, Script)> {
        build_step(&SPEC, params, &NoContext)?.plan(&section(probe))
    }

    fn hex(text: &str) -> String {
        crate::digest::hex(text.as_bytes())
    }

    fn existing(owner: &str) -> String {
        format!(
            "owner={}\nencoding=UTF8\nencoding_matches=yes\ncollate={}\nctype={}\nconn_limit=-1\npsql_rc=0\n",
            hex(owner),
            hex("C.UTF-8"),
            hex("C.UTF-8")
        )
    }

    #[test]
    fn plans_from_canned_probe_output() {
        let params = json!({"name": "app", "owner": "app", "encoding": "UTF8"});
        let (diff, script) = plan(params.clone(), &existing("app")).unwrap();
        assert!(diff.is_converged(), "{diff:?}");
        assert!(script.is_empty());
        let (diff, script) = plan(params.clone(), "psql_rc=0\n").unwrap();
        assert_eq!(diff.action, Action::Create);
        let shown: Vec<String> = diff.attributes.iter().map(|a| a.describe()).collect();
        assert_eq!(shown, ["owner app", "encoding UTF8"]);
        let text = script.as_str();
        assert!(
            text.contains("CREATE DATABASE :\"name\" OWNER :\"owner\" ENCODING :'\\''encoding'\\'';"),
            "{text}"
        );
        assert!(text.contains("set -- \"$@\" name=app"), "{text}");
        let (diff, script) = plan(params.clone(), &existing("postgres")).unwrap();
        assert_eq!(diff.attributes[0].describe(), "owner postgres → app");
        assert!(script
            .as_str()
            .contains("ALTER DATABASE :\"name\" OWNER TO :\"owner\";"));
        let mismatch = existing("app").replace("encoding_matches=yes", "encoding_matches=no");
        assert_eq!(
            plan(params.clone(), &mismatch).unwrap_err().to_string(),
            "Changing database encoding is not supported. Current encoding: UTF8"
        );
        let (diff, _) = plan(params, "psql=missing\n").unwrap();
        assert_eq!(diff.action, Action::Unknown);
        let absent = json!({"name": "app", "state": "absent"});
        assert_eq!(
            plan(absent.clone(), &existing("app")).unwrap().0.action,
            Action::Remove
        );
        assert!(plan(absent, "psql_rc=0\n").unwrap().0.is_converged());
    }

    #[test]
    fn refuses_what_it_does_not_do() {
        for params in [
            json!({"name": "app", "state": "dump", "target": "/tmp/x"}),
            json!({"name": "app", "login_password": "secret"}),
            json!({"name": "app", "tablespace": "fast"}),
            json!({"name": "", }),
            json!({"name": "app", "conn_limit": "many"}),
        ] {
            assert!(build_step(&SPEC, params.clone(), &NoContext).is_err(), "{params}");
        }
    }
}

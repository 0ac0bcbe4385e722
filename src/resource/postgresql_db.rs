//! `postgresql_db` (`community.postgresql.postgresql_db`): a PostgreSQL database and its owner.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

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
    ..ModuleSpec::DEFAULT
};

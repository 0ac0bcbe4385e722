//! `postgresql_user` (`community.postgresql.postgresql_user`): a PostgreSQL role and password.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Creates, changes or drops a PostgreSQL user (role).
///
/// ```yaml
/// - postgresql_user:
///     name: app
///     password: "{{ app_db_password }}"
///     role_attr_flags: NOSUPERUSER,NOCREATEDB
///   no_log: true
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "postgresql_user",
    fqcn: "community.postgresql.postgresql_user",
    params: &[
        P::new("name", Str).required().aliases(&["user"]),
        P::new("password", Str),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("db", Str).aliases(&["login_db"]),
        P::new("role_attr_flags", Str).default(D::Str("")),
        P::new("encrypted", Bool).default(D::Bool(true)),
        P::new("expires", Str),
        P::new("no_password_changes", Bool).default(D::Bool(false)),
        P::new("fail_on_user", Bool)
            .default(D::Bool(true))
            .aliases(&["fail_on_role"]),
        P::new("conn_limit", Int),
        P::new("comment", Str),
        P::new("configuration", Dict),
        P::new("session_role", Str),
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
    ],
    ..ModuleSpec::DEFAULT
};

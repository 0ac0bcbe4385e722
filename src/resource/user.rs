//! `user`: a local account, its groups, shell, home and password.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

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
    ..ModuleSpec::DEFAULT
};

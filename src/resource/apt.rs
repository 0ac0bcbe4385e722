//! `apt`: Debian packages installed, at their latest version, or removed.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Installs or removes Debian packages.
///
/// ```yaml
/// - apt:
///     name: [nginx, tree]
///     state: present
///     update_cache: yes
///     cache_valid_time: 3600
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "apt",
    fqcn: "ansible.builtin.apt",
    params: &[
        P::new("name", List).aliases(&["package", "pkg"]),
        P::new("state", Str).default(D::Str("present")).choices(&[
            "absent",
            "build-dep",
            "latest",
            "present",
            "fixed",
        ]),
        P::new("update_cache", Bool).aliases(&["update-cache"]),
        P::new("update_cache_retries", Int).default(D::Int(5)),
        P::new("update_cache_retry_max_delay", Int).default(D::Int(12)),
        P::new("cache_valid_time", Int).default(D::Int(0)),
        P::new("purge", Bool).default(D::Bool(false)),
        P::new("default_release", Str).aliases(&["default-release"]),
        P::new("install_recommends", Bool).aliases(&["install-recommends"]),
        P::new("force", Bool).default(D::Bool(false)),
        P::new("clean", Bool).default(D::Bool(false)),
        P::new("allow_unauthenticated", Bool)
            .default(D::Bool(false))
            .aliases(&["allow-unauthenticated"]),
        P::new("allow_downgrade", Bool).default(D::Bool(false)).aliases(&[
            "allow-downgrade",
            "allow_downgrades",
            "allow-downgrades",
        ]),
        P::new("allow_change_held_packages", Bool).default(D::Bool(false)),
        P::new("upgrade", Str)
            .default(D::Str("no"))
            .choices(&["dist", "full", "no", "safe", "yes"]),
        P::new("dpkg_options", Str).default(D::Str("force-confdef,force-confold")),
        P::new("deb", Path),
        P::new("autoremove", Bool).default(D::Bool(false)),
        P::new("autoclean", Bool).default(D::Bool(false)),
        P::new("only_upgrade", Bool).default(D::Bool(false)),
        P::new("fail_on_autoremove", Bool).default(D::Bool(false)),
        P::new("force_apt_get", Bool).default(D::Bool(false)),
        P::new("lock_timeout", Int).default(D::Int(60)),
        P::new("policy_rc_d", Int),
    ],
    mutually_exclusive: &[&["deb", "name"]],
    required_one_of: &[&[
        "name",
        "upgrade",
        "update_cache",
        "deb",
        "autoremove",
        "autoclean",
    ]],
    ..ModuleSpec::DEFAULT
};

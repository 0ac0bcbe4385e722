//! `apt_repository`: an APT source line in `/etc/apt/sources.list.d/`.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Adds or removes an APT repository.
///
/// ```yaml
/// - apt_repository:
///     repo: deb https://artifacts.elastic.co/packages/8.x/apt stable main
///     filename: elastic-8.x
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "apt_repository",
    fqcn: "ansible.builtin.apt_repository",
    params: &[
        P::new("repo", Str).required(),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("filename", Str),
        P::new("update_cache", Bool)
            .default(D::Bool(true))
            .aliases(&["update-cache"]),
        P::new("update_cache_retries", Int).default(D::Int(5)),
        P::new("update_cache_retry_max_delay", Int).default(D::Int(12)),
        P::new("mode", Mode),
        P::new("validate_certs", Bool).default(D::Bool(true)),
        P::new("codename", Str),
        P::new("install_python_apt", Bool).default(D::Bool(true)),
    ],
    ..ModuleSpec::DEFAULT
};

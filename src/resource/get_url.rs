//! `get_url`: a file downloaded from a URL, checked against a checksum.
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Downloads a file to the host.
///
/// ```yaml
/// - get_url:
///     url: https://artifacts.elastic.co/GPG-KEY-elasticsearch
///     dest: /usr/share/keyrings/elastic.asc
///     mode: "0644"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "get_url",
    fqcn: "ansible.builtin.get_url",
    params: &[
        P::new("url", Str).required(),
        P::new("dest", Path).required(),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("checksum", Str).default(D::Str("")),
        P::new("force", Bool)
            .default(D::Bool(false))
            .aliases(&["thirsty"]),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("timeout", Int).default(D::Int(10)),
        P::new("headers", Dict),
        P::new("url_username", Str).aliases(&["username"]),
        P::new("url_password", Str).aliases(&["password"]),
        P::new("validate_certs", Bool).default(D::Bool(true)),
        P::new("use_proxy", Bool).default(D::Bool(true)),
        P::new("tmp_dest", Path),
        P::new("attributes", Str).aliases(&["attr"]),
    ],
    ..ModuleSpec::DEFAULT
};

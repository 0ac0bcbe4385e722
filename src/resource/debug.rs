//! `debug`: prints a message or a variable; changes nothing.
use anyhow::Result;
use indexmap::IndexMap;
use serde_json::{json, Value as Json};

use super::control::{ControlContext, Effect};
use super::{DefaultValue as D, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Prints a message or a variable's value.
///
/// ```yaml
/// - debug:
///     msg: "deploying {{ app_version }}"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "debug",
    fqcn: "ansible.builtin.debug",
    kind: ModuleKind::Control,
    params: &[
        P::new("msg", Raw).default(D::Str("Hello world!")),
        P::new("var", Str),
        P::new("verbosity", Int).default(D::Int(0)),
    ],
    mutually_exclusive: &[&["msg", "var"]],
    control: Some(run),
    ..ModuleSpec::DEFAULT
};

/// The message (or the variable, as `{name: value}`), shown while applying.
fn run(values: &IndexMap<String, Json>, context: &dyn ControlContext) -> Result<(Json, Effect)> {
    let message = match (values.get("msg"), values.get("var")) {
        (_, Some(Json::String(var))) => json!({ var.clone(): context.resolve_var(var)? }),
        (Some(msg), _) => msg.clone(),
        _ => json!("Hello world!"),
    };
    let shown = message
        .as_str()
        .map_or_else(|| message.to_string(), str::to_string);
    Ok((json!({"changed": false, "msg": message}), Effect::Show(shown)))
}

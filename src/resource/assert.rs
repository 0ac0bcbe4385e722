//! `assert`: fails the host when a condition does not hold.
use anyhow::{bail, Result};
use indexmap::IndexMap;
use serde_json::{json, Value as Json};

use super::control::{ControlContext, Effect};
use super::{DefaultValue as D, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Checks conditions (Jinja expressions, as in `when`).
///
/// ```yaml
/// - assert:
///     that:
///       - app_port | int > 1024
///     fail_msg: app_port must be unprivileged
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "assert",
    fqcn: "ansible.builtin.assert",
    kind: ModuleKind::Control,
    params: &[
        P::new("that", List).required(),
        P::new("fail_msg", Raw).aliases(&["msg"]),
        P::new("success_msg", Raw),
        P::new("quiet", Bool).default(D::Bool(false)),
    ],
    control: Some(run),
    ..ModuleSpec::DEFAULT
};

/// Fails the host at the first condition that does not hold, with `fail_msg` if given.
fn run(values: &IndexMap<String, Json>, context: &dyn ControlContext) -> Result<(Json, Effect)> {
    let conditions = match values.get("that") {
        Some(Json::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
        None => Vec::new(),
    };
    for condition in conditions {
        let holds = match &condition {
            Json::Bool(b) => *b,
            other => context.eval_condition(other)?,
        };
        if !holds {
            let message = values
                .get("fail_msg")
                .or_else(|| values.get("msg"))
                .and_then(Json::as_str)
                .map_or_else(|| format!("Assertion failed: {condition}"), str::to_string);
            bail!("{}: {message}", context.pos());
        }
    }
    Ok((
        json!({"changed": false, "msg": "All assertions passed"}),
        Effect::None,
    ))
}

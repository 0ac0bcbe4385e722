//! `meta`: acts on the run itself; only `flush_handlers` and `noop` are supported.
use anyhow::{bail, Result};
use indexmap::IndexMap;
use serde_json::{json, Value as Json};

use super::control::{ControlContext, Effect};
use super::{FreeForm, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Runs the handlers notified so far, now rather than at the end of the play.
///
/// ```yaml
/// - meta: flush_handlers
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "meta",
    fqcn: "ansible.builtin.meta",
    kind: ModuleKind::Control,
    free_form: FreeForm::Raw("action"),
    params: &[P::new("action", Str).required()],
    validate: Some(supported_action),
    control: Some(run),
    ..ModuleSpec::DEFAULT
};

/// `flush_handlers` asks the engine to run the handlers notified so far; `noop` does nothing.
fn run(values: &IndexMap<String, Json>, context: &dyn ControlContext) -> Result<(Json, Effect)> {
    let effect = match values.get("action").and_then(Json::as_str) {
        Some("flush_handlers") => Effect::FlushHandlers,
        Some("noop") | None => Effect::None,
        Some(other) => bail!("{}: meta `{other}` is not supported", context.pos()),
    };
    Ok((json!({"changed": false}), effect))
}

/// The actions `deploy` implements.
pub const ACTIONS: &[&str] = &["flush_handlers", "noop"];

/// Ansible's other actions: refused by name, so the message says "not supported", not "unknown".
const ANSIBLE_ACTIONS: &[&str] = &[
    "clear_facts",
    "clear_host_errors",
    "end_batch",
    "end_host",
    "end_play",
    "end_role",
    "refresh_inventory",
    "reset_connection",
    "role_complete",
];

fn supported_action(_: &ModuleSpec, params: &super::Params, _: &crate::error::Pos) -> anyhow::Result<()> {
    let param = &params["action"];
    let Some(action) = param.value.as_str() else {
        return Ok(());
    };
    if ACTIONS.contains(&action) {
        return Ok(());
    }
    let expected = ACTIONS.join(", ");
    let message = if ANSIBLE_ACTIONS.contains(&action) {
        format!("meta action `{action}` is not supported; supported actions are {expected}")
    } else {
        format!("unknown meta action `{action}`; supported actions are {expected}")
    };
    Err(
        match crate::error::did_you_mean(action, ACTIONS.iter().copied()) {
            Some(close) => {
                crate::error::located_hint(&param.pos, message, format!("did you mean `{close}`?"))
            }
            None => crate::error::located(&param.pos, message),
        },
    )
}

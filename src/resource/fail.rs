//! `fail`: fails the host with a message.
use anyhow::{bail, Result};
use indexmap::IndexMap;
use serde_json::Value as Json;

use super::control::{ControlContext, Effect};
use super::{DefaultValue as D, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};

/// Fails the host, usually under a `when`.
///
/// ```yaml
/// - fail:
///     msg: this role needs Debian
///   when: ansible_os_family != "Debian"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "fail",
    fqcn: "ansible.builtin.fail",
    kind: ModuleKind::Control,
    params: &[P::new("msg", Raw).default(D::Str("Failed as requested from task"))],
    control: Some(run),
    ..ModuleSpec::DEFAULT
};

/// Fails the host with the message.
fn run(values: &IndexMap<String, Json>, context: &dyn ControlContext) -> Result<(Json, Effect)> {
    let message = values
        .get("msg")
        .and_then(Json::as_str)
        .unwrap_or("Failed as requested from task");
    bail!("{}: {message}", context.pos())
}

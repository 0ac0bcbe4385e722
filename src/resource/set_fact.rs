//! `set_fact`: sets host variables for the rest of the run.
use anyhow::Result;
use indexmap::IndexMap;
use serde_json::{json, Value as Json};

use super::control::{ControlContext, Effect};
use super::{ModuleKind, ModuleSpec};

/// Sets variables on the host; every parameter is a variable name.
///
/// ```yaml
/// - set_fact:
///     app_url: "https://{{ inventory_hostname }}/"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "set_fact",
    fqcn: "ansible.builtin.set_fact",
    kind: ModuleKind::Control,
    any_params: true,
    control: Some(run),
    sets_facts: true,
    ..ModuleSpec::DEFAULT
};

/// Every parameter but `cacheable` becomes a host fact.
fn run(values: &IndexMap<String, Json>, _: &dyn ControlContext) -> Result<(Json, Effect)> {
    let facts = values
        .iter()
        .filter(|(name, _)| *name != "cacheable")
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    Ok((json!({"changed": false}), Effect::SetFacts(facts)))
}

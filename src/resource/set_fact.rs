//! `set_fact`: sets host variables for the rest of the run.
use anyhow::Result;
use indexmap::IndexMap;
use serde_json::{json, Value as Json};

use super::control::{ControlContext, Effect};
use super::{ModuleKind, ModuleSpec};

/// Sets variables on the host; every parameter is a variable name, which may be templated
/// as Ansible allows.
///
/// ```yaml
/// - set_fact:
///     app_url: "https://{{ inventory_hostname }}/"
///     "{{ app_name }}_port": 8080
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

/// Every parameter but `cacheable` becomes a host fact. Names arrive templated; one that
/// templated into something that is not a variable name is refused here.
fn run(values: &IndexMap<String, Json>, context: &dyn ControlContext) -> Result<(Json, Effect)> {
    let mut facts = IndexMap::new();
    for (name, value) in values.iter().filter(|(name, _)| *name != "cacheable") {
        super::check_variable_name(name, context.pos())?;
        facts.insert(name.clone(), value.clone());
    }
    Ok((json!({"changed": false}), Effect::SetFacts(facts)))
}

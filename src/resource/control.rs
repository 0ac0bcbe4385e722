//! The contract of control modules (`debug`, `set_fact`, `assert`, `fail`, `meta`): modules
//! that act on the run itself, not on the host.
//!
//! Each module's file holds its behaviour as a [`Control`] function of its resolved
//! parameters: it returns the task's result (what `register` records) and an [`Effect`] for
//! the engine to carry out, so the engine never matches a module by name (docs/architecture.md).

use anyhow::Result;
use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::error::Pos;

/// What a control module asks of the run, beyond its result.
#[derive(Debug, PartialEq)]
pub enum Effect {
    None,
    /// A message to show while applying (`debug`).
    Show(String),
    /// Host facts, seen by every later task on the host (`set_fact`).
    SetFacts(IndexMap<String, Json>),
    /// Run the handlers notified so far, now (`meta: flush_handlers`).
    FlushHandlers,
    /// Variables for the rest of the run on the host, at `include_vars` precedence.
    IncludeVars(IndexMap<String, Json>),
}

/// What the engine lends a control module: the task's variables and its position.
pub trait ControlContext {
    /// A variable's value, templated (`debug: var=`).
    fn resolve_var(&self, name: &str) -> Result<Json>;
    /// Whether a condition holds (`assert: that=`), as `when:` evaluates it.
    fn eval_condition(&self, condition: &Json) -> Result<bool>;
    /// Where the task is, for the messages it fails with.
    fn pos(&self) -> &Pos;
    /// A controller file the task names, searched where Ansible searches a task's files: its
    /// role's `subdir` (`vars`, `files`) and the role, beside the task file, the playbook.
    fn find_file(&self, subdir: &str, name: &str) -> Result<std::path::PathBuf>;
}

/// A control module's behaviour: its resolved parameters in, its result and effect out.
pub type Control = fn(&IndexMap<String, Json>, &dyn ControlContext) -> Result<(Json, Effect)>;

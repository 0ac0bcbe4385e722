//! A play's tasks in the order a host runs them, each with the context it inherits.
//!
//! The loader keeps the playbook's structure (roles, blocks, includes); a host needs a flat
//! sequence of tasks, each carrying what it inherits from its enclosing role and blocks:
//! conditions, variables, privilege escalation, error handling. Static structure is flattened
//! here; dynamic includes are expanded by the host runner when it reaches them, since their
//! file names may depend on the host's variables.

use std::sync::Arc;

use crate::error::Pos;
use crate::playbook::{Keywords, Play, RoleInstance, Step, Task, Templated};
use crate::vars::{Layer, VarMap};

/// Everything a task inherits from the role and blocks around it.
#[derive(Clone, Debug, Default)]
pub struct Context {
    pub role: Option<Arc<RoleFrame>>,
    /// Conditions of enclosing blocks, roles and includes, outermost first.
    pub when: Vec<(String, Pos)>,
    /// Variables of enclosing blocks and includes, in precedence layers.
    pub vars: Vec<(Layer, Arc<VarMap>)>,
    pub become_: Option<bool>,
    pub become_user: Option<String>,
    pub ignore_errors: Option<bool>,
    pub no_log: Option<bool>,
}

/// The role a task belongs to, with its variables in their layers.
#[derive(Debug)]
pub struct RoleFrame {
    pub name: String,
    pub path: std::path::PathBuf,
    pub defaults: Arc<VarMap>,
    pub vars: Arc<VarMap>,
    pub params: Arc<VarMap>,
}

/// One entry of a host's run: a task, or a dynamic include to expand when reached.
#[derive(Clone, Debug)]
pub enum Item<'p> {
    Task(&'p Task, Context),
    Include(&'p crate::playbook::IncludeTasks, Context),
    /// An `include_role` loaded when reached: named by a template, looping, or not loadable
    /// before a host needs it.
    IncludeRole(&'p crate::playbook::RoleStep, Context),
    /// A block with `rescue`: its parts, each already flattened.
    Rescued {
        block: Vec<Item<'p>>,
        rescue: Vec<Item<'p>>,
        always: Vec<Item<'p>>,
    },
}

/// The play's tasks: pre_tasks, roles, tasks, post_tasks.
pub fn play_items(play: &Play) -> Vec<Item<'_>> {
    // A play's own `vars:` are the play-vars layer (set up with the host's variables), not
    // block variables: leave them out of the inherited context.
    let mut keywords = play.keywords.clone();
    keywords.vars.clear();
    let base = Context::default().inherit(&keywords);
    let mut items = Vec::new();
    flatten(&play.pre_tasks, &base, &mut items);
    for role in play.roles_in_order() {
        let context = base.clone().with_role(role);
        flatten(&role.tasks, &context, &mut items);
    }
    flatten(&play.tasks, &base, &mut items);
    flatten(&play.post_tasks, &base, &mut items);
    items
}

/// Flattens loaded steps into items under `context`.
pub fn flatten<'p>(steps: &'p [Step], context: &Context, out: &mut Vec<Item<'p>>) {
    for step in steps {
        match step {
            Step::Task(task) => out.push(Item::Task(task, context.clone())),
            Step::Block(block) => {
                let inner = context.clone().inherit(&block.keywords);
                if block.rescue.is_empty() {
                    flatten(&block.block, &inner, out);
                    flatten(&block.always, &inner, out);
                } else {
                    let mut parts = (Vec::new(), Vec::new(), Vec::new());
                    flatten(&block.block, &inner, &mut parts.0);
                    flatten(&block.rescue, &inner, &mut parts.1);
                    flatten(&block.always, &inner, &mut parts.2);
                    out.push(Item::Rescued {
                        block: parts.0,
                        rescue: parts.1,
                        always: parts.2,
                    });
                }
            }
            // An include's `when` decides whether the include runs, once (or per loop item);
            // unlike an import's, it is not a condition of each included task, which may
            // well change what it tests (`when: app_installed is not defined`).
            Step::IncludeTasks(include) => {
                let inner = context.clone().inherit_dynamic(&include.keywords);
                out.push(Item::Include(include, inner));
            }
            Step::Role(role_step) => match &role_step.role {
                Some(role) if role_step.is_static => {
                    flatten_role(role, &context.clone().inherit(&role_step.keywords), out)
                }
                _ => {
                    let inner = context.clone().inherit_dynamic(&role_step.keywords);
                    out.push(Item::IncludeRole(role_step, inner));
                }
            },
        }
    }
}

/// A role's tasks, its dependencies' first, each under its own role.
pub fn flatten_role<'p>(role: &'p RoleInstance, context: &Context, out: &mut Vec<Item<'p>>) {
    for dependency in role.dependencies_in_order() {
        let context = context.clone().with_role(dependency);
        flatten(&dependency.tasks, &context, out);
    }
}

impl Context {
    /// This context, with a block's, role's or include's keywords applied on top.
    pub fn inherit(mut self, keywords: &Keywords) -> Context {
        for when in &keywords.when {
            self.when.push((when.value.clone(), when.pos.clone()));
        }
        if !keywords.vars.is_empty() {
            let map: VarMap = keywords
                .vars
                .iter()
                .map(|(k, v)| (k.clone(), v.to_value()))
                .collect();
            self.vars.push((Layer::BlockVars, Arc::new(map)));
        }
        if let Some(flag) = literal(&keywords.become_) {
            self.become_ = Some(flag);
        }
        if let Some(user) = &keywords.become_user {
            self.become_user = Some(user.value.clone());
        }
        if let Some(flag) = literal(&keywords.ignore_errors) {
            self.ignore_errors = Some(flag);
        }
        if let Some(flag) = literal(&keywords.no_log) {
            self.no_log = Some(flag);
        }
        self
    }

    /// The context of a task of `role` (its defaults, vars and parameters), for handlers.
    pub fn for_role(role: &RoleInstance) -> Context {
        Context::default().with_role(role)
    }

    /// This context, with a dynamic include's keywords applied on top but its conditions,
    /// which the include evaluates itself.
    pub fn inherit_dynamic(self, keywords: &Keywords) -> Context {
        let mut keywords = keywords.clone();
        keywords.when.clear();
        self.inherit(&keywords)
    }

    /// This context with one more variable, as an include's loop gives its `item`.
    pub fn with_var(mut self, name: &str, value: serde_json::Value) -> Context {
        let map: VarMap = [(name.to_string(), value)].into_iter().collect();
        self.vars.push((Layer::IncludeParams, Arc::new(map)));
        self
    }

    fn with_role(mut self, role: &RoleInstance) -> Context {
        let to_map = |vars: &crate::playbook::Vars| -> Arc<VarMap> {
            Arc::new(vars.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
        };
        self.role = Some(Arc::new(RoleFrame {
            name: role.name.clone(),
            path: role.path.clone(),
            defaults: to_map(&role.defaults),
            vars: to_map(&role.vars),
            params: to_map(&role.params),
        }));
        self.inherit(&role.keywords)
    }
}

/// A keyword's value when it is written as a literal; templated ones are resolved per host.
pub(crate) fn literal(flag: &Option<crate::playbook::Flag>) -> Option<bool> {
    match flag.as_ref().map(|f| &f.value) {
        Some(Templated::Literal(b)) => Some(*b),
        _ => None,
    }
}

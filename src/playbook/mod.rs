//! Playbooks, plays, roles and tasks, loaded strictly and kept with their positions.
//!
//! Everything a run will do is read here, before any host is touched: every play keyword,
//! task keyword and module name is checked against what `deploy` supports, every module's
//! parameters against its spec, every role, task file, template and vars file named
//! literally is found on disk. Nothing is templated: strings stay as written, each with the
//! `path:line:col` it came from, so that later stages (variables, templates, the plan) can
//! point a user at `roles/nginx/tasks/main.yml:12`. Static imports (`import_tasks`,
//! `import_role`, `import_playbook`) are expanded here; dynamic includes whose file name is a
//! template stay as nodes for the engine to load with [`load_task_file`] once it is known.
//!
//! The loader is split by job: `plays` (entry points, `import_playbook`, plays, blocks),
//! `tasks` (task lists, tasks, includes), `roles`, `keywords` (what each context accepts, and
//! a task's keywords), `params` (module parameters as written), `values` (typed YAML values),
//! `tags` (tag inheritance) and `checks` (the refusals the others share). [`walk`] turns a
//! loaded play into the sequence a host runs.

mod checks;
mod keywords;
pub mod kv;
mod params;
mod plays;
mod roles;
pub mod search;
mod tags;
mod tasks;
mod values;
pub mod walk;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Result};
use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::error::Pos;
use crate::resource::{ModuleSpec, Params};
use crate::yaml::Node;

pub use plays::{load_included_role, load_playbook, load_task_file, LoadOptions};

/// A value and where it was written.
#[derive(Clone, Debug, PartialEq)]
pub struct Located<T> {
    pub value: T,
    pub pos: Pos,
}

/// A keyword value that is either literal or a template to resolve per host.
#[derive(Clone, Debug, PartialEq)]
pub enum Templated<T> {
    Literal(T),
    Template(String),
}

/// `become: yes`, `ignore_errors: "{{ x }}"`, ...
pub type Flag = Located<Templated<bool>>;

/// Variables as written (`vars:`, role defaults): values are nodes, templated later.
pub type Vars = IndexMap<String, Node>;

/// A loaded playbook: its plays in order, `import_playbook` already expanded.
#[derive(Clone, Debug)]
pub struct Playbook {
    pub path: PathBuf,
    pub plays: Vec<Play>,
}

/// One play.
#[derive(Clone, Debug)]
pub struct Play {
    pub pos: Pos,
    pub name: Option<Located<String>>,
    /// The host pattern; a list of patterns is joined with `:`.
    pub hosts: Located<String>,
    pub vars: Vars,
    pub vars_files: Vec<VarsFile>,
    /// Roles as listed under `roles:`, each with its dependencies resolved inside it; see
    /// [`Play::roles_in_order`] for the order they run in.
    pub roles: Vec<RoleInstance>,
    pub pre_tasks: Vec<Step>,
    pub tasks: Vec<Step>,
    pub post_tasks: Vec<Step>,
    pub handlers: Vec<Step>,
    /// `become*`, `tags`, `environment`, `ignore_errors`, `any_errors_fatal`, `no_log`, ...
    pub keywords: Keywords,
    pub remote_user: Option<Located<String>>,
    /// Batches for rolling updates; empty means all hosts at once.
    pub serial: Vec<Located<Batch>>,
    pub max_fail_percentage: Option<Located<Templated<f64>>>,
    pub gather_facts: Option<Flag>,
    pub force_handlers: Option<Flag>,
    /// `inventory`, `reverse_inventory`, `sorted`, `reverse_sorted` or `shuffle`.
    pub order: Option<Located<String>>,
}

/// One `serial` batch size.
#[derive(Clone, Debug, PartialEq)]
pub enum Batch {
    Count(u64),
    /// A percentage of the play's hosts, `0 < p <= 100`.
    Percent(f64),
    Template(String),
}

/// A `vars_files` entry. A list entry means "the first of these that exists".
#[derive(Clone, Debug)]
pub struct VarsFile {
    pub candidates: Vec<Located<String>>,
    /// The file found, when every candidate up to it is literal; `None` when templated.
    pub path: Option<PathBuf>,
    /// Its variables, loaded when `path` is known.
    pub vars: Option<Vars>,
}

impl VarsFile {
    /// The variables of the first candidate that exists, its name rendered by `render` (for
    /// a host, when some candidate is a template), relative to the playbook's directory; an
    /// error naming what was looked for when none exists, as Ansible's.
    pub fn load_for_host(
        &self,
        render: impl Fn(&Located<String>) -> anyhow::Result<String>,
    ) -> anyhow::Result<Vars> {
        if let Some(vars) = &self.vars {
            return Ok(vars.clone());
        }
        let mut looked = Vec::new();
        for candidate in &self.candidates {
            let name = render(candidate)?;
            let dir = candidate.pos.path.parent().unwrap_or(Path::new("."));
            let path = dir.join(&name);
            if path.is_file() {
                return plays::load_vars_file(&path);
            }
            looked.push(path.display().to_string());
        }
        let first = &self.candidates[0];
        Err(crate::error::located_hint(
            &first.pos,
            format!("vars file `{}` not found", first.value),
            format!("looked for {}", looked.join(", ")),
        ))
    }
}

/// Keywords shared by plays, blocks, tasks, role entries and includes; each context accepts
/// its own subset (an unknown or misplaced keyword is a load error).
#[derive(Clone, Debug, Default)]
pub struct Keywords {
    /// Conditions written here, all of which must hold (a role dependency also carries its
    /// dependent's, first); conditions of enclosing blocks, roles and includes stay on them.
    pub when: Vec<Located<String>>,
    /// Tags, inherited ones included (play, blocks, imports, role entries, dependents), so a
    /// `--tags` filter looks at one task only; dynamic includes do not pass theirs on, as in
    /// Ansible.
    pub tags: Vec<Located<String>>,
    pub vars: Vars,
    /// A mapping, or a template giving one.
    pub environment: Option<Node>,
    pub become_: Option<Flag>,
    pub become_user: Option<Located<String>>,
    /// `sudo` or `su`.
    pub become_method: Option<Located<String>>,
    pub ignore_errors: Option<Flag>,
    pub any_errors_fatal: Option<Flag>,
    pub run_once: Option<Flag>,
    pub no_log: Option<Flag>,
    pub check_mode: Option<Flag>,
    pub diff: Option<Flag>,
    /// Seconds a task may run.
    pub timeout: Option<Located<Templated<i64>>>,
    /// The host the task runs on instead (`delegate_to`, `local_action`), with the variables
    /// of the host it is for; a template.
    pub delegate_to: Option<Located<String>>,
    /// Facts the task sets go to the host it is delegated to.
    pub delegate_facts: Option<Flag>,
}

/// A task list entry.
#[derive(Clone, Debug)]
pub enum Step {
    Task(Box<Task>),
    Block(Box<Block>),
    /// `include_tasks`: runs a task file when reached (may loop, may be conditional).
    IncludeTasks(Box<IncludeTasks>),
    /// `include_role` / `import_role`.
    Role(Box<RoleStep>),
}

impl Step {
    pub fn pos(&self) -> &Pos {
        match self {
            Step::Task(t) => &t.pos,
            Step::Block(b) => &b.pos,
            Step::IncludeTasks(i) => &i.pos,
            Step::Role(r) => &r.pos,
        }
    }

    pub fn keywords(&self) -> &Keywords {
        match self {
            Step::Task(t) => &t.keywords,
            Step::Block(b) => &b.keywords,
            Step::IncludeTasks(i) => &i.keywords,
            Step::Role(r) => &r.keywords,
        }
    }

    /// Every task under this step, depth first, through blocks, loaded includes and roles.
    pub fn tasks(&self) -> Vec<&Task> {
        let mut out = Vec::new();
        collect_tasks(std::slice::from_ref(self), &mut out);
        out
    }
}

/// Every task in `steps`, depth first (blocks, then rescue, then always; loaded includes and
/// roles included), for tests and for summaries.
pub fn all_tasks(steps: &[Step]) -> Vec<&Task> {
    let mut out = Vec::new();
    collect_tasks(steps, &mut out);
    out
}

fn collect_tasks<'a>(steps: &'a [Step], out: &mut Vec<&'a Task>) {
    for step in steps {
        match step {
            Step::Task(task) => out.push(task),
            Step::Block(block) => {
                collect_tasks(&block.block, out);
                collect_tasks(&block.rescue, out);
                collect_tasks(&block.always, out);
            }
            Step::IncludeTasks(include) => {
                if let Some(tasks) = &include.tasks {
                    collect_tasks(tasks, out);
                }
            }
            Step::Role(role) => {
                if let Some(instance) = &role.role {
                    for dependency in instance.dependencies_in_order() {
                        collect_tasks(&dependency.tasks, out);
                    }
                }
            }
        }
    }
}

/// The role a task comes from, for output (`nginx : reload config`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleRef {
    pub name: String,
    pub path: PathBuf,
}

/// One module call.
#[derive(Clone, Debug)]
pub struct Task {
    pub pos: Pos,
    pub name: Option<Located<String>>,
    pub module: &'static ModuleSpec,
    /// The module name as written (`ansible.builtin.copy`), where.
    pub module_name: Located<String>,
    /// Checked against the module's spec; aliases resolved to canonical names; `args:` merged
    /// (inline parameters win, as in Ansible).
    pub params: Params,
    pub keywords: Keywords,
    pub loop_: Option<Loop>,
    pub register: Option<Located<String>>,
    pub notify: Vec<Located<String>>,
    /// Handlers only: topics this handler also answers to.
    pub listen: Vec<Located<String>>,
    pub changed_when: Vec<Located<String>>,
    pub failed_when: Vec<Located<String>>,
    pub until: Vec<Located<String>>,
    pub retries: Option<Located<Templated<i64>>>,
    pub delay: Option<Located<Templated<i64>>>,
    pub role: Option<Arc<RoleRef>>,
    /// For `copy`/`template` with a literal `src`: the controller file found at load time.
    pub source: Option<PathBuf>,
    /// Why a host that reaches this task fails: its module is not one `deploy` runs, or its
    /// parameters do not check. Ansible loads such a task and fails only where it runs, and
    /// roles carry tasks for other platforms behind conditions, so the error waits too.
    pub unsupported: Option<String>,
}

impl Task {
    /// The file this task was written in.
    pub fn file(&self) -> &Path {
        &self.pos.path
    }

    /// A parameter's value as given, or the module's default.
    pub fn param(&self, name: &str) -> Option<serde_json::Value> {
        self.params
            .get(name)
            .map(|p| p.value.clone())
            .or_else(|| self.module.default_value(name))
    }
}

/// How a task loops.
#[derive(Clone, Debug)]
pub struct Loop {
    pub kind: LoopKind,
    /// The items as written: a list node or a template string.
    pub items: Node,
    pub pos: Pos,
    pub loop_var: Option<Located<String>>,
    pub index_var: Option<Located<String>>,
    pub label: Option<Node>,
    pub pause: Option<Node>,
    pub extended: Option<Flag>,
}

/// Which loop keyword was used: they differ in how items are prepared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopKind {
    /// `loop:` items as they are.
    Loop,
    /// `with_items:` flattened one level.
    Items,
    /// `with_list:` as they are.
    List,
    /// `with_dict:` a mapping turned into `{key, value}` items.
    Dict,
    /// `with_fileglob:` controller files matching the patterns.
    Fileglob,
    /// `with_subelements: [list, 'key', {skip_missing: true}]`: `[item, subitem]` pairs.
    Subelements,
    /// `with_flattened:` / `with_community.general.flattened:` lists flattened at every depth.
    Flattened,
    /// `with_sequence: start=1 end=5 format=web%02d`: numbers as formatted strings.
    Sequence,
    /// `with_first_found:` the first of the named controller files that exists (searched
    /// where the task's module looks for its files), or none with `skip: true`.
    FirstFound,
}

impl LoopKind {
    /// The items a loop of this kind iterates over, from its templated value. A `with_<name>`
    /// loop is Ansible's `<name>` lookup run on the value taken as a list of terms (a single
    /// value being one term); `loop:` takes the list as it is.
    pub fn items(self, rendered: Json) -> Result<Vec<Json>> {
        let terms = match rendered {
            Json::Array(items) => items,
            Json::Object(map) if self == LoopKind::Dict => {
                return Ok(map
                    .into_iter()
                    .map(|(k, v)| serde_json::json!({"key": k, "value": v}))
                    .collect())
            }
            other if self == LoopKind::Loop => {
                bail!(
                    "`loop` must give a list, found {}",
                    crate::template::python_repr(&other)
                )
            }
            other => vec![other],
        };
        let lookup = match self {
            LoopKind::Loop | LoopKind::List | LoopKind::Dict | LoopKind::Fileglob | LoopKind::FirstFound => {
                return Ok(terms)
            }
            LoopKind::Items => "items",
            LoopKind::Subelements => "subelements",
            LoopKind::Flattened => "flattened",
            LoopKind::Sequence => "sequence",
        };
        crate::template::run_data_lookup(lookup, &terms)
    }
}

/// `block` / `rescue` / `always`, also what an `import_tasks` expands to.
#[derive(Clone, Debug)]
pub struct Block {
    pub pos: Pos,
    pub name: Option<Located<String>>,
    pub block: Vec<Step>,
    pub rescue: Vec<Step>,
    pub always: Vec<Step>,
    pub keywords: Keywords,
    /// The task file an `import_tasks` expanded, when this block stands for one.
    pub imported_from: Option<PathBuf>,
}

/// `include_tasks`.
#[derive(Clone, Debug)]
pub struct IncludeTasks {
    pub pos: Pos,
    pub name: Option<Located<String>>,
    /// As written; relative to the including file's directory (a role's `tasks/`).
    pub file: Located<String>,
    /// The file and its tasks, when the name is literal; `None` when it is a template.
    pub path: Option<PathBuf>,
    pub tasks: Option<Vec<Step>>,
    pub keywords: Keywords,
    pub loop_: Option<Loop>,
    /// `apply:` keywords for the included tasks, as written.
    pub apply: Option<Node>,
    pub role: Option<Arc<RoleRef>>,
}

/// `include_role` (dynamic) or `import_role` (static).
#[derive(Clone, Debug)]
pub struct RoleStep {
    pub pos: Pos,
    pub name: Option<Located<String>>,
    pub role_name: Located<String>,
    pub is_static: bool,
    /// The resolved role; `None` when an `include_role` names it with a template.
    pub role: Option<RoleInstance>,
    pub keywords: Keywords,
    pub loop_: Option<Loop>,
    pub params: Params,
}

/// A role as used by a play (or an include): its files loaded, its dependencies resolved.
#[derive(Clone, Debug)]
pub struct RoleInstance {
    pub name: String,
    pub path: PathBuf,
    /// Where the role was named: the `roles:` entry, the dependency in `meta/main.yml`, the
    /// `include_role` task.
    pub pos: Pos,
    pub defaults: Vars,
    pub vars: Vars,
    /// Role parameters: the old inline form (`- {role: app, port: 80}`).
    pub params: Vars,
    /// Keywords of the entry (`tags`, `when`, `become`, `vars`, ...), with a dependency also
    /// inheriting its dependent's tags and conditions.
    pub keywords: Keywords,
    pub tasks: Vec<Step>,
    pub handlers: Vec<Step>,
    /// From `meta/main.yml`, resolved recursively.
    pub dependencies: Vec<RoleInstance>,
    pub allow_duplicates: bool,
    /// The role that listed this one as a dependency.
    pub dependency_of: Option<String>,
}

impl RoleInstance {
    /// This role and its dependencies, dependencies first (depth first), duplicates (same
    /// name and parameters) kept once unless the role allows duplicates.
    pub fn dependencies_in_order(&self) -> Vec<&RoleInstance> {
        let mut out = Vec::new();
        push_role(self, &mut out);
        out
    }
}

fn push_role<'a>(role: &'a RoleInstance, out: &mut Vec<&'a RoleInstance>) {
    for dependency in &role.dependencies {
        push_role(dependency, out);
    }
    let duplicate = out.iter().any(|seen| {
        seen.path == role.path
            && same_vars(&seen.params, &role.params)
            && same_vars(&seen.keywords.vars, &role.keywords.vars)
    });
    if !duplicate || role.allow_duplicates {
        out.push(role);
    }
}

fn same_vars(a: &Vars, b: &Vars) -> bool {
    a.len() == b.len()
        && a.iter()
            .all(|(k, v)| b.get(k).is_some_and(|w| w.to_value() == v.to_value()))
}

impl Play {
    /// The roles in the order they run: each role's dependencies before it, a role with the
    /// same parameters run once.
    pub fn roles_in_order(&self) -> Vec<&RoleInstance> {
        let mut out = Vec::new();
        for role in &self.roles {
            push_role(role, &mut out);
        }
        out
    }

    /// Handlers in the order Ansible looks them up: roles' handlers first, then the play's.
    pub fn all_handlers(&self) -> Vec<&Task> {
        let mut out = Vec::new();
        for role in self.roles_in_order() {
            collect_tasks(&role.handlers, &mut out);
        }
        let mut stack: Vec<&Step> = self
            .pre_tasks
            .iter()
            .chain(&self.tasks)
            .chain(&self.post_tasks)
            .collect();
        while let Some(step) = stack.pop() {
            match step {
                Step::Role(r) => {
                    if let Some(role) = &r.role {
                        for role in role.dependencies_in_order() {
                            collect_tasks(&role.handlers, &mut out);
                        }
                    }
                }
                Step::Block(b) => stack.extend(b.block.iter().chain(&b.rescue).chain(&b.always)),
                Step::IncludeTasks(i) => stack.extend(i.tasks.iter().flatten()),
                Step::Task(_) => {}
            }
        }
        collect_tasks(&self.handlers, &mut out);
        out
    }
}

#[cfg(test)]
mod loop_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn with_loops_run_their_lookup_on_the_terms() {
        let items = |kind: LoopKind, value: Json| kind.items(value).unwrap();
        assert_eq!(
            items(LoopKind::Items, json!([[1, 2], 3, [[4]]])),
            vec![json!(1), json!(2), json!(3), json!([4])]
        );
        assert_eq!(items(LoopKind::Items, json!("one")), vec![json!("one")]);
        assert_eq!(
            items(LoopKind::Flattened, json!([[1, [2, [3]]], "a"])),
            vec![json!(1), json!(2), json!(3), json!("a")]
        );
        assert_eq!(
            items(
                LoopKind::Subelements,
                json!([[{"u": "ann", "k": [1, 2]}, {"u": "bob"}], "k", {"skip_missing": true}])
            ),
            vec![json!([{"u": "ann"}, 1]), json!([{"u": "ann"}, 2])]
        );
        assert_eq!(
            items(LoopKind::Dict, json!({"a": 1})),
            vec![json!({"key": "a", "value": 1})]
        );
        assert_eq!(items(LoopKind::Loop, json!([[1], 2])), vec![json!([1]), json!(2)]);
        let err = LoopKind::Loop.items(json!("text")).unwrap_err();
        assert_eq!(err.to_string(), "`loop` must give a list, found 'text'");
    }
}

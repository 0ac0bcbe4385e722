//! Task lists and the tasks in them: module calls, and the include modules that bring in
//! other task files and roles.
//!
//! A task's keys are sorted here into its one module, its keywords (`keywords`) and its
//! parameters (`params`); the module's spec then decides what the step is: a module call, a
//! block standing for an imported task file, a dynamic include, or a role step.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::checks::{ansible_may_know, two_modules, unknown_task_key, unsupported_module};
use super::keywords::{TaskFields, LOOP_KEYWORDS, TASK_KEYWORDS, TASK_UNSUPPORTED};
use super::params::{action, args_params, json_to_data, literal_param, module_params, string_param};
use super::plays::{Loader, Scope};
use super::roles::RoleFiles;
use super::tags::{inherit_role_tags, inherit_tags};
use super::values::{key_name, seq, string_list};
use super::{Block, IncludeTasks, Keywords, Located, RoleInstance, RoleStep, Step, Task, Vars};
use crate::error::{located, located_hint, Pos};
use crate::resource::{self, check_params, is_template, IncludeKind, ModuleKind, ModuleSpec, RawParam};
use crate::yaml::{self, Data, Node};

impl Loader<'_> {
    pub(super) fn task_list(&mut self, node: &Node, what: &str, scope: &Scope) -> Result<Vec<Step>> {
        if node.is_null() {
            return Ok(Vec::new());
        }
        seq(node, what, "a list of tasks")?
            .iter()
            .map(|task| self.step(task, scope))
            .collect()
    }

    pub(super) fn load_task_file(
        &mut self,
        path: &Path,
        scope: &Scope,
        pos: Option<&Pos>,
    ) -> Result<Vec<Step>> {
        if self.file_stack.iter().any(|p| p == path) {
            let cycle: Vec<String> = self
                .file_stack
                .iter()
                .chain(std::iter::once(&path.to_path_buf()))
                .map(|p| p.display().to_string())
                .collect();
            let message = format!("task file includes itself: {}", cycle.join(" -> "));
            return Err(match pos {
                Some(pos) => located(pos, message),
                None => anyhow::anyhow!(message),
            });
        }
        let root = yaml::load_file(path)?;
        // An empty task or handlers file (nothing, `---`, only comments) has no tasks, as in
        // Ansible: a role's placeholder `handlers/main.yml` is common.
        if matches!(root.data, Data::Null) {
            return Ok(Vec::new());
        }
        if !matches!(root.data, Data::Seq(_)) {
            return Err(located_hint(
                &root.pos,
                format!("a task file must be a list of tasks, found {}", root.type_name()),
                "start each task with `- name: ...`",
            ));
        }
        let scope = Scope {
            dir: scope.dir.clone(),
            ..scope.clone()
        };
        self.file_stack.push(path.to_path_buf());
        let steps = self.task_list(&root, "a task file", &scope);
        self.file_stack.pop();
        steps
    }

    fn step(&mut self, node: &Node, scope: &Scope) -> Result<Step> {
        let entries = node
            .as_map()
            .ok_or_else(|| node.error(format!("a task must be a mapping, found {}", node.type_name())))?;
        if node.get("block").is_some() {
            return self.block(node, entries, scope);
        }
        self.task(node, entries, scope)
    }

    fn task(&mut self, node: &Node, entries: &[(Node, Node)], scope: &Scope) -> Result<Step> {
        let has_module = entries
            .iter()
            .any(|(k, _)| k.as_str().is_some_and(|name| resource::lookup(name).is_some()));
        let mut fields = TaskFields::default();
        let mut module: Option<(&'static ModuleSpec, Located<String>, &Node)> = None;
        let mut action_params: Option<Vec<RawParam>> = None;
        for (key, value) in entries {
            let name = key_name(key)?;
            let name = name.as_str();
            if name == "listen" && scope.handlers {
                fields.listen = string_list(value, "listen")?;
                continue;
            }
            // `local_action: copy ...` is `action:` delegated to the controller.
            if name == "action" || name == "local_action" {
                if name == "local_action" {
                    fields.keywords.delegate_to = Some(Located {
                        value: "localhost".to_string(),
                        pos: key.pos.clone(),
                    });
                }
                let (spec, written, params) = action(value)?;
                if std::ptr::eq(spec, &resource::unsupported::SPEC) {
                    let key = Node {
                        data: Data::Str {
                            value: written.value.clone(),
                            quoted: false,
                        },
                        pos: written.pos.clone(),
                    };
                    fields.unsupported = Some(deferred(&unsupported_module(&key, &written.value)));
                }
                if let Some((first, _, _)) = &module {
                    return Err(two_modules(key, first.name, spec.name));
                }
                module = Some((spec, written, value));
                action_params = Some(params);
                continue;
            }
            if TASK_KEYWORDS.contains(&name) {
                fields.keyword(name, key, value)?;
                continue;
            }
            if let Some((_, reason)) = TASK_UNSUPPORTED.iter().find(|(k, _)| *k == name) {
                return Err(located(
                    &key.pos,
                    format!("task keyword `{name}` is not supported: {reason}"),
                ));
            }
            if let Some(spec) = resource::lookup(name) {
                if let Some((first, _, _)) = &module {
                    return Err(two_modules(key, first.name, spec.name));
                }
                let written = Located {
                    value: name.to_string(),
                    pos: key.pos.clone(),
                };
                module = Some((spec, written, value));
                continue;
            }
            if !has_module && module.is_none() && ansible_may_know(name) {
                fields.unsupported = Some(deferred(&unsupported_module(key, name)));
                let written = Located {
                    value: name.to_string(),
                    pos: key.pos.clone(),
                };
                module = Some((&resource::unsupported::SPEC, written, value));
                continue;
            }
            if name.starts_with("with_") {
                return Err(located_hint(
                    &key.pos,
                    format!(
                        "loop keyword `{name}` is not supported; supported are {}",
                        LOOP_KEYWORDS
                            .iter()
                            .map(|(k, _)| *k)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "write the loop with `loop:` and filters",
                ));
            }
            return Err(unknown_task_key(key, name, has_module || module.is_some()));
        }
        let Some((spec, written, value)) = module else {
            return Err(located_hint(
                &node.pos,
                "task has no module; expected one module name (like `copy` or `ansible.builtin.copy`) among its keys",
                format!("supported modules are: {}", resource::supported_list()),
            ));
        };
        let is_include = matches!(spec.kind, ModuleKind::Include(_));
        let mut raw = match action_params {
            Some(params) => params,
            None => match module_params(spec, value) {
                Ok(params) => params,
                // Parameters that do not even split stay a load-time error.
                Err(e) if !is_include => match module_params(&resource::unsupported::SPEC, value) {
                    Ok(params) => {
                        fields.unsupported.get_or_insert(deferred(&e));
                        params
                    }
                    Err(_) => return Err(e),
                },
                Err(e) => return Err(e),
            },
        };
        if let Some(args) = &fields.args {
            let inline: Vec<String> = raw.iter().map(|p| p.name.clone()).collect();
            let mut merged = args_params(args)?;
            merged.retain(|p| !inline.contains(&p.name));
            merged.extend(raw);
            raw = merged;
        }
        // Ansible checks a module's parameters where the task runs: a task for another
        // platform (`package: enablerepo=...` under a Red Hat condition) loads, and a host
        // that reaches it fails with the same message as here. Includes are loader business.
        let params = match fields.unsupported {
            Some(_) => unchecked_params(raw),
            None => match check_params(spec, raw.clone(), &written.pos) {
                Ok(params) => params,
                Err(e) if !is_include => {
                    fields.unsupported = Some(deferred(&e));
                    unchecked_params(raw)
                }
                Err(e) => return Err(e),
            },
        };
        self.finish_task(node, spec, written, params, fields, scope)
    }

    fn finish_task(
        &mut self,
        node: &Node,
        spec: &'static ModuleSpec,
        written: Located<String>,
        params: resource::Params,
        fields: TaskFields,
        scope: &Scope,
    ) -> Result<Step> {
        // The spec says whether the module brings in tasks or a role, and when; the loader
        // does not go by the module's name.
        if let ModuleKind::Include(kind) = spec.kind {
            fields.refuse_for_include(spec, kind)?;
            return self.include(node, spec, kind, params, fields, scope);
        }
        let source = match fields.unsupported {
            Some(_) => None,
            None => self.check_source(spec, &params, scope)?,
        };
        Ok(Step::Task(Box::new(Task {
            pos: node.pos.clone(),
            name: fields.name,
            module: spec,
            module_name: written,
            params,
            keywords: fields.keywords,
            loop_: fields.loop_,
            register: fields.register,
            notify: fields.notify,
            listen: fields.listen,
            changed_when: fields.changed_when,
            failed_when: fields.failed_when,
            until: fields.until,
            retries: fields.retries,
            delay: fields.delay,
            role: scope.role.clone(),
            source,
            unsupported: fields.unsupported,
        })))
    }

    /// An include module's step: an import expanded in place (a block, or a role step with the
    /// role loaded), or an include left for run time when its name is a template.
    fn include(
        &mut self,
        node: &Node,
        spec: &ModuleSpec,
        kind: IncludeKind,
        params: resource::Params,
        fields: TaskFields,
        scope: &Scope,
    ) -> Result<Step> {
        match kind {
            IncludeKind::ImportTasks => {
                let file = literal_param(&params, "file", spec, kind)?;
                let path = self.task_file_path(&file, scope)?;
                let steps = self.load_task_file(&path, scope, Some(&file.pos))?;
                let mut block = Block {
                    pos: node.pos.clone(),
                    name: fields.name,
                    block: steps,
                    rescue: Vec::new(),
                    always: Vec::new(),
                    keywords: fields.keywords,
                    imported_from: Some(path),
                };
                let tags = block.keywords.tags.clone();
                inherit_tags(&mut block.block, &tags);
                Ok(Step::Block(Box::new(block)))
            }
            IncludeKind::IncludeTasks => {
                let file = string_param(&params, "file");
                let (path, tasks) = if is_template(&file.value) {
                    (None, None)
                } else {
                    let path = self.task_file_path(&file, scope)?;
                    // A file including itself is a run-time recursion, loaded when reached.
                    // An include is dynamic: a file a host never reaches (another OS's
                    // setup) must not stop the run, so one that does not load is left for
                    // the host that reaches it, which loads it again and fails there.
                    let tasks = if self.file_stack.contains(&path) {
                        None
                    } else {
                        self.load_task_file(&path, scope, Some(&file.pos)).ok()
                    };
                    (Some(path), tasks)
                };
                let apply = params.get("apply").map(|p| Node {
                    data: json_to_data(&p.value),
                    pos: p.pos.clone(),
                });
                Ok(Step::IncludeTasks(Box::new(IncludeTasks {
                    pos: node.pos.clone(),
                    name: fields.name,
                    file,
                    path,
                    tasks,
                    keywords: fields.keywords,
                    loop_: fields.loop_,
                    apply,
                    role: scope.role.clone(),
                })))
            }
            IncludeKind::ImportRole | IncludeKind::IncludeRole => {
                let is_static = kind.is_static();
                let role_name = if is_static {
                    literal_param(&params, "name", spec, kind)?
                } else {
                    string_param(&params, "name")
                };
                let role = if is_template(&role_name.value)
                    || params.values().any(|p| is_template(&p.value.to_string()))
                {
                    None
                } else {
                    let loaded = self.load_role_step(&role_name, &params);
                    match loaded {
                        Ok(mut role) => {
                            if is_static {
                                inherit_role_tags(&mut role, &fields.keywords.tags);
                            }
                            Some(role)
                        }
                        // As for `include_tasks`: loaded again, and failing, where reached.
                        Err(_) if !is_static => None,
                        Err(e) => return Err(e),
                    }
                };
                Ok(Step::Role(Box::new(RoleStep {
                    pos: node.pos.clone(),
                    name: fields.name,
                    role_name,
                    is_static,
                    role,
                    keywords: fields.keywords,
                    loop_: fields.loop_,
                    params,
                })))
            }
        }
    }

    /// The role an `import_role`/`include_role` names, with its `*_from` files.
    pub(super) fn load_role_step(
        &mut self,
        name: &Located<String>,
        params: &resource::Params,
    ) -> Result<RoleInstance> {
        let from = |key: &str| params.get(key).and_then(|p| p.value.as_str().map(str::to_string));
        let files = RoleFiles {
            tasks: from("tasks_from"),
            vars: from("vars_from"),
            defaults: from("defaults_from"),
            handlers: from("handlers_from"),
        };
        self.load_role(name, Keywords::default(), Vars::new(), &files, None)
    }

    fn task_file_path(&self, file: &Located<String>, scope: &Scope) -> Result<PathBuf> {
        let path = scope.dir.join(&file.value);
        if path.is_file() {
            return Ok(path);
        }
        Err(located_hint(
            &file.pos,
            format!("task file `{}` not found", file.value),
            format!("looked for {}", path.display()),
        ))
    }
}

/// Parameters kept as written, for a task that fails where it runs.
fn unchecked_params(raw: Vec<RawParam>) -> resource::Params {
    raw.into_iter()
        .map(|param| {
            let value = resource::Param {
                value: param.value.to_value(),
                pos: param.value.pos.clone(),
            };
            (param.name, value)
        })
        .collect()
}

/// A load-time error kept for the host that reaches the task, its hint on the same line.
fn deferred(error: &anyhow::Error) -> String {
    match crate::error::hint_of(error) {
        Some(hint) => format!("{error:#} (hint: {hint})"),
        None => format!("{error:#}"),
    }
}

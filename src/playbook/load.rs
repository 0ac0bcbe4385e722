//! Reading playbook, role and task files into the model of [`super`].
//!
//! Each function takes a YAML node and either returns its typed form or a located error
//! saying what was found and what was expected. Files named literally are opened here, so a
//! missing role, task file, template or vars file is found before any host is contacted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::kv::parse_kv;
use super::{
    Batch, Block, Flag, IncludeTasks, Keywords, Located, Loop, LoopKind, Play, Playbook, RoleInstance,
    RoleRef, RoleStep, Step, Task, Templated, Vars, VarsFile,
};
use crate::error::{did_you_mean, located, located_hint, Pos};
use crate::resource::{self, check_params, is_template, FreeForm, ModuleKind, ModuleSpec, RawParam};
use crate::yaml::{self, Data, Node};

/// Where roles are looked for.
#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The project root: its `roles/` is searched after `roles/` beside the playbook and the
    /// `roles_path` entries.
    pub project_root: Option<PathBuf>,
    /// Extra role directories (like Ansible's `roles_path`), searched in order.
    pub roles_path: Vec<PathBuf>,
}

const PLAY_KEYWORDS: &[&str] = &[
    "name",
    "hosts",
    "vars",
    "vars_files",
    "roles",
    "pre_tasks",
    "tasks",
    "post_tasks",
    "handlers",
    "become",
    "become_user",
    "become_method",
    "remote_user",
    "serial",
    "max_fail_percentage",
    "any_errors_fatal",
    "tags",
    "gather_facts",
    "environment",
    "ignore_errors",
    "force_handlers",
    "order",
    "strategy",
    "no_log",
    "check_mode",
    "diff",
];

/// Ansible play keywords `deploy` does not implement: refused by name.
const PLAY_UNSUPPORTED: &[&str] = &[
    "vars_prompt",
    "connection",
    "throttle",
    "collections",
    "module_defaults",
    "gather_subset",
    "gather_timeout",
    "fact_path",
    "port",
    "run_once",
    "debugger",
    "ignore_unreachable",
    "user",
];

const TASK_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "loop",
    "with_items",
    "with_list",
    "with_dict",
    "with_fileglob",
    "loop_control",
    "notify",
    "become",
    "become_user",
    "become_method",
    "tags",
    "vars",
    "register",
    "changed_when",
    "failed_when",
    "ignore_errors",
    "run_once",
    "no_log",
    "check_mode",
    "diff",
    "environment",
    "args",
    "timeout",
    "until",
    "retries",
    "delay",
    "any_errors_fatal",
    "action",
];

/// Ansible task keywords `deploy` does not implement, with the reason.
const TASK_UNSUPPORTED: &[(&str, &str)] = &[
    ("delegate_to", "deploy runs every task on its own host"),
    ("local_action", "deploy runs every task on its own host"),
    ("delegate_facts", "deploy runs every task on its own host"),
    ("async", "tasks run to completion within the run"),
    ("poll", "tasks run to completion within the run"),
    ("throttle", "hosts run in parallel up to --forks"),
    ("connection", "the connection comes from the inventory"),
    (
        "remote_user",
        "set `remote_user` on the play or `ansible_user` in the inventory",
    ),
    ("port", "set `ansible_port` in the inventory"),
    ("module_defaults", "write the parameters on each task"),
    ("collections", "modules are named in full or by their short name"),
    ("debugger", "there is no task debugger"),
    ("ignore_unreachable", "an unreachable host always fails"),
];

const BLOCK_KEYWORDS: &[&str] = &[
    "name",
    "block",
    "rescue",
    "always",
    "when",
    "become",
    "become_user",
    "become_method",
    "tags",
    "vars",
    "ignore_errors",
    "run_once",
    "no_log",
    "check_mode",
    "diff",
    "environment",
    "any_errors_fatal",
    "timeout",
];

/// Keywords of a `roles:` entry or a dependency besides `role`; other keys are role params.
const ROLE_ENTRY_KEYWORDS: &[&str] = &[
    "when",
    "become",
    "become_user",
    "become_method",
    "tags",
    "vars",
    "ignore_errors",
    "no_log",
    "check_mode",
    "diff",
    "environment",
    "any_errors_fatal",
    "run_once",
    "timeout",
];

/// Well-known modules that are refused as "not supported" rather than "unknown".
const KNOWN_UNSUPPORTED_MODULES: &[&str] = &[
    "synchronize",
    "unarchive",
    "git",
    "pip",
    "yum",
    "dnf",
    "stat",
    "slurp",
    "fetch",
    "raw",
    "script",
    "uri",
    "include_vars",
    "include",
    "add_host",
    "group_by",
    "setup",
    "ping",
    "replace",
    "find",
    "authorized_key",
    "hostname",
    "timezone",
    "mount",
    "apt_key",
    "debconf",
    "reboot",
    "pause",
    "wait_for_connection",
    "ini_file",
    "archive",
    "known_hosts",
    "ufw",
    "iptables",
    "modprobe",
    "locale_gen",
    "postgresql_query",
    "postgresql_privs",
    "docker_container",
    "service_facts",
    "package_facts",
    "getent",
    "tempfile",
    "assemble",
    "expect",
];

/// Reads a playbook and everything it names.
pub fn load_playbook(path: &Path, options: &LoadOptions) -> Result<Playbook> {
    if path.is_dir() {
        let mut playbooks: Vec<PathBuf> = std::fs::read_dir(path)
            .map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        playbooks.retain(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"));
        playbooks.sort();
        let suggestion = match playbooks.first() {
            Some(first) => format!("did you mean `{}`?", first.display()),
            None => "name a playbook file, like `site.yml`".to_string(),
        };
        anyhow::bail!(
            "playbook `{}` is a directory, not a YAML file; {suggestion}",
            path.display()
        );
    }
    if !path.exists() {
        anyhow::bail!("playbook `{}` does not exist", path.display());
    }
    let mut chain = Vec::new();
    let plays = load_plays(path, options, &mut chain, &ImportKeywords::default())?;
    Ok(Playbook {
        path: path.to_path_buf(),
        plays,
    })
}

/// Loads a task file whose name was only known at run time (a templated `include_tasks`).
/// `playbook_dir` is where the playbook lives; `role` the role the include was written in.
pub fn load_task_file(
    path: &Path,
    role: Option<Arc<RoleRef>>,
    playbook_dir: &Path,
    options: &LoadOptions,
) -> Result<Vec<Step>> {
    let mut loader = Loader::new(playbook_dir, options);
    let scope = Scope {
        dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
        role,
        handlers: false,
    };
    loader.load_task_file(path, &scope, None)
}

#[derive(Default)]
struct ImportKeywords {
    vars: Vars,
    tags: Vec<Located<String>>,
}

fn load_plays(
    path: &Path,
    options: &LoadOptions,
    chain: &mut Vec<PathBuf>,
    inherited: &ImportKeywords,
) -> Result<Vec<Play>> {
    let root = yaml::load_file(path)?;
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let entries = match &root.data {
        Data::Seq(items) => items,
        _ => {
            return Err(located_hint(
                &root.pos,
                format!("a playbook must be a list of plays, found {}", root.type_name()),
                "start each play with `- hosts: ...`",
            ))
        }
    };
    chain.push(path.to_path_buf());
    let mut plays = Vec::new();
    for entry in entries {
        if let Some(import) = import_playbook_target(entry) {
            plays.extend(load_import_playbook(
                entry, import, &dir, options, chain, inherited,
            )?);
            continue;
        }
        let mut loader = Loader::new(&dir, options);
        let mut play = loader.load_play(entry)?;
        for (name, value) in &inherited.vars {
            play.vars.entry(name.clone()).or_insert_with(|| value.clone());
        }
        add_tags(&mut play.keywords.tags, &inherited.tags);
        inherit_play_tags(&mut play);
        plays.push(play);
    }
    chain.pop();
    Ok(plays)
}

fn import_playbook_target(entry: &Node) -> Option<&Node> {
    entry
        .get("import_playbook")
        .or_else(|| entry.get("ansible.builtin.import_playbook"))
}

fn load_import_playbook(
    entry: &Node,
    target: &Node,
    dir: &Path,
    options: &LoadOptions,
    chain: &mut Vec<PathBuf>,
    inherited: &ImportKeywords,
) -> Result<Vec<Play>> {
    let mut keywords = ImportKeywords {
        vars: inherited.vars.clone(),
        tags: inherited.tags.clone(),
    };
    for (key, value) in entry.as_map().unwrap_or_default() {
        let name = key_name(key)?;
        match name.as_str() {
            "import_playbook" | "ansible.builtin.import_playbook" | "name" => {}
            "vars" => {
                for (k, v) in vars_map(value)? {
                    keywords.vars.insert(k, v);
                }
            }
            "tags" => add_tags(&mut keywords.tags, &tag_list(value)?),
            _ => {
                return Err(unknown_key(
                    key,
                    &name,
                    "`import_playbook` keyword",
                    &["import_playbook", "name", "vars", "tags"],
                ))
            }
        }
    }
    let file = scalar(target, "import_playbook")?;
    if is_template(&file.value) {
        return Err(located(
            &file.pos,
            format!(
                "`import_playbook` needs a literal file name, found the template `{}`",
                file.value
            ),
        ));
    }
    let path = dir.join(&file.value);
    if !path.is_file() {
        return Err(located_hint(
            &file.pos,
            format!("playbook `{}` not found", file.value),
            format!("looked for {}", path.display()),
        ));
    }
    if chain.contains(&path) {
        return Err(located(
            &file.pos,
            format!(
                "playbook `{}` imports itself (through {})",
                file.value,
                chain_text(chain)
            ),
        ));
    }
    load_plays(&path, options, chain, &keywords)
}

fn chain_text(chain: &[PathBuf]) -> String {
    chain
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" -> ")
}

/// Loading state for one playbook directory.
struct Loader<'a> {
    playbook_dir: PathBuf,
    options: &'a LoadOptions,
    /// Roles being loaded, outermost first, for dependency cycles.
    role_stack: Vec<(String, PathBuf)>,
    /// Task files being loaded, for import cycles.
    file_stack: Vec<PathBuf>,
}

/// Where a task list is being read from.
#[derive(Clone)]
struct Scope {
    /// Directory relative task files are found in (a role's `tasks/`).
    dir: PathBuf,
    role: Option<Arc<RoleRef>>,
    handlers: bool,
}

impl<'a> Loader<'a> {
    fn new(playbook_dir: &Path, options: &'a LoadOptions) -> Loader<'a> {
        Loader {
            playbook_dir: playbook_dir.to_path_buf(),
            options,
            role_stack: Vec::new(),
            file_stack: Vec::new(),
        }
    }

    fn load_play(&mut self, node: &Node) -> Result<Play> {
        let entries = node.as_map().ok_or_else(|| {
            node.error_hint(
                format!("a play must be a mapping, found {}", node.type_name()),
                "start each play with `- hosts: ...`",
            )
        })?;
        let mut play = Play {
            pos: node.pos.clone(),
            name: None,
            hosts: Located {
                value: String::new(),
                pos: node.pos.clone(),
            },
            vars: Vars::new(),
            vars_files: Vec::new(),
            roles: Vec::new(),
            pre_tasks: Vec::new(),
            tasks: Vec::new(),
            post_tasks: Vec::new(),
            handlers: Vec::new(),
            keywords: Keywords::default(),
            remote_user: None,
            serial: Vec::new(),
            max_fail_percentage: None,
            gather_facts: None,
            force_handlers: None,
            order: None,
        };
        let mut has_hosts = false;
        let scope = Scope {
            dir: self.playbook_dir.clone(),
            role: None,
            handlers: false,
        };
        for (key, value) in entries {
            let name = key_name(key)?;
            if !PLAY_KEYWORDS.contains(&name.as_str()) {
                if PLAY_UNSUPPORTED.contains(&name.as_str()) {
                    return Err(located(
                        &key.pos,
                        format!("play keyword `{name}` is not supported"),
                    ));
                }
                let hint_kind = if resource::lookup(&name).is_some() {
                    return Err(located_hint(
                        &key.pos,
                        format!("unknown play keyword `{name}`: modules go in a task list"),
                        format!("move `{name}` under `tasks:`"),
                    ));
                } else {
                    "play keyword"
                };
                return Err(unknown_key(key, &name, hint_kind, PLAY_KEYWORDS));
            }
            if shared_keyword(&name, value, &mut play.keywords)? {
                continue;
            }
            match name.as_str() {
                "name" => play.name = Some(scalar(value, "name")?),
                "hosts" => {
                    play.hosts = hosts(value)?;
                    has_hosts = true;
                }
                "vars_files" => play.vars_files = self.vars_files(value)?,
                "roles" => {
                    for entry in seq(value, "roles", "a list of roles")? {
                        play.roles.push(self.role_entry(entry, None)?);
                    }
                }
                "pre_tasks" => play.pre_tasks = self.task_list(value, "pre_tasks", &scope)?,
                "tasks" => play.tasks = self.task_list(value, "tasks", &scope)?,
                "post_tasks" => play.post_tasks = self.task_list(value, "post_tasks", &scope)?,
                "handlers" => {
                    let scope = Scope {
                        handlers: true,
                        ..scope.clone()
                    };
                    play.handlers = self.task_list(value, "handlers", &scope)?;
                }
                "remote_user" => play.remote_user = Some(scalar(value, "remote_user")?),
                "serial" => play.serial = serial(value)?,
                "max_fail_percentage" => play.max_fail_percentage = Some(percentage(value)?),
                "gather_facts" => play.gather_facts = Some(flag(value, "gather_facts")?),
                "force_handlers" => play.force_handlers = Some(flag(value, "force_handlers")?),
                "order" => {
                    play.order = Some(choice(
                        value,
                        "order",
                        &[
                            "inventory",
                            "reverse_inventory",
                            "sorted",
                            "reverse_sorted",
                            "shuffle",
                        ],
                    )?)
                }
                "strategy" => {
                    let strategy = scalar(value, "strategy")?;
                    if strategy.value != "linear" {
                        return Err(located(
                            &strategy.pos,
                            format!(
                                "strategy `{}` is not supported; plays run with the `linear` strategy",
                                strategy.value
                            ),
                        ));
                    }
                }
                other => unreachable!("play keyword `{other}` is listed but not handled"),
            }
        }
        if !has_hosts {
            return Err(located_hint(
                &node.pos,
                "play has no `hosts`; every play needs the hosts it runs on",
                "add `hosts: all` or a group name",
            ));
        }
        Ok(play)
    }

    fn vars_files(&self, node: &Node) -> Result<Vec<VarsFile>> {
        let mut out = Vec::new();
        for entry in seq(node, "vars_files", "a list of files")? {
            let candidates: Vec<Located<String>> = match &entry.data {
                Data::Seq(items) => items
                    .iter()
                    .map(|i| scalar(i, "vars_files"))
                    .collect::<Result<_>>()?,
                _ => vec![scalar(entry, "vars_files")?],
            };
            let mut file = VarsFile {
                candidates: candidates.clone(),
                path: None,
                vars: None,
            };
            let mut looked = Vec::new();
            for candidate in &candidates {
                if is_template(&candidate.value) {
                    break;
                }
                let path = self.playbook_dir.join(&candidate.value);
                if path.is_file() {
                    file.vars = Some(load_vars_file(&path)?);
                    file.path = Some(path);
                    break;
                }
                looked.push(path.display().to_string());
            }
            if file.path.is_none() && looked.len() == candidates.len() {
                let first = &candidates[0];
                return Err(located_hint(
                    &first.pos,
                    format!("vars file `{}` not found", first.value),
                    format!("looked for {}", looked.join(", ")),
                ));
            }
            out.push(file);
        }
        Ok(out)
    }

    fn task_list(&mut self, node: &Node, what: &str, scope: &Scope) -> Result<Vec<Step>> {
        if node.is_null() {
            return Ok(Vec::new());
        }
        seq(node, what, "a list of tasks")?
            .iter()
            .map(|task| self.step(task, scope))
            .collect()
    }

    fn load_task_file(&mut self, path: &Path, scope: &Scope, pos: Option<&Pos>) -> Result<Vec<Step>> {
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

    fn block(&mut self, node: &Node, entries: &[(Node, Node)], scope: &Scope) -> Result<Step> {
        let mut block = Block {
            pos: node.pos.clone(),
            name: None,
            block: Vec::new(),
            rescue: Vec::new(),
            always: Vec::new(),
            keywords: Keywords::default(),
            imported_from: None,
        };
        for (key, value) in entries {
            let name = key_name(key)?;
            if !BLOCK_KEYWORDS.contains(&name.as_str()) {
                let message_kind = if resource::lookup(&name).is_some() {
                    return Err(located_hint(
                        &key.pos,
                        format!("a block cannot run the module `{name}` itself"),
                        "move the module into a task under `block:`",
                    ));
                } else {
                    "block keyword"
                };
                return Err(unknown_key(key, &name, message_kind, BLOCK_KEYWORDS));
            }
            if shared_keyword(&name, value, &mut block.keywords)? {
                continue;
            }
            match name.as_str() {
                "name" => block.name = Some(scalar(value, "name")?),
                "block" => block.block = self.task_list(value, "block", scope)?,
                "rescue" => block.rescue = self.task_list(value, "rescue", scope)?,
                "always" => block.always = self.task_list(value, "always", scope)?,
                other => unreachable!("block keyword `{other}` is listed but not handled"),
            }
        }
        Ok(Step::Block(Box::new(block)))
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
            if name == "action" {
                let (spec, written, params) = action(value)?;
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
            if name.starts_with("with_") {
                return Err(located_hint(
                    &key.pos,
                    format!("loop keyword `{name}` is not supported; supported are loop, with_items, with_list, with_dict, with_fileglob"),
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
        let mut raw = match action_params {
            Some(params) => params,
            None => module_params(spec, value)?,
        };
        if let Some(args) = &fields.args {
            let inline: Vec<String> = raw.iter().map(|p| p.name.clone()).collect();
            let mut merged = args_params(args)?;
            merged.retain(|p| !inline.contains(&p.name));
            merged.extend(raw);
            raw = merged;
        }
        let params = check_params(spec, raw, &written.pos)?;
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
        let include = matches!(
            spec.name,
            "include_tasks" | "import_tasks" | "include_role" | "import_role"
        );
        if include {
            fields.refuse_for_include(spec)?;
        }
        match spec.name {
            "import_tasks" => {
                let file = literal_param(&params, "file", "import_tasks", "include_tasks")?;
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
                return Ok(Step::Block(Box::new(block)));
            }
            "include_tasks" => {
                let file = string_param(&params, "file");
                let (path, tasks) = if is_template(&file.value) {
                    (None, None)
                } else {
                    let path = self.task_file_path(&file, scope)?;
                    // A file including itself is a run-time recursion, loaded when reached.
                    let tasks = if self.file_stack.contains(&path) {
                        None
                    } else {
                        Some(self.load_task_file(&path, scope, Some(&file.pos))?)
                    };
                    (Some(path), tasks)
                };
                let apply = params.get("apply").map(|p| Node {
                    data: json_to_data(&p.value),
                    pos: p.pos.clone(),
                });
                return Ok(Step::IncludeTasks(Box::new(IncludeTasks {
                    pos: node.pos.clone(),
                    name: fields.name,
                    file,
                    path,
                    tasks,
                    keywords: fields.keywords,
                    loop_: fields.loop_,
                    apply,
                    role: scope.role.clone(),
                })));
            }
            "include_role" | "import_role" => {
                let is_static = spec.name == "import_role";
                let role_name = if is_static {
                    literal_param(&params, "name", "import_role", "include_role")?
                } else {
                    string_param(&params, "name")
                };
                let role = if is_template(&role_name.value) {
                    None
                } else {
                    let from = |key: &str| params.get(key).and_then(|p| p.value.as_str().map(str::to_string));
                    let files = RoleFiles {
                        tasks: from("tasks_from"),
                        vars: from("vars_from"),
                        defaults: from("defaults_from"),
                        handlers: from("handlers_from"),
                    };
                    let mut role =
                        self.load_role(&role_name, Keywords::default(), Vars::new(), &files, None)?;
                    if is_static {
                        inherit_role_tags(&mut role, &fields.keywords.tags);
                    }
                    Some(role)
                };
                return Ok(Step::Role(Box::new(RoleStep {
                    pos: node.pos.clone(),
                    name: fields.name,
                    role_name,
                    is_static,
                    role,
                    keywords: fields.keywords,
                    loop_: fields.loop_,
                    params,
                })));
            }
            _ => {}
        }
        let source = self.check_source(spec, &params, scope)?;
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
        })))
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

    /// Finds the controller file of a `copy`/`template` with a literal `src`, where Ansible
    /// looks: the role's `templates/` (or `files/`) and the role, then beside the task file,
    /// then the playbook's directory.
    fn check_source(
        &self,
        spec: &ModuleSpec,
        params: &resource::Params,
        scope: &Scope,
    ) -> Result<Option<PathBuf>> {
        let subdir = match spec.name {
            "template" => "templates",
            "copy"
                if params
                    .get("remote_src")
                    .is_none_or(|p| p.value != serde_json::Value::Bool(true)) =>
            {
                "files"
            }
            _ => return Ok(None),
        };
        let Some(src) = params.get("src") else {
            return Ok(None);
        };
        let Some(text) = src.value.as_str() else {
            return Ok(None);
        };
        if is_template(text) {
            return Ok(None);
        }
        let mut dirs: Vec<PathBuf> = Vec::new();
        if let Some(role) = &scope.role {
            dirs.push(role.path.join(subdir));
            dirs.push(role.path.clone());
        }
        dirs.push(scope.dir.join(subdir));
        dirs.push(scope.dir.clone());
        dirs.push(self.playbook_dir.join(subdir));
        dirs.push(self.playbook_dir.clone());
        let mut unique: Vec<PathBuf> = Vec::new();
        for dir in dirs {
            if !unique.contains(&dir) {
                unique.push(dir);
            }
        }
        let relative = Path::new(text);
        if relative.is_absolute() {
            return if relative.exists() {
                Ok(Some(relative.to_path_buf()))
            } else {
                Err(located(
                    &src.pos,
                    format!("{} source `{text}` not found", spec.name),
                ))
            };
        }
        if let Some(found) = unique.iter().map(|dir| dir.join(relative)).find(|p| p.exists()) {
            return Ok(Some(found));
        }
        let looked: Vec<String> = unique.iter().map(|d| display_dir(d)).collect();
        Err(located_hint(
            &src.pos,
            format!("{} source `{text}` not found", spec.name),
            format!("looked in {}", looked.join(", ")),
        ))
    }

    /// A `roles:` entry or a `meta/main.yml` dependency.
    fn role_entry(&mut self, node: &Node, parent: Option<&RoleInstance>) -> Result<RoleInstance> {
        let mut keywords = Keywords::default();
        let mut params = Vars::new();
        let name = match &node.data {
            Data::Map(entries) => {
                let mut name = None;
                for (key, value) in entries {
                    let key_text = key_name(key)?;
                    match key_text.as_str() {
                        "role" | "name" => name = Some(scalar(value, "role")?),
                        k if ROLE_ENTRY_KEYWORDS.contains(&k) => {
                            shared_keyword(k, value, &mut keywords)?;
                        }
                        k => {
                            resource::check_variable_name(k, &key.pos)?;
                            params.insert(k.to_string(), value.clone());
                        }
                    }
                }
                name.ok_or_else(|| {
                    node.error_hint(
                        "role entry has no `role`; expected the role's name",
                        "write `- role: NAME` (or just `- NAME`)",
                    )
                })?
            }
            _ => scalar(node, "role")?,
        };
        if let Some(parent) = parent {
            let mut when = parent.keywords.when.clone();
            when.append(&mut keywords.when);
            keywords.when = when;
            add_tags(&mut keywords.tags, &parent.keywords.tags);
        }
        self.load_role(
            &name,
            keywords,
            params,
            &RoleFiles::default(),
            parent.map(|p| p.name.clone()),
        )
    }

    fn role_search_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![self.playbook_dir.join("roles")];
        dirs.extend(self.options.roles_path.iter().cloned());
        if let Some(root) = &self.options.project_root {
            dirs.push(root.join("roles"));
        }
        dirs.push(self.playbook_dir.clone());
        let mut unique = Vec::new();
        for dir in dirs {
            if !unique.contains(&dir) {
                unique.push(dir);
            }
        }
        unique
    }

    fn find_role(&self, name: &Located<String>) -> Result<PathBuf> {
        if name.value.contains('/') {
            let path = self.playbook_dir.join(&name.value);
            if path.is_dir() {
                return Ok(path);
            }
            return Err(located_hint(
                &name.pos,
                format!("role `{}` not found", name.value),
                format!("looked for the directory {}", path.display()),
            ));
        }
        let dirs = self.role_search_dirs();
        if let Some(found) = dirs.iter().map(|d| d.join(&name.value)).find(|p| p.is_dir()) {
            return Ok(found);
        }
        let known: Vec<String> = dirs
            .iter()
            .filter(|d| d.file_name().is_some_and(|n| n == "roles"))
            .filter_map(|d| std::fs::read_dir(d).ok())
            .flat_map(|entries| entries.filter_map(|e| e.ok()))
            .filter(|e| e.path().is_dir())
            .filter_map(|e| e.file_name().to_str().map(str::to_string))
            .collect();
        let looked: Vec<String> = dirs.iter().map(|d| display_dir(d)).collect();
        let mut hint = format!("looked in {}", looked.join(", "));
        if let Some(close) = did_you_mean(&name.value, known.iter().map(String::as_str)) {
            hint = format!("did you mean `{close}`? ({hint})");
        }
        Err(located_hint(
            &name.pos,
            format!("role `{}` not found", name.value),
            hint,
        ))
    }

    fn load_role(
        &mut self,
        name: &Located<String>,
        keywords: Keywords,
        params: Vars,
        files: &RoleFiles,
        dependency_of: Option<String>,
    ) -> Result<RoleInstance> {
        let path = self.find_role(name)?;
        let role_name = path
            .file_name()
            .map_or_else(|| name.value.clone(), |n| n.to_string_lossy().into_owned());
        if let Some(start) = self.role_stack.iter().position(|(_, p)| *p == path) {
            let cycle: Vec<&str> = self.role_stack[start..]
                .iter()
                .map(|(n, _)| n.as_str())
                .chain(std::iter::once(role_name.as_str()))
                .collect();
            return Err(located_hint(
                &name.pos,
                format!("role dependency cycle: {}", cycle.join(" -> ")),
                "remove one of these dependencies from its role's meta/main.yml",
            ));
        }
        let role_ref = Arc::new(RoleRef {
            name: role_name.clone(),
            path: path.clone(),
        });
        let mut role = RoleInstance {
            name: role_name.clone(),
            path: path.clone(),
            pos: name.pos.clone(),
            defaults: load_role_vars(&path.join("defaults"), files.defaults.as_deref(), &name.pos)?,
            vars: load_role_vars(&path.join("vars"), files.vars.as_deref(), &name.pos)?,
            params,
            keywords,
            tasks: Vec::new(),
            handlers: Vec::new(),
            dependencies: Vec::new(),
            allow_duplicates: false,
            dependency_of,
        };
        self.role_stack.push((role_name, path.clone()));
        let result = self.load_role_contents(&mut role, &role_ref, files);
        self.role_stack.pop();
        result?;
        let tags = role.keywords.tags.clone();
        inherit_tags(&mut role.tasks, &tags);
        Ok(role)
    }

    fn load_role_contents(
        &mut self,
        role: &mut RoleInstance,
        role_ref: &Arc<RoleRef>,
        files: &RoleFiles,
    ) -> Result<()> {
        let meta = find_main(&role.path.join("meta"), "main");
        if let Some(meta) = meta.filter(|p| p.is_file()) {
            let node = yaml::load_file(&meta)?;
            for (key, value) in node.as_map().unwrap_or_default() {
                match key_name(key)?.as_str() {
                    "dependencies" => {
                        if value.is_null() {
                            continue;
                        }
                        for entry in seq(value, "dependencies", "a list of roles")? {
                            let dependency = self.role_entry(entry, Some(role))?;
                            role.dependencies.push(dependency);
                        }
                    }
                    "allow_duplicates" => {
                        role.allow_duplicates =
                            matches!(flag(value, "allow_duplicates")?.value, Templated::Literal(true))
                    }
                    "galaxy_info" | "argument_specs" | "collections" => {}
                    other => {
                        return Err(unknown_key(
                            key,
                            other,
                            "role meta key",
                            &[
                                "dependencies",
                                "allow_duplicates",
                                "galaxy_info",
                                "argument_specs",
                            ],
                        ))
                    }
                }
            }
        }
        let tasks_scope = Scope {
            dir: role.path.join("tasks"),
            role: Some(Arc::clone(role_ref)),
            handlers: false,
        };
        let tasks_name = files.tasks.as_deref().unwrap_or("main");
        match find_main(&role.path.join("tasks"), tasks_name).filter(|p| p.is_file()) {
            Some(path) => role.tasks = self.load_task_file(&path, &tasks_scope, None)?,
            None if files.tasks.is_some() => {
                return Err(located(
                    &role.pos,
                    format!(
                        "role `{}` has no task file `{tasks_name}` in {}",
                        role.name,
                        role.path.join("tasks").display()
                    ),
                ))
            }
            None => {}
        }
        let handlers_scope = Scope {
            dir: role.path.join("handlers"),
            handlers: true,
            ..tasks_scope
        };
        let handlers_name = files.handlers.as_deref().unwrap_or("main");
        if let Some(path) = find_main(&role.path.join("handlers"), handlers_name).filter(|p| p.is_file()) {
            role.handlers = self.load_task_file(&path, &handlers_scope, None)?;
        }
        Ok(())
    }
}

/// `tasks_from` and friends.
#[derive(Default)]
struct RoleFiles {
    tasks: Option<String>,
    vars: Option<String>,
    defaults: Option<String>,
    handlers: Option<String>,
}

/// `dir/name.yml`, `dir/name.yaml`, `dir/name` (with its own extension, or a directory).
fn find_main(dir: &Path, name: &str) -> Option<PathBuf> {
    ["yml", "yaml"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .chain(std::iter::once(dir.join(name)))
        .find(|p| p.exists())
}

fn load_role_vars(dir: &Path, name: Option<&str>, pos: &Pos) -> Result<Vars> {
    let Some(path) = find_main(dir, name.unwrap_or("main")) else {
        if let Some(name) = name.filter(|n| *n != "main") {
            return Err(located(
                pos,
                format!("role has no vars file `{name}` in {}", dir.display()),
            ));
        }
        return Ok(Vars::new());
    };
    if path.is_file() {
        return load_vars_file(&path);
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&path)
        .with_context(|| format!("cannot read {}", path.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|e| e == "yml" || e == "yaml" || e == "json")
        })
        .collect();
    files.sort();
    let mut vars = Vars::new();
    for file in files {
        vars.extend(load_vars_file(&file)?);
    }
    Ok(vars)
}

/// A vars file: a mapping of variable names (or empty).
pub(super) fn load_vars_file(path: &Path) -> Result<Vars> {
    let node = yaml::load_file(path)?;
    if node.is_null() {
        return Ok(Vars::new());
    }
    if node.as_map().is_none() {
        return Err(node.error(format!(
            "a vars file must be a mapping of variables, found {}",
            node.type_name()
        )));
    }
    vars_map(&node)
}

fn display_dir(dir: &Path) -> String {
    let text = dir.display().to_string();
    if text.is_empty() {
        ".".to_string()
    } else {
        text
    }
}

/// Tag inheritance into task lists (blocks and static imports pass tags down; dynamic
/// includes keep theirs, as in Ansible).
fn inherit_tags(steps: &mut [Step], tags: &[Located<String>]) {
    if tags.is_empty() {
        return;
    }
    for step in steps {
        match step {
            Step::Task(task) => add_tags(&mut task.keywords.tags, tags),
            Step::Block(block) => {
                add_tags(&mut block.keywords.tags, tags);
                let all = block.keywords.tags.clone();
                inherit_tags(&mut block.block, &all);
                inherit_tags(&mut block.rescue, &all);
                inherit_tags(&mut block.always, &all);
            }
            Step::IncludeTasks(include) => add_tags(&mut include.keywords.tags, tags),
            Step::Role(role) => {
                add_tags(&mut role.keywords.tags, tags);
                if role.is_static {
                    if let Some(instance) = &mut role.role {
                        inherit_role_tags(instance, tags);
                    }
                }
            }
        }
    }
}

fn inherit_role_tags(role: &mut RoleInstance, tags: &[Located<String>]) {
    add_tags(&mut role.keywords.tags, tags);
    let all = role.keywords.tags.clone();
    inherit_tags(&mut role.tasks, &all);
    for dependency in &mut role.dependencies {
        inherit_role_tags(dependency, &all);
    }
}

fn inherit_play_tags(play: &mut Play) {
    let tags = play.keywords.tags.clone();
    for role in &mut play.roles {
        inherit_role_tags(role, &tags);
    }
    for list in [
        &mut play.pre_tasks,
        &mut play.tasks,
        &mut play.post_tasks,
        &mut play.handlers,
    ] {
        inherit_tags(list, &tags);
    }
}

fn add_tags(into: &mut Vec<Located<String>>, tags: &[Located<String>]) {
    for tag in tags {
        if !into.iter().any(|t| t.value == tag.value) {
            into.push(tag.clone());
        }
    }
}

/// Task keywords, before the task's kind (module, include, role) is known.
#[derive(Default)]
struct TaskFields {
    name: Option<Located<String>>,
    keywords: Keywords,
    loop_: Option<Loop>,
    loop_key: Option<(String, Pos)>,
    loop_control: Option<Node>,
    register: Option<Located<String>>,
    notify: Vec<Located<String>>,
    listen: Vec<Located<String>>,
    changed_when: Vec<Located<String>>,
    failed_when: Vec<Located<String>>,
    until: Vec<Located<String>>,
    retries: Option<Located<Templated<i64>>>,
    delay: Option<Located<Templated<i64>>>,
    args: Option<Node>,
    /// Keywords present, by name and position, to refuse the ones an include cannot take.
    seen: Vec<(String, Pos)>,
}

impl TaskFields {
    fn keyword(&mut self, name: &str, key: &Node, value: &Node) -> Result<()> {
        self.seen.push((name.to_string(), key.pos.clone()));
        if shared_keyword(name, value, &mut self.keywords)? {
            return Ok(());
        }
        match name {
            "name" => self.name = Some(scalar(value, "name")?),
            "loop" | "with_items" | "with_list" | "with_dict" | "with_fileglob" => {
                if let Some((first, _)) = &self.loop_key {
                    return Err(located_hint(
                        &key.pos,
                        format!("`{first}` and `{name}` cannot be used together; a task has one loop"),
                        "keep only `loop:`",
                    ));
                }
                let kind = match name {
                    "loop" => LoopKind::Loop,
                    "with_items" => LoopKind::Items,
                    "with_list" => LoopKind::List,
                    "with_dict" => LoopKind::Dict,
                    _ => LoopKind::Fileglob,
                };
                let is_list = matches!(value.data, Data::Seq(_));
                let ok = match kind {
                    LoopKind::Dict => matches!(value.data, Data::Map(_)) || is_template_node(value),
                    LoopKind::Items | LoopKind::Fileglob => !matches!(value.data, Data::Map(_)),
                    LoopKind::Loop | LoopKind::List => is_list || is_template_node(value),
                };
                if !ok {
                    let expected = if kind == LoopKind::Dict {
                        "a mapping or a template"
                    } else {
                        "a list or a template"
                    };
                    return Err(
                        value.error(format!("`{name}` takes {expected}, found {}", value.type_name()))
                    );
                }
                self.loop_key = Some((name.to_string(), key.pos.clone()));
                self.loop_ = Some(Loop {
                    kind,
                    items: value.clone(),
                    pos: key.pos.clone(),
                    loop_var: None,
                    index_var: None,
                    label: None,
                    pause: None,
                    extended: None,
                });
            }
            "loop_control" => self.loop_control = Some(value.clone()),
            "notify" => self.notify = string_list(value, "notify")?,
            "register" => {
                let register = scalar(value, "register")?;
                resource::check_variable_name(&register.value, &register.pos)?;
                self.register = Some(register);
            }
            "changed_when" => self.changed_when = conditions(value, "changed_when")?,
            "failed_when" => self.failed_when = conditions(value, "failed_when")?,
            "until" => self.until = conditions(value, "until")?,
            "retries" => self.retries = Some(integer(value, "retries")?),
            "delay" => self.delay = Some(integer(value, "delay")?),
            "args" => {
                if value.as_map().is_none() && !value.is_null() {
                    return Err(value.error(format!(
                        "`args` takes a mapping of parameters, found {}",
                        value.type_name()
                    )));
                }
                self.args = Some(value.clone());
            }
            other => unreachable!("task keyword `{other}` is listed but not handled"),
        }
        if name == "loop_control" || self.loop_control.is_some() && self.loop_.is_some() {
            self.apply_loop_control()?;
        }
        Ok(())
    }

    fn apply_loop_control(&mut self) -> Result<()> {
        let (Some(control), Some(loop_)) = (&self.loop_control, &mut self.loop_) else {
            return Ok(());
        };
        let entries = control.as_map().ok_or_else(|| {
            control.error(format!(
                "`loop_control` takes a mapping, found {}",
                control.type_name()
            ))
        })?;
        for (key, value) in entries {
            match key_name(key)?.as_str() {
                "loop_var" => loop_.loop_var = Some(scalar(value, "loop_var")?),
                "index_var" => loop_.index_var = Some(scalar(value, "index_var")?),
                "label" => loop_.label = Some(value.clone()),
                "pause" => loop_.pause = Some(value.clone()),
                "extended" => loop_.extended = Some(flag(value, "extended")?),
                other => {
                    return Err(unknown_key(
                        key,
                        other,
                        "`loop_control` key",
                        &["loop_var", "index_var", "label", "pause", "extended"],
                    ))
                }
            }
        }
        Ok(())
    }

    fn refuse_for_include(&self, spec: &ModuleSpec) -> Result<()> {
        let mut refused = vec![
            "register",
            "notify",
            "changed_when",
            "failed_when",
            "until",
            "retries",
            "delay",
            "listen",
        ];
        if spec.name.starts_with("import_") {
            refused.extend([
                "loop",
                "with_items",
                "with_list",
                "with_dict",
                "with_fileglob",
                "loop_control",
            ]);
        }
        if let Some((name, pos)) = self.seen.iter().find(|(n, _)| refused.contains(&n.as_str())) {
            let hint = if spec.name.starts_with("import_") && name.starts_with(['l', 'w']) {
                format!("use `{}` to loop", spec.name.replace("import_", "include_"))
            } else {
                format!("put `{name}` on the tasks inside")
            };
            return Err(located_hint(
                pos,
                format!("`{}` cannot take the keyword `{name}`", spec.name),
                hint,
            ));
        }
        if self.loop_control.is_some() && self.loop_.is_none() {
            let (_, pos) = self
                .seen
                .iter()
                .find(|(n, _)| n == "loop_control")
                .expect("loop_control was seen");
            return Err(located(pos, "`loop_control` without a loop"));
        }
        Ok(())
    }
}

/// Keywords that plays, blocks, tasks and role entries share. Returns false for other names.
fn shared_keyword(name: &str, value: &Node, keywords: &mut Keywords) -> Result<bool> {
    match name {
        "when" => keywords.when = conditions(value, "when")?,
        "tags" => keywords.tags = tag_list(value)?,
        "vars" => keywords.vars = vars_map(value)?,
        "environment" => {
            if !matches!(value.data, Data::Map(_) | Data::Seq(_)) && !is_template_node(value) {
                return Err(value.error(format!(
                    "`environment` takes a mapping of variables or a template, found {}",
                    value.type_name()
                )));
            }
            keywords.environment = Some(value.clone());
        }
        "become" => keywords.become_ = Some(flag(value, name)?),
        "become_user" => keywords.become_user = Some(scalar(value, name)?),
        "become_method" => keywords.become_method = Some(choice(value, name, &["sudo", "su"])?),
        "ignore_errors" => keywords.ignore_errors = Some(flag(value, name)?),
        "any_errors_fatal" => keywords.any_errors_fatal = Some(flag(value, name)?),
        "run_once" => keywords.run_once = Some(flag(value, name)?),
        "no_log" => keywords.no_log = Some(flag(value, name)?),
        "check_mode" => keywords.check_mode = Some(flag(value, name)?),
        "diff" => keywords.diff = Some(flag(value, name)?),
        "timeout" => keywords.timeout = Some(integer(value, name)?),
        _ => return Ok(false),
    }
    Ok(true)
}

fn key_name(key: &Node) -> Result<String> {
    key.key_string()
        .ok_or_else(|| key.error(format!("expected a name as key, found {}", key.type_name())))
}

fn unknown_key(key: &Node, name: &str, what: &str, known: &[&str]) -> anyhow::Error {
    let message = format!("unknown {what} `{name}`");
    match did_you_mean(name, known.iter().copied()) {
        Some(close) => located_hint(&key.pos, message, format!("did you mean `{close}`?")),
        None => located_hint(
            &key.pos,
            message,
            format!("expected one of: {}", known.join(", ")),
        ),
    }
}

fn unknown_task_key(key: &Node, name: &str, has_module: bool) -> anyhow::Error {
    let short = name.rsplit('.').next().unwrap_or(name);
    if name.matches('.').count() >= 2 || KNOWN_UNSUPPORTED_MODULES.contains(&short) {
        return located(
            &key.pos,
            format!(
                "module `{name}` is not supported; supported modules are: {}",
                resource::supported_list()
            ),
        );
    }
    let keyword = did_you_mean(name, TASK_KEYWORDS.iter().copied());
    let module = did_you_mean(name, resource::names());
    if has_module || (keyword.is_some() && module.is_none()) {
        let message = format!("unknown task keyword `{name}`");
        return match keyword {
            Some(close) => located_hint(&key.pos, message, format!("did you mean `{close}`?")),
            None => located_hint(
                &key.pos,
                message,
                format!("task keywords are: {}", TASK_KEYWORDS.join(", ")),
            ),
        };
    }
    let message = format!("unknown module `{name}`");
    match module {
        Some(close) => located_hint(&key.pos, message, format!("did you mean `{close}`?")),
        None => located_hint(
            &key.pos,
            message,
            format!("supported modules are: {}", resource::supported_list()),
        ),
    }
}

fn two_modules(key: &Node, first: &str, second: &str) -> anyhow::Error {
    located_hint(
        &key.pos,
        format!("task has two modules, `{first}` and `{second}`; a task runs exactly one module"),
        "split it into two tasks",
    )
}

/// The parameters written under the module key.
fn module_params(spec: &ModuleSpec, value: &Node) -> Result<Vec<RawParam>> {
    match &value.data {
        Data::Null => Ok(Vec::new()),
        Data::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                Ok(RawParam {
                    name: key_name(k)?,
                    key_pos: k.pos.clone(),
                    value: v.clone(),
                })
            })
            .collect(),
        Data::Str { value: text, .. } => string_params(spec, text, &value.pos),
        _ if spec.free_form != FreeForm::KeyValue => {
            let text = value.scalar_string().ok_or_else(|| {
                value.error(format!(
                    "module `{}` takes a string or a mapping of parameters, found {}",
                    spec.name,
                    value.type_name()
                ))
            })?;
            string_params(spec, &text, &value.pos)
        }
        _ => Err(value.error(format!(
            "module `{}` takes a mapping of parameters, found {}",
            spec.name,
            value.type_name()
        ))),
    }
}

/// `copy: src=a dest=b`, `command: ls chdir=/tmp`, `meta: flush_handlers`.
fn string_params(spec: &ModuleSpec, text: &str, pos: &Pos) -> Result<Vec<RawParam>> {
    let kv = parse_kv(text, spec.kind == ModuleKind::Command).map_err(|why| {
        located(
            pos,
            format!("cannot split the parameters of `{}`: {why}", spec.name),
        )
    })?;
    let node = |value: String| Node {
        data: Data::Str { value, quoted: true },
        pos: pos.clone(),
    };
    let mut params: Vec<RawParam> = kv
        .params
        .into_iter()
        .map(|(name, value)| RawParam {
            name,
            key_pos: pos.clone(),
            value: node(value),
        })
        .collect();
    if let Some(raw) = kv.raw {
        match spec.free_form {
            FreeForm::Raw(name) => params.insert(
                0,
                RawParam {
                    name: name.to_string(),
                    key_pos: pos.clone(),
                    value: node(raw),
                },
            ),
            FreeForm::KeyValue => {
                return Err(located_hint(
                    pos,
                    format!(
                        "module `{}` takes `key=value` parameters, found `{raw}`",
                        spec.name
                    ),
                    format!("write the parameters as a mapping under `{}:`", spec.name),
                ))
            }
        }
    }
    Ok(params)
}

fn args_params(args: &Node) -> Result<Vec<RawParam>> {
    args.as_map()
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| {
            Ok(RawParam {
                name: key_name(k)?,
                key_pos: k.pos.clone(),
                value: v.clone(),
            })
        })
        .collect()
}

/// The classic `action: copy src=a dest=b` (or `action: {module: copy, src: a}`).
fn action(value: &Node) -> Result<(&'static ModuleSpec, Located<String>, Vec<RawParam>)> {
    let (name, rest, extra) = match &value.data {
        Data::Str { value: text, .. } => {
            let tokens = super::kv::split_args(text)
                .map_err(|why| value.error(format!("cannot split `action`: {why}")))?;
            let Some((first, rest)) = tokens.split_first() else {
                return Err(value.error("`action` is empty; expected a module and its parameters"));
            };
            (first.trim().to_string(), rest.join(" "), Vec::new())
        }
        Data::Map(entries) => {
            let module = value
                .get("module")
                .and_then(Node::as_str)
                .ok_or_else(|| value.error("`action` as a mapping needs `module: NAME`"))?;
            let mut extra = Vec::new();
            for (k, v) in entries {
                let key = key_name(k)?;
                if key != "module" {
                    extra.push(RawParam {
                        name: key,
                        key_pos: k.pos.clone(),
                        value: v.clone(),
                    });
                }
            }
            (module.to_string(), String::new(), extra)
        }
        _ => {
            return Err(value.error(format!(
                "`action` takes a module and its parameters, found {}",
                value.type_name()
            )))
        }
    };
    let Some(spec) = resource::lookup(&name) else {
        let key = Node {
            data: Data::Str {
                value: name.clone(),
                quoted: false,
            },
            pos: value.pos.clone(),
        };
        return Err(unknown_task_key(&key, &name, false));
    };
    let mut params = if rest.is_empty() {
        Vec::new()
    } else {
        string_params(spec, &rest, &value.pos)?
    };
    params.extend(extra);
    let written = Located {
        value: name,
        pos: value.pos.clone(),
    };
    Ok((spec, written, params))
}

fn string_param(params: &resource::Params, name: &str) -> Located<String> {
    let param = &params[name];
    Located {
        value: param
            .value
            .as_str()
            .map_or_else(|| param.value.to_string(), str::to_string),
        pos: param.pos.clone(),
    }
}

fn literal_param(
    params: &resource::Params,
    name: &str,
    module: &str,
    dynamic: &str,
) -> Result<Located<String>> {
    let value = string_param(params, name);
    if is_template(&value.value) {
        return Err(located_hint(
            &value.pos,
            format!(
                "`{module}` is expanded when the playbook is loaded and needs a literal `{name}`, found `{}`",
                value.value
            ),
            format!("use `{dynamic}` for a name known only at run time"),
        ));
    }
    Ok(value)
}

fn json_to_data(value: &serde_json::Value) -> Data {
    let path = Arc::new(PathBuf::new());
    let pos = Pos::new(&path, 0, 0);
    let node = |v: &serde_json::Value| Node {
        data: json_to_data(v),
        pos: pos.clone(),
    };
    match value {
        serde_json::Value::Null => Data::Null,
        serde_json::Value::Bool(b) => Data::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Data::Float(n.as_f64().unwrap_or_default()), Data::Int),
        serde_json::Value::String(s) => Data::Str {
            value: s.clone(),
            quoted: true,
        },
        serde_json::Value::Array(items) => Data::Seq(items.iter().map(node).collect()),
        serde_json::Value::Object(map) => Data::Map(
            map.iter()
                .map(|(k, v)| (node(&serde_json::Value::String(k.clone())), node(v)))
                .collect(),
        ),
    }
}

fn is_template_node(node: &Node) -> bool {
    node.as_str().is_some_and(is_template)
}

fn seq<'n>(node: &'n Node, what: &str, expected: &str) -> Result<&'n [Node]> {
    match &node.data {
        Data::Seq(items) => Ok(items),
        Data::Null => Ok(&[]),
        _ => Err(node.error(format!("`{what}` must be {expected}, found {}", node.type_name()))),
    }
}

/// A scalar as a string (numbers and booleans rendered as Ansible renders them).
fn scalar(node: &Node, what: &str) -> Result<Located<String>> {
    match &node.data {
        Data::Seq(_) | Data::Map(_) | Data::Null => {
            Err(node.error(format!("`{what}` must be a string, found {}", node.type_name())))
        }
        _ => Ok(Located {
            value: node.scalar_string().expect("scalars render as strings"),
            pos: node.pos.clone(),
        }),
    }
}

fn choice(node: &Node, what: &str, choices: &[&str]) -> Result<Located<String>> {
    let value = scalar(node, what)?;
    if is_template(&value.value) || choices.contains(&value.value.as_str()) {
        return Ok(value);
    }
    let message = format!(
        "`{what}` must be one of {}, found `{}`",
        choices.join(", "),
        value.value
    );
    Err(match did_you_mean(&value.value, choices.iter().copied()) {
        Some(close) => located_hint(&value.pos, message, format!("did you mean `{close}`?")),
        None => located(&value.pos, message),
    })
}

fn flag(node: &Node, what: &str) -> Result<Flag> {
    let value = match &node.data {
        Data::Bool(b) => Templated::Literal(*b),
        Data::Int(i @ (0 | 1)) => Templated::Literal(*i == 1),
        Data::Str { value, .. } if is_template(value) => Templated::Template(value.clone()),
        Data::Str { value, .. } => match resource::parse_bool(value) {
            Some(b) => Templated::Literal(b),
            None => {
                return Err(node.error_hint(
                    format!("`{what}` must be a boolean, found `{value}`"),
                    "write yes/no or true/false",
                ))
            }
        },
        _ => return Err(node.error(format!("`{what}` must be a boolean, found {}", node.type_name()))),
    };
    Ok(Located {
        value,
        pos: node.pos.clone(),
    })
}

fn integer(node: &Node, what: &str) -> Result<Located<Templated<i64>>> {
    let value = match &node.data {
        Data::Int(i) => Templated::Literal(*i),
        Data::Str { value, .. } if is_template(value) => Templated::Template(value.clone()),
        Data::Str { value, .. } if value.trim().parse::<i64>().is_ok() => {
            Templated::Literal(value.trim().parse().expect("checked just above"))
        }
        _ => {
            let found = node
                .as_str()
                .map_or_else(|| node.type_name().to_string(), |s| format!("`{s}`"));
            return Err(node.error(format!("`{what}` must be an integer, found {found}")));
        }
    };
    Ok(Located {
        value,
        pos: node.pos.clone(),
    })
}

/// `when`-like conditions: a string, a boolean, or a list of them.
fn conditions(node: &Node, what: &str) -> Result<Vec<Located<String>>> {
    let items: &[Node] = match &node.data {
        Data::Seq(items) => items,
        Data::Null => &[],
        _ => std::slice::from_ref(node),
    };
    items
        .iter()
        .map(|item| match &item.data {
            Data::Seq(_) | Data::Map(_) | Data::Null => Err(item.error(format!(
                "`{what}` takes a condition or a list of conditions, found {}",
                item.type_name()
            ))),
            _ => scalar(item, what),
        })
        .collect()
}

/// `notify`, `listen`: a name or a list of names.
fn string_list(node: &Node, what: &str) -> Result<Vec<Located<String>>> {
    match &node.data {
        Data::Seq(items) => items.iter().map(|i| scalar(i, what)).collect(),
        _ => Ok(vec![scalar(node, what)?]),
    }
}

/// Tags: a list, or a comma-separated string, as Ansible reads them.
fn tag_list(node: &Node) -> Result<Vec<Located<String>>> {
    let mut out = Vec::new();
    let items: &[Node] = match &node.data {
        Data::Seq(items) => items,
        Data::Null => &[],
        _ => std::slice::from_ref(node),
    };
    for item in items {
        let text = scalar(item, "tags")?;
        for tag in text.value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            out.push(Located {
                value: tag.to_string(),
                pos: text.pos.clone(),
            });
        }
    }
    Ok(out)
}

fn vars_map(node: &Node) -> Result<Vars> {
    let mut vars = Vars::new();
    let entries: Vec<&(Node, Node)> = match &node.data {
        Data::Null => Vec::new(),
        Data::Map(entries) => entries.iter().collect(),
        // The old list-of-mappings form.
        Data::Seq(items) if items.iter().all(|i| i.as_map().is_some()) => items
            .iter()
            .flat_map(|i| i.as_map().unwrap_or_default())
            .collect(),
        _ => {
            return Err(node.error(format!(
                "`vars` must be a mapping of variables, found {}",
                node.type_name()
            )))
        }
    };
    for (key, value) in entries {
        let name = key_name(key)?;
        resource::check_variable_name(&name, &key.pos)?;
        vars.insert(name, value.clone());
    }
    Ok(vars)
}

fn hosts(node: &Node) -> Result<Located<String>> {
    let value = match &node.data {
        Data::Seq(items) => items
            .iter()
            .map(|i| scalar(i, "hosts").map(|s| s.value))
            .collect::<Result<Vec<_>>>()?
            .join(":"),
        _ => scalar(node, "hosts")?.value,
    };
    if value.trim().is_empty() {
        return Err(node.error_hint(
            "`hosts` is empty; expected a host pattern",
            "write `hosts: all` or a group name",
        ));
    }
    Ok(Located {
        value,
        pos: node.pos.clone(),
    })
}

fn serial(node: &Node) -> Result<Vec<Located<Batch>>> {
    let items: &[Node] = match &node.data {
        Data::Seq(items) => items,
        _ => std::slice::from_ref(node),
    };
    items.iter().map(batch).collect()
}

fn batch(node: &Node) -> Result<Located<Batch>> {
    let bad = || {
        let found = node
            .as_str()
            .map_or_else(|| node.type_name().to_string(), |s| format!("`{s}`"));
        node.error_hint(
            format!("`serial` must be a positive number, a percentage like `30%`, or a list of them, found {found}"),
            "for example `serial: 1`, `serial: \"25%\"` or `serial: [1, 5, \"50%\"]`",
        )
    };
    let value = match &node.data {
        Data::Int(i) if *i > 0 => Batch::Count(*i as u64),
        Data::Str { value, .. } if is_template(value) => Batch::Template(value.clone()),
        Data::Str { value, .. } => {
            let text = value.trim();
            if let Some(percent) = text.strip_suffix('%') {
                match percent.trim().parse::<f64>() {
                    Ok(p) if p > 0.0 && p <= 100.0 => Batch::Percent(p),
                    _ => return Err(bad()),
                }
            } else {
                match text.parse::<u64>() {
                    Ok(n) if n > 0 => Batch::Count(n),
                    _ => return Err(bad()),
                }
            }
        }
        _ => return Err(bad()),
    };
    Ok(Located {
        value,
        pos: node.pos.clone(),
    })
}

fn percentage(node: &Node) -> Result<Located<Templated<f64>>> {
    let value = match &node.data {
        Data::Int(i) if (0..=100).contains(i) => Templated::Literal(*i as f64),
        Data::Float(f) if (0.0..=100.0).contains(f) => Templated::Literal(*f),
        Data::Str { value, .. } if is_template(value) => Templated::Template(value.clone()),
        _ => {
            let found = node
                .scalar_string()
                .map_or_else(|| node.type_name().to_string(), |s| format!("`{s}`"));
            return Err(node.error(format!(
                "`max_fail_percentage` must be a number from 0 to 100, found {found}"
            )));
        }
    };
    Ok(Located {
        value,
        pos: node.pos.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, files: &[(&str, &str)]) {
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().expect("files are in directories")).unwrap();
            std::fs::write(path, text).unwrap();
        }
    }

    fn role_names(play: &Play) -> Vec<String> {
        play.roles_in_order()
            .iter()
            .map(|r| {
                format!(
                    "{}@{}",
                    r.name,
                    r.path.parent().unwrap().file_name().unwrap().to_string_lossy()
                )
            })
            .collect()
    }

    #[test]
    fn roles_beside_the_playbook_come_before_roles_path_and_project_roles() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            &[
                ("project/play/site.yml", "- hosts: all\n  roles: [a, b, c]\n"),
                ("project/play/roles/a/tasks/main.yml", "- debug: msg=a\n"),
                ("project/roles/a/tasks/main.yml", "- debug: msg=shadowed\n"),
                ("shared/b/tasks/main.yml", "- debug: msg=b\n"),
                ("project/roles/b/tasks/main.yml", "- debug: msg=shadowed\n"),
                ("project/roles/c/tasks/main.yml", "- debug: msg=c\n"),
            ],
        );
        let options = LoadOptions {
            project_root: Some(root.join("project")),
            roles_path: vec![root.join("shared")],
        };
        let playbook = load_playbook(&root.join("project/play/site.yml"), &options).unwrap();
        assert_eq!(role_names(&playbook.plays[0]), ["a@roles", "b@shared", "c@roles"]);
        assert_eq!(playbook.plays[0].roles[0].path, root.join("project/play/roles/a"));
    }

    #[test]
    fn dependencies_run_first_and_once() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            &[
                (
                    "site.yml",
                    "- hosts: all\n  roles: [web, app, {role: base, x: 1}]\n",
                ),
                ("roles/web/meta/main.yml", "dependencies: [base]\n"),
                ("roles/app/meta/main.yml", "dependencies: [base, web]\n"),
                ("roles/base/defaults/main/a.yml", "one: 1\n"),
                ("roles/base/defaults/main/b.yaml", "two: 2\n"),
            ],
        );
        let playbook = load_playbook(&root.join("site.yml"), &LoadOptions::default()).unwrap();
        let play = &playbook.plays[0];
        let order: Vec<&str> = play.roles_in_order().iter().map(|r| r.name.as_str()).collect();
        // `base` with other parameters is another instance and runs again.
        assert_eq!(order, ["base", "web", "app", "base"]);
        let base = play.roles_in_order()[0];
        assert_eq!(base.defaults.keys().collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(base.dependency_of.as_deref(), Some("web"));
    }

    #[test]
    fn include_role_resolves_tasks_from_and_a_role_given_as_a_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            &[
                (
                    "site.yml",
                    "- hosts: all\n  tasks:\n    - include_role:\n        name: ./lib/db\n        tasks_from: backup\n",
                ),
                ("lib/db/tasks/backup.yaml", "- command: pg_dumpall\n"),
            ],
        );
        let playbook = load_playbook(&root.join("site.yml"), &LoadOptions::default()).unwrap();
        let Step::Role(step) = &playbook.plays[0].tasks[0] else {
            panic!("a role step")
        };
        assert!(!step.is_static);
        let role = step.role.as_ref().unwrap();
        assert_eq!(role.name, "db");
        assert_eq!(
            super::super::all_tasks(&role.tasks)[0].params["cmd"].value,
            "pg_dumpall"
        );
    }
}

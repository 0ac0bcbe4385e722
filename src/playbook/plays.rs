//! Reading a playbook: the entry points, `import_playbook`, plays and blocks.
//!
//! Loading starts here, and here lives the state the other loader modules share: `Loader`
//! (one per playbook directory, with the role and task-file stacks that catch cycles) and
//! `Scope` (where a task list is read from). Each function takes a YAML node and either
//! returns its typed form or a located error saying what was found and what was expected.
//! Files named literally are opened as they are met, so a missing playbook, role, task file,
//! template or vars file is found before any host is contacted.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;

use super::checks::unknown_key;
use super::keywords::{shared_keyword, BLOCK_KEYWORDS, PLAY_KEYWORDS, PLAY_UNSUPPORTED};
use super::tags::{add_tags, inherit_play_tags};
use super::values::{choice, flag, hosts, key_name, percentage, scalar, seq, serial, tag_list, vars_map};
use super::{Block, Keywords, Located, Play, Playbook, RoleInstance, RoleRef, Step, Vars, VarsFile};
use crate::error::{located, located_hint};
use crate::resource::{self, is_template};
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

/// The role an `include_role` names, loaded when a host reaches it: its name and
/// parameters (`tasks_from`, ...) as rendered for that host.
pub fn load_included_role(
    name: &Located<String>,
    params: &crate::resource::Params,
    playbook_dir: &Path,
    options: &LoadOptions,
) -> Result<RoleInstance> {
    Loader::new(playbook_dir, options).load_role_step(name, params)
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
pub(super) struct Loader<'a> {
    pub(super) playbook_dir: PathBuf,
    pub(super) options: &'a LoadOptions,
    /// Roles being loaded, outermost first, for dependency cycles.
    pub(super) role_stack: Vec<(String, PathBuf)>,
    /// Task files being loaded, for import cycles.
    pub(super) file_stack: Vec<PathBuf>,
}

/// Where a task list is being read from.
#[derive(Clone)]
pub(super) struct Scope {
    /// Directory relative task files are found in (a role's `tasks/`).
    pub(super) dir: PathBuf,
    pub(super) role: Option<Arc<RoleRef>>,
    pub(super) handlers: bool,
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

    pub(super) fn block(&mut self, node: &Node, entries: &[(Node, Node)], scope: &Scope) -> Result<Step> {
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

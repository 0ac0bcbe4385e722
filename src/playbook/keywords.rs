//! Keywords: which ones plays, blocks, tasks and role entries accept, and how a task's are
//! read.
//!
//! The tables are the one list of what `deploy` supports (and of what it refuses by name, with
//! the reason), so the parsers and the unknown-keyword errors with their "did you mean" read
//! the same lists. `TaskFields` gathers a task's keywords before its module is known (the
//! module key may come last), with each keyword's position, so an include can refuse the ones
//! it cannot take.

use anyhow::Result;

use super::checks::unknown_key;
use super::values::{
    choice, conditions, flag, integer, is_template_node, key_name, scalar, string_list, tag_list, vars_map,
};
use super::{Keywords, Located, Loop, LoopKind, Templated};
use crate::error::{located_hint, Pos};
use crate::resource;
use crate::yaml::{Data, Node};

pub(super) const PLAY_KEYWORDS: &[&str] = &[
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
pub(super) const PLAY_UNSUPPORTED: &[&str] = &[
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

pub(super) const TASK_KEYWORDS: &[&str] = &[
    "name",
    "when",
    "loop",
    "with_items",
    "with_list",
    "with_dict",
    "with_fileglob",
    "with_subelements",
    "with_flattened",
    "with_community.general.flattened",
    "with_sequence",
    "with_first_found",
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
    "local_action",
    "delegate_to",
    "delegate_facts",
];

/// Ansible task keywords `deploy` does not implement, with the reason.
pub(super) const TASK_UNSUPPORTED: &[(&str, &str)] = &[
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

/// The loop keywords and how each prepares its items.
pub(super) const LOOP_KEYWORDS: &[(&str, LoopKind)] = &[
    ("loop", LoopKind::Loop),
    ("with_items", LoopKind::Items),
    ("with_list", LoopKind::List),
    ("with_dict", LoopKind::Dict),
    ("with_fileglob", LoopKind::Fileglob),
    ("with_first_found", LoopKind::FirstFound),
    ("with_subelements", LoopKind::Subelements),
    ("with_flattened", LoopKind::Flattened),
    ("with_community.general.flattened", LoopKind::Flattened),
    ("with_sequence", LoopKind::Sequence),
];

fn loop_kind(name: &str) -> Option<LoopKind> {
    LOOP_KEYWORDS
        .iter()
        .find(|(k, _)| *k == name)
        .map(|(_, kind)| *kind)
}

pub(super) const BLOCK_KEYWORDS: &[&str] = &[
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
pub(super) const ROLE_ENTRY_KEYWORDS: &[&str] = &[
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
/// Task keywords, before the task's kind (module, include, role) is known.
#[derive(Default)]
pub(super) struct TaskFields {
    pub(super) name: Option<Located<String>>,
    pub(super) keywords: Keywords,
    pub(super) loop_: Option<Loop>,
    pub(super) loop_key: Option<(String, Pos)>,
    pub(super) loop_control: Option<Node>,
    pub(super) register: Option<Located<String>>,
    pub(super) notify: Vec<Located<String>>,
    pub(super) listen: Vec<Located<String>>,
    pub(super) changed_when: Vec<Located<String>>,
    pub(super) failed_when: Vec<Located<String>>,
    pub(super) until: Vec<Located<String>>,
    pub(super) retries: Option<Located<Templated<i64>>>,
    pub(super) delay: Option<Located<Templated<i64>>>,
    pub(super) args: Option<Node>,
    /// Keywords present, by name and position, to refuse the ones an include cannot take.
    pub(super) seen: Vec<(String, Pos)>,
    /// Why a host reaching the task fails (see `Task::unsupported`).
    pub(super) unsupported: Option<String>,
}

impl TaskFields {
    pub(super) fn keyword(&mut self, name: &str, key: &Node, value: &Node) -> Result<()> {
        self.seen.push((name.to_string(), key.pos.clone()));
        if shared_keyword(name, value, &mut self.keywords)? {
            return Ok(());
        }
        match name {
            "name" => self.name = Some(scalar(value, "name")?),
            _ if loop_kind(name).is_some() => {
                if let Some((first, _)) = &self.loop_key {
                    return Err(located_hint(
                        &key.pos,
                        format!("`{first}` and `{name}` cannot be used together; a task has one loop"),
                        "keep only `loop:`",
                    ));
                }
                let kind = loop_kind(name).unwrap_or(LoopKind::Loop);
                let is_list = matches!(value.data, Data::Seq(_));
                let ok = match kind {
                    LoopKind::Dict => matches!(value.data, Data::Map(_)) || is_template_node(value),
                    LoopKind::Items
                    | LoopKind::Fileglob
                    | LoopKind::FirstFound
                    | LoopKind::Flattened
                    | LoopKind::Sequence => !matches!(value.data, Data::Map(_)),
                    LoopKind::Loop | LoopKind::List | LoopKind::Subelements => {
                        is_list || is_template_node(value)
                    }
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
            "delegate_to" => self.keywords.delegate_to = Some(scalar(value, name)?),
            "delegate_facts" => self.keywords.delegate_facts = Some(flag(value, name)?),
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
}

/// Keywords that plays, blocks, tasks and role entries share. Returns false for other names.
pub(super) fn shared_keyword(name: &str, value: &Node, keywords: &mut Keywords) -> Result<bool> {
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

//! Load-time checks that refuse a playbook before any host is touched, each with a position
//! and a hint.
//!
//! Unknown keys and their "did you mean", modules Ansible has and `deploy` does not, two
//! modules in one task, keywords an include cannot take, and controller files (`copy` and
//! `template` sources) that do not exist. The messages are kept together so that they stay
//! alike; `tests/corpus/` holds them.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::keywords::{TaskFields, TASK_KEYWORDS};
use super::plays::{Loader, Scope};
use crate::error::{did_you_mean, located, located_hint};
use crate::resource::{self, is_template, IncludeKind, ModuleSpec};
use crate::yaml::Node;

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
pub(super) fn unknown_key(key: &Node, name: &str, what: &str, known: &[&str]) -> anyhow::Error {
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

pub(super) fn unknown_task_key(key: &Node, name: &str, has_module: bool) -> anyhow::Error {
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

pub(super) fn two_modules(key: &Node, first: &str, second: &str) -> anyhow::Error {
    located_hint(
        &key.pos,
        format!("task has two modules, `{first}` and `{second}`; a task runs exactly one module"),
        "split it into two tasks",
    )
}

impl Loader<'_> {
    /// Finds the controller file of a module with a source (its spec's `source_dir`) when
    /// its `src` is literal, where Ansible looks (`playbook::search`).
    pub(super) fn check_source(
        &self,
        spec: &ModuleSpec,
        params: &resource::Params,
        scope: &Scope,
    ) -> Result<Option<PathBuf>> {
        let Some(subdir) = spec.source_dir else {
            return Ok(None);
        };
        // A source on the host is not the controller's to check.
        if params
            .get("remote_src")
            .is_some_and(|p| p.value == serde_json::Value::Bool(true))
        {
            return Ok(None);
        }
        let Some(src) = params.get("src") else {
            return Ok(None);
        };
        let Some(text) = src.value.as_str() else {
            return Ok(None);
        };
        if is_template(text) {
            return Ok(None);
        }
        let role = scope.role.as_ref().map(|r| r.path.as_path());
        let dirs = super::search::search_dirs(role, &scope.dir, &self.playbook_dir, subdir);
        match super::search::find(text, &dirs) {
            Ok(found) => Ok(Some(found)),
            Err(looked) if looked.is_empty() => Err(located(
                &src.pos,
                format!("{} source `{text}` not found", spec.name),
            )),
            Err(looked) => {
                let looked: Vec<String> = looked.iter().map(|d| display_dir(d)).collect();
                Err(located_hint(
                    &src.pos,
                    format!("{} source `{text}` not found", spec.name),
                    format!("looked in {}", looked.join(", ")),
                ))
            }
        }
    }
}

impl TaskFields {
    /// Refuses the keywords an include cannot take: it runs no module of its own, so there
    /// is no result to register, notify on or retry; an import is expanded once, at load
    /// time, so it cannot loop either.
    pub(super) fn refuse_for_include(&self, spec: &ModuleSpec, kind: IncludeKind) -> Result<()> {
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
        if kind.is_static() {
            refused.extend([
                "loop",
                "with_items",
                "with_list",
                "with_dict",
                "with_fileglob",
                "with_subelements",
                "with_flattened",
                "with_community.general.flattened",
                "with_sequence",
                "loop_control",
            ]);
        }
        if let Some((name, pos)) = self.seen.iter().find(|(n, _)| refused.contains(&n.as_str())) {
            let hint = if kind.is_static() && name.starts_with(['l', 'w']) {
                format!("use `{}` to loop", dynamic_name(kind))
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

/// A directory for a "looked in" hint: the playbook's own directory is the empty path,
/// shown as `.`.
pub(super) fn display_dir(dir: &Path) -> String {
    let text = dir.display().to_string();
    if text.is_empty() {
        ".".to_string()
    } else {
        text
    }
}

/// The module that does at run time what an import does at load time, named in the hints of
/// an import that needs a templated name or a loop.
pub(super) fn dynamic_name(kind: IncludeKind) -> &'static str {
    // Every include kind has its module in the registry (a test in `resource` holds to it).
    kind.dynamic().module().map_or("", |spec| spec.name)
}

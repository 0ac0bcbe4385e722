//! Load-time checks that refuse a playbook before any host is touched, each with a position
//! and a hint.
//!
//! Unknown keys and their "did you mean", modules Ansible has and `deploy` does not, two
//! modules in one task, keywords an include cannot take, and controller files (`copy` and
//! `template` sources) that do not exist. The messages are kept together so that they stay
//! alike; `tests/corpus/` holds them.

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::keywords::{TaskFields, LOOP_KEYWORDS, TASK_KEYWORDS};
use super::plays::{Loader, Scope};
use crate::error::{did_you_mean, located, located_hint};
use crate::resource::{self, is_template, IncludeKind, ModuleSpec};
use crate::yaml::Node;

/// The modules of `ansible.builtin` (ansible-core 2.19): a name under that namespace that is
/// not one of these is a typo, refused at load time as Ansible refuses it.
const ANSIBLE_BUILTIN_MODULES: &[&str] = &[
    "add_host",
    "apt",
    "apt_repository",
    "assemble",
    "assert",
    "async_status",
    "blockinfile",
    "command",
    "copy",
    "cron",
    "debug",
    "dnf",
    "dnf5",
    "expect",
    "fail",
    "fetch",
    "file",
    "gather_facts",
    "get_url",
    "group",
    "group_by",
    "import_playbook",
    "import_role",
    "import_tasks",
    "include_role",
    "include_tasks",
    "include_vars",
    "iptables",
    "lineinfile",
    "meta",
    "mount_facts",
    "package",
    "ping",
    "pip",
    "reboot",
    "rpm_key",
    "service",
    "set_fact",
    "set_stats",
    "shell",
    "stat",
    "subversion",
    "systemd",
    "systemd_service",
    "sysvinit",
    "tempfile",
    "template",
    "unarchive",
    "user",
    "validate_argument_spec",
    "wait_for",
    "wait_for_connection",
    "yum_repository",
];

/// Modules of the collections Ansible ships (community.general, ansible.posix,
/// community.postgresql, community.mysql, community.crypto, ...) that roles use often: names
/// close to a supported module (`postgresql_privs`, `mysql_db`) are not typos of it.
const COLLECTION_MODULES: &[&str] = &[
    "archive",
    "docker_container",
    "docker_image",
    "filesystem",
    "htpasswd",
    "ini_file",
    "lvg",
    "lvol",
    "make",
    "modprobe",
    "mysql_db",
    "mysql_info",
    "mysql_query",
    "mysql_replication",
    "mysql_user",
    "mysql_variables",
    "nmcli",
    "npm",
    "openssl_certificate",
    "openssl_csr",
    "pamd",
    "parted",
    "postgresql_info",
    "postgresql_privs",
    "postgresql_query",
    "postgresql_schema",
    "postgresql_slot",
    "synchronize",
    "x509_certificate",
    "xml",
];

/// Modules that manage other operating systems than the Debian family `deploy` manages, and
/// the family they are for: they load (roles carry them for other platforms, behind a
/// `when:`), and a host that reaches one fails with this reason.
const OTHER_OS_MODULES: &[(&str, &str)] = &[
    ("yum", "Red Hat family"),
    ("dnf", "Red Hat family"),
    ("dnf5", "Red Hat family"),
    ("rpm_key", "Red Hat family"),
    ("yum_repository", "Red Hat family"),
    ("selinux", "SELinux (Red Hat family)"),
    ("seport", "SELinux (Red Hat family)"),
    ("sefcontext", "SELinux (Red Hat family)"),
    ("seboolean", "SELinux (Red Hat family)"),
    ("firewalld", "Red Hat family"),
    ("pacman", "Arch Linux"),
    ("zypper", "SUSE"),
    ("zypper_repository", "SUSE"),
    ("apk", "Alpine"),
    ("pkgng", "FreeBSD"),
    ("openbsd_pkg", "OpenBSD"),
    ("portage", "Gentoo"),
    ("homebrew", "macOS"),
    ("homebrew_cask", "macOS"),
    ("win_package", "Windows"),
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

/// Whether an unknown task key names a module Ansible may know (a builtin, a collection's, one
/// for another OS family), as opposed to a typo. Such a task loads, and fails only on a host
/// that reaches it ([`unsupported_module`] says why): roles carry tasks for other platforms
/// and for modules `deploy` lacks behind conditions that a Debian host never meets.
pub(super) fn ansible_may_know(name: &str) -> bool {
    let valid = name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    if !valid {
        return false;
    }
    match name.rsplit_once('.') {
        Some((namespace, short)) if namespace == "ansible.builtin" || namespace == "ansible.legacy" => {
            ANSIBLE_BUILTIN_MODULES.contains(&short) || OTHER_OS_MODULES.iter().any(|(m, _)| *m == short)
        }
        // A collection's module: whether Ansible has it depends on what is installed.
        Some((namespace, _)) => namespace.matches('.').count() == 1,
        None => {
            ANSIBLE_BUILTIN_MODULES.contains(&name)
                || COLLECTION_MODULES.contains(&name)
                || OTHER_OS_MODULES.iter().any(|(m, _)| *m == name)
                || (did_you_mean(name, TASK_KEYWORDS.iter().copied()).is_none()
                    && did_you_mean(name, resource::names()).is_none())
        }
    }
}

/// The error of a host reaching a task whose module `deploy` does not run.
pub(super) fn unsupported_module(key: &Node, name: &str) -> anyhow::Error {
    let short = name.rsplit('.').next().unwrap_or(name);
    if let Some((_, family)) = OTHER_OS_MODULES.iter().find(|(m, _)| *m == short) {
        return located_hint(
            &key.pos,
            format!("module `{name}` manages {family} hosts, and this host reached it"),
            "deploy manages Debian-family hosts: run the task under `when: ansible_os_family == ...`, or use `package`/`apt`",
        );
    }
    located(
        &key.pos,
        format!(
            "module `{name}` is not supported; supported modules are: {}",
            resource::supported_list()
        ),
    )
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
            "delegate_to",
            "delegate_facts",
        ];
        if kind.is_static() {
            refused.extend(LOOP_KEYWORDS.iter().map(|(name, _)| *name));
            refused.push("loop_control");
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

//! `docs/modules.md` is generated from the module specs (`deploy::resource::MODULES`) and each
//! module file's `//!` header, so that the page cannot drift from what the loader accepts.
//! This test fails when the page is stale; `DEPLOY_UPDATE_DOCS=1 cargo test --test module_docs`
//! rewrites it.
//!
//! A header's first paragraph is the module's summary; a paragraph starting
//! `Differences from Ansible:` is shown as such. The page also says which of the project's
//! compatibility units (`compat/fixtures/`, run against ansible-playbook on lab hosts by
//! `tests/compat.rs`) use each module.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

use deploy::resource::{DefaultValue, FreeForm, ModuleKind, ModuleSpec, ParamType, MODULES};

const PAGE: &str = "docs/modules.md";
const DIFFERENCES: &str = "Differences from Ansible:";

/// A module file's `//!` header, as paragraphs of joined lines.
fn header_paragraphs(source: &str) -> Vec<String> {
    let mut paragraphs = vec![String::new()];
    for line in source.lines() {
        let Some(text) = line.strip_prefix("//!") else {
            break;
        };
        let text = text.strip_prefix(' ').unwrap_or(text);
        if text.trim().is_empty() {
            if !paragraphs.last().unwrap().is_empty() {
                paragraphs.push(String::new());
            }
            continue;
        }
        let paragraph = paragraphs.last_mut().unwrap();
        if !paragraph.is_empty() {
            // Keep list items and code on their own lines; join wrapped prose.
            let starts_block = text.starts_with("- ") || text.starts_with("```") || text.starts_with("  ");
            paragraph.push(if starts_block || paragraph.ends_with("```") {
                '\n'
            } else {
                ' '
            });
        }
        paragraph.push_str(if text.starts_with("  ") {
            text
        } else {
            text.trim_end()
        });
    }
    paragraphs.retain(|p| !p.is_empty());
    paragraphs
}

/// The summary without its leading "`name` (...): " (the page's heading already names it).
fn summary(spec: &ModuleSpec, paragraphs: &[String]) -> String {
    let first = paragraphs.first().map(String::as_str).unwrap_or("");
    let mut rest = first.strip_prefix(&format!("`{}`", spec.name)).unwrap_or(first);
    if let Some(inner) = rest.strip_prefix(" (") {
        rest = inner.split_once(')').map_or(rest, |(_, after)| after);
    }
    let rest = rest.trim_start_matches([':', ',', ' ']);
    let mut chars = rest.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

fn kind(spec: &ModuleSpec) -> &'static str {
    match spec.kind {
        ModuleKind::Resource => "resource (probed, diffed, changed only when it differs)",
        ModuleKind::Command => "command (converged only through `creates`/`removes`)",
        ModuleKind::Wait => "wait (never drift)",
        ModuleKind::Control => "control (runs on the controller)",
        ModuleKind::Include(kind) if kind.is_static() => "include (when the playbook loads)",
        ModuleKind::Include(_) => "include (when a host reaches it)",
    }
}

fn type_name(kind: ParamType) -> &'static str {
    match kind {
        ParamType::Str => "str",
        ParamType::Path => "path",
        ParamType::Bool => "bool",
        ParamType::Int => "int",
        ParamType::List => "list",
        ParamType::Dict => "dict",
        ParamType::Raw => "raw",
        ParamType::Mode => "mode",
    }
}

fn default_text(default: Option<DefaultValue>) -> String {
    match default {
        None => String::new(),
        Some(DefaultValue::Str("")) => "`\"\"`".into(),
        Some(DefaultValue::Str(s)) => format!("`{s}`"),
        Some(DefaultValue::Bool(b)) => format!("`{b}`"),
        Some(DefaultValue::Int(i)) => format!("`{i}`"),
    }
}

fn code_list(items: &[&str]) -> String {
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The compatibility units that call `spec`, by any of its names.
fn units_using(spec: &ModuleSpec, root: &Path) -> BTreeSet<String> {
    let (namespace, _) = spec.fqcn.rsplit_once('.').unwrap_or(("", ""));
    let mut names: Vec<String> = std::iter::once(spec.name)
        .chain(spec.aliases.iter().copied())
        .flat_map(|n| [n.to_string(), format!("{namespace}.{n}")])
        .collect();
    if namespace == "ansible.builtin" {
        names.extend(std::iter::once(spec.name).map(|n| format!("ansible.legacy.{n}")));
    }
    let mut units = BTreeSet::new();
    let fixtures = root.join("compat/fixtures");
    let Ok(entries) = std::fs::read_dir(&fixtures) else {
        return units;
    };
    for unit in entries.flatten() {
        let unit_name = unit.file_name().to_string_lossy().into_owned();
        let mut stack = vec![unit.path()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    stack.push(path);
                    continue;
                }
                if !matches!(path.extension().and_then(|e| e.to_str()), Some("yml" | "yaml")) {
                    continue;
                }
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                let uses = text.lines().any(|line| {
                    let key = line.trim_start().trim_start_matches("- ").trim_start();
                    names.iter().any(|n| {
                        key.strip_prefix(n.as_str())
                            .is_some_and(|rest| rest.starts_with(':'))
                    })
                });
                if uses {
                    units.insert(unit_name.clone());
                }
            }
        }
    }
    units
}

fn render(root: &Path) -> String {
    let mut specs: Vec<&ModuleSpec> = MODULES.to_vec();
    specs.sort_by_key(|s| s.name);
    let mut page = String::new();
    page.push_str(
        "# Modules\n\n\
         <!-- Generated by tests/module_docs.rs from the module specs; do not edit by hand:\n     \
         DEPLOY_UPDATE_DOCS=1 cargo test --test module_docs -->\n\n\
         The modules `deploy` runs itself, with the parameters each accepts. A module is named \
         by its short name, its fully qualified name, or for `ansible.builtin` modules the \
         `ansible.legacy.` form. Parameters and their aliases are checked when the playbook \
         loads; a parameter outside this list is an error with its `path:line:col`.\n\n\
         Modules Ansible has that are not listed here (and those for other OS families, such \
         as `yum`, `dnf`, `rpm_key`, `selinux`) still load: a task that calls one fails with \
         a clear message only on a host that reaches it, as a Debian host skips a role's \
         `setup-RedHat.yml`.\n\n\
         \"Tested against Ansible\" names the project's compatibility units \
         (`compat/fixtures/`) that use the module: `tests/compat.rs` converges each with \
         ansible-playbook on one lab host and with `deploy` on another, and requires each \
         tool to see the other's host as converged.\n\n",
    );
    page.push_str("| module | what it does | tested against Ansible in |\n|---|---|---|\n");
    let mut sections = String::new();
    for spec in &specs {
        let file = root.join("src/resource").join(format!("{}.rs", spec.name));
        let source = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("module `{}` has no file {}: {e}", spec.name, file.display()));
        let paragraphs = header_paragraphs(&source);
        let summary = summary(spec, &paragraphs);
        assert!(!summary.is_empty(), "{} has no `//!` header", file.display());
        let units = units_using(spec, root);
        let first_sentence = summary
            .split(". ")
            .next()
            .unwrap_or(&summary)
            .trim_end_matches('.');
        let _ = writeln!(
            page,
            "| [`{}`](#{}) | {} | {} |",
            spec.name,
            spec.name,
            first_sentence.replace('|', "\\|"),
            units
                .iter()
                .map(|u| format!("`{u}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );

        let _ = writeln!(sections, "## {}\n", spec.name);
        let mut names = format!("`{}`", spec.fqcn);
        if !spec.aliases.is_empty() {
            let _ = write!(names, "; also called {}", code_list(spec.aliases));
        }
        let _ = writeln!(sections, "{names} · {}\n", kind(spec));
        for paragraph in &paragraphs {
            let paragraph = if std::ptr::eq(paragraph, &paragraphs[0]) {
                &summary
            } else {
                paragraph
            };
            if let Some(rest) = paragraph.strip_prefix(DIFFERENCES) {
                let _ = writeln!(sections, "**{DIFFERENCES}**{rest}\n");
            } else {
                let _ = writeln!(sections, "{paragraph}\n");
            }
        }
        if let FreeForm::Raw(param) = spec.free_form {
            let _ = writeln!(
                sections,
                "Free form: the text after the module name is `{param}`.\n"
            );
        }
        if spec.any_params {
            let _ = writeln!(sections, "Any parameter name is accepted.\n");
        }
        if !spec.params.is_empty() {
            sections.push_str("| parameter | type | default | choices | aliases |\n|---|---|---|---|---|\n");
            for param in spec.params {
                let name = if param.required {
                    format!("`{}` (required)", param.name)
                } else {
                    format!("`{}`", param.name)
                };
                let _ = writeln!(
                    sections,
                    "| {name} | {} | {} | {} | {} |",
                    type_name(param.kind),
                    default_text(param.default),
                    code_list(param.choices),
                    code_list(param.aliases)
                );
            }
            sections.push('\n');
        }
        for (what, groups) in [
            ("Mutually exclusive", spec.mutually_exclusive),
            ("One of these is required", spec.required_one_of),
        ] {
            for group in groups {
                let _ = writeln!(sections, "{what}: {}.\n", code_list(group));
            }
        }
        for (param, value, needed) in spec.required_if {
            let _ = writeln!(
                sections,
                "With `{param}: {value}`, required: {}.\n",
                code_list(needed)
            );
        }
    }
    page.push('\n');
    page.push_str(&sections);
    while page.ends_with("\n\n") {
        page.pop();
    }
    page
}

#[test]
fn the_modules_page_is_generated_from_the_specs() {
    let root = common::project_root();
    let page = render(root);
    let path = root.join(PAGE);
    if std::env::var_os("DEPLOY_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &page).expect("docs/modules.md is written");
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == page,
        "{PAGE} is stale: run `DEPLOY_UPDATE_DOCS=1 cargo test --test module_docs` and commit it"
    );
}

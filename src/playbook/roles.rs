//! Roles: where they are found, and their dependencies, defaults, vars, tasks and handlers.
//!
//! A role named by a `roles:` entry, a `meta/main.yml` dependency or an `include_role` /
//! `import_role` task is looked for beside the playbook, then in `roles_path`, then in the
//! project's `roles/`, as Ansible does. The search order, the "did you mean" hint and the
//! dependency-cycle check live together here so that where a role comes from reads in one
//! place.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};

use super::checks::{display_dir, unknown_key};
use super::keywords::{shared_keyword, ROLE_ENTRY_KEYWORDS};
use super::plays::{load_vars_file, Loader, Scope};
use super::tags::{add_tags, inherit_tags};
use super::values::{flag, key_name, scalar, seq};
use super::{Keywords, Located, RoleInstance, RoleRef, Templated, Vars};
use crate::error::{did_you_mean, located, located_hint, Pos};
use crate::resource;
use crate::yaml::{self, Data, Node};

impl Loader<'_> {
    /// A `roles:` entry or a `meta/main.yml` dependency.
    pub(super) fn role_entry(&mut self, node: &Node, parent: Option<&RoleInstance>) -> Result<RoleInstance> {
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

    pub(super) fn load_role(
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
pub(super) struct RoleFiles {
    pub(super) tasks: Option<String>,
    pub(super) vars: Option<String>,
    pub(super) defaults: Option<String>,
    pub(super) handlers: Option<String>,
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

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::{load_playbook, LoadOptions, Play, Step};

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

//! `include_vars`: loads variables from YAML or JSON files on the controller when a host
//! reaches the task, for the rest of the run on that host.
//!
//! Roles use it to pick their OS-specific defaults (`vars/Debian.yml`), often with
//! `with_first_found`. The variables take Ansible's `include_vars` precedence: above task
//! variables, below `set_fact` and extra variables.
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _, Result};
use indexmap::IndexMap;
use serde_json::{json, Map, Value as Json};

use super::control::{ControlContext, Effect};
use super::{DefaultValue as D, FreeForm, ModuleKind, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::python_regex::PythonRegex;

/// Loads variables from a file or a directory of files.
///
/// ```yaml
/// - include_vars: "{{ ansible_os_family }}.yml"
/// - include_vars:
///     dir: vars/common
///     name: common
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "include_vars",
    fqcn: "ansible.builtin.include_vars",
    kind: ModuleKind::Control,
    params: &[
        P::new("file", Path),
        P::new("dir", Path),
        P::new("name", Str),
        P::new("depth", Int).default(D::Int(0)),
        P::new("files_matching", Str),
        P::new("ignore_files", List),
        P::new("extensions", List),
        P::new("ignore_unknown_extensions", Bool).default(D::Bool(false)),
        P::new("hash_behaviour", Str).choices(&["replace", "merge"]),
    ],
    // `include_vars: vars/main.yml`: the free form is the file.
    free_form: FreeForm::Raw("file"),
    mutually_exclusive: &[&["file", "dir"]],
    required_one_of: &[&["file", "dir"]],
    control: Some(run),
    source_dir: Some("vars"),
    ..ModuleSpec::DEFAULT
};

const EXTENSIONS: &[&str] = &["yaml", "yml", "json"];

fn run(values: &IndexMap<String, Json>, context: &dyn ControlContext) -> Result<(Json, Effect)> {
    let text = |name: &str| values.get(name).and_then(Json::as_str).map(str::to_string);
    let list = |name: &str| -> Vec<String> {
        match values.get(name) {
            Some(Json::Array(items)) => items
                .iter()
                .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
                .collect(),
            Some(Json::String(s)) => s.split(',').map(|p| p.trim().to_string()).collect(),
            _ => Vec::new(),
        }
    };
    let mut extensions = list("extensions");
    if extensions.is_empty() {
        extensions = EXTENSIONS.iter().map(|e| e.to_string()).collect();
    }
    let merge = text("hash_behaviour").as_deref() == Some("merge");
    let mut vars = Map::new();
    let mut files = Vec::new();
    if let Some(file) = text("file") {
        let path = context.find_file("vars", file.trim_end_matches('\n'))?;
        if !has_extension(&path, &extensions) {
            bail!(
                "{}: {} does not have a valid extension: {}",
                context.pos(),
                path.display(),
                extensions.join(", ")
            );
        }
        vars = load(&path)?;
        files.push(path);
    } else if let Some(dir) = text("dir") {
        let dir = context.find_file("vars", &dir)?;
        if !dir.is_dir() {
            bail!("{}: {} is not a directory", context.pos(), dir.display());
        }
        let depth = values.get("depth").and_then(Json::as_u64).unwrap_or(0) as usize;
        let matching = text("files_matching")
            .map(|p| PythonRegex::new(&p).with_context(|| format!("{}: files_matching", context.pos())))
            .transpose()?;
        let ignore = list("ignore_files")
            .iter()
            .map(|p| PythonRegex::new(&format!("{p}$")).with_context(|| format!("{}: ignore_files", context.pos())))
            .collect::<Result<Vec<_>>>()?;
        let ignore_unknown = values.get("ignore_unknown_extensions") == Some(&Json::Bool(true));
        for path in files_in(&dir, depth, 1)? {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            if matching.as_ref().is_some_and(|m| m.search(name.as_bytes()).is_none())
                || ignore.iter().any(|i| i.search(name.as_bytes()).is_some())
            {
                continue;
            }
            if !has_extension(&path, &extensions) {
                if ignore_unknown {
                    continue;
                }
                bail!(
                    "{}: {} does not have a valid extension: {}",
                    context.pos(),
                    path.display(),
                    extensions.join(", ")
                );
            }
            let loaded = load(&path)?;
            if merge {
                merge_into(&mut vars, loaded);
            } else {
                vars.extend(loaded);
            }
            files.push(path);
        }
    }
    if let Some(name) = text("name") {
        vars = Map::from_iter([(name, Json::Object(vars))]);
    }
    let result = json!({
        "changed": false,
        "ansible_facts": vars,
        "ansible_included_var_files": files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    });
    Ok((result, Effect::IncludeVars(vars.into_iter().collect())))
}

fn has_extension(path: &Path, extensions: &[String]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| extensions.iter().any(|x| x == e))
}

/// A vars file's mapping (an empty file is no variables).
fn load(path: &Path) -> Result<Map<String, Json>> {
    let root = crate::yaml::load_file(path)?;
    match root.to_value() {
        Json::Object(map) => Ok(map),
        Json::Null => Ok(Map::new()),
        _ => Err(root.error(format!(
            "a vars file must be a mapping of variables, found {}",
            root.type_name()
        ))),
    }
}

/// Files of `dir` and its subdirectories down to `depth` (0: all), sorted by name at each
/// level, files before the directories below them, as Ansible walks them.
fn files_in(dir: &Path, depth: usize, level: usize) -> Result<Vec<PathBuf>> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    entries.sort();
    let mut out: Vec<PathBuf> = entries.iter().filter(|p| p.is_file()).cloned().collect();
    if depth == 0 || level < depth {
        for sub in entries.iter().filter(|p| p.is_dir()) {
            out.extend(files_in(sub, depth, level + 1)?);
        }
    }
    Ok(out)
}

/// `hash_behaviour: merge`: mappings merged key by key, recursively.
fn merge_into(into: &mut Map<String, Json>, from: Map<String, Json>) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Json::Object(existing)), Json::Object(new)) => merge_into(existing, new),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

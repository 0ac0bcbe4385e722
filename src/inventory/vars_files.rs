//! `group_vars/` and `host_vars/` directories, as Ansible's `host_group_vars` plugin reads them.
//!
//! For a group or host NAME, the first of `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json` that
//! exists is read; when it is a directory, every YAML/JSON file below it is read in name
//! order (hidden files and `~` backups skipped) and merged, later files replacing earlier
//! top-level keys. Everything is read when the inventory loads, so errors surface at once.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{merge, Inventory, Vars};
use crate::yaml::{self, Data};

const EXTENSIONS: [&str; 3] = ["yml", "yaml", "json"];

/// The variables files found in one directory for the inventory's groups and hosts.
#[derive(Debug, Default)]
pub struct VarsDir {
    groups: HashMap<String, Vec<Vars>>,
    hosts: HashMap<String, Vec<Vars>>,
}

impl VarsDir {
    /// Reads `dir/group_vars/*` and `dir/host_vars/*` for every group and host of `inventory`.
    pub fn load(dir: &Path, inventory: &Inventory) -> Result<VarsDir> {
        let mut loaded = VarsDir::default();
        let group_vars = dir.join("group_vars");
        if group_vars.is_dir() {
            for name in inventory.groups.keys() {
                let files = load_entity(&group_vars, name)?;
                if !files.is_empty() {
                    loaded.groups.insert(name.clone(), files);
                }
            }
        }
        let host_vars = dir.join("host_vars");
        if host_vars.is_dir() {
            let implicit = super::LOCALHOST_NAMES.iter().map(|n| n.to_string());
            let names: Vec<String> = inventory.hosts.keys().cloned().chain(implicit).collect();
            for name in names {
                let files = load_entity(&host_vars, &name)?;
                if !files.is_empty() {
                    loaded.hosts.insert(name, files);
                }
            }
        }
        Ok(loaded)
    }

    pub fn merge_group(&self, into: &mut Vars, group: &str) {
        for vars in self.groups.get(group).into_iter().flatten() {
            merge(into, vars);
        }
    }

    pub fn merge_host(&self, into: &mut Vars, host: &str) {
        for vars in self.hosts.get(host).into_iter().flatten() {
            merge(into, vars);
        }
    }
}

/// The files for one entity, each file's variables separately, in merge order.
fn load_entity(dir: &Path, name: &str) -> Result<Vec<Vars>> {
    // Ansible skips names that are absolute paths (chroot-style host names).
    if name.starts_with('/') {
        return Ok(Vec::new());
    }
    let candidates =
        std::iter::once(dir.join(name)).chain(EXTENSIONS.iter().map(|ext| dir.join(format!("{name}.{ext}"))));
    for candidate in candidates {
        if candidate.is_dir() {
            let mut files = Vec::new();
            collect_files(&candidate, &mut files)?;
            return files
                .iter()
                .map(|f| load_vars_file(f))
                .filter_map(Result::transpose)
                .collect();
        }
        if candidate.exists() {
            return Ok(load_vars_file(&candidate)?.into_iter().collect());
        }
    }
    Ok(Vec::new())
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot read {}", dir.display()))?;
    entries.sort();
    for path in entries {
        let file_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if file_name.starts_with('.') || file_name.ends_with('~') {
            continue;
        }
        let extension = path.extension().map(|e| e.to_string_lossy().into_owned());
        if path.is_dir() {
            if extension.is_none() {
                collect_files(&path, files)?;
            }
        } else if extension.as_deref().is_none_or(|e| EXTENSIONS.contains(&e)) {
            files.push(path);
        }
    }
    Ok(())
}

/// One vars file: a mapping, or nothing when empty.
fn load_vars_file(path: &Path) -> Result<Option<Vars>> {
    let node = yaml::load_file(path)?;
    match &node.data {
        Data::Null => Ok(None),
        Data::Map(entries) if entries.is_empty() => Ok(None),
        Data::Map(entries) => Ok(Some(
            entries
                .iter()
                .map(|(key, value)| (key.key_string().unwrap_or_default(), value.to_value()))
                .collect(),
        )),
        _ => Err(node.error_hint(
            format!(
                "a variables file must be a mapping of variable names, found {}",
                node.type_name()
            ),
            "write one `name: value` per line",
        )),
    }
}

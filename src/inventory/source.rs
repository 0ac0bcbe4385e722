//! What an `-i` argument is: a file, a directory of inventories, a script, or a host list.
//!
//! Ansible tries its inventory plugins in turn on each source; the outcome for the formats
//! `deploy` reads is decided here once, so every parser only ever sees its own format.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{ini, range, script, yaml_source, Inventory};
use crate::error::SourceError;
use crate::yaml::{self, Data};

/// File name endings Ansible skips in an inventory directory (`INVENTORY_IGNORE_EXTS`).
const IGNORED_ENDINGS: [&str; 12] = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".cfg", ".retry",
];

/// Names in an inventory directory that are not inventories.
const IGNORED_NAMES: [&str; 3] = ["host_vars", "group_vars", "vars_plugins"];

/// Reads one `-i` source into `inventory`. Returns the directory whose `group_vars/` and
/// `host_vars/` belong to it (none for a host list).
pub fn load_source(inventory: &mut Inventory, source: &Path) -> Result<Option<PathBuf>> {
    if !source.exists() {
        let text = source.to_string_lossy();
        if text.contains(',') {
            load_host_list(inventory, &text);
            return Ok(None);
        }
        bail!(
            "inventory source `{}` does not exist (a file, a directory, a script, or a comma-separated host list like `web1,web2,`)",
            source.display()
        );
    }
    if source.is_dir() {
        load_directory(inventory, source)?;
        Ok(Some(source.to_path_buf()))
    } else {
        load_file(inventory, source)?;
        let parent = source.parent().filter(|p| !p.as_os_str().is_empty());
        Ok(Some(parent.map_or_else(|| PathBuf::from("."), Path::to_path_buf)))
    }
}

/// `-i 'web1,web2:2222,'`: every name goes to `ungrouped`, with an optional port.
fn load_host_list(inventory: &mut Inventory, list: &str) {
    for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
        let (name, port) = range::parse_address(entry)
            .filter(|(host, _)| !host.contains('['))
            .unwrap_or_else(|| (entry.to_string(), None));
        if !inventory.hosts.contains_key(&name) {
            inventory.add_host(&name, "ungrouped", port);
        }
    }
}

/// Every inventory in a directory, in name order, recursively; hidden files, backups and
/// `group_vars`/`host_vars` are skipped as Ansible skips them.
fn load_directory(inventory: &mut Inventory, dir: &Path) -> Result<()> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read inventory directory {}", dir.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<_>>()
        .with_context(|| format!("cannot read inventory directory {}", dir.display()))?;
    entries.sort();
    for path in entries {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if is_ignored(&name) {
            continue;
        }
        if path.is_dir() {
            load_directory(inventory, &path)?;
        } else {
            load_file(inventory, &path)?;
        }
    }
    Ok(())
}

/// Whether Ansible skips this name inside an inventory directory.
pub fn is_ignored(name: &str) -> bool {
    name.starts_with('.')
        || IGNORED_NAMES.contains(&name)
        || IGNORED_ENDINGS.iter().any(|end| name.ends_with(end))
}

fn load_file(inventory: &mut Inventory, path: &Path) -> Result<()> {
    inventory.current_source = Some(std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()));
    let result = parse_file(inventory, path);
    inventory.current_source = None;
    result
}

fn parse_file(inventory: &mut Inventory, path: &Path) -> Result<()> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read inventory {}", path.display()))?;
    let plain = crate::vault::open_bytes(bytes, path)?;
    let (bytes, from_vault) = (plain.bytes, plain.from_vault);
    if is_executable(path) && (bytes.starts_with(b"#!") || bytes.starts_with(b"\x7fELF")) {
        return script::load(inventory, path);
    }
    let text = yaml::utf8_text(bytes, path)?;
    let extension = path.extension().map(|e| e.to_string_lossy().to_lowercase());
    match extension.as_deref() {
        Some("yml" | "yaml" | "json") => {
            let node = yaml::parse_str(&text, path)?;
            if from_vault {
                yaml::taint_strings(&node);
            }
            yaml_source::load(inventory, &node)
        }
        Some("toml") => bail!(
            "{}: TOML inventories are not supported; use INI or YAML",
            path.display()
        ),
        Some(_) => load_ini(inventory, &text, path),
        None => {
            // Like Ansible, a file without extension is YAML when it reads as a YAML mapping.
            match yaml::parse_str(&text, path) {
                Ok(node) if matches!(node.data, Data::Map(_)) => {
                    if from_vault {
                        yaml::taint_strings(&node);
                    }
                    yaml_source::load(inventory, &node)
                }
                _ => load_ini(inventory, &text, path),
            }
        }
    }
}

/// INI, the format of last resort; a script that is not executable lands here too, and its
/// first line says what went wrong.
fn load_ini(inventory: &mut Inventory, text: &str, path: &Path) -> Result<()> {
    let result = ini::load(inventory, text, path);
    if result.is_err() && text.starts_with("#!") {
        let error = result.expect_err("checked above");
        let located = error.downcast::<SourceError>()?;
        return Err(located
            .with_hint(format!(
                "{} starts with `#!` but is not executable; to use it as a dynamic inventory script: chmod +x {}",
                path.display(),
                path.display()
            ))
            .into());
    }
    result
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
}

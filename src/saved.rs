//! Saved plans: `deploy plan --out plan.json`, then `deploy apply plan.json`.
//!
//! A reviewer approves a plan; what gets applied must be that plan. The file records the run's
//! inputs (inventory, playbook, limit, tags), a digest of every input file, and for each host a
//! fingerprint of what the probe saw for each step. Applying it re-probes: a host whose state
//! changed since is refused (naming the steps), unchanged hosts are applied, and changed input
//! files refuse the whole plan. Extra variables are not stored (they may hold secrets): the
//! same `-e` must be given again, and their digest must match.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::digest::hex;

/// The file's format version.
pub const VERSION: u32 = 1;

/// A plan as saved by `deploy plan --out`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SavedPlan {
    /// Marks the file as a saved plan, with its format version.
    pub deploy_saved_plan: u32,
    pub inventories: Vec<PathBuf>,
    pub playbook: PathBuf,
    pub limit: Option<String>,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    /// Digest of the `-e` arguments (not the values themselves).
    pub extra_vars_digest: String,
    /// Digest of every input file: inventories, playbook directory, roles.
    pub inputs_digest: String,
    pub hosts: Vec<SavedHost>,
}

/// What the plan saw on one host.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SavedHost {
    pub host: String,
    pub steps: Vec<SavedStep>,
}

/// One probed step of a saved plan.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct SavedStep {
    pub location: String,
    pub task: String,
    pub fingerprint: String,
}

/// Whether `path` is a saved plan (rather than a playbook).
pub fn is_saved_plan(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "json")
        && std::fs::read(path)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .is_some_and(|v| v.get("deploy_saved_plan").is_some())
}

pub fn load(path: &Path) -> Result<SavedPlan> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read the saved plan {}", path.display()))?;
    let plan: SavedPlan = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a saved plan of this version of deploy", path.display()))?;
    if plan.deploy_saved_plan != VERSION {
        bail!(
            "{}: saved plan format {} is not supported (this deploy reads {VERSION})",
            path.display(),
            plan.deploy_saved_plan
        );
    }
    Ok(plan)
}

/// Writes the plan atomically (temporary file, then rename).
pub fn write(path: &Path, plan: &SavedPlan) -> Result<()> {
    let text = serde_json::to_string_pretty(plan)?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let temporary = dir.join(format!(
        ".{}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("plan")
    ));
    std::fs::write(&temporary, text + "\n")
        .with_context(|| format!("cannot write {}", temporary.display()))?;
    std::fs::rename(&temporary, path).with_context(|| format!("cannot write {}", path.display()))
}

/// A digest of the `-e` arguments.
pub fn extra_vars_digest(extra_vars: &[String]) -> String {
    let mut hasher = Sha256::new();
    for arg in extra_vars {
        hasher.update(arg.len().to_le_bytes());
        hasher.update(arg.as_bytes());
    }
    hex(&hasher.finalize())
}

/// A digest of every file a run reads: inventories, the playbook's directory and the
/// project's roles (sorted paths and contents; retry files and VCS directories left out).
pub fn inputs_digest(inventories: &[PathBuf], playbook: &Path, project_root: &Path) -> Result<String> {
    let mut files = Vec::new();
    for inventory in inventories {
        collect(inventory, &mut files)?;
    }
    let playbook_dir = playbook
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    collect(playbook_dir, &mut files)?;
    let roles = project_root.join("roles");
    if roles.is_dir() {
        collect(&roles, &mut files)?;
    }
    files.sort();
    files.dedup();
    let mut hasher = Sha256::new();
    for file in files {
        let bytes = std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
        hasher.update(file.display().to_string().as_bytes());
        hasher.update([0]);
        hasher.update(Sha256::digest(&bytes));
    }
    Ok(hex(&hasher.finalize()))
}

fn collect(path: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
    let path = std::fs::canonicalize(path).with_context(|| format!("cannot read {}", path.display()))?;
    if path.is_file() {
        files.push(path);
        return Ok(());
    }
    for entry in std::fs::read_dir(&path).with_context(|| format!("cannot read {}", path.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with(".git")
            || name == "target"
            || name.ends_with(".retry")
            || name.ends_with(".json") && name.contains("plan")
        {
            continue;
        }
        let child = entry.path();
        if child.is_dir() {
            collect(&child, files)?;
        } else if child.is_file() {
            files.push(child);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_digests_change_with_any_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("site.yml"), "- hosts: all\n").unwrap();
        std::fs::write(dir.path().join("hosts"), "a\n").unwrap();
        let inventories = vec![dir.path().join("hosts")];
        let first = inputs_digest(&inventories, &dir.path().join("site.yml"), dir.path()).unwrap();
        assert_eq!(
            first,
            inputs_digest(&inventories, &dir.path().join("site.yml"), dir.path()).unwrap()
        );
        std::fs::write(dir.path().join("hosts"), "b\n").unwrap();
        assert_ne!(
            first,
            inputs_digest(&inventories, &dir.path().join("site.yml"), dir.path()).unwrap()
        );
        std::fs::write(dir.path().join("site.retry"), "x\n").unwrap();
        let second = inputs_digest(&inventories, &dir.path().join("site.yml"), dir.path()).unwrap();
        std::fs::write(dir.path().join("site.retry"), "y\n").unwrap();
        assert_eq!(
            second,
            inputs_digest(&inventories, &dir.path().join("site.yml"), dir.path()).unwrap()
        );
    }

    #[test]
    fn saved_plans_round_trip_and_refuse_other_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let mut plan = SavedPlan {
            deploy_saved_plan: VERSION,
            inventories: vec!["hosts".into()],
            playbook: "site.yml".into(),
            limit: None,
            tags: vec![],
            skip_tags: vec![],
            extra_vars_digest: extra_vars_digest(&[]),
            inputs_digest: "d".into(),
            hosts: vec![SavedHost {
                host: "h1".into(),
                steps: vec![SavedStep {
                    location: "site.yml:3".into(),
                    task: "t".into(),
                    fingerprint: "f".into(),
                }],
            }],
        };
        write(&path, &plan).unwrap();
        assert!(is_saved_plan(&path));
        assert_eq!(load(&path).unwrap(), plan);
        plan.deploy_saved_plan = 99;
        write(&path, &plan).unwrap();
        assert!(load(&path)
            .unwrap_err()
            .to_string()
            .contains("format 99 is not supported"));
    }
}

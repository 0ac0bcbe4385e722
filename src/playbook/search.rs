//! Where a task's controller files are found (`copy`'s `src`, `template`'s template): one
//! search path, used by the loader to check a literal `src` before anything runs, and by the
//! engine to find a templated one when a host reaches the task.
//!
//! Ansible looks in the role's `files/` or `templates/` and the role itself, then beside the
//! task file (and in its `files/` or `templates/`), then in the playbook's directory (and its
//! `files/` or `templates/`).

use std::path::{Path, PathBuf};

/// The directories searched for a task's `src`, in order, each once. `subdir` is the
/// module's (`files`, `templates`: its spec's `source_dir`).
pub fn search_dirs(role: Option<&Path>, task_dir: &Path, playbook_dir: &Path, subdir: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    if let Some(role) = role {
        dirs.push(role.join(subdir));
        dirs.push(role.to_path_buf());
    }
    dirs.push(task_dir.join(subdir));
    dirs.push(task_dir.to_path_buf());
    dirs.push(playbook_dir.join(subdir));
    dirs.push(playbook_dir.to_path_buf());
    let mut unique: Vec<PathBuf> = Vec::new();
    for dir in dirs {
        if !unique.contains(&dir) {
            unique.push(dir);
        }
    }
    unique
}

/// `src` as found in `dirs` (an absolute `src` as it is); or, when it is nowhere, the
/// directories looked in (none for an absolute path).
pub fn find(src: &str, dirs: &[PathBuf]) -> Result<PathBuf, Vec<PathBuf>> {
    let relative = Path::new(src);
    if relative.is_absolute() {
        return if relative.exists() {
            Ok(relative.to_path_buf())
        } else {
            Err(Vec::new())
        };
    }
    dirs.iter()
        .map(|dir| dir.join(relative))
        .find(|p| p.exists())
        .ok_or_else(|| dirs.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_role_first_then_the_task_file_then_the_playbook() {
        let dirs = search_dirs(
            Some(Path::new("/p/roles/web")),
            Path::new("/p/roles/web/tasks"),
            Path::new("/p"),
            "templates",
        );
        assert_eq!(
            dirs,
            [
                "/p/roles/web/templates",
                "/p/roles/web",
                "/p/roles/web/tasks/templates",
                "/p/roles/web/tasks",
                "/p/templates",
                "/p"
            ]
            .map(PathBuf::from)
        );
        // A task file beside the playbook: each directory once.
        assert_eq!(
            search_dirs(None, Path::new("/p"), Path::new("/p"), "files"),
            ["/p/files", "/p"].map(PathBuf::from)
        );
    }

    #[test]
    fn finds_the_first_match_or_says_where_it_looked() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("files")).unwrap();
        std::fs::write(dir.path().join("files/motd"), "hi\n").unwrap();
        let dirs = search_dirs(None, dir.path(), dir.path(), "files");
        assert_eq!(find("motd", &dirs), Ok(dir.path().join("files/motd")));
        assert_eq!(find("other", &dirs), Err(dirs.clone()));
        assert_eq!(find("/nonexistent/x", &dirs), Err(Vec::new()));
    }
}

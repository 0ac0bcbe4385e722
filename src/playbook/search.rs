//! Where a task's controller files are found (`copy`'s `src`, `template`'s template): one
//! search path, used by the loader to check a literal `src` before anything runs, and by the
//! engine to find a templated one when a host reaches the task.
//!
//! Ansible looks in the role's `files/` or `templates/` and the role itself, then beside the
//! task file (and in its `files/` or `templates/`), then in the playbook's directory (and its
//! `files/` or `templates/`).

use std::path::{Path, PathBuf};

use serde_json::Value;

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

/// Controller files matching a `with_fileglob` pattern: an absolute pattern as it is, a
/// relative one in the first of `dirs` holding its directory; sorted, files only.
pub fn glob(pattern: &str, dirs: &[PathBuf]) -> Vec<PathBuf> {
    let (dir, name) = match pattern.rsplit_once('/') {
        Some((dir, name)) => (if dir.is_empty() { "/" } else { dir }, name),
        None => ("", pattern),
    };
    let base = if Path::new(dir).is_absolute() {
        Some(PathBuf::from(dir))
    } else {
        dirs.iter().map(|d| d.join(dir)).find(|d| d.is_dir())
    };
    let (Some(base), Ok(matcher)) = (base, regex::Regex::new(&crate::inventory::glob_to_regex(name))) else {
        return Vec::new();
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(&base)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name().to_str().is_some_and(|n| matcher.is_match(n)))
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    found.sort();
    found
}

/// The candidate names of a `first_found` lookup's terms, in the order searched, and whether
/// to give nothing instead of failing when none exists: a term is a file name, a list of
/// terms, or `{files, paths, skip}` (each file under each path; `files` and `paths` given as
/// one string are split on `,;` and `,:;`, as Ansible still does).
pub fn first_found_candidates(terms: &Value) -> Result<(Vec<String>, bool), String> {
    let mut names = Vec::new();
    let mut skip = false;
    collect_candidates(terms, &mut names, &mut skip)?;
    Ok((names, skip))
}

fn collect_candidates(term: &Value, names: &mut Vec<String>, skip: &mut bool) -> Result<(), String> {
    match term {
        Value::String(name) => names.push(name.clone()),
        Value::Array(terms) => {
            for term in terms {
                collect_candidates(term, names, skip)?;
            }
        }
        Value::Object(options) => {
            let files = split_option(options.get("files"), &[',', ';'])?;
            let paths = split_option(options.get("paths"), &[',', ':', ';'])?;
            if let Some(value) = options.get("skip") {
                *skip = match value {
                    Value::Bool(b) => *b,
                    Value::String(s) => crate::resource::parse_bool(s).unwrap_or(false),
                    _ => false,
                };
            }
            if paths.is_empty() {
                names.extend(files);
            } else {
                for path in &paths {
                    for file in &files {
                        names.push(Path::new(path).join(file).display().to_string());
                    }
                }
            }
        }
        Value::Null => {}
        other => {
            return Err(format!(
                "first_found takes file names, lists or `{{files, paths, skip}}` mappings, found {other}"
            ))
        }
    }
    Ok(())
}

fn split_option(value: Option<&Value>, separators: &[char]) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(text)) => Ok(text.split(separators).map(str::to_string).collect()),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(split_option(Some(item), separators)?);
            }
            Ok(out)
        }
        Some(other) => Err(format!("first_found: expected file names, found {other}")),
    }
}

/// The first of `candidates` that exists in `dirs` (an absolute one as it is).
pub fn first_existing(candidates: &[String], dirs: &[PathBuf]) -> Option<PathBuf> {
    candidates.iter().find_map(|name| find(name, dirs).ok())
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

    #[test]
    fn first_found_terms_as_ansible_reads_them() {
        let terms = serde_json::json!([
            "a.yml",
            ["b.yml", null],
            {"files": ["c.yml", "d.yml"], "paths": ["vars", "/etc"]},
            {"files": "e.yml;f.yml", "skip": true}
        ]);
        let (names, skip) = first_found_candidates(&terms).unwrap();
        assert_eq!(
            names,
            [
                "a.yml",
                "b.yml",
                "vars/c.yml",
                "vars/d.yml",
                "/etc/c.yml",
                "/etc/d.yml",
                "e.yml",
                "f.yml"
            ]
        );
        assert!(skip);
        assert!(first_found_candidates(&serde_json::json!([1])).is_err());

        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("vars")).unwrap();
        std::fs::write(dir.path().join("vars/Debian.yml"), "x: 1\n").unwrap();
        let dirs = search_dirs(None, dir.path(), dir.path(), "vars");
        let found = first_existing(&["Debian-12.yml".into(), "Debian.yml".into()], &dirs);
        assert_eq!(found, Some(dir.path().join("vars/Debian.yml")));
        assert_eq!(first_existing(&["RedHat.yml".into()], &dirs), None);
    }
}

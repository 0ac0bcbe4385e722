//! `lineinfile`: one line of a file, present or absent, found by regexp or content.
//!
//! The probe brings the file back; the new content is computed here exactly as Ansible's
//! module computes it (last match wins unless `firstmatch`, `backrefs` leave the file alone
//! when nothing matches, a missing final newline is added before appending), and converged
//! through [`EditedFile`].
use anyhow::{bail, Result};

use super::lifecycle::{Args, BuildContext, Step};
use super::text_edit::{split_lines, EditedFile, TextEdit};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::python_regex::PythonRegex;

/// Ensures a line is in (or out of) a file.
///
/// ```yaml
/// - lineinfile:
///     path: /etc/default/app
///     regexp: '^PORT='
///     line: PORT=8081
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "lineinfile",
    fqcn: "ansible.builtin.lineinfile",
    params: &[
        P::new("path", Path)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        P::new("regexp", Str).aliases(&["regex"]),
        P::new("search_string", Str),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("line", Str).aliases(&["value"]),
        P::new("backrefs", Bool).default(D::Bool(false)),
        P::new("insertafter", Str),
        P::new("insertbefore", Str),
        P::new("create", Bool).default(D::Bool(false)),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("firstmatch", Bool).default(D::Bool(false)),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("validate", Str),
        P::new("attributes", Str).aliases(&["attr"]),
        P::new("unsafe_writes", Bool),
    ],
    mutually_exclusive: &[
        &["insertbefore", "insertafter"],
        &["regexp", "search_string"],
        &["backrefs", "search_string"],
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&["attributes", "unsafe_writes"])?;
    let edit = LineInFile::from_args(args)?;
    Ok(Box::new(EditedFile::from_args(args, edit)?))
}

/// Where a line goes when nothing matches it.
#[derive(Clone, Debug)]
pub enum Insert {
    /// `insertafter: EOF` (the default).
    AfterEof,
    /// `insertafter: BOF` or `insertbefore: BOF`.
    Bof,
    After(PythonRegex),
    Before(PythonRegex),
}

/// Ansible's `lineinfile` algorithm, computed locally.
#[derive(Clone, Debug)]
pub struct LineInFile {
    pub present: bool,
    pub regexp: Option<PythonRegex>,
    pub search_string: Option<String>,
    pub line: Option<String>,
    pub insert: Insert,
    pub backrefs: bool,
    pub firstmatch: bool,
    pub create: bool,
}

impl LineInFile {
    pub fn from_args(args: &Args) -> Result<LineInFile> {
        let regexp = args.str("regexp")?.map(|r| PythonRegex::new(&r)).transpose()?;
        let search_string = args.str("search_string")?;
        let line = args.str("line")?;
        let present = args.str("state")?.as_deref() != Some("absent");
        let backrefs = args.flag("backrefs")?;
        if present {
            if backrefs && regexp.is_none() {
                bail!("regexp is required with backrefs=true");
            }
            if line.is_none() {
                bail!("line is required with state=present");
            }
        } else if regexp.is_none() && search_string.is_none() && line.is_none() {
            bail!("one of line, search_string, or regexp is required with state=absent");
        }
        let insert = match (args.str("insertafter")?, args.str("insertbefore")?) {
            (Some(_), Some(_)) => bail!("parameters `insertafter` and `insertbefore` are mutually exclusive"),
            (Some(after), None) if after == "EOF" => Insert::AfterEof,
            (Some(after), None) if after == "BOF" => Insert::Bof,
            (Some(after), None) => Insert::After(PythonRegex::new(&after)?),
            (None, Some(before)) if before == "BOF" => Insert::Bof,
            (None, Some(before)) => Insert::Before(PythonRegex::new(&before)?),
            (None, None) => Insert::AfterEof,
        };
        Ok(LineInFile {
            present,
            regexp,
            search_string,
            line,
            insert,
            backrefs,
            firstmatch: args.flag("firstmatch")?,
            create: args.flag("create")?,
        })
    }

    /// The file's new lines for `state: present` (Ansible's `present()`), or `None` when
    /// nothing changes.
    fn present(&self, mut lines: Vec<Vec<u8>>) -> Result<Option<Vec<Vec<u8>>>> {
        let line = self.line.as_deref().unwrap_or_default().as_bytes();
        let strip = |l: &[u8]| -> Vec<u8> {
            let mut end = l.len();
            while end > 0 && matches!(l[end - 1], b'\r' | b'\n') {
                end -= 1;
            }
            l[..end].to_vec()
        };
        let ends_with_newline = |l: &[u8]| matches!(l.last(), Some(b'\n' | b'\r'));
        let with_newline = |l: &[u8]| {
            let mut l = l.to_vec();
            l.push(b'\n');
            l
        };
        // index 0: the line the regexp (or search string, or exact line) found; index 1:
        // where `insertafter`/`insertbefore` point.
        let mut found: Option<usize> = None;
        let mut anchor: Option<usize> = None;
        let mut regex_match: Option<(usize, crate::python_regex::Found)> = None;
        let mut matched = false;
        if let Some(regexp) = &self.regexp {
            for (number, current) in lines.iter().enumerate() {
                if let Some(hit) = regexp.search(current) {
                    found = Some(number);
                    regex_match = Some((number, hit));
                    matched = true;
                    if self.firstmatch {
                        break;
                    }
                }
            }
        }
        if let Some(search) = &self.search_string {
            for (number, current) in lines.iter().enumerate() {
                if contains(current, search.as_bytes()) {
                    found = Some(number);
                    matched = true;
                    if self.firstmatch {
                        break;
                    }
                }
            }
        }
        if !matched {
            let insert_regex = match &self.insert {
                Insert::After(r) | Insert::Before(r) => Some(r),
                _ => None,
            };
            for (number, current) in lines.iter().enumerate() {
                if strip(current) == line {
                    found = Some(number);
                } else if let Some(regex) = insert_regex {
                    if regex.search(current).is_some() {
                        anchor = Some(match self.insert {
                            Insert::After(_) => number + 1,
                            _ => number,
                        });
                        if self.firstmatch {
                            break;
                        }
                    }
                }
            }
        }
        let mut changed = false;
        if let Some(index) = found {
            let mut new_line = match (&regex_match, self.backrefs) {
                (Some((number, hit)), true) => {
                    let regexp = self.regexp.as_ref().expect("a regex match comes from the regexp");
                    regexp.expand(line, hit, &lines[*number])?
                }
                _ => line.to_vec(),
            };
            if !new_line.ends_with(b"\n") {
                new_line.push(b'\n');
            }
            if lines[index] != new_line {
                lines[index] = new_line;
                changed = true;
            }
        } else if self.backrefs {
            // Ansible does nothing: the line cannot be built without a match for the groups.
        } else if matches!(self.insert, Insert::Bof) {
            lines.insert(0, with_newline(line));
            changed = true;
        } else {
            // `insertafter: EOF`, or an anchor that matched nothing: append.
            match (anchor, &self.insert) {
                (None, _) => {
                    if lines.last().is_some_and(|last| !ends_with_newline(last)) {
                        lines.push(b"\n".to_vec());
                    }
                    lines.push(with_newline(line));
                    changed = true;
                }
                (Some(anchor), Insert::After(_)) => {
                    // The line right after the anchor may already be the one wanted.
                    let next = if lines.len() == anchor { anchor - 1 } else { anchor };
                    if strip(&lines[next]) != line {
                        lines.insert(anchor, with_newline(line));
                        changed = true;
                    }
                }
                (Some(anchor), _) => {
                    lines.insert(anchor, with_newline(line));
                    changed = true;
                }
            }
        }
        Ok(changed.then_some(lines))
    }

    /// The file's new lines for `state: absent`, or `None` when nothing changes.
    fn absent(&self, lines: Vec<Vec<u8>>) -> Option<Vec<Vec<u8>>> {
        let before = lines.len();
        let kept: Vec<Vec<u8>> = lines
            .into_iter()
            .filter(|current| {
                let hit = if let Some(regexp) = &self.regexp {
                    regexp.search(current).is_some()
                } else if let Some(search) = &self.search_string {
                    contains(current, search.as_bytes())
                } else {
                    let mut end = current.len();
                    while end > 0 && matches!(current[end - 1], b'\r' | b'\n') {
                        end -= 1;
                    }
                    &current[..end] == self.line.as_deref().unwrap_or_default().as_bytes()
                };
                !hit
            })
            .collect();
        (kept.len() != before).then_some(kept)
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

impl TextEdit for LineInFile {
    fn edit(&self, current: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let lines = match current {
            Some(content) => split_lines(content),
            None if !self.present => return Ok(None),
            None if !self.create => bail!("Destination does not exist !"),
            None => Vec::new(),
        };
        let edited = if self.present {
            self.present(lines)?
        } else {
            self.absent(lines)
        };
        Ok(edited.map(|lines| lines.concat()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::text_edit::testing::{converge_here, file_probe, run, values};
    use serde_json::json;

    fn step(params: serde_json::Value) -> Box<dyn Step> {
        let values = values(params);
        build(&Args::new(&SPEC, &values), &NoContext).unwrap()
    }

    fn edit(params: serde_json::Value, content: &str) -> String {
        let mut params = params;
        params["path"] = json!("/f");
        let values = values(params);
        let edit = LineInFile::from_args(&Args::new(&SPEC, &values)).unwrap();
        match edit.edit(Some(content.as_bytes())).unwrap() {
            Some(bytes) => String::from_utf8(bytes).unwrap(),
            None => content.to_string(),
        }
    }

    #[test]
    fn replaces_the_last_match_unless_firstmatch() {
        let text = "PORT=1\nx\nPORT=2\n";
        assert_eq!(
            edit(json!({"regexp": "^PORT=", "line": "PORT=9"}), text),
            "PORT=1\nx\nPORT=9\n"
        );
        assert_eq!(
            edit(
                json!({"regexp": "^PORT=", "line": "PORT=9", "firstmatch": true}),
                text
            ),
            "PORT=9\nx\nPORT=2\n"
        );
    }

    #[test]
    fn appends_after_a_missing_final_newline() {
        assert_eq!(edit(json!({"line": "b"}), "a"), "a\nb\n");
        assert_eq!(
            edit(json!({"line": "a"}), "a"),
            "a\n",
            "an exact line gets its newline"
        );
        assert_eq!(edit(json!({"line": "a"}), "a\n"), "a\n");
    }

    #[test]
    fn backrefs_leave_the_file_alone_without_a_match() {
        let params = json!({"regexp": "^(\\w+)=old$", "line": "\\1=new", "backrefs": true});
        assert_eq!(edit(params.clone(), "k=old\n"), "k=new\n");
        assert_eq!(edit(params, "k=other\n"), "k=other\n");
    }

    #[test]
    fn inserts_after_and_before_anchors() {
        let text = "[a]\nx=1\n[b]\ny=2\n";
        assert_eq!(
            edit(json!({"line": "z=3", "insertafter": "^\\[a\\]"}), text),
            "[a]\nz=3\nx=1\n[b]\ny=2\n"
        );
        assert_eq!(
            edit(json!({"line": "z=3", "insertbefore": "^\\["}), text),
            "[a]\nx=1\nz=3\n[b]\ny=2\n"
        );
        assert_eq!(
            edit(json!({"line": "z=3", "insertbefore": "BOF"}), text),
            format!("z=3\n{text}")
        );
        assert_eq!(
            edit(json!({"line": "z=3", "insertafter": "^nothing"}), text),
            format!("{text}z=3\n"),
            "an anchor that matches nothing appends"
        );
    }

    #[test]
    fn absent_removes_every_match() {
        assert_eq!(
            edit(json!({"regexp": "^#", "state": "absent"}), "#a\nb\n#c\n"),
            "b\n"
        );
        assert_eq!(edit(json!({"line": "b", "state": "absent"}), "a\nb\r\n"), "a\n");
        assert_eq!(
            edit(json!({"search_string": "x", "state": "absent"}), "axb\nc\n"),
            "c\n"
        );
    }

    #[test]
    fn plans_from_canned_probe_output() {
        let task = step(json!({"path": "/etc/default/app", "regexp": "^PORT=", "line": "PORT=8081"}));
        let (diff, script) = task
            .plan(&file_probe("/etc/default/app", Some(b"A=1\nPORT=8081\n")))
            .unwrap();
        assert!(diff.is_converged(), "{diff:?}");
        assert!(script.is_empty());
        let (diff, script) = task
            .plan(&file_probe("/etc/default/app", Some(b"A=1\nPORT=80\n")))
            .unwrap();
        assert_eq!(diff.action, Action::Change);
        assert!(diff.content.unwrap().contains("-PORT=80\n+PORT=8081\n"));
        assert!(script.as_str().contains("changed since the plan"));
        let err = task.plan(&file_probe("/etc/default/app", None)).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            "/etc/default/app: Destination does not exist !"
        );
        let task = step(json!({"path": "/etc/x", "line": "a", "create": true, "mode": "0600"}));
        let (diff, _) = task.plan(&file_probe("/etc/x", None)).unwrap();
        assert_eq!(diff.action, Action::Create);
        let task = step(json!({"path": "/etc/x", "line": "a", "state": "absent"}));
        assert!(task.plan(&file_probe("/etc/x", None)).unwrap().0.is_converged());
    }

    #[test]
    fn refuses_what_ansible_refuses() {
        let map = values(json!({"path": "/f", "regexp": "x", "backrefs": true}));
        assert!(build(&Args::new(&SPEC, &map), &NoContext).is_err());
        let map = values(json!({"path": "/f", "state": "absent"}));
        assert!(build(&Args::new(&SPEC, &map), &NoContext).is_err());
        // Look-around is Python's, as in Ansible: accepted.
        let map = values(json!({"path": "/f", "line": "x", "regexp": "(?<=a)"}));
        assert!(build(&Args::new(&SPEC, &map), &NoContext).is_ok());
    }

    #[test]
    fn converges_a_real_file_and_follows_symlinks() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.conf");
        std::fs::write(&real, "A=1\nPORT=80\n").unwrap();
        let link = dir.path().join("link.conf");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let task = step(
            json!({"path": link.to_str().unwrap(), "regexp": "^PORT=", "line": "PORT=8081", "mode": "0600"}),
        );
        let diff = converge_here(task.as_ref());
        assert_eq!(diff.action, Action::Change);
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "A=1\nPORT=8081\n");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        let created = dir.path().join("sub/dir/new.conf");
        let task = step(json!({"path": created.to_str().unwrap(), "line": "x", "create": true}));
        assert_eq!(converge_here(task.as_ref()).action, Action::Create);
        assert_eq!(std::fs::read_to_string(&created).unwrap(), "x\n");
    }

    #[test]
    fn a_concurrent_edit_fails_the_step_instead_of_being_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "a\n").unwrap();
        let task = step(json!({"path": path.to_str().unwrap(), "line": "b"}));
        let probe = run(&task.probe());
        let (_, script) = task
            .plan(&crate::probe::Section {
                output: probe.stdout,
                status: 0,
            })
            .unwrap();
        std::fs::write(&path, "a\nsomeone else\n").unwrap();
        let applied = run(&script);
        assert!(!applied.status.success());
        assert!(String::from_utf8_lossy(&applied.stderr).contains("changed since the plan"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\nsomeone else\n");
    }
}

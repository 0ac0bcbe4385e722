//! `blockinfile`: a block of lines between `# BEGIN/END ANSIBLE MANAGED BLOCK` markers.
//!
//! As for `lineinfile`, the file comes back in the probe and the new content is computed here
//! with Ansible's algorithm (markers matched as whole lines, a block with a missing marker
//! inserted anew, an empty block removing the markers too), then converged through
//! [`EditedFile`].
use anyhow::Result;

use super::lifecycle::{Args, BuildContext, Step};
use super::text_edit::{split_lines_universal, EditedFile, TextEdit};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::python_regex::PythonRegex;

/// Ensures a marked block of text is in (or out of) a file.
///
/// ```yaml
/// - blockinfile:
///     path: /etc/hosts
///     block: |
///       10.0.0.1 db
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "blockinfile",
    fqcn: "ansible.builtin.blockinfile",
    params: &[
        P::new("path", Path)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("marker", Str).default(D::Str("# {mark} ANSIBLE MANAGED BLOCK")),
        P::new("block", Str).default(D::Str("")).aliases(&["content"]),
        P::new("insertafter", Str),
        P::new("insertbefore", Str),
        P::new("create", Bool).default(D::Bool(false)),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("marker_begin", Str).default(D::Str("BEGIN")),
        P::new("marker_end", Str).default(D::Str("END")),
        P::new("append_newline", Bool).default(D::Bool(false)),
        P::new("prepend_newline", Bool).default(D::Bool(false)),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("validate", Str),
        P::new("attributes", Str).aliases(&["attr"]),
        P::new("unsafe_writes", Bool),
    ],
    mutually_exclusive: &[&["insertbefore", "insertafter"]],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&["attributes", "unsafe_writes"])?;
    let edit = BlockInFile::from_args(args)?;
    Ok(Box::new(EditedFile::from_args(args, edit)?))
}

/// Where a block without both markers goes.
#[derive(Clone, Debug)]
pub enum Insert {
    /// `insertafter: EOF` (the default).
    AfterEof,
    /// `insertbefore: BOF`.
    Bof,
    After(PythonRegex),
    Before(PythonRegex),
}

/// Ansible's `blockinfile` algorithm, computed locally.
#[derive(Clone, Debug)]
pub struct BlockInFile {
    pub present: bool,
    pub block: String,
    /// The begin and end marker lines, `\n` included.
    pub begin: Vec<u8>,
    pub end: Vec<u8>,
    pub insert: Insert,
    pub create: bool,
    pub prepend_newline: bool,
    pub append_newline: bool,
}

impl BlockInFile {
    pub fn from_args(args: &Args) -> Result<BlockInFile> {
        let marker = args.required_str("marker")?;
        let marker_line = |mark: &str| {
            let mut line = marker.replace("{mark}", mark).into_bytes();
            line.push(b'\n');
            line
        };
        let insert = match (args.str("insertafter")?, args.str("insertbefore")?) {
            (Some(_), Some(_)) => {
                anyhow::bail!("parameters `insertafter` and `insertbefore` are mutually exclusive")
            }
            (Some(after), None) if after == "EOF" => Insert::AfterEof,
            (Some(after), None) => Insert::After(PythonRegex::new(&after)?),
            (None, Some(before)) if before == "BOF" => Insert::Bof,
            (None, Some(before)) => Insert::Before(PythonRegex::new(&before)?),
            (None, None) => Insert::AfterEof,
        };
        Ok(BlockInFile {
            present: args.str("state")?.as_deref() != Some("absent"),
            block: args.str("block")?.unwrap_or_default(),
            begin: marker_line(&args.required_str("marker_begin")?),
            end: marker_line(&args.required_str("marker_end")?),
            insert,
            create: args.flag("create")?,
            prepend_newline: args.flag("prepend_newline")?,
            append_newline: args.flag("append_newline")?,
        })
    }
}

impl TextEdit for BlockInFile {
    fn edit(&self, current: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let mut lines = match current {
            Some(original) => split_lines_universal(original),
            None if !self.present => return Ok(None),
            None if !self.create => anyhow::bail!("Path does not exist !"),
            None => Vec::new(),
        };
        let block_lines: Vec<Vec<u8>> = if self.present && !self.block.is_empty() {
            let mut block = self.block.clone().into_bytes();
            if !block.ends_with(b"\n") {
                block.push(b'\n');
            }
            std::iter::once(self.begin.clone())
                .chain(split_lines_universal(&block))
                .chain(std::iter::once(self.end.clone()))
                .collect()
        } else {
            Vec::new()
        };
        let mut begin = None;
        let mut end = None;
        for (i, line) in lines.iter().enumerate() {
            if *line == self.begin {
                begin = Some(i);
            }
            if *line == self.end {
                end = Some(i);
            }
        }
        let mut at = match (begin, end) {
            (Some(n0), Some(n1)) if n0 < n1 => {
                lines.drain(n0..=n1);
                n0
            }
            (Some(n0), Some(n1)) => {
                lines.drain(n1..=n0);
                n1
            }
            _ => self.insertion_point(&lines, current.unwrap_or_default()),
        };
        if at > 0 && !lines[at - 1].ends_with(b"\n") {
            lines[at - 1].push(b'\n');
        }
        if self.prepend_newline && self.present && at != 0 && lines[at - 1] != b"\n" {
            lines.insert(at, b"\n".to_vec());
            at += 1;
        }
        let after_block = at + block_lines.len();
        lines.splice(at..at, block_lines);
        if self.append_newline && self.present && after_block < lines.len() && lines[after_block] != b"\n" {
            lines.insert(after_block, b"\n".to_vec());
        }
        let result = lines.concat();
        Ok((current != Some(result.as_slice())).then_some(result))
    }
}

impl BlockInFile {
    /// Where a new block goes: after the last line matching `insertafter`, before the last
    /// line matching `insertbefore` (a `(?m)` pattern searches the whole file once), or at
    /// the end when nothing matches.
    fn insertion_point(&self, lines: &[Vec<u8>], original: &[u8]) -> usize {
        let (regex, after) = match &self.insert {
            Insert::AfterEof => return lines.len(),
            Insert::Bof => return 0,
            Insert::After(regex) => (regex, true),
            Insert::Before(regex) => (regex, false),
        };
        let found = if regex.is_multiline() {
            regex.search(original).map(|hit| {
                let upto = if after { hit.end() } else { hit.start() };
                original[..upto].iter().filter(|&&b| b == b'\n').count()
            })
        } else {
            lines.iter().rposition(|line| regex.search(line).is_some())
        };
        match found {
            None => lines.len(),
            Some(n) if after => n + 1,
            Some(n) => n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::text_edit::testing::{converge_here, file_probe, values};
    use serde_json::json;

    fn step(params: serde_json::Value) -> Box<dyn Step> {
        let map = values(params);
        build(&Args::new(&SPEC, &map), &NoContext).unwrap()
    }

    fn edit(params: serde_json::Value, content: Option<&str>) -> Option<String> {
        let mut params = params;
        params["path"] = json!("/f");
        let map = values(params);
        let edit = BlockInFile::from_args(&Args::new(&SPEC, &map)).unwrap();
        edit.edit(content.map(str::as_bytes))
            .unwrap()
            .map(|bytes| String::from_utf8(bytes).unwrap())
    }

    const BEGIN: &str = "# BEGIN ANSIBLE MANAGED BLOCK\n";
    const END: &str = "# END ANSIBLE MANAGED BLOCK\n";

    #[test]
    fn appends_a_new_block_with_markers() {
        assert_eq!(
            edit(json!({"block": "a\nb"}), Some("x")).unwrap(),
            format!("x\n{BEGIN}a\nb\n{END}")
        );
        assert_eq!(
            edit(json!({"block": "a", "create": true}), None).unwrap(),
            format!("{BEGIN}a\n{END}")
        );
    }

    #[test]
    fn replaces_the_block_in_place_and_is_stable() {
        let text = format!("x\n{BEGIN}old\n{END}y\n");
        let new = edit(json!({"block": "new\n"}), Some(&text)).unwrap();
        assert_eq!(new, format!("x\n{BEGIN}new\n{END}y\n"));
        assert_eq!(edit(json!({"block": "new\n"}), Some(&new)), None);
    }

    #[test]
    fn absent_or_empty_removes_markers_too() {
        let text = format!("x\n{BEGIN}old\n{END}y\n");
        assert_eq!(edit(json!({"state": "absent"}), Some(&text)).unwrap(), "x\ny\n");
        assert_eq!(edit(json!({"block": ""}), Some(&text)).unwrap(), "x\ny\n");
        assert_eq!(edit(json!({"state": "absent"}), None), None);
    }

    #[test]
    fn custom_markers_and_anchors() {
        let new = edit(
            json!({"block": "k", "marker": "// {mark} managed", "marker_begin": "start", "marker_end": "stop", "insertbefore": "^b"}),
            Some("a\nb\nb\n"),
        )
        .unwrap();
        assert_eq!(new, "a\nb\n// start managed\nk\n// stop managed\nb\n");
        let new = edit(
            json!({"block": "k", "insertafter": "(?m)^a\\nb"}),
            Some("a\nb\nc\n"),
        )
        .unwrap();
        assert_eq!(new, format!("a\nb\n{BEGIN}k\n{END}c\n"));
        let new = edit(json!({"block": "k", "insertbefore": "BOF"}), Some("a\n")).unwrap();
        assert_eq!(new, format!("{BEGIN}k\n{END}a\n"));
    }

    #[test]
    fn plans_from_canned_probe_output() {
        let task = step(json!({"path": "/etc/hosts", "block": "10.0.0.1 db"}));
        let converged = format!("127.0.0.1 localhost\n{BEGIN}10.0.0.1 db\n{END}");
        assert!(task
            .plan(&file_probe("/etc/hosts", Some(converged.as_bytes())))
            .unwrap()
            .0
            .is_converged());
        let (diff, _) = task
            .plan(&file_probe("/etc/hosts", Some(b"127.0.0.1 localhost\n")))
            .unwrap();
        assert_eq!(diff.action, Action::Change);
        assert!(diff.content.unwrap().contains("+10.0.0.1 db"));
        let err = task.plan(&file_probe("/etc/hosts", None)).unwrap_err();
        assert_eq!(format!("{err:#}"), "/etc/hosts: Path does not exist !");
    }

    #[test]
    fn converges_a_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hosts");
        std::fs::write(&path, "127.0.0.1 localhost\n").unwrap();
        let task = step(
            json!({"path": path.to_str().unwrap(), "block": "10.0.0.1 db\n10.0.0.2 web", "mode": "0640"}),
        );
        assert_eq!(converge_here(task.as_ref()).action, Action::Change);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            format!("127.0.0.1 localhost\n{BEGIN}10.0.0.1 db\n10.0.0.2 web\n{END}")
        );
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            0o640
        );
    }
}

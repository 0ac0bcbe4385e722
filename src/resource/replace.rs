//! `replace`: every match of a Python regexp in a file replaced, as `re.subn` does it.
//!
//! Computed locally, as `lineinfile` is: the probe brings the file back, the new content is
//! Ansible's (the pattern compiled with `re.MULTILINE` through the one translator, the
//! replacement expanded as `Match.expand` does, only the part between `after` and `before`
//! touched, found with `re.DOTALL` as the module composes that pattern), and the file is
//! converged through [`EditedFile`] (atomic write, `backup`, `validate`, attributes).
//!
//! Differences from Ansible: `encoding` must be `utf-8` (the default); a file that is not
//! UTF-8 is refused rather than round-tripped with surrogates.
use anyhow::{bail, Context, Result};

use super::lifecycle::{Args, BuildContext, Step};
use super::text_edit::{EditedFile, TextEdit};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::python_regex::{Flags, TextRegex};

/// Replaces all matches of a regular expression in a file.
///
/// ```yaml
/// - replace:
///     path: /etc/yum.conf
///     regexp: '^\s*gpgcheck.*'
///     replace: gpgcheck=1
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "replace",
    fqcn: "ansible.builtin.replace",
    params: &[
        P::new("path", Path)
            .required()
            .aliases(&["dest", "destfile", "name"]),
        P::new("regexp", Str).required(),
        P::new("replace", Str).default(D::Str("")),
        P::new("after", Str),
        P::new("before", Str),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("validate", Str),
        P::new("encoding", Str).default(D::Str("utf-8")),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("attributes", Str).aliases(&["attr"]),
        P::new("unsafe_writes", Bool),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&["attributes", "unsafe_writes"])?;
    let edit = Replace::from_args(args)?;
    Ok(Box::new(EditedFile::from_args(args, edit)?))
}

/// Ansible's `replace` algorithm, computed locally.
#[derive(Debug)]
pub struct Replace {
    pub path: String,
    pub regexp: TextRegex,
    pub replace: String,
    /// The pattern that finds the part to edit (group `subsection`), from `after`/`before`.
    pub section: Option<(TextRegex, String)>,
}

impl Replace {
    pub fn from_args(args: &Args) -> Result<Replace> {
        let encoding = args.str("encoding")?.unwrap_or_else(|| "utf-8".into());
        if !matches!(encoding.to_ascii_lowercase().as_str(), "utf-8" | "utf8") {
            bail!("`encoding: {encoding}` is not supported by deploy; files are read as utf-8");
        }
        let regexp = args.required_str("regexp")?;
        let multiline = Flags {
            multiline: true,
            ..Flags::default()
        };
        let after = args.str("after")?.filter(|s| !s.is_empty());
        let before = args.str("before")?.filter(|s| !s.is_empty());
        let pattern = match (&after, &before) {
            (Some(after), Some(before)) => Some(format!("{after}(?P<subsection>.*?){before}")),
            (Some(after), None) => Some(format!("{after}(?P<subsection>.*)")),
            (None, Some(before)) => Some(format!("(?P<subsection>.*){before}")),
            (None, None) => None,
        };
        let section = pattern
            .map(|p| TextRegex::new(&format!("(?s){p}"), Flags::default()).map(|r| (r, p)))
            .transpose()?;
        Ok(Replace {
            path: args.required_str("path")?,
            regexp: TextRegex::new(&regexp, multiline)?,
            replace: args.str("replace")?.unwrap_or_default(),
            section,
        })
    }
}

impl TextEdit for Replace {
    fn edit(&self, current: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let Some(current) = current else {
            bail!("Path {} does not exist !", self.path);
        };
        let contents = std::str::from_utf8(current).context("the file is not UTF-8 text")?;
        let (start, end) = match &self.section {
            None => (0, contents.len()),
            Some((regex, _)) => {
                let group = regex
                    .group_index("subsection")
                    .context("the after/before pattern lost its group")?;
                let Some(found) = regex.search(contents)? else {
                    // Ansible reports "Pattern for before/after params did not match".
                    return Ok(None);
                };
                let text = found.get(group).unwrap_or_default();
                let start = found.start(group).unwrap_or(0);
                (start, start + text.len())
            }
        };
        let section = &contents[start..end];
        let replaced = self.regexp.sub(section, &self.replace, 0)?;
        if replaced == section {
            return Ok(None);
        }
        let mut out = String::with_capacity(contents.len());
        out.push_str(&contents[..start]);
        out.push_str(&replaced);
        out.push_str(&contents[end..]);
        Ok(Some(out.into_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Action;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::text_edit::testing::{converge_here, file_probe};
    use serde_json::json;

    fn replace(params: serde_json::Value) -> Replace {
        let map = crate::resource::text_edit::testing::values(params);
        Replace::from_args(&Args::new(&SPEC, &map)).unwrap()
    }

    #[test]
    fn replaces_every_match_within_the_section() {
        let edit = replace(json!({"path": "/f", "regexp": "^(\\w+)=1$", "replace": "\\1=2"}));
        assert_eq!(edit.edit(Some(b"a=1\nb=1\nc=3\n")).unwrap().unwrap(), b"a=2\nb=2\nc=3\n");
        assert_eq!(edit.edit(Some(b"c=3\n")).unwrap(), None);
        assert!(edit.edit(None).unwrap_err().to_string().contains("does not exist"));
        let edit = replace(json!({"path": "/f", "regexp": "x", "replace": "y", "after": "BEGIN", "before": "END"}));
        assert_eq!(
            edit.edit(Some(b"x BEGIN x\nx END x")).unwrap().unwrap(),
            b"x BEGIN y\ny END x"
        );
        assert_eq!(edit.edit(Some(b"x")).unwrap(), None);
    }

    #[test]
    fn converges_a_real_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("yum.conf");
        std::fs::write(&path, "[main]\n  gpgcheck=0\n").unwrap();
        let map = crate::resource::text_edit::testing::values(
            json!({"path": path.to_str().unwrap(), "regexp": "^\\s*gpgcheck.*", "replace": "gpgcheck=1", "mode": "0644"}),
        );
        let step = build(&Args::new(&SPEC, &map), &NoContext).unwrap();
        assert_eq!(converge_here(step.as_ref()).action, Action::Change);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "[main]\ngpgcheck=1\n");
        let missing = step.plan(&file_probe("/none", None));
        assert!(missing.is_err());
    }
}

//! `slurp`: a file's content from the host, base64-encoded, for the tasks after it
//! (`"{{ key.content | b64decode }}"`).
//!
//! A query answered from its probe, like `stat`: the content travels back in the stage's one
//! round, and the answer has Ansible's names (`content`, `encoding: base64`, `source`). A
//! missing file or a directory fails the task with Ansible's messages.

use anyhow::{bail, Context, Result};
use serde_json::{json, Value as Json};

use super::lifecycle::{key_values, plain_path, value_of, Args, BuildContext, Resource, Step};
use super::{ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::Diff;
use crate::probe::Section;
use crate::shell::Script;

/// Reads a file from the host.
///
/// ```yaml
/// - slurp:
///     src: /etc/ssh/ssh_host_ed25519_key.pub
///   register: host_key
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "slurp",
    fqcn: "ansible.builtin.slurp",
    params: &[P::new("src", Path).required().aliases(&["path"])],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(Slurp {
        src: args.required_str("src")?,
    }))
}

#[derive(Debug)]
pub struct Slurp {
    pub src: String,
}

impl Resource for Slurp {
    /// The content, base64-encoded as the probe sent it.
    type State = String;

    fn target(&self) -> String {
        self.src.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.line("p={}", &[&self.src]);
        script.raw(
            r#"if [ -d "$p" ]; then echo kind=directory
elif [ ! -e "$p" ]; then echo kind=absent
elif [ ! -r "$p" ]; then echo kind=unreadable
else c=$(base64 -w0 -- "$p") || exit 1; echo kind=file; printf 'content=%s\n' "$c"; fi"#,
        );
        script
    }

    fn inspect(&self, out: &Section) -> Result<String> {
        let pairs = key_values(out)?;
        match value_of(&pairs, "kind") {
            Some("file") => Ok(value_of(&pairs, "content")
                .context("slurp printed no content")?
                .to_string()),
            Some("directory") => bail!("source is a directory and must be a file"),
            Some("absent") => bail!("file not found: {}", self.src),
            Some("unreadable") => bail!("file is not readable: {}", self.src),
            other => bail!("slurp printed an unexpected kind {other:?}"),
        }
    }

    fn diff(&self, _have: &String) -> Diff {
        Diff::converged()
    }

    fn apply(&self, _have: &String, _diff: &Diff) -> Script {
        Script::new()
    }

    fn confined_to(&self, _out: &Section) -> Option<Vec<String>> {
        plain_path(&self.src).map(|p| vec![p])
    }

    fn result(&self, out: &Section) -> Result<Option<Json>> {
        Ok(Some(json!({
            "changed": false,
            "failed": false,
            "content": self.inspect(out)?,
            "encoding": "base64",
            "source": self.src,
        })))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};

    #[test]
    fn answers_with_the_content_in_base64() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("it's");
        std::fs::write(&path, b"key\x00\xff\n").unwrap();
        let step = build_step(&SPEC, json!({"src": path.to_str().unwrap()}), &NoContext).unwrap();
        let out = crate::resource::text_edit::testing::run(&step.probe());
        let out = Section {
            output: out.stdout,
            status: 0,
        };
        assert!(step.plan(&out).unwrap().0.is_converged());
        let answer = step.result(&out).unwrap().unwrap();
        assert_eq!(answer["content"], json!("a2V5AP8K"));
        assert_eq!(answer["encoding"], json!("base64"));
        assert_eq!(answer["source"], json!(path.to_str().unwrap()));
        let err = step.result(&section("kind=absent\n")).unwrap_err();
        assert_eq!(err.to_string(), format!("file not found: {}", path.display()));
        let err = step.result(&section("kind=directory\n")).unwrap_err();
        assert_eq!(err.to_string(), "source is a directory and must be a file");
    }
}

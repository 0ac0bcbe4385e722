//! `openssl_dhparam` (`community.crypto.openssl_dhparam`): Diffie-Hellman parameters made by
//! the host's `openssl dhparam`.
//!
//! As in Ansible: parameters of another size, or a file that is not DH parameters, are
//! generated again; `force` always does. A new file gets mode `0644` (a replaced one keeps
//! its mode) unless `mode` says otherwise.
//!
//! Differences from Ansible: `backup` and `return_content` are refused.

use anyhow::{bail, Result};
use serde_json::{json, Value as Json};

use super::keyfile::{self, Attributes, FileInfo};
use super::lifecycle::{key_values, plain_path, value_of, Args, BuildContext, Resource, Step};
use super::support::{after_apply, answer_after_apply, detach_stdin};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Generates Diffie-Hellman parameters.
///
/// ```yaml
/// - community.crypto.openssl_dhparam:
///     path: /etc/ssl/dhparams.pem
///     size: 2048
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "openssl_dhparam",
    fqcn: "community.crypto.openssl_dhparam",
    params: &[
        P::new("path", Path).required(),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["present", "absent"]),
        P::new("size", Int).default(D::Int(4096)),
        P::new("force", Bool).default(D::Bool(false)),
        P::new("backup", Bool).default(D::Bool(false)),
        P::new("select_crypto_backend", Str)
            .default(D::Str("auto"))
            .choices(&["auto", "cryptography", "openssl"]),
        P::new("return_content", Bool).default(D::Bool(false)),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("attributes", Str).aliases(&["attr"]),
        P::new("seuser", Str),
        P::new("serole", Str),
        P::new("setype", Str),
        P::new("selevel", Str),
        P::new("unsafe_writes", Bool),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(from_args(args)?))
}

#[derive(Clone, Debug, PartialEq)]
pub struct DhParams {
    pub path: String,
    pub present: bool,
    pub size: i64,
    pub force: bool,
    pub attributes: Attributes,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DhState {
    pub file: FileInfo,
    /// The size of the parameters in the file; `None` when it holds none.
    pub bits: Option<i64>,
}

impl Resource for DhParams {
    type State = DhState;

    fn target(&self) -> String {
        self.path.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        keyfile::probe_file(&mut script, &self.path, "");
        script.line("p={}", &[&self.path]);
        script.raw(
            r#"if [ -f "$p" ] && command -v openssl >/dev/null 2>&1; then
  b=$(openssl dhparam -noout -text -in "$p" 2>/dev/null </dev/null | sed -n 's/.*Parameters: *(\([0-9]*\) bit).*/\1/p' | head -n 1)
  [ -z "$b" ] || echo "bits=$b"
fi"#,
        );
        script
    }

    fn inspect(&self, out: &Section) -> Result<DhState> {
        let pairs = key_values(out)?;
        let file = keyfile::inspect_file(&pairs, "")?;
        if file.is_directory {
            bail!("{} is a directory", self.path);
        }
        let bits = value_of(&pairs, "bits")
            .map(|b| b.parse().map_err(|_| anyhow::anyhow!("probe: bad bits {b:?}")))
            .transpose()?;
        Ok(DhState { file, bits })
    }

    fn diff(&self, have: &DhState) -> Diff {
        if !self.present {
            return if have.file.exists {
                Diff::new(Action::Remove)
            } else {
                Diff::converged()
            };
        }
        let size = Some(self.size.to_string());
        if !have.file.exists {
            let mut diff = Diff::new(Action::Create);
            diff.attributes
                .push(AttributeChange::new("size", None::<String>, size));
            return diff;
        }
        let mut changes = Vec::new();
        if self.force || have.bits != Some(self.size) {
            changes.push(AttributeChange::new(
                "parameters (regenerated)",
                Some(have.bits.map_or("none".to_string(), |b| format!("{b} bit"))),
                Some(format!("{} bit", self.size)),
            ));
        }
        changes.extend(self.attributes.changes(&have.file, ""));
        Diff::from_attributes(changes)
    }

    fn apply(&self, have: &DhState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        if !self.present {
            script.line("p={}", &[&self.path]);
            script.raw(r#"if [ -e "$p" ]; then rm -f -- "$p" || exit 1; deploy_changed; fi"#);
            return script;
        }
        if self.force || have.bits != Some(self.size) {
            keyfile::start_generation(&mut script, &self.path);
            script.line(
                r#"openssl dhparam -out "$tmp/dh" {} 2>"$tmp/err" || { cat "$tmp/err" >&2; exit 1; }"#,
                &[&self.size.to_string()],
            );
            keyfile::move_into_place(&mut script, "dh", &self.path, "0644");
            script.raw("deploy_changed");
        }
        let current = if have.file.exists { have.file.mode } else { Some(0o644) };
        self.attributes.apply(&mut script, &self.path, current);
        answer_after_apply(&mut script, &Resource::probe(self));
        script
    }

    fn confined_to(&self, _out: &Section) -> Option<Vec<String>> {
        let path = plain_path(&self.path)?;
        let dir = path.rsplit_once('/').map(|(d, _)| if d.is_empty() { "/" } else { d })?;
        Some(vec![dir.to_string()])
    }

    fn result(&self, _out: &Section) -> Result<Option<Json>> {
        Ok(Some(json!({
            "changed": false,
            "failed": false,
            "size": self.size,
            "filename": self.path,
        })))
    }

    fn applied_result(&self, stdout: &[u8]) -> Result<Option<Json>> {
        match after_apply(stdout) {
            Some(out) => Resource::result(self, &out),
            None => Ok(None),
        }
    }
}

/// Builds the resource from `openssl_dhparam`'s parameters.
pub fn from_args(args: &Args) -> Result<DhParams> {
    args.refuse(&["backup", "return_content"])?;
    let path = args.required_str("path")?;
    if path.is_empty() {
        bail!("`path` is empty");
    }
    let size = args.int("size")?.unwrap_or(4096);
    if size < 256 {
        bail!("`size` {size} is too small for DH parameters");
    }
    Ok(DhParams {
        present: args.str("state")?.as_deref() != Some("absent"),
        size,
        force: args.flag("force")?,
        attributes: Attributes::from_args(args, None)?,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, run_apply, run_probe, section};
    use serde_json::json;

    fn shown(diff: &Diff) -> Vec<String> {
        diff.attributes.iter().map(|a| a.describe()).collect()
    }

    #[test]
    fn decides_from_canned_probe_output() {
        let plan = |params: Json, probe: &str| build_step(&SPEC, params, &NoContext).unwrap().plan(&section(probe)).unwrap();
        let file = "kind=file\nmode=644\nuid=0\ngid=0\nowner=root\ngroup=root\n";
        assert!(plan(json!({"path": "/dh", "size": 512}), &format!("{file}bits=512\n")).0.is_converged());
        let (diff, script) = plan(json!({"path": "/dh", "size": 1024}), &format!("{file}bits=512\n"));
        assert_eq!(shown(&diff), ["parameters (regenerated) 512 bit → 1024 bit"]);
        assert!(script.as_str().contains("openssl dhparam -out \"$tmp/dh\" 1024"));
        let (diff, _) = plan(json!({"path": "/dh", "size": 512, "mode": "0600"}), file);
        assert_eq!(shown(&diff), ["parameters (regenerated) none → 512 bit", "mode 0644 → 0600"]);
        assert_eq!(plan(json!({"path": "/dh"}), "kind=absent\n").0.action, Action::Create);
        assert_eq!(plan(json!({"path": "/dh", "state": "absent"}), file).0.action, Action::Remove);
    }

    #[test]
    fn round_trip_with_openssl() {
        if std::process::Command::new("openssl").arg("version").output().is_err() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dh.pem").to_string_lossy().into_owned();
        let step = build_step(&SPEC, json!({"path": path, "size": 512}), &NoContext).unwrap();
        let (_, script) = step.plan(&run_probe(&step.probe(), dir.path())).unwrap();
        let (out, changed) = run_apply(&script, dir.path());
        assert!(out.status.success() && changed, "{}", String::from_utf8_lossy(&out.stderr));
        assert!(step.plan(&run_probe(&step.probe(), dir.path())).unwrap().0.is_converged());
    }
}

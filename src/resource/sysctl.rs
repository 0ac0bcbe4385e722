//! `sysctl` (`ansible.posix.sysctl`): a kernel parameter in a sysctl file and, by default, live.
//!
//! The file half is Ansible's rewrite, computed locally over the probed content (see
//! [`EditedFile`]): the key's line becomes `name=value` or is appended, and a rewritten file
//! has every setting normalized to `k=v`, as the Python module writes it. The live half reads
//! `sysctl -n` in the probe when Ansible would compare it (reloading or `sysctl_set`), so a
//! value the kernel lost (a reboot without the file applied) is a change, and reloads the file
//! with `sysctl -p` after any change, failing on the errors `sysctl` prints but does not
//! report in its exit status (a read-only `/proc/sys` in a container).

use anyhow::{bail, Context, Result};
use base64::Engine as _;

use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::support::detach_stdin;
use super::text_edit::{split_lines_universal, EditState, EditedFile, TextEdit};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Sets a kernel parameter.
///
/// ```yaml
/// - sysctl:
///     name: vm.max_map_count
///     value: "262144"
///     sysctl_set: yes
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "sysctl",
    fqcn: "ansible.posix.sysctl",
    params: &[
        P::new("name", Str).required().aliases(&["key"]),
        P::new("value", Str).aliases(&["val"]),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["present", "absent"]),
        P::new("reload", Bool).default(D::Bool(true)),
        P::new("sysctl_file", Path).default(D::Str("/etc/sysctl.conf")),
        P::new("sysctl_set", Bool).default(D::Bool(false)),
        P::new("ignoreerrors", Bool).default(D::Bool(false)),
    ],
    required_if: &[("state", "present", &["value"])],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(from_args(args)?))
}

/// A kernel parameter in a sysctl file and, as asked, live in `/proc/sys`.
#[derive(Debug)]
pub struct Sysctl {
    pub file: EditedFile<SysctlLine>,
    pub reload: bool,
    /// `sysctl_set`: set the live value with `sysctl -w` when it differs.
    pub set_live: bool,
    /// `ignoreerrors`: `sysctl -e -p`, unknown keys in the file are not errors.
    pub ignore_errors: bool,
}

/// The file edit Ansible's module makes: `name=value` replaces the key's line, or is appended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SysctlLine {
    pub name: String,
    /// The value as Ansible normalizes it (`yes` is `1`, surrounding blanks stripped).
    pub value: String,
    pub present: bool,
}

/// What the probe saw: the file, and the live value when it matters.
#[derive(Debug)]
pub struct SysctlState {
    pub file: EditState,
    /// `None`: not read (not needed); `Some(None)`: `sysctl -n` failed (no such key).
    pub live: Option<Option<String>>,
}

/// Python's `str.strip()`: Unicode whitespace and the ASCII separators 0x1c-0x1f.
fn py_strip(text: &str) -> &str {
    text.trim_matches(|c: char| c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c))
}

/// Ansible's `_parse_value`: booleans as written in YAML or as strings become `1`/`0`.
pub fn normalize_value(value: &str) -> String {
    match value.to_ascii_lowercase().as_str() {
        "y" | "yes" | "on" | "1" | "true" | "t" => "1".to_string(),
        "n" | "no" | "off" | "0" | "false" | "f" => "0".to_string(),
        _ => py_strip(value).to_string(),
    }
}

/// Ansible's `_values_is_equal`: the same words in the same order (`sysctl -n` prints tabs).
pub fn values_equal(a: &str, b: &str) -> bool {
    a.split_whitespace().eq(b.split_whitespace())
}

impl TextEdit for SysctlLine {
    fn edit(&self, current: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let text = match current {
            Some(bytes) => std::str::from_utf8(bytes).context("the sysctl file is not UTF-8")?,
            None => "",
        };
        // `read_sysctl_file`: every line stripped; the last value of a key wins.
        let lines: Vec<String> = split_lines_universal(text.as_bytes())
            .iter()
            .map(|l| py_strip(&String::from_utf8_lossy(l)).to_string())
            .collect();
        let is_setting = |line: &str| !line.is_empty() && !line.starts_with(['#', ';']) && line.contains('=');
        let split = |line: &str| -> (String, String) {
            let (k, v) = line.split_once('=').expect("a setting line has `=`");
            (py_strip(k).to_string(), py_strip(v).to_string())
        };
        let mut in_file: Option<String> = None;
        for line in lines.iter().filter(|l| is_setting(l)) {
            let (k, v) = split(line);
            if k == self.name {
                in_file = Some(v);
            }
        }
        let wanted = if self.present { self.value.as_str() } else { "" };
        let write = match (&in_file, self.present) {
            (None, true) => true,
            (None, false) => false,
            (Some(v), false) if !v.is_empty() => true,
            (Some(v), _) => v != wanted,
        };
        if !write {
            return Ok(None);
        }
        // `fix_lines`: settings rewritten `k=v`, later duplicates of any key dropped.
        let mut seen: Vec<String> = Vec::new();
        let mut out: Vec<String> = Vec::new();
        for line in &lines {
            if !is_setting(line) {
                out.push(line.to_string());
                continue;
            }
            let (k, v) = split(line);
            if seen.contains(&k) {
                continue;
            }
            seen.push(k.clone());
            if k == self.name {
                if self.present {
                    out.push(format!("{k}={}", self.value));
                }
            } else {
                out.push(format!("{k}={v}"));
            }
        }
        if self.present && !seen.contains(&self.name) {
            out.push(format!("{}={}", self.name, self.value));
        }
        // `write_sysctl` writes each line stripped, with `\n`.
        let mut content = String::new();
        for line in out {
            content.push_str(py_strip(&line));
            content.push('\n');
        }
        Ok(Some(content.into_bytes()))
    }
}

impl Sysctl {
    fn line(&self) -> &SysctlLine {
        &self.file.edit
    }

    /// Whether the live value is read: Ansible compares it when reloading or setting.
    fn reads_live(&self) -> bool {
        self.line().present && (self.reload || self.set_live)
    }
}

/// Fails the step when `sysctl` failed, or printed the errors it does not report in its exit
/// status (a read-only `/proc/sys` in a container, an invalid value).
const SYSCTL_CHECK: &str = r#"deploy_sysctl_check() {
  if [ "$1" -ne 0 ] || printf '%s\n' "$2" | grep -Eq '^sysctl: setting key "[^"]+": (Invalid argument|Read-only file system)$'; then
    printf '%s: %s\n' "$3" "$2" >&2
    case $2 in *"Read-only file system"*) echo 'hint: /proc/sys is read-only here (a container?): set this parameter on the host, or use sysctl_set: no and reload: no' >&2;; esac
    exit 1
  fi
}"#;

impl Resource for Sysctl {
    type State = SysctlState;

    fn target(&self) -> String {
        self.line().name.clone()
    }

    /// Settings of one file edit that file.
    fn key(&self) -> String {
        Resource::target(&self.file)
    }

    fn probe(&self) -> Script {
        let mut script = Resource::probe(&self.file);
        if self.reads_live() {
            script.raw("PATH=$PATH:/usr/sbin:/sbin");
            script.line(
                "if v=$(sysctl -e -n {} 2>/dev/null); then printf 'live=%s\\n' \"$(printf '%s' \"$v\" | base64 -w0)\"; else echo live=none; fi",
                &[&self.line().name],
            );
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<SysctlState> {
        let file = Resource::inspect(&self.file, out)?;
        let live = if self.reads_live() {
            let pairs = key_values(out)?;
            Some(match value_of(&pairs, "live") {
                Some("none") => None,
                Some(encoded) => {
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(encoded)
                        .context("probe: bad base64 in live")?;
                    Some(String::from_utf8(bytes).context("probe: the live value is not UTF-8")?)
                }
                None => bail!("probe: no live value reported for {}", self.line().name),
            })
        } else {
            None
        };
        Ok(SysctlState { file, live })
    }

    fn diff(&self, have: &SysctlState) -> Diff {
        let mut diff = Resource::diff(&self.file, &have.file);
        if let Some(live) = &have.live {
            if !live
                .as_deref()
                .is_some_and(|l| values_equal(l, &self.line().value))
            {
                let before = live.clone().unwrap_or_else(|| "(unknown key)".to_string());
                diff.attributes.push(AttributeChange::new(
                    "live value",
                    Some(before),
                    Some(self.line().value.clone()),
                ));
                if diff.is_converged() {
                    diff.action = Action::Change;
                }
            }
        }
        diff
    }

    fn apply(&self, have: &SysctlState, diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        script.raw("PATH=$PATH:/usr/sbin:/sbin");
        // Ansible reloads when anything changed: the step's own changes are counted here.
        script.raw("deploy_sysctl_changed=no");
        script.raw("deploy_changed() { deploy_sysctl_changed=yes; echo changed >&3; }");
        script.raw(SYSCTL_CHECK);
        let file_diff = Resource::diff(&self.file, &have.file);
        if !file_diff.is_converged() {
            script.append(&Resource::apply(&self.file, &have.file, &file_diff));
        }
        let line = self.line();
        if self.reads_live() && diff.attributes.iter().any(|a| a.name == "live value") {
            let want = line.value.split_whitespace().collect::<Vec<_>>().join(" ");
            script.line("n={}", &[&line.name]);
            script.line("v={}", &[&line.value]);
            script.line("want={}", &[&want]);
            script.raw(
                r#"if cur=$(sysctl -e -n "$n" 2>/dev/null); then known=yes; set -f; set -- $cur; set +f; else known=no; set --; fi
if [ "$known" = no ] || [ "$*" != "$want" ]; then"#,
            );
            if self.set_live {
                script.raw(
                    r#"  if [ "$known" = yes ]; then out=$(sysctl -w "$n=$v" 2>&1); deploy_sysctl_check $? "$out" "setting $n failed"; fi"#,
                );
            }
            script.raw("  deploy_changed");
            script.raw("fi");
        }
        if self.reload {
            script.line("f={}", &[&self.file.path]);
            script.raw(if self.ignore_errors {
                r#"if [ "$deploy_sysctl_changed" = yes ]; then out=$(sysctl -e -p "$f" 2>&1); deploy_sysctl_check $? "$out" 'Failed to reload sysctl'; fi"#
            } else {
                r#"if [ "$deploy_sysctl_changed" = yes ]; then out=$(sysctl -p "$f" 2>&1); deploy_sysctl_check $? "$out" 'Failed to reload sysctl'; fi"#
            });
        }
        script
    }
}

/// Builds the resource from `sysctl`'s parameters.
pub fn from_args(args: &Args) -> Result<Sysctl> {
    let name = py_strip(&args.required_str("name")?).to_string();
    if name.is_empty() {
        bail!("name cannot be blank");
    }
    if name.starts_with('-') || name.contains(['=', '#', ';']) || name.contains(char::is_whitespace) {
        bail!("`{name}` is not a sysctl key name");
    }
    let present = args.str("state")?.as_deref() != Some("absent");
    let value = match args.str("value")? {
        Some(v) => normalize_value(&v),
        None if present => bail!("value cannot be None"),
        None => String::new(),
    };
    if present && value.is_empty() {
        bail!("value cannot be blank");
    }
    if value.contains(['\n', '\r']) {
        bail!("a sysctl value is one line");
    }
    let file = args.required_str("sysctl_file")?;
    Ok(Sysctl {
        file: EditedFile {
            path: file,
            edit: SysctlLine { name, value, present },
            mode: None,
            owner: None,
            group: None,
            backup: false,
            validate: None,
        },
        reload: args.bool("reload")?.unwrap_or(true),
        set_live: args.flag("sysctl_set")?,
        ignore_errors: args.flag("ignoreerrors")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::build as build_step;
    use crate::resource::text_edit::testing::file_probe;
    use serde_json::json;

    fn edit(params: serde_json::Value, content: Option<&str>) -> Option<String> {
        let map = crate::resource::text_edit::testing::values(params);
        let sysctl = from_args(&Args::new(&SPEC, &map)).unwrap();
        sysctl
            .file
            .edit
            .edit(content.map(str::as_bytes))
            .unwrap()
            .map(|b| String::from_utf8(b).unwrap())
    }

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    #[test]
    fn rewrites_the_file_as_ansible_does() {
        let params = json!({"name": "vm.swappiness", "value": "10"});
        assert_eq!(
            edit(
                params.clone(),
                Some("# tuning\n  vm.swappiness = 60\nnet.x = 1\nnet.x=2\n")
            ),
            Some("# tuning\nvm.swappiness=10\nnet.x=1\n".to_string()),
            "the key's line replaced; every setting normalized, later duplicates dropped"
        );
        assert_eq!(
            edit(params.clone(), Some("vm.swappiness   =  10\n")),
            None,
            "any spacing around `=` matches"
        );
        assert_eq!(
            edit(params.clone(), Some("a = b\n; c\n")),
            Some("a=b\n; c\nvm.swappiness=10\n".to_string())
        );
        assert_eq!(edit(params, None), Some("vm.swappiness=10\n".to_string()));
        let absent = json!({"name": "vm.swappiness", "state": "absent"});
        assert_eq!(
            edit(absent.clone(), Some("a=1\nvm.swappiness=1\n")),
            Some("a=1\n".to_string())
        );
        assert_eq!(edit(absent.clone(), Some("a = 1\n")), None);
        assert_eq!(edit(absent, None), None);
        assert_eq!(
            edit(json!({"name": "net.ipv4.ip_forward", "value": "yes"}), Some("")),
            Some("net.ipv4.ip_forward=1\n".to_string()),
            "booleans are 1 and 0"
        );
    }

    #[test]
    fn refuses_what_ansible_refuses() {
        for params in [
            json!({"name": "vm.x", "value": ""}),
            json!({"name": "  ", "value": "1"}),
            json!({"name": "-w", "value": "1"}),
            json!({"name": "vm.x", "value": "a\nb"}),
        ] {
            assert!(build_step(&SPEC, params.clone(), &NoContext).is_err(), "{params}");
        }
    }

    #[test]
    fn plans_from_canned_probe_output() {
        let step = build_step(
            &SPEC,
            json!({"name": "vm.max_map_count", "value": "262144", "sysctl_set": true}),
            &NoContext,
        )
        .unwrap();
        let probe = |file: &str, live: Option<&str>| {
            let mut out = file_probe("/etc/sysctl.conf", Some(file.as_bytes())).output;
            out.extend(
                match live {
                    Some(v) => format!("live={}\n", b64(v)),
                    None => "live=none\n".to_string(),
                }
                .bytes(),
            );
            Section {
                output: out,
                status: 0,
            }
        };
        let (diff, script) = step
            .plan(&probe("vm.max_map_count = 262144\n", Some("262144")))
            .unwrap();
        assert!(diff.is_converged(), "{diff:?}");
        assert!(script.is_empty());
        let (diff, script) = step
            .plan(&probe("vm.max_map_count = 262144\n", Some("65530")))
            .unwrap();
        assert_eq!(diff.action, Action::Change);
        assert_eq!(diff.attributes[0].describe(), "live value 65530 → 262144");
        assert!(script.as_str().contains("sysctl -w"));
        assert!(script.as_str().contains("sysctl -p"));
        let (diff, _) = step.plan(&probe("", Some("262144"))).unwrap();
        assert_eq!(diff.action, Action::Change);
        assert!(diff.content.unwrap().contains("+vm.max_map_count=262144"));
        assert!(
            step.plan(&file_probe("/etc/sysctl.conf", Some(b""))).is_err(),
            "no live line"
        );
        // Tabs in `sysctl -n` output compare as words.
        let step = build_step(
            &SPEC,
            json!({"name": "net.ipv4.ip_local_port_range", "value": "1024 65000"}),
            &NoContext,
        )
        .unwrap();
        let (diff, _) = step
            .plan(&probe(
                "net.ipv4.ip_local_port_range=1024 65000\n",
                Some("1024\t65000"),
            ))
            .unwrap();
        assert!(diff.is_converged(), "{diff:?}");
    }

    /// Runs a script with a fake `sysctl` first on the PATH, which logs its arguments and
    /// answers `-n` from a file.
    fn run_with_fake_sysctl(
        script: &Script,
        dir: &std::path::Path,
        fake: &str,
    ) -> (std::process::Output, bool) {
        let bin = dir.join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let path = bin.join("sysctl");
        std::fs::write(
            &path,
            format!("#!/bin/sh\necho \"$*\" >> {}/calls\n{fake}\n", dir.display()),
        )
        .unwrap();
        std::process::Command::new("chmod")
            .arg("755")
            .arg(&path)
            .status()
            .unwrap();
        let text = format!(
            "{}\n( {}\n) 3> .deploy-changed",
            crate::apply::PRELUDE,
            script.as_str()
        );
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(text)
            .current_dir(dir)
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .output()
            .unwrap();
        let changed = std::fs::read(dir.join(".deploy-changed"))
            .map(|c| !c.is_empty())
            .unwrap_or(false);
        let _ = std::fs::remove_file(dir.join(".deploy-changed"));
        (out, changed)
    }

    #[test]
    fn converges_a_real_file_without_touching_the_kernel() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sysctl.d/99-app.conf");
        let params = json!({"name": "vm.swappiness", "value": "10", "reload": false,
            "sysctl_file": file.to_str().unwrap()});
        let step = build_step(&SPEC, params, &NoContext).unwrap();
        let diff = crate::resource::text_edit::testing::converge_here(step.as_ref());
        assert_eq!(diff.action, Action::Create);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "vm.swappiness=10\n");
    }

    #[test]
    fn sets_and_reloads_through_sysctl() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sysctl.conf");
        std::fs::write(&file, "vm.swappiness = 60\n").unwrap();
        let params = json!({"name": "vm.swappiness", "value": "10", "sysctl_set": true,
            "sysctl_file": file.to_str().unwrap()});
        let step = build_step(&SPEC, params, &NoContext).unwrap();
        let fake = "case $1 in -e) echo 60;; esac";
        let (probe, _) = run_with_fake_sysctl(&step.probe(), dir.path(), fake);
        let probe = Section {
            output: probe.stdout,
            status: 0,
        };
        let (diff, script) = step.plan(&probe).unwrap();
        assert_eq!(diff.action, Action::Change);
        let (out, changed) = run_with_fake_sysctl(&script, dir.path(), fake);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(changed);
        assert_eq!(std::fs::read_to_string(&file).unwrap(), "vm.swappiness=10\n");
        let calls = std::fs::read_to_string(dir.path().join("calls")).unwrap();
        assert_eq!(
            calls,
            format!(
                "-e -n vm.swappiness\n-e -n vm.swappiness\n-w vm.swappiness=10\n-p {}\n",
                file.display()
            )
        );
        // A read-only /proc/sys: sysctl exits 0 but says so; the step fails clearly.
        let fake = "case $1 in -e) echo 60;; -w) echo 'sysctl: setting key \"vm.swappiness\": Read-only file system' >&2;; esac";
        let (out, _) = run_with_fake_sysctl(&script, dir.path(), fake);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("setting vm.swappiness failed: sysctl: setting key"),
            "{stderr}"
        );
        assert!(stderr.contains("read-only"), "{stderr}");
    }
}

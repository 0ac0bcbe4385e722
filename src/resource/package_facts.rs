//! `package_facts`: the installed packages as the fact `ansible_facts.packages`, shaped as
//! Ansible shapes it: each name maps to a list of installed versions, each with `name`,
//! `version`, `arch`, `category` and `source: apt`.
//!
//! A query answered from the probe: `dpkg-query` lists the packages in the probe round (Ansible
//! asks python3-apt, which reads the same dpkg database), so hosts need no Python.
//!
//! Differences from Ansible: `origin` (the archive the installed version came from, which only
//! apt's cache knows) is left out; only the `apt` manager (`auto` means it on Debian).

use anyhow::{bail, Result};
use serde_json::{json, Map, Value as Json};

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::Diff;
use crate::probe::Section;
use crate::shell::Script;

/// Lists the installed packages.
///
/// ```yaml
/// - package_facts:
///     manager: auto
/// - debug:
///     msg: "nginx {{ ansible_facts.packages['nginx'][0].version }}"
///   when: "'nginx' in ansible_facts.packages"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "package_facts",
    fqcn: "ansible.builtin.package_facts",
    params: &[
        P::new("manager", List).default(D::Str("auto")),
        P::new("strategy", Str)
            .default(D::Str("first"))
            .choices(&["first", "all"]),
    ],
    build: Some(build),
    publishes_facts: true,
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    for manager in args.list("manager")? {
        if !["auto", "apt"].contains(&manager.to_lowercase().as_str()) {
            bail!("package manager `{manager}` is not supported by deploy on Debian hosts (use `apt` or `auto`)");
        }
    }
    Ok(Box::new(PackageFacts))
}

#[derive(Debug)]
pub struct PackageFacts;

/// One line per package: `STATUS|NAME|VERSION|ARCH|SECTION`, after the native architecture.
const PROBE: &str = r#"printf 'native=%s\n' "$(dpkg --print-architecture)" || exit 1
dpkg-query -W -f='${db:Status-Status}|${Package}|${Version}|${Architecture}|${Section}\n' || exit 1"#;

/// The dpkg states in which apt counts a package as installed (it has a current version).
const INSTALLED: &[&str] = &[
    "installed",
    "unpacked",
    "half-installed",
    "half-configured",
    "triggers-awaited",
    "triggers-pending",
];

fn packages(text: &str) -> Result<Map<String, Json>> {
    let mut lines = text.lines();
    let native = lines
        .next()
        .and_then(|l| l.strip_prefix("native="))
        .ok_or_else(|| anyhow::anyhow!("probe: no native architecture line"))?;
    let mut packages = Map::new();
    for line in lines.filter(|l| !l.is_empty()) {
        let fields: Vec<&str> = line.splitn(5, '|').collect();
        let [status, name, version, arch, section] = fields.as_slice() else {
            bail!("probe: unexpected dpkg-query line {line:?}");
        };
        if !INSTALLED.contains(status) {
            continue;
        }
        // apt names a package of another architecture `name:arch`.
        let name = if *arch == native || *arch == "all" {
            name.to_string()
        } else {
            format!("{name}:{arch}")
        };
        let details = json!({"name": name, "version": version, "arch": arch, "category": section, "source": "apt"});
        match packages.get_mut(&name).and_then(Json::as_array_mut) {
            Some(list) => list.push(details),
            None => {
                packages.insert(name, json!([details]));
            }
        }
    }
    Ok(packages)
}

impl Resource for PackageFacts {
    type State = ();

    fn target(&self) -> String {
        "packages".to_string()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.raw(PROBE);
        script
    }

    fn inspect(&self, _out: &Section) -> Result<()> {
        Ok(())
    }

    fn diff(&self, _have: &()) -> Diff {
        Diff::converged()
    }

    fn apply(&self, _have: &(), _diff: &Diff) -> Script {
        Script::new()
    }

    fn result(&self, out: &Section) -> Result<Option<Json>> {
        if out.status != 0 {
            return Ok(Some(json!({"changed": false, "failed": true,
                "msg": "Could not detect a supported package manager from the following list: ['apt']"})));
        }
        let packages = packages(&String::from_utf8_lossy(&out.output))?;
        Ok(Some(
            json!({"changed": false, "failed": false, "ansible_facts": {"packages": packages}}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};

    #[test]
    fn installed_packages_as_ansible_shapes_them() {
        let step = build_step(&SPEC, json!({"manager": "apt"}), &NoContext).unwrap();
        let out = "native=amd64\ninstalled|nginx|1.22.1-9|amd64|httpd\nconfig-files|old|1.0|amd64|misc\n\
installed|tzdata|2024a-0+deb12u1|all|localization\ninstalled|libc6|2.36-9|i386|libs\ninstalled|libc6|2.36-9|amd64|libs\n";
        let answer = step.result(&section(out)).unwrap().unwrap();
        let packages = &answer["ansible_facts"]["packages"];
        assert_eq!(
            packages["nginx"],
            json!([{"name": "nginx", "version": "1.22.1-9", "arch": "amd64", "category": "httpd", "source": "apt"}])
        );
        assert!(packages.get("old").is_none(), "only configuration files left: not installed");
        assert_eq!(packages["tzdata"][0]["arch"], json!("all"));
        assert_eq!(packages["libc6:i386"][0]["name"], json!("libc6:i386"));
        assert_eq!(packages["libc6"].as_array().unwrap().len(), 1);
        assert!(step.result(&section("native=amd64\nbroken\n")).is_err());
        assert!(build_step(&SPEC, json!({"manager": ["rpm"]}), &NoContext).is_err());
    }
}

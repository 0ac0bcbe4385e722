//! Dynamic inventories: executables that print Ansible's inventory JSON for `--list`.
//!
//! Cloud and CMDB inventories are scripts. Their contract is Ansible's: `--list` prints
//! `{group: {hosts, vars, children}, _meta: {hostvars}}`; without `_meta.hostvars`, each
//! host's variables come from `--host NAME`. A failing or garbled script stops the run with
//! its exit code and stderr, since an empty inventory would silently deploy nowhere.

use std::path::Path;
use std::process::Command;

use anyhow::{anyhow, bail, Context, Result};
use serde_json::{Map, Value};

use super::Inventory;

/// Runs the script at `path` and reads its output into `inventory`.
pub fn load(inventory: &mut Inventory, path: &Path) -> Result<()> {
    let listing = run(path, &["--list"])?;
    let Value::Object(groups) = listing else {
        bail!(
            "inventory script `{} --list` printed {}, expected a JSON object of groups",
            path.display(),
            type_name(&listing)
        );
    };
    let mut meta_hostvars: Option<Map<String, Value>> = None;
    let mut hosts_seen: Vec<String> = Vec::new();
    for (group, data) in &groups {
        if group == "_meta" {
            match data.get("hostvars") {
                Some(Value::Object(hostvars)) => meta_hostvars = Some(hostvars.clone()),
                Some(other) => bail!(
                    "inventory script `{}`: `_meta.hostvars` is {}, expected an object",
                    path.display(),
                    type_name(other)
                ),
                None => {}
            }
            continue;
        }
        load_group(inventory, path, group, data, &mut hosts_seen)?;
    }
    for host in hosts_seen {
        let vars = match &meta_hostvars {
            Some(hostvars) => hostvars.get(&host).cloned().unwrap_or(Value::Object(Map::new())),
            None => run(path, &["--host", &host])?,
        };
        let Value::Object(vars) = vars else {
            bail!(
                "inventory script `{}`: variables of host `{host}` are {}, expected an object",
                path.display(),
                type_name(&vars)
            );
        };
        for (key, value) in vars {
            inventory.set_host_var(&host, &key, value);
        }
    }
    Ok(())
}

fn load_group(
    inventory: &mut Inventory,
    path: &Path,
    group: &str,
    data: &Value,
    seen: &mut Vec<String>,
) -> Result<()> {
    inventory.add_group(group);
    let shape_error = |what: &str, value: &Value, expected: &str| {
        anyhow!(
            "inventory script `{}`: `{group}.{what}` is {}, expected {expected}",
            path.display(),
            type_name(value)
        )
    };
    // Two legacy shapes Ansible still reads: a bare list of hosts, and a group that is a
    // single host whose variables are the group's content.
    let (hosts, vars, children) = match data {
        Value::Object(map) if ["hosts", "vars", "children"].iter().any(|k| map.contains_key(*k)) => {
            (map.get("hosts"), map.get("vars"), map.get("children"))
        }
        Value::Object(_) => {
            add_script_host(inventory, group, group, seen);
            if let Value::Object(vars) = data {
                for (key, value) in vars {
                    inventory.set_group_var(group, key, value.clone());
                }
            }
            return Ok(());
        }
        other => (Some(other), None, None),
    };
    if let Some(hosts) = hosts {
        let Value::Array(hosts) = hosts else {
            return Err(shape_error("hosts", hosts, "a list"));
        };
        for host in hosts {
            let name = scalar_name(host).ok_or_else(|| shape_error("hosts[]", host, "a host name"))?;
            add_script_host(inventory, group, &name, seen);
        }
    }
    if let Some(vars) = vars {
        let Value::Object(vars) = vars else {
            return Err(shape_error("vars", vars, "an object"));
        };
        for (key, value) in vars {
            inventory.set_group_var(group, key, value.clone());
        }
    }
    if let Some(children) = children {
        let Value::Array(children) = children else {
            return Err(shape_error("children", children, "a list"));
        };
        for child in children {
            let name = scalar_name(child).ok_or_else(|| shape_error("children[]", child, "a group name"))?;
            inventory.add_group(&name);
            inventory
                .add_child(group, &name)
                .map_err(|e| anyhow!("inventory script `{}`: {e}", path.display()))?;
        }
    }
    Ok(())
}

fn add_script_host(inventory: &mut Inventory, group: &str, host: &str, seen: &mut Vec<String>) {
    inventory.add_host(host, group, None);
    if !seen.iter().any(|h| h == host) {
        seen.push(host.to_string());
    }
}

fn scalar_name(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Runs the script with `args` and parses its standard output as JSON.
fn run(path: &Path, args: &[&str]) -> Result<Value> {
    let command = format!("{} {}", path.display(), args.join(" "));
    // An absolute path, so that `-i inventory.py` runs the file and not a `$PATH` lookup.
    let program = std::path::absolute(path).with_context(|| format!("cannot resolve {}", path.display()))?;
    let output = Command::new(program)
        .args(args)
        .output()
        .with_context(|| format!("cannot run inventory script `{command}`"))?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let stderr_note = if stderr.trim().is_empty() {
        String::new()
    } else {
        format!("\nstderr:\n{}", stderr.trim_end())
    };
    if !output.status.success() {
        let code = output
            .status
            .code()
            .map_or_else(|| "a signal".to_string(), |c| format!("code {c}"));
        bail!("inventory script `{command}` exited with {code}{stderr_note}");
    }
    let stdout = String::from_utf8(output.stdout)
        .map_err(|_| anyhow!("inventory script `{command}` printed text that is not UTF-8"))?;
    if args[0] == "--host" && stdout.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    serde_json::from_str(&stdout)
        .map_err(|e| anyhow!("inventory script `{command}` printed invalid JSON: {e}{stderr_note}"))
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

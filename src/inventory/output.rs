//! `deploy inventory --list | --graph | --host`, printed exactly as `ansible-inventory` prints.
//!
//! Users compare the two outputs when they switch tools, and scripts already parse
//! ansible-inventory's JSON, so the shapes, key order (sorted, 4-space indent) and ASCII
//! escaping are Python's `json.dumps(sort_keys=True, indent=4)`.

use std::collections::HashSet;

use anyhow::Result;
use serde::Serialize;
use serde_json::{Map, Value};

use super::Inventory;
use crate::error::did_you_mean;

/// `--list`: every group with its hosts (those in `selected`) and children, and
/// `_meta.hostvars` with each selected host's merged variables.
pub fn list(inventory: &Inventory, selected: &[String]) -> Result<String> {
    let available: HashSet<&str> = selected.iter().map(String::as_str).collect();
    let mut groups = Map::new();
    let mut seen = HashSet::new();
    format_group(inventory, "all", &available, &mut seen, &mut groups);
    let mut hostvars = Map::new();
    for host in selected {
        let vars = inventory.host_vars(host, None)?;
        if !vars.is_empty() {
            hostvars.insert(host.clone(), Value::Object(vars.into_iter().collect()));
        }
    }
    let mut meta = Map::new();
    meta.insert("hostvars".to_string(), Value::Object(hostvars));
    meta.insert("profile".to_string(), Value::from("inventory_legacy"));
    groups.insert("_meta".to_string(), Value::Object(meta));
    Ok(python_json(&Value::Object(groups)))
}

fn format_group(
    inventory: &Inventory,
    name: &str,
    available: &HashSet<&str>,
    seen: &mut HashSet<String>,
    out: &mut Map<String, Value>,
) {
    let group = &inventory.groups[name];
    let mut entry = Map::new();
    if name != "all" {
        let hosts: Vec<Value> = group
            .hosts
            .iter()
            .filter(|h| available.contains(h.as_str()))
            .map(|h| Value::from(h.as_str()))
            .collect();
        if !hosts.is_empty() {
            entry.insert("hosts".to_string(), Value::Array(hosts));
        }
    }
    if !group.children.is_empty() {
        entry.insert(
            "children".to_string(),
            Value::Array(group.children.iter().map(|c| Value::from(c.as_str())).collect()),
        );
    }
    for child in &group.children {
        if seen.insert(child.clone()) {
            format_group(inventory, child, available, seen, out);
        }
    }
    if !entry.is_empty() {
        out.insert(name.to_string(), Value::Object(entry));
    }
}

/// `--graph`: the tree from `all`, child groups before hosts, a group repeated under each
/// of its parents.
pub fn graph(inventory: &Inventory) -> String {
    let mut lines = Vec::new();
    graph_group(inventory, "all", 0, &mut lines);
    lines.join("\n")
}

fn graph_group(inventory: &Inventory, name: &str, depth: usize, lines: &mut Vec<String>) {
    lines.push(graph_line(&format!("@{name}:"), depth));
    let group = &inventory.groups[name];
    for child in &group.children {
        graph_group(inventory, child, depth + 1, lines);
    }
    if name != "all" {
        for host in &group.hosts {
            lines.push(graph_line(host, depth + 1));
        }
    }
}

fn graph_line(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_string()
    } else {
        format!("{}--{name}", "  |".repeat(depth))
    }
}

/// `--host NAME`: one host's merged variables.
pub fn host(inventory: &Inventory, name: &str) -> Result<String> {
    let selection = inventory.select_with_warnings(name, None)?;
    if selection.hosts.len() != 1 {
        let suggestion = did_you_mean(name, inventory.hosts.keys().map(String::as_str))
            .map(|close| format!(" (did you mean `{close}`?)"))
            .unwrap_or_default();
        anyhow::bail!("--host `{name}` does not name a single host of the inventory{suggestion}");
    }
    let vars = inventory.host_vars(&selection.hosts[0], None)?;
    Ok(python_json(&Value::Object(vars.into_iter().collect())))
}

/// Python's `json.dumps(value, sort_keys=True, indent=4)`: sorted keys, ASCII only.
pub fn python_json(value: &Value) -> String {
    let sorted = sort_keys(value);
    let mut buffer = Vec::new();
    let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut serializer = serde_json::Serializer::with_formatter(&mut buffer, formatter);
    sorted
        .serialize(&mut serializer)
        .expect("serializing a JSON value to memory cannot fail");
    let text = String::from_utf8(buffer).expect("serde_json writes UTF-8");
    let mut ascii = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_ascii() {
            ascii.push(c);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                ascii.push_str(&format!("\\u{unit:04x}"));
            }
        }
    }
    ascii
}

fn sort_keys(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sort_keys(&map[k])))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.iter().map(sort_keys).collect()),
        other => other.clone(),
    }
}

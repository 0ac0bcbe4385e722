//! YAML inventories, read as Ansible's `yaml` inventory plugin reads them.
//!
//! Top-level keys are groups; a group may have `hosts:`, `children:` and `vars:` at any depth,
//! and host names may carry ranges and ports. Where Ansible only warns about a key it skips,
//! `deploy` refuses it with its position: a misspelt `hots:` silently empties a group.

use anyhow::Result;

use super::range::expand_host_entry;
use super::Inventory;
use crate::error::did_you_mean;
use crate::yaml::{Data, Node};

const SECTIONS: [&str; 3] = ["hosts", "children", "vars"];

/// Reads a parsed YAML inventory document into `inventory`.
pub fn load(inventory: &mut Inventory, document: &Node) -> Result<()> {
    let Some(groups) = document.as_map() else {
        return Err(document.error_hint(
            format!(
                "a YAML inventory must be a mapping of group names, found {}",
                document.type_name()
            ),
            "start with `all:` and put `hosts:`, `children:` and `vars:` under it",
        ));
    };
    if document.get("plugin").is_some() {
        return Err(document
            .error("inventory plugin configuration files are not supported; list hosts and groups instead"));
    }
    for (name, data) in groups {
        load_group(inventory, name, data)?;
    }
    Ok(())
}

fn load_group(inventory: &mut Inventory, name: &Node, data: &Node) -> Result<String> {
    let Some(group) = name.key_string().filter(|n| !n.is_empty()) else {
        return Err(name.error(format!(
            "a group name must be a string, found {}",
            name.type_name()
        )));
    };
    inventory.add_group(&group);
    let entries = match &data.data {
        Data::Null => return Ok(group),
        Data::Map(entries) => entries,
        _ => {
            return Err(data.error_hint(
                format!("group `{group}` must be a mapping, found {}", data.type_name()),
                "a group has `hosts:`, `children:` and `vars:` mappings",
            ))
        }
    };
    for (key, value) in entries {
        let section = key.key_string().unwrap_or_default();
        if !SECTIONS.contains(&section.as_str()) {
            let message = format!(
                "unexpected key `{section}` in group `{group}`: expected `hosts`, `children` or `vars`"
            );
            return Err(match did_you_mean(&section, SECTIONS) {
                Some(close) => key.error_hint(message, format!("did you mean `{close}`?")),
                None => key.error_hint(
                    message,
                    format!("to declare a child group, put it under `children:` of `{group}`"),
                ),
            });
        }
        let items: Vec<(&Node, Option<&Node>)> =
            match &value.data {
                Data::Null => continue,
                // A bare string is a mapping with one empty entry, as Ansible reads it.
                Data::Str { .. } => vec![(value, None)],
                Data::Map(items) => items.iter().map(|(k, v)| (k, Some(v))).collect(),
                _ => return Err(value.error_hint(
                    format!(
                        "`{section}` of group `{group}` must be a mapping, found {}",
                        value.type_name()
                    ),
                    match section.as_str() {
                        "hosts" => {
                            "write each host as a key: `hosts: {web1: {}, web2: {}}` or one `web1:` per line"
                        }
                        "children" => {
                            "write each child group as a key: `children: {web: {}}` or one `web:` per line"
                        }
                        _ => "write variables as `name: value` pairs",
                    },
                )),
            };
        match section.as_str() {
            "vars" => {
                for (key, value) in items {
                    let Some(name) = key.key_string() else {
                        return Err(key.error("a variable name must be a scalar"));
                    };
                    inventory.set_group_var(
                        &group,
                        &name,
                        value.map_or(serde_json::Value::Null, Node::to_value),
                    );
                }
            }
            "children" => {
                for (child, child_data) in items {
                    let null = Node {
                        data: Data::Null,
                        pos: child.pos.clone(),
                    };
                    let child_name = load_group(inventory, child, child_data.unwrap_or(&null))?;
                    inventory
                        .add_child(&group, &child_name)
                        .map_err(|e| child.error(e))?;
                }
            }
            _ => {
                for (host, host_data) in items {
                    load_hosts(inventory, &group, host, host_data)?;
                }
            }
        }
    }
    Ok(group)
}

fn load_hosts(inventory: &mut Inventory, group: &str, entry: &Node, data: Option<&Node>) -> Result<()> {
    let Some(text) = entry.as_str() else {
        return Err(entry.error_hint(
            format!("a host name must be a string, found {}", entry.type_name()),
            "quote host names that look like numbers",
        ));
    };
    let (names, port) = expand_host_entry(text).map_err(|e| {
        entry.error_hint(
            format!("invalid host range in `{text}`: {e}"),
            "ranges are written `[1:9]`, `[01:20]`, `[a:f]` or with a step `[1:9:2]`",
        )
    })?;
    let vars = match data.map(|d| &d.data) {
        None | Some(Data::Null) => &[][..],
        Some(Data::Map(vars)) => vars.as_slice(),
        Some(_) => {
            let data = data.expect("matched Some above");
            return Err(data.error(format!(
                "variables of host `{text}` must be a mapping, found {}",
                data.type_name()
            )));
        }
    };
    for name in names {
        inventory.add_host(&name, group, port);
        for (key, value) in vars {
            let Some(key) = key.key_string() else {
                return Err(key.error("a variable name must be a scalar"));
            };
            inventory.set_host_var(&name, &key, value.to_value());
        }
    }
    Ok(())
}

//! INI inventories, read as Ansible's `ini` inventory plugin reads them.
//!
//! The format has quirks users rely on without knowing: lines before any section belong to
//! `ungrouped`, a `[group:children]` may name a group declared further down, every
//! `key=value` value is a Python literal when it parses as one, and `#` starts a comment even
//! in the middle of a host line. Where Ansible only warns and drops the file, `deploy` stops
//! with the line and column, since a half-read inventory means deploying to the wrong hosts.

use std::path::Path;
use std::sync::{Arc, LazyLock};

use anyhow::Result;
use indexmap::IndexMap;
use regex::Regex;

use super::literal::parse_value;
use super::range::expand_host_entry;
use super::Inventory;
use crate::error::{did_you_mean, located, located_hint, Pos};
use crate::shell::split;

static SECTION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[([^:\]\s]+)(?::(\w+))?\]\s*(?:#.*)?$").expect("valid regex"));
static GROUP_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([^:\]\s]+)\s*(?:#.*)?$").expect("valid regex"));

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Hosts,
    Children,
    Vars,
}

/// A group named before it was declared: in a `[parent:children]` list, or by a
/// `[group:vars]` section. Either must be declared by the end of the file.
struct Pending {
    pos: Pos,
    state: State,
    parents: Vec<String>,
}

/// Parses INI inventory `text` (read from `path`) into `inventory`.
pub fn load(inventory: &mut Inventory, text: &str, path: &Path) -> Result<()> {
    let path = Arc::new(path.to_path_buf());
    let mut pending: IndexMap<String, Pending> = IndexMap::new();
    let mut group = "ungrouped".to_string();
    let mut state = State::Hosts;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with(['#', ';']) {
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        let pos = Pos::new(&path, index + 1, raw[..indent].chars().count() + 1);
        if let Some(section) = SECTION.captures(line) {
            group = section[1].to_string();
            state = match section.get(2).map(|m| m.as_str()) {
                None | Some("hosts") => State::Hosts,
                Some("children") => State::Children,
                Some("vars") => State::Vars,
                Some(other) => {
                    return Err(located_hint(
                        &pos,
                        format!("section `{line}` has unknown type `{other}`"),
                        "a section is `[group]`, `[group:children]` or `[group:vars]`",
                    ))
                }
            };
            if !inventory.groups.contains_key(&group) {
                if state == State::Vars && !pending.contains_key(&group) {
                    pending.insert(
                        group.clone(),
                        Pending {
                            pos: pos.clone(),
                            state,
                            parents: Vec::new(),
                        },
                    );
                }
                inventory.add_group(&group);
            }
            if state != State::Vars {
                if let Some(declared) = pending.get(&group) {
                    match declared.state {
                        State::Children => add_pending_children(inventory, &group, &mut pending, &pos)?,
                        _ => {
                            pending.shift_remove(&group);
                        }
                    }
                }
            }
            continue;
        }
        if line.starts_with('[') {
            return Err(located_hint(
                &pos,
                format!("invalid section header `{line}`"),
                "write `[group]`, `[group:children]` or `[group:vars]`, with a closing `]` and no spaces inside",
            ));
        }
        match state {
            State::Hosts => parse_host_line(inventory, &group, line, raw, &pos)?,
            State::Vars => {
                let Some((key, value)) = line.split_once('=') else {
                    return Err(located_hint(
                        &pos,
                        format!("expected `key=value` in `[{group}:vars]`, found `{line}`"),
                        "group variables are written one per line as `name=value`",
                    ));
                };
                inventory.set_group_var(&group, key.trim(), parse_value(value.trim()));
            }
            State::Children => {
                let Some(name) = GROUP_NAME.captures(line) else {
                    return Err(located(
                        &pos,
                        format!("expected a group name in `[{group}:children]`, found `{line}`"),
                    ));
                };
                let child = name[1].to_string();
                if inventory.groups.contains_key(&child) {
                    inventory
                        .add_child(&group, &child)
                        .map_err(|e| located(&pos, e))?;
                } else if let Some(declared) = pending.get_mut(&child) {
                    declared.parents.push(group.clone());
                } else {
                    pending.insert(
                        child,
                        Pending {
                            pos: pos.clone(),
                            state: State::Children,
                            parents: vec![group.clone()],
                        },
                    );
                }
            }
        }
    }
    if let Some((name, declared)) = pending.first() {
        let defined = inventory
            .groups
            .keys()
            .filter(|g| !pending.contains_key(*g) && *g != "all" && *g != "ungrouped");
        let fix = match did_you_mean(name, defined.map(String::as_str)) {
            Some(close) => format!("did you mean `{close}`?"),
            None => match declared.state {
                State::Vars => format!("declare the group with a `[{name}]` or `[{name}:children]` section"),
                _ => format!("declare it with a `[{name}]` section (it may be empty)"),
            },
        };
        return Err(match declared.state {
            State::Vars => located_hint(
                &declared.pos,
                format!("section `[{name}:vars]` is for an undefined group `{name}`"),
                fix,
            ),
            _ => located_hint(
                &declared.pos,
                format!(
                    "section `[{}:children]` includes undefined group `{name}`",
                    declared.parents.last().map_or("", String::as_str)
                ),
                fix,
            ),
        });
    }
    Ok(())
}

fn add_pending_children(
    inventory: &mut Inventory,
    group: &str,
    pending: &mut IndexMap<String, Pending>,
    pos: &Pos,
) -> Result<()> {
    let Some(declared) = pending.shift_remove(group) else {
        return Ok(());
    };
    for parent in declared.parents {
        inventory.add_child(&parent, group).map_err(|e| located(pos, e))?;
        if pending.get(&parent).is_some_and(|p| p.state == State::Children) {
            add_pending_children(inventory, &parent, pending, pos)?;
        }
    }
    Ok(())
}

/// `web[01:03].example.org:2222 ansible_user=deploy tier=1`
fn parse_host_line(inventory: &mut Inventory, group: &str, line: &str, raw: &str, pos: &Pos) -> Result<()> {
    let tokens =
        split(line, true).map_err(|e| located(pos, format!("cannot split host line `{line}`: {e}")))?;
    let Some(entry) = tokens.first() else {
        return Ok(());
    };
    let (names, port) = expand_host_entry(entry).map_err(|e| {
        located_hint(
            pos,
            format!("invalid host range in `{entry}`: {e}"),
            "ranges are written `[1:9]`, `[01:20]`, `[a:f]` or with a step `[1:9:2]`",
        )
    })?;
    if entry.ends_with(':') && port.is_none() {
        return Err(located(
            pos,
            format!("invalid host `{entry}`: a trailing `:` must be followed by a port number"),
        ));
    }
    let mut variables = Vec::new();
    for token in &tokens[1..] {
        let Some((key, value)) = token.split_once('=') else {
            let col = raw
                .find(token.as_str())
                .map_or(pos.col, |at| raw[..at].chars().count() + 1);
            return Err(located_hint(
                &Pos::new(&pos.path, pos.line, col),
                format!("expected `key=value` host variable, found `{token}`"),
                "host variables follow the host name as `name=value`; quote values that contain spaces",
            ));
        };
        variables.push((key.to_string(), parse_value(value)));
    }
    for name in names {
        inventory.add_host(&name, group, port);
        for (key, value) in &variables {
            inventory.set_host_var(&name, key, value.clone());
        }
    }
    Ok(())
}

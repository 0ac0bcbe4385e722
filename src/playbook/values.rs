//! Typed values read from YAML nodes: strings, booleans, integers, conditions, tag lists,
//! variables, host patterns and `serial` batches.
//!
//! Each accepts what Ansible accepts for its keyword (`yes`/`no` for a boolean, a
//! comma-separated string for tags, the old list-of-mappings form for `vars`), keeps templates
//! as written for later, and otherwise fails naming the keyword, what was found, and where.

use anyhow::Result;

use super::{Batch, Flag, Located, Templated, Vars};
use crate::error::{did_you_mean, located, located_hint};
use crate::resource::{self, is_template};
use crate::yaml::{Data, Node};

pub(super) fn key_name(key: &Node) -> Result<String> {
    key.key_string()
        .ok_or_else(|| key.error(format!("expected a name as key, found {}", key.type_name())))
}

pub(super) fn is_template_node(node: &Node) -> bool {
    node.as_str().is_some_and(is_template)
}

pub(super) fn seq<'n>(node: &'n Node, what: &str, expected: &str) -> Result<&'n [Node]> {
    match &node.data {
        Data::Seq(items) => Ok(items),
        Data::Null => Ok(&[]),
        _ => Err(node.error(format!("`{what}` must be {expected}, found {}", node.type_name()))),
    }
}

/// A scalar as a string (numbers and booleans rendered as Ansible renders them).
pub(super) fn scalar(node: &Node, what: &str) -> Result<Located<String>> {
    match &node.data {
        Data::Seq(_) | Data::Map(_) | Data::Null => {
            Err(node.error(format!("`{what}` must be a string, found {}", node.type_name())))
        }
        _ => Ok(Located {
            value: node.scalar_string().expect("scalars render as strings"),
            pos: node.pos.clone(),
        }),
    }
}

pub(super) fn choice(node: &Node, what: &str, choices: &[&str]) -> Result<Located<String>> {
    let value = scalar(node, what)?;
    if is_template(&value.value) || choices.contains(&value.value.as_str()) {
        return Ok(value);
    }
    let message = format!(
        "`{what}` must be one of {}, found `{}`",
        choices.join(", "),
        value.value
    );
    Err(match did_you_mean(&value.value, choices.iter().copied()) {
        Some(close) => located_hint(&value.pos, message, format!("did you mean `{close}`?")),
        None => located(&value.pos, message),
    })
}

pub(super) fn flag(node: &Node, what: &str) -> Result<Flag> {
    let value = match &node.data {
        Data::Bool(b) => Templated::Literal(*b),
        Data::Int(i @ (0 | 1)) => Templated::Literal(*i == 1),
        Data::Str { value, .. } if is_template(value) => Templated::Template(value.clone()),
        Data::Str { value, .. } => match resource::parse_bool(value) {
            Some(b) => Templated::Literal(b),
            None => {
                return Err(node.error_hint(
                    format!("`{what}` must be a boolean, found `{value}`"),
                    "write yes/no or true/false",
                ))
            }
        },
        _ => return Err(node.error(format!("`{what}` must be a boolean, found {}", node.type_name()))),
    };
    Ok(Located {
        value,
        pos: node.pos.clone(),
    })
}

pub(super) fn integer(node: &Node, what: &str) -> Result<Located<Templated<i64>>> {
    let value = match &node.data {
        Data::Int(i) => Templated::Literal(*i),
        Data::Str { value, .. } if is_template(value) => Templated::Template(value.clone()),
        Data::Str { value, .. } if value.trim().parse::<i64>().is_ok() => {
            Templated::Literal(value.trim().parse().expect("checked just above"))
        }
        _ => {
            let found = node
                .as_str()
                .map_or_else(|| node.type_name().to_string(), |s| format!("`{s}`"));
            return Err(node.error(format!("`{what}` must be an integer, found {found}")));
        }
    };
    Ok(Located {
        value,
        pos: node.pos.clone(),
    })
}

/// `when`-like conditions: a string, a boolean, or a list of them.
pub(super) fn conditions(node: &Node, what: &str) -> Result<Vec<Located<String>>> {
    let items: &[Node] = match &node.data {
        Data::Seq(items) => items,
        Data::Null => &[],
        _ => std::slice::from_ref(node),
    };
    items
        .iter()
        .map(|item| match &item.data {
            Data::Seq(_) | Data::Map(_) | Data::Null => Err(item.error(format!(
                "`{what}` takes a condition or a list of conditions, found {}",
                item.type_name()
            ))),
            _ => scalar(item, what),
        })
        .collect()
}

/// `notify`, `listen`: a name or a list of names.
pub(super) fn string_list(node: &Node, what: &str) -> Result<Vec<Located<String>>> {
    match &node.data {
        Data::Seq(items) => items.iter().map(|i| scalar(i, what)).collect(),
        _ => Ok(vec![scalar(node, what)?]),
    }
}

/// Tags: a list, or a comma-separated string, as Ansible reads them.
pub(super) fn tag_list(node: &Node) -> Result<Vec<Located<String>>> {
    let mut out = Vec::new();
    let items: &[Node] = match &node.data {
        Data::Seq(items) => items,
        Data::Null => &[],
        _ => std::slice::from_ref(node),
    };
    for item in items {
        let text = scalar(item, "tags")?;
        for tag in text.value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            out.push(Located {
                value: tag.to_string(),
                pos: text.pos.clone(),
            });
        }
    }
    Ok(out)
}

pub(super) fn vars_map(node: &Node) -> Result<Vars> {
    let mut vars = Vars::new();
    let entries: Vec<&(Node, Node)> = match &node.data {
        Data::Null => Vec::new(),
        Data::Map(entries) => entries.iter().collect(),
        // The old list-of-mappings form.
        Data::Seq(items) if items.iter().all(|i| i.as_map().is_some()) => items
            .iter()
            .flat_map(|i| i.as_map().unwrap_or_default())
            .collect(),
        _ => {
            return Err(node.error(format!(
                "`vars` must be a mapping of variables, found {}",
                node.type_name()
            )))
        }
    };
    for (key, value) in entries {
        let name = key_name(key)?;
        resource::check_variable_name(&name, &key.pos)?;
        vars.insert(name, value.clone());
    }
    Ok(vars)
}

pub(super) fn hosts(node: &Node) -> Result<Located<String>> {
    let value = match &node.data {
        Data::Seq(items) => items
            .iter()
            .map(|i| scalar(i, "hosts").map(|s| s.value))
            .collect::<Result<Vec<_>>>()?
            .join(":"),
        _ => scalar(node, "hosts")?.value,
    };
    if value.trim().is_empty() {
        return Err(node.error_hint(
            "`hosts` is empty; expected a host pattern",
            "write `hosts: all` or a group name",
        ));
    }
    Ok(Located {
        value,
        pos: node.pos.clone(),
    })
}

pub(super) fn serial(node: &Node) -> Result<Vec<Located<Batch>>> {
    let items: &[Node] = match &node.data {
        Data::Seq(items) => items,
        _ => std::slice::from_ref(node),
    };
    items.iter().map(batch).collect()
}

fn batch(node: &Node) -> Result<Located<Batch>> {
    let bad = || {
        let found = node
            .as_str()
            .map_or_else(|| node.type_name().to_string(), |s| format!("`{s}`"));
        node.error_hint(
            format!("`serial` must be a positive number, a percentage like `30%`, or a list of them, found {found}"),
            "for example `serial: 1`, `serial: \"25%\"` or `serial: [1, 5, \"50%\"]`",
        )
    };
    let value = match &node.data {
        Data::Int(i) if *i > 0 => Batch::Count(*i as u64),
        Data::Str { value, .. } if is_template(value) => Batch::Template(value.clone()),
        Data::Str { value, .. } => {
            let text = value.trim();
            if let Some(percent) = text.strip_suffix('%') {
                match percent.trim().parse::<f64>() {
                    Ok(p) if p > 0.0 && p <= 100.0 => Batch::Percent(p),
                    _ => return Err(bad()),
                }
            } else {
                match text.parse::<u64>() {
                    Ok(n) if n > 0 => Batch::Count(n),
                    _ => return Err(bad()),
                }
            }
        }
        _ => return Err(bad()),
    };
    Ok(Located {
        value,
        pos: node.pos.clone(),
    })
}

pub(super) fn percentage(node: &Node) -> Result<Located<Templated<f64>>> {
    let value = match &node.data {
        Data::Int(i) if (0..=100).contains(i) => Templated::Literal(*i as f64),
        Data::Float(f) if (0.0..=100.0).contains(f) => Templated::Literal(*f),
        Data::Str { value, .. } if is_template(value) => Templated::Template(value.clone()),
        _ => {
            let found = node
                .scalar_string()
                .map_or_else(|| node.type_name().to_string(), |s| format!("`{s}`"));
            return Err(node.error(format!(
                "`max_fail_percentage` must be a number from 0 to 100, found {found}"
            )));
        }
    };
    Ok(Located {
        value,
        pos: node.pos.clone(),
    })
}

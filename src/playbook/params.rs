//! Module parameters as written: under the module key (a mapping, `key=value` text or free
//! form), under `args:`, or in the old `action:` form.
//!
//! They come out as raw parameters for `resource::check_params` to check against the module's
//! spec; splitting the text is `kv`'s job. The accessors for the checked parameters the loader
//! reads itself (an include's `file`, a role step's `name`) are here too.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Result;

use super::checks::{ansible_may_know, dynamic_name, unknown_task_key};
use super::kv::parse_kv;
use super::values::key_name;
use super::Located;
use crate::error::{located, located_hint, Pos};
use crate::resource::{self, is_template, FreeForm, IncludeKind, ModuleKind, ModuleSpec, RawParam};
use crate::yaml::{Data, Node};

/// The parameters written under the module key.
pub(super) fn module_params(spec: &ModuleSpec, value: &Node) -> Result<Vec<RawParam>> {
    match &value.data {
        Data::Null => Ok(Vec::new()),
        Data::Map(entries) => entries
            .iter()
            .map(|(k, v)| {
                Ok(RawParam {
                    name: key_name(k)?,
                    key_pos: k.pos.clone(),
                    value: v.clone(),
                })
            })
            .collect(),
        Data::Str { value: text, .. } => string_params(spec, text, &value.pos),
        _ if spec.free_form != FreeForm::KeyValue => {
            let text = value.scalar_string().ok_or_else(|| {
                value.error(format!(
                    "module `{}` takes a string or a mapping of parameters, found {}",
                    spec.name,
                    value.type_name()
                ))
            })?;
            string_params(spec, &text, &value.pos)
        }
        _ => Err(value.error(format!(
            "module `{}` takes a mapping of parameters, found {}",
            spec.name,
            value.type_name()
        ))),
    }
}

/// `copy: src=a dest=b`, `command: ls chdir=/tmp`, `meta: flush_handlers`.
pub(super) fn string_params(spec: &ModuleSpec, text: &str, pos: &Pos) -> Result<Vec<RawParam>> {
    let kv = parse_kv(text, spec.kind == ModuleKind::Command).map_err(|why| {
        located(
            pos,
            format!("cannot split the parameters of `{}`: {why}", spec.name),
        )
    })?;
    let node = |value: String| Node {
        data: Data::Str { value, quoted: true },
        pos: pos.clone(),
    };
    let mut params: Vec<RawParam> = kv
        .params
        .into_iter()
        .map(|(name, value)| RawParam {
            name,
            key_pos: pos.clone(),
            value: node(value),
        })
        .collect();
    if let Some(raw) = kv.raw {
        match spec.free_form {
            FreeForm::Raw(name) => params.insert(
                0,
                RawParam {
                    name: name.to_string(),
                    key_pos: pos.clone(),
                    value: node(raw),
                },
            ),
            FreeForm::KeyValue => {
                return Err(located_hint(
                    pos,
                    format!(
                        "module `{}` takes `key=value` parameters, found `{raw}`",
                        spec.name
                    ),
                    format!("write the parameters as a mapping under `{}:`", spec.name),
                ))
            }
        }
    }
    Ok(params)
}

pub(super) fn args_params(args: &Node) -> Result<Vec<RawParam>> {
    args.as_map()
        .unwrap_or_default()
        .iter()
        .map(|(k, v)| {
            Ok(RawParam {
                name: key_name(k)?,
                key_pos: k.pos.clone(),
                value: v.clone(),
            })
        })
        .collect()
}

/// The classic `action: copy src=a dest=b` (or `action: {module: copy, src: a}`).
pub(super) fn action(value: &Node) -> Result<(&'static ModuleSpec, Located<String>, Vec<RawParam>)> {
    let (name, rest, extra) = match &value.data {
        Data::Str { value: text, .. } => {
            let tokens = super::kv::split_args(text)
                .map_err(|why| value.error(format!("cannot split `action`: {why}")))?;
            let Some((first, rest)) = tokens.split_first() else {
                return Err(value.error("`action` is empty; expected a module and its parameters"));
            };
            (first.trim().to_string(), rest.join(" "), Vec::new())
        }
        Data::Map(entries) => {
            let module = value
                .get("module")
                .and_then(Node::as_str)
                .ok_or_else(|| value.error("`action` as a mapping needs `module: NAME`"))?;
            let mut extra = Vec::new();
            for (k, v) in entries {
                let key = key_name(k)?;
                if key != "module" {
                    extra.push(RawParam {
                        name: key,
                        key_pos: k.pos.clone(),
                        value: v.clone(),
                    });
                }
            }
            (module.to_string(), String::new(), extra)
        }
        _ => {
            return Err(value.error(format!(
                "`action` takes a module and its parameters, found {}",
                value.type_name()
            )))
        }
    };
    // A module Ansible may know loads as the stand-in; the caller records why it cannot run.
    let spec = match resource::lookup(&name) {
        Some(spec) => spec,
        None if ansible_may_know(&name) => &resource::unsupported::SPEC,
        None => {
            let key = Node {
                data: Data::Str {
                    value: name.clone(),
                    quoted: false,
                },
                pos: value.pos.clone(),
            };
            return Err(unknown_task_key(&key, &name, false));
        }
    };
    let mut params = if rest.is_empty() {
        Vec::new()
    } else {
        string_params(spec, &rest, &value.pos)?
    };
    params.extend(extra);
    let written = Located {
        value: name,
        pos: value.pos.clone(),
    };
    Ok((spec, written, params))
}

pub(super) fn string_param(params: &resource::Params, name: &str) -> Located<String> {
    let param = &params[name];
    Located {
        value: param
            .value
            .as_str()
            .map_or_else(|| param.value.to_string(), str::to_string),
        pos: param.pos.clone(),
    }
}

/// A parameter an import needs literal, since it is expanded before any variable is known.
pub(super) fn literal_param(
    params: &resource::Params,
    name: &str,
    spec: &ModuleSpec,
    kind: IncludeKind,
) -> Result<Located<String>> {
    let module = spec.name;
    let dynamic = dynamic_name(kind);
    let value = string_param(params, name);
    if is_template(&value.value) {
        return Err(located_hint(
            &value.pos,
            format!(
                "`{module}` is expanded when the playbook is loaded and needs a literal `{name}`, found `{}`",
                value.value
            ),
            format!("use `{dynamic}` for a name known only at run time"),
        ));
    }
    Ok(value)
}

pub(super) fn json_to_data(value: &serde_json::Value) -> Data {
    let path = Arc::new(PathBuf::new());
    let pos = Pos::new(&path, 0, 0);
    let node = |v: &serde_json::Value| Node {
        data: json_to_data(v),
        pos: pos.clone(),
    };
    match value {
        serde_json::Value::Null => Data::Null,
        serde_json::Value::Bool(b) => Data::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Data::Float(n.as_f64().unwrap_or_default()), Data::Int),
        serde_json::Value::String(s) => Data::Str {
            value: s.clone(),
            quoted: true,
        },
        serde_json::Value::Array(items) => Data::Seq(items.iter().map(node).collect()),
        serde_json::Value::Object(map) => Data::Map(
            map.iter()
                .map(|(k, v)| (node(&serde_json::Value::String(k.clone())), node(v)))
                .collect(),
        ),
    }
}

//! Filters on data: JSON and YAML in and out, `combine`, `dict2items`, set operations,
//! `flatten`, `product`, `extract`.

use super::*;

pub(super) fn to_json(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?;
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(false);
    let ensure_ascii = kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    Ok(python_json_text(
        &json_of(value)?,
        indent,
        sort_keys,
        ensure_ascii,
    ))
}

pub(super) fn to_nice_json(value: &Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.or(indent).unwrap_or(4);
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    let ensure_ascii = kwargs.get::<Option<bool>>("ensure_ascii")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    Ok(python_json_text(
        &json_of(value)?,
        Some(indent),
        sort_keys,
        ensure_ascii,
    ))
}

pub(super) fn yaml_kwargs(
    kwargs: &Kwargs,
    default_indent: usize,
    default_block: bool,
) -> Result<(usize, YamlStyle, bool), Error> {
    let indent = kwargs.get::<Option<usize>>("indent")?.unwrap_or(default_indent);
    let sort_keys = kwargs.get::<Option<bool>>("sort_keys")?.unwrap_or(true);
    let block = match kwargs.get::<Option<Value>>("default_flow_style")? {
        None => default_block,
        Some(v) if v.is_none() => false,
        Some(v) if !v.is_true() => true,
        Some(_) => return Err(invalid("default_flow_style=True is not supported")),
    };
    kwargs.assert_all_used()?;
    Ok((
        indent,
        if block { YamlStyle::Block } else { YamlStyle::Auto },
        sort_keys,
    ))
}

pub(super) fn to_yaml_filter(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let (indent, style, sort_keys) = yaml_kwargs(&kwargs, 2, false)?;
    Ok(to_yaml(&json_of(value)?, style, indent, sort_keys))
}

pub(super) fn to_nice_yaml(value: &Value, indent: Option<usize>, kwargs: Kwargs) -> Result<String, Error> {
    let (kw_indent, style, sort_keys) = yaml_kwargs(&kwargs, indent.unwrap_or(4), true)?;
    Ok(to_yaml(&json_of(value)?, style, kw_indent, sort_keys))
}

pub(super) fn from_json(value: &Value) -> Result<Value, Error> {
    let Some(text) = value.as_str() else {
        return Ok(value.clone());
    };
    let parsed: Json =
        serde_json::from_str(text).map_err(|e| invalid(format!("from_json: invalid JSON: {e}")))?;
    Ok(from_json_value(&parsed))
}

pub(super) fn from_yaml(value: &Value) -> Result<Value, Error> {
    let Some(text) = value.as_str() else {
        return Ok(value.clone());
    };
    let node = crate::yaml::parse_str(text, std::path::Path::new("<from_yaml>"))
        .map_err(|e| invalid(format!("from_yaml: invalid YAML: {e:#}")))?;
    Ok(from_json_value(&node.to_value()))
}

/// `map('extract', container, morekeys)`: `container[item]`, then deeper keys.
pub(super) fn extract(
    state: &State,
    item: &Value,
    container: &Value,
    morekeys: Option<Value>,
) -> Result<Value, Error> {
    let mut keys = vec![item.clone()];
    match morekeys {
        None => {}
        Some(more) if more.kind() == ValueKind::Seq => keys.extend(more.try_iter()?),
        Some(more) => keys.push(more),
    }
    let mut value = container.clone();
    for key in keys {
        value = value.get_item(&key)?;
        if value.is_undefined() {
            let _ = state;
            return Ok(Value::UNDEFINED);
        }
    }
    Ok(value)
}

/// Ansible's `merge_hash`: `high` wins; with `recursive`, nested dicts merge too.
pub(super) fn merge_hash(low: &Json, high: &Json, recursive: bool, list_merge: &str) -> Json {
    let (Json::Object(low_map), Json::Object(high_map)) = (low, high) else {
        return high.clone();
    };
    let mut out = low_map.clone();
    for (key, high_value) in high_map {
        let merged = match (out.get(key), high_value) {
            (Some(low_value @ Json::Object(_)), Json::Object(_)) if recursive => {
                merge_hash(low_value, high_value, recursive, list_merge)
            }
            (Some(Json::Array(low_items)), Json::Array(high_items)) => match list_merge {
                "keep" => Json::Array(low_items.clone()),
                "append" => Json::Array(low_items.iter().chain(high_items).cloned().collect()),
                "prepend" => Json::Array(high_items.iter().chain(low_items).cloned().collect()),
                "append_rp" => Json::Array(
                    low_items
                        .iter()
                        .filter(|x| !high_items.contains(x))
                        .chain(high_items)
                        .cloned()
                        .collect(),
                ),
                "prepend_rp" => Json::Array(
                    high_items
                        .iter()
                        .chain(low_items.iter().filter(|x| !high_items.contains(x)))
                        .cloned()
                        .collect(),
                ),
                _ => high_value.clone(),
            },
            _ => high_value.clone(),
        };
        out.insert(key.clone(), merged);
    }
    Json::Object(out)
}

pub(super) fn combine(value: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let recursive = kwargs.get::<Option<bool>>("recursive")?.unwrap_or(false);
    let list_merge = kwargs
        .get::<Option<String>>("list_merge")?
        .unwrap_or_else(|| "replace".to_string());
    kwargs.assert_all_used()?;
    if !["replace", "keep", "append", "prepend", "append_rp", "prepend_rp"].contains(&list_merge.as_str()) {
        return Err(invalid(format!("combine: unknown list_merge '{list_merge}'")));
    }
    let mut dicts = Vec::new();
    for term in std::iter::once(value).chain(others.iter()) {
        match json_of(term)? {
            Json::Array(items) => dicts.extend(items),
            other => dicts.push(other),
        }
    }
    let mut result = Json::Object(serde_json::Map::new());
    for dict in dicts {
        if !dict.is_object() {
            return Err(invalid(format!(
                "combine: expected dicts, got {}",
                crate::template::python::json_type_name(&dict)
            )));
        }
        result = merge_hash(&result, &dict, recursive, &list_merge);
    }
    Ok(from_json_value(&result))
}

pub(super) fn dict2items(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    let key_name = kwargs
        .get::<Option<String>>("key_name")?
        .unwrap_or_else(|| "key".to_string());
    let value_name = kwargs
        .get::<Option<String>>("value_name")?
        .unwrap_or_else(|| "value".to_string());
    kwargs.assert_all_used()?;
    let Json::Object(map) = json_of(value)? else {
        return Err(invalid(format!(
            "dict2items requires a dictionary, got {} instead",
            value.kind()
        )));
    };
    let items: Vec<Json> = map
        .into_iter()
        .map(|(k, v)| {
            let mut item = serde_json::Map::new();
            item.insert(key_name.clone(), Json::String(k));
            item.insert(value_name.clone(), v);
            Json::Object(item)
        })
        .collect();
    Ok(from_json_value(&Json::Array(items)))
}

pub(super) fn items2dict(value: &Value, kwargs: Kwargs) -> Result<Value, Error> {
    // The names may be list indexes (`items2dict(key_name=0, value_name=1)` over pairs).
    let key_name = kwargs
        .get::<Option<Value>>("key_name")?
        .unwrap_or(Value::from("key"));
    let value_name = kwargs
        .get::<Option<Value>>("value_name")?
        .unwrap_or(Value::from("value"));
    kwargs.assert_all_used()?;
    if value.kind() != ValueKind::Seq {
        return Err(invalid(format!(
            "items2dict requires a list, got {} instead",
            value.kind()
        )));
    }
    let mut out = serde_json::Map::new();
    for item in value.try_iter()? {
        let key = item.get_item(&key_name).unwrap_or(Value::UNDEFINED);
        let v = item.get_item(&value_name).unwrap_or(Value::UNDEFINED);
        if key.is_undefined() || v.is_undefined() {
            return Err(invalid(format!(
                "items2dict requires each dictionary in the list to contain the keys '{key_name}' and '{value_name}'"
            )));
        }
        out.insert(json_to_python_str(&json_of(&key)?), json_of(&v)?);
    }
    Ok(from_json_value(&Json::Object(out)))
}

pub(super) fn items_of(value: &Value) -> Result<Vec<Value>, Error> {
    Ok(value.try_iter()?.collect())
}

pub(super) fn unique(items: impl IntoIterator<Item = Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

pub(super) fn union(a: &Value, b: &Value) -> Result<Value, Error> {
    Ok(Value::from(unique(items_of(a)?.into_iter().chain(items_of(b)?))))
}

pub(super) fn intersect(a: &Value, b: &Value) -> Result<Value, Error> {
    let b = items_of(b)?;
    Ok(Value::from(unique(
        items_of(a)?.into_iter().filter(|x| b.contains(x)),
    )))
}

pub(super) fn difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let b = items_of(b)?;
    Ok(Value::from(unique(
        items_of(a)?.into_iter().filter(|x| !b.contains(x)),
    )))
}

pub(super) fn symmetric_difference(a: &Value, b: &Value) -> Result<Value, Error> {
    let (a, b) = (items_of(a)?, items_of(b)?);
    let only_a = a.iter().filter(|x| !b.contains(x)).cloned();
    let only_b = b.iter().filter(|x| !a.contains(x)).cloned();
    Ok(Value::from(unique(only_a.chain(only_b))))
}

pub(super) fn flatten_into(out: &mut Vec<Json>, items: Vec<Json>, levels: Option<i64>, skip_nulls: bool) {
    for item in items {
        match item {
            Json::Null if skip_nulls => {}
            Json::String(ref s) if skip_nulls && (s == "None" || s == "null") => {}
            Json::Array(inner) if levels.is_none_or(|l| l >= 1) => {
                flatten_into(out, inner, levels.map(|l| l - 1), skip_nulls)
            }
            other => out.push(other),
        }
    }
}

pub(super) fn flatten(value: &Value, levels: Option<i64>, kwargs: Kwargs) -> Result<Value, Error> {
    let levels = kwargs.get::<Option<i64>>("levels")?.or(levels);
    let skip_nulls = kwargs.get::<Option<bool>>("skip_nulls")?.unwrap_or(true);
    kwargs.assert_all_used()?;
    let Json::Array(items) = json_of(value)? else {
        return Err(invalid("flatten expects a list"));
    };
    let mut out = Vec::new();
    flatten_into(&mut out, items, levels, skip_nulls);
    Ok(from_json_value(&Json::Array(out)))
}

/// `itertools.product`.
pub(super) fn product(value: &Value, others: Rest<Value>) -> Result<Value, Error> {
    let mut result: Vec<Vec<Value>> = vec![Vec::new()];
    for list in std::iter::once(value).chain(others.iter()) {
        let items = items_of(list)?;
        result = result
            .into_iter()
            .flat_map(|prefix| {
                items.iter().map(move |item| {
                    let mut next = prefix.clone();
                    next.push(item.clone());
                    next
                })
            })
            .collect();
    }
    Ok(Value::from(
        result.into_iter().map(Value::from).collect::<Vec<_>>(),
    ))
}

/// Ansible's `subelements(path, skip_missing=False)` filter: a `[item, subitem]` pair for
/// each subitem of each item's `path` list (a dotted string or a list of keys). Unlike the
/// lookup of the same name, the items keep their sub-key.
pub(super) fn subelements(value: &Value, path: Value, kwargs: Kwargs) -> Result<Value, Error> {
    let skip_missing = kwargs.get::<Option<bool>>("skip_missing")?.unwrap_or(false);
    kwargs.assert_all_used()?;
    let elements: Vec<Json> = match json_of(value)? {
        Json::Object(map) => map.into_iter().map(|(_, v)| v).collect(),
        Json::Array(items) => items,
        _ => {
            return Err(invalid(
                "subelements: obj must be a list of dicts or a nested dict",
            ))
        }
    };
    let keys: Vec<Json> = match json_of(&path)? {
        Json::Array(keys) => keys,
        Json::String(path) => path.split('.').map(Json::from).collect(),
        _ => return Err(invalid("subelements: subelements must be a list or a string")),
    };
    let mut out = Vec::new();
    'elements: for element in elements {
        let mut values = &element;
        for key in &keys {
            let next = match (values, key) {
                (Json::Object(map), Json::String(key)) => map.get(key),
                (Json::Array(items), Json::Number(n)) => n.as_u64().and_then(|i| items.get(i as usize)),
                (Json::Object(_) | Json::Array(_), _) => None,
                _ => {
                    return Err(invalid(format!(
                        "subelements: the key {} should point to a dictionary, got '{}'",
                        json_to_python_str(key),
                        json_to_python_str(values)
                    )))
                }
            };
            match next {
                Some(next) => values = next,
                None if skip_missing => continue 'elements,
                None => {
                    return Err(invalid(format!(
                        "subelements: could not find {} key in iterated item {}",
                        python_repr(key),
                        python_repr(values)
                    )))
                }
            }
        }
        let Json::Array(subitems) = values else {
            return Err(invalid(format!(
                "subelements: the key {} should point to a list, got {}",
                python_repr(keys.last().unwrap_or(&Json::Null)),
                python_repr(values)
            )));
        };
        for subitem in subitems {
            out.push(Json::Array(vec![element.clone(), subitem.clone()]));
        }
    }
    Ok(from_json_value(&Json::Array(out)))
}

/// Ansible's `zip_longest(*others, fillvalue=None)`: `itertools.zip_longest`.
pub(super) fn zip_longest(value: &Value, others: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let fill = kwargs
        .get::<Option<Value>>("fillvalue")?
        .unwrap_or(Value::from(()));
    kwargs.assert_all_used()?;
    let lists: Vec<Vec<Value>> = std::iter::once(value)
        .chain(others.iter())
        .map(items_of)
        .collect::<Result<_, _>>()?;
    let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
    Ok(Value::from(
        (0..longest)
            .map(|i| {
                Value::from(
                    lists
                        .iter()
                        .map(|list| list.get(i).cloned().unwrap_or_else(|| fill.clone()))
                        .collect::<Vec<_>>(),
                )
            })
            .collect::<Vec<_>>(),
    ))
}

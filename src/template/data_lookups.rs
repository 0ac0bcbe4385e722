//! The lookups that only rearrange their terms (`items`, `subelements`, `flattened`, `dict`,
//! ...): what `lookup()`/`query()` give, and what the `with_<lookup>` loop keywords iterate
//! over, since Ansible runs the lookup of that name on the loop's templated terms. Each is
//! written after Ansible's plugin of the same name, quirks included (`subelements` removes
//! the sub-key from the outer item, `flattened` stops a list at a `'None'`).

use anyhow::{bail, Result};
use serde_json::{json, Value as Json};

use super::python::json_to_python_str;

/// The lookups of this module, by the names a task can use.
const NAMES: &[&str] = &[
    "items",
    "list",
    "flattened",
    "community.general.flattened",
    "subelements",
    "dict",
    "indexed_items",
    "together",
    "nested",
    "sequence",
];

/// Whether `name` is one of the lookups of this module (short or `ansible.builtin.` name).
pub fn is_data_lookup(name: &str) -> bool {
    NAMES.contains(&short_name(name))
}

fn short_name(name: &str) -> &str {
    name.strip_prefix("ansible.builtin.").unwrap_or(name)
}

/// Runs the lookup `name` on `terms` (the lookup's positional arguments, or a loop's terms).
pub fn run_data_lookup(name: &str, terms: &[Json]) -> Result<Vec<Json>> {
    Ok(match short_name(name) {
        "items" => flatten_once(terms),
        "list" => terms.to_vec(),
        "flattened" | "community.general.flattened" => flattened(terms),
        "subelements" => subelements(terms)?,
        "dict" => {
            let mut out = Vec::new();
            for term in terms {
                let Json::Object(map) = term else {
                    bail!("with_dict expects a dict, got {}", json_to_python_str(term));
                };
                out.extend(map.iter().map(|(k, v)| json!({"key": k, "value": v})));
            }
            out
        }
        "indexed_items" => flatten_once(terms)
            .into_iter()
            .enumerate()
            .map(|(i, item)| json!([i, item]))
            .collect(),
        "together" => {
            let lists: Vec<Vec<Json>> = terms.iter().map(as_list).collect::<Result<_>>()?;
            let longest = lists.iter().map(Vec::len).max().unwrap_or(0);
            (0..longest)
                .map(|i| {
                    let row: Vec<Json> = lists
                        .iter()
                        .map(|l| l.get(i).cloned().unwrap_or(Json::Null))
                        .collect();
                    Json::Array(flatten_once(&row))
                })
                .collect()
        }
        "nested" => {
            if terms.is_empty() {
                bail!("with_nested requires at least one element in the nested list");
            }
            let mut rows: Vec<Vec<Json>> = vec![Vec::new()];
            for term in terms {
                let items = as_list(term)?;
                rows = rows
                    .into_iter()
                    .flat_map(|row| {
                        items.iter().map(move |item| {
                            let mut next = row.clone();
                            next.push(item.clone());
                            next
                        })
                    })
                    .collect();
            }
            rows.into_iter()
                .map(|row| Json::Array(flatten_once(&row)))
                .collect()
        }
        "sequence" => {
            let mut out = Vec::new();
            for term in terms {
                let Json::String(term) = term else {
                    bail!("with_sequence takes strings, not {}", json_to_python_str(term));
                };
                out.extend(sequence(term)?.into_iter().map(Json::String));
            }
            out
        }
        other => bail!("`{other}` is not a data lookup"),
    })
}

fn as_list(term: &Json) -> Result<Vec<Json>> {
    match term {
        Json::Array(items) => Ok(items.clone()),
        other => bail!("expected a list, got {}", json_to_python_str(other)),
    }
}

/// `LookupBase._flatten`: lists among the terms are spliced in, one level.
fn flatten_once(terms: &[Json]) -> Vec<Json> {
    let mut out = Vec::new();
    for term in terms {
        match term {
            Json::Array(items) => out.extend(items.iter().cloned()),
            other => out.push(other.clone()),
        }
    }
    out
}

/// community.general's `flattened`: lists flattened at every depth; a list of one list is
/// that list; a `'None'` or `'null'` string ends the list it is in.
fn flattened(terms: &[Json]) -> Vec<Json> {
    let mut out = Vec::new();
    for term in terms {
        let mut term = term;
        while let Json::Array(items) = term {
            match items.as_slice() {
                [only] => term = only,
                _ => break,
            }
        }
        if matches!(term.as_str(), Some("None" | "null")) {
            break;
        }
        match term {
            Json::Array(items) => out.extend(flattened(items)),
            other => out.push(other.clone()),
        }
    }
    out
}

/// The `subelements` lookup (`with_subelements`): `[list or dict, 'key.path', {flags}]` gives
/// a `[item, subitem]` pair for each subitem of each item's `key.path` list.
fn subelements(terms: &[Json]) -> Result<Vec<Json>> {
    const USAGE: &str = "subelements lookup expects a list of two or three items, ";
    if !(2..=3).contains(&terms.len()) {
        bail!("{USAGE}");
    }
    let path: Vec<&str> = match (&terms[0], &terms[1]) {
        (Json::Array(_) | Json::Object(_), Json::String(key)) => key.split('.').collect(),
        _ => bail!("{USAGE}first a dict or a list, second a string pointing to the subkey"),
    };
    let elements: Vec<Json> = match &terms[0] {
        Json::Object(map) if map.get("skipped").is_some_and(|s| s != &json!(false)) => return Ok(Vec::new()),
        Json::Object(map) => map.values().cloned().collect(),
        Json::Array(items) => items.clone(),
        _ => unreachable!("checked above"),
    };
    let skip_missing = match terms.get(2) {
        None => false,
        Some(Json::Object(flags)) => {
            if let Some(unknown) = flags.keys().find(|k| *k != "skip_missing") {
                bail!("{USAGE}the optional third item must be a dict with flags ['skip_missing'], not {unknown:?}");
            }
            flags.get("skip_missing").is_some_and(truthy)
        }
        Some(_) => bail!("{USAGE}the optional third item must be a dict with flags ['skip_missing']"),
    };
    let mut out = Vec::new();
    for element in elements {
        let Json::Object(mut outer) = element else {
            bail!(
                "subelements lookup expects a dictionary, got '{}'",
                json_to_python_str(&element)
            );
        };
        if outer.get("skipped").is_some_and(|s| s != &json!(false)) {
            continue;
        }
        let sublist = take_sublist(&mut outer, &path, skip_missing)?;
        for item in sublist {
            out.push(json!([Json::Object(outer.clone()), item]));
        }
    }
    Ok(out)
}

/// Follows `path` into `outer` and removes the list at its end (as the plugin pops it).
fn take_sublist(
    outer: &mut serde_json::Map<String, Json>,
    path: &[&str],
    skip_missing: bool,
) -> Result<Vec<Json>> {
    let (last, parents) = path.split_last().expect("split gives at least one key");
    let mut current = outer;
    for key in parents {
        let shown = json_to_python_str(&Json::Object(current.clone()));
        match current.get_mut(*key) {
            Some(Json::Object(next)) => current = next,
            Some(other) if !skip_missing => {
                bail!(
                    "the key {key} should point to a dictionary, got '{}'",
                    json_to_python_str(other)
                )
            }
            None if !skip_missing => bail!("could not find '{key}' key in iterated item '{shown}'"),
            _ => return Ok(Vec::new()),
        }
    }
    match current.get(*last) {
        Some(Json::Array(_)) => match current.shift_remove(*last) {
            Some(Json::Array(items)) => Ok(items),
            _ => unreachable!("checked above"),
        },
        Some(other) => bail!(
            "the key {last} should point to a list, got '{}'",
            json_to_python_str(other)
        ),
        None if skip_missing => Ok(Vec::new()),
        None => bail!(
            "could not find '{last}' key in iterated item '{}'",
            json_to_python_str(&Json::Object(current.clone()))
        ),
    }
}

/// The `sequence` lookup (`with_sequence`) of one term: `start=1 end=10 stride=2 format=%02d`
/// (or `count=` instead of `end=`), or the shortcut `[start-]end[/stride][:format]`.
fn sequence(term: &str) -> Result<Vec<String>> {
    let number = |text: &str| -> Result<i64> {
        let text = text.trim();
        let parsed = if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
            i64::from_str_radix(hex, 16)
        } else {
            text.parse()
        };
        parsed.map_err(|_| anyhow::anyhow!("with_sequence: {text:?} is not an integer"))
    };
    let (mut start, mut end, mut count, mut stride, mut format) = (1i64, None, None, 1i64, "%d".to_string());
    if term.contains('=') {
        for pair in term.split_whitespace() {
            let Some((key, value)) = pair.split_once('=') else {
                bail!("unrecognized arguments to with_sequence: {pair:?}");
            };
            match key {
                "start" => start = number(value)?,
                "end" => end = Some(number(value)?),
                "count" => count = Some(number(value)?),
                "stride" => stride = number(value)?,
                "format" => format = value.to_string(),
                other => bail!("unrecognized arguments to with_sequence: ['{other}']"),
            }
        }
    } else {
        let (range, shortcut_format) = match term.split_once(':') {
            Some((range, format)) => (range, Some(format)),
            None => (term, None),
        };
        let (range, shortcut_stride) = match range.split_once('/') {
            Some((range, stride)) => (range, Some(stride)),
            None => (range, None),
        };
        match range.split_once('-') {
            Some((first, last)) => {
                start = number(first)?;
                end = Some(number(last)?);
            }
            None => end = Some(number(range)?),
        }
        if let Some(value) = shortcut_stride {
            stride = number(value)?;
        }
        if let Some(value) = shortcut_format {
            format = value.to_string();
        }
    }
    let end = match (end, count) {
        (None, None) => bail!("must specify count or end in with_sequence"),
        (Some(_), Some(_)) => bail!("can't specify both count and end in with_sequence"),
        (None, Some(0)) => return Ok(Vec::new()),
        (None, Some(count)) => start + count * stride - 1,
        (Some(end), None) => end,
    };
    if stride > 0 && end < start {
        bail!("to count backwards make stride negative");
    }
    if stride < 0 && end > start {
        bail!("to count forward don't make stride negative");
    }
    if stride == 0 {
        return Ok(Vec::new());
    }
    if format.matches('%').count() != 1 {
        bail!("bad formatting string: {format}");
    }
    let mut out = Vec::new();
    let mut i = start;
    while (stride > 0 && i <= end) || (stride < 0 && i >= end) {
        out.push(percent_format(&format, i)?);
        i += stride;
    }
    Ok(out)
}

/// Python's `format % number` for a format with one conversion (`%d`, `%03d`, `%x`, `%-4s`).
fn percent_format(format: &str, number: i64) -> Result<String> {
    let at = format.find('%').expect("one % checked");
    let spec = &format[at + 1..];
    let flags_end = spec.find(|c: char| !"-+ 0#".contains(c)).unwrap_or(spec.len());
    let flags = &spec[..flags_end];
    let width_end = flags_end
        + spec[flags_end..]
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(spec.len() - flags_end);
    let width: usize = spec[flags_end..width_end].parse().unwrap_or(0);
    let Some(conversion) = spec[width_end..].chars().next() else {
        bail!("problem formatting {number} with {format:?}");
    };
    let magnitude = number.unsigned_abs();
    let digits = match conversion {
        'd' | 'i' | 'u' | 's' | 'r' => magnitude.to_string(),
        'x' => format!("{magnitude:x}"),
        'X' => format!("{magnitude:X}"),
        'o' => format!("{magnitude:o}"),
        _ => bail!("problem formatting {number} with {format:?}"),
    };
    let sign = if number < 0 {
        "-"
    } else if flags.contains('+') {
        "+"
    } else if flags.contains(' ') {
        " "
    } else {
        ""
    };
    let body_length = sign.len() + digits.len();
    let padding = width.saturating_sub(body_length);
    let field = if flags.contains('-') {
        format!("{sign}{digits}{}", " ".repeat(padding))
    } else if flags.contains('0') && !matches!(conversion, 's' | 'r') {
        format!("{sign}{}{digits}", "0".repeat(padding))
    } else {
        format!("{}{sign}{digits}", " ".repeat(padding))
    };
    let rest = &spec[width_end + conversion.len_utf8()..];
    Ok(format!("{}{field}{rest}", &format[..at]))
}

/// Ansible's `boolean(value, strict=False)`.
fn truthy(value: &Json) -> bool {
    match value {
        Json::Bool(b) => *b,
        Json::Number(n) => n.as_f64() == Some(1.0),
        Json::String(s) => matches!(s.to_lowercase().as_str(), "yes" | "on" | "1" | "true" | "y" | "t"),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subelements_pops_the_subkey_and_skips_missing() {
        let users = json!([
            {"name": "ann", "keys": ["k1", "k2"]},
            {"name": "bob"},
        ]);
        let items = run_data_lookup(
            "subelements",
            &[users.clone(), json!("keys"), json!({"skip_missing": true})],
        )
        .unwrap();
        assert_eq!(
            items,
            vec![json!([{"name": "ann"}, "k1"]), json!([{"name": "ann"}, "k2"])]
        );
        let err = run_data_lookup("subelements", &[users, json!("keys")]).unwrap_err();
        assert!(err.to_string().contains("could not find 'keys' key"), "{err}");
    }

    #[test]
    fn flattened_goes_deep_and_stops_at_none() {
        let terms = [json!([1, [2, [3, [4]]]]), json!("a"), json!("None"), json!("b")];
        assert_eq!(
            run_data_lookup("flattened", &terms).unwrap(),
            vec![json!(1), json!(2), json!(3), json!(4), json!("a")]
        );
        assert_eq!(
            run_data_lookup("items", &[json!([1, [2]]), json!(3)]).unwrap(),
            vec![json!(1), json!([2]), json!(3)]
        );
    }
}

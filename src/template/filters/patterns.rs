//! The regex filters (`regex_replace`, `regex_search`, `regex_findall`, `regex_escape`), with
//! patterns read as Python reads them (`crate::python_regex`).

use super::*;

/// The pattern of a regex filter, translated as every Python pattern in a playbook is, with
/// the flags Ansible's filters take.
pub(super) fn python_regex(pattern: &str, kwargs: &Kwargs) -> Result<TextRegex, Error> {
    let flags = Flags {
        ignorecase: kwargs.get::<Option<bool>>("ignorecase")?.unwrap_or(false),
        multiline: kwargs.get::<Option<bool>>("multiline")?.unwrap_or(false),
    };
    TextRegex::new(pattern, flags).map_err(|e| invalid(format!("{e:#}")))
}

pub(super) fn regex_replace(
    value: &Value,
    pattern: Option<String>,
    replacement: Option<String>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let re = python_regex(&pattern.unwrap_or_default(), &kwargs)?;
    let count = kwargs.get::<Option<usize>>("count")?.unwrap_or(0);
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    re.sub(&text, &replacement.unwrap_or_default(), count)
        .map_err(|e| invalid(format!("regex_replace: {e:#}")))
}

pub(super) fn regex_search(
    value: &Value,
    pattern: String,
    groups: Rest<String>,
    kwargs: Kwargs,
) -> Result<Value, Error> {
    let re = python_regex(&pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    let Some(found) = re
        .search(&text)
        .map_err(|e| invalid(format!("regex_search: {e:#}")))?
    else {
        return Ok(Value::from(()));
    };
    if groups.is_empty() {
        return Ok(Value::from(found.get(0).unwrap_or("")));
    }
    let mut out = Vec::new();
    for group in groups.iter() {
        let index = if let Some(name) = group.strip_prefix("\\g<").and_then(|g| g.strip_suffix('>')) {
            re.group_index(name)
                .ok_or_else(|| invalid(format!("regex_search: unknown group name '{name}'")))?
        } else if let Some(index) = group.strip_prefix('\\').and_then(|g| g.parse::<usize>().ok()) {
            index
        } else {
            return Err(invalid(format!("regex_search: unknown argument '{group}'")));
        };
        out.push(found.get(index).map_or(Value::from(()), Value::from));
    }
    Ok(Value::from(out))
}

pub(super) fn regex_findall(value: &Value, pattern: String, kwargs: Kwargs) -> Result<Value, Error> {
    let re = python_regex(&pattern, &kwargs)?;
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    let groups = re.group_count();
    let found: Vec<Value> = re
        .matches(&text)
        .map_err(|e| invalid(format!("regex_findall: {e:#}")))?
        .iter()
        .map(|found| {
            let group = |i: usize| Value::from(found.get(i).unwrap_or(""));
            match groups {
                0 => group(0),
                1 => group(1),
                n => Value::from((1..=n).map(group).collect::<Vec<_>>()),
            }
        })
        .collect();
    Ok(Value::from(found))
}

/// Ansible's `regex_escape` (`re_type='python'`): Python's `re.escape`.
pub(super) fn regex_escape(value: String) -> String {
    crate::python_regex::escape(&value)
}

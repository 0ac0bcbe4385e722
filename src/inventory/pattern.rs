//! Host patterns: what `hosts:` and `--limit` select.
//!
//! `all`, `*`, group and host names, globs, `~regex`, `a:b` / `a,b` unions, `a:&b`
//! intersections, `a:!b` exclusions, subscripts `web[0]` / `web[0:2]`, and `@file` lists in
//! `--limit`, evaluated as Ansible's `InventoryManager` does: unions first, then
//! intersections, then exclusions, hosts in inventory order. A pattern matching nothing is a
//! warning (Ansible's default); one that cannot be read is an error.

use std::collections::HashSet;
use std::path::Path;
use std::sync::LazyLock;

use anyhow::{anyhow, bail, Context, Result};
use regex::Regex;

use super::range::parse_address;
use super::{Inventory, LOCALHOST_NAMES};

static SUBSCRIPT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(.+)\[(?:(-?[0-9]+)|([0-9]+)([:-])([0-9]*))\]$").expect("valid regex"));
static COLON_PARTS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[^\s:\[\]]|\[[^\]]*\])+").expect("valid regex"));

/// The hosts a pattern selected, and what matched nothing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    pub hosts: Vec<String>,
    /// One line per pattern that matched no group and no host.
    pub warnings: Vec<String>,
}

/// Splits a pattern into its parts as Ansible's `split_host_pattern`: on commas if there
/// are any, else on colons that are not part of an address, a port or a `[x:y]` range.
pub fn split_patterns(pattern: &str) -> Vec<String> {
    let parts: Vec<String> = if pattern.contains(',') {
        pattern.split(',').map(str::to_string).collect()
    } else if parse_address(pattern).is_some() {
        vec![pattern.to_string()]
    } else {
        COLON_PARTS
            .find_iter(pattern)
            .map(|m| m.as_str().to_string())
            .collect()
    };
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

/// Evaluates `pattern`, then keeps only the hosts `limit` also selects.
pub fn select(inventory: &Inventory, pattern: &str, limit: Option<&str>) -> Result<Selection> {
    let mut warnings = Vec::new();
    let mut hosts = evaluate(inventory, &parts_of(pattern)?, &mut warnings)?;
    if let Some(limit) = limit {
        let mut subset = Vec::new();
        for part in parts_of(limit)? {
            match part.strip_prefix('@') {
                Some(file) => subset.extend(read_limit_file(Path::new(file))?),
                None => subset.push(part),
            }
        }
        let allowed: HashSet<String> = evaluate(inventory, &subset, &mut warnings)?.into_iter().collect();
        hosts.retain(|h| allowed.contains(h));
    }
    Ok(Selection { hosts, warnings })
}

fn parts_of(pattern: &str) -> Result<Vec<String>> {
    let parts = split_patterns(pattern);
    if parts.is_empty() {
        bail!("empty host pattern `{pattern}`: expected a group, a host, `all` or a glob");
    }
    if pattern.matches('[').count() != pattern.matches(']').count() {
        bail!("invalid host pattern `{pattern}`: unbalanced `[` and `]`");
    }
    for part in &parts {
        if part.trim_start_matches(['!', '&']).is_empty() {
            bail!("invalid host pattern `{pattern}`: `{part}` must be followed by a group or host name");
        }
    }
    Ok(parts)
}

/// A `--limit @file` list: one host or pattern per line, as Ansible's retry files.
fn read_limit_file(path: &Path) -> Result<Vec<String>> {
    if path.is_dir() {
        bail!("limit file `@{}` is a directory, not a file", path.display());
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read limit file `@{}`", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect())
}

fn evaluate(inventory: &Inventory, parts: &[String], warnings: &mut Vec<String>) -> Result<Vec<String>> {
    let mut ordered: Vec<&str> = parts
        .iter()
        .map(String::as_str)
        .filter(|p| !p.starts_with(['!', '&']))
        .collect();
    if ordered.is_empty() {
        ordered.push("all");
    }
    ordered.extend(parts.iter().map(String::as_str).filter(|p| p.starts_with('&')));
    ordered.extend(parts.iter().map(String::as_str).filter(|p| p.starts_with('!')));

    let mut hosts: Vec<String> = Vec::new();
    for part in ordered {
        if inventory.hosts.contains_key(part) {
            hosts.push(part.to_string());
            continue;
        }
        let matched = match_one(inventory, part, warnings)?;
        if part.starts_with('!') {
            let matched: HashSet<&String> = matched.iter().collect();
            hosts.retain(|h| !matched.contains(h));
        } else if part.starts_with('&') {
            let matched: HashSet<&String> = matched.iter().collect();
            hosts.retain(|h| matched.contains(h));
        } else {
            let existing: HashSet<String> = hosts.iter().cloned().collect();
            hosts.extend(matched.into_iter().filter(|h| !existing.contains(h)));
        }
    }
    let mut seen = HashSet::new();
    hosts.retain(|h| seen.insert(h.clone()));
    Ok(hosts)
}

fn match_one(inventory: &Inventory, part: &str, warnings: &mut Vec<String>) -> Result<Vec<String>> {
    let pattern = part.trim_start_matches(['!', '&']);
    let (expression, subscript) = split_subscript(pattern);
    let hosts = enumerate(inventory, expression, warnings)?;
    apply_subscript(hosts, subscript)
        .ok_or_else(|| anyhow!("no hosts matched the subscripted pattern `{pattern}`"))
}

/// `(start, end)`: a single index has no end; `end == -1` means "to the last".
type Subscript = (i64, Option<i64>);

fn split_subscript(pattern: &str) -> (&str, Option<Subscript>) {
    if pattern.starts_with('~') {
        return (pattern, None);
    }
    let Some(m) = SUBSCRIPT.captures(pattern) else {
        return (pattern, None);
    };
    let expression = m.get(1).map_or(pattern, |e| e.as_str());
    if let Some(index) = m.get(2).and_then(|i| i.as_str().parse().ok()) {
        return (expression, Some((index, None)));
    }
    let start = m.get(3).and_then(|s| s.as_str().parse().ok()).unwrap_or(0);
    let end = m
        .get(5)
        .map(|e| e.as_str())
        .filter(|e| !e.is_empty())
        .and_then(|e| e.parse().ok())
        .unwrap_or(-1);
    (expression, Some((start, Some(end))))
}

/// Python's `hosts[start:end + 1]` or `hosts[index]`; `None` when an index is out of range.
fn apply_subscript(hosts: Vec<String>, subscript: Option<Subscript>) -> Option<Vec<String>> {
    let Some((start, end)) = subscript else {
        return Some(hosts);
    };
    if hosts.is_empty() {
        return Some(hosts);
    }
    let len = hosts.len() as i64;
    match end {
        // Like Ansible, `[x:0]` reads as the single index x.
        Some(end) if end != 0 => {
            let end = if end == -1 { len - 1 } else { end };
            let from = start.clamp(0, len) as usize;
            let to = (end + 1).clamp(0, len) as usize;
            Some(if from < to {
                hosts[from..to].to_vec()
            } else {
                Vec::new()
            })
        }
        _ => {
            let index = if start < 0 { len + start } else { start };
            (0..len)
                .contains(&index)
                .then(|| vec![hosts[index as usize].clone()])
        }
    }
}

/// Hosts of every group whose name matches, then (for globs, regexes, names with dots, or
/// when no group matched) every host whose name matches.
fn enumerate(inventory: &Inventory, expression: &str, warnings: &mut Vec<String>) -> Result<Vec<String>> {
    let matcher = compile(expression)?;
    let mut results = Vec::new();
    let groups: Vec<&String> = inventory.groups.keys().filter(|g| matcher.is_match(g)).collect();
    for group in &groups {
        results.extend(inventory.group_hosts(group));
    }
    let special = expression.starts_with('~') || expression.contains(['.', '?', '*', '[']);
    if groups.is_empty() || special {
        results.extend(inventory.hosts.keys().filter(|h| matcher.is_match(h)).cloned());
    }
    if results.is_empty() && LOCALHOST_NAMES.contains(&expression) {
        results.push(expression.to_string());
    }
    if results.is_empty() && groups.is_empty() && expression != "all" {
        warnings.push(format!(
            "could not match supplied host pattern, ignoring: {expression}"
        ));
    }
    Ok(results)
}

fn compile(expression: &str) -> Result<Regex> {
    let source = match expression.strip_prefix('~') {
        // Python's `re.match`: anchored at the start only.
        Some(regex) => format!("^(?:{regex})"),
        None => glob_to_regex(expression),
    };
    Regex::new(&source).map_err(|e| {
        // The regex crate draws a caret under the error over several lines; keep its verdict.
        let text = e.to_string();
        let reason = text
            .lines()
            .rev()
            .find_map(|line| line.strip_prefix("error: "))
            .unwrap_or(&text);
        anyhow!("invalid host pattern `{expression}`: bad regular expression: {reason}")
    })
}

/// Python's `fnmatch.translate`: `*`, `?`, `[seq]`, `[!seq]`, the whole name.
pub fn glob_to_regex(glob: &str) -> String {
    let chars: Vec<char> = glob.chars().collect();
    let mut out = String::from("^(?s:");
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => {
                if !out.ends_with(".*") {
                    out.push_str(".*");
                }
            }
            '?' => out.push('.'),
            '[' => {
                let mut j = i;
                if chars.get(j) == Some(&'!') {
                    j += 1;
                }
                if chars.get(j) == Some(&']') {
                    j += 1;
                }
                while j < chars.len() && chars[j] != ']' {
                    j += 1;
                }
                if j >= chars.len() {
                    out.push_str(r"\[");
                    continue;
                }
                let mut class: &[char] = &chars[i..j];
                i = j + 1;
                out.push('[');
                if class.first() == Some(&'!') {
                    out.push('^');
                    class = &class[1..];
                }
                for ch in class {
                    if *ch == '-' || ch.is_alphanumeric() || !ch.is_ascii() {
                        out.push(*ch);
                    } else {
                        out.push('\\');
                        out.push(*ch);
                    }
                }
                out.push(']');
            }
            other => out.push_str(&regex::escape(&other.to_string())),
        }
    }
    out.push_str(")$");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_commas_and_colons_like_ansible() {
        assert_eq!(split_patterns("web:&prod:!web3"), ["web", "&prod", "!web3"]);
        assert_eq!(split_patterns("a, b ,c"), ["a", "b", "c"]);
        assert_eq!(split_patterns("web[0:2]"), ["web[0:2]"]);
        assert_eq!(split_patterns("h1:22"), ["h1:22"]);
        assert_eq!(split_patterns("web*:db"), ["web*", "db"]);
    }

    #[test]
    fn globs_translate_like_fnmatch() {
        let matches = |glob: &str, name: &str| Regex::new(&glob_to_regex(glob)).unwrap().is_match(name);
        assert!(matches("web*", "web01.example.org"));
        assert!(!matches("web*", "xweb"));
        assert!(matches("web0?", "web01"));
        assert!(matches("web[12]", "web2"));
        assert!(matches("web[!12]", "web3"));
        assert!(!matches("web[!12]", "web1"));
        assert!(matches("a.b", "a.b"));
        assert!(!matches("a.b", "axb"));
    }

    #[test]
    fn subscripts_slice_like_python() {
        let hosts = || vec!["a".to_string(), "b".to_string(), "c".to_string()];
        assert_eq!(apply_subscript(hosts(), Some((0, None))).unwrap(), ["a"]);
        assert_eq!(apply_subscript(hosts(), Some((-1, None))).unwrap(), ["c"]);
        assert_eq!(apply_subscript(hosts(), Some((0, Some(1)))).unwrap(), ["a", "b"]);
        assert_eq!(apply_subscript(hosts(), Some((1, Some(-1)))).unwrap(), ["b", "c"]);
        assert_eq!(
            apply_subscript(hosts(), Some((5, Some(9)))).unwrap(),
            Vec::<String>::new()
        );
        assert_eq!(apply_subscript(hosts(), Some((5, None))), None);
        assert_eq!(split_subscript("web[1:]"), ("web", Some((1, Some(-1)))));
    }
}

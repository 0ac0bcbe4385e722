//! Host names as inventories write them: `web[01:20].example.org:2222`.
//!
//! INI and YAML inventories both accept numeric and alphabetic ranges (with an optional step)
//! and a `:port` suffix in host names. Ansible expands them with `expand_hostname_range` and
//! `parse_address`; the rules below are theirs, including zero-padding and the order of the
//! expanded names, so that a fleet expands to the same hosts in both tools.

use std::sync::LazyLock;

use regex::Regex;

const ASCII_LETTERS: &str = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";

static BRACKETED_HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\[(.+)\]:([0-9]+)$").expect("valid regex"));
static HOSTPORT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^((?:[^:\[\]]|\[[^\]]*\])*):([0-9]+)$").expect("valid regex"));
static LABEL: LazyLock<Regex> = LazyLock::new(|| {
    let range = r"\[(?:[a-z]:[a-z]|[0-9]+:[0-9]+)(?::[0-9]+)?\]";
    Regex::new(&format!(r"(?i)^(?:\w|{range})(?:[\w-]|{range})*$")).expect("valid regex")
});

/// Splits `host:port` (or `[v6]:port`) the way Ansible's `parse_address` does. `None` when the
/// text is not a recognisable address, in which case Ansible takes it whole as a host name.
pub fn parse_address(address: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(m) = BRACKETED_HOSTPORT.captures(address) {
        (m[1].to_string(), Some(m[2].parse().ok()?))
    } else if let Some(m) = HOSTPORT.captures(address) {
        (m[1].to_string(), Some(m[2].parse().ok()?))
    } else {
        (address.to_string(), None)
    };
    (is_hostname(&host) || is_ipv6(&host)).then_some((host, port))
}

fn is_hostname(host: &str) -> bool {
    !host.is_empty()
        && host
            .split('.')
            .all(|label| LABEL.is_match(label) && !label.ends_with(['-', '_']))
}

fn is_ipv6(host: &str) -> bool {
    host.contains(':') && host.parse::<std::net::Ipv6Addr>().is_ok()
}

/// Splits an inventory host entry into the host names it stands for and an optional port.
pub fn expand_host_entry(entry: &str) -> Result<(Vec<String>, Option<u16>), String> {
    let (pattern, port) = parse_address(entry).unwrap_or_else(|| (entry.to_string(), None));
    let names = if pattern.contains('[') {
        expand_ranges(&pattern)?
    } else {
        vec![pattern]
    };
    Ok((names, port))
}

/// Expands every `[begin:end:step]` range in a host name, leftmost first.
pub fn expand_ranges(name: &str) -> Result<Vec<String>, String> {
    let Some(open) = name.find('[') else {
        return Ok(vec![name.to_string()]);
    };
    let Some(close) = name[open..].find(']').map(|i| open + i) else {
        return Err("a host range needs a closing `]`".to_string());
    };
    let (head, range, tail) = (&name[..open], &name[open + 1..close], &name[close + 1..]);
    let bounds: Vec<&str> = range.split(':').collect();
    if bounds.len() != 2 && bounds.len() != 3 {
        return Err("host range must be begin:end or begin:end:step".to_string());
    }
    let begin = if bounds[0].is_empty() { "0" } else { bounds[0] };
    let end = bounds[1];
    if end.is_empty() {
        return Err("host range must specify end value".to_string());
    }
    let step = match bounds.get(2) {
        None => 1,
        Some(step) => match step.parse::<usize>() {
            Ok(step) if step > 0 => step,
            _ => return Err(format!("host range step must be a positive number, got `{step}`")),
        },
    };
    let width = if begin.starts_with('0') && begin.len() > 1 {
        if begin.len() != end.len() {
            return Err("host range must specify equal-length begin and end formats".to_string());
        }
        begin.len()
    } else {
        0
    };
    let items: Vec<String> = match (ASCII_LETTERS.find(begin), ASCII_LETTERS.find(end)) {
        (Some(first), Some(last)) if begin.len() == 1 && end.len() == 1 => {
            if first > last {
                return Err("host range must have begin <= end".to_string());
            }
            ASCII_LETTERS[first..=last]
                .chars()
                .step_by(step)
                .map(String::from)
                .collect()
        }
        _ => {
            let (Ok(first), Ok(last)) = (begin.parse::<u64>(), end.parse::<u64>()) else {
                return Err(format!(
                    "host range `[{range}]` must be numbers or single letters"
                ));
            };
            if first > last {
                return Err("host range must have begin <= end".to_string());
            }
            if (last - first) / step as u64 >= MAX_RANGE_HOSTS as u64 {
                return Err(format!(
                    "host range `[{range}]` stands for more than {MAX_RANGE_HOSTS} hosts"
                ));
            }
            (first..=last)
                .step_by(step)
                .map(|i| format!("{i:0width$}"))
                .collect()
        }
    };
    let mut names = Vec::new();
    for item in items {
        names.extend(expand_ranges(&format!("{head}{item}{tail}"))?);
        if names.len() > MAX_RANGE_HOSTS {
            return Err(format!(
                "host ranges in `{name}` stand for more than {MAX_RANGE_HOSTS} hosts"
            ));
        }
    }
    Ok(names)
}

/// A typo like `web[1:10000000]` would otherwise allocate millions of hosts before anything
/// could be reported; no fleet managed from one inventory comes near this.
pub const MAX_RANGE_HOSTS: usize = 100_000;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_numeric_alpha_and_stepped_ranges() {
        assert_eq!(
            expand_ranges("web[01:03].example.org").unwrap(),
            ["web01.example.org", "web02.example.org", "web03.example.org"]
        );
        assert_eq!(expand_ranges("db-[a:c]").unwrap(), ["db-a", "db-b", "db-c"]);
        assert_eq!(expand_ranges("h[1:10:3]").unwrap(), ["h1", "h4", "h7", "h10"]);
        assert_eq!(
            expand_ranges("r[1:2]c[a:b]").unwrap(),
            ["r1ca", "r1cb", "r2ca", "r2cb"]
        );
        assert_eq!(expand_ranges("x[:1]").unwrap(), ["x0", "x1"]);
    }

    #[test]
    fn refuses_huge_ranges() {
        let err = expand_ranges("web[0:99999999]").unwrap_err();
        assert!(err.contains("more than 100000 hosts"), "{err}");
        let err = expand_ranges("web[0:999]-[0:999]").unwrap_err();
        assert!(err.contains("more than 100000 hosts"), "{err}");
    }

    #[test]
    fn refuses_bad_ranges() {
        assert_eq!(
            expand_ranges("web[01:3]").unwrap_err(),
            "host range must specify equal-length begin and end formats"
        );
        assert_eq!(
            expand_ranges("web[1:]").unwrap_err(),
            "host range must specify end value"
        );
        assert_eq!(
            expand_ranges("web[3:1]").unwrap_err(),
            "host range must have begin <= end"
        );
        assert_eq!(
            expand_ranges("web[1]").unwrap_err(),
            "host range must be begin:end or begin:end:step"
        );
    }

    #[test]
    fn splits_ports_like_parse_address() {
        assert_eq!(parse_address("h2:2200"), Some(("h2".to_string(), Some(2200))));
        assert_eq!(
            parse_address("web[1:3]:22"),
            Some(("web[1:3]".to_string(), Some(22)))
        );
        assert_eq!(parse_address("[::1]:22"), Some(("::1".to_string(), Some(22))));
        assert_eq!(parse_address("::1"), Some(("::1".to_string(), None)));
        assert_eq!(parse_address("10.0.0.1"), Some(("10.0.0.1".to_string(), None)));
        assert_eq!(parse_address("bad-"), None);
        assert_eq!(
            expand_host_entry("h1:22").unwrap(),
            (vec!["h1".to_string()], Some(22))
        );
    }
}

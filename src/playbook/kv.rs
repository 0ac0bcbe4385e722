//! Ansible's `key=value` argument strings (`copy: src=a dest=b`, `command: ls chdir=/tmp`).
//!
//! Old playbooks write module parameters inline, and `command`/`shell` mix a free-form command
//! line with a few `key=value` options. Both must split exactly as Ansible's `split_args` and
//! `parse_kv` split them (quotes and Jinja blocks hold spaces together, whitespace inside the
//! command is kept), or a task would mean something different here than under Ansible.

use anyhow::Result;

/// Options of `command`/`shell` that may be given inline beside a free-form command.
const RAW_MODULE_OPTIONS: &[&str] = &[
    "creates",
    "removes",
    "chdir",
    "executable",
    "warn",
    "stdin",
    "stdin_add_newline",
    "strip_empty_ends",
];

/// The result of [`parse_kv`]: `key=value` pairs in order, and the free-form rest, if any.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct KvArgs {
    pub params: Vec<(String, String)>,
    /// Tokens that are not `key=value` (Ansible's `_raw_params`), re-joined as Ansible does.
    pub raw: Option<String>,
}

/// Splits `args` into `key=value` pairs and free-form tokens. With `check_raw` (the
/// `command`/`shell` modules), only their own options are taken as pairs; any other `k=v` is
/// part of the command line.
pub fn parse_kv(args: &str, check_raw: bool) -> Result<KvArgs, String> {
    let mut out = KvArgs::default();
    let mut raw_params: Vec<String> = Vec::new();
    for original in split_args(args)? {
        let decoded = decode_escapes(&original);
        if !decoded.contains('=') {
            raw_params.push(original);
            continue;
        }
        // The first `=` not preceded by a backslash, ignoring a leading `=`.
        let chars: Vec<char> = decoded.chars().collect();
        let split = (1..chars.len()).find(|&i| chars[i] == '=' && chars[i - 1] != '\\');
        let Some(split) = split else {
            raw_params.push(decoded.replace("\\=", "="));
            continue;
        };
        let key: String = chars[..split].iter().collect();
        let value: String = chars[split + 1..].iter().collect();
        if check_raw && !RAW_MODULE_OPTIONS.contains(&key.as_str()) {
            raw_params.push(original);
        } else {
            let key = key.trim().to_string();
            let value = unquote(value.trim()).to_string();
            match out.params.iter_mut().find(|(k, _)| *k == key) {
                Some(existing) => existing.1 = value,
                None => out.params.push((key, value)),
            }
        }
    }
    if !raw_params.is_empty() {
        out.raw = Some(join_args(&raw_params));
    }
    Ok(out)
}

/// Removes one level of matching quotes, as Ansible's `unquote`.
pub fn unquote(text: &str) -> &str {
    let bytes = text.as_bytes();
    let quoted = bytes.len() > 1
        && bytes[0] == bytes[bytes.len() - 1]
        && (bytes[0] == b'"' || bytes[0] == b'\'')
        && bytes[bytes.len() - 2] != b'\\';
    if quoted {
        &text[1..text.len() - 1]
    } else {
        text
    }
}

fn join_args(parts: &[String]) -> String {
    let mut result = String::new();
    for part in parts {
        if !result.is_empty() && !result.ends_with('\n') {
            result.push(' ');
        }
        result.push_str(part);
    }
    result
}

/// The quote still open at the end of `token`, given the one open before it.
fn quote_state(token: &str, mut quote: Option<char>) -> Option<char> {
    let mut previous = None;
    for c in token.chars() {
        if (c == '"' || c == '\'') && previous != Some('\\') {
            match quote {
                Some(open) if open == c => quote = None,
                Some(_) => {}
                None => quote = Some(c),
            }
        }
        previous = Some(c);
    }
    quote
}

fn jinja_depth(token: &str, depth: usize, open: &str, close: &str) -> usize {
    let opened = token.matches(open).count();
    let closed = token.matches(close).count();
    (depth + opened).saturating_sub(closed)
}

/// Ansible's `split_args`: whitespace splits, except inside quotes and Jinja blocks; runs of
/// spaces and newlines are kept attached to the previous token so `join_args` restores them.
pub fn split_args(args: &str) -> Result<Vec<String>, String> {
    let mut params: Vec<String> = Vec::new();
    if args.is_empty() {
        return Ok(params);
    }
    let lines: Vec<&str> = args.split('\n').collect();
    let mut quote: Option<char> = None;
    let mut inside_quotes = false;
    let (mut print_depth, mut block_depth, mut comment_depth) = (0usize, 0usize, 0usize);
    for (line_index, line) in lines.iter().enumerate() {
        let mut line_continuation = false;
        for (index, token) in line.split(' ').enumerate() {
            if token.is_empty() && index != 0 {
                match params.last_mut() {
                    Some(last) => last.push(' '),
                    None => params.push(" ".to_string()),
                }
                continue;
            }
            if token == "\\" && !inside_quotes {
                line_continuation = true;
                continue;
            }
            let was_inside_quotes = inside_quotes;
            quote = quote_state(token, quote);
            inside_quotes = quote.is_some();
            let in_jinja = print_depth > 0 || block_depth > 0 || comment_depth > 0;
            let mut appended = false;
            if inside_quotes && !was_inside_quotes && !in_jinja {
                params.push(token.to_string());
                appended = true;
            } else if in_jinja || inside_quotes || was_inside_quotes {
                let last = params.last_mut().expect("an open quote or block follows a token");
                if !(index == 0 && was_inside_quotes) && index > 0 {
                    last.push(' ');
                }
                last.push_str(token);
                appended = true;
            }
            for (depth, open, close) in [
                (&mut print_depth, "{{", "}}"),
                (&mut block_depth, "{%", "%}"),
                (&mut comment_depth, "{#", "#}"),
            ] {
                let before = *depth;
                *depth = jinja_depth(token, *depth, open, close);
                if *depth != before && !appended {
                    params.push(token.to_string());
                    appended = true;
                }
            }
            let in_jinja = print_depth > 0 || block_depth > 0 || comment_depth > 0;
            if !in_jinja && !inside_quotes && !appended && !token.is_empty() {
                params.push(token.to_string());
            }
        }
        if lines.len() > 1 && line_index != lines.len() - 1 && !line_continuation {
            match params.last_mut() {
                Some(last) => last.push('\n'),
                None => params.push("\n".to_string()),
            }
        }
    }
    if print_depth > 0 || block_depth > 0 || comment_depth > 0 || inside_quotes {
        return Err("unbalanced quotes or Jinja block".to_string());
    }
    Ok(params)
}

/// Python's escape sequences, decoded where Ansible decodes them before looking for `=`.
fn decode_escapes(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' || i + 1 >= chars.len() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let simple = match chars[i + 1] {
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\u{7}'),
            'b' => Some('\u{8}'),
            'f' => Some('\u{c}'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\u{b}'),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        let width = match chars[i + 1] {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            _ => 0,
        };
        let hex: String = chars.iter().skip(i + 2).take(width).collect();
        let decoded = (width > 0 && hex.len() == width && hex.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32))
            .flatten();
        match decoded {
            Some(c) => {
                out.push(c);
                i += 2 + width;
            }
            None => {
                out.push('\\');
                i += 1;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(kv: &KvArgs) -> Vec<(&str, &str)> {
        kv.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn splits_pairs_with_quotes() {
        let kv = parse_kv(r#"src=a dest="/tmp/my file" mode=0644"#, false).unwrap();
        assert_eq!(
            pairs(&kv),
            [("src", "a"), ("dest", "/tmp/my file"), ("mode", "0644")]
        );
        assert_eq!(kv.raw, None);
    }

    #[test]
    fn keeps_jinja_blocks_together() {
        let kv = parse_kv("msg={{ a | join(', ') }} var=x", false).unwrap();
        assert_eq!(pairs(&kv), [("msg", "{{ a | join(', ') }}"), ("var", "x")]);
    }

    #[test]
    fn command_keeps_its_line_and_takes_its_options() {
        let kv = parse_kv("ls -l  /srv chdir=/tmp creates=/x FOO=bar", true).unwrap();
        assert_eq!(pairs(&kv), [("chdir", "/tmp"), ("creates", "/x")]);
        assert_eq!(kv.raw.as_deref(), Some("ls -l  /srv FOO=bar"));
    }

    #[test]
    fn multi_line_scripts_keep_newlines() {
        let kv = parse_kv("set -e\necho 'a  b'\nexit 0\n", true).unwrap();
        assert_eq!(kv.raw.as_deref(), Some("set -e\necho 'a  b'\nexit 0\n"));
    }

    #[test]
    fn escaped_equals_stay_raw() {
        let kv = parse_kv(r"a\=b", false).unwrap();
        assert_eq!(kv.raw.as_deref(), Some("a=b"));
    }

    #[test]
    fn unbalanced_quotes_are_errors() {
        assert!(parse_kv("msg='oops", false).is_err());
        assert!(parse_kv("msg={{ x", false).is_err());
    }

    #[test]
    fn unquote_only_matching_pairs() {
        assert_eq!(unquote("'a'"), "a");
        assert_eq!(unquote("\"a'"), "\"a'");
        assert_eq!(unquote("'"), "'");
    }
}

//! Template source read as Ansible's Jinja2 reads it, before minijinja compiles it.
//!
//! Three things differ between minijinja and Jinja2 under Ansible, and each would change a
//! rendered file without any error:
//!
//! - **String literals.** Jinja2 decodes a literal with Python's `unicode-escape` codec (`\1`
//!   is the character 1, `\a` a bell, `\/` stays `\/`); minijinja decodes JSON-like escapes.
//!   On top of that, Ansible keeps backslashes *as written* in the literals of `{{ }}` blocks of
//!   strings that come from YAML (task parameters, variables): its lexer doubles them before
//!   Jinja2 decodes them, so that `regex_replace('(a)', '\\1')` written in a double-quoted YAML
//!   string (where YAML has already turned `\\` into `\`) reaches the filter as `\1`. It does
//!   not do that in `{% %}` statements, in conditionals (`when:`), nor in template files.
//!   [`prepare`] therefore rewrites every literal into one whose minijinja value is the value
//!   Jinja2 would give.
//! - **Newlines.** Jinja2 turns the newlines of the template text (not of values) into the
//!   `newline_sequence`; [`prepare`] does that to the text between tags.
//! - **`#jinja2:` headers.** A template starting with `#jinja2: trim_blocks: False, ...`
//!   overrides the environment for that template ([`split_header`]).

use anyhow::{bail, Context, Result};
use serde::Deserialize;

/// How a template is read: the `template` module's options, as a `#jinja2:` header or the
/// task can set them. The defaults are Ansible's.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FileOptions {
    pub trim_blocks: bool,
    pub lstrip_blocks: bool,
    pub keep_trailing_newline: bool,
    pub newline_sequence: String,
    pub block_start_string: String,
    pub block_end_string: String,
    pub variable_start_string: String,
    pub variable_end_string: String,
    pub comment_start_string: String,
    pub comment_end_string: String,
}

impl Default for FileOptions {
    fn default() -> FileOptions {
        FileOptions {
            trim_blocks: true,
            lstrip_blocks: false,
            keep_trailing_newline: false,
            newline_sequence: "\n".to_string(),
            block_start_string: "{%".to_string(),
            block_end_string: "%}".to_string(),
            variable_start_string: "{{".to_string(),
            variable_end_string: "}}".to_string(),
            comment_start_string: "{#".to_string(),
            comment_end_string: "#}".to_string(),
        }
    }
}

impl FileOptions {
    /// Whether the delimiters are Jinja2's own.
    pub(crate) fn default_syntax(&self) -> bool {
        let default = FileOptions::default();
        self.block_start_string == default.block_start_string
            && self.block_end_string == default.block_end_string
            && self.variable_start_string == default.variable_start_string
            && self.variable_end_string == default.variable_end_string
            && self.comment_start_string == default.comment_start_string
            && self.comment_end_string == default.comment_end_string
    }
}

/// The first characters of a template whose first line overrides its options.
pub(crate) const HEADER: &str = "#jinja2:";

/// Splits a `#jinja2: key: value, ...` first line off `text` and applies it over `options`,
/// as Ansible does for any template starting with it. The values are Python literals.
pub fn split_header<'t>(text: &'t str, options: &FileOptions) -> Result<(&'t str, FileOptions)> {
    let Some(rest) = text.strip_prefix(HEADER) else {
        return Ok((text, options.clone()));
    };
    let Some(eol) = rest.find('\n') else {
        bail!("missing newline after the `{HEADER}` header");
    };
    let (line, body) = (&rest[..eol], &rest[eol + 1..]);
    let mut options = options.clone();
    for pair in line.split(',') {
        if pair.trim().is_empty() {
            bail!("empty pair in the `{HEADER}` header");
        }
        let (key, value) = pair
            .split_once(':')
            .with_context(|| format!("missing `:` in the `{HEADER}` header pair {:?}", pair.trim()))?;
        let key = key.trim();
        let value = value.trim();
        let flag = || -> Result<bool> {
            match value {
                "True" => Ok(true),
                "False" => Ok(false),
                _ => bail!("`{key}` in the `{HEADER}` header must be True or False, not {value:?}"),
            }
        };
        let text = || -> Result<String> {
            python_string_literal(value).with_context(|| {
                format!("`{key}` in the `{HEADER}` header must be a quoted string, not {value:?}")
            })
        };
        match key {
            "trim_blocks" => options.trim_blocks = flag()?,
            "lstrip_blocks" => options.lstrip_blocks = flag()?,
            "keep_trailing_newline" => options.keep_trailing_newline = flag()?,
            "newline_sequence" => {
                let newline = text()?;
                if !["\n", "\r\n", "\r"].contains(&newline.as_str()) {
                    bail!("`newline_sequence` in the `{HEADER}` header must be '\\n', '\\r\\n' or '\\r'");
                }
                options.newline_sequence = newline;
            }
            "block_start_string" => options.block_start_string = text()?,
            "block_end_string" => options.block_end_string = text()?,
            "variable_start_string" => options.variable_start_string = text()?,
            "variable_end_string" => options.variable_end_string = text()?,
            "comment_start_string" => options.comment_start_string = text()?,
            "comment_end_string" => options.comment_end_string = text()?,
            other => bail!(
                "unknown key {other:?} in the `{HEADER}` header; known: block_end_string, \
                 block_start_string, comment_end_string, comment_start_string, \
                 keep_trailing_newline, lstrip_blocks, newline_sequence, trim_blocks, \
                 variable_end_string, variable_start_string"
            ),
        }
    }
    Ok((body, options))
}

/// A quoted Python string literal (`'\r\n'`, `"[%"`), decoded.
fn python_string_literal(text: &str) -> Option<String> {
    let quote = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = text.strip_prefix(quote)?.strip_suffix(quote)?;
    let mut out = String::new();
    decode_python_escapes(inner, &mut |piece| match piece {
        Piece::Literal(c) | Piece::Escaped(c) => out.push(c),
    })
    .ok()?;
    Some(out)
}

/// A string literal Jinja2 refuses to decode (`'\x4'`), and where it starts (a byte offset).
#[derive(Debug)]
pub(crate) struct BadLiteral {
    pub offset: usize,
    pub message: String,
}

/// Checks a template file's header and string literals, giving the byte offset of a fault
/// (minijinja never sees them, so it cannot locate these errors itself).
pub(crate) fn check(text: &str, options: &FileOptions) -> Result<(), BadLiteral> {
    let (body, options) = split_header(text, options).map_err(|err| BadLiteral {
        offset: 0,
        message: format!("{err:#}"),
    })?;
    prepare(body, &options, Origin::File).map_err(|fault| BadLiteral {
        offset: fault.offset + (text.len() - body.len()),
        message: fault.message,
    })?;
    Ok(())
}

/// Where a template's text comes from, which decides how its string literals are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// A string of YAML (task parameter, variable): backslashes in the literals of `{{ }}`
    /// blocks are kept as written.
    Yaml,
    /// A template file, or an expression: every literal is decoded as Python decodes it.
    File,
}

/// One character of a decoded literal: written as such, or produced by an escape.
enum Piece {
    Literal(char),
    Escaped(char),
}

/// Decodes `raw` (a literal's text between its quotes) as Jinja2 does: Python's
/// `unicode-escape` codec over the text with non-ASCII characters backslash-escaped first.
fn decode_python_escapes(raw: &str, emit: &mut dyn FnMut(Piece)) -> Result<()> {
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            emit(Piece::Literal(c));
            continue;
        }
        let Some(next) = chars.next() else {
            bail!("\\ at end of string");
        };
        let simple = match next {
            '\n' => continue,
            '\\' => Some('\\'),
            '\'' => Some('\''),
            '"' => Some('"'),
            'a' => Some('\x07'),
            'b' => Some('\x08'),
            'f' => Some('\x0c'),
            'n' => Some('\n'),
            'r' => Some('\r'),
            't' => Some('\t'),
            'v' => Some('\x0b'),
            _ => None,
        };
        if let Some(decoded) = simple {
            emit(Piece::Escaped(decoded));
            continue;
        }
        let mut hex = |digits: usize, what: &str| -> Result<char> {
            let text: String = (0..digits)
                .filter_map(|_| chars.next_if(char::is_ascii_hexdigit))
                .collect();
            if text.len() != digits {
                bail!("truncated \\{what} escape");
            }
            let code = u32::from_str_radix(&text, 16).expect("hex digits");
            char::from_u32(code).with_context(|| format!("\\{what}{text} is not a character"))
        };
        match next {
            '0'..='7' => {
                let mut code = next.to_digit(8).expect("an octal digit");
                for _ in 0..2 {
                    match chars.next_if(|d| ('0'..='7').contains(d)) {
                        Some(d) => code = code * 8 + d.to_digit(8).expect("an octal digit"),
                        None => break,
                    }
                }
                emit(Piece::Escaped(char::from_u32(code).expect("at most 0o777")));
            }
            'x' => emit(Piece::Escaped(hex(2, "xXX")?)),
            'u' => emit(Piece::Escaped(hex(4, "uXXXX")?)),
            'U' => emit(Piece::Escaped(hex(8, "UXXXXXXXX")?)),
            'N' => bail!("\\N{{...}} escapes are not supported"),
            other if !other.is_ascii() => {
                // Jinja2 backslash-escapes non-ASCII text before decoding: `\é` became `\\xe9`,
                // which decodes to a backslash and the letters `xe9`.
                emit(Piece::Escaped('\\'));
                let code = u32::from(other);
                let escape = if code < 0x100 {
                    format!("x{code:02x}")
                } else if code < 0x10000 {
                    format!("u{code:04x}")
                } else {
                    format!("U{code:08x}")
                };
                escape.chars().for_each(|c| emit(Piece::Literal(c)));
            }
            other => {
                emit(Piece::Escaped('\\'));
                emit(Piece::Literal(other));
            }
        }
    }
    Ok(())
}

/// Appends a minijinja literal whose value is `pieces`, quoted with `'`. Characters produced by
/// escapes are written as escapes, so that the line numbers of the template do not move.
fn push_literal(out: &mut String, pieces: impl FnOnce(&mut dyn FnMut(Piece)) -> Result<()>) -> Result<()> {
    out.push('\'');
    pieces(&mut |piece| {
        let (c, escaped) = match piece {
            Piece::Literal(c) => (c, false),
            Piece::Escaped(c) => (c, true),
        };
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '\n' | '\r' if !escaped => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c as u32 == 0x7f => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    })?;
    out.push('\'');
    Ok(())
}

/// Turns `\r\n`, `\r` and `\n` into `newline`, as Jinja2 does with template text.
fn push_normalized(out: &mut String, text: &str, newline: &str) {
    if newline == "\n" && !text.contains('\r') {
        out.push_str(text);
        return;
    }
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str(newline);
            }
            '\n' => out.push_str(newline),
            c => out.push(c),
        }
    }
}

/// The text of a template rewritten for minijinja: string literals hold the values Jinja2
/// gives them (see the module documentation), and the text between tags has its newlines
/// turned into `options.newline_sequence`. Tags, comments and `{% raw %}` blocks keep their
/// places, so that errors point to the same lines.
pub(crate) fn prepare(text: &str, options: &FileOptions, origin: Origin) -> Result<String, BadLiteral> {
    if !needs_rewrite(text) && options.newline_sequence == "\n" {
        return Ok(text.to_string());
    }
    let newline = options.newline_sequence.as_str();
    let block = (
        options.block_start_string.as_str(),
        options.block_end_string.as_str(),
    );
    let variable = (
        options.variable_start_string.as_str(),
        options.variable_end_string.as_str(),
    );
    let comment = (
        options.comment_start_string.as_str(),
        options.comment_end_string.as_str(),
    );
    let mut out = String::with_capacity(text.len() + 16);
    let mut rest = text;
    loop {
        let next = [block.0, variable.0, comment.0]
            .iter()
            .filter(|start| !start.is_empty())
            .filter_map(|start| rest.find(start).map(|at| (at, *start)))
            .min_by_key(|(at, start)| (*at, std::cmp::Reverse(start.len())));
        let Some((at, start)) = next else {
            push_normalized(&mut out, rest, newline);
            return Ok(out);
        };
        push_normalized(&mut out, &rest[..at], newline);
        rest = &rest[at..];
        if start == comment.0 {
            let end = rest[start.len()..]
                .find(comment.1)
                .map_or(rest.len(), |e| start.len() + e + comment.1.len());
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        if start == block.0 {
            if let Some(raw_end) = raw_block_length(rest, block) {
                push_normalized(&mut out, &rest[..raw_end], newline);
                rest = &rest[raw_end..];
                continue;
            }
        }
        let (end_marker, keep) = if start == variable.0 {
            (variable.1, origin == Origin::Yaml)
        } else {
            (block.1, false)
        };
        out.push_str(start);
        rest = &rest[start.len()..];
        let offset = text.len() - rest.len();
        let consumed =
            prepare_tag(rest, end_marker, keep, newline, &mut out).map_err(|fault| BadLiteral {
                offset: offset + fault.offset,
                message: fault.message,
            })?;
        rest = &rest[consumed..];
    }
}

/// Whether `text` may hold something [`prepare`] rewrites: literals, carriage returns, or a
/// chain read by `default` or `defined`.
fn needs_rewrite(text: &str) -> bool {
    text.contains(['\'', '"', '\r'])
        || text.contains("defined")
        || text.contains("d(")
        || text.contains("default")
        || text.contains("| d")
        || text.contains("|d")
}

/// Rewrites the literals of a bare expression (a condition), decoded as Python decodes them.
pub(crate) fn prepare_expression(expr: &str) -> Result<String, BadLiteral> {
    if !needs_rewrite(expr) {
        return Ok(expr.to_string());
    }
    let mut out = String::with_capacity(expr.len() + 8);
    prepare_tag(expr, "", false, "\n", &mut out)?;
    Ok(out)
}

/// Copies the inside of a tag up to and including its `end` marker (found only where
/// brackets balance, as Jinja2's lexer does), rewriting string literals. `keep` keeps their
/// backslashes as written. Returns the number of bytes of `text` consumed.
fn prepare_tag(
    text: &str,
    end: &str,
    keep: bool,
    newline: &str,
    out: &mut String,
) -> Result<usize, BadLiteral> {
    let mut inner = String::with_capacity(text.len());
    let (consumed, closed) = prepare_tag_inner(text, end, keep, newline, &mut inner)?;
    out.push_str(&guard_chains(&inner));
    if closed {
        out.push_str(end);
    }
    Ok(consumed)
}

/// [`prepare_tag`] up to, not including, the end marker: the bytes consumed (the marker
/// counted) and whether the marker was found.
fn prepare_tag_inner(
    text: &str,
    end: &str,
    keep: bool,
    newline: &str,
    out: &mut String,
) -> Result<(usize, bool), BadLiteral> {
    let mut depth = 0usize;
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        if depth == 0 && !end.is_empty() && rest.starts_with(end) {
            return Ok((i + end.len(), true));
        }
        let c = rest.chars().next().expect("not at the end");
        match c {
            '\'' | '"' => {
                let Some(length) = literal_length(rest, c) else {
                    // An unterminated literal: minijinja reports it where it is.
                    out.push_str(rest);
                    return Ok((text.len(), false));
                };
                let raw = &rest[1..length - 1];
                if keep {
                    push_literal(out, |emit| {
                        let mut normalized = String::with_capacity(raw.len());
                        push_normalized(&mut normalized, raw, newline);
                        normalized.chars().for_each(|c| emit(Piece::Literal(c)));
                        Ok(())
                    })
                    .expect("kept literals always encode");
                } else {
                    push_literal(out, |emit| {
                        let mut normalized = String::with_capacity(raw.len());
                        push_normalized(&mut normalized, raw, newline);
                        decode_python_escapes(&normalized, emit)
                    })
                    .map_err(|err| BadLiteral {
                        offset: i,
                        message: format!("invalid string literal {}: {err:#}", &rest[..length]),
                    })?;
                }
                i += length;
                continue;
            }
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        out.push(c);
        i += c.len_utf8();
    }
    Ok((text.len(), false))
}

/// Guards chains of attribute lookups that Ansible lets fail softly. Ansible's undefined
/// chains: `a.b.c | default(x)` gives `x` when `a` or `a.b` is undefined, and `a.b.c is
/// defined` is false; minijinja's strict undefined fails on `.c` of an undefined `a.b`. A
/// chain of lookups (`a.b`, `a[k].c`), read by `default`/`d` or by a `defined`/`undefined` test, is
/// rewritten `(a.b.c if a is defined and a.b is defined)`, which is undefined (silently) when
/// any link is, and the same value otherwise.
fn guard_chains(expr: &str) -> String {
    let chars: Vec<char> = expr.chars().collect();
    let is_word = |c: char| c.is_alphanumeric() || c == '_';
    let mut out = String::with_capacity(expr.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            let start = i;
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i = (i + 1).min(chars.len());
            out.extend(&chars[start..i]);
            continue;
        }
        let previous = chars[..i].iter().rev().find(|c| !c.is_whitespace()).copied();
        let at_word_start = (c.is_alphabetic() || c == '_')
            && !chars[..i].last().copied().is_some_and(|p| is_word(p) || p == '.')
            && previous != Some('|');
        if !at_word_start {
            out.push(c);
            i += 1;
            continue;
        }
        let start = i;
        let word_end = |mut i: usize| {
            while i < chars.len() && is_word(chars[i]) {
                i += 1;
            }
            i
        };
        i = word_end(i);
        let mut links = vec![i];
        loop {
            if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|c| c.is_alphabetic() || *c == '_')
            {
                i = word_end(i + 1);
            } else if chars.get(i) == Some(&'[') {
                match closing_bracket(&chars, i) {
                    Some(close) => i = close + 1,
                    None => break,
                }
            } else {
                break;
            }
            links.push(i);
        }
        let chain: String = chars[start..i].iter().collect();
        let after: String = chars[i..].iter().collect();
        let tail = after.trim_start();
        let word_follows = |text: &str, words: &[&str]| {
            words.iter().any(|w| {
                text.strip_prefix(w)
                    .is_some_and(|rest| !rest.starts_with(|c: char| is_word(c)))
            })
        };
        let read_softly = tail
            .strip_prefix('|')
            .is_some_and(|filter| word_follows(filter.trim_start(), &["default", "d"]))
            || tail.strip_prefix("is").is_some_and(|test| {
                let test = test.trim_start();
                let test = test.strip_prefix("not ").map_or(test, str::trim_start);
                word_follows(test, &["defined", "undefined"])
            });
        if links.len() >= 2 && read_softly && !tail.starts_with('(') {
            let guard: Vec<String> = links[..links.len() - 1]
                .iter()
                .map(|&end| format!("{} is defined", chars[start..end].iter().collect::<String>()))
                .collect();
            out.push_str(&format!("({chain} if {})", guard.join(" and ")));
        } else {
            out.push_str(&chain);
        }
    }
    out
}

/// The index of the `]` closing the `[` at `open`, brackets and literals skipped.
fn closing_bracket(chars: &[char], open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = open;
    while i < chars.len() {
        match chars[i] {
            '\'' | '"' => {
                let quote = chars[i];
                i += 1;
                while i < chars.len() && chars[i] != quote {
                    i += if chars[i] == '\\' { 2 } else { 1 };
                }
            }
            '[' | '(' | '{' => depth += 1,
            ']' | ')' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return (chars[i] == ']').then_some(i);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// The length of the literal at the start of `text` opened by `quote`, quotes included, as
/// Jinja2's lexer finds it (a backslash escapes the next character).
fn literal_length(text: &str, quote: char) -> Option<usize> {
    let mut chars = text.char_indices().skip(1);
    while let Some((at, c)) = chars.next() {
        if c == '\\' {
            chars.next()?;
        } else if c == quote {
            return Some(at + 1);
        }
    }
    None
}

/// The length of a `{% raw %}...{% endraw %}` block at the start of `text`, if it is one.
fn raw_block_length(text: &str, (start, end): (&str, &str)) -> Option<usize> {
    let tag = |text: &str, word: &str| -> Option<usize> {
        let inner = text.strip_prefix(start)?;
        let inner_trimmed = inner.strip_prefix(['-', '+']).unwrap_or(inner).trim_start();
        let after = inner_trimmed.strip_prefix(word)?;
        let after_trimmed = after.trim_start();
        let after_trimmed = after_trimmed.strip_prefix(['-', '+']).unwrap_or(after_trimmed);
        let closed = after_trimmed.strip_prefix(end)?;
        Some(text.len() - closed.len())
    };
    let open = tag(text, "raw")?;
    let mut search = open;
    while let Some(found) = text[search..].find(start) {
        let at = search + found;
        if let Some(length) = tag(&text[at..], "endraw") {
            return Some(at + length);
        }
        search = at + start.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> String {
        prepare(text, &FileOptions::default(), Origin::Yaml).unwrap()
    }

    fn file(text: &str) -> String {
        prepare(text, &FileOptions::default(), Origin::File).unwrap()
    }

    #[test]
    fn yaml_expressions_keep_backslashes() {
        assert_eq!(yaml(r"{{ '\1' }}"), r"{{ '\\1' }}");
        assert_eq!(yaml(r"{{ '\'' }}"), r"{{ '\\\'' }}");
        assert_eq!(yaml(r#"{{ "it's" }}"#), r"{{ 'it\'s' }}");
        assert_eq!(yaml(r"{% set a = '\1' %}"), r"{% set a = '\u0001' %}");
    }

    #[test]
    fn files_decode_as_python() {
        assert_eq!(file(r"{{ '\1\/\a\d' }}"), r"{{ '\u0001\\/\u0007\\d' }}");
        assert_eq!(file(r"{{ '\x41\u00e9' }}"), "{{ 'A\u{e9}' }}");
        assert_eq!(file(r"{{ '\n' }}"), r"{{ '\n' }}");
        assert!(prepare(r"{{ '\x4' }}", &FileOptions::default(), Origin::File).is_err());
    }

    #[test]
    fn only_tags_are_rewritten() {
        assert_eq!(
            file("it's {# '\\1' #} {% raw %}{{ '\\1' }}{% endraw %}"),
            "it's {# '\\1' #} {% raw %}{{ '\\1' }}{% endraw %}"
        );
        assert_eq!(file("{{ {'a': '}}'} }}'\\1'"), "{{ {'a': '}}'} }}'\\1'");
    }

    #[test]
    fn chains_read_softly_are_guarded() {
        assert_eq!(
            yaml("{{ a.b.c | default(1) }}"),
            "{{ (a.b.c if a is defined and a.b is defined) | default(1) }}"
        );
        assert_eq!(
            prepare_expression("h[x].ip is not defined").unwrap(),
            "(h[x].ip if h is defined and h[x] is defined) is not defined"
        );
        // Calls, filters with dotted names, plain lookups and literals are left alone.
        for text in [
            "{{ a.b.c() | default(1) }}",
            "{{ x | ns.col.f(a.b) }}",
            "{{ a.b.c }}",
            "{{ 'a.b | default(1)' }}",
            "{{ a.b | defaults }}",
        ] {
            assert_eq!(yaml(text), text);
        }
    }

    #[test]
    fn headers_override_options() {
        let (body, options) = split_header(
            "#jinja2: trim_blocks: False, newline_sequence: '\\r\\n', variable_start_string: \"[%\"\nx",
            &FileOptions::default(),
        )
        .unwrap();
        assert_eq!(body, "x");
        assert!(!options.trim_blocks);
        assert_eq!(options.newline_sequence, "\r\n");
        assert_eq!(options.variable_start_string, "[%");
        assert!(split_header("#jinja2: nope: True\n", &FileOptions::default()).is_err());
        assert!(split_header("#jinja2: trim_blocks: False", &FileOptions::default()).is_err());
    }
}

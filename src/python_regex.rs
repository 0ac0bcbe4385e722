//! Python `re` patterns, evaluated with the `regex` crate as Ansible evaluates them.
//!
//! Playbooks write regular expressions for Python in two places: module parameters
//! (`lineinfile`/`blockinfile` `regexp:`, applied to the file's bytes one line at a time, the
//! line keeping its `\n`) and the template filters and tests (`regex_replace`, `regex_search`,
//! `regex_findall`, `is match`/`search`/`regex`, applied to text). A pattern must mean the
//! same in both, so both are translated here, by one [`translate`]. The differences that
//! matter in practice are bridged: Python's `$` also matches just before a final newline (so
//! `^PORT=.*$` matches `PORT=1\n`) when searching, and a few pieces of syntax Python takes
//! literally are errors for the `regex` crate (`a{`, `[[]`, `\Z`). Replacement templates
//! (`backrefs: yes`, `regex_replace`) follow Python's `Match.expand`: `\1`, `\g<1>`,
//! `\g<name>`, octal and the usual character escapes.
//!
//! Module patterns are bytes patterns in Python (`\w`, `\d` are ASCII); filter patterns are
//! text patterns (`\w`, `\d` are Unicode-aware), hence [`PythonRegex`] and [`TextRegex`].
//!
//! Text patterns run on `fancy_regex`, so they have look-arounds and back-references, and
//! Python's `$` exactly; bytes patterns (modules) run on the `regex` crate's bytes engine.
//!
//! A bytes pattern with look-around or back-references runs on `fancy_regex` too, on the line
//! as UTF-8 text. Not bridged there: a line that is not UTF-8 (it never matches such a
//! pattern) and `\w`/`\d` on non-ASCII letters and digits (Unicode there, ASCII in Python
//! bytes patterns); nor, in any bytes pattern, a non-ASCII literal followed by a quantifier
//! (Python repeats its last byte).

use anyhow::{bail, Context, Result};
use regex::bytes::{Regex, RegexBuilder};

/// A compiled Python pattern.
#[derive(Clone, Debug)]
pub struct PythonRegex {
    source: String,
    engine: Engine,
    /// The pattern set `re.MULTILINE` with a leading `(?m)` (blockinfile searches the whole
    /// file then).
    multiline: bool,
}

/// What runs a module pattern: the `regex` crate's bytes engine (`\w`, `\d` ASCII, as in a
/// Python bytes pattern), or, for the look-arounds and back-references it lacks,
/// `fancy_regex` on the line as UTF-8 text.
#[derive(Clone, Debug)]
enum Engine {
    Bytes(Regex),
    Text(fancy_regex::Regex),
}

/// Whether the `regex` crate refused a pattern only for what a backtracking engine has.
fn needs_backtracking(err: &regex::Error) -> bool {
    let text = err.to_string();
    text.contains("look-around") || text.contains("backreferences")
}

/// Where a pattern matched in a haystack: the span of each group, `None` when it did not take
/// part in the match.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Found {
    pub groups: Vec<Option<(usize, usize)>>,
}

impl Found {
    pub fn start(&self) -> usize {
        self.groups[0].expect("group 0 always takes part").0
    }

    pub fn end(&self) -> usize {
        self.groups[0].expect("group 0 always takes part").1
    }
}

impl PythonRegex {
    pub fn new(pattern: &str) -> Result<PythonRegex> {
        let multiline = leading_flags(pattern).contains('m');
        let translated = translate(pattern, Dollar::Line);
        let engine = match RegexBuilder::new(&translated).unicode(false).build() {
            Ok(regex) => Engine::Bytes(regex),
            // Look-around and back-references: the backtracking engine, on text, with
            // Python's `$` exact (no second search needed).
            Err(err) if needs_backtracking(&err) => {
                let dollar = if multiline { Dollar::Line } else { Dollar::Python };
                let regex = fancy_regex::Regex::new(&translate(pattern, dollar)).map_err(|err| {
                    anyhow::anyhow!("regular expression {pattern:?} is not supported: {err}")
                })?;
                Engine::Text(regex)
            }
            Err(err) => return Err(refused(pattern, &err)),
        };
        Ok(PythonRegex {
            source: pattern.to_string(),
            engine,
            multiline,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    pub fn is_multiline(&self) -> bool {
        self.multiline
    }

    /// Python's `re.search` on `haystack`.
    pub fn search(&self, haystack: &[u8]) -> Option<Found> {
        if let Engine::Text(regex) = &self.engine {
            // A line that is not UTF-8 is not searched by a backtracking pattern.
            let text = std::str::from_utf8(haystack).ok()?;
            let caps = regex.captures(text).ok()??;
            return Some(Found {
                groups: (0..caps.len())
                    .map(|i| caps.get(i).map(|m| (m.start(), m.end())))
                    .collect(),
            });
        }
        search_bridging_dollar(
            self.multiline,
            self.captures(haystack),
            || {
                haystack
                    .strip_suffix(b"\n")
                    .and_then(|stripped| self.captures(stripped))
            },
            Found::start,
        )
    }

    fn captures(&self, haystack: &[u8]) -> Option<Found> {
        let Engine::Bytes(regex) = &self.engine else {
            return None;
        };
        regex.captures(haystack).map(|caps| Found {
            groups: (0..caps.len())
                .map(|i| caps.get(i).map(|m| (m.start(), m.end())))
                .collect(),
        })
    }

    /// Python's `Match.expand(template)` for a match of this pattern in `haystack`.
    pub fn expand(&self, template: &[u8], found: &Found, haystack: &[u8]) -> Result<Vec<u8>> {
        expand(
            template,
            &found.groups,
            |name| match &self.engine {
                Engine::Bytes(regex) => regex.capture_names().position(|n| n == Some(name)),
                Engine::Text(regex) => regex.capture_names().position(|n| n == Some(name)),
            },
            haystack,
            false,
        )
    }
}

/// The flags Ansible's filters and tests add to a pattern (`ignorecase=`, `multiline=`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flags {
    pub ignorecase: bool,
    pub multiline: bool,
}

/// Where a match must lie: Python's `re.search`, `re.match` or `re.fullmatch`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Anchor {
    #[default]
    Search,
    Match,
    FullMatch,
}

/// A compiled Python text pattern, as the template filters and tests use one.
///
/// Text patterns run on `fancy_regex` (the `regex` crate's engine with backtracking where a
/// pattern needs it), which has the look-arounds and back-references that Python patterns in
/// templates use, and through which Python's `$` is exact: outside multiline mode it matches
/// at the end and just before a final newline (`(?=\n?\z)`), in `re.search`, `re.sub` and
/// `re.findall` alike.
#[derive(Clone, Debug)]
pub struct TextRegex {
    regex: fancy_regex::Regex,
}

/// A match of a [`TextRegex`]: the text of each group, `None` when it took no part.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TextMatch<'h> {
    text: &'h str,
    groups: Vec<Option<(usize, usize)>>,
}

impl<'h> TextMatch<'h> {
    /// Group `index` (0 is the whole match).
    pub fn get(&self, index: usize) -> Option<&'h str> {
        let (start, end) = (*self.groups.get(index)?)?;
        Some(&self.text[start..end])
    }

    /// Where group `index` starts in the text, when it took part.
    pub fn start(&self, index: usize) -> Option<usize> {
        Some((*self.groups.get(index)?)?.0)
    }

    fn span(&self) -> (usize, usize) {
        self.groups[0].expect("group 0 always takes part")
    }
}

impl TextRegex {
    pub fn new(pattern: &str, flags: Flags) -> Result<TextRegex> {
        TextRegex::anchored(pattern, flags, Anchor::Search)
    }

    /// A pattern whose matches must start at the beginning (`Match`), or span the whole text
    /// (`FullMatch`).
    pub fn anchored(pattern: &str, flags: Flags, anchor: Anchor) -> Result<TextRegex> {
        let multiline = flags.multiline || leading_flags(pattern).contains('m');
        let translated = translate(pattern, if multiline { Dollar::Line } else { Dollar::Python });
        let translated = match anchor {
            Anchor::Search => translated,
            Anchor::Match => format!(r"\A(?:{translated})"),
            Anchor::FullMatch => format!(r"\A(?:{translated})\z"),
        };
        let mut inline = String::new();
        if flags.ignorecase {
            inline.push('i');
        }
        if flags.multiline {
            inline.push('m');
        }
        let full = if inline.is_empty() {
            translated
        } else {
            format!("(?{inline}){translated}")
        };
        let regex = fancy_regex::Regex::new(&full).map_err(|err| {
            let detail = err.to_string();
            anyhow::anyhow!("regular expression {pattern:?} is not supported: {detail}")
        })?;
        Ok(TextRegex { regex })
    }

    /// The match starting the search at byte `at`, with the text before it as context.
    fn match_at<'h>(&self, text: &'h str, at: usize) -> Result<Option<TextMatch<'h>>> {
        let found = self
            .regex
            .captures_from_pos(text, at)
            .with_context(|| format!("regular expression {:?} gave up", self.regex.as_str()))?;
        Ok(found.map(|caps| TextMatch {
            text,
            groups: (0..caps.len())
                .map(|i| caps.get(i).map(|m| (m.start(), m.end())))
                .collect(),
        }))
    }

    /// Python's `re.search` (or `re.match`/`re.fullmatch`, as anchored) on `text`.
    pub fn search<'h>(&self, text: &'h str) -> Result<Option<TextMatch<'h>>> {
        self.match_at(text, 0)
    }

    /// Every match, left to right, as Python's `re.finditer` finds them: an empty match
    /// right after a non-empty one counts, an empty match where the previous empty one was
    /// does not.
    pub fn matches<'h>(&self, text: &'h str) -> Result<Vec<TextMatch<'h>>> {
        let mut found = Vec::new();
        let mut at = 0;
        let mut empty_at = None;
        while at <= text.len() {
            let Some(mut next) = self.match_at(text, at)? else {
                break;
            };
            let (start, end) = next.span();
            if start == end && empty_at == Some(start) {
                let Some(step) = text[start..].chars().next().map(char::len_utf8) else {
                    break;
                };
                match self.match_at(text, start + step)? {
                    Some(later) => next = later,
                    None => break,
                }
            }
            let (start, end) = next.span();
            empty_at = (start == end).then_some(end);
            at = end;
            found.push(next);
        }
        Ok(found)
    }

    /// How many groups the pattern has, not counting the whole match.
    pub fn group_count(&self) -> usize {
        self.regex.captures_len() - 1
    }

    /// The index of the group named `name`.
    pub fn group_index(&self, name: &str) -> Option<usize> {
        self.regex.capture_names().position(|n| n == Some(name))
    }

    /// Python's `re.sub(pattern, template, text, count)`: the first `count` matches (all with
    /// 0) replaced by `template` expanded as `Match.expand` does.
    pub fn sub(&self, text: &str, template: &str, count: usize) -> Result<String> {
        let mut out = Vec::with_capacity(text.len());
        let mut last = 0;
        let limit = if count == 0 { usize::MAX } else { count };
        for found in self.matches(text)?.into_iter().take(limit) {
            let (start, end) = found.span();
            out.extend_from_slice(&text.as_bytes()[last..start]);
            out.extend(expand(
                template.as_bytes(),
                &found.groups,
                |name| self.group_index(name),
                text.as_bytes(),
                true,
            )?);
            last = end;
        }
        out.extend_from_slice(&text.as_bytes()[last..]);
        // Spans end on character boundaries and a text template expands to characters.
        String::from_utf8(out).context("the replacement is not UTF-8 text")
    }
}

/// Python's `re.escape`: a backslash before each character that has a meaning in a pattern.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 2);
    for c in text.chars() {
        if "()[]{}?*+-|^$\\.&~# \t\n\r\x0b\x0c".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Python's `Match.expand(template)`: `groups` are the spans of the match's groups in
/// `haystack`, `group_index` finds a named group. In a text pattern (`text`) an octal escape
/// stands for a character, in a bytes pattern for a byte.
fn expand(
    template: &[u8],
    groups: &[Option<(usize, usize)>],
    group_index: impl Fn(&str) -> Option<usize>,
    haystack: &[u8],
    text: bool,
) -> Result<Vec<u8>> {
    let group = |index: usize| -> Result<&[u8]> {
        match groups.get(index) {
            None => bail!(
                "invalid group reference {index} in {:?}",
                String::from_utf8_lossy(template)
            ),
            Some(None) => Ok(&[]),
            Some(Some((start, end))) => Ok(&haystack[*start..*end]),
        }
    };
    let mut out = Vec::with_capacity(template.len());
    let mut i = 0;
    while i < template.len() {
        let c = template[i];
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&next) = template.get(i + 1) else {
            bail!("bad escape (end of pattern) in the replacement");
        };
        i += 2;
        match next {
            b'g' => {
                let rest = &template[i..];
                let close = rest
                    .strip_prefix(b"<")
                    .and_then(|r| r.iter().position(|&b| b == b'>'))
                    .context("missing group name after \\g in the replacement")?;
                let name =
                    std::str::from_utf8(&rest[1..=close]).context("bad group name in the replacement")?;
                i += close + 2;
                let index = match name.parse::<usize>() {
                    Ok(index) => index,
                    Err(_) => group_index(name)
                        .with_context(|| format!("unknown group name {name:?} in the replacement"))?,
                };
                out.extend_from_slice(group(index)?);
            }
            b'0' => {
                let mut value = 0u32;
                for _ in 0..2 {
                    match template.get(i) {
                        Some(d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                push_code(&mut out, (value & 0xff) as u8, text);
            }
            b'1'..=b'9' => {
                let second = template.get(i).copied().filter(u8::is_ascii_digit);
                let third = template.get(i + 1).copied();
                let octal = |b: u8| (b'0'..=b'7').contains(&b);
                match (second, third) {
                    (Some(s), Some(t)) if octal(next) && octal(s) && octal(t) => {
                        let value =
                            u32::from(next - b'0') * 64 + u32::from(s - b'0') * 8 + u32::from(t - b'0');
                        if value > 0o377 {
                            bail!(
                                "octal escape value \\{}{}{} outside of range 0-0o377",
                                next as char,
                                s as char,
                                t as char
                            );
                        }
                        push_code(&mut out, value as u8, text);
                        i += 2;
                    }
                    (Some(s), _) => {
                        out.extend_from_slice(group(usize::from(next - b'0') * 10 + usize::from(s - b'0'))?);
                        i += 1;
                    }
                    (None, _) => out.extend_from_slice(group(usize::from(next - b'0'))?),
                }
            }
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'\\' => out.push(b'\\'),
            letter if letter.is_ascii_alphabetic() => {
                bail!("bad escape \\{} in the replacement", letter as char)
            }
            other => {
                out.push(b'\\');
                out.push(other);
            }
        }
    }
    Ok(out)
}

/// An octal escape's value: the byte itself in a bytes template, the character with that code
/// (UTF-8 encoded) in a text one.
fn push_code(out: &mut Vec<u8>, value: u8, text: bool) {
    if text {
        let mut buffer = [0u8; 4];
        out.extend_from_slice(char::from(value).encode_utf8(&mut buffer).as_bytes());
    } else {
        out.push(value);
    }
}

/// Python's `re.search` from two tries of the `regex` crate: on the whole haystack, and on it
/// without a final `\n`, whose matches are those that rely on Python's `$` matching before
/// that newline. The earlier match wins, as Python scans left to right. In multiline mode `$`
/// already matches before every newline, as in Python, so one try is enough.
fn search_bridging_dollar<T>(
    multiline: bool,
    on_full: Option<T>,
    on_stripped: impl FnOnce() -> Option<T>,
    start: impl Fn(&T) -> usize,
) -> Option<T> {
    if multiline {
        return on_full;
    }
    match (on_full, on_stripped()) {
        (Some(full), Some(stripped)) if start(&stripped) < start(&full) => Some(stripped),
        (Some(full), _) => Some(full),
        (None, stripped) => stripped,
    }
}

/// The error for a pattern the `regex` crate refuses, the same for modules and filters: the
/// pattern as written and the crate's reason (its last line, without the caret diagram).
fn refused(pattern: &str, err: &regex::Error) -> anyhow::Error {
    let detail = err.to_string();
    let last = detail.lines().last().unwrap_or(&detail).trim().to_string();
    anyhow::anyhow!("regular expression {pattern:?} is not supported: {last}")
}

/// The flags of a leading `(?aiLmsux)` group.
fn leading_flags(pattern: &str) -> &str {
    pattern
        .strip_prefix("(?")
        .and_then(|rest| rest.split_once(')'))
        .map(|(flags, _)| flags)
        .filter(|flags| flags.bytes().all(|b| b"aiLmsux".contains(&b)))
        .unwrap_or("")
}

/// What a `$` outside a class becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dollar {
    /// Left as is: the `regex` crate's end of text (a bytes pattern bridges the final
    /// newline by searching twice, see [`search_bridging_dollar`]), or of a line in multiline
    /// mode.
    Line,
    /// Python's end of text or before a final newline, as a look-ahead (text patterns).
    Python,
}

/// Rewrites the bits of Python syntax that the `regex` crate reads differently.
fn translate(pattern: &str, dollar: Dollar) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut in_class = false;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\\' => {
                match chars.get(i + 1) {
                    Some('Z') => out.push_str("\\z"),
                    Some(&next) => {
                        out.push('\\');
                        out.push(next);
                    }
                    None => out.push('\\'),
                }
                i += 2;
                continue;
            }
            '[' if !in_class => {
                in_class = true;
                out.push('[');
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // A `]` right after the opening is a literal in Python.
                if chars.get(i + 1) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
            }
            ']' if in_class => {
                in_class = false;
                out.push(']');
            }
            // Nested classes and set operations do not exist in Python: literals there.
            '[' | '&' | '~' if in_class => {
                out.push('\\');
                out.push(c);
            }
            '$' if !in_class && dollar == Dollar::Python => out.push_str(r"(?=\n?\z)"),
            '{' if !in_class && !is_quantifier(&chars[i..]) => out.push_str("\\{"),
            '}' if !in_class => {
                // A `}` closing a quantifier was copied with it; a lone one is literal.
                out.push_str("\\}");
            }
            _ => out.push(c),
        }
        if c == '{' && !in_class && is_quantifier(&chars[i..]) {
            let close = chars[i..]
                .iter()
                .position(|&ch| ch == '}')
                .expect("a quantifier is closed");
            if chars[i + 1] == ',' {
                out.push('0');
            }
            out.extend(&chars[i + 1..=i + close]);
            i += close + 1;
            continue;
        }
        i += 1;
    }
    out
}

/// `{n}`, `{n,}`, `{,m}` or `{n,m}` at the start of `chars`, as Python recognises them.
fn is_quantifier(chars: &[char]) -> bool {
    let Some(close) = chars.iter().position(|&c| c == '}') else {
        return false;
    };
    let inner: String = chars[1..close].iter().collect();
    let (low, high) = match inner.split_once(',') {
        Some((low, high)) => (low, Some(high)),
        None => (inner.as_str(), None),
    };
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    match high {
        None => !low.is_empty() && digits(low),
        // `{,m}` is Python's `{0,m}`; the regex crate wants the zero written.
        Some(high) => digits(low) && digits(high) && !(low.is_empty() && high.is_empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(pattern: &str, haystack: &str) -> Option<String> {
        let regex = PythonRegex::new(pattern).unwrap();
        regex
            .search(haystack.as_bytes())
            .map(|f| haystack[f.start()..f.end()].to_string())
    }

    fn expand(pattern: &str, haystack: &str, template: &str) -> String {
        let regex = PythonRegex::new(pattern).unwrap();
        let found = regex.search(haystack.as_bytes()).unwrap();
        String::from_utf8(
            regex
                .expand(template.as_bytes(), &found, haystack.as_bytes())
                .unwrap(),
        )
        .unwrap()
    }

    #[test]
    fn dollar_matches_before_a_final_newline() {
        assert_eq!(search("^PORT=.*$", "PORT=1\n").as_deref(), Some("PORT=1"));
        assert_eq!(search("^PORT=.*$", "PORT=1").as_deref(), Some("PORT=1"));
        assert_eq!(search(r"\s+$", "a  \n").as_deref(), Some("  \n"));
        assert_eq!(search("^$", "x\n"), None);
        assert_eq!(search("^$", "\n").as_deref(), Some(""));
    }

    #[test]
    fn python_literals_stay_literal() {
        assert_eq!(search("a{", "xa{").as_deref(), Some("a{"));
        assert_eq!(search("{mark}", "# {mark} X").as_deref(), Some("{mark}"));
        assert_eq!(search("x{2}", "xxx").as_deref(), Some("xx"));
        assert_eq!(search("x{,2}y", "xxy").as_deref(), Some("xxy"));
        assert_eq!(search("[[]a", "[a").as_deref(), Some("[a"));
        assert_eq!(search("[]x]+", "a]x]").as_deref(), Some("]x]"));
        assert_eq!(search(r"end\Z", "the end").as_deref(), Some("end"));
        assert_eq!(search("[a&&b]+", "&&").as_deref(), Some("&&"));
    }

    #[test]
    fn unsupported_syntax_is_refused_not_misread() {
        let err = PythonRegex::new("(?<=a").unwrap_err();
        assert!(err.to_string().contains("not supported"), "{err}");
    }

    #[test]
    fn module_patterns_have_look_around_and_back_references() {
        let search = |pattern: &str, line: &str| {
            let regex = PythonRegex::new(pattern).unwrap();
            regex.search(line.as_bytes()).map(|f| (f.start(), f.end()))
        };
        assert_eq!(search("(?<=a)b", "ab\n"), Some((1, 2)));
        assert_eq!(search("^PermitRootLogin(?!\\s+no)", "PermitRootLogin no\n"), None);
        assert_eq!(
            search("^PermitRootLogin(?!\\s+no)", "PermitRootLogin yes\n"),
            Some((0, 15))
        );
        assert_eq!(search(r"(a)\1", "xaa"), Some((1, 3)));
        // Python's `$` before a final newline, as in the bytes engine.
        assert_eq!(search(r"(?<=x)y$", "xy\n"), Some((1, 2)));
        let regex = PythonRegex::new(r"(?<=k=)(\w+)").unwrap();
        let found = regex.search(b"k=v1\n").unwrap();
        assert_eq!(regex.expand(br"[\1]", &found, b"k=v1\n").unwrap(), b"[v1]");
    }

    #[test]
    fn expands_templates_as_python() {
        assert_eq!(expand(r"^(\w+)=(.*)$", "key=value\n", r"\2=\1"), "value=key");
        assert_eq!(expand(r"^(?P<k>\w+)=", "key=value\n", r"\g<k>:\g<0>"), "key:key=");
        assert_eq!(expand(r"(a)(b)?", "a", r"[\2]\n\t\\"), "[]\n\t\\");
        assert_eq!(expand(r"(a)", "a", r"\101\0"), "A\0");
        assert_eq!(expand(r"(a)", "a", r"\%"), "\\%");
        let regex = PythonRegex::new("(a)").unwrap();
        let found = regex.search(b"a").unwrap();
        assert!(regex.expand(br"\2", &found, b"a").is_err());
        assert!(regex.expand(br"\q", &found, b"a").is_err());
    }

    #[test]
    fn leading_multiline_flag() {
        assert!(PythonRegex::new("(?m)^x$").unwrap().is_multiline());
        assert!(!PythonRegex::new("^x$").unwrap().is_multiline());
    }
}

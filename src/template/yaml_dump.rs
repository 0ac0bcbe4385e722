//! YAML output as PyYAML writes it, for `to_yaml` and `to_nice_yaml`.
//!
//! Roles render configuration files with `{{ config | to_nice_yaml }}`; for a host converged
//! by Ansible to plan as converged here, the bytes must be PyYAML's: sorted keys, sequences
//! not indented under their key, quoting only where a plain scalar would read back as another
//! type, and long lines folded at 80 columns. This is a port of the parts of PyYAML's emitter
//! that JSON-like data reaches.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value as Json;

/// `default_flow_style`: `None` (`to_yaml`: collections of scalars inline) or `False`
/// (`to_nice_yaml`: block style everywhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YamlStyle {
    Auto,
    Block,
}

const WIDTH: usize = 80;

/// `yaml.dump(value, default_flow_style=.., indent=.., allow_unicode=True, sort_keys=..)`.
pub fn to_yaml(value: &Json, style: YamlStyle, indent: usize, sort_keys: bool) -> String {
    let indent = if (2..10).contains(&indent) { indent } else { 2 };
    let mut emitter = Emitter {
        out: String::new(),
        column: 0,
        best_indent: indent,
        style,
        whitespace: true,
        indention: true,
        sort_keys,
    };
    emitter.node(value, 0, Context::Root);
    emitter.out.push('\n');
    if emitter.open_ended_root(value) {
        emitter.out.push_str("...\n");
    }
    emitter.out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    Root,
    Block,
    Flow,
    SimpleKey,
}

struct Emitter {
    out: String,
    column: usize,
    best_indent: usize,
    style: YamlStyle,
    /// The last character written was a space or line start (PyYAML's `whitespace`).
    whitespace: bool,
    /// Only indentation has been written on this line.
    indention: bool,
    /// Mapping keys sorted (PyYAML's default), or in their order.
    sort_keys: bool,
}

fn is_scalar(value: &Json) -> bool {
    !matches!(value, Json::Array(_) | Json::Object(_))
}

fn entries(map: &serde_json::Map<String, Json>, sort_keys: bool) -> Vec<(&String, &Json)> {
    let mut entries: Vec<_> = map.iter().collect();
    if sort_keys {
        entries.sort_by(|a, b| a.0.cmp(b.0));
    }
    entries
}

impl Emitter {
    fn write(&mut self, text: &str) {
        self.out.push_str(text);
        self.column += text.chars().count();
        self.whitespace = text.ends_with(' ');
        self.indention = self.indention && text.chars().all(|c| c == ' ');
    }

    fn line_break(&mut self) {
        self.out.push('\n');
        self.column = 0;
        self.whitespace = true;
        self.indention = true;
    }

    fn write_indent(&mut self, indent: usize) {
        if !self.indention || self.column > indent || (self.column == indent && !self.whitespace) {
            self.line_break();
        }
        if self.column < indent {
            self.whitespace = true;
            let pad = " ".repeat(indent - self.column);
            self.out.push_str(&pad);
            self.column = indent;
        }
    }

    fn open_ended_root(&self, value: &Json) -> bool {
        match value {
            Json::String(s) => {
                let analysis = analyze(s);
                choose_style(s, &analysis, Context::Root) == Style::Plain && !s.is_empty()
            }
            Json::Array(_) | Json::Object(_) => false,
            _ => true,
        }
    }

    /// Whether a collection is written in flow style here.
    fn is_flow(&self, value: &Json, context: Context) -> bool {
        let (empty, all_scalars) = match value {
            Json::Array(items) => (items.is_empty(), items.iter().all(is_scalar)),
            Json::Object(map) => (map.is_empty(), map.values().all(is_scalar)),
            _ => return true,
        };
        empty || context == Context::Flow || (self.style == YamlStyle::Auto && all_scalars)
    }

    /// Writes `value` with the emitter's current indentation `indent`.
    fn node(&mut self, value: &Json, indent: usize, context: Context) {
        match value {
            Json::Array(_) | Json::Object(_) if self.is_flow(value, context) => self.flow(value, indent),
            Json::Array(items) => self.block_sequence(items, indent),
            Json::Object(map) => self.block_mapping(map, indent),
            scalar => self.scalar(scalar, indent + self.best_indent, context),
        }
    }

    fn flow(&mut self, value: &Json, indent: usize) {
        let inner = indent + self.best_indent;
        match value {
            Json::Array(items) => {
                self.write_indicator("[", true);
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.write_indicator(",", false);
                    }
                    if self.column > WIDTH {
                        self.write_indent(inner);
                    }
                    self.node(item, inner, Context::Flow);
                }
                self.write_indicator("]", false);
            }
            Json::Object(map) => {
                self.write_indicator("{", true);
                for (i, (key, item)) in entries(map, self.sort_keys).into_iter().enumerate() {
                    if i > 0 {
                        self.write_indicator(",", false);
                    }
                    if self.column > WIDTH {
                        self.write_indent(inner);
                    }
                    self.scalar(&Json::String(key.clone()), inner, Context::SimpleKey);
                    self.write_indicator(":", false);
                    self.node(item, inner, Context::Flow);
                }
                self.write_indicator("}", false);
            }
            _ => {}
        }
    }

    fn write_indicator(&mut self, indicator: &str, need_space: bool) {
        if need_space && !self.whitespace {
            self.write(" ");
        }
        self.write(indicator);
        // Opening brackets are followed by their first item directly.
        self.whitespace = indicator == "[" || indicator == "{";
    }

    fn block_sequence(&mut self, items: &[Json], indent: usize) {
        for item in items {
            self.write_indent(indent);
            self.write_indicator("-", true);
            self.whitespace = false;
            self.indention = true;
            let inner = indent + self.best_indent;
            match item {
                Json::Array(inner_items) if !self.is_flow(item, Context::Block) => {
                    self.pad_to(inner);
                    self.block_sequence(inner_items, inner);
                }
                Json::Object(map) if !self.is_flow(item, Context::Block) => {
                    self.pad_to(inner);
                    self.block_mapping(map, inner);
                }
                _ => self.node(item, indent, Context::Block),
            }
        }
    }

    /// After `-`, the first entry of a nested block collection starts on the same line.
    fn pad_to(&mut self, column: usize) {
        if self.column < column {
            let pad = " ".repeat(column - self.column);
            self.out.push_str(&pad);
            self.column = column;
            self.whitespace = true;
        }
    }

    fn block_mapping(&mut self, map: &serde_json::Map<String, Json>, indent: usize) {
        for (key, item) in entries(map, self.sort_keys) {
            self.write_indent(indent);
            self.scalar(
                &Json::String(key.clone()),
                indent + self.best_indent,
                Context::SimpleKey,
            );
            self.write(":");
            match item {
                Json::Array(items) if !self.is_flow(item, Context::Block) => {
                    self.block_sequence(items, indent)
                }
                Json::Object(inner) if !self.is_flow(item, Context::Block) => {
                    self.block_mapping(inner, indent + self.best_indent)
                }
                _ => self.node(item, indent, Context::Block),
            }
        }
    }

    /// Writes a scalar; `indent` is where folded continuation lines start.
    fn scalar(&mut self, value: &Json, indent: usize, context: Context) {
        let text = match value {
            Json::Null => "null".to_string(),
            Json::Bool(b) => b.to_string(),
            Json::Number(n) if n.is_f64() => yaml_float(n.as_f64().unwrap_or_default()),
            Json::Number(n) => n.to_string(),
            Json::String(s) => {
                let analysis = analyze(s);
                match choose_style(s, &analysis, context) {
                    Style::Plain => self.write_plain(s, indent, context != Context::SimpleKey),
                    Style::Single => self.write_single_quoted(s, indent, context != Context::SimpleKey),
                    Style::Double => self.write_double_quoted(s),
                }
                return;
            }
            _ => return,
        };
        self.write_plain(&text, indent, false);
    }

    fn write_plain(&mut self, text: &str, indent: usize, split: bool) {
        if text.is_empty() {
            return;
        }
        if !self.whitespace {
            self.write(" ");
        }
        let chars: Vec<char> = text.chars().collect();
        let (mut start, mut end) = (0, 0);
        let mut spaces = false;
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > WIDTH && split {
                        self.write_indent(indent);
                    } else {
                        self.write(&chars[start..end].iter().collect::<String>());
                    }
                    start = end;
                }
            } else if ch.is_none() || ch == Some(' ') {
                self.write(&chars[start..end].iter().collect::<String>());
                start = end;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
            }
            end += 1;
        }
    }

    fn write_single_quoted(&mut self, text: &str, indent: usize, split: bool) {
        self.write_indicator("'", true);
        let chars: Vec<char> = text.chars().collect();
        let (mut start, mut end) = (0, 0);
        let (mut spaces, mut breaks) = (false, false);
        while end <= chars.len() {
            let ch = chars.get(end).copied();
            if spaces {
                if ch != Some(' ') {
                    if start + 1 == end && self.column > WIDTH && split && start != 0 && end != chars.len() {
                        self.write_indent(indent);
                    } else {
                        self.write(&chars[start..end].iter().collect::<String>());
                    }
                    start = end;
                }
            } else if breaks {
                if ch != Some('\n') {
                    if chars[start] == '\n' {
                        self.line_break();
                    }
                    for _ in start..end {
                        self.line_break();
                    }
                    self.write_indent(indent);
                    start = end;
                }
            } else if (ch.is_none() || ch == Some(' ') || ch == Some('\n') || ch == Some('\'')) && start < end
            {
                self.write(&chars[start..end].iter().collect::<String>());
                start = end;
            }
            if ch == Some('\'') {
                self.write("''");
                start = end + 1;
            }
            if let Some(c) = ch {
                spaces = c == ' ';
                breaks = c == '\n';
            }
            end += 1;
        }
        self.write("'");
    }

    fn write_double_quoted(&mut self, text: &str) {
        self.write_indicator("\"", true);
        let mut body = String::new();
        for c in text.chars() {
            match c {
                '\0' => body.push_str("\\0"),
                '\u{7}' => body.push_str("\\a"),
                '\u{8}' => body.push_str("\\b"),
                '\t' => body.push_str("\\t"),
                '\n' => body.push_str("\\n"),
                '\u{b}' => body.push_str("\\v"),
                '\u{c}' => body.push_str("\\f"),
                '\r' => body.push_str("\\r"),
                '\u{1b}' => body.push_str("\\e"),
                '"' => body.push_str("\\\""),
                '\\' => body.push_str("\\\\"),
                '\u{85}' => body.push_str("\\N"),
                '\u{a0}' => body.push_str("\\_"),
                '\u{2028}' => body.push_str("\\L"),
                '\u{2029}' => body.push_str("\\P"),
                c if is_printable(c) => body.push(c),
                c if (c as u32) <= 0xff => body.push_str(&format!("\\x{:02X}", c as u32)),
                c if (c as u32) <= 0xffff => body.push_str(&format!("\\u{:04X}", c as u32)),
                c => body.push_str(&format!("\\U{:08X}", c as u32)),
            }
        }
        self.write(&body);
        self.write("\"");
    }
}

/// `repr(float).lower()` with PyYAML's tweaks.
fn yaml_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_string();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_string();
    }
    let repr = super::python::float_repr(f);
    if !repr.contains('.') && repr.contains('e') {
        repr.replacen('e', ".0e", 1)
    } else {
        repr
    }
}

fn is_printable(c: char) -> bool {
    c == '\n'
        || ('\x20'..='\x7e').contains(&c)
        || c == '\u{85}'
        || (('\u{a0}'..='\u{d7ff}').contains(&c)
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || ('\u{10000}'..'\u{10ffff}').contains(&c))
            && c != '\u{feff}'
}

#[derive(Default)]
struct Analysis {
    empty: bool,
    multiline: bool,
    allow_flow_plain: bool,
    allow_block_plain: bool,
    allow_single_quoted: bool,
}

#[derive(Debug, PartialEq, Eq)]
enum Style {
    Plain,
    Single,
    Double,
}

static IMPLICIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF",
        r"|[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?",
        r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)",
        r"|[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+",
        r"|<<|~|null|Null|NULL|=",
        r"|[0-9]{4}-[0-9]{2}-[0-9]{2}",
        r"|[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?))?",
        r")$"
    ))
    .expect("the YAML 1.1 implicit resolver patterns are valid")
});

fn choose_style(text: &str, analysis: &Analysis, context: Context) -> Style {
    let resolves_to_string = !text.is_empty() && !IMPLICIT.is_match(text);
    let flow = context == Context::Flow;
    let simple_key = context == Context::SimpleKey;
    if resolves_to_string
        && !(simple_key && (analysis.empty || analysis.multiline))
        && ((flow && analysis.allow_flow_plain) || (!flow && analysis.allow_block_plain))
    {
        return Style::Plain;
    }
    if analysis.allow_single_quoted && !(simple_key && analysis.multiline) {
        return Style::Single;
    }
    Style::Double
}

/// PyYAML's `analyze_scalar`.
fn analyze(text: &str) -> Analysis {
    if text.is_empty() {
        return Analysis {
            empty: true,
            multiline: false,
            allow_flow_plain: false,
            allow_block_plain: true,
            allow_single_quoted: true,
        };
    }
    let chars: Vec<char> = text.chars().collect();
    let mut block_indicators = text.starts_with("---") || text.starts_with("...");
    let mut flow_indicators = block_indicators;
    let (mut line_breaks, mut special) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    let (mut break_space, mut space_break) = (false, false);
    let (mut previous_space, mut previous_break) = (false, false);
    let mut preceded_by_whitespace = true;
    let is_space_or_end = |c: Option<&char>| {
        matches!(
            c,
            None | Some(' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}')
        )
    };
    for (index, &ch) in chars.iter().enumerate() {
        let followed_by_whitespace = is_space_or_end(chars.get(index + 1));
        if index == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(ch) {
                flow_indicators = true;
                block_indicators = true;
            }
            if ch == '?' || ch == ':' {
                flow_indicators = true;
                if followed_by_whitespace {
                    block_indicators = true;
                }
            }
            if ch == '-' && followed_by_whitespace {
                flow_indicators = true;
                block_indicators = true;
            }
        } else {
            if ",?[]{}".contains(ch) {
                flow_indicators = true;
            }
            if ch == ':' {
                flow_indicators = true;
                if followed_by_whitespace {
                    block_indicators = true;
                }
            }
            if ch == '#' && preceded_by_whitespace {
                flow_indicators = true;
                block_indicators = true;
            }
        }
        let is_break = matches!(ch, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if is_break {
            line_breaks = true;
        }
        if !is_printable(ch) {
            special = true;
        }
        if ch == ' ' {
            if index == 0 {
                leading_space = true;
            }
            if index == chars.len() - 1 {
                trailing_space = true;
            }
            if previous_break {
                break_space = true;
            }
            previous_space = true;
            previous_break = false;
        } else if is_break {
            if index == 0 {
                leading_break = true;
            }
            if index == chars.len() - 1 {
                trailing_break = true;
            }
            if previous_space {
                space_break = true;
            }
            previous_space = false;
            previous_break = true;
        } else {
            previous_space = false;
            previous_break = false;
        }
        preceded_by_whitespace = matches!(ch, ' ' | '\t' | '\r' | '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
    }
    let mut analysis = Analysis {
        empty: false,
        multiline: line_breaks,
        allow_flow_plain: true,
        allow_block_plain: true,
        allow_single_quoted: true,
    };
    if leading_space || leading_break || trailing_space || trailing_break {
        analysis.allow_flow_plain = false;
        analysis.allow_block_plain = false;
    }
    if break_space {
        analysis.allow_flow_plain = false;
        analysis.allow_block_plain = false;
        analysis.allow_single_quoted = false;
    }
    if space_break || special {
        analysis.allow_flow_plain = false;
        analysis.allow_block_plain = false;
        analysis.allow_single_quoted = false;
    }
    if line_breaks {
        analysis.allow_flow_plain = false;
        analysis.allow_block_plain = false;
    }
    if flow_indicators {
        analysis.allow_flow_plain = false;
    }
    if block_indicators {
        analysis.allow_block_plain = false;
    }
    analysis
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Json {
        json!({"b": [1, 2, {"x": "yes", "y": null}], "a": {"k": "v: w", "e": [], "f": {}},
               "s": "multi\nline\n", "t": "é ünïcode", "n": 1.5, "bo": true, "q": "", "o": "0644",
               "tab": "a\tb", "sq": "it's", "nested": [[1, 2], [3]],
               "lng": "word ".repeat(30)})
    }

    #[test]
    fn to_yaml_matches_pyyaml_flow_auto() {
        let expected = "a:\n  e: []\n  f: {}\n  k: 'v: w'\nb:\n- 1\n- 2\n- {x: 'yes', y: null}\nbo: true\n\
lng: 'word word word word word word word word word word word word word word word word\n  word word word word word word word word word word word word word word '\n\
n: 1.5\nnested:\n- [1, 2]\n- [3]\no: '0644'\nq: ''\ns: 'multi\n\n  line\n\n  '\nsq: it's\nt: é ünïcode\ntab: \"a\\tb\"\n";
        assert_eq!(to_yaml(&sample(), YamlStyle::Auto, 2, true), expected);
    }

    #[test]
    fn to_nice_yaml_matches_pyyaml_block_indent_4() {
        let expected = "a:\n    e: []\n    f: {}\n    k: 'v: w'\nb:\n- 1\n- 2\n-   x: 'yes'\n    y: null\nbo: true\n\
lng: 'word word word word word word word word word word word word word word word word\n    word word word word word word word word word word word word word word '\n\
n: 1.5\nnested:\n-   - 1\n    - 2\n-   - 3\no: '0644'\nq: ''\ns: 'multi\n\n    line\n\n    '\nsq: it's\nt: é ünïcode\ntab: \"a\\tb\"\n";
        assert_eq!(to_yaml(&sample(), YamlStyle::Block, 4, true), expected);
    }

    #[test]
    fn root_scalars_and_lists() {
        assert_eq!(to_yaml(&json!("plain"), YamlStyle::Auto, 2, true), "plain\n...\n");
        assert_eq!(to_yaml(&json!(5), YamlStyle::Block, 4, true), "5\n...\n");
        assert_eq!(to_yaml(&json!([1, "a"]), YamlStyle::Auto, 2, true), "[1, a]\n");
        assert_eq!(to_yaml(&json!("yes"), YamlStyle::Auto, 2, true), "'yes'\n");
        assert_eq!(
            to_yaml(
                &json!([{"a": 1, "b": [1, 2]}, [3, [4]]]),
                YamlStyle::Block,
                4,
                true
            ),
            "-   a: 1\n    b:\n    - 1\n    - 2\n-   - 3\n    -   - 4\n"
        );
        assert_eq!(yaml_float(1e16), "1.0e+16");
    }
}

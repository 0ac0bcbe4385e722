//! YAML as Ansible reads it, with a position on every node.
//!
//! Playbooks, roles, vars files and YAML inventories are all read through here. Two things
//! make a ready-made serde deserializer the wrong tool: errors must point at the exact
//! `path:line:col` of the offending node long after parsing (when a module's parameters are
//! checked, say), and plain scalars must resolve the YAML 1.1 way PyYAML resolves them, since
//! that is what users' files were written against (`yes`/`no`/`on`/`off` are booleans, `0644`
//! is octal). So this module builds its own tree from the marked events of `yaml-rust2`,
//! expanding anchors, aliases and `<<` merge keys, and refusing duplicate keys. What each
//! scalar means is `resolve`'s job.

mod resolve;

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Result;
use serde_json::Value;
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, ScanError, TScalarStyle};

use crate::error::{located, located_hint, Pos, SourceError};

use resolve::{check_collection_tag, resolve_scalar, Scalar};

/// A YAML node and where it starts.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub data: Data,
    pub pos: Pos,
}

/// The resolved content of a node.
#[derive(Clone, Debug, PartialEq)]
pub enum Data {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    /// A string; `quoted` is false for plain scalars (which could have been something else).
    Str {
        value: String,
        quoted: bool,
    },
    Seq(Vec<Node>),
    /// Keys keep their order in the file; merge keys are already expanded.
    Map(Vec<(Node, Node)>),
}

impl Node {
    /// What kind of value this is, as a user would name it in an error.
    pub fn type_name(&self) -> &'static str {
        match self.data {
            Data::Null => "null",
            Data::Bool(_) => "a boolean",
            Data::Int(_) => "an integer",
            Data::Float(_) => "a number",
            Data::Str { .. } => "a string",
            Data::Seq(_) => "a list",
            Data::Map(_) => "a mapping",
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.data {
            Data::Str { value, .. } => Some(value),
            _ => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.data {
            Data::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.data {
            Data::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.data, Data::Null)
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.key_string().as_deref() == Some(key))
            .map(|(_, v)| v)
    }

    /// A scalar rendered as a mapping key or string, the way Ansible stringifies keys.
    pub fn key_string(&self) -> Option<String> {
        match &self.data {
            Data::Str { value, .. } => Some(value.clone()),
            Data::Int(i) => Some(i.to_string()),
            Data::Float(f) => Some(format_float(*f)),
            Data::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
            Data::Null => Some("null".to_string()),
            Data::Seq(_) | Data::Map(_) => None,
        }
    }

    /// A scalar as text, for parameters that Ansible coerces to strings (`mode: 0644` aside).
    pub fn scalar_string(&self) -> Option<String> {
        match &self.data {
            Data::Str { value, .. } => Some(value.clone()),
            Data::Int(i) => Some(i.to_string()),
            Data::Float(f) => Some(format_float(*f)),
            Data::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
            Data::Null | Data::Seq(_) | Data::Map(_) => None,
        }
    }

    /// The node as a plain value (for variables), keys stringified.
    pub fn to_value(&self) -> Value {
        match &self.data {
            Data::Null => Value::Null,
            Data::Bool(b) => Value::Bool(*b),
            Data::Int(i) => Value::from(*i),
            Data::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            Data::Str { value, .. } => Value::String(value.clone()),
            Data::Seq(items) => Value::Array(items.iter().map(Node::to_value).collect()),
            Data::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_string().unwrap_or_default(), v.to_value()))
                    .collect(),
            ),
        }
    }

    /// A located error about this node.
    pub fn error(&self, message: impl Into<String>) -> anyhow::Error {
        located(&self.pos, message)
    }

    /// A located error with a hint.
    pub fn error_hint(&self, message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
        located_hint(&self.pos, message, hint)
    }
}

fn format_float(f: f64) -> String {
    if f.is_finite() && f.fract() == 0.0 && f.abs() < 1e16 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

/// Reads and parses one YAML file (decrypted first if it is a vault file). An empty file is
/// `Null`.
pub fn load_file(path: &Path) -> Result<Node> {
    let plain = crate::vault::read_file(path)?;
    let from_vault = plain.from_vault;
    let node = parse_str(&utf8_text(plain.bytes, path)?, path)?;
    if from_vault {
        taint_strings(&node);
    }
    Ok(node)
}

/// Every string of a tree read from a vault file is a secret (keys are names, not secrets).
pub fn taint_strings(node: &Node) {
    match &node.data {
        Data::Str { value, .. } => crate::vault::taint(value),
        Data::Seq(items) => items.iter().for_each(taint_strings),
        Data::Map(entries) => entries.iter().for_each(|(_, v)| taint_strings(v)),
        _ => {}
    }
}

/// The text of a controller file to render or send, decrypted first if it is a vault file
/// (whose lines are then secret).
pub fn read_text(path: &Path) -> Result<String> {
    utf8_text(crate::vault::read_content(path)?, path)
}

/// The text of a file read as `bytes`, or an error at the first byte that is not UTF-8.
pub fn utf8_text(bytes: Vec<u8>, path: &Path) -> Result<String> {
    String::from_utf8(bytes).map_err(|err| {
        let valid = &err.as_bytes()[..err.utf8_error().valid_up_to()];
        let line = 1 + valid.iter().filter(|&&b| b == b'\n').count();
        let line_start = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let col = 1 + String::from_utf8_lossy(&valid[line_start..]).chars().count();
        let bad = err.as_bytes()[valid.len()];
        located_hint(
            &Pos::new(&Arc::new(path.to_path_buf()), line, col),
            format!("not UTF-8 text: byte 0x{bad:02x} cannot start a character here"),
            "save the file as UTF-8",
        )
    })
}

/// Parses YAML text that came from `path` (used in positions only). Only the first document
/// is read; a stream of several documents is an error, as it is for Ansible.
pub fn parse_str(text: &str, path: &Path) -> Result<Node> {
    let path = Arc::new(path.to_path_buf());
    // A byte order mark is not content; PyYAML drops it too.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Ansible reads a file as JSON first and as YAML only if that fails, and JSON numbers
    // are not YAML 1.1's (`1e5` is a number in JSON, a string in YAML 1.1).
    let json = serde_json::from_str::<serde::de::IgnoredAny>(text).is_ok();
    // Valid JSON has tabs only as whitespace between tokens (a tab inside a string must be
    // escaped), where YAML's scanner refuses some of them; as spaces, every column stays.
    let mut attempt = if json {
        Cow::Owned(text.replace('\t', " "))
    } else {
        Cow::Borrowed(text)
    };
    loop {
        let (builder, parsed) = build(&attempt, &path, json);
        match parsed {
            // PyYAML takes a tab after `:` as the separator it is; yaml-rust2 refuses it
            // before some values. A space in its place means the same and keeps the columns.
            Err(scan)
                if scan
                    .info()
                    .contains("':' must be followed by a valid YAML whitespace") =>
            {
                match separator_tabs_to_spaces(&attempt, scan.marker().index()) {
                    Some(fixed) => attempt = Cow::Owned(fixed),
                    None => return finish(&attempt, &path, builder, Err(scan)),
                }
            }
            parsed => return finish(&attempt, &path, builder, parsed),
        }
    }
}

/// Runs the parser over `text`, building the tree as events come.
fn build(text: &str, path: &Arc<PathBuf>, json: bool) -> (Builder, Result<(), ScanError>) {
    let mut builder = Builder {
        path: Arc::clone(path),
        stack: Vec::new(),
        anchors: HashMap::new(),
        aliased_nodes: 0,
        documents: Vec::new(),
        error: None,
        json,
        unterminated_tail: unterminated_tail(text),
        pending_block: None,
    };
    let mut parser = Parser::new_from_str(text);
    // Events are pulled in a flat loop: `Parser::load` recurses once per nesting level and
    // overflows a thread's stack on deeply nested input before the depth check can refuse it.
    let parsed = loop {
        match parser.next_token() {
            Ok((event, mark)) => {
                let end = event == Event::StreamEnd;
                builder.on_event(event, mark);
                if end || builder.error.is_some() {
                    break Ok(());
                }
            }
            Err(scan) => break Err(scan),
        }
    };
    (builder, parsed)
}

/// The tabs just before character `index` (where the scanner stopped), after a `:`, turned
/// into spaces; `None` if there are none.
fn separator_tabs_to_spaces(text: &str, index: usize) -> Option<String> {
    let mut chars: Vec<char> = text.chars().collect();
    let mut start = index.min(chars.len());
    while start > 0 && chars[start - 1] == '\t' {
        start -= 1;
    }
    if start == index || start == 0 || chars[start - 1] != ':' {
        return None;
    }
    chars[start..index].fill(' ');
    Some(chars.into_iter().collect())
}

/// The last line of `text` when the text does not end with a line break, with its line
/// number (1-based), if it holds anything a block scalar could end with.
fn unterminated_tail(text: &str) -> Option<(usize, String)> {
    if text.is_empty() || text.ends_with(['\n', '\r']) {
        return None;
    }
    let start = text.rfind(['\n', '\r']).map_or(0, |i| i + 1);
    let line = 1 + text[..start].matches('\n').count() + text[..start].matches('\r').count()
        - text[..start].matches("\r\n").count();
    let tail = &text[start..];
    (!tail.trim().is_empty()).then(|| (line, tail.to_string()))
}

fn finish(
    text: &str,
    path: &Arc<PathBuf>,
    mut builder: Builder,
    parsed: Result<(), ScanError>,
) -> Result<Node> {
    let path = Arc::clone(path);
    if let Err(scan) = parsed {
        let mark = scan.marker();
        let info = scan.info();
        // The scanner marks where the token it was reading began, which for "found a tab"
        // can be lines above the tab; point at the tab itself.
        let (line, col) = if info.contains("tab") {
            tab_after(text, mark.index()).unwrap_or((mark.line(), mark.col() + 1))
        } else {
            (mark.line(), mark.col() + 1)
        };
        let pos = Pos::new(&path, line, col);
        let tabbed = info.contains("tab") || line_has_tab_indent(text, mark.line());
        let message = format!("invalid YAML: {info}");
        return Err(if tabbed {
            SourceError::new(&pos, message)
                .with_hint("YAML indentation must use spaces; replace the tab characters with spaces")
                .into()
        } else {
            SourceError::new(&pos, message).into()
        });
    }
    if let Some(err) = builder.error {
        return Err(err.into());
    }
    builder.end_unterminated_block();
    let mut documents = builder.documents.into_iter();
    let first = documents.next().unwrap_or(Node {
        data: Data::Null,
        pos: Pos::new(&path, 1, 1),
    });
    if let Some(second) = documents.next() {
        return Err(located(
            &second.pos,
            "expected a single YAML document, found a second one",
        ));
    }
    Ok(first)
}

/// The line and column (1-based) of the first tab at or after character `index`.
fn tab_after(text: &str, index: usize) -> Option<(usize, usize)> {
    let (mut line, mut col) = (1, 1);
    for (i, c) in text.chars().enumerate() {
        if c == '\t' && i >= index {
            return Some((line, col));
        }
        if c == '\n' {
            line += 1;
            col = 1;
        } else {
            col += 1;
        }
    }
    None
}

fn line_has_tab_indent(text: &str, line: usize) -> bool {
    let around = line.saturating_sub(1)..=line;
    text.lines()
        .enumerate()
        .filter(|(i, _)| around.contains(&(i + 1)))
        .any(|(_, l)| l.starts_with('\t') || l.trim_start_matches(' ').starts_with('\t'))
}

/// Collects events into nodes; an open collection lives on the stack until its end event.
struct Builder {
    path: Arc<PathBuf>,
    stack: Vec<(Node, usize)>,
    /// Each anchored node with its size in nodes, so expanding an alias can be budgeted.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes copied so far by expanding aliases.
    aliased_nodes: usize,
    documents: Vec<Node>,
    error: Option<SourceError>,
    /// The text is a JSON document, which Ansible reads as JSON.
    json: bool,
    /// The text's last line when it has no line break (see [`unterminated_tail`]).
    unterminated_tail: Option<(usize, String)>,
    /// Where the last event was a block scalar that may run to the end of that last line.
    pending_block: Option<Pos>,
}

impl Builder {
    /// yaml-rust2 ends a block scalar that runs to the end of a text without a final line
    /// break with a line break anyway; PyYAML, with nothing to keep, ends it without one.
    fn end_unterminated_block(&mut self) {
        let (Some(pos), Some((tail_line, tail))) = (&self.pending_block, &self.unterminated_tail) else {
            return;
        };
        let Some(last) = self.documents.last_mut() else {
            return;
        };
        let mut node = last;
        let mut root = true;
        loop {
            let has_child = match &node.data {
                Data::Seq(items) => !items.is_empty(),
                Data::Map(entries) => !entries.is_empty(),
                _ => false,
            };
            if !has_child {
                break;
            }
            root = false;
            node = match &mut node.data {
                Data::Seq(items) => items.last_mut().expect("the list is not empty"),
                Data::Map(entries) => &mut entries.last_mut().expect("the mapping is not empty").1,
                _ => unreachable!("only collections have children"),
            };
        }
        // Below the root, a line that is not indented cannot be a block scalar's.
        let indented = root || tail.starts_with([' ', '\t']);
        if let Data::Str { value, .. } = &mut node.data {
            let content = tail.trim();
            if node.pos == *pos
                && pos.line <= *tail_line
                && indented
                && value.strip_suffix('\n').is_some_and(|v| v.ends_with(content))
            {
                value.pop();
            }
        }
    }

    /// Whether the next value pushed is a mapping key.
    fn expects_key(&self) -> bool {
        match self.stack.last() {
            Some((
                Node {
                    data: Data::Map(entries),
                    ..
                },
                _,
            )) => !matches!(
                entries.last(),
                Some((_, value)) if matches!(value.data, Data::Null) && value.pos.line == 0
            ),
            _ => false,
        }
    }

    fn pos(&self, mark: Marker) -> Pos {
        Pos::new(&self.path, mark.line(), mark.col() + 1)
    }

    fn push_value(&mut self, node: Node, anchor: usize) {
        if anchor > 0 {
            self.anchors.insert(anchor, (node.clone(), node_count(&node)));
        }
        match self.stack.last_mut() {
            None => self.documents.push(node),
            Some((parent, _)) => match &mut parent.data {
                Data::Seq(items) => items.push(node),
                // Mapping entries arrive as key, value, key, value: a pending key is stored
                // with a `Null` placeholder value until its value comes.
                Data::Map(entries) => match entries.last_mut() {
                    Some((_, value)) if matches!(value.data, Data::Null) && value.pos.line == 0 => {
                        *value = node
                    }
                    _ => {
                        let placeholder = Node {
                            data: Data::Null,
                            pos: Pos::new(&self.path, 0, 0),
                        };
                        entries.push((node, placeholder));
                    }
                },
                _ => unreachable!("only collections are pushed on the stack"),
            },
        }
    }

    /// Expands merge keys and checks the keys, as PyYAML's `flatten_mapping` and Ansible's
    /// `construct_mapping` do: the merged entries come first, in the order of their sources
    /// (the first source that has a key gives its value), then the mapping's own entries,
    /// whose values win over merged ones while the key keeps its merged place.
    fn finish_map(&mut self, node: Node) -> Result<Node, SourceError> {
        let Data::Map(entries) = node.data else {
            unreachable!("finish_map is called on mappings")
        };
        let mut explicit: Vec<(Node, Node)> = Vec::new();
        let mut merged: Vec<(Node, Node)> = Vec::new();
        for (key, value) in entries {
            if matches!(key.data, Data::Seq(_) | Data::Map(_)) {
                return Err(SourceError::new(
                    &key.pos,
                    format!("a mapping key cannot be {}", key.type_name()),
                )
                .with_hint("a key is text, a number, a boolean or null, as Ansible reads YAML"));
            }
            if key.as_str() == Some("<<") && !matches!(key.data, Data::Str { quoted: true, .. }) {
                let sources: Vec<Node> = match value.data {
                    Data::Map(_) => vec![value],
                    Data::Seq(items) => items,
                    _ => {
                        return Err(SourceError::new(
                            &value.pos,
                            format!(
                                "a merge key `<<` takes a mapping or a list of mappings, found {}",
                                value.type_name()
                            ),
                        ))
                    }
                };
                for source in sources {
                    let Data::Map(source_entries) = source.data else {
                        return Err(SourceError::new(
                            &source.pos,
                            "a merge key `<<` takes mappings only",
                        ));
                    };
                    for (k, v) in source_entries {
                        if !merged.iter().any(|(m, _)| same_key(m, &k)) {
                            merged.push((k, v));
                        }
                    }
                }
                continue;
            }
            if let Some((first, _)) = explicit.iter().find(|(k, _)| same_key(k, &key)) {
                return Err(SourceError::new(
                    &key.pos,
                    format!(
                        "duplicate key `{}` (first defined at line {})",
                        key.key_string().unwrap_or_default(),
                        first.pos.line
                    ),
                )
                .with_hint("remove one of the two entries; YAML mappings take each key once"));
            }
            explicit.push((key, value));
        }
        // The parser marks a block mapping after its first key has been scanned; the first
        // key is where a reader sees the mapping begin.
        let pos = match explicit.first() {
            Some((key, _)) if (key.pos.line, key.pos.col) < (node.pos.line, node.pos.col) => key.pos.clone(),
            _ => node.pos,
        };
        for (key, value) in explicit {
            // The entry as written replaces the merged one (its key's position is the one a
            // reader looks for), in the merged entry's place.
            match merged.iter_mut().find(|(m, _)| same_key(m, &key)) {
                Some(entry) => *entry = (key, value),
                None => merged.push((key, value)),
            }
        }
        Ok(Node {
            data: Data::Map(merged),
            pos,
        })
    }
}

/// Everything after loading (variables, templates, JSON output) walks nodes recursively, so
/// a pathological nesting depth would overflow a thread's stack long after the file was read.
const MAX_DEPTH: usize = 128;

/// Aliases are expanded into copies, so a few lines of nested aliases ("billion laughs")
/// could ask for billions of nodes; no real inventory or playbook comes near this.
const ALIAS_EXPANSION_LIMIT: usize = 1_000_000;

fn node_count(node: &Node) -> usize {
    match &node.data {
        Data::Seq(items) => 1 + items.iter().map(node_count).sum::<usize>(),
        Data::Map(entries) => {
            1 + entries
                .iter()
                .map(|(k, v)| node_count(k) + node_count(v))
                .sum::<usize>()
        }
        _ => 1,
    }
}

/// Whether two keys are one key of a Python `dict`: equal text, or equal numbers (`1`, `1.0`
/// and `true` are one key), or both null.
fn same_key(a: &Node, b: &Node) -> bool {
    match (&a.data, &b.data) {
        (Data::Str { value: x, .. }, Data::Str { value: y, .. }) => x == y,
        (Data::Null, Data::Null) => true,
        (Data::Float(x), Data::Float(y)) => x == y,
        (x, y) => match (exact_integer(x), exact_integer(y)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// A boolean, an integer, or a float with no fraction, as the integer Python compares it as.
fn exact_integer(data: &Data) -> Option<i128> {
    match data {
        Data::Bool(b) => Some(i128::from(*b)),
        Data::Int(i) => Some(i128::from(*i)),
        // Every float of 2^63 or more is an integer, and no `Int` is that large.
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 9.3e18 => Some(*f as i128),
        _ => None,
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        if self.error.is_some() {
            return;
        }
        let pos = self.pos(mark);
        if !matches!(
            event,
            Event::SequenceEnd | Event::MappingEnd | Event::DocumentEnd | Event::StreamEnd
        ) {
            self.pending_block = None;
        }
        let mapping = matches!(event, Event::MappingStart(..));
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let block = matches!(style, TScalarStyle::Literal | TScalarStyle::Folded);
                self.pending_block = block.then(|| pos.clone());
                let tag = tag.map(|tag| format!("{}{}", tag.handle, tag.suffix));
                let plain = style == TScalarStyle::Plain;
                let resolved = if self.json && plain && tag.is_none() {
                    Ok(resolve::resolve_json(text))
                } else {
                    resolve_scalar(Scalar {
                        text,
                        plain,
                        tag: tag.as_deref(),
                        key: self.expects_key(),
                    })
                };
                match resolved {
                    Ok(data) => self.push_value(Node { data, pos }, anchor),
                    Err(message) => self.error = Some(SourceError::new(&pos, message)),
                }
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.error = Some(
                    SourceError::new(
                        &pos,
                        format!("collections nested more than {MAX_DEPTH} levels deep"),
                    )
                    .with_hint("flatten the data; no inventory or playbook needs this depth"),
                );
            }
            Event::SequenceStart(anchor, tag) | Event::MappingStart(anchor, tag) => {
                let tag = tag.map(|tag| format!("{}{}", tag.handle, tag.suffix));
                if let Some(Err(message)) = tag.map(|tag| check_collection_tag(&tag, mapping)) {
                    self.error = Some(SourceError::new(&pos, message));
                    return;
                }
                let data = if mapping {
                    Data::Map(Vec::new())
                } else {
                    Data::Seq(Vec::new())
                };
                self.stack.push((Node { data, pos }, anchor));
            }
            Event::SequenceEnd => {
                let (node, anchor) = self.stack.pop().expect("the parser balances sequence events");
                self.push_value(node, anchor);
            }
            Event::MappingEnd => {
                let (node, anchor) = self.stack.pop().expect("the parser balances mapping events");
                match self.finish_map(node) {
                    Ok(node) => self.push_value(node, anchor),
                    Err(err) => self.error = Some(err),
                }
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                Some((_, size)) if self.aliased_nodes + size > ALIAS_EXPANSION_LIMIT => {
                    self.error = Some(
                        SourceError::new(
                            &pos,
                            format!("aliases expand to more than {ALIAS_EXPANSION_LIMIT} nodes"),
                        )
                        .with_hint(
                            "nested aliases multiply; write the data out or use fewer levels of aliases",
                        ),
                    )
                }
                Some((node, size)) => {
                    self.aliased_nodes += size;
                    let mut node = node.clone();
                    node.pos = pos;
                    self.push_value(node, 0);
                }
                None => self.error = Some(SourceError::new(&pos, "alias to an unknown anchor")),
            },
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Node> {
        parse_str(text, Path::new("t.yml"))
    }

    #[test]
    fn resolves_yaml_1_1_scalars() {
        let node =
            parse("a: yes\nb: off\nc: 0644\nd: '0644'\ne: 1_000\nf: 1.5\ng: ~\nh: y\ni: 0x1f\nj: 08\n")
                .unwrap();
        let v = node.to_value();
        assert_eq!(v["a"], Value::Bool(true));
        assert_eq!(v["b"], Value::Bool(false));
        assert_eq!(v["c"], Value::from(420));
        assert_eq!(v["d"], Value::from("0644"));
        assert_eq!(v["e"], Value::from(1000));
        assert_eq!(v["f"], Value::from(1.5));
        assert_eq!(v["g"], Value::Null);
        assert_eq!(v["h"], Value::from("y"));
        assert_eq!(v["i"], Value::from(31));
        assert_eq!(v["j"], Value::from("08"));
    }

    #[test]
    fn keeps_positions() {
        let node = parse("- name: x\n  copy:\n    dest: /tmp/a\n").unwrap();
        let task = &node.as_seq().unwrap()[0];
        let dest = task.get("copy").unwrap().get("dest").unwrap();
        assert_eq!((dest.pos.line, dest.pos.col), (3, 11));
        assert_eq!((task.pos.line, task.pos.col), (1, 3));
    }

    #[test]
    fn expands_anchors_and_merge_keys() {
        let node = parse("base: &b {x: 1, y: 2}\nother:\n  <<: *b\n  y: 3\n").unwrap();
        let v = node.to_value();
        assert_eq!(v["other"]["x"], Value::from(1));
        assert_eq!(v["other"]["y"], Value::from(3));
    }

    #[test]
    fn refuses_duplicate_keys() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.yml:3:1: duplicate key `a` (first defined at line 1)"
        );
    }

    #[test]
    fn reports_syntax_errors_with_position() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.to_string().starts_with("t.yml:"), "{err}");
        let err = parse("a:\n\tb: 1\n").unwrap_err();
        assert!(crate::error::hint_of(&err).unwrap().contains("tab"), "{err}");
    }

    #[test]
    fn tab_errors_point_at_the_tab() {
        let err = parse("- hosts: all\n\ttasks: []\n").unwrap_err();
        assert!(err.to_string().starts_with("t.yml:2:1: "), "{err}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        // Deep enough to overflow a 2 MiB test thread if parsing recursed per level.
        let text = format!("a:\n  {}x\n", "- ".repeat(100_000));
        let err = parse(&text).unwrap_err();
        assert!(err.to_string().contains("nested more than 128 levels"), "{err}");
        assert!(parse(&format!("a:\n  {}x\n", "- ".repeat(100))).is_ok());
    }

    #[test]
    fn alias_bombs_are_refused() {
        let mut text = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, next) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            text.push_str(&format!(
                "{next}: &{next} [{}]\n",
                vec![format!("*{prev}"); 10].join(", ")
            ));
        }
        let err = parse(&text).unwrap_err();
        assert!(err.to_string().contains("aliases expand to more than"), "{err}");
    }

    #[test]
    fn values_ansible_refuses_are_refused_where_they_stand() {
        let err = parse("a: 1\nb: 2023-02-29\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.yml:2:4: `2023-02-29` is not a valid date or time"
        );
        let err = parse("a: !custom x\n").unwrap_err();
        assert!(
            err.to_string().starts_with("t.yml:1:12: unknown tag `!custom`"),
            "{err}"
        );
        let err = parse("a: [1, =]\n").unwrap_err();
        assert!(err.to_string().starts_with("t.yml:1:8: a plain `=`"), "{err}");
    }

    #[test]
    fn a_tab_after_a_colon_separates_and_keeps_columns() {
        let node = parse("a:\tvalue\nb: 1\n").unwrap();
        let a = node.get("a").unwrap();
        assert_eq!(a.as_str(), Some("value"));
        assert_eq!((a.pos.line, a.pos.col), (1, 4));
    }

    #[test]
    fn a_block_scalar_at_the_end_of_a_file_without_newline_has_none() {
        let node = parse("a: |\n  one\n  two").unwrap();
        assert_eq!(node.get("a").unwrap().as_str(), Some("one\ntwo"));
        let node = parse("a: |\n  one\n# two").unwrap();
        assert_eq!(node.get("a").unwrap().as_str(), Some("one\n"));
    }

    #[test]
    fn empty_file_is_null() {
        assert!(parse("").unwrap().is_null());
        assert!(parse("# only a comment\n").unwrap().is_null());
    }
}

//! Jinja templating as Ansible does it.
//!
//! Roles are full of `{{ ... }}`: in task parameters, in `when:`, in variables that refer to
//! other variables, and in the `template` module's files. Users wrote them against Ansible's
//! Jinja2, so the [`Templar`] configures minijinja the way Ansible configures Jinja2 (strict
//! undefined, `trim_blocks`, trailing newline kept, no autoescape, Python-style printing of
//! booleans, lists and dicts), adds the Ansible filters, tests and lookups that real roles use,
//! and keeps Ansible's "native" typing: a parameter that is exactly one `{{ expr }}` keeps the
//! expression's type (a list stays a list). Every error names the variable or filter at fault
//! and the task's `file:line:col`.

mod crypt;
mod filters;
mod lookups;
mod methods;
mod predicates;
mod python;
mod registry;
mod yaml_dump;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value};
use serde_json::Value as Json;

use crate::error::{located, located_hint, Pos, SourceError};
use crate::vars::{Scope, VarStack, OMIT_PLACEHOLDER};

pub(crate) use lookups::SCOPE_KEY;
pub use python::{python_json, python_repr};
pub use yaml_dump::{to_yaml, YamlStyle};

/// Where a template comes from, for error messages: the task's position and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    pub pos: Pos,
    pub task: Option<String>,
}

impl Origin {
    pub fn new(pos: Pos) -> Origin {
        Origin { pos, task: None }
    }

    /// The same position, for the task named `name`.
    pub fn task(mut self, name: impl Into<String>) -> Origin {
        self.task = Some(name.into());
        self
    }

    fn suffix(&self) -> String {
        match &self.task {
            Some(name) => format!(" in task \"{name}\""),
            None => String::new(),
        }
    }
}

/// The Jinja environment, configured like Ansible's, shared by every render of a run.
#[derive(Clone, Debug)]
pub struct Templar {
    env: Arc<Environment<'static>>,
}

impl Default for Templar {
    fn default() -> Templar {
        Templar::new()
    }
}

impl Templar {
    pub fn new() -> Templar {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        // Jinja drops the template's last newline; Ansible then adds back as many trailing
        // newlines as the result lacks compared with the source (`with_source_newlines`).
        env.set_keep_trailing_newline(false);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_formatter(python::format_output);
        env.set_recursion_limit(200);
        env.set_unknown_method_callback(methods::call);
        filters::FILTERS.register(&mut env);
        predicates::TESTS.register(&mut env);
        lookups::register(&mut env);
        Templar { env: Arc::new(env) }
    }

    /// Renders one string. A string that is exactly one `{{ expr }}` gives the expression's
    /// typed value; any other string with Jinja in it gives a string; plain text is returned
    /// unchanged.
    pub fn render_str(&self, text: &str, vars: &VarStack, origin: &Origin) -> Result<Json> {
        let scope = Scope::new(vars.clone(), Arc::clone(&self.env));
        let ctx = Value::from_dyn_object(Arc::clone(&scope));
        let rendered = render_str_native(&self.env, text, &ctx, "<task>");
        finish(rendered, text, &scope, origin)
    }

    /// Renders every string inside `value` (task parameters), dropping map entries and list
    /// items that render to `omit`.
    pub fn render_value(&self, value: &Json, vars: &VarStack, origin: &Origin) -> Result<Json> {
        Ok(match value {
            Json::String(text) => self.render_str(text, vars, origin)?,
            Json::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    let rendered = self.render_value(item, vars, origin)?;
                    if !is_omit(&rendered) {
                        out.push(rendered);
                    }
                }
                Json::Array(out)
            }
            Json::Object(map) => {
                let mut out = serde_json::Map::new();
                for (key, item) in map {
                    let key = match self.render_str(key, vars, origin)? {
                        Json::String(s) => s,
                        other => python::json_to_python_str(&other),
                    };
                    let rendered = self.render_value(item, vars, origin)?;
                    if !is_omit(&rendered) {
                        out.insert(key, rendered);
                    }
                }
                Json::Object(out)
            }
            other => other.clone(),
        })
    }

    /// The fully templated value of variable `name` (`debug: var=name`).
    pub fn resolve_var(&self, name: &str, vars: &VarStack, origin: &Origin) -> Result<Json> {
        let scope = Scope::new(vars.clone(), Arc::clone(&self.env));
        let ctx = Value::from_dyn_object(Arc::clone(&scope));
        let value = ctx.get_attr(name).and_then(|v| {
            if v.is_undefined() {
                Err(Error::from(ErrorKind::UndefinedError))
            } else {
                Ok(v)
            }
        });
        finish(value, name, &scope, origin)
    }

    /// Renders a template file (the `template` module). Errors point into the file.
    pub fn render_file(&self, path: &Path, vars: &VarStack, origin: &Origin) -> Result<String> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read template {}", path.display()))?;
        let name = path.display().to_string();
        self.render_template_text(&name, &text, vars).with_context(|| {
            SourceError::new(&origin.pos, format!("cannot render template{}", origin.suffix()))
        })
    }

    /// Renders `text` as a whole template named `name`; errors are located in `name`.
    pub fn render_template_text(&self, name: &str, text: &str, vars: &VarStack) -> Result<String> {
        let scope = Scope::new(vars.clone(), Arc::clone(&self.env));
        let ctx = Value::from_dyn_object(Arc::clone(&scope));
        let env: &Environment<'_> = &self.env;
        let rendered = env
            .template_from_named_str(name, text)
            .and_then(|t| t.render(&ctx))
            .map(|out| with_source_newlines(text, out));
        match rendered {
            Ok(out) => match scope.fatal() {
                Some(message) => Err(located(&Pos::file_start(Path::new(name)), message)),
                None => Ok(out),
            },
            Err(err) => {
                let (line, col) = error_line_col(&err, text);
                let pos = Pos::new(&Arc::new(Path::new(name).to_path_buf()), line, col);
                let message = explain(&err, text, &scope);
                Err(match message.hint {
                    Some(hint) => located_hint(&pos, message.text, hint),
                    None => located(&pos, message.text),
                })
            }
        }
    }

    /// Evaluates a `when:` condition: a bare Jinja expression, a list of them (all must hold),
    /// or a boolean literal. As in Ansible 2.19 the result must be a boolean.
    pub fn eval_condition(&self, when: &Json, vars: &VarStack, origin: &Origin) -> Result<bool> {
        match when {
            Json::Bool(b) => Ok(*b),
            Json::Array(items) => {
                for item in items {
                    if !self.eval_condition(item, vars, origin)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Json::String(expr) => {
                let expr = expr.trim();
                let expr = single_expression(&self.env, expr).unwrap_or(expr);
                let scope = Scope::new(vars.clone(), Arc::clone(&self.env));
                let ctx = Value::from_dyn_object(Arc::clone(&scope));
                let env: &Environment<'_> = &self.env;
                let value = env
                    .compile_expression(expr)
                    .and_then(|e| e.eval(&ctx))
                    .and_then(|v| {
                        if v.is_undefined() {
                            Err(Error::from(ErrorKind::UndefinedError))
                        } else {
                            Ok(v)
                        }
                    });
                match finish(value, expr, &scope, origin)? {
                    Json::Bool(b) => Ok(b),
                    other => Err(located_hint(
                        &origin.pos,
                        format!(
                            "condition `{expr}` gave {} `{}`, not a boolean{}",
                            python::json_type_name(&other),
                            python::json_to_python_str(&other),
                            origin.suffix()
                        ),
                        "write a comparison, or convert with `| bool` or `| length > 0`",
                    )),
                }
            }
            other => Err(located(
                &origin.pos,
                format!(
                    "`when` must be a condition or a list of conditions, found {}",
                    python::json_type_name(other)
                ),
            )),
        }
    }
}

/// Whether a rendered parameter is the `omit` placeholder.
pub fn is_omit(value: &Json) -> bool {
    value.as_str() == Some(OMIT_PLACEHOLDER)
}

/// Whether `value` holds any Jinja (and so must be templated when read).
pub fn has_template(value: &Json) -> bool {
    match value {
        Json::String(s) => is_template_text(s),
        Json::Array(items) => items.iter().any(has_template),
        Json::Object(map) => map.iter().any(|(k, v)| is_template_text(k) || has_template(v)),
        _ => false,
    }
}

fn is_template_text(text: &str) -> bool {
    text.contains("{{") || text.contains("{%") || text.contains("{#")
}

/// The expression inside `text` when `text` is exactly one `{{ expr }}`.
fn single_expression<'t>(env: &Environment<'_>, text: &'t str) -> Option<&'t str> {
    let inner = text.strip_prefix("{{")?.strip_suffix("}}")?;
    let inner = inner.strip_prefix(['-', '+']).unwrap_or(inner);
    let inner = inner.strip_suffix('-').unwrap_or(inner);
    // Checked before compiling: `a }} b {{ c` is two expressions, and minijinja's lexer must
    // not be handed unbalanced template delimiters.
    let mut depth = 0i32;
    let mut quote = None;
    let mut chars = inner.chars().peekable();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(_), '\\') => {
                chars.next();
            }
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"') => quote = Some(c),
            (None, '{') if matches!(chars.peek(), Some('%' | '#')) => return None,
            (None, '{' | '[' | '(') => depth += 1,
            (None, '}' | ']' | ')') => {
                depth -= 1;
                if depth < 0 {
                    return None;
                }
            }
            (None, '%' | '#') if chars.peek() == Some(&'}') => return None,
            _ => {}
        }
    }
    if depth != 0 || quote.is_some() {
        return None;
    }
    env.compile_expression(inner).ok().map(|_| inner)
}

/// Templates a raw variable value with Ansible's native typing, for the lazy [`Scope`].
pub(crate) fn render_json_native(
    env: &Environment<'_>,
    raw: &Json,
    ctx: &Value,
    name: &str,
) -> Result<Value, Error> {
    Ok(match raw {
        Json::String(text) => render_str_native(env, text, ctx, name)?,
        Json::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for item in items {
                out.push(render_json_native(env, item, ctx, name)?);
            }
            Value::from(out)
        }
        Json::Object(map) => {
            let mut out = Vec::with_capacity(map.len());
            for (key, item) in map {
                let key = render_str_native(env, key, ctx, name)?;
                out.push((key, render_json_native(env, item, ctx, name)?));
            }
            Value::from_iter(out)
        }
        other => Value::from_serialize(other),
    })
}

fn render_str_native(env: &Environment<'_>, text: &str, ctx: &Value, name: &str) -> Result<Value, Error> {
    if !is_template_text(text) {
        return Ok(Value::from(text));
    }
    // Jinja drops the text's last newline first, so `"{{ port }}\n"` is one expression
    // (a number, as under Ansible); a string result gets the newline back.
    let body = text.strip_suffix('\n').unwrap_or(text);
    if let Some(expr) = single_expression(env, body) {
        let value = env.compile_expression(expr)?.eval(ctx)?;
        if value.is_undefined() {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        if let (Some(s), true) = (value.as_str(), body.len() != text.len()) {
            return Ok(Value::from(with_source_newlines(text, s.to_string())));
        }
        return Ok(value);
    }
    let rendered = env.template_from_named_str(name, text)?.render(ctx)?;
    Ok(Value::from(with_source_newlines(text, rendered)))
}

/// Ansible's `preserve_trailing_newlines`: the rendered text ends with at least as many
/// newlines as its source (`{% endif %}\n` keeps its newline; `a\n\n{{ empty }}\n` gets
/// none added, the result already ending with two).
pub(crate) fn with_source_newlines(source: &str, mut rendered: String) -> String {
    let count = |text: &str| text.bytes().rev().take_while(|b| *b == b'\n').count();
    let missing = count(source).saturating_sub(count(&rendered));
    rendered.extend(std::iter::repeat_n('\n', missing));
    rendered
}

/// Turns a render result into JSON or a located error.
fn finish(value: Result<Value, Error>, source: &str, scope: &Scope, origin: &Origin) -> Result<Json> {
    let failed = |err: &Error| {
        let message = explain(err, source, scope);
        let text = format!("{}{}", message.text, origin.suffix());
        match message.hint {
            Some(hint) => located_hint(&origin.pos, text, hint),
            None => located(&origin.pos, text),
        }
    };
    let value = value.map_err(|err| failed(&err))?;
    if let Some(message) = scope.fatal() {
        return Err(located(&origin.pos, format!("{message}{}", origin.suffix())));
    }
    serde_json::to_value(&value).map_err(|err| {
        let err = Error::new(ErrorKind::BadSerialization, err.to_string());
        failed(&err)
    })
}

struct Explanation {
    text: String,
    hint: Option<String>,
}

/// A one-line description of a minijinja error, without position.
pub(crate) fn describe_error(err: &Error) -> String {
    match err.detail() {
        Some(detail) => format!("{}: {detail}", err.kind()),
        None => err.kind().to_string(),
    }
}

/// Says what went wrong in the user's words: which variable is undefined, which filter is
/// not supported, where the syntax error is.
fn explain(err: &Error, source: &str, scope: &Scope) -> Explanation {
    if let Some(fatal) = scope.fatal() {
        return Explanation {
            text: fatal,
            hint: None,
        };
    }
    let undefined_operand =
        err.kind() == ErrorKind::InvalidOperation && err.detail().is_some_and(|d| d.ends_with("undefined"));
    match err.kind() {
        kind if kind == ErrorKind::UndefinedError || undefined_operand => {
            let text = match undefined_name(err, source, scope) {
                Some(name) => format!("undefined variable '{name}'"),
                None => "undefined variable".to_string(),
            };
            let hint = undefined_name(err, source, scope)
                .and_then(|name| {
                    let names = scope.stack().names();
                    crate::error::did_you_mean(&name, names.iter().map(String::as_str))
                        .map(|s| format!("did you mean '{s}'?"))
                })
                .or_else(|| Some("define it, or give a fallback with `| default(...)`".to_string()));
            Explanation { text, hint }
        }
        ErrorKind::UnknownFilter | ErrorKind::UnknownTest => {
            let (what, known) = if err.kind() == ErrorKind::UnknownFilter {
                ("filter", filters::FILTERS.names())
            } else {
                ("test", predicates::TESTS.names())
            };
            let name = err
                .detail()
                .and_then(|d| d.split_whitespace().nth(1))
                .unwrap_or("?")
                .to_string();
            let hint = crate::error::did_you_mean(&name, known.iter().copied())
                .map(|s| format!("did you mean '{s}'?"))
                .unwrap_or_else(|| format!("supported {what}s: {}", known.join(", ")));
            Explanation {
                text: format!("unsupported {what} '{name}'"),
                hint: Some(hint),
            }
        }
        ErrorKind::UnknownFunction => {
            let name = err
                .detail()
                .and_then(|d| d.split_whitespace().next())
                .unwrap_or("?");
            Explanation {
                text: format!("unsupported function '{name}'"),
                hint: Some("supported functions: lookup, query, q, range, dict, namespace".to_string()),
            }
        }
        ErrorKind::SyntaxError => {
            let detail = err.detail().unwrap_or("invalid syntax");
            let text = match err.line() {
                Some(line) if source.contains('\n') => {
                    format!("template syntax error: {detail} (line {line} of the template)")
                }
                _ => format!("template syntax error: {detail} in `{source}`"),
            };
            Explanation { text, hint: None }
        }
        _ => Explanation {
            text: describe_error(err),
            hint: None,
        },
    }
}

fn error_line_col(err: &Error, source: &str) -> (usize, usize) {
    let line = err.line().unwrap_or(1);
    let col = err
        .range()
        .map(|r| {
            let start = r.start.min(source.len());
            let line_start = source[..start].rfind('\n').map_or(0, |i| i + 1);
            source[line_start..start].chars().count() + 1
        })
        .unwrap_or(1);
    (line, col)
}

const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "elif",
    "endif",
    "for",
    "endfor",
    "true",
    "false",
    "none",
    "True",
    "False",
    "None",
    "loop",
    "set",
    "endset",
    "block",
    "endblock",
    "macro",
    "with",
    "recursive",
    "lookup",
    "query",
    "q",
    "range",
    "dict",
    "namespace",
    "omit",
];

/// The name of the undefined variable behind an `UndefinedError`: the first dotted name in
/// the failing expression that does not resolve, preferring names recorded as missing.
fn undefined_name(err: &Error, source: &str, scope: &Scope) -> Option<String> {
    let snippet = err
        .range()
        .map(|r| widen_to_name(source, r))
        .and_then(|r| source.get(r))
        .or_else(|| err.line().and_then(|l| source.lines().nth(l.saturating_sub(1))))
        .unwrap_or(source);
    let missing = scope.missing();
    let candidates = dotted_names(snippet);
    for candidate in &candidates {
        let top = candidate.split('.').next().unwrap_or(candidate);
        if missing.iter().any(|m| m == top) {
            return Some(top.to_string());
        }
    }
    for candidate in &candidates {
        let mut parts = candidate.split('.');
        let top = parts.next()?;
        let Some((_, raw)) = scope.stack().lookup(top) else {
            continue;
        };
        let mut current = raw;
        let mut path = top.to_string();
        for part in parts {
            path.push('.');
            path.push_str(part);
            match current.get(part) {
                Some(next) => current = next,
                None => return Some(path),
            }
        }
    }
    missing.last().cloned()
}

/// Widens an error's span to the whole dotted name around it (`conf.missing.deeper`).
fn widen_to_name(source: &str, range: std::ops::Range<usize>) -> std::ops::Range<usize> {
    let is_name = |c: char| c.is_alphanumeric() || c == '_' || c == '.';
    let start = source
        .get(..range.start)
        .map_or(range.start, |before| before.trim_end_matches(is_name).len());
    let end = source.get(range.end..).map_or(range.end, |after| {
        source.len() - after.trim_start_matches(is_name).len()
    });
    start..end
}

/// Variable references in an expression: `a`, `a.b.c`; filter and test names, keywords,
/// keyword-argument names and string contents are skipped.
fn dotted_names(expr: &str) -> Vec<String> {
    let chars: Vec<char> = expr.chars().collect();
    let mut names = Vec::new();
    let mut i = 0;
    let mut previous_word = String::new();
    let mut word_before = String::new();
    let mut previous_char = ' ';
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' || c == '"' {
            i += 1;
            while i < chars.len() && chars[i] != c {
                i += if chars[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            previous_char = c;
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '.') {
                i += 1;
            }
            let word: String = chars[start..i]
                .iter()
                .collect::<String>()
                .trim_end_matches('.')
                .to_string();
            let next = chars[i..].iter().find(|c| !c.is_whitespace()).copied();
            let top = word.split('.').next().unwrap_or_default().to_string();
            let is_filter = previous_char == '|';
            let is_test = previous_word == "is" || (previous_word == "not" && word_before == "is");
            let is_kwarg = next == Some('=') && chars.get(i + 1) != Some(&'=');
            if !is_filter
                && !is_test
                && !is_kwarg
                && !KEYWORDS.contains(&top.as_str())
                && previous_char != '.'
            {
                names.push(word.clone());
            }
            word_before = std::mem::replace(&mut previous_word, word);
            previous_char = 'a';
            continue;
        }
        if !c.is_whitespace() {
            previous_char = c;
            previous_word.clear();
            word_before.clear();
        }
        i += 1;
    }
    names
}

#[cfg(test)]
mod tests;

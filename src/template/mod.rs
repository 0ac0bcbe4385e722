//! Jinja templating as Ansible does it.
//!
//! Roles are full of `{{ ... }}`: in task parameters, in `when:`, in variables that refer to
//! other variables, and in the `template` module's files. Users wrote them against Ansible's
//! Jinja2, so the [`Templar`] configures minijinja the way Ansible configures Jinja2 (strict
//! undefined, `trim_blocks`, Ansible's trailing newline rule, string literals and `#jinja2:`
//! headers read as Ansible reads them (`source`), no autoescape, Python-style printing of
//! booleans, lists and dicts), adds the Ansible filters, tests and lookups that real roles use,
//! and keeps Ansible's "native" typing: a parameter that is exactly one `{{ expr }}` keeps the
//! expression's type (a list stays a list). Every error names the variable or filter at fault
//! and the task's `file:line:col`.

mod crypt;
mod data_lookups;
mod filters;
mod lookups;
mod methods;
mod plugins;
mod predicates;
mod python;
mod registry;
mod source;
mod yaml_dump;

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, Result};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior, Value};
use serde_json::Value as Json;

use crate::error::{located, located_hint, Pos, SourceError};
use crate::vars::{Scope, VarStack, OMIT_PLACEHOLDER};

pub use data_lookups::{is_data_lookup, run_data_lookup};
pub(crate) use lookups::SCOPE_KEY;
pub use plugins::{plugin_dirs, Plugins};
pub use python::{python_json, python_repr};
pub use source::FileOptions;
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
        Templar {
            env: Arc::new(Templar::environment()),
        }
    }

    /// A templar that also knows a project's filter and test plugins.
    pub fn with_plugins(plugins: Option<Arc<Plugins>>) -> Result<Templar> {
        let Some(plugins) = plugins else {
            return Ok(Templar::new());
        };
        let builtin = Arc::new(Templar::environment());
        let mut env = (*builtin).clone();
        filters::FILTERS.register_plugins(&mut env, &plugins, plugins::Kind::Filter, &builtin)?;
        predicates::TESTS.register_plugins(&mut env, &plugins, plugins::Kind::Test, &builtin)?;
        Ok(Templar { env: Arc::new(env) })
    }

    fn environment() -> Environment<'static> {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_trim_blocks(true);
        // Jinja2 drops the final newline of a template, and Ansible then restores as many as
        // the result lacks (`restore_trailing_newlines`).
        env.set_keep_trailing_newline(false);
        env.set_auto_escape_callback(|_| AutoEscape::None);
        env.set_formatter(python::format_output);
        env.set_recursion_limit(200);
        env.set_unknown_method_callback(methods::call);
        filters::FILTERS.register(&mut env);
        predicates::TESTS.register(&mut env);
        lookups::register(&mut env);
        env
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
        // `debug: var=result.stdout` is an expression, as Ansible templates it.
        if !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return self.render_str(&format!("{{{{ {name} }}}}"), vars, origin);
        }
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

    /// Renders a template file (the `template` module, with its options). Errors point into
    /// the file.
    pub fn render_file(
        &self,
        path: &Path,
        vars: &VarStack,
        origin: &Origin,
        options: &FileOptions,
    ) -> Result<String> {
        // A vault-encrypted template is decrypted, as Ansible's template module does.
        let text = crate::yaml::read_text(path)
            .with_context(|| format!("cannot read template {}", path.display()))?;
        let name = path.display().to_string();
        self.render_template_text(&name, &text, vars, options)
            .with_context(|| {
                SourceError::new(&origin.pos, format!("cannot render template{}", origin.suffix()))
            })
    }

    /// Renders `text` as a whole template file named `name`, as the `template` module does
    /// (a `#jinja2:` header first overrides `options`); errors are located in `name`.
    pub fn render_template_text(
        &self,
        name: &str,
        text: &str,
        vars: &VarStack,
        options: &FileOptions,
    ) -> Result<String> {
        if let Err(fault) = source::check(text, options) {
            let before = &text[..fault.offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
            let pos = Pos::new(&Arc::new(Path::new(name).to_path_buf()), line, col);
            return Err(located(&pos, format!("template syntax error: {}", fault.message)));
        }
        let scope = Scope::new(vars.clone(), Arc::clone(&self.env));
        let ctx = Value::from_dyn_object(Arc::clone(&scope));
        let rendered = render_file_text(&self.env, name, text, &ctx, options);
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
                // A condition is an expression: its literals are decoded as Jinja2 decodes
                // them, backslashes included (Ansible escapes nothing there).
                let prepared = source::prepare_expression(expr).map_err(|fault| {
                    located(
                        &origin.pos,
                        format!("{} in `{expr}`{}", fault.message, origin.suffix()),
                    )
                })?;
                let scope = Scope::new(vars.clone(), Arc::clone(&self.env));
                let ctx = Value::from_dyn_object(Arc::clone(&scope));
                let env: &Environment<'_> = &self.env;
                let value = env
                    .compile_expression(&prepared)
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
    if text.starts_with(source::HEADER) {
        // Ansible honours a header on any template, not only files.
        return render_with_header(env, text, ctx, name, source::Origin::Yaml);
    }
    let prepared = prepare(text, &FileOptions::default(), source::Origin::Yaml)?;
    if let Some(expr) = single_expression(env, &prepared) {
        let value = env.compile_expression(expr)?.eval(ctx)?;
        if value.is_undefined() {
            return Err(Error::from(ErrorKind::UndefinedError));
        }
        return Ok(value);
    }
    let captured = env
        .template_from_named_str(name, &prepared)?
        .render_captured(ctx)?;
    let value = native_result(captured, text, "\n")?;
    Ok(value)
}

/// What a rendered template gives under Ansible 2.19, whose Jinja2 concatenates natively: no
/// output at all is `None`, output that is exactly one printed value is that value (typed: a
/// loop printing one number gives the number), anything else is the text. A text result gets
/// the template's final newlines back ([`restore_trailing_newlines`]).
fn native_result(captured: minijinja::Captured<'_>, template: &str, newline: &str) -> Result<Value, Error> {
    let last = captured.state().get_temp(python::LAST_PRINTED);
    let output = captured.output();
    let value = match last {
        Some(last) if python::printed(&last)? == output => last,
        _ if output.is_empty() => Value::from(()),
        _ => Value::from(output),
    };
    Ok(match value.as_str() {
        Some(text) => Value::from(restore_trailing_newlines(template, text.to_string(), newline)),
        None => value,
    })
}

/// Renders a template file's text as the `template` module does: the header applied, the
/// literals decoded as Jinja2 decodes them, the final newlines restored.
pub(crate) fn render_file_text(
    env: &Environment<'_>,
    name: &str,
    text: &str,
    ctx: &Value,
    options: &FileOptions,
) -> Result<String, Error> {
    // Ansible returns text without any Jinja in it untouched (its final newlines too).
    let starts = [
        &options.block_start_string,
        &options.variable_start_string,
        &options.comment_start_string,
    ];
    if !text.starts_with(source::HEADER) && !starts.iter().any(|start| text.contains(start.as_str())) {
        return Ok(text.to_string());
    }
    let (body, options) = source::split_header(text, options)
        .map_err(|err| Error::new(ErrorKind::SyntaxError, format!("{err:#}")))?;
    let prepared = prepare(body, &options, source::Origin::File)?;
    let mut overlay = overlay(env, &options)?;
    let search = include_search_path(name, ctx)?;
    let include_options = options.clone();
    overlay.set_loader(move |include| {
        for dir in &search {
            let path = dir.join(include);
            if !path.is_file() {
                continue;
            }
            let text = crate::yaml::read_text(&path).map_err(|err| {
                Error::new(
                    ErrorKind::InvalidOperation,
                    format!("cannot read template {}: {err:#}", path.display()),
                )
            })?;
            return prepare(&text, &include_options, source::Origin::File).map(Some);
        }
        Ok(None)
    });
    let captured = overlay
        .template_from_named_str(name, &prepared)?
        .render_captured(ctx)?;
    let value = native_result(captured, text, &options.newline_sequence)?;
    // The module writes `str()` of a typed result (and nothing for `None`).
    if value.is_none() {
        return Ok(String::new());
    }
    python::value_to_python_str(&value)
}

/// Where `{% include %}`, `{% import %}` and `{% from %}` find templates, as the `template`
/// module sets Jinja2's search path: each of `ansible_search_path` (or the role's and the
/// playbook's directories), then the template's own directory, each first with `templates/`.
fn include_search_path(name: &str, ctx: &Value) -> Result<Vec<std::path::PathBuf>, Error> {
    let defined = |value: Value| (!value.is_undefined() && !value.is_none()).then_some(value);
    let mut bases = Vec::new();
    if let Some(paths) = ctx.get_attr("ansible_search_path").ok().and_then(defined) {
        for path in paths.try_iter()? {
            bases.push(std::path::PathBuf::from(python::value_to_python_str(&path)?));
        }
    } else {
        for var in ["role_path", "playbook_dir"] {
            if let Some(dir) = ctx.get_attr(var).ok().and_then(defined) {
                bases.push(std::path::PathBuf::from(python::value_to_python_str(&dir)?));
            }
        }
    }
    if let Some(dir) = Path::new(name).parent().filter(|dir| !dir.as_os_str().is_empty()) {
        bases.push(dir.to_path_buf());
    }
    Ok(bases
        .into_iter()
        .flat_map(|base| [base.join("templates"), base])
        .collect())
}

/// A template string of YAML starting with a `#jinja2:` header: rendered as a whole
/// template with the header's options.
fn render_with_header(
    env: &Environment<'_>,
    text: &str,
    ctx: &Value,
    name: &str,
    origin: source::Origin,
) -> Result<Value, Error> {
    let (body, options) = source::split_header(text, &FileOptions::default())
        .map_err(|err| Error::new(ErrorKind::SyntaxError, format!("{err:#}")))?;
    let prepared = prepare(body, &options, origin)?;
    let overlay = overlay(env, &options)?;
    let captured = overlay
        .template_from_named_str(name, &prepared)?
        .render_captured(ctx)?;
    let value = native_result(captured, text, &options.newline_sequence)?;
    Ok(value)
}

/// A copy of the environment configured with `options` (Ansible's overlay environment).
fn overlay<'e>(env: &Environment<'e>, options: &FileOptions) -> Result<Environment<'e>, Error> {
    let mut overlay = env.clone();
    overlay.set_trim_blocks(options.trim_blocks);
    overlay.set_lstrip_blocks(options.lstrip_blocks);
    overlay.set_keep_trailing_newline(options.keep_trailing_newline);
    if !options.default_syntax() {
        let syntax = minijinja::syntax::SyntaxConfig::builder()
            .block_delimiters(
                options.block_start_string.clone(),
                options.block_end_string.clone(),
            )
            .variable_delimiters(
                options.variable_start_string.clone(),
                options.variable_end_string.clone(),
            )
            .comment_delimiters(
                options.comment_start_string.clone(),
                options.comment_end_string.clone(),
            )
            .build()?;
        overlay.set_syntax(syntax);
    }
    Ok(overlay)
}

/// [`source::prepare`] with its error as a template syntax error.
fn prepare(text: &str, options: &FileOptions, origin: source::Origin) -> Result<String, Error> {
    source::prepare(text, options, origin).map_err(|fault| Error::new(ErrorKind::SyntaxError, fault.message))
}

/// Ansible's rule for the end of a rendered string: as many newlines as the template ended
/// with, when the result ends with fewer (Jinja2 dropped one, or a tag ate them).
fn restore_trailing_newlines(template: &str, mut rendered: String, newline: &str) -> String {
    let count = |s: &str| s.len() - s.trim_end_matches('\n').len();
    let wanted = count(template);
    let have = count(&rendered);
    if wanted > have {
        rendered.push_str(&newline.repeat(wanted - have));
    }
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
    let json = serde_json::to_value(&value).map_err(|err| {
        let err = Error::new(ErrorKind::BadSerialization, err.to_string());
        failed(&err)
    })?;
    if scope.tainted() {
        crate::vault::taint_value(&json);
    }
    Ok(json)
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
                // A missing key under a subscript (`conf['a-b']`): the expression says which.
                None => match err
                    .range()
                    .and_then(|r| source.get(widen_to_name(source, r)))
                    .or_else(|| (!source.contains('\n')).then_some(source))
                    .map(str::trim)
                {
                    Some(expr) if !expr.is_empty() && expr.len() <= 120 => {
                        format!("undefined variable or key in `{expr}`")
                    }
                    _ => "undefined variable".to_string(),
                },
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
                _ if source.contains('\n') => format!("template syntax error: {detail}"),
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

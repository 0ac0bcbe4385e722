//! A project's own filter and test plugins (`filter_plugins/*.py`, `test_plugins/*.py` beside
//! the playbook or in a role), run as Ansible runs them: Python on the controller, so targets
//! still need none.
//!
//! One `python3` helper per run loads every plugin file and answers calls as JSON lines. It is
//! started the first time a template calls a plugin's name, never before: a run whose
//! templates use no plugin costs nothing. Registering a name with the templar must come
//! before any render, so the names are read from the files' text without Python: every
//! identifier-like string literal may name a plugin (a name no built-in filter has is tried
//! only where a template uses it, where it would otherwise be an error), and a built-in name
//! is taken over, as Ansible lets a plugin take it over, where a file writes it as a dict key
//! (`'to_json': ...`) or a `dict(to_json=...)` keyword. A name the helper then does not know
//! goes back to the built-in, or is the usual unknown-filter error.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use anyhow::{Context as _, Result};
use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, ErrorKind, Value};
use serde_json::Value as Json;

use super::python::value_to_json;

/// The helper's source; it is run with `python3 -c`.
const HELPER: &str = include_str!("plugin_helper.py");

/// A filter or a test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    Filter,
    Test,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Filter => "filter",
            Kind::Test => "test",
        }
    }

    fn directory(self) -> &'static str {
        match self {
            Kind::Filter => "filter_plugins",
            Kind::Test => "test_plugins",
        }
    }
}

/// A name a plugin file may give, and whether it may take over a built-in of that name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Declared {
    pub name: String,
    pub takes_over: bool,
}

/// The plugin files of a run, and the helper that runs them once started.
#[derive(Debug)]
pub struct Plugins {
    files: Vec<(Kind, PathBuf)>,
    helper: Mutex<Helper>,
}

#[derive(Debug)]
enum Helper {
    NotStarted,
    Running(Process),
    Failed(String),
}

#[derive(Debug)]
struct Process {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    names: HashMap<Kind, HashSet<String>>,
    /// Files that failed to load, with Python's reason.
    problems: Vec<String>,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[derive(serde::Deserialize)]
struct Greeting {
    names: HashMap<String, Vec<String>>,
    problems: Vec<String>,
}

impl Plugins {
    /// The `filter_plugins/*.py` and `test_plugins/*.py` of `dirs` (the playbook's directory,
    /// then each role's), in that order; `None` when there are none.
    pub fn find(dirs: &[PathBuf]) -> Result<Option<Arc<Plugins>>> {
        let mut files = Vec::new();
        for dir in dirs {
            for kind in [Kind::Filter, Kind::Test] {
                let Ok(entries) = std::fs::read_dir(dir.join(kind.directory())) else {
                    continue;
                };
                let mut found: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.extension().is_some_and(|e| e == "py")
                            && p.file_stem().is_some_and(|s| s != "__init__")
                    })
                    .collect();
                found.sort();
                for path in found {
                    if !files.iter().any(|(k, p)| *k == kind && *p == path) {
                        files.push((kind, path));
                    }
                }
            }
        }
        Ok((!files.is_empty()).then(|| {
            Arc::new(Plugins {
                files,
                helper: Mutex::new(Helper::NotStarted),
            })
        }))
    }

    /// The names the files may give for `kind`, read from their text.
    pub(crate) fn declared(&self, kind: Kind) -> Result<Vec<Declared>> {
        let mut out: Vec<Declared> = Vec::new();
        for (_, path) in self.files.iter().filter(|(k, _)| *k == kind) {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the {} plugin {}", kind.name(), path.display()))?;
            for found in scan(&text) {
                match out.iter_mut().find(|d| d.name == found.name) {
                    Some(seen) => seen.takes_over |= found.takes_over,
                    None => out.push(found),
                }
            }
        }
        Ok(out)
    }

    /// Calls plugin `name` of `kind`; `Ok(None)` when no plugin file gives that name.
    pub(crate) fn call(&self, kind: Kind, name: &str, args: Vec<Value>) -> Result<Option<Value>, Error> {
        let (positional, kwargs) = split_kwargs(args)?;
        let mut helper = self.helper.lock().unwrap_or_else(|p| p.into_inner());
        if matches!(*helper, Helper::NotStarted) {
            *helper = match self.start() {
                Ok(process) => Helper::Running(process),
                Err(err) => Helper::Failed(format!("{err:#}")),
            };
        }
        let process = match &mut *helper {
            Helper::Running(process) => process,
            Helper::Failed(reason) => return Err(invalid(reason.clone())),
            Helper::NotStarted => unreachable!("started above"),
        };
        if !process.names.get(&kind).is_some_and(|n| n.contains(name)) {
            if process.problems.is_empty() {
                return Ok(None);
            }
            return Err(invalid(format!(
                "{} '{name}' is unknown, and some plugins failed to load: {}",
                kind.name(),
                process.problems.join("; ")
            )));
        }
        let request = serde_json::json!({
            "kind": kind.name(),
            "name": name,
            "args": positional.iter().map(value_to_json).collect::<Result<Vec<_>, _>>()?,
            "kwargs": kwargs
                .iter()
                .map(|(k, v)| Ok((k.clone(), value_to_json(v)?)))
                .collect::<Result<serde_json::Map<_, _>, Error>>()?,
        });
        let reply = exchange(process, &request);
        let reply = match reply {
            Ok(reply) => reply,
            Err(err) => {
                let message = format!("the {} plugin helper stopped: {err:#}", kind.name());
                *helper = Helper::Failed(message.clone());
                return Err(invalid(message));
            }
        };
        if let Some(value) = reply.get("value") {
            return Ok(Some(Value::from_serialize(value)));
        }
        if let Some(error) = reply.get("error").and_then(Json::as_str) {
            return Err(invalid(format!("{} '{name}' failed: {error}", kind.name())));
        }
        Ok(None)
    }

    fn start(&self) -> Result<Process> {
        let mut child = Command::new("python3")
            .arg("-c")
            .arg(HELPER)
            .args(
                self.files
                    .iter()
                    .map(|(kind, path)| format!("{}:{}", kind.name(), path.display())),
            )
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("cannot start python3, which runs the project's filter and test plugins")?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        stdout
            .read_line(&mut line)
            .context("the plugin helper (python3) did not start")?;
        let greeting: Greeting = serde_json::from_str(&line)
            .with_context(|| format!("the plugin helper (python3) did not start: {}", line.trim()))?;
        let names = greeting
            .names
            .into_iter()
            .map(|(kind, names)| {
                let kind = if kind == "test" { Kind::Test } else { Kind::Filter };
                (kind, names.into_iter().collect())
            })
            .collect();
        Ok(Process {
            child,
            stdin,
            stdout,
            names,
            problems: greeting.problems,
        })
    }
}

fn exchange(process: &mut Process, request: &Json) -> Result<Json> {
    let mut text = request.to_string();
    text.push('\n');
    process.stdin.write_all(text.as_bytes())?;
    process.stdin.flush()?;
    let mut line = String::new();
    if process.stdout.read_line(&mut line)? == 0 {
        anyhow::bail!("python3 exited");
    }
    Ok(serde_json::from_str(&line)?)
}

fn invalid(message: String) -> Error {
    Error::new(ErrorKind::InvalidOperation, message)
}

/// Keyword arguments, in the order given.
type Named = Vec<(String, Value)>;

/// Positional arguments, and the keyword arguments minijinja passes as a last value.
fn split_kwargs(mut args: Vec<Value>) -> Result<(Vec<Value>, Named), Error> {
    let kwargs = match args.last() {
        Some(last) if last.as_object().is_some() => Kwargs::try_from(last.clone()).ok(),
        _ => None,
    };
    let Some(kwargs) = kwargs else {
        return Ok((args, Vec::new()));
    };
    args.pop();
    let mut named = Vec::new();
    for key in kwargs.args() {
        named.push((key.to_string(), kwargs.get::<Value>(key)?));
    }
    Ok((args, named))
}

/// Registers each name the plugins may give as a function that asks the helper, and falls back
/// to `builtin` (the environment without plugins) for a name it also has.
pub(crate) fn register(
    env: &mut Environment<'static>,
    plugins: &Arc<Plugins>,
    kind: Kind,
    declared: Vec<Declared>,
    builtin: &Arc<Environment<'static>>,
    builtin_names: &[&str],
) {
    for Declared { name, takes_over } in declared {
        let is_builtin = builtin_names.contains(&name.as_str());
        if is_builtin && !takes_over {
            continue;
        }
        let registered = name.clone();
        let plugins = Arc::clone(plugins);
        let fallback = is_builtin.then(|| Arc::clone(builtin));
        let call = move |value: Value, args: Rest<Value>| -> Result<Value, Error> {
            let mut all = vec![value.clone()];
            all.extend(args.0.iter().cloned());
            if let Some(result) = plugins.call(kind, &name, all)? {
                return Ok(result);
            }
            match &fallback {
                Some(builtin) => call_builtin(builtin, kind, &name, value, args.0),
                None => Err(Error::new(
                    if kind == Kind::Filter {
                        ErrorKind::UnknownFilter
                    } else {
                        ErrorKind::UnknownTest
                    },
                    format!("{} {name} is unknown", kind.name()),
                )),
            }
        };
        match kind {
            Kind::Filter => env.add_filter(registered, call),
            Kind::Test => env.add_test(registered, move |value: Value, args: Rest<Value>| {
                call(value, args).map(|v| v.is_true())
            }),
        }
    }
}

/// The built-in filter or test `name`, called through an expression in the environment
/// without plugins (minijinja gives no other way to reach a registered function).
fn call_builtin(
    builtin: &Environment<'static>,
    kind: Kind,
    name: &str,
    value: Value,
    args: Vec<Value>,
) -> Result<Value, Error> {
    let (positional, named) = split_kwargs(args)?;
    let mut context: Vec<(String, Value)> = vec![("value".to_string(), value)];
    let mut parts = Vec::new();
    for (index, arg) in positional.into_iter().enumerate() {
        parts.push(format!("a{index}"));
        context.push((format!("a{index}"), arg));
    }
    for (index, (key, arg)) in named.into_iter().enumerate() {
        parts.push(format!("{key}=k{index}"));
        context.push((format!("k{index}"), arg));
    }
    let operator = if kind == Kind::Filter { "|" } else { "is" };
    let call = if parts.is_empty() {
        String::new()
    } else {
        format!("({})", parts.join(", "))
    };
    builtin
        .compile_expression(&format!("value {operator} {name}{call}"))?
        .eval(Value::from_iter(context))
}

/// Names the plugin source may give (see the module's comment).
fn scan(source: &str) -> Vec<Declared> {
    let chars: Vec<char> = source.chars().collect();
    let mut out: Vec<Declared> = Vec::new();
    let mut add = |name: String, takes_over: bool| {
        if !is_identifier(&name) {
            return;
        }
        match out.iter_mut().find(|d| d.name == name) {
            Some(seen) => seen.takes_over |= takes_over,
            None => out.push(Declared { name, takes_over }),
        }
    };
    // For each open bracket: whether it is a `dict(` call, whose `name=` keywords are keys.
    let mut brackets: Vec<bool> = Vec::new();
    let mut previous_word = String::new();
    let mut string_prefix: Option<String> = None;
    let mut i = 0;
    let next_significant = |from: usize| -> Option<(usize, char)> {
        (from..chars.len())
            .map(|j| (j, chars[j]))
            .find(|(_, c)| !c.is_whitespace() && *c != '\\')
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
            continue;
        }
        if c == '\'' || c == '"' {
            let formatted = string_prefix
                .take()
                .is_some_and(|p| p.to_lowercase().contains('f'));
            let (text, end) = read_string(&chars, i);
            i = end;
            if !formatted {
                let is_key = next_significant(i).is_some_and(|(_, c)| c == ':');
                add(text, is_key);
            }
            previous_word.clear();
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            // A string prefix (`r'...'`, `f"..."`) is read with the string.
            let is_prefix = word.len() <= 2 && word.chars().all(|c| "rRbBuUfF".contains(c));
            if is_prefix && i < chars.len() && (chars[i] == '\'' || chars[i] == '"') {
                string_prefix = Some(word);
                continue;
            }
            if brackets.last() == Some(&true) {
                if let Some((j, '=')) = next_significant(i) {
                    if chars.get(j + 1) != Some(&'=') {
                        add(word.clone(), true);
                    }
                }
            }
            previous_word = word;
            continue;
        }
        match c {
            '(' => brackets.push(previous_word == "dict"),
            '[' | '{' => brackets.push(false),
            ')' | ']' | '}' => {
                brackets.pop();
            }
            _ => {}
        }
        if !c.is_whitespace() {
            previous_word.clear();
        }
        i += 1;
    }
    out
}

/// A Python string literal starting at `start` (its quote): its text and where it ends.
fn read_string(chars: &[char], start: usize) -> (String, usize) {
    let quote = chars[start];
    let triple = chars.get(start + 1) == Some(&quote) && chars.get(start + 2) == Some(&quote);
    let mut i = start + if triple { 3 } else { 1 };
    let mut text = String::new();
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            text.push(c);
            if let Some(next) = chars.get(i + 1) {
                text.push(*next);
            }
            i += 2;
            continue;
        }
        if c == quote {
            if !triple {
                return (text, i + 1);
            }
            if chars.get(i + 1) == Some(&quote) && chars.get(i + 2) == Some(&quote) {
                return (text, i + 3);
            }
        }
        if c == '\n' && !triple {
            return (text, i);
        }
        text.push(c);
        i += 1;
    }
    (text, i)
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Where the plugins of a playbook are looked for: its own directory, then its roles'.
pub fn plugin_dirs(playbook_dir: &Path, role_dirs: impl IntoIterator<Item = PathBuf>) -> Vec<PathBuf> {
    let mut dirs = vec![playbook_dir.to_path_buf()];
    for dir in role_dirs {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::{Origin, Templar};
    use crate::vars::VarStack;

    #[test]
    fn a_built_in_name_a_plugin_does_not_give_stays_built_in() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("filter_plugins")).unwrap();
        // `default` and `upper` look like plugin names here, but `filters()` does not give them.
        let plugin = "SETTINGS = {'default': 1}\nWORDS = dict(upper=2)\n\n\
                      class FilterModule:\n    def filters(self):\n        return {'twice': lambda v: v * 2}\n";
        std::fs::write(dir.path().join("filter_plugins/f.py"), plugin).unwrap();
        let plugins = Plugins::find(&[dir.path().to_path_buf()]).unwrap();
        let templar = Templar::with_plugins(plugins).unwrap();
        let origin = Origin::new(crate::error::Pos::file_start(Path::new("site.yml")));
        let render = |text: &str| templar.render_str(text, &VarStack::new(), &origin);
        assert_eq!(
            render("{{ missing | default('d', true) }} {{ 'a' | upper }} {{ 'ab' | twice }}").unwrap(),
            "d A abab"
        );
        let err = render("{{ 'a' | nothere }}").unwrap_err();
        assert_eq!(format!("{err:#}"), "site.yml:1:1: unsupported filter 'nothere'");
    }

    fn names(source: &str) -> Vec<(String, bool)> {
        scan(source).into_iter().map(|d| (d.name, d.takes_over)).collect()
    }

    #[test]
    fn names_come_from_string_literals_and_dict_keys() {
        let source = r#"
# 'commented': out
def wrap(items, prefix="'"):
    return [prefix + x for x in items]

class FilterModule(object):
    """Docstring: 'not a name'."""
    def filters(self):
        return {
            'wrap': wrap,
            "to_json" : wrap,
            f'{x}': wrap,
            'with-dash': wrap,
        }

EXTRA = dict(upper=str.upper, lower = str.lower, x == y)
NAMES = ['listed', "also"]
"#;
        assert_eq!(
            names(source),
            [
                ("wrap".to_string(), true),
                ("to_json".to_string(), true),
                ("upper".to_string(), true),
                ("lower".to_string(), true),
                ("listed".to_string(), false),
                ("also".to_string(), false),
            ]
        );
    }
}

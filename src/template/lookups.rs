//! `lookup()` and `query()`: reading the controller's environment, files and templates.
//!
//! Files are searched the way Ansible searches them for a task: the role's `files/` (or
//! `templates/`) directory, the role, then the playbook's directory, from the `role_path` and
//! `playbook_dir` variables (or an explicit `ansible_search_path` list).

use std::path::PathBuf;

use minijinja::value::{Kwargs, Rest};
use minijinja::{Environment, Error, ErrorKind, State, Value};

const SUPPORTED: &str = "community.general.flattened, dict, env, file, first_found, flattened, \
                         indexed_items, items, list, nested, sequence, subelements, template, \
                         together, varnames, vars";

pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_function(
        "lookup",
        |state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs| {
            lookup(state, &name, &terms, &kwargs, false)
        },
    );
    env.add_function(
        "query",
        |state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs| {
            lookup(state, &name, &terms, &kwargs, true)
        },
    );
    env.add_function(
        "q",
        |state: &State, name: String, terms: Rest<Value>, kwargs: Kwargs| {
            lookup(state, &name, &terms, &kwargs, true)
        },
    );
    env.add_global("omit", Value::from(crate::vars::OMIT_PLACEHOLDER));
    env.add_function("dict", dict);
}

/// Python's `dict(mapping_or_pairs, **kwargs)`, which Jinja2 exposes as is (minijinja's
/// takes only keyword arguments).
fn dict(args: Rest<Value>, kwargs: Kwargs) -> Result<Value, Error> {
    let mut pairs: Vec<(Value, Value)> = Vec::new();
    let mut insert = |key: Value, value: Value| match pairs.iter_mut().find(|(k, _)| *k == key) {
        Some(pair) => pair.1 = value,
        None => pairs.push((key, value)),
    };
    match args.as_slice() {
        [] => {}
        [source] if source.kind() == minijinja::value::ValueKind::Map => {
            for key in source.try_iter()? {
                let value = source.get_item(&key)?;
                insert(key, value);
            }
        }
        [source] => {
            for pair in source.try_iter()? {
                let mut items = pair.try_iter()?;
                match (items.next(), items.next(), items.next()) {
                    (Some(key), Some(value), None) => insert(key, value),
                    _ => return Err(invalid("dict(): each item must be a pair")),
                }
            }
        }
        _ => return Err(invalid("dict() takes at most one positional argument")),
    }
    for name in kwargs.args() {
        let value = kwargs.get::<Value>(name)?;
        insert(Value::from(name), value);
    }
    kwargs.assert_all_used()?;
    Ok(Value::from_iter(pairs))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidOperation, message.into())
}

fn lookup(
    state: &State,
    name: &str,
    terms: &[Value],
    kwargs: &Kwargs,
    want_list: bool,
) -> Result<Value, Error> {
    let want_list = want_list || kwargs.get::<Option<bool>>("wantlist")?.unwrap_or(false);
    if name == "first_found" {
        let mut terms: Vec<Value> = terms.to_vec();
        // `lookup('first_found', ['a', 'b'])` means the same as `lookup('first_found', 'a', 'b')`.
        if terms.len() == 1 && terms[0].kind() == minijinja::value::ValueKind::Seq {
            terms = terms[0].try_iter()?.collect();
        }
        return first_found(state, &terms, kwargs, want_list);
    }
    let mut results = if super::data_lookups::is_data_lookup(name) {
        let terms = terms
            .iter()
            .map(super::python::value_to_json)
            .collect::<Result<Vec<_>, _>>()?;
        super::data_lookups::run_data_lookup(name, &terms)
            .map_err(|e| invalid(format!("lookup('{name}'): {e:#}")))?
            .iter()
            .map(Value::from_serialize)
            .collect()
    } else if name == "varnames" || name == "ansible.builtin.varnames" {
        varnames(state, terms)?
    } else {
        term_lookup(state, name, terms, kwargs)?
    };
    kwargs.assert_all_used()?;
    if want_list {
        return Ok(Value::from(results));
    }
    // Ansible 2.19: one result is itself, several are joined with commas when all are
    // strings, and kept as a list otherwise (none is an empty list).
    Ok(match results.len() {
        1 => results.remove(0),
        _ if !results.is_empty() && results.iter().all(|r| r.as_str().is_some()) => {
            let texts: Vec<&str> = results.iter().filter_map(Value::as_str).collect();
            Value::from(texts.join(","))
        }
        _ => Value::from(results),
    })
}

/// `varnames`: the names of the variables matching any of the patterns (Python regular
/// expressions, searched), in the order Ansible's variables dictionary has them.
fn varnames(state: &State, terms: &[Value]) -> Result<Vec<Value>, Error> {
    let scope = state.lookup(SCOPE_KEY).unwrap_or_default();
    let Some(scope) = scope.downcast_object_ref::<crate::vars::Scope>() else {
        return Err(invalid("lookup('varnames'): no variables available to search"));
    };
    let names = scope.stack().ordered_names();
    let mut out = Vec::new();
    for term in terms {
        let Some(pattern) = term.as_str() else {
            return Err(invalid(format!(
                "lookup('varnames'): invalid setting identifier, \"{term}\" is not a string"
            )));
        };
        let regex = crate::python_regex::TextRegex::new(pattern, Default::default())
            .map_err(|e| invalid(format!("lookup('varnames'): {e:#}")))?;
        for name in &names {
            let found = regex
                .search(name)
                .map_err(|e| invalid(format!("lookup('varnames'): {e:#}")))?;
            if found.is_some() {
                out.push(Value::from(name.as_str()));
            }
        }
    }
    Ok(out)
}

/// The lookups that take each term on its own (files, the environment, variables).
fn term_lookup(state: &State, name: &str, terms: &[Value], kwargs: &Kwargs) -> Result<Vec<Value>, Error> {
    let default = kwargs.get::<Option<Value>>("default")?;
    let mut terms: Vec<Value> = terms.to_vec();
    // `lookup('file', ['a', 'b'])` means the same as `lookup('file', 'a', 'b')`.
    if terms.len() == 1 && terms[0].kind() == minijinja::value::ValueKind::Seq {
        terms = terms[0].try_iter()?.collect();
    }
    let mut results = Vec::new();
    for term in &terms {
        let term = super::python::value_to_python_str(term)?;
        let value = match name {
            "env" => std::env::var(&term)
                .ok()
                .map_or_else(|| default.clone().unwrap_or(Value::from("")), Value::from),
            "file" => {
                let lstrip = kwargs.get::<Option<bool>>("lstrip")?.unwrap_or(false);
                let rstrip = kwargs.get::<Option<bool>>("rstrip")?.unwrap_or(true);
                let path = find_file(state, "files", &term)?;
                // Vault files are decrypted, as Ansible's file lookup does.
                let text =
                    crate::yaml::read_text(&path).map_err(|e| invalid(format!("lookup('file'): {e:#}")))?;
                let text = if rstrip { text.trim_end() } else { &text };
                let text = if lstrip { text.trim_start() } else { text };
                Value::from(text)
            }
            "template" => {
                let path = find_file(state, "templates", &term)?;
                let text = crate::yaml::read_text(&path)
                    .map_err(|e| invalid(format!("lookup('template'): {e:#}")))?;
                let name = path.display().to_string();
                let scope = state.lookup(SCOPE_KEY).unwrap_or_default();
                let options = super::FileOptions::default();
                Value::from(super::render_file_text(
                    state.env(),
                    &name,
                    &text,
                    &scope,
                    &options,
                )?)
            }
            "vars" => match state.lookup(&term).filter(|v| !v.is_undefined()) {
                Some(value) => value,
                None => match &default {
                    Some(default) => default.clone(),
                    None => {
                        return Err(Error::new(
                            ErrorKind::UndefinedError,
                            format!("no variable named '{term}'"),
                        ))
                    }
                },
            },
            other => {
                return Err(invalid(format!(
                    "unsupported lookup '{other}' (supported: {SUPPORTED})"
                )));
            }
        };
        results.push(value);
    }
    // Keyword arguments of the lookups above that are not read on every path.
    for key in ["lstrip", "rstrip", "errors"] {
        let _ = kwargs.get::<Option<Value>>(key);
    }
    Ok(results)
}

/// `lookup('first_found', ...)`: the first of the named files that exists, searched in the
/// role and the playbook's directory themselves (as a lookup, not a `with_first_found` loop,
/// Ansible adds no `files/` or `vars/` subdirectory); an error when none does, unless `skip`.
fn first_found(state: &State, terms: &[Value], kwargs: &Kwargs, want_list: bool) -> Result<Value, Error> {
    let mut options = serde_json::Map::new();
    for key in ["files", "paths", "skip"] {
        if let Some(value) = kwargs.get::<Option<Value>>(key)? {
            options.insert(
                key.to_string(),
                serde_json::to_value(&value).map_err(|e| invalid(e.to_string()))?,
            );
        }
    }
    kwargs.assert_all_used()?;
    let mut all = serde_json::to_value(terms).map_err(|e| invalid(e.to_string()))?;
    if !options.is_empty() {
        // Options given as keywords apply to plain file names given as terms.
        if let (Some(items), false) = (all.as_array(), options.contains_key("files")) {
            options.insert("files".into(), serde_json::Value::Array(items.clone()));
        }
        all = serde_json::Value::Array(vec![serde_json::Value::Object(options)]);
    }
    let (names, skip) = crate::playbook::search::first_found_candidates(&all).map_err(invalid)?;
    match crate::playbook::search::first_existing(&names, &search_bases(state)?) {
        Some(path) => {
            let path = Value::from(path.display().to_string());
            Ok(if want_list { Value::from(vec![path]) } else { path })
        }
        None if skip => Ok(if want_list {
            Value::from(Vec::<Value>::new())
        } else {
            Value::from("")
        }),
        None => Err(invalid("No file was found when using first_found.")),
    }
}

/// The key under which the lazy scope returns itself, so `lookup('template')` renders with
/// the same variables as the template that calls it.
pub(crate) const SCOPE_KEY: &str = "__deploy_scope__";

/// The directories a lookup searches: `ansible_search_path` when set, else the role's and
/// the playbook's directories.
fn search_bases(state: &State) -> Result<Vec<PathBuf>, Error> {
    let mut bases: Vec<PathBuf> = Vec::new();
    if let Some(paths) = state.lookup("ansible_search_path").filter(|v| !v.is_undefined()) {
        for path in paths.try_iter()? {
            bases.push(PathBuf::from(super::python::value_to_python_str(&path)?));
        }
    } else {
        for var in ["role_path", "playbook_dir"] {
            if let Some(dir) = state.lookup(var).filter(|v| !v.is_undefined() && !v.is_none()) {
                bases.push(PathBuf::from(super::python::value_to_python_str(&dir)?));
            }
        }
    }
    Ok(bases)
}

fn find_file(state: &State, subdir: &str, term: &str) -> Result<PathBuf, Error> {
    let direct = PathBuf::from(term);
    if direct.is_absolute() {
        return if direct.exists() {
            Ok(direct)
        } else {
            Err(invalid(format!("lookup: file not found: {term}")))
        };
    }
    let mut tried = Vec::new();
    for base in &search_bases(state)? {
        for candidate in [base.join(subdir).join(term), base.join(term)] {
            if candidate.is_file() {
                return Ok(candidate);
            }
            tried.push(candidate.display().to_string());
        }
    }
    Err(invalid(format!(
        "lookup: could not find '{term}' (searched: {})",
        tried.join(", ")
    )))
}

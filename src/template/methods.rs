//! Python methods called on values (`d.items()`, `s.startswith('x')`, `d.get('k', 1)`).
//!
//! Jinja2 templates call the methods of Python's `dict`, `str` and `list`; minijinja has no
//! such methods, so the common ones are provided through its unknown-method hook.

use minijinja::value::{from_args, ValueKind};
use minijinja::{Error, ErrorKind, State, Value};

pub(crate) fn call(_state: &State, value: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match value.kind() {
        ValueKind::Map => map_method(value, method, args),
        ValueKind::String => string_method(value.as_str().unwrap_or_default(), method, args),
        ValueKind::Seq => seq_method(value, method, args),
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

fn map_method(map: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match method {
        "items" => {
            let () = from_args(args)?;
            let pairs: Result<Vec<Value>, Error> = map
                .try_iter()?
                .map(|k| Ok(Value::from(vec![k.clone(), map.get_item(&k)?])))
                .collect();
            Ok(Value::from(pairs?))
        }
        "keys" => {
            let () = from_args(args)?;
            Ok(Value::from(map.try_iter()?.collect::<Vec<_>>()))
        }
        "values" => {
            let () = from_args(args)?;
            let values: Result<Vec<Value>, Error> = map.try_iter()?.map(|k| map.get_item(&k)).collect();
            Ok(Value::from(values?))
        }
        "get" => {
            let (key, default): (Value, Option<Value>) = from_args(args)?;
            let found = map.get_item(&key)?;
            Ok(if found.is_undefined() {
                default.unwrap_or(Value::from(()))
            } else {
                found
            })
        }
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

fn string_method(s: &str, method: &str, args: &[Value]) -> Result<Value, Error> {
    let strip_chars = |chars: Option<String>| {
        move |c: char| chars.as_ref().map_or(c.is_whitespace(), |set| set.contains(c))
    };
    Ok(match method {
        "startswith" | "endswith" => {
            let (prefix,): (Value,) = from_args(args)?;
            let options: Vec<String> = if prefix.kind() == ValueKind::Seq {
                prefix.try_iter()?.map(|p| p.to_string()).collect()
            } else {
                vec![prefix.as_str().unwrap_or_default().to_string()]
            };
            Value::from(options.iter().any(|p| {
                if method == "startswith" {
                    s.starts_with(p.as_str())
                } else {
                    s.ends_with(p.as_str())
                }
            }))
        }
        "strip" => Value::from(s.trim_matches(strip_chars(from_args::<(Option<String>,)>(args)?.0))),
        "lstrip" => Value::from(s.trim_start_matches(strip_chars(from_args::<(Option<String>,)>(args)?.0))),
        "rstrip" => Value::from(s.trim_end_matches(strip_chars(from_args::<(Option<String>,)>(args)?.0))),
        "lower" => Value::from(s.to_lowercase()),
        "upper" => Value::from(s.to_uppercase()),
        "replace" => {
            let (old, new, count): (String, String, Option<usize>) = from_args(args)?;
            Value::from(match count {
                Some(n) => s.replacen(&old, &new, n),
                None => s.replace(&old, &new),
            })
        }
        "split" | "rsplit" => {
            let (sep, max): (Option<String>, Option<i64>) = from_args(args)?;
            let max = max.filter(|m| *m >= 0).map(|m| m as usize + 1);
            let parts: Vec<String> = match (sep, max, method) {
                (None, _, _) => s.split_whitespace().map(str::to_string).collect(),
                (Some(sep), Some(n), "rsplit") => {
                    let mut parts: Vec<String> = s.rsplitn(n, sep.as_str()).map(str::to_string).collect();
                    parts.reverse();
                    parts
                }
                (Some(sep), Some(n), _) => s.splitn(n, sep.as_str()).map(str::to_string).collect(),
                (Some(sep), None, _) => s.split(sep.as_str()).map(str::to_string).collect(),
            };
            Value::from(parts)
        }
        "splitlines" => Value::from(s.lines().map(str::to_string).collect::<Vec<_>>()),
        "join" => {
            let (items,): (Value,) = from_args(args)?;
            let parts: Result<Vec<String>, Error> = items
                .try_iter()?
                .map(|v| super::python::value_to_python_str(&v))
                .collect();
            Value::from(parts?.join(s))
        }
        "find" => {
            let (needle,): (String,) = from_args(args)?;
            Value::from(s.find(&needle).map_or(-1, |i| s[..i].chars().count() as i64))
        }
        "count" => {
            let (needle,): (String,) = from_args(args)?;
            Value::from(s.matches(&needle).count())
        }
        "isdigit" => Value::from(!s.is_empty() && s.chars().all(|c| c.is_ascii_digit())),
        "isalpha" => Value::from(!s.is_empty() && s.chars().all(char::is_alphabetic)),
        "isalnum" => Value::from(!s.is_empty() && s.chars().all(char::is_alphanumeric)),
        "isspace" => Value::from(!s.is_empty() && s.chars().all(char::is_whitespace)),
        "islower" => Value::from(s.chars().any(char::is_lowercase) && !s.chars().any(char::is_uppercase)),
        "isupper" => Value::from(s.chars().any(char::is_uppercase) && !s.chars().any(char::is_lowercase)),
        "capitalize" => {
            let mut chars = s.chars();
            Value::from(match chars.next() {
                Some(first) => first
                    .to_uppercase()
                    .chain(chars.flat_map(char::to_lowercase))
                    .collect(),
                None => String::new(),
            })
        }
        "title" => {
            // Python's str.title(): a letter after a non-letter starts a word.
            let mut out = String::with_capacity(s.len());
            let mut previous_cased = false;
            for c in s.chars() {
                if previous_cased {
                    out.extend(c.to_lowercase());
                } else {
                    out.extend(c.to_uppercase());
                }
                previous_cased = c.is_alphabetic();
            }
            Value::from(out)
        }
        "swapcase" => Value::from(
            s.chars()
                .flat_map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().collect::<Vec<_>>()
                    } else {
                        c.to_uppercase().collect::<Vec<_>>()
                    }
                })
                .collect::<String>(),
        ),
        "index" | "rindex" | "rfind" => {
            let (needle,): (String,) = from_args(args)?;
            let found = if method == "index" {
                s.find(&needle)
            } else {
                s.rfind(&needle)
            };
            match found {
                Some(i) => Value::from(s[..i].chars().count()),
                None if method == "rfind" => Value::from(-1),
                None => return Err(Error::new(ErrorKind::InvalidOperation, "substring not found")),
            }
        }
        "zfill" => {
            let (width,): (usize,) = from_args(args)?;
            let length = s.chars().count();
            if length >= width {
                Value::from(s)
            } else {
                let (sign, digits) = match s.strip_prefix(['+', '-']) {
                    Some(rest) => (&s[..1], rest),
                    None => ("", s),
                };
                Value::from(format!("{sign}{}{digits}", "0".repeat(width - length)))
            }
        }
        "ljust" | "rjust" | "center" => {
            let (width, fill): (usize, Option<String>) = from_args(args)?;
            let fill = fill.and_then(|f| f.chars().next()).unwrap_or(' ');
            let length = s.chars().count();
            let pad = width.saturating_sub(length);
            // Python's center puts the extra space on the right, unless the width is odd and
            // the text even... as `left = pad // 2 + (pad & width & 1)`.
            let left = match method {
                "ljust" => 0,
                "rjust" => pad,
                _ => pad / 2 + (pad & width & 1),
            };
            let fill_of = |n: usize| std::iter::repeat_n(fill, n).collect::<String>();
            Value::from(format!("{}{s}{}", fill_of(left), fill_of(pad - left)))
        }
        "partition" | "rpartition" => {
            let (sep,): (String,) = from_args(args)?;
            let found = if method == "partition" {
                s.find(&sep)
            } else {
                s.rfind(&sep)
            };
            let parts = match found {
                Some(i) => vec![&s[..i], &s[i..i + sep.len()], &s[i + sep.len()..]],
                None if method == "partition" => vec![s, "", ""],
                None => vec!["", "", s],
            };
            Value::from(parts.into_iter().map(Value::from).collect::<Vec<_>>())
        }
        "format" => {
            // `'{}-{}'.format(a, b)` and `'{0}'`: positional fields only.
            let mut out = String::new();
            let mut next = 0;
            let mut rest = s;
            while let Some(open) = rest.find(['{', '}']) {
                out.push_str(&rest[..open]);
                let tail = &rest[open..];
                if let Some(after) = tail.strip_prefix("{{").or_else(|| tail.strip_prefix("}}")) {
                    out.push_str(&tail[..1]);
                    rest = after;
                    continue;
                }
                let close = tail.find('}').ok_or_else(|| {
                    Error::new(ErrorKind::InvalidOperation, "format: single '{' encountered")
                })?;
                let (field, spec) = tail[1..close].split_once(':').unwrap_or((&tail[1..close], ""));
                let index = if field.is_empty() {
                    next += 1;
                    next - 1
                } else {
                    field.parse::<usize>().map_err(|_| {
                        Error::new(
                            ErrorKind::InvalidOperation,
                            format!("format: unsupported field {{{field}}}"),
                        )
                    })?
                };
                let value = args.get(index).ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidOperation,
                        format!("format: no argument {index}"),
                    )
                })?;
                out.push_str(&format_spec(value, spec)?);
                rest = &tail[close + 1..];
            }
            out.push_str(rest);
            Value::from(out)
        }
        _ => return Err(Error::from(ErrorKind::UnknownMethod)),
    })
}

/// Python's `format(value, spec)` for the common specs: `[[fill]align][0][width][.precision]
/// [type]` with types `s`, `d`, `f`, `x`, `o`, `b` (or none).
fn format_spec(value: &Value, spec: &str) -> Result<String, Error> {
    let unsupported = || {
        Error::new(
            ErrorKind::InvalidOperation,
            format!("format: unsupported spec {spec:?}"),
        )
    };
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    let is_align = |c: char| matches!(c, '<' | '>' | '^' | '=');
    let (mut fill, mut align) = (' ', None);
    if chars.len() >= 2 && is_align(chars[1]) {
        fill = chars[0];
        align = Some(chars[1]);
        i = 2;
    } else if chars.first().copied().is_some_and(is_align) {
        align = Some(chars[0]);
        i = 1;
    }
    if chars.get(i) == Some(&'0') {
        if align.is_none() {
            fill = '0';
            align = Some('=');
        }
        i += 1;
    }
    let digits = |i: &mut usize| {
        let start = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        chars[start..*i].iter().collect::<String>().parse::<usize>().ok()
    };
    let width = digits(&mut i).unwrap_or(0);
    let precision = if chars.get(i) == Some(&'.') {
        i += 1;
        Some(digits(&mut i).ok_or_else(unsupported)?)
    } else {
        None
    };
    let kind = chars.get(i).copied();
    if i + usize::from(kind.is_some()) != chars.len() {
        return Err(unsupported());
    }
    let number = value.kind() == ValueKind::Number;
    let text = match kind {
        None | Some('s') if !number || kind == Some('s') => {
            let text = super::python::value_to_python_str(value)?;
            match precision {
                Some(p) => text.chars().take(p).collect(),
                None => text,
            }
        }
        None if precision.is_none() => super::python::value_to_python_str(value)?,
        None | Some('f') | Some('F') => {
            format!("{:.*}", precision.unwrap_or(6), f64::try_from(value.clone())?)
        }
        Some('d') => value.as_i64().ok_or_else(unsupported)?.to_string(),
        Some('x') => format!("{:x}", value.as_i64().ok_or_else(unsupported)?),
        Some('X') => format!("{:X}", value.as_i64().ok_or_else(unsupported)?),
        Some('o') => format!("{:o}", value.as_i64().ok_or_else(unsupported)?),
        Some('b') => format!("{:b}", value.as_i64().ok_or_else(unsupported)?),
        _ => return Err(unsupported()),
    };
    let length = text.chars().count();
    if length >= width {
        return Ok(text);
    }
    let pad = width - length;
    let fill_of = |n: usize| std::iter::repeat_n(fill, n).collect::<String>();
    // Numbers align right by default, text left.
    Ok(match align.unwrap_or(if number { '>' } else { '<' }) {
        '<' => format!("{text}{}", fill_of(pad)),
        '^' => format!("{}{text}{}", fill_of(pad / 2), fill_of(pad - pad / 2)),
        '=' => match text.strip_prefix('-') {
            Some(digits) => format!("-{}{digits}", fill_of(pad)),
            None => format!("{}{text}", fill_of(pad)),
        },
        _ => format!("{}{text}", fill_of(pad)),
    })
}

fn seq_method(seq: &Value, method: &str, args: &[Value]) -> Result<Value, Error> {
    match method {
        "index" => {
            let (item,): (Value,) = from_args(args)?;
            seq.try_iter()?
                .position(|x| x == item)
                .map(Value::from)
                .ok_or_else(|| Error::new(ErrorKind::InvalidOperation, format!("{item} is not in list")))
        }
        "count" => {
            let (item,): (Value,) = from_args(args)?;
            Ok(Value::from(seq.try_iter()?.filter(|x| *x == item).count()))
        }
        _ => Err(Error::from(ErrorKind::UnknownMethod)),
    }
}

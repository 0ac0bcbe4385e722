//! Filters on text: Python's string behaviour (`string`, `indent`, `center`), paths, quoting,
//! comments and base64.

use super::*;

/// `str(value)` in Python.
pub(super) fn string(value: &Value) -> Result<String, Error> {
    if value.is_undefined() {
        return Err(Error::from(ErrorKind::UndefinedError));
    }
    text_of(value)
}

/// Jinja2's `indent(width=4, first=False, blank=False)`.
pub(super) fn indent(
    value: String,
    width: Option<Value>,
    first: Option<bool>,
    blank: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let width = kwargs.get::<Option<Value>>("width")?.or(width);
    let first = kwargs.get::<Option<bool>>("first")?.or(first).unwrap_or(false);
    let blank = kwargs.get::<Option<bool>>("blank")?.or(blank).unwrap_or(false);
    kwargs.assert_all_used()?;
    let prefix = match width {
        None => "    ".to_string(),
        Some(w) => match w.as_str() {
            Some(s) => s.to_string(),
            None => " ".repeat(usize::try_from(w.as_i64().unwrap_or(4)).unwrap_or(0)),
        },
    };
    let text = format!("{value}\n");
    let lines: Vec<&str> = python_splitlines(&text);
    let mut out = String::new();
    if blank {
        out = lines.join(&format!("\n{prefix}"));
    } else if let Some((head, rest)) = lines.split_first() {
        out.push_str(head);
        for line in rest {
            out.push('\n');
            if !line.is_empty() {
                out.push_str(&prefix);
            }
            out.push_str(line);
        }
    }
    if first {
        out = format!("{prefix}{out}");
    }
    Ok(out)
}

pub(super) fn python_splitlines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    if text.ends_with('\n') {
        lines.pop();
    }
    lines
}

/// Python's `str.center(width)`.
pub(super) fn center(value: String, width: Option<usize>) -> String {
    let width = width.unwrap_or(80);
    let len = value.chars().count();
    if len >= width {
        return value;
    }
    let margin = width - len;
    let left = margin / 2 + (margin & width & 1);
    format!("{}{value}{}", " ".repeat(left), " ".repeat(margin - left))
}

/// Python's `os.path.basename`.
pub(super) fn basename(value: String) -> String {
    value.rsplit('/').next().unwrap_or_default().to_string()
}

/// Python's `os.path.dirname`.
pub(super) fn dirname(value: String) -> String {
    match value.rfind('/') {
        None => String::new(),
        Some(i) => {
            let head = &value[..=i];
            let trimmed = head.trim_end_matches('/');
            if trimmed.is_empty() {
                head.to_string()
            } else {
                trimmed.to_string()
            }
        }
    }
}

/// Python's `shlex.quote`.
pub(crate) fn shell_quote(text: &str) -> String {
    static SAFE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_@%+=:,./-]+$").expect("a valid pattern"));
    if text.is_empty() {
        return "''".to_string();
    }
    if SAFE.is_match(text) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', "'\"'\"'"))
}

pub(super) fn quote(value: &Value) -> Result<String, Error> {
    if value.is_none() {
        return Ok(shell_quote(""));
    }
    Ok(shell_quote(&text_of(value)?))
}

/// Ansible's `comment` filter.
pub(super) fn comment(value: &Value, style: Option<String>, kwargs: Kwargs) -> Result<String, Error> {
    let text = text_of(value)?;
    let style = style.unwrap_or_else(|| "plain".to_string());
    let (beginning, decoration, end) = match style.as_str() {
        "plain" => ("", "# ", ""),
        "erlang" => ("", "% ", ""),
        "c" => ("", "// ", ""),
        "cblock" => ("/*", " * ", " */"),
        "xml" => ("<!--", " - ", "-->"),
        other => {
            return Err(invalid(format!(
                "comment: invalid style '{other}' (plain, erlang, c, cblock, xml)"
            )))
        }
    };
    let prepostfix = kwargs
        .get::<Option<String>>("decoration")?
        .unwrap_or_else(|| decoration.to_string());
    let get = |key: &str, default: String| -> Result<String, Error> {
        Ok(kwargs.get::<Option<String>>(key)?.unwrap_or(default))
    };
    let newline = get("newline", "\n".to_string())?;
    let beginning = get("beginning", beginning.to_string())?;
    let prefix = get("prefix", prepostfix.trim_end().to_string())?;
    let prefix_count = kwargs.get::<Option<usize>>("prefix_count")?.unwrap_or(1);
    let decoration = prepostfix.clone();
    let postfix = get("postfix", prepostfix.trim_end().to_string())?;
    let postfix_count = kwargs.get::<Option<usize>>("postfix_count")?.unwrap_or(1);
    let end = get("end", end.to_string())?;
    kwargs.assert_all_used()?;
    let mut out = String::new();
    if !beginning.is_empty() {
        out.push_str(&beginning);
        out.push_str(&newline);
    }
    if !prefix.is_empty() {
        let one = if prefix != newline {
            format!("{prefix}{newline}")
        } else {
            newline.clone()
        };
        out.push_str(&one.repeat(prefix_count));
    }
    let body = format!(
        "{decoration}{}",
        text.replace(&newline, &format!("{newline}{decoration}"))
    );
    out.push_str(&body.replace(
        &format!("{decoration}{newline}"),
        &format!("{}{newline}", decoration.trim_end()),
    ));
    for _ in 0..postfix_count {
        out.push_str(&newline);
        out.push_str(&postfix);
    }
    if !end.is_empty() {
        out.push_str(&newline);
        out.push_str(&end);
    }
    Ok(out)
}

pub(super) fn b64encode(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let urlsafe = kwargs.get::<Option<bool>>("urlsafe")?.unwrap_or(false);
    let _encoding = kwargs.get::<Option<String>>("encoding")?;
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    Ok(if urlsafe {
        base64::engine::general_purpose::URL_SAFE.encode(text)
    } else {
        base64::engine::general_purpose::STANDARD.encode(text)
    })
}

pub(super) fn b64decode(value: &Value, kwargs: Kwargs) -> Result<String, Error> {
    let urlsafe = kwargs.get::<Option<bool>>("urlsafe")?.unwrap_or(false);
    let _encoding = kwargs.get::<Option<String>>("encoding")?;
    kwargs.assert_all_used()?;
    let text = text_of(value)?;
    let bytes = if urlsafe {
        base64::engine::general_purpose::URL_SAFE.decode(text.trim())
    } else {
        base64::engine::general_purpose::STANDARD.decode(text.trim())
    }
    .map_err(|e| invalid(format!("b64decode: {e}")))?;
    String::from_utf8(bytes).map_err(|_| invalid("b64decode: the decoded data is not UTF-8 text"))
}

/// Jinja2's `replace(old, new, count=None)`: Python's `str.replace`.
pub(super) fn replace(
    value: &Value,
    old: String,
    new: String,
    count: Option<usize>,
) -> Result<String, Error> {
    let text = text_of(value)?;
    Ok(match count {
        Some(count) => text.replacen(&old, &new, count),
        None => text.replace(&old, &new),
    })
}

/// Jinja2's `truncate(length=255, killwords=False, end='...', leeway=5)`.
pub(super) fn truncate(
    value: &Value,
    length: Option<usize>,
    killwords: Option<bool>,
    end: Option<String>,
    leeway: Option<usize>,
) -> Result<String, Error> {
    let text = text_of(value)?;
    let length = length.unwrap_or(255);
    let end = end.unwrap_or_else(|| "...".to_string());
    let leeway = leeway.unwrap_or(5);
    let chars: Vec<char> = text.chars().collect();
    if chars.len() <= length + leeway {
        return Ok(text);
    }
    let end_length = end.chars().count();
    if length < end_length {
        return Err(invalid(format!(
            "truncate: expected length >= {end_length}, got {length}"
        )));
    }
    let kept: String = chars[..length - end_length].iter().collect();
    if killwords.unwrap_or(false) {
        return Ok(kept + &end);
    }
    let kept = kept.rsplit_once(' ').map_or(kept.as_str(), |(head, _)| head);
    Ok(format!("{kept}{end}"))
}

/// Jinja2's `wordcount`: the runs of word characters (`\w+`).
pub(super) fn wordcount(value: &Value) -> Result<usize, Error> {
    let text = text_of(value)?;
    Ok(text
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|word| !word.is_empty())
        .count())
}

/// Jinja2's `striptags`: comments and tags removed, whitespace collapsed, entities decoded
/// (MarkupSafe's `Markup.striptags`).
pub(super) fn striptags(value: &Value) -> Result<String, Error> {
    let mut text = text_of(value)?;
    for (open, close) in [("<!--", "-->"), ("<", ">")] {
        while let Some(start) = text.find(open) {
            let Some(end) = text[start..].find(close) else {
                break;
            };
            text.replace_range(start..start + end + close.len(), "");
        }
    }
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok(unescape_html(&collapsed))
}

/// The HTML entities MarkupSafe decodes in practice: the named five and numeric ones.
fn unescape_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        let decoded = tail.find(';').and_then(|semi| {
            let entity = &tail[1..semi];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                _ => entity
                    .strip_prefix("#x")
                    .or_else(|| entity.strip_prefix("#X"))
                    .and_then(|hex| u32::from_str_radix(hex, 16).ok())
                    .or_else(|| entity.strip_prefix('#').and_then(|dec| dec.parse().ok()))
                    .and_then(char::from_u32),
            }?;
            Some((c, semi + 1))
        });
        match decoded {
            Some((c, length)) => {
                out.push(c);
                rest = &tail[length..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Python's `urllib.parse.quote`: every byte but letters, digits, `_.-~` (and `safe`)
/// percent-encoded.
fn url_quote(text: &str, safe: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"_.-~".contains(&byte) || safe.as_bytes().contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Jinja2's `urlencode`: a string quoted keeping `/`; a mapping or a list of pairs as a
/// query string (spaces as `+`).
pub(super) fn urlencode(value: &Value) -> Result<String, Error> {
    let query = |v: &Value| -> Result<String, Error> { Ok(url_quote(&text_of(v)?, "").replace("%20", "+")) };
    match value.kind() {
        ValueKind::Map => {
            let mut parts = Vec::new();
            for key in value.try_iter()? {
                let item = value.get_item(&key)?;
                parts.push(format!("{}={}", query(&key)?, query(&item)?));
            }
            Ok(parts.join("&"))
        }
        ValueKind::Seq | ValueKind::Iterable => {
            let mut parts = Vec::new();
            for pair in value.try_iter()? {
                let mut items = pair.try_iter()?;
                let (Some(key), Some(item)) = (items.next(), items.next()) else {
                    return Err(invalid("urlencode: expected pairs"));
                };
                parts.push(format!("{}={}", query(&key)?, query(&item)?));
            }
            Ok(parts.join("&"))
        }
        _ => Ok(url_quote(&text_of(value)?, "/")),
    }
}

/// Python's `os.path.splitext`, as a list (Ansible turns the tuple into one).
pub(super) fn splitext(value: String) -> Vec<String> {
    let base_start = value.rfind('/').map_or(0, |i| i + 1);
    let base = &value[base_start..];
    let leading_dots = base.len() - base.trim_start_matches('.').len();
    match base[leading_dots..].rfind('.') {
        Some(dot) => {
            let at = base_start + leading_dots + dot;
            vec![value[..at].to_string(), value[at..].to_string()]
        }
        None => vec![value.clone(), String::new()],
    }
}

/// Python's `posixpath.normpath`.
pub(super) fn normpath(value: String) -> String {
    if value.is_empty() {
        return ".".to_string();
    }
    let initial = if value.starts_with("//") && !value.starts_with("///") {
        "//"
    } else if value.starts_with('/') {
        "/"
    } else {
        ""
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in value.split('/') {
        match part {
            "" | "." => {}
            ".." if !initial.is_empty() && parts.is_empty() => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    let joined = format!("{initial}{}", parts.join("/"));
    if joined.is_empty() {
        ".".to_string()
    } else {
        joined
    }
}

/// Ansible's `path_join`: Python's `os.path.join` of a list (an absolute part restarts).
pub(super) fn path_join(value: &Value) -> Result<String, Error> {
    let parts: Vec<String> = if value.kind() == ValueKind::String {
        vec![text_of(value)?]
    } else {
        value.try_iter()?.map(|p| text_of(&p)).collect::<Result<_, _>>()?
    };
    let mut out = String::new();
    for part in parts {
        if part.starts_with('/') || out.is_empty() {
            out = part;
        } else if out.ends_with('/') {
            out.push_str(&part);
        } else {
            out.push('/');
            out.push_str(&part);
        }
    }
    Ok(out)
}

/// Python's `os.path.expanduser` for the controller's user (`~` and `~/...`).
pub(super) fn expanduser(value: String) -> String {
    let Some(home) = std::env::var_os("HOME") else {
        return value;
    };
    let home = home.to_string_lossy();
    let home = home.trim_end_matches('/');
    match value.strip_prefix('~') {
        Some("") => {
            if home.is_empty() {
                "/".to_string()
            } else {
                home.to_string()
            }
        }
        Some(rest) if rest.starts_with('/') => format!("{home}{rest}"),
        _ => value,
    }
}

/// Ansible's `urlsplit(query='')`: Python's `urllib.parse.urlsplit` as a dictionary, or one of
/// its parts.
pub(super) fn urlsplit(value: String, query: Option<String>) -> Result<Value, Error> {
    let mut rest = value.as_str();
    let mut scheme = "";
    if let Some(colon) = rest.find(':') {
        let candidate = &rest[..colon];
        let valid = candidate.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && candidate
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if valid {
            scheme = candidate;
            rest = &rest[colon + 1..];
        }
    }
    let mut netloc = "";
    if let Some(after) = rest.strip_prefix("//") {
        let end = after.find(['/', '?', '#']).unwrap_or(after.len());
        netloc = &after[..end];
        rest = &after[end..];
    }
    let (rest, fragment) = rest.split_once('#').unwrap_or((rest, ""));
    let (path, query_part) = rest.split_once('?').unwrap_or((rest, ""));
    let (userinfo, host_port) = match netloc.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, netloc),
    };
    let (username, password) = match userinfo {
        Some(info) => match info.split_once(':') {
            Some((user, password)) => (Value::from(user), Value::from(password)),
            None => (Value::from(info), Value::from(())),
        },
        None => (Value::from(()), Value::from(())),
    };
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let (host, after) = bracketed.split_once(']').unwrap_or((bracketed, ""));
        (host, after.strip_prefix(':'))
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    let hostname = if host.is_empty() {
        Value::from(())
    } else {
        Value::from(host.to_lowercase())
    };
    let port = match port.filter(|p| !p.is_empty()) {
        Some(port) => Value::from(port.parse::<u16>().map_err(|_| {
            invalid(format!(
                "urlsplit: port could not be cast to integer value as '{port}'"
            ))
        })?),
        None => Value::from(()),
    };
    let parts: Vec<(&str, Value)> = vec![
        ("fragment", Value::from(fragment)),
        ("hostname", hostname),
        ("netloc", Value::from(netloc)),
        ("password", password),
        ("path", Value::from(path)),
        ("port", port),
        ("query", Value::from(query_part)),
        ("scheme", Value::from(scheme.to_lowercase())),
        ("username", username),
    ];
    match query.filter(|q| !q.is_empty()) {
        None => Ok(Value::from_iter(parts)),
        Some(query) => parts
            .into_iter()
            .find(|(name, _)| *name == query)
            .map(|(_, part)| part)
            .ok_or_else(|| invalid(format!("urlsplit: unknown URL component: {query}"))),
    }
}

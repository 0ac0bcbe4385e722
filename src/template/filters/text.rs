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

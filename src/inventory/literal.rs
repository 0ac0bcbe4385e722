//! The small Python parser Ansible's INI inventory leans on for values.
//!
//! Ansible splits an INI host line with `shlex.split(line, comments=True)` (that is
//! [`crate::shell::split`]) and reads every `key=value` value (inline and in `[group:vars]`)
//! with `ast.literal_eval`, falling back to the plain string when that fails. Users'
//! inventories depend on the exact outcome (`port=22` is an integer, `flag=True` a boolean,
//! `name=web#1` is `web`), so it is reproduced here.

use serde_json::{Map, Number, Value};

/// Reads a value as Ansible's INI plugin does: a Python literal if `ast.literal_eval` accepts
/// it, else the text itself.
pub fn parse_value(text: &str) -> Value {
    let mut parser = Parser {
        chars: text.trim_start_matches([' ', '\t']).chars().collect(),
        at: 0,
    };
    match parser.expression() {
        Some(value) => {
            parser.skip_space();
            if parser.at == parser.chars.len() {
                value
            } else {
                Value::String(text.to_string())
            }
        }
        None => Value::String(text.to_string()),
    }
}

struct Parser {
    chars: Vec<char>,
    at: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.at).copied()
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some(' ' | '\t' | '\n' | '\r')) {
            self.at += 1;
        }
    }

    fn eat(&mut self, c: char) -> bool {
        self.skip_space();
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn expression(&mut self) -> Option<Value> {
        self.skip_space();
        match self.peek()? {
            '[' => {
                self.at += 1;
                self.sequence(']').map(Value::Array)
            }
            '(' => {
                self.at += 1;
                // `(x)` is just x; `(x,)` and `()` are tuples, which Ansible turns into lists.
                let start = self.at;
                if self.eat(')') {
                    return Some(Value::Array(Vec::new()));
                }
                let first = self.expression()?;
                if self.eat(')') {
                    return Some(first);
                }
                self.at = start;
                self.sequence(')').map(Value::Array)
            }
            '{' => {
                self.at += 1;
                self.mapping_or_set()
            }
            '-' | '+' => {
                let negative = self.peek() == Some('-');
                self.at += 1;
                self.skip_space();
                let number = self.number()?;
                Some(if negative { negate(number)? } else { number })
            }
            c if c.is_ascii_digit() || c == '.' => self.number(),
            '\'' | '"' => self.strings(),
            c if c.is_alphabetic() || c == '_' => {
                let start = self.at;
                while self.peek().is_some_and(|c| c.is_alphanumeric() || c == '_') {
                    self.at += 1;
                }
                let word: String = self.chars[start..self.at].iter().collect();
                match word.as_str() {
                    "True" => Some(Value::Bool(true)),
                    "False" => Some(Value::Bool(false)),
                    "None" => Some(Value::Null),
                    prefix if matches!(self.peek(), Some('\'' | '"')) && is_string_prefix(prefix) => {
                        self.at = start;
                        self.strings()
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    fn sequence(&mut self, close: char) -> Option<Vec<Value>> {
        let mut items = Vec::new();
        loop {
            if self.eat(close) {
                return Some(items);
            }
            items.push(self.expression()?);
            if self.eat(',') {
                continue;
            }
            if self.eat(close) {
                return Some(items);
            }
            return None;
        }
    }

    fn mapping_or_set(&mut self) -> Option<Value> {
        if self.eat('}') {
            return Some(Value::Object(Map::new()));
        }
        let first = self.expression()?;
        if self.eat(':') {
            let mut map = Map::new();
            let value = self.expression()?;
            map.insert(key_string(&first)?, value);
            loop {
                if self.eat('}') {
                    return Some(Value::Object(map));
                }
                if !self.eat(',') {
                    return None;
                }
                if self.eat('}') {
                    return Some(Value::Object(map));
                }
                let key = self.expression()?;
                if !self.eat(':') {
                    return None;
                }
                let value = self.expression()?;
                map.insert(key_string(&key)?, value);
            }
        }
        // A set: Ansible turns it into a list.
        let mut items = vec![first];
        loop {
            if self.eat('}') {
                return Some(Value::Array(items));
            }
            if !self.eat(',') {
                return None;
            }
            if self.eat('}') {
                return Some(Value::Array(items));
            }
            items.push(self.expression()?);
        }
    }

    fn number(&mut self) -> Option<Value> {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.' || c == '_')
            || (matches!(self.peek(), Some('+' | '-'))
                && matches!(self.chars.get(self.at.wrapping_sub(1)), Some('e' | 'E'))
                && !self.chars[start..self.at].iter().any(|c| *c == 'x' || *c == 'X'))
        {
            self.at += 1;
        }
        let text: String = self.chars[start..self.at].iter().collect();
        python_number(&text)
    }

    /// One or more adjacent string literals, concatenated as Python does.
    fn strings(&mut self) -> Option<Value> {
        let mut out = String::new();
        let mut any = false;
        loop {
            self.skip_space();
            let start = self.at;
            while self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
                self.at += 1;
            }
            let prefix: String = self.chars[start..self.at]
                .iter()
                .collect::<String>()
                .to_lowercase();
            if !is_string_prefix(&prefix) || !matches!(self.peek(), Some('\'' | '"')) {
                self.at = start;
                break;
            }
            out.push_str(&self.string_body(prefix.contains('r'))?);
            any = true;
        }
        any.then_some(Value::String(out))
    }

    fn string_body(&mut self, raw: bool) -> Option<String> {
        let quote = self.peek()?;
        let triple = self.chars.get(self.at..self.at + 3) == Some(&[quote, quote, quote][..]);
        self.at += if triple { 3 } else { 1 };
        let mut out = String::new();
        loop {
            let c = self.peek()?;
            if c == quote {
                if !triple {
                    self.at += 1;
                    return Some(out);
                }
                if self.chars.get(self.at..self.at + 3) == Some(&[quote, quote, quote][..]) {
                    self.at += 3;
                    return Some(out);
                }
            }
            if c == '\n' && !triple {
                return None;
            }
            self.at += 1;
            if c != '\\' {
                out.push(c);
                continue;
            }
            let escaped = self.peek()?;
            self.at += 1;
            if raw {
                out.push('\\');
                out.push(escaped);
                continue;
            }
            match escaped {
                '\n' => {}
                '\\' | '\'' | '"' => out.push(escaped),
                'a' => out.push('\x07'),
                'b' => out.push('\x08'),
                'f' => out.push('\x0c'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'v' => out.push('\x0b'),
                'x' => out.push(self.hex_escape(2)?),
                'u' => out.push(self.hex_escape(4)?),
                'U' => out.push(self.hex_escape(8)?),
                '0'..='7' => {
                    let mut code = escaped.to_digit(8)?;
                    for _ in 0..2 {
                        match self.peek().and_then(|c| c.to_digit(8)) {
                            Some(d) => {
                                code = code * 8 + d;
                                self.at += 1;
                            }
                            None => break,
                        }
                    }
                    out.push(char::from_u32(code)?);
                }
                other => {
                    out.push('\\');
                    out.push(other);
                }
            }
        }
    }

    fn hex_escape(&mut self, digits: usize) -> Option<char> {
        let text: String = self.chars.get(self.at..self.at + digits)?.iter().collect();
        self.at += digits;
        char::from_u32(u32::from_str_radix(&text, 16).ok()?)
    }
}

fn is_string_prefix(prefix: &str) -> bool {
    matches!(prefix.to_lowercase().as_str(), "" | "u" | "r" | "b" | "br" | "rb")
}

fn key_string(key: &Value) -> Option<String> {
    match key {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True" } else { "False" }.to_string()),
        Value::Null => Some("None".to_string()),
        Value::Array(_) | Value::Object(_) => None,
    }
}

fn negate(value: Value) -> Option<Value> {
    let n = value.as_number()?;
    if let Some(i) = n.as_i64() {
        return Some(Value::from(i.checked_neg()?));
    }
    Number::from_f64(-n.as_f64()?).map(Value::Number)
}

/// A Python integer or float literal (no sign), as `ast.literal_eval` reads it.
fn python_number(text: &str) -> Option<Value> {
    if text.is_empty() || text.starts_with('_') || text.ends_with('_') || text.contains("__") {
        return None;
    }
    let clean = text.replace('_', "");
    let lower = clean.to_ascii_lowercase();
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(digits) = lower.strip_prefix(prefix) {
            return i64::from_str_radix(digits, radix).ok().map(Value::from);
        }
    }
    if lower.chars().all(|c| c.is_ascii_digit()) {
        // Python 3 refuses leading zeros in decimal integers (`01`), except for zero itself.
        if lower.len() > 1 && lower.starts_with('0') && lower.chars().any(|c| c != '0') {
            return None;
        }
        return lower.parse::<i64>().ok().map(Value::from);
    }
    let valid_float = lower
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | '+' | '-'))
        && lower.chars().any(|c| c.is_ascii_digit())
        && lower.matches('.').count() <= 1
        && !lower.starts_with('e');
    if !valid_float {
        return None;
    }
    let float: f64 = lower.parse().ok()?;
    Number::from_f64(float).map(Value::Number)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_python_literals_like_literal_eval() {
        assert_eq!(parse_value("1"), json!(1));
        assert_eq!(parse_value("-3"), json!(-3));
        assert_eq!(parse_value("1.5"), json!(1.5));
        assert_eq!(parse_value("1e3"), json!(1000.0));
        assert_eq!(parse_value("0x10"), json!(16));
        assert_eq!(parse_value("True"), json!(true));
        assert_eq!(parse_value("None"), json!(null));
        assert_eq!(parse_value("'quoted'"), json!("quoted"));
        assert_eq!(parse_value("u'x'"), json!("x"));
        assert_eq!(parse_value("[1, 'a', [True]]"), json!([1, "a", [true]]));
        assert_eq!(parse_value("(1,2)"), json!([1, 2]));
        assert_eq!(parse_value("{'k': 1, 2: 'v'}"), json!({"k": 1, "2": "v"}));
    }

    #[test]
    fn keeps_text_that_is_not_a_literal() {
        for text in [
            "yes",
            "01",
            "{k:1}",
            "hello world",
            "10.0.0.1",
            "1+2",
            "web01",
            "/srv/app",
            "",
        ] {
            assert_eq!(parse_value(text), json!(text), "{text}");
        }
    }
}

//! The one place where shell text is built.
//!
//! Every value that reaches a remote host travels inside a generated POSIX `sh` script, so a
//! path, a line of a config file or a user name containing `'`, `$()`, a newline or a leading
//! dash must arrive byte-exact and never be executed. Scripts are therefore assembled from
//! `&'static str` templates (written by this project, never by users) whose `{}` holes are
//! filled only with quoted values. Binary-safe content (file bodies) travels base64-encoded.
//!
//! The reverse, shell-like text split into words, is here too ([`split`]): Ansible splits a
//! `command`'s `cmd`, a `validate:` command, `ansible_ssh_common_args` and an INI inventory's
//! host lines with Python's `shlex.split`, and each must come out word for word the same.

use std::fmt::Write as _;

use base64::Engine as _;

/// Quotes `value` as one POSIX shell word: single quotes, with `'` spelled `'\''`.
pub fn quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-./=:,+@%".contains(&b))
        && !value.starts_with('-')
        && !value.starts_with('=')
    {
        return value.to_string();
    }
    let mut quoted = String::with_capacity(value.len() + 2);
    quoted.push('\'');
    for c in value.chars() {
        if c == '\'' {
            quoted.push_str("'\\''");
        } else {
            quoted.push(c);
        }
    }
    quoted.push('\'');
    quoted
}

/// A shell script under construction.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Script {
    text: String,
}

impl Script {
    pub fn new() -> Script {
        Script::default()
    }

    /// Appends a line of project-written shell with no values in it.
    pub fn raw(&mut self, fixed: &'static str) -> &mut Self {
        self.text.push_str(fixed);
        self.text.push('\n');
        self
    }

    /// Appends `template` with each `{}` replaced by the next value, quoted.
    ///
    /// Panics if the number of holes and values differ: that is a bug in this project's code,
    /// never a user error, and a test catches it.
    pub fn line(&mut self, template: &'static str, values: &[&str]) -> &mut Self {
        let mut pieces = template.split("{}");
        let mut values = values.iter();
        if let Some(first) = pieces.next() {
            self.text.push_str(first);
        }
        for piece in pieces {
            let value = values.next().expect("a value for every `{}` in a shell template");
            self.text.push_str(&quote(value));
            self.text.push_str(piece);
        }
        assert!(
            values.next().is_none(),
            "more values than `{{}}` in shell template {template:?}"
        );
        self.text.push('\n');
        self
    }

    /// Appends a command that writes `content` (any bytes) to the file descriptor or path
    /// expression in `redirect` (a fixed template like `> {}`), base64-encoded in transit.
    pub fn write_bytes(&mut self, content: &[u8], redirect: &'static str, values: &[&str]) -> &mut Self {
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        let _ = write!(self.text, "printf '%s' {} | base64 -d ", quote(&encoded));
        self.line(redirect, values)
    }

    /// Appends a command line made of `words` (each quoted, so each stays one word) reading
    /// `content` on stdin, then the fixed `suffix` (`|| exit 1`).
    pub fn pipe_bytes(&mut self, content: &[u8], words: &[&str], suffix: &'static str) -> &mut Self {
        let encoded = base64::engine::general_purpose::STANDARD.encode(content);
        let _ = write!(
            self.text,
            "printf '%s' {} | base64 -d | {} {suffix}",
            quote(&encoded),
            join_words(words)
        );
        self.text.push('\n');
        self
    }

    /// Appends another script.
    pub fn append(&mut self, other: &Script) -> &mut Self {
        self.text.push_str(&other.text);
        self
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn into_string(self) -> String {
        self.text
    }

    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }
}

/// Quotes a list of words into one command line, for commands given as `argv` by users
/// (`command: argv: [...]`): each word stays one word.
pub fn join_words<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why text could not be split into words: Python's `shlex` messages, word for word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitError {
    NoClosingQuotation,
    NoEscapedCharacter,
}

impl std::fmt::Display for SplitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SplitError::NoClosingQuotation => "No closing quotation",
            SplitError::NoEscapedCharacter => "No escaped character",
        })
    }
}

impl std::error::Error for SplitError {}

/// Splits `text` into words as Python's `shlex.split(text, comments=comments)` does (POSIX
/// mode): whitespace is space, tab, CR and LF; `'...'` is literal; inside `"..."` a backslash
/// escapes only `"` and itself; outside quotes it escapes any character; with `comments`, a
/// `#` outside quotes ends the line (even inside a word: `a#b` is `a`). No expansion.
pub fn split(text: &str, comments: bool) -> Result<Vec<String>, SplitError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '#' if comments => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
                // The comment runs to the end of its line; splitting goes on after it.
                if !chars.by_ref().any(|c| c == '\n') {
                    break;
                }
            }
            '\\' => {
                in_word = true;
                word.push(chars.next().ok_or(SplitError::NoEscapedCharacter)?);
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next().ok_or(SplitError::NoClosingQuotation)? {
                        '\'' => break,
                        inner => word.push(inner),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next().ok_or(SplitError::NoClosingQuotation)? {
                        '"' => break,
                        '\\' => match chars.next().ok_or(SplitError::NoClosingQuotation)? {
                            escaped @ ('"' | '\\') => word.push(escaped),
                            other => {
                                word.push('\\');
                                word.push(other);
                            }
                        },
                        inner => word.push(inner),
                    }
                }
            }
            other => {
                in_word = true;
                word.push(other);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn split_with_comments(line: &str) -> Result<Vec<String>, SplitError> {
        split(line, true)
    }

    #[test]
    fn splits_like_shlex_with_comments() {
        assert_eq!(
            split_with_comments(r#"h1 a="x y" b='q r' c=foo#bar d=1"#).unwrap(),
            ["h1", "a=x y", "b=q r", "c=foo"]
        );
        assert_eq!(
            split_with_comments(r#"h a="say \"hi\"" b=\x"#).unwrap(),
            ["h", r#"a=say "hi""#, "b=x"]
        );
        assert_eq!(
            split_with_comments("h a=\"open").unwrap_err().to_string(),
            "No closing quotation"
        );
        assert_eq!(
            split_with_comments("h   ; not a comment").unwrap(),
            ["h", ";", "not", "a", "comment"]
        );
    }

    /// Results of CPython's `shlex.split`, the splitter Ansible uses.
    #[test]
    fn splits_like_python_shlex() {
        assert_eq!(split(r#"a"x\yz" b"#, false).unwrap(), [r"ax\yz", "b"]);
        assert_eq!(split("a\\", false), Err(SplitError::NoEscapedCharacter));
        assert_eq!(
            split("cmd #not a comment", false).unwrap(),
            ["cmd", "#not", "a", "comment"]
        );
        assert_eq!(split("a#b c\nd", true).unwrap(), ["a", "d"]);
        assert_eq!(split("# x\ny", true).unwrap(), ["y"]);
        assert_eq!(split("a\u{b}b", false).unwrap(), ["a\u{b}b"]);
        assert_eq!(split(r#""" x"#, false).unwrap(), ["", "x"]);
        assert_eq!(
            split(r#"it\'s "a \"b\" \\ c" "#, false).unwrap(),
            ["it's", r#"a "b" \ c"#]
        );
        assert_eq!(split("'open", false), Err(SplitError::NoClosingQuotation));
        assert_eq!(split("", false).unwrap(), Vec::<String>::new());
    }

    fn sh_echo(value: &str) -> Vec<u8> {
        let mut script = Script::new();
        script.line("printf '%s' {}", &[value]);
        Command::new("sh")
            .arg("-c")
            .arg(script.as_str())
            .output()
            .expect("sh runs")
            .stdout
    }

    #[test]
    fn plain_words_stay_readable() {
        assert_eq!(quote("/etc/nginx/nginx.conf"), "/etc/nginx/nginx.conf");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("-rf"), "'-rf'");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("it's"), "'it'\\''s'");
    }

    #[test]
    fn hostile_values_round_trip_unexecuted() {
        for value in [
            "$(touch /tmp/pwned)",
            "`id`",
            "a'b\"c",
            "line1\nline2",
            "*",
            "-n",
            "${HOME}",
            "; rm -rf /",
            "été ∑ 日本",
            "\\",
            "'",
            "''",
        ] {
            assert_eq!(sh_echo(value), value.as_bytes(), "value {value:?}");
        }
    }

    #[test]
    fn bytes_round_trip_through_base64() {
        let content = b"\x00\x01binary\n$(x)\xff";
        let mut script = Script::new();
        script.write_bytes(content, "", &[]);
        let out = Command::new("sh")
            .arg("-c")
            .arg(script.as_str())
            .output()
            .expect("sh runs");
        assert_eq!(out.stdout, content);
    }

    #[test]
    #[should_panic(expected = "a value for every")]
    fn missing_values_are_a_bug() {
        Script::new().line("ls {} {}", &["a"]);
    }
}

//! Errors about the user's own files.
//!
//! A sysadmin fixing a playbook needs to know exactly where to look, so every error about an
//! input file carries `path:line:col`, says what was expected, and may add a `hint:` with the
//! likely fix. Such errors travel inside `anyhow::Error`; `main` prints the chain once and then
//! the hint of the innermost located error.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A position in a user's file: 1-based line and column.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Pos {
    pub path: Arc<PathBuf>,
    pub line: usize,
    pub col: usize,
}

impl Pos {
    pub fn new(path: &Arc<PathBuf>, line: usize, col: usize) -> Pos {
        Pos {
            path: Arc::clone(path),
            line,
            col,
        }
    }

    /// The start of a file, for errors about a file as a whole.
    pub fn file_start(path: &Path) -> Pos {
        Pos {
            path: Arc::new(path.to_path_buf()),
            line: 1,
            col: 1,
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.col)
    }
}

/// An error located in a user's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub pos: Pos,
    pub message: String,
    pub hint: Option<String>,
}

impl SourceError {
    pub fn new(pos: &Pos, message: impl Into<String>) -> SourceError {
        SourceError {
            pos: pos.clone(),
            message: message.into(),
            hint: None,
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> SourceError {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.pos, self.message)
    }
}

impl std::error::Error for SourceError {}

/// Builds a located error as an `anyhow::Error`, for `return Err(located(..))`.
pub fn located(pos: &Pos, message: impl Into<String>) -> anyhow::Error {
    SourceError::new(pos, message).into()
}

/// Like [`located`], with a hint line.
pub fn located_hint(pos: &Pos, message: impl Into<String>, hint: impl Into<String>) -> anyhow::Error {
    SourceError::new(pos, message).with_hint(hint).into()
}

/// The hint of the innermost located error in the chain, if any.
pub fn hint_of(err: &anyhow::Error) -> Option<String> {
    err.chain()
        .filter_map(|cause| cause.downcast_ref::<SourceError>())
        .filter_map(|e| e.hint.clone())
        .last()
}

/// The closest name among `candidates`, for "did you mean" hints.
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= (c.len().max(name.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Levenshtein distance over chars.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current[j + 1] = (previous[j] + cost).min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_names_only() {
        let names = ["copy", "command", "template", "file"];
        assert_eq!(did_you_mean("coppy", names), Some("copy"));
        assert_eq!(did_you_mean("tempalte", names), Some("template"));
        assert_eq!(did_you_mean("zzzzzz", names), None);
    }

    #[test]
    fn located_errors_print_position_then_message() {
        let pos = Pos::file_start(Path::new("site.yml"));
        let err = located_hint(&pos, "unknown module `coppy`", "did you mean `copy`?");
        assert_eq!(err.to_string(), "site.yml:1:1: unknown module `coppy`");
        assert_eq!(hint_of(&err).as_deref(), Some("did you mean `copy`?"));
    }
}

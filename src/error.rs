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

/// Edit distance over chars: Levenshtein plus the swap of two adjacent characters (`dset`
/// for `dest`), the most common typo, counted as one edit (optimal string alignment).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
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
        assert_eq!(did_you_mean("fiel", names), Some("file"), "a swap is one edit");
    }

    #[test]
    fn located_errors_print_position_then_message() {
        let pos = Pos::file_start(Path::new("site.yml"));
        let err = located_hint(&pos, "unknown module `coppy`", "did you mean `copy`?");
        assert_eq!(err.to_string(), "site.yml:1:1: unknown module `coppy`");
        assert_eq!(hint_of(&err).as_deref(), Some("did you mean `copy`?"));
    }
}

//! Framing of the one script that inspects a host.
//!
//! A probe runs many small snippets (one per resource, plus facts) in a single exec, and their
//! outputs must come back unambiguously even when a file's content contains anything at all.
//! Each snippet's output is wrapped in begin/end lines carrying a random per-run token and the
//! snippet's exit status. Output that is truncated, garbled, or has sections missing is an
//! error for that host, never a guess.

use std::collections::BTreeMap;

use anyhow::{bail, Result};

use crate::shell::Script;

/// What one snippet printed and its exit status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Section {
    pub output: Vec<u8>,
    pub status: i32,
}

/// Builds a framed script from snippets identified by ids (`[A-Za-z0-9_.-]+`).
pub struct ProbeScript {
    token: String,
    ids: Vec<String>,
    script: Script,
}

impl ProbeScript {
    pub fn new(token: &str) -> ProbeScript {
        assert!(
            token.bytes().all(|b| b.is_ascii_alphanumeric()),
            "probe tokens are alphanumeric"
        );
        let mut script = Script::new();
        // `set -u` would turn a probe's own typo into a confusing partial result; pipefail is
        // avoided on purpose (`| grep -q` gives false negatives under it).
        script.raw("LC_ALL=C; export LC_ALL");
        script.raw("deploy_nl='\n'; export deploy_nl");
        ProbeScript {
            token: token.to_string(),
            ids: Vec::new(),
            script,
        }
    }

    /// Adds a snippet; it runs in a subshell so that `exit` or `cd` in it stays local.
    pub fn section(&mut self, id: &str, snippet: &Script) -> &mut Self {
        assert!(
            !id.is_empty()
                && id
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)),
            "probe ids are simple words: {id:?}"
        );
        assert!(!self.ids.iter().any(|i| i == id), "probe ids are unique: {id}");
        self.ids.push(id.to_string());
        let marker = format!("@@{}", self.token);
        self.script.line("printf '%s begin %s\\n' {} {}", &[&marker, id]);
        // `:` keeps an empty snippet from being `( )`, a syntax error that would end the shell.
        self.script.raw("( :");
        self.script.append(snippet);
        // Without the lock's descriptor (9): a daemon started by a step (an init script, a
        // package's postinst) would otherwise inherit it and hold the host's lock for ever.
        self.script.raw(") </dev/null 9<&-");
        self.script.raw("deploy_last=$?");
        self.script.line(
            "printf '\\n%s end %s %s\\n' {} {} \"$deploy_last\"",
            &[&marker, id],
        );
        self
    }

    /// Adds unframed lines between sections (control flow of the script itself).
    pub fn glue(&mut self, fixed: &'static str) -> &mut Self {
        self.script.raw(fixed);
        self
    }

    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    pub fn script(&self) -> &Script {
        &self.script
    }

    /// Splits the probe's stdout into sections; every section added must be there, whole.
    pub fn parse(&self, stdout: &[u8]) -> Result<BTreeMap<String, Section>> {
        let sections = parse_sections(&self.token, &self.ids, stdout, false)?;
        for id in &self.ids {
            if !sections.contains_key(id) {
                bail!("probe output was cut short: section `{id}` is missing");
            }
        }
        Ok(sections)
    }

    /// Like [`parse`](Self::parse), for a script that may stop early on purpose: the sections
    /// present must be whole and a prefix of those added, in order.
    pub fn parse_partial(&self, stdout: &[u8]) -> Result<BTreeMap<String, Section>> {
        self.prefix(parse_sections(&self.token, &self.ids, stdout, false)?)
    }

    /// Like [`parse_partial`](Self::parse_partial), for output cut off by a lost connection:
    /// a last section that never ended is left out.
    pub fn parse_cut_short(&self, stdout: &[u8]) -> Result<BTreeMap<String, Section>> {
        self.prefix(parse_sections(&self.token, &self.ids, stdout, true)?)
    }

    fn prefix(&self, sections: BTreeMap<String, Section>) -> Result<BTreeMap<String, Section>> {
        let present = self
            .ids
            .iter()
            .take_while(|id| sections.contains_key(*id))
            .count();
        if present != sections.len() {
            bail!("garbled output: sections out of order");
        }
        Ok(sections)
    }
}

fn parse_sections(
    token: &str,
    ids: &[String],
    stdout: &[u8],
    cut_short: bool,
) -> Result<BTreeMap<String, Section>> {
    // Output cut off mid-line ends with a line that never finished: it says nothing.
    let stdout = match stdout.iter().rposition(|&b| b == b'\n') {
        Some(last) if cut_short => &stdout[..=last],
        None if cut_short => &[],
        _ => stdout,
    };
    let marker = format!("@@{token} ");
    let mut sections = BTreeMap::new();
    let mut current: Option<(String, Vec<u8>)> = None;
    for line in stdout.split_inclusive(|b| *b == b'\n') {
        let text = line.strip_suffix(b"\n");
        let header = text
            .and_then(|t| t.strip_prefix(marker.as_bytes()))
            .and_then(|rest| std::str::from_utf8(rest).ok());
        match (header, current.as_mut()) {
            (Some(header), None) => {
                let Some(id) = header.strip_prefix("begin ") else {
                    bail!("garbled probe output: `{header}` outside a section");
                };
                if !ids.iter().any(|known| known == id) {
                    bail!("garbled probe output: a section `{id}` that was not asked for");
                }
                current = Some((id.to_string(), Vec::new()));
            }
            (Some(header), Some((id, body))) => {
                let Some(rest) = header.strip_prefix("end ") else {
                    bail!("garbled probe output: section `{id}` never ended");
                };
                let (end_id, status) = rest
                    .rsplit_once(' ')
                    .ok_or_else(|| anyhow::anyhow!("garbled probe output: bad end of section `{id}`"))?;
                if end_id != id {
                    bail!("garbled probe output: section `{id}` ended as `{end_id}`");
                }
                let status: i32 = status
                    .parse()
                    .map_err(|_| anyhow::anyhow!("garbled probe output: bad status in section `{id}`"))?;
                // The end line starts with a newline of its own: take it back.
                if body.pop() != Some(b'\n') {
                    bail!("garbled probe output: section `{id}` is malformed");
                }
                let output = std::mem::take(body);
                let id = id.clone();
                if sections.insert(id.clone(), Section { output, status }).is_some() {
                    bail!("garbled probe output: section `{id}` appears twice");
                }
                current = None;
            }
            (None, Some((_, body))) => body.extend_from_slice(line),
            (None, None) => {
                if !line.iter().all(u8::is_ascii_whitespace) {
                    bail!("garbled probe output: unexpected text between sections");
                }
            }
        }
    }
    match current {
        Some((id, _)) if !cut_short => bail!("probe output was cut short inside section `{id}`"),
        _ => {}
    }
    Ok(sections)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn run(probe: &ProbeScript) -> Vec<u8> {
        Command::new("sh")
            .arg("-c")
            .arg(probe.script().as_str())
            .output()
            .expect("sh runs")
            .stdout
    }

    #[test]
    fn sections_come_back_byte_exact() {
        let mut probe = ProbeScript::new("abc123");
        let mut a = Script::new();
        a.raw("printf 'no newline at end'");
        let mut b = Script::new();
        b.raw("printf 'line\\n\\n@@other end a 0\\n'; exit 7");
        let mut c = Script::new();
        c.raw("true");
        probe.section("a", &a).section("b", &b).section("c", &c);
        let sections = probe.parse(&run(&probe)).unwrap();
        assert_eq!(sections["a"].output, b"no newline at end");
        assert_eq!(sections["a"].status, 0);
        assert_eq!(sections["b"].output, b"line\n\n@@other end a 0\n");
        assert_eq!(sections["b"].status, 7);
        assert_eq!(sections["c"].output, b"");
    }

    #[test]
    fn a_host_forging_frames_is_refused() {
        let mut probe = ProbeScript::new("abc123");
        let mut a = Script::new();
        a.raw("printf '@@abc123 end zz 0\\n'");
        probe.section("a", &a);
        let err = probe.parse(&run(&probe)).unwrap_err();
        assert_eq!(err.to_string(), "garbled probe output: section `a` ended as `zz`");
    }

    #[test]
    fn truncated_and_garbled_output_is_refused() {
        let mut probe = ProbeScript::new("t0k");
        let mut a = Script::new();
        a.raw("echo hello");
        probe.section("a", &a).section("b", &a);
        let full = run(&probe);
        assert!(probe.parse(&full).is_ok());
        for cut in [1, 10, full.len() / 2, full.len() - 3] {
            assert!(probe.parse(&full[..cut]).is_err(), "cut at {cut}");
        }
        assert!(probe.parse(b"junk\n").is_err());
        let mut doubled = full.clone();
        doubled.extend_from_slice(&full);
        assert!(probe.parse(&doubled).is_err());
    }

    #[test]
    fn output_cut_by_a_lost_connection_keeps_the_sections_that_ended() {
        let mut probe = ProbeScript::new("t0k");
        let mut a = Script::new();
        a.raw("echo hello");
        probe.section("a", &a).section("b", &a);
        let full = run(&probe);
        let second = full
            .windows(b"@@t0k begin b".len())
            .position(|w| w == b"@@t0k begin b")
            .unwrap();
        // Inside b: b is left out, a is whole; a cut inside a leaves nothing.
        let sections = probe.parse_cut_short(&full[..second + 20]).unwrap();
        assert_eq!(sections.keys().collect::<Vec<_>>(), ["a"]);
        assert_eq!(sections["a"].output, b"hello\n");
        assert!(probe.parse_partial(&full[..second + 20]).is_err());
        assert!(probe.parse_cut_short(&full[..10]).unwrap().is_empty());
        assert_eq!(probe.parse_cut_short(&full).unwrap().len(), 2);
        // Cut short is no licence for garbage.
        assert!(probe.parse_cut_short(b"junk\n").is_err());
    }
}

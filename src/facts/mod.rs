//! Host facts, gathered inside the probe with nothing but `sh` and coreutils.
//!
//! Ansible gathers facts with Python on the host; `deploy` asks the same questions in shell
//! as one section of the probe, so facts cost no extra round trip and hosts need no Python.
//! Names, types and shapes follow Ansible's `setup` module (`ansible_distribution`,
//! `ansible_default_ipv4.address`, `ansible_mounts[0].size_total`, ...) so that roles read
//! them unchanged.
//!
//! Each subject (the OS, hardware, network, mounts, the session: user, environment, python,
//! clock, local facts) has a shell snippet printing `key=value` lines under its own key
//! prefix, and a pure function turning those lines into facts. The snippets run on every
//! host at every run, so they read `/proc` and `/sys` with shell builtins where they can,
//! and each tolerates a missing tool by leaving out what that tool would have told.

mod hardware;
mod mounts;
mod network;
mod os;
mod session;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use crate::shell::Script;

/// The snippet printing the `key=value` lines that [`parse`] reads.
pub fn script() -> Script {
    let mut script = Script::new();
    for snippet in [
        os::SCRIPT,
        hardware::SCRIPT,
        network::SCRIPT,
        mounts::SCRIPT,
        session::SCRIPT,
    ] {
        script.raw(snippet);
    }
    script
}

/// Turns the snippet's output into Ansible-named facts (`ansible_` prefixed, as templates
/// see them at the top level).
pub fn parse(output: &[u8]) -> Result<Map<String, Value>> {
    // An environment variable or a local fact file may hold bytes that are not UTF-8;
    // Ansible replaces them too rather than failing the host.
    let text = String::from_utf8_lossy(output);
    let raw = Raw::read(&text)?;
    let mut facts = Facts::default();
    os::facts(&raw, &mut facts);
    hardware::facts(&raw, &mut facts);
    network::facts(&raw, &mut facts);
    mounts::facts(&raw, &mut facts);
    session::facts(&raw, &mut facts);
    Ok(facts.0)
}

/// The snippet's lines, in order: a key may repeat (one line per address, mount, ...).
struct Raw<'a> {
    lines: Vec<(&'a str, &'a str)>,
}

impl<'a> Raw<'a> {
    fn read(text: &'a str) -> Result<Raw<'a>> {
        let mut lines = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (key, value) = line
                .split_once('=')
                .with_context(|| format!("unexpected fact line {line:?}"))?;
            lines.push((key, value));
        }
        Ok(Raw { lines })
    }

    /// The first value of `key`.
    fn get(&self, key: &str) -> Option<&'a str> {
        self.lines.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// Every value of `key`, in order.
    fn all<'s>(&'s self, key: &'s str) -> impl Iterator<Item = &'a str> + 's {
        self.lines.iter().filter(move |(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// Every line whose key starts with `prefix`, the prefix taken off, in order.
    fn under<'s>(&'s self, prefix: &'s str) -> impl Iterator<Item = (&'a str, &'a str)> + 's {
        self.lines
            .iter()
            .filter_map(move |(k, v)| k.strip_prefix(prefix).map(|rest| (rest, *v)))
    }

    fn has(&self, key: &str, value: &str) -> bool {
        self.all(key).any(|v| v == value)
    }
}

/// The facts being built, named as Ansible names them.
#[derive(Default)]
struct Facts(Map<String, Value>);

impl Facts {
    /// Sets `ansible_<name>`. Ansible turns `-` into `_` in fact names (an interface `br-lan`
    /// is `ansible_br_lan`), so templates can use them as identifiers.
    fn put(&mut self, name: &str, value: Value) {
        self.0
            .insert(format!("ansible_{}", name.replace('-', "_")), value);
    }
}

/// A value of a shell-style `KEY=value` file (`/etc/os-release`, `/etc/lsb-release`):
/// surrounding quotes off, backslash escapes inside double quotes resolved.
fn unquote(value: &str) -> String {
    let value = value.trim();
    if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        let mut out = String::new();
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => out.extend(chars.next()),
                c => out.push(c),
            }
        }
        out
    } else if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        inner.to_string()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests;

//! What each fuzz target does with its input, shared by the libFuzzer binaries in
//! `fuzz_targets/` and by `tests/corpus.rs`, which replays the committed corpus and seeded
//! mutations of it under plain `cargo test` (no nightly, no libFuzzer needed there).
//!
//! Every function must return normally for any input: an `Err` is the expected answer to
//! garbage, a panic, a hang or an abort is a bug.

use std::path::Path;

use deploy::inventory::Inventory;
use deploy::probe::{ProbeScript, Section};
use deploy::shell::Script;

/// The YAML loader, then the conversion every consumer performs.
pub fn yaml(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(node) = deploy::yaml::parse_str(text, Path::new("fuzz.yml")) {
        let _ = node.to_value();
    }
}

/// An INI inventory file, then every host's variables and a few patterns.
pub fn ini_inventory(data: &[u8]) {
    inventory_file(data, "hosts");
}

/// A YAML inventory file, then every host's variables and a few patterns.
pub fn yaml_inventory(data: &[u8]) {
    inventory_file(data, "hosts.yml");
}

fn inventory_file(data: &[u8], name: &str) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join(name);
    std::fs::write(&path, data).expect("the inventory file is written");
    let Ok(inventory) = Inventory::load(&[path]) else {
        return;
    };
    for host in inventory.hosts().keys() {
        let _ = inventory.host_vars(host, None);
    }
    for pattern in ["all", "web:&db", "!web", "~w.*", "web[0]"] {
        let _ = inventory.select(pattern);
    }
}

/// A playbook file loaded from an otherwise empty project directory.
pub fn playbook(data: &[u8]) {
    // A playbook may name any file (`vars_files: /dev/zero`); reading devices is the user's
    // choice, not a loader bug, and would only stall the fuzzer.
    if data
        .windows(5)
        .any(|w| w == b"/dev/" || w == b"/proc" || w == b"/sys/")
    {
        return;
    }
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("site.yml");
    std::fs::write(&path, data).expect("the playbook is written");
    let options = deploy::playbook::LoadOptions {
        project_root: Some(dir.path().to_path_buf()),
        ..Default::default()
    };
    let _ = deploy::playbook::load_playbook(&path, &options);
}

/// The token the probe corpus is written with.
pub const PROBE_TOKEN: &str = "T0K";

/// A host's answer to a probe: framed sections, then facts and a path's state inside them.
pub fn probe(data: &[u8]) {
    let mut script = ProbeScript::new(PROBE_TOKEN);
    for id in ["facts", "path", "other.1"] {
        script.section(id, &Script::new());
    }
    if let Ok(sections) = script.parse(data) {
        if let Some(facts) = sections.get("facts") {
            let _ = deploy::facts::parse(&facts.output);
        }
        if let Some(path) = sections.get("path") {
            let _ = deploy::resource::path_state::inspect(path);
        }
    }
    let _ = script.parse_partial(data);
    let _ = deploy::facts::parse(data);
    let _ = deploy::resource::path_state::inspect(&Section {
        output: data.to_vec(),
        status: 0,
    });
}

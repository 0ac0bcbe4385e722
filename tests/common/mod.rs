//! Shared helpers for the integration tests.
//!
//! Tests that need something from the machine fail, naming it, when it is missing: none is
//! ever counted as passed without running. Lab tests, which need root, are `#[ignore]`d and
//! run by `scripts/test` as root (`--include-ignored`); a run without root lists them as
//! ignored.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The `deploy` binary built for this test run.
pub fn deploy() -> Command {
    Command::new(env!("CARGO_BIN_EXE_deploy"))
}

/// Runs `deploy` with `args` and returns its output.
pub fn run_deploy<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    deploy().args(args).output().expect("the deploy binary runs")
}

/// Fails the test, naming what it needs, when `available` is false. A test that cannot run
/// is never reported as passed: tests that need root and the lab are `#[ignore]`d instead
/// (see [`require_lab`]), and what needs no root, `scripts/install-deps --oracles` installs.
pub fn require(what: &str, available: bool) {
    assert!(
        available,
        "{what} is missing: `scripts/install-deps --oracles` installs it (system packages as root)"
    );
}

/// The directory of the oracle virtualenv made by `scripts/install-deps --oracles`.
pub fn oracle_venv() -> PathBuf {
    std::env::var_os("DEPLOY_ORACLE_VENV")
        .map_or_else(|| PathBuf::from("/var/tmp/deploy-venv"), PathBuf::from)
}

/// An Ansible (or pyinfra) executable from the oracle virtualenv.
pub fn oracle(tool: &str) -> PathBuf {
    let path = oracle_venv().join("bin").join(tool);
    require(
        &format!("the oracle `{tool}` ({})", path.display()),
        path.exists(),
    );
    path
}

pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Lab tests need root and the lab's system packages. They are `#[ignore]`d, so that a run
/// without root counts them as ignored (not run) rather than passed; `scripts/test` runs them
/// as root with `--include-ignored`. Asked for where they cannot run, they fail.
pub fn require_lab() {
    assert!(
        is_root(),
        "lab tests need root (they create namespaces and containers): run them as root, as \
         scripts/test does, or leave them ignored"
    );
    for tool in [
        "debootstrap",
        "systemd-nspawn",
        "apt-cacher-ng",
        "dpkg-scanpackages",
        "ssh-keygen",
    ] {
        require(&format!("`{tool}`"), which(tool).is_some());
    }
}

pub fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].iter().map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|p| p.is_file())
}

/// The project's root directory (fixtures, roles, playbooks).
pub fn project_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Starts (or keeps) `hosts` lab hosts and returns the path of their inventory.
pub fn lab_up(hosts: u32) -> PathBuf {
    let up = run_deploy(["lab", "up", &hosts.to_string()]);
    assert!(up.status.success(), "lab up: {}", stderr(&up));
    let inventory = run_deploy(["lab", "inventory"]);
    assert!(
        inventory.status.success(),
        "lab inventory: {}",
        stderr(&inventory)
    );
    PathBuf::from(stdout(&inventory).trim())
}

/// Like [`lab_up`], from fresh hosts: whatever earlier tests did to them is gone.
pub fn fresh_lab(hosts: u32) -> PathBuf {
    let _ = run_deploy(["lab", "down"]);
    lab_up(hosts)
}

/// Runs a shell command on a lab host as root.
pub fn lab_ssh(host: &str, command: &str) -> Output {
    run_deploy(["lab", "ssh", host, "--", command])
}

/// A temporary project holding `playbook` as `site.yml`.
pub fn project(playbook: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("site.yml"), playbook).expect("the playbook is written");
    dir
}

/// Builds the lab's stand-in `elasticsearch` package (`tests/packages/elasticsearch/build`)
/// and returns the path of the `.deb`.
pub fn build_elasticsearch_standin() -> PathBuf {
    let dir = tempfile::tempdir().expect("a temporary directory").keep();
    let build = project_root().join("tests/packages/elasticsearch/build");
    let out = Command::new(build).arg(&dir).output().expect("the build runs");
    assert!(out.status.success(), "{}", stderr(&out));
    PathBuf::from(stdout(&out).trim())
}

/// Every one of `hosts` hosts of a JSON plan is planned, with steps, and none failed or was
/// unreachable.
pub fn assert_every_host_planned(plan: &serde_json::Value, hosts: usize) {
    let planned = plan["hosts"].as_array().expect("the plan lists its hosts");
    assert_eq!(planned.len(), hosts, "{plan:#}");
    for host in planned {
        assert!(host["plan"]["error"].is_null(), "{host:#}");
        assert!(
            host["plan"]["steps"].as_array().is_some_and(|s| !s.is_empty()),
            "{host:#}"
        );
    }
}

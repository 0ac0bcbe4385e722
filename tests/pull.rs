//! `deploy pull` on this machine (`ansible_connection: local`, as a host pulls for itself),
//! from a git repository in a temporary directory: a new commit is applied with its handlers,
//! drift is healed with no new commit, an unreachable repository leaves the last good commit
//! applied and reported, `--verify-commit` refuses an unsigned commit, and two runs never
//! overlap.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn git(dir: &Path, args: &[&str]) {
    let output = Command::new("git")
        .args([
            "-c",
            "user.email=ops@example.org",
            "-c",
            "user.name=ops",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git runs");
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        common::stderr(&output)
    );
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

struct Fleet {
    _dir: tempfile::TempDir,
    repo: std::path::PathBuf,
    state: std::path::PathBuf,
    out: std::path::PathBuf,
}

fn fleet() -> Fleet {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    write(&repo.join("hosts"), "[web]\nweb1\n");
    write(
        &repo.join("site.yml"),
        "- hosts: web\n  gather_facts: false\n  tasks:\n    - template: { src: motd.j2, dest: \"{{ out_dir }}/motd\" }\n      notify: reloaded\n  handlers:\n    - name: reloaded\n      shell: echo reload >> {{ out_dir }}/reloads\n",
    );
    write(
        &repo.join("templates/motd.j2"),
        "release 1 on {{ inventory_hostname }}\n",
    );
    git(&repo, &["init", "-q", "-b", "main"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-qm", "release 1"]);
    Fleet {
        state: dir.path().join("state"),
        repo,
        out,
        _dir: dir,
    }
}

fn pull(fleet: &Fleet, extra: &[&str]) -> Output {
    common::deploy()
        .args(["pull", "--repo"])
        .arg(format!("file://{}", fleet.repo.display()))
        .arg("--dir")
        .arg(&fleet.state)
        .args(["--host", "web1", "--branch", "main", "site.yml", "-e"])
        .arg(format!("out_dir={}", fleet.out.display()))
        .args(extra)
        .output()
        .expect("deploy runs")
}

fn status(fleet: &Fleet) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(fleet.state.join("status.json")).unwrap()).unwrap()
}

fn head(repo: &Path) -> String {
    let out = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(repo)
        .output()
        .unwrap();
    common::stdout(&out).trim().to_string()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn a_host_applies_new_commits_heals_drift_and_survives_an_unreachable_repository() {
    let fleet = fleet();
    let first = pull(&fleet, &[]);
    assert!(first.status.success(), "{}", common::stderr(&first));
    assert_eq!(read(&fleet.out.join("motd")), "release 1 on web1\n");
    assert_eq!(read(&fleet.out.join("reloads")), "reload\n");
    let s = status(&fleet);
    assert_eq!(s["commit"], head(&fleet.repo));
    assert_eq!(
        (s["result"].as_str(), s["changes"].as_u64(), s["host"].as_str()),
        (Some("changed"), Some(2), Some("web1"))
    );

    // Nothing new: nothing changes (and the no-op is one exec, as any run).
    let again = pull(&fleet, &["--format", "json"]);
    assert!(again.status.success());
    let doc: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(doc["hosts"][0]["execs"], 1);
    assert_eq!(status(&fleet)["result"], "ok");

    // A new commit reaches the host, with its handler.
    write(
        &fleet.repo.join("templates/motd.j2"),
        "release 2 on {{ inventory_hostname }}\n",
    );
    git(&fleet.repo, &["commit", "-qam", "release 2"]);
    assert!(pull(&fleet, &[]).status.success());
    assert_eq!(read(&fleet.out.join("motd")), "release 2 on web1\n");
    assert_eq!(read(&fleet.out.join("reloads")), "reload\nreload\n");
    assert_eq!(status(&fleet)["commit"], head(&fleet.repo));

    // Drift is healed with no new commit.
    write(&fleet.out.join("motd"), "edited by hand\n");
    assert!(pull(&fleet, &[]).status.success());
    assert_eq!(read(&fleet.out.join("motd")), "release 2 on web1\n");
    // The file, and the handler it notifies.
    assert_eq!(status(&fleet)["changes"], 2);
    assert_eq!(read(&fleet.out.join("reloads")), "reload\nreload\nreload\n");

    // The repository goes away: the last good commit is still applied, and the failure reported.
    let good = head(&fleet.repo);
    std::fs::rename(&fleet.repo, fleet.repo.with_extension("moved")).unwrap();
    write(&fleet.out.join("motd"), "edited again\n");
    let offline = pull(&fleet, &[]);
    assert!(offline.status.success(), "{}", common::stderr(&offline));
    assert!(common::stderr(&offline).contains("applying the last good commit"));
    assert_eq!(read(&fleet.out.join("motd")), "release 2 on web1\n");
    let s = status(&fleet);
    assert_eq!(s["commit"], good);
    assert!(
        s["fetch_error"].as_str().unwrap().starts_with("git fetch:"),
        "{s}"
    );
}

#[test]
fn verify_commit_applies_only_signed_commits() {
    common::require("`ssh-keygen`", common::which("ssh-keygen").is_some());
    let fleet = fleet();
    let keys = fleet.state.with_file_name("keys");
    std::fs::create_dir_all(&keys).unwrap();
    let key = keys.join("signer");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", "ops@example.org", "-f"])
        .arg(&key)
        .output()
        .unwrap();
    assert!(made.status.success());
    let public = read(&key.with_extension("pub"));
    let signers = keys.join("allowed_signers");
    write(&signers, &format!("ops@example.org {}", public.trim()));
    let sign = |message: &str| {
        git(
            &fleet.repo,
            &[
                "-c",
                "gpg.format=ssh",
                "-c",
                &format!("user.signingkey={}", key.display()),
                "commit",
                "-S",
                "-q",
                "--allow-empty",
                "-m",
                message,
            ],
        )
    };
    sign("signed release 1");
    let verify = ["--verify-commit", "--allowed-signers", signers.to_str().unwrap()];
    let first = pull(&fleet, &verify);
    assert!(first.status.success(), "{}", common::stderr(&first));
    let signed = head(&fleet.repo);
    assert_eq!(status(&fleet)["commit"], signed);

    write(
        &fleet.repo.join("templates/motd.j2"),
        "unsigned {{ inventory_hostname }}\n",
    );
    git(&fleet.repo, &["commit", "-qam", "unsigned"]);
    let refused = pull(&fleet, &verify);
    assert!(refused.status.success(), "the last good commit is still applied");
    let s = status(&fleet);
    assert_eq!(s["commit"], signed);
    assert!(
        s["refused"]
            .as_str()
            .unwrap()
            .contains("is not signed by an allowed key"),
        "{s}"
    );
    assert_eq!(read(&fleet.out.join("motd")), "release 1 on web1\n");
}

#[test]
fn two_pull_runs_never_overlap() {
    let fleet = fleet();
    std::fs::create_dir_all(&fleet.state).unwrap();
    // A run holding the lock: flock on the same file from another process.
    let mut holder = Command::new("flock")
        .arg(fleet.state.join("lock"))
        .args(["sleep", "30"])
        .spawn()
        .expect("flock runs");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let second = pull(&fleet, &[]);
    let _ = holder.kill();
    let _ = holder.wait();
    assert_eq!(second.status.code(), Some(1));
    assert!(
        common::stderr(&second).contains("another `deploy pull` holds"),
        "{}",
        common::stderr(&second)
    );
    assert!(!fleet.out.join("motd").exists());
}

//! Changing hosts: the apply scripts.
//!
//! Each stage of a host's plan becomes one script, run in one exec. Every step in it re-checks
//! its own guard on the host, changes only what differs, and reports a status record, so a
//! host that changed between plan and apply is still handled correctly. The functions all
//! steps share (atomic file writes above all) live in `prelude.sh`, sent once per script.

/// Shell functions every apply script starts with.
pub const PRELUDE: &str = include_str!("prelude.sh");

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shell::Script;
    use std::os::unix::fs::PermissionsExt;
    use std::process::Command;

    fn run(script: &Script) -> std::process::Output {
        let text = format!("{PRELUDE}\n{}", script.as_str());
        Command::new("sh").arg("-c").arg(text).output().expect("sh runs")
    }

    #[test]
    fn writes_atomically_with_mode_from_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("secret.conf");
        let dest = dest.to_str().unwrap();
        let mut script = Script::new();
        script.write_bytes(b"password=s3cret\n", "| deploy_write {} 0600 '' ''", &[dest]);
        let out = run(&script);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(std::fs::read(dest).unwrap(), b"password=s3cret\n");
        let mode = std::fs::metadata(dest).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left");
    }

    #[test]
    fn failed_validation_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("nginx.conf");
        std::fs::write(&dest, "old\n").unwrap();
        let dest = dest.to_str().unwrap();
        let mut script = Script::new();
        script.write_bytes(
            b"new but bad\n",
            "| deploy_write {} '' '' '' grep -q good %s",
            &[dest],
        );
        let out = run(&script);
        assert!(!out.status.success());
        assert_eq!(std::fs::read(dest).unwrap(), b"old\n");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("validation failed (exit 1): grep -q good %s"),
            "{stderr}"
        );
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // The same content passes a validator that accepts it.
        let mut script = Script::new();
        script.write_bytes(
            b"new and good\n",
            "| deploy_write {} '' '' '' grep -q good %s",
            &[dest],
        );
        assert!(run(&script).status.success());
        assert_eq!(std::fs::read(dest).unwrap(), b"new and good\n");
    }

    #[test]
    fn keeps_the_mode_of_an_existing_file_when_none_is_asked() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        std::fs::write(&dest, "old\n").unwrap();
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o640)).unwrap();
        let dest = dest.to_str().unwrap();
        let mut script = Script::new();
        script.write_bytes(b"new\n", "| deploy_write {} '' '' ''", &[dest]);
        assert!(run(&script).status.success());
        let mode = std::fs::metadata(dest).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
    }

    #[test]
    fn cleans_temporary_files_of_interrupted_runs() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".deploy-tmp.ABCDEFGH"), "partial").unwrap();
        std::fs::write(dir.path().join("keep"), "x").unwrap();
        let mut script = Script::new();
        script.line("deploy_clean_temps {}", &[dir.path().to_str().unwrap()]);
        assert!(run(&script).status.success());
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, ["keep"]);
    }
}

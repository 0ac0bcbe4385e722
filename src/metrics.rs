//! The Prometheus metrics of `deploy check --metrics-file PATH`.
//!
//! Cron runs `deploy check`; node_exporter's textfile collector reads the file it leaves, so
//! drift, unreachable hosts and a check that stopped running all become alerts. The file is
//! replaced atomically: the collector never reads half of it.

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};

use crate::engine::RunReport;
use crate::report::natural_cmp;

/// The metrics of one `check` run, in the text exposition format.
///
/// Per host: `deploy_check_host_up` (0 when unreachable), `deploy_check_host_failed` (1 when
/// the host could not be checked: unreachable, a failed probe, a bad template) and, for hosts
/// checked completely, `deploy_check_drifted_resources`. For the run:
/// `deploy_check_last_run_timestamp_seconds` and `deploy_check_duration_seconds`.
pub fn render_check_metrics(report: &RunReport, duration: Duration, finished: SystemTime) -> String {
    let mut hosts: Vec<_> = report.hosts.iter().collect();
    hosts.sort_by(|a, b| natural_cmp(&a.plan.host, &b.plan.host));
    let mut out = String::new();
    family(
        &mut out,
        "deploy_check_drifted_resources",
        "Resources that differ from the playbook, per host checked completely.",
    );
    for host in hosts.iter().filter(|h| !h.failed()) {
        let _ = writeln!(
            out,
            "deploy_check_drifted_resources{{host=\"{}\"}} {}",
            escape_label(&host.plan.host),
            host.plan.changes()
        );
    }
    family(
        &mut out,
        "deploy_check_host_up",
        "1 when the host answered, 0 when it was unreachable.",
    );
    for host in &hosts {
        let _ = writeln!(
            out,
            "deploy_check_host_up{{host=\"{}\"}} {}",
            escape_label(&host.plan.host),
            u8::from(!host.unreachable)
        );
    }
    family(
        &mut out,
        "deploy_check_host_failed",
        "1 when the host could not be checked (unreachable, probe or template error).",
    );
    for host in &hosts {
        let _ = writeln!(
            out,
            "deploy_check_host_failed{{host=\"{}\"}} {}",
            escape_label(&host.plan.host),
            u8::from(host.failed())
        );
    }
    family(
        &mut out,
        "deploy_check_last_run_timestamp_seconds",
        "When the last check finished, in seconds since the Unix epoch.",
    );
    let timestamp = finished
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64();
    let _ = writeln!(out, "deploy_check_last_run_timestamp_seconds {timestamp:.3}");
    family(
        &mut out,
        "deploy_check_duration_seconds",
        "How long the last check took, in seconds.",
    );
    let _ = writeln!(out, "deploy_check_duration_seconds {:.3}", duration.as_secs_f64());
    out
}

fn family(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
}

/// A label value as the exposition format writes it: `\`, `"` and line feeds escaped.
pub fn escape_label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Writes `text` to `path` so that a reader never sees half of it: a temporary file in the
/// same directory (same file system, so the rename is atomic), then a rename over the old one.
pub fn write_atomically(path: &Path, text: &str) -> Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::PermissionsExt as _;
    let name = path
        .file_name()
        .with_context(|| format!("the metrics file {} names no file", path.display()))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    // A name not ending in `.prom`: the textfile collector skips it while it is written.
    let temporary = dir.join(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(text.as_bytes())?;
        // node_exporter usually runs as another user: it must be able to read the file.
        file.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(err).with_context(|| format!("cannot write the metrics file {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::host::HostReport;
    use crate::plan::{Action, Diff, HostPlan, PlannedStep};

    fn host(name: &str, drifted: usize) -> HostReport {
        let step = PlannedStep {
            module: "file".into(),
            target: "/etc/x".into(),
            task: "x".into(),
            location: "site.yml:3".into(),
            role: None,
            diff: Diff::new(Action::Change),
            notify: vec![],
            fingerprint: None,
        };
        HostReport {
            plan: HostPlan {
                host: name.into(),
                address: name.into(),
                steps: vec![step; drifted],
                handlers: vec![],
                error: None,
            },
            ..HostReport::default()
        }
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label(r#"a"b\c"#), r#"a\"b\\c"#);
        assert_eq!(escape_label("a\nb"), "a\\nb");
    }

    #[test]
    fn unreachable_hosts_are_down_and_have_no_drift_count() {
        let mut down = host("h2", 0);
        down.unreachable = true;
        down.plan.error = Some("unreachable: refused".into());
        let report = RunReport {
            hosts: vec![down, host("h1", 2)],
            ..RunReport::default()
        };
        let text = render_check_metrics(
            &report,
            Duration::from_millis(1500),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        );
        assert!(
            text.contains("deploy_check_drifted_resources{host=\"h1\"} 2\n"),
            "{text}"
        );
        assert!(
            !text.contains("deploy_check_drifted_resources{host=\"h2\"}"),
            "{text}"
        );
        assert!(text.contains("deploy_check_host_up{host=\"h2\"} 0\n"), "{text}");
        assert!(
            text.contains("deploy_check_host_failed{host=\"h2\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("deploy_check_last_run_timestamp_seconds 1700000000.000\n"),
            "{text}"
        );
        assert!(text.contains("deploy_check_duration_seconds 1.500\n"), "{text}");
        assert!(text.contains("# TYPE deploy_check_host_up gauge\n"), "{text}");
    }

    #[test]
    fn the_file_is_replaced_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("deploy.prom");
        std::fs::write(&path, "old").unwrap();
        write_atomically(&path, "new\n").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new\n");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no temporary file is left behind");
    }
}

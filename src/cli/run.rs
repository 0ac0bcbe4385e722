//! `deploy plan`, `apply` and `check` on the command line: from flags to the engine's
//! options, Ctrl-C to its cancellation, its events to progress lines and `--log-file`, and
//! its outcome to the chosen output format, the saved plan, the retry file, the metrics
//! file and the exit code.

use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::{Context as _, Result};

use crate::cli::{exit, Format, RunArgs};
use crate::engine::cancel::Stopped;
use crate::engine::events::{Events, Fanout};
use crate::engine::host::Status;
use crate::engine::{Cancel, Defaults, Mode, RunOptions, RunReport};
use crate::plan::HostPlan;
use crate::report::{self, Style};
use crate::transport::{BecomeMethod, HostKeyPolicy, Secret};

/// Hosts worked on at once when neither `--forks` nor ansible.cfg says.
const DEFAULT_FORKS: usize = 50;
/// Seconds to wait for a host when neither `--timeout` nor ansible.cfg says (Ansible's too).
const DEFAULT_TIMEOUT: u64 = 10;

/// `plan`, `apply` and `check`. With `--format json`, a run that cannot start still prints one
/// JSON document (with an `error`) on stdout; the error also goes to stderr as usual.
pub fn run_playbook(mode: Mode, args: &RunArgs, no_color: bool, verbose: u8) -> Result<ExitCode> {
    let outcome = if args.metrics_file.is_some() && mode != Mode::Check {
        Err(anyhow::anyhow!("--metrics-file is only for `deploy check`"))
    } else {
        run(mode, args, no_color, verbose)
    };
    if let Err(err) = &outcome {
        if err.downcast_ref::<Stopped>().is_some() {
            eprintln!("stopped");
            return Ok(ExitCode::from(exit::INTERRUPTED));
        }
        if args.format == Format::Json {
            let document = report::error_document(mode, err, exit::ERROR);
            println!("{}", serde_json::to_string_pretty(&document)?);
        }
    }
    outcome
}

fn run(mode: Mode, args: &RunArgs, no_color: bool, verbose: u8) -> Result<ExitCode> {
    let (options, report, elapsed) = execute(mode, args, verbose)?;
    if mode == Mode::Apply {
        write_retry_file(&report, &options.playbook);
    }
    if let Some(out) = &args.out {
        save_plan(out, &options, &report)?;
    }
    print_run(mode, &report, args, no_color, elapsed)
}

/// Runs the engine for `plan`, `apply` or `check` (and `deploy pull`), and gives its report.
pub(crate) fn execute(mode: Mode, args: &RunArgs, verbose: u8) -> Result<(RunOptions, RunReport, Duration)> {
    let settings = crate::cli::ansible_settings()?;
    // Before anything is loaded: vault files and `!vault` values are decrypted as they are read.
    crate::cli::vault::install(&args.vault, &settings)?;
    let become_password = if args.ask_become_pass || settings.become_ask_pass == Some(true) {
        Some(Secret::new(crate::transport::read_password("BECOME password: ")?))
    } else {
        None
    };
    let saved = if mode == Mode::Apply && crate::saved::is_saved_plan(&args.playbook) {
        Some(load_saved_plan(args)?)
    } else {
        None
    };
    let inventories = crate::cli::inventories(&args.inventories, &settings);
    if saved.is_none() && inventories.is_empty() {
        anyhow::bail!(
            "an inventory is required: -i INVENTORY, or `inventory` under [defaults] in ansible.cfg \
             (or `deploy apply PLAN.json` for a saved plan)"
        );
    }
    if args.out.is_some() && mode != Mode::Plan {
        anyhow::bail!("--out saves a plan: it goes with `deploy plan`");
    }
    let options = RunOptions {
        mode,
        inventories: saved
            .as_ref()
            .map_or_else(|| inventories.clone(), |s| s.inventories.clone()),
        playbook: saved
            .as_ref()
            .map_or_else(|| args.playbook.clone(), |s| s.playbook.clone()),
        limit: saved
            .as_ref()
            .map_or_else(|| args.limit.clone(), |s| s.limit.clone()),
        tags: saved
            .as_ref()
            .map_or_else(|| args.tags.clone(), |s| s.tags.clone()),
        skip_tags: saved
            .as_ref()
            .map_or_else(|| args.skip_tags.clone(), |s| s.skip_tags.clone()),
        extra_vars: args.extra_vars.clone(),
        forks: args.forks.or(settings.forks).unwrap_or(DEFAULT_FORKS),
        become_password,
        host_keys: host_key_policy(args.ssh_accept_new, settings.host_key_checking),
        connect_timeout: Duration::from_secs(args.timeout.or(settings.timeout).unwrap_or(DEFAULT_TIMEOUT)),
        force_handlers: args.force_handlers,
        lock_timeout: Duration::from_secs(args.lock_timeout),
        step_timeout: args.step_timeout.map(Duration::from_secs),
        expected: saved.as_ref().map(|s| {
            Arc::new(
                s.hosts
                    .iter()
                    .map(|h| (h.host.clone(), h.steps.clone()))
                    .collect::<HashMap<_, _>>(),
            )
        }),
        defaults: Defaults {
            remote_user: settings.remote_user,
            private_key: settings.private_key_file,
            become_: settings.become_.unwrap_or(false),
            become_method: settings.become_method.as_deref().and_then(BecomeMethod::parse),
            become_user: settings.become_user,
            roles_path: settings.roles_path.unwrap_or_default(),
        },
    };
    let json = args.format == Format::Json;
    let bars = verbose == 0 && std::io::stderr().is_terminal();
    let mut watchers: Vec<Box<dyn Events>> = vec![Box::new(crate::cli::progress::Progress::new(
        mode != Mode::Apply || json,
        bars,
    ))];
    if let Some(path) = &args.log_file {
        watchers.push(Box::new(crate::cli::log_file::LogFile::open(path)?));
    }
    let events: Arc<dyn Events> = Arc::new(Fanout(watchers));
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let cancel = Cancel::new();
    let started = std::time::Instant::now();
    let report = runtime.block_on(async {
        watch_interrupts(cancel.clone());
        crate::engine::run(options.clone(), events, cancel).await
    });
    // Every host's task, and its connection, ends with the runtime: a run stopped at once
    // still closes its ssh ControlMasters.
    drop(runtime);
    Ok((options, report?, started.elapsed()))
}

/// `--ssh-accept-new` wins; `host_key_checking = False` turns checking off; anything else,
/// and nothing said, checks host keys strictly.
fn host_key_policy(accept_new: bool, host_key_checking: Option<bool>) -> HostKeyPolicy {
    match host_key_checking {
        _ if accept_new => HostKeyPolicy::AcceptNew,
        Some(false) => HostKeyPolicy::Off,
        Some(true) | None => HostKeyPolicy::Strict,
    }
}

/// First Ctrl-C: let running steps finish, start no new ones, report. Second: stop at once.
fn watch_interrupts(cancel: Cancel) {
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.stop_starting();
            eprintln!("\ninterrupted: letting running steps finish; press Ctrl-C again to stop at once");
            if tokio::signal::ctrl_c().await.is_ok() {
                cancel.stop_now();
            }
        }
    });
}

/// Prints the outcome of `deploy plan|apply|check` in the chosen format, writes the metrics
/// file of `check`, and gives the exit code.
pub(crate) fn print_run(
    mode: Mode,
    report: &RunReport,
    args: &RunArgs,
    no_color: bool,
    duration: Duration,
) -> Result<ExitCode> {
    let code = exit::of(report.verdict(mode));
    if let Some(path) = &args.metrics_file {
        let text = crate::metrics::render_check_metrics(report, duration, SystemTime::now());
        crate::metrics::write_atomically(path, &text)?;
    }
    if args.format == Format::Json {
        let document = report::json_document(report, mode, code);
        println!("{}", serde_json::to_string_pretty(&document)?);
        return Ok(ExitCode::from(code));
    }
    if let Some(reason) = &report.aborted {
        eprintln!("error: {reason}");
        if !report.untouched.is_empty() {
            eprintln!("hosts never touched: {}", report.untouched.join(", "));
        }
    }
    // Cron mails whatever a job prints: `check` is silent unless asked, or on a terminal.
    let quiet = args.quiet || (mode == Mode::Check && !std::io::stdout().is_terminal());
    let plans: Vec<HostPlan> = report.hosts.iter().map(|h| h.plan.clone()).collect();
    let nothing_to_report = match mode {
        Mode::Plan | Mode::Check => code == exit::OK,
        Mode::Apply => code == exit::OK && report.hosts.iter().all(|h| h.count(&Status::Changed) == 0),
    };
    if quiet && nothing_to_report {
        return Ok(ExitCode::from(code));
    }
    let style = Style {
        color: !no_color && std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal(),
    };
    let text = match (mode, args.format) {
        (Mode::Plan, Format::Markdown) => report::render_plan_markdown(&plans, "Plan"),
        (Mode::Check, Format::Markdown) => report::render_plan_markdown(&plans, "Drift"),
        (Mode::Apply, Format::Markdown) => report::render_recap_markdown(report),
        (Mode::Plan, _) => report::render_plan(&plans, style),
        (Mode::Check, _) => {
            let mut text = report::render_drift(&plans);
            if !quiet {
                text.push_str(&report::drift_summary(&plans));
            }
            text
        }
        (Mode::Apply, _) => report::render_recap(report),
    };
    print!("{text}");
    Ok(ExitCode::from(code))
}

/// Reads a saved plan and checks that the run's inputs are still the ones it was made from.
fn load_saved_plan(args: &RunArgs) -> Result<crate::saved::SavedPlan> {
    let saved = crate::saved::load(&args.playbook)?;
    if !args.inventories.is_empty() || args.limit.is_some() || !args.tags.is_empty() {
        anyhow::bail!("a saved plan carries its own inventory, limit and tags: give only `deploy apply PLAN.json [-e ...]`");
    }
    let root = std::env::current_dir().context("cannot read the current directory")?;
    let digest = crate::saved::inputs_digest(&saved.inventories, &saved.playbook, &root)?;
    if digest != saved.inputs_digest {
        anyhow::bail!(
            "refused: the inventory or playbook files changed since {} was made; plan again",
            args.playbook.display()
        );
    }
    if crate::saved::extra_vars_digest(&args.extra_vars) != saved.extra_vars_digest {
        anyhow::bail!(
            "refused: the plan was made with other -e arguments; give the same ones (they are not stored)"
        );
    }
    Ok(saved)
}

/// Writes `deploy plan --out`: the inputs, their digests, and each host's probed steps.
fn save_plan(out: &Path, options: &RunOptions, report: &RunReport) -> Result<()> {
    let root = std::env::current_dir().context("cannot read the current directory")?;
    let plan = crate::saved::SavedPlan {
        deploy_saved_plan: crate::saved::VERSION,
        inventories: options.inventories.clone(),
        playbook: options.playbook.clone(),
        limit: options.limit.clone(),
        tags: options.tags.clone(),
        skip_tags: options.skip_tags.clone(),
        extra_vars_digest: crate::saved::extra_vars_digest(&options.extra_vars),
        inputs_digest: crate::saved::inputs_digest(&options.inventories, &options.playbook, &root)?,
        hosts: report
            .hosts
            .iter()
            .filter(|h| !h.failed())
            .map(|h| crate::saved::SavedHost {
                host: h.plan.host.clone(),
                steps: h
                    .plan
                    .steps
                    .iter()
                    .filter_map(|s| {
                        s.fingerprint.as_ref().map(|f| crate::saved::SavedStep {
                            location: s.location.clone(),
                            task: s.task.clone(),
                            fingerprint: f.clone(),
                        })
                    })
                    .collect(),
            })
            .collect(),
    };
    crate::saved::write(out, &plan)?;
    eprintln!(
        "plan saved to {} (apply it with: deploy apply {})",
        out.display(),
        out.display()
    );
    Ok(())
}

/// After a run with failed or unreachable hosts, lists them in `PLAYBOOK.retry` beside the
/// playbook (as Ansible does), so `--limit @PLAYBOOK.retry` reruns only them.
fn write_retry_file(report: &RunReport, playbook: &Path) {
    let mut failed: Vec<&str> = report
        .hosts
        .iter()
        .filter(|h| h.failed())
        .map(|h| h.plan.host.as_str())
        .collect();
    failed.extend(report.untouched.iter().map(String::as_str));
    if failed.is_empty() {
        return;
    }
    let path = playbook.with_extension("retry");
    let text: String = failed.iter().map(|h| format!("{h}\n")).collect();
    match std::fs::write(&path, text) {
        Ok(()) => eprintln!(
            "retry file: {} (rerun only these hosts with --limit @{})",
            path.display(),
            path.display()
        ),
        Err(err) => eprintln!("warning: cannot write the retry file {}: {err}", path.display()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_keys_are_checked_unless_ansible_cfg_or_a_flag_says_otherwise() {
        assert_eq!(host_key_policy(false, None), HostKeyPolicy::Strict);
        assert_eq!(host_key_policy(false, Some(true)), HostKeyPolicy::Strict);
        assert_eq!(host_key_policy(false, Some(false)), HostKeyPolicy::Off);
        assert_eq!(host_key_policy(true, Some(false)), HostKeyPolicy::AcceptNew);
        assert_eq!(host_key_policy(true, None), HostKeyPolicy::AcceptNew);
        assert_eq!(HostKeyPolicy::default(), HostKeyPolicy::Strict);
    }
}

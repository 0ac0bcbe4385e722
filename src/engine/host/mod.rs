//! One host's run: a conversation with one remote shell.
//!
//! The shell is opened once per host (per privilege), and everything goes through it: facts,
//! then the probes of every task it can resolve, then (when applying) the changes, stage by
//! stage, then the handlers. Each of those is a round of writes and reads within the same
//! exec, which is what keeps a no-op run at one exec per host however many tasks there are.

mod control;
mod conversation;
mod delegate;
mod files;
mod handlers;
mod outcome;
pub mod redact;
mod resolve;
mod stage;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context as _, Result};
use indexmap::IndexMap;
use serde_json::{json, Value as Json};

use crate::apply::{StageScript, StepOutcome};
use crate::engine::{Mode, RunShared};
use crate::error::Pos;
use crate::plan::{Action, Diff, HostPlan, PlannedHandler, PlannedStep};
use crate::playbook::walk::{self, Context, Item};
use crate::playbook::{Play, Task};
use crate::probe::ProbeScript;
use crate::resource::lifecycle::{paths_overlap, Args, BuildContext, Step};
use crate::resource::ModuleKind;
use crate::shell::Script;
use crate::template::Origin;
use crate::transport::{random_token, Become, BecomeMethod, Connection, RemoteShell, Target};
use crate::vars::{Layer, VarMap, VarStack};

pub use self::outcome::{HostReport, Status, StepResult};
use self::{conversation::*, delegate::*, files::*, handlers::*, redact::*, resolve::*, stage::*};

/// The state of one host across the plays of a run.
pub struct HostRunner {
    pub name: String,
    target: Target,
    connection: Option<Connection>,
    shell: Option<(ShellUser, RemoteShell)>,
    token: String,
    /// Facts as gathered (exposed to templates when the play gathers facts).
    facts: VarMap,
    /// `set_fact` and registered results: they outlive the play, as in Ansible.
    host_facts: VarMap,
    /// Variables from `include_vars`: they outlive the play too, below `set_fact`.
    included_vars: Arc<VarMap>,
    registered: HashMap<String, Registered>,
    /// Handlers a failed earlier run had notified, read from the host.
    pending_handlers: Vec<String>,
    /// Values that must never be shown: `deploy_secret_vars`, `no_log` parameters, passwords.
    secrets: BTreeSet<String>,
    /// Steps of a saved plan already matched to probed steps, by index.
    matched: BTreeSet<usize>,
    /// Steps whose state differs from what a saved plan saw.
    drifted: Vec<String>,
    /// Whether the tasks being resolved are notified handlers (their converged steps still run:
    /// a `daemon_reload` or `wait_for` handler plans as converged but must act when notified).
    in_handlers: bool,
    /// A plan never applies: once it has planned a change (or a handler) on this host, every
    /// later probe reads the host as it is before that change, not as apply would find it.
    planned_unapplied: bool,
    /// Connections to the hosts tasks are delegated to (`delegate_to`), kept for the run.
    delegates: HashMap<String, Delegate>,
    /// While a delegated task runs: the host it runs on (its connection is swapped in).
    delegated_to: Option<String>,
    /// While this host runs a `run_once` task for the batch.
    in_run_once: bool,
    report: HostReport,
    next_id: usize,
    rounds: usize,
}

impl HostRunner {
    pub fn new(name: &str, target: Target) -> HostRunner {
        HostRunner {
            name: name.to_string(),
            report: HostReport {
                plan: HostPlan {
                    host: name.to_string(),
                    address: target.address.clone(),
                    ..HostPlan::default()
                },
                ..HostReport::default()
            },
            target,
            connection: None,
            shell: None,
            token: random_token(),
            facts: VarMap::new(),
            host_facts: VarMap::new(),
            included_vars: Arc::default(),
            registered: HashMap::new(),
            pending_handlers: Vec::new(),
            in_handlers: false,
            planned_unapplied: false,
            matched: BTreeSet::new(),
            drifted: Vec::new(),
            secrets: BTreeSet::new(),
            delegates: HashMap::new(),
            delegated_to: None,
            in_run_once: false,
            next_id: 0,
            rounds: 0,
        }
    }

    pub fn failed(&self) -> bool {
        self.report.failed()
    }

    /// The facts gathered on this host, for `hostvars` of other hosts: both spellings, as
    /// in Ansible (`hostvars[h].ansible_distribution`, `hostvars[h].ansible_facts.distribution`).
    pub fn visible_facts(&self) -> VarMap {
        let mut all = self.facts.clone();
        if !self.facts.is_empty() {
            all.insert(
                "ansible_facts".into(),
                Json::Object(resolve::strip_prefix(&self.facts)),
            );
        }
        all.extend(self.host_facts.clone());
        all
    }

    /// Closes the connection and hands back the report.
    pub async fn finish(mut self) -> HostReport {
        if let Some((_, shell)) = self.shell.take() {
            if let Ok(out) = shell.finish().await {
                if out.status != 0 && !self.report.failed() {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    self.report.plan.error = Some(format!(
                        "the remote shell ended with {}: {}",
                        out.status,
                        stderr.trim()
                    ));
                }
            }
        }
        if let Some(connection) = self.connection.take() {
            self.report.execs = connection.exec_count();
            let _ = connection.close().await;
        }
        for (_, delegate) in self.delegates.drain() {
            delegate.close().await;
        }
        let secrets = self.all_secrets();
        self.secrets.clear();
        redact_report(&mut self.report, &secrets);
        self.report
    }

    /// Tells the run's watchers (progress, `-v`, `--log-file`) how a step ended, secrets redacted.
    fn report_step(&self, run: &RunShared, step: &PlannedStep, status: &Status) {
        let mut shown = step.clone();
        shown.target = self.redact(&shown.target);
        shown.task = self.redact(&shown.task);
        shown.diff.content = None;
        let planned = self
            .report
            .plan
            .steps
            .iter()
            .filter(|s| s.diff.action != Action::Skipped)
            .count();
        tracing::info!(host = %self.name, status = status.word(), module = %shown.module, target = %shown.target, task = %shown.task, location = %shown.location, "step");
        run.events.step_done(&self.name, &shown, status, planned);
    }

    /// Runs (or plans) one play on this host. Errors are recorded in the report, not returned:
    /// one host failing never stops the others.
    pub async fn run_play(&mut self, run: &RunShared, play: &Play, play_hosts: &[String]) {
        if self.failed() {
            return;
        }
        if let Err(err) = self.run_play_inner(run, play, play_hosts).await {
            let message = format!("{err:#}");
            if self.connection.is_none() {
                self.report.unreachable = true;
            }
            self.report.plan.error = Some(message);
        }
        run.play_done(&json!(play_hosts).to_string(), &self.name);
    }

    async fn run_play_inner(&mut self, run: &RunShared, play: &Play, play_hosts: &[String]) -> Result<()> {
        let play_become = play_become(play, run.options.defaults.become_);
        let method = play_become_method(play)
            .or(self.target.become_method)
            .unwrap_or_default();
        self.ensure_shell(run, play_become.clone(), method).await?;
        if self.facts.is_empty() {
            self.gather_facts().await?;
            run.publish_facts(&self.name, self.visible_facts());
        }
        let gather = !matches!(
            play.gather_facts.as_ref().map(|f| &f.value),
            Some(crate::playbook::Templated::Literal(false))
        );
        let base = self.base_stack(run, play, play_hosts, gather)?;
        self.collect_secret_vars(run, &base)?;
        let items = walk::play_items(play);
        let mut stage = Stage::default();
        for name in &self.pending_handlers {
            let here = play.all_handlers().iter().any(|h| {
                h.name.as_ref().is_some_and(|n| &n.value == name) || h.listen.iter().any(|l| &l.value == name)
            });
            if here {
                stage.notified.push((name.clone(), PENDING_BY.to_string()));
                if run.options.mode != Mode::Apply {
                    let step = PlannedStep {
                        module: "handler".into(),
                        target: "(notified by a failed earlier run)".into(),
                        task: name.clone(),
                        location: String::new(),
                        role: None,
                        diff: Diff::new(Action::Run),
                        notify: Vec::new(),
                        fingerprint: None,
                    };
                    self.report.plan.steps.push(step);
                }
            }
        }
        let result = self.run_items(run, play, &base, &items, &mut stage).await;
        let result = match result {
            Ok(()) => self.flush(run, &mut stage).await,
            Err(e) => Err(e),
        };
        // Temporary files a killed earlier run left beside managed files go now, even when
        // nothing else changes (same exec: one more round).
        if result.is_ok() && run.options.mode == Mode::Apply {
            self.clean_temporary_files().await?;
        }
        // Handlers run when notified, unless the host failed: then they are recorded on the
        // host and run by the next apply (or now, with --force-handlers).
        if result.is_ok() || run.options.force_handlers {
            self.run_handlers(run, play, &base, &mut stage.notified).await?;
        } else if run.options.mode == Mode::Apply && !stage.notified.is_empty() {
            let mut names: Vec<String> = self.pending_handlers.clone();
            names.extend(stage.notified.iter().map(|(name, _)| name.clone()));
            names.sort();
            names.dedup();
            // Best effort: the shell may be gone with the failure that got us here.
            let _ = self.save_pending_handlers(&names).await;
        }
        result
    }

    /// Removes `.deploy-tmp.*` files left by an interrupted run in the directories of the
    /// paths this play manages.
    async fn clean_temporary_files(&mut self) -> Result<()> {
        let dirs: BTreeSet<String> = self
            .report
            .plan
            .steps
            .iter()
            .filter(|s| s.target.starts_with('/'))
            .filter_map(|s| {
                std::path::Path::new(&s.target)
                    .parent()
                    .map(|p| p.display().to_string())
            })
            .collect();
        if dirs.is_empty() {
            return Ok(());
        }
        let mut script = Script::new();
        for dir in &dirs {
            script.line("[ -d {} ] && deploy_clean_temps {}", &[dir, dir]);
        }
        script.raw("true");
        let mut probe = ProbeScript::new(&self.token);
        probe.section("clean", &script);
        self.round(probe).await?;
        Ok(())
    }

    /// The contexts a dynamic include runs its tasks in: none when its conditions do not
    /// hold, one per loop item (with `item`, or its `loop_var`) when it loops, else one.
    fn include_iterations(
        &self,
        run: &RunShared,
        base: &VarStack,
        own: &[crate::playbook::Located<String>],
        loop_: &Option<crate::playbook::Loop>,
        pos: &Pos,
        context: &Context,
    ) -> Result<Vec<Context>> {
        let stack = self.task_stack(base, context, &BTreeMap::new());
        let origin = Origin::new(pos.clone());
        // The enclosing blocks' conditions first (they stay on the included tasks too).
        if !self.conditions_hold(run, &context.when, &[], &stack, &origin)? {
            return Ok(Vec::new());
        }
        let Some(l) = loop_ else {
            let holds = self.conditions_hold(run, &[], own, &stack, &origin)?;
            return Ok(if holds { vec![context.clone()] } else { Vec::new() });
        };
        let loop_var = l.loop_var.as_ref().map_or("item", |v| v.value.as_str());
        let mut contexts = Vec::new();
        for (index, item) in resolve::loop_items(run, "include", context, l, &stack)?
            .into_iter()
            .enumerate()
        {
            let mut inner = context.clone().with_var(loop_var, item);
            if let Some(index_var) = &l.index_var {
                inner = inner.with_var(&index_var.value, json!(index));
            }
            let item_stack = self.task_stack(base, &inner, &BTreeMap::new());
            if self.conditions_hold(run, &[], own, &item_stack, &origin)? {
                contexts.push(inner);
            }
        }
        Ok(contexts)
    }

    async fn gather_facts(&mut self) -> Result<()> {
        let mut probe = ProbeScript::new(&self.token);
        probe.section("facts", &crate::facts::script());
        let mut pending = Script::new();
        pending.line("cat {} 2>/dev/null || true", &[PENDING_FILE]);
        probe.section("pending", &pending);
        let sections = self.round(probe).await?;
        let facts = crate::facts::parse(&sections["facts"].output)?;
        self.facts = facts.into_iter().collect();
        self.pending_handlers = String::from_utf8_lossy(&sections["pending"].output)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect();
        Ok(())
    }

    /// Runs a play's items in order, expanding dynamic includes as they are reached. (Boxed:
    /// an include's items run through here too.)
    fn run_items<'a>(
        &'a mut self,
        run: &'a RunShared,
        play: &'a Play,
        base: &'a VarStack,
        items: &'a [Item<'_>],
        stage: &'a mut Stage,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>> {
        Box::pin(async move {
            for item in items {
                match item {
                    Item::Task(task, context) => {
                        self.run_task(run, play, base, task, context, stage).await?;
                    }
                    Item::Include(include, context) => {
                        let own = &include.keywords.when;
                        for context in
                            self.include_iterations(run, base, own, &include.loop_, &include.pos, context)?
                        {
                            let stack = self.task_stack(base, &context, &BTreeMap::new());
                            let file = run.templar.render_str(
                                &include.file.value,
                                &stack,
                                &Origin::new(include.file.pos.clone()),
                            )?;
                            let file = file.as_str().with_context(|| {
                                format!(
                                    "{}: include_tasks: the file name is not a string",
                                    include.file.pos
                                )
                            })?;
                            let base_dir = include
                                .pos
                                .path
                                .parent()
                                .map(std::path::Path::to_path_buf)
                                .unwrap_or_default();
                            let path = base_dir.join(file);
                            let loaded;
                            let steps = match (&include.tasks, &include.path) {
                                // Loaded with the playbook, and the same file for this host.
                                (Some(tasks), Some(preloaded)) if *preloaded == path => tasks,
                                _ => {
                                    loaded = crate::playbook::load_task_file(
                                        &path,
                                        include.role.clone(),
                                        &run.playbook_dir,
                                        &run.load_options,
                                    )?;
                                    &loaded
                                }
                            };
                            // The included steps live as long as the host runs them, no longer.
                            let mut inner = Vec::new();
                            walk::flatten(steps, &context, &mut inner);
                            self.run_items(run, play, base, &inner, stage).await?;
                        }
                    }
                    Item::IncludeRole(step, context) => {
                        let own = &step.keywords.when;
                        for context in
                            self.include_iterations(run, base, own, &step.loop_, &step.pos, context)?
                        {
                            let stack = self.task_stack(base, &context, &BTreeMap::new());
                            let mut params = step.params.clone();
                            for param in params.values_mut() {
                                param.value = run.templar.render_value(
                                    &param.value,
                                    &stack,
                                    &Origin::new(param.pos.clone()),
                                )?;
                            }
                            let name = run.templar.render_str(
                                &step.role_name.value,
                                &stack,
                                &Origin::new(step.role_name.pos.clone()),
                            )?;
                            let name = crate::playbook::Located {
                                value: name.as_str().map_or_else(|| name.to_string(), str::to_string),
                                pos: step.role_name.pos.clone(),
                            };
                            let loaded;
                            let role = match &step.role {
                                Some(role) if name.value == step.role_name.value => role,
                                _ => {
                                    loaded = crate::playbook::load_included_role(
                                        &name,
                                        &params,
                                        &run.playbook_dir,
                                        &run.load_options,
                                    )?;
                                    &loaded
                                }
                            };
                            let mut inner = Vec::new();
                            walk::flatten_role(role, &context, &mut inner);
                            self.run_items(run, play, base, &inner, stage).await?;
                        }
                    }
                    Item::Rescued {
                        block,
                        rescue,
                        always,
                    } => {
                        let attempt = self.run_items(run, play, base, block, stage).await;
                        let attempt = match attempt {
                            Ok(()) => self.flush(run, stage).await,
                            Err(e) => Err(e),
                        };
                        if let Err(err) = attempt {
                            if self.connection.is_none() {
                                return Err(err);
                            }
                            self.host_facts
                                .insert("ansible_failed_result".into(), json!({"msg": format!("{err:#}")}));
                            self.run_items(run, play, base, rescue, stage).await?;
                        }
                        self.run_items(run, play, base, always, stage).await?;
                    }
                }
            }
            Ok(())
        })
    }
}

//! One host's run: a conversation with one remote shell.
//!
//! The shell is opened once per host (per privilege), and everything goes through it: facts,
//! then the probes of every task it can resolve, then (when applying) the changes, stage by
//! stage, then the handlers. Each of those is a round of writes and reads within the same
//! exec, which is what keeps a no-op run at one exec per host however many tasks there are.

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

/// The outcome of one step, for the apply report.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Changed,
    Failed,
    Skipped,
    NotRun,
}

/// One applied step, for the report.
#[derive(Clone, Debug, serde::Serialize)]
pub struct StepResult {
    pub step: PlannedStep,
    pub status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Everything that happened on one host.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct HostReport {
    pub plan: HostPlan,
    pub results: Vec<StepResult>,
    pub unreachable: bool,
    /// Remote execs used (after connecting).
    pub execs: usize,
}

impl HostReport {
    pub fn failed(&self) -> bool {
        self.plan.error.is_some()
    }

    pub fn count(&self, status: &Status) -> usize {
        self.results.iter().filter(|r| &r.status == status).count()
    }
}

/// What a `register`ed name holds.
#[derive(Clone, Debug)]
enum Registered {
    Known(Json),
    /// The step changes something; its result exists only after apply.
    Pending,
}

/// A step planned in the current stage and not yet applied.
struct Pending {
    id: String,
    display: PlannedStep,
    script: Script,
    /// Runs at apply even though the plan shows no change (`changed_when: false` commands).
    always_run: bool,
    register: Option<String>,
    notify: Vec<String>,
    changed_when: Vec<(String, Pos)>,
    failed_when: Vec<(String, Pos)>,
    ignore_errors: bool,
    stack: VarStack,
    origin: Origin,
    /// Seconds the step may run.
    timeout: Option<u64>,
    /// `no_log`: the step's target, content and output are never shown.
    no_log: bool,
    /// What the step manages (a path, a package list), unredacted: a later step on the same
    /// target must wait for this one to be applied.
    target: String,
}

/// A resource step waiting for its probe.
struct Unprobed {
    id: String,
    step: Box<dyn Step>,
    become_user: Option<String>,
    meta: Pending,
}

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
            registered: HashMap::new(),
            pending_handlers: Vec::new(),
            in_handlers: false,
            planned_unapplied: false,
            matched: BTreeSet::new(),
            drifted: Vec::new(),
            secrets: BTreeSet::new(),
            next_id: 0,
            rounds: 0,
        }
    }

    pub fn failed(&self) -> bool {
        self.report.failed()
    }

    /// Whether a change planned earlier in the run is not applied yet: in this stage when
    /// applying, anywhere earlier when planning. What a later probe or query reads may then
    /// differ from what apply will find (a package not installed yet, a user not created).
    fn changes_pending(&self, pending: &[Pending]) -> bool {
        self.planned_unapplied || pending.iter().any(|p| p.display.diff.action.is_change())
    }

    /// The facts gathered on this host, for `hostvars` of other hosts.
    pub fn visible_facts(&self) -> VarMap {
        let mut all = self.facts.clone();
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
        let secrets = std::mem::take(&mut self.secrets);
        redact_report(&mut self.report, &secrets);
        self.report
    }

    /// Remembers the values a run must never show: strings of at least 3 characters.
    fn add_secrets(&mut self, value: &Json) {
        match value {
            Json::String(text) if text.chars().count() >= 3 && !crate::template::is_omit(value) => {
                self.secrets.insert(text.clone());
            }
            Json::Array(items) => items.iter().for_each(|v| self.add_secrets(v)),
            Json::Object(map) => map.values().for_each(|v| self.add_secrets(v)),
            _ => {}
        }
    }

    /// Tells the reporter (progress, `-v`, `--log-file`) how a step ended, secrets redacted.
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
        run.reporter.step_done(&self.name, &shown, status, planned);
    }

    /// `text` with every secret replaced.
    fn redact(&self, text: &str) -> String {
        redact_text(text, &self.secrets)
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
    }

    async fn run_play_inner(&mut self, run: &RunShared, play: &Play, play_hosts: &[String]) -> Result<()> {
        let play_become = play_become(play);
        let method = play_become_method(play)
            .or(self.target.become_method)
            .unwrap_or_default();
        self.ensure_shell(run, play_become.clone(), method).await?;
        if self.facts.is_empty() {
            self.gather_facts().await?;
        }
        let gather = !matches!(
            play.gather_facts.as_ref().map(|f| &f.value),
            Some(crate::playbook::Templated::Literal(false))
        );
        let base = self.base_stack(run, play, play_hosts, gather)?;
        self.collect_secret_vars(run, &base)?;
        let items = walk::play_items(play);
        let mut notified: Vec<(String, String)> = Vec::new();
        for name in &self.pending_handlers {
            let here = play.all_handlers().iter().any(|h| {
                h.name.as_ref().is_some_and(|n| &n.value == name) || h.listen.iter().any(|l| &l.value == name)
            });
            if here {
                notified.push((name.clone(), PENDING_BY.to_string()));
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
        let mut queue: Vec<Unprobed> = Vec::new();
        let mut pending: Vec<Pending> = Vec::new();
        let result = self
            .run_items(run, play, &base, &items, &mut queue, &mut pending, &mut notified)
            .await;
        let result = match result {
            Ok(()) => self.flush(run, &mut queue, &mut pending, &mut notified).await,
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
            self.run_handlers(run, play, &base, &mut notified).await?;
        } else if run.options.mode == Mode::Apply && !notified.is_empty() {
            let mut names: Vec<String> = self.pending_handlers.clone();
            names.extend(notified.iter().map(|(name, _)| name.clone()));
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

    /// Records on the host the handlers still owed to it.
    async fn save_pending_handlers(&mut self, names: &[String]) -> Result<()> {
        let mut script = Script::new();
        if names.is_empty() {
            script.line("rm -f {}", &[PENDING_FILE]);
        } else {
            let text: String = names.iter().map(|n| format!("{n}\n")).collect();
            script.line("mkdir -p {}", &["/var/lib/deploy"]);
            script.pipe_bytes(
                text.as_bytes(),
                &["deploy_write", PENDING_FILE, "0600", "", ""],
                "",
            );
        }
        let mut probe = ProbeScript::new(&self.token);
        probe.section("pending", &script);
        let sections = self.round(probe).await?;
        if sections["pending"].status != 0 {
            bail!("cannot record pending handlers on the host");
        }
        self.pending_handlers = names.to_vec();
        Ok(())
    }

    /// The values of the variables listed in `deploy_secret_vars` (and the become password).
    fn collect_secret_vars(&mut self, run: &RunShared, stack: &VarStack) -> Result<()> {
        if let Some(password) = run
            .options
            .become_password
            .as_ref()
            .or(run.become_passwords.get(&self.name))
        {
            self.secrets.insert(password.expose().to_string());
        }
        if stack.lookup("deploy_secret_vars").is_none() {
            return Ok(());
        }
        let origin = Origin::new(crate::error::Pos::file_start(std::path::Path::new(
            "deploy_secret_vars",
        )));
        let names = run.templar.resolve_var("deploy_secret_vars", stack, &origin)?;
        let names: Vec<String> = match names {
            Json::Array(items) => items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect(),
            Json::String(name) => vec![name],
            other => bail!("`deploy_secret_vars` must be a list of variable names, found {other}"),
        };
        for name in names {
            if stack.lookup(&name).is_some() {
                let value = run.templar.resolve_var(&name, stack, &origin)?;
                self.add_secrets(&value);
            }
        }
        Ok(())
    }

    async fn ensure_shell(
        &mut self,
        run: &RunShared,
        become_user: Option<String>,
        method: BecomeMethod,
    ) -> Result<()> {
        if self.connection.is_none() {
            let connection = tokio::time::timeout(
                run.options.connect_timeout + std::time::Duration::from_secs(5),
                Connection::connect(&self.target),
            )
            .await
            .map_err(|_| anyhow!("unreachable: no answer within {:?}", run.options.connect_timeout))?
            .map_err(|e| anyhow!("unreachable: {e:#}"))?;
            self.connection = Some(connection);
        }
        let wanted = ShellUser {
            user: become_user.clone(),
            method,
        };
        let same = matches!(&self.shell, Some((user, _)) if *user == wanted);
        if !same {
            if let Some((_, old)) = self.shell.take() {
                old.finish().await?;
            }
            let become_ = become_user.as_ref().map(|user| Become {
                method,
                user: user.clone(),
                password: run
                    .options
                    .become_password
                    .clone()
                    .or_else(|| self.target_become_password(run)),
            });
            let connection = self.connection.as_ref().expect("connected above");
            let mut shell = connection.open_shell(become_.as_ref()).await?;
            shell.send(crate::apply::PRELUDE).await?;
            let lock_name = if self.target.local {
                // Several `local` hosts of one run are the same machine: one lock each.
                let safe: String = self
                    .name
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
                    .collect();
                format!("deploy.local-{safe}")
            } else {
                "deploy".to_string()
            };
            shell.send(lock_script(run, &lock_name).as_str()).await?;
            self.shell = Some((wanted, shell));
        }
        Ok(())
    }

    fn target_become_password(&self, run: &RunShared) -> Option<crate::transport::Secret> {
        run.become_passwords.get(&self.name).cloned()
    }

    fn shell(&mut self) -> &mut RemoteShell {
        &mut self.shell.as_mut().expect("the shell is open during a play").1
    }

    /// Sends framed sections and reads them back, within the open shell.
    async fn round(&mut self, probe: ProbeScript) -> Result<BTreeMap<String, crate::probe::Section>> {
        let out = self.exchange(probe.script()).await?;
        probe
            .parse(&out)
            .with_context(|| format!("{}: cannot read what the host answered", self.name))
    }

    /// Sends a script to the open shell, then a sync line, and returns what the script printed
    /// up to that line: one round within the host's single exec.
    async fn exchange(&mut self, script: &Script) -> Result<Vec<u8>> {
        self.rounds += 1;
        let sync = format!("@@{}-sync {}", self.token, self.rounds);
        let mut text = script.as_str().to_string();
        text.push_str(&format!("printf '%s\\n' '{sync}'\n"));
        self.shell().send(&text).await?;
        let mut out = self.shell().read_through_line(&sync).await?;
        out.truncate(out.len() - sync.len() - 1);
        Ok(out)
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

    fn base_stack(
        &self,
        run: &RunShared,
        play: &Play,
        play_hosts: &[String],
        gather: bool,
    ) -> Result<VarStack> {
        let mut stack = VarStack::new();
        stack.push(Layer::Inventory, run.host_vars(&self.name)?);
        // `vars:` of an `import_playbook`, then the play's own (which win).
        stack.push(Layer::PlayVars, node_map(&play.vars));
        stack.push(Layer::PlayVars, node_map(&play.keywords.vars));
        for file in &play.vars_files {
            if let Some(vars) = &file.vars {
                stack.push(Layer::PlayVarsFiles, node_map(vars));
            }
        }
        let mut facts = if gather { self.facts.clone() } else { VarMap::new() };
        if gather {
            facts.insert("ansible_facts".into(), Json::Object(strip_prefix(&self.facts)));
        }
        facts.extend(self.host_facts.clone());
        stack.push(Layer::Facts, facts);
        stack.push(Layer::ExtraVars, run.extra_vars.clone());
        let mut magic = run.magic_vars(&self.name);
        magic.insert("play_hosts".into(), json!(play_hosts));
        magic.insert("ansible_play_hosts".into(), json!(play_hosts));
        magic.insert("ansible_play_batch".into(), json!(play_hosts));
        magic.insert(
            "ansible_check_mode".into(),
            json!(run.options.mode != Mode::Apply),
        );
        stack.push(Layer::Magic, magic);
        stack.set_hostvars(Arc::clone(&run.hostvars));
        Ok(stack)
    }

    #[allow(clippy::too_many_arguments)]
    fn run_items<'p>(
        &'p mut self,
        run: &'p RunShared,
        play: &'p Play,
        base: &'p VarStack,
        items: &'p [Item<'p>],
        queue: &'p mut Vec<Unprobed>,
        pending: &'p mut Vec<Pending>,
        notified: &'p mut Vec<(String, String)>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'p>> {
        Box::pin(async move {
            for item in items {
                match item {
                    Item::Task(task, context) => {
                        self.run_task(run, play, base, task, context, queue, pending, notified)
                            .await?;
                    }
                    Item::Include(include, context) => {
                        let stack = self.task_stack(base, context, &BTreeMap::new());
                        let origin = Origin::new(include.pos.clone());
                        if !self.conditions_hold(run, &context.when, &[], &stack, &origin)? {
                            continue;
                        }
                        let file = run.templar.render_str(&include.file.value, &stack, &origin)?;
                        let file = file
                            .as_str()
                            .context("include_tasks: the file name is not a string")?;
                        let base_dir = include
                            .pos
                            .path
                            .parent()
                            .map(std::path::Path::to_path_buf)
                            .unwrap_or_default();
                        let steps = crate::playbook::load_task_file(
                            &base_dir.join(file),
                            include.role.clone(),
                            &run.playbook_dir,
                            &run.load_options,
                        )?;
                        let leaked: &'p [crate::playbook::Step] = Box::leak(steps.into_boxed_slice());
                        let mut inner = Vec::new();
                        walk::flatten(leaked, context, &mut inner);
                        let inner: &'p [Item<'p>] = Box::leak(inner.into_boxed_slice());
                        self.run_items(run, play, base, inner, queue, pending, notified)
                            .await?;
                    }
                    Item::Rescued {
                        block,
                        rescue,
                        always,
                    } => {
                        let attempt = self
                            .run_items(run, play, base, block, queue, pending, notified)
                            .await;
                        let attempt = match attempt {
                            Ok(()) => self.flush(run, queue, pending, notified).await,
                            Err(e) => Err(e),
                        };
                        if let Err(err) = attempt {
                            if self.connection.is_none() {
                                return Err(err);
                            }
                            self.host_facts
                                .insert("ansible_failed_result".into(), json!({"msg": format!("{err:#}")}));
                            self.run_items(run, play, base, rescue, queue, pending, notified)
                                .await?;
                        }
                        self.run_items(run, play, base, always, queue, pending, notified)
                            .await?;
                    }
                }
            }
            Ok(())
        })
    }

    /// The variables a task sees: the play's, its role's, its blocks', its own.
    fn task_stack(&self, base: &VarStack, context: &Context, task_vars: &BTreeMap<String, Json>) -> VarStack {
        let mut stack = base.clone();
        if let Some(role) = &context.role {
            stack.push(Layer::RoleDefaults, Arc::clone(&role.defaults));
            stack.push(Layer::RoleVars, Arc::clone(&role.vars));
            stack.push(Layer::IncludeParams, Arc::clone(&role.params));
            stack.set(Layer::Magic, "role_path", json!(role.path.display().to_string()));
            stack.set(Layer::Magic, "role_name", json!(role.name));
        }
        for (layer, vars) in &context.vars {
            stack.push(*layer, Arc::clone(vars));
        }
        if !task_vars.is_empty() {
            stack.push(
                Layer::TaskVars,
                task_vars
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<VarMap>(),
            );
        }
        for (name, value) in &self.host_facts {
            stack.set(Layer::Facts, name, value.clone());
        }
        for (name, value) in &self.registered {
            if let Registered::Known(value) = value {
                stack.set(Layer::Facts, name, value.clone());
            }
        }
        stack
    }

    fn conditions_hold(
        &self,
        run: &RunShared,
        inherited: &[(String, Pos)],
        own: &[crate::playbook::Located<String>],
        stack: &VarStack,
        origin: &Origin,
    ) -> Result<bool> {
        for (condition, pos) in inherited
            .iter()
            .map(|(c, p)| (c.as_str(), p))
            .chain(own.iter().map(|w| (w.value.as_str(), &w.pos)))
        {
            let origin = Origin {
                pos: pos.clone(),
                task: origin.task.clone(),
            };
            if !run
                .templar
                .eval_condition(&Json::String(condition.to_string()), stack, &origin)?
            {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// Names registered earlier that a task's templates mention.
    fn registered_dependencies(&self, task: &Task, context: &Context) -> Vec<String> {
        let mut texts: Vec<String> = task.keywords.when.iter().map(|w| w.value.clone()).collect();
        texts.extend(context.when.iter().map(|(w, _)| w.clone()));
        texts.extend(task.params.values().map(|p| p.value.to_string()));
        if let Some(l) = &task.loop_ {
            texts.push(l.items.to_value().to_string());
        }
        self.registered
            .keys()
            .filter(|name| texts.iter().any(|t| mentions(t, name)))
            .cloned()
            .collect()
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_task(
        &mut self,
        run: &RunShared,
        play: &Play,
        base: &VarStack,
        task: &Task,
        context: &Context,
        queue: &mut Vec<Unprobed>,
        pending: &mut Vec<Pending>,
        notified: &mut Vec<(String, String)>,
    ) -> Result<()> {
        if !run.tags_match(task) {
            return Ok(());
        }
        // `run_once`: only the play's first host runs it.
        if walk::literal(&task.keywords.run_once) == Some(true) {
            let first = base
                .lookup("ansible_play_hosts")
                .and_then(|(_, hosts)| hosts.as_array()?.first()?.as_str().map(str::to_string));
            if first.is_some_and(|first| first != self.name) {
                self.skip(run, task, context);
                return Ok(());
            }
        }
        // A task reading a registered result first needs that result: probe what is queued,
        // and when applying, apply what is pending (one more round, same exec).
        let dependencies = self.registered_dependencies(task, context);
        if dependencies.iter().any(|d| {
            queue
                .iter()
                .any(|q| q.meta.register.as_deref() == Some(d.as_str()))
        }) {
            self.probe_queue(run, queue, pending, notified).await?;
        }
        let unknown = dependencies
            .iter()
            .any(|d| matches!(self.registered.get(d), Some(Registered::Pending)));
        if unknown {
            if run.options.mode == Mode::Apply {
                self.flush(run, queue, pending, notified).await?;
            } else {
                let display = self.display(
                    run,
                    task,
                    context,
                    "(known after apply)".to_string(),
                    Diff::new(Action::Unknown),
                );
                self.report.plan.steps.push(display);
                if let Some(register) = &task.register {
                    self.registered
                        .insert(register.value.clone(), Registered::Pending);
                }
                return Ok(());
            }
        }
        let task_vars: BTreeMap<String, Json> = task
            .keywords
            .vars
            .iter()
            .map(|(k, v)| (k.clone(), v.to_value()))
            .collect();
        let stack = self.task_stack(base, context, &task_vars);
        let origin = self.origin(task);
        // Block and role conditions first; the task's own `when` is evaluated per loop item.
        if !self.conditions_hold(run, &context.when, &[], &stack, &origin)? {
            self.skip(run, task, context);
            return Ok(());
        }
        let items = match &task.loop_ {
            None => vec![None],
            Some(l) => {
                let rendered =
                    run.templar
                        .render_value(&l.items.to_value(), &stack, &Origin::new(l.pos.clone()))?;
                match rendered {
                    Json::Array(items) => items.into_iter().map(Some).collect(),
                    Json::Object(map) if l.kind == crate::playbook::LoopKind::Dict => map
                        .into_iter()
                        .map(|(k, v)| Some(json!({"key": k, "value": v})))
                        .collect(),
                    other => bail!("{}: `loop` must give a list, found {other}", l.pos),
                }
            }
        };
        let loop_var = task
            .loop_
            .as_ref()
            .and_then(|l| l.loop_var.as_ref())
            .map_or("item".to_string(), |v| v.value.clone());
        let mut results = Vec::new();
        let looped = task.loop_.is_some();
        for (index, item) in items.into_iter().enumerate() {
            let mut item_stack = stack.clone();
            if let Some(item) = &item {
                item_stack.set(Layer::Magic, &loop_var, item.clone());
                if let Some(index_var) = task.loop_.as_ref().and_then(|l| l.index_var.as_ref()) {
                    item_stack.set(Layer::Magic, &index_var.value, json!(index));
                }
            }
            if !self.conditions_hold(run, &[], &task.keywords.when, &item_stack, &origin)? {
                results.push(
                    json!({"changed": false, "skipped": true, "skip_reason": "Conditional result was False"}),
                );
                if !looped {
                    self.skip(run, task, context);
                }
                continue;
            }
            let label = match (&item, task.loop_.as_ref().and_then(|l| l.label.as_ref())) {
                (Some(_), Some(label)) => Some(run.templar.render_value(
                    &label.to_value(),
                    &item_stack,
                    &origin,
                )?),
                (Some(item), None) => Some(item.clone()),
                (None, _) => None,
            };
            let result = self
                .run_task_item(
                    run, play, task, context, item_stack, label, queue, pending, notified,
                )
                .await?;
            results.push(result);
        }
        if let Some(register) = &task.register {
            let value = if looped {
                if results.iter().any(|r| r.is_null()) {
                    Registered::Pending
                } else {
                    Registered::Known(
                        json!({"results": results, "changed": results.iter().any(|r| r["changed"] == json!(true)), "skipped": false}),
                    )
                }
            } else {
                match results.pop() {
                    Some(Json::Null) => Registered::Pending,
                    Some(value) => Registered::Known(value),
                    None => Registered::Known(json!({"changed": false, "skipped": true})),
                }
            };
            self.registered.insert(register.value.clone(), value);
        }
        Ok(())
    }

    fn origin(&self, task: &Task) -> Origin {
        let origin = Origin::new(task.pos.clone());
        match &task.name {
            Some(name) => origin.task(name.value.clone()),
            None => origin,
        }
    }

    fn skip(&mut self, run: &RunShared, task: &Task, context: &Context) {
        let mut display = self.display(run, task, context, String::new(), Diff::new(Action::Skipped));
        display.target = task.module.name.to_string();
        if run.options.mode == Mode::Apply {
            self.report.results.push(StepResult {
                step: display.clone(),
                status: Status::Skipped,
                message: None,
            });
        }
        self.report.plan.steps.push(display);
    }

    fn display(
        &self,
        run: &RunShared,
        task: &Task,
        context: &Context,
        target: String,
        diff: Diff,
    ) -> PlannedStep {
        let location = format!("{}:{}", run.relative(&task.pos.path), task.pos.line);
        PlannedStep {
            module: task.module.name.to_string(),
            task: task
                .name
                .as_ref()
                .map_or_else(|| task.module.name.to_string(), |n| n.value.clone()),
            target,
            location,
            role: context.role.as_ref().map(|r| r.name.clone()),
            diff,
            notify: task.notify.iter().map(|n| n.value.clone()).collect(),
            fingerprint: None,
        }
    }

    /// Resolves one task (one loop item). Returns its registered result, or `null` when that
    /// is known only after apply.
    #[allow(clippy::too_many_arguments)]
    async fn run_task_item(
        &mut self,
        run: &RunShared,
        play: &Play,
        task: &Task,
        context: &Context,
        stack: VarStack,
        label: Option<Json>,
        queue: &mut Vec<Unprobed>,
        pending: &mut Vec<Pending>,
        notified: &mut Vec<(String, String)>,
    ) -> Result<Json> {
        let origin = self.origin(task);
        let params: Json = Json::Object(
            task.params
                .iter()
                .map(|(k, p)| (k.clone(), p.value.clone()))
                .collect(),
        );
        let rendered = run.templar.render_value(&params, &stack, &origin)?;
        let Json::Object(rendered) = rendered else {
            bail!("{}: parameters did not render to a mapping", task.pos);
        };
        let values: IndexMap<String, Json> = rendered.into_iter().collect();
        let no_log = walk::literal(&task.keywords.no_log)
            .or(context.no_log)
            .unwrap_or(false);
        match task.module.kind {
            ModuleKind::Control | ModuleKind::Include(_) => {
                return self
                    .run_control(
                        run, play, task, context, &values, &stack, pending, queue, notified,
                    )
                    .await;
            }
            ModuleKind::Resource | ModuleKind::Command => {}
        }
        let build = task.module.build.ok_or_else(|| {
            anyhow!(
                "{}: module `{}` is not implemented by the engine yet",
                task.pos,
                task.module.name
            )
        })?;
        let args = Args::new(task.module, &values);
        let build_context = TaskFiles {
            run,
            task,
            context,
            stack: &stack,
            origin: &origin,
            facts: &self.facts,
        };
        let step =
            build(&args, &build_context).map_err(|e| crate::error::located(&task.pos, format!("{e:#}")))?;
        let mut target = step.target();
        if let Some(label) = &label {
            if task.loop_.as_ref().is_some_and(|l| l.label.is_some()) {
                target = label.as_str().map_or_else(|| label.to_string(), str::to_string);
            }
        }
        let become_user = effective_become_user(play, task, context);
        self.next_id += 1;
        let id = format!("s{}", self.next_id);
        let changed_when: Vec<(String, Pos)> = task
            .changed_when
            .iter()
            .map(|c| (c.value.clone(), c.pos.clone()))
            .collect();
        let failed_when: Vec<(String, Pos)> = task
            .failed_when
            .iter()
            .map(|c| (c.value.clone(), c.pos.clone()))
            .collect();
        let mut display = self.display(run, task, context, target, Diff::converged());
        if no_log {
            display.task = format!("{} (no_log)", display.task);
            display.target = "(hidden by no_log)".to_string();
        }
        let check_mode_false = matches!(walk::literal(&task.keywords.check_mode), Some(false));
        let meta = Pending {
            id: id.clone(),
            display,
            script: Script::new(),
            always_run: false,
            register: task.register.as_ref().map(|r| r.value.clone()),
            notify: task.notify.iter().map(|n| n.value.clone()).collect(),
            changed_when,
            failed_when,
            ignore_errors: walk::literal(&task.keywords.ignore_errors)
                .or(context.ignore_errors)
                .unwrap_or(false),
            stack,
            origin,
            no_log,
            target: step.key(),
            timeout: match task.keywords.timeout.as_ref().map(|t| &t.value) {
                Some(crate::playbook::Templated::Literal(seconds)) => Some((*seconds).max(1) as u64),
                _ => run.options.step_timeout.map(|d| d.as_secs().max(1)),
            },
        };
        if task.module.kind == ModuleKind::Command && check_mode_false {
            // A query (Ansible runs it even in check mode). It reads the host as the steps
            // before it leave it, so it runs after any change still pending: when applying,
            // once that change is applied; in a plan, it is known only after apply. With
            // nothing pending it runs now, inside the probe, so what reads its output plans
            // exactly.
            self.probe_queue(run, queue, pending, notified).await?;
            if self.changes_pending(pending) {
                if run.options.mode == Mode::Apply {
                    self.flush(run, queue, pending, notified).await?;
                } else {
                    return Ok(self.known_after_apply(meta, "runs after earlier changes", pending));
                }
            }
            return self.run_query(run, step, become_user, meta, pending).await;
        }
        // A step on something an earlier step of this stage changes cannot trust its probe:
        // it waits for that change (a new stage when applying; `?` in a plan).
        if queue.iter().any(|q| q.meta.target == meta.target) {
            self.probe_queue(run, queue, pending, notified).await?;
        }
        let stale = pending
            .iter()
            .any(|p| p.target == meta.target && (p.display.diff.action.is_change() || p.always_run));
        if stale {
            if run.options.mode == Mode::Apply {
                self.flush(run, queue, pending, notified).await?;
            } else {
                return Ok(self.known_after_apply(meta, "after an earlier change to it", pending));
            }
        }
        queue.push(Unprobed {
            id,
            step,
            become_user,
            meta,
        });
        Ok(Json::Null)
    }

    /// Inspects a probed step and plans it; a `become_user` missing on the host is an error
    /// that says so (known after apply when an earlier change may create the user).
    fn plan_step(
        &self,
        step: &dyn Step,
        section: &crate::probe::Section,
        become_user: Option<&str>,
    ) -> Result<(Diff, Script)> {
        if let Some(user) = become_user {
            let line = format!("{}\n", no_such_user(&self.token));
            if section.output == line.as_bytes() {
                bail!("the user `{user}` (become_user) does not exist on the host yet");
            }
        }
        step.plan(section)
    }

    /// Shows a step as `?` with the reason, and keeps it with the stage so that later steps
    /// on the same target, and those reading what it registers, are known after apply too.
    fn known_after_apply(&mut self, mut meta: Pending, reason: &str, pending: &mut Vec<Pending>) -> Json {
        meta.display.diff = Diff::known_after_apply(reason);
        self.report.plan.steps.push(meta.display.clone());
        if let Some(register) = &meta.register {
            self.registered.insert(register.clone(), Registered::Pending);
        }
        pending.push(meta);
        Json::Null
    }

    async fn run_query(
        &mut self,
        run: &RunShared,
        step: Box<dyn Step>,
        become_user: Option<String>,
        mut meta: Pending,
        pending: &mut Vec<Pending>,
    ) -> Result<Json> {
        let mut probe = ProbeScript::new(&self.token);
        let snippet = probe_as_user(step.probe(), become_user.as_deref(), &self.token);
        probe.section(&meta.id, &snippet);
        let sections = self.round(probe).await?;
        let (diff, script) = match self.plan_step(step.as_ref(), &sections[&meta.id], become_user.as_deref())
        {
            Ok(planned) => planned,
            // Nothing is pending here (see the caller): in a plan, a user that a handler of
            // an earlier play may still create is known after apply; otherwise an error.
            Err(err) if run.options.mode != Mode::Apply && self.changes_pending(pending) => {
                return Ok(self.known_after_apply(meta, &format!("{err:#}"), pending));
            }
            Err(err) => return Err(err.context(format!("{}: {}", meta.display.location, meta.display.task))),
        };
        if diff.is_converged() {
            return Ok(json!({"changed": false, "skipped": true, "msg": "guard: nothing to run"}));
        }
        let script = as_user(script, become_user.as_deref(), &self.token);
        meta.script = with_timeout(script, meta.timeout, &self.token);
        let mut stage = StageScript::new(&self.token);
        stage.step(&meta.id, &meta.script, false);
        let stage = stage.finish();
        let outcomes = self.stage_round(stage).await.map_err(|(_, err)| err)?;
        let outcome = outcomes.get(&meta.id).cloned().context("the query did not run")?;
        let mut result = command_result(&outcome);
        let failed = self.judge(run, &meta, &mut result, &outcome)?;
        result["changed"] = json!(false);
        if failed && !meta.ignore_errors {
            if meta.no_log {
                bail!(
                    "{}: exit code {} (output hidden by no_log)",
                    meta.display.task,
                    outcome.status
                );
            }
            bail!("{}: {}", meta.display.task, failure_message(&outcome));
        }
        Ok(result)
    }

    /// Runs a stage. When the shell or its connection ends before the stage does, the error
    /// comes with the outcomes of the steps that finished: they did happen on the host.
    async fn stage_round(
        &mut self,
        stage: crate::apply::FinishedStage,
    ) -> std::result::Result<BTreeMap<String, StepOutcome>, (BTreeMap<String, StepOutcome>, anyhow::Error)>
    {
        match self.exchange(stage.script()).await {
            Ok(out) => stage.parse(&out).map_err(|err| (BTreeMap::new(), err)),
            Err(err) => {
                let unread = self.shell().take_unread();
                Err((stage.parse_cut_short(&unread).unwrap_or_default(), err))
            }
        }
    }

    /// Probes the queued steps in one round, and turns each into a planned step.
    ///
    /// A step whose plan fails while earlier changes of the stage are still pending (a config
    /// file that the package being installed will create) is not an error yet: a plan shows it
    /// as known after apply, and an apply applies the stage so far, then probes it again.
    async fn probe_queue(
        &mut self,
        run: &RunShared,
        queue: &mut Vec<Unprobed>,
        pending: &mut Vec<Pending>,
        notified: &mut Vec<(String, String)>,
    ) -> Result<()> {
        while !queue.is_empty() {
            let retry = self.probe_round(run, queue, pending).await?;
            if retry.is_empty() {
                break;
            }
            self.apply_pending(run, pending, notified).await?;
            *queue = retry;
        }
        Ok(())
    }

    /// One probe round over the queue; returns the steps to probe again after applying.
    async fn probe_round(
        &mut self,
        run: &RunShared,
        queue: &mut Vec<Unprobed>,
        pending: &mut Vec<Pending>,
    ) -> Result<Vec<Unprobed>> {
        let mut retry: Vec<Unprobed> = Vec::new();
        let mut probe = ProbeScript::new(&self.token);
        for unprobed in queue.iter() {
            let snippet = probe_as_user(
                unprobed.step.probe(),
                unprobed.become_user.as_deref(),
                &self.token,
            );
            probe.section(&unprobed.id, &snippet);
        }
        let sections = self.round(probe).await?;
        // What the changes planned so far in this round may reach: any thing, or these paths.
        let mut unconfined_change = false;
        let mut changed_paths: Vec<String> = Vec::new();
        for unprobed in queue.drain(..) {
            // When applying, a step after a change is probed again once that change is applied
            // (a package installing files, say, alters what later steps see), and so is every
            // step after it, to keep the order. A change confined to some paths spares the
            // later steps confined to other paths: files into new directories cost one more
            // round, not one per file. Once a step waits for the next round, all after it do.
            let stale = !retry.is_empty()
                || unconfined_change
                || (!changed_paths.is_empty()
                    && match unprobed.step.confined_to(&sections[&unprobed.id]) {
                        Some(paths) => paths
                            .iter()
                            .any(|p| changed_paths.iter().any(|c| paths_overlap(p, c))),
                        None => true,
                    });
            if stale {
                retry.push(unprobed);
                continue;
            }
            let Unprobed {
                id,
                step,
                become_user,
                mut meta,
            } = unprobed;
            let section = &sections[&id];
            let (mut diff, script) = match self.plan_step(step.as_ref(), section, become_user.as_deref()) {
                Ok(planned) => planned,
                Err(err) => {
                    let earlier = self.changes_pending(pending) || pending.iter().any(|p| p.always_run);
                    if !earlier {
                        return Err(err.context(format!("{}: {}", meta.display.location, meta.display.task)));
                    }
                    if run.options.mode == Mode::Apply {
                        retry.push(Unprobed {
                            id,
                            step,
                            become_user,
                            meta,
                        });
                        continue;
                    }
                    self.known_after_apply(meta, &format!("{err:#}"), pending);
                    continue;
                }
            };
            let unchanging = meta
                .changed_when
                .iter()
                .any(|(c, _)| c.trim() == "false" || c.trim() == "False");
            if unchanging && diff.action == Action::Run {
                diff = Diff::converged();
                meta.always_run = true;
            }
            // Waiting changes nothing on the host: it is no drift, but the wait still happens.
            if meta.display.module == "wait_for" && !diff.is_converged() {
                diff = Diff::converged();
                meta.always_run = true;
            }
            if meta.no_log {
                diff.content = diff.content.map(|_| "(content hidden: no_log)".to_string());
                for attribute in &mut diff.attributes {
                    attribute.before = attribute.before.as_ref().map(|_| "(hidden)".to_string());
                    attribute.after = attribute.after.as_ref().map(|_| "(hidden)".to_string());
                }
            }
            meta.display.diff = diff.clone();
            meta.display.fingerprint = Some(section_fingerprint(section));
            self.compare_with_saved_plan(run, &meta.display);
            let script = if diff.is_converged() && !meta.always_run && !self.in_handlers {
                Script::new()
            } else {
                script
            };
            let script = as_user(script, become_user.as_deref(), &self.token);
            meta.script = with_timeout(script, meta.timeout, &self.token);
            let registered = if diff.is_converged() && !meta.always_run {
                Registered::Known(json!({"changed": false, "failed": false}))
            } else {
                Registered::Pending
            };
            if let Some(register) = &meta.register {
                self.registered.insert(register.clone(), registered);
            }
            self.report.plan.steps.push(meta.display.clone());
            let changes = !meta.script.is_empty();
            pending.push(meta);
            if changes && run.options.mode == Mode::Apply && !self.in_handlers {
                match step.confined_to(section) {
                    Some(paths) => changed_paths.extend(paths),
                    None => unconfined_change = true,
                }
            }
        }
        Ok(retry)
    }

    /// When applying a saved plan: notes a step whose probe differs from what the plan saw.
    fn compare_with_saved_plan(&mut self, run: &RunShared, step: &PlannedStep) {
        let Some(expected) = &run.options.expected else {
            return;
        };
        let Some(saved) = expected.get(&self.name) else {
            self.drifted
                .push("this host is not in the saved plan".to_string());
            return;
        };
        let position = saved.iter().enumerate().position(|(i, s)| {
            !self.matched.contains(&i) && s.location == step.location && s.task == step.task
        });
        match position {
            Some(i) => {
                self.matched.insert(i);
                if step.fingerprint.as_deref() != Some(saved[i].fingerprint.as_str()) {
                    self.drifted.push(format!("{} ({})", step.task, step.location));
                }
            }
            None => self.drifted.push(format!(
                "{} ({}): not in the saved plan",
                step.task, step.location
            )),
        }
    }

    /// Probes what is queued and, when applying, applies what is pending: the end of a stage.
    async fn flush(
        &mut self,
        run: &RunShared,
        queue: &mut Vec<Unprobed>,
        pending: &mut Vec<Pending>,
        notified: &mut Vec<(String, String)>,
    ) -> Result<()> {
        self.probe_queue(run, queue, pending, notified).await?;
        self.apply_pending(run, pending, notified).await
    }

    /// Applies the planned steps of the stage (when applying), or records the handlers they
    /// would notify (when planning).
    async fn apply_pending(
        &mut self,
        run: &RunShared,
        pending: &mut Vec<Pending>,
        notified: &mut Vec<(String, String)>,
    ) -> Result<()> {
        if pending.is_empty() {
            return Ok(());
        }
        if run.options.mode == Mode::Apply && !self.drifted.is_empty() {
            for step in pending.drain(..) {
                self.report.results.push(StepResult {
                    step: step.display,
                    status: Status::NotRun,
                    message: None,
                });
            }
            bail!(
                "refused: the host changed since the saved plan; plan again. Steps whose state changed: {}",
                self.drifted.join("; ")
            );
        }
        if run.options.mode == Mode::Apply && crate::engine::interrupted() {
            for step in pending.drain(..) {
                self.report.results.push(StepResult {
                    step: step.display,
                    status: Status::NotRun,
                    message: None,
                });
            }
            bail!("interrupted (Ctrl-C): no further steps were started");
        }
        if run.options.mode != Mode::Apply {
            for step in pending.drain(..) {
                if step.display.diff.action.is_change() {
                    self.planned_unapplied = true;
                    for handler in &step.notify {
                        notified.push((handler.clone(), step.display.task.clone()));
                    }
                }
            }
            return Ok(());
        }
        let mut stage = StageScript::new(&self.token);
        let mut any = false;
        for step in pending.iter() {
            if !step.script.is_empty() {
                stage.step(&step.id, &step.script, !step.ignore_errors);
                any = true;
            }
        }
        let (outcomes, lost) = if any {
            match self.stage_round(stage.finish()).await {
                Ok(outcomes) => (outcomes, None),
                Err((finished, err)) => (finished, Some(err)),
            }
        } else {
            (BTreeMap::new(), None)
        };
        let mut failure = None;
        for step in pending.drain(..) {
            if failure.is_some() {
                self.report.results.push(StepResult {
                    step: step.display,
                    status: Status::NotRun,
                    message: None,
                });
                continue;
            }
            let Some(outcome) = outcomes.get(&step.id) else {
                if lost.is_some() && !step.script.is_empty() {
                    // Sent, but the host never said how it ended.
                    let message =
                        "the connection was lost while this step ran: it may or may not have taken effect";
                    self.report_step(run, &step.display, &Status::Failed);
                    self.report.results.push(StepResult {
                        step: step.display,
                        status: Status::Failed,
                        message: Some(message.to_string()),
                    });
                    failure = Some(String::new());
                    continue;
                }
                // Converged: nothing was sent for it.
                if let Some(register) = &step.register {
                    self.registered.insert(
                        register.clone(),
                        Registered::Known(json!({"changed": false, "failed": false})),
                    );
                }
                self.report_step(run, &step.display, &Status::Ok);
                self.report.results.push(StepResult {
                    step: step.display,
                    status: Status::Ok,
                    message: None,
                });
                continue;
            };
            let mut result = command_result(outcome);
            let failed = self.judge(run, &step, &mut result, outcome)?;
            let changed = result["changed"] == json!(true);
            if let Some(register) = &step.register {
                self.registered
                    .insert(register.clone(), Registered::Known(result.clone()));
            }
            let status = if failed {
                Status::Failed
            } else if changed {
                Status::Changed
            } else {
                Status::Ok
            };
            if changed && !failed {
                for handler in &step.notify {
                    notified.push((handler.clone(), step.display.task.clone()));
                }
            }
            self.report_step(run, &step.display, &status);
            let shown = if step.no_log {
                format!("exit code {} (output hidden by no_log)", outcome.status)
            } else {
                failure_message(outcome)
            };
            let message = failed.then(|| shown.clone());
            if failed && !step.ignore_errors {
                failure = Some(format!(
                    "{} ({}): {shown}",
                    step.display.task, step.display.location
                ));
            }
            self.report.results.push(StepResult {
                step: step.display,
                status,
                message,
            });
        }
        if let Some(err) = lost {
            return Err(err);
        }
        match failure {
            Some(message) => Err(anyhow!(message)),
            None => Ok(()),
        }
    }

    /// Applies `changed_when` and `failed_when`; returns whether the step failed.
    fn judge(
        &self,
        run: &RunShared,
        step: &Pending,
        result: &mut Json,
        outcome: &StepOutcome,
    ) -> Result<bool> {
        let mut stack = step.stack.clone();
        if let Some(register) = &step.register {
            stack.set(Layer::Facts, register, result.clone());
        }
        stack.set(Layer::Facts, "result", result.clone());
        let mut failed = outcome.status != 0;
        if !step.failed_when.is_empty() {
            failed = true;
            for (condition, pos) in &step.failed_when {
                let origin = Origin {
                    pos: pos.clone(),
                    task: step.origin.task.clone(),
                };
                if !run
                    .templar
                    .eval_condition(&Json::String(condition.clone()), &stack, &origin)?
                {
                    failed = false;
                }
            }
        }
        if !step.changed_when.is_empty() {
            let mut changed = true;
            for (condition, pos) in &step.changed_when {
                let origin = Origin {
                    pos: pos.clone(),
                    task: step.origin.task.clone(),
                };
                if !run
                    .templar
                    .eval_condition(&Json::String(condition.clone()), &stack, &origin)?
                {
                    changed = false;
                }
            }
            result["changed"] = json!(changed);
        }
        result["failed"] = json!(failed);
        Ok(failed)
    }

    #[allow(clippy::too_many_arguments)]
    async fn run_control(
        &mut self,
        run: &RunShared,
        play: &Play,
        task: &Task,
        _context: &Context,
        values: &IndexMap<String, Json>,
        stack: &VarStack,
        pending: &mut Vec<Pending>,
        queue: &mut Vec<Unprobed>,
        notified: &mut Vec<(String, String)>,
    ) -> Result<Json> {
        let origin = self.origin(task);
        match task.module.name {
            "debug" => {
                let message = match (values.get("msg"), values.get("var")) {
                    (_, Some(Json::String(var))) => {
                        let value = run.templar.resolve_var(var, stack, &origin)?;
                        json!({ var.clone(): value })
                    }
                    (Some(msg), _) => msg.clone(),
                    _ => json!("Hello world!"),
                };
                if run.options.mode == Mode::Apply {
                    let shown = message
                        .as_str()
                        .map_or_else(|| message.to_string(), str::to_string);
                    run.reporter.debug(&self.name, &Json::String(self.redact(&shown)));
                }
                Ok(json!({"changed": false, "msg": message}))
            }
            "set_fact" => {
                for (name, value) in values {
                    if name == "cacheable" {
                        continue;
                    }
                    self.host_facts.insert(name.clone(), value.clone());
                    self.registered.remove(name);
                }
                let _ = play;
                Ok(json!({"changed": false}))
            }
            "assert" => {
                let conditions = match values.get("that") {
                    Some(Json::Array(items)) => items.clone(),
                    Some(other) => vec![other.clone()],
                    None => Vec::new(),
                };
                for condition in conditions {
                    let holds = match &condition {
                        Json::Bool(b) => *b,
                        other => run.templar.eval_condition(other, stack, &origin)?,
                    };
                    if !holds {
                        let message = values
                            .get("fail_msg")
                            .or_else(|| values.get("msg"))
                            .and_then(Json::as_str)
                            .map_or_else(|| format!("Assertion failed: {condition}"), str::to_string);
                        bail!("{}: {message}", task.pos);
                    }
                }
                Ok(json!({"changed": false, "msg": "All assertions passed"}))
            }
            "fail" => {
                let message = values
                    .get("msg")
                    .and_then(Json::as_str)
                    .unwrap_or("Failed as requested from task");
                bail!("{}: {message}", task.pos)
            }
            "meta" => {
                match values.get("action").and_then(Json::as_str) {
                    Some("flush_handlers") => {
                        self.flush(run, queue, pending, notified).await?;
                        let base = stack.clone();
                        self.run_handlers(run, play, &base, notified).await?;
                    }
                    Some("noop") | None => {}
                    Some(other) => bail!("{}: meta `{other}` is not supported", task.pos),
                }
                Ok(json!({"changed": false}))
            }
            other => bail!("{}: `{other}` cannot be used here", task.pos),
        }
    }

    /// Runs the handlers notified so far, in the order they are defined, each once. (Boxed:
    /// handlers are tasks, and a task may flush handlers.)
    fn run_handlers<'a>(
        &'a mut self,
        run: &'a RunShared,
        play: &'a Play,
        base: &'a VarStack,
        notified: &'a mut Vec<(String, String)>,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + Send + 'a>> {
        Box::pin(async move {
            if notified.is_empty() {
                return Ok(());
            }
            let handlers = play.all_handlers();
            let mut chosen: Vec<(&Task, Vec<String>)> = Vec::new();
            for handler in &handlers {
                let name = handler.name.as_ref().map(|n| n.value.as_str());
                let topics: BTreeSet<&str> = handler
                    .listen
                    .iter()
                    .map(|l| l.value.as_str())
                    .chain(name)
                    .collect();
                let by: Vec<String> = notified
                    .iter()
                    .filter(|(topic, _)| topics.contains(topic.as_str()))
                    .map(|(_, by)| by.clone())
                    .collect();
                if !by.is_empty() {
                    chosen.push((handler, by));
                }
            }
            for (topic, by) in notified.iter() {
                let known = handlers.iter().any(|h| {
                    h.name.as_ref().is_some_and(|n| &n.value == topic)
                        || h.listen.iter().any(|l| &l.value == topic)
                });
                if !known {
                    bail!("the task \"{by}\" notifies the handler \"{topic}\", which does not exist");
                }
            }
            notified.clear();
            if run.options.mode != Mode::Apply {
                self.planned_unapplied |= !chosen.is_empty();
                for (handler, by) in chosen {
                    let name = handler
                        .name
                        .as_ref()
                        .map_or_else(|| handler.module.name.to_string(), |n| n.value.clone());
                    let mut unique = by.clone();
                    unique.dedup();
                    self.report.plan.handlers.push(PlannedHandler {
                        name,
                        notified_by: unique,
                    });
                }
                return Ok(());
            }
            let mut queue = Vec::new();
            let mut pending = Vec::new();
            let mut more = Vec::new();
            // Converged steps of notified handlers still run (a daemon-reload, a wait).
            self.in_handlers = true;
            let mut ran = Ok(());
            let roles = play.roles_in_order();
            for (handler, _) in chosen {
                // A role's handler sees its role's defaults and vars.
                let context = handler
                    .role
                    .as_ref()
                    .and_then(|r| roles.iter().find(|role| role.path == r.path))
                    .map_or_else(Context::default, |role| Context::for_role(role));
                ran = self
                    .run_task(
                        run,
                        play,
                        base,
                        handler,
                        &context,
                        &mut queue,
                        &mut pending,
                        &mut more,
                    )
                    .await;
                if ran.is_err() {
                    break;
                }
            }
            if ran.is_ok() {
                ran = self.flush(run, &mut queue, &mut pending, &mut more).await;
            }
            self.in_handlers = false;
            ran?;
            // Handlers owed by an earlier failed run are paid now: forget them on the host.
            let remaining: Vec<String> = self
                .pending_handlers
                .iter()
                .filter(|name| {
                    !handlers.iter().any(|h| {
                        h.name.as_ref().is_some_and(|n| &n.value == *name)
                            || h.listen.iter().any(|l| &l.value == *name)
                    })
                })
                .cloned()
                .collect();
            if remaining.len() != self.pending_handlers.len() {
                self.save_pending_handlers(&remaining).await?;
            }
            Ok(())
        })
    }
}

/// A digest of what a probe section printed, and how it ended.
fn section_fingerprint(section: &crate::probe::Section) -> String {
    use sha2::Digest as _;
    let mut hasher = sha2::Sha256::new();
    hasher.update(section.status.to_le_bytes());
    hasher.update(&section.output);
    crate::saved::hex(&hasher.finalize())
}

/// Replaces every secret in `text`, longest first (so a secret containing another goes whole).
fn redact_text(text: &str, secrets: &BTreeSet<String>) -> String {
    let mut ordered: Vec<&String> = secrets.iter().collect();
    ordered.sort_by_key(|s| std::cmp::Reverse(s.len()));
    let mut out = text.to_string();
    for secret in ordered {
        if out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), "********");
        }
    }
    out
}

/// Removes secrets from everything a report will show: plans, diffs, errors, messages.
fn redact_report(report: &mut HostReport, secrets: &BTreeSet<String>) {
    if secrets.is_empty() {
        return;
    }
    let redact_step = |step: &mut PlannedStep| {
        step.target = redact_text(&step.target, secrets);
        step.task = redact_text(&step.task, secrets);
        if let Some(content) = &step.diff.content {
            step.diff.content = Some(redact_text(content, secrets));
        }
        for attribute in &mut step.diff.attributes {
            attribute.before = attribute.before.as_ref().map(|b| redact_text(b, secrets));
            attribute.after = attribute.after.as_ref().map(|a| redact_text(a, secrets));
        }
    };
    report.plan.steps.iter_mut().for_each(redact_step);
    for result in &mut report.results {
        redact_step(&mut result.step);
        result.message = result.message.as_ref().map(|m| redact_text(m, secrets));
    }
    report.plan.error = report.plan.error.as_ref().map(|e| redact_text(e, secrets));
}

/// Where a host keeps the handlers a failed run owes it.
const PENDING_FILE: &str = "/var/lib/deploy/pending-handlers";

/// How a handler owed by an earlier run shows as notified.
const PENDING_BY: &str = "a failed earlier run";

/// The files a task's resource may need, found and rendered on the controller.
struct TaskFiles<'a> {
    run: &'a RunShared,
    task: &'a Task,
    context: &'a Context,
    stack: &'a VarStack,
    origin: &'a Origin,
    facts: &'a VarMap,
}

impl TaskFiles<'_> {
    fn find(&self, src: &str, subdir: &str) -> Result<std::path::PathBuf> {
        if let Some(found) = &self.task.source {
            if !crate::resource::is_template(src) && found.ends_with(src) {
                return Ok(found.clone());
            }
        }
        let path = std::path::Path::new(src);
        if path.is_absolute() {
            return Ok(path.to_path_buf());
        }
        let mut candidates = Vec::new();
        if let Some(role) = &self.context.role {
            candidates.push(role.path.join(subdir).join(src));
            candidates.push(role.path.join(src));
        }
        candidates.push(self.run.playbook_dir.join(subdir).join(src));
        candidates.push(self.run.playbook_dir.join(src));
        candidates.iter().find(|c| c.is_file()).cloned().ok_or_else(|| {
            anyhow!(
                "`{src}` not found in {}",
                candidates
                    .iter()
                    .map(|c| c.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }
}

impl BuildContext for TaskFiles<'_> {
    fn read_source(&self, src: &str) -> Result<Vec<u8>> {
        let path = self.find(src, "files")?;
        std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))
    }

    fn render_template(&self, src: &str) -> Result<String> {
        let path = self.find(src, "templates")?;
        let mut stack = self.stack.clone();
        let dir = path.parent().map(|p| p.display().to_string()).unwrap_or_default();
        stack.set(Layer::Magic, "template_path", json!(path.display().to_string()));
        stack.set(
            Layer::Magic,
            "template_fullpath",
            json!(path.display().to_string()),
        );
        stack.set(Layer::Magic, "template_dir", json!(dir));
        self.run.templar.render_file(&path, &stack, self.origin)
    }

    fn fact(&self, name: &str) -> Option<Json> {
        self.facts.get(name).cloned()
    }
}

/// Takes the host's deploy lock for the rest of the conversation: exclusive when applying,
/// shared when only looking, so two runs never interleave their changes on one host. A run
/// that cannot get it within `--lock-timeout` fails that host, naming who holds the lock.
fn lock_script(run: &RunShared, name: &str) -> Script {
    let exclusive = run.options.mode == Mode::Apply;
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "root".into());
    let control = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let holder = format!(
        "deploy {} by {user}@{} (pid {}) since {}",
        if exclusive { "apply" } else { "plan" },
        control.trim(),
        std::process::id(),
        utc_now()
    );
    let seconds = run.options.lock_timeout.as_secs().to_string();
    let mut script = Script::new();
    script.line(
        "deploy_lock={}; deploy_holder={}",
        &[
            &format!("/run/lock/{name}.lock"),
            &format!("/run/lock/{name}.holder"),
        ],
    );
    script
        .raw(r#"[ -e "$deploy_lock" ] || { : > "$deploy_lock" && chmod 0644 "$deploy_lock"; } 2>/dev/null"#);
    script
        .raw(r#"if command -v flock >/dev/null 2>&1 && [ -r "$deploy_lock" ]; then exec 9< "$deploy_lock""#);
    script.line(
        r#"  if ! flock -n {} 9; then"#,
        &[if exclusive { "-x" } else { "-s" }],
    );
    script.raw(r#"    echo "deploy: waiting for the lock held by $(cat "$deploy_holder" 2>/dev/null || echo another run)" >&2"#);
    script.line(
        r#"    if ! flock -w {} {} 9; then"#,
        &[&seconds, if exclusive { "-x" } else { "-s" }],
    );
    script.line(
        r#"      echo "deploy: the host is locked by $(cat "$deploy_holder" 2>/dev/null || echo another run); gave up after {} s" >&2; exit 75"#,
        &[&seconds],
    );
    script.raw("    fi");
    script.raw("  fi");
    if exclusive {
        script.line(
            r#"  printf '%s
' {} > "$deploy_holder" 2>/dev/null"#,
            &[&holder],
        );
    }
    script.raw("fi");
    script
}

/// The current time as `2026-11-22 04:55:03 UTC`.
fn utc_now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// Runs `script` under coreutils `timeout`, fed through a quoted here-document.
fn with_timeout(script: Script, seconds: Option<u64>, token: &str) -> Script {
    let Some(seconds) = seconds else {
        return script;
    };
    let mut wrapped = Script::new();
    wrapped.line(
        "timeout -k 5 {} sh -s <<'DEPLOY_TIMEOUT_{}'",
        &[&seconds.to_string(), token],
    );
    wrapped.raw(crate::apply::PRELUDE);
    wrapped.append(&script);
    wrapped.line("DEPLOY_TIMEOUT_{}", &[token]);
    wrapped.line(
        r#"deploy_rc=$?; [ "$deploy_rc" -ne 124 ] && [ "$deploy_rc" -ne 137 ] || echo "timed out after {} s" >&2; exit "$deploy_rc""#,
        &[&seconds.to_string()],
    );
    wrapped
}

/// Runs `script` as `user` (when that is not the shell's own user), through `runuser` and a
/// quoted here-document, so the script never becomes anyone's argv.
fn as_user(script: Script, user: Option<&str>, token: &str) -> Script {
    runuser(script, user, token, true)
}

/// A probe run as `user`. A user that does not exist (yet: an earlier step may create it)
/// prints only [`no_such_user`]'s line instead, which [`HostRunner::plan_step`] tells apart
/// from anything a probe prints.
fn probe_as_user(script: Script, user: Option<&str>, token: &str) -> Script {
    let Some(user) = user.filter(|u| *u != "root") else {
        return script;
    };
    let mut wrapped = Script::new();
    wrapped.line("if id -u {} >/dev/null 2>&1; then", &[user]);
    wrapped.append(&runuser(script, Some(user), token, false));
    wrapped.line("else printf '%s\\n' {}; fi", &[&no_such_user(token)]);
    wrapped
}

/// What [`probe_as_user`] prints for a missing user: the run's token makes it unforgeable.
fn no_such_user(token: &str) -> String {
    format!("@@{token}-no-such-user")
}

fn runuser(script: Script, user: Option<&str>, token: &str, with_prelude: bool) -> Script {
    let Some(user) = user.filter(|u| *u != "root") else {
        return script;
    };
    assert!(
        token.bytes().all(|b| b.is_ascii_alphanumeric()),
        "tokens are alphanumeric"
    );
    let mut wrapped = Script::new();
    wrapped.line("cd / && runuser -u {} -- sh -s <<'DEPLOY_EOF_{}'", &[user, token]);
    if with_prelude {
        wrapped.raw(crate::apply::PRELUDE);
    }
    wrapped.append(&script);
    wrapped.line("DEPLOY_EOF_{}", &[token]);
    wrapped
}

fn effective_become_user(play: &Play, task: &Task, context: &Context) -> Option<String> {
    let becomes = walk::literal(&task.keywords.become_)
        .or(context.become_)
        .or(walk::literal(&play.keywords.become_))
        .unwrap_or(false);
    if !becomes {
        return None;
    }
    task.keywords
        .become_user
        .as_ref()
        .map(|u| u.value.clone())
        .or_else(|| context.become_user.clone())
        .or_else(|| play.keywords.become_user.as_ref().map(|u| u.value.clone()))
        .or_else(|| Some("root".to_string()))
}

/// Who a host's open shell runs as, and how it got there.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ShellUser {
    user: Option<String>,
    method: BecomeMethod,
}

/// The `become_method` the play names, at any level (the loader refuses a play naming two).
fn play_become_method(play: &Play) -> Option<BecomeMethod> {
    crate::engine::play_become_methods(play)
        .first()
        .and_then(|method| BecomeMethod::parse(&method.value))
}

/// The user the play's shell runs as: root when anything in the play escalates.
fn play_become(play: &Play) -> Option<String> {
    let play_level = walk::literal(&play.keywords.become_).unwrap_or(false);
    let anywhere = play_level
        || crate::playbook::all_tasks(&play.tasks)
            .iter()
            .chain(crate::playbook::all_tasks(&play.pre_tasks).iter())
            .chain(crate::playbook::all_tasks(&play.post_tasks).iter())
            .any(|t| walk::literal(&t.keywords.become_) == Some(true))
        || play.roles_in_order().iter().any(|r| {
            walk::literal(&r.keywords.become_) == Some(true)
                || crate::playbook::all_tasks(&r.tasks)
                    .iter()
                    .any(|t| walk::literal(&t.keywords.become_) == Some(true))
        });
    anywhere.then(|| "root".to_string())
}

/// Whether template text mentions `name` as a variable (a whole identifier).
fn mentions(text: &str, name: &str) -> bool {
    let bytes = text.as_bytes();
    let mut start = 0;
    while let Some(at) = text[start..].find(name) {
        let at = start + at;
        let end = at + name.len();
        let before = at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        let after = end >= bytes.len() || !(bytes[end].is_ascii_alphanumeric() || bytes[end] == b'_');
        if before && after {
            return true;
        }
        start = end;
    }
    false
}

fn node_map(vars: &crate::playbook::Vars) -> VarMap {
    vars.iter().map(|(k, v)| (k.clone(), v.to_value())).collect()
}

fn strip_prefix(facts: &VarMap) -> serde_json::Map<String, Json> {
    facts
        .iter()
        .map(|(k, v)| (k.strip_prefix("ansible_").unwrap_or(k).to_string(), v.clone()))
        .collect()
}

/// A step's outcome as Ansible registers it.
fn command_result(outcome: &StepOutcome) -> Json {
    let stdout = String::from_utf8_lossy(&outcome.stdout)
        .trim_end_matches('\n')
        .to_string();
    let stderr = String::from_utf8_lossy(&outcome.stderr)
        .trim_end_matches('\n')
        .to_string();
    json!({
        "changed": outcome.changed,
        "rc": outcome.status,
        "stdout": stdout,
        "stdout_lines": stdout.lines().collect::<Vec<_>>(),
        "stderr": stderr,
        "stderr_lines": stderr.lines().collect::<Vec<_>>(),
        "failed": outcome.status != 0,
    })
}

fn failure_message(outcome: &StepOutcome) -> String {
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    let stderr = stderr.trim();
    if stderr.is_empty() {
        format!("exit code {}", outcome.status)
    } else {
        format!("exit code {}: {stderr}", outcome.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_replaced_longest_first() {
        let secrets: BTreeSet<String> = ["hunter2".to_string(), "hunter22".to_string()].into();
        assert_eq!(
            redact_text("pw=hunter22 and hunter2", &secrets),
            "pw=******** and ********"
        );
    }

    #[test]
    fn mentions_whole_identifiers_only() {
        assert!(mentions("{{ result.stdout }}", "result"));
        assert!(mentions("result is changed", "result"));
        assert!(!mentions("{{ results }}", "result"));
        assert!(!mentions("{{ my_result }}", "result"));
    }
}

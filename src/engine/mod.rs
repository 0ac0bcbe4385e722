//! Running a playbook over an inventory: plan, check or apply.
//!
//! For each play in order, the play's hosts are split into batches (`serial`), and each
//! batch's hosts run in parallel (at most `--forks` at once), each through its own
//! [`host::HostRunner`]. A host that fails or cannot be reached is recorded and skipped by the
//! later plays; it never stops the others.

pub mod cancel;
pub mod events;
pub mod host;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, Result};
use indexmap::IndexMap;
use serde_json::{json, Value as Json};

pub use crate::engine::cancel::Cancel;
pub use crate::engine::events::Events;
/// Replaces every secret in a text with `********` (longest first).
pub use crate::engine::host::redact::redact_text as redact;
use crate::engine::host::{HostReport, HostRunner};
use crate::inventory::Inventory;
use crate::playbook::{walk, Batch, LoadOptions, Playbook, Task};
use crate::template::{Origin, Templar};
use crate::transport::{BecomeMethod, HostKeyPolicy, Secret, Target};
use crate::vars::{HostVarsSource, Layer, VarMap, VarStack};

/// What a run does to hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Show what would change.
    Plan,
    /// Like plan, reported as drift (for cron).
    Check,
    /// Change the hosts.
    Apply,
}

/// Everything a run needs from the command line.
#[derive(Clone, Debug)]
pub struct RunOptions {
    pub mode: Mode,
    pub inventories: Vec<PathBuf>,
    pub playbook: PathBuf,
    pub limit: Option<String>,
    pub tags: Vec<String>,
    pub skip_tags: Vec<String>,
    pub extra_vars: Vec<String>,
    pub forks: usize,
    pub become_password: Option<Secret>,
    pub host_keys: HostKeyPolicy,
    pub connect_timeout: Duration,
    pub force_handlers: bool,
    pub lock_timeout: Duration,
    pub step_timeout: Option<Duration>,
    /// When applying a saved plan: per host, what its probe saw for each step.
    pub expected: Option<Arc<HashMap<String, Vec<crate::saved::SavedStep>>>>,
    /// What ansible.cfg sets for whatever the inventory and the playbook leave unsaid.
    pub defaults: Defaults,
}

/// Defaults from ansible.cfg (or `ANSIBLE_*` variables): each yields to the inventory's
/// connection variables and to the play's keywords.
#[derive(Clone, Debug, Default)]
pub struct Defaults {
    pub remote_user: Option<String>,
    pub private_key: Option<PathBuf>,
    /// Whether plays escalate unless they say otherwise.
    pub become_: bool,
    pub become_method: Option<BecomeMethod>,
    pub become_user: Option<String>,
    /// Role directories searched after `roles/` beside the playbook.
    pub roles_path: Vec<PathBuf>,
}

/// The outcome of a run: one report per host, in inventory order.
#[derive(Debug, Default, serde::Serialize)]
pub struct RunReport {
    pub hosts: Vec<HostReport>,
    /// Why the run stopped early (`max_fail_percentage`, `any_errors_fatal`), if it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aborted: Option<String>,
    /// Hosts a stopped run never touched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub untouched: Vec<String>,
}

/// What a run's outcome means, for its exit code (the README's exit codes, mapped by the command line).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Success; for `plan` and `check`: nothing to change.
    Done,
    /// `plan`/`check`: changes pending on at least one host, and no errors.
    Changes,
    /// A host failed or was unreachable, or the run stopped early.
    Failed,
}

impl RunReport {
    pub fn verdict(&self, mode: Mode) -> Verdict {
        if self.hosts.iter().any(HostReport::failed) || self.aborted.is_some() {
            return Verdict::Failed;
        }
        match mode {
            Mode::Plan | Mode::Check if self.hosts.iter().any(|h| h.plan.changes() > 0) => Verdict::Changes,
            _ => Verdict::Done,
        }
    }
}

/// What every host of a run shares.
pub struct RunShared {
    pub options: RunOptions,
    pub inventory: Arc<Inventory>,
    pub templar: Templar,
    pub extra_vars: VarMap,
    pub playbook_dir: PathBuf,
    pub project_root: PathBuf,
    pub load_options: LoadOptions,
    pub hostvars: Arc<dyn HostVarsSource>,
    pub become_passwords: HashMap<String, Secret>,
    pub events: Arc<dyn Events>,
    pub cancel: Cancel,
    facts: Arc<Mutex<HashMap<String, VarMap>>>,
    /// The outcome of each `run_once` task, by task and batch: the first host to reach it
    /// runs it, the others wait for it and take its registered result.
    run_once: Mutex<HashMap<String, Arc<tokio::sync::OnceCell<Json>>>>,
    /// Hosts done with a play, by `batch|host`, so that hosts waiting for a `run_once` result
    /// stop waiting when the host that would run it ended without (it failed, or never
    /// reached the task); woken through `run_once_notify`.
    plays_done: Mutex<std::collections::HashSet<String>>,
    pub run_once_notify: tokio::sync::Notify,
}

impl RunShared {
    /// Records that `host` ended its play in `batch`, and wakes the hosts waiting on it.
    pub fn play_done(&self, batch: &str, host: &str) {
        self.plays_done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(format!("{batch}|{host}"));
        self.run_once_notify.notify_waiters();
    }

    /// Whether `host` ended its play in `batch`.
    pub fn is_play_done(&self, batch: &str, host: &str) -> bool {
        self.plays_done
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(&format!("{batch}|{host}"))
    }

    /// The shared outcome of a `run_once` task (see the field).
    pub fn run_once_cell(&self, key: String) -> Arc<tokio::sync::OnceCell<Json>> {
        let mut cells = self.run_once.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(cells.entry(key).or_default())
    }

    /// A host's inventory variables, group_vars and host_vars included.
    pub fn host_vars(&self, host: &str) -> Result<VarMap> {
        self.inventory.host_vars(host, Some(&self.playbook_dir))
    }

    /// Makes facts of `host` visible to the other hosts (`hostvars[host]`) at once, as soon as
    /// they are gathered or set, not only when that host ends the play.
    pub fn publish_facts(&self, host: &str, facts: VarMap) {
        self.facts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(host.to_string())
            .or_default()
            .extend(facts);
    }

    /// How to reach a host a task is delegated to: an inventory host by its connection
    /// variables; `localhost` (when not in the inventory) over the local connection, as
    /// Ansible's implicit localhost; any other name over SSH by that name.
    pub fn delegate_target(&self, host: &str) -> Result<Target> {
        if self.inventory.host(host).is_some() {
            return Ok(target_of(self, host, None)?.0);
        }
        Ok(Target {
            name: host.to_string(),
            address: host.to_string(),
            local: matches!(host, "localhost" | "127.0.0.1" | "::1"),
            user: self.options.defaults.remote_user.clone(),
            private_key: self.options.defaults.private_key.clone(),
            become_method: self.options.defaults.become_method,
            host_keys: self.options.host_keys,
            connect_timeout: self.options.connect_timeout,
            ..Target::default()
        })
    }

    /// `inventory_hostname`, `groups`, `group_names`, `playbook_dir`, `omit`.
    pub fn magic_vars(&self, host: &str) -> VarMap {
        magic_vars(&self.inventory, host, &self.playbook_dir)
    }

    /// Whether `--tags`/`--skip-tags` select this task.
    pub fn tags_match(&self, task: &Task) -> bool {
        let tags: Vec<&str> = task.keywords.tags.iter().map(|t| t.value.as_str()).collect();
        if self
            .options
            .skip_tags
            .iter()
            .any(|s| tags.contains(&s.as_str()) || s == "all")
        {
            return false;
        }
        if self.options.tags.is_empty() || self.options.tags.iter().any(|t| t == "all") {
            return !tags.contains(&"never");
        }
        tags.contains(&"always") || self.options.tags.iter().any(|t| tags.contains(&t.as_str()))
    }

    /// A path relative to the project, for plans.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.project_root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

fn magic_vars(inventory: &Inventory, host: &str, playbook_dir: &Path) -> VarMap {
    let mut magic = VarMap::new();
    magic.insert("inventory_hostname".into(), json!(host));
    magic.insert(
        "inventory_hostname_short".into(),
        json!(host.split('.').next().unwrap_or(host)),
    );
    magic.insert("group_names".into(), json!(inventory.group_names(host)));
    magic.insert("groups".into(), json!(inventory.groups_map()));
    magic.insert("playbook_dir".into(), json!(playbook_dir.display().to_string()));
    magic.insert("omit".into(), json!(crate::vars::OMIT_PLACEHOLDER));
    magic
}

/// `hostvars`: every host's inventory variables and gathered facts, templated on access.
#[derive(Debug)]
struct RunHostVars {
    inventory: Arc<Inventory>,
    playbook_dir: PathBuf,
    extra_vars: VarMap,
    facts: Arc<Mutex<HashMap<String, VarMap>>>,
}

impl HostVarsSource for RunHostVars {
    fn host_names(&self) -> Vec<String> {
        self.inventory.hosts().keys().cloned().collect()
    }

    fn vars_of(&self, host: &str) -> Option<VarStack> {
        self.inventory.host(host)?;
        let mut stack = VarStack::new();
        stack.push(
            Layer::Inventory,
            self.inventory.host_vars(host, Some(&self.playbook_dir)).ok()?,
        );
        let facts = self
            .facts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(host)
            .cloned();
        if let Some(facts) = facts {
            stack.push(Layer::Facts, facts);
        }
        stack.push(Layer::ExtraVars, self.extra_vars.clone());
        stack.push(
            Layer::Magic,
            magic_vars(&self.inventory, host, &self.playbook_dir),
        );
        Some(stack)
    }
}

/// Loads everything, then runs each play over its hosts. Events go to `events`; `cancel`
/// stops the run (softly: no new steps; or at once: [`cancel::Stopped`], every connection
/// closed).
pub async fn run(options: RunOptions, events: Arc<dyn Events>, cancel: Cancel) -> Result<RunReport> {
    let inventory = Arc::new(Inventory::load(&options.inventories)?);
    let project_root = std::env::current_dir().context("cannot read the current directory")?;
    let load_options = LoadOptions {
        project_root: Some(project_root.clone()),
        roles_path: options.defaults.roles_path.clone(),
    };
    let playbook = crate::playbook::load_playbook(&options.playbook, &load_options)?;
    let playbook_dir = options
        .playbook
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let playbook_dir = std::fs::canonicalize(if playbook_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        &playbook_dir
    })
    .unwrap_or(playbook_dir);
    let mut extra_vars = VarMap::new();
    for arg in &options.extra_vars {
        extra_vars.extend(crate::vars::parse_extra_vars(arg, &project_root)?);
    }
    let facts = Arc::new(Mutex::new(HashMap::new()));
    let hostvars: Arc<dyn HostVarsSource> = Arc::new(RunHostVars {
        inventory: Arc::clone(&inventory),
        playbook_dir: playbook_dir.clone(),
        extra_vars: extra_vars.clone(),
        facts: Arc::clone(&facts),
    });
    let shared = Arc::new(RunShared {
        options: options.clone(),
        inventory: Arc::clone(&inventory),
        templar: Templar::with_plugins(crate::template::Plugins::find(&crate::template::plugin_dirs(
            &playbook_dir,
            role_dirs(&playbook),
        ))?)?,
        extra_vars,
        playbook_dir,
        project_root,
        load_options,
        hostvars,
        become_passwords: HashMap::new(),
        events,
        cancel: cancel.clone(),
        facts,
        run_once: Mutex::default(),
        plays_done: Mutex::default(),
        run_once_notify: tokio::sync::Notify::new(),
    });
    // Stopping at once drops the run's future: every host's task with it, so every
    // connection closes its ssh ControlMaster on the way out.
    tokio::select! {
        report = run_plays(shared, Arc::new(playbook)) => report,
        () = cancel.stopped_now() => Err(cancel::Stopped.into()),
    }
}

/// The directories of the roles a playbook loads (named, imported, included by name,
/// dependencies), for their filter and test plugins.
fn role_dirs(playbook: &Playbook) -> Vec<PathBuf> {
    fn collect(item: &walk::Item<'_>, out: &mut Vec<PathBuf>) {
        match item {
            walk::Item::Task(_, context) | walk::Item::Include(_, context) => {
                out.extend(context.role.as_ref().map(|r| r.path.clone()));
            }
            walk::Item::IncludeRole(step, _) => {
                for role in step.role.iter().flat_map(|r| r.dependencies_in_order()) {
                    out.push(role.path.clone());
                }
            }
            walk::Item::Rescued {
                block,
                rescue,
                always,
            } => {
                for inner in block.iter().chain(rescue).chain(always) {
                    collect(inner, out);
                }
            }
        }
    }
    let mut dirs = Vec::new();
    for play in &playbook.plays {
        dirs.extend(play.roles_in_order().iter().map(|r| r.path.clone()));
        for item in walk::play_items(play).iter() {
            collect(item, &mut dirs);
        }
    }
    dirs
}

/// Checks, before any host is contacted, what Ansible checks when it loads a playbook:
/// every `notify` names a handler of its play.
fn check_notifications(playbook: &Playbook) -> Result<()> {
    for play in &playbook.plays {
        let handlers = play.all_handlers();
        let mut topics: Vec<&str> = Vec::new();
        for handler in &handlers {
            topics.extend(handler.name.as_ref().map(|n| n.value.as_str()));
            topics.extend(handler.listen.iter().map(|l| l.value.as_str()));
        }
        let mut tasks: Vec<&Task> = Vec::new();
        for item in walk::play_items(play).iter() {
            collect_tasks(item, &mut tasks);
        }
        tasks.extend(handlers.iter().copied());
        for task in tasks {
            for notify in &task.notify {
                if crate::resource::is_template(&notify.value) || topics.contains(&notify.value.as_str()) {
                    continue;
                }
                let message = format!(
                    "the handler `{}` is notified but does not exist in this play",
                    notify.value
                );
                return Err(match crate::error::did_you_mean(&notify.value, topics.iter().copied()) {
                    Some(close) => crate::error::located_hint(&notify.pos, message, format!("did you mean `{close}`?")),
                    None => crate::error::located_hint(
                        &notify.pos,
                        message,
                        "handlers are listed under `handlers:` in the play or in a role's handlers/main.yml",
                    ),
                });
            }
        }
    }
    Ok(())
}

/// One shell per host runs a play's escalated steps, so a play escalates one way: naming both
/// `sudo` and `su` is refused before connecting.
fn check_become_methods(playbook: &Playbook) -> Result<()> {
    for play in &playbook.plays {
        let methods = play_become_methods(play);
        if let Some(other) = methods.iter().find(|m| m.value != methods[0].value) {
            return Err(crate::error::located_hint(
                &other.pos,
                format!(
                    "`become_method: {}` in a play that also escalates with {} ({})",
                    other.value, methods[0].value, methods[0].pos
                ),
                "deploy opens one root shell per host for a play: use one become_method per play",
            ));
        }
    }
    Ok(())
}

/// Every `become_method` a play names: on the play, its roles, tasks and handlers, in order.
pub(crate) fn play_become_methods(play: &crate::playbook::Play) -> Vec<&crate::playbook::Located<String>> {
    let mut methods = Vec::new();
    methods.extend(&play.keywords.become_method);
    for role in play.roles_in_order() {
        methods.extend(&role.keywords.become_method);
    }
    let mut tasks: Vec<&Task> = Vec::new();
    for item in walk::play_items(play).iter() {
        collect_tasks(item, &mut tasks);
    }
    tasks.extend(play.all_handlers());
    for task in tasks {
        methods.extend(&task.keywords.become_method);
    }
    methods
}

fn collect_tasks<'p>(item: &walk::Item<'p>, out: &mut Vec<&'p Task>) {
    match item {
        walk::Item::Task(task, _) => out.push(task),
        // What a dynamic include loaded with the playbook holds; a file named by a template
        // is known only when a host reaches it.
        walk::Item::Include(include, _) => out.extend(
            include
                .tasks
                .iter()
                .flat_map(|steps| crate::playbook::all_tasks(steps)),
        ),
        walk::Item::IncludeRole(step, _) => {
            for role in step.role.iter().flat_map(|r| r.dependencies_in_order()) {
                out.extend(crate::playbook::all_tasks(&role.tasks));
            }
        }
        walk::Item::Rescued {
            block,
            rescue,
            always,
        } => {
            for inner in block.iter().chain(rescue).chain(always) {
                collect_tasks(inner, out);
            }
        }
    }
}

/// A play's `hosts:`, templated with the extra and play variables when it holds a template.
fn play_pattern(shared: &RunShared, play: &crate::playbook::Play) -> Result<String> {
    if !crate::resource::is_template(&play.hosts.value) {
        return Ok(play.hosts.value.clone());
    }
    let mut stack = VarStack::new();
    stack.push(
        Layer::PlayVars,
        play.vars
            .iter()
            .map(|(k, v)| (k.clone(), v.to_value()))
            .collect::<VarMap>(),
    );
    stack.push(Layer::ExtraVars, shared.extra_vars.clone());
    stack.push(Layer::Magic, {
        let mut magic = VarMap::new();
        magic.insert("groups".into(), json!(shared.inventory.groups_map()));
        magic
    });
    let rendered =
        shared
            .templar
            .render_str(&play.hosts.value, &stack, &Origin::new(play.hosts.pos.clone()))?;
    match rendered {
        Json::String(s) => Ok(s),
        Json::Array(items) => Ok(items
            .iter()
            .map(|i| i.as_str().map_or_else(|| i.to_string(), str::to_string))
            .collect::<Vec<_>>()
            .join(":")),
        other => Err(crate::error::located(
            &play.hosts.pos,
            format!("`hosts` must give a host pattern, found {other}"),
        )),
    }
}

async fn run_plays(mut shared: Arc<RunShared>, playbook: Arc<Playbook>) -> Result<RunReport> {
    check_notifications(&playbook)?;
    check_become_methods(&playbook)?;
    if let Some(limit) = &shared.options.limit {
        shared
            .inventory
            .select_with_warnings("all", Some(limit))
            .context("bad --limit pattern")?;
    }
    let mut runners: IndexMap<String, HostRunner> = IndexMap::new();
    for (index, play) in playbook.plays.iter().enumerate() {
        let pattern = play_pattern(&shared, play)?;
        let selection = shared
            .inventory
            .select_with_warnings(&pattern, shared.options.limit.as_deref())
            .with_context(|| format!("{}: bad host pattern", play.hosts.pos))?;
        for warning in &selection.warnings {
            shared.events.warning(warning);
        }
        let hosts = selection.hosts;
        for host in &hosts {
            if !runners.contains_key(host) {
                let (target, password) =
                    target_of(&shared, host, play.remote_user.as_ref().map(|u| u.value.as_str()))?;
                if let Some(password) = password {
                    Arc::get_mut(&mut shared)
                        .expect("no host task holds the run between plays")
                        .become_passwords
                        .insert(host.clone(), password);
                }
                runners.insert(host.clone(), HostRunner::new(host, target));
            }
        }
        let active: Vec<String> = hosts.iter().filter(|h| !runners[*h].failed()).cloned().collect();
        let all_batches = batches(&active, &play.serial);
        for (number, batch) in all_batches.iter().enumerate() {
            let semaphore = Arc::new(tokio::sync::Semaphore::new(shared.options.forks.max(1)));
            let mut tasks = tokio::task::JoinSet::new();
            for host in batch {
                let mut runner = runners
                    .shift_remove(host)
                    .expect("every selected host has a runner");
                let shared = Arc::clone(&shared);
                let playbook = Arc::clone(&playbook);
                let semaphore = Arc::clone(&semaphore);
                let play_hosts = hosts.clone();
                tasks.spawn(async move {
                    let _permit = semaphore.acquire_owned().await;
                    let span = tracing::info_span!("host", host = %runner.name);
                    tracing::Instrument::instrument(
                        runner.run_play(&shared, &playbook.plays[index], &play_hosts),
                        span,
                    )
                    .await;
                    runner
                });
            }
            while let Some(joined) = tasks.join_next().await {
                let runner = joined.context("a host's task panicked")?;
                shared.publish_facts(&runner.name, runner.visible_facts());
                runners.insert(runner.name.clone(), runner);
            }
            if let Some(reason) = stop_reason(play, batch, &runners) {
                // Later batches and plays never start: name the hosts left as they were.
                let mut untouched: Vec<String> =
                    all_batches[number + 1..].iter().flatten().cloned().collect();
                for later in &playbook.plays[index + 1..] {
                    if let Ok(selection) = shared
                        .inventory
                        .select_with_warnings(&later.hosts.value, shared.options.limit.as_deref())
                    {
                        untouched.extend(selection.hosts.into_iter().filter(|h| !runners.contains_key(h)));
                    }
                }
                untouched.sort();
                untouched.dedup();
                return finish(shared, runners, Some(reason), untouched).await;
            }
        }
    }
    finish(shared, runners, None, Vec::new()).await
}

async fn finish(
    shared: Arc<RunShared>,
    runners: IndexMap<String, HostRunner>,
    aborted: Option<String>,
    untouched: Vec<String>,
) -> Result<RunReport> {
    let order: Vec<String> = shared.inventory.hosts().keys().cloned().collect();
    let mut finished = Vec::new();
    for (_, runner) in runners {
        finished.push(runner.finish().await);
    }
    finished.sort_by_key(|r| order.iter().position(|h| *h == r.plan.host).unwrap_or(usize::MAX));
    for host in &finished {
        shared.events.host_done(host);
    }
    shared.events.finished();
    Ok(RunReport {
        hosts: finished,
        aborted,
        untouched,
    })
}

/// Whether a batch's failures stop the run: `any_errors_fatal`, or more than
/// `max_fail_percentage` of the batch failed (as in Ansible, per batch).
fn stop_reason(
    play: &crate::playbook::Play,
    batch: &[String],
    runners: &IndexMap<String, HostRunner>,
) -> Option<String> {
    let failed: Vec<&String> = batch
        .iter()
        .filter(|h| runners.get(*h).is_some_and(HostRunner::failed))
        .collect();
    if failed.is_empty() {
        return None;
    }
    let fatal = matches!(
        play.keywords.any_errors_fatal.as_ref().map(|f| &f.value),
        Some(crate::playbook::Templated::Literal(true))
    );
    if fatal {
        return Some(format!(
            "stopped: any_errors_fatal and {} failed",
            failed.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(", ")
        ));
    }
    let threshold = match play.max_fail_percentage.as_ref().map(|m| &m.value) {
        Some(crate::playbook::Templated::Literal(percent)) => *percent,
        _ => return None,
    };
    let percent = failed.len() as f64 * 100.0 / batch.len() as f64;
    (percent > threshold).then(|| {
        format!(
            "stopped: {:.0}% of the batch failed ({}), above max_fail_percentage {threshold}",
            percent,
            failed.iter().map(|h| h.as_str()).collect::<Vec<_>>().join(", ")
        )
    })
}

/// Splits hosts into `serial` batches (numbers, percentages, or a list of either; the last
/// size repeats).
fn batches(hosts: &[String], serial: &[crate::playbook::Located<Batch>]) -> Vec<Vec<String>> {
    if serial.is_empty() || hosts.is_empty() {
        return vec![hosts.to_vec()];
    }
    let sizes: Vec<usize> = serial
        .iter()
        .map(|b| match &b.value {
            Batch::Count(n) => (*n as usize).max(1),
            Batch::Percent(p) => ((hosts.len() as f64 * p / 100.0) as usize).max(1),
            Batch::Template(_) => hosts.len(),
        })
        .collect();
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while start < hosts.len() {
        let size = sizes[i.min(sizes.len() - 1)];
        let end = (start + size).min(hosts.len());
        out.push(hosts[start..end].to_vec());
        start = end;
        i += 1;
    }
    out
}

/// How to reach `host`, from its connection variables (templated, as Ansible allows).
fn target_of(shared: &RunShared, host: &str, remote_user: Option<&str>) -> Result<(Target, Option<Secret>)> {
    let mut stack = VarStack::new();
    stack.push(Layer::Inventory, shared.host_vars(host)?);
    stack.push(Layer::ExtraVars, shared.extra_vars.clone());
    stack.push(Layer::Magic, shared.magic_vars(host));
    stack.set_hostvars(Arc::clone(&shared.hostvars));
    let origin = Origin::new(crate::error::Pos::file_start(Path::new(host)));
    let get = |name: &str| -> Result<Option<String>> {
        match stack.lookup(name) {
            None => Ok(None),
            Some(_) => {
                let value = shared.templar.resolve_var(name, &stack, &origin)?;
                Ok(match value {
                    Json::Null => None,
                    Json::String(s) => Some(s),
                    other => Some(other.to_string()),
                })
            }
        }
    };
    let mut ssh_args = Vec::new();
    for name in ["ansible_ssh_common_args", "ansible_ssh_extra_args"] {
        if let Some(args) = get(name)? {
            let words = crate::shell::split(&args, false)
                .with_context(|| format!("{host}: cannot read {name}: cannot split {args:?}"))?;
            ssh_args.extend(words);
        }
    }
    let port = match get("ansible_port")?.or(get("ansible_ssh_port")?) {
        Some(p) => Some(
            p.parse::<u16>()
                .with_context(|| format!("{host}: ansible_port `{p}` is not a port"))?,
        ),
        None => None,
    };
    let local = get("ansible_connection")?.as_deref() == Some("local");
    let defaults = &shared.options.defaults;
    // As in Ansible, the variable beats ansible.cfg's `host_key_checking`.
    let host_keys = match get("ansible_host_key_checking")?.or(get("ansible_ssh_host_key_checking")?) {
        Some(check) if !crate::config::parse_bool(&check) => HostKeyPolicy::Off,
        Some(_) if shared.options.host_keys == HostKeyPolicy::Off => HostKeyPolicy::Strict,
        _ => shared.options.host_keys,
    };
    let mut target = Target {
        name: host.to_string(),
        address: get("ansible_host")?
            .or(get("ansible_ssh_host")?)
            .unwrap_or_else(|| host.to_string()),
        port,
        user: get("ansible_user")?
            .or(get("ansible_ssh_user")?)
            .or(remote_user.map(str::to_string))
            .or(defaults.remote_user.clone()),
        private_key: get("ansible_ssh_private_key_file")?
            .or(get("ansible_private_key_file")?)
            .map(PathBuf::from)
            .or(defaults.private_key.clone()),
        ssh_args,
        local,
        host_keys,
        connect_timeout: shared.options.connect_timeout,
        ..Target::default()
    };
    let password = get("ansible_become_password")?
        .or(get("ansible_become_pass")?)
        .map(Secret::new);
    target.become_method = match get("ansible_become_method")? {
        None => defaults.become_method,
        Some(name) => Some(BecomeMethod::parse(&name).ok_or_else(|| {
            anyhow::anyhow!("{host}: ansible_become_method is `{name}`; deploy escalates with sudo or su")
        })?),
    };
    Ok((target, password))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Pos;
    use crate::playbook::Located;

    fn located(batch: Batch) -> Located<Batch> {
        Located {
            value: batch,
            pos: Pos::file_start(Path::new("site.yml")),
        }
    }

    #[test]
    fn serial_splits_hosts_into_batches() {
        let hosts: Vec<String> = (1..=5).map(|i| format!("h{i}")).collect();
        assert_eq!(batches(&hosts, &[]).len(), 1);
        let sizes: Vec<usize> = batches(&hosts, &[located(Batch::Count(2))])
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [2, 2, 1]);
        let sizes: Vec<usize> = batches(&hosts, &[located(Batch::Count(1)), located(Batch::Percent(60.0))])
            .iter()
            .map(Vec::len)
            .collect();
        assert_eq!(sizes, [1, 3, 1]);
    }
}

//! Task resolution: from a task and the variables a host sees to a step to probe (or a
//! control module to run, or a skip): conditions, loops, `register`ed results and the
//! variable stack of each task.

use super::*;
use crate::playbook::{Loop, LoopKind};

impl HostRunner {
    pub(super) fn base_stack(
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
        // Templated names (`vars/{{ ansible_os_family }}.yml`) are rendered for this host, with
        // what it knows so far: inventory, play vars, facts, extra vars.
        for file in &play.vars_files {
            let vars = file.load_for_host(|candidate| {
                let origin = Origin::new(candidate.pos.clone());
                let name = run.templar.render_str(&candidate.value, &stack, &origin)?;
                Ok(name.as_str().map_or_else(|| name.to_string(), str::to_string))
            })?;
            stack.push(Layer::PlayVarsFiles, node_map(&vars));
        }
        stack.set_hostvars(Arc::clone(&run.hostvars));
        Ok(stack)
    }

    /// The variables a task sees: the play's, its role's, its blocks', its own.
    pub(super) fn task_stack(
        &self,
        base: &VarStack,
        context: &Context,
        task_vars: &BTreeMap<String, Json>,
    ) -> VarStack {
        let mut stack = base.clone();
        if let Some(role) = &context.role {
            stack.push(Layer::RoleDefaults, Arc::clone(&role.defaults));
            stack.push(Layer::RoleVars, Arc::clone(&role.vars));
            stack.push(Layer::IncludeParams, Arc::clone(&role.params));
            stack.set(Layer::Magic, "role_path", json!(role.path.display().to_string()));
            stack.set(Layer::Magic, "role_name", json!(role.name));
            stack.set(Layer::Magic, "ansible_role_name", json!(role.name));
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
        if !self.included_vars.is_empty() {
            stack.push(Layer::IncludeVars, Arc::clone(&self.included_vars));
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

    pub(super) fn conditions_hold(
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
    pub(super) fn registered_dependencies(&self, task: &Task, context: &Context) -> Vec<String> {
        let mut texts: Vec<String> = task.keywords.when.iter().map(|w| w.value.clone()).collect();
        texts.extend(context.when.iter().map(|(w, _)| w.clone()));
        // In parameters and loops only the template parts name variables: a literal
        // `"installed once"` does not read a result registered as `once`.
        texts.extend(task.params.values().map(|p| template_parts(&p.value.to_string())));
        // `debug: var=` is an expression without braces.
        if task.module.name == "debug" {
            texts.extend(task.params.get("var").map(|p| p.value.to_string()));
        }
        if let Some(l) = &task.loop_ {
            texts.push(template_parts(&l.items.to_value().to_string()));
        }
        self.registered
            .keys()
            .filter(|name| texts.iter().any(|t| mentions(t, name)))
            .cloned()
            .collect()
    }

    pub(super) async fn run_task(
        &mut self,
        run: &RunShared,
        play: &Play,
        base: &VarStack,
        task: &Task,
        context: &Context,
        stage: &mut Stage,
    ) -> Result<()> {
        if !run.tags_match(task) {
            return Ok(());
        }
        // `run_once`: the batch's first host runs it, as under Ansible; the others wait for it
        // and take what it registered (nothing, when it ended without reaching the task).
        if walk::literal(&task.keywords.run_once) == Some(true) && !self.in_run_once {
            let hosts = base
                .lookup("ansible_play_hosts")
                .map(|(_, h)| h.clone())
                .unwrap_or_default();
            let batch = hosts.to_string();
            let first = hosts
                .get(0)
                .and_then(Json::as_str)
                .unwrap_or(&self.name)
                .to_string();
            let cell = run.run_once_cell(format!("{}|{batch}", task.pos));
            let ran_here = first == self.name;
            let shared = if ran_here {
                let value = cell
                    .get_or_try_init(|| async {
                        self.in_run_once = true;
                        let ran = Box::pin(self.run_task(run, play, base, task, context, stage)).await;
                        self.in_run_once = false;
                        ran?;
                        let Some(register) = &task.register else {
                            return Ok(Json::Null);
                        };
                        // The others need the result now: apply what it waits on.
                        if self
                            .registered
                            .get(&register.value)
                            .is_some_and(Registered::is_pending)
                            && run.options.mode == Mode::Apply
                        {
                            self.flush(run, stage).await?;
                        }
                        Ok::<Json, anyhow::Error>(match self.registered.get(&register.value) {
                            Some(Registered::Known(value)) => value.clone(),
                            _ => Json::Null,
                        })
                    })
                    .await;
                run.run_once_notify.notify_waiters();
                value?.clone()
            } else {
                loop {
                    let notified = run.run_once_notify.notified();
                    tokio::pin!(notified);
                    notified.as_mut().enable();
                    if let Some(value) = cell.get() {
                        break value.clone();
                    }
                    if run.is_play_done(&batch, &first) {
                        break Json::Null;
                    }
                    notified.await;
                }
            };
            if !ran_here {
                self.skip(run, task, context);
                if let Some(register) = &task.register {
                    // Nothing shared: known only after apply in a plan; when applying, the
                    // first host ended without running it.
                    let value = match (shared.is_null(), run.options.mode) {
                        (false, _) => Registered::Known(shared),
                        (true, Mode::Apply) => Registered::Known(json!({"changed": false, "skipped": true})),
                        (true, _) => Registered::Pending,
                    };
                    self.registered.insert(register.value.clone(), value);
                }
            }
            return Ok(());
        }
        // A task reading a registered result first needs that result: probe what is queued,
        // and when applying, apply what is pending (one more round, same exec).
        let dependencies = self.registered_dependencies(task, context);
        if dependencies.iter().any(|d| {
            stage
                .queue
                .iter()
                .any(|q| q.meta.register.as_deref() == Some(d.as_str()))
        }) {
            self.probe_queue(run, stage).await?;
        }
        let unknown = dependencies
            .iter()
            .any(|d| self.registered.get(d).is_some_and(Registered::is_pending));
        if unknown {
            if run.options.mode == Mode::Apply {
                self.flush(run, stage).await?;
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
                // Facts set from an unknown result are unknown: what reads them waits too.
                if task.module.sets_facts {
                    for name in task.params.keys().filter(|k| *k != "cacheable") {
                        self.registered.insert(name.clone(), Registered::Pending);
                    }
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
        let mut stack = self.task_stack(base, context, &task_vars);
        if self.delegated_to.is_none() {
            if let Some(host) = self.delegate_of(run, task, &stack)? {
                return self
                    .run_delegated(run, play, base, task, context, stage, host)
                    .await;
            }
        }
        let origin = self.origin(task);
        // Block and role conditions first; the task's own `when` is evaluated per loop item.
        if !self.conditions_hold(run, &context.when, &[], &stack, &origin)? {
            self.skip(run, task, context);
            return Ok(());
        }
        let items = match &task.loop_ {
            None => vec![None],
            Some(l) => loop_items(run, &task.module_name.value, context, l, &stack)?
                .into_iter()
                .map(Some)
                .collect(),
        };
        let loop_var = task
            .loop_
            .as_ref()
            .and_then(|l| l.loop_var.as_ref())
            .map_or("item".to_string(), |v| v.value.clone());
        let mut results = Vec::new();
        let looped = task.loop_.is_some();
        let count = items.len();
        if let (true, Some(register)) = (looped, &task.register) {
            // What its items register fills this loop's result, not an older one of the name.
            self.registered.remove(&register.value);
        }
        for (index, item) in items.into_iter().enumerate() {
            if index > 0 && task.module.sets_facts {
                // As in Ansible, a fact set by one item is seen by the next
                // (`list: "{{ list | default([]) + [item] }}"` accumulates).
                for (name, value) in &self.host_facts {
                    stack.set(Layer::Facts, name, value.clone());
                }
            }
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
            let slot = item.as_ref().map(|item| {
                let mut extras = serde_json::Map::new();
                extras.insert(loop_var.clone(), item.clone());
                extras.insert("ansible_loop_var".into(), json!(loop_var));
                if let Some(index_var) = task.loop_.as_ref().and_then(|l| l.index_var.as_ref()) {
                    extras.insert(index_var.value.clone(), json!(index));
                    extras.insert("ansible_index_var".into(), json!(index_var.value));
                }
                LoopSlot {
                    index: results.len(),
                    len: count,
                    extras,
                }
            });
            let result = self
                .run_task_item(
                    run,
                    play,
                    task,
                    context,
                    LoopItem {
                        stack: item_stack,
                        label,
                        slot: slot.clone(),
                    },
                    stage,
                )
                .await?;
            results.push(match (&slot, result) {
                (Some(slot), result) if !result.is_null() => slot.mark(result),
                (_, result) => result,
            });
        }
        if let Some(register) = &task.register {
            let value = if looped {
                // Items probed or applied already filled their slots (`stage::record`); those
                // applied later will.
                match self.registered.remove(&register.value) {
                    Some(Registered::Known(whole)) => Registered::Known(whole),
                    Some(Registered::Looping(filled)) => {
                        for (result, done) in results.iter_mut().zip(filled) {
                            if result.is_null() {
                                *result = done;
                            }
                        }
                        if results.iter().any(Json::is_null) {
                            Registered::Looping(results)
                        } else {
                            Registered::Known(Registered::of_loop(results))
                        }
                    }
                    _ if results.iter().any(Json::is_null) => Registered::Looping(results),
                    _ => Registered::Known(Registered::of_loop(results)),
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

    pub(super) fn origin(&self, task: &Task) -> Origin {
        let origin = Origin::new(task.pos.clone());
        match &task.name {
            Some(name) => origin.task(name.value.clone()),
            None => origin,
        }
    }

    pub(super) fn skip(&mut self, run: &RunShared, task: &Task, context: &Context) {
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

    pub(super) fn display(
        &self,
        run: &RunShared,
        task: &Task,
        context: &Context,
        target: String,
        diff: Diff,
    ) -> PlannedStep {
        let location = format!("{}:{}", run.relative(&task.pos.path), task.pos.line);
        // A reviewer must see where a delegated step acts.
        let target = match &self.delegated_to {
            Some(host) => format!("{target} (on {host})"),
            None => target,
        };
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
    pub(super) async fn run_task_item(
        &mut self,
        run: &RunShared,
        play: &Play,
        task: &Task,
        context: &Context,
        item: LoopItem,
        stage: &mut Stage,
    ) -> Result<Json> {
        // A task the loader could not check fails where a host reaches it, as under Ansible,
        // before its parameters are even rendered.
        if let Some(reason) = &task.unsupported {
            bail!("{reason}");
        }
        let LoopItem { stack, label, slot } = item;
        let origin = self.origin(task);
        let params: Json = Json::Object(
            task.params
                .iter()
                .map(|(k, p)| (k.clone(), p.value.clone()))
                .collect(),
        );
        let rendered = run.templar.render_value(&params, &stack, &origin)?;
        // A task given a vault secret: what it registers (a command's output, say) is secret too.
        let secret_input = crate::vault::holds_tainted(&rendered);
        let Json::Object(rendered) = rendered else {
            bail!("{}: parameters did not render to a mapping", task.pos);
        };
        let values: IndexMap<String, Json> = rendered.into_iter().collect();
        let no_log = walk::literal(&task.keywords.no_log)
            .or(context.no_log)
            .unwrap_or(false);
        match task.module.kind {
            // The loader turns includes into include steps: one never arrives as a task, and
            // `run_control` refuses it if it did.
            ModuleKind::Control | ModuleKind::Include(_) => {
                return self.run_control(run, play, task, &values, &stack, stage).await;
            }
            ModuleKind::Resource | ModuleKind::Command | ModuleKind::Wait => {}
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
        let become_user = effective_become_user(play, task, context, &run.options.defaults);
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
            kind: task.module.kind,
            display,
            script: Script::new(),
            always_run: false,
            register: task.register.as_ref().map(|r| r.value.clone()),
            slot: slot.clone(),
            secret_input,
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
            answer: None,
            step: None,
            timeout: match task.keywords.timeout.as_ref().map(|t| &t.value) {
                Some(crate::playbook::Templated::Literal(seconds)) => Some((*seconds).max(1) as u64),
                _ => run.options.step_timeout.map(|d| d.as_secs().max(1)),
            },
        };
        if task.module.kind == ModuleKind::Command && check_mode_false {
            // A query (Ansible runs it even in check mode). It reads the host as the steps
            // before it leave it: when applying, it runs once the changes still pending are
            // applied (a package installing the program it calls). A plan runs it now, inside
            // the probe, as `ansible-playbook --check` does, so what reads its output plans
            // exactly; if it fails while changes are pending, it is known after apply.
            self.probe_queue(run, stage).await?;
            if run.options.mode == Mode::Apply && self.changes_pending(stage) {
                self.flush(run, stage).await?;
            }
            let result = self.run_query(run, step, become_user, meta, stage).await?;
            if secret_input {
                crate::vault::taint_value(&result);
            }
            return Ok(result);
        }
        // A step on something an earlier step of this stage changes cannot trust its probe:
        // it waits for that change (a new stage when applying; `?` in a plan).
        if stage.queue.iter().any(|q| q.meta.target == meta.target) {
            self.probe_queue(run, stage).await?;
        }
        let stale = stage
            .pending
            .iter()
            .any(|p| p.target == meta.target && (p.display.diff.action.is_change() || p.always_run));
        if stale {
            if run.options.mode == Mode::Apply {
                self.flush(run, stage).await?;
            } else {
                return Ok(self.known_after_apply(meta, "after an earlier change to it", stage));
            }
        }
        stage.queue.push(Unprobed {
            id,
            step,
            become_user,
            meta,
        });
        // Facts a query answers with (`service_facts`) are read by the next tasks' `when`
        // without naming a registered result: its round comes now (same exec).
        if task.module.publishes_facts {
            self.probe_queue(run, stage).await?;
        }
        Ok(Json::Null)
    }
}

/// One loop item of a task (or the task itself, without a loop): the variables it sees,
/// `item` included, and its `loop_control.label`.
pub(super) struct LoopItem {
    pub(super) stack: VarStack,
    pub(super) label: Option<Json>,
    /// Its place in the loop's registered result (none without a loop).
    pub(super) slot: Option<LoopSlot>,
}

/// What a `register`ed name holds.
#[derive(Clone, Debug)]
pub(super) enum Registered {
    Known(Json),
    /// The step changes something; its result exists only after apply.
    Pending,
    /// A loop some of whose items are known only after apply: each item's result (`null`
    /// until applied), made whole as Ansible registers a loop once every item is known.
    Looping(Vec<Json>),
}

impl Registered {
    /// Whether it is known only after apply.
    pub(super) fn is_pending(&self) -> bool {
        !matches!(self, Registered::Known(_))
    }

    /// A loop's registered result, as Ansible makes it from its items' results.
    pub(super) fn of_loop(results: Vec<Json>) -> Json {
        let changed = results.iter().any(|r| r["changed"] == json!(true));
        let failed = results.iter().any(|r| r["failed"] == json!(true));
        let mut value = json!({"results": results, "changed": changed, "skipped": false});
        if failed {
            value["failed"] = json!(true);
            value["msg"] = json!("One or more items failed");
        } else {
            value["msg"] = json!("All items completed");
        }
        value
    }
}

/// Where a loop item's result goes in its loop's registered result, and what Ansible adds to
/// it there (`item`, `ansible_loop_var`, the index variable).
#[derive(Clone, Debug)]
pub(super) struct LoopSlot {
    pub(super) index: usize,
    /// How many items the loop has.
    pub(super) len: usize,
    pub(super) extras: serde_json::Map<String, Json>,
}

impl LoopSlot {
    pub(super) fn mark(&self, mut result: Json) -> Json {
        if let Json::Object(fields) = &mut result {
            for (key, value) in &self.extras {
                fields.insert(key.clone(), value.clone());
            }
        }
        result
    }
}

/// A loop's items, prepared as its keyword prepares them. `action` is the module as written:
/// `with_first_found` searches by it.
pub(super) fn loop_items(
    run: &RunShared,
    action: &str,
    context: &Context,
    l: &Loop,
    stack: &VarStack,
) -> Result<Vec<Json>> {
    let origin = Origin::new(l.pos.clone());
    if l.kind == LoopKind::FirstFound {
        return first_found_items(run, action, context, l, stack);
    }
    let rendered = run.templar.render_value(&l.items.to_value(), stack, &origin)?;
    // Each `with_<name>` runs the lookup of that name on its terms (`LoopKind::items`).
    let items = l.kind.items(rendered).map_err(|e| anyhow!("{}: {e:#}", l.pos))?;
    Ok(match l.kind {
        LoopKind::Fileglob => {
            let dirs = search_dirs_for(run, &l.pos, context, "files");
            let mut files = Vec::new();
            for pattern in &items {
                let pattern = pattern
                    .as_str()
                    .with_context(|| format!("{}: `with_fileglob` takes patterns, found {pattern}", l.pos))?;
                files.extend(
                    crate::playbook::search::glob(pattern, &dirs)
                        .into_iter()
                        .map(|p| json!(p.display().to_string())),
                );
            }
            files
        }
        _ => items,
    })
}

/// `with_first_found`: the first file named that exists, searched where the task's module
/// looks (Ansible picks `templates`, `vars` or `files` by the module's name), as a one-item
/// list; names whose variables are undefined are passed over, as under Ansible.
fn first_found_items(
    run: &RunShared,
    action: &str,
    context: &Context,
    l: &Loop,
    stack: &VarStack,
) -> Result<Vec<Json>> {
    let origin = Origin::new(l.pos.clone());
    let terms = render_defined(run, &l.items.to_value(), stack, &origin);
    let (names, skip) =
        crate::playbook::search::first_found_candidates(&terms).map_err(|e| anyhow!("{}: {e}", l.pos))?;
    let subdir = ["template", "var", "file"]
        .into_iter()
        .find(|s| action.contains(s))
        .map_or("files".to_string(), |s| format!("{s}s"));
    let dirs = search_dirs_for(run, &l.pos, context, &subdir);
    match crate::playbook::search::first_existing(&names, &dirs) {
        Some(path) => Ok(vec![json!(path.display().to_string())]),
        None if skip => Ok(Vec::new()),
        None => Err(crate::error::located_hint(
            &l.pos,
            "no file was found when using first_found",
            format!(
                "looked for {} in {}",
                names.join(", "),
                dirs.iter()
                    .map(|d| d.display().to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

/// A value rendered with the parts whose variables are undefined left out.
fn render_defined(run: &RunShared, value: &Json, stack: &VarStack, origin: &Origin) -> Json {
    match value {
        Json::Array(items) => Json::Array(
            items
                .iter()
                .map(|v| render_defined(run, v, stack, origin))
                .filter(|v| !v.is_null())
                .collect(),
        ),
        Json::Object(map) => Json::Object(
            map.iter()
                .map(|(k, v)| (k.clone(), render_defined(run, v, stack, origin)))
                .collect(),
        ),
        other => run
            .templar
            .render_value(other, stack, origin)
            .unwrap_or(Json::Null),
    }
}

/// Where a task's controller files are searched: its role, its file's directory, the playbook.
pub(super) fn search_dirs_for(
    run: &RunShared,
    at: &Pos,
    context: &Context,
    subdir: &str,
) -> Vec<std::path::PathBuf> {
    let role = context.role.as_ref().map(|r| r.path.as_path());
    let task_dir = at.path.parent().unwrap_or(std::path::Path::new("."));
    crate::playbook::search::search_dirs(role, task_dir, &run.playbook_dir, subdir)
}

pub(super) fn effective_become_user(
    play: &Play,
    task: &Task,
    context: &Context,
    defaults: &crate::engine::Defaults,
) -> Option<String> {
    let becomes = walk::literal(&task.keywords.become_)
        .or(context.become_)
        .or(walk::literal(&play.keywords.become_))
        .unwrap_or(defaults.become_);
    if !becomes {
        return None;
    }
    task.keywords
        .become_user
        .as_ref()
        .map(|u| u.value.clone())
        .or_else(|| context.become_user.clone())
        .or_else(|| play.keywords.become_user.as_ref().map(|u| u.value.clone()))
        .or_else(|| defaults.become_user.clone())
        .or_else(|| Some("root".to_string()))
}

/// The `become_method` the play names, at any level (the loader refuses a play naming two).
pub(super) fn play_become_method(play: &Play) -> Option<BecomeMethod> {
    crate::engine::play_become_methods(play)
        .first()
        .and_then(|method| BecomeMethod::parse(&method.value))
}

/// The user the play's shell runs as: root when anything in the play escalates.
pub(super) fn play_become(play: &Play, become_by_default: bool) -> Option<String> {
    let play_level = walk::literal(&play.keywords.become_).unwrap_or(become_by_default);
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

/// The expressions and statements of template text (`{{ ... }}`, `{% ... %}`), joined.
pub(super) fn template_parts(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{").into_iter().chain(rest.find("{%")).min() {
        let close = if rest[start..].starts_with("{{") {
            "}}"
        } else {
            "%}"
        };
        let inner = &rest[start + 2..];
        let end = inner.find(close).unwrap_or(inner.len());
        out.push_str(&inner[..end]);
        out.push(' ');
        rest = &inner[(end + close.len()).min(inner.len())..];
    }
    out
}

/// Whether template text mentions `name` as a variable (a whole identifier).
pub(super) fn mentions(text: &str, name: &str) -> bool {
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

pub(super) fn node_map(vars: &crate::playbook::Vars) -> VarMap {
    vars.iter().map(|(k, v)| (k.clone(), v.to_value())).collect()
}

pub(super) fn strip_prefix(facts: &VarMap) -> serde_json::Map<String, Json> {
    facts
        .iter()
        .map(|(k, v)| (k.strip_prefix("ansible_").unwrap_or(k).to_string(), v.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_parts_are_what_reads_variables() {
        assert_eq!(template_parts("installed once"), "");
        assert!(mentions(&template_parts("{{ once.stdout }} and once"), "once"));
        assert!(mentions(&template_parts("a {% if once %}x{% endif %}"), "once"));
        assert!(!mentions(&template_parts("{{ x }} once"), "once"));
    }

    #[test]
    fn mentions_whole_identifiers_only() {
        assert!(mentions("{{ result.stdout }}", "result"));
        assert!(mentions("result is changed", "result"));
        assert!(!mentions("{{ results }}", "result"));
        assert!(!mentions("{{ my_result }}", "result"));
    }
}

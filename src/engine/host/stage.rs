//! The probe/apply stage: steps queued for one probe round, planned steps pending their
//! apply, and the handlers they notify. A stage ends when a later step needs what it
//! changes (a new round in the same exec), at `flush_handlers`, or at the end of the play.

use super::*;

impl HostRunner {
    /// Whether a change planned earlier in the run is not applied yet: in this stage when
    /// applying, anywhere earlier when planning. What a later probe or query reads may then
    /// differ from what apply will find (a package not installed yet, a user not created).
    pub(super) fn changes_pending(&self, stage: &Stage) -> bool {
        self.planned_unapplied || stage.pending.iter().any(|p| p.display.diff.action.is_change())
    }

    /// Inspects a probed step and plans it; a `become_user` missing on the host is an error
    /// that says so (known after apply when an earlier change may create the user).
    pub(super) fn plan_step(
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
    pub(super) fn known_after_apply(&mut self, mut meta: Pending, reason: &str, stage: &mut Stage) -> Json {
        meta.display.diff = Diff::known_after_apply(reason);
        self.report.plan.steps.push(meta.display.clone());
        self.record(&meta, Registered::Pending);
        stage.pending.push(meta);
        Json::Null
    }

    /// Registers a step's result under its `register` name; a loop item's goes to its slot
    /// of the loop's result, which is made whole once every item is known.
    pub(super) fn record(&mut self, step: &Pending, value: Registered) {
        let Some(register) = &step.register else {
            return;
        };
        if let (true, Registered::Known(result)) = (step.secret_input, &value) {
            crate::vault::taint_value(result);
        }
        let Some(slot) = &step.slot else {
            self.registered.insert(register.clone(), value);
            return;
        };
        let Registered::Known(result) = value else {
            // The loop registers itself as pending once all its items are resolved.
            return;
        };
        let entry = self
            .registered
            .entry(register.clone())
            .or_insert_with(|| Registered::Looping(Vec::new()));
        let Registered::Looping(results) = entry else {
            *entry = Registered::Looping(Vec::new());
            return self.record(step, Registered::Known(result));
        };
        if results.len() <= slot.index {
            results.resize(slot.index + 1, Json::Null);
        }
        results[slot.index] = slot.mark(result);
        if results.len() == slot.len && !results.iter().any(Json::is_null) {
            let whole = Registered::of_loop(std::mem::take(results));
            *entry = Registered::Known(whole);
        }
    }

    pub(super) async fn run_query(
        &mut self,
        run: &RunShared,
        step: Box<dyn Step>,
        become_user: Option<String>,
        mut meta: Pending,
        stage: &mut Stage,
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
            Err(err) if run.options.mode != Mode::Apply && self.changes_pending(stage) => {
                return Ok(self.known_after_apply(meta, &format!("{err:#}"), stage));
            }
            Err(err) => return Err(err.context(format!("{}: {}", meta.display.location, meta.display.task))),
        };
        if diff.is_converged() {
            return Ok(json!({"changed": false, "skipped": true, "msg": "guard: nothing to run"}));
        }
        let script = as_user(script, become_user.as_deref(), &self.token);
        meta.script = with_timeout(script, meta.timeout, &self.token);
        let mut script = StageScript::new(&self.token);
        script.step(&meta.id, &meta.script, false);
        let outcomes = self.stage_round(script.finish()).await.map_err(|(_, err)| err)?;
        let outcome = outcomes.get(&meta.id).cloned().context("the query did not run")?;
        let mut result = command_result(&outcome);
        let failed = self.judge(run, &meta, &mut result, &outcome)?;
        result["changed"] = json!(false);
        if failed && !meta.ignore_errors && run.options.mode != Mode::Apply && self.changes_pending(stage) {
            let reason = if meta.no_log {
                format!("fails before earlier changes: exit code {}", outcome.status)
            } else {
                format!("fails before earlier changes: {}", failure_message(&outcome))
            };
            return Ok(self.known_after_apply(meta, &reason, stage));
        }
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

    /// Probes the queued steps in one round, and turns each into a planned step.
    ///
    /// A step whose plan fails while earlier changes of the stage are still pending (a config
    /// file that the package being installed will create) is not an error yet: a plan shows it
    /// as known after apply, and an apply applies the stage so far, then probes it again.
    pub(super) async fn probe_queue(&mut self, run: &RunShared, stage: &mut Stage) -> Result<()> {
        while !stage.queue.is_empty() {
            let retry = self.probe_round(run, stage).await?;
            if retry.is_empty() {
                break;
            }
            self.apply_pending(run, stage).await?;
            stage.queue = retry;
        }
        Ok(())
    }

    /// One probe round over the stage.queue; returns the steps to probe again after applying.
    pub(super) async fn probe_round(&mut self, run: &RunShared, stage: &mut Stage) -> Result<Vec<Unprobed>> {
        let mut retry: Vec<Unprobed> = Vec::new();
        let mut probe = ProbeScript::new(&self.token);
        for unprobed in stage.queue.iter() {
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
        for unprobed in std::mem::take(&mut stage.queue) {
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
            let planned = self.plan_step(step.as_ref(), section, become_user.as_deref());
            // A task that judges its own failure gets the error as its result, as Ansible's
            // module returns it: with `failed_when: false` (a hardening role's "remove the bit
            // where the file exists") it carries on, converged.
            let planned = match planned {
                Err(err) if !meta.failed_when.is_empty() => {
                    let mut result = json!({"changed": false, "failed": true, "msg": format!("{err:#}")});
                    if self.judge_with(run, &meta, &mut result, true)? {
                        Err(err)
                    } else {
                        meta.display.diff = Diff::converged();
                        meta.answer = Some(result.clone());
                        self.record(&meta, Registered::Known(result));
                        self.report.plan.steps.push(meta.display.clone());
                        meta.step = Some(step);
                        stage.pending.push(meta);
                        continue;
                    }
                }
                other => other,
            };
            let (mut diff, script) = match planned {
                Ok(planned) => planned,
                Err(err) => {
                    let earlier = self.changes_pending(stage) || stage.pending.iter().any(|p| p.always_run);
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
                    self.known_after_apply(meta, &format!("{err:#}"), stage);
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
            if meta.kind == ModuleKind::Wait && !diff.is_converged() {
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
            // A query's answer (`stat`) is what the host holds now: in a plan, with a change
            // to that path still unapplied, it is known only after apply.
            let answer = step.result(section)?;
            let stale_answer = answer.is_some()
                && run.options.mode != Mode::Apply
                && match step.confined_to(section) {
                    Some(paths) => stage.pending.iter().any(|p| {
                        p.display.diff.action.is_change()
                            && paths.iter().any(|path| paths_overlap(path, &p.target))
                    }),
                    None => self.changes_pending(stage),
                };
            let mut answer = answer;
            if let Some(facts) = answer
                .as_ref()
                .and_then(|a| a.get("ansible_facts"))
                .and_then(Json::as_object)
            {
                self.add_module_facts(run, facts.clone());
            }
            let known = diff.is_converged() && !meta.always_run && !stale_answer;
            if let (true, Some(answer)) = (known, answer.as_mut()) {
                self.judge_answer(run, &meta, answer)?;
            }
            meta.answer = answer.clone();
            let registered = if known {
                Registered::Known(answer.unwrap_or_else(|| json!({"changed": false, "failed": false})))
            } else {
                Registered::Pending
            };
            self.record(&meta, registered);
            self.report.plan.steps.push(meta.display.clone());
            let changes = !meta.script.is_empty();
            let confined = step.confined_to(section);
            meta.step = Some(step);
            stage.pending.push(meta);
            if changes && run.options.mode == Mode::Apply && !self.in_handlers {
                match confined {
                    Some(paths) => changed_paths.extend(paths),
                    None => unconfined_change = true,
                }
            }
        }
        Ok(retry)
    }

    /// When applying a saved plan: notes a step whose probe differs from what the plan saw.
    pub(super) fn compare_with_saved_plan(&mut self, run: &RunShared, step: &PlannedStep) {
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
    pub(super) async fn flush(&mut self, run: &RunShared, stage: &mut Stage) -> Result<()> {
        self.probe_queue(run, stage).await?;
        self.apply_pending(run, stage).await
    }

    /// Applies the planned steps of the stage (when applying), or records the handlers they
    /// would notify (when planning).
    pub(super) async fn apply_pending(&mut self, run: &RunShared, stage: &mut Stage) -> Result<()> {
        if stage.pending.is_empty() {
            return Ok(());
        }
        if run.options.mode == Mode::Apply && !self.drifted.is_empty() {
            for step in stage.pending.drain(..) {
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
        if run.options.mode == Mode::Apply && run.cancel.stopping() {
            for step in stage.pending.drain(..) {
                self.report.results.push(StepResult {
                    step: step.display,
                    status: Status::NotRun,
                    message: None,
                });
            }
            bail!("interrupted (Ctrl-C): no further steps were started");
        }
        if run.options.mode != Mode::Apply {
            for step in stage.pending.drain(..) {
                if step.display.diff.action.is_change() {
                    self.planned_unapplied = true;
                    for handler in &step.notify {
                        stage.notified.push((handler.clone(), step.display.task.clone()));
                    }
                }
            }
            return Ok(());
        }
        let mut script = StageScript::new(&self.token);
        let mut any = false;
        for step in stage.pending.iter() {
            if !step.script.is_empty() {
                script.step(&step.id, &step.script, !step.ignore_errors);
                any = true;
            }
        }
        let (outcomes, lost) = if any {
            match self.stage_round(script.finish()).await {
                Ok(outcomes) => (outcomes, None),
                Err((finished, err)) => (finished, Some(err)),
            }
        } else {
            (BTreeMap::new(), None)
        };
        let mut failure = None;
        for step in stage.pending.drain(..) {
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
                let result = step
                    .answer
                    .clone()
                    .unwrap_or_else(|| json!({"changed": false, "failed": false}));
                self.record(&step, Registered::Known(result));
                self.report_step(run, &step.display, &Status::Ok);
                self.report.results.push(StepResult {
                    step: step.display,
                    status: Status::Ok,
                    message: None,
                });
                continue;
            };
            let mut result = command_result(outcome);
            if outcome.status == 0 {
                // A module's own return values (a generated key's fingerprint), as Ansible
                // registers them, beside the command's.
                let applied = step.step.as_ref().map(|s| s.applied_result(&outcome.stdout));
                // A converged step still runs when its (empty) script is wrapped for
                // `become_user`: what it registers is then its probe's answer.
                let answer = match applied.transpose()?.flatten() {
                    None if !outcome.changed => step.answer.clone(),
                    applied => applied,
                };
                if let Some(Json::Object(answer)) = answer {
                    for (key, value) in answer {
                        if key != "changed" && key != "failed" {
                            result[key] = value;
                        }
                    }
                }
            }
            // What a module answers from its probe (`git`'s `before`/`after`, `apt_key`'s ids)
            // is registered with the outcome of its change too, where its own return values
            // did not say.
            if let (Some(Json::Object(answer)), Json::Object(fields)) = (&step.answer, &mut result) {
                for (key, value) in answer {
                    fields.entry(key.clone()).or_insert_with(|| value.clone());
                }
            }
            let failed = self.judge(run, &step, &mut result, outcome)?;
            let changed = result["changed"] == json!(true);
            self.record(&step, Registered::Known(result.clone()));
            let status = if failed {
                Status::Failed
            } else if changed {
                Status::Changed
            } else {
                Status::Ok
            };
            if changed && !failed {
                for handler in &step.notify {
                    stage.notified.push((handler.clone(), step.display.task.clone()));
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

    /// A query's answer (`uri`, `getent`) judged as Ansible judges the module's result: it
    /// fails when the module says so (`failed: true`, with its `msg`) unless `failed_when`
    /// says otherwise; a failure not ignored is the step's error.
    pub(super) fn judge_answer(&mut self, run: &RunShared, step: &Pending, answer: &mut Json) -> Result<()> {
        let says_failed = answer["failed"] == json!(true);
        let failed = self.judge_with(run, step, answer, says_failed)?;
        answer["changed"] = json!(false);
        if failed && !step.ignore_errors {
            let message = match answer.get("msg").and_then(Json::as_str) {
                Some(msg) if !step.no_log => msg.to_string(),
                Some(_) => "(output hidden by no_log)".to_string(),
                None => "failed_when holds".to_string(),
            };
            // Reported as a failed step, as a failed apply is: the report names the task.
            if run.options.mode == Mode::Apply {
                self.report_step(run, &step.display, &Status::Failed);
                self.report.results.push(StepResult {
                    step: step.display.clone(),
                    status: Status::Failed,
                    message: Some(message.clone()),
                });
            }
            bail!("{} ({}): {message}", step.display.task, step.display.location);
        }
        Ok(())
    }

    /// Facts a module answered with (`ansible_facts` of `getent`, `service_facts`, `setup`):
    /// top-level variables under their own names and members of `ansible_facts`, as Ansible
    /// injects them, for this play and the next.
    pub(super) fn add_module_facts(&mut self, run: &RunShared, facts: serde_json::Map<String, Json>) {
        let mut all = match self.host_facts.get("ansible_facts") {
            Some(Json::Object(all)) => all.clone(),
            _ => strip_prefix(&self.facts),
        };
        let mut published = VarMap::new();
        for (name, value) in facts {
            all.insert(
                name.strip_prefix("ansible_").unwrap_or(&name).to_string(),
                value.clone(),
            );
            self.registered.remove(&name);
            self.host_facts.insert(name.clone(), value.clone());
            published.insert(name, value);
        }
        self.host_facts
            .insert("ansible_facts".into(), Json::Object(all.clone()));
        published.insert("ansible_facts".into(), Json::Object(all));
        run.publish_facts(&self.name, published);
    }

    /// Applies `changed_when` and `failed_when`; returns whether the step failed.
    pub(super) fn judge(
        &self,
        run: &RunShared,
        step: &Pending,
        result: &mut Json,
        outcome: &StepOutcome,
    ) -> Result<bool> {
        self.judge_with(run, step, result, outcome.status != 0)
    }

    /// [`Self::judge`] with the failure the module itself reports.
    fn judge_with(
        &self,
        run: &RunShared,
        step: &Pending,
        result: &mut Json,
        says_failed: bool,
    ) -> Result<bool> {
        let mut stack = step.stack.clone();
        if let Some(register) = &step.register {
            stack.set(Layer::Facts, register, result.clone());
        }
        stack.set(Layer::Facts, "result", result.clone());
        // A list of conditions holds when every one does, as in Ansible.
        let all_hold = |conditions: &[(String, Pos)]| -> Result<bool> {
            for (condition, pos) in conditions {
                let origin = Origin {
                    pos: pos.clone(),
                    task: step.origin.task.clone(),
                };
                if !run
                    .templar
                    .eval_condition(&Json::String(condition.clone()), &stack, &origin)?
                {
                    return Ok(false);
                }
            }
            Ok(true)
        };
        let failed = if step.failed_when.is_empty() {
            says_failed
        } else {
            all_hold(&step.failed_when)?
        };
        if !step.changed_when.is_empty() {
            result["changed"] = json!(all_hold(&step.changed_when)?);
        }
        result["failed"] = json!(failed);
        Ok(failed)
    }
}

/// A step planned in the current stage and not yet applied.
pub(super) struct Pending {
    pub(super) id: String,
    pub(super) kind: ModuleKind,
    pub(super) display: PlannedStep,
    pub(super) script: Script,
    /// Runs at apply even though the plan shows no change (`changed_when: false` commands).
    pub(super) always_run: bool,
    pub(super) register: Option<String>,
    /// A loop item's place in the loop's registered result.
    pub(super) slot: Option<LoopSlot>,
    /// Its parameters hold a vault secret: so does what it registers.
    pub(super) secret_input: bool,
    pub(super) notify: Vec<String>,
    pub(super) changed_when: Vec<(String, Pos)>,
    pub(super) failed_when: Vec<(String, Pos)>,
    pub(super) ignore_errors: bool,
    pub(super) stack: VarStack,
    pub(super) origin: Origin,
    /// Seconds the step may run.
    pub(super) timeout: Option<u64>,
    /// `no_log`: the step's target, content and output are never shown.
    pub(super) no_log: bool,
    /// What the step manages (a path, a package list), unredacted: a later step on the same
    /// target must wait for this one to be applied.
    pub(super) target: String,
    /// A query's answer from its probe (`stat`): what it registers once applied too.
    pub(super) answer: Option<Json>,
    /// The planned resource, kept to read what it registers from its apply's output.
    pub(super) step: Option<Box<dyn Step>>,
}

/// A resource step waiting for its probe.
pub(super) struct Unprobed {
    pub(super) id: String,
    pub(super) step: Box<dyn Step>,
    pub(super) become_user: Option<String>,
    pub(super) meta: Pending,
}

/// A digest of what a probe section printed, and how it ended.
pub(super) fn section_fingerprint(section: &crate::probe::Section) -> String {
    let mut bytes = section.status.to_le_bytes().to_vec();
    bytes.extend_from_slice(&section.output);
    crate::digest::sha256_hex(&bytes)
}

/// A step's outcome as Ansible registers it.
pub(super) fn command_result(outcome: &StepOutcome) -> Json {
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

pub(super) fn failure_message(outcome: &StepOutcome) -> String {
    let stderr = String::from_utf8_lossy(&outcome.stderr);
    let stderr = stderr.trim();
    if stderr.is_empty() {
        format!("exit code {}", outcome.status)
    } else {
        format!("exit code {}: {stderr}", outcome.status)
    }
}

/// One stage of a host's run, threaded through task resolution: the steps waiting for the
/// next probe round, the planned steps waiting for their apply, and the handlers notified.
#[derive(Default)]
pub(super) struct Stage {
    pub(super) queue: Vec<Unprobed>,
    pub(super) pending: Vec<Pending>,
    pub(super) notified: Vec<(String, String)>,
}

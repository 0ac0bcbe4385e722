//! Handlers: run once each, in the order they are defined, when notified by a change; and
//! recorded on the host when a failed run still owes them, for the next apply.

use super::*;

impl HostRunner {
    /// Records on the host the handlers still owed to it.
    pub(super) async fn save_pending_handlers(&mut self, names: &[String]) -> Result<()> {
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

    /// Runs the handlers notified so far, in the order they are defined, each once. (Boxed:
    /// handlers are tasks, and a task may flush handlers.)
    pub(super) fn run_handlers<'a>(
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
            // The handlers' own stage: what they notify in turn is not run again.
            let mut stage = Stage::default();
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
                    .run_task(run, play, base, handler, &context, &mut stage)
                    .await;
                if ran.is_err() {
                    break;
                }
            }
            if ran.is_ok() {
                ran = self.flush(run, &mut stage).await;
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

/// Where a host keeps the handlers a failed run owes it.
pub(super) const PENDING_FILE: &str = "/var/lib/deploy/pending-handlers";

/// How a handler owed by an earlier run shows as stage.notified.
pub(super) const PENDING_BY: &str = "a failed earlier run";

//! Control modules: `debug`, `set_fact`, `assert`, `fail` and `meta`, which act on the run
//! itself rather than on the host.

use super::*;

impl HostRunner {
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn run_control(
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
                    run.events.debug(&self.name, &self.redact(&shown));
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
}

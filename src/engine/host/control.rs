//! Running control modules: their behaviour is in their own files (`resource::debug`, ...,
//! see `resource::control`); here the engine lends them the task's variables and carries out
//! the effect they ask for.

use super::*;
use crate::resource::control::{ControlContext, Effect};

/// A task's variables and position, lent to its control module.
struct TaskControl<'a> {
    run: &'a RunShared,
    stack: &'a VarStack,
    origin: &'a Origin,
}

impl ControlContext for TaskControl<'_> {
    fn resolve_var(&self, name: &str) -> Result<Json> {
        self.run.templar.resolve_var(name, self.stack, self.origin)
    }

    fn eval_condition(&self, condition: &Json) -> Result<bool> {
        self.run
            .templar
            .eval_condition(condition, self.stack, self.origin)
    }

    fn pos(&self) -> &Pos {
        &self.origin.pos
    }

    fn find_file(&self, subdir: &str, name: &str) -> Result<std::path::PathBuf> {
        let role = self
            .stack
            .lookup("role_path")
            .and_then(|(_, path)| path.as_str())
            .map(std::path::PathBuf::from);
        let task_dir = self.origin.pos.path.parent().unwrap_or(std::path::Path::new("."));
        let dirs =
            crate::playbook::search::search_dirs(role.as_deref(), task_dir, &self.run.playbook_dir, subdir);
        crate::playbook::search::find(name, &dirs).map_err(|looked| {
            let looked: Vec<String> = looked.iter().map(|d| d.display().to_string()).collect();
            crate::error::located_hint(
                &self.origin.pos,
                format!("file `{name}` not found"),
                if looked.is_empty() {
                    "the path is absolute and does not exist".to_string()
                } else {
                    format!("looked in {}", looked.join(", "))
                },
            )
        })
    }
}

impl HostRunner {
    /// Runs a control module and carries out its effect; returns its result.
    pub(super) async fn run_control(
        &mut self,
        run: &RunShared,
        play: &Play,
        task: &Task,
        values: &IndexMap<String, Json>,
        stack: &VarStack,
        stage: &mut Stage,
    ) -> Result<Json> {
        let origin = self.origin(task);
        let control = task
            .module
            .control
            .ok_or_else(|| anyhow!("{}: `{}` cannot be used here", task.pos, task.module.name))?;
        let context = TaskControl {
            run,
            stack,
            origin: &origin,
        };
        let (result, effect) = control(values, &context)?;
        match effect {
            Effect::None => {}
            Effect::Show(text) => {
                if run.options.mode == Mode::Apply {
                    run.events.debug(&self.name, &self.redact(&text));
                }
            }
            Effect::SetFacts(facts) => match &self.delegated_to {
                // `delegate_facts`: the facts are the delegated host's, seen through hostvars.
                Some(host) if walk::literal(&task.keywords.delegate_facts) == Some(true) => {
                    run.publish_facts(host, facts.into_iter().collect());
                }
                _ => {
                    for (name, value) in &facts {
                        self.registered.remove(name);
                        self.host_facts.insert(name.clone(), value.clone());
                    }
                    // Only what changed: the rest was published when gathered or set.
                    run.publish_facts(&self.name, facts.into_iter().collect());
                }
            },
            Effect::IncludeVars(vars) => {
                let included = Arc::make_mut(&mut self.included_vars);
                for (name, value) in vars {
                    included.insert(name, value);
                }
            }
            Effect::FlushHandlers => {
                self.flush(run, stage).await?;
                self.run_handlers(run, play, stack, &mut stage.notified).await?;
            }
        }
        Ok(result)
    }
}

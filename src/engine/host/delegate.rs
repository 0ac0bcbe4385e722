//! `delegate_to` (and `local_action`): a task that runs on another host (or the controller)
//! with the variables of the host it is for.
//!
//! The runner keeps one connection per host it delegates to, for the run, and swaps it in
//! for the delegated task: resolving, probing, planning and applying then go through the same
//! code as any task, on the other host's shell. What the task notifies, registers and reports
//! stays with the host it is for, as under Ansible. Delegated hosts are not locked again: a
//! host of the same run already holds its lock, and the controller has none.

use super::*;

/// A connection to a host tasks are delegated to, while it is not swapped in.
pub(super) struct Delegate {
    target: Target,
    connection: Option<Connection>,
    shell: Option<(ShellUser, RemoteShell)>,
}

impl Delegate {
    pub(super) async fn close(mut self) {
        if let Some((_, shell)) = self.shell.take() {
            let _ = shell.finish().await;
        }
        if let Some(connection) = self.connection.take() {
            let _ = connection.close().await;
        }
    }
}

impl HostRunner {
    /// The host a task is delegated to, if any: `delegate_to` rendered with the task's
    /// variables; omitted, empty or this very host mean no delegation.
    pub(super) fn delegate_of(
        &self,
        run: &RunShared,
        task: &Task,
        stack: &VarStack,
    ) -> Result<Option<String>> {
        let Some(delegate_to) = &task.keywords.delegate_to else {
            return Ok(None);
        };
        let rendered =
            run.templar
                .render_str(&delegate_to.value, stack, &Origin::new(delegate_to.pos.clone()))?;
        let name = match rendered {
            Json::String(name) => name,
            Json::Null => return Ok(None),
            other => other.to_string(),
        };
        let name = name.trim().to_string();
        if name.is_empty() || name == crate::vars::OMIT_PLACEHOLDER || name == self.name {
            return Ok(None);
        }
        Ok(Some(name))
    }

    /// Runs `task` on `host`'s connection. When applying, this host's pending changes are
    /// applied first, so that the delegated task sees them done, in the playbook's order.
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn run_delegated(
        &mut self,
        run: &RunShared,
        play: &Play,
        base: &VarStack,
        task: &Task,
        context: &Context,
        stage: &mut Stage,
        host: String,
    ) -> Result<()> {
        if run.options.mode == Mode::Apply {
            self.flush(run, stage).await?;
        }
        let mut delegate = match self.delegates.remove(&host) {
            Some(delegate) => delegate,
            None => Delegate {
                target: run.delegate_target(&host)?,
                connection: None,
                shell: None,
            },
        };
        self.swap(&mut delegate);
        self.delegated_to = Some(host.clone());
        let method = play_become_method(play)
            .or(self.target.become_method)
            .unwrap_or_default();
        let become_user = effective_become_user(play, task, context, &run.options.defaults);
        let mut inner = Stage::default();
        let result = async {
            self.ensure_shell(run, become_user, method)
                .await
                .with_context(|| format!("delegate_to {host}"))?;
            Box::pin(self.run_task(run, play, base, task, context, &mut inner)).await?;
            self.flush(run, &mut inner).await
        }
        .await;
        self.delegated_to = None;
        self.swap(&mut delegate);
        self.delegates.insert(host, delegate);
        for notified in inner.notified {
            if !stage.notified.contains(&notified) {
                stage.notified.push(notified);
            }
        }
        result
    }

    fn swap(&mut self, delegate: &mut Delegate) {
        std::mem::swap(&mut self.target, &mut delegate.target);
        std::mem::swap(&mut self.connection, &mut delegate.connection);
        std::mem::swap(&mut self.shell, &mut delegate.shell);
    }
}

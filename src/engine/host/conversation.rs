//! The conversation with a host's remote shell: one connection, one shell per privilege,
//! and rounds of framed writes and reads within it (docs/architecture.md §1: one exec per host). The
//! wrappers that run a script as another user, under a timeout, or behind the host's lock
//! are built here too.

use super::*;

impl HostRunner {
    pub(super) async fn ensure_shell(
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
            // A delegated task's host is locked by its own run, or is the controller.
            if self.delegated_to.is_none() {
                shell.send(lock_script(run, &lock_name).as_str()).await?;
            }
            self.shell = Some((wanted, shell));
        }
        Ok(())
    }

    pub(super) fn target_become_password(&self, run: &RunShared) -> Option<crate::transport::Secret> {
        run.become_passwords.get(&self.name).cloned()
    }

    pub(super) fn shell(&mut self) -> &mut RemoteShell {
        &mut self.shell.as_mut().expect("the shell is open during a play").1
    }

    /// Sends framed sections and reads them back, within the open shell.
    pub(super) async fn round(
        &mut self,
        probe: ProbeScript,
    ) -> Result<BTreeMap<String, crate::probe::Section>> {
        let out = self.exchange(probe.script()).await?;
        probe
            .parse(&out)
            .with_context(|| format!("{}: cannot read what the host answered", self.name))
    }

    /// Sends a script to the open shell, then a sync line, and returns what the script printed
    /// up to that line: one round within the host's single exec.
    pub(super) async fn exchange(&mut self, script: &Script) -> Result<Vec<u8>> {
        self.rounds += 1;
        let sync = format!("@@{}-sync {}", self.token, self.rounds);
        let mut text = script.as_str().to_string();
        text.push_str(&format!("printf '%s\\n' '{sync}'\n"));
        self.shell().send(&text).await?;
        let mut out = self.shell().read_through_line(&sync).await?;
        out.truncate(out.len() - sync.len() - 1);
        Ok(out)
    }

    /// Runs a stage. When the shell or its connection ends before the stage does, the error
    /// comes with the outcomes of the steps that finished: they did happen on the host.
    pub(super) async fn stage_round(
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
}

/// Who a host's open shell runs as, and how it got there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct ShellUser {
    pub(super) user: Option<String>,
    pub(super) method: BecomeMethod,
}

/// Takes the host's deploy lock for the rest of the conversation: exclusive when applying,
/// shared when only looking, so two runs never interleave their changes on one host. A run
/// that cannot get it within `--lock-timeout` fails that host, naming who holds the lock.
pub(super) fn lock_script(run: &RunShared, name: &str) -> Script {
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

/// The current time as `2026-11-22T04:55:03Z`.
pub(super) fn utc_now() -> String {
    humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
}

/// Runs `script` under coreutils `timeout`, fed through a quoted here-document.
pub(super) fn with_timeout(script: Script, seconds: Option<u64>, token: &str) -> Script {
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
pub(super) fn as_user(script: Script, user: Option<&str>, token: &str) -> Script {
    runuser(script, user, token, true)
}

/// A probe run as `user`. A user that does not exist (yet: an earlier step may create it)
/// prints only [`no_such_user`]'s line instead, which [`HostRunner::plan_step`] tells apart
/// from anything a probe prints.
pub(super) fn probe_as_user(script: Script, user: Option<&str>, token: &str) -> Script {
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
pub(super) fn no_such_user(token: &str) -> String {
    format!("@@{token}-no-such-user")
}

pub(super) fn runuser(script: Script, user: Option<&str>, token: &str, with_prelude: bool) -> Script {
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

//! Running generated scripts on a host: over SSH, or locally.
//!
//! A run opens one OpenSSH ControlMaster per host and sends every script through it on stdin
//! (`sh -s`), so the script text and any value inside it never appear in a process's argv on
//! the host. The number of execs is counted: a no-op run must cost exactly one exec per host
//! after the connection, and tests assert that count.
//!
//! `become` goes through `sudo` (or `su`). When a password may be needed it is written to stdin
//! only after the prompt appears on stderr (sudo's is a random per-exec string), so a password
//! can never be read as a command by the shell when the tool turns out not to ask for one.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::shell::quote;

/// How to reach one host, from its inventory variables and the command line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Target {
    /// The inventory name, for messages.
    pub name: String,
    /// `ansible_host`, or the name.
    pub address: String,
    pub port: Option<u16>,
    pub user: Option<String>,
    pub private_key: Option<PathBuf>,
    /// `ansible_ssh_common_args` and `ansible_ssh_extra_args`, split into words.
    pub ssh_args: Vec<String>,
    /// `ansible_connection: local`.
    pub local: bool,
    /// What to do with unknown and changed host keys.
    pub host_keys: HostKeyPolicy,
    pub connect_timeout: Duration,
    /// `ansible_become_method`; a play's `become_method` wins over it.
    pub become_method: Option<BecomeMethod>,
}

/// How unknown and changed SSH host keys are treated.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Only keys already in known_hosts (OpenSSH's `StrictHostKeyChecking=yes`).
    #[default]
    Strict,
    /// `--ssh-accept-new`: unknown keys are recorded, changed ones refused.
    AcceptNew,
    /// `host_key_checking = False` in ansible.cfg: no checking, as Ansible does it
    /// (`StrictHostKeyChecking=no`).
    Off,
}

/// How a shell gets another user's rights (`become_method`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BecomeMethod {
    /// `sudo`, with the connecting user's password if one is needed.
    #[default]
    Sudo,
    /// `su`, with the target user's password unless the connecting user is root.
    Su,
}

impl BecomeMethod {
    pub fn parse(name: &str) -> Option<BecomeMethod> {
        match name {
            "sudo" => Some(BecomeMethod::Sudo),
            "su" => Some(BecomeMethod::Su),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BecomeMethod::Sudo => "sudo",
            BecomeMethod::Su => "su",
        }
    }
}

/// su's prompt under LC_ALL=C (PAM's pam_unix); su has no option to choose another.
const SU_PROMPT: &str = "Password: ";

/// Privilege escalation for one exec.
#[derive(Clone, PartialEq, Eq)]
pub struct Become {
    pub method: BecomeMethod,
    pub user: String,
    pub password: Option<Secret>,
}

/// A secret string that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<secret>")
    }
}

impl std::fmt::Debug for Become {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Become")
            .field("method", &self.method)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "<secret>"))
            .finish()
    }
}

/// What a script printed and how it ended.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecOutput {
    pub status: i32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// An open connection to one host.
pub struct Connection {
    target: Target,
    session: Option<std::sync::Arc<openssh::Session>>,
    execs: AtomicUsize,
}

impl Connection {
    /// Opens the connection (for SSH: starts the ControlMaster and authenticates).
    pub async fn connect(target: &Target) -> Result<Connection> {
        let session = if target.local {
            None
        } else {
            Some(std::sync::Arc::new(connect_ssh(target).await?))
        };
        Ok(Connection {
            target: target.clone(),
            session,
            execs: AtomicUsize::new(0),
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// How many scripts have been run through this connection.
    pub fn exec_count(&self) -> usize {
        self.execs.load(Ordering::SeqCst)
    }

    /// Runs `script` with `sh -s` on the host, as `become` says, and waits for it to end.
    pub async fn exec(&self, script: &str, become_: Option<&Become>) -> Result<ExecOutput> {
        let mut shell = self.open_shell(become_).await?;
        shell.send(script).await?;
        shell.finish().await
    }

    /// Starts `sh -s` on the host (one exec) and keeps its stdin open, so a conversation of
    /// several scripts costs a single exec: the probe sends facts first, reads them, then sends
    /// the resource probes that the facts made it possible to resolve.
    pub async fn open_shell(&self, become_: Option<&Become>) -> Result<RemoteShell> {
        self.execs.fetch_add(1, Ordering::SeqCst);
        // su may ask whoever connects (root is not asked): always wait to see whether it does.
        let prompt = become_.and_then(|b| match b.method {
            BecomeMethod::Sudo => b
                .password
                .is_some()
                .then(|| format!("[deploy-become-{}]", random_token())),
            BecomeMethod::Su => Some(SU_PROMPT.to_string()),
        });
        let command = remote_command(become_, prompt.as_deref());
        let name = self.target.name.clone();
        let (process, stdin, stdout, stderr) = match &self.session {
            Some(session) => {
                let mut child = openssh::Session::to_raw_command(std::sync::Arc::clone(session), &command)
                    .stdin(openssh::Stdio::piped())
                    .stdout(openssh::Stdio::piped())
                    .stderr(openssh::Stdio::piped())
                    .spawn()
                    .await
                    .with_context(|| format!("{name}: cannot start a remote command"))?;
                let stdin: Box<dyn AsyncWrite + Send + Unpin> =
                    Box::new(child.stdin().take().expect("stdin is piped"));
                let stdout: Box<dyn AsyncRead + Send + Unpin> =
                    Box::new(child.stdout().take().expect("stdout is piped"));
                let stderr: Box<dyn AsyncRead + Send + Unpin> =
                    Box::new(child.stderr().take().expect("stderr is piped"));
                (Process::Ssh(child), stdin, stdout, stderr)
            }
            None => {
                let mut child = tokio::process::Command::new("sh")
                    .arg("-c")
                    .arg(&command)
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .kill_on_drop(true)
                    .spawn()
                    .context("cannot start a local shell")?;
                let stdin: Box<dyn AsyncWrite + Send + Unpin> =
                    Box::new(child.stdin.take().expect("stdin is piped"));
                let stdout: Box<dyn AsyncRead + Send + Unpin> =
                    Box::new(child.stdout.take().expect("stdout is piped"));
                let stderr: Box<dyn AsyncRead + Send + Unpin> =
                    Box::new(child.stderr.take().expect("stderr is piped"));
                (Process::Local(child), stdin, stdout, stderr)
            }
        };
        let mut shell = RemoteShell {
            name,
            process,
            stdin: Some(stdin),
            stdout,
            stdout_buffer: Vec::new(),
            stderr: None,
        };
        let stderr = match (prompt, become_) {
            (Some(prompt), Some(b)) => shell.become_handshake(stderr, &prompt, b).await?,
            _ => stderr,
        };
        shell.stderr = Some(tokio::spawn(read_all(stderr)));
        Ok(shell)
    }

    /// Closes the ControlMaster.
    pub async fn close(self) -> Result<()> {
        if let Some(session) = self.session {
            // Shells still open hold the session too; the last holder closes the master.
            if let Ok(session) = std::sync::Arc::try_unwrap(session) {
                session.close().await.context("closing the SSH connection")?;
            }
        }
        Ok(())
    }
}

/// The command line the remote login shell runs; it holds no values from users.
fn remote_command(become_: Option<&Become>, prompt: Option<&str>) -> String {
    match (become_, prompt) {
        (None, _) => "sh -s".to_string(),
        // The C locale keeps PAM's prompt the one looked for; `-s /bin/sh` runs the script
        // even for a user whose login shell is not sh.
        (Some(b), _) if b.method == BecomeMethod::Su => format!(
            "LC_ALL=C su -s /bin/sh -c {} -- {}",
            quote(&format!("echo {READY}; exec sh -s")),
            quote(&b.user)
        ),
        (Some(b), None) => format!("sudo -n -H -u {} -- sh -s", quote(&b.user)),
        // `sh -c` announces on stdout that sudo let it through, so the caller knows the script
        // can follow; a prompt on stderr asks for the password instead.
        (Some(b), Some(prompt)) => format!(
            "sudo -S -H -p {} -u {} -- sh -c {}",
            quote(prompt),
            quote(&b.user),
            quote(&format!("echo {READY}; exec sh -s"))
        ),
    }
}

const READY: &str = "deploy-become-ready";

enum Process {
    Ssh(openssh::Child<std::sync::Arc<openssh::Session>>),
    Local(tokio::process::Child),
}

/// `sh -s` running on a host, its stdin still open.
pub struct RemoteShell {
    name: String,
    process: Process,
    stdin: Option<Box<dyn AsyncWrite + Send + Unpin>>,
    stdout: Box<dyn AsyncRead + Send + Unpin>,
    /// Read from stdout but not yet handed out.
    stdout_buffer: Vec<u8>,
    /// Collects stderr in the background, so a chatty script never blocks on a full pipe.
    stderr: Option<tokio::task::JoinHandle<std::io::Result<Vec<u8>>>>,
}

async fn read_all(mut stream: Box<dyn AsyncRead + Send + Unpin>) -> std::io::Result<Vec<u8>> {
    let mut buffer = Vec::new();
    stream.read_to_end(&mut buffer).await?;
    Ok(buffer)
}

impl RemoteShell {
    /// Writes more script to the shell.
    pub async fn send(&mut self, script: &str) -> Result<()> {
        let stdin = self
            .stdin
            .as_mut()
            .context("the shell's input is already closed")?;
        let written = async {
            stdin.write_all(script.as_bytes()).await?;
            stdin.flush().await
        };
        written
            .await
            .with_context(|| format!("{}: the remote shell stopped reading", self.name))
    }

    /// Reads stdout up to and including the first line equal to `line` (without its newline),
    /// and returns what came before plus that line.
    pub async fn read_through_line(&mut self, line: &str) -> Result<Vec<u8>> {
        let wanted = format!("{line}\n");
        let mut searched = 0;
        let mut chunk = [0u8; 16384];
        loop {
            if let Some(found) = find_line(&self.stdout_buffer, wanted.as_bytes(), searched) {
                let rest = self.stdout_buffer.split_off(found + wanted.len());
                return Ok(std::mem::replace(&mut self.stdout_buffer, rest));
            }
            searched = self.stdout_buffer.len().saturating_sub(wanted.len());
            let n = self
                .stdout
                .read(&mut chunk)
                .await
                .with_context(|| format!("{}: reading from the remote shell", self.name))?;
            if n == 0 {
                let notice = self.death_notice().await;
                bail!("{}: {notice}", self.name);
            }
            self.stdout_buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// What the shell printed that no read has returned yet: after a failed read, what
    /// arrived before the shell or its connection ended.
    pub fn take_unread(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.stdout_buffer)
    }

    /// Why the shell ended: the end of what it printed on stderr.
    async fn death_notice(&mut self) -> String {
        let stderr = match self.stderr.take() {
            Some(task) => match tokio::time::timeout(std::time::Duration::from_secs(5), task).await {
                Ok(Ok(Ok(bytes))) => bytes,
                _ => Vec::new(),
            },
            None => Vec::new(),
        };
        let text = String::from_utf8_lossy(&stderr);
        let tail: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let tail = tail[tail.len().saturating_sub(5)..].join("; ");
        if tail.is_empty() {
            "the remote shell ended early".to_string()
        } else {
            format!("the remote shell ended early: {tail}")
        }
    }

    /// Closes the shell's input and waits for it to end, collecting the remaining output.
    pub async fn finish(mut self) -> Result<ExecOutput> {
        drop(self.stdin.take());
        let mut stdout = std::mem::take(&mut self.stdout_buffer);
        self.stdout
            .read_to_end(&mut stdout)
            .await
            .with_context(|| format!("{}: reading from the remote shell", self.name))?;
        let stderr = match self.stderr.take() {
            Some(task) => task.await.context("the stderr reader stopped")??,
            None => Vec::new(),
        };
        let status = match self.process {
            Process::Ssh(child) => child
                .wait()
                .await
                .with_context(|| format!("{}: the connection was lost", self.name))?
                .code(),
            Process::Local(mut child) => child.wait().await.context("the local shell failed")?.code(),
        };
        Ok(ExecOutput {
            status: status.unwrap_or(255),
            stdout,
            stderr,
        })
    }

    /// Answers sudo's prompt with the password, or notices that sudo did not ask; gives the
    /// stderr stream back, past what sudo printed.
    async fn become_handshake(
        &mut self,
        mut stderr: Box<dyn AsyncRead + Send + Unpin>,
        prompt: &str,
        become_: &Become,
    ) -> Result<Box<dyn AsyncRead + Send + Unpin>> {
        let tool = become_.method.name();
        let ready_line = format!("{READY}\n");
        let mut err = Vec::new();
        let mut answered = false;
        let mut out_buf = [0u8; 4096];
        let mut err_buf = [0u8; 4096];
        let stdin = self.stdin.as_mut().expect("stdin is open during the handshake");
        loop {
            if self.stdout_buffer.starts_with(ready_line.as_bytes()) {
                self.stdout_buffer.drain(..ready_line.len());
                break;
            }
            let prompts = count(&err, prompt.as_bytes());
            if prompts > 1 {
                bail!("{}: incorrect become password", self.name);
            }
            if prompts == 1 && !answered {
                let Some(password) = &become_.password else {
                    bail!(
                        "{}: {tool} asks for {}'s password; give it with --ask-become-pass or ansible_become_password",
                        self.name,
                        if become_.method == BecomeMethod::Su { become_.user.as_str() } else { "the login user" }
                    );
                };
                stdin.write_all(password.expose().as_bytes()).await?;
                stdin.write_all(b"\n").await?;
                stdin.flush().await?;
                answered = true;
            }
            tokio::select! {
                n = self.stdout.read(&mut out_buf) => {
                    let n = n?;
                    if n == 0 {
                        // The tool's last words may still be on their way on stderr.
                        let rest = tokio::time::timeout(Duration::from_secs(5), stderr.read_to_end(&mut err));
                        let _ = rest.await;
                        bail!("{}: {}", self.name, become_failure(tool, &err, prompt));
                    }
                    self.stdout_buffer.extend_from_slice(&out_buf[..n]);
                }
                n = stderr.read(&mut err_buf) => {
                    let n = n?;
                    if n == 0 { bail!("{}: {}", self.name, become_failure(tool, &err, prompt)); }
                    err.extend_from_slice(&err_buf[..n]);
                }
            }
        }
        // What sudo printed before the script began is not the script's: it is dropped here.
        Ok(stderr)
    }
}

fn find_line(buffer: &[u8], line: &[u8], from: usize) -> Option<usize> {
    let mut start = from;
    while start + line.len() <= buffer.len() {
        let at = buffer[start..].windows(line.len()).position(|w| w == line)? + start;
        if at == 0 || buffer[at - 1] == b'\n' {
            return Some(at);
        }
        start = at + 1;
    }
    None
}

fn become_failure(tool: &str, stderr: &[u8], prompt: &str) -> String {
    let text = String::from_utf8_lossy(stderr).replace(prompt, "");
    let text = text.trim();
    if text.is_empty() {
        format!("{tool} ended before running the script")
    } else {
        format!("{tool}: {}", text.trim_start_matches(&format!("{tool}: ")))
    }
}

fn count(haystack: &[u8], needle: &[u8]) -> usize {
    haystack.windows(needle.len()).filter(|w| *w == needle).count()
}

/// Reads a password: from the terminal with echo off, or the first line of stdin when stdin is
/// not a terminal (for scripts). It never appears on screen or in argv.
pub fn read_password(prompt: &str) -> Result<String> {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .context("cannot read the password from stdin")?;
        return Ok(line.trim_end_matches(['\n', '\r']).to_string());
    }
    // rpassword prompts on /dev/tty and reads from it with echo off, restoring the terminal's
    // settings afterwards even on Ctrl-C.
    match rpassword::prompt_password(prompt) {
        Ok(password) => Ok(password),
        // Ctrl-D at an empty prompt keeps meaning what it meant when the terminal was read line
        // by line: an empty password, not an error, and the prompt's line ends there.
        Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => {
            if let Ok(mut tty) = std::fs::OpenOptions::new().write(true).open("/dev/tty") {
                let _ = writeln!(tty);
            }
            Ok(String::new())
        }
        Err(err) => Err(err).context("cannot read the password from the terminal"),
    }
}

/// A random hex token from the kernel, for prompts and probe frames that output cannot forge
/// by accident.
pub fn random_token() -> String {
    let mut bytes = [0u8; 12];
    if getrandom::fill(&mut bytes).is_err() {
        // The token must only be unlike any real output, not secret: should the kernel give no
        // randomness, time and PID still make a collision implausible, and no run fails for it.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes[..8].copy_from_slice(&(nanos as u64).to_le_bytes());
        bytes[8..].copy_from_slice(&std::process::id().to_le_bytes());
    }
    crate::digest::hex(&bytes)
}

async fn connect_ssh(target: &Target) -> Result<openssh::Session> {
    let options = SshOptions::parse(&target.ssh_args)
        .with_context(|| format!("{}: cannot read ansible_ssh_common_args", target.name))?;
    let mut builder = openssh::SessionBuilder::default();
    builder.connect_timeout(target.connect_timeout);
    builder.server_alive_interval(Duration::from_secs(15));
    if let Some(user) = &target.user {
        builder.user(user.clone());
    }
    if let Some(port) = options.port.or(target.port) {
        builder.port(port);
    }
    if let Some(key) = options.identity.as_ref().or(target.private_key.as_ref()) {
        builder.keyfile(key);
    }
    if let Some(file) = &options.known_hosts_file {
        builder.user_known_hosts_file(file);
    }
    if !options.jump_hosts.is_empty() {
        builder.jump_hosts(&options.jump_hosts);
    }
    let check = match options.strict_host_key_checking.as_deref() {
        Some("no" | "off") => openssh::KnownHosts::Accept,
        Some("accept-new") => openssh::KnownHosts::Add,
        _ => match target.host_keys {
            HostKeyPolicy::Strict => openssh::KnownHosts::Strict,
            HostKeyPolicy::AcceptNew => openssh::KnownHosts::Add,
            HostKeyPolicy::Off => openssh::KnownHosts::Accept,
        },
    };
    builder.known_hosts_check(check);
    let config;
    if !options.other.is_empty() {
        config = ssh_config_file(&options.other)?;
        builder.config_file(config.path());
    }
    builder
        .connect_mux(&target.address)
        .await
        .map_err(|e| anyhow::anyhow!(describe_ssh_error(&e)))
        .with_context(|| format!("{}: cannot connect to {}", target.name, target.address))
}

/// Turns OpenSSH's failure into the reason a sysadmin needs.
fn describe_ssh_error(err: &openssh::Error) -> String {
    let text = format!("{err}");
    let detail = std::error::Error::source(err)
        .map(|s| s.to_string())
        .unwrap_or_default();
    let all = format!("{text} {detail}");
    if all.contains("REMOTE HOST IDENTIFICATION HAS CHANGED") || all.contains("Host key verification failed")
    {
        format!("host key verification failed (security): the host's key does not match known_hosts or is unknown; {detail}")
    } else {
        format!(
            "{text}{}",
            if detail.is_empty() {
                String::new()
            } else {
                format!(": {detail}")
            }
        )
    }
}

/// The `-o` options of `ansible_ssh_common_args` that map to builder settings, and the rest.
#[derive(Debug, Default, PartialEq, Eq)]
struct SshOptions {
    known_hosts_file: Option<PathBuf>,
    strict_host_key_checking: Option<String>,
    jump_hosts: Vec<String>,
    identity: Option<PathBuf>,
    port: Option<u16>,
    other: Vec<(String, String)>,
}

impl SshOptions {
    fn parse(words: &[String]) -> Result<SshOptions> {
        let mut options = SshOptions::default();
        let mut words = words.iter();
        while let Some(word) = words.next() {
            let (flag, inline) = if word.len() > 2 && word.starts_with('-') && !word.starts_with("--") {
                (&word[..2], Some(word[2..].to_string()))
            } else {
                (word.as_str(), None)
            };
            let mut value = || -> Result<String> {
                match &inline {
                    Some(v) => Ok(v.clone()),
                    None => words
                        .next()
                        .cloned()
                        .with_context(|| format!("`{flag}` needs a value")),
                }
            };
            match flag {
                "-o" => {
                    let option = value()?;
                    let (key, val) = option
                        .split_once('=')
                        .or_else(|| option.split_once(' '))
                        .with_context(|| format!("`-o {option}` is not KEY=VALUE"))?;
                    let (key, val) = (key.trim(), val.trim().to_string());
                    match key.to_ascii_lowercase().as_str() {
                        "userknownhostsfile" => options.known_hosts_file = Some(PathBuf::from(val)),
                        "stricthostkeychecking" => {
                            options.strict_host_key_checking = Some(val.to_ascii_lowercase())
                        }
                        "proxyjump" => options.jump_hosts.push(val),
                        "port" => {
                            options.port = Some(val.parse().with_context(|| format!("bad port {val}"))?)
                        }
                        "identityfile" => options.identity = Some(PathBuf::from(val)),
                        _ => options.other.push((key.to_string(), val)),
                    }
                }
                "-J" => options.jump_hosts.push(value()?),
                "-i" => options.identity = Some(PathBuf::from(value()?)),
                "-p" => {
                    let port = value()?;
                    options.port = Some(port.parse().with_context(|| format!("bad port {port}"))?);
                }
                other => bail!("unsupported ssh argument `{other}`; use `-o Option=value`"),
            }
        }
        Ok(options)
    }
}

/// A temporary ssh config holding extra options, then the user's own config.
fn ssh_config_file(options: &[(String, String)]) -> Result<tempfile_lite::TempFile> {
    let mut text = String::new();
    for (key, value) in options {
        if value.contains('\n') {
            bail!("ssh option {key} has a newline in its value");
        }
        text.push_str(&format!("{key} {value}\n"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        let user_config = PathBuf::from(home).join(".ssh/config");
        if user_config.exists() {
            text.push_str(&format!("Include {}\n", user_config.display()));
        }
    }
    tempfile_lite::TempFile::with_content("deploy-ssh-config", &text)
}

/// A file removed when dropped; enough for a config that lives as long as a connect call.
mod tempfile_lite {
    use std::path::{Path, PathBuf};

    pub struct TempFile(PathBuf);

    impl TempFile {
        pub fn with_content(prefix: &str, content: &str) -> anyhow::Result<TempFile> {
            let path = std::env::temp_dir().join(format!("{prefix}-{}", super::random_token()));
            std::fs::write(&path, content)?;
            Ok(TempFile(path))
        }

        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_common_args_like_a_shell() {
        let words = crate::shell::split(
            r#"-o UserKnownHostsFile="/var/tmp/a b/kh" -o 'StrictHostKeyChecking=yes' -oX=1"#,
            false,
        )
        .unwrap();
        assert_eq!(
            words,
            [
                "-o",
                "UserKnownHostsFile=/var/tmp/a b/kh",
                "-o",
                "StrictHostKeyChecking=yes",
                "-oX=1"
            ]
        );
    }

    #[test]
    fn maps_known_ssh_options() {
        let words = crate::shell::split(
            "-o UserKnownHostsFile=/kh -o StrictHostKeyChecking=yes -J bastion -o Ciphers=aes128-ctr",
            false,
        )
        .unwrap();
        let options = SshOptions::parse(&words).unwrap();
        assert_eq!(options.known_hosts_file, Some(PathBuf::from("/kh")));
        assert_eq!(options.strict_host_key_checking.as_deref(), Some("yes"));
        assert_eq!(options.jump_hosts, ["bastion"]);
        assert_eq!(options.other, [("Ciphers".to_string(), "aes128-ctr".to_string())]);
        assert!(SshOptions::parse(&["-X".to_string()]).is_err());
    }

    #[test]
    fn remote_commands_carry_no_secrets() {
        let mut b = Become {
            method: BecomeMethod::Sudo,
            user: "root".into(),
            password: Some(Secret::new("hunter2".into())),
        };
        let cmd = remote_command(Some(&b), Some("[p]"));
        assert!(!cmd.contains("hunter2"));
        assert_eq!(remote_command(None, None), "sh -s");
        assert!(format!("{b:?}").contains("<secret>"));
        b.method = BecomeMethod::Su;
        b.user = "app user".into();
        assert_eq!(
            remote_command(Some(&b), Some(SU_PROMPT)),
            "LC_ALL=C su -s /bin/sh -c 'echo deploy-become-ready; exec sh -s' -- 'app user'"
        );
    }

    #[tokio::test]
    async fn local_exec_runs_the_script_from_stdin() {
        let target = Target {
            name: "localhost".into(),
            local: true,
            ..Target::default()
        };
        let conn = Connection::connect(&target).await.unwrap();
        let out = conn
            .exec("echo hello; echo oops >&2; exit 3\n", None)
            .await
            .unwrap();
        assert_eq!(out.stdout, b"hello\n");
        assert_eq!(out.stderr, b"oops\n");
        assert_eq!(out.status, 3);
        assert_eq!(conn.exec_count(), 1);
    }

    #[tokio::test]
    async fn one_shell_serves_a_whole_conversation() {
        let target = Target {
            name: "localhost".into(),
            local: true,
            ..Target::default()
        };
        let conn = Connection::connect(&target).await.unwrap();
        let mut shell = conn.open_shell(None).await.unwrap();
        shell.send("x=41; echo first; echo END1\n").await.unwrap();
        assert_eq!(shell.read_through_line("END1").await.unwrap(), b"first\nEND1\n");
        shell
            .send("echo $((x + 1)); echo END2; echo tail\n")
            .await
            .unwrap();
        assert_eq!(shell.read_through_line("END2").await.unwrap(), b"42\nEND2\n");
        let out = shell.finish().await.unwrap();
        assert_eq!(out.stdout, b"tail\n");
        assert_eq!(conn.exec_count(), 1);
    }

    #[test]
    fn finds_whole_lines_only() {
        assert_eq!(find_line(b"aEND\nEND\n", b"END\n", 0), Some(5));
        assert_eq!(find_line(b"END\n", b"END\n", 0), Some(0));
        assert_eq!(find_line(b"xEND\n", b"END\n", 0), None);
    }

    #[test]
    fn tokens_are_random_hex() {
        let (one, two) = (random_token(), random_token());
        assert_eq!(one.len(), 24);
        assert!(
            one.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()),
            "{one}"
        );
        assert_ne!(one, two);
    }
}

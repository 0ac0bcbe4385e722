//! Ansible Vault on the command line: where a run's passwords come from (`--vault-id`,
//! `--vault-password-file`, `--ask-vault-pass`, ansible.cfg), and `deploy vault`, which reads
//! and writes vault files as `ansible-vault` does.

use std::io::{IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use zeroize::Zeroizing;

use crate::config::Settings;
use crate::vault::{self, Keyring, Source, VaultSecret, DEFAULT_LABEL};

/// The vault flags of every command that reads a project (`plan`, `apply`, `check`,
/// `inventory`) and of `deploy vault`.
#[derive(Args, Debug, Clone, Default)]
pub struct VaultArgs {
    /// A vault password: `LABEL@FILE`, `LABEL@prompt`, or a file (label `default`). A file
    /// that is executable is run and prints the password. Repeatable.
    #[arg(long = "vault-id", value_name = "ID")]
    pub vault_ids: Vec<String>,

    /// A file holding the vault password (or an executable that prints it); also
    /// `vault_password_file` in ansible.cfg and ANSIBLE_VAULT_PASSWORD_FILE.
    #[arg(long = "vault-password-file", alias = "vault-pass-file", value_name = "FILE")]
    pub password_files: Vec<PathBuf>,

    /// Ask for the vault password (read from the terminal, or the first line of stdin).
    #[arg(short = 'J', long = "ask-vault-pass", alias = "ask-vault-password")]
    pub ask: bool,
}

/// The vault ids of a command, as Ansible gathers them: ansible.cfg's identity list, then
/// `--vault-id`, then password files (flags, else ansible.cfg's), then the prompt.
fn identities(args: &VaultArgs, settings: &Settings, prompt_if_none: bool) -> Vec<(String, Source)> {
    let mut ids: Vec<(String, Source)> = settings
        .vault_identity_list
        .iter()
        .flatten()
        .chain(&args.vault_ids)
        .map(|id| vault::parse_vault_id(id))
        .collect();
    let files: Vec<PathBuf> = if args.password_files.is_empty() {
        settings.vault_password_file.iter().cloned().collect()
    } else {
        args.password_files.clone()
    };
    ids.extend(
        files
            .into_iter()
            .map(|f| (DEFAULT_LABEL.to_string(), Source::File(f))),
    );
    if args.ask || (ids.is_empty() && prompt_if_none) {
        ids.push((DEFAULT_LABEL.to_string(), Source::Prompt));
    }
    ids
}

fn prompt(label: &str, confirm: bool) -> Result<VaultSecret> {
    let shown = if label == DEFAULT_LABEL {
        String::new()
    } else {
        format!(" ({label})")
    };
    let password = Zeroizing::new(crate::transport::read_password(&format!(
        "{}Vault password{shown}: ",
        if confirm { "New " } else { "" }
    ))?);
    if confirm && std::io::stdin().is_terminal() {
        let again = Zeroizing::new(crate::transport::read_password(&format!(
            "Confirm New Vault password{shown}: "
        ))?);
        if *again != *password {
            bail!("the passwords do not match");
        }
    }
    if password.is_empty() {
        bail!("the vault password is empty");
    }
    Ok(VaultSecret::new(label, password.as_bytes().to_vec(), "prompt"))
}

fn load(ids: Vec<(String, Source)>, confirm: bool) -> Result<Keyring> {
    let mut keyring = Keyring::default();
    for (label, source) in ids {
        keyring.secrets.push(match source {
            Source::Prompt => prompt(&label, confirm)?,
            Source::File(path) => vault::read_password_file(&label, &path)?,
        });
    }
    Ok(keyring)
}

/// Reads the run's vault passwords and installs them before anything is loaded. Nothing is
/// asked for unless a flag or ansible.cfg says so: a project without vault files needs none.
pub fn install(args: &VaultArgs, settings: &Settings) -> Result<()> {
    vault::install(load(identities(args, settings, false), false)?);
    Ok(())
}

#[derive(Subcommand, Debug)]
pub enum VaultCommand {
    /// Encrypt files in place (or `--output`); `-` reads stdin.
    Encrypt(FilesArgs),
    /// Decrypt files in place (or `--output`); `-` reads stdin.
    Decrypt(FilesArgs),
    /// Print the plaintext of vault files.
    View(FilesArgs),
    /// Edit a vault file in $EDITOR; re-encrypted only if the text changed.
    Edit(EditArgs),
    /// Create a new vault file with $EDITOR.
    Create(EditArgs),
    /// Encrypt files again with a new password.
    Rekey(RekeyArgs),
    /// Encrypt a string as an inline `!vault` value for a YAML file.
    #[command(name = "encrypt_string", alias = "encrypt-string")]
    EncryptString(EncryptStringArgs),
}

#[derive(Args, Debug)]
pub struct Common {
    #[command(flatten)]
    pub vault: VaultArgs,

    /// The vault id to encrypt with, when several are given.
    #[arg(long, value_name = "LABEL")]
    pub encrypt_vault_id: Option<String>,
}

#[derive(Args, Debug)]
pub struct FilesArgs {
    #[command(flatten)]
    pub common: Common,

    /// Write here instead of in place (`-` for stdout); one input file only.
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EditArgs {
    #[command(flatten)]
    pub common: Common,

    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Args, Debug)]
pub struct RekeyArgs {
    #[command(flatten)]
    pub common: Common,

    /// The new password's file (or executable).
    #[arg(long, value_name = "FILE")]
    pub new_vault_password_file: Option<PathBuf>,

    /// The new password as `LABEL@SOURCE`.
    #[arg(long, value_name = "ID")]
    pub new_vault_id: Option<String>,

    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Args, Debug)]
pub struct EncryptStringArgs {
    #[command(flatten)]
    pub common: Common,

    /// The variable name to print before the value (`NAME: !vault |`).
    #[arg(short = 'n', long = "name", value_name = "NAME")]
    pub names: Vec<String>,

    /// Read the string to encrypt from stdin.
    #[arg(long)]
    pub stdin_name: Option<String>,

    /// Ask for the string to encrypt (echo off).
    #[arg(short = 'p', long)]
    pub prompt: bool,

    /// The strings to encrypt (`-` or nothing: stdin).
    #[arg(value_name = "STRING")]
    pub strings: Vec<String>,
}

/// The one password to encrypt with: `--encrypt-vault-id`'s, or the only one given.
fn encrypt_secret(keyring: &Keyring, wanted: Option<&str>) -> Result<usize> {
    if let Some(label) = wanted {
        return keyring
            .secrets
            .iter()
            .position(|s| s.label == label)
            .with_context(|| format!("--encrypt-vault-id {label}: no vault password has that label"));
    }
    match keyring.secrets.len() {
        0 => bail!(
            "a vault password is needed to encrypt (--vault-password-file, --vault-id or --ask-vault-pass)"
        ),
        1 => Ok(0),
        _ => bail!(
            "vault ids {} can encrypt: choose one with --encrypt-vault-id",
            keyring
                .secrets
                .iter()
                .map(|s| s.label.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn keyring_of(common: &Common, confirm: bool) -> Result<Keyring> {
    let settings = crate::cli::ansible_settings()?;
    load(identities(&common.vault, &settings, true), confirm)
}

fn read_input(path: &Path) -> Result<Zeroizing<Vec<u8>>> {
    let mut bytes = Zeroizing::new(Vec::new());
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .context("cannot read stdin")?;
    } else {
        *bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    }
    Ok(bytes)
}

/// Writes `bytes` to `path` atomically, keeping an existing file's mode (new files: 0600,
/// as ansible-vault creates them).
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
    if path == Path::new("-") {
        std::io::stdout()
            .write_all(bytes)
            .context("cannot write stdout")?;
        return Ok(());
    }
    let mode = std::fs::metadata(path)
        .map(|m| m.permissions().mode() & 0o7777)
        .unwrap_or(0o600);
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .context("a file name is needed")?
        .to_string_lossy();
    let temp = dir.join(format!(".{name}.deploy-vault-{}", std::process::id()));
    let result = (|| -> Result<()> {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .with_context(|| format!("cannot write {}", temp.display()))?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::set_permissions(&temp, std::fs::Permissions::from_mode(mode))?;
        std::fs::rename(&temp, path).with_context(|| format!("cannot replace {}", path.display()))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

fn decrypt_file(bytes: &[u8], path: &Path, keyring: &Keyring) -> Result<Zeroizing<Vec<u8>>> {
    let text = std::str::from_utf8(bytes)
        .ok()
        .filter(|t| vault::is_vault(t.as_bytes()))
        .with_context(|| format!("{}: not a vault file", path.display()))?;
    vault::decrypt_with(text, keyring).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))
}

fn single_output(args: &FilesArgs) -> Result<()> {
    if args.output.is_some() && args.files.len() > 1 {
        bail!("--output takes one input file");
    }
    Ok(())
}

pub fn command(command: VaultCommand) -> Result<ExitCode> {
    match command {
        VaultCommand::Encrypt(args) => {
            single_output(&args)?;
            let keyring = keyring_of(&args.common, true)?;
            let secret = &keyring.secrets[encrypt_secret(&keyring, args.common.encrypt_vault_id.as_deref())?];
            for file in &args.files {
                let plain = read_input(file)?;
                if vault::is_vault(&plain) {
                    bail!("{}: already encrypted", file.display());
                }
                let text = vault::encrypt(&plain, secret)?;
                write_atomic(args.output.as_deref().unwrap_or(file), text.as_bytes())?;
            }
            eprintln!("Encryption successful");
        }
        VaultCommand::Decrypt(args) => {
            single_output(&args)?;
            let keyring = keyring_of(&args.common, false)?;
            for file in &args.files {
                let plain = decrypt_file(&read_input(file)?, file, &keyring)?;
                write_atomic(args.output.as_deref().unwrap_or(file), &plain)?;
            }
            eprintln!("Decryption successful");
        }
        VaultCommand::View(args) => {
            let keyring = keyring_of(&args.common, false)?;
            let mut out = std::io::stdout().lock();
            for file in &args.files {
                let plain = decrypt_file(&read_input(file)?, file, &keyring)?;
                out.write_all(&plain)?;
            }
        }
        VaultCommand::Rekey(args) => {
            let keyring = keyring_of(&args.common, false)?;
            let new = match (&args.new_vault_id, &args.new_vault_password_file) {
                (Some(id), _) => load(vec![vault::parse_vault_id(id)], true)?,
                (None, Some(file)) => load(vec![(DEFAULT_LABEL.into(), Source::File(file.clone()))], true)?,
                (None, None) => load(vec![(DEFAULT_LABEL.into(), Source::Prompt)], true)?,
            };
            for file in &args.files {
                let plain = decrypt_file(&read_input(file)?, file, &keyring)?;
                write_atomic(file, vault::encrypt(&plain, &new.secrets[0])?.as_bytes())?;
            }
            eprintln!("Rekey successful");
        }
        VaultCommand::EncryptString(args) => encrypt_string(&args)?,
        VaultCommand::Edit(args) => edit(&args, false)?,
        VaultCommand::Create(args) => edit(&args, true)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// `NAME: !vault |` and the envelope indented by 10, as ansible-vault prints it.
fn inline(ciphertext: &str, name: Option<&str>) -> String {
    let mut out = match name {
        Some(name) => format!("{name}: !vault |"),
        None => "!vault |".to_string(),
    };
    for line in ciphertext.lines() {
        out.push('\n');
        out.push_str("          ");
        out.push_str(line);
    }
    out
}

fn encrypt_string(args: &EncryptStringArgs) -> Result<()> {
    let keyring = keyring_of(&args.common, true)?;
    let secret = &keyring.secrets[encrypt_secret(&keyring, args.common.encrypt_vault_id.as_deref())?];
    let mut items: Vec<(Option<String>, Zeroizing<String>)> = Vec::new();
    if args.prompt {
        let text = Zeroizing::new(crate::transport::read_password("String to encrypt (hidden): ")?);
        items.push((args.names.first().cloned(), text));
    } else if args.strings.is_empty() || args.strings == ["-"] || args.stdin_name.is_some() {
        if std::io::stdin().is_terminal() {
            eprintln!("Reading plaintext input from stdin. (ctrl-d to end input, twice if your content does not already have a newline)");
        }
        let mut text = Zeroizing::new(String::new());
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read stdin")?;
        let name = args.stdin_name.clone().or_else(|| args.names.first().cloned());
        items.push((name, text));
    } else {
        for (i, text) in args.strings.iter().enumerate() {
            items.push((args.names.get(i).cloned(), Zeroizing::new(text.clone())));
        }
    }
    let mut out = std::io::stdout().lock();
    for (name, text) in &items {
        let ciphertext = vault::encrypt(text.as_bytes(), secret)?;
        writeln!(out, "{}", inline(&ciphertext, name.as_deref()))?;
    }
    eprintln!("Encryption successful");
    Ok(())
}

/// Where the plaintext lives while the editor has it: a private directory in memory
/// (`$XDG_RUNTIME_DIR` or `/dev/shm`), removed on the way out whatever happens, so that the
/// plaintext never reaches a disk.
struct Scratch {
    dir: PathBuf,
}

impl Scratch {
    fn new() -> Result<Scratch> {
        use std::os::unix::fs::DirBuilderExt as _;
        let base = std::env::var_os("XDG_RUNTIME_DIR")
            .map(PathBuf::from)
            .filter(|d| d.is_dir())
            .or_else(|| Some(PathBuf::from("/dev/shm")).filter(|d| d.is_dir()))
            .context("no memory-backed directory ($XDG_RUNTIME_DIR or /dev/shm) to edit the plaintext in")?;
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
        let dir = base.join(format!("deploy-vault-{}", crate::digest::hex(&suffix)));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Scratch { dir })
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        // Overwrite before unlinking: a reader that kept the file open sees zeros.
        for entry in std::fs::read_dir(&self.dir).into_iter().flatten().flatten() {
            if let Ok(meta) = entry.metadata() {
                let _ = std::fs::write(entry.path(), vec![0u8; meta.len() as usize]);
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn edit(args: &EditArgs, create: bool) -> Result<()> {
    let path = &args.file;
    if create && path.exists() {
        bail!("{} exists: `deploy vault edit` changes it", path.display());
    }
    if !create && !path.exists() {
        bail!(
            "{} does not exist: `deploy vault create` makes it",
            path.display()
        );
    }
    let keyring = keyring_of(&args.common, create)?;
    let (plain, secret) = if create {
        let index = encrypt_secret(&keyring, args.common.encrypt_vault_id.as_deref())?;
        (Zeroizing::new(Vec::new()), &keyring.secrets[index])
    } else {
        let bytes = read_input(path)?;
        let text = std::str::from_utf8(&bytes)
            .ok()
            .filter(|t| vault::is_vault(t.as_bytes()))
            .with_context(|| format!("{}: not a vault file", path.display()))?;
        let (opener, plain) =
            vault::open_with(text, &keyring).map_err(|err| anyhow::anyhow!("{}: {err}", path.display()))?;
        // Re-encrypted with the password that opened it, unless another is named.
        let index = match args.common.encrypt_vault_id.as_deref() {
            Some(wanted) => encrypt_secret(&keyring, Some(wanted))?,
            None => opener,
        };
        (plain, &keyring.secrets[index])
    };
    let scratch = Scratch::new()?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "vault".into());
    let temp = scratch.dir.join(name);
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .with_context(|| format!("cannot write {}", temp.display()))?;
        file.write_all(&plain)?;
    }
    let editor = std::env::var("EDITOR")
        .ok()
        .filter(|e| !e.trim().is_empty())
        .unwrap_or_else(|| "vi".into());
    let mut words =
        crate::shell::split(&editor, false).map_err(|e| anyhow::anyhow!("$EDITOR `{editor}`: {e}"))?;
    if words.is_empty() {
        bail!("$EDITOR is empty");
    }
    let program = words.remove(0);
    // Ctrl-C belongs to the editor; this process waits for it, then cleans up.
    let status = ignoring_interrupts(|| {
        std::process::Command::new(&program)
            .args(&words)
            .arg(&temp)
            .status()
    })
    .with_context(|| format!("cannot run the editor `{program}`"))?;
    if !status.success() {
        bail!(
            "the editor `{program}` failed ({status}); {} is unchanged",
            path.display()
        );
    }
    let edited =
        Zeroizing::new(std::fs::read(&temp).with_context(|| format!("cannot read {}", temp.display()))?);
    drop(scratch);
    if !create && *edited == *plain {
        eprintln!("{} unchanged", path.display());
        return Ok(());
    }
    write_atomic(path, vault::encrypt(&edited, secret)?.as_bytes())
}

/// Runs `f` with SIGINT and SIGQUIT ignored by this process (the child, in the same
/// foreground process group, still receives them), so that an interrupted edit still removes
/// the plaintext.
fn ignoring_interrupts<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: setting a signal's disposition to SIG_IGN and back is async-signal-safe and
    // touches no memory of this program.
    let old_int = unsafe { libc::signal(libc::SIGINT, libc::SIG_IGN) };
    let old_quit = unsafe { libc::signal(libc::SIGQUIT, libc::SIG_IGN) };
    let out = f();
    unsafe {
        libc::signal(libc::SIGINT, old_int);
        libc::signal(libc::SIGQUIT, old_quit);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_inline_value_is_indented_under_its_name() {
        let text = "$ANSIBLE_VAULT;1.1;AES256\n6162\n6364\n";
        assert_eq!(
            inline(text, Some("db_password")),
            "db_password: !vault |\n          $ANSIBLE_VAULT;1.1;AES256\n          6162\n          6364"
        );
    }

    #[test]
    fn identities_come_from_the_config_then_flags_then_files() {
        let settings = Settings {
            vault_identity_list: Some(vec!["prod@/p".into()]),
            vault_password_file: Some("/cfg".into()),
            ..Settings::default()
        };
        let args = VaultArgs {
            vault_ids: vec!["dev@prompt".into()],
            ..VaultArgs::default()
        };
        assert_eq!(
            identities(&args, &settings, false),
            vec![
                ("prod".into(), Source::File("/p".into())),
                ("dev".into(), Source::Prompt),
                ("default".into(), Source::File("/cfg".into())),
            ]
        );
        assert_eq!(
            identities(&VaultArgs::default(), &Settings::default(), false),
            vec![]
        );
        assert_eq!(
            identities(&VaultArgs::default(), &Settings::default(), true),
            vec![("default".into(), Source::Prompt)]
        );
    }
}

//! Talking to PostgreSQL with `psql`, for `postgresql_db` and `postgresql_user`.
//!
//! Ansible's modules connect with psycopg from Python on the host; `deploy` runs the client
//! every PostgreSQL host has, `psql`, as the task's user (roles say `become_user: postgres`).
//! SQL travels on psql's stdin, written by this project; the values in it (database and role
//! names, encodings) are psql variables (`-v name=VALUE`) used as `:'name'` (a literal) or
//! `:"name"` (an identifier), so psql quotes them and no value is ever spliced into SQL text.
//! Those values are in psql's argv, which is fine for names; secrets never are: they are
//! written into the SQL on stdin.
//!
//! The apply scripts re-check everything inside psql (`\gset` and `\if`), so one script is
//! right whatever the probe saw, including nothing at all: on a fresh host PostgreSQL is
//! often installed and started by earlier steps of the same run, and such a probe reports
//! "not reachable yet" instead of failing the plan. psql prints `deploy-changed` for each
//! change it made and `deploy-error:...` for a refusal, and the shell turns those into
//! `deploy_changed` and a failed step.

use anyhow::{bail, Result};

use crate::probe::Section;
use crate::resource::lifecycle::{key_values, value_of, Args};
use crate::shell::Script;

/// How psql reaches the server: the connection parameters both modules share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connection {
    pub login_user: String,
    /// A socket directory (`login_unix_socket`, or a `login_host` starting with `/`) or a host.
    pub host: Option<String>,
    pub port: i64,
    /// The database psql connects to.
    pub database: String,
}

impl Connection {
    /// Reads `login_user`, `login_host`, `login_unix_socket` and `port`; the password and TLS
    /// parameters are refused (a password would have to reach psql's environment).
    pub fn from_args(args: &Args, database: Option<String>) -> Result<Connection> {
        args.refuse(&["login_password", "ssl_mode", "ca_cert", "session_role"])?;
        let socket = args.str("login_unix_socket")?.filter(|s| !s.is_empty());
        let host = args.str("login_host")?.filter(|s| !s.is_empty());
        let port = args.int("port")?.unwrap_or(5432);
        if !(1..=65535).contains(&port) {
            bail!("`port` {port} is not a TCP port");
        }
        let database = database
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| "postgres".to_string());
        // psql reads a `-d` value with `=` in it as a connection string.
        if database.contains('=') {
            bail!("the database psql connects to, `{database}`, may not contain `=`");
        }
        Ok(Connection {
            login_user: args.str("login_user")?.unwrap_or_else(|| "postgres".to_string()),
            host: socket.or(host),
            port,
            database,
        })
    }

    /// psql's words: no psqlrc, quiet, unaligned tuples only, stop at the first error.
    pub fn command(&self, vars: &[(&str, &str)]) -> Vec<String> {
        let mut words: Vec<String> = [
            "psql",
            "-X",
            "-q",
            "-A",
            "-t",
            "-v",
            "ON_ERROR_STOP=1",
            "-U",
            &self.login_user,
            "-p",
            &self.port.to_string(),
            "-d",
            &self.database,
        ]
        .iter()
        .map(|w| w.to_string())
        .collect();
        if let Some(host) = &self.host {
            words.extend(["-h".to_string(), host.clone()]);
        }
        for (name, value) in vars {
            words.extend(["-v".to_string(), format!("{name}={value}")]);
        }
        words
    }
}

/// Sets `"$@"` to `words`, each quoted.
fn set_words(script: &mut Script, words: &[String]) {
    script.raw("set --");
    for word in words {
        script.line("set -- \"$@\" {}", &[word]);
    }
}

/// The start of every script: errors without the statement text (which may hold a secret).
pub const PREAMBLE: &str = "\\set VERBOSITY terse\n\\set SHOW_CONTEXT never\n";

/// Adds a probe snippet running `sql`: its output lines as they are, then `psql_rc=N` and
/// psql's stderr base64-encoded; or `psql=missing`.
pub fn probe(script: &mut Script, connection: &Connection, vars: &[(&str, &str)], sql: &str) {
    script.raw("if ! command -v psql >/dev/null 2>&1; then echo psql=missing; exit 0; fi");
    set_words(script, &connection.command(vars));
    script.raw("exec 4>&1");
    script.line(
        r#"err=$(printf '%s\n' {} | PGCLIENTENCODING=UTF8 "$@" 2>&1 >&4; echo "psql_rc=$?" >&4)"#,
        &[&format!("{PREAMBLE}{sql}")],
    );
    script.raw(r#"[ -z "$err" ] || printf 'psql_stderr=%s\n' "$(printf '%s' "$err" | base64 -w0)""#);
}

/// What a probe got back from the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The query ran: its `key=value` lines.
    Rows(Vec<(String, String)>),
    /// The server cannot be asked yet (psql missing, no server listening): an earlier step
    /// may install or start it.
    NotYet(String),
}

/// Reads what [`probe`] printed. Failures other than "nothing to talk to yet" are errors.
pub fn inspect(out: &Section) -> Result<Reply> {
    let pairs = key_values(out)?;
    if value_of(&pairs, "psql") == Some("missing") {
        return Ok(Reply::NotYet(
            "psql is not installed yet (package postgresql-client)".to_string(),
        ));
    }
    let stderr = match value_of(&pairs, "psql_stderr") {
        Some(encoded) => {
            use base64::Engine as _;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded)
                .map_err(|_| anyhow::anyhow!("probe: bad base64 in psql_stderr"))?;
            String::from_utf8_lossy(&bytes).trim().to_string()
        }
        None => String::new(),
    };
    match value_of(&pairs, "psql_rc") {
        Some("0") => Ok(Reply::Rows(
            pairs
                .into_iter()
                .filter(|(k, _)| k != "psql_rc" && k != "psql_stderr")
                .collect(),
        )),
        Some("2")
            if stderr.contains("No such file or directory")
                || stderr.contains("Connection refused")
                || stderr.contains("the database system is starting up")
                || stderr.contains("the database system is shutting down") =>
        {
            Ok(Reply::NotYet(format!(
                "the server is not reachable yet ({stderr})"
            )))
        }
        Some(rc) => bail!("psql failed (exit {rc}): {stderr}"),
        None => bail!("probe: psql did not run"),
    }
}

/// Adds the apply snippet running `sql` (which prints `deploy-changed`/`deploy-error:`
/// markers). `secret`, when the SQL holds one, is blanked out of anything printed.
pub fn apply(
    script: &mut Script,
    connection: &Connection,
    vars: &[(&str, &str)],
    sql: &str,
    secret: Option<&str>,
) {
    script.raw(
        "command -v psql >/dev/null 2>&1 || { echo 'psql is not installed on the host: install the package postgresql-client' >&2; exit 1; }",
    );
    set_words(script, &connection.command(vars));
    script.line(
        r#"out=$(printf '%s\n' {} | PGCLIENTENCODING=UTF8 "$@" 2>&1); rc=$?"#,
        &[&format!("{PREAMBLE}{sql}")],
    );
    if let Some(secret) = secret.filter(|s| !s.is_empty()) {
        // Blanked with the shell's own pattern removal: the secret reaches no other program.
        script.line("deploy_secret={}", &[secret]);
        script.raw(
            r#"while :; do case $out in *"$deploy_secret"*) out="${out%%"$deploy_secret"*}(secret)${out#*"$deploy_secret"}";; *) break;; esac; done"#,
        );
    }
    script.raw(
        r#"case $out in *deploy-changed*) deploy_changed;; esac
case $out in *deploy-error:*) rc=1;; esac
if [ "$rc" -ne 0 ]; then printf '%s\n' "$out" | grep -v '^deploy-changed$' | sed 's/^deploy-error://' >&2; exit 1; fi"#,
    );
}

/// `'text'` as a standard SQL literal (`standard_conforming_strings` is on since 9.1).
pub fn literal(text: &str) -> Result<String> {
    if text.contains('\0') {
        bail!("a PostgreSQL string cannot contain a NUL byte");
    }
    Ok(format!("'{}'", text.replace('\'', "''")))
}

/// Checks a role or database name: PostgreSQL's limit, and no NUL.
pub fn check_name(kind: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        bail!("the {kind} name is empty");
    }
    if name.contains('\0') || name.contains('\n') {
        bail!("the {kind} name {name:?} contains a NUL or a newline");
    }
    if name.len() > 63 {
        bail!("the {kind} name `{name}` is longer than PostgreSQL's 63 bytes");
    }
    Ok(())
}

/// Decodes a hex probe value (names and settings travel hex-encoded: no line can break).
pub fn unhex(text: &str) -> Result<String> {
    if text.len() % 2 != 0 {
        bail!("probe: odd hex {text:?}");
    }
    let bytes = (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| anyhow::anyhow!("probe: bad hex {text:?}"))?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("probe: a value is not UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::support::testing::section;

    #[test]
    fn replies() {
        assert!(matches!(
            inspect(&section("psql=missing\n")).unwrap(),
            Reply::NotYet(_)
        ));
        assert_eq!(
            inspect(&section("owner=61\npsql_rc=0\n")).unwrap(),
            Reply::Rows(vec![("owner".into(), "61".into())])
        );
        let refused = "psql: error: connection to server on socket \"/run/postgresql/.s.PGSQL.5432\" failed: No such file or directory";
        let probe = |rc: &str, err: &str| {
            use base64::Engine as _;
            section(&format!(
                "psql_rc={rc}\npsql_stderr={}\n",
                base64::engine::general_purpose::STANDARD.encode(err)
            ))
        };
        assert!(matches!(inspect(&probe("2", refused)).unwrap(), Reply::NotYet(_)));
        let auth = "psql: error: FATAL:  Peer authentication failed for user \"postgres\"";
        assert_eq!(
            inspect(&probe("2", auth)).unwrap_err().to_string(),
            format!("psql failed (exit 2): {auth}")
        );
        assert!(inspect(&section("")).is_err());
    }

    #[test]
    fn literals_and_hex() {
        assert_eq!(literal("it's").unwrap(), "'it''s'");
        assert!(literal("a\0b").is_err());
        assert_eq!(unhex("c3a974c3a9").unwrap(), "été");
        assert!(unhex("zz").is_err());
    }
}

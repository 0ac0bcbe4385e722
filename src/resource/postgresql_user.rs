//! `postgresql_user` (`community.postgresql.postgresql_user`): a PostgreSQL role and password.
//!
//! Decided as Ansible's module decides it: only the attributes given are compared, and the
//! password is compared with the stored verifier the way the module does (a SCRAM verifier
//! recomputed from the plaintext with its salt, or `md5(password + name)`). The stored
//! verifier comes back in the probe output (a hash, never printed, never in the plan), the
//! comparison is local, and the plan shows only `password (changed)`. A plaintext password
//! never leaves the controller: the apply sends a SCRAM verifier computed here, in SQL on
//! psql's stdin, never in an argv.

use anyhow::{bail, Result};
use base64::Engine as _;
use md5::Digest as _;

use super::lifecycle::{value_of, Args, BuildContext, Resource, Step};
use super::psql::{self, check_name, unhex, Connection, Reply};
use super::support::{detach_stdin, yes_no};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::digest::{hex, sha256_hex};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Creates, changes or drops a PostgreSQL user (role).
///
/// ```yaml
/// - postgresql_user:
///     name: app
///     password: "{{ app_db_password }}"
///     role_attr_flags: NOSUPERUSER,NOCREATEDB
///   no_log: true
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "postgresql_user",
    fqcn: "community.postgresql.postgresql_user",
    params: &[
        P::new("name", Str).required().aliases(&["user"]),
        P::new("password", Str),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
        P::new("db", Str).aliases(&["login_db"]),
        P::new("role_attr_flags", Str).default(D::Str("")),
        P::new("encrypted", Bool).default(D::Bool(true)),
        P::new("expires", Str),
        P::new("no_password_changes", Bool).default(D::Bool(false)),
        P::new("fail_on_user", Bool)
            .default(D::Bool(true))
            .aliases(&["fail_on_role"]),
        P::new("conn_limit", Int),
        P::new("comment", Str),
        P::new("configuration", Dict),
        P::new("session_role", Str),
        P::new("login_user", Str)
            .default(D::Str("postgres"))
            .aliases(&["login"]),
        P::new("login_password", Str),
        P::new("login_host", Str).aliases(&["host"]),
        P::new("login_unix_socket", Str).aliases(&["unix_socket"]),
        P::new("port", Int).default(D::Int(5432)).aliases(&["login_port"]),
        P::new("ssl_mode", Str).choices(&[
            "allow",
            "disable",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ]),
        P::new("ca_cert", Str).aliases(&["ssl_rootcert"]),
        P::new("trust_input", Bool).default(D::Bool(true)),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(from_args(args)?))
}

/// The role attributes `role_attr_flags` may name, and their `pg_roles` columns.
const FLAGS: &[(&str, &str)] = &[
    ("SUPERUSER", "rolsuper"),
    ("CREATEROLE", "rolcreaterole"),
    ("CREATEDB", "rolcreatedb"),
    ("INHERIT", "rolinherit"),
    ("LOGIN", "rolcanlogin"),
    ("REPLICATION", "rolreplication"),
    ("BYPASSRLS", "rolbypassrls"),
];

/// PostgreSQL's default `scram_iterations`.
const SCRAM_ITERATIONS: u32 = 4096;

/// A role as `postgresql_user` converges it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    pub present: bool,
    /// What `password:` asks for: never shown, never in argv.
    pub password: Option<Password>,
    /// Wanted attributes, in [`FLAGS`] order: `(flag, column, wanted)`.
    pub flags: Vec<(&'static str, &'static str, bool)>,
    pub expires: Option<String>,
    pub conn_limit: Option<i64>,
    pub comment: Option<String>,
    /// `no_password_changes`: an existing role's password, expiry and limit are left alone.
    pub no_password_changes: bool,
    /// `fail_on_user`: a role that cannot be dropped fails the step.
    pub fail_on_user: bool,
    pub connection: Connection,
}

/// A wanted password.
#[derive(Clone, PartialEq, Eq)]
pub struct Password {
    /// As given: plaintext, or an `md5...`/`SCRAM-SHA-256$...` hash; empty means no password.
    pub given: String,
    /// What is sent to the server: the given hash, or a SCRAM verifier computed here from the
    /// plaintext, so the plaintext never leaves the controller.
    pub stored: String,
}

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password(..)")
    }
}

/// An existing role as the probe saw it.
#[derive(Clone, PartialEq, Eq)]
pub struct RoleInfo {
    /// `(column, value)` for each of [`FLAGS`].
    pub flags: Vec<(String, bool)>,
    pub conn_limit: i64,
    pub valid_until: String,
    /// Whether `rolvaliduntil` differs from the wanted `expires`, as the server compares them.
    pub expires_differs: bool,
    pub comment: String,
    /// The stored verifier (`None`: no password); read only when a password is compared.
    pub stored_password: Option<Option<String>>,
}

impl std::fmt::Debug for RoleInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoleInfo")
            .field("flags", &self.flags)
            .field("conn_limit", &self.conn_limit)
            .field("valid_until", &self.valid_until)
            .field("comment", &self.comment)
            .finish_non_exhaustive()
    }
}

/// What the probe learned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleState {
    Absent,
    Present(RoleInfo),
    NotYet(String),
}

/// The parts of a SCRAM verifier: iterations, salt, StoredKey, ServerKey.
struct Scram {
    iterations: u32,
    salt: Vec<u8>,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

/// `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, all base64.
fn parse_scram(verifier: &str) -> Option<Scram> {
    let rest = verifier.strip_prefix("SCRAM-SHA-256$")?;
    let (head, keys) = rest.split_once('$')?;
    let (iterations, salt) = head.split_once(':')?;
    let (stored, server) = keys.split_once(':')?;
    let b64 = |t: &str| base64::engine::general_purpose::STANDARD.decode(t).ok();
    Some(Scram {
        iterations: iterations.parse().ok()?,
        salt: b64(salt)?,
        stored_key: b64(stored)?,
        server_key: b64(server)?,
    })
}

/// RFC 5802's keys: `(StoredKey, ServerKey)` for a password, salt and iteration count.
fn scram_keys(password: &str, salt: &[u8], iterations: u32) -> ([u8; 32], [u8; 32]) {
    use hmac::Mac;
    use sha2::Digest;
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password.as_bytes(), salt, iterations, &mut salted);
    let hmac = |key: &[u8], text: &[u8]| -> [u8; 32] {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
        mac.update(text);
        mac.finalize().into_bytes().into()
    };
    let client_key = hmac(&salted, b"Client Key");
    let stored_key: [u8; 32] = sha2::Sha256::digest(client_key).into();
    (stored_key, hmac(&salted, b"Server Key"))
}

/// The verifier PostgreSQL would store for `password` with this salt.
///
/// The password is used as UTF-8 bytes without SASLprep normalization, which is what
/// PostgreSQL does for ASCII passwords; a non-ASCII one that SASLprep would change compares as
/// different (and is set again) rather than wrongly as equal.
pub fn scram_verifier(password: &str, salt: &[u8], iterations: u32) -> String {
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let (stored, server) = scram_keys(password, salt, iterations);
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        b64(salt),
        b64(&stored),
        b64(&server)
    )
}

/// Whether `password` is the one a SCRAM verifier was made from.
pub fn scram_matches(password: &str, verifier: &str) -> bool {
    match parse_scram(verifier) {
        Some(scram) if scram.iterations > 0 => {
            let (stored, server) = scram_keys(password, &scram.salt, scram.iterations);
            scram.stored_key == stored && scram.server_key == server
        }
        _ => false,
    }
}

fn is_md5_hash(text: &str) -> bool {
    text.len() == 35 && text.starts_with("md5") && text[3..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Ansible's `user_should_we_change_password`, in its order: an empty password wants none, a
/// given SCRAM hash is compared as is, a stored SCRAM verifier is recomputed from the
/// plaintext, a given md5 hash is compared as is, else `md5(password + name)`.
pub fn password_matches(wanted: &str, user: &str, stored: Option<&str>) -> bool {
    if wanted.is_empty() {
        return stored.is_none();
    }
    if parse_scram(wanted).is_some() {
        return stored == Some(wanted);
    }
    let Some(stored) = stored else {
        return false;
    };
    if stored.starts_with("SCRAM-SHA-256$") {
        return scram_matches(wanted, stored);
    }
    if is_md5_hash(wanted) {
        return stored == wanted;
    }
    let digest = md5::Md5::digest(format!("{wanted}{user}").as_bytes());
    stored == format!("md5{}", hex(&digest))
}

impl Role {
    fn compares_password(&self) -> bool {
        self.password.is_some() && !self.no_password_changes
    }

    fn vars(&self) -> Vec<(&str, &str)> {
        let mut vars = vec![("name", self.name.as_str())];
        if let Some(expires) = &self.expires {
            vars.push(("expires", expires));
        }
        if let Some(comment) = &self.comment {
            vars.push(("comment", comment));
        }
        vars
    }

    fn flags_sql(&self) -> String {
        self.flags
            .iter()
            .map(|(flag, _, on)| {
                if *on {
                    flag.to_string()
                } else {
                    format!("NO{flag}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// `PASSWORD '...'` or `PASSWORD NULL`: the one place the secret enters SQL text.
    fn password_sql(&self) -> Option<String> {
        let password = self.password.as_ref()?;
        Some(if password.given.is_empty() {
            "PASSWORD NULL".to_string()
        } else {
            format!(
                "PASSWORD {}",
                psql::literal(&password.stored).expect("a verifier has no NUL")
            )
        })
    }

    fn password_differs(&self, info: &RoleInfo) -> bool {
        match (&self.password, &info.stored_password) {
            (Some(password), Some(stored)) if !self.no_password_changes => {
                !password_matches(&password.given, &self.name, stored.as_deref())
            }
            _ => false,
        }
    }

    fn sql(&self, have: &RoleState) -> String {
        let mut sql = String::new();
        if !self.present {
            sql.push_str(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name') AS deploy_drop \\gset\n\\if :deploy_drop\n",
            );
            if self.fail_on_user {
                sql.push_str("DROP USER :\"name\";\n\\echo deploy-changed\n");
            } else {
                sql.push_str("\\set ON_ERROR_STOP 0\nDROP USER :\"name\";\n\\if :ERROR\n\\else\n\\echo deploy-changed\n\\endif\n");
            }
            sql.push_str("\\endif\n");
            return sql;
        }
        sql.push_str(
            "SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name') AS deploy_create \\gset\n\\if :deploy_create\n",
        );
        // As Ansible's `user_add`: CREATE USER, so LOGIN unless the flags say NOLOGIN.
        sql.push_str("CREATE USER :\"name\"");
        if let Some(password) = self
            .password_sql()
            .filter(|_| self.password.as_ref().is_some_and(|p| !p.given.is_empty()))
        {
            sql.push_str(" WITH ");
            sql.push_str(&password);
        }
        if self.expires.is_some() {
            sql.push_str(" VALID UNTIL :'expires'");
        }
        if let Some(limit) = self.conn_limit {
            sql.push_str(&format!(" CONNECTION LIMIT {limit}"));
        }
        if !self.flags.is_empty() {
            sql.push(' ');
            sql.push_str(&self.flags_sql());
        }
        sql.push_str(";\n");
        if self.comment.is_some() {
            sql.push_str("COMMENT ON ROLE :\"name\" IS :'comment';\n");
        }
        sql.push_str("\\echo deploy-changed\n\\else\n");
        if self.compares_password() {
            let password = self.password_sql().expect("a password is given");
            match have {
                RoleState::Present(info) if self.password_differs(info) => {
                    // The plan compared the password with the verifier it saw: set it only if
                    // that verifier is still the one stored.
                    let seen = sha256_hex(info.stored_password.clone().flatten().as_deref().unwrap_or(""));
                    sql.push_str(&format!(
                        "SELECT coalesce((SELECT encode(sha256(convert_to(coalesce(rolpassword, ''), 'UTF8')), 'hex') \
                         FROM pg_authid WHERE rolname = :'name'), '') = '{seen}' AS deploy_password \\gset\n\
                         \\if :deploy_password\nALTER USER :\"name\" WITH {password};\n\\echo deploy-changed\n\\else\n\
                         \\echo 'deploy-error:the password of this role changed since the plan: plan again'\n\\quit\n\\endif\n"
                    ));
                }
                RoleState::Present(_) => {}
                // Not probed: the password cannot be compared here, so it is set.
                RoleState::Absent | RoleState::NotYet(_) => {
                    sql.push_str(&format!(
                        "ALTER USER :\"name\" WITH {password};\n\\echo deploy-changed\n"
                    ));
                }
            }
        }
        if !self.flags.is_empty() {
            let wanted = self
                .flags
                .iter()
                .map(|(_, column, on)| format!("{column} = {on}"))
                .collect::<Vec<_>>()
                .join(" AND ");
            sql.push_str(&format!(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name' AND NOT ({wanted})) AS deploy_flags \\gset\n\
                 \\if :deploy_flags\nALTER USER :\"name\" WITH {};\n\\echo deploy-changed\n\\endif\n",
                self.flags_sql()
            ));
        }
        if !self.no_password_changes {
            if self.expires.is_some() {
                sql.push_str(
                    "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name' \
                     AND rolvaliduntil IS DISTINCT FROM :'expires'::timestamptz) AS deploy_expires \\gset\n\
                     \\if :deploy_expires\nALTER USER :\"name\" VALID UNTIL :'expires';\n\\echo deploy-changed\n\\endif\n",
                );
            }
            if let Some(limit) = self.conn_limit {
                sql.push_str(&format!(
                    "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name' AND rolconnlimit <> {limit}) AS deploy_limit \\gset\n\
                     \\if :deploy_limit\nALTER USER :\"name\" CONNECTION LIMIT {limit};\n\\echo deploy-changed\n\\endif\n"
                ));
            }
        }
        if self.comment.is_some() {
            sql.push_str(
                "SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'name' \
                 AND coalesce(shobj_description(oid, 'pg_authid'), '') <> :'comment') AS deploy_comment \\gset\n\
                 \\if :deploy_comment\nCOMMENT ON ROLE :\"name\" IS :'comment';\n\\echo deploy-changed\n\\endif\n",
            );
        }
        sql.push_str("\\endif\n");
        sql
    }

    fn probe_sql(&self) -> String {
        let mut fields = vec![];
        for (_, column) in FLAGS {
            fields.push(format!("'{column}=' || {column}"));
        }
        fields.push("'conn_limit=' || rolconnlimit".to_string());
        fields.push(
            "'valid_until=' || encode(convert_to(coalesce(rolvaliduntil::text, ''), 'UTF8'), 'hex')"
                .to_string(),
        );
        if self.expires.is_some() {
            // Compared by the server: it parses the wanted timestamp as Ansible's module has it do.
            fields.push(
                "'expires_differs=' || CASE WHEN rolvaliduntil IS DISTINCT FROM :'expires'::timestamptz THEN 'yes' ELSE 'no' END"
                    .to_string(),
            );
        }
        fields.push(
            "'comment=' || encode(convert_to(coalesce(shobj_description(oid, 'pg_authid'), ''), 'UTF8'), 'hex')".to_string(),
        );
        let mut sql = format!(
            "SELECT concat_ws(E'\\n', {}) FROM pg_roles WHERE rolname = :'name';\n",
            fields.join(", ")
        );
        if self.compares_password() {
            sql.push_str(
                "SELECT 'password=' || coalesce(encode(convert_to(rolpassword, 'UTF8'), 'hex'), 'none') \
                 FROM pg_authid WHERE rolname = :'name';\n",
            );
        }
        sql
    }
}

impl Resource for Role {
    type State = RoleState;

    fn target(&self) -> String {
        self.name.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        psql::probe(&mut script, &self.connection, &self.vars(), &self.probe_sql());
        script
    }

    fn inspect(&self, out: &Section) -> Result<RoleState> {
        let rows = match psql::inspect(out) {
            Ok(Reply::NotYet(why)) => return Ok(RoleState::NotYet(why)),
            Ok(Reply::Rows(rows)) => rows,
            Err(err) if err.to_string().contains("permission denied for table pg_authid") => bail!(
                "comparing the password of role {} needs a superuser to read pg_authid: \
                 run the task as postgres (`become_user: postgres`)",
                self.name
            ),
            Err(err) => return Err(err),
        };
        if rows.is_empty() {
            return Ok(RoleState::Absent);
        }
        let get = |key: &str| {
            value_of(&rows, key).ok_or_else(|| anyhow::anyhow!("probe: no {key} for role {}", self.name))
        };
        let boolean = |key: &str| -> Result<bool> {
            match get(key)? {
                "true" => Ok(true),
                "false" => Ok(false),
                other => bail!("probe: {key}={other} is not a boolean"),
            }
        };
        let flags = FLAGS
            .iter()
            .map(|(_, column)| Ok((column.to_string(), boolean(column)?)))
            .collect::<Result<Vec<_>>>()?;
        let stored_password = if self.compares_password() {
            Some(match get("password")? {
                "none" => None,
                hex => Some(unhex(hex)?),
            })
        } else {
            None
        };
        Ok(RoleState::Present(RoleInfo {
            flags,
            conn_limit: get("conn_limit")?
                .parse()
                .map_err(|_| anyhow::anyhow!("probe: bad conn_limit"))?,
            valid_until: unhex(get("valid_until")?)?,
            expires_differs: self.expires.is_some()
                && yes_no(Some(get("expires_differs")?), "expires_differs")?,
            comment: unhex(get("comment")?)?,
            stored_password,
        }))
    }

    fn diff(&self, have: &RoleState) -> Diff {
        let nothing = None::<String>;
        match (have, self.present) {
            (RoleState::NotYet(why), _) => {
                let mut diff = Diff::new(Action::Unknown);
                diff.attributes
                    .push(AttributeChange::new(why, nothing.clone(), nothing));
                diff
            }
            (RoleState::Absent, false) => Diff::converged(),
            (RoleState::Present(_), false) => Diff::new(Action::Remove),
            (RoleState::Absent, true) => {
                let mut diff = Diff::new(Action::Create);
                if !self.flags.is_empty() {
                    diff.attributes.push(AttributeChange::new(
                        "role_attr_flags",
                        nothing.clone(),
                        Some(self.flags_sql()),
                    ));
                }
                if self.password.as_ref().is_some_and(|p| !p.given.is_empty()) {
                    diff.attributes.push(AttributeChange::new(
                        "password (set)",
                        nothing.clone(),
                        nothing.clone(),
                    ));
                }
                if let Some(limit) = self.conn_limit {
                    diff.attributes.push(AttributeChange::new(
                        "conn_limit",
                        nothing.clone(),
                        Some(limit.to_string()),
                    ));
                }
                for (name, value) in [("expires", &self.expires), ("comment", &self.comment)] {
                    if let Some(value) = value {
                        diff.attributes.push(AttributeChange::new(
                            name,
                            nothing.clone(),
                            Some(value.clone()),
                        ));
                    }
                }
                diff
            }
            (RoleState::Present(info), true) => {
                let mut changes = Vec::new();
                for (flag, column, wanted) in &self.flags {
                    let current = info.flags.iter().find(|(c, _)| c == column).map(|(_, v)| *v);
                    if current != Some(*wanted) {
                        let word = |on: bool| if on { "yes" } else { "no" };
                        changes.push(AttributeChange::new(
                            &flag.to_lowercase(),
                            current.map(word),
                            Some(word(*wanted)),
                        ));
                    }
                }
                if self.password_differs(info) {
                    changes.push(AttributeChange::new(
                        "password (changed)",
                        nothing.clone(),
                        nothing.clone(),
                    ));
                }
                if !self.no_password_changes {
                    if let Some(expires) = self.expires.as_ref().filter(|_| info.expires_differs) {
                        let before = Some(info.valid_until.clone()).filter(|v| !v.is_empty());
                        changes.push(AttributeChange::new("expires", before, Some(expires.clone())));
                    }
                    if let Some(limit) = self.conn_limit.filter(|l| *l != info.conn_limit) {
                        changes.push(AttributeChange::new(
                            "conn_limit",
                            Some(info.conn_limit.to_string()),
                            Some(limit.to_string()),
                        ));
                    }
                }
                if let Some(comment) = self.comment.as_ref().filter(|c| **c != info.comment) {
                    changes.push(AttributeChange::new(
                        "comment",
                        Some(info.comment.clone()),
                        Some(comment.clone()),
                    ));
                }
                Diff::from_attributes(changes)
            }
        }
    }

    fn apply(&self, have: &RoleState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        let secret = self.password.as_ref().map(|p| p.stored.as_str());
        psql::apply(
            &mut script,
            &self.connection,
            &self.vars(),
            &self.sql(have),
            secret,
        );
        script
    }
}

/// Parses `role_attr_flags` as Ansible does (comma separated, any case), in [`FLAGS`] order.
pub fn parse_flags(text: &str) -> Result<Vec<(&'static str, &'static str, bool)>> {
    let mut wanted: Vec<(&'static str, &'static str, bool)> = Vec::new();
    for word in text
        .split(',')
        .map(|w| w.trim().to_uppercase())
        .filter(|w| !w.is_empty())
    {
        let (name, on) = match word.strip_prefix("NO") {
            Some(rest) if FLAGS.iter().any(|(f, _)| *f == rest) => (rest.to_string(), false),
            _ => (word.clone(), true),
        };
        let Some(&(flag, column)) = FLAGS.iter().find(|(f, _)| *f == name) else {
            bail!("Invalid role_attr_flags specified: {word}");
        };
        match wanted.iter().find(|(f, _, _)| *f == flag) {
            Some((_, _, same)) if *same == on => {}
            Some(_) => bail!("role_attr_flags asks for both {flag} and NO{flag}"),
            None => wanted.push((flag, column, on)),
        }
    }
    wanted.sort_by_key(|(flag, _, _)| FLAGS.iter().position(|(f, _)| f == flag));
    Ok(wanted)
}

/// 16 random bytes for a SCRAM salt, as PostgreSQL's own client uses.
fn random_salt() -> Result<[u8; 16]> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| anyhow::anyhow!("no randomness for a password salt: {e}"))?;
    Ok(salt)
}

/// Builds the resource from `postgresql_user`'s parameters.
pub fn from_args(args: &Args) -> Result<Role> {
    args.refuse(&["configuration"])?;
    if args.bool("encrypted")? == Some(false) {
        bail!("`encrypted: false` is not supported: PostgreSQL 10 and later store only hashed passwords");
    }
    let name = args.required_str("name")?;
    check_name("role", &name)?;
    if name == "PUBLIC" {
        bail!("PUBLIC is not a role deploy can manage");
    }
    let password = match args.str("password")? {
        None => None,
        Some(given) => {
            if given.contains('\0') {
                bail!("a password cannot contain a NUL byte");
            }
            let stored = if given.is_empty() || parse_scram(&given).is_some() || is_md5_hash(&given) {
                given.clone()
            } else {
                scram_verifier(&given, &random_salt()?, SCRAM_ITERATIONS)
            };
            Some(Password { given, stored })
        }
    };
    let conn_limit = args.int("conn_limit")?;
    Ok(Role {
        connection: Connection::from_args(args, args.str("db")?)?,
        present: args.str("state")?.as_deref() != Some("absent"),
        password,
        flags: parse_flags(&args.str("role_attr_flags")?.unwrap_or_default())?,
        expires: args.str("expires")?,
        conn_limit,
        comment: args.str("comment")?,
        no_password_changes: args.flag("no_password_changes")?,
        fail_on_user: args.bool("fail_on_user")?.unwrap_or(true),
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};
    use serde_json::json;

    /// Made by Python's hashlib/hmac with PostgreSQL's algorithm, salt `0123456789abcdef`.
    const VERIFIER: &str = "SCRAM-SHA-256$4096:MDEyMzQ1Njc4OWFiY2RlZg==$MiuIWMPE8f1wvUs8gqR/HUOBiaxP2InTIltSNS8murY=:UKlEJeK+9JbWnqN1OJJFASpGl2gC6h5m1W8s9eH3q3Q=";
    const MD5: &str = "md5f543b608e355623527b0e4f12e5981e8";

    fn existing(flags: &str, password: Option<&str>) -> String {
        let mut text = String::new();
        for (_, column) in FLAGS {
            let on = flags.split(',').any(|f| f == *column);
            text.push_str(&format!("{column}={on}\n"));
        }
        text.push_str("conn_limit=-1\nvalid_until=\ncomment=\n");
        text.push_str(&format!(
            "password={}\npsql_rc=0\n",
            password
                .map(|p| hex(p.as_bytes()))
                .unwrap_or_else(|| "none".into())
        ));
        text
    }

    fn plan(params: serde_json::Value, probe: &str) -> Result<(Diff, Script)> {
        build_step(&SPEC, params, &NoContext)?.plan(&section(probe))
    }

    #[test]
    fn scram_verifiers_match_the_reference() {
        assert_eq!(scram_verifier("s3cret", b"0123456789abcdef", 4096), VERIFIER);
        assert!(scram_matches("s3cret", VERIFIER));
        assert!(!scram_matches("s3cret!", VERIFIER));
        assert!(!scram_matches("s3cret", "SCRAM-SHA-256$x"));
        assert!(password_matches("s3cret", "app", Some(VERIFIER)));
        assert!(password_matches("s3cret", "app", Some(MD5)));
        assert!(
            !password_matches("s3cret", "other", Some(MD5)),
            "md5 is salted with the name"
        );
        assert!(password_matches(MD5, "app", Some(MD5)));
        assert!(password_matches(VERIFIER, "app", Some(VERIFIER)));
        assert!(!password_matches("s3cret", "app", None));
        assert!(password_matches("", "app", None));
        assert!(!password_matches("", "app", Some(MD5)));
    }

    #[test]
    fn plans_from_canned_probe_output() {
        let params = json!({"name": "app", "password": "s3cret", "role_attr_flags": "nosuperuser,CREATEDB"});
        let (diff, script) = plan(
            params.clone(),
            &existing("rolcreatedb,rolcanlogin", Some(VERIFIER)),
        )
        .unwrap();
        assert!(diff.is_converged(), "{diff:?}");
        assert!(script.is_empty());
        let (diff, script) = plan(params.clone(), &existing("rolsuper", Some(MD5))).unwrap();
        let shown: Vec<String> = diff.attributes.iter().map(|a| a.describe()).collect();
        assert_eq!(shown, ["superuser yes → no", "createdb no → yes"]);
        assert!(script
            .as_str()
            .contains("ALTER USER :\"name\" WITH NOSUPERUSER CREATEDB;"));
        let (diff, script) = plan(params.clone(), &existing("rolcreatedb", Some("md5000"))).unwrap();
        let shown: Vec<String> = diff.attributes.iter().map(|a| a.describe()).collect();
        assert_eq!(shown, ["password (changed)"]);
        let text = script.as_str();
        assert!(
            text.contains("ALTER USER :\"name\" WITH PASSWORD '\\''SCRAM-SHA-256$4096:"),
            "{text}"
        );
        assert!(
            !text.contains("s3cret"),
            "the plaintext never leaves the controller"
        );
        assert!(!format!("{diff:?}").contains("SCRAM"));
        let (diff, script) = plan(params.clone(), "psql_rc=0\n").unwrap();
        assert_eq!(diff.action, Action::Create);
        let shown: Vec<String> = diff.attributes.iter().map(|a| a.describe()).collect();
        assert_eq!(shown, ["role_attr_flags NOSUPERUSER CREATEDB", "password (set)"]);
        assert!(script.as_str().contains("CREATE USER :\"name\" WITH PASSWORD"));
        assert!(!script.as_str().contains("s3cret"));
        assert_eq!(plan(params, "psql=missing\n").unwrap().0.action, Action::Unknown);
        let absent = json!({"name": "app", "state": "absent"});
        assert_eq!(
            plan(absent.clone(), &existing("", None)).unwrap().0.action,
            Action::Remove
        );
        assert!(plan(absent, "psql_rc=0\n").unwrap().0.is_converged());
        let no_changes = json!({"name": "app", "password": "other", "no_password_changes": true});
        assert!(plan(no_changes, &existing("", Some(VERIFIER)))
            .unwrap()
            .0
            .is_converged());
    }

    #[test]
    fn a_non_superuser_gets_a_clear_error() {
        use base64::Engine as _;
        let err = "ERROR:  permission denied for table pg_authid";
        let probe = format!(
            "rolsuper=false\npsql_rc=3\npsql_stderr={}\n",
            base64::engine::general_purpose::STANDARD.encode(err)
        );
        let err = plan(json!({"name": "app", "password": "x"}), &probe).unwrap_err();
        assert!(err.to_string().contains("become_user: postgres"), "{err}");
    }

    #[test]
    fn flags_and_refusals() {
        assert_eq!(
            parse_flags("login, nosuperuser,LOGIN").unwrap(),
            vec![("SUPERUSER", "rolsuper", false), ("LOGIN", "rolcanlogin", true)]
        );
        assert!(parse_flags("CREATEUSER").is_err());
        assert!(parse_flags("LOGIN,NOLOGIN").is_err());
        for params in [
            json!({"name": "app", "encrypted": false, "password": "x"}),
            json!({"name": "app", "configuration": {"work_mem": "1MB"}}),
            json!({"name": "app", "login_password": "x"}),
            json!({"name": "PUBLIC"}),
        ] {
            assert!(build_step(&SPEC, params.clone(), &NoContext).is_err(), "{params}");
        }
    }
}

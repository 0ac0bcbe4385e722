//! `postgresql_db` and `postgresql_user` against a real server: a throwaway cluster in a
//! temporary directory, listening only on a socket there, started and stopped by the test.
//! The probe and apply scripts run with local `sh` exactly as they would on a host.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use deploy::plan::{Action, Diff};
use deploy::probe::Section;
use deploy::resource::lifecycle::{Args, BuildContext, Step};
use deploy::resource::ModuleSpec;
use deploy::shell::Script;
use serde_json::{json, Value};

const PORT: &str = "54329";

struct NoFiles;

impl BuildContext for NoFiles {
    fn read_source(&self, src: &str) -> anyhow::Result<Vec<u8>> {
        anyhow::bail!("no file {src}")
    }
    fn render_template(&self, src: &str, _: &deploy::template::FileOptions) -> anyhow::Result<String> {
        anyhow::bail!("no template {src}")
    }
    fn fact(&self, _name: &str) -> Option<Value> {
        None
    }
}

/// A cluster in a temporary directory; stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
}

fn postgres_bin() -> Option<PathBuf> {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop()
}

fn is_root() -> bool {
    unsafe { libc::geteuid() == 0 }
}

impl Cluster {
    /// Runs a server program as an unprivileged user (postgres refuses to run as root).
    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = command.args(args).output().expect("the server program runs");
        assert!(
            out.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(bin: PathBuf) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        if is_root() {
            let ok = Command::new("chown")
                .args(["postgres:postgres", dir.path().to_str().unwrap()])
                .status()
                .unwrap();
            assert!(ok.success());
        }
        let cluster = Cluster { dir, bin };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-U",
                "postgres",
                "-A",
                "trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
        );
        let options = format!("-k {} -p {PORT} -c listen_addresses=''", cluster.socket());
        let log = format!("{}/log", cluster.socket());
        cluster.run(
            "pg_ctl",
            &["-D", &data, "-o", &options, "-l", &log, "-w", "start"],
        );
        cluster
    }

    fn socket(&self) -> String {
        self.dir.path().to_str().unwrap().to_string()
    }

    fn data(&self) -> String {
        format!("{}/data", self.socket())
    }

    /// Runs SQL as the superuser, for setting up and checking what the modules did.
    fn sql(&self, sql: &str) -> String {
        let out = Command::new("psql")
            .args([
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-U",
                "postgres",
                "-d",
                "postgres",
            ])
            .args(["-h", &self.socket(), "-p", PORT, "-c", sql])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{sql}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let path = self.bin.join("pg_ctl");
        let args = ["-D", data.as_str(), "-m", "immediate", "-w", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(&path)
                .args(args)
                .output()
        } else {
            Command::new(&path).args(args).output()
        };
    }
}

fn step(spec: &'static ModuleSpec, cluster: &Cluster, params: Value) -> anyhow::Result<Box<dyn Step>> {
    let mut map: indexmap::IndexMap<String, Value> =
        params.as_object().unwrap().clone().into_iter().collect();
    map.insert("login_unix_socket".into(), json!(cluster.socket()));
    map.insert("port".into(), json!(PORT.parse::<i64>().unwrap()));
    (spec.build.unwrap())(&Args::new(spec, &map), &NoFiles)
}

fn sh(text: &str, dir: &Path) -> std::process::Output {
    Command::new("sh")
        .arg("-c")
        .arg(text)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn plan(step: &dyn Step, dir: &Path) -> anyhow::Result<(Diff, Script)> {
    let out = sh(&format!("( {}\n) </dev/null", step.probe().as_str()), dir);
    step.plan(&Section {
        output: out.stdout,
        status: out.status.code().unwrap_or(-1),
    })
}

/// Applies `script`; returns whether it reported a change, or its stderr when it failed.
fn apply(script: &Script, dir: &Path) -> Result<bool, String> {
    let text = format!(
        "{}\n( {}\n) 3> .deploy-changed",
        deploy::apply::PRELUDE,
        script.as_str()
    );
    let out = sh(&text, dir);
    let changed = std::fs::read(dir.join(".deploy-changed")).is_ok_and(|c| !c.is_empty());
    let _ = std::fs::remove_file(dir.join(".deploy-changed"));
    if out.status.success() {
        Ok(changed)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

/// Plans, applies, and checks that the next plan is converged; returns the first diff.
fn converge(step: &dyn Step, dir: &Path) -> Diff {
    let (diff, script) = plan(step, dir).expect("the first plan succeeds");
    let changed = apply(&script, dir).unwrap_or_else(|e| panic!("apply failed: {e}\n{}", script.as_str()));
    assert_eq!(changed, diff.action.is_change(), "{diff:?}");
    let (again, _) = plan(step, dir).expect("the second plan succeeds");
    assert!(again.is_converged(), "second run: {again:?}");
    diff
}

fn shown(diff: &Diff) -> Vec<String> {
    diff.attributes.iter().map(|a| a.describe()).collect()
}

#[test]
fn roles_and_databases_on_a_real_server() {
    let bin = postgres_bin();
    common::require("PostgreSQL server binaries (package postgresql)", bin.is_some());
    let bin = bin.expect("checked above");
    common::require("psql", Command::new("psql").arg("--version").output().is_ok());
    let cluster = Cluster::start(bin);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path();
    let user = &deploy::resource::postgresql_user::SPEC;
    let db = &deploy::resource::postgresql_db::SPEC;

    // A role is created with its password and flags, then converged.
    let app = json!({"name": "app", "password": "it's s3cret", "role_attr_flags": "CREATEDB,NOSUPERUSER", "conn_limit": 5});
    let diff = converge(step(user, &cluster, app.clone()).unwrap().as_ref(), dir);
    assert_eq!(diff.action, Action::Create);
    assert_eq!(
        cluster.sql(
            "SELECT rolcreatedb, rolsuper, rolcanlogin, rolconnlimit FROM pg_roles WHERE rolname = 'app'"
        ),
        "t|f|t|5"
    );
    let stored = cluster.sql("SELECT rolpassword FROM pg_authid WHERE rolname = 'app'");
    assert!(stored.starts_with("SCRAM-SHA-256$4096:"), "{stored}");

    // A verifier the server made itself (with its own salt) compares as the same password.
    cluster.sql("ALTER ROLE app PASSWORD 'it''s s3cret'");
    let (diff, _) = plan(step(user, &cluster, app.clone()).unwrap().as_ref(), dir).unwrap();
    assert!(diff.is_converged(), "{diff:?}");

    // A changed password, flag and limit.
    let changed =
        json!({"name": "app", "password": "new one", "role_attr_flags": "NOCREATEDB", "conn_limit": 5});
    let diff = converge(step(user, &cluster, changed).unwrap().as_ref(), dir);
    assert_eq!(shown(&diff), ["createdb yes → no", "password (changed)"]);

    // A stale plan: the password changed after the plan saw it; the apply refuses.
    let stale = step(user, &cluster, json!({"name": "app", "password": "third"})).unwrap();
    let (_, script) = plan(stale.as_ref(), dir).unwrap();
    cluster.sql("ALTER ROLE app PASSWORD 'someone else'");
    let err = apply(&script, dir).unwrap_err();
    assert!(err.contains("changed since the plan"), "{err}");
    assert!(!err.contains("SCRAM"), "{err}");

    // A database owned by the role, its owner changed back, an encoding it cannot change.
    let appdb = json!({"name": "app db", "owner": "app", "encoding": "utf8"});
    let diff = converge(step(db, &cluster, appdb).unwrap().as_ref(), dir);
    assert_eq!(diff.action, Action::Create);
    assert_eq!(
        cluster.sql("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app db'"),
        "app"
    );
    let diff = converge(
        step(db, &cluster, json!({"name": "app db", "owner": "postgres"}))
            .unwrap()
            .as_ref(),
        dir,
    );
    assert_eq!(shown(&diff), ["owner app → postgres"]);
    let latin = step(db, &cluster, json!({"name": "app db", "encoding": "LATIN1"})).unwrap();
    let err = plan(latin.as_ref(), dir).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Changing database encoding is not supported. Current encoding: UTF8"
    );

    // Removal of both; the role first fails while it owns a database... here it owns none.
    let diff = converge(
        step(db, &cluster, json!({"name": "app db", "state": "absent"}))
            .unwrap()
            .as_ref(),
        dir,
    );
    assert_eq!(diff.action, Action::Remove);
    let diff = converge(
        step(user, &cluster, json!({"name": "app", "state": "absent"}))
            .unwrap()
            .as_ref(),
        dir,
    );
    assert_eq!(diff.action, Action::Remove);
    assert_eq!(
        cluster.sql("SELECT count(*) FROM pg_roles WHERE rolname = 'app'"),
        "0"
    );

    // A server that is not running yet: unknown in the plan, and the apply does everything.
    let elsewhere = tempfile::tempdir().unwrap();
    let mut map: indexmap::IndexMap<String, Value> = indexmap::IndexMap::new();
    map.insert("name".into(), json!("later"));
    map.insert(
        "login_unix_socket".into(),
        json!(elsewhere.path().to_str().unwrap()),
    );
    let later = (db.build.unwrap())(&Args::new(db, &map), &NoFiles).unwrap();
    let (diff, _) = plan(later.as_ref(), dir).unwrap();
    assert_eq!(diff.action, Action::Unknown, "{diff:?}");
    let later = step(db, &cluster, json!({"name": "later"})).unwrap();
    let (_, script) = plan(later.as_ref(), dir).unwrap();
    assert_eq!(apply(&script, dir), Ok(true));
    assert_eq!(apply(&script, dir), Ok(false), "re-checked on the server");
}

//! `getent`: entries of a name-service database (`passwd`, `group`, `hosts`, ...) as the facts
//! `getent_<database>`, for the tasks after it (`getent_passwd['app'][4]`).
//!
//! A query answered from the probe, like `stat`: the host's own `getent` runs inside the probe
//! round, and each line becomes `key: [fields...]` split as Ansible splits it (on `:` for the
//! colon databases, else on whitespace, or on `split`); a key seen twice holds a list of
//! records. A key not found fails the task unless `fail_key: false`, which records it as
//! `null`.

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value as Json};

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::Diff;
use crate::probe::Section;
use crate::shell::Script;

/// Reads a name-service database into facts.
///
/// ```yaml
/// - getent:
///     database: passwd
///     key: app
/// - debug:
///     msg: "app's home is {{ getent_passwd['app'][4] }}"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "getent",
    fqcn: "ansible.builtin.getent",
    params: &[
        P::new("database", Str).required(),
        P::new("key", Str),
        P::new("service", Str),
        P::new("split", Str),
        P::new("fail_key", Bool).default(D::Bool(true)),
    ],
    build: Some(build),
    publishes_facts: true,
    ..ModuleSpec::DEFAULT
};

/// The databases whose records Ansible splits on `:` when no `split` is given.
const COLON_DATABASES: &[&str] = &["passwd", "shadow", "group", "gshadow"];

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let database = args.required_str("database")?;
    if database.is_empty() || database.starts_with('-') {
        bail!("`database` must name a database (passwd, group, hosts, ...), found `{database}`");
    }
    let split = args
        .str("split")?
        .or_else(|| COLON_DATABASES.contains(&database.as_str()).then(|| ":".to_string()));
    if split.as_deref() == Some("") {
        bail!("`split` must not be empty");
    }
    Ok(Box::new(Getent {
        database,
        key: args.str("key")?,
        service: args.str("service")?,
        split,
        fail_key: args.bool("fail_key")?.unwrap_or(true),
    }))
}

#[derive(Debug)]
pub struct Getent {
    pub database: String,
    pub key: Option<String>,
    pub service: Option<String>,
    /// The field separator; `None` splits on runs of whitespace.
    pub split: Option<String>,
    pub fail_key: bool,
}

impl Getent {
    /// The records as Ansible's `getent` module shapes them.
    fn records(&self, text: &str) -> Map<String, Json> {
        let mut records = Map::new();
        let mut seen: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let fields: Vec<&str> = match &self.split {
                Some(separator) => line.split(separator.as_str()).collect(),
                None => line.split_whitespace().collect(),
            };
            let Some((first, rest)) = fields.split_first() else {
                continue;
            };
            let record = json!(rest);
            let count = seen.entry(first.to_string()).or_insert(0);
            *count += 1;
            match (*count, records.get_mut(*first)) {
                (1, _) | (_, None) => {
                    records.insert(first.to_string(), record);
                }
                (2, Some(existing)) => {
                    let earlier = existing.take();
                    *existing = json!([earlier, record]);
                }
                (_, Some(existing)) => {
                    if let Some(list) = existing.as_array_mut() {
                        list.push(record);
                    }
                }
            }
        }
        records
    }

    fn answer(&self, out: &Section) -> Result<Json> {
        let text = String::from_utf8_lossy(&out.output);
        let (first, rest) = text.split_once('\n').unwrap_or((&text, ""));
        let status: i32 = first
            .strip_prefix("rc=")
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("probe: expected getent's exit status, found {first:?}"))?;
        let tree = format!("getent_{}", self.database);
        let facts = |records: Map<String, Json>| json!({ tree.clone(): records });
        let failure = |msg: &str| json!({"changed": false, "failed": true, "msg": msg});
        Ok(match status {
            0 => json!({"changed": false, "failed": false, "ansible_facts": facts(self.records(rest))}),
            1 => failure("Missing arguments, or database unknown."),
            2 => {
                let msg = "One or more supplied key could not be found in the database.";
                match (&self.key, self.fail_key) {
                    (Some(key), false) => {
                        let mut records = Map::new();
                        records.insert(key.clone(), Json::Null);
                        json!({"changed": false, "failed": false, "msg": msg, "ansible_facts": facts(records)})
                    }
                    _ => failure(msg),
                }
            }
            3 => failure("Enumeration not supported on this database."),
            _ => failure("Unexpected failure!"),
        })
    }
}

impl Resource for Getent {
    type State = Json;

    fn target(&self) -> String {
        match &self.key {
            Some(key) => format!("{} {key}", self.database),
            None => self.database.clone(),
        }
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.raw("set --");
        if let Some(service) = &self.service {
            script.line("set -- -s {}", &[service]);
        }
        script.line("set -- \"$@\" -- {}", &[&self.database]);
        if let Some(key) = &self.key {
            script.line("set -- \"$@\" {}", &[key]);
        }
        script.raw(r#"o=$(getent "$@"); printf 'rc=%s\n' "$?"; [ -z "$o" ] || printf '%s\n' "$o""#);
        script
    }

    fn inspect(&self, out: &Section) -> Result<Json> {
        self.answer(out)
    }

    fn diff(&self, _have: &Json) -> Diff {
        Diff::converged()
    }

    fn apply(&self, _have: &Json, _diff: &Diff) -> Script {
        Script::new()
    }

    fn result(&self, out: &Section) -> Result<Option<Json>> {
        Ok(Some(self.answer(out)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, run_probe, section};

    fn answer(params: Json, out: &str) -> Json {
        build_step(&SPEC, params, &NoContext)
            .unwrap()
            .result(&section(out))
            .unwrap()
            .unwrap()
    }

    #[test]
    fn records_are_split_as_ansible_splits_them() {
        let out = "rc=0\nroot:x:0:0:root:/root:/bin/bash\napp:x:998:998::/srv/app:/usr/sbin/nologin\n";
        let facts = &answer(json!({"database": "passwd"}), out)["ansible_facts"]["getent_passwd"];
        assert_eq!(facts["app"], json!(["x", "998", "998", "", "/srv/app", "/usr/sbin/nologin"]));
        assert_eq!(facts["root"][4], json!("/root"));
        // Whitespace for the other databases, and a key seen twice holds a list of records.
        let out = "rc=0\n127.0.0.1       localhost\n::1 localhost ip6-localhost\n";
        let facts = &answer(json!({"database": "hosts"}), out)["ansible_facts"]["getent_hosts"];
        assert_eq!(facts["127.0.0.1"], json!(["localhost"]));
        assert_eq!(facts["::1"], json!(["localhost", "ip6-localhost"]));
        let out = "rc=0\nhttp 80/tcp\nhttp 80/udp\nhttp 8080/tcp\n";
        let facts = &answer(json!({"database": "services", "split": " "}), out)["ansible_facts"]["getent_services"];
        assert_eq!(facts["http"], json!([["80/tcp"], ["80/udp"], ["8080/tcp"]]));
    }

    #[test]
    fn missing_keys_fail_unless_fail_key_is_false() {
        let missing = answer(json!({"database": "passwd", "key": "nobody2"}), "rc=2\n");
        assert_eq!(missing["failed"], json!(true));
        assert_eq!(
            missing["msg"],
            json!("One or more supplied key could not be found in the database.")
        );
        let tolerated = answer(
            json!({"database": "passwd", "key": "nobody2", "fail_key": false}),
            "rc=2\n",
        );
        assert_eq!(tolerated["failed"], json!(false));
        assert_eq!(tolerated["ansible_facts"], json!({"getent_passwd": {"nobody2": null}}));
        assert_eq!(answer(json!({"database": "nope"}), "rc=1\n")["failed"], json!(true));
        let step = build_step(&SPEC, json!({"database": "passwd"}), &NoContext).unwrap();
        assert!(step.result(&section("garbage\n")).is_err());
        assert!(build_step(&SPEC, json!({"database": "-s"}), &NoContext).is_err());
    }

    #[test]
    fn the_probe_runs_here() {
        let dir = tempfile::tempdir().unwrap();
        let step = build_step(&SPEC, json!({"database": "passwd", "key": "root"}), &NoContext).unwrap();
        let probe = step.probe();
        assert!(probe.as_str().contains("set -- \"$@\" root"), "{}", probe.as_str());
        let answer = step.result(&run_probe(&probe, dir.path())).unwrap().unwrap();
        assert_eq!(answer["ansible_facts"]["getent_passwd"]["root"][1], json!("0"));
    }
}

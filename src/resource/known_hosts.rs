//! `known_hosts` (`ansible.builtin.known_hosts`): a host's key in an SSH `known_hosts` file.
//!
//! As the Ansible module does, the lookup is `ssh-keygen -F NAME` on the host, run in the
//! probe (it alone matches hashed entries), and a hashed entry (`hash_host`) is made by
//! `ssh-keygen -H` there too. What the lookup printed is compared here with the module's rules
//! ([`search`]): the same key is converged, whatever the salt of a hashed name; another key of
//! the same type is replaced in place of its line, a new one is appended; `state: absent`
//! drops the line found, or every entry of the name (`ssh-keygen -R`) when no key is given.
//!
//! Differences from Ansible: the registered result holds only `changed`.

use anyhow::{bail, Context, Result};
use base64::Engine as _;

use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::support::{detach_stdin, yes_no};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Adds or removes a host key.
///
/// ```yaml
/// - known_hosts:
///     name: git.example.org
///     key: "git.example.org ssh-ed25519 AAAAC3Nza..."
///     hash_host: true
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "known_hosts",
    fqcn: "ansible.builtin.known_hosts",
    params: &[
        P::new("name", Str).required().aliases(&["host"]),
        P::new("key", Str),
        P::new("path", Path).default(D::Str("~/.ssh/known_hosts")),
        P::new("hash_host", Bool).default(D::Bool(false)),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let name = args.required_str("name")?.to_lowercase();
    let present = args.str("state")?.as_deref() != Some("absent");
    let key = args.str("key")?.filter(|k| !k.is_empty());
    if key.is_none() && present {
        bail!("No key specified when adding a host");
    }
    if key.is_some() && name.contains(',') {
        bail!("Comma separated list of names is not supported. Please pass a single name to lookup in the known_hosts file.");
    }
    if let Some(key) = &key {
        if key.trim().contains('\n') || key.split_whitespace().count() < 3 {
            bail!("`key` must be one known_hosts line: [@marker] names type key");
        }
    }
    Ok(Box::new(KnownHosts {
        name,
        key: key.map(|k| k.trim_end_matches('\n').to_string()),
        path: args.required_str("path")?,
        hash_host: args.flag("hash_host")?,
        present,
    }))
}

/// A host's key in a known_hosts file.
#[derive(Debug)]
pub struct KnownHosts {
    pub name: String,
    /// One line, without its newline.
    pub key: Option<String>,
    pub path: String,
    pub hash_host: bool,
    pub present: bool,
}

/// What the probe found.
#[derive(Debug, PartialEq, Eq)]
pub struct HostsState {
    pub path: String,
    pub found: bool,
    pub replace_or_add: bool,
    pub found_line: Option<usize>,
    /// The line to write (hashed on the host when asked), with its newline.
    pub key_line: Option<String>,
}

/// A known_hosts line as the module normalizes it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Normalized {
    options: Option<String>,
    host: String,
    kind: String,
    key: String,
}

fn normalize(line: &str) -> Option<Normalized> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let (options, rest) = match words.first() {
        Some(w) if w.starts_with('@') => (Some(w.to_string()), &words[1..]),
        _ => (None, &words[..]),
    };
    Some(Normalized {
        options,
        host: rest.first()?.to_string(),
        kind: rest.get(1)?.to_string(),
        key: rest.get(2)?.to_string(),
    })
}

/// The module's `search_for_host_key` over what `ssh-keygen -F` printed:
/// `(found, replace_or_add, found_line)`.
pub fn search(lookup: &str, key: Option<&str>) -> Result<(bool, bool, Option<usize>)> {
    if lookup.is_empty() {
        return Ok((false, false, None));
    }
    let Some(key) = key else {
        return Ok((true, false, None));
    };
    let mut wanted = normalize(key).context("`key` must be one known_hosts line")?;
    let mut found_line = None;
    for line in lookup.split('\n').filter(|l| !l.is_empty()) {
        if line.starts_with('#') {
            let number = line
                .split("found: line ")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok());
            match number {
                Some(n) => found_line = Some(n),
                None => bail!("failed to parse output of ssh-keygen for line number: '{line}'"),
            }
            continue;
        }
        let Some(found) = normalize(line) else { continue };
        let marker = found.options.as_deref().unwrap_or("");
        if marker.starts_with("@cert-authority") || marker.starts_with("@revoke") {
            if wanted == found {
                return Ok((true, false, found_line));
            }
        } else {
            if wanted.host.starts_with("|1|") && found.host.starts_with("|1|") {
                wanted.host.clone_from(&found.host);
            }
            if wanted == found {
                return Ok((true, false, found_line));
            } else if wanted.kind == found.kind {
                return Ok((true, true, found_line));
            }
        }
    }
    Ok((true, true, None))
}

fn decode(pairs: &[(String, String)], key: &str) -> Result<String> {
    let value = value_of(pairs, key).with_context(|| format!("probe: no {key} reported"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(value)
        .with_context(|| format!("probe: bad base64 in {key}"))?;
    String::from_utf8(bytes).with_context(|| format!("probe: {key} is not UTF-8"))
}

impl KnownHosts {
    /// Whether the file is rewritten (the module's `replace_or_add or found != present`).
    fn rewrites(&self, have: &HostsState) -> bool {
        have.replace_or_add || have.found != self.present
    }

    /// Whether `ssh-keygen -R` removes every entry of the name.
    fn removes_all(&self, have: &HostsState) -> bool {
        have.found && self.key.is_none() && !self.present
    }
}

impl Resource for KnownHosts {
    type State = HostsState;

    fn target(&self) -> String {
        format!("{} in {}", self.name, self.path)
    }

    fn key(&self) -> String {
        self.path.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.raw("PATH=$PATH:/usr/bin:/bin");
        match self.path.strip_prefix("~/") {
            Some(rest) => script.line(r#"f="$HOME"/{}"#, &[rest]),
            None => script.line("f={}", &[&self.path]),
        };
        script.line("h={}", &[&self.name]);
        script.raw(
            r#"printf 'path=%s\n' "$(printf '%s' "$f" | base64 -w0)"
if [ -e "$f" ]; then
  echo exists=yes
  out=$(ssh-keygen -F "$h" -f "$f" 2>/tmp/.deploy-known-hosts.$$); rc=$?; err=$(cat /tmp/.deploy-known-hosts.$$); rm -f /tmp/.deploy-known-hosts.$$
  printf 'rc=%s\nlookup=%s\nerr=%s\n' "$rc" "$(printf '%s' "$out" | base64 -w0)" "$(printf '%s' "$err" | base64 -w0)"
else echo exists=no; fi"#,
        );
        if let Some(key) = &self.key {
            // The module's sanity check (the key names this host), and the hashed line.
            script.line("k={}", &[key]);
            script.raw(r#"t=$(mktemp) || exit 1; printf '%s\n' "$k" > "$t""#);
            if self.hash_host {
                script.raw(r#"ssh-keygen -H -f "$t" >/dev/null 2>&1 || { rm -f "$t" "$t.old"; exit 1; }"#);
            }
            script.raw(
                r#"printf 'key_line=%s\n' "$(base64 -w0 < "$t")"
if [ -n "$(ssh-keygen -F "$h" -f "$t" 2>/dev/null)" ]; then echo sane=yes; else echo sane=no; fi
rm -f "$t" "$t.old""#,
            );
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<HostsState> {
        if out.status != 0 {
            bail!("probing {} failed (exit {}); is ssh-keygen installed?", self.path, out.status);
        }
        let pairs = key_values(out)?;
        let path = decode(&pairs, "path")?;
        let key_line = match &self.key {
            Some(_) => {
                if value_of(&pairs, "sane") != Some("yes") {
                    bail!("Host parameter does not match hashed host field in supplied key");
                }
                Some(decode(&pairs, "key_line")?)
            }
            None => None,
        };
        let (found, replace_or_add, found_line) = if yes_no(value_of(&pairs, "exists"), "exists")? {
            let lookup = decode(&pairs, "lookup")?;
            let err = decode(&pairs, "err")?;
            let rc = value_of(&pairs, "rc").unwrap_or("");
            let not_found = lookup.is_empty() && err.is_empty() && (rc == "0" || rc == "1");
            if !not_found && rc != "0" {
                bail!("ssh-keygen failed (rc={rc}, stdout='{lookup}',stderr='{err}')");
            }
            search(&lookup, key_line.as_deref())?
        } else {
            (false, false, None)
        };
        Ok(HostsState {
            path,
            found,
            replace_or_add,
            found_line,
            key_line,
        })
    }

    fn diff(&self, have: &HostsState) -> Diff {
        if !self.present && have.found_line.is_none() && self.key.is_some() {
            return Diff::converged();
        }
        if !self.removes_all(have) && !self.rewrites(have) {
            return Diff::converged();
        }
        let mut diff = Diff::new(if self.present {
            if have.found { Action::Change } else { Action::Create }
        } else {
            Action::Remove
        });
        if let Some(line) = have.found_line {
            diff.attributes.push(AttributeChange::new(
                "line",
                Some(line.to_string()),
                self.present.then_some("replaced"),
            ));
        }
        if let (true, Some(key)) = (self.present, &have.key_line) {
            diff.content = Some(format!("+{key}"));
        }
        diff
    }

    fn apply(&self, have: &HostsState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        script.line("f={}", &[&have.path]);
        if self.removes_all(have) {
            script.line(r#"ssh-keygen -R {} -f "$f" >/dev/null 2>&1 || exit 1"#, &[&self.name]);
            script.raw(r#"rm -f "$f.old""#);
        }
        if self.rewrites(have) {
            let skip = match (have.found_line, have.replace_or_add || !self.present) {
                (Some(line), true) => line.to_string(),
                _ => "0".to_string(),
            };
            script.line("n={}", &[&skip]);
            script.raw(
                r#"t=$(mktemp "$(dirname -- "$f")/.known_hosts.XXXXXX") || exit 1
if [ -f "$f" ]; then chmod --reference="$f" "$t" && awk -v n="$n" 'NR != n' "$f" > "$t" || { rm -f "$t"; exit 1; }
else chmod "$(printf '%o' $((0666 & ~$(umask))))" "$t" || exit 1; fi"#,
            );
            if let (true, Some(key)) = (self.present, &have.key_line) {
                script.line(r#"printf '%s' {} >> "$t" || { rm -f "$t"; exit 1; }"#, &[key]);
            }
            script.raw(r#"mv -f "$t" "$f" || exit 1"#);
        }
        script.raw("deploy_changed");
        script
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};
    use serde_json::json;

    const KEY: &str = "git.example.org ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1";

    #[test]
    fn searches_as_the_module_does() {
        assert_eq!(search("", Some(KEY)).unwrap(), (false, false, None));
        let lookup = format!("# Host git.example.org found: line 3 \n{KEY}\n");
        assert_eq!(search(&lookup, Some(KEY)).unwrap(), (true, false, Some(3)));
        let other = "# Host git.example.org found: line 2 \ngit.example.org ssh-ed25519 AAAAother\n";
        assert_eq!(search(other, Some(KEY)).unwrap(), (true, true, Some(2)));
        let hashed = "# Host git.example.org found: line 1 \n|1|c2FsdA==|aGFzaA== ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1\n";
        assert_eq!(
            search(hashed, Some("|1|b3RoZXI=|eA== ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1")).unwrap(),
            (true, false, Some(1)),
            "hashed names match whatever their salt"
        );
        let aliases = "# Host git.example.org found: line 1 \ngit.example.org,10.0.0.1 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA1\n";
        assert_eq!(search(aliases, Some(KEY)).unwrap(), (true, true, Some(1)));
        assert_eq!(search(aliases, None).unwrap(), (true, false, None));
    }

    fn probe(lookup: &str, key_line: &str) -> Section {
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        section(&format!(
            "path={}\nexists=yes\nrc=0\nlookup={}\nerr=\nkey_line={}\nsane=yes\n",
            b64("/root/.ssh/known_hosts"),
            b64(lookup),
            b64(key_line)
        ))
    }

    #[test]
    fn plans_from_canned_probe_output() {
        let step = build_step(&SPEC, json!({"name": "git.example.org", "key": KEY}), &NoContext).unwrap();
        let lookup = format!("# Host git.example.org found: line 3 \n{KEY}\n");
        assert!(step.plan(&probe(&lookup, &format!("{KEY}\n"))).unwrap().0.is_converged());
        let (diff, script) = step.plan(&probe("", &format!("{KEY}\n"))).unwrap();
        assert_eq!(diff.action, Action::Create);
        assert!(script.as_str().contains("n=0"), "{}", script.as_str());
        let absent = build_step(&SPEC, json!({"name": "git.example.org", "state": "absent"}), &NoContext).unwrap();
        let (diff, script) = absent.plan(&probe(&lookup, "")).unwrap();
        assert_eq!(diff.action, Action::Remove);
        assert!(script.as_str().contains("ssh-keygen -R"));
        for params in [json!({"name": "a"}), json!({"name": "a,b", "key": KEY})] {
            assert!(build_step(&SPEC, params.clone(), &NoContext).is_err(), "{params}");
        }
    }
}

//! `ufw` (community.general): the host's firewall state, default policies, rules and logging,
//! through the `ufw` tool itself.
//!
//! The module is about a tool, so the probe asks that tool, as Ansible's check mode does:
//! `ufw status verbose` for the state, the default policies and the logging level, the
//! `### tuple` lines of ufw's rule files for the rules, and `ufw --dry-run RULE` for what a
//! rule would make of them (a rule converges when ufw would skip it as existing, or when the
//! dry run leaves the tuples as they are). The apply script runs the same `ufw` commands as
//! Ansible, in Ansible's order (state, default, rule, logging), and counts a change when the
//! firewall's status or rules differ afterwards; `reloaded` and `reset` always count.
//!
//! Differences from Ansible: on an inactive firewall (`ufw status` prints no policies then),
//! the default policies and the logging level are read from `/etc/default/ufw` and
//! `/etc/ufw/ufw.conf`, and a change to them counts as a change (Ansible changes them
//! silently, reporting `changed` in check mode and not in a real run). `insert_relative_to`
//! other than `zero` is refused. `commands` and `msg` are not registered.

use std::sync::OnceLock;

use anyhow::{bail, Result};
use regex::Regex;

use super::lifecycle::{key_values, Args, BuildContext, Resource, Step};
use super::support::detach_stdin;
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Manages the ufw firewall: its state, default policies, rules and logging.
///
/// ```yaml
/// - community.general.ufw:
///     rule: allow
///     port: "22"
///     proto: tcp
///     comment: ssh
/// - community.general.ufw:
///     state: enabled
///     policy: deny
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "ufw",
    fqcn: "community.general.ufw",
    params: &[
        P::new("state", Str).choices(&["enabled", "disabled", "reloaded", "reset"]),
        P::new("default", Str)
            .aliases(&["policy"])
            .choices(&["allow", "deny", "reject"]),
        P::new("logging", Str).choices(&["full", "high", "low", "medium", "off", "on"]),
        P::new("direction", Str).choices(&["in", "incoming", "out", "outgoing", "routed"]),
        P::new("delete", Bool).default(D::Bool(false)),
        P::new("route", Bool).default(D::Bool(false)),
        P::new("insert", Int),
        P::new("insert_relative_to", Str)
            .default(D::Str("zero"))
            .choices(&["zero", "first-ipv4", "last-ipv4", "first-ipv6", "last-ipv6"]),
        P::new("rule", Str).choices(&["allow", "deny", "limit", "reject"]),
        P::new("interface", Str).aliases(&["if"]),
        P::new("interface_in", Str).aliases(&["if_in"]),
        P::new("interface_out", Str).aliases(&["if_out"]),
        P::new("log", Bool).default(D::Bool(false)),
        P::new("from_ip", Str)
            .default(D::Str("any"))
            .aliases(&["from", "src"]),
        P::new("from_port", Str),
        P::new("to_ip", Str).default(D::Str("any")).aliases(&["dest", "to"]),
        P::new("to_port", Str).aliases(&["port"]),
        P::new("proto", Str)
            .aliases(&["protocol"])
            .choices(&["ah", "any", "esp", "ipv6", "tcp", "udp", "gre", "igmp", "vrrp"]),
        P::new("name", Str).aliases(&["app"]),
        P::new("comment", Str),
    ],
    mutually_exclusive: &[
        &["name", "proto", "logging"],
        &["direction", "interface_in"],
        &["direction", "interface_out"],
    ],
    required_one_of: &[&["state", "default", "rule", "logging"]],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

/// The files whose `### tuple` lines Ansible reads as the current rules, in its order.
const RULE_FILES: &str = "/lib/ufw/user.rules /lib/ufw/user6.rules /etc/ufw/user.rules /etc/ufw/user6.rules /var/lib/ufw/user.rules /var/lib/ufw/user6.rules";

/// Prints, one `key=value` line each, what decides convergence: `status=` lines of
/// `ufw status verbose`, `rule=` tuples, and `conf=` settings of an inactive firewall.
const STATE_FUNCTION: &str = r#"deploy_ufw_state() {
  _s=$(LANG=C ufw status verbose) || return 1
  printf '%s\n' "$_s" | while IFS= read -r _l; do printf 'status=%s\n' "$_l"; done
  for _f in $deploy_ufw_rule_files; do
    [ -r "$_f" ] || continue
    while IFS= read -r _l; do case $_l in '### tuple'*) printf 'rule=%s\n' "$_l";; esac; done < "$_f"
  done
  for _f in /etc/default/ufw /etc/ufw/ufw.conf; do
    [ -r "$_f" ] || continue
    while IFS= read -r _l; do case $_l in DEFAULT_*_POLICY=*|LOGLEVEL=*) printf 'conf=%s\n' "$_l";; esac; done < "$_f"
  done
}"#;

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    if args.str("insert_relative_to")?.as_deref().unwrap_or("zero") != "zero" {
        bail!("parameter `insert_relative_to` of module `ufw` is not supported by deploy (only `zero`)");
    }
    let direction = args.str("direction")?;
    let state = args.str("state")?;
    let default = args.str("default")?;
    let logging = args.str("logging")?;
    if default.is_some()
        && !matches!(
            direction.as_deref(),
            None | Some("incoming" | "outgoing" | "routed")
        )
    {
        bail!("For default, direction must be one of \"outgoing\", \"incoming\" and \"routed\", or direction must not be specified.");
    }
    let rule = match args.str("rule")? {
        None => None,
        Some(action) => {
            if !matches!(direction.as_deref(), None | Some("in" | "out")) {
                bail!("For rules, direction must be one of \"in\" and \"out\", or direction must not be specified.");
            }
            let route = args.flag("route")?;
            let interface_in = args.str("interface_in")?;
            let interface_out = args.str("interface_out")?;
            if !route && interface_in.is_some() && interface_out.is_some() {
                bail!("Only route rules can combine interface_in and interface_out");
            }
            let interface = args.str("interface")?;
            if interface.is_some() && direction.is_none() {
                bail!("`interface` needs `direction`");
            }
            let delete = args.flag("delete")?;
            // As Ansible builds it: ufw [route] [delete | insert NUM] ACTION [DIRECTION]
            // [on IF] [in on IF] [out on IF] [log] from ADDRESS [port PORT] to ADDRESS
            // [port PORT] [proto PROTO] [app NAME] [comment COMMENT]
            let mut words: Vec<String> = Vec::new();
            let mut push = |w: &str| words.push(w.to_string());
            if route {
                push("route");
            }
            if delete {
                push("delete");
            } else if let Some(position) = args.int("insert")? {
                push("insert");
                push(&position.to_string());
            }
            push(&action);
            if let Some(direction) = &direction {
                push(direction);
            }
            for (prefix, value) in [
                (&["on"][..], &interface),
                (&["in", "on"][..], &interface_in),
                (&["out", "on"][..], &interface_out),
            ] {
                if let Some(value) = value {
                    prefix.iter().for_each(|p| push(p));
                    push(value);
                }
            }
            if args.flag("log")? {
                push("log");
            }
            for (key, word) in [
                ("from_ip", "from"),
                ("from_port", "port"),
                ("to_ip", "to"),
                ("to_port", "port"),
                ("proto", "proto"),
                ("name", "app"),
                ("comment", "comment"),
            ] {
                if let Some(value) = args.str(key)?.filter(|v| !v.is_empty()) {
                    push(word);
                    push(&value);
                }
            }
            let family = [args.str("from_ip")?, args.str("to_ip")?]
                .into_iter()
                .flatten()
                .find_map(|ip| Family::of(&ip));
            Some(Rule {
                words,
                delete,
                family,
            })
        }
    };
    Ok(Box::new(Ufw {
        state,
        default: default.map(|policy| (policy, direction.clone())),
        rule,
        logging,
    }))
}

/// The address family a rule names, which limits the tuples compared, as in Ansible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    /// The family an address starts with (`10.0.0.0/8`), if any (`any` has none).
    fn of(address: &str) -> Option<Family> {
        if ipv4().find(address).is_some_and(|m| m.start() == 0) {
            Some(Family::V4)
        } else if ipv6().find(address).is_some_and(|m| m.start() == 0) {
            Some(Family::V6)
        } else {
            None
        }
    }

    fn in_line(self, line: &str) -> bool {
        match self {
            Family::V4 => ipv4().is_match(line),
            Family::V6 => ipv6().is_match(line),
        }
    }
}

/// Ansible's patterns for an IPv4 and an IPv6 address, searched in tuple lines.
fn ipv4() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(r"((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9])")
            .expect("a valid pattern")
    })
}

fn ipv6() -> &'static Regex {
    static PATTERN: OnceLock<Regex> = OnceLock::new();
    PATTERN.get_or_init(|| {
        Regex::new(concat!(
            r"(([0-9a-fA-F]{1,4}:){7,7}[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,7}:",
            r"|([0-9a-fA-F]{1,4}:){1,6}:[0-9a-fA-F]{1,4}|([0-9a-fA-F]{1,4}:){1,5}",
            r"(:[0-9a-fA-F]{1,4}){1,2}|([0-9a-fA-F]{1,4}:){1,4}(:[0-9a-fA-F]{1,4})",
            r"{1,3}|([0-9a-fA-F]{1,4}:){1,3}(:[0-9a-fA-F]{1,4}){1,4}|([0-9a-fA-F]",
            r"{1,4}:){1,2}(:[0-9a-fA-F]{1,4}){1,5}|[0-9a-fA-F]{1,4}:((:[0-9a-fA-F]",
            r"{1,4}){1,6})|:((:[0-9a-fA-F]{1,4}){1,7}|:)|fe80:(:[0-9a-fA-F]{0,4})",
            r"{0,4}%[0-9a-zA-Z]{1,}|::(ffff(:0{1,4}){0,1}:){0,1}((25[0-5]|(2[0-4]",
            r"|1{0,1}[0-9]){0,1}[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}",
            r"[0-9])|([0-9a-fA-F]{1,4}:){1,4}:((25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}",
            r"[0-9])\.){3,3}(25[0-5]|(2[0-4]|1{0,1}[0-9]){0,1}[0-9]))",
        ))
        .expect("a valid pattern")
    })
}

/// A rule as the `ufw` words after the program name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub words: Vec<String>,
    pub delete: bool,
    /// Only tuples of this family are compared, when the rule names an address.
    pub family: Option<Family>,
}

/// What a `ufw` task asks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ufw {
    pub state: Option<String>,
    /// The policy and the direction it is for (`incoming` when none).
    pub default: Option<(String, Option<String>)>,
    pub rule: Option<Rule>,
    pub logging: Option<String>,
}

/// What the probe saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirewallState {
    pub active: bool,
    /// `incoming`, `outgoing`, `routed` → `allow`/`deny`/`reject` (`disabled` for routed).
    pub policies: Vec<(String, String)>,
    /// `off`, or `on` with its level.
    pub logging: (String, Option<String>),
    /// The current `### tuple` lines.
    pub rules: Vec<String>,
    /// What `ufw --dry-run RULE` printed, for a rule.
    pub dry_run: Vec<String>,
}

/// Reads the probe's `status=`, `rule=`, `conf=` and `dry=` lines.
pub fn parse_state(pairs: &[(String, String)]) -> Result<FirewallState> {
    let lines = |key: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let status = lines("status");
    let Some(first) = status.first() else {
        bail!("probe: `ufw status verbose` printed nothing");
    };
    let active = match first.trim() {
        "Status: active" => true,
        "Status: inactive" => false,
        other => bail!("probe: unexpected `ufw status` line {other:?}"),
    };
    let conf = |name: &str| {
        lines("conf")
            .iter()
            .rev()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.trim().trim_matches('"').to_string())
    };
    let mut policies = Vec::new();
    let mut logging = ("off".to_string(), None);
    if active {
        let defaults = Regex::new(
            r"Default: (deny|allow|reject) \(incoming\), (deny|allow|reject) \(outgoing\), (deny|allow|reject|disabled) \(routed\)",
        )
        .expect("a valid pattern");
        let logs = Regex::new(r"Logging: (on|off)(?: \(([a-z]+)\))?").expect("a valid pattern");
        for line in &status {
            if let Some(c) = defaults.captures(line) {
                for (i, direction) in ["incoming", "outgoing", "routed"].iter().enumerate() {
                    policies.push((direction.to_string(), c[i + 1].to_string()));
                }
            }
            if let Some(c) = logs.captures(line) {
                logging = (c[1].to_string(), c.get(2).map(|m| m.as_str().to_string()));
            }
        }
    } else {
        for (direction, name) in [
            ("incoming", "DEFAULT_INPUT_POLICY"),
            ("outgoing", "DEFAULT_OUTPUT_POLICY"),
            ("routed", "DEFAULT_FORWARD_POLICY"),
        ] {
            let policy = match conf(name).as_deref() {
                Some("ACCEPT") => "allow",
                Some("DROP") => "deny",
                Some("REJECT") => "reject",
                _ => continue,
            };
            policies.push((direction.to_string(), policy.to_string()));
        }
        logging = match conf("LOGLEVEL") {
            Some(level) if level != "off" => ("on".to_string(), Some(level)),
            _ => ("off".to_string(), None),
        };
    }
    Ok(FirewallState {
        active,
        policies,
        logging,
        rules: lines("rule").into_iter().map(str::to_string).collect(),
        dry_run: lines("dry").into_iter().map(str::to_string).collect(),
    })
}

impl Ufw {
    /// Whether the rule changes the rules, as Ansible's check mode decides it.
    fn rule_changes(rule: &Rule, have: &FirewallState) -> bool {
        let skipping = have.dry_run.iter().filter(|l| l.contains("Skipping")).count();
        if skipping > 0 && skipping == have.dry_run.len() {
            return false;
        }
        let after: Vec<&String> = have
            .dry_run
            .iter()
            .filter(|l| l.starts_with("### tuple"))
            .collect();
        let before: Vec<&String> = have.rules.iter().collect();
        match rule.family {
            Some(family) => {
                let only = |lines: &[&String]| -> Vec<String> {
                    lines
                        .iter()
                        .filter(|l| family.in_line(l))
                        .map(|l| l.to_string())
                        .collect()
                };
                only(&before) != only(&after)
            }
            None => before != after,
        }
    }

    fn commands(&self) -> Vec<Vec<String>> {
        let owned = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let mut commands = Vec::new();
        if let Some(state) = &self.state {
            let verb = match state.as_str() {
                "enabled" => "enable",
                "disabled" => "disable",
                "reloaded" => "reload",
                _ => "reset",
            };
            commands.push(owned(&["-f", verb]));
        }
        if let Some((policy, direction)) = &self.default {
            let mut words = owned(&["default", policy]);
            words.extend(direction.iter().cloned());
            commands.push(words);
        }
        if let Some(rule) = &self.rule {
            commands.push(rule.words.clone());
        }
        if let Some(level) = &self.logging {
            commands.push(owned(&["logging", level]));
        }
        commands
    }
}

impl Resource for Ufw {
    type State = FirewallState;

    fn target(&self) -> String {
        self.commands()
            .iter()
            .map(|c| crate::shell::join_words(c))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Every `ufw` task acts on the one firewall: a later one cannot trust its probe once an
    /// earlier one changed it.
    fn key(&self) -> String {
        "ufw".to_string()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.raw("command -v ufw >/dev/null || { echo 'ufw is not installed on the host' >&2; exit 1; }");
        script.line("deploy_ufw_rule_files={}", &[RULE_FILES]);
        script.raw(STATE_FUNCTION);
        script.raw("deploy_ufw_state || exit 1");
        if let Some(rule) = &self.rule {
            script.raw("set -- --dry-run");
            for word in &rule.words {
                script.line("set -- \"$@\" {}", &[word]);
            }
            script.raw(r#"_d=$(LANG=C ufw "$@" 2>&1) || { printf '%s\n' "$_d" >&2; exit 1; }"#);
            script.raw(r#"printf '%s\n' "$_d" | while IFS= read -r _l; do printf 'dry=%s\n' "$_l"; done"#);
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<FirewallState> {
        parse_state(&key_values(out)?)
    }

    fn diff(&self, have: &FirewallState) -> Diff {
        let mut attributes = Vec::new();
        let mut always = false;
        let active = if have.active { "active" } else { "inactive" };
        match self.state.as_deref() {
            Some("enabled") if !have.active => {
                attributes.push(AttributeChange::new("state", Some(active), Some("active")))
            }
            Some("disabled") if have.active => {
                attributes.push(AttributeChange::new("state", Some(active), Some("inactive")))
            }
            Some(verb @ ("reloaded" | "reset")) => {
                always = true;
                attributes.push(AttributeChange::new("state", Some(active), Some(verb)));
            }
            _ => {}
        }
        if let Some((policy, direction)) = &self.default {
            let direction = direction.as_deref().unwrap_or("incoming");
            let current = have
                .policies
                .iter()
                .find(|(d, _)| d == direction)
                .map(|(_, p)| p.as_str());
            if current != Some(policy.as_str()) && current != Some("disabled") {
                attributes.push(AttributeChange::new(
                    &format!("default {direction}"),
                    Some(current.unwrap_or("unknown")),
                    Some(policy.as_str()),
                ));
            }
        }
        if let Some(rule) = &self.rule {
            if Self::rule_changes(rule, have) {
                let shown = crate::shell::join_words(&rule.words);
                let (before, after) = if rule.delete {
                    (Some(shown), None)
                } else {
                    (None, Some(shown))
                };
                attributes.push(AttributeChange::new("rule", before, after));
            }
        }
        if let Some(level) = &self.logging {
            let (on_off, current) = &have.logging;
            let changes = if level != "off" {
                on_off == "off" || (level != "on" && Some(level) != current.as_ref())
            } else {
                on_off != "off"
            };
            if changes {
                let now = current.clone().unwrap_or_else(|| on_off.clone());
                attributes.push(AttributeChange::new("logging", Some(now), Some(level.clone())));
            }
        }
        let mut diff = Diff::from_attributes(attributes);
        if always {
            diff.action = Action::Run;
        }
        diff
    }

    fn apply(&self, _have: &FirewallState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        script.line("deploy_ufw_rule_files={}", &[RULE_FILES]);
        script.raw(STATE_FUNCTION);
        script.raw("deploy_ufw_before=$(deploy_ufw_state) || exit 1");
        for command in self.commands() {
            script.raw("set --");
            for word in &command {
                script.line("set -- \"$@\" {}", &[word]);
            }
            script.raw(r#"LANG=C ufw "$@" || exit 1"#);
        }
        if matches!(self.state.as_deref(), Some("reloaded" | "reset")) {
            script.raw("deploy_changed");
        }
        script.raw("deploy_ufw_after=$(deploy_ufw_state) || exit 1");
        script.raw(r#"[ "$deploy_ufw_before" = "$deploy_ufw_after" ] || deploy_changed"#);
        script
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};
    use serde_json::json;

    const ACTIVE: &str = "status=Status: active\nstatus=Logging: on (low)\n\
        status=Default: deny (incoming), allow (outgoing), disabled (routed)\nstatus=New profiles: skip\n\
        rule=### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n\
        rule=### tuple ### allow tcp 22 ::/0 any ::/0 in\n";

    fn plan(params: serde_json::Value, probe: &str) -> (Diff, Script) {
        build_step(&SPEC, params, &NoContext)
            .unwrap()
            .plan(&section(probe))
            .unwrap()
    }

    #[test]
    fn reads_the_state_policies_and_logging_of_an_active_firewall() {
        let state = parse_state(&key_values(&section(ACTIVE)).unwrap()).unwrap();
        assert!(state.active);
        assert_eq!(state.logging, ("on".to_string(), Some("low".to_string())));
        assert_eq!(state.policies[0], ("incoming".to_string(), "deny".to_string()));
        assert_eq!(state.policies[2], ("routed".to_string(), "disabled".to_string()));
        assert_eq!(state.rules.len(), 2);
        assert!(parse_state(&key_values(&section("status=ERROR: problem\n")).unwrap()).is_err());
        assert!(parse_state(&[]).is_err());
    }

    #[test]
    fn an_inactive_firewall_is_read_from_its_configuration() {
        let probe = "status=Status: inactive\nconf=DEFAULT_INPUT_POLICY=\"DROP\"\n\
            conf=DEFAULT_OUTPUT_POLICY=\"ACCEPT\"\nconf=DEFAULT_FORWARD_POLICY=\"DROP\"\nconf=LOGLEVEL=medium\n";
        let (diff, _) = plan(json!({"state": "enabled", "default": "deny"}), probe);
        assert_eq!(diff.attributes.len(), 1);
        assert_eq!(diff.attributes[0].describe(), "state inactive → active");
        let (diff, _) = plan(json!({"logging": "medium"}), probe);
        assert!(diff.is_converged());
        let (diff, _) = plan(json!({"default": "allow", "direction": "outgoing"}), probe);
        assert!(diff.is_converged());
        let (diff, _) = plan(json!({"default": "reject", "direction": "routed"}), probe);
        assert_eq!(diff.attributes[0].describe(), "default routed deny → reject");
    }

    #[test]
    fn policies_and_logging_as_ansible_compares_them() {
        assert!(plan(json!({"state": "enabled", "default": "deny"}), ACTIVE).0.is_converged());
        assert!(plan(json!({"default": "allow", "direction": "routed"}), ACTIVE).0.is_converged());
        assert!(!plan(json!({"default": "deny", "direction": "outgoing"}), ACTIVE).0.is_converged());
        assert!(plan(json!({"logging": "on"}), ACTIVE).0.is_converged());
        assert!(plan(json!({"logging": "low"}), ACTIVE).0.is_converged());
        assert!(!plan(json!({"logging": "high"}), ACTIVE).0.is_converged());
        assert!(!plan(json!({"logging": "off"}), ACTIVE).0.is_converged());
        assert!(!plan(json!({"state": "disabled"}), ACTIVE).0.is_converged());
        let (diff, script) = plan(json!({"state": "reloaded"}), ACTIVE);
        assert_eq!(diff.action, Action::Run);
        assert!(script.as_str().contains("set -- \"$@\" reload\n"));
    }

    #[test]
    fn a_rule_converges_when_ufw_would_skip_it_or_keep_the_tuples() {
        let params = json!({"rule": "allow", "to_port": "22", "proto": "tcp"});
        let skipped = format!(
            "{ACTIVE}dry=Skipping adding existing rule\ndry=Skipping adding existing rule (v6)\n"
        );
        assert!(plan(params.clone(), &skipped).0.is_converged());
        let added = format!(
            "{ACTIVE}dry=*filter\ndry=### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n\
             dry=### tuple ### allow tcp 80 0.0.0.0/0 any 0.0.0.0/0 in\ndry=COMMIT\n\
             dry=### tuple ### allow tcp 22 ::/0 any ::/0 in\ndry=### tuple ### allow tcp 80 ::/0 any ::/0 in\n"
        );
        let (diff, script) = plan(json!({"rule": "allow", "to_port": "80", "proto": "tcp"}), &added);
        assert_eq!(
            diff.attributes[0].describe(),
            "rule allow from any to any port 80 proto tcp"
        );
        assert!(script.as_str().contains("deploy_changed"));
        // A rule on an IPv4 address compares the IPv4 tuples only, as Ansible does.
        let v4_only = format!(
            "{ACTIVE}dry=### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\n"
        );
        assert!(plan(
            json!({"rule": "allow", "to_port": "22", "proto": "tcp", "from_ip": "10.0.0.0/8"}),
            &v4_only
        )
        .0
        .is_converged());
        assert!(!plan(params, &v4_only).0.is_converged());
    }

    #[test]
    fn the_command_words_are_ansibles_and_quoted() {
        let step = build_step(
            &SPEC,
            json!({"rule": "limit", "direction": "in", "interface": "eth0", "log": true,
                   "from_ip": "10.0.0.0/8", "to_port": "22", "proto": "tcp", "comment": "it's ssh",
                   "insert": 1}),
            &NoContext,
        )
        .unwrap();
        assert_eq!(
            step.target(),
            "insert 1 limit in on eth0 log from 10.0.0.0/8 to any port 22 proto tcp comment 'it'\\''s ssh'"
        );
        assert!(step.probe().as_str().contains("set -- \"$@\" 'it'\\''s ssh'"));
        let delete = build_step(&SPEC, json!({"rule": "deny", "to_port": "23", "delete": true}), &NoContext).unwrap();
        assert_eq!(delete.target(), "delete deny from any to any port 23");
        let (diff, _) = delete
            .plan(&section(&format!("{ACTIVE}dry=### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in\ndry=### tuple ### allow tcp 22 ::/0 any ::/0 in\n")))
            .unwrap();
        assert!(diff.is_converged(), "deleting a rule that is not there");
    }

    #[test]
    fn refuses_what_ansible_refuses() {
        for params in [
            json!({"default": "deny", "direction": "in"}),
            json!({"rule": "allow", "direction": "incoming"}),
            json!({"rule": "allow", "interface_in": "a", "interface_out": "b"}),
            json!({"rule": "allow", "insert": 1, "insert_relative_to": "first-ipv4"}),
        ] {
            assert!(build_step(&SPEC, params.clone(), &NoContext).is_err(), "{params}");
        }
    }

    #[test]
    fn the_apply_script_counts_a_change_only_when_the_firewall_differs() {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        // A stand-in `ufw` whose `enable` flips a status file, as the real one would.
        let fake = format!(
            "#!/bin/sh\ncase \"$1 $2\" in\n  'status verbose') cat {0}/status;;\n  '-f enable') echo 'Status: active' > {0}/status;;\nesac\n",
            dir.path().display()
        );
        std::fs::write(bin.join("ufw"), fake).unwrap();
        std::fs::set_permissions(
            bin.join("ufw"),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .unwrap();
        std::fs::write(dir.path().join("status"), "Status: inactive\n").unwrap();
        let step = build_step(&SPEC, json!({"state": "enabled"}), &NoContext).unwrap();
        let (_, script) = step.plan(&section("status=Status: inactive\n")).unwrap();
        let mut with_path = Script::new();
        with_path.line("PATH={}:$PATH", &[bin.to_str().unwrap()]);
        with_path.append(&script);
        let run = || crate::resource::support::testing::run_apply(&with_path, dir.path());
        let (out, changed) = run();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(changed);
        let (out, changed) = run();
        assert!(out.status.success());
        assert!(!changed, "enabling an active firewall changes nothing");
    }
}

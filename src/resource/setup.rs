//! `setup` as a task: the host's facts gathered again (after a change that alters them, such
//! as a new network interface or a package writing local facts), or a few of them by `filter`.
//!
//! A query answered from the probe: the fact snippet of `facts` runs in the probe round, and
//! the facts it names (`ansible_` prefixed, as Ansible's `setup` returns them) become the
//! host's facts again.
//!
//! Differences from Ansible: `gather_subset`, `gather_timeout` and `fact_path` are accepted,
//! and every subset `deploy` knows is gathered whatever they say.

use anyhow::Result;
use serde_json::{json, Map, Value as Json};

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::Diff;
use crate::probe::Section;
use crate::shell::Script;

/// Gathers the host's facts.
///
/// ```yaml
/// - setup:
///     filter:
///       - ansible_distribution*
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "setup",
    fqcn: "ansible.builtin.setup",
    params: &[
        P::new("gather_subset", List).default(D::Str("all")),
        P::new("gather_timeout", Int).default(D::Int(10)),
        P::new("filter", List),
        P::new("fact_path", Path).default(D::Str("/etc/ansible/facts.d")),
    ],
    build: Some(build),
    publishes_facts: true,
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(Setup {
        filter: args.list("filter")?,
    }))
}

#[derive(Debug)]
pub struct Setup {
    /// Shell-style patterns (`*`, `?`) on fact names; empty keeps every fact.
    pub filter: Vec<String>,
}

/// Whether `name` matches the shell-style `pattern` (`*` any run, `?` any one character).
fn matches(pattern: &[char], name: &[char]) -> bool {
    match pattern.split_first() {
        None => name.is_empty(),
        Some(('*', rest)) => (0..=name.len()).any(|skip| matches(rest, &name[skip..])),
        Some(('?', rest)) => !name.is_empty() && matches(rest, &name[1..]),
        Some((c, rest)) => name.first() == Some(c) && matches(rest, &name[1..]),
    }
}

impl Setup {
    fn facts(&self, out: &Section) -> Result<Map<String, Json>> {
        let facts = crate::facts::parse(&out.output)?;
        if self.filter.is_empty() {
            return Ok(facts);
        }
        let patterns: Vec<Vec<char>> = self.filter.iter().map(|p| p.chars().collect()).collect();
        Ok(facts
            .into_iter()
            .filter(|(name, _)| {
                let name: Vec<char> = name.chars().collect();
                patterns.iter().any(|p| matches(p, &name))
            })
            .collect())
    }
}

impl Resource for Setup {
    type State = ();

    fn target(&self) -> String {
        "facts".to_string()
    }

    fn probe(&self) -> Script {
        crate::facts::script()
    }

    fn inspect(&self, _out: &Section) -> Result<()> {
        Ok(())
    }

    fn diff(&self, _have: &()) -> Diff {
        Diff::converged()
    }

    fn apply(&self, _have: &(), _diff: &Diff) -> Script {
        Script::new()
    }

    fn result(&self, out: &Section) -> Result<Option<Json>> {
        Ok(Some(
            json!({"changed": false, "failed": false, "ansible_facts": self.facts(out)?}),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, run_probe};

    #[test]
    fn filters_are_shell_patterns_on_fact_names() {
        let pattern = |p: &str, n: &str| {
            matches(&p.chars().collect::<Vec<_>>(), &n.chars().collect::<Vec<_>>())
        };
        assert!(pattern("ansible_distribution*", "ansible_distribution_release"));
        assert!(pattern("ansible_*_ipv4", "ansible_default_ipv4"));
        assert!(pattern("ansible_?ostname", "ansible_hostname"));
        assert!(!pattern("ansible_distribution", "ansible_distribution_release"));
    }

    #[test]
    fn the_facts_of_this_machine_filtered() {
        let dir = tempfile::tempdir().unwrap();
        let step = build_step(&SPEC, json!({"filter": ["ansible_system", "ansible_user_i?"]}), &NoContext)
            .unwrap();
        let answer = step.result(&run_probe(&step.probe(), dir.path())).unwrap().unwrap();
        let facts = answer["ansible_facts"].as_object().unwrap();
        assert_eq!(facts["ansible_system"], json!("Linux"));
        assert!(facts.contains_key("ansible_user_id"));
        assert_eq!(facts.len(), 2, "{facts:?}");
    }
}

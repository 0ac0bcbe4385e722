//! Inventories: which hosts exist, how they are grouped, and each host's inventory variables.
//!
//! Users bring the inventories they already run Ansible with, so everything here follows
//! Ansible 2.19 to the letter: INI and YAML files, directories of them, dynamic inventory
//! scripts and `a,b,` host lists (`source`), `group_vars/` and `host_vars/` beside the
//! inventory or the playbook (`vars_files`), host patterns (`pattern`) and the output of
//! `ansible-inventory` (`output`). Loading only reads: values stay untemplated
//! `serde_json::Value`s, resolved later by the vars module.

mod ini;
mod literal;
pub mod output;
pub(crate) mod pattern;
mod range;
mod script;
mod source;
mod vars_files;
mod yaml_source;

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use anyhow::Result;
use indexmap::IndexMap;
use serde_json::Value;

pub use pattern::{glob_to_regex, split_patterns, Selection};
use vars_files::VarsDir;

/// Variables of a host or a group, in the order they were set.
pub type Vars = IndexMap<String, Value>;

/// Names Ansible treats as the control machine: using one that the inventory does not define
/// creates an implicit `localhost` (connection `local`, not listed in `all`).
pub const LOCALHOST_NAMES: [&str; 3] = ["127.0.0.1", "localhost", "::1"];

/// One host of the inventory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Host {
    pub name: String,
    /// Variables set on the host by the inventory sources (not `host_vars/` files).
    pub vars: Vars,
    /// The groups the host was put in directly, in order; ancestors are not listed.
    pub groups: Vec<String>,
    /// The inventory file that first named the host (Ansible's `inventory_file`); `None`
    /// for hosts of a `-i a,b,` list.
    pub source: Option<PathBuf>,
}

/// One group of the inventory.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Group {
    pub name: String,
    /// Hosts put directly in this group, in inventory order.
    pub hosts: Vec<String>,
    pub children: Vec<String>,
    pub parents: Vec<String>,
    /// Variables set on the group by the inventory sources (not `group_vars/` files).
    pub vars: Vars,
    /// Length of the longest path from `all`: deeper groups' variables win.
    pub depth: usize,
    /// `ansible_group_priority`: among groups of the same depth, higher wins.
    pub priority: i64,
}

/// A loaded inventory: hosts and groups in the order Ansible would have them.
#[derive(Debug, Default)]
pub struct Inventory {
    hosts: IndexMap<String, Host>,
    groups: IndexMap<String, Group>,
    /// `group_vars/` and `host_vars/` beside each inventory source, in source order.
    source_vars: Vec<VarsDir>,
    /// The same beside playbooks, read on first use.
    playbook_vars: Mutex<HashMap<PathBuf, Arc<VarsDir>>>,
    /// The file being read, recorded on the hosts it creates.
    current_source: Option<PathBuf>,
}

impl Inventory {
    /// Reads every `-i` source in order into one inventory, with its `group_vars/` and
    /// `host_vars/` files.
    pub fn load(sources: &[PathBuf]) -> Result<Inventory> {
        let mut inventory = Inventory::empty();
        let mut vars_dirs = Vec::new();
        for source in sources {
            if let Some(dir) = source::load_source(&mut inventory, source)? {
                vars_dirs.push(dir);
            }
        }
        inventory.reconcile();
        for dir in vars_dirs {
            let loaded = VarsDir::load(&dir, &inventory)?;
            inventory.source_vars.push(loaded);
        }
        Ok(inventory)
    }

    /// An inventory with only `all` and `ungrouped`, as every Ansible inventory starts.
    fn empty() -> Inventory {
        let mut inventory = Inventory::default();
        inventory.add_group("all");
        inventory.add_group("ungrouped");
        inventory
            .add_child("all", "ungrouped")
            .expect("ungrouped cannot be an ancestor of all");
        inventory
    }

    pub fn hosts(&self) -> &IndexMap<String, Host> {
        &self.hosts
    }

    pub fn groups(&self) -> &IndexMap<String, Group> {
        &self.groups
    }

    pub fn host(&self, name: &str) -> Option<&Host> {
        self.hosts.get(name)
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.get(name)
    }

    /// Names of the groups of `host`, ancestors included, sorted, without `all`: the
    /// `group_names` magic variable. Like Ansible, a host in no group gets `["ungrouped"]`.
    pub fn group_names(&self, host: &str) -> Vec<String> {
        let mut names: Vec<String> = self.ancestry(host).into_iter().filter(|g| g != "all").collect();
        names.sort();
        names
    }

    /// Every group with all its hosts (those of its descendants included), in inventory
    /// order: the `groups` magic variable.
    pub fn groups_map(&self) -> IndexMap<String, Vec<String>> {
        self.groups
            .keys()
            .map(|name| (name.clone(), self.group_hosts(name)))
            .collect()
    }

    /// All hosts of a group and of its descendants, the group's own first, then its children's
    /// level by level, each host once.
    pub fn group_hosts(&self, group: &str) -> Vec<String> {
        let mut seen = HashSet::new();
        let mut hosts = Vec::new();
        for name in self.descendants(group) {
            for host in &self.groups[&name].hosts {
                if seen.insert(host.as_str()) {
                    hosts.push(host.clone());
                }
            }
        }
        hosts
    }

    /// The group itself, then its descendants breadth first, each once.
    fn descendants(&self, group: &str) -> Vec<String> {
        let mut order = Vec::new();
        let mut seen = HashSet::new();
        let mut queue = VecDeque::from([group.to_string()]);
        while let Some(name) = queue.pop_front() {
            let Some(entry) = self.groups.get(&name) else {
                continue;
            };
            if !seen.insert(name.clone()) {
                continue;
            }
            queue.extend(entry.children.iter().cloned());
            order.push(name);
        }
        order
    }

    /// A group's ancestors (not the group itself).
    fn ancestors(&self, group: &str) -> HashSet<String> {
        let mut seen = HashSet::new();
        let mut stack: Vec<&str> = vec![group];
        while let Some(name) = stack.pop() {
            for parent in self
                .groups
                .get(name)
                .map(|g| g.parents.as_slice())
                .unwrap_or_default()
            {
                if seen.insert(parent.clone()) {
                    stack.push(parent);
                }
            }
        }
        seen
    }

    /// Every group a host belongs to, directly or through a child group.
    fn ancestry(&self, host: &str) -> Vec<String> {
        let Some(host) = self.hosts.get(host) else {
            return Vec::new();
        };
        let mut all: Vec<String> = Vec::new();
        for group in &host.groups {
            let mut with_ancestors: Vec<String> = self.ancestors(group).into_iter().collect();
            with_ancestors.sort();
            with_ancestors.push(group.clone());
            for name in with_ancestors {
                if !all.contains(&name) {
                    all.push(name);
                }
            }
        }
        all
    }

    /// The host's groups (but `all`) in the order their variables apply: by depth, then
    /// `ansible_group_priority`, then name, as Ansible's `sort_groups`.
    pub fn groups_by_precedence(&self, host: &str) -> Vec<&Group> {
        let mut groups: Vec<&Group> = self
            .ancestry(host)
            .iter()
            .filter(|name| *name != "all")
            .filter_map(|name| self.groups.get(name))
            .collect();
        groups.sort_by(|a, b| (a.depth, a.priority, &a.name).cmp(&(b.depth, b.priority, &b.name)));
        groups
    }

    /// A host's inventory variables, merged as Ansible merges them (top-level keys replace),
    /// lowest precedence first: the inventory's `all` group vars, other groups' vars (by
    /// depth, priority, name), `group_vars/all` beside the inventory then beside the playbook,
    /// the other `group_vars/` files likewise, the host's own inventory vars, then
    /// `host_vars/` beside the inventory and beside the playbook. `playbook_dir` is the
    /// directory of the playbook being run, if any. Values are not templated.
    pub fn host_vars(&self, host: &str, playbook_dir: Option<&Path>) -> Result<Vars> {
        let own: Vars = match self.hosts.get(host) {
            Some(entry) => entry.vars.clone(),
            None if LOCALHOST_NAMES.contains(&host) => implicit_localhost_vars(),
            None => anyhow::bail!("no host named `{host}` in the inventory"),
        };
        let playbook = match playbook_dir {
            Some(dir) => Some(self.playbook_vars(dir)?),
            None => None,
        };
        let groups = self.groups_by_precedence(host);
        let mut vars = Vars::new();
        merge(&mut vars, &self.groups["all"].vars);
        for group in &groups {
            merge(&mut vars, &group.vars);
        }
        for dir in self.source_vars.iter().chain(playbook.as_deref()) {
            dir.merge_group(&mut vars, "all");
        }
        for dir in self.source_vars.iter().chain(playbook.as_deref()) {
            for group in &groups {
                dir.merge_group(&mut vars, &group.name);
            }
        }
        merge(&mut vars, &own);
        for dir in self.source_vars.iter().chain(playbook.as_deref()) {
            dir.merge_host(&mut vars, host);
        }
        Ok(vars)
    }

    fn playbook_vars(&self, dir: &Path) -> Result<Arc<VarsDir>> {
        let mut cache = self
            .playbook_vars
            .lock()
            .map_err(|_| anyhow::anyhow!("a thread panicked while reading vars files"))?;
        if let Some(found) = cache.get(dir) {
            return Ok(Arc::clone(found));
        }
        let loaded = Arc::new(VarsDir::load(dir, self)?);
        cache.insert(dir.to_path_buf(), Arc::clone(&loaded));
        Ok(loaded)
    }

    /// The hosts a pattern (`hosts:` of a play) selects, in inventory order, without the
    /// warnings of [`select_with_warnings`](Self::select_with_warnings).
    pub fn select(&self, pattern: &str) -> Result<Vec<String>> {
        Ok(self.select_with_warnings(pattern, None)?.hosts)
    }

    /// The hosts `pattern` selects, restricted to those `limit` (`--limit`, which may name
    /// `@file`s of host names) selects, with the warnings for the caller to print.
    pub fn select_with_warnings(&self, pattern: &str, limit: Option<&str>) -> Result<Selection> {
        pattern::select(self, pattern, limit)
    }

    // Building, used by the source parsers.

    fn add_group(&mut self, name: &str) {
        if !self.groups.contains_key(name) {
            self.groups.insert(
                name.to_string(),
                Group {
                    name: name.to_string(),
                    priority: 1,
                    ..Group::default()
                },
            );
        }
    }

    /// Adds a host (if new) and puts it in `group`. Like Ansible, a port only applies to a
    /// host the first time it is seen.
    fn add_host(&mut self, name: &str, group: &str, port: Option<u16>) {
        if !self.hosts.contains_key(name) {
            let mut host = Host {
                name: name.to_string(),
                source: self.current_source.clone(),
                ..Host::default()
            };
            if let Some(port) = port {
                host.vars.insert("ansible_port".to_string(), Value::from(port));
            }
            self.hosts.insert(name.to_string(), host);
        }
        self.add_group(group);
        // Membership is checked on the host's few groups, not the group's hosts: a
        // `web[0:99999]` line would otherwise cost a scan of the group per host it adds.
        let host = self.hosts.get_mut(name).expect("host added above");
        if !host.groups.iter().any(|g| g == group) {
            host.groups.push(group.to_string());
            let entry = self.groups.get_mut(group).expect("group added above");
            entry.hosts.push(name.to_string());
        }
    }

    /// Makes `child` a child group of `parent`; both must exist.
    fn add_child(&mut self, parent: &str, child: &str) -> Result<(), String> {
        if parent == child {
            return Err(format!("group `{child}` cannot be a child of itself"));
        }
        if self.groups[parent].children.iter().any(|c| c == child) {
            return Ok(());
        }
        if self.ancestors(parent).contains(child) {
            return Err(format!(
                "adding group `{child}` as a child of `{parent}` creates a loop: `{child}` is already an ancestor of `{parent}`"
            ));
        }
        self.groups[parent].children.push(child.to_string());
        let entry = &mut self.groups[child];
        if !entry.parents.iter().any(|p| p == parent) {
            entry.parents.push(parent.to_string());
        }
        Ok(())
    }

    fn set_group_var(&mut self, group: &str, key: &str, value: Value) {
        let entry = &mut self.groups[group];
        if key == "ansible_group_priority" {
            if let Some(priority) = value
                .as_i64()
                .or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()))
            {
                entry.priority = priority;
            }
        } else {
            entry.vars.insert(key.to_string(), value);
        }
    }

    fn set_host_var(&mut self, host: &str, key: &str, value: Value) {
        self.hosts[host].vars.insert(key.to_string(), value);
    }

    /// What Ansible does once all sources are read: top-level groups become children of
    /// `all`, hosts in no group go to `ungrouped` (and leave it once in another group), and
    /// depths are set from the final tree.
    fn reconcile(&mut self) {
        let names: Vec<String> = self.groups.keys().cloned().collect();
        for name in &names {
            if name != "all" && self.groups[name].parents.is_empty() {
                self.add_child("all", name)
                    .expect("a group without parents cannot be an ancestor of all");
            }
        }
        let hosts: Vec<String> = self.hosts.keys().cloned().collect();
        let mut leaving = HashSet::new();
        for host in hosts {
            let groups = self.ancestry(&host);
            let in_ungrouped = groups.iter().any(|g| g == "ungrouped");
            let elsewhere = groups.iter().any(|g| g != "all" && g != "ungrouped");
            if in_ungrouped && elsewhere {
                self.hosts[&host].groups.retain(|g| g != "ungrouped");
                leaving.insert(host);
            } else if !in_ungrouped && !elsewhere {
                self.add_host(&host, "ungrouped", None);
            }
        }
        // One pass over `ungrouped`, not one per host leaving it.
        if !leaving.is_empty() {
            self.groups["ungrouped"].hosts.retain(|h| !leaving.contains(h));
        }
        let mut depths: HashMap<String, usize> = HashMap::new();
        self.compute_depth("all", 0, &mut depths);
        for (name, group) in &mut self.groups {
            group.depth = depths.get(name).copied().unwrap_or(0);
        }
    }

    fn compute_depth(&self, group: &str, depth: usize, depths: &mut HashMap<String, usize>) {
        if depths.get(group).is_some_and(|known| *known >= depth) {
            return;
        }
        depths.insert(group.to_string(), depth);
        for child in &self.groups[group].children {
            self.compute_depth(child, depth + 1, depths);
        }
    }
}

/// Ansible's `combine_vars` with `hash_behaviour=replace`: top-level keys replace.
pub fn merge(into: &mut Vars, from: &Vars) {
    for (key, value) in from {
        into.insert(key.clone(), value.clone());
    }
}

fn implicit_localhost_vars() -> Vars {
    Vars::from([("ansible_connection".to_string(), Value::from("local"))])
}

#[cfg(test)]
mod tests;

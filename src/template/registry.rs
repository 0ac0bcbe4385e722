//! The tables the templar's filters and tests are registered from.
//!
//! A filter or test has to be registered with minijinja and also named in the "did you mean"
//! hints; kept as two lists they drift (one gains a name the other lacks). Each kind is
//! therefore one [`Registry`]: the callables this crate adds, each with its name, from which
//! both registration and the hint list come, plus the minijinja builtins it relies on, named
//! for the hints only.

use std::sync::Arc;

use minijinja::Environment;

use super::plugins::{self, Kind, Plugins};

/// Adds one callable to the environment under the name given.
pub(crate) type Register = fn(&mut Environment<'static>, &'static str);

/// The filters (or tests) of one kind that the templar knows.
pub(crate) struct Registry {
    /// minijinja's builtins that behave as Jinja2's under Ansible: minijinja registers them,
    /// they are listed only for the hints.
    pub builtins: &'static [&'static str],
    /// What this crate adds (a name here that is also a builtin replaces the builtin).
    pub own: &'static [(&'static str, Register)],
}

impl Registry {
    pub fn register(&self, env: &mut Environment<'static>) {
        for (name, add) in self.own {
            add(env, name);
        }
    }

    /// Registers, over this table, the names a project's plugins of `kind` give: a name
    /// neither table has is the plugins' to answer before it is an error, and a plugin that
    /// declares one of ours takes it over, as in Ansible (`builtin` is the environment
    /// without plugins, where such a name goes back when no plugin answers it).
    pub fn register_plugins(
        &self,
        env: &mut Environment<'static>,
        plugins: &Arc<Plugins>,
        kind: Kind,
        builtin: &Arc<Environment<'static>>,
    ) -> anyhow::Result<()> {
        let declared = plugins.declared(kind)?;
        plugins::register(env, plugins, kind, declared, builtin, &self.names());
        Ok(())
    }

    /// Every name, builtins included, sorted, each once.
    pub fn names(&self) -> Vec<&'static str> {
        let own = self.own.iter().map(|(name, _)| *name);
        let mut names: Vec<&'static str> = self.builtins.iter().copied().chain(own).collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}

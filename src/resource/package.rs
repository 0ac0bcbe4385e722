//! `package`: packages through the host's package manager (`apt` on the fleet's Debian).
use anyhow::{bail, Result};

use super::lifecycle::{Args, BuildContext, Step};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};

/// Installs or removes packages, whatever the distribution's manager.
///
/// ```yaml
/// - package:
///     name: tree
///     state: present
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "package",
    fqcn: "ansible.builtin.package",
    params: &[
        P::new("name", List).required(),
        P::new("state", Str).required(),
        P::new("use", Str).default(D::Str("auto")),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

/// Delegates to `apt`, the manager of every host `deploy` targets; others are refused.
fn build(args: &Args, context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let wanted = args.str("use")?.unwrap_or_else(|| "auto".to_string());
    let manager = if wanted == "auto" {
        context
            .fact("ansible_pkg_mgr")
            .and_then(|v| v.as_str().map(str::to_string))
            .ok_or_else(|| {
                anyhow::anyhow!("`package` needs the fact ansible_pkg_mgr (facts were not gathered)")
            })?
    } else {
        wanted
    };
    if manager != "apt" {
        bail!("`package` supports the apt package manager only, not {manager}");
    }
    Ok(Box::new(super::apt::from_args(args)?))
}

//! `apt`: Debian packages installed, at their latest version, or removed.
//!
//! The probe asks `dpkg-query` about the listed packages only (and `apt-cache policy` for
//! `latest`), so a converged task costs one query. Every install of a task goes into one
//! `apt-get install`, and the apply script re-checks which packages are still missing first.
//!
//! `deb:` installs local `.deb` files (on the host) through `apt-get install`, which brings in
//! their dependencies as Ansible's apt module does before its `dpkg -i`; a file whose package is
//! installed at the file's version is converged. `policy_rc_d` writes `/usr/sbin/policy-rc.d`
//! for the length of the apt-get call and puts back what was there, as Ansible does, so that
//! `policy_rc_d: 101` keeps packages from starting their services on install.
//! `autoremove` alone removes what `apt-get autoremove` would (the probe simulates it); with
//! packages it is apt-get's `--auto-remove`.
//!
//! `update_cache` follows Ansible: the lists are refreshed when older than `cache_valid_time`
//! (always when it is 0), and that alone counts as a change only for a task that installs
//! nothing, and only when the lists' time moved (an update that fetched nothing new changes
//! nothing); the plan shows such a refresh as a run (`!`), its outcome known afterwards. A task with packages refreshes the lists only when it installs something, so a
//! converged `latest` task does not notice newer versions until the lists are refreshed
//! (Debian's apt-daily timer, or a task with `update_cache` alone).
//!
//! Differences from Ansible: `deb:` takes a path on the host, not a URL; the registered result
//! holds `changed` only (no `stdout`, `cache_updated`, `cache_update_time`); `force`, `clean`,
//! `upgrade`, `autoclean`, `only_upgrade`, `allow_unauthenticated`,
//! `allow_change_held_packages`, `fail_on_autoremove` and `state: build-dep` are refused.

use anyhow::{bail, Result};

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::support::{detach_stdin, lines};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Installs or removes Debian packages.
///
/// ```yaml
/// - apt:
///     name: [nginx, tree]
///     state: present
///     update_cache: yes
///     cache_valid_time: 3600
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "apt",
    fqcn: "ansible.builtin.apt",
    params: &[
        P::new("name", List).aliases(&["package", "pkg"]),
        P::new("state", Str).default(D::Str("present")).choices(&[
            "absent",
            "build-dep",
            "latest",
            "present",
            "fixed",
        ]),
        P::new("update_cache", Bool).aliases(&["update-cache"]),
        P::new("update_cache_retries", Int).default(D::Int(5)),
        P::new("update_cache_retry_max_delay", Int).default(D::Int(12)),
        P::new("cache_valid_time", Int).default(D::Int(0)),
        P::new("purge", Bool).default(D::Bool(false)),
        P::new("default_release", Str).aliases(&["default-release"]),
        P::new("install_recommends", Bool).aliases(&["install-recommends"]),
        P::new("force", Bool).default(D::Bool(false)),
        P::new("clean", Bool).default(D::Bool(false)),
        P::new("allow_unauthenticated", Bool)
            .default(D::Bool(false))
            .aliases(&["allow-unauthenticated"]),
        P::new("allow_downgrade", Bool).default(D::Bool(false)).aliases(&[
            "allow-downgrade",
            "allow_downgrades",
            "allow-downgrades",
        ]),
        P::new("allow_change_held_packages", Bool).default(D::Bool(false)),
        P::new("upgrade", Str)
            .default(D::Str("no"))
            .choices(&["dist", "full", "no", "safe", "yes"]),
        P::new("dpkg_options", Str).default(D::Str("force-confdef,force-confold")),
        P::new("deb", Path),
        P::new("autoremove", Bool).default(D::Bool(false)),
        P::new("autoclean", Bool).default(D::Bool(false)),
        P::new("only_upgrade", Bool).default(D::Bool(false)),
        P::new("fail_on_autoremove", Bool).default(D::Bool(false)),
        P::new("force_apt_get", Bool).default(D::Bool(false)),
        P::new("lock_timeout", Int).default(D::Int(60)),
        P::new("policy_rc_d", Int),
    ],
    mutually_exclusive: &[&["deb", "name"]],
    required_one_of: &[&[
        "name",
        "upgrade",
        "update_cache",
        "deb",
        "autoremove",
        "autoclean",
    ]],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(from_args(args)?))
}

/// What `state` asks of the listed packages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PackageState {
    Present,
    Latest,
    Absent,
}

/// One entry of `name`: `nginx`, `nginx=1.22*`, `libc6:amd64`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PackageSpec {
    /// The name with its architecture, as dpkg knows it (`libc6:amd64`).
    pub name: String,
    /// A version pin, possibly with `*` wildcards, as Ansible takes it.
    pub version: Option<String>,
}

impl PackageSpec {
    /// Parses and checks a package name strictly: names become apt-get arguments, so nothing
    /// that could read as an option or a pattern gets through.
    pub fn parse(text: &str) -> Result<PackageSpec> {
        let (name, version) = match text.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (text.trim(), None),
        };
        let (base, arch) = match name.split_once(':') {
            Some((b, a)) => (b, Some(a)),
            None => (name, None),
        };
        let base_ok = base.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && base
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-._".contains(c));
        let arch_ok =
            arch.is_none_or(|a| !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let version_ok = version.is_none_or(|v| {
            v.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || ".+~:-*".contains(c))
        });
        if !(base_ok && arch_ok && version_ok) {
            bail!(
                "`{text}` is not a package name deploy understands (NAME, NAME:ARCH or NAME=VERSION; \
                 name patterns and version comparisons are not supported)"
            );
        }
        Ok(PackageSpec {
            name: name.to_string(),
            version: version.map(str::to_string),
        })
    }

    /// The argument for `apt-get install`.
    fn install_arg(&self) -> String {
        match &self.version {
            Some(v) => format!("{}={v}", self.name),
            None => self.name.clone(),
        }
    }

    /// The name without its architecture.
    fn base(&self) -> &str {
        self.name.split(':').next().unwrap_or(&self.name)
    }
}

/// Packages converged through apt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Apt {
    pub packages: Vec<PackageSpec>,
    pub state: PackageState,
    /// Refresh the package lists when older than `cache_valid_time` seconds (0: always).
    pub update_cache: bool,
    pub cache_valid_time: i64,
    pub purge: bool,
    /// `None` is apt's own default.
    pub install_recommends: Option<bool>,
    pub allow_downgrade: bool,
    /// `Dpkg::Options` for installs, from `dpkg_options`.
    pub dpkg_options: Vec<String>,
    /// `apt-get -t`: the release installs prefer (`None` also for an empty string).
    pub default_release: Option<String>,
    /// The exit code `/usr/sbin/policy-rc.d` gives while apt-get runs.
    pub policy_rc_d: Option<i64>,
    /// Remove packages nothing depends on any more.
    pub autoremove: bool,
    /// `state: fixed`: `--fix-broken` on the install.
    pub fix_broken: bool,
    /// `.deb` files on the host to install.
    pub debs: Vec<String>,
}

/// One installed (or remembered) instance of a package, from `dpkg-query`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Installed {
    pub package: String,
    pub arch: String,
    /// `installed`, `config-files`, `half-configured`, ...
    pub status: String,
    pub version: String,
}

impl Installed {
    /// Installed as python-apt sees it: a current version exists.
    fn is_installed(&self) -> bool {
        !matches!(self.status.as_str(), "not-installed" | "config-files")
    }
}

/// What the probe saw.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AptState {
    pub instances: Vec<Installed>,
    /// Candidate versions by package name (`latest` only).
    pub candidates: Vec<(String, String)>,
    /// Seconds since the package lists were last refreshed (when asked).
    pub cache_age: Option<i64>,
    /// The `.deb` files, in order: path, package, version.
    pub debs: Vec<DebFile>,
    /// What `apt-get autoremove` would remove (`autoremove` without packages only).
    pub autoremovable: Vec<String>,
}

/// A `.deb` file on the host, as `dpkg-deb` reads its control fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DebFile {
    pub path: String,
    pub package: String,
    pub version: String,
}

/// Whether `version` matches a pin, `*` matching anything as in Python's fnmatch (the only
/// special character a checked pin can hold; the apply script's `case` agrees with it).
fn matches_version(pattern: &str, version: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == version;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !version.starts_with(first) || version.len() < first.len() + last.len() || !version.ends_with(last) {
        return false;
    }
    let mut rest = &version[first.len()..version.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(i) => rest = &rest[i + middle.len()..],
            None => return false,
        }
    }
    true
}

impl AptState {
    fn instances_of<'a>(&'a self, spec: &'a PackageSpec) -> impl Iterator<Item = &'a Installed> + 'a {
        let arch = spec.name.split_once(':').map(|(_, a)| a);
        self.instances
            .iter()
            .filter(move |i| i.package == spec.base() && arch.is_none_or(|a| a == i.arch))
    }

    fn installed_version<'a>(&'a self, spec: &'a PackageSpec) -> Option<&'a str> {
        self.instances_of(spec)
            .find(|i| i.is_installed())
            .map(|i| i.version.as_str())
    }

    fn has_config_files(&self, spec: &PackageSpec) -> bool {
        self.instances_of(spec).any(|i| i.status == "config-files")
    }

    fn candidate<'a>(&'a self, spec: &'a PackageSpec) -> Option<&'a str> {
        self.candidates
            .iter()
            .find(|(n, _)| n == &spec.name || n == spec.base())
            .map(|(_, v)| v.as_str())
    }
}

/// Shell functions for the apply script: the same questions the probe answered, asked again.
const APT_FUNCTIONS: &str = r#"export DEBIAN_FRONTEND=noninteractive DEBIAN_PRIORITY=critical
deploy_pkg_has() {
  dpkg-query -W -f='${Status}\t${Version}\n' -- "$1" 2>/dev/null | {
    while IFS='	' read -r s v; do
      case $s in *" not-installed"|*" config-files") continue;; esac
      case $v in $2) exit 0;; esac
    done
    exit 1
  }
}
deploy_pkg_files() { dpkg-query -W -f='${Status}\n' -- "$1" 2>/dev/null | grep -q ' config-files$'; }
deploy_apt_get() {
  _out=$(apt-get "$@"); _rc=$?
  printf '%s\n' "$_out"
  [ "$_rc" -eq 0 ] || { echo "apt-get $1 failed (exit $_rc)" >&2; exit 1; }
  case $_out in *"0 upgraded, 0 newly installed, 0 to remove"*) ;; *) deploy_changed;; esac
}
deploy_deb_needed() {
  _i=$(dpkg-deb --show --showformat='${Package}	${Version}' -- "$1") || { echo "Unable to install package: $1 is not a readable .deb file" >&2; exit 1; }
  ! deploy_pkg_has "${_i%%	*}" "${_i#*	}"
}
# Ansible's PolicyRcD: /usr/sbin/policy-rc.d answers $1 while apt-get runs, and whatever was
# there before is put back afterwards, even when apt-get fails.
deploy_policy_rc_d() {
  _prc_saved=
  if [ -e /usr/sbin/policy-rc.d ] || [ -L /usr/sbin/policy-rc.d ]; then
    _prc_saved=$(mktemp -d) && mv /usr/sbin/policy-rc.d "$_prc_saved/" || { echo 'Fail to move /usr/sbin/policy-rc.d' >&2; exit 1; }
  fi
  trap deploy_policy_rc_d_restore EXIT
  printf '#!/bin/sh\nexit %d\n' "$1" > /usr/sbin/.policy-rc.d.deploy &&
    chmod 0755 /usr/sbin/.policy-rc.d.deploy &&
    mv -f /usr/sbin/.policy-rc.d.deploy /usr/sbin/policy-rc.d || { echo 'Failed to create or chmod /usr/sbin/policy-rc.d' >&2; exit 1; }
}
deploy_policy_rc_d_restore() {
  trap - EXIT
  rm -f /usr/sbin/policy-rc.d
  if [ -n "$_prc_saved" ]; then mv "$_prc_saved/policy-rc.d" /usr/sbin/policy-rc.d && rmdir "$_prc_saved"; fi
}"#;

/// The probe's shell for the package lists' age, as Ansible measures it.
const CACHE_AGE: &str = r#"m=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null || stat -c %Y /var/lib/apt/lists 2>/dev/null || echo 0)
echo "cache_age=$(( $(date +%s) - m ))""#;

impl Apt {
    fn cache_matters(&self) -> bool {
        self.update_cache || self.cache_valid_time > 0
    }

    /// Whether the task only refreshes the lists: Ansible stops there when it names no package
    /// and no .deb (so `autoremove` beside `update_cache` does nothing, as under Ansible).
    fn cache_only(&self) -> bool {
        self.cache_matters() && self.packages.is_empty() && self.debs.is_empty()
    }

    /// Whether the lists need refreshing, as Ansible decides it.
    fn cache_stale(&self, have: &AptState) -> bool {
        self.cache_matters() && have.cache_age.is_none_or(|age| age > self.cache_valid_time)
    }
}

impl Resource for Apt {
    type State = AptState;

    fn target(&self) -> String {
        let mut names: Vec<String> = self.packages.iter().map(PackageSpec::install_arg).collect();
        names.extend(self.debs.iter().cloned());
        if names.is_empty() {
            if self.autoremove && !self.cache_only() {
                "apt autoremove".to_string()
            } else {
                "apt cache".to_string()
            }
        } else {
            names.join(", ")
        }
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        if !self.packages.is_empty() || !self.debs.is_empty() {
            script.raw("command -v dpkg-query >/dev/null || { echo 'apt needs dpkg-query on the host' >&2; exit 1; }");
            let names: Vec<&str> = self.packages.iter().map(|p| p.name.as_str()).collect();
            script.raw("set --");
            for name in &names {
                script.line("set -- \"$@\" {}", &[name]);
            }
            // A .deb's package is asked about like a named one; a file that is not there (or
            // not a package) is `deb -`.
            for deb in &self.debs {
                script.line("d={}", &[deb]);
                script.raw(
                    r#"if i=$(dpkg-deb --show --showformat='${Package}	${Version}' -- "$d" 2>/dev/null); then printf 'deb	%s\n' "$i"; set -- "$@" "${i%%	*}"; else echo 'deb	-'; fi"#,
                );
            }
            script.raw(r#"dpkg-query -W -f='pkg	${Package}	${Architecture}	${Status}	${Version}\n' -- "$@" 2>/dev/null || true"#);
            if self.state == PackageState::Latest {
                match &self.default_release {
                    None => script.raw(r#"apt-cache policy -- "$@" 2>/dev/null | sed -n 's/^\([^ ].*\):$/policy	\1/p; s/^  Candidate: /candidate	/p'"#),
                    Some(release) => script.line(
                        r#"apt-cache -o {} policy -- "$@" 2>/dev/null | sed -n 's/^\([^ ].*\):$/policy	\1/p; s/^  Candidate: /candidate	/p'"#,
                        &[&format!("APT::Default-Release={release}")],
                    ),
                };
            }
        } else if self.autoremove && !self.cache_only() {
            script.raw(r#"apt-get -s autoremove 2>/dev/null | sed -n 's/^Remv \([^ ]*\).*/autoremove	\1/p'"#);
        }
        if self.cache_matters() {
            script.raw(CACHE_AGE);
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<AptState> {
        let mut state = AptState::default();
        let mut policy_name: Option<String> = None;
        for line in lines(out)? {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                ["pkg", package, arch, status, version] => {
                    let status = status.rsplit(' ').next().unwrap_or_default();
                    state.instances.push(Installed {
                        package: package.to_string(),
                        arch: arch.to_string(),
                        status: status.to_string(),
                        version: version.to_string(),
                    });
                }
                ["policy", name] => policy_name = Some(name.to_string()),
                ["deb", "-"] => {
                    let path = self.debs.get(state.debs.len()).map_or("?", String::as_str);
                    bail!("Unable to install package: {path} is not a readable .deb file on the host");
                }
                ["deb", package, version] => {
                    let path = self
                        .debs
                        .get(state.debs.len())
                        .ok_or_else(|| anyhow::anyhow!("probe: more .deb files than asked about"))?;
                    state.debs.push(DebFile {
                        path: path.clone(),
                        package: package.to_string(),
                        version: version.to_string(),
                    });
                }
                ["autoremove", package] => state.autoremovable.push(package.to_string()),
                ["candidate", version] => {
                    let name = policy_name
                        .take()
                        .ok_or_else(|| anyhow::anyhow!("probe: a candidate version for no package"))?;
                    if *version != "(none)" {
                        state.candidates.push((name, version.to_string()));
                    }
                }
                [single] if single.starts_with("cache_age=") => {
                    let age = &single["cache_age=".len()..];
                    state.cache_age = Some(
                        age.parse()
                            .map_err(|_| anyhow::anyhow!("probe: bad cache age {age:?}"))?,
                    );
                }
                _ => bail!("probe: unexpected apt probe line {line:?}"),
            }
        }
        if self.cache_matters() && state.cache_age.is_none() {
            bail!("probe: no apt cache age reported");
        }
        if state.debs.len() != self.debs.len() {
            bail!("probe: not every .deb file was reported");
        }
        Ok(state)
    }

    fn diff(&self, have: &AptState) -> Diff {
        let mut attributes = Vec::new();
        let (mut installs, mut removes, mut upgrades) = (0, 0, 0);
        for spec in &self.packages {
            let current = have.installed_version(spec);
            match self.state {
                PackageState::Present | PackageState::Latest => match (current, &spec.version) {
                    (None, _) => {
                        installs += 1;
                        attributes.push(AttributeChange::new(
                            &format!("+ {}", spec.install_arg()),
                            None::<String>,
                            None::<String>,
                        ));
                    }
                    (Some(v), Some(pin)) if !matches_version(pin, v) => {
                        upgrades += 1;
                        attributes.push(AttributeChange::new(&spec.name, Some(v), Some(pin.as_str())));
                    }
                    (Some(v), None) if self.state == PackageState::Latest => {
                        if let Some(candidate) = have.candidate(spec).filter(|c| *c != v) {
                            upgrades += 1;
                            attributes.push(AttributeChange::new(&spec.name, Some(v), Some(candidate)));
                        }
                    }
                    _ => {}
                },
                PackageState::Absent => {
                    if current.is_some() || (self.purge && have.has_config_files(spec)) {
                        removes += 1;
                        let verb = if self.purge { "purge" } else { "-" };
                        attributes.push(AttributeChange::new(
                            &format!("{verb} {}", spec.name),
                            None::<String>,
                            None::<String>,
                        ));
                    }
                }
            }
        }
        for deb in &have.debs {
            let spec = PackageSpec {
                name: deb.package.clone(),
                version: None,
            };
            match have.installed_version(&spec) {
                None => {
                    installs += 1;
                    attributes.push(AttributeChange::new(
                        &format!("+ {} {} ({})", deb.package, deb.version, deb.path),
                        None::<String>,
                        None::<String>,
                    ));
                }
                Some(v) if v != deb.version => {
                    upgrades += 1;
                    attributes.push(AttributeChange::new(&deb.package, Some(v), Some(deb.version.as_str())));
                }
                Some(_) => {}
            }
        }
        if self.autoremove && !self.cache_only() && self.packages.is_empty() && self.debs.is_empty() {
            for package in &have.autoremovable {
                removes += 1;
                let verb = if self.purge { "purge" } else { "-" };
                attributes.push(AttributeChange::new(
                    &format!("{verb} {package} (autoremove)"),
                    None::<String>,
                    None::<String>,
                ));
            }
        }
        // Ansible reports a cache update as a change only when it is all the task does.
        if self.cache_only() && self.cache_stale(have) {
            let age = have
                .cache_age
                .map_or("unknown".to_string(), |a| format!("{a}s old"));
            attributes.push(AttributeChange::new("apt cache", Some(age), Some("updated")));
        }
        let mut diff = Diff::from_attributes(attributes);
        diff.action = match (diff.action, installs, removes, upgrades) {
            (Action::Converged, ..) => Action::Converged,
            // Refreshing the lists runs; whether it changes them (Ansible's test: the lists'
            // time moved) is known only afterwards, so `changed_when: false` quiets it.
            (_, 0, 0, 0) if self.cache_only() => Action::Run,
            (_, i, 0, 0) if i > 0 => Action::Create,
            (_, 0, r, 0) if r > 0 => Action::Remove,
            _ => Action::Change,
        };
        diff
    }

    fn apply(&self, _have: &AptState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        script.raw(APT_FUNCTIONS);
        let autoremove_only =
            self.autoremove && !self.cache_only() && self.packages.is_empty() && self.debs.is_empty();
        let mut words: Vec<String> = vec!["-y".into(), "-q".into()];
        for option in &self.dpkg_options {
            words.push("-o".into());
            words.push(format!("Dpkg::Options::=--{option}"));
        }
        match self.install_recommends {
            Some(true) => words.extend(["-o".into(), "APT::Install-Recommends=yes".into()]),
            Some(false) => words.extend(["-o".into(), "APT::Install-Recommends=no".into()]),
            None => {}
        }
        if self.allow_downgrade {
            words.push("--allow-downgrades".into());
        }
        let installs = self.state != PackageState::Absent && !autoremove_only;
        if installs {
            if let Some(release) = &self.default_release {
                words.extend(["-t".into(), release.clone()]);
            }
            if self.fix_broken {
                words.push("--fix-broken".into());
            }
        }
        if self.autoremove && !autoremove_only {
            words.push("--auto-remove".into());
        }
        if autoremove_only && self.purge {
            words.push("--purge".into());
        }
        words.push(
            match (autoremove_only, self.state, self.purge) {
                (true, ..) => "autoremove",
                (_, PackageState::Absent, false) => "remove",
                (_, PackageState::Absent, true) => "purge",
                _ => "install",
            }
            .into(),
        );
        // The apt-get command line first, then each package that still needs it: `$n` tells
        // whether any did.
        script.raw("set --");
        for word in &words {
            script.line("set -- \"$@\" {}", &[word]);
        }
        script.raw("n=$#");
        for spec in &self.packages {
            let pin = spec.version.as_deref().unwrap_or("*");
            match self.state {
                PackageState::Present => {
                    script.line(
                        "deploy_pkg_has {} {} || set -- \"$@\" {}",
                        &[&spec.name, pin, &spec.install_arg()],
                    );
                }
                // apt-get itself says whether anything was newer (its summary line).
                PackageState::Latest => {
                    script.line("set -- \"$@\" {}", &[&spec.install_arg()]);
                }
                PackageState::Absent if self.purge => {
                    script.line(
                        "{ deploy_pkg_has {} '*' || deploy_pkg_files {}; } && set -- \"$@\" {}",
                        &[&spec.name, &spec.name, &spec.name],
                    );
                }
                PackageState::Absent => {
                    script.line(
                        "! deploy_pkg_has {} '*' || set -- \"$@\" {}",
                        &[&spec.name, &spec.name],
                    );
                }
            }
        }
        for deb in &self.debs {
            // apt-get takes a file only when its name holds a `/`.
            let arg = if deb.contains('/') {
                deb.clone()
            } else {
                format!("./{deb}")
            };
            script.line("deploy_deb_needed {} && set -- \"$@\" {}", &[&arg, &arg]);
        }
        if self.cache_matters() {
            script.line("valid={}", &[&self.cache_valid_time.to_string()]);
            script.raw(if self.cache_only() {
                "if true; then"
            } else {
                "if [ $# -gt $n ]; then"
            });
            script.raw(CACHE_AGE_VAR);
            script.raw(
                r#"  if [ "$valid" -eq 0 ] || [ "$cache_age" -gt "$valid" ]; then
    apt-get update -q >&2 || { echo 'Failed to update apt cache' >&2; exit 1; }
    before=$m
    m=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null || stat -c %Y /var/lib/apt/lists 2>/dev/null || echo 0)
    [ $# -gt $n ] || [ "$m" = "$before" ] || deploy_changed
  fi
fi"#,
            );
        }
        if self.cache_only() {
            return script;
        }
        if !autoremove_only {
            script.raw("[ $# -gt $n ] || exit 0");
        }
        if let Some(code) = self.policy_rc_d {
            script.line("deploy_policy_rc_d {}", &[&code.to_string()]);
        }
        script.raw("deploy_apt_get \"$@\"");
        if self.policy_rc_d.is_some() {
            script.raw("deploy_policy_rc_d_restore");
        }
        script
    }
}

/// [`CACHE_AGE`] into a variable, for the apply script.
const CACHE_AGE_VAR: &str = r#"  m=$(stat -c %Y /var/lib/apt/periodic/update-success-stamp 2>/dev/null || stat -c %Y /var/lib/apt/lists 2>/dev/null || echo 0)
  cache_age=$(( $(date +%s) - m ))"#;

/// Builds the resource from `apt`'s parameters (also used by `package`).
pub fn from_args(args: &Args) -> Result<Apt> {
    args.refuse(&[
        "force",
        "clean",
        "allow_unauthenticated",
        "allow_change_held_packages",
        "upgrade",
        "autoclean",
        "only_upgrade",
        "fail_on_autoremove",
        "force_apt_get",
    ])?;
    let state_name = args.str("state")?.unwrap_or_else(|| "present".to_string());
    let state = match state_name.as_str() {
        "present" | "installed" | "fixed" => PackageState::Present,
        "latest" => PackageState::Latest,
        "absent" | "removed" => PackageState::Absent,
        other => bail!(
            "`{}` with `state: {other}` is not supported by deploy",
            args.module()
        ),
    };
    let packages = args
        .list("name")?
        .iter()
        .map(|n| PackageSpec::parse(n))
        .collect::<Result<Vec<_>>>()?;
    let dpkg_options = args
        .str("dpkg_options")?
        .unwrap_or_else(|| "force-confdef,force-confold".to_string())
        .split(',')
        .map(|o| o.trim().to_string())
        .filter(|o| !o.is_empty())
        .collect::<Vec<_>>();
    if let Some(bad) = dpkg_options
        .iter()
        .find(|o| !o.chars().all(|c| c.is_ascii_alphanumeric() || "-=,".contains(c)))
    {
        bail!("`dpkg_options` entry {bad:?} is not a dpkg option name");
    }
    let debs = args.list("deb")?;
    if !debs.is_empty() && state != PackageState::Present {
        bail!("deb only supports state=present");
    }
    if let Some(url) = debs.iter().find(|d| d.contains("://")) {
        bail!("`deb: {url}`: deploy installs .deb files already on the host; copy it there first (`copy`, `get_url`)");
    }
    Ok(Apt {
        packages,
        state,
        update_cache: args.flag("update_cache")?,
        cache_valid_time: args.int("cache_valid_time")?.unwrap_or(0),
        purge: args.flag("purge")?,
        install_recommends: args.bool("install_recommends")?,
        allow_downgrade: args.flag("allow_downgrade")?,
        dpkg_options,
        default_release: args.str("default_release")?.filter(|r| !r.is_empty()),
        policy_rc_d: args.int("policy_rc_d")?,
        autoremove: args.flag("autoremove")?,
        fix_broken: state_name == "fixed",
        debs,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, run_apply, run_probe, section, Facts};
    use serde_json::json;

    fn plan(params: serde_json::Value, probe: &str) -> (Diff, Script) {
        build(&SPEC, params, &NoContext)
            .unwrap()
            .plan(&section(probe))
            .unwrap()
    }

    fn shown(diff: &Diff) -> Vec<String> {
        diff.attributes.iter().map(|a| a.describe()).collect()
    }

    const NGINX: &str = "pkg\tnginx\tamd64\tinstall ok installed\t1.22.1-9\n";

    #[test]
    fn installed_packages_are_converged() {
        let (diff, script) = plan(json!({"name": ["nginx"]}), NGINX);
        assert!(diff.is_converged());
        assert!(script.is_empty());
        let (diff, _) = plan(json!({"name": ["nginx=1.22*"]}), NGINX);
        assert!(diff.is_converged(), "a wildcard pin that matches");
    }

    #[test]
    fn missing_packages_are_installed_in_one_call() {
        let probe = "pkg\ttree\tamd64\tdeinstall ok config-files\t2.1.0-1\n";
        let (diff, script) = plan(json!({"name": ["nginx", "tree"]}), probe);
        assert_eq!(diff.action, Action::Create);
        assert_eq!(shown(&diff), ["+ nginx", "+ tree"]);
        let text = script.as_str();
        assert_eq!(text.matches("deploy_apt_get \"$@\"").count(), 1);
        assert!(text.contains("Dpkg::Options::=--force-confdef"));
        assert!(text.contains("export DEBIAN_FRONTEND=noninteractive"));
    }

    #[test]
    fn pins_and_latest_show_versions() {
        let (diff, _) = plan(json!({"name": ["nginx=1.24.0-1"]}), NGINX);
        assert_eq!(shown(&diff), ["nginx 1.22.1-9 → 1.24.0-1"]);
        assert_eq!(diff.action, Action::Change);
        let probe = format!("{NGINX}policy\tnginx\ncandidate\t1.24.0-1\n");
        let (diff, _) = plan(json!({"name": "nginx", "state": "latest"}), &probe);
        assert_eq!(shown(&diff), ["nginx 1.22.1-9 → 1.24.0-1"]);
        let probe = format!("{NGINX}policy\tnginx\ncandidate\t1.22.1-9\n");
        assert!(plan(json!({"name": "nginx", "state": "latest"}), &probe)
            .0
            .is_converged());
    }

    #[test]
    fn removal_and_purge() {
        let (diff, script) = plan(json!({"name": "nginx", "state": "absent"}), NGINX);
        assert_eq!(diff.action, Action::Remove);
        assert_eq!(shown(&diff), ["- nginx"]);
        assert!(script.as_str().contains("set -- \"$@\" remove"));
        let leftovers = "pkg\tnginx\tamd64\tdeinstall ok config-files\t1.22.1-9\n";
        assert!(plan(json!({"name": "nginx", "state": "absent"}), leftovers)
            .0
            .is_converged());
        let (diff, script) = plan(
            json!({"name": "nginx", "state": "absent", "purge": true}),
            leftovers,
        );
        assert_eq!(shown(&diff), ["purge nginx"]);
        assert!(script.as_str().contains("set -- \"$@\" purge"));
        assert!(plan(json!({"name": "nginx", "state": "absent"}), "")
            .0
            .is_converged());
    }

    #[test]
    fn architectures() {
        let probe = "pkg\tlibc6\ti386\tinstall ok installed\t2.36\n";
        assert_eq!(
            plan(json!({"name": "libc6:amd64"}), probe).0.action,
            Action::Create
        );
        assert!(plan(json!({"name": "libc6:i386"}), probe).0.is_converged());
        assert!(plan(json!({"name": "libc6"}), probe).0.is_converged());
    }

    #[test]
    fn update_cache_alone_is_a_change_only_when_stale() {
        let params = json!({"update_cache": true, "cache_valid_time": 3600});
        assert!(plan(params.clone(), "cache_age=60\n").0.is_converged());
        let (diff, script) = plan(params, "cache_age=7200\n");
        assert_eq!(shown(&diff), ["apt cache 7200s old → updated"]);
        assert_eq!(diff.action, Action::Run);
        assert!(script.as_str().contains(r#"[ "$m" = "$before" ] || deploy_changed"#));
        assert!(script.as_str().contains("apt-get update"));
        // With no valid time, Ansible updates (and reports a change) every time.
        assert!(!plan(json!({"update_cache": true}), "cache_age=1\n")
            .0
            .is_converged());
        // With packages, the cache is not the task's change.
        assert!(plan(
            json!({"name": "nginx", "update_cache": true}),
            &format!("{NGINX}cache_age=99999\n")
        )
        .0
        .is_converged());
    }

    #[test]
    fn refuses_lies_and_bad_names() {
        let step = build(&SPEC, json!({"name": "nginx"}), &NoContext).unwrap();
        assert!(step.plan(&section("garbage\n")).is_err());
        for bad in ["-oAPT::x", "ngin x", "nginx*", "nginx>=1", "$(id)"] {
            assert!(build(&SPEC, json!({ "name": bad }), &NoContext).is_err(), "{bad}");
        }
        assert!(build(&SPEC, json!({"deb": "https://x/x.deb"}), &NoContext).is_err());
        assert!(build(&SPEC, json!({"deb": "/x.deb", "state": "absent"}), &NoContext).is_err());
        assert!(build(&SPEC, json!({"name": "x", "state": "build-dep"}), &NoContext).is_err());
    }

    #[test]
    fn package_delegates_to_apt() {
        let apt = Facts(&[("ansible_pkg_mgr", "apt")]);
        let step = build(
            &super::super::package::SPEC,
            json!({"name": "tree", "state": "installed"}),
            &apt,
        )
        .unwrap();
        assert_eq!(step.plan(&section("")).unwrap().0.action, Action::Create);
        let dnf = Facts(&[("ansible_pkg_mgr", "dnf")]);
        assert!(build(
            &super::super::package::SPEC,
            json!({"name": "tree", "state": "present"}),
            &dnf
        )
        .is_err());
    }

    #[test]
    fn debs_converge_on_the_files_version() {
        let params = json!({"deb": "/srv/tool_1.0_all.deb"});
        let (diff, script) = plan(params.clone(), "deb\ttool\t1.0\n");
        assert_eq!(shown(&diff), ["+ tool 1.0 (/srv/tool_1.0_all.deb)"]);
        assert_eq!(diff.action, Action::Create);
        assert!(script
            .as_str()
            .contains("deploy_deb_needed /srv/tool_1.0_all.deb && set -- \"$@\" /srv/tool_1.0_all.deb"));
        let installed = "deb\ttool\t1.0\npkg\ttool\tall\tinstall ok installed\t1.0\n";
        assert!(plan(params.clone(), installed).0.is_converged());
        let older = "deb\ttool\t1.0\npkg\ttool\tall\tinstall ok installed\t0.9\n";
        assert_eq!(shown(&plan(params.clone(), older).0), ["tool 0.9 → 1.0"]);
        let step = build(&SPEC, params, &NoContext).unwrap();
        let err = step.plan(&section("deb\t-\n")).unwrap_err();
        assert!(format!("{err:#}").contains("/srv/tool_1.0_all.deb is not a readable .deb"));
        // A relative path reaches apt-get as a path, not as a package name.
        let (_, script) = plan(json!({"deb": "tool.deb"}), "deb\ttool\t1.0\n");
        assert!(script.as_str().contains("set -- \"$@\" ./tool.deb"));
    }

    #[test]
    fn policy_rc_d_default_release_and_autoremove_reach_apt_get() {
        let (_, script) = plan(
            json!({"name": "tree", "policy_rc_d": 101, "default_release": "bookworm-backports",
                   "autoremove": true, "state": "fixed"}),
            "",
        );
        let text = script.as_str();
        assert!(text.contains("deploy_policy_rc_d 101\ndeploy_apt_get \"$@\"\ndeploy_policy_rc_d_restore"));
        assert!(text.contains("set -- \"$@\" '-t'\nset -- \"$@\" bookworm-backports"));
        assert!(text.contains("--fix-broken") && text.contains("--auto-remove"));
        // An empty release is how roles leave it unset.
        let (_, script) = plan(json!({"name": "tree", "default_release": ""}), "");
        assert!(!script.as_str().contains("'-t'"));
        // Removal takes no release.
        let (_, script) = plan(
            json!({"name": "nginx", "state": "absent", "default_release": "x"}),
            NGINX,
        );
        assert!(!script.as_str().contains("'-t'"));
    }

    #[test]
    fn autoremove_alone_removes_what_apt_get_would() {
        let params = json!({"autoremove": true, "purge": true});
        assert!(plan(params.clone(), "").0.is_converged());
        let (diff, script) = plan(params, "autoremove\tlibfoo1\n");
        assert_eq!(shown(&diff), ["purge libfoo1 (autoremove)"]);
        assert_eq!(diff.action, Action::Remove);
        assert!(script.as_str().contains("set -- \"$@\" '--purge'\nset -- \"$@\" autoremove"));
        assert!(!script.as_str().contains("[ $# -gt $n ] || exit 0"));
        // Beside update_cache, Ansible only refreshes the lists.
        assert!(plan(
            json!({"autoremove": true, "update_cache": true, "cache_valid_time": 600}),
            "cache_age=5\n"
        )
        .0
        .is_converged());
    }

    #[test]
    fn versions_match_like_fnmatch() {
        assert!(matches_version("1.22*", "1.22.1-9"));
        assert!(matches_version("*-9", "1.22.1-9"));
        assert!(matches_version("1.*.1-*", "1.22.1-9"));
        assert!(!matches_version("1.24*", "1.22.1-9"));
        assert!(!matches_version("1.22", "1.22.1-9"));
    }

    /// Stand-ins for dpkg-query and apt-get keeping installed packages as files.
    const FAKE_DPKG_QUERY: &str = r#"#!/bin/sh
d=$(dirname "$0")/installed
fmt=${2#-f=}; shift 2; [ "$1" = -- ] && shift
rc=0
for p; do
  if [ -f "$d/$p" ]; then v=$(cat "$d/$p")
    printf "$(printf '%s' "$fmt" | sed 's/\${Package}/'"$p"'/; s/\${Architecture}/amd64/; s/\${Status}/install ok installed/; s/\${Version}/'"$v"'/')"
  else echo "dpkg-query: no packages found matching $p" >&2; rc=1; fi
done
exit $rc
"#;
    const FAKE_APT_GET: &str = r#"#!/bin/sh
d=$(dirname "$0")
echo "$*" >> "$d/calls"
for a; do case $a in -*|install|Dpkg*|APT*) ;; *) echo 1.0 > "$d/installed/$a";; esac; done
echo "1 upgraded, 1 newly installed, 0 to remove and 0 not upgraded."
"#;

    #[test]
    fn probe_and_apply_for_real_with_stand_ins() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(bin.join("installed")).unwrap();
        for (name, text) in [("dpkg-query", FAKE_DPKG_QUERY), ("apt-get", FAKE_APT_GET)] {
            std::fs::write(bin.join(name), text).unwrap();
            std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        std::fs::write(bin.join("installed/nginx"), "1.22\n").unwrap();
        let step = build(
            &SPEC,
            json!({"name": ["nginx", "tree"], "install_recommends": false}),
            &NoContext,
        )
        .unwrap();
        let with_path = |script: &Script| {
            let mut s = Script::new();
            s.line("PATH={}:$PATH", &[bin.to_str().unwrap()]);
            s.append(script);
            s
        };
        let probe = run_probe(&with_path(&step.probe()), dir.path());
        let (diff, script) = step.plan(&probe).unwrap();
        assert_eq!(shown(&diff), ["+ tree"]);
        let (out, changed) = run_apply(&with_path(&script), dir.path());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(changed);
        let calls = std::fs::read_to_string(bin.join("calls")).unwrap();
        assert_eq!(
            calls,
            "-y -q -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
             -o APT::Install-Recommends=no install tree\n"
        );
        let probe = run_probe(&with_path(&step.probe()), dir.path());
        assert!(step.plan(&probe).unwrap().0.is_converged());
        // A stale plan applied again installs nothing.
        let (out, changed) = run_apply(&with_path(&script), dir.path());
        assert!(out.status.success());
        assert!(!changed);
        assert_eq!(
            std::fs::read_to_string(bin.join("calls"))
                .unwrap()
                .lines()
                .count(),
            1
        );
    }
}

#[cfg(test)]
mod policy_rc_d {
    use super::*;
    use crate::resource::support::testing::run_apply;

    /// The policy-rc.d functions with the file moved under a temporary directory: the file
    /// answers the code while the command runs and the earlier one is back afterwards, also
    /// when the command fails.
    #[test]
    fn policy_rc_d_is_in_place_while_apt_get_runs_and_restored_after() {
        let dir = tempfile::tempdir().unwrap();
        let sbin = dir.path().join("sbin");
        std::fs::create_dir(&sbin).unwrap();
        std::fs::write(sbin.join("policy-rc.d"), "#!/bin/sh\nexit 0\n").unwrap();
        let functions = APT_FUNCTIONS.replace("/usr/sbin/", &format!("{}/", sbin.display()));
        for (command, succeeds) in [("true", true), ("false", false)] {
            let text = format!(
                "{functions}\ndeploy_policy_rc_d 101\nsh {}/policy-rc.d > seen; echo $? > code\n{command} || exit 1\ndeploy_policy_rc_d_restore\n",
                sbin.display()
            );
            let mut script = Script::new();
            // The text is this test's own, made from the project's functions.
            script.raw(Box::leak(text.into_boxed_str()));
            let (out, _) = run_apply(&script, dir.path());
            assert_eq!(out.status.success(), succeeds, "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(std::fs::read_to_string(dir.path().join("code")).unwrap(), "101\n");
            assert_eq!(
                std::fs::read_to_string(sbin.join("policy-rc.d")).unwrap(),
                "#!/bin/sh\nexit 0\n"
            );
        }
    }
}

#[cfg(test)]
mod local_host {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build, run_probe};
    use serde_json::json;

    /// The real dpkg-query and apt-cache of a Debian machine, when the tests run on one.
    #[test]
    fn the_probe_reads_the_real_package_database() {
        if std::process::Command::new("dpkg-query")
            .arg("--version")
            .output()
            .is_err()
        {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let step = build(
            &SPEC,
            json!({"name": ["coreutils", "deploy-no-such-package"], "state": "latest", "cache_valid_time": 1}),
            &NoContext,
        )
        .unwrap();
        let (diff, _) = step.plan(&run_probe(&step.probe(), dir.path())).unwrap();
        let shown: Vec<String> = diff.attributes.iter().map(|a| a.describe()).collect();
        assert!(
            shown.contains(&"+ deploy-no-such-package".to_string()),
            "{shown:?}"
        );
        assert!(
            !shown
                .iter()
                .any(|s| s.contains("coreutils") && s.starts_with('+')),
            "{shown:?}"
        );
    }
}

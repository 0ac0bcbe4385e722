//! `locale_gen` (`community.general.locale_gen`): locales compiled on the host, enabled in
//! `/etc/locale.gen` and built with `locale-gen`, as the Ansible module does on Debian.
//!
//! The probe lists what `locale -a` knows (compared with the module's case folding, so
//! `en_US.utf8` is `en_US.UTF-8`) and whether each name is one `/usr/share/i18n/SUPPORTED`
//! offers: an unknown locale fails at plan time, as the module fails before changing anything.
//! A change rewrites the matching lines of `/etc/locale.gen` (commented in or out, Ansible's
//! `^#?\s*NAME (charset)` substitution, done by `awk` on the host) and runs `locale-gen`.
//!
//! Differences from Ansible: hosts without `/etc/locale.gen` (the `ubuntu_legacy` mechanism,
//! deprecated by the module) are refused.

use anyhow::{bail, Result};

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::support::{detach_stdin, lines};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Generates locales.
///
/// ```yaml
/// - locale_gen:
///     name: en_US.UTF-8
///     state: present
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "locale_gen",
    fqcn: "community.general.locale_gen",
    params: &[
        P::new("name", List).required(),
        P::new("state", Str)
            .default(D::Str("present"))
            .choices(&["absent", "present"]),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    let names = args.list("name")?;
    if names.is_empty() {
        bail!("`name` names no locale");
    }
    for name in &names {
        if name.is_empty() || name.contains(char::is_whitespace) {
            bail!("`{name}` is not a locale name");
        }
    }
    Ok(Box::new(LocaleGen {
        names,
        present: args.str("state")?.as_deref() != Some("absent"),
    }))
}

/// Locales, generated or not.
#[derive(Debug)]
pub struct LocaleGen {
    pub names: Vec<String>,
    pub present: bool,
}

/// What the probe found.
#[derive(Debug, PartialEq, Eq)]
pub struct LocaleState {
    pub has_locale_gen: bool,
    /// `locale -a`, one locale a line.
    pub compiled: Vec<String>,
    /// The asked names that `/usr/share/i18n/SUPPORTED` lists.
    pub supported: Vec<String>,
}

/// The module's `LOCALE_NORMALIZATION`: `locale -a` may print the charset in either case.
const NORMALIZATION: &[(&str, &str)] = &[
    (".utf8", ".UTF-8"),
    (".eucjp", ".EUC-JP"),
    (".iso885915", ".ISO-8859-15"),
    (".cp1251", ".CP1251"),
    (".koi8r", ".KOI8-R"),
    (".armscii8", ".ARMSCII-8"),
    (".euckr", ".EUC-KR"),
    (".gbk", ".GBK"),
    (".gb18030", ".GB18030"),
    (".euctw", ".EUC-TW"),
];

fn fix_case(name: &str) -> String {
    NORMALIZATION
        .iter()
        .fold(name.to_string(), |name, (from, to)| name.replace(from, to))
}

/// Parses the probe's output (pure, for tests).
pub fn parse_probe(out: &Section) -> Result<LocaleState> {
    if out.status != 0 {
        bail!("probing locales failed (exit {})", out.status);
    }
    let mut state = LocaleState {
        has_locale_gen: false,
        compiled: Vec::new(),
        supported: Vec::new(),
    };
    let mut saw_mechanism = false;
    for line in lines(out)? {
        match line.split_once('=') {
            Some(("locale_gen", v)) => {
                saw_mechanism = true;
                state.has_locale_gen = v == "yes";
            }
            Some(("compiled", v)) => state.compiled.push(v.to_string()),
            Some(("supported", v)) => state.supported.push(v.to_string()),
            _ => bail!("unexpected probe line {line:?}"),
        }
    }
    if !saw_mechanism {
        bail!("probe: no locale_gen line");
    }
    Ok(state)
}

impl LocaleGen {
    fn missing<'a>(&'a self, have: &LocaleState, among: &'a [String]) -> Vec<&'a String> {
        among
            .iter()
            .filter(|name| {
                !have
                    .compiled
                    .iter()
                    .any(|line| fix_case(line) == fix_case(name))
            })
            .collect()
    }
}

impl Resource for LocaleGen {
    type State = LocaleState;

    fn target(&self) -> String {
        self.names.join(", ")
    }

    /// Every locale lives in `/etc/locale.gen` and the one compiled archive.
    fn key(&self) -> String {
        "/etc/locale.gen".to_string()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.raw(
            r#"if [ -f /etc/locale.gen ]; then echo locale_gen=yes; else echo locale_gen=no; fi
locale -a 2>/dev/null | sed 's/^/compiled=/'"#,
        );
        for name in &self.names {
            // The module's `^\s*#?\s*(\S+[\._\S]+) (\S+)\s*$`: the first word, past an optional
            // `#`, then one charset word.
            script.line(
                r#"[ -f /usr/share/i18n/SUPPORTED ] && awk -v n={} '{ l = $0; sub(/^[ \t]*#?[ \t]*/, "", l); if (split(l, w, " ") == 2 && w[1] == n) f = 1 } END { exit !f }' /usr/share/i18n/SUPPORTED && printf 'supported=%s\n' {}"#,
                &[name, name],
            );
        }
        script.raw(":");
        script
    }

    fn inspect(&self, out: &Section) -> Result<LocaleState> {
        let state = parse_probe(out)?;
        let unknown: Vec<&String> = self
            .missing(&state, &self.names)
            .into_iter()
            .filter(|name| !state.supported.contains(name))
            .collect();
        if !unknown.is_empty() {
            bail!(
                "The following locales you have entered are not available on your system: {}",
                unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
            );
        }
        if !state.has_locale_gen {
            bail!("/etc/locale.gen is missing. Is the package \"locales\" installed?");
        }
        Ok(state)
    }

    fn diff(&self, have: &LocaleState) -> Diff {
        let present = self.missing(have, &self.names).is_empty();
        if present == self.present {
            return Diff::converged();
        }
        let (action, before, after) = if self.present {
            (Action::Create, "absent", "present")
        } else {
            (Action::Remove, "present", "absent")
        };
        let mut diff = Diff::new(action);
        diff.attributes
            .push(AttributeChange::new("state", Some(before), Some(after)));
        diff
    }

    fn apply(&self, _have: &LocaleState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        script.raw(
            r#"f=/etc/locale.gen; t=/etc/.locale.gen.deploy-tmp
cp -p "$f" "$t" || exit 1"#,
        );
        let prefix = if self.present { "" } else { "# " };
        for name in &self.names {
            // Python's `re.sub(r'^#?\s*NAME (?P<charset>.+)', r'PREFIXNAME \g<charset>', line)`.
            script.line(
                r##"awk -v n={} -v p={} '{ l = $0; if (substr(l, 1, 1) == "#") l = substr(l, 2); sub(/^[ \t\r\f\v]*/, "", l); k = length(n) + 1; if (substr(l, 1, k) == n " " && length(l) > k) $0 = p n " " substr(l, k + 1); print }' "$f" > "$t" || { rm -f "$t"; exit 1; }"##,
                &[name, prefix],
            );
            script.raw(r#"mv -f "$t" "$f" && cp -p "$f" "$t" || exit 1"#);
        }
        script.raw(
            r#"rm -f "$t"
locale-gen >&2 || exit 1
deploy_changed"#,
        );
        script
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::{build as build_step, section};
    use serde_json::json;

    #[test]
    fn compares_names_as_the_module_folds_them() {
        let step = build_step(&SPEC, json!({"name": "en_US.UTF-8"}), &NoContext).unwrap();
        let probe = "locale_gen=yes\ncompiled=C\ncompiled=C.utf8\ncompiled=en_US.utf8\ncompiled=POSIX\n";
        assert!(step.plan(&section(probe)).unwrap().0.is_converged());
        let (diff, script) = step
            .plan(&section("locale_gen=yes\ncompiled=C.utf8\nsupported=en_US.UTF-8\n"))
            .unwrap();
        assert_eq!(diff.action, Action::Create);
        assert!(script.as_str().contains("locale-gen"));
        let step = build_step(&SPEC, json!({"name": ["en_US.UTF-8"], "state": "absent"}), &NoContext).unwrap();
        assert_eq!(step.plan(&section(probe)).unwrap().0.action, Action::Remove);
    }

    #[test]
    fn refuses_what_the_module_refuses() {
        let step = build_step(&SPEC, json!({"name": "xx_XX.UTF-8"}), &NoContext).unwrap();
        let err = step.plan(&section("locale_gen=yes\ncompiled=C\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "The following locales you have entered are not available on your system: xx_XX.UTF-8"
        );
        let err = step
            .plan(&section("locale_gen=no\nsupported=xx_XX.UTF-8\n"))
            .unwrap_err();
        assert!(err.to_string().contains("\"locales\" installed"), "{err}");
        assert!(parse_probe(&section("compiled=C\n")).is_err());
    }

    /// The apply script's edit of `/etc/locale.gen`, run here on a copy, gives what Python's
    /// substitution gives.
    #[test]
    fn edits_locale_gen_as_the_module_does() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("locale.gen");
        let before = "# en_US ISO-8859-1\n# en_US.UTF-8 UTF-8\n#en_GB.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\n";
        let run = |names: serde_json::Value, state: &str| {
            let step = LocaleGen {
                names: serde_json::from_value(names).unwrap(),
                present: state == "present",
            };
            let script = step
                .apply(
                    &LocaleState {
                        has_locale_gen: true,
                        compiled: vec![],
                        supported: vec![],
                    },
                    &Diff::new(Action::Create),
                )
                .into_string()
                .replace("/etc/locale.gen", file.to_str().unwrap())
                .replace("/etc/.locale.gen.deploy-tmp", dir.path().join("tmp").to_str().unwrap())
                .replace("locale-gen >&2", "true");
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("deploy_changed() {{ :; }}\n{script}"))
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            std::fs::read_to_string(&file).unwrap()
        };
        std::fs::write(&file, before).unwrap();
        assert_eq!(
            run(json!(["en_US.UTF-8", "en_GB.UTF-8"]), "present"),
            "# en_US ISO-8859-1\nen_US.UTF-8 UTF-8\nen_GB.UTF-8 UTF-8\nfr_FR.UTF-8 UTF-8\n"
        );
        assert_eq!(
            run(json!(["fr_FR.UTF-8"]), "absent"),
            "# en_US ISO-8859-1\nen_US.UTF-8 UTF-8\nen_GB.UTF-8 UTF-8\n# fr_FR.UTF-8 UTF-8\n"
        );
    }
}

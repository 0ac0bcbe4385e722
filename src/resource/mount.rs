//! `mount` (`ansible.posix.mount`): a filesystem's line in `/etc/fstab` and, as asked, the live
//! mount, each probed and diffed on its own.
//!
//! The fstab half is Ansible's edit, computed locally over the probed file (see [`FstabEdit`]):
//! the line whose mount point (or, for swap, whose source) matches is rewritten as
//! `src path fstype opts dump passno` when a field differs, or appended; `absent` drops the
//! six-field lines that match. The live half asks whether the path is a mount point
//! (`mountpoint`, or a line of `/proc/self/mountinfo`), and mounts, remounts after an fstab
//! change, or unmounts with `mount`/`umount`, as the module does: `mounted` creates the
//! directory and puts the old fstab back when mounting fails; `absent` unmounts and removes
//! the directory only when it removed a line; `remounted` always runs.
//!
//! Differences from Ansible: `state: ephemeral` is refused; `path` and `src` are not
//! `~`/`$VAR`-expanded; a path mounted from another source counts as mounted (Ansible's
//! `ismount` does the same for a separate filesystem); the registered result holds only
//! `changed`; a missing fstab is created only when a line is written to it.

use anyhow::{bail, Result};

use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::support::{detach_stdin, yes_no};
use super::text_edit::{split_lines_universal, EditState, EditedFile, TextEdit};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Mounts a filesystem and keeps its fstab line.
///
/// ```yaml
/// - mount:
///     path: /srv/cache
///     src: tmpfs
///     fstype: tmpfs
///     opts: size=64m
///     state: mounted
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "mount",
    fqcn: "ansible.posix.mount",
    params: &[
        P::new("path", Path).required().aliases(&["name"]),
        P::new("src", Path),
        P::new("fstype", Str),
        P::new("opts", Str),
        P::new("opts_no_log", Bool).default(D::Bool(false)),
        P::new("dump", Str).default(D::Str("0")),
        P::new("passno", Str).default(D::Str("0")),
        P::new("state", Str).required().choices(&[
            "absent",
            "absent_from_fstab",
            "mounted",
            "present",
            "unmounted",
            "remounted",
            "ephemeral",
        ]),
        P::new("fstab", Path),
        P::new("boot", Bool).default(D::Bool(true)),
        P::new("backup", Bool).default(D::Bool(false)),
    ],
    required_if: &[
        ("state", "mounted", &["src", "fstype"]),
        ("state", "present", &["src", "fstype"]),
        ("state", "ephemeral", &["src", "fstype"]),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    Ok(Box::new(from_args(args)?))
}

/// What the task asks of the mount.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MountState {
    Mounted,
    Present,
    Unmounted,
    Absent,
    AbsentFromFstab,
    Remounted,
}

impl MountState {
    fn edits_fstab(self) -> Option<bool> {
        match self {
            MountState::Mounted | MountState::Present => Some(true),
            MountState::Absent | MountState::AbsentFromFstab => Some(false),
            MountState::Unmounted | MountState::Remounted => None,
        }
    }
}

/// Ansible's fstab edit, on the fields as the module escapes them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FstabEdit {
    /// The mount point, escaped.
    pub name: String,
    /// `src` as given (for the swap match) and escaped (for the line).
    pub src: Option<String>,
    pub fields: Option<FstabFields>,
    /// Whether the line should be there (`None`: fstab is left alone).
    pub present: Option<bool>,
}

/// The fields written for `present`/`mounted`, escaped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FstabFields {
    pub src: String,
    pub fstype: String,
    pub opts: String,
    pub dump: String,
    pub passno: String,
}

/// The module's `_escape_fstab`: space, `&` and backslash as octal escapes.
fn escape(value: &str) -> String {
    value
        .replace('\\', "\\134")
        .replace(' ', "\\040")
        .replace('&', "\\046")
}

impl FstabEdit {
    /// Whether a line's fields name this mount (the swap case matches on the source).
    fn matches(&self, name: &str, fstype: &str, src: &str) -> bool {
        if name != self.name {
            return false;
        }
        !matches!(&self.src, Some(want) if name == "none" && fstype == "swap" && src != want)
    }

    /// `_set_mount_save_old`: rewrite matching lines whose fields differ, or append.
    fn set(&self, lines: Vec<String>, fields: &FstabFields) -> Option<Vec<String>> {
        let mut changed = false;
        let mut exists = false;
        let mut out = Vec::with_capacity(lines.len() + 1);
        for mut line in lines {
            if !line.ends_with('\n') {
                line.push('\n');
            }
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                out.push(line);
                continue;
            }
            let words: Vec<&str> = line.split('#').next().unwrap_or("").split_whitespace().collect();
            if !(4..=6).contains(&words.len()) || !self.matches(words[1], words[2], words[0]) {
                out.push(line);
                continue;
            }
            exists = true;
            // Missing dump/passno fields are the integer 0 in the module, never equal to the
            // string it compares them with: such a line is always rewritten.
            let have = [
                Some(words[0]),
                Some(words[2]),
                Some(words[3]),
                words.get(4).copied(),
                words.get(5).copied(),
            ];
            let want = [
                fields.src.as_str(),
                fields.fstype.as_str(),
                fields.opts.as_str(),
                fields.dump.as_str(),
                fields.passno.as_str(),
            ];
            let differs = have.iter().zip(want).any(|(h, w)| *h != Some(w));
            // `changed` is the module's one flag for the whole file: once a line differed,
            // every later matching line is rewritten too.
            changed |= differs;
            if changed {
                out.push(fields.line(words[1]));
            } else {
                out.push(line);
            }
        }
        if !exists {
            out.push(fields.line(&self.name));
            changed = true;
        }
        changed.then_some(out)
    }

    /// `unset_mount`: drop the matching six-field lines.
    fn unset(&self, lines: Vec<String>) -> Option<Vec<String>> {
        let before = lines.len();
        let kept: Vec<String> = lines
            .into_iter()
            .filter(|line| {
                let trimmed = line.trim();
                if trimmed.is_empty() || trimmed.starts_with('#') {
                    return true;
                }
                let words: Vec<&str> = line.split_whitespace().collect();
                words.len() != 6 || !self.matches(words[1], words[2], words[0])
            })
            .collect();
        (kept.len() != before).then_some(kept)
    }
}

impl FstabFields {
    fn line(&self, name: &str) -> String {
        format!(
            "{} {name} {} {} {} {}\n",
            self.src, self.fstype, self.opts, self.dump, self.passno
        )
    }
}

impl TextEdit for FstabEdit {
    fn edit(&self, current: Option<&[u8]>) -> Result<Option<Vec<u8>>> {
        let Some(present) = self.present else {
            return Ok(None);
        };
        let text = String::from_utf8_lossy(current.unwrap_or_default());
        // Python reads the file in text mode: `\r\n` and `\r` end lines as `\n` does.
        let lines: Vec<String> = split_lines_universal(text.as_bytes())
            .into_iter()
            .map(|line| {
                let line = String::from_utf8_lossy(&line).into_owned();
                match line.strip_suffix("\r\n").or_else(|| line.strip_suffix('\r')) {
                    Some(stripped) => format!("{stripped}\n"),
                    None => line,
                }
            })
            .collect();
        let edited = match (&self.fields, present) {
            (Some(fields), true) => self.set(lines, fields),
            (_, false) => self.unset(lines),
            (None, true) => bail!("`src` and `fstype` are required to write an fstab line"),
        };
        Ok(edited.map(|lines| lines.concat().into_bytes()))
    }
}

/// A mount point: its fstab line and its live state.
#[derive(Debug)]
pub struct Mount {
    pub path: String,
    pub state: MountState,
    pub fstab: EditedFile<FstabEdit>,
    /// The options given to `mount -o remount,...` for `remounted`.
    pub opts: String,
    /// Whether the fstab is not `/etc/fstab`, so that `mount` is told which (`-T`).
    pub other_fstab: bool,
}

/// What the probe saw.
#[derive(Debug)]
pub struct MountLive {
    pub file: EditState,
    pub mounted: bool,
    pub path_exists: bool,
}

/// Builds the resource from `mount`'s parameters.
pub fn from_args(args: &Args) -> Result<Mount> {
    let path = args.required_str("path")?;
    if path.is_empty() {
        bail!("`path` is empty");
    }
    let state = match args.required_str("state")?.as_str() {
        "mounted" => MountState::Mounted,
        "present" => MountState::Present,
        "unmounted" => MountState::Unmounted,
        "absent" => MountState::Absent,
        "absent_from_fstab" => MountState::AbsentFromFstab,
        "remounted" => MountState::Remounted,
        "ephemeral" => bail!("`state: ephemeral` of module `mount` is not supported by deploy"),
        other => bail!("value of state must be one of: absent, absent_from_fstab, mounted, present, unmounted, remounted, ephemeral, got: {other}"),
    };
    let mut opts = args.str("opts")?.unwrap_or_else(|| "defaults".to_string());
    if !args.bool("boot")?.unwrap_or(true) {
        opts.push_str(",noauto");
    }
    let src = args.str("src")?;
    let fields = match (&src, args.str("fstype")?) {
        (Some(src), Some(fstype)) => Some(FstabFields {
            src: escape(src),
            fstype: escape(&fstype),
            opts: escape(&opts),
            dump: escape(&args.str("dump")?.unwrap_or_else(|| "0".into())),
            passno: escape(&args.str("passno")?.unwrap_or_else(|| "0".into())),
        }),
        _ => None,
    };
    for value in [&path, &opts].into_iter().chain(src.as_ref()) {
        if value.contains(['\n', '\r']) {
            bail!("an fstab field is one line: {value:?}");
        }
    }
    if state.edits_fstab() == Some(true) && fields.is_none() {
        bail!("state is {:?} but all of the following are missing: src, fstype", args.str("state")?.unwrap_or_default());
    }
    let fstab = args.str("fstab")?;
    let other_fstab = fstab.as_deref().is_some_and(|f| f != "/etc/fstab");
    Ok(Mount {
        fstab: EditedFile {
            path: fstab.unwrap_or_else(|| "/etc/fstab".to_string()),
            edit: FstabEdit {
                name: escape(&path),
                src,
                fields,
                present: state.edits_fstab(),
            },
            mode: None,
            owner: None,
            group: None,
            backup: args.flag("backup")?,
            validate: None,
        },
        path,
        state,
        opts,
        other_fstab,
    })
}

impl Mount {
    fn fstab_changes(&self, have: &MountLive) -> bool {
        have.file.wanted.is_some()
    }

    /// `mount [-T fstab] PATH`, or its remount form, with the path in `$m`.
    fn mount_words(&self, script: &mut Script, remount: bool) {
        script.raw("set -- mount");
        if remount {
            if self.state == MountState::Remounted && self.opts != "defaults" {
                script.line("set -- \"$@\" -o {}", &[&format!("remount,{}", self.opts)]);
            } else {
                script.raw("set -- \"$@\" -o remount");
            }
        }
        if self.other_fstab {
            script.line("set -- \"$@\" -T {}", &[&self.fstab.path]);
        }
        script.raw("set -- \"$@\" \"$m\"");
    }
}

/// Whether `$1` is a mount point: `mountpoint` for another filesystem, `mountinfo` for a bind
/// mount within one (what the module's `ismount` and `is_bind_mounted` see).
const IS_MOUNTED: &str = r#"deploy_is_mounted() { mountpoint -q -- "$1" 2>/dev/null || awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo 2>/dev/null; }"#;

impl Resource for Mount {
    type State = MountLive;

    fn target(&self) -> String {
        if self.path == "none" {
            if let Some(src) = &self.fstab.edit.src {
                return src.clone();
            }
        }
        self.path.clone()
    }

    /// Mounts in one fstab edit that file: a later one's probe of it is stale once this one
    /// changes it.
    fn key(&self) -> String {
        Resource::target(&self.fstab)
    }

    fn probe(&self) -> Script {
        let mut script = Resource::probe(&self.fstab);
        script.line("m={}", &[&self.path]);
        script.raw(IS_MOUNTED);
        script.raw(
            r#"if deploy_is_mounted "$m"; then echo mounted=yes; else echo mounted=no; fi
if [ -e "$m" ]; then echo path_exists=yes; else echo path_exists=no; fi"#,
        );
        script
    }

    fn inspect(&self, out: &Section) -> Result<MountLive> {
        let file = Resource::inspect(&self.fstab, out)?;
        let pairs = key_values(out)?;
        Ok(MountLive {
            file,
            mounted: yes_no(value_of(&pairs, "mounted"), "mounted")?,
            path_exists: yes_no(value_of(&pairs, "path_exists"), "path_exists")?,
        })
    }

    fn diff(&self, have: &MountLive) -> Diff {
        let mut diff = Resource::diff(&self.fstab, &have.file);
        let fstab_changes = self.fstab_changes(have);
        let live = |from: &str, to: &str| AttributeChange::new("mounted", Some(from), Some(to));
        match self.state {
            MountState::Mounted if !have.mounted => diff.attributes.push(live("no", "yes")),
            MountState::Mounted if fstab_changes => diff.attributes.push(AttributeChange::new(
                "remount",
                None::<String>,
                None::<String>,
            )),
            MountState::Unmounted if have.mounted => {
                diff.attributes.push(live("yes", "no"));
                diff.action = Action::Change;
            }
            MountState::Absent if fstab_changes && have.mounted => {
                diff.attributes.push(live("yes", "no"));
                diff.action = Action::Remove;
            }
            MountState::Absent | MountState::AbsentFromFstab if fstab_changes => {
                diff.action = Action::Remove;
            }
            MountState::Remounted => {
                diff = Diff::new(Action::Run);
                diff.attributes.push(AttributeChange::new(
                    "remount",
                    None::<String>,
                    None::<String>,
                ));
            }
            _ => {}
        }
        if diff.is_converged() && !diff.attributes.is_empty() {
            diff.action = Action::Change;
        }
        diff
    }

    fn apply(&self, have: &MountLive, _diff: &Diff) -> Script {
        let mut script = Script::new();
        detach_stdin(&mut script);
        script.raw(IS_MOUNTED);
        script.line("m={}", &[&self.path]);
        let fstab_changes = self.fstab_changes(have);
        let write_fstab = |script: &mut Script| {
            let diff = Resource::diff(&self.fstab, &have.file);
            if !diff.is_converged() {
                script.append(&Resource::apply(&self.fstab, &have.file, &diff));
                script.raw("deploy_changed");
            }
        };
        match self.state {
            MountState::Present | MountState::AbsentFromFstab => write_fstab(&mut script),
            MountState::Mounted => {
                script.raw(r#"created=; if [ ! -e "$m" ]; then created=yes; mkdir -p -- "$m" || exit 1; fi"#);
                // Kept to be put back when mounting fails, as the module does.
                script.line("f={}", &[&have.file.real_path]);
                script.raw(r#"old=; if [ -f "$f" ]; then old=$(mktemp "$f.deploy-old.XXXXXX") && cp -p -- "$f" "$old" || exit 1; fi"#);
                write_fstab(&mut script);
                script.raw(
                    r#"deploy_mount_failed() {
  if [ -n "$old" ]; then mv -f -- "$old" "$f"; fi
  if [ -n "$created" ]; then rmdir -- "$m" 2>/dev/null; fi
  printf 'Error mounting %s: %s\n' "$m" "$1" >&2; exit 1
}"#,
                );
                script.raw(
                    r#"if deploy_is_mounted "$m"; then"#,
                );
                if fstab_changes {
                    self.mount_words(&mut script, true);
                    script.raw(r#"  if ! out=$("$@" 2>&1); then out=$(umount -- "$m" 2>&1) && { set -- mount; "#);
                    if self.other_fstab {
                        script.line(r#"    set -- "$@" -T {}; "#, &[&self.fstab.path]);
                    }
                    script.raw(r#"    out=$("$@" "$m" 2>&1); } || deploy_mount_failed "$out"; fi"#);
                    script.raw("  deploy_changed");
                }
                script.raw("  :");
                script.raw("else");
                self.mount_words(&mut script, false);
                script.raw(r#"  out=$("$@" 2>&1) || deploy_mount_failed "$out""#);
                script.raw("  deploy_changed");
                script.raw("fi");
                script.raw(r#"[ -z "$old" ] || rm -f -- "$old""#);
            }
            MountState::Unmounted => {
                script.raw(r#"if deploy_is_mounted "$m"; then out=$(umount -- "$m" 2>&1) || { printf 'Error unmounting %s: %s\n' "$m" "$out" >&2; exit 1; }; deploy_changed; fi"#);
            }
            MountState::Absent => {
                write_fstab(&mut script);
                if fstab_changes {
                    script.raw(r#"if deploy_is_mounted "$m"; then out=$(umount -- "$m" 2>&1) || { printf 'Error unmounting %s: %s\n' "$m" "$out" >&2; exit 1; }; fi
if [ -e "$m" ]; then out=$(rmdir -- "$m" 2>&1) || { printf 'Error rmdir %s: %s\n' "$m" "$out" >&2; exit 1; }; fi"#);
                }
            }
            MountState::Remounted => {
                self.mount_words(&mut script, true);
                if self.state == MountState::Remounted && self.opts != "defaults" {
                    script.raw(r#"out=$("$@" 2>&1) || { printf 'Error remounting %s: %s\n' "$m" "$out" >&2; exit 1; }"#);
                } else {
                    script.raw(r#"if ! out=$("$@" 2>&1); then out=$(umount -- "$m" 2>&1) && { set -- mount; "#);
                    if self.other_fstab {
                        script.line(r#"  set -- "$@" -T {}; "#, &[&self.fstab.path]);
                    }
                    script.raw(r#"  out=$("$@" "$m" 2>&1); } || { printf 'Error remounting %s: %s\n' "$m" "$out" >&2; exit 1; }; fi"#);
                }
                script.raw("deploy_changed");
            }
        }
        script
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::build as build_step;
    use crate::resource::text_edit::testing::{file_probe, values};
    use serde_json::json;

    fn edit(params: serde_json::Value, content: Option<&str>) -> Option<String> {
        let map = values(params);
        from_args(&Args::new(&SPEC, &map))
            .unwrap()
            .fstab
            .edit
            .edit(content.map(str::as_bytes))
            .unwrap()
            .map(|b| String::from_utf8(b).unwrap())
    }

    const FSTAB: &str = "# /etc/fstab\nUUID=1 / ext4 errors=remount-ro 0 1\n";

    #[test]
    fn edits_fstab_as_the_module_does() {
        let tmpfs = json!({"path": "/srv/cache", "src": "tmpfs", "fstype": "tmpfs",
            "opts": "size=16m", "state": "present"});
        let added = format!("{FSTAB}tmpfs /srv/cache tmpfs size=16m 0 0\n");
        assert_eq!(edit(tmpfs.clone(), Some(FSTAB)), Some(added.clone()));
        assert_eq!(edit(tmpfs.clone(), Some(&added)), None);
        assert_eq!(
            edit(tmpfs.clone(), Some("tmpfs  /srv/cache\ttmpfs size=8m 0 0 # old\n")),
            Some("tmpfs /srv/cache tmpfs size=16m 0 0\n".to_string())
        );
        assert_eq!(
            edit(tmpfs.clone(), Some("tmpfs /srv/cache tmpfs size=16m\n")),
            Some("tmpfs /srv/cache tmpfs size=16m 0 0\n".to_string()),
            "missing dump and passno always differ"
        );
        assert_eq!(edit(tmpfs, None), Some("tmpfs /srv/cache tmpfs size=16m 0 0\n".to_string()));
        let swap = json!({"path": "none", "src": "/swapfile", "fstype": "swap", "opts": "sw",
            "state": "present"});
        let other_swap = "/other none swap sw 0 0\n";
        assert_eq!(
            edit(swap.clone(), Some(other_swap)),
            Some(format!("{other_swap}/swapfile none swap sw 0 0\n")),
            "swap lines match on their source"
        );
        let spaced = json!({"path": "/mnt/a b", "src": "/srv/a&b", "fstype": "none",
            "opts": "bind", "boot": false, "state": "present"});
        assert_eq!(
            edit(spaced, Some("")),
            Some("/srv/a\\046b /mnt/a\\040b none bind,noauto 0 0\n".to_string())
        );
        let absent = json!({"path": "none", "src": "/swapfile", "state": "absent"});
        assert_eq!(
            edit(absent.clone(), Some(&format!("{other_swap}/swapfile none swap sw 0 0\n"))),
            Some(other_swap.to_string())
        );
        assert_eq!(edit(absent, Some(other_swap)), None);
        assert_eq!(edit(json!({"path": "/x", "state": "unmounted"}), Some(FSTAB)), None);
    }

    fn probe(fstab: &str, mounted: bool, exists: bool) -> Section {
        let mut out = file_probe("/etc/fstab", Some(fstab.as_bytes())).output;
        let yes = |b: bool| if b { "yes" } else { "no" };
        out.extend(format!("mounted={}\npath_exists={}\n", yes(mounted), yes(exists)).bytes());
        Section { output: out, status: 0 }
    }

    #[test]
    fn plans_fstab_and_live_state_separately() {
        let params = json!({"path": "/srv/cache", "src": "tmpfs", "fstype": "tmpfs", "state": "mounted"});
        let step = build_step(&SPEC, params.clone(), &NoContext).unwrap();
        let line = "tmpfs /srv/cache tmpfs defaults 0 0\n";
        let (diff, script) = step.plan(&probe(line, true, true)).unwrap();
        assert!(diff.is_converged(), "{diff:?}");
        assert!(script.is_empty());
        let (diff, script) = step.plan(&probe(line, false, true)).unwrap();
        assert_eq!(diff.action, Action::Change);
        assert_eq!(diff.attributes[0].describe(), "mounted no → yes");
        assert!(diff.content.is_none());
        assert!(script.as_str().contains("set -- mount"));
        let (diff, script) = step.plan(&probe("", true, true)).unwrap();
        assert!(diff.content.unwrap().contains("+tmpfs /srv/cache"));
        assert!(script.as_str().contains("-o remount"), "{}", script.as_str());
        let step = build_step(&SPEC, json!({"path": "/srv/cache", "state": "unmounted"}), &NoContext).unwrap();
        assert!(step.plan(&probe("", false, true)).unwrap().0.is_converged());
        let (diff, script) = step.plan(&probe("", true, true)).unwrap();
        assert_eq!(diff.attributes[0].describe(), "mounted yes → no");
        assert!(script.as_str().contains("umount"));
        let step = build_step(&SPEC, json!({"path": "/srv/cache", "state": "absent"}), &NoContext).unwrap();
        assert!(
            step.plan(&probe("", true, true)).unwrap().0.is_converged(),
            "without a line, absent leaves the mount, as the module does"
        );
        let (diff, script) = step.plan(&probe(line, true, true)).unwrap();
        assert_eq!(diff.action, Action::Remove);
        assert!(script.as_str().contains("rmdir"));
        let step = build_step(&SPEC, json!({"path": "/srv/cache", "state": "remounted"}), &NoContext).unwrap();
        assert_eq!(step.plan(&probe(line, true, true)).unwrap().0.action, Action::Run);
    }

    #[test]
    fn refuses_what_it_cannot_do() {
        for params in [
            json!({"path": "/x", "src": "tmpfs", "fstype": "tmpfs", "state": "ephemeral"}),
            json!({"path": "/x", "state": "mounted"}),
            json!({"path": "/x\n/y", "src": "a", "fstype": "b", "state": "present"}),
        ] {
            assert!(build_step(&SPEC, params.clone(), &NoContext).is_err(), "{params}");
        }
    }

    /// Mounting needs root and a kernel that lets this process mount; the fstab half and the
    /// path checks run anywhere, against a temporary fstab.
    #[test]
    fn converges_a_temporary_fstab_here() {
        let dir = tempfile::tempdir().unwrap();
        let fstab = dir.path().join("fstab");
        let params = json!({"path": "none", "src": "/swapfile", "fstype": "swap", "opts": "sw",
            "state": "present", "fstab": fstab.to_str().unwrap()});
        let step = build_step(&SPEC, params, &NoContext).unwrap();
        let diff = crate::resource::text_edit::testing::converge_here(step.as_ref());
        assert_eq!(diff.action, Action::Create);
        assert_eq!(std::fs::read_to_string(&fstab).unwrap(), "/swapfile none swap sw 0 0\n");
    }
}

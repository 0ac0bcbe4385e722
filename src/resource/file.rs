//! `file`: a path's existence, type (file, directory, link), mode and ownership.
//!
//! Each state follows Ansible's `file` module: what it refuses (a missing path with
//! `state: file`, a file in the way of a link without `force`), which path attributes go to
//! (a followed link's target), and what it creates (every missing parent of a directory gets
//! the task's attributes). A wrong symlink is replaced atomically (new link beside it, then
//! `mv -T`), so readers never see the path missing. With `follow` (the default), `mode`,
//! `owner` and `group` on `state: link` go to what the link points at, as Ansible sets them on
//! the link's real path. `modification_time`/`access_time` (`preserve`, `now`, or a timestamp
//! read with `*_time_format` in the host's time zone) are compared with nanoseconds, as
//! Ansible compares `st_mtime`, so a set time converges on the next run.
//!
//! Differences from Ansible: `seuser`, `serole`, `setype` and `selevel` are accepted and
//! ignored, also on a host where SELinux is on; `mode` on a link with `follow: false` is
//! refused (Ansible reports a change on every run there); time formats may use `%Y %y %m %d
//! %H %M %S`; `attributes` and `unsafe_writes` are refused.
use anyhow::{bail, Context, Result};
use base64::Engine as _;
use serde_json::Value;

use super::lifecycle::{key_values, value_of, Args, BuildContext, Resource, Step};
use super::path_state::{self, format_mode, resolve_mode, Kind, PathState};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::{Action, AttributeChange, Diff};
use crate::probe::Section;
use crate::shell::Script;

/// Sets the state of a path.
///
/// ```yaml
/// - file:
///     path: /srv/app
///     state: directory
///     owner: app
///     mode: "0755"
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "file",
    fqcn: "ansible.builtin.file",
    params: &[
        P::new("path", Path).required().aliases(&["dest", "name"]),
        P::new("state", Str).choices(&["absent", "directory", "file", "hard", "link", "touch"]),
        P::new("mode", Mode),
        P::new("owner", Str),
        P::new("group", Str),
        P::new("src", Path),
        P::new("recurse", Bool).default(D::Bool(false)),
        P::new("force", Bool).default(D::Bool(false)),
        P::new("follow", Bool).default(D::Bool(true)),
        P::new("modification_time", Str),
        P::new("modification_time_format", Str).default(D::Str("%Y%m%d%H%M.%S")),
        P::new("access_time", Str),
        P::new("access_time_format", Str).default(D::Str("%Y%m%d%H%M.%S")),
        P::new("attributes", Str).aliases(&["attr"]),
        P::new("unsafe_writes", Bool),
        // SELinux contexts: accepted and left alone, as Ansible does where SELinux is off.
        P::new("seuser", Str),
        P::new("serole", Str),
        P::new("setype", Str),
        P::new("selevel", Str),
    ],
    required_if: &[("state", "link", &["src"]), ("state", "hard", &["src"])],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&["attributes", "unsafe_writes"])?;
    let state = match args.str("state")?.as_deref() {
        None => None,
        Some("file") => Some(Wanted::File),
        Some("directory") => Some(Wanted::Directory),
        Some("link") => Some(Wanted::Link),
        Some("hard") => Some(Wanted::Hard),
        Some("touch") => Some(Wanted::Touch),
        Some("absent") => Some(Wanted::Absent),
        Some(other) => bail!("unknown state `{other}` for module `file`"),
    };
    let recurse = args.flag("recurse")?;
    let src = args.str("src")?;
    if recurse && !matches!(state, None | Some(Wanted::Directory)) {
        bail!("recurse option requires state to be 'directory'");
    }
    if src.is_some() && !matches!(state, Some(Wanted::Link | Wanted::Hard)) {
        bail!("src option requires state to be 'link' or 'hard'");
    }
    if matches!(state, Some(Wanted::Link | Wanted::Hard)) && src.is_none() {
        bail!("src is required for creating new links");
    }
    let mode = args.value("mode");
    if recurse && matches!(&mode, Some(Value::String(s)) if !s.bytes().all(|b| b.is_ascii_digit())) {
        bail!("`recurse` with a symbolic mode is not supported by deploy; give an octal mode");
    }
    let follow = args.bool("follow")?.unwrap_or(true);
    if matches!(state, Some(Wanted::Link)) && mode.is_some() && !follow {
        // Linux links have no mode of their own: Ansible chmods the target, puts its mode
        // back, and reports a change on every run.
        bail!("`mode` on a symbolic link with `follow: false` is not supported by deploy (Linux links have no mode of their own; with `follow: true` it applies to the target)");
    }
    let touch = matches!(state, Some(Wanted::Touch));
    let times = [
        ("modification_time", "modification_time_format", Clock::Modification),
        ("access_time", "access_time_format", Clock::Access),
    ]
    .into_iter()
    .map(|(name, format, clock)| {
        let value = args.str(name)?;
        let format = args.str(format)?.unwrap_or_else(|| "%Y%m%d%H%M.%S".into());
        // Ansible's default: `touch` sets both times to now, every other state keeps them.
        let time = match value.as_deref() {
            None if touch => TimeWanted::Now,
            None | Some("preserve") => TimeWanted::Preserve,
            Some("now") => TimeWanted::Now,
            Some(text) => TimeWanted::At(parse_time(text, &format).with_context(|| {
                format!("Error while obtaining timestamp for time {text} using format {format}")
            })?),
        };
        Ok((clock, time))
    })
    .collect::<Result<Vec<_>>>()?;
    let path = args.required_str("path")?;
    if let (Some(Wanted::Hard), Some(src)) = (&state, &src) {
        if !src.starts_with('/') {
            bail!("`src` of a hard link must be an absolute path, found `{src}`");
        }
    }
    Ok(Box::new(FileResource {
        path,
        state,
        mode,
        owner: args.str("owner")?,
        group: args.str("group")?,
        src,
        recurse,
        force: args.flag("force")?,
        follow,
        times,
    }))
}

/// Which of a path's times a parameter sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Clock {
    Modification,
    Access,
}

impl Clock {
    fn name(self) -> &'static str {
        match self {
            Clock::Modification => "mtime",
            Clock::Access => "atime",
        }
    }

    /// `stat`'s format for the time with nanoseconds, and `touch`'s flag.
    fn stat_format(self) -> &'static str {
        match self {
            Clock::Modification => "%.9Y",
            Clock::Access => "%.9X",
        }
    }

    fn touch_flag(self) -> &'static str {
        match self {
            Clock::Modification => "-m",
            Clock::Access => "-a",
        }
    }
}

/// What `modification_time`/`access_time` ask for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TimeWanted {
    Preserve,
    /// Set to the current time: a change on every run, as in Ansible.
    Now,
    /// A local time of the host, `YYYY-MM-DD HH:MM:SS`, as GNU `date -d` reads it (Ansible
    /// reads the timestamp with `time.mktime`, in the host's time zone too).
    At(String),
}

/// Reads `text` with a Python `strptime` format, into `YYYY-MM-DD HH:MM:SS`. The directives
/// timestamps use (`%Y %y %m %d %H %M %S %%`) are read; others are refused.
pub fn parse_time(text: &str, format: &str) -> Result<String> {
    let mut fields = [1900i64, 1, 1, 0, 0, 0];
    let mut rest = text;
    let mut directives = format.chars();
    while let Some(c) = directives.next() {
        if c != '%' {
            rest = rest
                .strip_prefix(c)
                .with_context(|| format!("time data {text:?} does not match format {format:?}"))?;
            continue;
        }
        let directive = directives.next().context("a format ending in `%`")?;
        let (index, width) = match directive {
            'Y' => (0, 4),
            'y' => (0, 2),
            'm' => (1, 2),
            'd' => (2, 2),
            'H' => (3, 2),
            'M' => (4, 2),
            'S' => (5, 2),
            '%' => {
                rest = rest.strip_prefix('%').context("time data does not match format")?;
                continue;
            }
            other => bail!("the format directive %{other} is not supported by deploy"),
        };
        // Python takes up to `width` digits (fewer when the next character is not one).
        let digits = rest.bytes().take(width).take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            bail!("time data {text:?} does not match format {format:?}");
        }
        let mut value: i64 = rest[..digits].parse()?;
        if directive == 'y' {
            value += if value < 69 { 2000 } else { 1900 };
        }
        fields[index] = value;
        rest = &rest[digits..];
    }
    if !rest.is_empty() {
        bail!("unconverted data remains: {rest}");
    }
    let [year, month, day, hour, minute, second] = fields;
    if !(1..=12).contains(&month) || !(1..=31).contains(&day) || hour > 23 || minute > 59 || second > 61 {
        bail!("time data {text:?} does not match format {format:?}");
    }
    Ok(format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}:{second:02}"))
}

/// The `state:` asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wanted {
    File,
    Directory,
    Link,
    Hard,
    Touch,
    Absent,
}

/// A path's state, type and attributes.
#[derive(Clone, Debug)]
pub struct FileResource {
    pub path: String,
    /// `None`: the path's current type (Ansible's default), `file` when it is missing.
    pub state: Option<Wanted>,
    pub mode: Option<Value>,
    pub owner: Option<String>,
    pub group: Option<String>,
    pub src: Option<String>,
    pub recurse: bool,
    pub force: bool,
    pub follow: bool,
    /// `modification_time` and `access_time`.
    pub times: Vec<(Clock, TimeWanted)>,
}

/// What the probe found about the path, its link target and `src`.
#[derive(Clone, Debug)]
pub struct FileState {
    pub path: PathState,
    /// The state that applies (the default resolved against the host).
    pub wanted: Wanted,
    /// The path attributes are read from and set on: the link's target when following it.
    pub operated: String,
    pub operated_state: PathState,
    pub inode: Option<String>,
    pub src_exists: bool,
    pub src_inode: Option<String>,
    pub directory_empty: bool,
    /// `recurse`: some entry below the directory has other attributes.
    pub below_differs: bool,
    /// What a link (`state: link`) points at, when it exists: with `follow`, its mode and
    /// ownership are the ones set.
    pub link_target: Option<PathState>,
    /// Per time asked for: the path's time now (`stat`'s `%.9Y`), and the wanted one in
    /// seconds since the epoch (a timestamp read on the host, in its time zone).
    pub times: Vec<(Clock, Option<String>, Option<String>)>,
}

impl FileResource {
    /// The times asked for (not `preserve`).
    fn set_times(&self) -> impl Iterator<Item = &(Clock, TimeWanted)> {
        self.times.iter().filter(|(_, t)| *t != TimeWanted::Preserve)
    }

    /// Prints each asked-for time of the path the times go to (a link's target through `$s`
    /// when the link is followed), and the wanted one read on the host.
    fn times_probe(&self, script: &mut Script) {
        for (clock, wanted) in self.set_times() {
            let name = clock.name();
            if let TimeWanted::At(local) = wanted {
                script.line(r#"w=$(date -d {} +%s) && echo {}_want=$w"#, &[local, name]);
            }
            let through_link = self.state == Some(Wanted::Link);
            match (through_link, self.follow) {
                (true, true) => script.line(
                    r#"if [ -e "$s" ]; then echo {}_have=$(stat -L -c {} -- "$s"); fi"#,
                    &[name, clock.stat_format()],
                ),
                (_, true) => script.line(
                    r#"if [ -e "$p" ]; then echo {}_have=$(stat -L -c {} -- "$p"); fi"#,
                    &[name, clock.stat_format()],
                ),
                (_, false) => script.line(
                    r#"if [ -e "$p" ] || [ -L "$p" ]; then echo {}_have=$(stat -c {} -- "$p"); fi"#,
                    &[name, clock.stat_format()],
                ),
            };
        }
    }

    /// The time changes the task asks for, given what the probe saw.
    fn time_changes(&self, have: &FileState) -> Vec<AttributeChange> {
        let mut changes = Vec::new();
        for ((clock, wanted), (_, now, want)) in self.set_times().zip(&have.times) {
            match wanted {
                TimeWanted::Now => changes.push(AttributeChange::new(clock.name(), None::<String>, Some("now"))),
                TimeWanted::At(local) => {
                    let exact = want.as_ref().map(|w| format!("{w}.000000000"));
                    if exact.is_none() || now.is_none() || *now != exact {
                        changes.push(AttributeChange::new(clock.name(), now.clone(), Some(local.clone())));
                    }
                }
                TimeWanted::Preserve => {}
            }
        }
        changes
    }

    /// Lines that set the asked-for times on `$t` when they differ.
    fn times_script(&self, script: &mut Script) {
        for (clock, wanted) in self.set_times() {
            match wanted {
                TimeWanted::Now => {
                    script.line(r#"touch {} -- "$t" || exit 1; deploy_changed"#, &[clock.touch_flag()]);
                }
                TimeWanted::At(local) => {
                    script.line(
                        r#"w=$(date -d {} +%s) || exit 1; [ "$(stat -L -c {} -- "$t")" = "$w.000000000" ] || { touch {} -d "@$w" -- "$t" && deploy_changed; } || exit 1"#,
                        &[local, clock.stat_format(), clock.touch_flag()],
                    );
                }
                TimeWanted::Preserve => {}
            }
        }
    }

    /// `src` as the link will resolve it: relative to the link's directory.
    fn absolute_src(&self) -> Option<String> {
        let src = self.src.as_ref()?;
        if src.starts_with('/') {
            return Some(src.clone());
        }
        let dir = match self.path.rsplit_once('/') {
            Some(("", _)) => "/",
            Some((dir, _)) => dir,
            None => ".",
        };
        Some(format!("{dir}/{src}"))
    }

    fn octal_mode(&self) -> Option<String> {
        match &self.mode {
            Some(Value::Number(n)) => n.as_u64().map(|n| format!("{:04o}", n & 0o7777)),
            Some(Value::String(s)) if s.bytes().all(|b| b.is_ascii_digit()) => u32::from_str_radix(s, 8)
                .ok()
                .map(|n| format!("{:04o}", n & 0o7777)),
            _ => None,
        }
    }

    fn wanted_mode(&self, state: &PathState, is_directory: bool) -> Result<Option<String>> {
        let current = state.mode.as_deref().and_then(|m| u32::from_str_radix(m, 8).ok());
        self.mode
            .as_ref()
            .map(|m| resolve_mode(m, current, is_directory).map(format_mode))
            .transpose()
    }

    /// Mode, owner and group changes for an existing path.
    fn attribute_changes(
        &self,
        state: &PathState,
        is_directory: bool,
        with_mode: bool,
    ) -> Vec<AttributeChange> {
        let mut changes = Vec::new();
        if with_mode {
            if let (Ok(Some(wanted)), Some(current)) = (self.wanted_mode(state, is_directory), &state.mode) {
                if &wanted != current {
                    changes.push(AttributeChange::new("mode", Some(current.clone()), Some(wanted)));
                }
            }
        }
        if let Some(owner) = &self.owner {
            if !same_account(owner, state.owner.as_deref(), state.uid) {
                changes.push(AttributeChange::new(
                    "owner",
                    state.owner.clone(),
                    Some(owner.clone()),
                ));
            }
        }
        if let Some(group) = &self.group {
            if !same_account(group, state.group.as_deref(), state.gid) {
                changes.push(AttributeChange::new(
                    "group",
                    state.group.clone(),
                    Some(group.clone()),
                ));
            }
        }
        changes
    }

    /// Lines that set mode, owner and group on `$t` when they differ; `no_dereference` for
    /// the link itself.
    fn attribute_script(&self, script: &mut Script, mode: Option<&str>, no_dereference: bool) {
        if let Some(mode) = mode {
            let bare = mode.trim_start_matches('0');
            let bare = if bare.is_empty() { "0" } else { bare };
            script.line(
                r#"[ "$(stat -c %a -- "$t")" = {} ] || { chmod {} "$t" && deploy_changed; } || exit 1"#,
                &[bare, mode],
            );
        }
        if let Some(owner) = &self.owner {
            let field = id_or_name(owner, "%u", "%U");
            let template = if no_dereference {
                r#"[ "$(stat -c {} -- "$t")" = {} ] || { chown -h -- {} "$t" && deploy_changed; } || exit 1"#
            } else {
                r#"[ "$(stat -c {} -- "$t")" = {} ] || { chown -- {} "$t" && deploy_changed; } || exit 1"#
            };
            script.line(template, &[field, owner, owner]);
        }
        if let Some(group) = &self.group {
            let field = id_or_name(group, "%g", "%G");
            let template = if no_dereference {
                r#"[ "$(stat -c {} -- "$t")" = {} ] || { chgrp -h -- {} "$t" && deploy_changed; } || exit 1"#
            } else {
                r#"[ "$(stat -c {} -- "$t")" = {} ] || { chgrp -- {} "$t" && deploy_changed; } || exit 1"#
            };
            script.line(template, &[field, group, group]);
        }
    }
}

pub(crate) fn id_or_name(value: &str, id: &'static str, name: &'static str) -> &'static str {
    if value.bytes().all(|b| b.is_ascii_digit()) {
        id
    } else {
        name
    }
}

/// Whether an `owner:`/`group:` parameter (a name or a number) names the current one.
pub(crate) fn same_account(wanted: &str, name: Option<&str>, id: Option<u32>) -> bool {
    match wanted.parse::<u32>() {
        Ok(number) => id == Some(number),
        Err(_) => name == Some(wanted),
    }
}

/// Parses the `PREFIX`-prefixed `key=value` lines as a path state of their own.
fn prefixed_state(pairs: &[(String, String)], prefix: &str) -> Result<Option<PathState>> {
    let text: String = pairs
        .iter()
        .filter_map(|(k, v)| k.strip_prefix(prefix).map(|k| format!("{k}={v}\n")))
        .collect();
    if text.is_empty() {
        return Ok(None);
    }
    path_state::inspect(&Section {
        output: text.into_bytes(),
        status: 0,
    })
    .map(Some)
}

impl Resource for FileResource {
    type State = FileState;

    fn target(&self) -> String {
        self.path.clone()
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        // No digest: reading the file would move the access time this step may set.
        path_state::probe_metadata(&mut script, &self.path);
        script.raw(
            r#"if [ -L "$p" ]; then
  if [ -d "$p" ]; then echo target_kind=directory; elif [ -f "$p" ]; then echo target_kind=file; elif [ -e "$p" ]; then echo target_kind=other; else echo target_kind=absent; fi
  if [ -e "$p" ]; then printf 'target_real=%s\n' "$(readlink -f -- "$p" | base64 -w0)"; stat -L -c 'target_mode=%a
target_uid=%u
target_gid=%g
target_owner=%U
target_group=%G' -- "$p"; fi
fi
if [ -d "$p" ] && [ ! -L "$p" ]; then
  e=yes; for f in "$p"/* "$p"/.[!.]* "$p"/..?*; do if [ -e "$f" ] || [ -L "$f" ]; then e=no; break; fi; done; echo "empty=$e"
fi"#,
        );
        if let Some(src) = self.absolute_src() {
            script.line(
                r#"s={}; if [ -e "$s" ]; then echo src_exists=yes; echo "src_inode=$(stat -L -c %d:%i -- "$s")"; else echo src_exists=no; fi"#,
                &[&src],
            );
            if self.state == Some(Wanted::Link) && self.follow {
                script.raw(
                    r#"if [ -e "$s" ]; then if [ -d "$s" ]; then echo srcfile_kind=directory; else echo srcfile_kind=file; fi; stat -L -c 'srcfile_mode=%a
srcfile_uid=%u
srcfile_gid=%g
srcfile_owner=%U
srcfile_group=%G' -- "$s"; fi"#,
                );
            }
        }
        self.times_probe(&mut script);
        if self.recurse {
            // Links below are left alone (their targets may be anywhere): only real entries
            // count. A failing `find` (an owner not created yet) counts as a difference.
            if let Some(owner) = &self.owner {
                script.line(
                    r#"[ -d "$p" ] && [ -n "$(find "$p" -mindepth 1 ! -type l ! -user {} -print -quit 2>/dev/null || echo error)" ] && echo below=differs"#,
                    &[owner],
                );
            }
            if let Some(group) = &self.group {
                script.line(
                    r#"[ -d "$p" ] && [ -n "$(find "$p" -mindepth 1 ! -type l ! -group {} -print -quit 2>/dev/null || echo error)" ] && echo below=differs"#,
                    &[group],
                );
            }
            if let Some(mode) = self.octal_mode() {
                script.line(
                    r#"[ -d "$p" ] && [ -n "$(find "$p" -mindepth 1 ! -type l ! -perm {} -print -quit 2>/dev/null || echo error)" ] && echo below=differs"#,
                    &[&mode],
                );
            }
            script.raw("true");
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<FileState> {
        let path = path_state::inspect(out)?;
        let pairs = key_values(out)?;
        let target = prefixed_state(&pairs, "target_")?;
        let real = value_of(&pairs, "target_real")
            .map(|v| {
                base64::engine::general_purpose::STANDARD
                    .decode(v)
                    .context("probe: bad base64 in target_real")
                    .and_then(|b| String::from_utf8(b).context("probe: link target is not UTF-8"))
                    .map(|t| t.trim_end_matches('\n').to_string())
            })
            .transpose()?;
        let wanted = match (self.state, path.kind) {
            (Some(wanted), _) => wanted,
            (None, Kind::Absent) if self.recurse => Wanted::Directory,
            (None, Kind::Absent) => Wanted::File,
            (None, Kind::Directory) => Wanted::Directory,
            (None, Kind::Link) => Wanted::Link,
            (None, _) => Wanted::File,
        };
        let follows = self.follow
            && path.kind == Kind::Link
            && matches!(wanted, Wanted::File | Wanted::Directory | Wanted::Touch);
        let (operated, operated_state) = match (&target, &real) {
            (Some(target), Some(real)) if follows => (real.clone(), target.clone()),
            _ => (self.path.clone(), path.clone()),
        };
        let src_exists = value_of(&pairs, "src_exists") == Some("yes");
        let state = FileState {
            wanted,
            operated,
            inode: value_of(&pairs, "inode").map(str::to_string),
            src_exists,
            src_inode: value_of(&pairs, "src_inode").map(str::to_string),
            directory_empty: value_of(&pairs, "empty") == Some("yes"),
            below_differs: value_of(&pairs, "below") == Some("differs"),
            link_target: prefixed_state(&pairs, "srcfile_")?,
            times: self
                .set_times()
                .map(|(clock, _)| {
                    let read = |suffix: &str| value_of(&pairs, &format!("{}_{suffix}", clock.name())).map(str::to_string);
                    (*clock, read("have"), read("want"))
                })
                .collect(),
            operated_state,
            path,
        };
        let kind = state.operated_state.kind;
        let shown = &state.operated;
        match wanted {
            Wanted::File if kind == Kind::Absent || (kind == Kind::Link && follows) => {
                bail!("file ({shown}) is absent, cannot continue")
            }
            Wanted::File if matches!(kind, Kind::Directory | Kind::Link) => {
                bail!(
                    "file ({shown}) is {}, cannot continue",
                    if kind == Kind::Link { "link" } else { "directory" }
                )
            }
            Wanted::Directory if matches!(kind, Kind::File | Kind::Other) => {
                bail!("{shown} already exists as a file")
            }
            Wanted::Directory if kind == Kind::Link => {
                bail!("{shown} already exists as a link")
            }
            Wanted::Link => {
                // A missing source may be created by an earlier step of the same run: the
                // apply script checks it when the link is made.
                let _ = src_exists;
                match kind {
                    Kind::Directory if !self.force => {
                        bail!("refusing to convert from directory to symlink for {}", self.path)
                    }
                    Kind::Directory if !state.directory_empty => {
                        bail!("the directory {} is not empty, refusing to convert it", self.path)
                    }
                    Kind::File | Kind::Other if !self.force => {
                        bail!("refusing to convert from file to symlink for {}", self.path)
                    }
                    _ => {}
                }
            }
            Wanted::Hard => {
                if !src_exists {
                    bail!("src does not exist: {}", self.src.as_deref().unwrap_or_default());
                }
                let same = state.inode.is_some() && state.inode == state.src_inode;
                match kind {
                    Kind::File | Kind::Other if !same && !self.force => {
                        bail!("Cannot link, file exists at destination: {}", self.path)
                    }
                    Kind::Directory => bail!("Cannot link: {} is a directory", self.path),
                    _ => {}
                }
            }
            _ => {}
        }
        if !matches!(wanted, Wanted::Link | Wanted::Absent) {
            self.wanted_mode(
                &state.operated_state,
                kind == Kind::Directory || wanted == Wanted::Directory,
            )?;
        }
        Ok(state)
    }

    fn diff(&self, have: &FileState) -> Diff {
        let mut diff = self.path_diff(have);
        if have.wanted == Wanted::Absent {
            return diff;
        }
        let times = self.time_changes(have);
        if !times.is_empty() {
            let now = self.set_times().any(|(_, t)| *t == TimeWanted::Now);
            if diff.action == Action::Converged {
                diff.action = if now { Action::Run } else { Action::Change };
            }
            diff.attributes.extend(times);
        }
        diff
    }

    fn apply(&self, have: &FileState, diff: &Diff) -> Script {
        let mut script = self.path_apply(have, diff);
        if have.wanted != Wanted::Absent && have.wanted != Wanted::Link {
            script.line("t={}", &[&have.operated]);
            self.times_script(&mut script);
        }
        script
    }

    /// A directory, file or removal at `path` (and what is below it); not links and hard
    /// links, which involve `src`, nor a path that is a link now, whose attributes would
    /// change its target.
    fn confined_to(&self, out: &Section) -> Option<Vec<String>> {
        if matches!(self.state, Some(Wanted::Link | Wanted::Hard)) {
            return None;
        }
        path_state::confinement(out, &self.path)
    }
}

impl FileResource {
    /// The path's type, link and attributes (times aside).
    fn path_diff(&self, have: &FileState) -> Diff {
        let current = &have.operated_state;
        let is_directory = have.wanted == Wanted::Directory || current.kind == Kind::Directory;
        let new_attributes = |with_mode: bool| -> Vec<AttributeChange> {
            let mut list = Vec::new();
            if with_mode {
                if let Ok(Some(mode)) = self.wanted_mode(current, is_directory) {
                    list.push(AttributeChange::new("mode", None::<String>, Some(mode)));
                }
            }
            for (name, value) in [("owner", &self.owner), ("group", &self.group)] {
                if let Some(value) = value {
                    list.push(AttributeChange::new(name, None::<String>, Some(value.clone())));
                }
            }
            list
        };
        match have.wanted {
            Wanted::Absent => {
                if have.path.kind == Kind::Absent {
                    Diff::converged()
                } else {
                    let mut diff = Diff::new(Action::Remove);
                    diff.attributes.push(AttributeChange::new(
                        "state",
                        Some(have.path.kind.name()),
                        Some("absent"),
                    ));
                    diff
                }
            }
            Wanted::Touch if current.kind == Kind::Absent => {
                let mut diff = Diff::new(Action::Create);
                diff.attributes
                    .push(AttributeChange::new("state", Some("absent"), Some("file")));
                diff.attributes.extend(new_attributes(true));
                diff
            }
            // Times left as they are (`preserve`) make a touch of an existing path converge.
            Wanted::Touch => Diff::from_attributes(self.attribute_changes(current, is_directory, true)),
            Wanted::File => Diff::from_attributes(self.attribute_changes(current, false, true)),
            Wanted::Directory if current.kind == Kind::Absent => {
                let mut diff = Diff::new(Action::Create);
                diff.attributes
                    .push(AttributeChange::new("state", Some("absent"), Some("directory")));
                diff.attributes.extend(new_attributes(true));
                diff
            }
            Wanted::Directory => {
                let mut changes = self.attribute_changes(current, true, true);
                if have.below_differs {
                    changes.push(AttributeChange::new(
                        "entries below",
                        Some("differ"),
                        Some(self.recursive_summary()),
                    ));
                }
                Diff::from_attributes(changes)
            }
            Wanted::Link => {
                let src = self.src.clone();
                // Followed (the default), attributes go to what the link points at, as
                // Ansible sets them on the link's real path; a target missing then is left
                // alone (Ansible warns). Not followed, owner and group go to the link itself.
                let attributes = match (&have.link_target, self.follow) {
                    (Some(target), true) => {
                        self.attribute_changes(target, target.kind == Kind::Directory, true)
                    }
                    (None, true) => Vec::new(),
                    (_, false) if have.path.kind == Kind::Link => {
                        self.attribute_changes(&have.path, false, false)
                    }
                    (_, false) => new_attributes(false),
                };
                match (have.path.kind, &src) {
                    (Kind::Absent, Some(src)) => {
                        let mut diff = Diff::new(Action::Create);
                        diff.attributes.push(AttributeChange::new(
                            "link",
                            None::<String>,
                            Some(format!("→ {src}")),
                        ));
                        diff.attributes.extend(attributes);
                        diff
                    }
                    (Kind::Link, Some(src)) if have.path.link.as_deref() != Some(src.as_str()) => {
                        let mut diff = Diff::new(Action::Change);
                        diff.attributes.push(AttributeChange::new(
                            "link",
                            have.path.link.clone(),
                            Some(src.clone()),
                        ));
                        diff.attributes.extend(attributes);
                        diff
                    }
                    (Kind::Link, _) => Diff::from_attributes(attributes),
                    (kind, _) => {
                        let mut diff = Diff::new(Action::Change);
                        diff.attributes
                            .push(AttributeChange::new("type", Some(kind.name()), Some("link")));
                        diff.attributes.extend(attributes);
                        diff
                    }
                }
            }
            Wanted::Hard => {
                let same = have.inode.is_some() && have.inode == have.src_inode;
                if same {
                    Diff::from_attributes(self.attribute_changes(current, false, true))
                } else {
                    let mut diff = Diff::new(if have.path.kind == Kind::Absent {
                        Action::Create
                    } else {
                        Action::Change
                    });
                    diff.attributes.push(AttributeChange::new(
                        "hard link",
                        None::<String>,
                        Some(format!("→ {}", self.src.as_deref().unwrap_or_default())),
                    ));
                    diff.attributes.extend(new_attributes(true));
                    diff
                }
            }
        }
    }


    fn path_apply(&self, have: &FileState, _diff: &Diff) -> Script {
        let mut script = Script::new();
        let current = &have.operated_state;
        let is_directory = have.wanted == Wanted::Directory || current.kind == Kind::Directory;
        let mode = self.wanted_mode(current, is_directory).ok().flatten();
        script.line("p={}", &[&self.path]);
        script.line("t={}", &[&have.operated]);
        match have.wanted {
            Wanted::Absent => {
                script.raw(
                    r#"if [ -e "$p" ] || [ -L "$p" ]; then rm -rf -- "$p" || exit 1; deploy_changed; fi"#,
                );
            }
            Wanted::Touch => {
                script.raw(r#"[ -e "$t" ] || { touch -- "$t" && deploy_changed; } || exit 1"#);
                self.attribute_script(&mut script, mode.as_deref(), false);
            }
            Wanted::File => {
                script.raw(
                    r#"[ -f "$t" ] || { printf '%s is missing, cannot continue
' "$t" >&2; exit 1; }"#,
                );
                self.attribute_script(&mut script, mode.as_deref(), false);
            }
            Wanted::Directory => {
                // Ansible gives every directory it creates the task's attributes, not only
                // the last one.
                let mut attributes = Script::new();
                self.attribute_script(&mut attributes, mode.as_deref(), false);
                script.raw("deploy_mkdir() {");
                script.raw(r#"  [ -d "$1" ] && return 0"#);
                script.raw(
                    r#"  [ -e "$1" ] || [ -L "$1" ] && { printf '%s already exists and is not a directory
' "$1" >&2; return 1; }"#,
                );
                script.raw(r#"  deploy_mkdir "$(dirname -- "$1")" || return 1"#);
                script.raw(r#"  mkdir -- "$1" || return 1"#);
                script.raw(r#"  deploy_changed; t=$1"#);
                script.append(&attributes);
                script.raw("}");
                script.raw(r#"deploy_mkdir "$t" || exit 1"#);
                script.line("t={}", &[&have.operated]);
                script.append(&attributes);
                if self.recurse {
                    if let Some(mode) = self.octal_mode() {
                        script.line(
                            r#"if [ -n "$(find "$t" -mindepth 1 ! -type l ! -perm {} -print -quit)" ]; then find "$t" -mindepth 1 ! -type l ! -perm {} -exec chmod {} {} + || exit 1; deploy_changed; fi"#,
                            &[&mode, &mode, &mode, "{}"],
                        );
                    }
                    if let Some(owner) = &self.owner {
                        script.line(
                            r#"if [ -n "$(find "$t" -mindepth 1 ! -type l ! -user {} -print -quit)" ]; then find "$t" -mindepth 1 ! -type l ! -user {} -exec chown -- {} {} + || exit 1; deploy_changed; fi"#,
                            &[owner, owner, owner, "{}"],
                        );
                    }
                    if let Some(group) = &self.group {
                        script.line(
                            r#"if [ -n "$(find "$t" -mindepth 1 ! -type l ! -group {} -print -quit)" ]; then find "$t" -mindepth 1 ! -type l ! -group {} -exec chgrp -- {} {} + || exit 1; deploy_changed; fi"#,
                            &[group, group, group, "{}"],
                        );
                    }
                }
            }
            Wanted::Link => {
                if let Some(src) = &self.src {
                    script.line("s={}", &[src]);
                    if !self.force {
                        let absolute = self.absolute_src().unwrap_or_default();
                        script.line(
                            r#"[ -e {} ] || { echo "src file does not exist, use 'force=yes' if you really want to create the link: "{} >&2; exit 1; }"#,
                            &[&absolute, &absolute],
                        );
                    }
                    script.raw(
                        r#"if [ ! -L "$p" ] || [ "$(readlink -- "$p")" != "$s" ]; then
  [ -d "$p" ] && [ ! -L "$p" ] && { rmdir -- "$p" || exit 1; }
  tmp="$(dirname -- "$p")/.deploy-tmp.$$.link"
  rm -f -- "$tmp"; ln -s -- "$s" "$tmp" && mv -T -f -- "$tmp" "$p" || { rm -f -- "$tmp"; exit 1; }
  deploy_changed
fi"#,
                    );
                }
                if self.follow {
                    let target_mode = have.link_target.as_ref().and_then(|target| {
                        self.wanted_mode(target, target.kind == Kind::Directory).ok().flatten()
                    });
                    let mode = target_mode.or_else(|| self.octal_mode());
                    script.raw(r#"t=$(readlink -f -- "$p") && if [ -e "$t" ]; then :"#);
                    self.attribute_script(&mut script, mode.as_deref(), false);
                    self.times_script(&mut script);
                    script.raw("fi");
                } else {
                    self.attribute_script(&mut script, None, true);
                }
            }
            Wanted::Hard => {
                script.line("s={}", &[self.src.as_deref().unwrap_or_default()]);
                script.raw(
                    r#"if [ "$(stat -c %d:%i -- "$p" 2>/dev/null)" != "$(stat -L -c %d:%i -- "$s")" ]; then
  tmp="$(dirname -- "$p")/.deploy-tmp.$$.link"
  rm -f -- "$tmp"; ln -- "$s" "$tmp" && mv -T -f -- "$tmp" "$p" || { rm -f -- "$tmp"; exit 1; }
  deploy_changed
fi"#,
                );
                self.attribute_script(&mut script, mode.as_deref(), false);
            }
        }
        script
    }


    fn recursive_summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(mode) = self.octal_mode() {
            parts.push(format!("mode {mode}"));
        }
        if let Some(owner) = &self.owner {
            parts.push(format!("owner {owner}"));
        }
        if let Some(group) = &self.group {
            parts.push(format!("group {group}"));
        }
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::text_edit::testing::{converge_here, run, section, values};
    use serde_json::json;
    use std::os::unix::fs::PermissionsExt;

    fn step(params: serde_json::Value) -> Box<dyn Step> {
        let map = values(params);
        build(&Args::new(&SPEC, &map), &NoContext).unwrap()
    }

    fn build_error(params: serde_json::Value) -> String {
        let map = values(params);
        match build(&Args::new(&SPEC, &map), &NoContext) {
            Ok(_) => panic!("built"),
            Err(err) => err.to_string(),
        }
    }

    const DIR: &str =
        "kind=directory\nmode=755\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=4096\ninode=1:2\nempty=no\n";

    #[test]
    fn directories_from_canned_output() {
        let task = step(json!({"path": "/srv/app", "state": "directory", "mode": "0750", "owner": "app"}));
        let (diff, script) = task.plan(&section("kind=absent\n")).unwrap();
        assert_eq!(diff.action, Action::Create);
        assert!(script.as_str().contains("deploy_mkdir"));
        let (diff, _) = task.plan(&section(DIR)).unwrap();
        let described: Vec<String> = diff.attributes.iter().map(AttributeChange::describe).collect();
        assert_eq!(described, ["mode 0755 → 0750", "owner root → app"]);
        let task = step(json!({"path": "/srv/app", "state": "directory", "mode": "0755", "owner": "root"}));
        assert!(task.plan(&section(DIR)).unwrap().0.is_converged());
        let err = task
            .plan(&section(
                "kind=file\nmode=644\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=1\nsha256=x\n",
            ))
            .unwrap_err();
        assert_eq!(err.to_string(), "/srv/app already exists as a file");
    }

    #[test]
    fn recursion_reports_entries_below() {
        let task = step(json!({"path": "/srv/app", "state": "directory", "recurse": true, "owner": "root"}));
        let (diff, script) = task.plan(&section(&format!("{DIR}below=differs\n"))).unwrap();
        assert_eq!(diff.attributes[0].describe(), "entries below differ → owner root");
        assert!(script.as_str().contains("chown"));
        assert!(Step::probe(task.as_ref()).as_str().contains("! -user root"));
        assert!(build_error(json!({"path": "/a", "recurse": true, "mode": "u+x"})).contains("symbolic"));
    }

    #[test]
    fn file_state_needs_the_path() {
        let task = step(json!({"path": "/etc/missing", "mode": "0600"}));
        let err = task.plan(&section("kind=absent\n")).unwrap_err();
        assert_eq!(err.to_string(), "file (/etc/missing) is absent, cannot continue");
    }

    #[test]
    fn links_from_canned_output() {
        let task = step(
            json!({"path": "/etc/nginx/sites-enabled/app", "state": "link", "src": "/etc/nginx/sites-available/app"}),
        );
        let link = |target: &str| {
            use base64::Engine as _;
            section(&format!(
                "kind=link\nlink={}\nmode=777\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=9\ninode=1:3\nsrc_exists=yes\nsrc_inode=1:4\n",
                base64::engine::general_purpose::STANDARD.encode(target)
            ))
        };
        assert!(task
            .plan(&link("/etc/nginx/sites-available/app"))
            .unwrap()
            .0
            .is_converged());
        let (diff, script) = task.plan(&link("/old")).unwrap();
        assert_eq!(
            diff.attributes[0].describe(),
            "link /old → /etc/nginx/sites-available/app"
        );
        assert!(script.as_str().contains("mv -T"));
        // A source missing at plan time may come from an earlier step: apply checks it.
        let (diff, script) = task.plan(&section("kind=absent\nsrc_exists=no\n")).unwrap();
        assert_eq!(diff.action, crate::plan::Action::Create);
        assert!(
            script.as_str().contains("src file does not exist"),
            "{}",
            script.as_str()
        );
        let err = task
            .plan(&section("kind=file\nmode=644\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=1\nsha256=x\nsrc_exists=yes\n"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "refusing to convert from file to symlink for /etc/nginx/sites-enabled/app"
        );
    }

    #[test]
    fn mode_on_a_followed_link_goes_to_its_target() {
        let task = step(json!({"path": "/etc/a/mods-enabled/x.load", "state": "link", "src": "/etc/a/mods-available/x.load", "mode": "0644"}));
        let link = |target_mode: &str| {
            use base64::Engine as _;
            section(&format!(
                "kind=link\nlink={}\nmode=777\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=9\ninode=1:3\nsrc_exists=yes\nsrc_inode=1:4\nsrcfile_kind=file\nsrcfile_mode={target_mode}\nsrcfile_uid=0\nsrcfile_gid=0\nsrcfile_owner=root\nsrcfile_group=root\n",
                base64::engine::general_purpose::STANDARD.encode("/etc/a/mods-available/x.load")
            ))
        };
        assert!(task.plan(&link("644")).unwrap().0.is_converged());
        let (diff, script) = task.plan(&link("600")).unwrap();
        assert_eq!(diff.attributes[0].describe(), "mode 0600 → 0644");
        assert!(script.as_str().contains("readlink -f"), "{}", script.as_str());
        assert!(build_error(json!({"path": "/a", "state": "link", "src": "/b", "mode": "0644", "follow": false})).contains("follow"));
        // SELinux contexts are accepted and left alone.
        step(json!({"path": "/a", "setype": "httpd_sys_content_t", "seuser": "system_u"}));
    }

    #[test]
    fn timestamps_as_pythons_strptime_reads_them() {
        assert_eq!(parse_time("202401021504.05", "%Y%m%d%H%M.%S").unwrap(), "2024-01-02 15:04:05");
        assert_eq!(parse_time("24-1-2 3:4", "%y-%m-%d %H:%M").unwrap(), "2024-01-02 03:04:00");
        assert!(parse_time("2024", "%Y%m").is_err());
        assert!(parse_time("20241302", "%Y%m%d").is_err());
        assert!(parse_time("Jan", "%b").is_err());
        let task = step(json!({"path": "/tmp/f", "modification_time": "202401021504.05", "access_time": "preserve"}));
        let probe = "kind=file\nmode=644\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=1\nmtime_want=1704207845\n";
        let (diff, script) = task.plan(&section(&format!("{probe}mtime_have=1704207845.000000000\n"))).unwrap();
        assert!(diff.is_converged(), "{diff:?}");
        assert!(script.is_empty());
        let (diff, script) = task.plan(&section(&format!("{probe}mtime_have=1.5\n"))).unwrap();
        assert_eq!(diff.attributes[0].describe(), "mtime 1.5 → 2024-01-02 15:04:05");
        assert!(script.as_str().contains("touch '-m' -d"), "{}", script.as_str());
        // `touch` keeps an existing file's times when both are `preserve`.
        let task = step(json!({"path": "/tmp/f", "state": "touch", "modification_time": "preserve", "access_time": "preserve"}));
        assert!(task.plan(&section("kind=file\nmode=644\nuid=0\ngid=0\nowner=root\ngroup=root\nsize=1\n")).unwrap().0.is_converged());
    }

    #[test]
    fn timestamps_converge_real_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "x").unwrap();
        let task = step(json!({"path": path.to_str().unwrap(), "modification_time": "200001020304.05", "access_time": "200001020304.05"}));
        assert_eq!(converge_here(task.as_ref()).action, Action::Change);
    }

    #[test]
    fn absent_and_touch() {
        let task = step(json!({"path": "/tmp/x", "state": "absent"}));
        assert!(task.plan(&section("kind=absent\n")).unwrap().0.is_converged());
        assert_eq!(task.plan(&section(DIR)).unwrap().0.action, Action::Remove);
        let task = step(json!({"path": "/tmp/x", "state": "touch"}));
        assert_eq!(task.plan(&section(DIR)).unwrap().0.action, Action::Run);
    }

    #[test]
    fn the_probe_sees_hidden_entries_in_a_directory() {
        // The emptiness check globs instead of running `ls -A`: dot entries must count.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().to_str().unwrap();
        let task = step(json!({"path": path, "state": "absent"}));
        let empty = |expected: &str| {
            let out = run(&task.probe());
            let text = String::from_utf8(out.stdout).unwrap();
            assert!(text.contains(&format!("empty={expected}\n")), "{text}");
            assert!(text.contains("inode="), "{text}");
        };
        empty("yes");
        for entry in [".hidden", "..odd", "plain"] {
            let file = dir.path().join(entry);
            std::fs::write(&file, "").unwrap();
            empty("no");
            std::fs::remove_file(&file).unwrap();
        }
        std::os::unix::fs::symlink("/nonexistent", dir.path().join(".dangling")).unwrap();
        empty("no");
    }

    #[test]
    fn converges_real_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        let deep = format!("{root}/a/b/c");
        let task = step(json!({"path": deep, "state": "directory", "mode": "0750"}));
        assert_eq!(converge_here(task.as_ref()).action, Action::Create);
        for sub in ["a", "a/b", "a/b/c"] {
            let mode = std::fs::metadata(dir.path().join(sub))
                .unwrap()
                .permissions()
                .mode()
                & 0o7777;
            assert_eq!(mode, 0o750, "{sub}");
        }
        std::fs::write(format!("{deep}/f"), "x").unwrap();
        std::fs::set_permissions(format!("{deep}/f"), std::fs::Permissions::from_mode(0o600)).unwrap();
        let task =
            step(json!({"path": format!("{root}/a"), "state": "directory", "recurse": true, "mode": "0755"}));
        assert_eq!(converge_here(task.as_ref()).action, Action::Change);
        let mode = std::fs::metadata(format!("{deep}/f"))
            .unwrap()
            .permissions()
            .mode()
            & 0o7777;
        assert_eq!(mode, 0o755);

        let target = format!("{root}/target");
        std::fs::write(&target, "t").unwrap();
        let link = format!("{root}/link");
        let task = step(json!({"path": link, "state": "link", "src": target}));
        assert_eq!(converge_here(task.as_ref()).action, Action::Create);
        let other = format!("{root}/a");
        let task = step(json!({"path": link, "state": "link", "src": other}));
        assert_eq!(converge_here(task.as_ref()).action, Action::Change);
        assert_eq!(std::fs::read_link(&link).unwrap().to_str().unwrap(), other);

        let hard = format!("{root}/hard");
        let task = step(json!({"path": hard, "state": "hard", "src": target}));
        assert_eq!(converge_here(task.as_ref()).action, Action::Create);
        assert_eq!(std::fs::read_to_string(&hard).unwrap(), "t");

        let task = step(json!({"path": target, "mode": "0600"}));
        assert_eq!(converge_here(task.as_ref()).action, Action::Change);

        let task = step(json!({"path": format!("{root}/a"), "state": "absent"}));
        assert_eq!(converge_here(task.as_ref()).action, Action::Remove);
        assert!(!dir.path().join("a").exists());

        let touched = format!("{root}/touched");
        let task = step(json!({"path": touched, "state": "touch", "mode": "0640"}));
        let probe = run(&task.probe());
        let (diff, script) = task
            .plan(&Section {
                output: probe.stdout,
                status: 0,
            })
            .unwrap();
        assert_eq!(diff.action, Action::Create);
        assert!(run(&script).status.success());
        let mode = std::fs::metadata(&touched).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o640);
    }
}

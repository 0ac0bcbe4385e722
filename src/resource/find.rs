//! `find`: the files under directories of the host that match names, types, ages and sizes,
//! for the tasks after it (`with_items: "{{ found.files }}"`).
//!
//! A query answered from its probe, like `stat`: the probe lists each directory with GNU
//! `find -printf` (type, mode, owners, size, times, path), and the filtering is Ansible's own,
//! done here as a pure function: globs as `fnmatch` reads them, or Python regexps through the
//! one translator, matched on the entry's name; hidden entries left out but walked through;
//! `depth`, `age`, `size`, `contains` and `limit` as the module applies them. The entries come
//! out in the order of Python's `os.walk` (a directory's files, then its subdirectories, then
//! each subdirectory's own entries), so `files` is the same list Ansible registers.
//!
//! Differences from Ansible: `follow`, `mode`/`exact_mode` and `get_checksum` are refused;
//! `encoding` is accepted and files are read as UTF-8.

use std::collections::HashMap;

use anyhow::{bail, Context, Result};
use serde_json::{json, Map, Value as Json};

use super::lifecycle::{Args, BuildContext, Resource, Step};
use super::{DefaultValue as D, ModuleSpec, ParamSpec as P, ParamType::*};
use crate::plan::Diff;
use crate::probe::Section;
use crate::python_regex::{Anchor, Flags, TextRegex};
use crate::shell::Script;

/// Finds files on the host.
///
/// ```yaml
/// - find:
///     paths: /etc
///     patterns: ["cron.*", "crontab"]
///     file_type: any
///   register: cron_files
/// ```
pub static SPEC: ModuleSpec = ModuleSpec {
    name: "find",
    fqcn: "ansible.builtin.find",
    params: &[
        P::new("paths", List).required().aliases(&["name", "path"]),
        P::new("patterns", List).aliases(&["pattern"]),
        P::new("excludes", List).aliases(&["exclude"]),
        P::new("contains", Str),
        P::new("read_whole_file", Bool).default(D::Bool(false)),
        P::new("file_type", Str)
            .default(D::Str("file"))
            .choices(&["any", "directory", "file", "link"]),
        P::new("age", Str),
        P::new("age_stamp", Str)
            .default(D::Str("mtime"))
            .choices(&["atime", "ctime", "mtime"]),
        P::new("size", Str),
        P::new("recurse", Bool).default(D::Bool(false)),
        P::new("hidden", Bool).default(D::Bool(false)),
        P::new("follow", Bool).default(D::Bool(false)),
        P::new("get_checksum", Bool).default(D::Bool(false)),
        P::new("checksum_algorithm", Str)
            .default(D::Str("sha1"))
            .aliases(&["checksum", "checksum_algo"]),
        P::new("use_regex", Bool).default(D::Bool(false)),
        P::new("depth", Int),
        P::new("mode", Raw),
        P::new("exact_mode", Bool).default(D::Bool(true)),
        P::new("encoding", Str),
        P::new("limit", Int),
    ],
    build: Some(build),
    ..ModuleSpec::DEFAULT
};

fn build(args: &Args, _context: &dyn BuildContext) -> Result<Box<dyn Step>> {
    args.refuse(&["follow", "mode", "get_checksum"])?;
    let use_regex = args.flag("use_regex")?;
    let compile = |patterns: Vec<String>| -> Result<Vec<TextRegex>> {
        patterns
            .iter()
            .map(|p| {
                let regex = if use_regex {
                    p.clone()
                } else {
                    crate::inventory::pattern::glob_to_regex(p)
                };
                TextRegex::anchored(&regex, Flags::default(), Anchor::Match)
            })
            .collect()
    };
    let mut patterns = args.list("patterns")?;
    if patterns.is_empty() {
        patterns.push(if use_regex { ".*" } else { "*" }.to_string());
    }
    let age = args
        .str("age")?
        .map(|text| with_unit(&text, &[("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("w", 604800)]))
        .transpose()
        .context("failed to process age")?;
    let size = args
        .str("size")?
        .map(|text| {
            with_unit(
                &text,
                &[("b", 1), ("k", 1 << 10), ("m", 1 << 20), ("g", 1 << 30), ("t", 1 << 40)],
            )
        })
        .transpose()
        .context("failed to process size")?;
    let limit = args.int("limit")?;
    if let Some(limit) = limit.filter(|l| *l <= 0) {
        bail!("limit cannot be {limit} (use None for unlimited)");
    }
    Ok(Box::new(Find {
        paths: args.list("paths")?,
        patterns: compile(patterns)?,
        excludes: compile(args.list("excludes")?)?,
        contains: args
            .str("contains")?
            .map(|c| TextRegex::anchored(&c, Flags::default(), Anchor::Match))
            .transpose()?,
        contains_whole: args
            .str("contains")?
            .map(|c| TextRegex::new(&c, Flags::default()))
            .transpose()?,
        read_whole_file: args.flag("read_whole_file")?,
        file_type: args.str("file_type")?.unwrap_or_else(|| "file".into()),
        age,
        age_stamp: args.str("age_stamp")?.unwrap_or_else(|| "mtime".into()),
        size,
        recurse: args.flag("recurse")?,
        hidden: args.flag("hidden")?,
        depth: args.int("depth")?.filter(|d| *d != 0),
        limit: limit.map(|l| l as usize),
    }))
}

/// `-12d`, `3k`, `40`: a number with an optional unit, as the module reads `age` and `size`.
fn with_unit(text: &str, units: &[(&str, i64)]) -> Result<i64> {
    let lower = text.to_ascii_lowercase();
    let (number, factor) = match units.iter().find(|(unit, _)| lower.ends_with(unit)) {
        Some((unit, factor)) => (&lower[..lower.len() - unit.len()], *factor),
        None => (lower.as_str(), 1),
    };
    let digits = number.strip_prefix('-').unwrap_or(number);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        bail!("`{text}` is not a number with an optional unit");
    }
    Ok(number.parse::<i64>()? * factor)
}

#[derive(Debug)]
pub struct Find {
    pub paths: Vec<String>,
    pub patterns: Vec<TextRegex>,
    pub excludes: Vec<TextRegex>,
    /// `contains` matched at the start of each line, and searched in the whole file.
    pub contains: Option<TextRegex>,
    pub contains_whole: Option<TextRegex>,
    pub read_whole_file: bool,
    pub file_type: String,
    pub age: Option<i64>,
    pub age_stamp: String,
    pub size: Option<i64>,
    pub recurse: bool,
    pub hidden: bool,
    pub depth: Option<i64>,
    pub limit: Option<usize>,
}

/// One entry `find -printf` reported.
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    /// `find`'s `%y` (the entry itself) and `%Y` (a link followed).
    kind: char,
    followed_kind: char,
    mode: i64,
    pw_name: String,
    gr_name: String,
    /// uid, gid, size, inode, dev, nlink.
    numbers: [i64; 6],
    times: [f64; 3],
    path: String,
}

/// What the probe saw under each path: its entries in `find`'s order, or why it was skipped.
#[derive(Debug, Default)]
pub struct Listing {
    now: f64,
    roots: Vec<(String, Option<Vec<Entry>>)>,
    contents: HashMap<String, Vec<u8>>,
}

const PRINTF: &str = r"e\0%y %Y %m %u %g %U %G %s %i %D %n %A@ %T@ %C@\0%p\0";

impl Resource for Find {
    type State = Listing;

    fn target(&self) -> String {
        self.paths.join(", ")
    }

    fn probe(&self) -> Script {
        let mut script = Script::new();
        script.raw(r#"printf 'now\0%s\0' "$(date +%s)""#);
        // One level below `depth` too: Ansible counts those entries as examined.
        let depth = match (self.recurse, self.depth) {
            (false, _) => "1".to_string(),
            (true, Some(depth)) => (depth.max(0) + 1).to_string(),
            (true, None) => String::new(),
        };
        for path in &self.paths {
            script.line(r#"r={}; d={}; printf 'root\0%s\0' "$r""#, &[path, &depth]);
            script.line(
                r#"if [ -d "$r" ]; then find "$r" -mindepth 1 ${d:+-maxdepth "$d"} -printf {} 2>/dev/null"#,
                &[PRINTF],
            );
            if self.contains.is_some() {
                script.raw(
                    r#"  find "$r" -mindepth 1 ${d:+-maxdepth "$d"} -type f -exec sh -c 'for f; do printf "c\0%s\0" "$f"; base64 -w0 -- "$f" 2>/dev/null; printf "\0"; done' sh {} + 2>/dev/null"#,
                );
            }
            script.raw(r"else printf 'notdir\0'; fi");
        }
        script
    }

    fn inspect(&self, out: &Section) -> Result<Listing> {
        parse_listing(&out.output)
    }

    fn diff(&self, _have: &Listing) -> Diff {
        Diff::converged()
    }

    fn apply(&self, _have: &Listing, _diff: &Diff) -> Script {
        Script::new()
    }

    fn confined_to(&self, _out: &Section) -> Option<Vec<String>> {
        self.paths
            .iter()
            .map(|p| super::lifecycle::plain_path(p))
            .collect()
    }

    fn result(&self, out: &Section) -> Result<Option<Json>> {
        let listing = self.inspect(out)?;
        Ok(Some(self.answer(&listing)?))
    }
}

fn parse_listing(output: &[u8]) -> Result<Listing> {
    let mut fields = output.split(|&b| b == 0);
    let mut next = |what: &str| -> Result<String> {
        let field = fields.next().with_context(|| format!("find printed no {what}"))?;
        String::from_utf8(field.to_vec()).with_context(|| format!("find printed a {what} that is not UTF-8"))
    };
    let mut listing = Listing::default();
    loop {
        let tag = match next("tag") {
            Ok(tag) => tag,
            Err(_) => break,
        };
        match tag.trim_start_matches('\n') {
            "" => break,
            "now" => listing.now = next("time")?.trim().parse().context("find printed a bad time")?,
            "root" => listing.roots.push((next("path")?, Some(Vec::new()))),
            "notdir" => {
                listing.roots.last_mut().context("find: `notdir` before a root")?.1 = None;
            }
            "e" => {
                let stat = next("entry")?;
                let path = next("path")?;
                let entry = parse_entry(&stat, path)?;
                let root = listing.roots.last_mut().context("find: an entry before a root")?;
                root.1.get_or_insert_with(Vec::new).push(entry);
            }
            "c" => {
                let path = next("path")?;
                let encoded = next("content")?;
                use base64::Engine as _;
                let content = base64::engine::general_purpose::STANDARD
                    .decode(encoded.trim())
                    .context("find: bad base64 content")?;
                listing.contents.insert(path, content);
            }
            other => bail!("find printed an unexpected record {other:?}"),
        }
    }
    Ok(listing)
}

fn parse_entry(stat: &str, path: String) -> Result<Entry> {
    let words: Vec<&str> = stat.split(' ').collect();
    let [kind, followed, mode, pw_name, gr_name, rest @ ..] = words.as_slice() else {
        bail!("find printed a short entry {stat:?}");
    };
    if rest.len() != 9 {
        bail!("find printed a short entry {stat:?}");
    }
    let number = |text: &str| -> Result<i64> { text.parse().with_context(|| format!("find printed {text:?}, not a number")) };
    let time = |text: &str| -> Result<f64> { text.parse().with_context(|| format!("find printed {text:?}, not a time")) };
    let numbers = [
        number(rest[0])?,
        number(rest[1])?,
        number(rest[2])?,
        number(rest[3])?,
        number(rest[4])?,
        number(rest[5])?,
    ];
    Ok(Entry {
        kind: kind.chars().next().unwrap_or('U'),
        followed_kind: followed.chars().next().unwrap_or('U'),
        mode: i64::from_str_radix(mode, 8).context("find printed a mode that is not octal")?,
        // `%u` prints the number when no name is known; Ansible's answer has "" then.
        pw_name: if pw_name.bytes().all(|b| b.is_ascii_digit()) { String::new() } else { pw_name.to_string() },
        gr_name: if gr_name.bytes().all(|b| b.is_ascii_digit()) { String::new() } else { gr_name.to_string() },
        numbers,
        times: [time(rest[6])?, time(rest[7])?, time(rest[8])?],
        path,
    })
}

/// Python's `os.path.normpath` for the absolute or relative paths `find` lists.
fn normpath(path: &str) -> String {
    let absolute = path.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." if parts.last().is_some_and(|p| *p != "..") => {
                parts.pop();
            }
            ".." if absolute => {}
            other => parts.push(other),
        }
    }
    let joined = parts.join("/");
    match (absolute, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(dir, _)| dir)
}

fn name(path: &str) -> &str {
    path.rsplit_once('/').map_or(path, |(_, name)| name)
}

impl Find {
    fn name_matches(&self, name: &str) -> Result<bool> {
        for pattern in &self.patterns {
            if pattern.search(name)?.is_some() {
                for exclude in &self.excludes {
                    if exclude.search(name)?.is_some() {
                        return Ok(false);
                    }
                }
                return Ok(true);
            }
        }
        Ok(false)
    }

    fn age_matches(&self, entry: &Entry, now: f64) -> bool {
        let Some(age) = self.age else { return true };
        let stamp = match self.age_stamp.as_str() {
            "atime" => entry.times[0],
            "ctime" => entry.times[2],
            _ => entry.times[1],
        };
        let elapsed = now - stamp;
        if age >= 0 {
            elapsed >= age.abs() as f64
        } else {
            elapsed <= age.abs() as f64
        }
    }

    fn size_matches(&self, entry: &Entry) -> bool {
        let Some(size) = self.size else { return true };
        let have = entry.numbers[2];
        if size >= 0 {
            have >= size.abs()
        } else {
            have <= size.abs()
        }
    }

    fn content_matches(&self, entry: &Entry, listing: &Listing) -> Result<bool> {
        let (Some(line_regex), Some(whole_regex)) = (&self.contains, &self.contains_whole) else {
            return Ok(true);
        };
        let Some(bytes) = listing.contents.get(&entry.path) else {
            return Ok(false);
        };
        let text = String::from_utf8_lossy(bytes).replace("\r\n", "\n").replace('\r', "\n");
        if self.read_whole_file {
            return Ok(whole_regex.search(&text)?.is_some());
        }
        for line in text.split_inclusive('\n') {
            if line_regex.search(line)?.is_some() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether an entry is one the task asks for, by Ansible's filters in Ansible's order.
    fn wanted(&self, entry: &Entry, listing: &Listing) -> Result<bool> {
        let basename = name(&entry.path);
        let common = |find: &Find| -> Result<bool> {
            Ok(find.name_matches(basename)? && find.age_matches(entry, listing.now))
        };
        Ok(match (self.file_type.as_str(), entry.kind) {
            ("any", 'f') => common(self)? && self.size_matches(entry),
            ("any", _) => common(self)?,
            ("directory", 'd') | ("link", 'l') => common(self)?,
            ("file", 'f') => common(self)? && self.size_matches(entry) && self.content_matches(entry, listing)?,
            _ => false,
        })
    }

    /// Ansible's answer: the entries in `os.walk`'s order, filtered.
    fn answer(&self, listing: &Listing) -> Result<Json> {
        let mut files: Vec<Json> = Vec::new();
        let mut skipped = Map::new();
        let mut examined = 0usize;
        for (path, entries) in &listing.roots {
            let Some(entries) = entries else {
                skipped.insert(path.clone(), json!(format!("'{path}' is not a directory")));
                continue;
            };
            // The children of each directory, in the order `find` read them.
            let mut children: HashMap<&str, Vec<&Entry>> = HashMap::new();
            for entry in entries {
                children.entry(parent(&entry.path)).or_default().push(entry);
            }
            let top = path.trim_end_matches('/');
            let top_depth = format!("{top}/").matches('/').count();
            let mut queue: Vec<(String, &str)> = vec![(path.clone(), if top.is_empty() { "" } else { top })];
            'walk: while !queue.is_empty() {
                let (root, key) = queue.remove(0);
                let listed = children.get(key).cloned().unwrap_or_default();
                let (dirs, others): (Vec<&Entry>, Vec<&Entry>) =
                    listed.into_iter().partition(|e| e.followed_kind == 'd');
                examined += dirs.len() + others.len();
                let mut descend = Vec::new();
                let mut too_deep = false;
                for entry in others.iter().chain(&dirs) {
                    let fsname = normpath(&format!("{root}/{}", name(&entry.path)));
                    if let Some(depth) = self.depth {
                        let depth_here = fsname.matches('/').count() as i64 - top_depth as i64 + 1;
                        if depth_here > depth {
                            too_deep = true;
                            continue;
                        }
                    }
                    if entry.kind == 'd' {
                        descend.push((fsname.clone(), entry.path.as_str()));
                    }
                    if name(&fsname).starts_with('.') && !self.hidden {
                        continue;
                    }
                    if self.wanted(entry, listing)? {
                        let mut found = Map::new();
                        found.insert("path".into(), json!(fsname));
                        let kind = match entry.kind {
                            'f' => "regular file",
                            'd' => "directory",
                            'l' => "symbolic link",
                            'c' => "character special file",
                            'b' => "block special file",
                            'p' => "fifo",
                            's' => "socket",
                            _ => "unknown",
                        };
                        super::stat::mode_fields(&mut found, entry.mode, kind);
                        for (key, value) in ["uid", "gid", "size", "inode", "dev", "nlink"]
                            .iter()
                            .zip(entry.numbers)
                        {
                            found.insert((*key).into(), json!(value));
                        }
                        for (key, value) in ["atime", "mtime", "ctime"].iter().zip(entry.times) {
                            found.insert((*key).into(), json!(value));
                        }
                        found.insert("pw_name".into(), json!(entry.pw_name));
                        found.insert("gr_name".into(), json!(entry.gr_name));
                        files.push(Json::Object(found));
                    }
                    if Some(files.len()) == self.limit {
                        break 'walk;
                    }
                }
                if !self.recurse {
                    break;
                }
                if !too_deep {
                    queue.splice(0..0, descend);
                }
            }
        }
        let msg = if skipped.is_empty() {
            "All paths examined"
        } else {
            "Not all paths examined, check warnings for details"
        };
        Ok(json!({
            "changed": false,
            "failed": false,
            "files": files,
            "matched": files.len(),
            "examined": examined,
            "msg": msg,
            "skipped_paths": skipped,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::lifecycle::NoContext;
    use crate::resource::support::testing::build as build_step;

    fn listing(records: &[&str]) -> Section {
        let mut output = Vec::new();
        for record in records {
            output.extend_from_slice(record.as_bytes());
            output.push(0);
        }
        Section { output, status: 0 }
    }

    fn entry(kind: &str, path: &str) -> [String; 3] {
        [
            "e".into(),
            format!("{kind} {kind} 644 root root 0 0 5 7 2049 1 1700000000.5 1700000000.25 1700000000"),
            path.into(),
        ]
    }

    fn paths(answer: &Json) -> Vec<String> {
        answer["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect()
    }

    fn canned() -> Section {
        let mut records: Vec<String> = vec!["now".into(), "1700000100".into(), "root".into(), "/etc".into()];
        for (kind, path) in [
            ("d", "/etc/cron.d"),
            ("f", "/etc/cron.d/job"),
            ("f", "/etc/crontab"),
            ("f", "/etc/.hidden"),
            ("d", "/etc/.dir"),
            ("f", "/etc/.dir/cron.x"),
            ("l", "/etc/cron.link"),
        ] {
            records.extend(entry(kind, path));
        }
        records.extend(["root".to_string(), "/missing".to_string(), "notdir".to_string()]);
        let refs: Vec<&str> = records.iter().map(String::as_str).collect();
        listing(&refs)
    }

    #[test]
    fn filters_and_orders_as_os_walk() {
        let find = |params: Json| {
            let step = build_step(&SPEC, params, &NoContext).unwrap();
            assert!(step.plan(&canned()).unwrap().0.is_converged());
            step.result(&canned()).unwrap().unwrap()
        };
        let answer = find(json!({"paths": ["/etc", "/missing"], "patterns": ["cron*"], "file_type": "any"}));
        assert_eq!(paths(&answer), ["/etc/crontab", "/etc/cron.link", "/etc/cron.d"]);
        assert_eq!(answer["matched"], json!(3));
        assert_eq!(answer["examined"], json!(5));
        assert_eq!(answer["skipped_paths"]["/missing"], json!("'/missing' is not a directory"));
        let first = &answer["files"][0];
        assert_eq!(first["mode"], json!("0644"));
        assert_eq!(first["isreg"], json!(true));
        assert_eq!(first["size"], json!(5));
        assert_eq!(first["inode"], json!(7));
        assert_eq!(first["uid"], json!(0));
        assert_eq!(first["mtime"], json!(1700000000.25));
        // Recursing: files first, then directories, then what is below each directory; hidden
        // directories are walked through.
        let answer = find(json!({"paths": "/etc", "recurse": true, "patterns": "cron*"}));
        assert_eq!(paths(&answer), ["/etc/crontab", "/etc/.dir/cron.x"]);
        let answer = find(json!({"paths": "/etc", "recurse": true, "hidden": true, "excludes": ["*.x", "job"]}));
        assert_eq!(paths(&answer), ["/etc/crontab", "/etc/.hidden"]);
        let answer = find(json!({"paths": "/etc", "recurse": true, "depth": 1, "use_regex": true, "patterns": "^cr"}));
        assert_eq!(paths(&answer), ["/etc/crontab"]);
        let answer = find(json!({"paths": "/etc", "file_type": "directory", "hidden": true}));
        assert_eq!(paths(&answer), ["/etc/cron.d", "/etc/.dir"]);
        let answer = find(json!({"paths": "/etc", "age": "2m"}));
        assert!(paths(&answer).is_empty());
        assert!(paths(&find(json!({"paths": "/etc", "size": "6"}))).is_empty());
        let answer = find(json!({"paths": "/etc", "age": "-2m", "size": "-1k", "limit": 1}));
        assert_eq!(paths(&answer), ["/etc/crontab"]);
    }

    #[test]
    fn contains_reads_lines_from_the_start() {
        use base64::Engine as _;
        let b64 = |t: &str| base64::engine::general_purpose::STANDARD.encode(t);
        let mut records: Vec<String> = vec!["now".into(), "1".into(), "root".into(), "/d".into()];
        records.extend(entry("f", "/d/a"));
        records.extend(entry("f", "/d/b"));
        records.extend(["c".into(), "/d/a".into(), b64("x\nPORT=1\n")]);
        records.extend(["c".into(), "/d/b".into(), b64("# PORT=1\n")]);
        let refs: Vec<&str> = records.iter().map(String::as_str).collect();
        let step = build_step(&SPEC, json!({"paths": "/d", "contains": "PORT=(?=1)"}), &NoContext).unwrap();
        assert_eq!(paths(&step.result(&listing(&refs)).unwrap().unwrap()), ["/d/a"]);
        let step = build_step(
            &SPEC,
            json!({"paths": "/d", "contains": "PORT", "read_whole_file": true}),
            &NoContext,
        )
        .unwrap();
        assert_eq!(paths(&step.result(&listing(&refs)).unwrap().unwrap()), ["/d/a", "/d/b"]);
    }

    #[test]
    fn the_probe_lists_real_directories() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_str().unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("sub/a.conf"), "listen 80\n").unwrap();
        std::fs::write(dir.path().join("b.conf"), "x").unwrap();
        std::fs::write(dir.path().join("it's $(x).conf"), "x").unwrap();
        let step = build_step(
            &SPEC,
            json!({"paths": [root], "patterns": "*.conf", "recurse": true, "contains": "listen"}),
            &NoContext,
        )
        .unwrap();
        let out = crate::resource::text_edit::testing::run(&step.probe());
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let answer = step
            .result(&Section {
                output: out.stdout,
                status: 0,
            })
            .unwrap()
            .unwrap();
        assert_eq!(paths(&answer), [format!("{root}/sub/a.conf")]);
        assert!(build_step(&SPEC, json!({"paths": "/", "size": "big"}), &NoContext).is_err());
    }
}

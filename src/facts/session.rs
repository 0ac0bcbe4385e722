//! What the remote session sees: the user, its environment, the host's `python3` (if any),
//! the clock, and local facts from `/etc/ansible/facts.d`.

use serde_json::{json, Map, Value};

use super::{Facts, Raw};

pub(super) const SCRIPT: &str = r#"u=${LOGNAME:-${USER:-${LNAME:-${USERNAME:-}}}}
if [ -r /proc/self/status ]; then
  while read -r k a b _; do case $k in Uid:|Gid:) echo "user.${k%:}=$a $b";; esac; done < /proc/self/status
else
  echo "user.Uid=$(id -ru) $(id -u)"; echo "user.Gid=$(id -rg) $(id -g)"
fi
if [ -z "$u" ]; then u=$(id -un 2>/dev/null); fi
echo "user.name=$u"
if command -v getent >/dev/null 2>&1; then
  echo "user.passwd=$(getent passwd "$u" || getent passwd "$(id -u)")"
fi
# NUL-separated, so that a value holding a newline stays one variable (its newlines as \001).
{ env -0 2>/dev/null || cat /proc/self/environ 2>/dev/null; } | tr '\n\0' '\001\n' | while IFS= read -r l; do echo "env.$l"; done
if p=$(command -v python3 2>/dev/null); then echo "py.executable=$p"; echo "py.version=$("$p" -V 2>&1)"; fi
# Now, then 1 January and 1 July: their zones tell the daylight-saving zone's name.
printf 'now\njan 1\njul 1\n' | LC_ALL=C date -f - '+date=%Y %m %A %w %W %d %H %M %S %s %z %N %Z' 2>/dev/null ||
  LC_ALL=C date '+date=%Y %m %A %w %W %d %H %M %S %s %z %N %Z'
if [ -d /etc/ansible/facts.d ]; then
  for f in /etc/ansible/facts.d/*.fact; do
    [ -e "$f" ] || continue
    n=${f##*/}; n=${n%.fact}
    echo "local.file=$n"
    if [ -x "$f" ]; then
      o=$("$f" 2>&1); echo "local.status.$n=$?"
      printf '%s\n' "$o" | while IFS= read -r l || [ -n "$l" ]; do echo "local.line.$n=$l"; done
    else
      while IFS= read -r l || [ -n "$l" ]; do echo "local.line.$n=$l"; done < "$f"
    fi
  done
fi
"#;

pub(super) fn facts(raw: &Raw, facts: &mut Facts) {
    user(raw, facts);
    environment(raw, facts);
    python(raw, facts);
    date_time(raw, facts);
    local(raw, facts);
}

fn user(raw: &Raw, facts: &mut Facts) {
    let ids = |key: &str| -> (Option<i64>, Option<i64>) {
        let mut numbers = raw
            .get(key)
            .unwrap_or("")
            .split_whitespace()
            .map(|n| n.parse::<i64>().ok());
        (numbers.next().flatten(), numbers.next().flatten())
    };
    let (real_uid, effective_uid) = ids("user.Uid");
    let (real_gid, _) = ids("user.Gid");
    facts.put("user_id", json!(raw.get("user.name").unwrap_or("")));
    let passwd: Vec<&str> = raw.get("user.passwd").unwrap_or("").split(':').collect();
    if let [_, _, uid, gid, gecos, dir, shell] = passwd[..] {
        facts.put("user_uid", json!(uid.parse::<i64>().ok()));
        facts.put("user_gid", json!(gid.parse::<i64>().ok()));
        facts.put("user_gecos", json!(gecos));
        facts.put("user_dir", json!(dir));
        facts.put("user_shell", json!(shell));
    }
    facts.put("real_user_id", json!(real_uid));
    facts.put("effective_user_id", json!(effective_uid));
    facts.put("real_group_id", json!(real_gid));
    // Ansible reports the real group as the effective one (`os.getgid()` for both).
    facts.put("effective_group_id", json!(real_gid));
}

fn environment(raw: &Raw, facts: &mut Facts) {
    let env: Map<String, Value> = raw
        .under("env.")
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (name.to_string(), json!(value.replace('\u{1}', "\n"))))
        .collect();
    facts.put("env", Value::Object(env));
}

/// `ansible_python` of the host's `python3`, from its `-V` (`Python 3.11.2`, `3.13.0rc1`).
fn python(raw: &Raw, facts: &mut Facts) {
    let (Some(executable), Some(version)) = (raw.get("py.executable"), raw.get("py.version")) else {
        return;
    };
    let Some(version) = version.trim().strip_prefix("Python ") else {
        return;
    };
    let mut parts = version.splitn(3, '.');
    let major = parts.next().and_then(|n| n.parse::<u64>().ok());
    let minor = parts.next().and_then(|n| n.parse::<u64>().ok());
    let rest = parts.next().unwrap_or("0");
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let micro = digits.parse::<u64>().unwrap_or(0);
    let suffix = rest[digits.len()..].trim_end_matches('+');
    let (level, serial) = match suffix.find(|c: char| c.is_ascii_digit()) {
        Some(at) => (&suffix[..at], suffix[at..].parse::<u64>().unwrap_or(0)),
        None => (suffix, 0),
    };
    let releaselevel = match level {
        "a" => "alpha",
        "b" => "beta",
        "rc" => "candidate",
        _ => "final",
    };
    let (Some(major), Some(minor)) = (major, minor) else {
        return;
    };
    facts.put(
        "python",
        json!({
            "executable": executable,
            // Every CPython 3 that `-V` answers for has the ssl module's SSLContext unless
            // built without ssl, which distributions do not ship.
            "has_sslcontext": true,
            "type": "cpython",
            "version": {
                "major": major, "minor": minor, "micro": micro,
                "releaselevel": releaselevel, "serial": serial,
            },
            "version_info": [major, minor, micro, releaselevel, serial],
        }),
    );
    facts.put("python_version", json!(format!("{major}.{minor}.{micro}")));
}

fn date_time(raw: &Raw, facts: &mut Facts) {
    let lines: Vec<Vec<&str>> = raw
        .all("date")
        .map(|l| l.split_whitespace().collect())
        .filter(|w: &Vec<&str>| w.len() >= 12)
        .collect();
    let Some(now) = lines.first() else {
        return;
    };
    let [year, month, weekday, weekday_number, weeknumber, day, hour, minute, second, epoch, offset, nanos] =
        now[..12]
    else {
        return;
    };
    let zone = |words: &Vec<&str>| words.get(12..).map(|z| z.join(" ")).unwrap_or_default();
    let tz = zone(now);
    // Python's `time.tzname[1]`: the zone's daylight-saving name, or its only one.
    let tz_dst = match (lines.get(1), lines.get(2)) {
        (Some(january), Some(july)) if january[10] != july[10] => {
            let offset = |w: &Vec<&str>| w[10].parse::<i64>().unwrap_or(0);
            zone(if offset(january) > offset(july) {
                january
            } else {
                july
            })
        }
        (Some(january), _) => zone(january),
        _ => tz.clone(),
    };
    let micro = if nanos.len() >= 6 && nanos.bytes().all(|b| b.is_ascii_digit()) {
        nanos[..6].to_string()
    } else {
        "000000".to_string()
    };
    let Ok(seconds) = epoch.parse::<i64>() else {
        return;
    };
    let (utc_date, utc_time) = utc(seconds);
    facts.put(
        "date_time",
        json!({
            "year": year, "month": month, "weekday": weekday,
            "weekday_number": weekday_number, "weeknumber": weeknumber, "day": day,
            "hour": hour, "minute": minute, "second": second,
            "epoch": epoch, "epoch_int": epoch,
            "date": format!("{year}-{month}-{day}"),
            "time": format!("{hour}:{minute}:{second}"),
            "iso8601_micro": format!("{utc_date}T{utc_time}.{micro}Z"),
            "iso8601": format!("{utc_date}T{utc_time}Z"),
            "iso8601_basic": format!("{year}{month}{day}T{hour}{minute}{second}{micro}"),
            "iso8601_basic_short": format!("{year}{month}{day}T{hour}{minute}{second}"),
            "tz": tz, "tz_dst": tz_dst, "tz_offset": offset,
        }),
    );
}

/// The UTC date (`2024-02-29`) and time (`13:05:09`) of a Unix time.
fn utc(seconds: i64) -> (String, String) {
    let (days, second_of_day) = (seconds.div_euclid(86_400), seconds.rem_euclid(86_400));
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (
        format!("{year:04}-{month:02}-{day:02}"),
        format!(
            "{:02}:{:02}:{:02}",
            second_of_day / 3600,
            second_of_day % 3600 / 60,
            second_of_day % 60
        ),
    )
}

/// `ansible_local`: each `facts.d/<name>.fact` as JSON, else as INI, else an error text,
/// as Ansible's `local` collector.
fn local(raw: &Raw, facts: &mut Facts) {
    let mut local = Map::new();
    for name in raw.all("local.file") {
        let status = raw.get(&format!("local.status.{name}"));
        let key = format!("local.line.{name}");
        let text: Vec<&str> = raw.all(&key).collect();
        let text = text.join("\n");
        let path = format!("/etc/ansible/facts.d/{name}.fact");
        let value = match status {
            Some(code) if code != "0" => json!(format!(
                "Failure executing fact script ({path}), rc: {code}, err: {text}"
            )),
            _ => serde_json::from_str(&text).unwrap_or_else(|_| {
                ini(&text).map_or_else(
                    || {
                        json!(format!(
                            "error loading facts as JSON or ini - please check content: {path}"
                        ))
                    },
                    Value::Object,
                )
            }),
        };
        local.insert(name.to_string(), value);
    }
    facts.put("local", Value::Object(local));
}

/// Python's `ConfigParser` on simple files: `[section]`, `key = value` or `key: value`,
/// keys lower-cased, comments and blank lines skipped; `None` where it would refuse.
fn ini(text: &str) -> Option<Map<String, Value>> {
    let mut sections = Map::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if let Some(name) = trimmed.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
            sections.entry(name.to_string()).or_insert_with(|| json!({}));
            current = Some(name.to_string());
            continue;
        }
        let section = current.as_ref()?;
        let at = trimmed.find(['=', ':'])?;
        let (key, value) = (trimmed[..at].trim().to_lowercase(), trimmed[at + 1..].trim());
        if let Some(Value::Object(entries)) = sections.get_mut(section) {
            entries.insert(key, json!(value));
        }
    }
    Some(sections)
}

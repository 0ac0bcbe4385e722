//! Mounted filesystems, as Ansible's `get_mount_facts`: the mount table, sizes from one
//! `stat -f` over every mount point (under `timeout`, so a dead network mount cannot hang
//! the probe), bind mounts from `findmnt` and UUIDs from `lsblk` where they exist.

use serde_json::{json, Map, Value};

use super::{Facts, Raw};

pub(super) const SCRIPT: &str = r#"if [ -e /etc/mtab ]; then mt=/etc/mtab; else mt=/proc/mounts; fi
if [ -r "$mt" ]; then
  set --
  while read -r dev mnt fs opts dump pass _; do
    [ -n "$opts" ] || continue
    case $dev in /*|\\*|*:/*) ;; *) continue ;; esac
    [ "$fs" = none ] && continue
    echo "mount.entry=$dev $mnt $fs $opts ${dump:-0} ${pass:-0}"
    # Escaped names (a space is \040) are left to the table alone.
    case $mnt in *\\*) ;; *) set -- "$@" "$mnt" ;; esac
  done < "$mt"
  if [ $# -gt 0 ]; then
    t=; if command -v timeout >/dev/null 2>&1; then t="timeout 10"; fi
    $t stat -f -c 'mount.size=%S %s %b %a %c %d %n' "$@" 2>/dev/null
  fi
  if command -v findmnt >/dev/null 2>&1; then
    findmnt --list --noheadings --notruncate 2>/dev/null | while read -r target source _; do
      case $source in *\]*) echo "mount.bind=$target" ;; esac
    done
  fi
  if command -v lsblk >/dev/null 2>&1; then
    lsblk --list --noheadings --paths --output NAME,UUID --exclude 2 2>/dev/null | while read -r name uuid; do
      if [ -n "$uuid" ]; then echo "mount.uuid=$name $uuid"; fi
    done
  fi
fi
"#;

pub(super) fn facts(raw: &Raw, facts: &mut Facts) {
    if raw.get("mount.entry").is_none() {
        return;
    }
    let sizes: Vec<(&str, Vec<u64>)> = raw
        .all("mount.size")
        .filter_map(|line| {
            let mut fields = line.splitn(7, ' ');
            let numbers: Option<Vec<u64>> = fields.by_ref().take(6).map(|n| n.parse().ok()).collect();
            Some((fields.next()?, numbers?))
        })
        .collect();
    let uuid = |device: &str| {
        raw.all("mount.uuid")
            .filter_map(|line| line.rsplit_once(' '))
            .find(|(name, _)| *name == device)
            .map_or("N/A", |(_, uuid)| uuid)
    };
    // Keyed by mount point: a point mounted twice shows the later mount, in the earlier's place.
    let mut mounts: Vec<(String, Map<String, Value>)> = Vec::new();
    for line in raw.all("mount.entry") {
        let fields: Vec<String> = line.split(' ').map(unescape).collect();
        let [device, mount, fstype, options, dump, passno] = &fields[..] else {
            continue;
        };
        let mut options = options.clone();
        if raw.has("mount.bind", mount) {
            options.push_str(",bind");
        }
        let mut info = Map::new();
        info.insert("mount".into(), json!(mount));
        info.insert("device".into(), json!(device));
        info.insert("fstype".into(), json!(fstype));
        info.insert("options".into(), json!(options));
        info.insert("dump".into(), json!(dump.parse::<i64>().unwrap_or(0)));
        info.insert("passno".into(), json!(passno.parse::<i64>().unwrap_or(0)));
        if let Some((_, n)) = sizes.iter().find(|(point, _)| point == mount) {
            // %S fragment size, %s block size, %b blocks, %a available, %c inodes, %d free.
            let (fragment, block, blocks, available, inodes, free) = (n[0], n[1], n[2], n[3], n[4], n[5]);
            info.insert("size_total".into(), json!(fragment * blocks));
            info.insert("size_available".into(), json!(fragment * available));
            info.insert("block_size".into(), json!(block));
            info.insert("block_total".into(), json!(blocks));
            info.insert("block_available".into(), json!(available));
            info.insert("block_used".into(), json!(blocks as i64 - available as i64));
            info.insert("inode_total".into(), json!(inodes));
            info.insert("inode_available".into(), json!(free));
            info.insert("inode_used".into(), json!(inodes as i64 - free as i64));
        }
        info.insert("uuid".into(), json!(uuid(device)));
        match mounts.iter_mut().find(|(point, _)| point == mount) {
            Some((_, earlier)) => *earlier = info,
            None => mounts.push((mount.clone(), info)),
        }
    }
    let list: Vec<Value> = mounts.into_iter().map(|(_, info)| Value::Object(info)).collect();
    facts.put("mounts", Value::Array(list));
}

/// The mount table's octal escapes (`\040` for a space).
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let digits = bytes.get(at + 1..at + 4);
        match digits {
            Some(d) if bytes[at] == b'\\' && d.iter().all(u8::is_ascii_digit) => {
                let value = d.iter().fold(0u32, |n, b| n * 8 + u32::from(b - b'0'));
                out.push(value as u8);
                at += 4;
            }
            _ => {
                out.push(bytes[at]);
                at += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

//! Memory and processors, from `/proc/meminfo` and `/proc/cpuinfo`, counted as Ansible's
//! `hardware/linux.py` counts them (sockets from `physical id`, cores from `cpu cores`).

use serde_json::json;

use super::{Facts, Raw};

pub(super) const SCRIPT: &str = r#"if [ -r /proc/meminfo ]; then
  while read -r k v _; do
    case $k in MemTotal:|MemFree:|SwapTotal:|SwapFree:|Buffers:|Cached:|SwapCached:) echo "mem.${k%:}=$v";; esac
  done < /proc/meminfo
fi
if [ -r /proc/cpuinfo ]; then
  sed -n 's/^\(processor\|vendor_id\|model name\|Processor\|cpu\|Vendor\|physical id\|core id\|cpu cores\|siblings\)[[:space:]]*:[[:space:]]*/cpu.\1=/p' /proc/cpuinfo
fi
echo "hw.nproc=$(nproc 2>/dev/null)"
"#;

pub(super) fn facts(raw: &Raw, facts: &mut Facts) {
    memory(raw, facts);
    processors(raw, facts);
}

fn memory(raw: &Raw, facts: &mut Facts) {
    let mb = |key: &str| {
        raw.get(&format!("mem.{key}"))
            .and_then(|kb| kb.parse::<u64>().ok())
            .map(|kb| kb / 1024)
    };
    if raw.under("mem.").next().is_none() {
        return;
    }
    for (key, name) in [
        ("MemTotal", "memtotal_mb"),
        ("MemFree", "memfree_mb"),
        ("SwapTotal", "swaptotal_mb"),
        ("SwapFree", "swapfree_mb"),
    ] {
        if let Some(value) = mb(key) {
            facts.put(name, json!(value));
        }
    }
    let (total, free) = (mb("MemTotal"), mb("MemFree"));
    let nocache_free = match (mb("Cached"), free, mb("Buffers")) {
        (Some(cached), Some(free), Some(buffers)) => Some(cached + free + buffers),
        _ => None,
    };
    let minus = |a: Option<u64>, b: Option<u64>| Some(a?.wrapping_sub(b?) as i64);
    facts.put(
        "memory_mb",
        json!({
            "real": {"total": total, "used": minus(total, free), "free": free},
            "nocache": {"free": nocache_free, "used": minus(total, nocache_free)},
            "swap": {
                "total": mb("SwapTotal"),
                "free": mb("SwapFree"),
                "used": minus(mb("SwapTotal"), mb("SwapFree")),
                "cached": mb("SwapCached"),
            },
        }),
    );
}

fn processors(raw: &Raw, facts: &mut Facts) {
    if raw.under("cpu.").next().is_none() {
        return;
    }
    let architecture = raw.get("os.machine").unwrap_or("");
    let mut processor = Vec::new();
    let (mut count, mut vendor_ids, mut model_names, mut processors) = (0, 0, 0, 0);
    // Keyed by `physical id` and `core id`, in the order first seen, as Python's dicts.
    let mut sockets: Vec<(String, u64)> = Vec::new();
    let mut cores: Vec<(String, u64)> = Vec::new();
    let (mut physical, mut core) = (String::from("0"), String::from("0"));
    fn entry<'v>(list: &'v mut Vec<(String, u64)>, key: &str) -> &'v mut u64 {
        if let Some(at) = list.iter().position(|(k, _)| k == key) {
            &mut list[at].1
        } else {
            list.push((key.to_string(), 1));
            &mut list.last_mut().expect("just pushed").1
        }
    }
    for (key, value) in raw.under("cpu.") {
        let value = value.trim();
        match key {
            "model name" | "Processor" | "vendor_id" | "cpu" | "Vendor" | "processor" => {
                processor.push(value.to_string());
                match key {
                    "vendor_id" => vendor_ids += 1,
                    "model name" => model_names += 1,
                    "processor" => processors += 1,
                    _ => {}
                }
                count += 1;
            }
            "physical id" => {
                physical = value.to_string();
                entry(&mut sockets, &physical);
            }
            "core id" => {
                core = value.to_string();
                // Ansible checks this key against the sockets, not the cores (kept as is).
                if !sockets.iter().any(|(k, _)| *k == core) {
                    *entry(&mut cores, &core) = 1;
                }
            }
            "cpu cores" => *entry(&mut sockets, &physical) = value.parse().unwrap_or(0),
            "siblings" => *entry(&mut cores, &core) = value.parse().unwrap_or(0),
            _ => {}
        }
    }
    if vendor_ids > 0 && vendor_ids == model_names {
        count = vendor_ids;
    }
    if ["armv", "aarch", "ppc"]
        .iter()
        .any(|p| architecture.starts_with(p))
    {
        count = processors;
    }
    let processor_count = if sockets.is_empty() {
        count
    } else {
        sockets.len() as u64
    };
    let processor_cores = sockets.first().map_or(0, |(_, n)| *n).max(1);
    let threads_per_core = match cores.first() {
        Some((_, siblings)) => (*siblings as f64 / processor_cores as f64).round_ties_even() as u64,
        None => (1.0 / processor_cores as f64).round_ties_even() as u64,
    };
    let nproc = raw
        .get("hw.nproc")
        .and_then(|n| n.trim().parse::<u64>().ok())
        .unwrap_or(processors);
    facts.put("processor", json!(processor));
    facts.put("processor_count", json!(processor_count));
    facts.put("processor_cores", json!(processor_cores));
    facts.put("processor_threads_per_core", json!(threads_per_core));
    facts.put(
        "processor_vcpus",
        json!(threads_per_core * processor_count * processor_cores),
    );
    facts.put("processor_nproc", json!(nproc));
}

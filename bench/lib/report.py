"""Turns a results JSON into the tables of docs/benchmarks.md (between its results markers)
and the plot docs/benchmarks.svg."""
import statistics
import subprocess
from pathlib import Path

BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"
TOOLS = ["deploy", "ansible", "ansible-core-rs", "pyinfra", "floor"]
LABEL = {"deploy": "deploy", "ansible": "ansible-playbook", "ansible-core-rs": "ansible-core-rs",
         "pyinfra": "pyinfra", "floor": "floor (ssh sh -s < probe)"}
TITLES = {
    "noop": ("No-op run, 50 tasks, already converged", "hosts"),
    "first": ("First run of the 50-task playbook on fresh hosts (packages pre-seeded)", "hosts"),
    "tasks": ("Task scaling: no-op run of N file/copy tasks on 1 host", "tasks"),
    "hosts": ("Host scaling: no-op run of the 50-task playbook on light hosts", "hosts"),
    "unreachable": ("10 hosts, one unreachable (link down): time until the tool exits", "hosts"),
}


def summary(samples):
    walls = [s["wall"] for s in samples]
    execs = [statistics.mean(s["execs"]) for s in samples if s["execs"]]
    return {
        "median": statistics.median(walls), "min": min(walls), "max": max(walls),
        "cpu": statistics.median(s["cpu"] for s in samples),
        "pss": statistics.median(s["pss"] for s in samples) / 2**20,
        "rss": statistics.median(s["rss"] for s in samples) / 2**20,
        "execs": statistics.median(execs) if execs else None,
        "deploy_execs": sorted({e for s in samples for e in s.get("deploy_execs", [])}),
        "failed": sum(1 for s in samples if s["code"] != 0), "n": len(samples),
        "changed": [s["changed"] for s in samples],
    }


def table(name, points):
    title, unit = TITLES[name]
    rows = [f"### {title}\n",
            f"| {unit} | tool | median s | min–max s | runs | CPU s | peak PSS MiB | peak RSS MiB | execs/host | × deploy |",
            "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for key in sorted(points, key=int):
        tools = points[key]
        base = summary(tools["deploy"])["median"] if tools.get("deploy") else None
        for tool in TOOLS:
            if not tools.get(tool):
                continue
            s = summary(tools[tool])
            execs = "" if s["execs"] is None else f"{s['execs']:g}"
            if tool == "deploy" and s["deploy_execs"]:
                execs += f" (JSON: {', '.join(map(str, s['deploy_execs']))})"
            ratio = f"{s['median'] / base:.1f}×" if base and tool != "deploy" else ""
            runs = f"{s['n']}" + (f" ({s['failed']} exit≠0)" if s["failed"] else "")
            rows.append(f"| {key} | {LABEL[tool]} | {s['median']:.2f} | {s['min']:.2f}–{s['max']:.2f} | {runs} "
                        f"| {s['cpu']:.2f} | {s['pss']:.0f} | {s['rss']:.0f} | {execs} | {ratio} |")
    return "\n".join(rows) + "\n"


def targets(results):
    sc = results["scenarios"]
    lines = []
    point = sc.get("noop", {}).get("20") or sc.get("hosts", {}).get("20")
    if point and point.get("deploy"):
        d = summary(point["deploy"])
        def cmp(tool, goal, what):
            if point.get(tool):
                s = summary(point[tool])
                ratio = s["median"] / d["median"]
                ok = "met" if ratio >= goal else "missed"
                lines.append(f"- no-op at 20 hosts, {what}: {ratio:.1f}× faster (target ≥ {goal}×): **{ok}**")
        cmp("ansible", 30, "vs ansible-playbook")
        cmp("pyinfra", 5, "vs pyinfra")
        if point.get("floor"):
            f = summary(point["floor"])
            ratio = d["median"] / f["median"]
            lines.append(f"- no-op at 20 hosts vs the floor: {ratio:.2f}× the floor's time (target ≤ 2×): "
                         f"**{'met' if ratio <= 2 else 'missed'}**")
        if point.get("ansible"):
            a = summary(point["ansible"])
            ratio = d["pss"] / a["pss"]
            lines.append(f"- peak memory (PSS of the tree) at 20 hosts: {d['pss']:.0f} MiB vs ansible-playbook's "
                         f"{a['pss']:.0f} MiB = {ratio:.2f} (target ≤ 0.20): **{'met' if ratio <= 0.2 else 'missed'}**")
    tasks = sc.get("tasks", {})
    if tasks:
        execs = {k: summary(v["deploy"])["execs"] for k, v in tasks.items() if v.get("deploy")}
        same = len(set(execs.values())) == 1
        lines.append(f"- deploy execs per host by task count: "
                     f"{', '.join(f'{k}: {v:g}' for k, v in sorted(execs.items(), key=lambda x: int(x[0])))}"
                     f" (target: constant, 1 for no-op): **{'met' if same and set(execs.values()) == {1} else 'missed'}**")
    return "\n".join(lines) + "\n"


def machine_text(results):
    m, v = results["machine"], results["versions"]
    return (f"Measured {m['started']}–{results.get('finished', '?')} ({results['mode']} mode, "
            f"{results['runs']} timed runs per point after a warm-up): {m['cpu']}, {m['cores']} cores, "
            f"{m['memory_gib']} GiB, {m['os']}, kernel {m['kernel']}; load average at start "
            f"{' '.join(m['load_at_start'])}. deploy {v['deploy']} (release build), ansible-core "
            f"{v['ansible-core']}, ansible-core-rs {v['ansible-core-rs']}, pyinfra {v['pyinfra']}, "
            f"{v['openssh']}, Python {m['python']}.\n")


def write(results, repo: Path):
    parts = [machine_text(results), "\n#### Targets\n\n", targets(results)]
    note = results.get("acr_note", "")
    if note and not note.startswith("exit 0;"):
        # Its own words, when it could not run the playbook.
        first, _, rest = note.partition("\n")
        parts.append("\nansible-core-rs could not run the 50-task playbook and is left out: "
                     + first + "\n\n```\n" + rest.strip() + "\n```\n")
    for name in ["noop", "first", "tasks", "hosts", "unreachable"]:
        if results["scenarios"].get(name):
            parts.append("\n" + table(name, results["scenarios"][name]))
    parts.append("\n![time vs hosts and tasks](benchmarks.svg)\n")
    text = "".join(parts)
    doc = repo / "docs" / "benchmarks.md"
    if doc.exists() and BEGIN in doc.read_text():
        old = doc.read_text()
        doc.write_text(old[:old.index(BEGIN) + len(BEGIN)] + "\n" + text + old[old.index(END):])
    else:
        (repo / "bench" / "results").mkdir(parents=True, exist_ok=True)
        (repo / "bench" / "results" / "tables.md").write_text(text)
    plot = Path(__file__).with_name("plot.py")
    python = Path("/var/tmp/deploy-bench/venv/bin/python")
    results_file = Path(results["out"])
    subprocess.run([str(python), str(plot), str(results_file), str(repo / "docs" / "benchmarks.svg")])

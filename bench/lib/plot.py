"""Plots time vs hosts (no-op, 50 tasks) and time vs tasks (1 host) for each tool, median with
min–max bars, log-log. Run with the bench virtualenv's Python (matplotlib)."""
import json
import statistics
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

LABEL = {"deploy": "deploy", "ansible": "ansible-playbook", "ansible-core-rs": "ansible-core-rs",
         "pyinfra": "pyinfra", "floor": "floor: ssh sh -s < probe"}


def series(points, tool):
    xs, med, lo, hi = [], [], [], []
    for key in sorted(points, key=int):
        samples = points[key].get(tool)
        if not samples:
            continue
        walls = [s["wall"] for s in samples]
        m = statistics.median(walls)
        xs.append(int(key)); med.append(m); lo.append(m - min(walls)); hi.append(max(walls) - m)
    return xs, med, [lo, hi]


def main():
    results = json.load(open(sys.argv[1]))
    sc = results["scenarios"]
    hosts = {}
    # Up to 20 systemd hosts (no-op scenario), then light hosts (host scaling); at a count
    # measured by both, the systemd hosts' point is the one drawn.
    for name in ("hosts", "noop"):
        for k, v in sc.get(name, {}).items():
            hosts.setdefault(k, {}).update(v)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    for ax, points, xlabel, title in ((axes[0], hosts, "hosts", "no-op, 50 tasks: time vs hosts"),
                                       (axes[1], sc.get("tasks", {}), "tasks", "no-op, 1 host: time vs tasks")):
        for tool in LABEL:
            xs, med, err = series(points, tool)
            if xs:
                ax.errorbar(xs, med, yerr=err, marker="o", capsize=3, label=LABEL[tool])
        ax.set_xscale("log"); ax.set_yscale("log")
        ax.set_xlabel(xlabel); ax.set_ylabel("wall time, s (median, min–max)")
        ax.set_title(title); ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(sys.argv[2])


if __name__ == "__main__":
    main()

"""Runs one tool as a whole process tree and measures it: wall time until the tool exits, CPU
time of every process it started (ssh masters included), and the peak memory of that tree.

Each run gets its own cgroup v2 directory under /sys/fs/cgroup/unified: the machine's unified
hierarchy has no memory controller (hybrid cgroups), but membership and `cpu.stat` work there,
and membership is what finds every process of the tree, including daemonised ControlPersist
masters. A sampler thread sums PSS (and RSS) of the members every ~20 ms from /proc.
"""
import os
import subprocess
import threading
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup/unified/deploy-bench")
SAMPLE_SECONDS = 0.02


class Result:
    def __init__(self, wall, cpu, peak_pss, peak_rss, code, stdout, stderr):
        self.wall, self.cpu, self.peak_pss, self.peak_rss = wall, cpu, peak_pss, peak_rss
        self.code, self.stdout, self.stderr = code, stdout, stderr


def _members(cgroup: Path):
    try:
        return [int(p) for p in (cgroup / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def _memory(pid):
    """(PSS, RSS) of one process in bytes; zeros if it is gone."""
    try:
        pss = rss = 0
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    pss = int(line.split()[1]) * 1024
                elif line.startswith("Rss:"):
                    rss = int(line.split()[1]) * 1024
        return pss, rss
    except (OSError, ValueError, IndexError):
        return 0, 0


def _sampler(cgroup: Path, stop: threading.Event, peaks: list):
    # Lower this thread's priority: on two shared cores it must not steal time from the tool.
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 5)
    except OSError:
        pass
    while not stop.is_set():
        pss = rss = 0
        for pid in _members(cgroup):
            p, r = _memory(pid)
            pss += p
            rss += r
        peaks[0] = max(peaks[0], pss)
        peaks[1] = max(peaks[1], rss)
        stop.wait(SAMPLE_SECONDS)


def _kill_leftovers(cgroup: Path):
    """Ends what the tool left behind in its cgroup (ControlPersist masters): each run starts
    cold, and their memory and CPU time were counted while the tool ran."""
    for _ in range(50):
        pids = _members(cgroup)
        if not pids:
            return
        for pid in pids:
            try:
                os.kill(pid, 15 if _ < 10 else 9)
            except ProcessLookupError:
                pass
        time.sleep(0.05)


def run(argv, name, env=None, cwd=None, stdin=None, timeout=3600):
    CGROUP_ROOT.mkdir(exist_ok=True)
    cgroup = CGROUP_ROOT / f"{name}-{os.getpid()}-{time.monotonic_ns()}"
    cgroup.mkdir()
    procs = str(cgroup / "cgroup.procs")

    def enter():
        with open(procs, "w") as f:
            f.write("0")

    peaks = [0, 0]
    stop = threading.Event()
    sampler = threading.Thread(target=_sampler, args=(cgroup, stop, peaks), daemon=True)
    sampler.start()
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdin=stdin or subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=enter)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    wall = time.monotonic() - started
    stop.set()
    sampler.join()
    cpu = 0.0
    try:
        for line in (cgroup / "cpu.stat").read_text().splitlines():
            if line.startswith("usage_usec"):
                cpu = int(line.split()[1]) / 1e6
    except OSError:
        pass
    _kill_leftovers(cgroup)
    # cpu.stat of a cgroup counts its exited processes too; read again after the masters end.
    try:
        for line in (cgroup / "cpu.stat").read_text().splitlines():
            if line.startswith("usage_usec"):
                cpu = max(cpu, int(line.split()[1]) / 1e6)
    except OSError:
        pass
    try:
        cgroup.rmdir()
    except OSError:
        pass
    return Result(wall, cpu, peaks[0], peaks[1], proc.returncode,
                  out.decode(errors="replace"), err.decode(errors="replace"))

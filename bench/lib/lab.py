"""The benchmark's view of the lab: hosts h1..hN of its own lab instance (1 unless
DEPLOY_LAB_INSTANCE says otherwise), an inventory for each tool, an exec counter on every host,
and the moves that make a host fresh or unreachable.

A lab instance has its own bridge, subnet, hosts and state directory, so the benchmark and the
project's lab tests (instance 0) never stop or edit each other's hosts. They still share the
machine's cores: timings taken while tests run are not worth much.
"""
import os
import subprocess
import time
from pathlib import Path

INSTANCE = int(os.environ.setdefault("DEPLOY_LAB_INSTANCE", "1"))
LAB_DIR = Path(os.environ.get("DEPLOY_LAB_DIR") or
               ("/var/tmp/deploy-lab" if INSTANCE == 0 else f"/var/tmp/deploy-lab-{INSTANCE}"))
KEY = LAB_DIR / "ssh" / "id_ed25519"
KNOWN_HOSTS = LAB_DIR / "ssh" / "known_hosts"
OFFSET = 0
SSH_OPTS = ["-o", f"UserKnownHostsFile={KNOWN_HOSTS}", "-o", "StrictHostKeyChecking=yes",
            "-o", "KexAlgorithms=curve25519-sha256", "-o", "BatchMode=yes", "-i", str(KEY)]

# Root's login shell on bench hosts: sshd runs every exec (and the sftp subsystem) through it,
# so one line per exec counts what each tool costs. With /var/tmp/bench-capture present it
# also records the exec's stdin (used once, to take deploy's own probe script).
COUNTING_SHELL = """#!/bin/sh
echo x >> /var/tmp/bench-execs
if [ -e /var/tmp/bench-capture ]; then tee -a /var/tmp/bench-stdin | /bin/bash "$@"; exit $?; fi
exec /bin/bash "$@"
"""


def name(i):
    return f"h{OFFSET + i}"


def address(i):
    return f"10.213.{INSTANCE}.{10 + OFFSET + i}"


def root(i):
    return LAB_DIR / "hosts" / name(i) / "root"


class Lab:
    def __init__(self, deploy):
        self.deploy = deploy

    def running(self):
        """Names of the hosts up, with what they run as PID 1."""
        out = subprocess.run([self.deploy, "lab", "status"], capture_output=True, text=True).stdout
        found = {}
        for line in out.splitlines()[1:]:
            fields = line.split()
            if len(fields) >= 4 and fields[2] == "up":
                found[fields[0]] = fields[3]
        return found

    def down(self):
        subprocess.run([self.deploy, "lab", "down"], check=True, stdout=subprocess.DEVNULL)

    def up(self, count, init="systemd"):
        """Hosts 1..count are running `init` as PID 1 and carry the counting shell."""
        running = self.running()
        if any(running.get(name(i)) not in (None, init) for i in range(1, count + 1)):
            self.down()
            running = {}
        if any(name(i) not in running for i in range(1, count + 1)):
            started = time.monotonic()
            subprocess.run([self.deploy, "lab", "up", str(OFFSET + count), "--init", init],
                           check=True, stdout=subprocess.DEVNULL)
            print(f"  lab up {OFFSET + count} in {time.monotonic() - started:.1f}s", flush=True)
        for i in range(1, count + 1):
            self.install_counter(i)

    def install_counter(self, i):
        r = root(i)
        shell = r / "usr/local/sbin/bench-sh"
        if shell.exists() and shell.read_text() == COUNTING_SHELL:
            return
        shell.write_text(COUNTING_SHELL)
        shell.chmod(0o755)
        passwd = r / "etc/passwd"
        lines = passwd.read_text().splitlines(keepends=True)
        lines = [("root:x:0:0:root:/root:/usr/local/sbin/bench-sh\n" if l.startswith("root:") else l)
                 for l in lines]
        passwd.write_text("".join(lines))

    def reset_execs(self, count):
        for i in range(1, count + 1):
            (root(i) / "var/tmp/bench-execs").write_text("")

    def execs(self, count):
        """Remote execs per host since the last reset."""
        result = []
        for i in range(1, count + 1):
            try:
                result.append(len((root(i) / "var/tmp/bench-execs").read_text().splitlines()))
            except OSError:
                result.append(0)
        return result

    def ssh(self, i, command, stdin=None, check=True):
        return subprocess.run(["ssh", *SSH_OPTS, f"root@{address(i)}", command], input=stdin,
                              capture_output=True, text=True, check=check)

    def on_all(self, count, command):
        """Runs `command` on hosts 1..count in parallel; raises if one fails."""
        procs = [subprocess.Popen(["ssh", *SSH_OPTS, f"root@{address(i)}", command],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(1, count + 1)]
        for i, p in enumerate(procs, 1):
            out, err = p.communicate()
            if p.returncode != 0:
                raise RuntimeError(f"{name(i)}: `{command[:60]}` failed: {err.strip()[-300:]}")

    def set_link(self, i, up):
        subprocess.run(["ip", "netns", "exec", f"lab{INSTANCE or ''}-{name(i)}", "ip", "link", "set", "eth0",
                        "up" if up else "down"], check=True)

    def inventories(self, work: Path, count, unreachable=()):
        """An Ansible YAML inventory (group `bench`) and a pyinfra inventory of hosts 1..count."""
        common = (f"-o UserKnownHostsFile={KNOWN_HOSTS} -o StrictHostKeyChecking=yes "
                  "-o KexAlgorithms=curve25519-sha256")
        lines = ["all:\n  children:\n    bench:\n      vars:\n",
                 "        ansible_python_interpreter: /usr/bin/python3\n",
                 "        ansible_user: root\n",
                 f"        ansible_ssh_private_key_file: {KEY}\n",
                 f"        ansible_ssh_common_args: \"{common}\"\n",
                 "      hosts:\n"]
        for i in range(1, count + 1):
            lines.append(f"        {name(i)}:\n          ansible_host: \"{address(i)}\"\n")
        yml = work / f"inventory-{count}.yml"
        yml.write_text("".join(lines))
        hosts = [(name(i), {"ssh_hostname": address(i), "ssh_user": "root", "ssh_key": str(KEY),
                            "ssh_known_hosts_file": str(KNOWN_HOSTS),
                            "ssh_strict_host_key_checking": "yes"})
                 for i in range(1, count + 1)]
        py = work / f"inventory_{count}.py"
        py.write_text(f"bench = {hosts!r}\n")
        return yml, py

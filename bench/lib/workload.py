"""The benchmark's workloads: one Ansible playbook read by deploy, ansible-playbook and
ansible-core-rs, and the pyinfra deploy file that converges a host to the same state.

The 50-task playbook is the mix a real role has (directories, copied files, templates,
lines in a config file, symlinks, packages, services, users); the task-scaling playbooks are
only directories and copied files, so that their cost per task is the tools' own.
"""
from pathlib import Path

# Packages the 50-task playbook wants present. They are installed on every host before any
# timed run ("pre-seeded"), so first-run timings measure the tools, not dpkg.
PACKAGES = ["tree", "cron", "nginx-light", "at"]
SERVICES = ["atd", "cron", "nginx"]
USERS = ["bench1", "bench2", "bench3"]
# Existing files: deploy plans a link before the run and refuses a source that does not exist yet
# (the directories the playbook creates), so the links point at files every host has.
LINK_TARGETS = ["/etc/hostname", "/etc/os-release", "/etc/passwd", "/etc/group"]

# No newline after a block tag and none at the end: the file is the same whether the engine
# trims blocks and keeps a trailing newline (Ansible) or not (pyinfra's plain Jinja).
TEMPLATE = """# written by the benchmark for {{ inventory_hostname }}
listen = {{ listen_port }}
workers = {{ workers }}
{% for name in names %}upstream {{ name }} = {{ name }}.internal:{{ listen_port + loop.index }}
{% endfor %}"""

COPY_CONTENT = "# bench file {n}\nkey = value-{n}\nlimit = {n}00\n"


def mixed_tasks():
    """The 50 tasks, as (kind, arguments) in playbook order."""
    tasks = []
    for n in range(1, 11):
        tasks.append(("directory", {"path": f"/srv/bench/d{n}"}))
    for n in range(1, 11):
        tasks.append(("copy", {"dest": f"/srv/bench/d{n}/file.conf", "n": n}))
    for n in range(1, 9):
        tasks.append(("template", {"dest": f"/srv/bench/t{n}.conf", "listen_port": 8000 + n}))
    for n in range(1, 9):
        # One file per line: deploy refuses a second lineinfile on a file an earlier step of the
        # same run changed ("changed since the plan"), see docs/benchmarks.md.
        tasks.append(("line", {"path": f"/srv/bench/lines{n}.conf", "key": f"key{n}", "value": f"value{n}"}))
    for n in range(1, 5):
        tasks.append(("link", {"path": f"/srv/bench/link{n}", "src": LINK_TARGETS[n - 1]}))
    for name in PACKAGES:
        tasks.append(("package", {"name": name}))
    for name in SERVICES:
        tasks.append(("service", {"name": name}))
    for name in USERS:
        tasks.append(("user", {"name": name}))
    assert len(tasks) == 50
    return tasks


def file_tasks(count):
    """`count` tasks of directories and copied files (task scaling), half each."""
    tasks = []
    dirs = max(1, count // 10)
    for n in range(1, dirs + 1):
        tasks.append(("directory", {"path": f"/srv/bench/s{n}"}))
    n = 0
    while len(tasks) < count:
        n += 1
        tasks.append(("copy", {"dest": f"/srv/bench/s{(n - 1) % dirs + 1}/f{n}.conf", "n": n}))
    return tasks


def q(text):
    """A YAML double-quoted scalar."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def ansible_task(kind, a):
    if kind == "directory":
        return f"    - name: directory {a['path']}\n      file: {{path: {a['path']}, state: directory, mode: '0755'}}\n"
    if kind == "copy":
        return (f"    - name: copy {a['dest']}\n      copy:\n        dest: {a['dest']}\n"
                f"        content: {q(COPY_CONTENT.format(n=a['n']))}\n        mode: '0644'\n")
    if kind == "template":
        return (f"    - name: template {a['dest']}\n      template: {{src: bench.conf.j2, dest: {a['dest']}, mode: '0644'}}\n"
                f"      vars: {{listen_port: {a['listen_port']}}}\n")
    if kind == "line":
        return (f"    - name: line {a['key']}\n      lineinfile:\n        path: {a['path']}\n"
                f"        regexp: '^{a['key']} = '\n        line: '{a['key']} = {a['value']}'\n        create: yes\n        mode: '0644'\n")
    if kind == "link":
        return f"    - name: link {a['path']}\n      file: {{src: {a['src']}, dest: {a['path']}, state: link}}\n"
    if kind == "package":
        return f"    - name: package {a['name']}\n      apt: {{name: {a['name']}, state: present}}\n"
    if kind == "service":
        return f"    - name: service {a['name']}\n      service: {{name: {a['name']}, state: started, enabled: yes}}\n"
    if kind == "user":
        return f"    - name: user {a['name']}\n      user: {{name: {a['name']}, shell: /bin/bash, comment: bench user}}\n"
    raise ValueError(kind)


def pyinfra_op(kind, a, init="systemd"):
    if kind == "directory":
        return f"files.directory(name='directory {a['path']}', path={a['path']!r}, mode='755')\n"
    if kind == "copy":
        return (f"files.put(name='copy {a['dest']}', src=StringIO({COPY_CONTENT.format(n=a['n'])!r}), "
                f"dest={a['dest']!r}, mode='644')\n")
    if kind == "template":
        return (f"files.template(name='template {a['dest']}', src=TEMPLATE, dest={a['dest']!r}, mode='644', "
                f"inventory_hostname=host.name, listen_port={a['listen_port']}, workers=4, names=NAMES)\n")
    if kind == "line":
        return (f"files.line(name='line {a['key']}', path={a['path']!r}, line='^{a['key']} = .*', "
                f"replace='{a['key']} = {a['value']}')\n")
    if kind == "link":
        return f"files.link(name='link {a['path']}', path={a['path']!r}, target={a['src']!r})\n"
    if kind == "package":
        return f"apt.packages(name='package {a['name']}', packages=[{a['name']!r}])\n"
    if kind == "service":
        # pyinfra does not pick the init system itself: a deploy file for SysV init hosts
        # says sysvinit. (The playbook's `service` leaves it to each tool.)
        module = "sysvinit" if init == "light" else "systemd"
        return f"{module}.service(name='service {a['name']}', service={a['name']!r}, running=True, enabled=True)\n"
    if kind == "user":
        return f"server.user(name='user {a['name']}', user={a['name']!r}, shell='/bin/bash', comment='bench user')\n"
    raise ValueError(kind)


def write(directory: Path, name: str, tasks, init="systemd"):
    """Writes `name.yml` (the playbook) and `name_pyinfra.py` (the deploy file, for hosts running
    `init`) into `directory`; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "templates").mkdir(exist_ok=True)
    (directory / "templates" / "bench.conf.j2").write_text(TEMPLATE)
    playbook = directory / f"{name}.yml"
    body = ["- name: benchmark workload\n  hosts: bench\n  gather_facts: no\n",
            "  vars:\n    workers: 4\n    names: [alpha, beta, gamma]\n",
            "  tasks:\n"]
    body += [ansible_task(kind, a) for kind, a in tasks]
    playbook.write_text("".join(body))
    deploy_file = directory / f"{name}_pyinfra.py"
    ops = ["from io import StringIO\nfrom pyinfra import host\n",
           "from pyinfra.operations import apt, files, server, systemd, sysvinit\n",
           f"TEMPLATE = {str(directory / 'templates' / 'bench.conf.j2')!r}\n",
           "NAMES = ['alpha', 'beta', 'gamma']\n"]
    ops += [pyinfra_op(kind, a, init) for kind, a in tasks]
    deploy_file.write_text("".join(ops))
    return playbook, deploy_file


# Undoes what the playbooks create (not the pre-seeded packages), so that the next run is a
# first run again: a fresh host with the packages already there.
RESET = """set -e
rm -rf /srv/bench
for u in {users}; do if getent passwd $u >/dev/null; then userdel -r $u 2>/dev/null || userdel $u; fi; done
""".format(users=" ".join(USERS))

PRESEED = "export DEBIAN_FRONTEND=noninteractive; apt-get install -y -q " + " ".join(PACKAGES) + " >/dev/null"

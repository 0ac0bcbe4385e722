"""Renders a batch of templates with Ansible's own templar, for tests/template.rs.

Reads one JSON document on stdin:

    {"basedir": DIR, "vars": {...}, "cases": [{"kind": KIND, "text": TEXT, "options": {...}}]}

and prints one JSON list, a `{"value": ...}` or `{"error": "..."}` per case, in order. KIND
says where the text comes from, which decides how Ansible templates it:

- `yaml`: a string of a task or a variable (`Templar.template`, backslashes in `{{ }}` string
  literals kept as written);
- `file`: a template file, as the `template` module renders it (no backslash escaping,
  `#jinja2:` headers, the module's `trim_blocks`/`lstrip_blocks`/`newline_sequence` options);
- `when`: a conditional (`Templar.evaluate_conditional`).

Variables are trusted, as variables read from a playbook's YAML are.
"""

import json
import os
import sys
import warnings

warnings.simplefilter("ignore")

from ansible.module_utils.common.text.converters import to_text  # noqa: E402
from ansible.parsing.dataloader import DataLoader  # noqa: E402
from ansible.plugins.loader import init_plugin_loader  # noqa: E402
from ansible.template import Templar, trust_as_template  # noqa: E402


def trust(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [trust(item) for item in value]
    if isinstance(value, dict):
        return {key: trust(item) for key, item in value.items()}
    return value


def render(templar, basedir, case):
    text = trust_as_template(case["text"])
    kind = case["kind"]
    if kind == "yaml":
        return templar.template(text)
    if kind == "when":
        return templar.evaluate_conditional(text)
    if kind == "file":
        options = case.get("options", {})
        # As the template action plugin does it (plugins/action/template.py).
        searchpath = []
        for path in [basedir]:
            searchpath += [os.path.join(path, "templates"), path]
        file_templar = templar.copy_with_new_env(searchpath=searchpath)
        overrides = dict(
            trim_blocks=options.get("trim_blocks", True),
            lstrip_blocks=options.get("lstrip_blocks", False),
            newline_sequence=options.get("newline_sequence", "\n"),
        )
        result = file_templar.template(text, escape_backslashes=False, overrides=overrides)
        # The module writes the text of whatever the template gave (`to_bytes` of it).
        return "" if result is None else to_text(result)
    raise ValueError(f"unknown kind {kind!r}")


def main():
    # As ansible-playbook does: collections (community.general's lookups) become findable.
    init_plugin_loader()
    request = json.load(sys.stdin)
    basedir = request["basedir"]
    loader = DataLoader()
    loader.set_basedir(basedir)
    templar = Templar(loader=loader, variables=trust(request["vars"]))
    results = []
    for case in request["cases"]:
        try:
            value = render(templar, basedir, case)
            results.append({"value": json.loads(json.dumps(value))})
        except Exception as error:  # every failure is a result to compare, not a crash
            results.append({"error": f"{type(error).__name__}: {error}"})
    json.dump(results, sys.stdout)


main()

# Runs a project's filter and test plugins for deploy, on the controller, as Ansible loads them:
# each file's FilterModule().filters() (or TestModule().tests()) gives name -> function.
#
# Arguments: "filter:PATH" or "test:PATH", in the order Ansible searches them (the first file
# naming a plugin wins). First line out: the names found, and the files that failed to load.
# Then one JSON request per line in ({"kind", "name", "args", "kwargs"}), one JSON reply per
# line out ({"value"}, {"error"} or {"missing"}). Whatever the plugins print goes to stderr,
# never into the replies.
import importlib.util
import json
import os
import sys
import traceback

CLASSES = {"filter": ("FilterModule", "filters"), "test": ("TestModule", "tests")}


def describe(err, path):
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == path]
    where = "%s:%d" % (path, frames[-1].lineno) if frames else path
    return "%s: %s: %s" % (where, type(err).__name__, err)


def plain(value):
    if isinstance(value, (set, frozenset)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if hasattr(value, "items"):
        return dict(value.items())
    if hasattr(value, "__iter__"):
        return list(value)
    return str(value)


def main():
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    plugins = {"filter": {}, "test": {}}
    problems = []
    for number, argument in enumerate(sys.argv[1:]):
        kind, path = argument.split(":", 1)
        try:
            spec = importlib.util.spec_from_file_location("deploy_plugin_%d" % number, path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            cls, method = CLASSES[kind]
            holder = getattr(module, cls, None)
            if holder is not None:
                for name, function in getattr(holder(), method)().items():
                    plugins[kind].setdefault(name, (function, path))
        except Exception as err:
            problems.append(describe(err, path))
    names = {kind: sorted(found) for kind, found in plugins.items()}
    replies.write(json.dumps({"names": names, "problems": problems}) + "\n")
    replies.flush()
    for line in sys.stdin:
        request = json.loads(line)
        found = plugins[request["kind"]].get(request["name"])
        if found is None:
            reply = json.dumps({"missing": True})
        else:
            function, path = found
            try:
                value = function(*request["args"], **request["kwargs"])
                if request["kind"] == "test":
                    value = bool(value)
                reply = json.dumps({"value": value}, default=plain)
            except Exception as err:
                reply = json.dumps({"error": describe(err, path)})
        replies.write(reply + "\n")
        replies.flush()


main()

"""Run real ansible-playbook processes against the collection from tests."""
import json
import os
import subprocess
import sys

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
COLLECTIONS = os.path.join(ROOT, ".cache", "collections")
SITE = os.path.join(os.path.dirname(os.path.dirname(yaml.__file__)))


class PlaybookRun(object):
    def __init__(self, proc, log_path):
        self.rc = proc.returncode
        self.output = proc.stdout
        with open(log_path) as handle:
            self.log = handle.read()

    def __repr__(self):
        return "PlaybookRun(rc=%s)\n%s" % (self.rc, self.output[-6000:])


def run_playbook(tmp_path, playbook, extra_vars=None, inventory=None, verbosity=0, check=False, env=None,
                 name="run"):
    """Run ``playbook`` (a path, or a list of plays to write out). Returns a PlaybookRun."""
    if not isinstance(playbook, str):
        path = str(tmp_path / ("%s.yml" % name))
        with open(path, "w") as handle:
            yaml.safe_dump(playbook, handle, sort_keys=False)
        playbook = path
    log_path = str(tmp_path / ("%s.log" % name))
    argv = [os.path.join(BIN, "ansible-playbook"), playbook]
    if inventory:
        argv += ["-i", inventory]
    if extra_vars is not None:
        vars_file = str(tmp_path / ("%s.vars.json" % name))
        with open(vars_file, "w") as handle:
            json.dump(extra_vars, handle)
        os.chmod(vars_file, 0o600)
        argv += ["-e", "@" + vars_file]
    if verbosity:
        argv.append("-" + "v" * verbosity)
    if check:
        argv += ["--check", "--diff"]
    full_env = dict(os.environ)
    full_env.update({
        "ANSIBLE_COLLECTIONS_PATH": "%s:%s" % (COLLECTIONS, SITE),
        "ANSIBLE_LOG_PATH": log_path,
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCALHOST_WARNING": "0",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "0",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_FORKS": "10",
        "PATH": BIN + os.pathsep + os.environ.get("PATH", ""),
    })
    full_env.update(env or {})
    proc = subprocess.run(argv, check=False, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                          env=full_env, cwd=str(tmp_path), timeout=600)
    return PlaybookRun(proc, log_path)

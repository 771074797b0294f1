# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection as its users get it (`make package`, part of `make test`; `make ee-context`).

1. Builds the tarball with ansible-galaxy and checks its file list: the collection (every file of plugins/,
   roles/, playbooks/, docs/, meta/, changelogs/, examples/ and the top-level files users read), nothing of
   this repository's test harness, no caches.
2. Installs it into an empty path and, from a directory outside this repository with only that path
   configured (no PYTHONPATH, no sys.path scan, no ansible.cfg of ours), renders every module, lookup, filter
   and role with ansible-doc (each read from the installed copy, not this checkout) and syntax-checks every
   playbook by FQCN.
3. Every other collection the playbooks and roles name is declared (galaxy.yml dependencies, or
   requirements.yml for the optional ones).
4. Plain clone: with no environment from the Makefile, ansible.cfg resolves llmops.claude_gateway to this
   checkout (what ansible-lint, an editor or pre-commit sees), the link it goes through is in git's file
   list, and every playbook passes ansible-playbook's syntax check there (ansible-lint's first step).
5. Execution Environment, as docs/execution-environment.md says: examples/execution-environment/ with the
   tarball in it, `ansible-builder create`; the context has its Containerfile and _build files, installs the
   collection from _build/ alone (the image's galaxy stage), and the context's own introspection of that
   install (the builder stage) yields exactly the collection's Python and system requirements.

    .venv/bin/python tests/check-package.py [--ee-context DIR] [--keep]

--ee-context DIR leaves the EE build context in DIR (docs/execution-environment.md); --keep leaves the work
directory (tarball, installed collection) and prints its path.
"""

import argparse
import concurrent.futures
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)
NAMESPACE, NAME = "llmops", "claude_gateway"
FQCN = "%s.%s" % (NAMESPACE, NAME)

# Top-level entries of the tarball; anything else is harness or an accident.
SHIPPED_DIRS = ("changelogs", "docs", "examples", "meta", "playbooks", "plugins", "roles")
SHIPPED_FILES = ("MANIFEST.json", "FILES.json", "README.md", "COPYING", "CHANGELOG.rst", "requirements.txt",
                 "requirements.yml", "bindep.txt")
REQUIRED = ("COPYING", "README.md", "CHANGELOG.rst", "requirements.txt", "requirements.yml", "bindep.txt",
            "meta/runtime.yml", "meta/execution-environment.yml", "changelogs/changelog.yaml",
            "examples/execution-environment/execution-environment.yml")
# Path components that never belong in the tarball, at any depth.
FORBIDDEN_PARTS = {".ansible", ".cache", ".git", ".pytest_cache", ".tox", ".venv", "__pycache__", "bench", "build",
                   "molecule", "tests"}
FORBIDDEN_SUFFIXES = (".pyc", ".retry", ".orig", ".rej", ".swp", ".tar.gz")
REPOSITORY = "https://github.com/llmops/claude_gateway"

# plugins/<dir> -> (ansible-doc type, how names are found); directories without docs of their own.
DOC_TYPES = {"modules": ("module", ".py"), "lookup": ("lookup", ".py"), "filter": ("filter", ".yml"),
             "test": ("test", ".yml"), "inventory": ("inventory", ".py"), "callback": ("callback", ".py"),
             "connection": ("connection", ".py"), "become": ("become", ".py"), "cache": ("cache", ".py"),
             "strategy": ("strategy", ".py"), "vars": ("vars", ".py")}
NO_DOCS = {"action", "doc_fragments", "module_utils", "plugin_utils"}
# The collection's link for a plain clone (ansible.cfg, collections_path).
CLONE_LINK = os.path.join(".config", "collections", "ansible_collections", NAMESPACE, NAME)
FQCN_RE = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")
# Keys whose values name plugins of other collections.
PLUGIN_VALUE_KEYS = re.compile(r"^(ansible_)?connection$|_connection$|^callbacks_enabled$|^stdout_callback$|"
                               r"^strategy$|^become_method$")
OWN = {"ansible.builtin", "ansible.legacy", FQCN}


class CheckFailed(Exception):
    pass


def check(condition, message):
    if not condition:
        raise CheckFailed(message)


def run(argv, env=None, cwd=None):
    proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          check=False)
    if proc.returncode != 0:
        raise CheckFailed("%s exited with %d:\n%s" % (" ".join(argv), proc.returncode, proc.stdout[-6000:]))
    return proc.stdout


def clean_env(work, collections_path):
    """Only `collections_path`: nothing of the caller's Ansible settings, PYTHONPATH or sys.path."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_") and k != "PYTHONPATH"}
    config = os.path.join(work, "ansible.cfg")
    with open(config, "w") as handle:
        handle.write("[defaults]\n")
    env.update({
        "ANSIBLE_CONFIG": config,  # not the user's ~/.ansible.cfg either
        "ANSIBLE_COLLECTIONS_PATH": collections_path,
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False",
        "PATH": BIN + os.pathsep + os.environ.get("PATH", "/usr/bin:/bin"),
    })
    return env


def build(work):
    dist = os.path.join(work, "dist")
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", ROOT, "--output-path", dist])
    tarballs = [f for f in os.listdir(dist) if f.endswith(".tar.gz")]
    check(len(tarballs) == 1, "expected one tarball, found %s" % tarballs)
    return os.path.join(dist, tarballs[0])


def source_files(dirs):
    """Files of the checkout under `dirs` as a clone has them (tracked, or untracked and not ignored)."""
    if not os.path.isdir(os.path.join(ROOT, ".git")):
        return None
    out = run(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard", "-z", "--"] + list(dirs))
    return {p for p in out.split("\0") if p and os.path.isfile(os.path.join(ROOT, p))}


def check_file_list(tarball):
    with tarfile.open(tarball) as tar:
        members = tar.getmembers()
        manifest = json.load(tar.extractfile("MANIFEST.json"))
        copying = tar.extractfile("COPYING").read().decode("utf-8")
    names = {os.path.normpath(m.name) for m in members}
    files = {os.path.normpath(m.name) for m in members if m.isfile()}
    stray = sorted(n for n in names if n.split("/")[0] not in SHIPPED_DIRS + SHIPPED_FILES)
    check(not stray, "the tarball holds files outside the collection (harness?): %s" % stray[:20])
    bad = sorted(n for n in names if FORBIDDEN_PARTS & set(n.split("/")) or n.endswith(FORBIDDEN_SUFFIXES))
    check(not bad, "the tarball holds caches or harness files: %s" % bad[:20])
    missing = [p for p in REQUIRED if p not in files]
    check(not missing, "the tarball lacks %s" % missing)
    expected = source_files(SHIPPED_DIRS)
    if expected is not None:
        dropped = sorted(p for p in expected - files
                         if not (FORBIDDEN_PARTS & set(p.split("/")) or p.endswith(FORBIDDEN_SUFFIXES)))
        check(not dropped, "files of the collection are missing from the tarball (build_ignore too wide?): %s"
              % dropped[:20])
    info = manifest["collection_info"]
    check(info["license"] == ["GPL-3.0-or-later"], "MANIFEST.json license: %s" % info["license"])
    check("GNU GENERAL PUBLIC LICENSE" in copying and "Version 3, 29 June 2007" in copying,
          "COPYING is not the GPL-3.0 text")
    for key in ("repository", "documentation", "issues", "homepage"):
        check((info.get(key) or "").startswith(REPOSITORY), "MANIFEST.json %s: %r" % (key, info.get(key)))
    return len(files)


def plugin_names(collection_root):
    """{ansible-doc type: [FQCN, ...]} for the plugins and roles under `collection_root`."""
    found = {}
    plugins = os.path.join(collection_root, "plugins")
    for sub in sorted(os.listdir(plugins)):
        if not os.path.isdir(os.path.join(plugins, sub)) or sub in NO_DOCS:
            continue
        check(sub in DOC_TYPES, "plugins/%s: a plugin type this check does not know; add it to DOC_TYPES" % sub)
        doc_type, suffix = DOC_TYPES[sub]
        names = sorted(f[:-len(suffix)] for f in os.listdir(os.path.join(plugins, sub))
                       if f.endswith(suffix) and not f.startswith("_"))
        found[doc_type] = ["%s.%s" % (FQCN, n) for n in names]
    roles = os.path.join(collection_root, "roles")
    found["role"] = ["%s.%s" % (FQCN, r) for r in sorted(os.listdir(roles)) if os.path.isdir(os.path.join(roles, r))]
    return found


def check_installed(tarball, work):
    path = os.path.join(work, "collections")
    installed = os.path.join(path, "ansible_collections", NAMESPACE, NAME)
    env = clean_env(work, path)
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", tarball, "-p", path], env=env, cwd=work)
    check(os.path.isfile(os.path.join(installed, "MANIFEST.json")), "the tarball was not installed in %s" % path)
    names = plugin_names(installed)
    check(names == plugin_names(ROOT), "the installed collection's plugins or roles differ from the checkout's")
    playbooks = sorted(f[:-4] for f in os.listdir(os.path.join(installed, "playbooks")) if f.endswith(".yml"))
    check(playbooks, "no playbooks in the installed collection")

    def render(doc_type):
        fqcns = names[doc_type]
        out = run([os.path.join(BIN, "ansible-doc"), "-t", doc_type, "--json"] + fqcns, env=env, cwd=work)
        docs = json.loads(out[out.index("{"):])
        for fqcn in fqcns:
            entry = docs.get(fqcn) or {}
            where = entry.get("path") if doc_type == "role" else (entry.get("doc") or {}).get("filename")
            check(entry.get("entry_points" if doc_type == "role" else "doc"),
                  "ansible-doc -t %s rendered nothing for %s" % (doc_type, fqcn))
            # From the installed copy only: not this checkout (PYTHONPATH, .cache/collections), not site-packages.
            real = os.path.realpath(where or "/")
            check(real == os.path.realpath(installed) or real.startswith(os.path.realpath(installed) + os.sep),
                  "ansible-doc read %s from %s, not from the installed tarball" % (fqcn, where))
        return doc_type, len(fqcns)

    def syntax_check(_unused):
        run([os.path.join(BIN, "ansible-playbook"), "--syntax-check"] + ["%s.%s" % (FQCN, p) for p in playbooks],
            env=env, cwd=work)
        return "playbook", len(playbooks)

    # Independent ansible processes, each mostly start-up time: side by side.
    jobs = [(render, t) for t in sorted(names) if names[t]] + [(syntax_check, None)]
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        counts = dict(f.result() for f in [pool.submit(fn, arg) for fn, arg in jobs])
    return installed, counts


def _walk_yaml(node, found):
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(key, str) and FQCN_RE.match(key):
                found.add(key)
            if isinstance(key, str) and PLUGIN_VALUE_KEYS.search(key):
                values = value if isinstance(value, list) else [value]
                found.update(v for v in values if isinstance(v, str) and FQCN_RE.match(v))
            if key == "collections" and isinstance(value, list):
                found.update("%s.x" % v for v in value if isinstance(v, str))
            _walk_yaml(value, found)
    elif isinstance(node, list):
        for item in node:
            _walk_yaml(item, found)


def check_declared_collections():
    """Collections named by task keys, connection/callback values or `collections:` are declared."""
    used = {}
    for top in ("playbooks", "roles"):
        for base, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if not name.endswith((".yml", ".yaml")):
                    continue
                path = os.path.join(base, name)
                with open(path, encoding="utf-8") as handle:
                    found = set()
                    _walk_yaml(yaml.safe_load(handle), found)
                for fqcn in found:
                    used.setdefault(".".join(fqcn.split(".")[:2]), os.path.relpath(path, ROOT))
    with open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8") as handle:
        declared = set((yaml.safe_load(handle).get("dependencies") or {}))
    with open(os.path.join(ROOT, "requirements.yml"), encoding="utf-8") as handle:
        declared |= {c["name"] if isinstance(c, dict) else c for c in yaml.safe_load(handle).get("collections") or []}
    undeclared = {c: f for c, f in used.items() if c not in OWN and c not in declared}
    check(not undeclared, "collections used but declared neither in galaxy.yml nor requirements.yml: %s"
          % undeclared)
    return sorted(set(used) - OWN)


def check_plain_clone(work):
    """What ansible-lint sees in a fresh clone: no Makefile environment, only ansible.cfg at the root."""
    link = os.path.join(ROOT, CLONE_LINK)
    check(os.path.islink(link) and os.path.realpath(link) == os.path.realpath(ROOT),
          "%s must be a link to the checkout (ansible.cfg's collections_path resolves the collection through it)"
          % CLONE_LINK)
    tracked = source_files([CLONE_LINK, "ansible.cfg"])
    if tracked is not None:
        out = run(["git", "-C", ROOT, "ls-files", "-co", "--exclude-standard", "--", CLONE_LINK, "ansible.cfg"])
        check(sorted(out.split()) == sorted([CLONE_LINK, "ansible.cfg"]),
              "%s and ansible.cfg must be in git's file list (a clone gets them): %s" % (CLONE_LINK, out.split()))
    env = {"PATH": BIN + os.pathsep + "/usr/bin:/bin", "HOME": os.environ.get("HOME", work), "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_INVENTORY_UNPARSED_WARNING": "False"}
    listing = json.loads(run([os.path.join(BIN, "ansible-galaxy"), "collection", "list", FQCN, "--format", "json"],
                             env=env, cwd=ROOT))
    where = [p for p, cols in listing.items() if FQCN in cols]
    check(where and os.path.realpath(os.path.join(where[0], NAMESPACE, NAME)) == os.path.realpath(ROOT),
          "in a plain clone %s resolves to %s, not the checkout" % (FQCN, where))
    playbooks = sorted(os.path.join("playbooks", f) for f in os.listdir(os.path.join(ROOT, "playbooks"))
                       if f.endswith(".yml"))
    run([os.path.join(BIN, "ansible-playbook"), "--syntax-check"] + playbooks, env=env, cwd=ROOT)


def requirement_names(lines):
    return sorted(re.split(r"[\s<>=!~;\[#]", line.strip(), maxsplit=1)[0].lower().replace("_", "-")
                  for line in lines if line.strip() and not line.strip().startswith("#"))


def check_ee_context(context, tarball, work):
    """The documented flow: the example copied, the tarball put in it, `ansible-builder create`; then the
    image's first two stages run here without a container: the galaxy stage's install from the context's
    _build/ and the builder stage's introspection of what it installed."""
    builder = os.path.join(BIN, "ansible-builder")
    check(os.path.exists(builder), "ansible-builder is not installed (tests/requirements-test.txt; make deps)")
    definition_dir = os.path.join(work, "ee-definition")
    shutil.copytree(os.path.join(ROOT, "examples", "execution-environment"), definition_dir)
    shutil.copy(tarball, os.path.join(definition_dir, "%s-%s.tar.gz" % (NAMESPACE, NAME)))
    if os.path.exists(context):
        shutil.rmtree(context)
    run([builder, "create", "-f", "execution-environment.yml", "--context", context], cwd=definition_dir)
    with open(os.path.join(definition_dir, "execution-environment.yml"), encoding="utf-8") as handle:
        ee = yaml.safe_load(handle)
    check(ee.get("version") == 3, "the EE definition is not ansible-builder v3")
    containerfile = os.path.join(context, "Containerfile")
    check(os.path.isfile(containerfile), "no Containerfile in %s" % context)
    with open(containerfile, encoding="utf-8") as handle:
        text = handle.read()
    for needle in ('ARG EE_BASE_IMAGE="%s"' % ee["images"]["base_image"]["name"], "COPY _build /build",
                   "ansible-galaxy collection install", "introspect.py introspect", "/output/scripts/assemble",
                   "install-from-bindep"):
        check(needle in text, "the Containerfile lacks %r" % needle)
    build_dir = os.path.join(context, "_build")
    scripts = os.path.join(build_dir, "scripts")
    for script in ("introspect.py", "assemble", "install-from-bindep", "check_ansible", "check_galaxy", "entrypoint"):
        check(os.path.isfile(os.path.join(scripts, script)), "the context lacks _build/scripts/%s" % script)

    # Galaxy stage (WORKDIR /build = the context's _build): install from the context alone, no index.
    galaxy = os.path.join(work, "ee-collections")
    run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "-r", "requirements.yml",
         "--collections-path", galaxy], env=clean_env(work, galaxy), cwd=build_dir)
    with open(os.path.join(galaxy, "ansible_collections", NAMESPACE, NAME, "MANIFEST.json")) as handle:
        version = json.load(handle)["collection_info"]["version"]
    check(os.path.basename(tarball) == "%s-%s-%s.tar.gz" % (NAMESPACE, NAME, version),
          "the context installs %s %s, not the tarball just built" % (FQCN, version))

    # Builder stage: the context's own introspection over what the galaxy stage installed.
    pip_out, bindep_out = os.path.join(work, "ee-requirements.txt"), os.path.join(work, "ee-bindep.txt")
    run([sys.executable, os.path.join(scripts, "introspect.py"), "introspect", "--write-pip", pip_out,
         "--write-bindep", bindep_out, galaxy], cwd=work)
    # ansible-builder leaves out what every image has (ansible-core, pyyaml): its own list.
    spec = importlib.util.spec_from_file_location("ee_introspect", os.path.join(scripts, "introspect.py"))
    introspect = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(introspect)
    with open(os.path.join(ROOT, "requirements.txt"), encoding="utf-8") as handle:
        want_pip = [n for n in requirement_names(handle) if n not in introspect.EXCLUDE_REQUIREMENTS]
    with open(pip_out, encoding="utf-8") as handle:
        got_pip = requirement_names(handle)
    check(got_pip == want_pip, "the EE would install %s, the collection needs %s" % (got_pip, want_pip))
    with open(os.path.join(ROOT, "bindep.txt"), encoding="utf-8") as handle:
        want_sys = sorted(line.strip() for line in handle if line.strip() and not line.startswith("#"))
    with open(bindep_out, encoding="utf-8") as handle:
        got_sys = sorted(line.split("#")[0].strip() for line in handle if line.strip() and not line.startswith("#"))
    check(got_sys == want_sys, "the EE would install system packages %s, bindep.txt says %s" % (got_sys, want_sys))
    return got_pip


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ee-context", help="leave the Execution Environment build context in this directory")
    parser.add_argument("--keep", action="store_true", help="leave the work directory")
    args = parser.parse_args()
    started = time.monotonic()
    work = tempfile.mkdtemp(prefix="llmops-claude_gateway-package-")
    try:
        tarball = build(work)
        nfiles = check_file_list(tarball)
        installed, counts = check_installed(tarball, work)
        others = check_declared_collections()
        check_plain_clone(work)
        context = os.path.abspath(args.ee_context) if args.ee_context else os.path.join(work, "ee-context")
        ee_pip = check_ee_context(context, tarball, work)
    except CheckFailed as exc:
        sys.stderr.write("package check FAILED: %s\n" % exc)
        return 1
    finally:
        if args.keep:
            print("work directory: %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("package: %s, %d files, nothing of the harness" % (os.path.basename(tarball), nfiles))
    print("installed in an empty path (%s): ansible-doc rendered %s; playbooks syntax-checked by FQCN: %d"
          % (os.path.relpath(installed, work),
             ", ".join("%d %s" % (n, t) for t, n in sorted(counts.items()) if t != "playbook"), counts["playbook"]))
    print("other collections used, all declared: %s" % (", ".join(others) or "none"))
    print("plain clone: ansible.cfg resolves %s to the checkout; playbooks pass the syntax check there" % FQCN)
    print("EE context: %s: installs the tarball from _build/; the image gets %s and bindep.txt"
          % (context if args.ee_context else "created and checked", ", ".join(ee_pip)))
    print("package check passed in %.1f s" % (time.monotonic() - started))
    return 0


if __name__ == "__main__":
    sys.exit(main())

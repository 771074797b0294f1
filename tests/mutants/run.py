"""Mutation testing of the collection's Python code against the unit tests (make mutants).

The mutation tool (cosmic-ray, pinned in tests/mutants/requirements.txt) edits the file under test in
place, so everything runs in a copy of the tree (default .cache/mutants/tree), never in the work tree.
For each target file:

1. the test files that load it are found by running each test file under tests/unit (and the integration
   files that drive the backends in process against real servers, IN_PROCESS_INTEGRATION) once with
   tests/mutants/imports_plugin.py (MUTANTS_TESTS=all uses the whole unit suite instead);
2. those tests must pass on the unmutated copy (the baseline, which also sets the per-mutant timeout);
3. every mutant is run with `pytest -x` over them: a failing (or timed-out) run kills it.

Results (counts per file and every surviving mutant with its line and diff) are merged into a JSON file
(default tests/mutants/results.json): a run over some files keeps the others' earlier results.
tests/mutants/report.py turns that file into the tables of docs/testing.md.
"""
import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Most important first: the gateway's auth hook is the security boundary.
TARGETS = [
    "roles/litellm/files/claude_gateway_auth.py",
    "plugins/module_utils/_url.py",
    "plugins/module_utils/_tokens.py",
    "plugins/module_utils/_backends/base.py",
    "plugins/module_utils/_claude_code/safe_file.py",
    "plugins/plugin_utils/_client_policy.py",
    "plugins/module_utils/_claude_code/settings.py",
    "plugins/module_utils/_claude_code/dotenv.py",
    "plugins/module_utils/_claude_code/gitlab_toml.py",
    "plugins/module_utils/_claude_code/masking.py",
    "plugins/module_utils/_backends/ansible_vault_file.py",
    "plugins/module_utils/_backends/errors.py",
    "plugins/module_utils/_backends/factory.py",
    "plugins/module_utils/_backends/options.py",
    "plugins/module_utils/_backends/local.py",
    "plugins/module_utils/_backends/vault.py",
    "plugins/module_utils/_backends/vault_auth.py",
    "plugins/module_utils/_backends/aws.py",
    "plugins/module_utils/_backends/gcp.py",
]
# Picked up when they exist (plugins/plugin_utils is planned), after the list above.
TARGET_DIRS = ["plugins/module_utils", "plugins/plugin_utils"]
SKIP = {"__init__.py"}


def all_targets(root):
    found = [t for t in TARGETS if os.path.exists(os.path.join(root, t))]
    for top in TARGET_DIRS:
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, top)):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            for name in sorted(filenames):
                rel = os.path.relpath(os.path.join(dirpath, name), root)
                if name.endswith(".py") and name not in SKIP and rel not in found:
                    found.append(rel)
    return found


def copy_tree(root, work):
    if os.path.exists(work):
        shutil.rmtree(work)
    shutil.copytree(root, work, symlinks=True,
                    ignore=shutil.ignore_patterns(".cache", ".venv", ".git", "__pycache__", "output", "mutants-*"))
    link_dir = os.path.join(work, ".cache", "collections", "ansible_collections", "llmops")
    os.makedirs(link_dir)
    os.symlink(work, os.path.join(link_dir, "claude_gateway"))


def environment(work):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(work, ".cache", "collections")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.pop("MUTANTS_IMPORTS_OUT", None)
    # A missing server fails the baseline instead of skipping tests (and leaving every mutant alive).
    env["CLAUDE_GATEWAY_TESTS_REQUIRE_SERVERS"] = "1"
    return env


def pytest_cmd(python, files):
    return [python, "-m", "pytest", "-p", "no:cacheprovider", "-x", "-q", "--no-header", "-o", "addopts="] + files


# Integration test files that drive the code in process against real servers on 127.0.0.1 (moto, drongo,
# OpenBao): for the backends they are the tests that guard the code, so they count as its tests too.
IN_PROCESS_INTEGRATION = [
    "tests/integration/test_backend_aws.py",
    "tests/integration/test_backend_gcp.py",
    "tests/integration/test_backend_vault.py",
]


def test_files(work):
    """Every unit test file (the tree mirrors plugins/), then the in-process integration files."""
    found = []
    for dirpath, dirnames, filenames in os.walk(os.path.join(work, "tests", "unit")):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        found += [os.path.relpath(os.path.join(dirpath, name), work) for name in sorted(filenames)
                  if name.startswith("test_") and name.endswith(".py")]
    return found + [t for t in IN_PROCESS_INTEGRATION if os.path.exists(os.path.join(work, t))]


def test_map(python, work):
    """{test file (relative): set of realpaths it loads}."""
    mapping = {}
    env = environment(work)
    env["PYTHONPATH"] += os.pathsep + os.path.join(work, "tests", "mutants")
    for test in test_files(work):
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as tmp:
            out = tmp.name
        env["MUTANTS_IMPORTS_OUT"] = out
        subprocess.run([python, "-m", "pytest", "-p", "imports_plugin", "-p", "no:cacheprovider", "-q", test],
                       cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        try:
            with open(out, encoding="utf-8") as handle:
                mapping[test] = set(json.load(handle))
        except (OSError, ValueError):
            mapping[test] = set()
        os.unlink(out)
    return mapping


def loads_by_path(test_file, stem):
    """A test that loads the file by its path (importlib), not by import: it names the file."""
    with open(test_file, encoding="utf-8") as handle:
        return (stem + ".py") in handle.read()


def source_lines(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read().splitlines()


def run_file(args, work, target, killers):
    path = os.path.join(work, target)
    env = environment(work)
    start = time.time()
    base = subprocess.run(pytest_cmd(args.python, killers), cwd=work, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    baseline = time.time() - start
    if base.returncode != 0:
        print(base.stdout[-3000:])
        raise SystemExit(f"mutants: the tests fail on the unmutated copy of {target}: fix them first")
    timeout = max(20.0, 5 * baseline)
    os.makedirs(args.sessions, exist_ok=True)
    session = os.path.join(args.sessions, target.replace("/", "_") + ".sqlite")
    config = os.path.join(args.sessions, target.replace("/", "_") + ".toml")
    stamp = session + ".sha256"
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    command = " ".join(["nice", "-n", str(args.nice)] + pytest_cmd(args.python, killers))
    with open(config, "w", encoding="utf-8") as handle:
        handle.write("[cosmic-ray]\n")
        handle.write(f"module-path = {json.dumps(target)}\n")
        handle.write(f"timeout = {timeout}\n")
        handle.write("excluded-modules = []\n")
        handle.write(f"test-command = {json.dumps(command)}\n")
        handle.write('[cosmic-ray.distributor]\nname = "local"\n')
    cosmic = [os.path.join(os.path.dirname(args.python), "cosmic-ray")]
    if not args.fresh and os.path.exists(session) and open_text(stamp) == digest:
        # Same source: go on where the last run stopped. With --survivors the killed mutants stay
        # killed (the old tests still pass) and only the survivors are run again, against the current tests.
        if args.survivors:
            forget_survivors(session)
    else:
        if os.path.exists(session):
            os.unlink(session)
        subprocess.run(cosmic + ["init", config, session], cwd=work, env=env, check=True)
        with open(stamp, "w", encoding="utf-8") as handle:
            handle.write(digest)
    skip_redundant_operators(session)
    start = time.time()
    subprocess.run(cosmic + ["exec", config, session], cwd=work, env=env, check=True)
    seconds = round(time.time() - start)
    return collect(session, path, target, killers, seconds)


def open_text(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except OSError:
        return None


# One mutant per operator site, not every operator the tool knows: for each binary operator its nearest
# counterpart, for each comparison its negation and its off-by-one boundary. The other replacements
# (`"%s" % x` -> `"%s" ** x`, `a + b` -> `a << b`, `a == b` -> `a >= b`, ...) fail the same way as the
# kept one (a TypeError, the same branch taken) and would only multiply the run time.
BINARY_KEPT = {("Add", "Sub"), ("Sub", "Add"), ("Mul", "Div"), ("Div", "Mul"), ("FloorDiv", "Mul"),
               ("Mod", "Add"), ("Pow", "Mul"), ("LShift", "RShift"), ("RShift", "LShift"),
               ("BitOr", "BitAnd"), ("BitAnd", "BitOr"), ("BitXor", "BitOr")}
COMPARISON_KEPT = {("Eq", "NotEq"), ("NotEq", "Eq"), ("Lt", "LtE"), ("Lt", "GtE"), ("LtE", "Lt"),
                   ("LtE", "Gt"), ("Gt", "GtE"), ("Gt", "LtE"), ("GtE", "Gt"), ("GtE", "Lt"),
                   ("Is", "IsNot"), ("IsNot", "Is")}


def redundant(operator_name):
    name = operator_name.split("/", 1)[-1]
    for prefix, kept in (("ReplaceBinaryOperator_", BINARY_KEPT), ("ReplaceComparisonOperator_", COMPARISON_KEPT)):
        if name.startswith(prefix):
            return tuple(name[len(prefix):].split("_")) not in kept
    return False


def skip_redundant_operators(session):
    from cosmic_ray.work_db import WorkDB, use_db  # pylint: disable=import-outside-toplevel
    from cosmic_ray.work_item import WorkerOutcome, WorkResult  # pylint: disable=import-outside-toplevel

    with use_db(session, WorkDB.Mode.open) as db:
        skipped = [item.job_id for item in db.work_items if redundant(item.mutations[0].operator_name)]
        db.set_multiple_results(skipped, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))


def forget_survivors(session):
    from cosmic_ray.work_db import WorkDB, WorkResultStorage, use_db  # pylint: disable=import-outside-toplevel
    from cosmic_ray.work_item import TestOutcome  # pylint: disable=import-outside-toplevel

    with use_db(session, WorkDB.Mode.open) as db:
        with db._session_maker.begin() as session:  # pylint: disable=protected-access
            session.query(WorkResultStorage).filter(
                WorkResultStorage.test_outcome == TestOutcome.SURVIVED).delete()


def collect(session, path, target, killers, seconds):
    from cosmic_ray.work_db import WorkDB, use_db  # pylint: disable=import-outside-toplevel
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome  # pylint: disable=import-outside-toplevel

    lines = source_lines(path)
    counts = {"killed": 0, "survived": 0, "incompetent": 0, "pending": 0}
    survivors = []
    with use_db(session, WorkDB.Mode.open) as db:
        done = set()
        for item, result in db.completed_work_items:
            done.add(item.job_id)
            if result.worker_outcome == WorkerOutcome.SKIPPED:
                continue
            if result.test_outcome == TestOutcome.SURVIVED:
                counts["survived"] += 1
                spec = item.mutations[0]
                line = spec.start_pos[0]
                survivors.append({
                    "line": line,
                    "operator": spec.operator_name,
                    "occurrence": spec.occurrence,
                    "source": lines[line - 1].strip() if line <= len(lines) else "",
                    "diff": [d for d in (result.diff or "").splitlines()
                             if d[:1] in "+-" and not d.startswith(("+++", "---"))],
                })
            elif result.test_outcome == TestOutcome.INCOMPETENT:
                counts["incompetent"] += 1
            else:
                counts["killed"] += 1
        counts["pending"] = sum(1 for item in db.work_items if item.job_id not in done)
    survivors.sort(key=lambda s: (s["line"], s["operator"], s["occurrence"]))
    mutants = counts["killed"] + counts["survived"] + counts["incompetent"]
    return {
        "mutants": mutants,
        "killed": counts["killed"],
        "survived": counts["survived"],
        "incompetent": counts["incompetent"],
        "pending": counts["pending"],
        "score": round(100.0 * counts["killed"] / mutants, 1) if mutants else None,
        "tests": killers,
        "seconds": seconds,
        "survivors": survivors,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="files to mutate (default: all targets, most important first)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--work", default=os.path.join(ROOT, ".cache", "mutants", "tree"))
    parser.add_argument("--out", default=os.path.join(ROOT, "tests", "mutants", "results.json"))
    parser.add_argument("--tests", default=os.environ.get("MUTANTS_TESTS", "related"), choices=["related", "all"],
                        help="related: the test files that load the file; all: the whole unit suite")
    parser.add_argument("--nice", type=int, default=10)
    parser.add_argument("--sessions", default=os.path.join(ROOT, ".cache", "mutants", "sessions"),
                        help="the mutation tool's databases, kept for --survivors")
    parser.add_argument("--fresh", action="store_true", help="start every file again (default: resume)")
    parser.add_argument("--survivors", action="store_true", default=os.environ.get("MUTANTS_SURVIVORS") == "1",
                        help="run only the survivors of the last run again (files whose source did not change)")
    args = parser.parse_args()

    targets = args.files or all_targets(ROOT)
    work = os.path.abspath(args.work)
    if os.path.realpath(work) == os.path.realpath(ROOT):
        raise SystemExit("mutants: --work must not be the work tree (the files are mutated in place)")
    copy_tree(ROOT, work)
    mapping = test_map(args.python, work) if args.tests == "related" else {}

    results = {"tool": "", "files": {}}
    if os.path.exists(args.out):
        with open(args.out, encoding="utf-8") as handle:
            results = json.load(handle)
    results["tool"] = "cosmic-ray " + version("cosmic-ray")
    for target in targets:
        real = os.path.realpath(os.path.join(work, target))
        stem = os.path.splitext(os.path.basename(target))[0]
        killers = sorted(t for t, files in mapping.items()
                         if real in files or loads_by_path(os.path.join(work, t), stem)) or ["tests/unit"]
        print(f"mutants: {target} against {' '.join(killers)}", flush=True)
        entry = run_file(args, work, target, killers)
        results["files"][target] = entry
        print(f"mutants: {target}: {entry['killed']}/{entry['mutants']} killed, {entry['survived']} survived "
              f"({entry['score']}%) in {entry['seconds']}s", flush=True)
        with open(args.out, "w", encoding="utf-8") as handle:
            json.dump(results, handle, indent=1, sort_keys=True)
            handle.write("\n")
    print(f"mutants: results in {os.path.relpath(args.out, ROOT)}; "
          f"python3 tests/mutants/report.py updates docs/testing.md")


if __name__ == "__main__":
    main()

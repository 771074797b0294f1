"""Pytest plugin for tests/mutants/run.py: at the end of a session, write the source files that were loaded.

Used once per unit test file to learn which test files exercise which module (the killers of its mutants).
"""
import json
import os
import sys


def pytest_sessionfinish(session, exitstatus):
    out = os.environ.get("MUTANTS_IMPORTS_OUT")
    if not out:
        return
    files = set()
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if path:
            files.add(os.path.realpath(path))
    with open(out, "w", encoding="utf-8") as handle:
        json.dump(sorted(files), handle)

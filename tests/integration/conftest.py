"""Real secret-store servers on free 127.0.0.1 ports, started once per session and stopped after.

A server or tool that is missing (the bao binary, moto_server, drongo, LiteLLM) skips its tests on a
developer's machine but FAILS them when CI is set (CI=true, as CI services set it) or under `make test`
(which exports CLAUDE_GATEWAY_TESTS_REQUIRE_SERVERS=1). Every server fixture calls
``missing_dependency`` through the ``require_dependency`` fixture, so nothing is skipped silently
where it must run.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

pytest_plugins = ["servers_cloud", "servers_vault"]

REQUIRE_VARIABLE = "CLAUDE_GATEWAY_TESTS_REQUIRE_SERVERS"


def dependencies_required(environ=None):
    """True in CI (CI=true/1/yes) and under `make test` (CLAUDE_GATEWAY_TESTS_REQUIRE_SERVERS=1)."""
    environ = os.environ if environ is None else environ
    return (environ.get(REQUIRE_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")
            or environ.get("CI", "").strip().lower() in ("1", "true", "yes"))


def missing_dependency(what, fix):
    """A server or tool the test needs is missing: fail where it is required, else skip."""
    message = "%s is missing. Fix: %s" % (what, fix)
    if dependencies_required():
        pytest.fail("%s (required here: CI or %s is set)" % (message, REQUIRE_VARIABLE), pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def require_dependency():
    """``require_dependency(what, fix)``: see ``missing_dependency``."""
    return missing_dependency

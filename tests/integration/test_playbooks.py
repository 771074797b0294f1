"""The modules and the lookup driven through real ansible-playbook runs, against every backend."""
import hashlib
import os
import re
import secrets

import pytest

from ansible_runner import ROOT, run_playbook

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory import (
    BACKEND_ARGUMENT_SPEC,
    get_backend,
)

ROUNDTRIP = os.path.join(ROOT, "tests", "integration", "playbooks", "secret_roundtrip.yml")


def module_options(options):
    """Only the keys the modules accept (fixtures carry test-only extras)."""
    return dict((k, v) for k, v in options.items() if k in BACKEND_ARGUMENT_SPEC and v is not None)


@pytest.fixture(params=["local", "vault", "aws", "gcp"])
def store(request, tmp_path):
    if request.param == "local":
        return {"backend": "local", "local_path": str(tmp_path / "store" / "secrets.yml")}
    if request.param == "vault":
        return module_options(request.getfixturevalue("openbao_server").options())
    options = request.getfixturevalue("%s_options" % request.param)
    return dict(module_options(options), backend=request.param)


def _secret_values():
    return {"v1": "gw-v1-" + secrets.token_hex(20), "v2": "gw-v2-" + secrets.token_hex(20),
            "json_secret": {"team-a": "gw-a-" + secrets.token_hex(20), "team-b": "gw-b-" + secrets.token_hex(20)}}


def _all_values(extra_vars):
    values = [extra_vars["v1"], extra_vars["v2"]] + list(extra_vars["json_secret"].values())
    return values


def test_roundtrip_at_vvv_leaks_nothing(store, tmp_path):
    """Every operation through ansible-playbook -vvv; neither output nor log holds any secret value."""
    values = _secret_values()
    ns = "it-" + secrets.token_hex(4)
    result = run_playbook(tmp_path, ROUNDTRIP, dict(values, store=store, ns=ns), verbosity=3)
    assert result.rc == 0, result
    assert "All assertions passed" in result.output or "ok=" in result.output
    backend = get_backend(store)
    generated = backend.read(SecretRef(ns + "-generated")).value
    leaked = [v for v in _all_values(values) + [generated] if v in result.output or v in result.log]
    assert leaked == [], "secret values found in the -vvv output or log"
    # Credentials of the store itself must not show either.
    for key in ("vault_token", "aws_secret_access_key"):
        if store.get(key) and len(store[key]) > 8:
            assert store[key] not in result.output and store[key] not in result.log, key


def test_check_mode_predicts_first_run(tmp_path):
    store = {"backend": "local", "local_path": str(tmp_path / "s.yml")}
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"llmops.claude_gateway.gateway_token": dict(store, name="master", generate=True), "register": "r"},
        {"ansible.builtin.assert": {"that": ["r is changed"]}}]}]
    checked = run_playbook(tmp_path, play, check=True, name="check")
    assert checked.rc == 0, checked
    assert not os.path.exists(store["local_path"])
    assert "changed=1" in checked.output
    first = run_playbook(tmp_path, play, name="first")
    assert first.rc == 0 and "changed=1" in first.output, first
    second = run_playbook(tmp_path, [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"llmops.claude_gateway.gateway_token": dict(store, name="master", generate=True)}]}], name="second")
    assert second.rc == 0 and "changed=0" in second.output, second


def test_fanout_20_hosts_costs_one_read(openbao_server, aws_read_counter, aws_options, tmp_path):
    """One secret handed to 20 hosts: the servers' own counts say it was read once, not 20 times."""
    vault = module_options(openbao_server.options())
    aws = dict(module_options(aws_options), backend="aws", aws_endpoint_url=aws_read_counter.url)
    master, ci = "sk-" + secrets.token_hex(24), "gw-ci-" + secrets.token_hex(20)
    get_backend(vault).write("fanout/master", master)
    get_backend(aws).write("fanout-ci", ci)
    aws_read_counter.reset()
    before = openbao_server.count_reads("fanout/master")
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("[fleet]\n" + "".join("h%02d ansible_connection=local\n" % i for i in range(1, 21)))
    play = [{
        "name": "Fan-out", "hosts": "fleet", "gather_facts": False,
        "tasks": [
            {"name": "Read the master key once (module, run_once on the controller)",
             "llmops.claude_gateway.gateway_token_info": dict(vault, name="fanout/master"),
             "delegate_to": "localhost", "run_once": True, "register": "master"},
            {"name": "Read the CI token once (lookup inside a run_once set_fact)",
             "ansible.builtin.set_fact": {"ci_token": "{{ lookup('llmops.claude_gateway.gateway_token', "
                                                      "'fanout-ci', **aws) }}"},
             "vars": {"aws": aws}, "run_once": True, "no_log": True},
            {"name": "Every host holds both values",
             "ansible.builtin.assert": {"quiet": True, "that": [
                 "master.value | hash('sha256') == master_sha", "ci_token | hash('sha256') == ci_sha"]}},
        ],
    }]
    result = run_playbook(tmp_path, play, {"master_sha": hashlib.sha256(master.encode()).hexdigest(),
                                           "ci_sha": hashlib.sha256(ci.encode()).hexdigest()},
                          inventory=str(inventory), name="fanout")
    assert result.rc == 0, result
    recap = dict(re.findall(r"^(h\d\d) +: ok=(\d+) +changed=0 +unreachable=0 +failed=0", result.output, re.M))
    # The run_once host ran the two reads and the assert; the 19 others only the assert, which passed.
    assert recap == dict([("h01", "3")] + [("h%02d" % i, "1") for i in range(2, 21)])
    vault_reads = openbao_server.count_reads("fanout/master") - before
    aws_reads = aws_read_counter.count()
    print("fan-out over 20 hosts: vault reads=%d, aws GetSecretValue=%d" % (vault_reads, aws_reads))
    assert vault_reads == 1
    assert aws_reads == 1

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway_clients filter: the inventory model every playbook builds on."""

from __future__ import absolute_import, division, print_function

import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.claude_gateway.plugins.filter.gateway_clients import FilterModule, gateway_clients


def run(groups, hostvars):
    return gateway_clients(groups, hostvars)


def by_client(clients):
    return {(c["client"], c["host"]): c for c in clients}


def test_registered_under_its_name():
    assert FilterModule().filters()["gateway_clients"] is gateway_clients


def test_runner_and_plain_workstation_get_one_host_client_named_after_the_host():
    out = run({"workstations": ["ws1.example.com"], "ci_runners": ["runner-1"], "gateway": ["gw"]},
              {"ws1.example.com": {}, "runner-1": {"claude_code_client": "github_actions"}, "gw": {}})
    assert out == [
        {"client": "ws1-example-com", "team": None, "models": ["*"], "host": "ws1.example.com", "user": None,
         "kind": "workstation", "expires": None, "secret": "claude-gateway-client-ws1-example-com"},
        {"client": "runner-1", "team": None, "models": ["*"], "host": "runner-1", "user": None,
         "kind": "github_actions", "expires": None, "secret": "claude-gateway-client-runner-1"},
    ]


def test_gateway_only_hosts_are_not_clients():
    assert run({"gateway": ["gw"], "workstations": [], "all": ["gw"]}, {"gw": {}}) == []
    assert run({"all": []}, {}) == []


def test_per_user_clients_and_shared_host_client():
    hv = {"ws1": {"claude_gateway_team": "platform", "claude_gateway_models": ["claude-*"],
                  "claude_code_users": [
                      {"name": "alice", "client": "alice", "team": "research", "models": ["*"],
                       "expires": "2027-01-01T00:00:00Z"},
                      {"name": "bob", "client": "bob"},
                      {"name": "carol"}]}}
    out = run({"workstations": ["ws1"]}, hv)
    assert [(c["client"], c["user"]) for c in out] == [("ws1", None), ("alice", "alice"), ("bob", "bob")]
    c = by_client(out)
    assert c[("alice", "ws1")]["team"] == "research"
    assert c[("alice", "ws1")]["models"] == ["*"]
    assert c[("alice", "ws1")]["expires"] == "2027-01-01T00:00:00Z"
    # bob inherits the host's team and models
    assert c[("bob", "ws1")]["team"] == "platform"
    assert c[("bob", "ws1")]["models"] == ["claude-*"]
    assert c[("ws1", "ws1")]["models"] == ["claude-*"]


def test_all_users_have_clients_means_no_shared_client():
    out = run({"workstations": ["ws1"]},
              {"ws1": {"claude_code_users": [{"name": "alice", "client": "alice"}]}})
    assert [c["client"] for c in out] == ["alice"]


def test_explicit_host_client_prefix_and_expiry_datetime():
    out = run({"ci_runners": ["r1"]},
              {"r1": {"claude_code_client": "gitlab_runner", "claude_gateway_client": "ci-shared",
                      "claude_gateway_secret_prefix": "acme-",
                      "claude_gateway_expires": datetime.datetime(2027, 6, 30, 0, 0)}})
    assert out[0]["client"] == "ci-shared"
    assert out[0]["secret"] == "acme-client-ci-shared"
    assert out[0]["expires"] == "2027-06-30T00:00:00"
    assert out[0]["kind"] == "gitlab_runner"


def test_runner_ignores_claude_code_users():
    out = run({"ci_runners": ["r1"]}, {"r1": {"claude_code_client": "systemd",
                                              "claude_code_users": [{"name": "x", "client": "x"}]}})
    assert [c["client"] for c in out] == ["r1"]


def test_host_in_both_groups_counts_once_in_inventory_order():
    out = run({"workstations": ["b", "a"], "ci_runners": ["a", "c"]}, {"a": {}, "b": {}, "c": {}})
    assert [c["host"] for c in out] == ["b", "a", "c"]


def test_same_client_on_two_hosts_is_listed_per_host():
    hv = {h: {"claude_code_users": [{"name": "alice", "client": "alice", "team": "t"}]} for h in ("ws1", "ws2")}
    out = run({"workstations": ["ws1", "ws2"]}, hv)
    assert [(c["client"], c["host"]) for c in out] == [("alice", "ws1"), ("alice", "ws2")]


def test_same_client_described_differently_is_refused():
    hv = {"ws1": {"claude_code_users": [{"name": "alice", "client": "alice", "team": "a"}]},
          "ws2": {"claude_code_users": [{"name": "alice", "client": "alice", "team": "b"}]}}
    with pytest.raises(AnsibleFilterError, match=r"client alice has team 'a' on host ws1 but 'b' on host ws2"):
        run({"workstations": ["ws1", "ws2"]}, hv)


@pytest.mark.parametrize("name", ["a/b", "a.b", "", "x" * 101, "al ice", 5])
def test_invalid_client_names_are_refused(name):
    with pytest.raises(AnsibleFilterError, match="is not valid. Fix"):
        run({"ci_runners": ["r1"]}, {"r1": {"claude_gateway_client": name} if name != "" else
                                     {"claude_code_users": [{"name": "u", "client": "a b"}]}})


@pytest.mark.parametrize("hv, match", [
    ({"claude_gateway_models": []}, "non-empty list"),
    ({"claude_gateway_models": [""]}, "non-empty list"),
    ({"claude_gateway_team": ["x"]}, "team of host r1 must be a string"),
    ({"claude_gateway_expires": 5}, "ISO-8601"),
    ({"claude_code_users": "alice"}, "must be a list"),
    ({"claude_code_users": [{"client": "x"}]}, "needs a name"),
])
def test_bad_host_variables(hv, match):
    with pytest.raises(AnsibleFilterError, match=match):
        run({"workstations": ["r1"]}, {"r1": hv})


def test_models_string_becomes_list():
    out = run({"ci_runners": ["r1"]}, {"r1": {"claude_gateway_models": "claude-*"}})
    assert out[0]["models"] == ["claude-*"]


def test_groups_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match="groups"):
        run(["ws1"], {})


def test_litellm_tokens_one_per_client_with_store_references():
    from ansible_collections.llmops.claude_gateway.plugins.filter.gateway_clients import gateway_litellm_tokens
    hv = {"ws1": {"claude_code_users": [{"name": "alice", "client": "alice", "team": "a"},
                                        {"name": "bob", "client": "bob", "team": "b"}]},
          "ws2": {"claude_code_users": [{"name": "alice", "client": "alice", "team": "a"}]}}
    clients = run({"workstations": ["ws1", "ws2"]}, hv)
    store = {"backend": "vault", "vault_url": "https://v:8200"}
    out = gateway_litellm_tokens(clients, store)
    assert [t["client"] for t in out] == ["alice", "bob"]
    assert out[0] == {"client": "alice", "team": "a", "models": ["*"], "expires": None,
                      "token": {"backend": "vault", "vault_url": "https://v:8200", "name": "claude-gateway-client-alice"}}
    assert [t["client"] for t in gateway_litellm_tokens(clients, store, ["b"])] == ["bob"]
    extra = [{"client": "alice", "team": "a", "token": {"name": "claude-gateway-client-alice", "version": "1"}}]
    out = gateway_litellm_tokens(clients, store, None, extra)
    assert out[-1]["token"] == {"backend": "vault", "vault_url": "https://v:8200",
                                "name": "claude-gateway-client-alice", "version": "1"}


# A client shared by two hosts has one token and one registry entry: every field must agree, and the error
# names the client, both hosts and the differing field (each field is checked on its own: a mutation that
# drops one comparison fails its case).
def _two_hosts(ws1, ws2, host1=None, host2=None):
    hv = {"ws1": dict(host1 or {}, claude_code_users=[dict({"name": "alice", "client": "alice"}, **ws1)]),
          "ws2": dict(host2 or {}, claude_code_users=[dict({"name": "alice", "client": "alice"}, **ws2)])}
    return run({"workstations": ["ws1", "ws2"]}, hv)


@pytest.mark.parametrize("ws1, ws2, host1, host2, match", [
    ({"models": ["claude-*"]}, {"models": ["*"]}, None, None,
     r"client alice has models \['claude-\*'\] on host ws1 but \['\*'\] on host ws2\. Fix"),
    ({}, {}, {"claude_gateway_models": ["claude-*"]}, None,
     r"client alice has models \['claude-\*'\] on host ws1 but \['\*'\] on host ws2"),
    ({"expires": "2027-01-01T00:00:00Z"}, {}, None, None,
     r"client alice has expiry \(expires\) '2027-01-01T00:00:00Z' on host ws1 but None on host ws2"),
    ({}, {}, None, {"claude_gateway_expires": "2027-06-30"},
     r"client alice has expiry \(expires\) None on host ws1 but '2027-06-30' on host ws2"),
    ({}, {}, {"claude_gateway_secret_prefix": "acme-"}, None,
     r"client alice has token prefix \(claude_gateway_secret_prefix\) 'acme-' on host ws1 but 'claude-gateway-' on host ws2"),
    ({"team": "a"}, {"team": "b"}, None, None, r"client alice has team 'a' on host ws1 but 'b' on host ws2"),
])
def test_same_client_with_a_different_field_is_refused(ws1, ws2, host1, host2, match):
    with pytest.raises(AnsibleFilterError, match=match):
        _two_hosts(ws1, ws2, host1, host2)


def test_same_client_every_differing_field_is_named():
    with pytest.raises(AnsibleFilterError) as err:
        _two_hosts({"team": "a", "models": ["x"]}, {"team": "b", "models": ["y"], "expires": "2027-01-01"})
    assert "team 'a' on host ws1 but 'b' on host ws2" in str(err.value)
    assert "models ['x'] on host ws1 but ['y'] on host ws2" in str(err.value)
    assert "expiry (expires) None on host ws1 but '2027-01-01' on host ws2" in str(err.value)


def test_same_client_host_client_on_two_hosts_with_different_prefix_is_refused():
    hv = {"r1": {"claude_gateway_client": "ci", "claude_gateway_secret_prefix": "a-"},
          "r2": {"claude_gateway_client": "ci"}}
    with pytest.raises(AnsibleFilterError, match=r"client ci has token prefix .* 'a-' on host r1 but 'claude-gateway-' on host r2"):
        run({"ci_runners": ["r1", "r2"]}, hv)


def test_same_client_same_models_in_another_order_is_one_client():
    out = _two_hosts({"models": ["a-*", "b-*"]}, {"models": ["b-*", "a-*", "a-*"]})
    assert [(c["client"], c["host"]) for c in out] == [("alice", "ws1"), ("alice", "ws2")]
    assert out[0]["models"] == ["a-*", "b-*"]


@pytest.mark.parametrize("user, match", [
    ({"name": "bob", "token": "t" * 20, "token_ref": {"name": "x"}}, r"user bob on host ws1 has both token and token_ref"),
    ({"name": "bob", "client": "bob", "token": "t" * 20, "token_ref": {"name": "x"}},
     r"user bob on host ws1 has both token and token_ref"),
    ({"name": "bob", "client": "bob", "token": "t" * 20}, r"user bob on host ws1 has client 'bob' and also token"),
    ({"name": "bob", "client": "bob", "token_ref": {"name": "x"}}, r"user bob on host ws1 has client 'bob' and also token_ref"),
])
def test_user_with_two_token_sources_is_refused(user, match):
    with pytest.raises(AnsibleFilterError, match=match):
        run({"workstations": ["ws1"]}, {"ws1": {"claude_code_users": [{"name": "alice"}, user]}})


@pytest.mark.parametrize("user, match", [
    ({"name": "bob", "token": "t" * 20}, r"user bob on host ws1 has token but no client"),
    ({"name": "bob", "token": None, "token_ref": {"name": "x"}}, r"user bob on host ws1 has token_ref but no client"),
])
def test_user_token_without_client_would_be_unused_and_is_refused(user, match):
    with pytest.raises(AnsibleFilterError, match=match):
        run({"workstations": ["ws1"]}, {"ws1": {"claude_code_users": [user]}})


def test_user_entries_without_a_token_are_accepted():
    out = run({"workstations": ["ws1"]}, {"ws1": {"claude_code_users": [
        {"name": "a"}, {"name": "b", "token": None, "token_ref": None}, {"name": "c", "client": "c", "token_ref": {}}]}})
    assert [(c["client"], c["user"]) for c in out] == [("ws1", None), ("c", "c")]

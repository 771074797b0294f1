# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet model (plugins/plugin_utils/_fleet.py): the inventory model every playbook builds on."""

from __future__ import absolute_import, division, print_function

import datetime

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.claude_gateway.plugins.plugin_utils import _fleet


def run(groups, hostvars):
    return _fleet.clients(groups, hostvars)


def by_client(clients):
    return {(c["client"], c["host"]): c for c in clients}


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
    where = r"\(client of user u on host r1\)" if name == "" else r"\(claude_gateway_client of host r1\)"
    with pytest.raises(AnsibleFilterError, match=where + " is not valid. Fix"):
        run({"ci_runners": ["r1"]}, {"r1": {"claude_gateway_client": name} if name != "" else
                                     {"claude_code_users": [{"name": "u", "client": "a b"}]}})


@pytest.mark.parametrize("hv, match", [
    ({"claude_gateway_models": []}, "models of host r1 must be a non-empty list"),
    ({"claude_gateway_models": [""]}, "models of host r1 must be a non-empty list"),
    ({"claude_gateway_team": ["x"]}, "team of host r1 must be a string"),
    ({"claude_gateway_expires": 5}, "expires of host r1 must be an ISO-8601 timestamp"),
    ({"claude_code_users": "alice"}, "claude_code_users of host r1 must be a list"),
    ({"claude_code_users": [{"client": "x"}]}, "every claude_code_users entry of host r1 needs a name"),
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


def test_registry_one_entry_per_client_with_store_references():
    hv = {"ws1": {"claude_code_users": [{"name": "alice", "client": "alice", "team": "a"},
                                        {"name": "bob", "client": "bob", "team": "b", "models": ["claude-*"]}]},
          "ws2": {"claude_code_users": [{"name": "alice", "client": "alice", "team": "a"}]}}
    clients = run({"workstations": ["ws1", "ws2"]}, hv)
    store = {"backend": "vault", "vault_url": "https://v:8200"}
    out = _fleet.registry(clients, {"claude_gateway_store": store})
    assert [(t["client"], t["models"]) for t in out["tokens"]] == [("alice", ["*"]), ("bob", ["claude-*"])]
    assert out["tokens"][0] == {"client": "alice", "team": "a", "models": ["*"], "expires": None,
                                "token": {"backend": "vault", "vault_url": "https://v:8200",
                                          "name": "claude-gateway-client-alice"}}
    assert out["master_key"] == dict(store, name="claude-gateway-master-key")
    assert out["master_key_previous"] == []
    teams = _fleet.registry(clients, {"claude_gateway_store": store, "claude_gateway_teams": ["b"]})
    assert [t["client"] for t in teams["tokens"]] == ["bob"]
    extra = [{"client": "alice", "team": "a", "token": {"name": "claude-gateway-client-alice", "version": "1"}}]
    out = _fleet.registry(clients, {"claude_gateway_store": store, "claude_gateway_extra_tokens": extra})
    assert out["tokens"][-1]["token"] == {"backend": "vault", "vault_url": "https://v:8200",
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


# -- names, the store, each host's share: what the playbooks no longer restate ----------------------------

def test_store_and_names_defaults():
    assert _fleet.store({}) == {"backend": "local"}
    assert _fleet.store({"claude_gateway_store": {"backend": "vault"}}) == {"backend": "vault"}
    assert _fleet.master_key_name({}) == "claude-gateway-master-key"
    assert _fleet.master_key_name({"claude_gateway_secret_prefix": "acme-"}) == "acme-master-key"
    assert _fleet.master_key_name({"claude_gateway_master_key_name": "gw-a-key"}) == "gw-a-key"


def test_store_is_a_copy():
    _fleet.store({})["name"] = "x"
    assert _fleet.DEFAULT_STORE == {"backend": "local"}


def test_secrets_master_keys_once_then_clients_once():
    groups = {"gateway": ["gw1", "gw2", "gw3"], "workstations": ["ws1", "ws2"], "ci_runners": ["r1"]}
    hv = {"gw1": {}, "gw2": {}, "gw3": {"claude_gateway_master_key_name": "gw3-key"},
          "ws1": {"claude_code_users": [{"name": "alice", "client": "alice"}]},
          "ws2": {"claude_code_users": [{"name": "alice", "client": "alice"}]},
          "r1": {"claude_code_client": "github_actions", "claude_gateway_token_prefix": "ci-"}}
    assert _fleet.secrets(groups, hv) == [
        {"name": "claude-gateway-master-key", "kind": "master", "client": None, "prefix": "sk-"},
        {"name": "gw3-key", "kind": "master", "client": None, "prefix": "sk-"},
        {"name": "claude-gateway-client-alice", "kind": "client", "client": "alice", "prefix": "sk-cgw-"},
        {"name": "claude-gateway-client-r1", "kind": "client", "client": "r1", "prefix": "ci-"},
    ]


def test_registry_window_and_extra_obey_the_gateway_teams():
    """A gateway serving team a never accepts a token of team b, not even its old version in a rotation."""
    hv = {"ws1": {"claude_code_users": [{"name": "alice", "client": "alice", "team": "a"},
                                        {"name": "bob", "client": "bob", "team": "b"}]}}
    clients = run({"workstations": ["ws1"]}, hv)
    window = {"tokens": [{"client": c, "team": c[0], "models": ["*"], "expires": None,
                          "token": {"name": "claude-gateway-client-" + c, "version": "1"}} for c in ("alice", "bob")],
              "master_previous": [{"name": "claude-gateway-master-key", "version": "3"}, {"name": "other", "version": "1"}]}
    gateway = {"claude_gateway_teams": ["a"], "claude_gateway_extra_tokens": [dict(window["tokens"][1], client="bob-x")]}
    out = _fleet.registry(clients, gateway, window)
    assert [(t["client"], t["token"].get("version")) for t in out["tokens"]] == [("alice", None), ("alice", "1")]
    # only this gateway's own master key has previous versions here
    assert out["master_key_previous"] == [{"backend": "local", "name": "claude-gateway-master-key", "version": "3"}]


def test_registry_keeps_the_extra_tokens_during_a_rotation():
    clients = run({"ci_runners": ["r1"]}, {"r1": {}})
    extra = [{"client": "legacy", "team": None, "token": {"name": "legacy-token"}}]
    window = {"tokens": [{"client": "r1", "team": None, "token": {"name": "claude-gateway-client-r1", "version": "1"}}]}
    out = _fleet.registry(clients, {"claude_gateway_extra_tokens": extra}, window)
    assert [t["client"] for t in out["tokens"]] == ["r1", "legacy", "r1"]


def test_client_tokens_shared_and_per_user_references_with_pins():
    hv = {"ws1": {"claude_gateway_store": {"backend": "aws"},
                  "claude_code_users": [{"name": "alice", "client": "alice"}, {"name": "carol"}]}}
    clients = run({"workstations": ["ws1"]}, hv)
    assert _fleet.client_tokens(clients, hv["ws1"], "ws1") == {
        "token_store": {"backend": "aws"},
        "token_ref": {"name": "claude-gateway-client-ws1"},
        "users": [{"name": "alice", "token_ref": {"name": "claude-gateway-client-alice"}}, {"name": "carol"}]}
    pinned = _fleet.client_tokens(clients, hv["ws1"], "ws1", {"claude-gateway-client-alice": "4"})
    assert pinned["users"][0]["token_ref"] == {"name": "claude-gateway-client-alice", "version": "4"}
    assert pinned["token_ref"] == {"name": "claude-gateway-client-ws1"}


def test_client_tokens_of_a_runner_and_of_a_host_without_shared_client():
    clients = run({"ci_runners": ["r1"], "workstations": ["ws1"]},
                  {"r1": {"claude_code_client": "gitlab_runner", "claude_code_users": [{"name": "x"}]},
                   "ws1": {"claude_code_users": [{"name": "alice", "client": "alice"}]}})
    runner = _fleet.client_tokens(clients, {"claude_code_client": "gitlab_runner"}, "r1")
    assert runner == {"token_store": {"backend": "local"}, "token_ref": {"name": "claude-gateway-client-r1"}, "users": []}
    ws = _fleet.client_tokens(clients, {"claude_code_users": [{"name": "alice", "client": "alice"}]}, "ws1")
    assert ws["token_ref"] is None


def test_client_tokens_keep_a_users_home():
    hv = {"ws1": {"claude_code_users": [{"name": "alice", "client": "alice", "home": "/sandbox/alice"},
                                        {"name": "bob", "home": "/sandbox/bob"}]}}
    clients = run({"workstations": ["ws1"]}, hv)
    assert _fleet.client_tokens(clients, hv["ws1"], "ws1")["users"] == [
        {"name": "alice", "home": "/sandbox/alice", "token_ref": {"name": "claude-gateway-client-alice"}},
        {"name": "bob", "home": "/sandbox/bob"}]

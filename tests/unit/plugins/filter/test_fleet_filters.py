# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet filters (plugins/filter/fleet.py) as the playbooks call them: with hostvars and a host name."""

from ansible_collections.llmops.claude_gateway.plugins.filter.fleet import FilterModule
from ansible_collections.llmops.claude_gateway.plugins.plugin_utils._rotation import Rotation

FILTERS = FilterModule().filters()
GROUPS = {"gateway": ["gw-a"], "workstations": ["ws1"], "ci_runners": ["r1"]}
HOSTVARS = {
    "gw-a": {"claude_gateway_teams": ["a"], "claude_gateway_store": {"backend": "vault", "vault_url": "https://v"}},
    "ws1": {"claude_code_users": [{"name": "alice", "client": "alice", "team": "a"},
                                  {"name": "bob", "client": "bob", "team": "b"}]},
    "r1": {"claude_code_client": "github_actions", "claude_gateway_team": "a"},
}


def test_public_filters():
    assert sorted(FILTERS) == ["gateway_client_tokens", "gateway_clients", "gateway_registry", "gateway_secrets",
                               "gateway_store"]


def test_store_of_an_unknown_host_is_the_default():
    assert FILTERS["gateway_store"](HOSTVARS, "localhost") == {"backend": "local"}
    assert FILTERS["gateway_store"](HOSTVARS, "gw-a")["backend"] == "vault"


def test_the_rotation_registry_is_the_gateway_playbook_registry():
    """gateway.yml and the rotation build a gateway's registry with one function: once the window is closed the
    rotation leaves exactly what gateway.yml renders (teams filtering included), and while it is open it only
    adds old versions of this gateway's teams."""
    clients = FILTERS["gateway_clients"](GROUPS, HOSTVARS)
    gateway_yml = FILTERS["gateway_registry"](clients, HOSTVARS, "gw-a")
    assert [t["client"] for t in gateway_yml["tokens"]] == ["alice", "r1"]

    state = Rotation.select([], clients, True)
    state["items"] = [{"secret": c["secret"], "kind": "client", "client": c["client"], "team": c["team"],
                       "models": c["models"], "expires": None, "hosts": [c["host"]], "resumed": False,
                       "old_version": "1", "new_version": "2", "status": "window", "error": ""}
                      for c in clients]
    window = FILTERS["gateway_registry"](clients, HOSTVARS, "gw-a", Rotation(state).window())
    assert window["tokens"][:2] == gateway_yml["tokens"]
    assert sorted((t["client"], t["token"]["version"]) for t in window["tokens"][2:]) == [("alice", "1"), ("r1", "1")]

    done = Rotation(state).outcome({c["host"]: {"reached": True, "clients": {c["client"]: {"ok": True}}} for c in clients})
    closed = FILTERS["gateway_registry"](clients, HOSTVARS, "gw-a", Rotation(done).window())
    assert closed == gateway_yml


def test_client_tokens_as_profiles_yml_gets_them():
    clients = FILTERS["gateway_clients"](GROUPS, HOSTVARS)
    out = FILTERS["gateway_client_tokens"](clients, HOSTVARS, "ws1")
    assert out["token_ref"] is None
    assert out["users"] == [{"name": "alice", "token_ref": {"name": "claude-gateway-client-alice"}},
                            {"name": "bob", "token_ref": {"name": "claude-gateway-client-bob"}}]

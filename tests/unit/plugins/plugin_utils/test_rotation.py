# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rotation's state and decisions (plugins/plugin_utils/_rotation.py), step by step as roles/_rotation runs them."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.claude_gateway.plugins.filter.rotation import FilterModule
from ansible_collections.llmops.claude_gateway.plugins.plugin_utils._rotation import Rotation, step

CLIENTS = [
    {"client": "alice", "team": "platform", "models": ["*"], "expires": None, "host": "ws1", "user": "alice",
     "kind": "workstation", "secret": "cg-client-alice"},
    {"client": "shared", "team": "dev", "models": ["*"], "expires": None, "host": "ws2", "user": None,
     "kind": "workstation", "secret": "cg-client-shared"},
    {"client": "shared", "team": "dev", "models": ["*"], "expires": None, "host": "ws3", "user": None,
     "kind": "workstation", "secret": "cg-client-shared"},
    {"client": "ci", "team": "ci", "models": ["*"], "expires": None, "host": "gha", "user": None,
     "kind": "github_actions", "secret": "cg-client-ci"},
]
SECRETS = [{"name": "cg-master-key", "kind": "master", "client": None, "prefix": "sk-"}] + [
    {"name": "cg-client-" + c, "kind": "client", "client": c, "prefix": "sk-cgw-"} for c in ("alice", "shared", "ci")]


def select(**kwargs):
    return Rotation.select(SECRETS, CLIENTS, **kwargs)


def read(secret, *states):
    """A gateway_token_info result: versions newest first, the current one being the newest enabled."""
    versions = [{"version": str(len(states) - i), "state": s} for i, s in enumerate(states)]
    current = [v for v in versions if v["state"] == "enabled"][0]["version"]
    return {"item": secret, "version": current, "versions": versions}


def plan(*results, pending_only=False):
    return Rotation(select(rotate_all=True, pending=pending_only)).plan(list(results))


def items(state):
    return state["items"]


def test_filter_is_the_step_dispatcher():
    assert FilterModule().filters() == {"rotation": step}
    assert step({}, "select", SECRETS, CLIENTS, True)["to_read"] == [s["name"] for s in SECRETS[1:]] + ["cg-master-key"]
    with pytest.raises(AnsibleFilterError, match="unknown step 'nope'"):
        step({}, "nope")


@pytest.mark.parametrize("kwargs, refusal", [
    ({}, "rotate: nothing selected. Fix: pass -e rotate_all=true"),
    ({"wanted": "alice, zed"}, "rotate: unknown client(s) zed (known: alice, ci, shared)."),
    ({"team": "nobody"}, "rotate: team nobody has no client in the inventory."),
])
def test_select_refuses_with_nothing_changed(kwargs, refusal):
    state = select(**kwargs)
    assert state["refusal"].startswith(refusal) and state["refusal"].endswith("Nothing was changed.")


def test_select_without_a_team_does_not_pick_the_clients_without_one():
    """No rotate_team is not 'the team null': clients without a team are not selected by it."""
    clients = [dict(CLIENTS[0], team=None)]
    state = Rotation.select(SECRETS, clients)
    assert state["refusal"].startswith("rotate: nothing selected") and state["to_read"] == []


@pytest.mark.parametrize("kwargs, to_read", [
    ({"wanted": ["ci"]}, ["cg-client-ci"]),
    ({"wanted": "alice, ,ci,"}, ["cg-client-alice", "cg-client-ci"]),
    ({"team": "dev"}, ["cg-client-shared"]),
    ({"master": True}, ["cg-master-key"]),
    ({"rotate_all": True}, ["cg-client-alice", "cg-client-shared", "cg-client-ci", "cg-master-key"]),
    ({"pending": True}, ["cg-client-alice", "cg-client-shared", "cg-client-ci", "cg-master-key"]),
])
def test_select_secrets_to_read(kwargs, to_read):
    state = select(**kwargs)
    assert state["refusal"] is None and state["to_read"] == to_read
    assert state["selection"]["master"] == bool(kwargs.get("master") or kwargs.get("rotate_all"))


def test_plan_fresh_and_resumed_items():
    alice, shared, master = items(plan(read("cg-client-alice", "enabled", "disabled"),
                                       read("cg-client-shared", "enabled", "enabled"), read("cg-master-key", "enabled")))
    assert (alice["kind"], alice["client"], alice["old_version"], alice["new_version"], alice["resumed"]) == \
        ("client", "alice", "2", None, False)
    assert (alice["prefix"], master["prefix"]) == ("sk-cgw-", "sk-")
    # Two enabled versions: a rotation left open; finished with the current one, not rotated again.
    assert (shared["old_version"], shared["new_version"], shared["resumed"]) == ("1", "2", True)
    assert shared["hosts"] == ["ws2", "ws3"]
    assert (master["kind"], master["client"], master["hosts"]) == ("master", None, [])
    state = plan(read("cg-client-alice", "enabled"), read("cg-client-shared", "enabled", "enabled"))
    assert [i["secret"] for i in Rotation(state).to_generate()] == ["cg-client-alice"]


def test_plan_pending_only_keeps_open_rotations():
    state = plan(read("cg-client-alice", "enabled"), read("cg-client-ci", "enabled", "enabled"), pending_only=True)
    assert [i["secret"] for i in items(state)] == ["cg-client-ci"]


def test_plan_refuses_failed_reads():
    with pytest.raises(AnsibleFilterError, match="secret cg-client-ci could not be read"):
        plan({"item": "cg-client-ci", "failed": True})


def test_generated_and_window():
    state = plan(read("cg-client-alice", "enabled"), read("cg-master-key", "enabled"))
    state = Rotation(state).generated([{"item": {"secret": "cg-client-alice"}, "version": "2"},
                                       {"item": {"secret": "cg-master-key"}, "version": "7"}])
    assert [(i["new_version"], i["status"]) for i in items(state)] == [("2", "window"), ("7", "window")]
    window = Rotation(state).window()
    assert window["tokens"] == [{"client": "alice", "team": "platform", "models": ["*"], "expires": None,
                                 "token": {"name": "cg-client-alice", "version": "1"}}]
    assert window["master_previous"] == [{"name": "cg-master-key", "version": "1"}]
    with pytest.raises(AnsibleFilterError, match="no new version recorded for cg-client-ci"):
        Rotation(plan(read("cg-client-ci", "enabled"))).generated([])


def test_written_names_what_to_put_back():
    results = [{"item": {"secret": "a"}, "version": "2"}, {"item": {"secret": "b"}, "failed": True}]
    assert Rotation.written(results) == step({}, "written", results) == [{"secret": "a"}]


def window_state():
    state = plan(read("cg-client-alice", "enabled"), read("cg-client-shared", "enabled"),
                 read("cg-client-ci", "enabled"), read("cg-master-key", "enabled"))
    return Rotation(state).generated([{"item": {"secret": i["secret"]}, "version": "2"} for i in items(state)])


def test_host_checks_pick_the_account():
    rotation = Rotation(window_state())
    users = [{"name": "alice", "client": "alice"}, {"name": "carol"}, {"name": "dave"}]
    assert rotation.host_checks("ws1", {"claude_code_users": users}) == [
        {"client": "alice", "secret": "cg-client-alice", "kind": "workstation", "user": "alice"}]
    assert rotation.host_checks("ws2", {"claude_code_users": users})[0]["user"] == "carol"
    assert rotation.host_checks("ws2", {}) == []  # nobody to check as
    assert rotation.host_checks("gha", {"claude_code_client": "github_actions"})[0]["user"] is None


def test_gateway_checks_window_and_close():
    rotation = Rotation(window_state())
    window = rotation.gateway_checks("window")
    assert {"ref": {"name": "cg-master-key", "version": "1"}, "status": 200} in window
    assert len(window) == 8 and all(c["status"] == 200 for c in window)
    done = rotation.outcome({h: {"reached": True, "clients": {c: {"ok": True}}} for h, c in
                             [("ws1", "alice"), ("ws2", "shared"), ("ws3", "shared"), ("gha", "ci")]})
    assert Rotation(done).gateway_checks("window") == [] and Rotation(window_state()).gateway_checks("close") == []
    close = Rotation(done).gateway_checks("close")
    assert {"ref": {"name": "cg-client-ci", "version": "1"}, "status": 401} in close
    assert {"ref": {"name": "cg-client-ci"}, "status": 200} in close


def test_outcome_done_rolled_back_pending():
    results = {
        "ws1": {"reached": True, "clients": {"alice": {"ok": True, "error": ""}}},
        "ws2": {"reached": True, "clients": {"shared": {"ok": True, "error": ""}}},
        "ws3": {"reached": False, "clients": {}},  # shared is also on an unreachable host
        "gha": {"reached": True, "clients": {"ci": {"ok": False, "error": "HTTP 401 from the gateway"}}},
    }
    state = Rotation(window_state()).outcome(results)
    out = dict((i["secret"], i) for i in items(state))
    assert out["cg-client-alice"]["status"] == "done"
    assert out["cg-client-shared"]["status"] == "pending"
    assert out["cg-client-shared"]["error"] == "host(s) not reached: ws3; the gateway accepts old and new until a rerun"
    assert out["cg-client-ci"]["status"] == "rolled_back" and "HTTP 401" in out["cg-client-ci"]["error"]
    assert out["cg-master-key"]["status"] == "done"
    # Pending items stay in the gateway's window.
    rotation = Rotation(state)
    assert [t["client"] for t in rotation.window()["tokens"]] == ["shared"]
    assert [i["secret"] for i in rotation.to_restore()] == ["cg-client-ci"]
    assert rotation.rolled_back_on("gha") and not rotation.rolled_back_on("ws1")
    assert [i["secret"] for i in rotation.to_retire()] == ["cg-client-alice", "cg-client-ci", "cg-master-key"]
    assert rotation.summary()[0] == "cg-client-alice: done"
    assert "ci: rolled_back: gha: HTTP 401" in rotation.failed()


def test_outcome_leaves_items_without_a_window_as_they_are():
    state = plan(read("cg-client-alice", "enabled"), read("cg-master-key", "enabled"))
    assert [i["status"] for i in items(Rotation(state).outcome({}))] == ["planned", "planned"]


def test_abort_when_the_gateway_refused_the_window():
    state = Rotation(dict(window_state(), errors=["earlier"])).abort(["gw1: boom"])
    rotation = Rotation(state)
    assert set(i["status"] for i in items(state)) == {"rolled_back"}
    assert items(state)[0]["error"] == "the gateway did not accept the new token"
    # Nothing else happens: no window, no client check, outcome keeps the rollback, the store goes back.
    assert rotation.window() == {"tokens": [], "master_previous": []}
    assert rotation.host_checks("gha", {"claude_code_client": "github_actions"}) == []
    assert rotation.outcome({}) == state
    assert not rotation.rolled_back_on("gha")
    assert len(rotation.to_restore()) == 4
    assert state["errors"] == ["earlier", "gw1: boom"]
    assert rotation.failed().startswith("earlier; gw1: boom; ")
    # The opening's errors are not counted again as errors of closing the window.
    assert rotation.closed(["gw1: boom"]) == state


def test_close_errors_retire_nothing():
    state = Rotation(window_state()).outcome({h: {"reached": True, "clients": {c: {"ok": True}}} for h, c in
                                              [("ws1", "alice"), ("ws2", "shared"), ("ws3", "shared"), ("gha", "ci")]})
    assert len(Rotation(state).to_retire()) == 4 and Rotation(state).failed() == ""
    closed = Rotation(Rotation(state).closed(["gw1: refused"]))
    assert closed.to_retire() == [] and closed.failed() == "gw1: refused"


def test_host_result_and_pins():
    # The filter calls every step on a Rotation of the state: host_result takes no state.
    assert step({}, "host_result", [{"client": "a", "status": 200}]) == {"a": {"ok": True, "error": ""}}
    assert Rotation.host_result([{"client": "a", "status": 200}, {"client": "b", "status": 401, "error": "x"}]) == \
        {"a": {"ok": True, "error": ""}, "b": {"ok": False, "error": "x"}}
    assert Rotation.host_result([{"client": "c", "status": 500}]) == {"c": {"ok": False, "error": "HTTP 500"}}
    checks = [{"client": "a", "secret": "cg-client-alice"}]
    assert Rotation.host_result([], checks, "boom") == {"a": {"ok": False, "error": "boom"}}
    assert Rotation(window_state()).pins(checks) == {"cg-client-alice": "1"}


def test_report():
    state = Rotation.select(SECRETS, CLIENTS, True, started="t0", started_epoch=100.0)
    state["items"] = items(window_state())
    state = Rotation(state).outcome({"ws1": {"reached": True, "clients": {"alice": {"ok": True}}}})
    report = Rotation(Rotation(state).closed(["gw: boom", ""])).report("t1", 101.54)
    assert (report["started"], report["finished"], report["seconds"]) == ("t0", "t1", 1.5)
    assert report["selection"]["all"] is True
    assert report["counts"] == {"done": 2, "rolled_back": 0, "pending": 2, "window": 0, "planned": 0}
    assert report["ok"] is False and "rotate_pending=true" in report["rerun"]
    failures = [(f["client"], f["status"]) for f in report["failures"]]
    assert failures == [("shared", "pending"), ("ci", "pending"), (None, "error")]
    assert report["failures"][-1] == {"secret": None, "client": None, "status": "error", "error": "gw: boom"}
    assert set(report["rotated"][0]) == {"secret", "kind", "client", "team", "hosts", "old_version", "new_version",
                                         "resumed", "status", "error"}


def test_window_describes_a_shared_client_as_its_first_host_does():
    """Like the fleet's registry entry: the hosts may list the same models in another order."""
    clients = [dict(CLIENTS[1], models=["a", "b"]), dict(CLIENTS[2], models=["b", "a"])]
    state = Rotation(Rotation.select(SECRETS, clients, wanted="shared")).plan([read("cg-client-shared", "enabled")])
    state = Rotation(state).generated([{"item": {"secret": "cg-client-shared"}, "version": "2"}])
    assert Rotation(state).window()["tokens"][0]["models"] == ["a", "b"]


def test_a_master_key_named_like_a_client_secret_is_rotated_as_the_master_key():
    secrets = [{"name": "cg-client-alice", "kind": "master", "client": None, "prefix": "sk-"}]
    item = items(Rotation(Rotation.select(secrets, CLIENTS, master=True)).plan([read("cg-client-alice", "enabled")]))[0]
    assert (item["kind"], item["client"], item["prefix"]) == ("master", None, "sk-")


def test_report_of_an_aborted_rotation_lists_the_gateway_errors():
    report = Rotation(Rotation(window_state()).abort(["gw1: boom"])).report("t1", 0)
    assert report["seconds"] is None and report["rerun"] is None and report["ok"] is False
    assert {"secret": None, "client": None, "status": "error", "error": "gw1: boom"} in report["failures"]
    assert report["counts"]["rolled_back"] == 4

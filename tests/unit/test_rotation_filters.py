# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of playbooks/rotate.yml (plugins/filter/rotation.py)."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.claude_gateway.plugins.filter import rotation as R

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
MASTERS = ["cg-master-key"]


def read(secret, *states):
    """A gateway_token_info result: versions newest first, the current one being the newest enabled."""
    versions = [{"version": str(len(states) - i), "state": s} for i, s in enumerate(states)]
    current = [v for v in versions if v["state"] == "enabled"][0]["version"]
    return {"item": secret, "version": current, "versions": versions}


def plan(*results, pending_only=False):
    return R.rotation_plan(list(results), CLIENTS, MASTERS, pending_only)


def test_plan_fresh_and_resumed_items():
    items = plan(read("cg-client-alice", "enabled", "disabled"), read("cg-client-shared", "enabled", "enabled"),
                 read("cg-master-key", "enabled"))
    alice, shared, master = items
    assert (alice["kind"], alice["client"], alice["old_version"], alice["new_version"], alice["resumed"]) == \
        ("client", "alice", "2", None, False)
    # Two enabled versions: a rotation left open; finished with the current one, not rotated again.
    assert (shared["old_version"], shared["new_version"], shared["resumed"]) == ("1", "2", True)
    assert shared["hosts"] == ["ws2", "ws3"]
    assert (master["kind"], master["client"], master["hosts"]) == ("master", None, [])


def test_plan_pending_only_keeps_open_rotations():
    items = plan(read("cg-client-alice", "enabled"), read("cg-client-ci", "enabled", "enabled"), pending_only=True)
    assert [i["secret"] for i in items] == ["cg-client-ci"]


def test_plan_refuses_failed_reads():
    with pytest.raises(AnsibleFilterError, match="could not be read"):
        R.rotation_plan([{"item": "cg-client-ci", "failed": True}], CLIENTS, MASTERS)


def test_generated_and_window():
    items = plan(read("cg-client-alice", "enabled"), read("cg-master-key", "enabled"))
    items = R.rotation_generated(items, [{"item": {"secret": "cg-client-alice"}, "version": "2"},
                                         {"item": {"secret": "cg-master-key"}, "version": "7"}])
    assert [(i["new_version"], i["status"]) for i in items] == [("2", "window"), ("7", "window")]
    window = R.rotation_window(items)
    assert window["tokens"] == [{"client": "alice", "team": "platform", "models": ["*"], "expires": None,
                                 "token": {"name": "cg-client-alice", "version": "1"}}]
    assert window["master_previous"] == [{"name": "cg-master-key", "version": "1"}]
    with pytest.raises(AnsibleFilterError, match="no new version"):
        R.rotation_generated(plan(read("cg-client-ci", "enabled")), [])


def window_items():
    items = plan(read("cg-client-alice", "enabled"), read("cg-client-shared", "enabled"),
                 read("cg-client-ci", "enabled"), read("cg-master-key", "enabled"))
    return R.rotation_generated(items, [{"item": {"secret": i["secret"]}, "version": "2"} for i in items])


def test_host_checks_pick_the_account():
    items = window_items()
    users = [{"name": "alice", "client": "alice"}, {"name": "carol"}]
    assert R.rotation_host_checks(items, "ws1", users, "workstation") == [
        {"client": "alice", "secret": "cg-client-alice", "kind": "workstation", "user": "alice"}]
    assert R.rotation_host_checks(items, "ws2", users, "workstation")[0]["user"] == "carol"
    assert R.rotation_host_checks(items, "ws2", [], "workstation") == []  # nobody to check as
    assert R.rotation_host_checks(items, "gha", [], "github_actions")[0]["user"] is None


def test_gateway_checks_window_and_close():
    items = window_items()
    window = R.rotation_gateway_checks(items, "window")
    assert {"ref": {"name": "cg-master-key", "version": "1"}, "status": 200} in window
    assert len(window) == 8 and all(c["status"] == 200 for c in window)
    done = R.rotation_outcome(items, {h: {"reached": True, "clients": {c: {"ok": True}}} for h, c in
                                      [("ws1", "alice"), ("ws2", "shared"), ("ws3", "shared"), ("gha", "ci")]})
    close = R.rotation_gateway_checks(done, "close")
    assert {"ref": {"name": "cg-client-ci", "version": "1"}, "status": 401} in close
    assert {"ref": {"name": "cg-client-ci"}, "status": 200} in close


def test_outcome_done_rolled_back_pending():
    items = window_items()
    results = {
        "ws1": {"reached": True, "clients": {"alice": {"ok": True, "error": ""}}},
        "ws2": {"reached": True, "clients": {"shared": {"ok": True, "error": ""}}},
        "ws3": {"reached": False, "clients": {}},  # shared is also on an unreachable host
        "gha": {"reached": True, "clients": {"ci": {"ok": False, "error": "HTTP 401 from the gateway"}}},
    }
    out = dict((i["secret"], i) for i in R.rotation_outcome(items, results))
    assert out["cg-client-alice"]["status"] == "done"
    assert out["cg-client-shared"]["status"] == "pending" and "ws3" in out["cg-client-shared"]["error"]
    assert out["cg-client-ci"]["status"] == "rolled_back" and "HTTP 401" in out["cg-client-ci"]["error"]
    assert out["cg-master-key"]["status"] == "done"
    # Pending items stay in the gateway's window.
    assert [t["client"] for t in R.rotation_window(list(out.values()))["tokens"]] == ["shared"]


def test_outcome_when_the_gateway_refused_the_window():
    out = R.rotation_outcome(window_items(), {}, False)
    assert set(i["status"] for i in out) == {"rolled_back"}


def test_host_result_and_pins():
    assert R.rotation_host_result([{"client": "a", "status": 200}, {"client": "b", "status": 401, "error": "x"}]) == \
        {"a": {"ok": True, "error": ""}, "b": {"ok": False, "error": "x"}}
    checks = [{"client": "a", "secret": "cg-client-alice"}]
    assert R.rotation_host_result([], checks, "boom") == {"a": {"ok": False, "error": "boom"}}
    assert R.rotation_pins(window_items(), checks) == {"cg-client-alice": "1"}


def test_report():
    items = R.rotation_outcome(window_items(), {"ws1": {"reached": True, "clients": {"alice": {"ok": True}}}})
    report = R.rotation_report(items, "t0", "t1", 1.5, {"all": True}, ["gw: boom", ""])
    assert report["counts"]["done"] == 2 and report["counts"]["pending"] == 2
    assert report["ok"] is False and "rotate_pending=true" in report["rerun"]
    assert {"secret": None, "client": None, "status": "error", "error": "gw: boom"} in report["failures"]
    assert set(report["rotated"][0]) == {"secret", "kind", "client", "team", "hosts", "old_version", "new_version",
                                         "resumed", "status", "error"}

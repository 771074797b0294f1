# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The claude_code filters' own steps: token references and their resolution, a workstation's accounts and
settings files, the summary of the client checks (the policy itself: plugin_utils/test_client_policy.py)."""

from __future__ import absolute_import, division, print_function

from ansible_collections.llmops.claude_gateway.plugins.filter.claude_code import (
    claude_code_resolve_tokens,
    claude_code_token_refs,
    claude_code_unique_refs,
    claude_code_verify_summary,
    claude_code_workstation,
)

TOKEN = "gwt_0123456789abcdefABCDEF"
PASSWD = {"carol": ["x", "1001", "1001", "", "/home/carol", "/bin/sh"],
          "dave": ["x", "1002", "1002", "", "/home/dave", "/bin/sh"]}


def test_token_refs_and_resolution():
    store = {"backend": "local", "local_path": "/x"}
    users = [{"name": "alice", "token_ref": {"name": "t/alice"}}, {"name": "bob", "token": TOKEN},
             {"name": "carol"}, {"name": "dave", "token_ref": {"name": "t/alice"}}]
    refs = claude_code_token_refs(users, {"name": "t/shared"}, store)
    assert refs == [dict(store, name="t/shared"), dict(store, name="t/alice")]
    assert claude_code_unique_refs(refs + refs) == refs
    reads = [{"item": refs[0], "value": "shared_tok_1"}, {"item": refs[1], "value": "alice_tok_1"}]
    out = claude_code_resolve_tokens(reads, users, None, {"name": "t/shared"}, store)
    assert out["error"] is None and out["shared"] == "shared_tok_1"
    assert [u["token"] for u in out["users"]] == ["alice_tok_1", TOKEN, "shared_tok_1", "alice_tok_1"]
    bad = claude_code_resolve_tokens([{"item": refs[0], "value": "AKIAIOSFODNN7EXAMPLE"}], [], None,
                                     {"name": "t/shared"}, store)
    assert "token-provider-key" in bad["error"] and "AKIA" not in bad["error"].split("looks like", maxsplit=1)[0]
    missing = claude_code_resolve_tokens([], users[:1], None, None, store)
    assert "was not read" in missing["error"]


def test_shared_token_and_token_ref_together_are_refused_when_resolving():
    out = claude_code_resolve_tokens([{"item": {"name": "t/s"}, "value": TOKEN}], [{"name": "bob"}], TOKEN, {"name": "t/s"})
    assert "claude_code policy 'token-source'" in out["error"] and "claude_code_token_ref" in out["error"]


def test_workstation_settings_files():
    users = [{"name": "carol"}]
    files = claude_code_workstation(users, PASSWD, "present", "user", "/etc/cc", "50.json")["settings_files"]
    assert [f["path"] for f in files] == ["/home/carol/.claude/settings.json"]
    managed = claude_code_workstation(users, PASSWD, "present", "managed", "/etc/cc", "50.json")["settings_files"]
    assert managed == [{"path": "/etc/cc/managed-settings.json", "owner": "root", "group": "root", "mode": "0644",
                        "parent_mode": None, "state": "present"}]
    assert files[0]["parent_mode"] == "0700"
    absent = claude_code_workstation(users, PASSWD, "absent", "managed", "/etc/cc", "50.json")["settings_files"]
    assert [f["state"] for f in absent] == ["absent"] * 3 and absent[1]["path"] == "/etc/cc/managed-settings.d/50.json"


def test_workstation_accounts_home_and_missing_users():
    users = [{"name": "carol", "home": "/sandbox/home"}, {"name": "dave"}, {"name": "nobody-here"}]
    out = claude_code_workstation(users, PASSWD, "present", "user", "/etc/cc", "50.json")
    assert out["accounts"] == [{"name": "carol", "uid": "1001", "gid": "1001", "home": "/sandbox/home"},
                               {"name": "dave", "uid": "1002", "gid": "1002", "home": "/home/dave"}]
    assert out["missing"] == ["nobody-here"]
    assert [f["path"] for f in out["settings_files"]] == ["/sandbox/home/.claude/settings.json",
                                                          "/home/dave/.claude/settings.json"]
    assert out["settings_files"][0]["owner"] == "carol" and out["settings_files"][0]["group"] == "1001"


def test_verify_summary_through_hostvars():
    hostvars = {"ws1": {"claude_code_verify_result": {"checks": [{"check": "policy", "ok": True, "detail": "ok"}]}},
                "ws2": {}}
    out = claude_code_verify_summary(["ws1", "ws2", "ws1", "gone"], hostvars)
    assert out["lines"][1].split()[:3] == ["ws1", "policy", "ok"]
    assert [line.split()[:3] for line in out["lines"][2:]] == [["ws2", "reachable", "FAIL"], ["gone", "reachable", "FAIL"]]
    assert out["failed"].startswith("ws2: reachable - no result")

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The summary of the client checks that playbooks/verify.yml prints and fails on."""

from __future__ import absolute_import, division, print_function

from ansible_collections.llmops.claude_gateway.plugins.plugin_utils._client_checks import verify_rows, verify_summary

OK = {"checks": [{"check": "policy", "ok": True, "detail": "the profile passes the policy"},
                 {"check": "request (alice)", "ok": True, "detail": "POST /v1/messages model=m: HTTP 200"}],
      "requests": []}
BAD = {"checks": [{"check": "gateway-url (bob)", "ok": False, "detail": "ANTHROPIC_BASE_URL is None"}]}


def test_rows_per_host_in_order():
    rows = verify_rows({"ws1": OK, "ws2": None, "ws3": {"failed": True, "msg": "boom"}, "runner": BAD})
    assert [(r["host"], r["check"], r["ok"]) for r in rows] == [
        ("ws1", "policy", True), ("ws1", "request (alice)", True), ("ws2", "reachable", False),
        ("ws3", "client-check", False), ("runner", "gateway-url (bob)", False)]
    assert rows[2]["detail"].startswith("no result: the host failed or was unreachable")
    assert rows[3]["detail"] == "the check failed: boom"


def test_summary_table_and_failed_text():
    out = verify_summary(["ws1", "runner", "ws1"], {"ws1": OK, "runner": BAD})
    assert out["lines"] == [
        "%-24s %-30s %-4s %s" % ("HOST", "CHECK", "OK", "DETAIL"),
        "%-24s %-30s %-4s %s" % ("ws1", "policy", "ok", "the profile passes the policy"),
        "%-24s %-30s %-4s %s" % ("ws1", "request (alice)", "ok", "POST /v1/messages model=m: HTTP 200"),
        "%-24s %-30s %-4s %s" % ("runner", "gateway-url (bob)", "FAIL", "ANTHROPIC_BASE_URL is None")]
    assert out["failed"] == "runner: gateway-url (bob) - ANTHROPIC_BASE_URL is None"
    assert verify_summary(["ws1"], {"ws1": OK})["failed"] == ""
    assert verify_summary([], {}) == {"lines": ["%-24s %-30s %-4s %s" % ("HOST", "CHECK", "OK", "DETAIL")], "failed": ""}


def test_missing_parts_are_empty_not_errors():
    """No hosts, no results, a result without checks or a failure without a message."""
    header = "%-24s %-30s %-4s %s" % ("HOST", "CHECK", "OK", "DETAIL")
    assert verify_summary(None, None) == {"lines": [header], "failed": ""}
    assert verify_summary(["ws1"], None)["failed"].startswith("ws1: reachable - no result")
    assert verify_rows({"ws1": {"changed": False}}) == []
    assert verify_rows({"ws1": {"failed": True}})[0]["detail"] == "the check failed: no message"

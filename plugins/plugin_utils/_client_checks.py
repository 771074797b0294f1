# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The summary of the client checks: what playbooks/verify.yml prints and fails on.

Each client host ran the claude_code_client_check module (through the claude_code role's verify entry point);
its result, or None for a host that failed or was not reached, becomes rows of one table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

ROW = "%-24s %-30s %-4s %s"
UNREACHED = "no result: the host failed or was unreachable (see above)"


def verify_rows(results):
    """[{host, check, ok, detail}] from {host: module result or None}, hosts in the given order."""
    rows = []
    for host, result in results.items():
        if not result:
            rows.append({"host": host, "check": "reachable", "ok": False, "detail": UNREACHED})
            continue
        if result.get("failed"):
            rows.append({"host": host, "check": "client-check", "ok": False,
                         "detail": "the check failed: %s" % result.get("msg", "no message")})
            continue
        for check in result.get("checks") or []:
            rows.append(dict(check, host=host))
    return rows


def verify_summary(hosts, results):
    """{lines: the table (header first), failed: "host: check - detail; ..." or ""} for ``hosts``.

    ``results`` maps each host to its module result; hosts are taken once, in order.
    """
    ordered = []
    for host in hosts or []:
        if host not in ordered:
            ordered.append(host)
    rows = verify_rows(dict((host, (results or {}).get(host)) for host in ordered))
    lines = [ROW % ("HOST", "CHECK", "OK", "DETAIL")]
    lines += [ROW % (r["host"], r["check"], "ok" if r["ok"] else "FAIL", r["detail"]) for r in rows]
    failed = "; ".join("%s: %s - %s" % (r["host"], r["check"], r["detail"]) for r in rows if not r["ok"])
    return {"lines": lines, "failed": failed}

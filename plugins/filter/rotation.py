# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bookkeeping of playbooks/rotate.yml: which secrets rotate, the gateway's window, outcomes, the report.

Pure functions over plain data (no token values ever pass through them), so the rotation's decisions are
unit-tested (tests/unit/test_rotation_filters.py). An *item* is one secret being rotated:
  {secret, kind: client|master, client, team, models, expires, hosts, resumed, old_version, new_version,
   status, error}
status: planned -> window -> done | rolled_back | pending (a client host could not be reached: the gateway
keeps both hashes, the store both versions, and a rerun finishes it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError


def _enabled(result):
    return [v for v in (result.get("versions") or []) if v.get("state") == "enabled"]


def rotation_plan(results, clients, master_secrets, pending_only=False):
    """Items from gateway_token_info results (list_versions=true), one per secret read.

    A secret with more than one enabled version is mid-rotation: it is resumed with its current version as
    the new one and the next enabled version as the old one, never rotated again. With ``pending_only`` only
    such secrets are kept.
    """
    items = []
    for result in results:
        secret = result.get("item")
        if result.get("failed"):
            raise AnsibleFilterError("rotation_plan: secret %s could not be read" % secret)
        enabled = _enabled(result)
        resumed = len(enabled) > 1
        if pending_only and not resumed:
            continue
        owners = [c for c in clients if c.get("secret") == secret]
        client = owners[0] if owners and secret not in master_secrets else None
        items.append({
            "secret": secret,
            "kind": "client" if client else "master",
            "client": client["client"] if client else None,
            "team": client.get("team") if client else None,
            "models": client.get("models") if client else None,
            "expires": client.get("expires") if client else None,
            "hosts": sorted(set(c["host"] for c in owners)),
            "resumed": resumed,
            "old_version": enabled[1]["version"] if resumed else result.get("version"),
            "new_version": result.get("version") if resumed else None,
            "status": "planned",
            "error": "",
        })
    return items


def rotation_generated(items, results):
    """Record the versions gateway_token wrote (results of a loop over the non-resumed items)."""
    written = dict((r["item"]["secret"], r.get("version")) for r in results or [] if "version" in r)
    out = []
    for item in items:
        item = dict(item)
        if item["secret"] in written:
            item["new_version"] = written[item["secret"]]
        if item["new_version"] is None:
            raise AnsibleFilterError("rotation_generated: no new version recorded for %s" % item["secret"])
        item["status"] = "window"
        out.append(item)
    return out


def rotation_window(items):
    """Registry additions while tokens rotate: the OLD version of each secret, still accepted.

    Returns {"tokens": [litellm_tokens entries], "master_previous": [references]} for the items still in the
    window (window or pending); store options are merged in by the playbook.
    """
    tokens, masters = [], []
    for item in items:
        if item["status"] not in ("window", "pending") or item["old_version"] in (None, item["new_version"]):
            continue
        ref = {"name": item["secret"], "version": item["old_version"]}
        if item["kind"] == "master":
            masters.append(ref)
        else:
            tokens.append({"client": item["client"], "team": item["team"], "models": item["models"],
                           "expires": item["expires"], "token": ref})
    return {"tokens": tokens, "master_previous": masters}


def rotation_host_checks(items, host, users, kind):
    """What to check on ``host``: one entry per rotating client there, with the account to run it as.

    ``users`` is the host's claude_code_users; a shared workstation client is checked as its first user
    without a ``client`` of their own.
    """
    checks = []
    for item in items:
        if item["kind"] != "client" or host not in item["hosts"] or item["status"] != "window":
            continue
        user = None
        if kind == "workstation":
            own = [u for u in users or [] if u.get("client") == item["client"]]
            shared = [u for u in users or [] if not u.get("client")]
            chosen = own or shared
            if not chosen:
                continue  # a workstation client without any account has nothing to check
            user = chosen[0]["name"]
        checks.append({"client": item["client"], "secret": item["secret"], "kind": kind, "user": user})
    return checks


def rotation_gateway_checks(items, phase):
    """Expected answers of the gateway: [{"ref": {name, version?}, "status": 200|401}].

    window: every rotating secret's new (current) and old value is accepted. close: for secrets that are
    done the current value is accepted and the old one refused (401). Master keys are checked the same way
    (on /v1/models, which both kinds of key may call).
    """
    checks = []
    for item in items:
        old = {"name": item["secret"], "version": item["old_version"]}
        if phase == "window" and item["status"] in ("window", "pending"):
            checks += [{"ref": {"name": item["secret"]}, "status": 200}, {"ref": old, "status": 200}]
        elif phase == "close" and item["status"] == "done":
            checks += [{"ref": {"name": item["secret"]}, "status": 200}, {"ref": old, "status": 401}]
    return checks


def rotation_host_result(results, checks=None, error=None):
    """{client: {"ok", "error"}} from rotate_client_check.py's results, or every check failed with ``error``."""
    if error is not None:
        return dict((c["client"], {"ok": False, "error": error}) for c in checks or [])
    return dict((r["client"], {"ok": r.get("status") == 200,
                               "error": r.get("error") or ("" if r.get("status") == 200 else "HTTP %s" % r.get("status"))})
                for r in results or [])


def rotation_pins(items, checks):
    """{secret: old_version} for the secrets checked on a host: pins its profile to the old tokens."""
    secrets = set(c["secret"] for c in checks or [])
    return dict((i["secret"], i["old_version"]) for i in items if i["secret"] in secrets)


def rotation_outcome(items, host_results, gateway_ok=True):
    """Final status of every item from the client hosts' results.

    ``host_results``: {host: {"reached": bool, "clients": {client: {"ok": bool, "error": str}}}}.
    A client is done when every host holding it reported ok; rolled_back when a reached host failed it (that
    host went back to the old token); pending when a host was not reached. The master key is done when the
    gateway accepted the window (the automation then holds the new key).
    """
    out = []
    for item in items:
        item = dict(item)
        if item["status"] != "window":
            out.append(item)
            continue
        if not gateway_ok:
            item["status"], item["error"] = "rolled_back", item["error"] or "the gateway did not accept the new token"
        elif item["kind"] == "master":
            item["status"] = "done"
        else:
            errors, unreached = [], []
            for host in item["hosts"]:
                report = host_results.get(host) or {}
                mine = (report.get("clients") or {}).get(item["client"])
                if not report.get("reached"):
                    unreached.append(host)
                elif mine is None or not mine.get("ok"):
                    errors.append("%s: %s" % (host, (mine or {}).get("error") or "no check result"))
            if errors:
                item["status"], item["error"] = "rolled_back", "; ".join(errors)
            elif unreached:
                item["status"] = "pending"
                item["error"] = "host(s) not reached: %s; the gateway accepts old and new until a rerun" % ", ".join(unreached)
            else:
                item["status"] = "done"
        out.append(item)
    return out


def rotation_report(items, started, finished, seconds, selection, errors=None):
    """The machine-readable report (no token values: versions and statuses only)."""
    failures = [{"secret": i["secret"], "client": i["client"], "status": i["status"], "error": i["error"]}
                for i in items if i["status"] != "done"]
    failures += [{"secret": None, "client": None, "status": "error", "error": e} for e in errors or [] if e]
    pending = sorted(set(i["client"] or i["secret"] for i in items if i["status"] == "pending"))
    return {
        "started": started, "finished": finished, "seconds": seconds, "selection": selection,
        "rotated": [dict((k, i[k]) for k in ("secret", "kind", "client", "team", "hosts", "old_version",
                                             "new_version", "resumed", "status", "error")) for i in items],
        "counts": dict((s, len([i for i in items if i["status"] == s]))
                       for s in ("done", "rolled_back", "pending", "window", "planned")),
        "failures": failures,
        "rerun": ("ansible-playbook llmops.claude_gateway.rotate -e rotate_pending=true" if pending else None),
        "ok": not failures,
    }


class FilterModule(object):
    def filters(self):
        return {
            "rotation_plan": rotation_plan,
            "rotation_generated": rotation_generated,
            "rotation_window": rotation_window,
            "rotation_host_checks": rotation_host_checks,
            "rotation_gateway_checks": rotation_gateway_checks,
            "rotation_host_result": rotation_host_result,
            "rotation_pins": rotation_pins,
            "rotation_outcome": rotation_outcome,
            "rotation_report": rotation_report,
        }

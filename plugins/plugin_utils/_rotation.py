# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The state of one rotation (roles/rotation, playbooks/rotate.yml) as one object.

The state is plain data, so it lives between plays as one fact on the controller (``rotation_state``) and
passes through the ``rotation`` filter, which calls one method of :class:`Rotation` per step. No token value
ever passes through it. The state:
  {selection, clients, masters, secrets, refusal, items, errors}
An *item* is one secret being rotated:
  {secret, kind: client|master, client, team, models, expires, hosts, resumed, old_version, new_version,
   prefix, status, error}
status: planned -> window -> done | rolled_back | pending (a client host could not be reached: the gateway
keeps both hashes, the store both versions, and a rerun finishes it).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.six import string_types
from ansible_collections.llmops.claude_gateway.plugins.plugin_utils import _fleet

RERUN = "ansible-playbook llmops.claude_gateway.rotate -e rotate_pending=true"
FIX = ("Fix: pass -e rotate_all=true, -e rotate_master=true, -e rotate_clients=a,b, -e rotate_team=T or "
       "-e rotate_pending=true. Nothing was changed.")


def _names(value):
    """rotate_clients as given: 'a, b' or a list."""
    if isinstance(value, string_types):
        value = value.split(",")
    return [name.strip() for name in value or [] if name and name.strip()]


def _enabled(result):
    return [v for v in (result.get("versions") or []) if v.get("state") == "enabled"]


class Rotation:
    def __init__(self, state):
        self.state = dict(state or {})
        self.items = [dict(item) for item in self.state.get("items") or []]

    def _with(self, **changes):
        return dict(self.state, **changes)

    # -- plan ------------------------------------------------------------------------------------------

    @staticmethod
    def select(secrets, clients, rotate_all=False, master=False, wanted=None, team=None, pending=False,
               started=None, started_epoch=None):
        """The selection and the secrets to read; ``refusal`` says why nothing may change (or is empty).

        ``secrets`` is the fleet's secrets (master keys and client tokens), ``clients`` the fleet's clients,
        ``started`` the start time (ISO-8601 text and seconds since the epoch) for the report.
        """
        wanted = _names(wanted)
        known = [c["client"] for c in clients]
        unknown = [name for name in wanted if name not in known]
        team_clients = [c["client"] for c in clients if team is not None and c["team"] == team]
        selection = {"master": bool(master or rotate_all), "clients": wanted, "team": team,
                     "all": bool(rotate_all), "pending": bool(pending)}
        refusal = None
        if unknown:
            refusal = "unknown client(s) %s (known: %s)" % (", ".join(unknown), ", ".join(sorted(set(known))))
        elif team is not None and not team_clients:
            refusal = "team %s has no client in the inventory" % team
        elif not (master or rotate_all or pending or wanted or team_clients):
            refusal = "nothing selected"

        chosen = set(known) if rotate_all or pending else set(wanted + team_clients)
        to_read = [s["name"] for s in secrets if s["kind"] == "client" and s["client"] in chosen]
        if selection["master"] or pending:
            to_read += [s["name"] for s in secrets if s["kind"] == "master"]
        return {
            "selection": selection, "clients": clients, "secrets": secrets, "to_read": to_read, "items": [],
            "masters": [s["name"] for s in secrets if s["kind"] == "master"], "errors": [],
            "refusal": "rotate: %s. %s" % (refusal, FIX) if refusal else None,
            "started": started, "started_epoch": started_epoch,
        }

    def plan(self, results):
        """Items from gateway_token_info results (list_versions=true), one per secret read.

        A secret with more than one enabled version is mid-rotation: it is resumed with its current version as
        the new one and the next enabled version as the old one, never rotated again. With the ``pending``
        selection only such secrets are kept.
        """
        prefixes = dict((s["name"], s["prefix"]) for s in self.state.get("secrets") or [])
        masters = self.state.get("masters") or []
        clients = self.state.get("clients") or []
        items = []
        for result in results:
            secret = result.get("item")
            if result.get("failed"):
                raise AnsibleFilterError("rotation plan: secret %s could not be read" % secret)
            enabled = _enabled(result)
            resumed = len(enabled) > 1
            if (self.state.get("selection") or {}).get("pending") and not resumed:
                continue
            owners = [c for c in clients if c.get("secret") == secret]
            client = owners[0] if owners and secret not in masters else None
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
                "prefix": prefixes.get(secret),
                "status": "planned",
                "error": "",
            })
        return self._with(items=items)

    def to_generate(self):
        """The items that need a new version (resumed ones already have it)."""
        return [i for i in self.items if not i["resumed"]]

    def generated(self, results):
        """Record the versions gateway_token wrote (results of a loop over to_generate): the window opens."""
        written = dict((r["item"]["secret"], r.get("version")) for r in results or [] if "version" in r)
        items = []
        for item in self.items:
            if item["secret"] in written:
                item["new_version"] = written[item["secret"]]
            if item["new_version"] is None:
                raise AnsibleFilterError("rotation generated: no new version recorded for %s" % item["secret"])
            item["status"] = "window"
            items.append(item)
        return self._with(items=items)

    @staticmethod
    def written(results):
        """The items of a gateway_token loop that wrote a version (what to put back when a later one failed)."""
        return [r["item"] for r in results or [] if "version" in r]

    # -- gateway ---------------------------------------------------------------------------------------

    def window(self):
        """Registry additions while tokens rotate: the OLD version of each secret, still accepted.

        {"tokens": [litellm_tokens entries], "master_previous": [references]} for the items still in the
        window (window or pending); the fleet's registry merges the store options in.
        """
        tokens, masters = [], []
        if self.state.get("aborted"):
            return {"tokens": tokens, "master_previous": masters}
        for item in self.items:
            if item["status"] not in ("window", "pending") or item["old_version"] in (None, item["new_version"]):
                continue
            ref = {"name": item["secret"], "version": item["old_version"]}
            if item["kind"] == "master":
                masters.append(ref)
            else:
                tokens.append({"client": item["client"], "team": item["team"], "models": item["models"],
                               "expires": item["expires"], "token": ref})
        return {"tokens": tokens, "master_previous": masters}

    def gateway_checks(self, phase):
        """Expected answers of the gateway: [{"ref": {name, version?}, "status": 200|401}].

        window: every rotating secret's new (current) and old value is accepted. close: for secrets that are
        done the current value is accepted and the old one refused (401). Master keys are checked the same way
        (on /v1/models, which both kinds of key may call).
        """
        checks = []
        for item in self.items:
            old = {"name": item["secret"], "version": item["old_version"]}
            if phase == "window" and item["status"] in ("window", "pending"):
                checks += [{"ref": {"name": item["secret"]}, "status": 200}, {"ref": old, "status": 200}]
            elif phase == "close" and item["status"] == "done":
                checks += [{"ref": {"name": item["secret"]}, "status": 200}, {"ref": old, "status": 401}]
        return checks

    def abort(self, errors):
        """The gateway did not accept the window: every item rolled back, nothing else happens."""
        items = []
        for item in self.items:
            if item["status"] == "window":
                item["status"], item["error"] = "rolled_back", item["error"] or "the gateway did not accept the new token"
            items.append(item)
        return self._with(items=items, errors=list(self.state.get("errors") or []) + list(errors), aborted=True)

    # -- clients ---------------------------------------------------------------------------------------

    def host_checks(self, host, host_vars):
        """What to check on ``host``: one entry per rotating client there, with the account to run it as.

        On a workstation a client is checked as its user; a shared client as the first of the host's
        claude_code_users without a ``client`` of their own.
        """
        kind, users = _fleet.client_kind(host_vars), _fleet.accounts(host_vars)
        checks = []
        if self.state.get("aborted"):
            return checks
        for item in self.items:
            if item["kind"] != "client" or host not in item["hosts"] or item["status"] != "window":
                continue
            user = None
            if kind == "workstation":
                own = [u for u in users if u.get("client") == item["client"]]
                shared = [u for u in users if not u.get("client")]
                chosen = own or shared
                if not chosen:
                    continue  # a workstation client without any account has nothing to check
                user = chosen[0]["name"]
            checks.append({"client": item["client"], "secret": item["secret"], "kind": kind, "user": user})
        return checks

    @staticmethod
    def host_result(results, checks=None, error=None):
        """{client: {"ok", "error"}} from the client checks' results ({client, status, error}), or every
        check of ``checks`` failed with ``error``."""
        if error is not None:
            return dict((c["client"], {"ok": False, "error": error}) for c in checks or [])
        return dict((r["client"], {"ok": r.get("status") == 200,
                                   "error": r.get("error") or ("" if r.get("status") == 200 else "HTTP %s" % r.get("status"))})
                    for r in results or [])

    def pins(self, checks):
        """{secret: old_version} for the secrets checked on a host: pins its profile to the old tokens."""
        secrets = set(c["secret"] for c in checks or [])
        return dict((i["secret"], i["old_version"]) for i in self.items if i["secret"] in secrets)

    def rolled_back_on(self, host):
        """Whether a client of ``host`` was rolled back (the host then gets the old tokens again)."""
        return not self.state.get("aborted") and any(
            i["status"] == "rolled_back" and host in i["hosts"] for i in self.items)

    # -- decide, close, report -------------------------------------------------------------------------

    def outcome(self, host_results):
        """Final status of every item from the client hosts' results.

        ``host_results``: {host: {"reached": bool, "clients": {client: {"ok": bool, "error": str}}}}.
        A client is done when every host holding it reported ok; rolled_back when a reached host failed it (that
        host went back to the old token); pending when a host was not reached. The master key is done when the
        gateway accepted the window (the automation then holds the new key).
        """
        if self.state.get("aborted"):
            return self.state
        items = []
        for item in self.items:
            if item["status"] == "window" and item["kind"] == "master":
                item["status"] = "done"
            elif item["status"] == "window":
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
            items.append(item)
        return self._with(items=items)

    def to_restore(self):
        """Items whose old version becomes current again in the store (their new one is retired later)."""
        return [i for i in self.items if i["status"] == "rolled_back" and not i["resumed"]]

    def closed(self, errors):
        """Errors of the gateways while closing the window are recorded; nothing is retired then. After a
        rollback the window was never closed (the errors are the opening's, already recorded)."""
        if self.state.get("aborted"):
            return self.state
        return self._with(close_errors=[e for e in errors if e])

    def to_retire(self):
        """Items whose old version is retired: only once every gateway no longer accepts it."""
        if self.state.get("close_errors"):
            return []
        return [i for i in self.items if i["status"] in ("done", "rolled_back")]

    def failed(self):
        """Why the rotation did not fully succeed ('' when it did)."""
        errors = [e for e in list(self.state.get("errors") or []) + list(self.state.get("close_errors") or []) if e]
        items = ["%s: %s: %s" % (i["client"] or "master", i["status"], i["error"])
                 for i in self.items if i["status"] != "done"]
        return "; ".join(errors + items)

    def summary(self):
        return ["%s: %s" % (i["secret"], i["status"]) for i in self.items]

    def report(self, finished, finished_epoch):
        """The machine-readable report (no token values: versions and statuses only)."""
        started, seconds = self.state.get("started"), None
        if self.state.get("started_epoch") is not None:
            seconds = round(float(finished_epoch) - float(self.state["started_epoch"]), 1)
        items = self.items
        errors = list(self.state.get("errors") or []) + list(self.state.get("close_errors") or [])
        failures = [{"secret": i["secret"], "client": i["client"], "status": i["status"], "error": i["error"]}
                    for i in items if i["status"] != "done"]
        failures += [{"secret": None, "client": None, "status": "error", "error": e} for e in errors if e]
        pending = sorted(set(i["client"] or i["secret"] for i in items if i["status"] == "pending"))
        return {
            "started": started, "finished": finished, "seconds": seconds, "selection": self.state.get("selection"),
            "rotated": [dict((k, i[k]) for k in ("secret", "kind", "client", "team", "hosts", "old_version",
                                                 "new_version", "resumed", "status", "error")) for i in items],
            "counts": dict((s, len([i for i in items if i["status"] == s]))
                           for s in ("done", "rolled_back", "pending", "window", "planned")),
            "failures": failures,
            "rerun": RERUN if pending else None,
            "ok": not failures,
        }


# The steps the rotation role calls through the ``rotation`` filter: state in, new state or an answer out.
STEPS = ("plan", "to_generate", "generated", "written", "window", "gateway_checks", "abort", "host_checks",
         "host_result", "pins", "rolled_back_on", "outcome", "to_restore", "closed", "to_retire", "failed",
         "summary", "report")


def step(state, name, *args):
    if name == "select":
        return Rotation.select(*args)
    if name not in STEPS:
        raise AnsibleFilterError("rotation: unknown step %r (known: select, %s)" % (name, ", ".join(STEPS)))
    return getattr(Rotation(state), name)(*args)

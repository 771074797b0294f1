# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side steps of the claude_code role: the policy (plugin_utils/_client_policy.py), the tokens, the
workstation files, and the summary of the client checks (plugin_utils/_client_checks.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Each filter is documented in plugins/filter/<filter name>.yml.

import json

from ansible_collections.llmops.claude_gateway.plugins.plugin_utils._client_checks import verify_summary
from ansible_collections.llmops.claude_gateway.plugins.plugin_utils._client_policy import PolicyError, check_token, evaluate


def claude_code_policy(cfg):
    try:
        result = evaluate(dict(cfg or {}))
    except PolicyError as exc:
        return {"error": str(exc), "warnings": [], "env": {}, "token_env_var": None}
    result["error"] = None
    return result


def _ref_key(ref):
    return json.dumps(ref, sort_keys=True, default=str)


def claude_code_token_refs(users, shared_ref=None, store=None):
    """Store references a host needs (each merged over the common store options), without repeats."""
    store = dict(store or {})
    refs = []
    if shared_ref:
        refs.append(dict(store, **shared_ref))
    for user in users or []:
        if isinstance(user, dict) and user.get("token_ref") and user.get("token") is None:
            refs.append(dict(store, **user["token_ref"]))
    return claude_code_unique_refs(refs)


def claude_code_unique_refs(refs):
    seen, out = set(), []
    for ref in refs or []:
        if _ref_key(ref) not in seen:
            seen.add(_ref_key(ref))
            out.append(ref)
    return out


def claude_code_resolve_tokens(reads, users=None, token=None, token_ref=None, store=None):
    """Tokens of one host from values and store reads: {error, shared, users: [{name, token}]}.

    ``reads`` is the registered loop result of the store reads (items with ``item`` and ``value``).
    """
    store = dict(store or {})
    values = {}
    for res in reads or []:
        if isinstance(res, dict) and "item" in res and "value" in res and not res.get("failed"):
            values[_ref_key(res["item"])] = res.get("value")

    def lookup(ref, what):
        key = _ref_key(dict(store, **ref))
        if key not in values:
            raise PolicyError("token-missing", "the store reference for %s was not read" % what,
                              "check the reference (name, backend options) for %s" % what)
        return values[key]

    out = {"error": None, "shared": None, "users": []}
    try:
        # The policy (evaluate) refuses these first; checked again here, where the values are picked.
        if token is not None and token_ref:
            raise PolicyError("token-source", "both claude_code_token and claude_code_token_ref are set",
                              "give the token as a value or as a store reference, not both")
        for user in users or []:
            if user.get("token") is not None and user.get("token_ref"):
                raise PolicyError("token-source", "user %s has both token and token_ref" % user.get("name"),
                                  "give the token as a value or as a store reference, not both")
        shared = token if token is not None else (lookup(token_ref, "claude_code_token_ref") if token_ref else None)
        if shared is not None:
            check_token(shared, "claude_code_token" if token is not None else "claude_code_token_ref")
        out["shared"] = shared
        for user in users or []:
            name = user.get("name")
            if user.get("token") is not None:
                value = user["token"]
            elif user.get("token_ref"):
                value = lookup(user["token_ref"], "user %s" % name)
            else:
                value = shared
            check_token(value, "user %s" % name)
            out["users"].append({"name": name, "token": value})
    except PolicyError as exc:
        return {"error": str(exc), "shared": None, "users": []}
    return out


def claude_code_workstation(users, passwd, state, scope, managed_dir, dropin_name):
    """A workstation run's accounts, missing users and settings files: {accounts, missing, settings_files}.

    ``accounts``: [{name, uid, gid, home}] of the listed users found in the getent passwd facts, ``home`` being
    the entry's own ``home`` when given (a sandbox), else the account's. ``settings_files``: present edits the
    file of the chosen scope; absent cleans every scope (so a scope switch leaves nothing).
    """
    accounts, missing = [], []
    for user in users or []:
        entry = (passwd or {}).get(user.get("name"))
        if entry:
            accounts.append({"name": user["name"], "uid": entry[1], "gid": entry[2],
                             "home": user.get("home") or entry[4]})
        else:
            missing.append(user.get("name"))
    managed = {"path": "%s/managed-settings.json" % managed_dir, "owner": "root", "group": "root", "mode": "0644",
               "parent_mode": None}
    dropin = dict(managed, path="%s/managed-settings.d/%s" % (managed_dir, dropin_name))
    # A user's ~/.claude is created 0700 for the user when missing (root's too).
    user_files = [{"path": "%s/.claude/settings.json" % a["home"], "owner": a["name"], "group": str(a["gid"]),
                   "mode": None, "parent_mode": "0700"} for a in accounts]
    if state == "absent":
        files = [dict(f, state="absent") for f in [managed, dropin] + user_files]
    else:
        files = [dict(f, state="present")
                 for f in {"managed": [managed], "managed_dropin": [dropin], "user": user_files}.get(scope, [])]
    return {"accounts": accounts, "missing": missing, "settings_files": files}


def claude_code_verify_summary(hosts, hostvars):
    """The client checks of ``hosts`` (their ``claude_code_verify_result``) as one table: {lines, failed}."""
    return verify_summary(hosts, dict((h, (hostvars[h] if h in hostvars else {}).get("claude_code_verify_result"))
                                      for h in hosts or []))


class FilterModule(object):
    def filters(self):
        return {
            "claude_code_policy": claude_code_policy,
            "claude_code_token_refs": claude_code_token_refs,
            "claude_code_unique_refs": claude_code_unique_refs,
            "claude_code_resolve_tokens": claude_code_resolve_tokens,
            "claude_code_workstation": claude_code_workstation,
            "claude_code_verify_summary": claude_code_verify_summary,
        }

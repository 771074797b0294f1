# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway's clients, computed once from the inventory (documentation: gateway_clients.yml)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types

CLIENT_GROUPS = ("workstations", "ci_runners")
DEFAULT_PREFIX = "claude-gateway-"
# Letters, digits, '-' and '_' only: secret names must be valid on every backend (GCP allows no '.' or '/').
_CLIENT_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def _default_client(hostname):
    """inventory_hostname made safe for a secret name (ws1.example.com -> ws1-example-com)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", to_text(hostname)).strip("-") or "client"


def _check_client(name, where):
    if not isinstance(name, string_types) or not _CLIENT_RE.match(name):
        raise AnsibleFilterError(
            "gateway_clients: client name %r (%s) is not valid. Fix: use 1-100 letters, digits, '-' or '_' "
            "(it becomes part of the secret name, which must be valid on every backend)" % (name, where))
    return to_text(name)


def _models(value, where):
    if value is None:
        return ["*"]
    if isinstance(value, string_types):
        value = [value]
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(m, string_types) and m for m in value):
        raise AnsibleFilterError(
            "gateway_clients: models of %s must be a non-empty list of model-name patterns, e.g. ['claude-*']. "
            "Fix: set claude_gateway_models (host) or models (user entry) to such a list" % where)
    return [to_text(m) for m in value]


def _team(value, where):
    if value is None or value == "":
        return None
    if not isinstance(value, string_types):
        raise AnsibleFilterError("gateway_clients: team of %s must be a string. Fix: quote it" % where)
    return to_text(value)


def _expires(value, where):
    if value is None or value == "":
        return None
    # YAML turns an unquoted timestamp into a datetime; the registry wants ISO-8601 text.
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if not isinstance(value, string_types):
        raise AnsibleFilterError("gateway_clients: expires of %s must be an ISO-8601 timestamp or null" % where)
    return to_text(value)


def _check_user_token_source(user, host):
    """Under the playbooks a user's token is the secret <prefix>client-<client> of its client (its own with
    `client`, else the host's): a token value or store reference in the entry would be silently unused."""
    given = [key for key in ("token", "token_ref") if user.get(key) not in (None, "", {})]
    if len(given) > 1:
        raise AnsibleFilterError(
            "gateway_clients: user %s on host %s has both token and token_ref. Fix: give the token as a value "
            "or as a store reference, not both (and with the playbooks, neither: see below)" % (user["name"], host))
    if given and user.get("client") not in (None, ""):
        raise AnsibleFilterError(
            "gateway_clients: user %s on host %s has client %r and also %s; a client's token is the secret the "
            "playbooks create for it, so %s would never be used. Fix: remove %s"
            % (user["name"], host, user["client"], given[0], given[0], given[0]))
    if given:
        raise AnsibleFilterError(
            "gateway_clients: user %s on host %s has %s but no client; the playbooks give this user the host's "
            "client token, so %s would never be used. Fix: remove %s (the user shares the host's token), or set "
            "client for a token of the user's own" % (user["name"], host, given[0], given[0], given[0]))


# Fields a client shared by several hosts must have the same everywhere (one token, one registry entry):
# key in the entry, name in the error message, how to compare.
_SHARED_FIELDS = (
    ("team", "team", lambda v: v),
    ("models", "models", lambda v: sorted(set(v))),
    ("expires", "expiry (expires)", lambda v: v),
    ("prefix", "token prefix (claude_gateway_secret_prefix)", lambda v: v),
)


def _check_same_client(first, entry):
    diffs = ["%s %r on host %s but %r on host %s" % (label, first[key], first["host"], entry[key], entry["host"])
             for key, label, norm in _SHARED_FIELDS if norm(first[key]) != norm(entry[key])]
    if diffs:
        raise AnsibleFilterError(
            "gateway_clients: client %s has %s. Fix: give the client the same team, models, expiry and token "
            "prefix on every host, or use different client names" % (entry["client"], "; ".join(diffs)))


def gateway_clients(groups, hostvars):
    """One entry per (host, client): {client, team, models, host, user, kind, expires, secret}."""
    if not isinstance(groups, dict):
        raise AnsibleFilterError("gateway_clients: the first argument must be the 'groups' mapping")
    hosts, seen = [], set()
    for group in CLIENT_GROUPS:
        for host in groups.get(group) or []:
            if host not in seen:
                seen.add(host)
                hosts.append(host)

    clients, by_name = [], {}
    for host in hosts:
        hv = hostvars[host] if host in hostvars else {}
        kind = to_text(hv.get("claude_code_client") or "workstation")
        prefix = to_text(hv.get("claude_gateway_secret_prefix") or DEFAULT_PREFIX)
        host_team = _team(hv.get("claude_gateway_team"), "host %s" % host)
        host_models = _models(hv.get("claude_gateway_models"), "host %s" % host)
        host_expires = _expires(hv.get("claude_gateway_expires"), "host %s" % host)
        host_client = hv.get("claude_gateway_client")
        host_client = (_check_client(host_client, "claude_gateway_client of host %s" % host)
                       if host_client not in (None, "") else _default_client(host))

        users = (hv.get("claude_code_users") or []) if kind == "workstation" else []
        if not isinstance(users, (list, tuple)):
            raise AnsibleFilterError("gateway_clients: claude_code_users of host %s must be a list" % host)
        entries, shared = [], not users
        for user in users:
            if not isinstance(user, dict) or not user.get("name"):
                raise AnsibleFilterError(
                    "gateway_clients: every claude_code_users entry of host %s needs a name" % host)
            _check_user_token_source(user, host)
            if user.get("client") in (None, ""):
                shared = True
                continue
            where = "user %s on host %s" % (user["name"], host)
            entries.append({
                "client": _check_client(user["client"], "client of " + where),
                "team": _team(user.get("team"), where) or host_team,
                "models": _models(user["models"], where) if "models" in user else host_models,
                "expires": _expires(user.get("expires"), where) if "expires" in user else host_expires,
                "host": host, "user": to_text(user["name"]), "kind": kind,
            })
        if shared:
            entries.insert(0, {"client": host_client, "team": host_team, "models": host_models,
                               "expires": host_expires, "host": host, "user": None, "kind": kind})

        for entry in entries:
            entry["secret"] = "%sclient-%s" % (prefix, entry["client"])
            first = by_name.get(entry["client"])
            if first is None:
                by_name[entry["client"]] = first = dict(entry, prefix=prefix)
            # The same client on several hosts shares one token and one registry entry, so it must be
            # described the same way everywhere.
            _check_same_client(first, dict(entry, prefix=prefix))
            clients.append(entry)
    return clients


def gateway_litellm_tokens(clients, store=None, teams=None, extra=None):
    """litellm_tokens for one gateway: one entry per client (of `teams` when given) with a store reference,
    plus `extra` entries (e.g. the old version of a rotating token), store options merged into references."""
    store = dict(store or {})
    out, seen = [], set()
    for c in clients or []:
        if c["client"] in seen or (teams is not None and c.get("team") not in teams):
            continue
        seen.add(c["client"])
        out.append({"client": c["client"], "team": c.get("team"), "models": c.get("models") or ["*"],
                    "expires": c.get("expires"), "token": dict(store, name=c["secret"])})
    for entry in extra or []:
        entry = dict(entry)
        if isinstance(entry.get("token"), dict):
            entry["token"] = dict(store, **entry["token"])
        out.append(entry)
    return out


class FilterModule(object):
    def filters(self):
        return {"gateway_clients": gateway_clients, "gateway_litellm_tokens": gateway_litellm_tokens}

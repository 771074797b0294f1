# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet the inventory describes, in one place: who the clients are, the names of their secrets and of
the master keys, the secret store, each gateway's token registry and each client host's token references.

Every playbook (and the rotation) gets these from here through the gateway_* filters, so no YAML restates a
default or rebuilds a registry. Controller-only: reads ``groups`` / ``hostvars``, never a token value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.six import string_types

CLIENT_GROUPS = ("workstations", "ci_runners")
GATEWAY_GROUP = "gateway"
DEFAULT_STORE = {"backend": "local"}
DEFAULT_PREFIX = "claude-gateway-"
DEFAULT_TOKEN_PREFIX = "sk-cgw-"
MASTER_TOKEN_PREFIX = "sk-"  # LiteLLM wants its master key to start with sk-
# Letters, digits, '-' and '_' only: secret names must be valid on every backend (GCP allows no '.' or '/').
_CLIENT_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")


def _host_vars(hostvars, host):
    return hostvars[host] if host in hostvars else {}


def _var(host_vars, key):
    """A host variable, None when unset (host_vars may be a lazy HostVarsVars: only this key is templated)."""
    return host_vars[key] if key in host_vars else None


# -- names -----------------------------------------------------------------------------------------------

def store(host_vars):
    """The secret store options of a host (claude_gateway_store, default the embedded local store)."""
    return dict(_var(host_vars, "claude_gateway_store") or DEFAULT_STORE)


def secret_prefix(host_vars):
    return to_text(_var(host_vars, "claude_gateway_secret_prefix") or DEFAULT_PREFIX)


def master_key_name(host_vars):
    """The secret holding a gateway's master key (claude_gateway_master_key_name, else <prefix>master-key)."""
    return to_text(_var(host_vars, "claude_gateway_master_key_name") or secret_prefix(host_vars) + "master-key")


def client_kind(host_vars):
    """workstation, github_actions, gitlab_runner, ... (claude_code_client, default workstation)."""
    return to_text(_var(host_vars, "claude_code_client") or "workstation")


def accounts(host_vars):
    """The user entries of a workstation (claude_code_users); other kinds of client have none."""
    return (_var(host_vars, "claude_code_users") or []) if client_kind(host_vars) == "workstation" else []


def client_secret_name(prefix, client):
    return "%sclient-%s" % (prefix, client)


def secrets(groups, hostvars):
    """Every secret the fleet needs, once: [{name, kind: master|client, client, prefix}], master keys first.

    ``prefix`` is what a generated token starts with: sk- for master keys, claude_gateway_token_prefix of the
    client's (first) host for client tokens.
    """
    out, seen = [], set()
    for host in groups.get(GATEWAY_GROUP) or []:
        name = master_key_name(_host_vars(hostvars, host))
        if name not in seen:
            seen.add(name)
            out.append({"name": name, "kind": "master", "client": None, "prefix": MASTER_TOKEN_PREFIX})
    for client in clients(groups, hostvars):
        if client["secret"] not in seen:
            seen.add(client["secret"])
            token_prefix = _var(_host_vars(hostvars, client["host"]), "claude_gateway_token_prefix")
            out.append({"name": client["secret"], "kind": "client", "client": client["client"],
                        "prefix": to_text(token_prefix or DEFAULT_TOKEN_PREFIX)})
    return out


# -- clients ---------------------------------------------------------------------------------------------

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


def _client_hosts(groups):
    hosts = []
    for group in CLIENT_GROUPS:
        hosts += [host for host in groups.get(group) or [] if host not in hosts]
    return hosts


def _host_clients(host, hv):
    """The clients of one host: one per user entry with `client`, plus the host's client when shared."""
    kind = client_kind(hv)
    host_team = _team(hv.get("claude_gateway_team"), "host %s" % host)
    host_models = _models(hv.get("claude_gateway_models"), "host %s" % host)
    host_expires = _expires(hv.get("claude_gateway_expires"), "host %s" % host)
    host_client = hv.get("claude_gateway_client")
    host_client = (_check_client(host_client, "claude_gateway_client of host %s" % host)
                   if host_client not in (None, "") else _default_client(host))

    users = accounts(hv)
    if not isinstance(users, (list, tuple)):
        raise AnsibleFilterError("gateway_clients: claude_code_users of host %s must be a list" % host)
    entries, shared = [], not users
    for user in users:
        if not isinstance(user, dict) or not user.get("name"):
            raise AnsibleFilterError("gateway_clients: every claude_code_users entry of host %s needs a name" % host)
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
    return entries


def clients(groups, hostvars):
    """One entry per (host, client): {client, team, models, host, user, kind, expires, secret}."""
    if not isinstance(groups, dict):
        raise AnsibleFilterError("gateway_clients: the first argument must be the 'groups' mapping")
    out, by_name = [], {}
    for host in _client_hosts(groups):
        hv = _host_vars(hostvars, host)
        prefix = secret_prefix(hv)
        for entry in _host_clients(host, hv):
            entry["secret"] = client_secret_name(prefix, entry["client"])
            first = by_name.get(entry["client"])
            if first is None:
                by_name[entry["client"]] = first = dict(entry, prefix=prefix)
            # The same client on several hosts shares one token and one registry entry, so it must be
            # described the same way everywhere.
            _check_same_client(first, dict(entry, prefix=prefix))
            out.append(entry)
    return out


# -- what each host gets ---------------------------------------------------------------------------------

def _with_store(options, ref):
    return dict(options, **ref)


def registry(fleet_clients, host_vars, window=None):
    """What the litellm role of one gateway gets: {master_key, master_key_previous, tokens}.

    ``tokens`` is litellm_tokens: one entry per client (only claude_gateway_teams' when set) with a store
    reference, then claude_gateway_extra_tokens; ``window`` ({tokens, master_previous}, from a rotation) adds
    the old versions still accepted. Extra and window entries obey claude_gateway_teams too: a gateway never
    accepts a token of a team it does not serve. Store options are merged into every reference.
    """
    options = store(host_vars)
    teams = _var(host_vars, "claude_gateway_teams")
    window = window or {}

    def served(entry):
        return teams is None or entry.get("team") in teams

    tokens, seen = [], set()
    for client in fleet_clients or []:
        if client["client"] in seen or not served(client):
            continue
        seen.add(client["client"])
        tokens.append({"client": client["client"], "team": client.get("team"), "models": client.get("models") or ["*"],
                       "expires": client.get("expires"), "token": _with_store(options, {"name": client["secret"]})})
    for entry in list(_var(host_vars, "claude_gateway_extra_tokens") or []) + list(window.get("tokens") or []):
        if served(entry):
            entry = dict(entry)
            if isinstance(entry.get("token"), dict):
                entry["token"] = _with_store(options, entry["token"])
            tokens.append(entry)

    master = master_key_name(host_vars)
    return {
        "master_key": _with_store(options, {"name": master}),
        "master_key_previous": [_with_store(options, ref) for ref in window.get("master_previous") or []
                                if ref.get("name") == master],
        "tokens": tokens,
    }


def client_tokens(fleet_clients, host_vars, host, pins=None):
    """What the claude_code role of one client host gets: {token_store, token_ref, users}.

    Every token is a store reference to its client's secret: ``token_ref`` the host's shared client (or
    null), ``users`` the host's claude_code_users as {name, home?, token_ref?} (a user without a client of
    their own uses the shared one). ``pins`` ({secret: version}) pins references to a version (a rollback).
    """
    pins = pins or {}
    mine = [c for c in fleet_clients or [] if c["host"] == host]

    def ref(secret):
        return dict({"name": secret}, **({"version": pins[secret]} if secret in pins else {}))

    shared = [c for c in mine if c["user"] is None]
    users = []
    for user in accounts(host_vars):
        own = [c for c in mine if c["user"] == user["name"]]
        # The role knows users as {name, home, token_ref}; client/team/models/expires are for the gateway only.
        entry = dict((key, user[key]) for key in ("name", "home") if user.get(key))
        if own:
            entry["token_ref"] = ref(own[0]["secret"])
        users.append(entry)
    return {"token_store": store(host_vars), "token_ref": ref(shared[0]["secret"]) if shared else None,
            "users": users}

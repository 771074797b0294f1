# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-client gateway tokens for LiteLLM without a database.

Loaded by LiteLLM through ``general_settings.custom_auth:
claude_gateway_auth.user_api_key_auth`` (this file sits next to config.yaml).

The gateway knows client tokens only as SHA-256 hashes in a registry file
(``CLAUDE_GATEWAY_REGISTRY``, default /etc/litellm/token_registry.json)::

    {"version": 1, "tokens": [{"sha256": "<hex>", "client": "alice", "team": "team-a",
      "models": ["claude-*"], "expires": "2027-01-01T00:00:00Z"}]}

The file is stat()ed on every request and parsed only when its inode, size or
mtime changed, so adding, rotating (two hashes for one client) or revoking a
token needs no restart. A file that turns unreadable or invalid keeps the last
good registry in force.

Admin keys: an entry with ``"admin": true`` holds the hash of a gateway master
key and is accepted for every route. When the registry has admin entries it owns
admin authentication: LiteLLM's own ``LITELLM_MASTER_KEY`` (which LiteLLM needs to
start) is then NOT accepted, so the master key rotates like a client token, by
a registry change, with no restart. Without admin entries the environment's
master key is accepted for every route. No token is ever logged or echoed:
errors name the client or the model, never the presented key.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fnmatch
import hashlib
import hmac
import json
import logging
import os
import re
import threading
from urllib.parse import unquote

try:  # Inside LiteLLM; the fallbacks below only let the logic be unit-tested alone.
    from litellm.proxy._types import LitellmUserRoles, ProxyException, UserAPIKeyAuth
except ImportError:  # pragma: no cover - exercised by the unit tests
    LitellmUserRoles = None

    class ProxyException(Exception):
        def __init__(self, message, type, param, code=None):
            super(ProxyException, self).__init__(message)
            self.message = message
            self.type = type
            self.param = param
            self.code = str(code)

    class UserAPIKeyAuth(dict):
        def __init__(self, **kwargs):
            super(UserAPIKeyAuth, self).__init__(**kwargs)
            self.__dict__.update(kwargs)

try:
    from litellm.proxy.auth.route_checks import RouteChecks
    from litellm.proxy._types import LiteLLMRoutes
except ImportError:  # pragma: no cover
    RouteChecks = LiteLLMRoutes = None

DEFAULT_REGISTRY = "/etc/litellm/token_registry.json"
REGISTRY_ENV = "CLAUDE_GATEWAY_REGISTRY"
MASTER_KEY_ENV = "LITELLM_MASTER_KEY"

log = logging.getLogger("claude_gateway_auth")

_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# Bedrock / Vertex pass-through routes carry the model in the path, not the body.
_PATH_MODEL = (
    re.compile(r"/model/([^/]+)/(?:invoke|converse|count-tokens)"),
    re.compile(r"/models/([^/:]+):"),
)
# Used only when LiteLLM's own route table is not importable (unit tests).
_FALLBACK_CLIENT_ROUTES = (
    "/v1/messages", "/messages", "/v1/chat/completions", "/chat/completions",
    "/v1/completions", "/completions", "/v1/models", "/models", "/v1/embeddings",
    "/embeddings", "/bedrock/", "/vertex_ai/", "/anthropic/",
)


class RegistryError(ValueError):
    """The registry file is not valid; the message names the entry and the fix."""


def hash_token(token):
    """Hex SHA-256 of a token: the only form the gateway stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _parse_time(value, where):
    if value is None:
        return None
    if not isinstance(value, str):
        raise RegistryError("%s: 'expires' must be an ISO 8601 string or null" % where)
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise RegistryError(
            "%s: 'expires' %r is not ISO 8601 (use e.g. 2027-01-01T00:00:00Z)" % (where, value))
    if moment.tzinfo is None:  # a bare timestamp is read as UTC
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment


def parse_registry(text):
    """Validate registry JSON text; return a list of entries (dicts) ready for lookups."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RegistryError("registry is not valid JSON: %s" % exc)
    if not isinstance(data, dict) or data.get("version") != 1:
        raise RegistryError("registry must be a JSON object with \"version\": 1")
    tokens = data.get("tokens", [])
    if not isinstance(tokens, list):
        raise RegistryError("registry 'tokens' must be a list")
    entries = []
    for index, item in enumerate(tokens):
        where = "tokens[%d]" % index
        if not isinstance(item, dict):
            raise RegistryError("%s must be an object" % where)
        digest = item.get("sha256")
        if not isinstance(digest, str) or not _HEX64.match(digest.lower()):
            raise RegistryError("%s: 'sha256' must be 64 hex characters (sha256 of the token)" % where)
        client = item.get("client")
        if not isinstance(client, str) or not client:
            raise RegistryError("%s: 'client' must be a non-empty string" % where)
        where = "%s (client %s)" % (where, client)
        team = item.get("team")
        if team is not None and not isinstance(team, str):
            raise RegistryError("%s: 'team' must be a string or null" % where)
        admin = item.get("admin", False)
        if not isinstance(admin, bool):
            raise RegistryError("%s: 'admin' must be true or false" % where)
        models = item.get("models") or []
        if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
            raise RegistryError("%s: 'models' must be a list of model names or patterns" % where)
        entries.append({
            "sha256": digest.lower(),
            "client": client,
            "team": team,
            "models": list(models),
            "expires": _parse_time(item.get("expires"), where),
            "expires_text": item.get("expires"),
            "admin": admin,
        })
    return entries


class Registry:
    """The registry file, re-read only when its identity (inode, size, mtime) changes."""

    def __init__(self, path):
        self.path = path
        self.entries = None  # None: never loaded successfully
        self._stamp = None  # identity of the file the entries (or the last failure) came from
        self._lock = threading.Lock()

    def current(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError as exc:
            stamp = ("missing", exc.errno)
        if stamp == self._stamp:
            return self.entries
        with self._lock:
            if stamp != self._stamp:
                self._reload(stamp)
        return self.entries

    def _reload(self, stamp):
        try:
            with open(self.path, "r", encoding="utf-8") as handle:
                entries = parse_registry(handle.read())
        except (OSError, RegistryError) as exc:
            # Keep the last good registry; warn once per bad version of the file.
            kept = "keeping the last good registry (%d tokens)" % len(self.entries) \
                if self.entries is not None else "no registry loaded: only the master key is accepted"
            detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            log.warning("token registry %s unusable (%s); %s. Fix the file, no restart needed.",
                        self.path, detail, kept)
        else:
            log.info("token registry %s loaded: %d tokens", self.path, len(entries))
            self.entries = entries
        self._stamp = stamp

    def has_admin(self):
        """Whether the registry owns admin authentication (holds master-key hashes)."""
        return any(entry["admin"] for entry in self.entries or ())

    def find(self, presented_hash):
        """Constant-time scan: compare against every entry, no early exit."""
        found = None
        for entry in self.entries or ():
            if hmac.compare_digest(entry["sha256"], presented_hash) and found is None:
                found = entry
        return found


_registries = {}
_registries_lock = threading.Lock()


def _registry():
    path = os.environ.get(REGISTRY_ENV) or DEFAULT_REGISTRY
    reg = _registries.get(path)
    if reg is None:
        with _registries_lock:
            reg = _registries.setdefault(path, Registry(path))
    return reg


def _refuse(code, message):
    # LiteLLM turns ProxyException into an HTTP error with this status and message.
    kind = "auth_error" if code == 401 else "permission_error"
    return ProxyException(message=message, type=kind, param="api_key", code=code)


def model_allowed(model, patterns):
    """Empty pattern list means every model; otherwise any fnmatch pattern must match."""
    if not patterns:
        return True
    return any(fnmatch.fnmatchcase(model, pattern) for pattern in patterns)


def is_client_route(route):
    """Registry tokens may call model (inference) routes only, never admin routes."""
    if RouteChecks is not None:
        if RouteChecks.is_llm_api_route(route=route):
            return True
        return any(route.startswith(p) for p in LiteLLMRoutes.mapped_pass_through_routes.value)
    return any(route == p.rstrip("/") or route.startswith(p.rstrip("/") + "/") for p in _FALLBACK_CLIENT_ROUTES)


async def requested_model(request):
    """The model a request asks for: body "model", else a pass-through path segment."""
    body = None
    cached = getattr(request, "scope", {}).get("parsed_body")
    if isinstance(cached, tuple) and len(cached) == 2 and isinstance(cached[1], dict):
        body = cached[1]  # LiteLLM already parsed it
    elif getattr(request, "method", "GET") in ("POST", "PUT", "PATCH"):
        try:
            raw = await request.body()
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            body = None
    if isinstance(body, dict) and isinstance(body.get("model"), str) and body["model"]:
        return body["model"]
    path = request.url.path
    for pattern in _PATH_MODEL:
        match = pattern.search(path)
        if match:
            return unquote(match.group(1))
    return None


def _presented_key(request, api_key):
    # LiteLLM extracts Authorization (Bearer) first and only falls back to x-api-key
    # when no Authorization header exists; a non-Bearer Authorization gives "".
    key = (api_key or "").strip()
    if not key:
        key = (request.headers.get("x-api-key") or "").strip()
    if key.lower().startswith("bearer "):
        key = key[7:].strip()
    return key


def _admin(digest, how, name="gateway-admin"):
    kwargs = {"api_key": digest, "user_id": name, "metadata": {"auth": how}}
    if LitellmUserRoles is not None:
        kwargs["user_role"] = LitellmUserRoles.PROXY_ADMIN
    return UserAPIKeyAuth(**kwargs)


async def user_api_key_auth(request, api_key):
    """LiteLLM custom_auth entry point: return UserAPIKeyAuth or raise ProxyException."""
    key = _presented_key(request, api_key)
    if not key:
        raise _refuse(401, "Authentication required: send your gateway token as "
                           "'Authorization: Bearer <token>' or 'x-api-key'.")
    digest = hash_token(key)
    registry = _registry()
    entries_loaded = registry.current()  # always stat, so a revocation is seen at once
    entry = registry.find(digest) if entries_loaded else None
    if entry is None and not registry.has_admin():
        # The registry holds no admin key: the environment's master key is the admin key.
        master = os.environ.get(MASTER_KEY_ENV, "")
        if master and hmac.compare_digest(key.encode("utf-8"), master.encode("utf-8")):
            return _admin(digest, "master_key")
    if entry is None:
        raise _refuse(401, "Invalid gateway token: it is unknown or was revoked. "
                           "Fetch your current token and retry.")
    now = datetime.datetime.now(datetime.timezone.utc)
    if entry["expires"] is not None and entry["expires"] <= now:
        raise _refuse(401, "Gateway token of client '%s' expired at %s: ask for a new token."
                      % (entry["client"], entry["expires_text"]))
    if entry["admin"]:
        return _admin(digest, "registry_admin", entry["client"])
    route = request.url.path
    if not is_client_route(route):
        raise _refuse(403, "Client '%s' may not call %s: gateway tokens are for model requests only."
                      % (entry["client"], route))
    model = await requested_model(request)
    if model is not None and not model_allowed(model, entry["models"]):
        raise _refuse(403, "Model '%s' is not allowed for client '%s' (allowed: %s)."
                      % (model, entry["client"], ", ".join(entry["models"])))
    kwargs = {
        "api_key": digest,
        "user_id": entry["client"],
        "team_id": entry["team"],
        "metadata": {"client": entry["client"], "team": entry["team"],
                     "auth": "claude_gateway_registry", "token_sha256_prefix": digest[:12]},
    }
    if LitellmUserRoles is not None:
        kwargs["user_role"] = LitellmUserRoles.INTERNAL_USER
    return UserAPIKeyAuth(**kwargs)

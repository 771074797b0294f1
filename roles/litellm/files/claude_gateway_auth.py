# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Per-client gateway tokens for LiteLLM without a database.

Loaded by LiteLLM through ``general_settings.custom_auth:
claude_gateway_auth.user_api_key_auth`` (this file sits next to config.yaml).

Registry
--------
The gateway knows client tokens only as SHA-256 hashes in a registry file
(``CLAUDE_GATEWAY_REGISTRY``, default /etc/litellm/token_registry.json)::

    {"version": 1, "tokens": [{"sha256": "<hex>", "client": "alice", "team": "team-a",
      "models": ["claude-*"], "expires": "2027-01-01T00:00:00Z"},
     {"sha256": "<hex>", "client": "gateway-admin", "admin": true}]}

A valid registry has ``"version": 1`` and at least one entry (client or admin):
an empty file or an empty ``tokens`` list is a rendering mistake, not a policy.
To revoke every client at once, keep only the admin entries. Check a file with
``python3 claude_gateway_auth.py check-registry <file>`` (exit 0 and
``ok: N tokens``, or exit 1 and the reason on stderr; needs no LiteLLM).

The file is stat()ed on every request and parsed only when its inode, size or
mtime changed, so adding, rotating (two hashes for one client) or revoking a
token needs no restart.

Fail closed: once a registry has loaded, a registry that turns invalid
(bad or truncated JSON, empty, wrong version, no entries) or missing refuses
every client token with 503 "gateway token registry unusable: <why>; the
operator must fix <path>" and logs why once per bad version of the file. A
revocation written as a broken file must not leave the revoked token working.
The admin entries of the last good registry stay in force (and, if it had none,
the environment's master key): operators can still reach the admin API and the
health checks while they repair the file, and the master key is the root of
trust anyway. A good file brings clients back on the next request, no restart.
Before any good load only the environment's master key is accepted; clients
get 503.

Admin keys: an entry with ``"admin": true`` holds the hash of a gateway master
key and is accepted for every route. When the registry has admin entries it owns
admin authentication: LiteLLM's own ``LITELLM_MASTER_KEY`` (which LiteLLM needs to
start) is then NOT accepted, so the master key rotates like a client token, by
a registry change, with no restart. Without admin entries the environment's
master key is accepted for every route.

Client routes
-------------
A client token reaches only the routes in CLIENT_ROUTES (method + path), every
other route is 403: LiteLLM's admin API, files, batches, fine-tuning, the
OpenAI-style routes, raw ``/anthropic/*``, Bedrock agents and knowledge bases,
Vertex beyond ``publishers/anthropic``. Matching uses the path FastAPI routes
on (the ASGI scope, percent-decoded, never the Host-rebuilt URL); a path with
``.`` or ``..`` segments, ``//``, a backslash, a ``%`` left after decoding or an
encoded ``/`` is ambiguous and refused.

Models
------
Every model a request names must match the token's ``models`` patterns
(fnmatch; an empty list means every model): the body's ``model`` wherever it
sits outside message content and tool definitions (batch entries, ``params``,
lists, comma-separated names), ``models`` and the client-side ``fallbacks``
lists, the model in the path (``/engines/{m}/``, ``/openai/deployments/{m}/``,
``/model/{m}/``, ``/models/{m}:``), ``?model=`` and the ``x-litellm-model``
header. A request on an Anthropic route that names no model goes to LiteLLM
(which answers 400). The patterns are also handed to LiteLLM
(``UserAPIKeyAuth.models``); LiteLLM 1.108.7 without a database does not enforce
them, so this hook is the check.

Audit
-----
One line per decision on the ``claude_gateway_auth.audit`` logger, which has
its own stderr handler (systemd's journal gets it whatever LiteLLM's logging
configuration is)::

    claude_gateway_audit result=denied status=403 client=alice team=team-a method=POST \
route=/engines/claude-opus-4-1/chat/completions model=claude-opus-4-1 reason=model_not_allowed

``result`` allowed|denied; ``status`` what the auth step answers (200 when
passed on to LiteLLM); ``route`` the path without the query; ``reason`` one of
ok, admin, no_token, unknown_token, expired, route_not_allowed,
model_not_allowed, registry_unusable. Unknown values are ``-``; values with
blanks, quotes, ``=`` or control characters are JSON strings. No token and no
part of a token's hash is ever logged, echoed or handed to LiteLLM (its
``api_key`` is an identifier keyed with a per-process secret): errors name the
client or the model, never the presented key.
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
import sys
import threading
from urllib.parse import parse_qsl, unquote

LitellmUserRoles = None
if __name__ != "__main__":  # the check-registry command needs no LiteLLM (and starts fast)
    try:
        from litellm.proxy._types import LitellmUserRoles, ProxyException, UserAPIKeyAuth
    except ImportError:  # pragma: no cover - unit tests and plain python3
        LitellmUserRoles = None

if LitellmUserRoles is None:
    # Stand-ins that only let the logic run without LiteLLM (unit tests, the CLI).
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

DEFAULT_REGISTRY = "/etc/litellm/token_registry.json"
REGISTRY_ENV = "CLAUDE_GATEWAY_REGISTRY"
MASTER_KEY_ENV = "LITELLM_MASTER_KEY"

log = logging.getLogger("claude_gateway_auth")

_HEX64 = re.compile(r"^[0-9a-f]{64}$")

# The client route allowlist: (method, full-match pattern on the decoded path, kind).
# Found by running Claude Code 2.1.197 (`claude -p`, with and without
# CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC) against a recording server:
#   Anthropic mode: HEAD / (no key: LiteLLM answers it without this hook),
#                   POST /v1/messages?beta=true (and /v1/messages/count_tokens?beta=true interactively)
#   Bedrock mode (ANTHROPIC_BEDROCK_BASE_URL=<gw>/bedrock):
#                   GET /bedrock/inference-profiles?type=SYSTEM_DEFINED (sent WITHOUT a key; the CLI
#                   works when it fails, so it is not allowed), POST /bedrock/model/{id}/invoke-with-response-stream
#                   (the SDK also has /invoke, /converse, /converse-stream, /count-tokens)
#   Vertex mode (ANTHROPIC_VERTEX_BASE_URL=<gw>/vertex_ai/v1, LiteLLM's pass-through prefix is /vertex_ai):
#                   POST /vertex_ai/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:streamRawPredict
#                   (the SDK also sends :rawPredict, and count tokens as .../models/count-tokens:rawPredict
#                   with the model in the body)
# No other request reached the gateway (the nonessential traffic goes to Anthropic's own hosts).
_SEG = r"[^/]+"
CLIENT_ROUTES = (
    ("POST", r"/(?:v1/)?messages", "anthropic"),
    ("POST", r"/(?:v1/)?messages/count_tokens", "anthropic"),
    ("GET", r"/(?:v1/)?models", "list"),
    ("POST", r"/bedrock/model/(?P<model>[^/]+)/(?:invoke|invoke-with-response-stream|converse|converse-stream"
             r"|count-tokens)", "bedrock"),
    ("POST", r"/vertex_ai/v1/projects/%s/locations/%s/publishers/anthropic/models/(?P<model>[^/:]+)"
             r":(?P<op>rawPredict|streamRawPredict|countTokens)" % (_SEG, _SEG), "vertex"),
)
_CLIENT_ROUTES = tuple((method, re.compile(pattern), kind) for method, pattern, kind in CLIENT_ROUTES)
_VERTEX_ROUTE = next(pattern for _method, pattern, kind in _CLIENT_ROUTES if kind == "vertex")
# LiteLLM sends any /bedrock/ path containing one of these to bedrock-agent-runtime (a substring test).
_BEDROCK_AGENT_FRAGMENTS = ("agents/", "knowledgebases/", "flows/", "retrieveAndGenerate/", "rerank/",
                            "generateQuery/", "optimize-prompt/")
# Where LiteLLM (or a provider behind it) reads a model from the path.
_PATH_MODEL = (
    re.compile(r"/engines/([^/]+)/"),
    re.compile(r"/openai/deployments/([^/]+)/"),
    re.compile(r"/model/([^/]+)/"),
    re.compile(r"/models/([^/:]+):"),
)
_QUERY_MODEL_KEYS = ("model", "models", "target_model_names")
_MODEL_HEADER = "x-litellm-model"
# Body keys whose values name models (strings, lists, or {model: [fallbacks]} mappings).
_BODY_MODEL_KEYS = ("model", "models", "fallbacks", "context_window_fallbacks", "content_policy_fallbacks",
                    "target_model_names")
# Free text and tool definitions: a "model" there is data (a tool call's argument, a schema), not a request.
_BODY_CONTENT_KEYS = frozenset(("content", "system", "tools", "input", "input_schema", "tool_choice", "text"))
_MAX_BODY_NODES = 20000
# The Vertex count-tokens call of Anthropic's SDK: the path's "model" is the method, the model is in the body.
_VERTEX_COUNT_TOKENS = "count-tokens"


class RegistryError(ValueError):
    """The registry file is not valid; the message names the entry and the fix."""


def hash_token(token):
    """Hex SHA-256 of a token: the only form the gateway stores."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


# LiteLLM needs an api_key per caller (caches, limits) and prints it in its debug logs: give it an
# identifier keyed with a per-process secret, never the registry hash or a part of it.
_KEY_ID_SECRET = os.urandom(32)


def key_id(digest):
    """The caller identifier handed to LiteLLM: stable for one token in this process, unlinkable to its hash."""
    return "cgw-" + hmac.new(_KEY_ID_SECRET, digest.encode("ascii"), hashlib.sha256).hexdigest()[:32]


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
    if not text.strip():
        raise RegistryError("registry file is empty")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RegistryError("registry is not valid JSON: %s" % exc)
    if not isinstance(data, dict) or data.get("version") != 1:
        raise RegistryError("registry must be a JSON object with \"version\": 1")
    tokens = data.get("tokens")
    if not isinstance(tokens, list):
        raise RegistryError("registry 'tokens' must be a list")
    if not tokens:
        raise RegistryError("registry has no entries (not even an admin entry): "
                            "to revoke every client keep only the admin entries")
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


def load_registry_file(path):
    """Read and validate a registry file; raise RegistryError naming the path."""
    try:
        with open(path, "r", encoding="utf-8") as handle:
            text = handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise RegistryError("cannot read the file: %s" % reason)
    return parse_registry(text)


class Registry:
    """The registry file, re-read only when its identity (inode, size, mtime) changes.

    ``entries`` is the last good registry; ``error`` says why the current file is unusable
    (None when it is the good one). Clients are served only while ``error`` is None.
    """

    def __init__(self, path):
        self.path = path
        self.entries = None  # None: never loaded successfully
        self.error = "not loaded yet"
        self._stamp = None  # identity of the file the entries (or the last failure) came from
        self._lock = threading.Lock()

    def current(self):
        try:
            st = os.stat(self.path)
            stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        except OSError as exc:
            stamp = ("missing", exc.errno)
        if stamp != self._stamp:
            with self._lock:
                if stamp != self._stamp:
                    self._reload(stamp)
        return self.entries

    def _reload(self, stamp):
        try:
            entries = load_registry_file(self.path)
        except RegistryError as exc:
            # Fail closed for clients; warn once per bad version of the file.
            self.error = str(exc)
            kept = ("clients are refused (503); the admin entries of the last good registry stay in force"
                    if self.entries is not None else "clients are refused (503); only the master key is accepted")
            log.warning("gateway token registry %s unusable (%s): %s. Fix the file, no restart needed.",
                        self.path, self.error, kept)
        else:
            if self.error is not None and self.entries is not None:
                log.warning("gateway token registry %s usable again: %d tokens", self.path, len(entries))
            else:
                log.info("gateway token registry %s loaded: %d tokens", self.path, len(entries))
            self.entries = entries
            self.error = None
        self._stamp = stamp

    def has_admin(self):
        """Whether the (last good) registry owns admin authentication (holds master-key hashes)."""
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


# --- audit trail ----------------------------------------------------------------------------------

audit_log = logging.getLogger("claude_gateway_auth.audit")


def _setup_audit_logger():
    """Own stderr handler, no propagation: one line per decision whatever LiteLLM does with logging.
    Idempotent: a reload of this module replaces its handler instead of adding a second one."""
    for handler in list(audit_log.handlers):
        if getattr(handler, "_claude_gateway_audit", False):
            audit_log.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler._claude_gateway_audit = True
    audit_log.addHandler(handler)
    audit_log.setLevel(logging.INFO)
    audit_log.propagate = False


_setup_audit_logger()

_AUDIT_PLAIN = re.compile(r"^[^\s\"'=\\\x00-\x1f\x7f]+$")
_AUDIT_MAX = 300


def _audit_value(value):
    if value is None or value == "":
        return "-"
    text = str(value)
    if len(text) > _AUDIT_MAX:
        text = text[:_AUDIT_MAX] + "..."
    return text if _AUDIT_PLAIN.match(text) else json.dumps(text)


def _audit(result, status, client, team, method, route, model, reason):
    audit_log.info("claude_gateway_audit result=%s status=%s client=%s team=%s method=%s route=%s model=%s reason=%s",
                   result, status, _audit_value(client), _audit_value(team), _audit_value(method),
                   _audit_value(route), _audit_value(model), reason)


# --- request inspection ---------------------------------------------------------------------------

def model_allowed(model, patterns):
    """Empty pattern list means every model; otherwise any fnmatch pattern must match."""
    if not patterns:
        return True
    return any(fnmatch.fnmatchcase(model, pattern) for pattern in patterns)


def request_path(request):
    """(decoded path, raw path, query string) as FastAPI sees them: from the ASGI scope.

    ``request.url`` is rebuilt from the Host header by Starlette, so a crafted Host can make
    ``url.path`` differ from the path the request is dispatched on; the scope's ``path`` is what
    FastAPI routes on (root_path stripped as LiteLLM does).
    """
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict) and isinstance(scope.get("path"), str):
        path = scope["path"]
        root = str(scope.get("app_root_path", scope.get("root_path", "")) or "").rstrip("/")
        if root and (path == root or path.startswith(root + "/")):
            path = path[len(root):] or "/"
        raw = scope.get("raw_path")
        raw = raw.decode("latin-1") if isinstance(raw, (bytes, bytearray)) else path
        query = scope.get("query_string", b"")
        query = query.decode("latin-1") if isinstance(query, (bytes, bytearray)) else str(query or "")
        return path, raw, query
    url = request.url
    return unquote(url.path), url.path, getattr(url, "query", "") or ""


def ambiguous_path(path, raw):
    """Why a path could be read two ways (by this hook and by LiteLLM or an upstream), or None."""
    lowered = raw.lower()
    if "%2f" in lowered or "%5c" in lowered:
        return "encoded '/' or '\\'"
    if not path.startswith("/") or "//" in path or "\\" in path:
        return "empty segment or backslash"
    if "%" in path:
        return "'%' left after decoding"
    if any(ord(char) < 0x21 or ord(char) == 0x7f for char in path):
        return "blank or control character"
    segments = path.split("/")
    if "." in segments or ".." in segments:
        return "'.' or '..' segment"
    return None


def match_client_route(method, path):
    """(kind, match) of the allowlisted client route, or None."""
    for allowed_method, pattern, kind in _CLIENT_ROUTES:
        if method != allowed_method:
            continue
        found = pattern.fullmatch(path)
        if found:
            if kind == "bedrock" and any(f in path[len("/bedrock/"):] for f in _BEDROCK_AGENT_FRAGMENTS):
                return None
            return kind, found
    return None


def _add_names(out, value):
    """Model names in a value: a string (LiteLLM splits on ','), a list, a {model: [fallbacks]} mapping."""
    if isinstance(value, str):
        for name in [value] + value.split(","):
            name = name.strip()
            if name and name not in out:
                out.append(name)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _add_names(out, item)
    elif isinstance(value, dict):
        if "model" in value:  # a fallback entry written as {"model": ..., ...}
            _add_names(out, value["model"])
            return
        for key, item in value.items():  # {model: [fallbacks]}
            _add_names(out, key)
            _add_names(out, item)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        _add_names(out, str(value))


class _TooLarge(Exception):
    pass


def _body_models(body, out):
    """Every model the body names, outside message content and tool definitions."""
    stack = [body]
    nodes = 0
    while stack:
        node = stack.pop()
        nodes += 1
        if nodes > _MAX_BODY_NODES:
            raise _TooLarge()
        if isinstance(node, dict):
            found = []
            for key, value in node.items():
                if key in _BODY_MODEL_KEYS:
                    _add_names(found, value)
                elif key not in _BODY_CONTENT_KEYS and isinstance(value, (dict, list)):
                    stack.append(value)
            for name in found:
                if name not in out:
                    out.append(name)
        elif isinstance(node, list):
            stack.extend(reversed(node))


def collect_models(path, query, body, headers=None):
    """Every model a request names: path segments, query, the x-litellm-model header, the JSON body."""
    out = []
    vertex = _VERTEX_ROUTE.fullmatch(path)
    for pattern in _PATH_MODEL:
        for found in pattern.finditer(path):
            name = found.group(1)
            if vertex and name == _VERTEX_COUNT_TOKENS and vertex.group("op") == "rawPredict":
                continue
            _add_names(out, name)
    for key, value in parse_qsl(query or "", keep_blank_values=False):
        if key in _QUERY_MODEL_KEYS:
            _add_names(out, value)
    if headers is not None:
        _add_names(out, headers.get(_MODEL_HEADER) or "")
    if body is not None:
        _body_models(body, out)  # adds only names not yet in out
    return out


async def request_body(request):
    """The JSON body LiteLLM already parsed (scope cache), else parsed here; None when there is none."""
    cached = getattr(request, "scope", {}).get("parsed_body")
    if isinstance(cached, tuple) and len(cached) == 2 and isinstance(cached[1], (dict, list)):
        return cached[1]
    if getattr(request, "method", "GET") in ("POST", "PUT", "PATCH", "DELETE"):
        try:
            raw = await request.body()
            return json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            return None
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


# --- decisions ------------------------------------------------------------------------------------

class _Denied(Exception):
    def __init__(self, status, reason, message, client=None, team=None, model=None):
        super(_Denied, self).__init__(message)
        self.status, self.reason, self.message = status, reason, message
        self.client, self.team, self.model = client, team, model


def _refuse(code, message):
    # LiteLLM turns ProxyException into an HTTP error with this status and message.
    kind = {401: "auth_error", 503: "service_unavailable"}.get(code, "permission_error")
    return ProxyException(message=message, type=kind, param="api_key", code=code)


def _admin(digest, how, name="gateway-admin"):
    kwargs = {"api_key": key_id(digest), "user_id": name, "metadata": {"auth": how}}
    if LitellmUserRoles is not None:
        kwargs["user_role"] = LitellmUserRoles.PROXY_ADMIN
    return UserAPIKeyAuth(**kwargs)


def _unusable(registry):
    return ("gateway token registry unusable: %s; the operator must fix %s"
            % (registry.error, registry.path))


async def _decide(request, api_key, ctx):
    key = _presented_key(request, api_key)
    if not key:
        raise _Denied(401, "no_token", "Authentication required: send your gateway token as "
                                       "'Authorization: Bearer <token>' or 'x-api-key'.")
    digest = hash_token(key)
    registry = _registry()
    registry.current()  # always stat, so a revocation is seen at once
    entry = registry.find(digest)
    if entry is None and not registry.has_admin():
        # The registry holds no admin key: the environment's master key is the admin key.
        master = os.environ.get(MASTER_KEY_ENV, "")
        if master and hmac.compare_digest(key.encode("utf-8"), master.encode("utf-8")):
            ctx.update(client="gateway-admin")
            return _admin(digest, "master_key")
    if entry is not None:
        ctx.update(client=entry["client"], team=entry["team"])
    if registry.error is not None and not (entry is not None and entry["admin"]):
        raise _Denied(503, "registry_unusable", _unusable(registry))
    if entry is None:
        raise _Denied(401, "unknown_token", "Invalid gateway token: it is unknown or was revoked. "
                                            "Fetch your current token and retry.")
    now = datetime.datetime.now(datetime.timezone.utc)
    if entry["expires"] is not None and entry["expires"] <= now:
        raise _Denied(401, "expired", "Gateway token of client '%s' expired at %s: ask for a new token."
                      % (entry["client"], entry["expires_text"]))
    if entry["admin"]:
        return _admin(digest, "registry_admin", entry["client"])

    client = entry["client"]
    method, path, raw = ctx["method"], ctx["path"], ctx["raw"]
    not_allowed = "Client '%s' may not call %s (%s): gateway tokens reach only the model routes." \
        % (client, ctx["route"], method)
    if ctx["ambiguous"]:
        raise _Denied(403, "route_not_allowed", not_allowed)
    if ctx["models_error"]:
        raise _Denied(403, "model_not_allowed", "Client '%s': the request body is too large to check "
                                                "its models." % client)
    for model in ctx["models"]:
        if not model_allowed(model, entry["models"]):
            ctx["model"] = model
            raise _Denied(403, "model_not_allowed", "Model '%s' is not allowed for client '%s' (allowed: %s)."
                          % (model, client, ", ".join(entry["models"])))
    route = match_client_route(method, path)
    if route is None:
        raise _Denied(403, "route_not_allowed", not_allowed)
    kind, found = route
    if kind == "vertex" and found.group("model") == _VERTEX_COUNT_TOKENS and not ctx["models"]:
        raise _Denied(403, "model_not_allowed", "Client '%s': name the model in the request body." % client)
    kwargs = {
        "api_key": key_id(digest),
        "user_id": client,
        "team_id": entry["team"],
        "models": list(entry["models"]),
        "metadata": {"client": client, "team": entry["team"], "auth": "claude_gateway_registry"},
    }
    if LitellmUserRoles is not None:
        kwargs["user_role"] = LitellmUserRoles.INTERNAL_USER
    return UserAPIKeyAuth(**kwargs)


async def user_api_key_auth(request, api_key):
    """LiteLLM custom_auth entry point: return UserAPIKeyAuth or raise ProxyException.

    Writes one audit line per call (see the module docstring)."""
    method = str(getattr(request, "method", "") or "").upper()
    path, raw, query = request_path(request)
    ambiguous = ambiguous_path(path, raw)
    ctx = {"method": method, "path": path, "raw": raw, "ambiguous": ambiguous,
           "route": raw if ambiguous else path, "client": None, "team": None,
           "models": [], "models_error": False, "model": None}
    if not ambiguous:
        try:
            ctx["models"] = collect_models(path, query, await request_body(request), request.headers)
        except _TooLarge:
            ctx["models_error"] = True
    try:
        result = await _decide(request, api_key, ctx)
    except _Denied as denied:
        model = ctx["model"] or (",".join(ctx["models"]) if ctx["models"] else None)
        _audit("denied", denied.status, ctx["client"], ctx["team"], method, ctx["route"], model, denied.reason)
        raise _refuse(denied.status, denied.message)
    is_admin = (getattr(result, "metadata", None) or {}).get("auth") in ("master_key", "registry_admin")
    _audit("allowed", 200, ctx["client"], ctx["team"], method, ctx["route"],
           ",".join(ctx["models"]) if ctx["models"] else None, "admin" if is_admin else "ok")
    return result


# --- command line (the role's validate:) ----------------------------------------------------------

def main(argv=None):
    """``check-registry <file>``: exit 0 and 'ok: N tokens' for a valid registry, else 1 and why."""
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 2 or argv[0] != "check-registry":
        sys.stderr.write("usage: %s check-registry <registry.json>\n" % os.path.basename(sys.argv[0]))
        return 2
    try:
        entries = load_registry_file(argv[1])
    except RegistryError as exc:
        sys.stderr.write("%s: %s\n" % (argv[1], exc))
        return 1
    sys.stdout.write("ok: %d tokens\n" % len(entries))
    return 0


if __name__ == "__main__":
    sys.exit(main())

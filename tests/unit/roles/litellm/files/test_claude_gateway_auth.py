# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The LiteLLM custom_auth hook, exercised without LiteLLM (the integration test runs it inside LiteLLM)."""

import asyncio
import hashlib
import importlib.util
import json
import logging
import os
import subprocess
import sys
from urllib.parse import unquote

import pytest

# This directory mirrors roles/litellm/files/, five levels below the collection root.
HOOK = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "roles", "litellm", "files", "claude_gateway_auth.py")
MASTER = "sk-master-unit-0123456789"
ALICE = "cgw-alice-token-aaaaaaaaaaaaaaaaaaaaaaaa"
ALICE_NEW = "cgw-alice-token-bbbbbbbbbbbbbbbbbbbbbbbb"
BOB = "cgw-bob-token-cccccccccccccccccccccccccc"


def sha(token):
    return hashlib.sha256(token.encode()).hexdigest()


@pytest.fixture
def hook(tmp_path, monkeypatch):
    """A fresh copy of the module per test (its registry cache is module state)."""
    spec = importlib.util.spec_from_file_location("claude_gateway_auth_under_test", HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    registry = tmp_path / "registry.json"
    monkeypatch.setenv("CLAUDE_GATEWAY_REGISTRY", str(registry))
    monkeypatch.setenv("LITELLM_MASTER_KEY", MASTER)
    module.registry_path = registry
    return module


def write(path, tokens, version=1):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as handle:
        json.dump({"version": version, "tokens": tokens}, handle)
    os.replace(tmp, str(path))


def entry(token, client, models=None, expires=None, team="team-a"):
    return {"sha256": sha(token), "client": client, "team": team, "models": models, "expires": expires}


class Headers(dict):
    def __init__(self, items):
        super().__init__({k.lower(): v for k, v in items.items()})

    def get(self, key, default=None):
        return super().get(key.lower(), default)


class URL:
    def __init__(self, path, query=""):
        self.path = path
        self.query = query


class Request:
    """The parts of a Starlette request the hook uses: the ASGI scope holds the decoded path (what
    FastAPI routes on), the raw path and the query string."""

    def __init__(self, path="/v1/messages", body=None, headers=None, method="POST", parsed=True, host_path=None):
        raw, _sep, query = path.partition("?")
        # url.path is rebuilt from the Host header by Starlette: a crafted Host can make it differ.
        self.url = URL(host_path if host_path is not None else unquote(raw), query)
        self.method = method
        self.headers = Headers(headers or {})
        self._raw = json.dumps(body).encode() if body is not None else b""
        self.scope = {"path": unquote(raw), "raw_path": raw.encode(), "query_string": query.encode(),
                      "root_path": ""}
        if parsed and isinstance(body, dict):  # LiteLLM caches the parsed body in the scope
            self.scope["parsed_body"] = (tuple(body), body)

    async def body(self):
        return self._raw


UNSET = object()


def call(hook, key, model="claude-sonnet-4", path="/v1/messages", headers=None, body=UNSET, method=None, **kw):
    if body is UNSET:
        body = {"model": model, "messages": []} if model is not None else None
    method = method or ("POST" if body is not None else "GET")
    return asyncio.run(hook.user_api_key_auth(Request(path, body, headers, method, **kw), key))


def refused(hook, key, code, **kw):
    with pytest.raises(hook.ProxyException) as info:
        call(hook, key, **kw)
    assert info.value.code == str(code)
    for secret in (ALICE, ALICE_NEW, BOB, MASTER):
        assert secret not in info.value.message
    return info.value.message


# --- registry parsing ---------------------------------------------------------------------

def test_parse_valid_registry(hook):
    entries = hook.parse_registry(json.dumps({"version": 1, "tokens": [
        entry(ALICE, "alice", ["claude-*"], "2027-01-01T00:00:00Z"), entry(BOB, "bob", team=None)]}))
    assert [e["client"] for e in entries] == ["alice", "bob"]
    assert entries[0]["expires"].year == 2027 and entries[0]["expires"].utcoffset().total_seconds() == 0
    assert entries[1]["models"] == [] and entries[1]["expires"] is None


@pytest.mark.parametrize("text, fragment", [
    ("not json", "not valid JSON"),
    (json.dumps({"version": 2, "tokens": []}), "\"version\": 1"),
    (json.dumps({"version": 1, "tokens": {}}), "must be a list"),
    (json.dumps({"version": 1, "tokens": [{"sha256": "abc", "client": "a"}]}), "64 hex"),
    (json.dumps({"version": 1, "tokens": [{"sha256": "a" * 64}]}), "'client'"),
    (json.dumps({"version": 1, "tokens": [{"sha256": "a" * 64, "client": "a", "models": "claude-*"}]}),
     "'models'"),
    (json.dumps({"version": 1, "tokens": [{"sha256": "a" * 64, "client": "a", "expires": "soon"}]}),
     "ISO 8601"),
])
def test_parse_rejects_bad_registry(hook, text, fragment):
    with pytest.raises(hook.RegistryError, match=fragment.replace("*", r"\*")):
        hook.parse_registry(text)


# --- authentication -----------------------------------------------------------------------

def test_registry_token_accepted_as_bearer_or_x_api_key(hook):
    write(hook.registry_path, [entry(ALICE, "alice", ["claude-*"])])
    result = call(hook, ALICE)
    assert result.api_key == hook.key_id(sha(ALICE)) and result.user_id == "alice" and result.team_id == "team-a"
    assert ALICE not in json.dumps(result.metadata)
    # LiteLLM passes "" when only x-api-key is sent alongside a non-Bearer Authorization header.
    assert call(hook, "", headers={"x-api-key": ALICE}).user_id == "alice"
    assert call(hook, "Bearer " + ALICE).user_id == "alice"


def test_missing_and_unknown_keys_are_401(hook):
    write(hook.registry_path, [entry(ALICE, "alice")])
    assert "Authentication required" in refused(hook, "", 401)
    assert "unknown or was revoked" in refused(hook, BOB, 401)


def test_master_key_accepted_for_everything(hook):
    write(hook.registry_path, [entry(ALICE, "alice", ["nothing"])])
    assert call(hook, MASTER, model="any-model").metadata["auth"] == "master_key"
    assert call(hook, MASTER, model=None, path="/key/generate").api_key == hook.key_id(sha(MASTER))


def test_master_key_works_without_registry_file(hook):
    assert call(hook, MASTER).api_key == hook.key_id(sha(MASTER))
    assert "No such file" in refused(hook, ALICE, 503)  # no registry yet: clients cannot be checked


def test_no_master_key_configured_does_not_accept_empty(hook, monkeypatch):
    monkeypatch.setenv("LITELLM_MASTER_KEY", "")
    write(hook.registry_path, [entry(ALICE, "alice")])
    refused(hook, MASTER, 401)
    refused(hook, "", 401)


def test_expired_token_is_401_with_expired(hook):
    write(hook.registry_path, [entry(ALICE, "alice", expires="2020-01-01T00:00:00Z"),
                               entry(BOB, "bob", expires="2999-01-01T00:00:00+00:00")])
    assert "expired" in refused(hook, ALICE, 401)
    assert call(hook, BOB).user_id == "bob"


# --- authorization ------------------------------------------------------------------------

def test_model_patterns(hook):
    write(hook.registry_path, [entry(ALICE, "alice", ["claude-*", "bedrock-sonnet"]), entry(BOB, "bob", [])])
    assert call(hook, ALICE, model="claude-opus-4-8").user_id == "alice"
    assert call(hook, ALICE, model="bedrock-sonnet").user_id == "alice"
    message = refused(hook, ALICE, 403, model="vertex-sonnet")
    assert "vertex-sonnet" in message and "alice" in message
    refused(hook, ALICE, 403, model="bedrock-sonnet-2")  # fnmatch is anchored
    assert call(hook, BOB, model="anything").user_id == "bob"  # empty list = all models


def test_requests_without_model_are_allowed(hook):
    write(hook.registry_path, [entry(ALICE, "alice", ["claude-*"])])
    assert call(hook, ALICE, model=None, path="/v1/models").user_id == "alice"


def test_model_read_from_unparsed_body_and_passthrough_path(hook):
    write(hook.registry_path, [entry(ALICE, "alice", ["claude-*"])])
    assert call(hook, ALICE, parsed=False).user_id == "alice"
    refused(hook, ALICE, 403, model="gpt-4", parsed=False)
    # Bedrock pass-through carries the model id in the path (percent-encoded ':').
    refused(hook, ALICE, 403, model=None, path="/bedrock/model/anthropic.claude-x-v1%3A0/invoke")


def test_admin_routes_refused_for_registry_tokens(hook):
    write(hook.registry_path, [entry(ALICE, "alice")])
    assert "/key/generate" in refused(hook, ALICE, 403, model=None, path="/key/generate")
    refused(hook, ALICE, 403, model=None, path="/config/update")


# --- reloading ----------------------------------------------------------------------------

def test_revoke_rotate_without_restart(hook):
    write(hook.registry_path, [entry(ALICE, "alice")])
    assert call(hook, ALICE).user_id == "alice"
    write(hook.registry_path, [entry(ALICE, "alice"), entry(ALICE_NEW, "alice")])  # rotation window
    assert call(hook, ALICE).user_id == "alice" and call(hook, ALICE_NEW).user_id == "alice"
    write(hook.registry_path, [entry(ALICE_NEW, "alice")])  # old hash dropped
    refused(hook, ALICE, 401)
    assert call(hook, ALICE_NEW).api_key == hook.key_id(sha(ALICE_NEW))


def test_parses_only_when_file_changes(hook, monkeypatch):
    write(hook.registry_path, [entry(ALICE, "alice")])
    calls = []
    real = hook.parse_registry
    monkeypatch.setattr(hook, "parse_registry", lambda text: calls.append(1) or real(text))
    for _ignored in range(5):
        call(hook, ALICE)
    assert len(calls) == 1
    write(hook.registry_path, [entry(ALICE, "alice"), entry(BOB, "bob")])
    call(hook, BOB)
    assert len(calls) == 2


def test_unreadable_file_fails_closed(hook):
    if os.geteuid() == 0:
        pytest.skip("root reads any file; covered by the invalid-file tests")
    write(hook.registry_path, [entry(ALICE, "alice")])
    call(hook, ALICE)
    write(hook.registry_path, [entry(ALICE, "alice")])
    os.chmod(str(hook.registry_path), 0)
    assert "Permission denied" in refused(hook, ALICE, 503)


# --- admin keys in the registry (master-key rotation without a restart) ------------------------

MASTER_NEW = "sk-master-unit-new-9876543210"


def admin(token, name="gateway-admin"):
    return {"sha256": sha(token), "client": name, "admin": True}


def test_registry_admin_entry_accepted_for_every_route(hook):
    write(hook.registry_path, [admin(MASTER_NEW), entry(ALICE, "alice", ["nothing"])])
    auth = call(hook, MASTER_NEW, model="any-model", path="/key/generate")
    assert auth.metadata["auth"] == "registry_admin" and auth.api_key == hook.key_id(sha(MASTER_NEW))
    assert call(hook, MASTER_NEW, model=None, path="/config/update").user_id == "gateway-admin"


def test_registry_admin_entries_replace_the_environment_master_key(hook):
    write(hook.registry_path, [admin(MASTER_NEW)])
    # LITELLM_MASTER_KEY (MASTER) is set but the registry owns admin authentication now.
    message = refused(hook, MASTER, 401)
    assert "unknown or was revoked" in message and MASTER_NEW not in message


def test_master_key_rotation_window_without_restart(hook):
    write(hook.registry_path, [admin(MASTER), entry(ALICE, "alice")])
    assert call(hook, MASTER, model=None, path="/key/generate").metadata["auth"] == "registry_admin"
    write(hook.registry_path, [admin(MASTER), admin(MASTER_NEW), entry(ALICE, "alice")])  # both accepted
    assert call(hook, MASTER).user_id == "gateway-admin" and call(hook, MASTER_NEW).user_id == "gateway-admin"
    write(hook.registry_path, [admin(MASTER_NEW), entry(ALICE, "alice")])  # old one dropped
    refused(hook, MASTER, 401)
    assert call(hook, MASTER_NEW).api_key == hook.key_id(sha(MASTER_NEW))
    assert call(hook, ALICE).user_id == "alice"  # clients are not affected


def test_expired_admin_entry_is_refused(hook):
    write(hook.registry_path, [dict(admin(MASTER_NEW), expires="2020-01-01T00:00:00Z")])
    assert "expired" in refused(hook, MASTER_NEW, 401, model=None, path="/key/generate")


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_admin_flag_must_be_boolean(hook, value):
    with pytest.raises(hook.RegistryError, match="'admin' must be true or false"):
        hook.parse_registry(json.dumps({"version": 1, "tokens": [dict(admin(MASTER), admin=value)]}))


# --- attacks: routes a client token must not reach --------------------------------------------
# Each of these was written against the hook that checked only the body's model and let every LiteLLM
# model route and pass-through through; the comment says what the old hook answered.

HAIKU_ONLY = ["claude-haiku-*"]
OPUS = "claude-opus-4-1"


@pytest.fixture
def haiku(hook):
    write(hook.registry_path, [entry(ALICE, "alice", HAIKU_ONLY), admin(MASTER)])
    return hook


ALLOWED_ROUTES = [
    ("POST", "/v1/messages"),
    ("POST", "/v1/messages?beta=true"),
    ("POST", "/messages"),
    ("POST", "/v1/messages/count_tokens?beta=true"),
    ("POST", "/messages/count_tokens"),
    ("GET", "/v1/models"),
    ("GET", "/v1/models?beta=true"),
    ("GET", "/models"),
    ("POST", "/bedrock/model/claude-haiku-4-5/invoke"),
    ("POST", "/bedrock/model/claude-haiku-4-5/invoke-with-response-stream"),
    ("POST", "/bedrock/model/claude-haiku-4-5/converse"),
    ("POST", "/bedrock/model/claude-haiku-4-5/converse-stream"),
    ("POST", "/bedrock/model/claude-haiku-4-5/count-tokens"),
    ("POST", "/vertex_ai/v1/projects/p-1/locations/us-east5/publishers/anthropic/models/claude-haiku-4-5:rawPredict"),
    ("POST", "/vertex_ai/v1/projects/p-1/locations/us-east5/publishers/anthropic/models/claude-haiku-4-5"
             ":streamRawPredict?alt=sse"),
    ("POST", "/vertex_ai/v1/projects/p-1/locations/us-east5/publishers/anthropic/models/claude-haiku-4-5:countTokens"),
    # Claude Code's Vertex count_tokens: the model is in the body.
    ("POST", "/vertex_ai/v1/projects/p-1/locations/us-east5/publishers/anthropic/models/count-tokens:rawPredict"),
]


@pytest.mark.parametrize("method, path", ALLOWED_ROUTES)
def test_allowlisted_routes(haiku, method, path):
    body = {"model": "claude-haiku-4-5", "messages": []} if method == "POST" else None
    assert call(haiku, ALICE, body=body, method=method, path=path).user_id == "alice"


REFUSED_ROUTES = [  # (method, path): all passed the old hook (LiteLLM llm-api or pass-through routes)
    ("POST", "/v1/batches"),
    ("GET", "/v1/batches"),
    ("POST", "/v1/files"),
    ("GET", "/v1/files/file-abc123/content"),
    ("DELETE", "/files/file-abc123"),
    ("GET", "/files/file-abc123"),
    ("POST", "/fine_tuning/jobs"),
    ("POST", "/v1/fine_tuning/jobs"),
    ("POST", "/v1/messages/batches"),
    ("POST", "/anthropic/v1/messages"),
    ("POST", "/anthropic/v1/files"),
    ("POST", "/bedrock/knowledgebases/kb-1/retrieve"),
    ("POST", "/bedrock/agents/ag-1/agentAliases/al-1/sessions/s-1/text"),
    ("POST", "/bedrock/model/xagents/invoke"),  # LiteLLM sends any path containing "agents/" to agent-runtime
    ("POST", "/bedrock/model/aws/anthropic/claude-haiku-4-5/invoke"),  # multi-segment model id
    ("GET", "/bedrock/inference-profiles"),
    ("POST", "/vertex_ai/v1/projects/p/locations/l/publishers/google/models/claude-haiku-4-5:generateContent"),
    ("POST", "/vertex_ai/v1/projects/p/locations/l/publishers/anthropic/models/claude-haiku-4-5:predict"),
    ("POST", "/vertex_ai/v1/projects/p/locations/l/endpoints/e-1:predict"),
    ("POST", "/vertex_ai/v1beta1/projects/p/locations/l/publishers/anthropic/models/claude-haiku-4-5:rawPredict"),
    ("POST", "/vertex-ai/v1/projects/p/locations/l/publishers/anthropic/models/claude-haiku-4-5:rawPredict"),
    ("POST", "/gemini/v1beta/models/claude-haiku-4-5:generateContent"),
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/responses"),
    ("POST", "/v1/embeddings"),
    ("POST", "/key/generate"),
    ("POST", "/config/update"),
    ("GET", "/v1/messages"),
    ("POST", "/v1/models"),
    ("DELETE", "/v1/messages"),
    ("GET", "/health"),
]


@pytest.mark.parametrize("method, path", REFUSED_ROUTES)
def test_routes_outside_the_allowlist_are_403(haiku, method, path):
    body = {"model": "claude-haiku-4-5", "messages": []} if method in ("POST", "PUT", "PATCH") else None
    with pytest.raises(haiku.ProxyException) as info:
        call(haiku, ALICE, body=body, method=method, path=path)
    assert info.value.code == "403"
    # The master key (admin) still reaches everything.
    assert call(haiku, MASTER, body=body, method=method, path=path).user_id == "gateway-admin"


@pytest.mark.parametrize("path", [
    "/v1/../key/generate",
    "/v1/messages/../../key/generate",
    "/v1/./messages",
    "//v1/messages",
    "/v1//messages",
    "/bedrock/model/claude-haiku-4-5%2F..%2F..%2Fknowledgebases%2Fkb%2Fretrieve/invoke",
    "/bedrock/model/claude-haiku-4-5%2finvoke/invoke",
    "/v1/messages%2F..%2F..%2Fkey%2Fgenerate",
    "/bedrock/model/claude-haiku-4-5%252F/invoke",
    "/v1/messages\\..\\key",
])
def test_ambiguous_paths_are_403(haiku, path):
    message = refused(haiku, ALICE, 403, model="claude-haiku-4-5", path=path)
    assert "alice" in message


def test_route_comes_from_the_asgi_scope_not_the_host_rebuilt_url(haiku):
    # Starlette rebuilds request.url from the Host header: 'Host: x/v1/messages?' makes url.path
    # '/v1/messages' while FastAPI dispatches on scope['path'] (/key/generate). Old hook: allowed.
    refused(haiku, ALICE, 403, model="claude-haiku-4-5", path="/key/generate", host_path="/v1/messages")


# --- attacks: models a client token must not reach --------------------------------------------

@pytest.mark.parametrize("path, body", [
    # LiteLLM takes the model from these paths, and the path wins over the body (old hook: allowed).
    ("/engines/%s/chat/completions" % OPUS, {"model": "claude-haiku-4-5", "messages": []}),
    ("/openai/deployments/%s/chat/completions" % OPUS, {"model": "claude-haiku-4-5", "messages": []}),
    ("/engines/%s/chat/completions" % OPUS, {"messages": []}),
    ("/bedrock/model/%s/invoke" % OPUS, {"messages": []}),
    ("/bedrock/model/%s/converse-stream" % OPUS, {"messages": []}),
    ("/vertex_ai/v1/projects/p/locations/l/publishers/anthropic/models/%s:streamRawPredict" % OPUS, {"messages": []}),
    ("/v1/messages?model=%s" % OPUS, {"model": "claude-haiku-4-5", "messages": []}),
    ("/v1/messages", {"model": OPUS, "messages": []}),
    ("/v1/messages", {"model": "claude-haiku-4-5,%s" % OPUS, "messages": []}),  # LiteLLM splits on ','
    ("/v1/messages", {"model": ["claude-haiku-4-5", OPUS], "messages": []}),
    ("/v1/messages", {"model": "claude-haiku-4-5", "fallbacks": [OPUS], "messages": []}),
    ("/v1/messages", {"model": "claude-haiku-4-5", "fallbacks": [{"claude-haiku-4-5": [OPUS]}], "messages": []}),
    ("/v1/messages", {"model": "claude-haiku-4-5", "context_window_fallbacks": [{"model": OPUS}], "messages": []}),
    ("/v1/messages/batches", {"requests": [{"custom_id": "1", "params": {"model": OPUS, "messages": []}}]}),
    ("/v1/messages", {"model": "claude-haiku-4-5", "messages": [{"role": "user", "content": "x", "model": OPUS}]}),
    ("/v1/messages", {"model": "claude-haiku-4-5", "extra_body": {"model": OPUS}, "messages": []}),
    ("/vertex_ai/v1/projects/p/locations/l/publishers/anthropic/models/count-tokens:rawPredict",
     {"model": OPUS, "messages": []}),
])
def test_every_model_a_request_names_is_checked(haiku, path, body):
    message = refused(haiku, ALICE, 403, body=body, method="POST", path=path)
    assert OPUS in message and "alice" in message


def test_model_in_message_content_is_not_a_model_request(haiku):
    # Claude Code's conversations carry tool calls and tool schemas that have a "model" field.
    body = {"model": "claude-haiku-4-5", "max_tokens": 5,
            "system": [{"type": "text", "text": "x"}],
            "tools": [{"name": "Agent", "input_schema": {"type": "object", "properties": {
                "model": {"type": "string", "enum": ["sonnet", "opus", "haiku"]}}}}],
            "messages": [{"role": "assistant", "content": [
                {"type": "tool_use", "id": "t1", "name": "Agent", "input": {"model": "opus", "prompt": "p"}}]},
                {"role": "user", "content": [
                    {"type": "tool_result", "tool_use_id": "t1",
                     "content": [{"type": "text", "text": '{"model": "opus"}'}]}]}]}
    assert call(haiku, ALICE, body=body, method="POST", path="/v1/messages?beta=true").user_id == "alice"


def test_collect_models(hook):
    collect = hook.collect_models
    assert collect("/v1/messages", "", {"model": "a"}) == ["a"]
    assert collect("/engines/e/chat/completions", "model=q&x=1", {"model": "b"}) == ["e", "q", "b"]
    assert collect("/openai/deployments/d/chat/completions", "", None) == ["d"]
    assert collect("/bedrock/model/m1/invoke", "", {}) == ["m1"]
    assert collect("/vertex_ai/v1/projects/p/locations/l/publishers/anthropic/models/m2:rawPredict", "", {}) == ["m2"]
    assert collect("/vertex_ai/v1/projects/p/locations/l/publishers/anthropic/models/count-tokens:rawPredict",
                   "", {"model": "m3"}) == ["m3"]
    body = {"requests": [{"params": {"model": "n1"}}, {"model": "n2"}], "models": ["n3", "n4"], "model": "n5,n6"}
    # the whole name and each part LiteLLM may split off
    assert set(collect("/v1/messages", "", body)) == {"n1", "n2", "n3", "n4", "n5,n6", "n5", "n6"}
    assert collect("/v1/messages", "", {"model": "a", "fallbacks": [{"a": ["b"]}, {"model": "c"}]}) == ["a", "b", "c"]
    assert collect("/v1/models", "", None) == []


def test_model_route_without_a_model_goes_to_litellm(haiku):
    # LiteLLM answers 400 itself; nothing upstream is named.
    assert call(haiku, ALICE, body={"messages": []}, method="POST", path="/v1/messages").user_id == "alice"
    # Claude Code's Vertex count-tokens names the model only in the body: without one, refused.
    refused(haiku, ALICE, 403, body={"messages": []}, method="POST",
            path="/vertex_ai/v1/projects/p/locations/l/publishers/anthropic/models/count-tokens:rawPredict")


def test_allowed_models_are_handed_to_litellm_and_no_hash_in_metadata(haiku):
    result = call(haiku, ALICE, model="claude-haiku-4-5")
    assert result.models == HAIKU_ONLY
    assert result.api_key.startswith("cgw-") and result.api_key == call(haiku, ALICE, model="claude-haiku-4-5").api_key
    assert not any(sha(ALICE)[i:i + 8] in result.api_key for i in range(57))
    text = json.dumps(result.metadata)
    assert sha(ALICE)[:8] not in text and "token_sha256_prefix" not in text


# --- attacks: a broken registry must not keep revoked tokens working -----------------------------

@pytest.mark.parametrize("breakage", ["truncated", "empty", "deleted", "wrong_version", "no_entries", "not_a_list"])
def test_broken_registry_fails_closed_for_clients(hook, caplog, breakage):
    write(hook.registry_path, [entry(ALICE, "alice"), admin(MASTER_NEW)])
    assert call(hook, ALICE).user_id == "alice"
    caplog.set_level(logging.INFO, logger="claude_gateway_auth")
    path = hook.registry_path
    if breakage == "truncated":
        path.write_text('{"version": 1, "tokens": [')
    elif breakage == "empty":
        path.write_text("")
    elif breakage == "deleted":
        os.unlink(str(path))
    elif breakage == "wrong_version":
        write(path, [entry(ALICE, "alice")], version=2)
    elif breakage == "no_entries":
        write(path, [])
    else:
        path.write_text('{"version": 1, "tokens": {}}')
    # Old hook: the last good registry stayed in force (200 for alice, even after a revocation).
    message = refused(hook, ALICE, 503)
    assert "gateway token registry unusable" in message and str(path) in message
    refused(hook, BOB, 503)  # an unknown token: the hook cannot tell, so 503 too
    # Admin entries of the last good registry stay in force; the environment key does not come back.
    assert call(hook, MASTER_NEW, model=None, path="/key/generate").user_id == "gateway-admin"
    refused(hook, MASTER, 503)
    refused(hook, ALICE, 503)
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING and r.name == "claude_gateway_auth"]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # once per bad version of the file
    assert "unusable" in warnings[0].getMessage()
    write(path, [entry(ALICE, "alice")])  # repaired: back without restart
    assert call(hook, ALICE).user_id == "alice"
    for record in caplog.records:
        for secret in (ALICE, BOB, MASTER, MASTER_NEW, sha(ALICE)[:8], sha(MASTER_NEW)[:8]):
            assert secret not in record.getMessage()


def test_before_any_good_registry_only_the_master_key(hook):
    hook.registry_path.write_text("{broken")
    assert call(hook, MASTER, model=None, path="/key/generate").metadata["auth"] == "master_key"
    assert "unusable" in refused(hook, ALICE, 503)


# --- audit trail --------------------------------------------------------------------------------

@pytest.fixture
def audit(hook):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(record)

    logger = logging.getLogger("claude_gateway_auth.audit")
    handler = Keep()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


def test_audit_logger_setup(hook):
    logger = logging.getLogger("claude_gateway_auth.audit")
    assert logger.propagate is False and logger.level == logging.INFO
    # Exactly one stream handler even though every test loads the module again.
    assert len([h for h in logger.handlers if isinstance(h, logging.StreamHandler)]) == 1


def test_audit_lines(haiku, audit):
    call(haiku, ALICE, model="claude-haiku-4-5")
    refused(haiku, ALICE, 403, model=OPUS, path="/engines/%s/chat/completions" % OPUS)
    refused(haiku, ALICE, 403, model=None, path="/key/generate?x=1")
    refused(haiku, "", 401)
    refused(haiku, BOB, 401)
    call(haiku, MASTER, model=None, path="/key/generate")
    refused(haiku, ALICE, 403, model="claude-haiku-4-5", path="/v1/../key/generate")
    refused(haiku, ALICE, 403, model='x y="1"', path="/v1/messages")
    lines = [r.getMessage() for r in audit]
    assert lines[:6] == [
        "claude_gateway_audit result=allowed status=200 client=alice team=team-a method=POST route=/v1/messages"
        " model=claude-haiku-4-5 reason=ok",
        "claude_gateway_audit result=denied status=403 client=alice team=team-a method=POST"
        " route=/engines/claude-opus-4-1/chat/completions model=claude-opus-4-1 reason=model_not_allowed",
        "claude_gateway_audit result=denied status=403 client=alice team=team-a method=GET route=/key/generate"
        " model=- reason=route_not_allowed",
        "claude_gateway_audit result=denied status=401 client=- team=- method=POST route=/v1/messages"
        " model=claude-sonnet-4 reason=no_token",
        "claude_gateway_audit result=denied status=401 client=- team=- method=POST route=/v1/messages"
        " model=claude-sonnet-4 reason=unknown_token",
        "claude_gateway_audit result=allowed status=200 client=gateway-admin team=- method=GET route=/key/generate"
        " model=- reason=admin",
    ]
    assert lines[6].endswith("reason=route_not_allowed") and "status=403" in lines[6]
    assert lines[7] == ("claude_gateway_audit result=denied status=403 client=alice team=team-a method=POST"
                        " route=/v1/messages model=\"x y=\\\"1\\\"\" reason=model_not_allowed")
    for record in audit:
        assert record.levelno == logging.INFO and record.name == "claude_gateway_auth.audit"
        for secret in (ALICE, BOB, MASTER, sha(ALICE)[:8], sha(BOB)[:8], sha(MASTER)[:8]):
            assert secret not in record.getMessage()


def test_audit_expired_and_registry_unusable(hook, audit):
    write(hook.registry_path, [entry(ALICE, "alice", expires="2020-01-01T00:00:00Z"), entry(BOB, "bob")])
    refused(hook, ALICE, 401)
    hook.registry_path.write_text("")
    refused(hook, BOB, 503)
    lines = [r.getMessage() for r in audit]
    assert lines[0].startswith("claude_gateway_audit result=denied status=401 client=alice team=team-a ")
    assert lines[0].endswith(" reason=expired")
    assert lines[1].startswith("claude_gateway_audit result=denied status=503 ")
    assert lines[1].endswith(" reason=registry_unusable")


# --- check-registry CLI (the role's validate:) ---------------------------------------------------

def cli(*args):
    # Plain python3 without LiteLLM on the path, as the role's validate: may run it.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",)}
    return subprocess.run([sys.executable, "-S", HOOK, "check-registry"] + list(args), capture_output=True,
                          text=True, env=env, timeout=60, check=False)


def test_check_registry_cli(tmp_path):
    good = tmp_path / "good.json"
    write(good, [entry(ALICE, "alice", ["claude-*"]), admin(MASTER)])
    result = cli(str(good))
    assert result.returncode == 0 and result.stdout.strip() == "ok: 2 tokens" and result.stderr == ""
    only_admin = tmp_path / "admin.json"
    write(only_admin, [admin(MASTER)])
    assert cli(str(only_admin)).returncode == 0
    for name, text, fragment in [
        ("truncated.json", '{"version": 1, "tokens": [', "not valid JSON"),
        ("empty.json", "", "empty"),
        ("none.json", json.dumps({"version": 1, "tokens": []}), "no entries"),
        ("v2.json", json.dumps({"version": 2, "tokens": [admin(MASTER)]}), "\"version\": 1"),
        ("bad.json", json.dumps({"version": 1, "tokens": [{"sha256": "zz", "client": "a"}]}), "64 hex"),
    ]:
        path = tmp_path / name
        path.write_text(text)
        result = cli(str(path))
        assert result.returncode == 1 and fragment in result.stderr and result.stdout == "", (name, result)
    result = cli(str(tmp_path / "missing.json"))
    assert result.returncode == 1 and "missing.json" in result.stderr
    assert cli().returncode == 2  # usage


# --- control characters in a presented token ---------------------------------------------------------

@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x80", "\x9f", "\n", "\r", "\t"],
                         ids=lambda c: "U+%04X" % ord(c))
@pytest.mark.parametrize("where", ["middle", "after the first character"])
def test_a_token_with_a_control_character_inside_is_refused(hook, char, where):
    """Only the exact registered token matches: a control character inside it is an unknown token (401),
    never a near match, and the refusal shows no part of the key."""
    write(hook.registry_path, [entry(ALICE, "alice")])
    middle = len(ALICE) // 2 if where == "middle" else 1
    presented = ALICE[:middle] + char + ALICE[middle:]
    message = refused(hook, presented, 401)
    assert "unknown or was revoked" in message and presented not in message
    assert call(hook, ALICE).user_id == "alice"


@pytest.mark.parametrize("char", ["\x00", "\x1b", "\x7f", "\x80"], ids=lambda c: "U+%04X" % ord(c))
def test_a_token_with_a_trailing_control_character_is_refused(hook, char):
    write(hook.registry_path, [entry(ALICE, "alice")])
    assert "unknown or was revoked" in refused(hook, ALICE + char, 401)
    assert "unknown or was revoked" in refused(hook, "", 401, headers={"x-api-key": ALICE + char})

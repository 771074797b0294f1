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

import pytest

HOOK = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "litellm", "files", "claude_gateway_auth.py")
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
    def __init__(self, path):
        self.path = path


class Request:
    """The parts of a Starlette request the hook uses."""

    def __init__(self, path="/v1/messages", body=None, headers=None, method="POST", parsed=True):
        self.url = URL(path)
        self.method = method
        self.headers = Headers(headers or {})
        self._raw = json.dumps(body).encode() if body is not None else b""
        self.scope = {}
        if parsed and isinstance(body, dict):  # LiteLLM caches the parsed body in the scope
            self.scope["parsed_body"] = (tuple(body), body)

    async def body(self):
        return self._raw


def call(hook, key, model="claude-sonnet-4", path="/v1/messages", headers=None, **kw):
    body = {"model": model, "messages": []} if model is not None else None
    method = "POST" if body is not None else "GET"
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
    assert result.api_key == sha(ALICE) and result.user_id == "alice" and result.team_id == "team-a"
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
    assert call(hook, MASTER, model=None, path="/key/generate").api_key == sha(MASTER)


def test_master_key_works_without_registry_file(hook):
    assert call(hook, MASTER).api_key == sha(MASTER)
    refused(hook, ALICE, 401)


def test_no_master_key_configured_does_not_accept_empty(hook, monkeypatch):
    monkeypatch.setenv("LITELLM_MASTER_KEY", "")
    write(hook.registry_path, [])
    refused(hook, MASTER, 401)


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
    assert call(hook, ALICE_NEW).api_key == sha(ALICE_NEW)


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


def test_bad_file_keeps_last_good_and_warns_without_token(hook, caplog):
    write(hook.registry_path, [entry(ALICE, "alice")])
    assert call(hook, ALICE).user_id == "alice"
    caplog.set_level(logging.INFO, logger="claude_gateway_auth")
    hook.registry_path.write_text('{"version": 1, "tokens": [')  # truncated write
    assert call(hook, ALICE).user_id == "alice"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "keeping the last good registry (1 tokens)" in warnings[0].getMessage()
    call(hook, ALICE)  # same bad file: no second warning
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1
    os.unlink(str(hook.registry_path))  # removed: still the last good one
    assert call(hook, ALICE).user_id == "alice"
    write(hook.registry_path, [entry(BOB, "bob")])  # fixed: picked up again
    refused(hook, ALICE, 401)
    assert call(hook, BOB).user_id == "bob"
    for record in caplog.records:
        for secret in (ALICE, BOB, MASTER):
            assert secret not in record.getMessage()


def test_unreadable_file_keeps_last_good(hook):
    if os.geteuid() == 0:
        pytest.skip("root reads any file; covered by the invalid-file test")
    write(hook.registry_path, [entry(ALICE, "alice")])
    call(hook, ALICE)
    write(hook.registry_path, [])
    os.chmod(str(hook.registry_path), 0)
    assert call(hook, ALICE).user_id == "alice"


# --- admin keys in the registry (master-key rotation without a restart) ------------------------

MASTER_NEW = "sk-master-unit-new-9876543210"


def admin(token, name="gateway-admin"):
    return {"sha256": sha(token), "client": name, "admin": True}


def test_registry_admin_entry_accepted_for_every_route(hook):
    write(hook.registry_path, [admin(MASTER_NEW), entry(ALICE, "alice", ["nothing"])])
    auth = call(hook, MASTER_NEW, model="any-model", path="/key/generate")
    assert auth.metadata["auth"] == "registry_admin" and auth.api_key == sha(MASTER_NEW)
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
    assert call(hook, MASTER_NEW).api_key == sha(MASTER_NEW)
    assert call(hook, ALICE).user_id == "alice"  # clients are not affected


def test_expired_admin_entry_is_refused(hook):
    write(hook.registry_path, [dict(admin(MASTER_NEW), expires="2020-01-01T00:00:00Z")])
    assert "expired" in refused(hook, MASTER_NEW, 401, model=None, path="/key/generate")


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_admin_flag_must_be_boolean(hook, value):
    with pytest.raises(hook.RegistryError, match="'admin' must be true or false"):
        hook.parse_registry(json.dumps({"version": 1, "tokens": [dict(admin(MASTER), admin=value)]}))

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway hook's exact answers at its edges: status codes and error kinds, the registry's error
messages, boundaries of the path check, which body LiteLLM's cache wins over, the Vertex count-tokens
route, recovery logging and the CLI's output. Each test pins a behaviour that a one-token change of the
hook (found by make mutants) altered without any other unit test noticing."""

import asyncio
import datetime
import hashlib
import importlib.util
import json
import logging
import os
import subprocess
import sys

import pytest

# This directory mirrors roles/litellm/files/, five levels below the collection root.
HOOK = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "..", "roles", "litellm", "files", "claude_gateway_auth.py")
MASTER = "sk-master-unit-0123456789"
ALICE = "cgw-alice-token-aaaaaaaaaaaaaaaaaaaaaaaa"
VERTEX = "/vertex_ai/v1/projects/p-1/locations/us-east5/publishers/anthropic/models/"


def sha(token):
    return hashlib.sha256(token.encode()).hexdigest()


def load(name="claude_gateway_auth_exact"):
    spec = importlib.util.spec_from_file_location(name, HOOK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def hook(tmp_path, monkeypatch):
    module = load()
    registry = tmp_path / "registry.json"
    monkeypatch.setenv("CLAUDE_GATEWAY_REGISTRY", str(registry))
    monkeypatch.setenv("LITELLM_MASTER_KEY", MASTER)
    module.registry_path = registry
    return module


def write(path, tokens):
    tmp = str(path) + ".tmp"
    with open(tmp, "w") as handle:
        json.dump({"version": 1, "tokens": tokens}, handle)
    os.replace(tmp, str(path))


def entry(token, client, models=None, **extra):
    return dict({"sha256": sha(token), "client": client, "team": "team-a", "models": models}, **extra)


class Headers(dict):
    def get(self, key, default=None):
        return super().get(key.lower(), default)


class Request:
    """A Starlette request as the hook sees it: path and query from the ASGI scope, the raw body, and
    (when LiteLLM already parsed it) the parsed body cached in the scope."""

    def __init__(self, path, raw_body=b"", parsed_body=None, method="POST"):
        route, _sep, query = path.partition("?")
        self.method = method
        self.headers = Headers()
        self._raw = raw_body
        self.scope = {"path": route, "raw_path": route.encode(), "query_string": query.encode(), "root_path": ""}
        if parsed_body is not None:
            self.scope["parsed_body"] = parsed_body

    async def body(self):
        return self._raw


def auth(hook, request, key=ALICE):
    return asyncio.run(hook.user_api_key_auth(request, key))


def denied(hook, request, key=ALICE):
    with pytest.raises(hook.ProxyException) as info:
        auth(hook, request, key)
    return info.value


def post(path, body):
    return Request(path, raw_body=json.dumps(body).encode())


# --- the error kind LiteLLM reports with each status ----------------------------------------------

def test_each_refusal_has_its_status_and_error_kind(hook):
    write(hook.registry_path, [entry(ALICE, "alice", ["claude-haiku-*"])])
    no_key = denied(hook, post("/v1/messages", {"model": "claude-haiku-4-5"}), key="")
    assert (no_key.code, no_key.type) == ("401", "auth_error")
    wrong_model = denied(hook, post("/v1/messages", {"model": "claude-opus-4-1"}))
    assert (wrong_model.code, wrong_model.type) == ("403", "permission_error")
    hook.registry_path.write_text("")
    broken = denied(hook, post("/v1/messages", {"model": "claude-haiku-4-5"}))
    assert (broken.code, broken.type) == ("503", "service_unavailable")
    assert no_key.param == wrong_model.param == broken.param == "api_key"


def test_a_body_too_large_to_check_is_403(hook):
    write(hook.registry_path, [entry(ALICE, "alice", ["claude-haiku-*"])])
    body = {"model": "claude-haiku-4-5", "metadata": [[] for _index in range(hook._MAX_BODY_NODES + 1)]}
    refusal = denied(hook, post("/v1/messages", body))
    assert (refusal.code, refusal.message) == (
        "403", "Client 'alice': the request body is too large to check its models.")


# --- registry error messages name the entry --------------------------------------------------------

@pytest.mark.parametrize("bad, message", [
    ({"sha256": "zz"}, "tokens[1]: 'sha256' must be 64 hex characters (sha256 of the token)"),
    ({"client": 5}, "tokens[1]: 'client' must be a non-empty string"),
    ({"client": ""}, "tokens[1]: 'client' must be a non-empty string"),
    ({"models": [5]}, "tokens[1] (client bob): 'models' must be a list of model names or patterns"),
    ({"team": 5}, "tokens[1] (client bob): 'team' must be a string or null"),
    ({"expires": 5}, "tokens[1] (client bob): 'expires' must be an ISO 8601 string or null"),
    ({"admin": "yes"}, "tokens[1] (client bob): 'admin' must be true or false"),
    ({"models": [""]}, "tokens[1] (client bob): 'models' must be a list of model names or patterns"),
])
def test_registry_errors_name_the_entry_by_index_and_client(hook, bad, message):
    text = json.dumps({"version": 1, "tokens": [entry(MASTER, "alice"), dict(entry(ALICE, "bob"), **bad)]})
    with pytest.raises(hook.RegistryError) as info:
        hook.parse_registry(text)
    assert str(info.value) == message


def test_registry_entry_that_is_not_an_object_is_named(hook):
    with pytest.raises(hook.RegistryError) as info:
        hook.parse_registry(json.dumps({"version": 1, "tokens": [entry(MASTER, "alice"), "bob"]}))
    assert str(info.value) == "tokens[1] must be an object"


# --- the path check's boundaries -------------------------------------------------------------------

@pytest.fixture
def haiku(hook):
    write(hook.registry_path, [entry(ALICE, "alice", ["claude-haiku-*"])])
    return hook


@pytest.mark.parametrize("char", [" ", "\t", "\x01", "\x7f"])
def test_blank_or_control_character_in_an_otherwise_allowed_path_is_refused(haiku, char):
    # The model pattern's * would match the character: only the path check stands in the way.
    path = "/bedrock/model/claude-haiku-4-5%s/invoke" % char
    assert haiku.ambiguous_path(path, path) == "blank or control character"
    refusal = denied(haiku, post(path, {"model": "claude-haiku-4-5"}))
    assert refusal.code == "403"


def test_printable_characters_from_0x21_on_are_not_control_characters(haiku):
    path = "/bedrock/model/claude-haiku-4-5!/invoke"
    assert haiku.ambiguous_path(path, path) is None
    assert auth(haiku, post(path, {"model": "claude-haiku-4-5"})).user_id == "alice"


# --- the body LiteLLM already parsed is the one checked ---------------------------------------------

def test_the_parsed_body_cached_by_litellm_wins_over_the_raw_body(haiku):
    # LiteLLM routes on its cached parse; the raw bytes must not be able to hide a forbidden model.
    body = {"model": "claude-opus-4-1", "messages": []}
    request = Request("/v1/messages", raw_body=json.dumps({"model": "claude-haiku-4-5"}).encode(),
                      parsed_body=(tuple(body), body))
    assert denied(haiku, request).code == "403"
    allowed = {"model": "claude-haiku-4-5"}
    request = Request("/v1/messages", raw_body=b"{not json", parsed_body=(tuple(allowed), allowed))
    assert auth(haiku, request).user_id == "alice"


def test_a_cache_entry_of_another_shape_is_not_used(haiku):
    body = {"model": "claude-opus-4-1"}
    request = Request("/v1/messages", raw_body=json.dumps(body).encode(),
                      parsed_body=(tuple(body), {"model": "claude-haiku-4-5"}, "extra"))
    assert denied(haiku, request).code == "403"


# --- Vertex: the path's model is skipped only for the SDK's count-tokens:rawPredict -----------------

@pytest.mark.parametrize("path_model, op", [
    ("claude-opus-4-1", "rawPredict"),      # sorts before "count-tokens"
    ("count-tokens", "countTokens"),        # the count-tokens name with another method
    ("count-tokens", "streamRawPredict"),
])
def test_vertex_path_model_is_checked_except_for_count_tokens_raw_predict(haiku, path_model, op):
    models = haiku.collect_models(VERTEX + "%s:%s" % (path_model, op), "", {"model": "claude-haiku-4-5"})
    assert models == [path_model, "claude-haiku-4-5"]
    refusal = denied(haiku, post(VERTEX + "%s:%s" % (path_model, op), {"model": "claude-haiku-4-5"}))
    assert refusal.code == "403"


def test_vertex_count_tokens_raw_predict_checks_the_body_model(haiku):
    path = VERTEX + "count-tokens:rawPredict"
    assert haiku.collect_models(path, "", {"model": "claude-haiku-4-5"}) == ["claude-haiku-4-5"]
    assert auth(haiku, post(path, {"model": "claude-haiku-4-5"})).user_id == "alice"


# --- recovery is logged as such ------------------------------------------------------------------

def test_a_repaired_registry_logs_that_it_is_usable_again(hook, caplog):
    caplog.set_level(logging.INFO, logger="claude_gateway_auth")
    write(hook.registry_path, [entry(ALICE, "alice")])
    auth(hook, post("/v1/messages", {"model": "m"}))
    first = [r for r in caplog.records if r.name == "claude_gateway_auth"]
    assert [(r.levelno, "loaded: 1 tokens" in r.getMessage()) for r in first] == [(logging.INFO, True)]
    caplog.clear()
    hook.registry_path.write_text("{")
    denied(hook, post("/v1/messages", {"model": "m"}))
    write(hook.registry_path, [entry(ALICE, "alice"), entry(MASTER, "admin", admin=True)])
    auth(hook, post("/v1/messages", {"model": "m"}))
    messages = [(r.levelno, r.getMessage()) for r in caplog.records if r.name == "claude_gateway_auth"]
    assert len(messages) == 2 and messages[0][0] == logging.WARNING and "unusable" in messages[0][1]
    assert messages[1][0] == logging.WARNING and messages[1][1].endswith("usable again: 2 tokens")


# --- loading the module never runs its command line -----------------------------------------------

@pytest.mark.parametrize("name", ["Claude_gateway_auth", "_claude_gateway_auth", "claude_gateway_auth"])
def test_importing_under_any_module_name_does_not_run_the_cli(name):
    module = load(name)  # a SystemExit here would stop LiteLLM loading the hook
    assert callable(module.user_api_key_auth)


# --- the check-registry CLI's output ---------------------------------------------------------------

def test_check_registry_prints_one_line_naming_file_and_reason(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-S", HOOK, "check-registry", str(bad)], capture_output=True,
                            text=True, env=env, timeout=60, check=False)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "%s: registry file is empty\n" % bad)


# --- where the path, query and header models come from ---------------------------------------------

def test_root_path_is_stripped_before_matching(haiku):
    request = post("/gw/v1/messages", {"model": "claude-haiku-4-5"})
    request.scope["root_path"] = "/gw"
    assert auth(haiku, request).user_id == "alice"
    request = post("/gw", {"model": "claude-haiku-4-5"})
    request.scope["root_path"] = "/gw/"
    assert haiku.request_path(request)[0] == "/"
    request = post("/gwx/v1/messages", {"model": "claude-haiku-4-5"})  # not under the root: kept whole
    request.scope["root_path"] = "/gw"
    assert haiku.request_path(request)[0] == "/gwx/v1/messages"


class _URL:
    def __init__(self, path, query):
        self.path, self.query = path, query


class _NoScopeRequest:
    method = "POST"
    headers = Headers()

    def __init__(self, path, query, body):
        self.url = _URL(path, query)
        self._raw = json.dumps(body).encode()

    async def body(self):
        return self._raw


def test_without_an_asgi_scope_the_url_query_is_checked(haiku):
    request = _NoScopeRequest("/v1/messages", "model=claude-opus-4-1", {"model": "claude-haiku-4-5"})
    assert haiku.request_path(request) == ("/v1/messages", "/v1/messages", "model=claude-opus-4-1")
    assert denied(haiku, request).code == "403"


def test_the_model_header_is_checked(haiku):
    request = post("/v1/messages", {"model": "claude-haiku-4-5"})
    request.headers = Headers({"x-litellm-model": "claude-opus-4-1"})
    assert denied(haiku, request).code == "403"
    request.headers = Headers({"x-litellm-model": "claude-haiku-4-5"})
    assert auth(haiku, request).user_id == "alice"


def test_tilde_is_an_ordinary_path_character(haiku):
    path = "/bedrock/model/claude-haiku-4-5~1/invoke"
    assert haiku.ambiguous_path(path, path) is None
    assert auth(haiku, post(path, {"model": "claude-haiku-4-5"})).user_id == "alice"


def test_key_id_is_the_prefix_and_32_hex_characters(hook):
    ident = hook.key_id(sha(ALICE))
    assert ident.startswith("cgw-") and len(ident) == 36 and int(ident[4:], 16) >= 0
    assert ident == hook.key_id(sha(ALICE)) and ident != hook.key_id(sha(MASTER))


# --- messages and log lines, word for word ---------------------------------------------------------

def test_an_unreadable_registry_names_the_reason(hook, tmp_path):
    with pytest.raises(hook.RegistryError) as info:
        hook.load_registry_file(str(tmp_path / "missing.json"))
    assert str(info.value) == "cannot read the file: No such file or directory"


def test_vertex_count_tokens_without_a_body_model_says_where_to_name_it(haiku):
    refusal = denied(haiku, post(VERTEX + "count-tokens:rawPredict", {"messages": []}))
    assert (refusal.code, refusal.message) == ("403", "Client 'alice': name the model in the request body.")


def test_the_first_warning_says_whether_admin_entries_stay(hook, caplog):
    caplog.set_level(logging.INFO, logger="claude_gateway_auth")
    hook.registry_path.write_text("{")
    denied(hook, post("/v1/messages", {"model": "m"}))
    write(hook.registry_path, [entry(ALICE, "alice")])
    auth(hook, post("/v1/messages", {"model": "m"}))
    hook.registry_path.write_text("")
    denied(hook, post("/v1/messages", {"model": "m"}))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings[0].endswith("clients are refused (503); only the master key is accepted. "
                                "Fix the file, no restart needed.")
    assert warnings[-1].endswith("clients are refused (503); the admin entries of the last good registry stay "
                                 "in force. Fix the file, no restart needed.")


def test_usage_names_the_script(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-S", HOOK, "check-registry"], capture_output=True, text=True,
                            env=env, timeout=60, check=False)
    assert (result.returncode, result.stderr) == (2, "usage: claude_gateway_auth.py check-registry <registry.json>\n")


def scoped(path, raw):
    request = post(path, {"model": "claude-haiku-4-5"})
    request.scope["raw_path"] = raw.encode()
    request.method = "GET"
    return request


def test_refusals_name_the_decoded_route_unless_it_is_ambiguous(haiku):
    # Unambiguous: the decoded path FastAPI routes on.
    refusal = denied(haiku, scoped("/key/generate", "/key/gener%61te"))
    assert "may not call /key/generate (GET)" in refusal.message
    # Ambiguous: the raw path as sent, since the decoded one is not what every reader sees.
    refusal = denied(haiku, scoped("/v1/../key/generate", "/v1/%2e%2e/key/generate"))
    assert "may not call /v1/%2e%2e/key/generate (GET)" in refusal.message


@pytest.mark.parametrize("path", ["/v1//messages", "/v1\\messages", "v1/messages"])
def test_empty_segment_backslash_or_relative_path_is_ambiguous(hook, path):
    assert hook.ambiguous_path(path, path) == "empty segment or backslash"


def test_reloading_the_module_keeps_other_audit_handlers(hook):
    logger = logging.getLogger("claude_gateway_auth.audit")
    foreign = logging.NullHandler()
    logger.addHandler(foreign)
    try:
        load()
        assert foreign in logger.handlers
        assert len([h for h in logger.handlers if getattr(h, "_claude_gateway_audit", False)]) == 1
    finally:
        logger.removeHandler(foreign)


def test_audit_values_are_cut_after_300_characters(hook):
    assert hook._audit_value("a" * 300) == "a" * 300
    assert hook._audit_value("a" * 301) == "a" * 300 + "..."
    assert hook._audit_value("") == hook._audit_value(None) == "-"


def test_body_node_limit_is_exact(haiku):
    # The body object, its "metadata" list and N empty lists: N + 2 nodes; at most 20000 are read.
    limit = 20000
    fits = {"model": "claude-haiku-4-5", "metadata": [[] for _index in range(limit - 2)]}
    assert auth(haiku, post("/v1/messages", fits)).user_id == "alice"
    too_many = {"model": "claude-haiku-4-5", "metadata": [[] for _index in range(limit - 1)]}
    assert denied(haiku, post("/v1/messages", too_many)).code == "403"


def test_expiry_offsets_are_kept_and_a_bare_timestamp_is_utc(hook):
    entries = hook.parse_registry(json.dumps({"version": 1, "tokens": [
        entry(ALICE, "alice", expires="2027-01-01T00:00:00+02:00"),
        entry(MASTER, "bob", expires="2027-01-01T00:00:00"),
        entry(ALICE, "carol", expires="2027-01-01T00:00:00z")]}))
    assert [e["expires"].utcoffset().total_seconds() for e in entries] == [7200, 0, 0]
    assert entries[0]["expires"].hour == 0 and entries[0]["expires_text"] == "2027-01-01T00:00:00+02:00"


def test_encoded_slash_in_the_raw_path_is_refused(haiku):
    request = post("/v1/messages", {"model": "claude-haiku-4-5"})
    request.scope["raw_path"] = b"/v1%2Fmessages"
    assert haiku.request_path(request)[1] == "/v1%2Fmessages"
    assert denied(haiku, request).code == "403"
    request.scope["raw_path"] = None  # no raw path: the decoded one stands for it
    assert haiku.request_path(request)[1] == "/v1/messages"


@pytest.mark.parametrize("fragment", ["agents", "knowledgebases", "flows", "rerank"])
def test_bedrock_agent_paths_are_refused_even_for_every_model(hook, fragment):
    write(hook.registry_path, [entry(ALICE, "alice")])  # no model restriction
    path = "/bedrock/model/%s/invoke" % fragment
    assert hook.match_client_route("POST", path) is None
    assert denied(hook, post(path, {"model": "claude-haiku-4-5"})).code == "403"


def test_agent_words_outside_bedrock_routes_do_not_matter(hook):
    write(hook.registry_path, [entry(ALICE, "alice")])
    path = "/vertex_ai/v1/projects/flows/locations/rerank/publishers/anthropic/models/claude-haiku-4-5:rawPredict"
    assert hook.match_client_route("POST", path)[0] == "vertex"
    assert auth(hook, post(path, {"model": "claude-haiku-4-5"})).user_id == "alice"


@pytest.mark.parametrize("value, names", [
    (5, ["5"]), (1.5, ["1.5"]), (True, []), (False, []), (None, []), ({"model": 7}, ["7"]),
])
def test_numbers_name_models_but_booleans_and_null_do_not(hook, value, names):
    assert hook.collect_models("/v1/messages", "", {"model": value}) == names


def test_a_registry_that_is_not_utf8_is_unreadable(hook, tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes(b'{"version": 1, "x": "\xff"}')
    with pytest.raises(hook.RegistryError) as info:
        hook.load_registry_file(str(path))
    assert str(info.value).startswith("cannot read the file: 'utf-8' codec can't decode byte 0xff")


def test_a_token_is_expired_from_the_second_its_expiry_names(hook, monkeypatch):
    moment = datetime.datetime(2027, 1, 1, tzinfo=datetime.timezone.utc)

    class Clock(datetime.datetime):
        @classmethod
        def now(cls, tz=None):
            return moment

    monkeypatch.setattr(hook, "datetime", type("datetime", (), {"datetime": Clock, "timezone": datetime.timezone}))
    write(hook.registry_path, [entry(ALICE, "alice", expires="2027-01-01T00:00:01Z")])
    assert auth(hook, post("/v1/messages", {"model": "m"})).user_id == "alice"
    write(hook.registry_path, [entry(ALICE, "alice", expires="2027-01-01T00:00:00Z")])
    refusal = denied(hook, post("/v1/messages", {"model": "m"}))
    assert refusal.code == "401" and "expired at 2027-01-01T00:00:00Z" in refusal.message


def test_a_query_string_given_as_text_is_checked(haiku):
    request = post("/v1/messages", {"model": "claude-haiku-4-5"})
    request.scope["query_string"] = "model=claude-opus-4-1"
    assert haiku.request_path(request)[2] == "model=claude-opus-4-1"
    assert denied(haiku, request).code == "403"


@pytest.mark.parametrize("path", ["/v1/./messages", "/v1/../messages", "/v1/messages/.", "/v1/messages/.."])
def test_dot_segments_alone_are_ambiguous(hook, path):
    assert hook.ambiguous_path(path, path) == "'.' or '..' segment"


@pytest.mark.parametrize("raw", [b"{not json", b"\xff\xfe{", b""])
def test_a_body_that_is_not_json_reads_as_no_body(hook, raw):
    assert asyncio.run(hook.request_body(Request("/v1/messages", raw_body=raw))) is None

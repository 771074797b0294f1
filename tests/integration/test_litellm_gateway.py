# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A real LiteLLM proxy with the per-client token hook, routing to faithful fake Bedrock, Vertex and
Anthropic upstreams that check the gateway's credentials (SigV4, service-account JWT, x-api-key).

LiteLLM is started once for the module. It comes from $LITELLM_BIN or .cache/litellm-venv
(python3 -m venv .cache/litellm-venv && .cache/litellm-venv/bin/pip install
'litellm[proxy]==1.108.7' google-auth prisma).
"""

import hashlib
import json
import os
import secrets
import time

import pytest

import litellm_harness as harness

MODELS = {  # gateway model name -> (fake log, marker the fake puts in its answer)
    "bedrock-sonnet": ("bedrock", "fake-bedrock:%s:sigv4-ok" % harness.BEDROCK_MODEL),
    "vertex-sonnet": ("vertex", "fake-vertex:%s:token-ok" % harness.VERTEX_MODEL),
    # What Claude Code asks for by default: resolved by the claude-* catch-all.
    "claude-opus-4-8": ("bedrock", "fake-bedrock:%s:sigv4-ok" % harness.BEDROCK_CATCHALL_MODEL),
}
# A deployment whose AWS secret is wrong: the fake must refuse LiteLLM's signature.
WRONG_SECRET_MODEL = """\
  - model_name: bedrock-wrong-secret
    litellm_params:
      model: bedrock/anthropic.claude-3-haiku-20240307-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/AWS_ACCESS_KEY_ID
      aws_secret_access_key: os.environ/WRONG_AWS_SECRET_ACCESS_KEY
      aws_bedrock_runtime_endpoint: {bedrock_url}
      max_retries: 0
  - model_name: claude-opus-4-1
    litellm_params:
      model: bedrock/anthropic.claude-opus-4-1-20250805-v1:0
      aws_region_name: us-east-1
      aws_access_key_id: os.environ/AWS_ACCESS_KEY_ID
      aws_secret_access_key: os.environ/AWS_SECRET_ACCESS_KEY
      aws_bedrock_runtime_endpoint: {bedrock_url}
  - model_name: anthropic-wrong-key
    litellm_params:
      model: anthropic/claude-3-5-haiku-20241022
      api_key: os.environ/WRONG_ANTHROPIC_API_KEY
      api_base: {anthropic_url}
      max_retries: 0
"""


def token(client):
    return "cgw-%s-%s" % (client, secrets.token_urlsafe(24))


T = {name: token(name) for name in ("alice", "alice_next", "bob", "carol", "dave", "hana")}
MASTER = "sk-" + secrets.token_urlsafe(24)
AWS_KEY, AWS_SECRET = "AKIA" + secrets.token_hex(8).upper(), secrets.token_urlsafe(30)
WRONG_SECRET = secrets.token_urlsafe(30)
ANTHROPIC_KEY, WRONG_ANTHROPIC_KEY = "sk-ant-api03-" + secrets.token_urlsafe(30), "sk-ant-api03-" + secrets.token_urlsafe(30)
TIMINGS = {}
# GATEWAY_TEST_LITELLM_LOG=DEBUG runs LiteLLM at DEBUG: a stricter "no secret in the output" check
# (passes with 1.108.7); the default keeps production logging so the timings mean something.
LOG_ENV = {"LITELLM_LOG": os.environ["GATEWAY_TEST_LITELLM_LOG"]} if os.environ.get("GATEWAY_TEST_LITELLM_LOG") else {}


def reg(name, client, models=None, expires=None):
    return {"sha256": hashlib.sha256(T[name].encode()).hexdigest(), "client": client,
            "team": "team-" + client, "models": models, "expires": expires}


BASE_REGISTRY = [
    reg("alice", "alice", ["claude-*", "bedrock-*", "vertex-*", "anthropic-*"]),
    reg("bob", "bob", ["bedrock-sonnet"]),
    reg("carol", "carol", [], "2020-01-01T00:00:00Z"),
    reg("dave", "dave"),
    reg("hana", "hana", ["claude-haiku-*"]),  # model-limited: the attacks below want Opus
]


@pytest.fixture(scope="module")
def gw(tmp_path_factory, request, require_dependency):
    litellm_bin = harness.find_litellm()
    if litellm_bin is None:
        if os.environ.get("LITELLM_BIN"):
            pytest.fail("LiteLLM not found at LITELLM_BIN=%s: run `make litellm-venv`" % os.environ.get("LITELLM_BIN"))
        require_dependency("LiteLLM (LITELLM_BIN or .cache/litellm-venv)", "run `make litellm-venv` (see module docstring)")
    gateway = harness.Gateway(str(tmp_path_factory.mktemp("gateway")), litellm_bin, MASTER, AWS_KEY,
                              AWS_SECRET, BASE_REGISTRY, extra_models=WRONG_SECRET_MODEL,
                              extra_env=dict(LOG_ENV, WRONG_AWS_SECRET_ACCESS_KEY=WRONG_SECRET,
                                             WRONG_ANTHROPIC_API_KEY=WRONG_ANTHROPIC_KEY),
                              anthropic_key=ANTHROPIC_KEY)
    try:
        gateway.start()
        TIMINGS["litellm start to /health/liveliness 200 (s)"] = round(gateway.start_seconds, 2)
        yield gateway
    finally:
        gateway.stop()
        report_timings(request.config)


def report_timings(config):
    """Print the measurements even under output capture (they are the point of the run)."""
    lines = ["litellm gateway timing: %s = %s" % item for item in TIMINGS.items()]
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            print("\n" + "\n".join(lines))
    else:
        print("\n".join(lines))


def messages(gw, key, model, stream=False, header="bearer"):
    headers = {"anthropic-version": "2023-06-01"}
    if key is not None:
        headers.update({"Authorization": "Bearer " + key} if header == "bearer" else {"x-api-key": key})
    body = {"model": model, "max_tokens": 64, "stream": stream,
            "messages": [{"role": "user", "content": "ping from test"}]}
    started = time.monotonic()
    status, _ignored, raw = harness.http("POST", gw.url + "/v1/messages", body, headers)
    return status, raw, time.monotonic() - started


def sse_text(raw):
    """Join the text deltas of an Anthropic SSE stream; return (text, event types)."""
    text, types = "", []
    for line in raw.decode().splitlines():
        if line.startswith("data:"):
            event = json.loads(line[5:].strip())
            types.append(event["type"])
            if event["type"] == "content_block_delta":
                text += event["delta"].get("text", "")
    return text, types


def error_message(raw):
    return json.loads(raw)["error"]["message"]


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_registry_token_reaches_each_upstream(gw, model, stream):
    log_name, marker = MODELS[model]
    log_path = gw.bedrock_log if log_name == "bedrock" else gw.vertex_log
    seen = len(gw.read_log(log_path))
    status, raw, seconds = messages(gw, T["alice"], model, stream)
    assert status == 200, raw[:500]
    if stream:
        text, types = sse_text(raw)
        assert types[0] == "message_start" and types[-1] == "message_stop", types
        assert types.count("content_block_delta") >= 2  # the fake splits the answer in two
    else:
        text = "".join(part["text"] for part in json.loads(raw)["content"])
    assert text.startswith(marker + " reply-to:ping from test"), text
    new = [r for r in gw.read_log(log_path)[seen:] if r.get("kind", "predict") == "predict"]
    assert len(new) == 1 and new[0]["status"] == 200 and new[0]["stream"] is stream, new
    if log_name == "bedrock":
        assert new[0]["signature_valid"] is True and new[0]["access_key_id"] == AWS_KEY
    else:
        assert new[0]["token_valid"] is True
    TIMINGS.setdefault("%s round trip (s)" % ("stream" if stream else "plain"), []).append(
        "%s=%.3f" % (model, seconds))


def test_warm_round_trip_times(gw):
    """Median of 5 warm requests per model and mode (the first request above pays imports)."""
    for stream in (False, True):
        for model in sorted(MODELS):
            samples = []
            for _ignored in range(5):
                status, _ignored, seconds = messages(gw, T["alice"], model, stream)
                assert status == 200
                samples.append(seconds)
            TIMINGS.setdefault("warm median %s (s)" % ("stream" if stream else "plain"), []).append(
                "%s=%.3f" % (model, sorted(samples)[2]))


def test_vertex_token_was_minted_from_the_service_account_jwt(gw):
    minted = [r for r in gw.read_log(gw.vertex_log) if r.get("kind") == "token"]
    assert minted and all(r["jwt_valid"] for r in minted), minted
    assert minted[0]["iss"] == "gateway@%s.iam.gserviceaccount.com" % harness.VERTEX_PROJECT


def test_fakes_refuse_bad_cloud_credentials(gw):
    # Unsigned call straight to the fake Bedrock, bearer-less call to the fake Vertex.
    status, _ignored, raw = harness.http("POST", "http://127.0.0.1:%d/model/%s/invoke" % (
        gw.bedrock_port, harness.BEDROCK_MODEL), {"anthropic_version": "bedrock-2023-05-31"})
    assert status == 403 and b"Missing Authentication Token" in raw
    status, _ignored, _ignored = harness.http("POST", "http://127.0.0.1:%d/v1/projects/p/locations/l/publishers/"
                                              "anthropic/models/m:rawPredict" % gw.vertex_port, {},
                                              {"Authorization": "Bearer ya29.not-minted"})
    assert status == 401
    # Through LiteLLM with a wrong AWS secret: the fake's SigV4 check refuses it.
    seen = len(gw.read_log(gw.bedrock_log))
    status, raw, _ignored = messages(gw, MASTER, "bedrock-wrong-secret")
    assert status >= 400, raw[:300]
    new = gw.read_log(gw.bedrock_log)[seen:]
    assert new and all(r["signature_valid"] is False and r["error"] == "InvalidSignatureException"
                       for r in new), new


def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


ANTHROPIC_MARKER = "fake-anthropic:%s:key-ok" % harness.ANTHROPIC_MODEL


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_deployment_sends_the_gateway_key_not_the_client_token(gw, stream, header):
    # provider: anthropic: the client's token opens the gateway; the upstream sees only the gateway's key.
    seen = len(gw.read_log(gw.anthropic_log))
    status, raw, _ignored = messages(gw, T["alice"], "anthropic-sonnet", stream, header=header)
    assert status == 200, raw[:500]
    if stream:
        text, types = sse_text(raw)
        assert types[0] == "message_start" and types[-1] == "message_stop", types
    else:
        text = "".join(part["text"] for part in json.loads(raw)["content"])
    assert text.startswith(ANTHROPIC_MARKER + " reply-to:ping from test"), text
    new = gw.read_log(gw.anthropic_log)[seen:]
    assert len(new) == 1 and new[0]["status"] == 200 and new[0]["stream"] is stream, new
    assert new[0]["key_valid"] is True and new[0]["path"].startswith("/v1/messages")
    sent = new[0]["header_sha256"]
    assert sent["x-api-key"] == sha(ANTHROPIC_KEY)
    client = {sha(T["alice"]), sha("Bearer " + T["alice"])}
    assert not client & set(sent.values()), "the client's token reached the Anthropic upstream"


def count_tokens(gw, model, upstream_log):
    """Alice's count_tokens request for ``model``: it must answer a count; returns what the upstream logged."""
    seen = len(gw.read_log(upstream_log))
    status, _ignored, raw = harness.http("POST", gw.url + "/v1/messages/count_tokens?beta=true", {
        "model": model, "messages": [{"role": "user", "content": "count me"}]},
        {"Authorization": "Bearer " + T["alice"], "anthropic-version": "2023-06-01"})
    assert status == 200, raw[:300]
    assert json.loads(raw)["input_tokens"] > 0
    return gw.read_log(upstream_log)[seen:]


def test_anthropic_count_tokens(gw):
    new = count_tokens(gw, "anthropic-sonnet", gw.anthropic_log)
    assert new and new[-1]["kind"] == "count-tokens" and new[-1]["key_valid"] is True, new


def test_wrong_gateway_anthropic_key_is_refused_by_the_upstream(gw):
    seen = len(gw.read_log(gw.anthropic_log))
    status, raw, _ignored = messages(gw, T["alice"], "anthropic-wrong-key")
    # The gateway let the client in (its audit line says allowed) and relays the upstream's refusal.
    assert status == 401 and "invalid x-api-key" in error_message(raw), raw[:300]
    assert ("claude_gateway_audit result=allowed status=200 client=alice team=team-alice method=POST "
            "route=/v1/messages model=anthropic-wrong-key reason=ok") in audit_lines(gw)
    new = gw.read_log(gw.anthropic_log)[seen:]
    assert new and all(r["key_valid"] is False and r["status"] == 401 and
                       r["header_sha256"].get("x-api-key") == sha(WRONG_ANTHROPIC_KEY) for r in new), new
    # The fake itself: no key, or the client's token, is refused too.
    url = "http://127.0.0.1:%d/v1/messages" % gw.anthropic_port
    body = {"model": harness.ANTHROPIC_MODEL, "max_tokens": 8, "messages": [{"role": "user", "content": "x"}]}
    for headers in ({}, {"x-api-key": T["alice"]}, {"Authorization": "Bearer " + ANTHROPIC_KEY}):
        status, _ignored, raw = harness.http("POST", url, body, dict(headers, **{"anthropic-version": "2023-06-01"}))
        assert status == 401 and json.loads(raw)["error"]["type"] == "authentication_error", headers


def test_x_api_key_header_works(gw):
    status, raw, _ignored = messages(gw, T["alice"], "bedrock-sonnet", header="x-api-key")
    assert status == 200, raw[:300]


def test_openai_chat_completions_route_is_for_admins_only(gw):
    # Not a Claude Code route: client tokens get 403 (route allowlist), the master key still works.
    body = {"model": "bedrock-sonnet", "messages": [{"role": "user", "content": "hi"}]}
    status, _ignored, raw = harness.http("POST", gw.url + "/v1/chat/completions", body,
                                         {"Authorization": "Bearer " + T["alice"]})
    assert status == 403, raw[:300]
    status, _ignored, raw = harness.http("POST", gw.url + "/v1/chat/completions", body,
                                         {"Authorization": "Bearer " + MASTER})
    assert status == 200, raw[:300]
    assert json.loads(raw)["choices"][0]["message"]["content"].startswith(MODELS["bedrock-sonnet"][1])


def test_count_tokens_reaches_bedrock(gw):
    # Claude Code calls this in interactive use; the claude-* route asks Bedrock's CountTokens.
    new = [r for r in count_tokens(gw, "claude-opus-4-8", gw.bedrock_log) if "/count-tokens" in r["path"]]
    assert new and new[-1]["status"] == 200 and new[-1]["signature_valid"] is True, new


def test_bedrock_pass_through_route(gw):
    # Claude Code's Bedrock mode (ANTHROPIC_BEDROCK_BASE_URL=<gateway>/bedrock) names a gateway model.
    body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 20,
            "messages": [{"role": "user", "content": "via pass-through"}]}
    auth = {"Authorization": "Bearer " + T["alice"]}
    status, _ignored, raw = harness.http("POST", gw.url + "/bedrock/model/bedrock-sonnet/invoke", body, auth)
    assert status == 200, raw[:300]
    assert json.loads(raw)["content"][0]["text"].startswith(MODELS["bedrock-sonnet"][1])
    status, _ignored, raw = harness.http("POST", gw.url + "/bedrock/model/bedrock-sonnet/invoke", body,
                                         {"Authorization": "Bearer " + T["bob"] + "x"})
    assert status == 401
    # The model id in the path is checked against the client's patterns too.
    status, _ignored, raw = harness.http("POST", gw.url + "/bedrock/model/claude-opus-4-8/invoke", body,
                                         {"Authorization": "Bearer " + T["bob"]})
    assert status == 403 and "claude-opus-4-8" in error_message(raw)


def test_models_list_needs_a_valid_token(gw):
    status, _ignored, raw = harness.http("GET", gw.url + "/v1/models", None, {"Authorization": "Bearer " + T["bob"]})
    assert status == 200 and "bedrock-sonnet" in {m["id"] for m in json.loads(raw)["data"]}
    status, _ignored, _ignored = harness.http("GET", gw.url + "/v1/models")
    assert status == 401


def test_no_key_is_401(gw):
    status, raw, _ignored = messages(gw, None, "bedrock-sonnet")
    assert status == 401, raw[:300]


def test_wrong_key_is_401(gw):
    status, raw, _ignored = messages(gw, "cgw-nobody-" + secrets.token_urlsafe(24), "bedrock-sonnet")
    assert status == 401 and "unknown or was revoked" in error_message(raw)


def test_model_not_allowed_is_403(gw):
    status, raw, _ignored = messages(gw, T["bob"], "vertex-sonnet")
    assert status == 403, raw[:300]
    message = error_message(raw)
    assert "vertex-sonnet" in message and "bob" in message and T["bob"] not in message
    assert messages(gw, T["bob"], "bedrock-sonnet")[0] == 200


def test_expired_token_is_401(gw):
    status, raw, _ignored = messages(gw, T["carol"], "bedrock-sonnet")
    assert status == 401 and "expired" in error_message(raw)


def test_admin_routes_refused_for_client_tokens(gw):
    status, _ignored, raw = harness.http("POST", gw.url + "/key/generate", {}, {"Authorization": "Bearer " + T["alice"]})
    assert status == 403, raw[:300]


OPUS = "claude-opus-4-1"
OPUS_ID = "anthropic.claude-opus-4-1-20250805-v1:0"


def upstream_counts(gw):
    return len(gw.read_log(gw.bedrock_log)), len(gw.read_log(gw.vertex_log)), len(gw.read_log(gw.anthropic_log))


def audit_lines(gw):
    time.sleep(0.3)  # stderr is flushed per record; leave LiteLLM a moment to write it
    return [line for line in gw.output().splitlines() if line.startswith("claude_gateway_audit ")]


def chat_body(model):
    return {"model": model, "max_tokens": 16, "messages": [{"role": "user", "content": "give me opus"}]}


# Each (method, path, body) was sent with the haiku-only token to the hook that checked only the body's
# model: the ones marked "old: reached" got Opus (or a provider API) with the gateway's credentials.
MODEL_ATTACKS = [
    ("POST", "/engines/%s/chat/completions" % OPUS, chat_body("claude-haiku-4-5")),  # old: reached Opus
    ("POST", "/openai/deployments/%s/chat/completions" % OPUS, chat_body("claude-haiku-4-5")),  # old: reached Opus
    ("POST", "/v1/messages", chat_body(OPUS)),
    ("POST", "/v1/messages?model=%s" % OPUS, chat_body(OPUS)),
    ("POST", "/v1/messages", dict(chat_body("claude-haiku-4-5"), fallbacks=[OPUS])),
    ("POST", "/bedrock/model/%s/invoke" % OPUS,
     {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 16, "messages": [{"role": "user", "content": "opus"}]}),
]


@pytest.mark.parametrize("method, path, body", MODEL_ATTACKS, ids=[a[1].split("?")[0] for a in MODEL_ATTACKS])
def test_model_limited_token_gets_no_other_model(gw, method, path, body):
    before = upstream_counts(gw)
    status, _ignored, raw = harness.http(method, gw.url + path, body, {"Authorization": "Bearer " + T["hana"]},
                                         timeout=30)
    assert status == 403, (status, raw[:300])
    assert OPUS in error_message(raw)
    assert upstream_counts(gw) == before, "the request reached a fake upstream"
    line = ("claude_gateway_audit result=denied status=403 client=hana team=team-hana method=POST route=%s "
            "model=%s reason=model_not_allowed" % (path.split("?")[0], OPUS))
    assert line in audit_lines(gw)


def test_model_limited_token_gets_its_model(gw):
    seen = len(gw.read_log(gw.bedrock_log))
    status, raw, _ignored = messages(gw, T["hana"], "claude-haiku-4-5")
    assert status == 200, raw[:300]
    new = gw.read_log(gw.bedrock_log)[seen:]
    assert len(new) == 1 and new[0]["model"] == harness.BEDROCK_CATCHALL_MODEL and new[0]["status"] == 200
    assert ("claude_gateway_audit result=allowed status=200 client=hana team=team-hana method=POST "
            "route=/v1/messages model=claude-haiku-4-5 reason=ok") in audit_lines(gw)


ROUTE_ATTACKS = [  # client token with every Claude model allowed; all passed the old hook's route check
    ("GET", "/v1/files", None),
    ("POST", "/v1/files", {"purpose": "batch"}),
    ("GET", "/v1/files/file-abc123/content", None),
    ("GET", "/v1/batches", None),
    ("POST", "/v1/batches", {"input_file_id": "file-abc123", "endpoint": "/v1/messages",
                             "completion_window": "24h"}),
    ("GET", "/fine_tuning/jobs", None),
    ("POST", "/v1/messages/batches", {"requests": [{"custom_id": "1", "params": chat_body("claude-haiku-4-5")}]}),
    ("POST", "/v1/chat/completions", chat_body("claude-haiku-4-5")),
    ("POST", "/anthropic/v1/messages", chat_body("claude-haiku-4-5")),
    ("POST", "/bedrock/knowledgebases/kb-1/retrieve", {"retrievalQuery": {"text": "secrets"}}),
    ("POST", "/bedrock/agents/ag-1/agentAliases/al-1/sessions/s-1/text", {"inputText": "hi"}),
    ("POST", "/vertex_ai/v1/projects/%s/locations/%s/publishers/google/models/gemini-2.0-flash:generateContent"
     % (harness.VERTEX_PROJECT, harness.VERTEX_LOCATION), {"contents": []}),
    ("POST", "/key/generate", {}),
    ("POST", "/v1/../key/generate", {}),
    ("POST", "/bedrock/model/claude-haiku-4-5%2F..%2F..%2Fknowledgebases%2Fkb-1%2Fretrieve/invoke", {}),
]


# LiteLLM 1.108.7 has no handler for these: FastAPI answers 404 before any auth (the hook still refuses them).
NO_LITELLM_ROUTE = ("/v1/messages/batches", "/v1/../key/generate")


@pytest.mark.parametrize("method, path, body", ROUTE_ATTACKS, ids=[a[0] + a[1] for a in ROUTE_ATTACKS])
def test_client_token_reaches_only_allowlisted_routes(gw, method, path, body):
    before = upstream_counts(gw)
    status, _ignored, raw = harness.http(method, gw.url + path, body, {"Authorization": "Bearer " + T["hana"]},
                                         timeout=30)
    assert upstream_counts(gw) == before
    if path in NO_LITELLM_ROUTE:
        assert status == 404, (status, raw[:300])
        return
    assert status == 403, (status, raw[:300])
    assert any(" client=hana " in line and " method=%s " % method in line and
               line.endswith((" reason=route_not_allowed", " reason=model_not_allowed"))
               for line in audit_lines(gw))


def test_route_is_taken_from_the_request_line_not_the_host_header(gw):
    # Starlette rebuilds request.url from the Host header; FastAPI dispatches on the request line.
    host = "127.0.0.1:%d/v1/messages?" % gw.port
    status, _ignored, raw = harness.http("POST", gw.url + "/key/generate", {}, {
        "Authorization": "Bearer " + T["hana"], "Host": host}, timeout=30)
    assert status == 403, (status, raw[:300])


def test_vertex_pass_through_path_with_model(gw):
    # Claude Code's Vertex mode: <gw>/vertex_ai/v1/projects/{p}/locations/{l}/publishers/anthropic/models/{m}:...
    path = "/vertex_ai/v1/projects/%s/locations/%s/publishers/anthropic/models/%s:rawPredict" % (
        harness.VERTEX_PROJECT, harness.VERTEX_LOCATION, OPUS)
    before = upstream_counts(gw)
    status, _ignored, raw = harness.http("POST", gw.url + path, {"anthropic_version": "vertex-2023-10-16",
                                                                 "max_tokens": 8, "messages": []},
                                         {"Authorization": "Bearer " + T["hana"]}, timeout=30)
    assert status == 403 and OPUS in error_message(raw)
    assert upstream_counts(gw) == before


def test_master_key_works(gw):
    status, raw, _ignored = messages(gw, MASTER, "vertex-sonnet")
    assert status == 200, raw[:300]
    status, _ignored, _ignored = harness.http("GET", gw.url + "/v1/models", None, {"Authorization": "Bearer " + MASTER})
    assert status == 200


def test_revoke_without_restart(gw):
    pid = gw.litellm.pid
    assert messages(gw, T["dave"], "bedrock-sonnet")[0] == 200
    harness.write_registry(gw.registry, [e for e in BASE_REGISTRY if e["client"] != "dave"])
    status, raw, _ignored = messages(gw, T["dave"], "bedrock-sonnet")
    assert status == 401, raw[:300]
    assert gw.litellm.pid == pid and gw.litellm.poll() is None


def test_rotation_with_two_hashes(gw):
    both = [e for e in BASE_REGISTRY if e["client"] != "dave"] + [
        reg("alice_next", "alice", ["claude-*", "bedrock-*", "vertex-*"])]
    harness.write_registry(gw.registry, both)
    assert messages(gw, T["alice"], "bedrock-sonnet")[0] == 200
    assert messages(gw, T["alice_next"], "bedrock-sonnet")[0] == 200
    harness.write_registry(gw.registry, [e for e in both if e["sha256"] != BASE_REGISTRY[0]["sha256"]])
    assert messages(gw, T["alice"], "bedrock-sonnet")[0] == 401
    assert messages(gw, T["alice_next"], "bedrock-sonnet")[0] == 200


def test_master_key_rotation_in_the_registry_without_restart(gw):
    """Admin keys as registry entries: LiteLLM keeps its boot master key, the hook owns admin auth."""
    pid = gw.litellm.pid
    admin_old, admin_new = "sk-" + secrets.token_urlsafe(24), "sk-" + secrets.token_urlsafe(24)

    def admin(key):
        return {"sha256": hashlib.sha256(key.encode()).hexdigest(), "client": "gateway-admin", "admin": True}

    def models(key):
        return harness.http("GET", gw.url + "/v1/models", None, {"Authorization": "Bearer " + key})[0]

    clients = [reg("alice_next", "alice", ["claude-*", "bedrock-*", "vertex-*"]), reg("bob", "bob", ["bedrock-sonnet"])]
    harness.write_registry(gw.registry, clients + [admin(admin_old)])
    assert models(admin_old) == 200
    assert models(MASTER) == 401  # the environment's master key no longer opens the gateway
    harness.write_registry(gw.registry, clients + [admin(admin_old), admin(admin_new)])
    assert models(admin_old) == 200 and models(admin_new) == 200
    harness.write_registry(gw.registry, clients + [admin(admin_new)])
    assert models(admin_old) == 401 and models(admin_new) == 200
    assert messages(gw, T["alice_next"], "bedrock-sonnet")[0] == 200
    assert messages(gw, admin_new, "vertex-sonnet")[0] == 200
    assert gw.litellm.pid == pid and gw.litellm.poll() is None
    # Back to the state the next tests expect (no admin entries: the environment's key is admin again).
    harness.write_registry(gw.registry, clients)
    assert models(MASTER) == 200


def test_broken_registry_fails_closed_then_recovers_without_restart(gw):
    pid = gw.litellm.pid
    good = [reg("alice_next", "alice", ["claude-*", "bedrock-*", "vertex-*"]), reg("bob", "bob", ["bedrock-sonnet"])]
    harness.write_registry(gw.registry, good)
    assert messages(gw, T["bob"], "bedrock-sonnet")[0] == 200

    def models(key):
        return harness.http("GET", gw.url + "/v1/models", None, {"Authorization": "Bearer " + key})

    for breakage in ("truncated", "empty", "deleted"):
        if breakage == "deleted":
            os.unlink(gw.registry)
        else:
            with open(gw.registry, "w") as handle:
                handle.write('{"version": 1, "tokens": [' if breakage == "truncated" else "")
        before = upstream_counts(gw)
        # Old hook: the last good registry stayed in force, so bob (and any revoked token) still got 200.
        status, raw, _ignored = messages(gw, T["bob"], "bedrock-sonnet")
        assert status == 503, (breakage, status, raw[:300])
        assert "gateway token registry unusable" in error_message(raw) and gw.registry in error_message(raw)
        assert upstream_counts(gw) == before
        assert models(MASTER)[0] == 200, breakage  # the operator still gets in
        assert ("unusable" in gw.output())
    harness.write_registry(gw.registry, good)
    assert messages(gw, T["bob"], "bedrock-sonnet")[0] == 200
    assert gw.litellm.pid == pid and gw.litellm.poll() is None
    lines = audit_lines(gw)
    assert any(line.startswith("claude_gateway_audit result=denied status=503 client=bob team=team-bob method=POST "
                               "route=/v1/messages model=bedrock-sonnet reason=registry_unusable") for line in lines)


def test_no_secret_in_litellm_output(gw):
    time.sleep(0.5)  # let the last log lines flush
    output = gw.output()
    # The capture works: LiteLLM logged the hook's refusal of the admin route (client name, no token)
    # and, at DEBUG, the requests it forwarded.
    assert "Client 'alice' may not call /key/generate" in output
    if LOG_ENV.get("LITELLM_LOG") == "DEBUG":
        assert "DEBUG" in output and "bedrock-sonnet" in output
    for name, value in list(T.items()) + [("master", MASTER), ("aws secret", AWS_SECRET),
                                          ("wrong aws secret", WRONG_SECRET), ("anthropic key", ANTHROPIC_KEY),
                                          ("wrong anthropic key", WRONG_ANTHROPIC_KEY)]:
        assert value not in output, "%s leaked into LiteLLM output" % name
    audit = [line for line in output.splitlines() if line.startswith("claude_gateway_audit ")]
    assert len(audit) > 20
    for name, value in list(T.items()) + [("master", MASTER)]:
        digest = hashlib.sha256(value.encode()).hexdigest()
        assert not any(digest[i:i + 12] in line for line in output.splitlines() for i in range(0, 53)), \
            "part of the hash of %s in LiteLLM output" % name

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fakes must be faithful: a botocore-signed request passes the fake Bedrock's SigV4
check and any tampering fails; the fake Vertex verifies RS256 JWTs like Google does; the fake
Anthropic answers only its own x-api-key."""

import base64
import binascii
import datetime
import json
import os
import struct
import sys
import time

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fakes"))
import fake_anthropic  # noqa: E402
import fake_bedrock  # noqa: E402
import fakecommon  # noqa: E402
import fake_vertex  # noqa: E402

botocore = pytest.importorskip("botocore")
from botocore.auth import SigV4Auth  # noqa: E402
from botocore.awsrequest import AWSRequest  # noqa: E402
from botocore.credentials import Credentials  # noqa: E402

AK, SK, REGION = "AKIAUNITTEST0000", "unit/secret+key", "eu-west-1"
MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
BODY = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 5,
                   "messages": [{"role": "user", "content": "hi"}]}).encode()


def signed(path="/model/%s/invoke" % MODEL, body=BODY, key=AK, secret=SK, region=REGION,
           service="bedrock", query=""):
    url = "http://127.0.0.1:9/" + path.lstrip("/") + ("?" + query if query else "")
    req = AWSRequest(method="POST", url=url, data=body,
                     headers={"Content-Type": "application/json", "Accept": "application/json"})
    SigV4Auth(Credentials(key, secret), service, region).add_auth(req)
    target = path + ("?" + query if query else "")
    headers = list(req.headers.items()) + [("Host", "127.0.0.1:9")]
    return target, headers, body


def verify(target, headers, body, now=None):
    return fake_bedrock.verify_sigv4("POST", target, headers, body, AK, SK, REGION, now=now)


def test_botocore_signature_passes():
    assert verify(*signed()) == AK


def test_encoded_path_and_query_pass():
    # LiteLLM's Converse path carries the model id with ':' percent-encoded.
    assert verify(*signed(path="/model/%s/converse" % MODEL.replace(":", "%3A"),
                          query="b=2&a=1%202")) == AK


@pytest.mark.parametrize("tamper, error", [
    ("body", "InvalidSignatureException"),
    ("path", "InvalidSignatureException"),
    ("header", "InvalidSignatureException"),
    ("secret", "InvalidSignatureException"),
    ("key", "UnrecognizedClientException"),
    ("region", "InvalidSignatureException"),
    ("service", "InvalidSignatureException"),
    ("noauth", "MissingAuthenticationTokenException"),
])
def test_tampered_request_fails(tamper, error):
    target, headers, body = signed(
        secret="wrong" if tamper == "secret" else SK,
        key="AKIAOTHER" if tamper == "key" else AK,
        region="us-east-1" if tamper == "region" else REGION,
        service="s3" if tamper == "service" else "bedrock")
    if tamper == "body":
        body = body.replace(b"hi", b"ho")
        headers = [(k, v) for k, v in headers if k.lower() != "x-amz-content-sha256"]
    elif tamper == "path":
        target = target.replace("invoke", "invoke-with-response-stream")
    elif tamper == "header":
        headers = [(k, "text/plain" if k.lower() == "content-type" else v) for k, v in headers]
    elif tamper == "noauth":
        headers = [(k, v) for k, v in headers if k.lower() != "authorization"]
    with pytest.raises(fake_bedrock.SigV4Error) as info:
        verify(target, headers, body)
    assert info.value.error_type == error
    if tamper in ("body", "path", "header", "secret"):
        assert "signature we calculated does not match" in info.value.message
    assert info.value.status in (400, 403)


def test_stale_signature_fails():
    target, headers, body = signed()
    later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(minutes=6)
    with pytest.raises(fake_bedrock.SigV4Error, match="Signature expired"):
        verify(target, headers, body, now=later)
    # within 5 minutes it still passes
    assert verify(target, headers, body, now=later - datetime.timedelta(minutes=2)) == AK


def test_payload_hash_header_checked():
    target, headers, body = signed()
    headers = headers + [("x-amz-content-sha256", "0" * 64)]
    with pytest.raises(fake_bedrock.SigV4Error, match="x-amz-content-sha256"):
        verify(target, headers, body)


def _decode_frames(data):
    """Independent event-stream decoder: checks both CRCs of every frame."""
    frames = []
    while data:
        total, head_len, prelude_crc = struct.unpack(">III", data[:12])
        assert prelude_crc == binascii.crc32(data[:8]) & 0xFFFFFFFF
        assert struct.unpack(">I", data[total - 4:total])[0] == binascii.crc32(data[:total - 4]) & 0xFFFFFFFF
        headers, pos = {}, 12
        while pos < 12 + head_len:
            n = data[pos]
            name = data[pos + 1:pos + 1 + n].decode()
            assert data[pos + 1 + n] == 7
            vlen = struct.unpack(">H", data[pos + 2 + n:pos + 4 + n])[0]
            headers[name] = data[pos + 4 + n:pos + 4 + n + vlen].decode()
            pos += 4 + n + vlen
        frames.append((headers, data[12 + head_len:total - 4]))
        data = data[total:]
    return frames


def test_event_stream_frames_decode_with_botocore_parser():
    from botocore.eventstream import EventStreamBuffer
    events = [{"type": "message_stop"}, {"type": "content_block_stop", "index": 0}]
    raw = b"".join(fake_bedrock.chunk_frame(e) for e in events)
    buf = EventStreamBuffer()
    buf.add_data(raw)
    decoded = [json.loads(base64.b64decode(json.loads(m.payload)["bytes"])) for m in buf]
    assert decoded == events
    headers, _ignored = _decode_frames(raw)[0]
    assert headers[":event-type"] == "chunk"


def test_invoke_body_validation_matches_bedrock():
    assert fake_bedrock.validate_invoke_body(json.loads(BODY)) is None
    assert "extraneous key [model]" in fake_bedrock.validate_invoke_body(dict(json.loads(BODY), model="x"))
    assert "anthropic_version" in fake_bedrock.validate_invoke_body({"messages": [], "max_tokens": 1})


# --- Vertex: RS256 service-account assertions -------------------------------------------

def _rsa():
    crypto = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    return crypto.generate_private_key(public_exponent=65537, key_size=2048)


def _jwt(key, claims, alg="RS256"):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    def enc(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()
    signing_input = enc({"alg": alg, "typ": "JWT"}) + "." + enc(claims)
    sig = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return signing_input + "." + base64.urlsafe_b64encode(sig).rstrip(b"=").decode()


def test_vertex_assertion_verification():
    key = _rsa()
    nums = key.public_key().public_numbers()
    pub = {"n": nums.n, "e": nums.e, "client_email": "sa@p.iam.gserviceaccount.com"}
    now = time.time()
    claims = {"iss": "sa@p.iam.gserviceaccount.com", "aud": "https://oauth2.googleapis.com/token",
              "iat": int(now), "exp": int(now) + 3600, "scope": "x"}
    auds = fake_vertex.GOOGLE_AUDIENCES
    assert fake_vertex.verify_assertion(_jwt(key, claims), pub, auds)["iss"] == claims["iss"]
    with pytest.raises(fake_vertex.JwtError, match="Signature"):
        fake_vertex.verify_assertion(_jwt(_rsa(), claims), pub, auds)  # another key
    token = _jwt(key, claims)
    head, body, sig = token.split(".")
    forged = dict(claims, iss="attacker@x")
    forged_body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    with pytest.raises(fake_vertex.JwtError, match="Signature"):
        fake_vertex.verify_assertion(".".join([head, forged_body, sig]), pub, auds)
    with pytest.raises(fake_vertex.JwtError, match="short-lived"):
        fake_vertex.verify_assertion(_jwt(key, dict(claims, exp=int(now) - 600)), pub, auds)
    with pytest.raises(fake_vertex.JwtError, match="aud"):
        fake_vertex.verify_assertion(_jwt(key, dict(claims, aud="https://evil/token")), pub, auds)


def test_vertex_pem_public_key(tmp_path):
    from cryptography.hazmat.primitives import serialization
    key = _rsa()
    pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo)
    path = tmp_path / "pub.pem"
    path.write_bytes(pem)
    loaded = fake_vertex.load_public_key(str(path))
    nums = key.public_key().public_numbers()
    assert (loaded["n"], loaded["e"]) == (nums.n, nums.e)


# --- Anthropic: x-api-key ------------------------------------------------------------------------

@pytest.fixture
def anthropic(tmp_path):
    import threading
    from http.server import ThreadingHTTPServer
    server = ThreadingHTTPServer(("127.0.0.1", 0), fake_anthropic.AnthropicHandler)
    server.daemon_threads = True
    server.api_key = "sk-ant-unit-" + "k" * 20
    server.log = fakecommon.JsonLog(str(tmp_path / "anthropic.jsonl"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, "http://127.0.0.1:%d" % server.server_address[1], tmp_path / "anthropic.jsonl"
    server.shutdown()
    server.server_close()


def _post(url, body, headers):
    import urllib.error
    import urllib.request
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers=dict(headers, **{"content-type": "application/json"}))
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.headers.get("content-type"), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("content-type"), err.read()


def test_anthropic_fake_answers_only_its_key(anthropic):
    server, url, log = anthropic
    body = {"model": "claude-x", "max_tokens": 8, "messages": [{"role": "user", "content": "hello"}]}
    good = {"x-api-key": server.api_key, "anthropic-version": "2023-06-01"}
    status, _ignored, raw = _post(url + "/v1/messages", body, good)
    assert status == 200
    assert json.loads(raw)["content"][0]["text"] == "fake-anthropic:claude-x:key-ok reply-to:hello"
    status, ctype, raw = _post(url + "/v1/messages", dict(body, stream=True), good)
    assert status == 200 and ctype == "text/event-stream"
    events = [json.loads(line[5:]) for line in raw.decode().splitlines() if line.startswith("data:")]
    assert events[0]["type"] == "message_start" and events[-1]["type"] == "message_stop"
    assert "".join(e["delta"]["text"] for e in events if e["type"] == "content_block_delta").startswith(
        "fake-anthropic:claude-x:key-ok")
    status, _ignored, raw = _post(url + "/v1/messages/count_tokens", {"model": "claude-x", "messages": body["messages"]}, good)
    assert status == 200 and json.loads(raw)["input_tokens"] > 0
    # Wrong key, no key, the key as a bearer token: 401 with the API's error shape.
    for headers in ({"x-api-key": server.api_key + "x"}, {},
                    {"authorization": "Bearer " + server.api_key}):
        status, _ignored, raw = _post(url + "/v1/messages", body, dict(headers, **{"anthropic-version": "2023-06-01"}))
        assert status == 401, headers
        assert json.loads(raw)["error"]["type"] == "authentication_error"
    # Right key, but no anthropic-version header or no max_tokens: 400 like the real API.
    status, _ignored, raw = _post(url + "/v1/messages", body, {"x-api-key": server.api_key})
    assert status == 400 and "anthropic-version" in json.loads(raw)["error"]["message"]
    status, _ignored, raw = _post(url + "/v1/messages", {"model": "m", "messages": body["messages"]}, good)
    assert status == 400 and "max_tokens" in json.loads(raw)["error"]["message"]
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["status"] for r in records] == [200, 200, 200, 401, 401, 401, 400, 400]
    assert [r["key_valid"] for r in records] == [True] * 3 + [False] * 3 + [True] * 2
    assert records[0]["header_sha256"]["x-api-key"] == fake_anthropic.sha256(server.api_key)
    assert server.api_key not in log.read_text()  # hashes only, never a credential


def test_anthropic_key_check_is_exact():
    assert fake_anthropic.key_ok([("X-Api-Key", "k1")], "k1")
    assert not fake_anthropic.key_ok([("x-api-key", "k1"), ("x-api-key", "k1")], "k1")  # repeated
    assert not fake_anthropic.key_ok([("x-api-key", "k1 ")], "k1")
    assert not fake_anthropic.key_ok([], "k1")

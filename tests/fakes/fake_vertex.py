# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A faithful fake of Vertex AI for Anthropic models plus Google's OAuth token endpoint (stdlib only).

  python3 fake_vertex.py --host 127.0.0.1 --port 0 --log /tmp/vertex.jsonl --sa-public-key sa_pub.json

POST /token exchanges a service-account JWT assertion (grant_type jwt-bearer),
whose RS256 signature is verified against the service account's public key
(a JSON file {"n": int or hex, "e": int, "client_email": ...} or a PEM public
key), for an access token. POST .../publishers/anthropic/models/{m}:rawPredict
and :streamRawPredict (SSE) accept only a bearer token minted here and answer
with the marker "fake-vertex:<model>:token-ok".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import sys
import threading
import time
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakecommon  # noqa: E402

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# Google accepts its public token endpoints as the assertion audience whatever token_uri
# the client posted to (google-auth always signs aud=https://oauth2.googleapis.com/token).
GOOGLE_AUDIENCES = ("https://oauth2.googleapis.com/token", "https://www.googleapis.com/oauth2/v4/token")
# DER DigestInfo prefix for SHA-256 (RFC 8017 section 9.2).
SHA256_DIGEST_INFO = bytes.fromhex("3031300d060960864801650304020105000420")
_PREDICT_RE = re.compile(
    r"^/v1(?:beta1)?/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)"
    r"/publishers/anthropic/models/(?P<model>[^/:]+):(?P<op>rawPredict|streamRawPredict)$")
_COUNT_RE = re.compile(r"/publishers/anthropic/models/count-tokens:rawPredict$")


class JwtError(Exception):
    pass


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _der_read(data, pos):
    """Read one DER TLV at pos; return (tag, value, next_pos)."""
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    return tag, data[pos:pos + length], pos + length


def public_key_from_pem(text):
    """(n, e) from a PEM 'PUBLIC KEY' (SubjectPublicKeyInfo) or 'RSA PUBLIC KEY' (PKCS#1)."""
    body = "".join(line for line in text.strip().splitlines() if not line.startswith("-----"))
    der = base64.b64decode(body)
    tag, seq, _ignored = _der_read(der, 0)
    if "RSA PUBLIC KEY" not in text:  # SubjectPublicKeyInfo: SEQ { algid SEQ, BIT STRING { RSAPublicKey } }
        _ignored, _ignored, pos = _der_read(seq, 0)
        _ignored, bits, _ignored = _der_read(seq, pos)
        tag, seq, _ignored = _der_read(bits[1:], 0)  # skip the unused-bits byte
    _ignored, n, pos = _der_read(seq, 0)
    _ignored, e, _ignored = _der_read(seq, pos)
    return int.from_bytes(n, "big"), int.from_bytes(e, "big")


def load_public_key(path):
    """Return dict(n, e, client_email) from a JSON {n, e, client_email} file or a PEM file."""
    with open(path, "r", encoding="utf-8") as handle:
        text = handle.read()
    if text.lstrip().startswith("-----BEGIN"):
        n, e = public_key_from_pem(text)
        return {"n": n, "e": e, "client_email": None}
    data = json.loads(text)

    def as_int(v):
        return v if isinstance(v, int) else int(v, 16)

    return {"n": as_int(data["n"]), "e": as_int(data.get("e", 65537)),
            "client_email": data.get("client_email")}


def verify_rs256(signing_input, signature, n, e):
    """RSASSA-PKCS1-v1_5 with SHA-256, by modular exponentiation and exact encoding compare."""
    size = (n.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    recovered = pow(int.from_bytes(signature, "big"), e, n).to_bytes(size, "big")
    digest_info = SHA256_DIGEST_INFO + hashlib.sha256(signing_input).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(digest_info) - 3) + b"\x00" + digest_info
    return hmac.compare_digest(recovered, expected)


def verify_assertion(assertion, key, audiences, now=None):
    """Verify a service-account JWT assertion; return its claims or raise JwtError."""
    now = now or time.time()
    try:
        head_b64, claims_b64, sig_b64 = assertion.split(".")
        header = json.loads(b64url_decode(head_b64))
        claims = json.loads(b64url_decode(claims_b64))
        signature = b64url_decode(sig_b64)
    except (ValueError, TypeError):
        raise JwtError("malformed JWT assertion")
    if header.get("alg") != "RS256":
        raise JwtError("unsupported JWT alg %r" % header.get("alg"))
    if not verify_rs256((head_b64 + "." + claims_b64).encode("ascii"), signature, key["n"], key["e"]):
        raise JwtError("Invalid JWT Signature.")
    if key.get("client_email") and claims.get("iss") != key["client_email"]:
        raise JwtError("JWT iss %r is not the service account" % claims.get("iss"))
    if claims.get("aud") not in audiences:
        raise JwtError("JWT aud %r is not one of %s" % (claims.get("aud"), ", ".join(audiences)))
    if not isinstance(claims.get("exp"), (int, float)) or claims["exp"] < now - 30:
        raise JwtError("Invalid JWT: Token must be a short-lived token and in a reasonable timeframe")
    if not isinstance(claims.get("iat"), (int, float)) or claims["iat"] > now + 300:
        raise JwtError("Invalid JWT: iat is in the future")
    return claims


class VertexHandler(fakecommon.FakeHandler):
    server_version = "fake-vertex/1"

    def do_POST(self):
        body = self.read_body()
        path = urlsplit(self.path).path
        if path == "/token":
            return self._token(body)
        return self._predict(path, body)

    def do_GET(self):
        self.server.log.write(method="GET", path=self.path, status=404)
        self.send_json(404, {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}})

    def _token(self, body):
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        record = {"method": "POST", "path": "/token", "kind": "token"}
        audiences = GOOGLE_AUDIENCES + ("http://%s/token" % self.headers.get("Host", ""),)
        try:
            if form.get("grant_type") != JWT_BEARER:
                raise JwtError("unsupported grant_type")
            claims = verify_assertion(form.get("assertion", ""), self.server.key, audiences)
        except JwtError as exc:
            record.update(status=400, jwt_valid=False, error=str(exc))
            self.server.log.write(**record)
            return self.send_json(400, {"error": "invalid_grant", "error_description": str(exc)})
        token = "ya29.fake-" + secrets.token_urlsafe(24)
        with self.server.tokens_lock:
            self.server.tokens[token] = time.time() + 3600
        record.update(status=200, jwt_valid=True, iss=claims.get("iss"), scope=claims.get("scope"))
        self.server.log.write(**record)
        self.send_json(200, {"access_token": token, "expires_in": 3600, "token_type": "Bearer"})

    def _bearer_ok(self):
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer "):
            return False
        with self.server.tokens_lock:
            expiry = self.server.tokens.get(auth[7:].strip())
        return expiry is not None and expiry > time.time()

    def _predict(self, path, body):
        match = _PREDICT_RE.match(path)
        model = match.group("model") if match else None
        token_ok = self._bearer_ok()
        record = {"method": "POST", "path": self.path, "model": model, "token_valid": token_ok,
                  "kind": "predict"}
        if not token_ok:
            record["status"] = 401
            self.server.log.write(**record)
            return self.send_json(401, {"error": {
                "code": 401, "status": "UNAUTHENTICATED",
                "message": "Request had invalid authentication credentials. Expected OAuth 2 access token."}})
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        if _COUNT_RE.search(path) and isinstance(payload, dict):
            record.update(status=200, kind="count-tokens")
            self.server.log.write(**record)
            return self.send_json(200, {"input_tokens": fakecommon.count_tokens(payload)})
        if not match:
            record["status"] = 404
            self.server.log.write(**record)
            return self.send_json(404, {"error": {"code": 404, "status": "NOT_FOUND",
                                                  "message": "Publisher model not found: %s" % path}})
        problem = self._validate(payload, match.group("op"))
        if problem:
            record.update(status=400, error=problem)
            self.server.log.write(**record)
            return self.send_json(400, {"error": {"code": 400, "status": "INVALID_ARGUMENT",
                                                  "message": problem}})
        text = fakecommon.answer_text("fake-vertex:%s:token-ok" % model, payload)
        tokens = fakecommon.count_tokens(payload)
        stream = match.group("op") == "streamRawPredict"
        record.update(status=200, stream=stream)
        self.server.log.write(**record)
        if not stream:
            return self.send_json(200, fakecommon.anthropic_message(model, text, tokens))
        chunks = []
        for event in fakecommon.anthropic_stream_events(model, text, tokens):
            chunks.append(("event: %s\ndata: %s\n\n" % (event["type"], json.dumps(event))).encode("utf-8"))
        data = b"".join(chunks)
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    @staticmethod
    def _validate(payload, op):
        # Anthropic on Vertex: the model is in the URL, the version in the body.
        if not isinstance(payload, dict):
            return "Invalid JSON payload received."
        if payload.get("anthropic_version") != "vertex-2023-10-16":
            return "anthropic_version: vertex-2023-10-16 is required"
        if "model" in payload:
            return "model: Extra inputs are not permitted"
        if not isinstance(payload.get("messages"), list) or not payload["messages"]:
            return "messages: Field required"
        if bool(payload.get("stream")) != (op == "streamRawPredict"):
            return "stream must be true exactly for streamRawPredict"
        return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--log", default=None)
    parser.add_argument("--sa-public-key", required=True,
                        help="JSON {n, e, client_email} or PEM public key of the service account")
    args = parser.parse_args(argv)
    fakecommon.serve(VertexHandler, args.host, args.port, "vertex",
                     key=load_public_key(args.sa_public_key), tokens={},
                     tokens_lock=threading.Lock(), log=fakecommon.JsonLog(args.log))


if __name__ == "__main__":
    main()

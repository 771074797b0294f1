# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A faithful fake of the Bedrock runtime API for Anthropic models (stdlib only).

Every request must carry a valid AWS Signature Version 4 for the configured
access key, secret, region and service "bedrock" (recomputed here: canonical
request, string to sign, signing key), else it gets AWS's 403 error shapes.

  python3 fake_bedrock.py --host 127.0.0.1 --port 0 --access-key AK --secret-key SK \
      --region us-east-1 --log /tmp/bedrock.jsonl

Routes: POST /model/{id}/invoke, /model/{id}/invoke-with-response-stream (AWS
event-stream framing), /model/{id}/count-tokens, and the Converse API
(/model/{id}/converse, /converse-stream) that LiteLLM uses for OpenAI-format
chat completions. Answers carry the marker
"fake-bedrock:<model id>:sigv4-ok".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import base64
import binascii
import datetime
import hashlib
import hmac
import json
import os
import re
import struct
import sys
import uuid
from urllib.parse import parse_qsl, quote, unquote, urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakecommon  # noqa: E402

ALGORITHM = "AWS4-HMAC-SHA256"
MAX_SKEW = datetime.timedelta(minutes=5)
_AUTH_RE = re.compile(
    r"^AWS4-HMAC-SHA256\s+Credential=(?P<cred>[^,\s]+),\s*SignedHeaders=(?P<signed>[^,\s]+),"
    r"\s*Signature=(?P<sig>[0-9a-f]{64})\s*$")
_ROUTE_RE = re.compile(r"^/model/(?P<model>[^/]+)/(?P<op>invoke|invoke-with-response-stream|count-tokens|converse|converse-stream)$")


class SigV4Error(Exception):
    """An AWS-style authentication failure: error type, HTTP status and message."""

    def __init__(self, error_type, message, status=403):
        super(SigV4Error, self).__init__(message)
        self.error_type = error_type
        self.status = status
        self.message = message


def _hmac(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret_key, date, region, service):
    key = _hmac(("AWS4" + secret_key).encode("utf-8"), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def canonical_uri(raw_path):
    # botocore (non-S3) URI-encodes the already-encoded path once more.
    return quote(raw_path or "/", safe="/~")


def canonical_query(raw_query):
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    return "&".join("%s=%s" % (quote(k, safe="-_.~"), quote(v, safe="-_.~")) for k, v in sorted(pairs))


def header_values(headers, name):
    """All values of a header, case-insensitively, from a list of (name, value) pairs."""
    return [v for k, v in headers if k.lower() == name]


def verify_sigv4(method, target, headers, body, access_key, secret_key, region,
                 service="bedrock", now=None):
    """Check an AWS SigV4-signed request; return the access key id or raise SigV4Error.

    target is the raw request target (path?query) exactly as received; headers a
    list of (name, value) pairs.
    """
    auth = " ".join(header_values(headers, "authorization"))
    if not auth:
        raise SigV4Error("MissingAuthenticationTokenException", "Missing Authentication Token")
    match = _AUTH_RE.match(auth)
    if not match:
        raise SigV4Error("IncompleteSignatureException",
                         "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature'.")
    scope_parts = match.group("cred").split("/")
    if len(scope_parts) != 5 or scope_parts[4] != "aws4_request":
        raise SigV4Error("IncompleteSignatureException", "Credential scope is malformed.")
    key_id, date, cred_region, cred_service = scope_parts[:4]
    if not hmac.compare_digest(key_id, access_key):
        raise SigV4Error("UnrecognizedClientException", "The security token included in the request is invalid.")
    if cred_region != region:
        raise SigV4Error("InvalidSignatureException",
                         "Credential should be scoped to a valid region, not '%s'." % cred_region)
    if cred_service != service:
        raise SigV4Error("InvalidSignatureException",
                         "Credential should be scoped to correct service: '%s'." % service)
    amz_dates = header_values(headers, "x-amz-date")
    if len(amz_dates) != 1:
        raise SigV4Error("IncompleteSignatureException", "Missing or repeated X-Amz-Date header.")
    try:
        signed_at = datetime.datetime.strptime(amz_dates[0], "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        raise SigV4Error("IncompleteSignatureException", "X-Amz-Date must be YYYYMMDD'T'HHMMSS'Z'.")
    if amz_dates[0][:8] != date:
        raise SigV4Error("InvalidSignatureException", "Date in Credential scope does not match X-Amz-Date.")
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if abs(now - signed_at) > MAX_SKEW:
        raise SigV4Error("InvalidSignatureException",
                         "Signature expired: %s is now earlier or later than 5 min of %s."
                         % (amz_dates[0], now.strftime("%Y%m%dT%H%M%SZ")))
    signed = match.group("signed").split(";")
    if "host" not in signed or signed != sorted(signed):
        raise SigV4Error("InvalidSignatureException", "SignedHeaders must be sorted and include host.")
    body_hash = hashlib.sha256(body).hexdigest()
    sent_hash = header_values(headers, "x-amz-content-sha256")
    if sent_hash and sent_hash[0] != "UNSIGNED-PAYLOAD" and sent_hash[0] != body_hash:
        raise SigV4Error("InvalidSignatureException",
                         "The provided x-amz-content-sha256 header does not match what was computed.")
    payload_hash = sent_hash[0] if sent_hash else body_hash
    lines = []
    for name in signed:
        values = header_values(headers, name)
        if not values:
            raise SigV4Error("InvalidSignatureException", "Signed header '%s' is missing." % name)
        lines.append("%s:%s" % (name, ",".join(" ".join(v.split()) for v in values)))
    split = urlsplit(target)
    canonical_request = "\n".join([
        method.upper(), canonical_uri(split.path), canonical_query(split.query),
        "\n".join(lines) + "\n", ";".join(signed), payload_hash])
    scope = "/".join([date, region, service, "aws4_request"])
    string_to_sign = "\n".join([ALGORITHM, amz_dates[0], scope,
                                hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()])
    expected = hmac.new(signing_key(secret_key, date, region, service),
                        string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, match.group("sig")):
        raise SigV4Error("InvalidSignatureException",
                         "The request signature we calculated does not match the signature you provided. "
                         "Check your AWS Secret Access Key and signing method.")
    return key_id


def _event_header(name, value):
    raw_name, raw_value = name.encode("utf-8"), value.encode("utf-8")
    return struct.pack(">B", len(raw_name)) + raw_name + struct.pack(">BH", 7, len(raw_value)) + raw_value


def event_stream_message(headers, payload):
    """One AWS event-stream frame: prelude + prelude CRC, headers, payload, message CRC."""
    head = b"".join(_event_header(k, v) for k, v in headers)
    total = 12 + len(head) + len(payload) + 4
    prelude = struct.pack(">II", total, len(head))
    prelude += struct.pack(">I", binascii.crc32(prelude) & 0xFFFFFFFF)
    message = prelude + head + payload
    return message + struct.pack(">I", binascii.crc32(message) & 0xFFFFFFFF)


def chunk_frame(event):
    payload = json.dumps({"bytes": base64.b64encode(json.dumps(event).encode("utf-8")).decode("ascii"),
                          "p": "abcdefghij"}).encode("utf-8")
    return event_stream_message([(":event-type", "chunk"), (":content-type", "application/json"),
                                 (":message-type", "event")], payload)


def validate_invoke_body(body):
    """Bedrock's own checks on the Anthropic Messages body (it rejects the 'model' key)."""
    if not isinstance(body, dict):
        return "Malformed input request: expected a JSON object"
    if body.get("anthropic_version") != "bedrock-2023-05-31":
        return "Malformed input request: anthropic_version must be bedrock-2023-05-31"
    for key in ("model", "stream"):
        if key in body:
            return "Malformed input request: #: extraneous key [%s] is not permitted" % key
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return "Malformed input request: #: required key [messages] not found"
    if not isinstance(body.get("max_tokens"), int):
        return "Malformed input request: #: required key [max_tokens] not found"
    return None


class BedrockHandler(fakecommon.FakeHandler):
    server_version = "fake-bedrock/1"

    def _error(self, status, error_type, message):
        self.send_json(status, {"message": message},
                       {"x-amzn-ErrorType": "%s:http://internal.amazon.com/coral/com.amazon.bedrock/"
                        % error_type, "x-amzn-RequestId": str(uuid.uuid4())})

    def do_GET(self):
        self._handle()

    def do_POST(self):
        self._handle()

    def _handle(self):
        cfg = self.server.cfg
        body = self.read_body()
        target = self.path
        route = _ROUTE_RE.match(urlsplit(target).path)
        model = unquote(route.group("model")) if route else None
        record = {"method": self.command, "path": target, "model": model,
                  "signature_valid": False, "access_key_id": None}
        try:
            record["access_key_id"] = verify_sigv4(
                self.command, target, list(self.headers.items()), body,
                cfg["access_key"], cfg["secret_key"], cfg["region"])
            record["signature_valid"] = True
        except SigV4Error as exc:
            record.update(error=exc.error_type, status=exc.status)
            self.server.log.write(**record)
            return self._error(exc.status, exc.error_type, exc.message)
        if not route or self.command != "POST":
            record["status"] = 404
            self.server.log.write(**record)
            return self._error(404, "UnknownOperationException", "Unknown operation %s" % urlsplit(target).path)
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        op = route.group("op")
        if op == "count-tokens":
            return self._count_tokens(record, model, payload)
        if op.startswith("converse"):
            return self._converse(record, model, payload, op == "converse-stream")
        problem = validate_invoke_body(payload)
        if problem:
            record.update(status=400, error="ValidationException", detail=problem)
            self.server.log.write(**record)
            return self._error(400, "ValidationException", problem)
        text = fakecommon.answer_text("fake-bedrock:%s:sigv4-ok" % model, payload)
        tokens = fakecommon.count_tokens(payload)
        record["status"] = 200
        record["stream"] = op == "invoke-with-response-stream"
        self.server.log.write(**record)
        if op == "invoke":
            return self.send_json(200, fakecommon.anthropic_message(model, text, tokens),
                                  {"x-amzn-RequestId": str(uuid.uuid4()),
                                   "X-Amzn-Bedrock-Input-Token-Count": str(tokens)})
        self._send_stream(b"".join(chunk_frame(e) for e in fakecommon.anthropic_stream_events(model, text, tokens)))

    def _converse(self, record, model, payload, stream):
        if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list) \
                or not payload["messages"] or "model" in payload:
            record.update(status=400, error="ValidationException")
            self.server.log.write(**record)
            return self._error(400, "ValidationException", "Converse requires messages and no model key")
        text = fakecommon.answer_text("fake-bedrock:%s:sigv4-ok" % model, payload)
        usage = {"inputTokens": fakecommon.count_tokens(payload), "outputTokens": max(1, len(text) // 4)}
        usage["totalTokens"] = usage["inputTokens"] + usage["outputTokens"]
        record.update(status=200, stream=stream, api="converse")
        self.server.log.write(**record)
        if not stream:
            return self.send_json(200, {"output": {"message": {"role": "assistant", "content": [{"text": text}]}},
                                        "stopReason": "end_turn", "usage": usage, "metrics": {"latencyMs": 1}})
        events = [("messageStart", {"role": "assistant"}),
                  ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": text}}),
                  ("contentBlockStop", {"contentBlockIndex": 0}),
                  ("messageStop", {"stopReason": "end_turn"}),
                  ("metadata", {"usage": usage, "metrics": {"latencyMs": 1}})]
        frames = b"".join(event_stream_message(
            [(":event-type", name), (":content-type", "application/json"), (":message-type", "event")],
            json.dumps(body).encode("utf-8")) for name, body in events)
        self._send_stream(frames)

    def _send_stream(self, frames):
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.send_header("Content-Length", str(len(frames)))
        self.end_headers()
        self.wfile.write(frames)

    def _count_tokens(self, record, model, payload):
        # CountTokens input: {"invokeModel": {"body": "<base64 invoke body>"}} or {"converse": {"messages"}}
        try:
            source = payload["input"]
            if "converse" in source:
                inner = source["converse"]
                record["input_type"] = "converse"
            else:
                inner = source["invokeModel"]["body"]
                inner = json.loads(base64.b64decode(inner)) if isinstance(inner, str) else inner
                record["input_type"] = "invokeModel"
            if not isinstance(inner.get("messages"), list):
                raise TypeError
        except (KeyError, TypeError, ValueError, AttributeError):
            record.update(status=400, error="ValidationException")
            self.server.log.write(**record)
            return self._error(400, "ValidationException",
                               "input must hold invokeModel.body or converse.messages")
        record["status"] = 200
        self.server.log.write(**record)
        self.send_json(200, {"inputTokens": fakecommon.count_tokens(inner)})


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--access-key", required=True)
    parser.add_argument("--secret-key", default=os.environ.get("FAKE_BEDROCK_SECRET_KEY"),
                        help="or env FAKE_BEDROCK_SECRET_KEY (keeps it out of the process list)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--log", default=None)
    args = parser.parse_args(argv)
    if not args.secret_key:
        parser.error("--secret-key or FAKE_BEDROCK_SECRET_KEY is required")
    fakecommon.serve(BedrockHandler, args.host, args.port, "bedrock",
                     cfg={"access_key": args.access_key, "secret_key": args.secret_key,
                          "region": args.region},
                     log=fakecommon.JsonLog(args.log))


if __name__ == "__main__":
    main()

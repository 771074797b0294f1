# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A faithful fake of the Anthropic Messages API (stdlib only).

Every request must carry the API key the fake was started with in the
x-api-key header (compared in constant time) and an anthropic-version header,
else it gets the API's error shapes (401 authentication_error, 400
invalid_request_error).

  FAKE_ANTHROPIC_API_KEY=sk-ant-... python3 fake_anthropic.py --host 127.0.0.1 --port 0 \
      --log /tmp/anthropic.jsonl

Routes: POST /v1/messages (JSON, or SSE when the body says "stream": true) and
POST /v1/messages/count_tokens. Answers carry the marker
"fake-anthropic:<model>:key-ok". The log records, per request, whether the key
matched and the SHA-256 of every header value (never a value itself), so a test
can prove which credential reached the upstream and that a client's token did not.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import hashlib
import hmac
import json
import os
import sys
import uuid
from urllib.parse import urlsplit

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fakecommon  # noqa: E402

ROUTES = ("/v1/messages", "/v1/messages/count_tokens")


def sha256(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def key_ok(headers, api_key):
    """True when the x-api-key header (exactly one) equals api_key."""
    sent = [v for k, v in headers if k.lower() == "x-api-key"]
    return len(sent) == 1 and hmac.compare_digest(sent[0].encode("utf-8"), api_key.encode("utf-8"))


def validate_messages_body(body, count_only=False):
    """The Messages API's own checks on the body; None when it is acceptable."""
    if not isinstance(body, dict):
        return "messages: Input should be a valid dictionary"
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    if not isinstance(body.get("messages"), list) or not body["messages"]:
        return "messages: Field required"
    if not count_only and not isinstance(body.get("max_tokens"), int):
        return "max_tokens: Field required"
    return None


def error_body(error_type, message):
    return {"type": "error", "error": {"type": error_type, "message": message},
            "request_id": "req_fake_" + uuid.uuid4().hex[:20]}


class AnthropicHandler(fakecommon.FakeHandler):
    server_version = "fake-anthropic/1"

    def do_GET(self):
        self.read_body()
        self.server.log.write(method="GET", path=self.path, status=404)
        self.send_json(404, error_body("not_found_error", "Not found"))

    def do_POST(self):
        body = self.read_body()
        headers = list(self.headers.items())
        path = urlsplit(self.path).path
        record = {"method": "POST", "path": self.path,
                  "key_valid": key_ok(headers, self.server.api_key),
                  # name -> SHA-256 of each value: what reached us, without writing any credential.
                  "header_sha256": {k.lower(): sha256(v) for k, v in headers},
                  "anthropic_version": self.headers.get("anthropic-version")}
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            payload = None
        record["model"] = payload.get("model") if isinstance(payload, dict) else None
        if not record["key_valid"]:
            record["status"] = 401
            self.server.log.write(**record)
            return self.send_json(401, error_body("authentication_error", "invalid x-api-key"))
        if path not in ROUTES:
            record["status"] = 404
            self.server.log.write(**record)
            return self.send_json(404, error_body("not_found_error", "Not found: %s" % path))
        if not record["anthropic_version"]:
            record["status"] = 400
            self.server.log.write(**record)
            return self.send_json(400, error_body("invalid_request_error", "anthropic-version: header is required"))
        count_only = path.endswith("/count_tokens")
        problem = validate_messages_body(payload, count_only)
        if problem:
            record.update(status=400, error=problem)
            self.server.log.write(**record)
            return self.send_json(400, error_body("invalid_request_error", problem))
        tokens = fakecommon.count_tokens(payload)
        if count_only:
            record.update(status=200, kind="count-tokens")
            self.server.log.write(**record)
            return self.send_json(200, {"input_tokens": tokens})
        model = payload["model"]
        text = fakecommon.answer_text("fake-anthropic:%s:key-ok" % model, payload)
        stream = bool(payload.get("stream"))
        record.update(status=200, stream=stream, kind="messages")
        self.server.log.write(**record)
        if not stream:
            return self.send_json(200, fakecommon.anthropic_message(model, text, tokens),
                                  {"request-id": "req_fake_" + uuid.uuid4().hex[:20]})
        data = b"".join(("event: %s\ndata: %s\n\n" % (event["type"], json.dumps(event))).encode("utf-8")
                        for event in fakecommon.anthropic_stream_events(model, text, tokens))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--api-key", default=os.environ.get("FAKE_ANTHROPIC_API_KEY"),
                        help="or env FAKE_ANTHROPIC_API_KEY (keeps it out of the process list)")
    parser.add_argument("--log", default=None)
    args = parser.parse_args(argv)
    if not args.api_key:
        parser.error("--api-key or FAKE_ANTHROPIC_API_KEY is required")
    fakecommon.serve(AnthropicHandler, args.host, args.port, "anthropic",
                     api_key=args.api_key, log=fakecommon.JsonLog(args.log))


if __name__ == "__main__":
    main()

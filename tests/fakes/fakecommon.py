# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers shared by the fake Bedrock and Vertex upstreams (Python stdlib only).

The fakes answer like Anthropic models do on each cloud, so LiteLLM's real
request/response translation runs end to end; only the model is fake.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonLog:
    """One JSON object per line, appended and flushed per request (tests read it live)."""

    def __init__(self, path):
        self.path = path
        self._lock = threading.Lock()

    def write(self, **record):
        if not self.path:
            return
        record.setdefault("time", time.time())
        line = json.dumps(record, sort_keys=True)
        with self._lock, open(self.path, "a", encoding="utf-8") as handle:
            handle.write(line + "\n")


def answer_text(marker, body):
    """The reply: the marker first, then a short echo of the last user text for debugging."""
    last = ""
    for message in (body or {}).get("messages") or []:
        if message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            last = content
        elif isinstance(content, list):
            # Anthropic parts are {"type": "text", "text"}; Bedrock Converse parts are {"text"}.
            last = " ".join(part.get("text", "") for part in content
                            if isinstance(part, dict) and part.get("type", "text") == "text")
    return "%s reply-to:%s" % (marker, last[:60])


def count_tokens(body):
    """A deterministic stand-in for a tokenizer: one token per 4 characters of JSON."""
    return max(1, len(json.dumps(body.get("messages", []))) // 4)


def anthropic_message(model, text, input_tokens):
    return {
        "id": "msg_fake_" + uuid.uuid4().hex[:20],
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": text}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": input_tokens, "output_tokens": max(1, len(text) // 4)},
    }


def anthropic_stream_events(model, text, input_tokens):
    """The Anthropic Messages streaming event sequence for one text block."""
    message = anthropic_message(model, "", input_tokens)
    message["content"] = []
    message["stop_reason"] = None
    message["usage"]["output_tokens"] = 1
    half = len(text) // 2
    events = [
        {"type": "message_start", "message": message},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ]
    for piece in (text[:half], text[half:]):  # two deltas: proves the client joins chunks
        events.append({"type": "content_block_delta", "index": 0,
                       "delta": {"type": "text_delta", "text": piece}})
    events += [
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": max(1, len(text) // 4)}},
        {"type": "message_stop"},
    ]
    return events


class FakeHandler(BaseHTTPRequestHandler):
    """Base handler: quiet access log, JSON helpers, HTTP/1.1 keep-alive."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-upstream/1"

    def log_message(self, fmt, *args):  # the JSON log is the record; keep stderr clean
        pass

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, status, payload, headers=None):
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


def serve(handler_class, host, port, name, **attrs):
    """Serve forever; print 'READY <port>' once listening (port 0 picks a free one)."""
    server = ThreadingHTTPServer((host, port), handler_class)
    server.daemon_threads = True
    for key, value in attrs.items():
        setattr(server, key, value)
    sys.stdout.write("READY %d\n" % server.server_address[1])
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return name

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send Anthropic-format requests through the gateway (test client, stdlib only).

Reads a JSON list of requests on stdin, so tokens never appear in the process list:
  [{"id": "...", "path": "/v1/messages", "model": "...", "stream": false, "token": "..." or null}]
Prints a JSON list of {"id", "status", "seconds", "text", "events", "error"}: the answer's text joined from
the content blocks (plain) or from the text deltas (stream), never the token.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import sys
import time
import urllib.error
import urllib.request


def call(base, req):
    body = {"model": req["model"], "max_tokens": 64, "stream": bool(req.get("stream")),
            "messages": [{"role": "user", "content": "ping " + req["id"]}]}
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
    if req.get("token"):
        headers["Authorization"] = "Bearer " + req["token"]
    out = {"id": req["id"], "status": None, "text": "", "events": [], "error": ""}
    started = time.monotonic()
    request = urllib.request.Request(base + req.get("path", "/v1/messages"), json.dumps(body).encode(), headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            out["status"] = resp.status
            raw = resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        out["status"] = err.code
        raw = err.read().decode("utf-8", "replace")
    out["seconds"] = round(time.monotonic() - started, 3)
    if out["status"] != 200:
        out["error"] = raw[:300]
    elif req.get("stream"):
        for line in raw.splitlines():
            if not line.startswith("data:"):
                continue
            try:
                event = json.loads(line[5:].strip())
            except ValueError:
                continue
            out["events"].append(event.get("type"))
            if event.get("type") == "content_block_delta":
                out["text"] += event.get("delta", {}).get("text", "")
    else:
        doc = json.loads(raw)
        out["text"] = "".join(part.get("text", "") for part in doc.get("content", []))
    return out


def main():
    base = sys.argv[1]
    print(json.dumps([call(base, req) for req in json.load(sys.stdin)]))


if __name__ == "__main__":
    main()

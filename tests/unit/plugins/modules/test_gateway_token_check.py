# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""gateway_token_check, run as a real process against a gateway stand-in on 127.0.0.1 that accepts one token."""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from .test_claude_code_client_check import ROOT, TOKEN, gateway  # noqa: F401 pylint: disable=unused-import

OLD = "gwt-old-version-0123456789abcdef"


def token_check(tmp_path, **args):
    argfile = tmp_path / "args.json"
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".cache", "collections"))
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.llmops.claude_gateway.plugins.modules."
                           "gateway_token_check", str(argfile)], capture_output=True, text=True, env=env, check=False)
    for token in (TOKEN, OLD):
        assert token not in proc.stdout + proc.stderr, "token leaked in module output"
    return json.loads(proc.stdout)


def test_window_open_then_closed(tmp_path, gateway):  # noqa: F811 pylint: disable=redefined-outer-name
    gateway.tokens = set([TOKEN, OLD])
    checks = [{"name": "s@current", "token": TOKEN, "status": 200}, {"name": "s@1", "token": OLD, "status": 200}]
    out = token_check(tmp_path, url=gateway.url + "/", checks=checks, _ansible_check_mode=True)
    assert not out.get("failed") and out["changed"] is False
    assert out["results"] == [{"name": "s@current", "status": 200, "got": 200, "ok": True},
                              {"name": "s@1", "status": 200, "got": 200, "ok": True}]
    assert [(s["path"], s["bearer"]) for s in gateway.seen] == [("/v1/models", "Bearer " + TOKEN),
                                                                ("/v1/models", "Bearer " + OLD)]

    gateway.tokens = set([TOKEN])
    checks[1]["status"] = 401
    out = token_check(tmp_path, url=gateway.url, checks=checks)
    assert not out.get("failed")
    assert [r["got"] for r in out["results"]] == [200, 401]


def test_unexpected_answer_fails_naming_the_check_never_the_token(tmp_path, gateway):  # noqa: F811 pylint: disable=redefined-outer-name
    checks = [{"name": "s@current", "token": TOKEN, "status": 200}, {"name": "s@1", "token": OLD, "status": 200}]
    out = token_check(tmp_path, url=gateway.url, checks=checks)
    assert out["failed"] is True
    assert out["msg"] == "the gateway at %s/v1/models answered unexpectedly: s@1 expected 200, got 401" % gateway.url
    assert [r["ok"] for r in out["results"]] == [True, False]


def test_no_answer_is_a_failure_with_its_reason(tmp_path):
    out = token_check(tmp_path, url="http://127.0.0.1:9", timeout=2,
                      checks=[{"name": "s@current", "token": TOKEN, "status": 200}])
    assert out["failed"] is True
    assert out["results"][0]["got"].startswith("no answer: ")
    assert "s@current expected 200, got no answer: " in out["msg"]


def test_a_redirect_is_an_answer_and_the_token_does_not_follow_it(tmp_path, gateway):  # noqa: F811 pylint: disable=redefined-outer-name
    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self):  # pylint: disable=invalid-name
            self.send_response(302)
            self.send_header("Location", gateway.url + "/v1/models")
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        out = token_check(tmp_path, url="http://127.0.0.1:%d" % server.server_port,
                          checks=[{"name": "s@current", "token": TOKEN, "status": 200}])
    finally:
        server.shutdown()
        server.server_close()
    assert out["failed"] is True and out["results"][0]["got"] == 302
    assert gateway.seen == []

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""claude_code_client_check, run as a real process against a small gateway stand-in on 127.0.0.1: the client's
configuration read as Claude Code reads it, the helper run as the user through a shell, no token in any output."""

from __future__ import absolute_import, division, print_function

import json
import os
import pwd
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.dotenv import edit_dotenv
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.gitlab_toml import edit_gitlab_environment
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.settings import dump_settings

from ..module_utils._claude_code.test_gitlab_toml import CONFIG

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
TOKEN = "gwt-check-0123456789abcdef"
ME = pwd.getpwuid(os.geteuid()).pw_name
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a helper as another user")
ALL = ["policy", "bypass-flags", "gateway-url", "tls", "liveliness", "request", "no-cloud-credentials"]


class Gateway(BaseHTTPRequestHandler):
    """Accepts the tokens in ``server.tokens`` (Bearer or x-api-key), like the gateway's auth hook."""

    def _answer(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self):
        self.server.seen.append({"method": self.command, "path": self.path, "bearer": self.headers.get("Authorization"),
                                 "x-api-key": self.headers.get("x-api-key")})
        if self.path == "/health/liveliness":
            return self._answer(200, "I'm alive!")
        given = set([self.headers.get("x-api-key"), (self.headers.get("Authorization") or "")[len("Bearer "):]])
        if not given & self.server.tokens:
            return self._answer(401, {"error": "Authentication Error, invalid token"})
        if self.path == "/v1/messages":
            length = int(self.headers.get("content-length") or 0)
            model = json.loads(self.rfile.read(length))["model"]
            return self._answer(200, {"type": "message", "model": model, "content": [{"type": "text", "text": "OK"}]})
        return self._answer(200, {"data": [{"id": "claude-haiku-4-5"}]})

    do_GET = do_POST = _handle

    def log_message(self, *args):
        pass


@pytest.fixture
def gateway():
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    server.seen, server.tokens = [], set([TOKEN])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = "http://127.0.0.1:%d" % server.server_port
    yield server
    server.shutdown()
    server.server_close()


def check(tmp_path, **args):
    argfile = tmp_path / "args.json"
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".cache", "collections"))
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.llmops.claude_gateway.plugins.modules."
                           "claude_code_client_check", str(argfile)], capture_output=True, text=True, env=env,
                          check=False)
    assert TOKEN not in proc.stdout + proc.stderr, "token leaked in module output"
    return json.loads(proc.stdout)


def by_name(out):
    return dict((c["check"], c) for c in out["checks"])


def workstation(tmp_path, url, helper=None, dropins=None, user_settings=None):
    """A managed directory and a sandbox home; the token in a 0600 file the helper prints."""
    managed, home = tmp_path / "etc", tmp_path / "home"
    (managed / "managed-settings.d").mkdir(parents=True)
    (home / ".claude").mkdir(parents=True)
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    base = {"apiKeyHelper": helper or "head -n 1 -- %s" % token_file,
            "env": {"ANTHROPIC_BASE_URL": url, "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"}}
    (managed / "managed-settings.json").write_text(dump_settings(base))
    for name, data in (dropins or {}).items():
        (managed / "managed-settings.d" / name).write_text(dump_settings(data))
    if user_settings is not None:
        (home / ".claude" / "settings.json").write_text(dump_settings(user_settings))
    return dict(client="workstation", managed_dir=str(managed), users=[{"name": ME, "home": str(home)}],
                gateway_url=url, expected_env={"ANTHROPIC_BASE_URL": url, "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"},
                timeout=10)


def test_every_check_of_a_workstation_passes(tmp_path, gateway):
    out = check(tmp_path, **workstation(tmp_path, gateway.url))
    assert out["changed"] is False
    assert [c["check"] for c in out["checks"] if not c["ok"]] == []
    names = [c["check"].split(" ")[0] for c in out["checks"]]
    assert sorted(set(names)) == sorted(ALL)
    assert out["requests"] == [{"client": ME, "user": ME, "url": gateway.url, "status": 200, "ok": True, "error": ""}]
    post = [s for s in gateway.seen if s["path"] == "/v1/messages"]
    # Both headers, as Claude Code sends an apiKeyHelper's output.
    assert post == [{"method": "POST", "path": "/v1/messages", "bearer": "Bearer " + TOKEN, "x-api-key": TOKEN}]
    assert "model=claude-haiku-4-5: HTTP 200" in by_name(out)["request (%s)" % ME]["detail"]


def test_check_mode_and_models_path_as_the_rotation_calls_it(tmp_path, gateway):
    args = workstation(tmp_path, gateway.url)
    out = check(tmp_path, checks=["request"], requests=[{"client": "alice-laptop", "user": ME}], path="/v1/models",
                managed_dir=args["managed_dir"], users=args["users"], _ansible_check_mode=True)
    assert out["changed"] is False and [c["check"] for c in out["checks"]] == ["request (%s)" % ME]
    assert out["requests"] == [{"client": "alice-laptop", "user": ME, "url": gateway.url, "status": 200, "ok": True,
                                "error": ""}]
    assert [s["method"] + " " + s["path"] for s in gateway.seen] == ["GET /v1/models"]


def test_wrong_token_is_a_failed_request_without_the_token(tmp_path, gateway):
    gateway.tokens = set(["gwt-another-token-000000"])
    out = check(tmp_path, **workstation(tmp_path, gateway.url))
    request = out["requests"][0]
    assert request["status"] == 401 and request["ok"] is False and "HTTP 401" in request["error"]
    assert by_name(out)["request (%s)" % ME]["ok"] is False


def test_dropin_after_managed_settings_wins(tmp_path, gateway):
    """Drift guard: a managed-settings.d drop-in is merged on top of managed-settings.json (so its URL is the
    one Claude Code uses), and the user's own settings lose to both."""
    args = workstation(tmp_path, "https://base.invalid", dropins={"50-gw.json": {"env": {"ANTHROPIC_BASE_URL": gateway.url}}},
                       user_settings={"env": {"ANTHROPIC_BASE_URL": "https://user.invalid"}})
    args.update(gateway_url=gateway.url, expected_env={"ANTHROPIC_BASE_URL": gateway.url})
    out = check(tmp_path, **args)
    assert by_name(out)["gateway-url (%s)" % ME] == {"check": "gateway-url (%s)" % ME, "ok": True,
                                                     "detail": "ANTHROPIC_BASE_URL=%s" % gateway.url}
    assert out["requests"][0]["url"] == gateway.url and out["requests"][0]["ok"]
    # A later drop-in wins over an earlier one; a hidden one is ignored.
    (tmp_path / "etc" / "managed-settings.d" / "90-late.json").write_text(
        dump_settings({"env": {"ANTHROPIC_BASE_URL": "https://late.invalid"}}))
    (tmp_path / "etc" / "managed-settings.d" / ".zz.json").write_text(
        dump_settings({"env": {"ANTHROPIC_BASE_URL": gateway.url}}))
    out = check(tmp_path, **dict(args, checks=["gateway-url"]))
    assert by_name(out)["gateway-url (%s)" % ME]["ok"] is False
    assert "'https://late.invalid'" in by_name(out)["gateway-url (%s)" % ME]["detail"]


def test_helper_is_a_shell_command(tmp_path, gateway):
    token_file = tmp_path / "t"
    token_file.write_text(TOKEN)
    args = workstation(tmp_path, gateway.url, helper="cat %s | tr -d '\\n'; echo" % token_file)
    out = check(tmp_path, **dict(args, checks=["request"]))
    assert out["requests"][0]["ok"], out


def test_failing_helper_reported_with_its_message(tmp_path, gateway):
    args = workstation(tmp_path, gateway.url, helper="echo %s; echo no token for you >&2; exit 3" % TOKEN)
    out = check(tmp_path, **dict(args, checks=["request"]))
    assert out["requests"][0]["ok"] is False and "exited 3: no token for you" in out["requests"][0]["error"]
    assert gateway.seen == []


@ROOT_ONLY
def test_helper_runs_as_the_user_not_root(tmp_path, gateway):
    gateway.tokens = set(["gwt-as-nobody-0123456789"])
    args = workstation(tmp_path, gateway.url, helper="echo gwt-as-$(id -un)-0123456789")
    args["users"] = [{"name": "nobody", "home": str(tmp_path / "home")}]
    out = check(tmp_path, **dict(args, checks=["request"]))
    assert out["requests"][0]["ok"], out
    assert gateway.seen[0]["x-api-key"] == "gwt-as-nobody-0123456789"


def test_bypass_flag_not_allowed_and_wrong_url(tmp_path, gateway):
    args = workstation(tmp_path, "https://elsewhere.invalid")
    args.update(expected_env={"ANTHROPIC_BASE_URL": gateway.url}, gateway_url=gateway.url,
                checks=["bypass-flags", "gateway-url"])
    out = check(tmp_path, **args)
    flags, url = by_name(out)["bypass-flags (%s)" % ME], by_name(out)["gateway-url (%s)" % ME]
    assert not flags["ok"] and "CLAUDE_CODE_SKIP_BEDROCK_AUTH is set ('1') but the policy does not allow it" in flags["detail"]
    assert not url["ok"] and "ANTHROPIC_BASE_URL is 'https://elsewhere.invalid', policy says" in url["detail"]


def test_policy_error_and_unreachable_gateway(tmp_path):
    out = check(tmp_path, checks=["policy", "liveliness"], gateway_url="http://127.0.0.1:9", policy_error="claude_code "
                "policy 'gateway-https': no", timeout=5)
    assert [(c["check"], c["ok"]) for c in out["checks"]] == [("policy", False), ("liveliness", False)]
    assert out["checks"][0]["detail"].startswith("claude_code policy 'gateway-https'")


def test_cloud_credentials_found_in_the_settings_and_home(tmp_path, gateway):
    args = workstation(tmp_path, gateway.url, user_settings={"env": {"AWS_PROFILE": "prod"}})
    (tmp_path / "home" / ".aws").mkdir()
    (tmp_path / "home" / ".aws" / "credentials").write_text("[default]\n")
    out = check(tmp_path, **dict(args, checks=["no-cloud-credentials"]))
    found = by_name(out)["no-cloud-credentials"]
    assert not found["ok"] and "AWS_PROFILE in the client environment" in found["detail"]
    assert str(tmp_path / "home" / ".aws" / "credentials") in found["detail"]


def test_github_runner_env_file(tmp_path, gateway):
    runner = tmp_path / "runner"
    runner.mkdir()
    (runner / ".env").write_text(edit_dotenv("LANG=C\n", {"ANTHROPIC_BASE_URL": gateway.url, "ANTHROPIC_API_KEY": TOKEN}))
    out = check(tmp_path, client="github_actions", github_runner_dir=str(runner), gateway_url=gateway.url,
                token_env_var="ANTHROPIC_API_KEY", expected_env={"ANTHROPIC_BASE_URL": gateway.url}, timeout=10)
    assert [c["check"] for c in out["checks"] if not c["ok"]] == []
    assert out["requests"] == [{"client": "github_actions", "user": None, "url": gateway.url, "status": 200, "ok": True,
                                "error": ""}]
    # x-api-key only: the variable the runner's jobs use.
    assert [(s["x-api-key"], s["bearer"]) for s in gateway.seen if s["path"] == "/v1/messages"] == [(TOKEN, None)]


def test_gitlab_runner_environment(tmp_path, gateway):
    config = tmp_path / "config.toml"
    config.write_text(edit_gitlab_environment(CONFIG, "docs", {"ANTHROPIC_BASE_URL": gateway.url,
                                                               "ANTHROPIC_AUTH_TOKEN": TOKEN}))
    out = check(tmp_path, client="gitlab_runner", gitlab_config=str(config), gitlab_runner_name="docs",
                checks=["request"], requests=[{"client": "ci-docs"}], path="/v1/models", timeout=10)
    assert out["requests"] == [{"client": "ci-docs", "user": None, "url": gateway.url, "status": 200, "ok": True,
                                "error": ""}]
    out = check(tmp_path, client="gitlab_runner", gitlab_config=str(config), gitlab_runner_name="nope",
                checks=["request"], timeout=10)
    assert [c["check"] for c in out["checks"]] == ["config", "request"]
    assert "no [[runners]] named 'nope'" in out["checks"][0]["detail"]


@ROOT_ONLY
def test_planted_link_in_a_user_home_is_not_followed(tmp_path, gateway):
    """A user links ~/.claude/settings.json to a root-only file: the check refuses it and shows nothing of it."""
    args = workstation(tmp_path, gateway.url)
    victim = tmp_path / "victim.json"
    victim.write_text('{"env": {"ANTHROPIC_BASE_URL": "https://victim-secret.invalid"}}')
    victim.chmod(0o600)
    nobody = pwd.getpwnam("nobody")
    home = tmp_path / "home"
    os.chown(home, nobody.pw_uid, nobody.pw_gid)
    os.chown(home / ".claude", nobody.pw_uid, nobody.pw_gid)
    os.symlink(str(victim), str(home / ".claude" / "settings.json"))
    os.lchown(home / ".claude" / "settings.json", nobody.pw_uid, nobody.pw_gid)
    args["users"] = [{"name": "nobody", "home": str(home)}]
    out = check(tmp_path, **dict(args, checks=["gateway-url", "request"]))
    assert [c["check"] for c in out["checks"]] == ["config (nobody)", "request (nobody)"]
    assert "symbolic link" in out["checks"][0]["detail"] and out["requests"][0]["ok"] is False
    assert "victim-secret" not in json.dumps(out) and gateway.seen == []

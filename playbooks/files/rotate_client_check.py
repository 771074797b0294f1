# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Send one authenticated request per client through the client's REAL configuration (stdlib only).

Run as root on a client host by playbooks/rotate.yml with one JSON argument (no secret in it):
  {"checks": [{"client": "alice", "kind": "workstation", "user": "alice"}, ...], "path": "/v1/models",
   "managed_dir": "/etc/claude-code", "github_runner_dir": "...", "gitlab_config": "...",
   "gitlab_runner_name": "...", "systemd_service": "...", "token_env_var": "ANTHROPIC_AUTH_TOKEN"}
- workstation: the gateway URL and apiKeyHelper come from the Claude Code settings files (managed, drop-ins,
  the user's own), and the helper runs as the user, exactly as Claude Code runs it;
- github_actions: the runner's .env; gitlab_runner: the runner's `environment` in config.toml;
  systemd: the unit's EnvironmentFile drop-in.
Prints {"results": [{"client", "status", "url", "error"}]}; the token is never printed.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import json
import os
import pwd
import subprocess
import sys
import urllib.error
import urllib.request


def load_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


def workstation(cfg, check):
    """URL and token as Claude Code resolves them: managed settings win over the user's settings."""
    user = check["user"]
    home = pwd.getpwnam(user).pw_dir
    layers = [os.path.join(home, ".claude", "settings.json")]
    layers += sorted(glob.glob(os.path.join(cfg["managed_dir"], "managed-settings.d", "*.json")))
    layers.append(os.path.join(cfg["managed_dir"], "managed-settings.json"))
    url, helper = None, None
    for path in layers:  # lowest precedence first
        doc = load_json(path) or {}
        url = (doc.get("env") or {}).get("ANTHROPIC_BASE_URL") or url
        helper = doc.get("apiKeyHelper") or helper
    if not url or not helper:
        raise RuntimeError("no ANTHROPIC_BASE_URL or apiKeyHelper in the Claude Code settings of %s" % user)
    run = subprocess.run(["runuser", "-u", user, "--", helper], capture_output=True, text=True, check=False,
                         timeout=30)
    if run.returncode != 0:
        raise RuntimeError("apiKeyHelper failed for %s (rc %d): %s" % (user, run.returncode, run.stderr.strip()[:200]))
    return url, run.stdout.strip()


def env_lines(path):
    out = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#") and "=" in line:
                key, value = line.split("=", 1)
                out[key.strip()] = value.strip().strip('"')
    return out


def runner(cfg, check):
    kind = check["kind"]
    if kind == "github_actions":
        env = env_lines(os.path.join(cfg["github_runner_dir"], ".env"))
    elif kind == "gitlab_runner":
        import tomllib  # Python 3.11+

        with open(cfg["gitlab_config"], "rb") as handle:
            doc = tomllib.load(handle)
        entries = [r for r in doc.get("runners", []) if not cfg.get("gitlab_runner_name")
                   or r.get("name") == cfg["gitlab_runner_name"]]
        env = dict(item.split("=", 1) for item in (entries[0].get("environment") or []) if "=" in item) if entries else {}
    elif kind == "systemd":
        unit = cfg["systemd_service"] if "." in cfg["systemd_service"] else cfg["systemd_service"] + ".service"
        env = env_lines("/etc/systemd/system/%s.d/claude-code-gateway.env" % unit)
    else:
        raise RuntimeError("unknown client kind %s" % kind)
    url, token = env.get("ANTHROPIC_BASE_URL"), env.get(cfg.get("token_env_var") or "ANTHROPIC_AUTH_TOKEN")
    if not url or not token:
        raise RuntimeError("the %s environment has no ANTHROPIC_BASE_URL or gateway token" % kind)
    return url, token


def main():
    cfg = json.loads(sys.argv[1])
    results = []
    for check in cfg["checks"]:
        out = {"client": check["client"], "user": check.get("user"), "status": None, "url": None, "error": ""}
        try:
            url, token = workstation(cfg, check) if check["kind"] == "workstation" else runner(cfg, check)
            out["url"] = url
            # Both headers, as Claude Code sends an apiKeyHelper's output.
            request = urllib.request.Request(url.rstrip("/") + cfg.get("path", "/v1/models"), headers={
                "Authorization": "Bearer " + token, "x-api-key": token, "anthropic-version": "2023-06-01"})
            try:
                with urllib.request.urlopen(request, timeout=30) as resp:
                    out["status"] = resp.status
            except urllib.error.HTTPError as err:
                out["status"] = err.code
                out["error"] = "HTTP %d from the gateway" % err.code
        except Exception as exc:  # reported per client, never with the token
            out["error"] = str(exc)[:300]
        results.append(out)
    print(json.dumps({"results": results}))


if __name__ == "__main__":
    main()

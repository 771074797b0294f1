# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A steady stream of authenticated requests through a client's real configuration (stdlib only).

  python3 fleet_load.py helper /etc/claude-code RATE MAX_SECONDS STOPFILE OUT.json
      workstation user: URL and apiKeyHelper from the Claude Code settings; the helper's output is cached
      for CLAUDE_CODE_API_KEY_HELPER_TTL_MS and re-read after a 401 (then the request is retried once),
      as Claude Code does.
  python3 fleet_load.py github /opt/actions-runner RATE MAX_SECONDS STOPFILE OUT.json
      a GitHub Actions job per request: the runner's .env is read for each one.
Bounded: stops at STOPFILE or after MAX_SECONDS. Writes a summary (counts, statuses, errors without any
token) to OUT.json.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import sys
import time
import ssl
import urllib.error
import urllib.request


def settings(managed_dir):
    doc = {}
    for path in (os.path.expanduser("~/.claude/settings.json"), os.path.join(managed_dir, "managed-settings.json")):
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            continue
        doc.setdefault("env", {}).update(data.get("env") or {})
        if data.get("apiKeyHelper"):
            doc["apiKeyHelper"] = data["apiKeyHelper"]
    return doc


class Helper(object):
    def __init__(self, managed_dir):
        doc = settings(managed_dir)
        self.url = doc["env"]["ANTHROPIC_BASE_URL"]
        self.ca = doc["env"].get("NODE_EXTRA_CA_CERTS")
        self.helper = doc["apiKeyHelper"]
        self.ttl = int(doc["env"].get("CLAUDE_CODE_API_KEY_HELPER_TTL_MS") or 300000) / 1000.0
        self.token, self.read_at = None, 0

    def key(self, refresh=False):
        if refresh or self.token is None or time.time() - self.read_at > self.ttl:
            self.token = subprocess.run([self.helper], capture_output=True, text=True, check=True).stdout.strip()
            self.read_at = time.time()
        return self.url, self.token


class GithubJob(object):
    def __init__(self, runner_dir):
        # The job stand-in beside this file (verify.yml installs both in /usr/local/bin) reads .env as the runner.
        from runner_job import runner_env

        self.read = lambda: runner_env(runner_dir)
        self.ca = self.read().get("NODE_EXTRA_CA_CERTS")

    def key(self, refresh=False):
        env = self.read()
        return env["ANTHROPIC_BASE_URL"], env.get("ANTHROPIC_AUTH_TOKEN") or env.get("ANTHROPIC_API_KEY")


def tls_context(ca):
    """What Claude Code trusts: the system store plus the NODE_EXTRA_CA_CERTS bundle of its configuration."""
    context = ssl.create_default_context()
    if ca:
        context.load_verify_locations(cafile=ca)
    return context


def send(url, token, n, context=None):
    body = json.dumps({"model": "claude-haiku-4-5", "max_tokens": 16,
                       "messages": [{"role": "user", "content": "load %d" % n}]}).encode()
    req = urllib.request.Request(url.rstrip("/") + "/v1/messages", body, {
        "content-type": "application/json", "anthropic-version": "2023-06-01",
        "Authorization": "Bearer " + token, "x-api-key": token})
    try:
        with urllib.request.urlopen(req, timeout=30, context=context) as resp:
            resp.read()
            return resp.status
    except urllib.error.HTTPError as err:
        return err.code
    except Exception:  # connection refused, reset, timeout
        return 0


def main():
    mode, where, rate, max_seconds, stopfile, out = sys.argv[1:7]
    source = Helper(where) if mode == "helper" else GithubJob(where)
    context = tls_context(source.ca)
    period = 1.0 / float(rate)
    summary = {"mode": mode, "sent": 0, "ok": 0, "failed": 0, "retried_after_401": 0, "statuses": {},
               "errors": [], "started": time.time()}
    deadline = time.time() + float(max_seconds)
    n = 0
    while time.time() < deadline and not os.path.exists(stopfile):
        tick = time.time()
        n += 1
        try:
            url, token = source.key()
            status = send(url, token, n, context)
            if status == 401:  # what Claude Code does: run the helper again, retry once
                summary["retried_after_401"] += 1
                url, token = source.key(refresh=True)
                status = send(url, token, n, context)
        except Exception as exc:
            status = -1
            if len(summary["errors"]) < 10:
                summary["errors"].append(type(exc).__name__)
        summary["sent"] += 1
        summary["statuses"][str(status)] = summary["statuses"].get(str(status), 0) + 1
        if status == 200:
            summary["ok"] += 1
        else:
            summary["failed"] += 1
            if len(summary["errors"]) < 10:
                summary["errors"].append("request %d: HTTP %s at %.1f s" % (n, status, time.time() - summary["started"]))
        time.sleep(max(0.0, period - (time.time() - tick)))
    summary["seconds"] = round(time.time() - summary["started"], 1)
    summary["rate"] = round(summary["sent"] / max(summary["seconds"], 0.001), 2)
    with open(out + ".tmp", "w") as handle:
        json.dump(summary, handle)
    os.replace(out + ".tmp", out)


if __name__ == "__main__":
    main()

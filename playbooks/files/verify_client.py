# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Checks one client host of the gateway, run ON that host by playbooks/verify.yml.

The token is read through the client's real configuration (a workstation's apiKeyHelper run as the user, a
runner's environment file or config.toml) and used only inside this process: the JSON printed on stdout
holds check names, results and details, never a token. Input: JSON in $CLAUDE_GATEWAY_VERIFY.
"""

from __future__ import absolute_import, division, print_function

import glob
import json
import os
import pwd
import re
import subprocess
import sys

try:
    from urllib.request import Request, urlopen
    from urllib.error import HTTPError, URLError
except ImportError:  # pragma: no cover - Python 2 hosts are not supported
    sys.exit("verify_client.py needs Python 3")

try:
    import tomllib
except ImportError:  # Python < 3.11: a small reader for the runner's environment list is enough
    tomllib = None

SKIP_FLAGS = ("CLAUDE_CODE_SKIP_BEDROCK_AUTH", "CLAUDE_CODE_SKIP_VERTEX_AUTH")
AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
           "AWS_BEARER_TOKEN_BEDROCK")
PROVIDER_KEY = re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}")

CFG = json.loads(os.environ.get("CLAUDE_GATEWAY_VERIFY", "{}"))
RESULTS = []
SECRETS = []


def mask_tokens(text):
    text = str(text)
    for secret in SECRETS:
        if secret:
            text = text.replace(secret, "********")
    return text


def scrub(text):
    """What may be printed: no gateway token, no provider key, short."""
    return PROVIDER_KEY.sub("sk-ant-********", mask_tokens(text))[:400]


def record(check, ok, detail="", who=None):
    RESULTS.append({"check": check + (" (%s)" % who if who else ""), "ok": bool(ok), "detail": scrub(detail)})


def read_json(path):
    try:
        with open(path) as handle:
            return json.load(handle)
    except (IOError, OSError):
        return None
    except ValueError as exc:
        record("settings-readable", False, "%s is not valid JSON: %s" % (path, exc))
        return None


def read_env_file(path):
    """KEY=VALUE lines (a runner .env or a systemd EnvironmentFile)."""
    env = {}
    with open(path) as handle:
        for line in handle:
            line = line.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, value = line.split("=", 1)
            key = key.strip()
            if key.startswith("export "):
                key = key[7:].strip()
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            env[key] = value
    return env


def gitlab_env(path, runner):
    with open(path, "rb") as handle:
        raw = handle.read()
    if tomllib is None:
        raise RuntimeError("Python 3.11+ (tomllib) is needed to read %s" % path)
    data = tomllib.loads(raw.decode("utf-8"))
    for entry in data.get("runners", []):
        if entry.get("name") == runner:
            return dict(item.split("=", 1) for item in entry.get("environment", []) if "=" in item)
    raise RuntimeError("no [[runners]] entry named %r in %s" % (runner, path))


def home_of(user):
    try:
        return pwd.getpwnam(user).pw_dir
    except KeyError:
        return None


def workstation_config(user, home):
    """Effective env and apiKeyHelper for `user`: user settings, overridden by managed settings and drop-ins."""
    managed_dir = CFG.get("managed_dir", "/etc/claude-code")
    env, helper, sources = {}, None, []
    layers = [os.path.join(home, ".claude", "settings.json")] if home else []
    layers += [os.path.join(managed_dir, "managed-settings.json")]
    layers += sorted(glob.glob(os.path.join(managed_dir, "managed-settings.d", "*.json")))
    for path in layers:
        data = read_json(path)
        if isinstance(data, dict):
            sources.append(path)
            env.update({str(k): str(v) for k, v in (data.get("env") or {}).items()})
            helper = data.get("apiKeyHelper", helper)
    return env, helper, sources


def run_helper(helper, user, home):
    """Run the apiKeyHelper the way Claude Code does: as the user, through a shell."""
    account = pwd.getpwnam(user)
    env = {"HOME": home, "USER": user, "LOGNAME": user, "PATH": "/usr/local/bin:/usr/bin:/bin"}
    kwargs = {}
    if os.geteuid() == 0 and account.pw_uid != 0:
        kwargs = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
    elif os.geteuid() != account.pw_uid:
        raise RuntimeError("cannot run the helper as %s without root (use become)" % user)
    proc = subprocess.run(["/bin/sh", "-c", helper], check=False, env=env, cwd=home if os.path.isdir(home) else "/",
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30, **kwargs)
    if proc.returncode != 0:
        raise RuntimeError("apiKeyHelper %s exited %d: %s" % (helper, proc.returncode,
                                                              proc.stderr.decode("utf-8", "replace").strip()))
    token = proc.stdout.decode("utf-8", "replace").strip()
    if not token:
        raise RuntimeError("apiKeyHelper %s printed nothing" % helper)
    return token


def http(url, data=None, headers=None):
    req = Request(url, data=json.dumps(data).encode() if data is not None else None, headers=headers or {},
                  method="POST" if data is not None else "GET")
    try:
        with urlopen(req, timeout=float(CFG.get("timeout", 60))) as resp:
            return resp.status, resp.read().decode("utf-8", "replace")
    except HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")


def check_settings(env, who):
    expected = CFG.get("expected_env") or {}
    wrong = []
    for key, value in sorted(expected.items()):
        if key in SKIP_FLAGS or key.endswith("_BASE_URL") or key.startswith("CLAUDE_CODE_USE_"):
            if env.get(key, "").rstrip("/") != str(value).rstrip("/"):
                wrong.append("%s is %r, policy says %r" % (key, env.get(key), value))
    for flag in SKIP_FLAGS:
        if flag not in expected and flag in env:
            wrong.append("%s is set (%r) but the policy does not allow it on this host" % (flag, env[flag]))
    flags = [k for k in sorted(expected) if k in SKIP_FLAGS]
    record("bypass-flags", not [w for w in wrong if "SKIP" in w],
           "; ".join(w for w in wrong if "SKIP" in w) or "as policy says: %s" % (", ".join(flags) or "none"), who)
    url = env.get("ANTHROPIC_BASE_URL", "")
    record("gateway-url", url.rstrip("/") == CFG["gateway_url"].rstrip("/") and not [w for w in wrong if "SKIP" not in w],
           "; ".join(w for w in wrong if "SKIP" not in w) or
           ("ANTHROPIC_BASE_URL=%s" % url if url.rstrip("/") == CFG["gateway_url"].rstrip("/")
            else "ANTHROPIC_BASE_URL is %r, expected %r" % (url or None, CFG["gateway_url"])), who)
    return url


def check_request(url, token, who):
    body = {"model": CFG.get("model", "claude-haiku-4-5"), "max_tokens": 16,
            "messages": [{"role": "user", "content": "Reply with OK."}]}
    headers = {"content-type": "application/json", "anthropic-version": "2023-06-01"}
    if CFG.get("token_env_var") == "ANTHROPIC_API_KEY":
        headers["x-api-key"] = token
    else:
        headers["Authorization"] = "Bearer " + token
    try:
        status, text = http(url.rstrip("/") + "/v1/messages", body, headers)
    except (URLError, OSError) as exc:
        record("request", False, "POST /v1/messages failed: %s" % exc, who)
        return
    ok = status == 200
    if ok:
        try:
            ok = json.loads(text).get("type") == "message"
        except ValueError:
            ok = False
    record("request", ok, "POST /v1/messages model=%s: HTTP %s%s" % (body["model"], status, "" if ok else " " + text[:200]),
           who)


def check_cloud(env, homes, extra_texts):
    found = []
    for key in AWS_ENV:
        if env.get(key):
            found.append("%s in the client environment" % key)
    gac = env.get("GOOGLE_APPLICATION_CREDENTIALS")
    if gac:
        found.append("GOOGLE_APPLICATION_CREDENTIALS=%s%s" % (gac, " (file exists)" if os.path.exists(gac) else ""))
    for home in sorted(set(h for h in homes if h)):
        for rel in (".aws/credentials", ".aws/config", ".config/gcloud/application_default_credentials.json"):
            if os.path.exists(os.path.join(home, rel)):
                found.append(os.path.join(home, rel))
    for name in ("/etc/environment",) + tuple(sorted(glob.glob("/etc/profile.d/*.sh"))):
        try:
            with open(name) as handle:
                text = handle.read()
        except (IOError, OSError):
            continue
        extra_texts.append((name, text))
    for name, text in extra_texts:
        if PROVIDER_KEY.search(text):
            found.append("an Anthropic API key (sk-ant-...) in %s" % name)
        for key in AWS_ENV[:3]:
            if re.search(r"(^|\s|export\s+)%s=\S" % key, text):
                found.append("%s in %s" % (key, name))
        if re.search(r"(^|\s|export\s+)GOOGLE_APPLICATION_CREDENTIALS=\S", text):
            found.append("GOOGLE_APPLICATION_CREDENTIALS in %s" % name)
    if any(PROVIDER_KEY.search(str(v)) for v in env.values()):
        found.append("an Anthropic API key (sk-ant-...) in the client environment")
    record("no-cloud-credentials", not found, "; ".join(sorted(set(found))) or "none found")


def main():
    kind = CFG.get("kind", "workstation")
    url = CFG["gateway_url"]
    if CFG.get("policy_error"):
        record("policy", False, CFG["policy_error"])
    try:
        status, _ignored = http(url.rstrip("/") + "/health/liveliness")
        record("liveliness", status == 200, "GET %s/health/liveliness: HTTP %s" % (url.rstrip("/"), status))
    except (URLError, OSError) as exc:
        record("liveliness", False, "GET %s/health/liveliness: %s" % (url.rstrip("/"), exc))

    homes, texts, all_env = [home_of("root")], [], {}
    if kind == "workstation":
        users = CFG.get("users") or []
        if not users:
            record("config", False, "no claude_code_users to check on this workstation")
        for user in users:
            home = CFG.get("home") or home_of(user)
            if home is None:
                record("config", False, "user %s does not exist" % user, user)
                continue
            homes.append(home)
            env, helper, sources = workstation_config(user, home)
            all_env.update(env)
            for path in sources:
                with open(path) as handle:
                    texts.append((path, handle.read()))
            base = check_settings(env, user)
            if not helper:
                record("request", False, "no apiKeyHelper in %s" % (", ".join(sources) or "any settings file"), user)
                continue
            try:
                token = run_helper(helper, user, home)
            except (RuntimeError, OSError, KeyError, subprocess.SubprocessError) as exc:
                record("request", False, str(exc), user)
                continue
            SECRETS.append(token)
            check_request(base or url, token, user)
    else:
        try:
            if kind == "github_actions":
                path = os.path.join(CFG["github_runner_dir"], ".env")
                env = read_env_file(path)
                owner = pwd.getpwuid(os.stat(path).st_uid)
                homes.append(owner.pw_dir)
            elif kind == "gitlab_runner":
                path = CFG.get("gitlab_config", "/etc/gitlab-runner/config.toml")
                env = gitlab_env(path, CFG["gitlab_runner_name"])
                homes.append(home_of("gitlab-runner"))
            else:
                out = subprocess.run(["systemctl", "show", "--property=EnvironmentFiles", CFG["systemd_service"]], check=False,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30)
                paths = re.findall(r"EnvironmentFiles=(\S+)", out.stdout.decode())
                if not paths:
                    raise RuntimeError("unit %s has no EnvironmentFile" % CFG["systemd_service"])
                env, path = {}, ", ".join(paths)
                for one in paths:
                    env.update(read_env_file(one.lstrip("-")))
            with open(path.split(", ")[0]) as handle:
                texts.append((path, handle.read()))
        except (RuntimeError, OSError, KeyError, ValueError) as exc:
            record("config", False, str(exc))
            env = None
        if env is not None:
            all_env.update(env)
            base = check_settings(env, None)
            token = env.get(CFG.get("token_env_var") or "ANTHROPIC_AUTH_TOKEN")
            if token:
                SECRETS.append(token)
                check_request(base or url, token, None)
            else:
                record("request", False, "%s is not set in %s" % (CFG.get("token_env_var") or "ANTHROPIC_AUTH_TOKEN", path))
    # Token values are scrubbed from the texts before they are searched for provider keys.
    check_cloud(all_env, homes, [(n, mask_tokens(t)) for n, t in texts])
    print(json.dumps({"checks": RESULTS}))


if __name__ == "__main__":
    main()

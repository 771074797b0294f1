#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: claude_code_client_check
short_description: Check a Claude Code client of the gateway through its real configuration
version_added: 0.1.0
description:
  - Reads a client's configuration as Claude Code or the CI runner reads it, and checks it against what the
    policy says, then sends a real authenticated request to the gateway with the client's own token.
  - A workstation's settings are the user's C(~/.claude/settings.json), then C(managed-settings.json), then the
    C(managed-settings.d/*.json) drop-ins in sorted order, each merged on top of the ones before (objects key
    by key, arrays joined, other values from the later file), as Claude Code merges them. Its token is what
    the C(apiKeyHelper) prints, run as the user through C(/bin/sh -c) as Claude Code runs it (never as root),
    and it is sent as C(x-api-key) and as C(Authorization) Bearer, as Claude Code sends it.
  - A GitHub Actions runner's variables come from C(<runner dir>/.env), a GitLab Runner's from the
    C(environment) of its C([[runners]]) table in C(config.toml), a systemd service's from the unit's
    C(EnvironmentFile)s; the token is the variable O(token_env_var).
  - Files in directories a user controls are read without following a link that user could have planted.
  - Changes nothing (check mode is supported and C(changed) is always false). A token is used only inside the
    module - never in its results, messages or logs.
author:
  - llmops.claude_gateway maintainers (@llmops)
options:
  client:
    description: Kind of client on this host.
    type: str
    choices: [workstation, github_actions, gitlab_runner, systemd]
    default: workstation
  checks:
    description:
      - The checks to run. V(policy) - O(policy_error) is empty. V(bypass-flags) - the C(CLAUDE_CODE_SKIP_*_AUTH)
        flags are set exactly as O(expected_env) says. V(gateway-url) - C(ANTHROPIC_BASE_URL) (and the
        Bedrock/Vertex base URLs and client mode flags of O(expected_env)) is O(gateway_url).
        V(tls) - for an C(https://) gateway, a TLS handshake from this host with the CAs Claude Code trusts
        (the system store plus the client's C(NODE_EXTRA_CA_CERTS), which must be what O(expected_env) says and
        readable) must verify the chain and the gateway's host name; a certificate expiring within
        O(tls_warn_days) days is a warning (RV(tls_warnings)).
        V(liveliness) - C(<gateway_url>/health/liveliness) answers 200 from this host. V(request) - one request
        per O(requests) entry. V(no-cloud-credentials) - no AWS, GCP or Anthropic credentials in the client's
        configuration, the users' homes, C(/etc/environment) or C(/etc/profile.d).
    type: list
    elements: str
    choices: [policy, bypass-flags, gateway-url, tls, liveliness, request, no-cloud-credentials]
    default: [policy, bypass-flags, gateway-url, tls, liveliness, request, no-cloud-credentials]
  gateway_url:
    description: The gateway's base URL the client must use.
    type: str
  expected_env:
    description: The non-secret environment the policy gives this client (the C(env) of the C(claude_code_policy) filter).
    type: dict
    default: {}
  policy_error:
    description: The policy's refusal for this host's profile, if any.
    type: str
  users:
    description:
      - Workstation accounts to check, each C(name) and optionally C(home) (default the account's home).
    type: list
    elements: dict
    default: []
  requests:
    description:
      - The client accounts to send a request as, each C(client) (a label for the results) and C(user) (the
        workstation account whose configuration and helper are used; none for a runner).
      - Default - one per O(users) entry on a workstation (C(client) = the user name), one for the runner otherwise
        (C(client) = O(client)).
    type: list
    elements: dict
  path:
    description:
      - The gateway path of the request. V(/v1/messages) sends a C(POST) with O(model) and needs a message back;
        any other path (e.g. V(/v1/models)) a C(GET) answered 200.
    type: str
    default: /v1/messages
  model:
    description: The model of a V(/v1/messages) request.
    type: str
    default: claude-haiku-4-5
  token_env_var:
    description: A runner's variable holding the token (V(ANTHROPIC_API_KEY) is sent as C(x-api-key), else Bearer).
    type: str
    default: ANTHROPIC_AUTH_TOKEN
  managed_dir:
    description: Directory of C(managed-settings.json) and C(managed-settings.d).
    type: path
    default: /etc/claude-code
  github_runner_dir:
    description: The GitHub Actions runner directory (holding C(.env)).
    type: path
  gitlab_config:
    description: GitLab Runner's C(config.toml).
    type: path
    default: /etc/gitlab-runner/config.toml
  gitlab_runner_name:
    description: The C(name) of the GitLab Runner's C([[runners]]) table.
    type: str
  systemd_service:
    description: The systemd service of a V(systemd) client.
    type: str
  timeout:
    description: Seconds to wait for the gateway and for the C(apiKeyHelper).
    type: int
    default: 60
  tls_warn_days:
    description: The V(tls) check warns about a gateway certificate expiring within this many days.
    type: int
    default: 14
notes:
  - Requests to an C(https://) gateway trust what Claude Code trusts - the system store plus the CA bundle named
    by C(NODE_EXTRA_CA_CERTS) (the client's own for V(request), the one of O(expected_env) for V(liveliness)).
  - Run it as root (become) to check several users of a workstation; without root it can run only the current
    user's helper.
"""

EXAMPLES = r"""
- name: Check every client account of this host
  llmops.claude_gateway.claude_code_client_check:
    gateway_url: https://gateway.example.com
    expected_env: "{{ policy.env }}"
    users: [{name: alice}, {name: bob}]
  register: check

- name: One authenticated request as alice's client, as a rotation does
  llmops.claude_gateway.claude_code_client_check:
    checks: [request]
    requests: [{client: alice-laptop, user: alice}]
    path: /v1/models
"""

RETURN = r"""
checks:
  description: One entry per check (per user for the per-user checks, named like C(request (alice))).
  returned: always
  type: list
  elements: dict
  contains:
    check:
      description: The check's name, with the user in brackets for a per-user check.
      type: str
    ok:
      description: Whether it passed.
      type: bool
    detail:
      description: What was found (never a token).
      type: str
  sample: [{check: "request (alice)", ok: true, detail: "POST /v1/messages model=claude-haiku-4-5: HTTP 200"}]
requests:
  description: One entry per O(requests) entry, when V(request) is among O(checks).
  returned: always
  type: list
  elements: dict
  contains:
    client:
      description: The entry's C(client).
      type: str
    user:
      description: The entry's C(user).
      type: str
    url:
      description: The gateway URL read from the client's configuration.
      type: str
    status:
      description: The HTTP status, null when no answer came.
      type: int
    ok:
      description: Whether the request succeeded.
      type: bool
    error:
      description: Why not (never a token).
      type: str
  sample: [{client: alice-laptop, user: alice, url: "https://gateway.example.com", status: 200, ok: true, error: ""}]
tls_warnings:
  description: Gateway certificates expiring within O(tls_warn_days) days (the V(tls) check passes with them).
  returned: always
  type: list
  elements: str
  sample: ["the gateway certificate of https://gateway.example.com (CN=gateway.example.com) expires in 9 days"]
"""

import json
import os
import pwd
import re
import socket
import ssl
import subprocess
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native
from ansible.module_utils.urls import Request
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.six.moves.urllib.parse import urlsplit

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.dotenv import parse_dotenv
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.errors import FileFormatError
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.gitlab_toml import gitlab_runner_env
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.masking import MASK
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.safe_file import (
    SafeFileError,
    read_file,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.settings import (
    read_settings,
    settings_layers,
)

CHECKS = ["policy", "bypass-flags", "gateway-url", "tls", "liveliness", "request", "no-cloud-credentials"]
CA_ENV = "NODE_EXTRA_CA_CERTS"
SKIP_FLAGS = ("CLAUDE_CODE_SKIP_BEDROCK_AUTH", "CLAUDE_CODE_SKIP_VERTEX_AUTH")
AWS_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_BEARER_TOKEN_BEDROCK")
CLOUD_FILES = (".aws/credentials", ".aws/config", ".config/gcloud/application_default_credentials.json")
PROVIDER_KEY = re.compile(r"sk-ant-[A-Za-z0-9_-]{8,}")
HELPER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
READ_ERRORS = (OSError, SafeFileError, FileFormatError, UnicodeDecodeError, ValueError)


class ClientCheck(object):
    """The checks of one host: results as they come, and the tokens to keep out of them."""

    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.checks = []
        self.requests = []
        self.tokens = []
        self.tls_warnings = []
        self.tls_seen = {}

    def wanted(self, check):
        return check in self.params["checks"]

    def scrub(self, text):
        """What may be shown: no token read here, no provider key, short."""
        text = to_native(text)
        for token in self.tokens:
            text = text.replace(token, MASK)
        return PROVIDER_KEY.sub("sk-ant-" + MASK, text)[:400]

    def record(self, check, ok, detail, who=None):
        self.checks.append({"check": check + (" (%s)" % who if who else ""), "ok": bool(ok), "detail": self.scrub(detail)})

    def keep_secret(self, token):
        self.tokens.append(token)
        self.module.no_log_values.add(token)

    # ---------------------------------------------------------------- reading the client's configuration
    def workstation(self, user, home):
        """(env, apiKeyHelper, files read) of ``user`` as Claude Code resolves them."""
        settings, sources = read_settings(settings_layers(self.params["managed_dir"], home))
        env = dict((str(k), str(v)) for k, v in (settings.get("env") or {}).items())
        return env, settings.get("apiKeyHelper"), sources

    def runner(self):
        """(env, files read, home of the runner's owner) of a CI runner."""
        kind = self.params["client"]
        if kind == "github_actions":
            path = os.path.join(self.params["github_runner_dir"] or "", ".env")
            data = read_file(path)
            if data is None:
                raise OSError("%s does not exist" % path)
            return parse_dotenv(data.decode("utf-8")), [path], pwd.getpwuid(os.stat(path).st_uid).pw_dir
        if kind == "gitlab_runner":
            path = self.params["gitlab_config"]
            data = read_file(path)
            if data is None:
                raise OSError("%s does not exist" % path)
            env = gitlab_runner_env(data.decode("utf-8"), self.params["gitlab_runner_name"])
            if env is None:
                raise ValueError("no [[runners]] named %r in %s" % (self.params["gitlab_runner_name"], path))
            return env, [path], home_of("gitlab-runner")
        rc, out, err = self.module.run_command(["systemctl", "show", "--property=EnvironmentFiles",
                                                self.params["systemd_service"] or ""])
        paths = re.findall(r"EnvironmentFiles=-?(\S+)", out)
        if rc != 0 or not paths:
            raise ValueError("unit %s has no EnvironmentFile %s" % (self.params["systemd_service"], err.strip()))
        env = {}
        for path in paths:
            env.update(parse_dotenv((read_file(path) or b"").decode("utf-8")))
        return env, paths, None

    def run_helper(self, helper, user, home):
        """The token the apiKeyHelper prints, run as ``user`` through a shell as Claude Code runs it."""
        account = pwd.getpwnam(user)
        ids = {}
        if os.geteuid() == 0 and account.pw_uid != 0:
            ids = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
        elif os.geteuid() != account.pw_uid:
            raise OSError("cannot run the apiKeyHelper as %s without root (use become)" % user)
        env = {"HOME": home, "USER": user, "LOGNAME": user, "SHELL": account.pw_shell or "/bin/sh", "PATH": HELPER_PATH}
        proc = subprocess.run(["/bin/sh", "-c", helper], env=env, cwd="/", stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=self.params["timeout"],
                              check=False, **ids)
        token = proc.stdout.decode("utf-8", "replace").strip()
        if token:
            self.keep_secret(token)
        if proc.returncode != 0:
            raise OSError("apiKeyHelper %s exited %d: %s" % (helper, proc.returncode,
                                                             proc.stderr.decode("utf-8", "replace").strip()[:200]))
        if not token:
            raise OSError("apiKeyHelper %s printed nothing" % helper)
        return token

    # ---------------------------------------------------------------- checks
    def settings_checks(self, env, who):
        expected = self.params["expected_env"] or {}
        gateway = (self.params["gateway_url"] or "").rstrip("/")
        flags, routing = [], []
        for key, value in sorted(expected.items()):
            if (key in SKIP_FLAGS or key.endswith("_BASE_URL") or key.startswith("CLAUDE_CODE_USE_")) and \
                    env.get(key, "").rstrip("/") != str(value).rstrip("/"):
                (flags if key in SKIP_FLAGS else routing).append("%s is %r, policy says %r" % (key, env.get(key), value))
        flags += ["%s is set (%r) but the policy does not allow it on this host" % (flag, env[flag])
                  for flag in SKIP_FLAGS if flag not in expected and flag in env]
        if self.wanted("bypass-flags"):
            allowed = ", ".join(k for k in sorted(expected) if k in SKIP_FLAGS) or "none"
            self.record("bypass-flags", not flags, "; ".join(flags) or "as policy says: %s" % allowed, who)
        url = env.get("ANTHROPIC_BASE_URL", "")
        if self.wanted("gateway-url"):
            right = url.rstrip("/") == gateway
            detail = "; ".join(routing) or ("ANTHROPIC_BASE_URL=%s" % url if right else
                                            "ANTHROPIC_BASE_URL is %r, expected %r" % (url or None, gateway))
            self.record("gateway-url", right and not routing, detail, who)

    def liveliness(self):
        url = (self.params["gateway_url"] or "").rstrip("/") + "/health/liveliness"
        status, error = self.http("GET", url, ca=(self.params["expected_env"] or {}).get(CA_ENV))
        self.record("liveliness", status == 200, "GET %s: %s" % (url, "HTTP %s" % status if status else error))

    def http(self, method, url, body=None, headers=None, ca=None):
        """(status, error) of one request; the body is read only to tell a message from an error.

        ``ca`` is a CA bundle trusted besides the system store, as Claude Code trusts NODE_EXTRA_CA_CERTS.
        """
        try:
            context = None
            if url.lower().startswith("https://"):
                context = ssl.create_default_context()
                if ca:
                    context.load_verify_locations(cafile=ca)
            resp = Request().open(method, url, data=json.dumps(body) if body is not None else None,
                                  headers=headers or {}, timeout=self.params["timeout"], follow_redirects="none",
                                  context=context)
            text = resp.read().decode("utf-8", "replace")
            if body is not None:
                try:
                    if json.loads(text).get("type") != "message":
                        return resp.getcode(), "the answer is not a message: %s" % text[:200]
                except (ValueError, AttributeError):
                    return resp.getcode(), "the answer is not JSON: %s" % text[:200]
            return resp.getcode(), ""
        except HTTPError as exc:
            return exc.code, "HTTP %d from the gateway: %s" % (exc.code, exc.read().decode("utf-8", "replace")[:200])
        except (URLError, OSError, ValueError, ssl.SSLError) as exc:
            return None, "%s %s failed: %s" % (method, url, exc)

    def tls(self, env, who):
        """The TLS check of one client configuration: the handshake Claude Code would make."""
        url = env.get("ANTHROPIC_BASE_URL") or self.params["gateway_url"] or ""
        parts = urlsplit(url)
        if parts.scheme.lower() != "https":
            self.record("tls", True, "%s is not https: no certificate to check" % (url or "no gateway URL"), who)
            return
        expected = (self.params["expected_env"] or {}).get(CA_ENV)
        ca = env.get(CA_ENV)
        if (expected or ca) and ca != expected:
            self.record("tls", False, "%s is %r, the policy says %r. Fix: run the claude_code role again (it sets %s "
                        "from claude_code_ca_bundle)" % (CA_ENV, ca, expected, CA_ENV), who)
            return
        key = (parts.hostname, parts.port or 443, ca)
        if key not in self.tls_seen:
            self.tls_seen[key] = self.handshake(url, parts.hostname, parts.port or 443, ca)
        ok, detail, warning = self.tls_seen[key]
        if warning and warning not in self.tls_warnings:
            self.tls_warnings.append(warning)
        self.record("tls", ok, detail, who)

    def handshake(self, url, host, port, ca):
        """(ok, detail, warning) of a TLS handshake with the system store plus ``ca``, as Claude Code makes it."""
        trust = "the system store" + (" and %s" % ca if ca else "")
        try:
            context = ssl.create_default_context()
            if ca:
                context.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError, ValueError) as exc:
            return (False, "%s=%s cannot be loaded (%s): Claude Code ignores it ('Ignoring extra certs') and fails "
                    "with UNABLE_TO_VERIFY_LEAF_SIGNATURE. Fix: push the CA bundle again (claude_code_ca_bundle)"
                    % (CA_ENV, ca, exc), None)
        try:
            with socket.create_connection((host, port), timeout=self.params["timeout"]) as sock:
                with context.wrap_socket(sock, server_hostname=host) as tls:
                    cert = tls.getpeercert()
        except ssl.SSLCertVerificationError as exc:
            reason = str(exc.verify_message or exc)
            if "mismatch" in reason.lower() or "hostname" in reason.lower():
                fix = ("give the gateway a certificate whose subjectAltName covers %s (litellm_tls_names), or use a "
                       "name of the certificate in claude_gateway_url" % host)
            else:
                fix = ("push the CA that issued the gateway's certificate (claude_code_ca_bundle; Claude Code then "
                       "gets %s)" % CA_ENV)
            return False, "the certificate of %s does not verify: %s. Fix: %s (trusted here: %s)" % (
                url, reason, fix, trust), None
        except (OSError, ssl.SSLError) as exc:
            return False, "TLS handshake with %s:%s failed: %s" % (host, port, exc), None
        expires = ssl.cert_time_to_seconds(cert["notAfter"])
        days = int((expires - time.time()) // 86400)
        subject = dict(item for rdn in cert.get("subject", ()) for item in rdn).get("commonName", "")
        detail = "chain verified with %s; certificate %s expires %s (%d days)" % (
            trust, "CN=%s" % subject if subject else "for %s" % host, cert["notAfter"], days)
        warning = None
        if days < self.params["tls_warn_days"]:
            warning = "the gateway certificate of %s (%s) expires in %d days, on %s: renew it" % (
                url, "CN=%s" % subject if subject else host, days, cert["notAfter"])
        return True, detail, warning

    def request(self, entry, url, token, both_headers, ca=None):
        path = self.params["path"]
        headers = {"anthropic-version": "2023-06-01"}
        if both_headers or self.params["token_env_var"] == "ANTHROPIC_API_KEY":
            headers["x-api-key"] = token
        if both_headers or self.params["token_env_var"] != "ANTHROPIC_API_KEY":
            headers["Authorization"] = "Bearer " + token
        body = None
        if path == "/v1/messages":
            headers["content-type"] = "application/json"
            body = {"model": self.params["model"], "max_tokens": 16,
                    "messages": [{"role": "user", "content": "Reply with OK."}]}
        status, error = self.http("POST" if body else "GET", url.rstrip("/") + path, body, headers, ca=ca)
        ok = status == 200 and not error
        what = "%s %s%s" % ("POST" if body else "GET", path, " model=%s" % self.params["model"] if body else "")
        self.request_result(entry, url, status, ok, error, "%s: HTTP %s%s" % (what, status, "" if ok else " " + error))

    def request_result(self, entry, url, status, ok, error, detail=None):
        self.requests.append({"client": entry.get("client"), "user": entry.get("user"), "url": url, "status": status,
                              "ok": ok, "error": self.scrub(error)})
        self.record("request", ok, detail or error, entry.get("user"))

    def cloud_credentials(self, env, homes, sources):
        found = ["%s in the client environment" % key for key in AWS_ENV if env.get(key)]
        if env.get("GOOGLE_APPLICATION_CREDENTIALS"):
            found.append("GOOGLE_APPLICATION_CREDENTIALS=%s" % env["GOOGLE_APPLICATION_CREDENTIALS"])
        if any(PROVIDER_KEY.search(str(value)) for value in env.values()):
            found.append("an Anthropic API key (sk-ant-...) in the client environment")
        for home in sorted(set(h for h in homes if h)):
            # lexists: the name is enough, and a link a user planted there is not followed.
            found += [os.path.join(home, rel) for rel in CLOUD_FILES if os.path.lexists(os.path.join(home, rel))]
        profile_d = sorted(os.path.join("/etc/profile.d", n) for n in _listdir("/etc/profile.d") if n.endswith(".sh"))
        for path in list(sources) + ["/etc/environment"] + profile_d:
            try:
                text = (read_file(path) or b"").decode("utf-8", "replace")
            except READ_ERRORS:
                continue
            for token in self.tokens:  # the client's own token is no cloud credential
                text = text.replace(token, MASK)
            if PROVIDER_KEY.search(text):
                found.append("an Anthropic API key (sk-ant-...) in %s" % path)
            for key in AWS_ENV[:3] + ("GOOGLE_APPLICATION_CREDENTIALS",):
                if re.search(r"(^|\s|export\s+)%s=\S" % key, text):
                    found.append("%s in %s" % (key, path))
        self.record("no-cloud-credentials", not found, "; ".join(sorted(set(found))) or "none found")

    # ---------------------------------------------------------------- the run
    def run(self):
        params = self.params
        if self.wanted("policy"):
            self.record("policy", not params["policy_error"], params["policy_error"] or "the profile passes the policy")
        if self.wanted("liveliness"):
            self.liveliness()
        config_checks = [c for c in ("bypass-flags", "gateway-url", "tls", "request", "no-cloud-credentials")
                         if self.wanted(c)]
        if not config_checks:
            return
        homes, sources, all_env = [home_of("root")], [], {}
        if params["client"] == "workstation":
            self.workstation_checks(homes, sources, all_env)
        else:
            self.runner_checks(homes, sources, all_env)
        if self.wanted("no-cloud-credentials"):
            self.cloud_credentials(all_env, homes, sources)

    def workstation_checks(self, homes, sources, all_env):
        users = [u for u in self.params["users"] if isinstance(u, dict) and u.get("name")]
        if not users and self.params["requests"] is None:
            self.record("config", False, "no users to check on this workstation")
        requests = self.params["requests"]
        if requests is None:
            requests = [{"client": u["name"], "user": u["name"]} for u in users]
        homes_by_user = dict((u["name"], u.get("home") or home_of(u["name"])) for u in users)
        for entry in requests:
            if entry.get("user") and entry["user"] not in homes_by_user:
                homes_by_user[entry["user"]] = home_of(entry["user"])
        configs = {}
        for user, home in homes_by_user.items():
            if home is None:
                self.record("config", False, "user %s does not exist" % user, user)
                continue
            homes.append(home)
            try:
                env, helper, read = self.workstation(user, home)
            except READ_ERRORS as exc:
                self.record("config", False, "the settings of %s cannot be read: %s" % (user, to_native(exc)), user)
                continue
            configs[user] = (env, helper, home)
            all_env.update(env)
            sources.extend(p for p in read if p not in sources)
            if user in [u["name"] for u in users]:
                self.settings_checks(env, user)
                if self.wanted("tls"):
                    self.tls(env, user)
        if not self.wanted("request"):
            return
        for entry in requests:
            user = entry.get("user")
            if user not in configs:
                self.request_result(entry, None, None, False, "no readable Claude Code settings for user %s" % user)
                continue
            env, helper, home = configs[user]
            url = env.get("ANTHROPIC_BASE_URL")
            if not url or not helper:
                problem = "no %s in %s" % ("ANTHROPIC_BASE_URL" if not url else "apiKeyHelper",
                                           ", ".join(sources) or "any settings file")
                self.request_result(entry, url, None, False, problem)
                continue
            try:
                token = self.run_helper(helper, user, home)
            except (OSError, KeyError, subprocess.SubprocessError) as exc:
                self.request_result(entry, url, None, False, to_native(exc))
                continue
            self.request(entry, url, token, both_headers=True, ca=env.get(CA_ENV))

    def runner_checks(self, homes, sources, all_env):
        requests = self.params["requests"]
        if requests is None:
            requests = [{"client": self.params["client"], "user": None}]
        try:
            env, read, home = self.runner()
        except READ_ERRORS as exc:
            self.record("config", False, to_native(exc))
            for entry in requests if self.wanted("request") else []:
                self.request_result(entry, None, None, False, to_native(exc))
            return
        homes.append(home)
        sources.extend(read)
        all_env.update(env)
        self.settings_checks(env, None)
        if self.wanted("tls"):
            self.tls(env, None)
        var = self.params["token_env_var"]
        token = env.get(var)
        if token:
            self.keep_secret(token)
        for entry in requests if self.wanted("request") else []:
            url = env.get("ANTHROPIC_BASE_URL")
            if not url or not token:
                problem = "%s is not set in %s" % ("ANTHROPIC_BASE_URL" if not url else var, ", ".join(read))
                self.request_result(entry, url, None, False, problem)
            else:
                self.request(entry, url, token, both_headers=False, ca=env.get(CA_ENV))


def home_of(user):
    try:
        return pwd.getpwnam(user).pw_dir
    except KeyError:
        return None


def _listdir(path):
    try:
        return os.listdir(path)
    except OSError:
        return []


def main():
    module = AnsibleModule(
        argument_spec=dict(
            client=dict(type="str", default="workstation", choices=["workstation", "github_actions", "gitlab_runner",
                                                                    "systemd"]),
            checks=dict(type="list", elements="str", default=list(CHECKS), choices=CHECKS),
            gateway_url=dict(type="str"),
            expected_env=dict(type="dict", default={}),
            policy_error=dict(type="str"),
            users=dict(type="list", elements="dict", default=[]),
            requests=dict(type="list", elements="dict"),
            path=dict(type="str", default="/v1/messages"),
            model=dict(type="str", default="claude-haiku-4-5"),
            token_env_var=dict(type="str", default="ANTHROPIC_AUTH_TOKEN", no_log=False),
            managed_dir=dict(type="path", default="/etc/claude-code"),
            github_runner_dir=dict(type="path"),
            gitlab_config=dict(type="path", default="/etc/gitlab-runner/config.toml"),
            gitlab_runner_name=dict(type="str"),
            systemd_service=dict(type="str"),
            timeout=dict(type="int", default=60),
            tls_warn_days=dict(type="int", default=14),
        ),
        required_if=[("client", "github_actions", ["github_runner_dir"]),
                     ("client", "gitlab_runner", ["gitlab_runner_name"]),
                     ("client", "systemd", ["systemd_service"])],
        supports_check_mode=True,
    )
    if module.params["gateway_url"] is None and set(module.params["checks"]) & set(["gateway-url", "liveliness"]):
        module.fail_json(msg="gateway_url is required for the gateway-url and liveliness checks")
    check = ClientCheck(module)
    check.run()
    for warning in check.tls_warnings:
        module.warn(warning)
    module.exit_json(changed=False, checks=check.checks, requests=check.requests, tls_warnings=check.tls_warnings)


if __name__ == "__main__":
    main()

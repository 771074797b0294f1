# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Claude Code client profiles: the policy checks and the file edits behind them.

Shared by the ``claude_code_settings`` and ``claude_code_runner_env`` modules (file edits) and by the
``claude_code_policy`` filter the ``claude_code`` role runs on the controller before it touches a host.
Nothing here ever puts a secret value in a message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import ipaddress
import json
import os
import re
import tempfile

from ansible.module_utils.common.text.converters import to_native

try:
    from urllib.parse import urlsplit
except ImportError:  # pragma: no cover - Python 2 is not supported, keeps the sanity import test quiet
    from urlparse import urlsplit  # type: ignore

try:
    import tomllib
except ImportError:  # pragma: no cover - Python < 3.11 on a managed host
    tomllib = None

CLIENT_KINDS = ("workstation", "github_actions", "gitlab_runner", "systemd")
PROVIDERS = ("anthropic", "bedrock", "vertex")
DIRECT_PROVIDERS = ("bedrock", "vertex")
CLIENT_MODES = ("anthropic", "bedrock", "vertex")
TOKEN_ENV_VARS = ("ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY")
SETTINGS_SCOPES = ("managed", "managed_dropin", "user")
HELPER_TTL_ENV = "CLAUDE_CODE_API_KEY_HELPER_TTL_MS"
SKIP_FLAGS = {"bedrock": "CLAUDE_CODE_SKIP_BEDROCK_AUTH", "vertex": "CLAUDE_CODE_SKIP_VERTEX_AUTH"}
# Accepted spellings of "on" for a flag (the seed guide's list); every one is written as "1".
FLAG_ON = ("1", "true", "True")
# Variables the role owns: setting them through claude_code_env would bypass the policy.
RESERVED_ENV = ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_SKIP_BEDROCK_AUTH",
                "CLAUDE_CODE_SKIP_VERTEX_AUTH", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX",
                "ANTHROPIC_BEDROCK_BASE_URL", "ANTHROPIC_VERTEX_BASE_URL")
# Credentials in the client's own environment mean it reaches that provider directly.
DIRECT_ACCESS_ENV = {
    "bedrock": ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                "AWS_BEARER_TOKEN_BEDROCK"),
    "vertex": ("GOOGLE_APPLICATION_CREDENTIALS",),
}
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Shapes of provider credentials that must never be handed out as a gateway token.
PROVIDER_KEY_PATTERNS = (
    (re.compile(r"^sk-ant-"), "an Anthropic API key (sk-ant-...)"),
    (re.compile(r"^(AKIA|ASIA)[A-Z0-9]{12,}$"), "an AWS access key ID (AKIA.../ASIA...)"),
    (re.compile(r"^ABSK[A-Za-z0-9+/=]{20,}$"), "an Amazon Bedrock API key (ABSK...)"),
    (re.compile(r"^AIza[0-9A-Za-z_-]{30,}$"), "a Google API key (AIza...)"),
    (re.compile(r"^ya29\."), "a Google OAuth access token (ya29....)"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|\"type\"\s*:\s*\"service_account\""),
     "a private key or GCP service-account JSON"),
)
# Names whose values are masked in diffs even when the caller did not mark them secret.
SECRET_NAME = re.compile(r"(?:^|_)(TOKEN|KEY|SECRET|PASSWORD|CREDENTIALS?)(?:_|$)")
MASK = "********"


class PolicyError(Exception):
    """One refused input: the rule broken, what is wrong, and how to fix it."""

    def __init__(self, rule, problem, fix):
        self.rule, self.problem, self.fix = rule, problem, fix
        super(PolicyError, self).__init__(str(self))

    def __str__(self):
        return "claude_code policy '%s': %s. Fix: %s" % (self.rule, self.problem, self.fix)


class FileFormatError(Exception):
    """An existing file cannot be edited safely; it is left untouched."""


# --------------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------------

def normalize_flag(name, value):
    """Return "1" for an accepted "on" value, None for unset/false; raise on anything else."""
    if value is None or value is False or value == "":
        return None
    if value is True or (isinstance(value, int) and not isinstance(value, bool) and value == 1):
        return "1"
    if isinstance(value, str) and value in FLAG_ON:
        return "1"
    raise PolicyError("flag-value", "%s has the value %r; only 1, true or True turn a flag on" % (name, value),
                      "set %s to 1 (or true/True), or leave it unset (false) to not set it" % name)


def is_loopback(host):
    host = (host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_gateway_url(url, allow_insecure_http=False):
    """Validate the gateway URL; return (normalized URL, warnings)."""
    fix_https = ("use an https:// gateway URL; plain http is acceptable only for a loopback gateway, or set "
                 "claude_code_allow_insecure_http: true for an in-cluster service name on a private network")
    if not url or not isinstance(url, str):
        raise PolicyError("gateway-url", "claude_code_gateway_url is not set",
                          "set claude_code_gateway_url to the gateway's https:// address")
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PolicyError("gateway-url", "claude_code_gateway_url %r is not an http(s) URL with a host" % url,
                          "set it like https://gateway.example.com or https://gateway.example.com/claude")
    if parts.username or parts.password:
        raise PolicyError("gateway-url", "claude_code_gateway_url carries credentials in the URL",
                          "remove user:password@ from the URL; clients authenticate with their gateway token")
    if parts.query or parts.fragment:
        raise PolicyError("gateway-url", "claude_code_gateway_url %r has a query or fragment" % url,
                          "give the base URL only (scheme, host, port and optional path prefix)")
    warnings = []
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        if not allow_insecure_http:
            raise PolicyError("gateway-https", "claude_code_gateway_url %r sends tokens over plain http to "
                              "non-loopback host '%s'" % (url, parts.hostname), fix_https)
        warnings.append("claude_code_gateway_url %s uses plain http to '%s' (allowed by "
                        "claude_code_allow_insecure_http): tokens cross the network unencrypted; keep this to "
                        "in-cluster service names on a private network" % (url, parts.hostname))
    return url.strip().rstrip("/"), warnings


def check_token(token, what):
    """Refuse a missing, malformed or provider-looking token. ``what`` names where it came from."""
    if token is None or (isinstance(token, str) and not token.strip()):
        raise PolicyError("token-missing", "no gateway token for %s" % what,
                          "give the token (no_log) or a store reference (token_ref) for %s, or set "
                          "claude_code_token for a shared token" % what)
    if not isinstance(token, str):
        raise PolicyError("token-format", "the gateway token for %s is not a string" % what,
                          "quote the token value")
    for pattern, kind in PROVIDER_KEY_PATTERNS:
        if pattern.search(token):
            raise PolicyError("token-provider-key", "the token for %s looks like %s, not a gateway token" % (what, kind),
                              "give clients a gateway token (llmops.claude_gateway.gateway_token); provider "
                              "credentials stay on the gateway")
    if re.search(r"\s|[\"'\\]", token) or any(ord(c) < 32 for c in token):
        raise PolicyError("token-format", "the gateway token for %s contains whitespace, quotes or control "
                          "characters" % what, "check the stored value (a trailing newline?) or use 'field'")


def check_env(env):
    """Validate claude_code_env (extra variables); return the direct-access providers it implies."""
    direct = set()
    for name, value in (env or {}).items():
        if not ENV_NAME.match(str(name)):
            raise PolicyError("env-name", "claude_code_env has the invalid variable name %r" % name,
                              "use names made of letters, digits and underscores")
        if name in RESERVED_ENV:
            raise PolicyError("env-reserved", "claude_code_env sets %s, which the role manages" % name,
                              "use claude_code_gateway_url, the token variables, claude_code_skip_*_auth or "
                              "claude_code_client_mode instead")
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or re.search(r"[\r\n\0]", str(value)):
            raise PolicyError("env-value", "claude_code_env.%s must be a one-line string" % name,
                              "quote the value and keep it on one line")
        for provider, names in DIRECT_ACCESS_ENV.items():
            if name in names:
                direct.add(provider)
    return direct


def evaluate(cfg):
    """Check a host's role configuration; return a dict with the non-secret environment to push.

    ``cfg`` holds the role variables without their ``claude_code_`` prefix. Raises PolicyError for the
    first broken rule. Token values are checked here when given; store references are checked after
    they are read (check_token).
    """
    state = cfg.get("state") or "present"
    if state not in ("present", "absent"):
        raise PolicyError("state", "claude_code_state is %r" % state, "use present or absent")
    client = cfg.get("client")
    if client not in CLIENT_KINDS:
        raise PolicyError("client-kind", "claude_code_client is %r, not a known kind of client" % (client,),
                          "set claude_code_client to one of: %s" % ", ".join(CLIENT_KINDS))
    _check_location(client, cfg)
    # What a run removes: every variable the role manages that is not wanted (present), or all of them
    # plus the ones configured now (absent). Extra variables are only known from the current settings.
    configured = [name for key, name in (("aws_region", "AWS_REGION"), ("vertex_region", "CLOUD_ML_REGION"),
                                         ("vertex_project", "ANTHROPIC_VERTEX_PROJECT_ID")) if cfg.get(key)]
    managed = list(RESERVED_ENV) + [HELPER_TTL_ENV]
    result = {"state": state, "client": client, "warnings": [], "env": {}, "token_env_var": None,
              "remove": sorted(set(managed + configured + [str(k) for k in (cfg.get("env") or {})]))}
    if state == "absent":
        return result
    if cfg.get("install_cli") and not re.match(r"^\d+\.\d+\.\d+$", str(cfg.get("cli_version") or "")):
        raise PolicyError("cli-version", "claude_code_install_cli is on, but claude_code_cli_version is %r, not a "
                          "pinned x.y.z version" % (cfg.get("cli_version"),),
                          "pin the Claude Code CLI version, e.g. claude_code_cli_version: 2.1.0")

    url, warnings = check_gateway_url(cfg.get("gateway_url"), bool(cfg.get("allow_insecure_http")))
    result["warnings"].extend(warnings)
    routed = _choice_list(cfg.get("gateway_providers", list(PROVIDERS)), PROVIDERS, "gateway_providers")
    direct = set(_choice_list(cfg.get("direct_providers") or [], DIRECT_PROVIDERS, "direct_providers"))
    direct |= check_env(cfg.get("env"))
    mode = cfg.get("client_mode") or "anthropic"
    if mode not in CLIENT_MODES:
        raise PolicyError("client-mode", "claude_code_client_mode is %r" % mode,
                          "use one of: %s" % ", ".join(CLIENT_MODES))

    env = {"ANTHROPIC_BASE_URL": url}
    for provider, flag in sorted(SKIP_FLAGS.items()):
        explicit = normalize_flag("claude_code_skip_%s_auth" % provider, cfg.get("skip_%s_auth" % provider))
        given = cfg.get("skip_%s_auth" % provider) is not None
        if explicit and provider in direct:
            raise PolicyError("skip-flag-direct-access", "%s is asked for, but this host is configured for direct "
                              "%s access (claude_code_direct_providers or provider credentials in claude_code_env);"
                              " Claude Code would then skip the authentication it needs" % (flag, provider),
                              "unset claude_code_skip_%s_auth on this host, or remove the direct access and let "
                              "the gateway authenticate" % provider)
        if explicit and provider not in routed:
            raise PolicyError("skip-flag-unrouted", "%s is asked for, but the gateway does not route to %s "
                              "(claude_code_gateway_providers: %s)" % (flag, provider, ", ".join(routed) or "none"),
                              "add %s to claude_code_gateway_providers if the gateway routes to it, or unset "
                              "claude_code_skip_%s_auth" % (provider, provider))
        # Unset means: on for every routed provider the host does not reach directly.
        if explicit or (not given and provider in routed and provider not in direct):
            env[flag] = "1"

    if mode in ("bedrock", "vertex"):
        if mode not in routed:
            raise PolicyError("client-mode", "claude_code_client_mode is %s, but the gateway does not route to it"
                              % mode, "add %s to claude_code_gateway_providers or use client mode anthropic" % mode)
        if mode in direct:
            raise PolicyError("skip-flag-direct-access", "claude_code_client_mode %s sends %s traffic to the "
                              "gateway, but this host is configured for direct %s access" % (mode, mode, mode),
                              "choose one: the gateway (remove the direct access) or direct access (client mode "
                              "anthropic)")
        if SKIP_FLAGS[mode] not in env:
            raise PolicyError("client-mode", "claude_code_client_mode %s needs %s" % (mode, SKIP_FLAGS[mode]),
                              "leave claude_code_skip_%s_auth unset or set it to 1" % mode)
        if mode == "bedrock":
            env.update(CLAUDE_CODE_USE_BEDROCK="1", ANTHROPIC_BEDROCK_BASE_URL=url + "/bedrock")
            if cfg.get("aws_region"):
                env["AWS_REGION"] = str(cfg["aws_region"])
        else:
            env.update(CLAUDE_CODE_USE_VERTEX="1", ANTHROPIC_VERTEX_BASE_URL=url + "/vertex_ai/v1")
            for key, name in (("vertex_region", "CLOUD_ML_REGION"), ("vertex_project", "ANTHROPIC_VERTEX_PROJECT_ID")):
                if cfg.get(key):
                    env[name] = str(cfg[key])
    for name, value in sorted((cfg.get("env") or {}).items()):
        env[name] = str(value)
    if client == "workstation" and cfg.get("helper_ttl_ms") not in (None, ""):
        ttl = cfg["helper_ttl_ms"]
        if isinstance(ttl, bool) or not re.match(r"^\d+$", str(ttl)):
            raise PolicyError("helper-ttl", "claude_code_helper_ttl_ms is %r" % (ttl,),
                              "give a whole number of milliseconds, e.g. 300000")
        env[HELPER_TTL_ENV] = str(ttl)

    token_var = cfg.get("token_env_var") or "ANTHROPIC_AUTH_TOKEN"
    if token_var not in TOKEN_ENV_VARS:
        raise PolicyError("token-env-var", "claude_code_token_env_var is %r" % token_var,
                          "use ANTHROPIC_AUTH_TOKEN (sent as Bearer) or ANTHROPIC_API_KEY (sent as x-api-key)")
    result["token_env_var"] = token_var
    _check_tokens(client, cfg)
    result["env"] = env
    keep = set(env) | (set([token_var]) if client != "workstation" else set())
    result["remove"] = sorted(set(managed) - keep)
    return result


def _choice_list(value, choices, name):
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise PolicyError(name.replace("_", "-"), "claude_code_%s must be a list" % name,
                          "give a list among: %s" % ", ".join(choices))
    for item in value:
        if item not in choices:
            raise PolicyError(name.replace("_", "-"), "claude_code_%s holds %r" % (name, item),
                              "use only: %s" % ", ".join(choices))
    return list(value)


def _check_location(client, cfg):
    required = {"github_actions": ("github_runner_dir", "github_runner_service"),
                "gitlab_runner": ("gitlab_runner_name",),
                "systemd": ("systemd_service",)}.get(client, ())
    for key in required:
        if not cfg.get(key):
            raise PolicyError("client-location", "claude_code_client %s needs claude_code_%s" % (client, key),
                              "set claude_code_%s for this host" % key)
    if client == "workstation" and (cfg.get("settings_scope") or "managed") not in SETTINGS_SCOPES:
        raise PolicyError("settings-scope", "claude_code_settings_scope is %r" % cfg.get("settings_scope"),
                          "use one of: %s" % ", ".join(SETTINGS_SCOPES))


def _check_tokens(client, cfg):
    shared = cfg.get("token")
    shared_ref = cfg.get("token_ref")
    if shared is not None and shared_ref:
        raise PolicyError("token-source", "both claude_code_token and claude_code_token_ref are set",
                          "give the token as a value or as a store reference, not both")
    if shared is not None:
        check_token(shared, "claude_code_token")
    if client != "workstation":
        if shared is None and not shared_ref:
            check_token(None, "this %s runner" % client)
        return
    users = cfg.get("users") or []
    if not users:
        raise PolicyError("users", "claude_code_users is empty on a workstation",
                          "list the developers' login names in claude_code_users (each with its own token or "
                          "sharing claude_code_token)")
    seen = set()
    for user in users:
        name = user.get("name") if isinstance(user, dict) else None
        if not name or not re.match(r"^[a-z_][a-z0-9_.-]*\$?$", str(name)):
            raise PolicyError("users", "claude_code_users has an entry without a valid login name: %r"
                              % (name if name else "(missing)"), "give each entry a name: <login>")
        if name in seen:
            raise PolicyError("users", "user %s is listed twice in claude_code_users" % name, "list each user once")
        seen.add(name)
        if user.get("token") is not None and user.get("token_ref"):
            raise PolicyError("token-source", "user %s has both token and token_ref" % name,
                              "give the token as a value or as a store reference, not both")
        if user.get("token") is not None:
            check_token(user["token"], "user %s" % name)
        elif not user.get("token_ref") and shared is None and not shared_ref:
            check_token(None, "user %s" % name)


# --------------------------------------------------------------------------------------------------
# JSON settings merge
# --------------------------------------------------------------------------------------------------

def leaf_paths(data, prefix=()):
    """Every path to a non-dict value (or an empty dict) in ``data``, as tuples."""
    paths = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            paths.extend(leaf_paths(value, prefix + (key,)))
        else:
            paths.append(prefix + (key,))
    return paths


def parse_settings(text, path="settings file"):
    """Parse a settings file's text; an empty file is an empty object."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FileFormatError("%s is not valid JSON (%s); it was left untouched. Fix: repair the JSON or move the "
                              "file away, then run again" % (path, exc))
    if not isinstance(data, dict):
        raise FileFormatError("%s holds a JSON %s, not an object; it was left untouched. Fix: make it a JSON object "
                              "({...}) or move it away" % (path, type(data).__name__))
    return data


def merge_settings(existing, owned):
    """Deep-merge ``owned`` into a copy of ``existing``; every other key is kept, in place."""
    result = copy.deepcopy(existing)
    for key, value in owned.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_settings(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def remove_settings(existing, owned, match_values=False):
    """Remove the leaf keys of ``owned`` from a copy of ``existing``; drop objects this empties.

    With ``match_values``, a key given with a value other than None is removed only if the file holds that
    value (so a user's own apiKeyHelper survives); None removes the key whatever it holds.
    """
    result = copy.deepcopy(existing)
    for key, value in owned.items():
        if key not in result:
            continue
        if isinstance(value, dict) and value and isinstance(result[key], dict):
            had_keys = bool(result[key])
            result[key] = remove_settings(result[key], value, match_values)
            if had_keys and not result[key]:
                del result[key]
        elif not match_values or value is None or result[key] == value:
            del result[key]
    return result


def dump_settings(data):
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def mask_settings(data, secret_paths=(), secret_values=()):
    """Copy of ``data`` with secret values replaced, for diffs and results."""
    secret_paths = set(tuple(p) for p in secret_paths)
    secret_values = set(v for v in secret_values if isinstance(v, str) and v)

    def walk(node, prefix):
        out = {}
        for key, value in node.items():
            here = prefix + (key,)
            if isinstance(value, dict):
                out[key] = walk(value, here)
            elif (here in secret_paths or (isinstance(value, str) and value in secret_values)
                  or (isinstance(key, str) and SECRET_NAME.search(key) and isinstance(value, str) and value)):
                out[key] = MASK
            else:
                out[key] = value
        return out
    return walk(data, ())


_ASSIGNMENT = re.compile(r"^(\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*)(.+)$", re.M)
_QUOTED_ASSIGNMENT = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)=[^"]*"')


def mask_text(text, secret_names=(), secret_values=()):
    """Mask secrets in an environment file or config.toml for a diff: values of the given variables,
    values whose name looks secret (``token = ...``, ``*_TOKEN=...``), and any known secret value."""
    def secret(name):
        return name in secret_names or bool(SECRET_NAME.search(name.upper().replace("-", "_")))

    text = _QUOTED_ASSIGNMENT.sub(lambda m: '"%s=%s"' % (m.group(1), MASK) if secret(m.group(1)) else m.group(0), text)
    text = _ASSIGNMENT.sub(lambda m: m.group(1) + MASK if secret(m.group(2)) else m.group(0), text)
    for value in sorted((v for v in secret_values if v), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


# --------------------------------------------------------------------------------------------------
# Environment files: KEY=VALUE files (GitHub runner .env, systemd EnvironmentFile) and GitLab config.toml
# --------------------------------------------------------------------------------------------------

_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def check_env_value(name, value):
    """Values both the GitHub runner (raw) and systemd (unquoting) read the same way."""
    if not ENV_NAME.match(name):
        raise FileFormatError("invalid variable name %r. Fix: use letters, digits and underscores" % name)
    value = str(value)
    if re.search(r"[\r\n\0\"'\\]", value) or value != value.strip():
        raise FileFormatError("the value of %s has a newline, quote, backslash or surrounding blanks, which "
                              "environment files do not carry the same way in every reader. Fix: give a "
                              "one-line value without them" % name)
    return value


def edit_dotenv(text, env, state="present"):
    """Set (or remove) ``env``'s variables in KEY=VALUE text; other lines are kept as they are."""
    lines = text.splitlines(True)
    out, done = [], set()
    for line in lines:
        match = _DOTENV_LINE.match(line)
        name = match.group(1) if match else None
        if name in env:
            if state == "present" and name not in done:
                out.append("%s=%s\n" % (name, check_env_value(name, env[name])))
                done.add(name)
            continue  # removed, or a duplicate of a line already written
        out.append(line)
    if state == "present":
        missing = [n for n in env if n not in done]
        if missing and out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        for name in missing:
            out.append("%s=%s\n" % (name, check_env_value(name, env[name])))
    return "".join(out)


def parse_dotenv(text):
    env = {}
    for line in text.splitlines():
        match = _DOTENV_LINE.match(line)
        if match:
            env[match.group(1)] = line.split("=", 1)[1]
    return env


_TOML_HEADER = re.compile(r"^\s*\[")
_TOML_RUNNERS = re.compile(r"^\s*\[\[\s*runners\s*\]\]\s*(#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")


def _toml_loads(text):
    if tomllib is None:
        raise FileFormatError("editing GitLab Runner config.toml needs Python 3.11+ (tomllib) on the host. "
                              "Fix: run the module with a Python 3.11+ interpreter")
    return tomllib.loads(text)


def _toml_value(line_text, what):
    return _toml_loads("v = " + line_text)["v"]


def _toml_string(value):
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"%s"' % escaped


def _runner_tables(lines):
    """(start, end) line ranges of each top-level [[runners]] table (up to its first sub-table)."""
    tables, start = [], None
    for idx, line in enumerate(lines):
        if _TOML_HEADER.match(line):
            if start is not None:
                tables.append((start, idx))
                start = None
            if _TOML_RUNNERS.match(line):
                start = idx
    if start is not None:
        tables.append((start, len(lines)))
    return tables


def _key_span(lines, start, end, key):
    """(first, last+1) lines of ``key = value`` inside a table, multi-line arrays included, or None."""
    for idx in range(start + 1, end):
        match = _TOML_KEY.match(lines[idx])
        if not match or match.group(1).strip('"') != key:
            continue
        value_text = lines[idx].split("=", 1)[1]
        for last in range(idx, end):
            if last > idx:
                value_text += lines[last]
            try:
                return idx, last + 1, _toml_value(value_text, key)
            except Exception:  # not complete yet: a multi-line array goes on
                continue
        raise FileFormatError("cannot read the '%s' value at line %d. Fix: check the file's TOML" % (key, idx + 1))
    return None


def edit_gitlab_environment(text, runner_name, env, state="present"):
    """Set (or remove) ``env`` in the ``environment`` of the [[runners]] table named ``runner_name``.

    Only that table's ``environment`` line(s) change; every other byte of the file is kept. The result is
    re-parsed to prove the edit did what it should and nothing else.
    """
    try:
        before = _toml_loads(text)
    except FileFormatError:
        raise
    except Exception as exc:
        raise FileFormatError("config.toml is not valid TOML (%s); it was left untouched. Fix: repair it" % exc)
    names = [r.get("name") for r in before.get("runners", []) if isinstance(r, dict)]
    if names.count(runner_name) != 1:
        problem = "has no [[runners]] named %r" % runner_name if runner_name not in names else \
            "has %d [[runners]] named %r" % (names.count(runner_name), runner_name)
        raise FileFormatError("config.toml %s (runners: %s); it was left untouched. Fix: set "
                              "claude_code_gitlab_runner_name to the name of a registered runner"
                              % (problem, ", ".join(repr(n) for n in names) or "none"))
    lines = text.splitlines(True)
    table = None
    for start, end in _runner_tables(lines):
        span = _key_span(lines, start, end, "name")
        if span and span[2] == runner_name:
            table = (start, end)
    if table is None:
        raise FileFormatError("config.toml names runner %r in a form this edit does not handle (e.g. an inline "
                              "table). Fix: use a [[runners]] table with name = \"...\"" % runner_name)
    span = _key_span(lines, table[0], table[1], "environment")
    current = list(span[2]) if span else []
    if not all(isinstance(item, str) for item in current):
        raise FileFormatError("the environment of runner %r is not a list of strings. Fix: repair it" % runner_name)
    new = _merge_env_list(current, env, state)
    if new == current:
        return text
    multi = _edit_multiline_array(lines[span[0]:span[1]], env, state) if span and span[1] - span[0] > 1 else None
    if multi is not None:
        # One element per line: edit those lines only, so removing our entries restores the original text.
        lines[span[0]:span[1]] = multi
    elif span:
        indent = re.match(r"^[ \t]*", lines[span[0]]).group(0)
        # An array that held only our entries goes away with them (the role added it).
        lines[span[0]:span[1]] = ["%senvironment = [%s]\n" % (indent, ", ".join(_toml_string(i) for i in new))] \
            if new else []
    else:
        indent = re.match(r"^[ \t]*", lines[_key_span(lines, table[0], table[1], "name")[0]]).group(0)
        # After the table's last key line, so comments and blank lines that follow stay where they are.
        last_key = max([i for i in range(table[0] + 1, table[1]) if _TOML_KEY.match(lines[i])] or [table[0]])
        last = _key_span(lines, table[0], table[1], _TOML_KEY.match(lines[last_key]).group(1).strip('"'))[1] \
            if last_key > table[0] else table[0] + 1
        if lines[last - 1] and not lines[last - 1].endswith("\n"):
            lines[last - 1] += "\n"
        lines.insert(last, "%senvironment = [%s]\n" % (indent, ", ".join(_toml_string(i) for i in new)))
    result = "".join(lines)
    _check_gitlab_edit(before, _toml_loads(result), runner_name, new)
    return result


def _merge_env_list(current, env, state):
    """Our entries replaced in place (present) or dropped (absent); missing ones appended."""
    out, done = [], set()
    for item in current:
        name = item.split("=", 1)[0]
        if name in env:
            if state == "present" and name not in done:
                out.append("%s=%s" % (name, check_env_value(name, env[name])))
                done.add(name)
            continue
        out.append(item)
    if state == "present":
        out.extend("%s=%s" % (n, check_env_value(n, v)) for n, v in env.items() if n not in done)
    return out


_ARRAY_OPEN = re.compile(r"^[ \t]*environment[ \t]*=[ \t]*\[[ \t]*(#.*)?\n?$")
_ARRAY_CLOSE = re.compile(r"^[ \t]*\][ \t]*(#.*)?\n?$")
_ARRAY_ITEM = re.compile(r'^([ \t]*)("(?:[^"\\]|\\.)*")([ \t]*,?)(.*\n?)$')
_BLANK_OR_COMMENT = re.compile(r"^[ \t]*(#.*)?\n?$")


def _edit_multiline_array(block, env, state):
    """Edit an array written one string per line; None when it is laid out any other way."""
    if not (_ARRAY_OPEN.match(block[0]) and _ARRAY_CLOSE.match(block[-1])):
        return None
    out, done, last_item = [block[0]], set(), None
    for line in block[1:-1]:
        match = _ARRAY_ITEM.match(line)
        if not match:
            if not _BLANK_OR_COMMENT.match(line):
                return None
            out.append(line)
            continue
        name = _toml_value(match.group(2), "environment").split("=", 1)[0]
        if name in env:
            if state == "absent" or name in done:
                continue
            line = "%s%s%s%s" % (match.group(1), _toml_string("%s=%s" % (name, check_env_value(name, env[name]))),
                                 match.group(3), match.group(4))
            done.add(name)
        out.append(line)
        last_item = len(out) - 1
    missing = [n for n in env if n not in done] if state == "present" else []
    if missing:
        if last_item is not None:
            match = _ARRAY_ITEM.match(out[last_item])
            indent = match.group(1)
            if "," not in match.group(3):
                out[last_item] = "%s%s,%s" % (match.group(1), match.group(2), match.group(4))
        else:
            indent = re.match(r"^[ \t]*", block[0]).group(0) + "  "
        insert_at = (last_item + 1) if last_item is not None else 1
        for offset, name in enumerate(missing):
            out.insert(insert_at + offset, "%s%s,\n" % (indent, _toml_string("%s=%s" % (name, check_env_value(name, env[name])))))
    out.append(block[-1])
    return out


def _check_gitlab_edit(before, after, runner_name, environment):
    for b_runner, a_runner in zip(before.get("runners", []), after.get("runners", [])):
        b_runner, a_runner = dict(b_runner), dict(a_runner)
        if b_runner.get("name") == runner_name:
            got = a_runner.pop("environment", [])
            b_runner.pop("environment", None)
            if got != environment:
                raise FileFormatError("internal check failed: the edited environment does not read back")
        if a_runner != b_runner:
            raise FileFormatError("internal check failed: the edit changed another setting; file left untouched")
    before = dict(before, runners=None)
    after = dict(after, runners=None)
    if before != after or len(before) != len(after):
        raise FileFormatError("internal check failed: the edit changed another setting; file left untouched")


def gitlab_environment(text, runner_name):
    """The environment list of a named runner (for checks and results)."""
    for runner in _toml_loads(text).get("runners", []):
        if runner.get("name") == runner_name:
            return list(runner.get("environment", []))
    return None


# --------------------------------------------------------------------------------------------------

def read_text_file(module, path, result):
    """Return (exists, text) of ``path`` ('' when absent). Fails, leaving the file untouched, when it is
    not a regular file, cannot be read or is not UTF-8."""
    exists = os.path.exists(path)
    if exists and not os.path.isfile(path):
        module.fail_json(msg="%s exists and is not a regular file; it was left untouched" % path, **result)
    if not exists:
        return False, ""
    try:
        with open(path, "rb") as handle:
            return True, handle.read().decode("utf-8")
    except UnicodeDecodeError:
        module.fail_json(msg="%s is not UTF-8 text; it was left untouched. Fix: repair or move it" % path, **result)
    except (IOError, OSError) as exc:
        module.fail_json(msg="cannot read %s: %s" % (path, to_native(exc)), **result)


def apply_text_file(module, path, content, changed, exists, create, delete, result):
    """Write (or delete) ``path`` when ``changed`` and not in check mode, with the optional backup, then
    apply the common file arguments (mode, owner, ...) to a file that is (or will be) there. Sets
    result['changed']."""
    if changed and not module.check_mode:
        if module.params["backup"] and exists:
            result["backup_file"] = module.backup_local(path)
        if delete:
            os.unlink(path)
        else:
            write_atomic(module, path, content, create)
    result["changed"] = changed
    if not delete and (exists or create) and not (module.check_mode and create):
        file_args = module.load_file_common_arguments(module.params)
        result["changed"] = module.set_fs_attributes_if_different(file_args, result["changed"])


def write_atomic(module, path, content, created):
    """Write beside the target, then rename over it: readers see the old or the new file, never half."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)  # mode 0600
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content.encode("utf-8"))
        module.atomic_move(tmp, path, unsafe_writes=module.params.get("unsafe_writes", False))
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    if created and module.params.get("mode") is None:
        os.chmod(path, 0o600)  # atomic_move would leave a new file at the umask default

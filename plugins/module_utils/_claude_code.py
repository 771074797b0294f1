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
import json
import re

from ansible_collections.llmops.claude_gateway.plugins.module_utils._url import (
    LOOPBACK_RULE,
    UrlError,
    is_loopback_host,
    split_http_url,
)

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
# Variables the role writes itself (and removes again when they are no longer wanted).
MANAGED_ENV = ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_SKIP_BEDROCK_AUTH",
               "CLAUDE_CODE_SKIP_VERTEX_AUTH", "CLAUDE_CODE_USE_BEDROCK", "CLAUDE_CODE_USE_VERTEX",
               "ANTHROPIC_BEDROCK_BASE_URL", "ANTHROPIC_VERTEX_BASE_URL")
# Names claude_code_env may not set (rule env-reserved), first match wins: each with the fix naming the
# dedicated variable. claude_code_env lands in world-readable files (managed settings, profile.d), so no
# credential belongs there, and routing, bypass flags and TLS trust go through the policy's own variables.
_CREDS_FIX = ("provider credentials never go in a world-readable client profile: list the provider in "
              "claude_code_direct_providers if this host reaches it directly with its own credentials (kept on "
              "the host, e.g. ~/.aws or the user's environment), else let the gateway authenticate")
_TOKEN_FIX = ("give the gateway token through claude_code_token, claude_code_token_ref or claude_code_users "
              "(token / token_ref); the role keeps it out of world-readable files")
RESERVED_ENV = (
    (re.compile(r"^(ANTHROPIC_API_KEY|ANTHROPIC_AUTH_TOKEN|CLAUDE_CODE_OAUTH_TOKEN\w*)$"), _TOKEN_FIX),
    (re.compile(r"^ANTHROPIC_\w*BASE_URL$"),
     "set claude_code_gateway_url; the role derives ANTHROPIC_BASE_URL and the Bedrock/Vertex base URLs from it"),
    (re.compile(r"^CLAUDE_CODE_USE_\w+$"), "set claude_code_client_mode (anthropic, bedrock or vertex)"),
    (re.compile(r"^\w*_SKIP_\w*_AUTH$"),
     "use claude_code_skip_bedrock_auth / claude_code_skip_vertex_auth (the policy decides where a bypass flag "
     "is allowed; other providers' bypass flags are not supported)"),
    (re.compile(r"^CLAUDE_CODE_API_KEY_HELPER_TTL_MS$"), "set claude_code_helper_ttl_ms"),
    (re.compile(r"^\w*_PROXY$", re.I),
     "configure a proxy on the host itself, outside this role: a proxy in the client profile could read or "
     "redirect gateway traffic"),
    (re.compile(r"^NODE_TLS_REJECT_UNAUTHORIZED$"),
     "never turn off TLS verification; give the gateway a certificate the host trusts (NODE_EXTRA_CA_CERTS with "
     "the path of a CA bundle)"),
    (re.compile(r"^NODE_OPTIONS$"),
     "set Node.js options on the host itself: NODE_OPTIONS can load code into Claude Code and change its TLS "
     "behaviour"),
    (re.compile(r"^(AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY|SESSION_TOKEN|SECURITY_TOKEN|BEARER_TOKEN_\w+|PROFILE|"
                r"DEFAULT_PROFILE|SHARED_CREDENTIALS_FILE|CONFIG_FILE|WEB_IDENTITY_TOKEN_FILE|ROLE_ARN|"
                r"CONTAINER_\w+)|GOOGLE_APPLICATION_CREDENTIALS|GOOGLE_OAUTH_ACCESS_TOKEN|CLOUDSDK_AUTH_\w+|"
                r"AZURE_\w+|ANTHROPIC_FOUNDRY_\w+)$"), _CREDS_FIX),
    (re.compile(r"(?:^|_)(TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIALS?|APIKEY|PRIVATE_KEY)(?:_|$)", re.I),
     "keep secrets out of claude_code_env: it is written to world-readable files; " + _TOKEN_FIX),
)
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
# Shapes of other secrets refused as claude_code_env values whatever the name (rule env-secret-value).
SECRET_VALUE_PATTERNS = PROVIDER_KEY_PATTERNS + (
    (re.compile(r"(?:^|[^A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}"), "a gateway or API token (sk-...)"),
    (re.compile(r"\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"), "a GitHub token (ghp_/github_pat_...)"),
    (re.compile(r"\bglpat-[A-Za-z0-9_-]{20,}"), "a GitLab token (glpat-...)"),
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "a Slack token (xox...)"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}"), "a JSON Web Token (eyJ...)"),
    (re.compile(r"\bBearer\s+\S{8,}", re.I), "an Authorization header value (Bearer ...)"),
)
# Runs of base64/hex characters that may be a random secret (see secret_value_kind).
_SECRET_RUN = re.compile(r"[A-Za-z0-9+/=_-]{32,}")
_RUN_WORDS = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|[0-9]+")
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


def check_gateway_url(url, allow_insecure_http=False):
    """Validate the gateway URL as Claude Code (Node's WHATWG URL) would read it; return (URL, warnings).

    Forms Node and Python read differently (backslashes, blanks, IPv4 shorthand, non-ASCII or
    percent-encoded hosts, user@) are refused, not guessed at.
    """
    fix_https = ("use an https:// gateway URL; plain http is acceptable only for a loopback gateway (%s), or set "
                 "claude_code_allow_insecure_http: true for an in-cluster service name on a private network"
                 % LOOPBACK_RULE)
    if not url or not isinstance(url, str):
        raise PolicyError("gateway-url", "claude_code_gateway_url is not set",
                          "set claude_code_gateway_url to the gateway's https:// address")
    try:
        scheme, host, _port, rest = split_http_url(url)
    except UrlError as exc:
        # The URL may carry user:password@, so it is not repeated here.
        raise PolicyError("gateway-url", "claude_code_gateway_url is refused: %s" % exc.problem,
                          "%s; set it like https://gateway.example.com or https://gateway.example.com/claude"
                          % exc.fix)
    if "?" in rest or "#" in rest:
        raise PolicyError("gateway-url", "claude_code_gateway_url %r has a query or fragment" % url,
                          "give the base URL only (scheme, host, port and optional path prefix)")
    warnings = []
    if scheme == "http" and not is_loopback_host(host):
        if not allow_insecure_http:
            raise PolicyError("gateway-https", "claude_code_gateway_url %r sends tokens over plain http to "
                              "non-loopback host '%s'" % (url, host), fix_https)
        warnings.append("claude_code_gateway_url %s uses plain http to '%s' (allowed by "
                        "claude_code_allow_insecure_http): tokens cross the network unencrypted; keep this to "
                        "in-cluster service names on a private network" % (url, host))
    return url.rstrip("/"), warnings


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
    if re.search(r"\s|[\"'\\]", token) or any(ord(c) < 32 or 127 <= ord(c) < 160 for c in token):
        raise PolicyError("token-format", "the gateway token for %s contains whitespace, quotes or control "
                          "characters" % what, "check the stored value (a trailing newline?) or use 'field'")


def secret_value_kind(value):
    """What ``value`` looks like when it looks like a secret (e.g. "a GitHub token (ghp_...)"), else None.

    Besides the known prefixes, a run of 32+ base64/hex characters is taken for a random secret when it is
    hex with letters and digits, or mixes upper case, lower case and digits in short chunks (random text
    averages under 2 characters per chunk, names and paths like /srv/ProjectAlpha2025/Workspace 4 or more).
    URLs are split on ':' and '.', so paths, URLs, model ids, regions and project ids pass.
    """
    value = str(value)
    for pattern, kind in SECRET_VALUE_PATTERNS:
        if pattern.search(value):
            return kind
    for run in _SECRET_RUN.findall(value):
        run = run.rstrip("=")
        if re.match(r"^([0-9a-f]{32,}|[0-9A-F]{32,})$", run) and re.search(r"\d", run) and re.search(r"[a-fA-F]", run):
            return "a long hex string (a key or token?)"
        words = _RUN_WORDS.findall(run)
        if (len(run) >= 32 and re.search(r"[a-z]", run) and re.search(r"[A-Z]", run) and re.search(r"\d", run)
                and sum(len(w) for w in words) < 3.5 * len(words)):
            return "a long random string (a key or token?)"
    return None


def check_env(env):
    """Validate claude_code_env (extra, non-secret variables written to world-readable files).

    Messages name the variable and the fix, never the value.
    """
    if env is None:
        return
    if not isinstance(env, dict):
        raise PolicyError("env-name", "claude_code_env must be a mapping of variable names to values",
                          "give it like {DISABLE_TELEMETRY: '1'}")
    for name, value in env.items():
        if not ENV_NAME.match(str(name)):
            raise PolicyError("env-name", "claude_code_env has the invalid variable name %r" % name,
                              "use names made of letters, digits and underscores")
        for pattern, fix in RESERVED_ENV:
            if pattern.search(name):
                raise PolicyError("env-reserved", "claude_code_env sets %s, which cannot come through "
                                  "claude_code_env (the value is not shown)" % name, fix)
        if not isinstance(value, (str, int, float)) or isinstance(value, bool) or re.search(r"[\r\n\0]", str(value)):
            raise PolicyError("env-value", "claude_code_env.%s must be a one-line string" % name,
                              "quote the value and keep it on one line")
        kind = secret_value_kind(value)
        if kind:
            raise PolicyError("env-secret-value", "the value of claude_code_env.%s looks like %s (the value is "
                              "not shown); claude_code_env is written to world-readable files" % (name, kind),
                              "remove the secret from claude_code_env.%s: the gateway token goes in "
                              "claude_code_token / claude_code_users, provider credentials stay on the gateway "
                              "(or on the host, with claude_code_direct_providers)" % name)
        if name == "NODE_EXTRA_CA_CERTS" and not re.match(r"^/[^\s]*$", str(value)):
            raise PolicyError("env-value", "claude_code_env.NODE_EXTRA_CA_CERTS must be the absolute path of a "
                              "PEM CA bundle on the host", "give an absolute path like /etc/ssl/certs/corp-ca.pem")


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
    managed = list(MANAGED_ENV) + [HELPER_TTL_ENV]
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
    check_env(cfg.get("env"))
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
                              "%s access (claude_code_direct_providers); Claude Code would then skip the "
                              "authentication it needs" % (flag, provider),
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


# Diffs show only what a task edits, with secrets masked. A name is secret-looking when it holds one of
# these parts (any case: GH_TOKEN, AccountKey, SecretKey, Authorization, access_key), or one of the short
# words as a word of its own (GH_PAT, but not PATH).
SECRET_NAME_PARTS = ("token", "secret", "password", "passwd", "passphrase", "credential", "auth", "key", "cert",
                     "private", "session", "cookie", "bearer", "signature", "dsn")
SECRET_NAME_WORDS = ("pat", "pw", "pwd", "pass", "sas", "otp", "jwt")
# Names that look secret but hold none: a command path and a duration the role sets.
NOT_SECRET_NAMES = ("apikeyhelper", "claude_code_api_key_helper_ttl_ms")
# Flag values are shown even under a secret-looking name (CLAUDE_CODE_SKIP_BEDROCK_AUTH=1).
FLAG_VALUES = ("", "0", "1", "true", "false", "yes", "no", "on", "off")
_NAME_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_URL_PASSWORD = re.compile(r"(://[^/\s:@\"']+:)[^/\s@\"']+@")


def is_secret_name(name):
    """True for a key or variable name whose value should not be shown (see SECRET_NAME_PARTS)."""
    name = str(name)
    lowered = name.lower()
    if lowered in NOT_SECRET_NAMES:
        return False
    return any(part in lowered for part in SECRET_NAME_PARTS) or \
        any(word.lower() in SECRET_NAME_WORDS for word in _NAME_WORDS.findall(name))


def _secret_value(value):
    """A value worth masking under a secret-looking name: not a flag, not empty."""
    if value is None or isinstance(value, bool):
        return False
    return str(value).strip().strip('"\'').lower() not in FLAG_VALUES


def pick_settings(data, paths):
    """Only the keys at ``paths`` (tuples) that ``data`` holds, nested as in ``data``: what a diff shows of a
    settings file (the rest of a user's file is none of the task's business)."""
    out = {}
    for path in paths:
        node = data
        for key in path:
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            target = out
            for key in path[:-1]:
                target = target.setdefault(key, {})
            # An owned object stands for its presence only, not for every key it holds.
            target[path[-1]] = {} if isinstance(node, dict) else copy.deepcopy(node)
    return out


def mask_settings(data, secret_paths=(), secret_values=()):
    """Copy of ``data`` with secret values replaced, for diffs and results: the given paths, known secret
    values, values under a secret-looking key (and everything below it), and passwords in URLs."""
    secret_paths = set(tuple(p) for p in secret_paths)
    secret_values = set(v for v in secret_values if isinstance(v, str) and v)

    def walk(node, prefix, inherited):
        out = {}
        for key, value in node.items():
            here = prefix + (key,)
            secret = inherited or here in secret_paths or is_secret_name(key)
            if isinstance(value, dict):
                out[key] = walk(value, here, secret)
            elif (here in secret_paths or (isinstance(value, str) and value in secret_values)
                  or (secret and (isinstance(value, (list, dict)) or _secret_value(value)))):
                out[key] = MASK
            elif isinstance(value, str):
                out[key] = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", value)
            else:
                out[key] = value
        return out
    return walk(data, (), False)


# KEY=value (dotenv), key = value and "key" = value (TOML); not a "NAME=value" string in an array.
_ASSIGNMENT = re.compile(r'^(\s*(?:export\s+)?(?:"([A-Za-z_][A-Za-z0-9_.-]*)"|([A-Za-z_][A-Za-z0-9_.-]*))\s*=\s*)(.+)$',
                         re.M)
_QUOTED_ASSIGNMENT = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)=([^"]*)"')


def mask_text(text, secret_names=(), secret_values=()):
    """Mask secrets in an environment file or config.toml for a diff: values of the given variables,
    values whose name looks secret (``token = ...``, ``GH_PAT=...``, ``AccountKey = ...``), passwords in
    URLs, and any known secret value."""
    def secret(name, value):
        return name in secret_names or (is_secret_name(name) and _secret_value(value))

    text = _QUOTED_ASSIGNMENT.sub(lambda m: '"%s=%s"' % (m.group(1), MASK) if secret(m.group(1), m.group(2))
                                  else m.group(0), text)
    text = _ASSIGNMENT.sub(lambda m: m.group(1) + MASK if secret(m.group(2) or m.group(3), m.group(4))
                           else m.group(0), text)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)
    for value in sorted((v for v in secret_values if v), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text


def dotenv_lines(text, names):
    """Only the lines of ``text`` that set one of ``names``: what a diff shows of an environment file."""
    return "".join(line if line.endswith("\n") else line + "\n" for line in text.splitlines(True)
                   if _DOTENV_LINE.match(line) and _DOTENV_LINE.match(line).group(1) in names)


def gitlab_environment_text(text, runner_name):
    """The ``environment`` of one runner of a config.toml, one entry a line: what a diff shows of it."""
    try:
        environment = gitlab_environment(text, runner_name) if text.strip() else None
    except Exception:  # unreadable: show nothing of it
        environment = None
    if not environment:
        return ""
    return "# [[runners]] %s\nenvironment = [\n%s]\n" % (_toml_string(runner_name), "".join(
        "  %s,\n" % _toml_string(str(item)) for item in environment))


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

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client policy: what a Claude Code profile may hold, checked on the controller before a host is touched.

Used by the ``claude_code`` filters (the role's ``claude_code_policy`` step and its token checks). Nothing
here ever puts a secret value in a message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.dotenv import ENV_NAME
from ansible_collections.llmops.claude_gateway.plugins.module_utils._tls import source_kind
from ansible_collections.llmops.claude_gateway.plugins.module_utils._url import (
    LOOPBACK_RULE,
    UrlError,
    is_loopback_host,
    split_http_url,
)

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
               "ANTHROPIC_BEDROCK_BASE_URL", "ANTHROPIC_VERTEX_BASE_URL", "NODE_EXTRA_CA_CERTS")
CA_BUNDLE_ENV = "NODE_EXTRA_CA_CERTS"
DEFAULT_CA_BUNDLE_PATH = "/etc/claude-code/ca-bundle.pem"
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


class PolicyError(Exception):
    """One refused input: the rule broken, what is wrong, and how to fix it."""

    def __init__(self, rule, problem, fix):
        self.rule, self.problem, self.fix = rule, problem, fix
        super(PolicyError, self).__init__(str(self))

    def __str__(self):
        return "claude_code policy '%s': %s. Fix: %s" % (self.rule, self.problem, self.fix)


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
    they are read (check_token). With ``tokens_on_host`` (the verify step) tokens are not needed here.
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
    result = {"state": state, "client": client, "warnings": [], "env": {}, "token_env_var": None, "ca_bundle": None,
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
    result["ca_bundle"] = check_ca_bundle(cfg)
    if result["ca_bundle"]:
        env[CA_BUNDLE_ENV] = result["ca_bundle"]["path"]
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


def check_ca_bundle(cfg):
    """Where claude_code_ca_bundle comes from and goes: {kind, path}, or None when no bundle is given.

    Only its form is checked here; the certificates are checked on the controller (gateway_tls_check) once
    the bundle is read, before anything is written.
    """
    bundle = cfg.get("ca_bundle")
    kind = source_kind(bundle, remote_src=False)
    if kind == "none":
        return None
    if kind == "invalid":
        raise PolicyError("ca-bundle", "claude_code_ca_bundle is neither PEM text, a store reference (a mapping with "
                          "'name') nor the path of a file on the controller",
                          "give the CA certificates that issued the gateway's certificate in one of these forms")
    path = cfg.get("ca_bundle_path") or DEFAULT_CA_BUNDLE_PATH
    if not isinstance(path, str) or not re.match(r"^/[^\s]*[^/\s]$", path):
        raise PolicyError("ca-bundle", "claude_code_ca_bundle_path %r is not an absolute file path" % (path,),
                          "give an absolute path without blanks, like %s" % DEFAULT_CA_BUNDLE_PATH)
    if CA_BUNDLE_ENV in (cfg.get("env") or {}):
        raise PolicyError("ca-bundle", "claude_code_ca_bundle and claude_code_env.%s are both set" % CA_BUNDLE_ENV,
                          "give the CA through claude_code_ca_bundle only: the role pushes it to %s and sets %s"
                          % (path, CA_BUNDLE_ENV))
    return {"kind": kind, "path": path}


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
    # tokens_on_host: the host's tokens are read there (the verify step); only their sources are left to check.
    check = (lambda token, what: None) if cfg.get("tokens_on_host") else check_token
    shared = cfg.get("token")
    shared_ref = cfg.get("token_ref")
    if shared is not None and shared_ref:
        raise PolicyError("token-source", "both claude_code_token and claude_code_token_ref are set",
                          "give the token as a value or as a store reference, not both")
    if shared is not None:
        check(shared, "claude_code_token")
    if client != "workstation":
        if shared is None and not shared_ref:
            check(None, "this %s runner" % client)
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
        if user.get("home") is not None and not re.match(r"^/[^\s]*$", str(user["home"])):
            raise PolicyError("users", "user %s has the home %r, not an absolute path" % (name, user["home"]),
                              "give an absolute path, or leave home unset for the account's home directory")
        if user.get("token") is not None and user.get("token_ref"):
            raise PolicyError("token-source", "user %s has both token and token_ref" % name,
                              "give the token as a value or as a store reference, not both")
        if user.get("token") is not None:
            check(user["token"], "user %s" % name)
        elif not user.get("token_ref") and shared is None and not shared_ref:
            check(None, "user %s" % name)

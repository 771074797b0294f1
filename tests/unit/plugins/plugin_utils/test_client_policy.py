# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Policy rules of the claude_code role (plugin_utils/_client_policy.py, through the claude_code_policy filter too)."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.llmops.claude_gateway.plugins.filter.claude_code import claude_code_policy
from ansible_collections.llmops.claude_gateway.plugins.plugin_utils._client_policy import (
    PolicyError,
    check_gateway_url,
    check_token,
    evaluate,
    normalize_flag,
    secret_value_kind,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._url import LOOPBACK_RULE, UrlError, is_loopback_host, split_http_url

TOKEN = "gwt_0123456789abcdefABCDEF"


def ws(**kw):
    cfg = {"client": "workstation", "gateway_url": "https://gw.example.com",
           "users": [{"name": "alice", "token": TOKEN}]}
    cfg.update(kw)
    return cfg


def rule_of(cfg):
    with pytest.raises(PolicyError) as err:
        evaluate(cfg)
    return err.value


@pytest.mark.parametrize("value", [1, "1", "true", "True", True])
def test_flag_on_values_written_as_1(value):
    assert normalize_flag("F", value) == "1"


@pytest.mark.parametrize("value", [None, False, ""])
def test_flag_unset_values(value):
    assert normalize_flag("F", value) is None


@pytest.mark.parametrize("value", ["yes", "on", "TRUE", "0", 0, 2, "false", "y", [1]])
def test_flag_other_values_refused(value):
    with pytest.raises(PolicyError) as err:
        normalize_flag("claude_code_skip_bedrock_auth", value)
    assert err.value.rule == "flag-value"
    assert "1, true or True" in str(err.value)
    assert err.value.fix == "set claude_code_skip_bedrock_auth to 1 (or true/True), or leave it unset (false) to not set it"


@pytest.mark.parametrize("host,loop", [("localhost", True), ("LocalHost", True), ("127.0.0.1", True), ("127.3.4.5", True),
                                       ("::1", True), ("[::1]", True), ("api.localhost", False), ("localhost.", False),
                                       ("10.0.0.1", False), ("127.1", False), ("[::ffff:127.0.0.1]", False),
                                       ("localhost.example.com", False), ("gateway", False), ("", False)])
def test_loopback(host, loop):
    assert is_loopback_host(host) is loop


def test_url_https_and_trailing_slash():
    assert check_gateway_url("https://gw.example.com/claude/") == ("https://gw.example.com/claude", [])


@pytest.mark.parametrize("url", ["http://localhost:4000", "http://127.0.0.1:4000", "http://[::1]:4000/"])
def test_url_http_loopback_ok(url):
    assert check_gateway_url(url)[1] == []


def test_url_http_public_refused_and_names_fix():
    with pytest.raises(PolicyError) as err:
        check_gateway_url("http://gateway.example.com")
    assert err.value.rule == "gateway-https"
    assert "claude_code_allow_insecure_http" in err.value.fix and "(%s)" % LOOPBACK_RULE in err.value.fix


def test_url_http_allowed_explicitly_warns():
    url, warnings = check_gateway_url("http://litellm-gateway:4000", allow_insecure_http=True)
    assert url == "http://litellm-gateway:4000" and "plain http" in warnings[0]


@pytest.mark.parametrize("url", ["", None, "ftp://gw", "gw.example.com", "https://", "https://u:p@gw.example.com",
                                 "https://gw.example.com/?k=1"])
def test_url_malformed(url):
    with pytest.raises(PolicyError) as err:
        check_gateway_url(url)
    assert err.value.rule == "gateway-url"


@pytest.mark.parametrize("token,kind", [
    ("sk-ant-api03-abcdefghijklmnop", "Anthropic"),
    ("AKIAIOSFODNN7EXAMPLE", "AWS access key"),
    ("ASIAIOSFODNN7EXAMPLE", "AWS access key"),
    ("AIzaSyA-0123456789abcdefghijklmnopqrstu", "Google API key"),
    ("ya29.a0AfH6SMBx", "Google OAuth"),
    ('{"type": "service_account", "private_key": "x"}', "service-account"),
    ("ABSKQmVkcm9ja0FQSUtleS1hYmNkZWZnaGlqaw==", "Bedrock"),
])
def test_provider_keys_refused(token, kind):
    with pytest.raises(PolicyError) as err:
        check_token(token, "user alice")
    assert err.value.rule == "token-provider-key" and kind in str(err.value)
    assert token not in str(err.value)


@pytest.mark.parametrize("token", ["abc def", "abc\n", "a'b", 'a"b', "a\x00b", "a\x7fb", "a\x9fb"])
def test_token_format(token):
    with pytest.raises(PolicyError) as err:
        check_token(token, "x")
    assert err.value.rule == "token-format" and token.strip() not in str(err.value)


@pytest.mark.parametrize("token", [None, "", "   "])
def test_token_missing(token):
    with pytest.raises(PolicyError) as err:
        check_token(token, "user bob")
    assert err.value.rule == "token-missing" and "user bob" in str(err.value)


def test_litellm_style_tokens_accepted():
    check_token("sk-1234abcd", "x")  # LiteLLM keys start with sk- (not sk-ant-)
    check_token(TOKEN, "x")
    check_token("tok~en.é", "x")  # printable characters next to the refused ranges


def test_default_workstation_env():
    result = evaluate(ws())
    assert result["env"] == {"ANTHROPIC_BASE_URL": "https://gw.example.com",
                             "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1", "CLAUDE_CODE_SKIP_VERTEX_AUTH": "1"}
    assert result["token_env_var"] == "ANTHROPIC_AUTH_TOKEN"


def test_flags_only_for_routed_providers():
    result = evaluate(ws(gateway_providers=["anthropic", "bedrock"]))
    assert "CLAUDE_CODE_SKIP_VERTEX_AUTH" not in result["env"]
    assert result["env"]["CLAUDE_CODE_SKIP_BEDROCK_AUTH"] == "1"


def test_explicit_flag_for_unrouted_provider_refused():
    err = rule_of(ws(gateway_providers=["anthropic"], skip_vertex_auth="true"))
    assert err.rule == "skip-flag-unrouted" and "CLAUDE_CODE_SKIP_VERTEX_AUTH" in str(err)


def test_explicit_flag_with_direct_access_refused():
    err = rule_of(ws(direct_providers=["bedrock"], skip_bedrock_auth=1))
    assert err.rule == "skip-flag-direct-access"


def test_direct_access_from_direct_providers_not_env():
    # Direct access is said with claude_code_direct_providers; credentials in claude_code_env are refused.
    err = rule_of(ws(env={"AWS_PROFILE": "bedrock"}))
    assert err.rule == "env-reserved" and "claude_code_direct_providers" in err.fix
    # Unset: the flag is simply not set for the directly reached provider.
    result = evaluate(ws(direct_providers=["bedrock"]))
    assert "CLAUDE_CODE_SKIP_BEDROCK_AUTH" not in result["env"]
    assert result["env"]["CLAUDE_CODE_SKIP_VERTEX_AUTH"] == "1"


def test_flag_false_means_unset():
    assert "CLAUDE_CODE_SKIP_VERTEX_AUTH" not in evaluate(ws(skip_vertex_auth=False))["env"]


def test_invalid_flag_value_refused():
    assert rule_of(ws(skip_bedrock_auth="yes")).rule == "flag-value"


def test_unknown_client_kind():
    err = rule_of(ws(client="laptop"))
    assert err.rule == "client-kind" and "workstation" in err.fix


def test_bedrock_mode():
    env = evaluate(ws(client_mode="bedrock", aws_region="us-east-1"))["env"]
    assert env["CLAUDE_CODE_USE_BEDROCK"] == "1"
    assert env["ANTHROPIC_BEDROCK_BASE_URL"] == "https://gw.example.com/bedrock"
    assert env["CLAUDE_CODE_SKIP_BEDROCK_AUTH"] == "1" and env["AWS_REGION"] == "us-east-1"


def test_vertex_mode():
    env = evaluate(ws(client_mode="vertex", vertex_project="p", vertex_region="us-east5"))["env"]
    assert env["CLAUDE_CODE_USE_VERTEX"] == "1" and env["ANTHROPIC_VERTEX_BASE_URL"].endswith("/vertex_ai/v1")
    assert env["ANTHROPIC_VERTEX_PROJECT_ID"] == "p" and env["CLOUD_ML_REGION"] == "us-east5"


def test_bedrock_mode_needs_route_and_flag():
    assert rule_of(ws(client_mode="bedrock", gateway_providers=["anthropic"])).rule == "client-mode"
    assert rule_of(ws(client_mode="bedrock", skip_bedrock_auth=False)).rule == "client-mode"
    assert rule_of(ws(client_mode="bedrock", direct_providers=["bedrock"])).rule == "skip-flag-direct-access"


@pytest.mark.parametrize("env,rule", [({"ANTHROPIC_BASE_URL": "x"}, "env-reserved"),
                                      ({"ANTHROPIC_API_KEY": "x"}, "env-reserved"),
                                      ({"BAD-NAME": "x"}, "env-name"),
                                      ({"X": "a\nb"}, "env-value"),
                                      ({"X": True}, "env-value")])
def test_env_rules(env, rule):
    assert rule_of(ws(env=env)).rule == rule


def test_users_tokens():
    assert rule_of(ws(users=[{"name": "alice"}])).rule == "token-missing"
    evaluate(ws(users=[{"name": "alice"}], token=TOKEN))  # shared token
    evaluate(ws(users=[{"name": "alice", "token_ref": {"name": "t/alice"}}]))  # read later
    evaluate(ws(users=[{"name": "alice", "token": TOKEN, "home": "/srv/alice"}]))  # an absolute home
    assert rule_of(ws(users=[{"name": "alice", "token": "sk-ant-x"}])).rule == "token-provider-key"
    assert rule_of(ws(users=[])).rule == "users"
    assert rule_of(ws(users=[{"name": "Alice; rm"}])).rule == "users"
    assert rule_of(ws(users=[{"name": "a", "token": TOKEN}, {"name": "a", "token": TOKEN}])).rule == "users"
    assert rule_of(ws(token=TOKEN, token_ref={"name": "x"})).rule == "token-source"


@pytest.mark.parametrize("user", [
    {"name": "alice", "token": TOKEN, "token_ref": {"name": "t/alice"}},
    {"name": "alice", "token": "", "token_ref": {"name": "t/alice"}},
])
def test_user_token_and_token_ref_together_are_refused(user):
    # With a shared token too, and as the second user: the per-user check is the only one that can refuse it.
    err = rule_of(ws(token=TOKEN, users=[{"name": "bob"}, user]))
    assert err.rule == "token-source" and "user alice has both token and token_ref" in str(err)
    from ansible_collections.llmops.claude_gateway.plugins.filter.claude_code import claude_code_resolve_tokens
    out = claude_code_resolve_tokens([{"item": {"name": "t/alice"}, "value": TOKEN}], [{"name": "bob"}, user], TOKEN)
    assert "claude_code policy 'token-source'" in out["error"] and "user alice has both" in out["error"]
    assert out["users"] == [] and out["shared"] is None


def test_runner_needs_token_and_location():
    base = {"client": "gitlab_runner", "gateway_url": "https://gw", "gitlab_runner_name": "r1"}
    assert rule_of(base).rule == "token-missing"
    assert evaluate(dict(base, token=TOKEN))["env"]["ANTHROPIC_BASE_URL"] == "https://gw"
    assert rule_of(dict(base, gitlab_runner_name=None, token=TOKEN)).rule == "client-location"
    assert rule_of({"client": "github_actions", "github_runner_dir": "/opt/r"}).rule == "client-location"
    assert rule_of({"client": "systemd", "state": "absent"}).rule == "client-location"


def test_absent_needs_no_url_or_token():
    assert evaluate({"client": "workstation", "state": "absent"})["env"] == {}


def test_token_env_var():
    assert evaluate(ws(token_env_var="ANTHROPIC_API_KEY"))["token_env_var"] == "ANTHROPIC_API_KEY"
    assert rule_of(ws(token_env_var="OPENAI_API_KEY")).rule == "token-env-var"


def test_filters_return_messages_not_exceptions():
    out = claude_code_policy(ws(gateway_url="http://gw.example.com"))
    assert out["error"].startswith("claude_code policy 'gateway-https'")
    assert claude_code_policy(ws())["error"] is None
    check_token(TOKEN, "x")
    with pytest.raises(PolicyError) as info:
        check_token("AKIAIOSFODNN7EXAMPLE", "x")
    assert info.value.rule == "token-provider-key" and "AKIAIOSFODNN7EXAMPLE" not in str(info.value)


def test_remove_lists():
    present = evaluate(ws(gateway_providers=["anthropic", "bedrock"]))
    assert "CLAUDE_CODE_SKIP_VERTEX_AUTH" in present["remove"]  # a flag no longer wanted is removed
    assert "CLAUDE_CODE_SKIP_BEDROCK_AUTH" not in present["remove"] and "ANTHROPIC_BASE_URL" not in present["remove"]
    runner = evaluate({"client": "systemd", "systemd_service": "x", "gateway_url": "https://gw", "token": TOKEN,
                       "token_env_var": "ANTHROPIC_API_KEY"})
    assert "ANTHROPIC_API_KEY" not in runner["remove"] and "ANTHROPIC_AUTH_TOKEN" in runner["remove"]
    absent = evaluate({"client": "workstation", "state": "absent", "env": {"DISABLE_TELEMETRY": "1"},
                       "aws_region": "us-east-1"})
    assert {"ANTHROPIC_BASE_URL", "DISABLE_TELEMETRY", "AWS_REGION", "CLAUDE_CODE_API_KEY_HELPER_TTL_MS"} <= \
        set(absent["remove"])


def test_helper_ttl_and_cli_version():
    assert evaluate(ws(helper_ttl_ms=300000))["env"]["CLAUDE_CODE_API_KEY_HELPER_TTL_MS"] == "300000"
    assert rule_of(ws(helper_ttl_ms="5m")).rule == "helper-ttl"
    assert rule_of(ws(install_cli=True, cli_version="latest")).rule == "cli-version"
    evaluate(ws(install_cli=True, cli_version="2.1.3"))


# --------------------------------------------------------------------------------------------------
# Gateway URL as Node's WHATWG URL reads it (security finding 5)
# --------------------------------------------------------------------------------------------------

# (url, rule or None when accepted, whether a plain-http warning is expected with allow_insecure_http)
URL_CASES = [
    ("http://evil.example\\.localhost:4000", "gateway-url"),  # WHATWG: host evil.example, path /.localhost
    ("http://a.localhost:4000", "gateway-https"),  # only localhost itself is loopback
    ("http://localhost:4000", None),
    ("HTTP://LocalHost:4000", None),
    ("http://127.0.0.1:4000", None),
    ("http://127.5.6.7", None),
    ("http://[::1]:4000", None),
    ("http://[0:0:0:0:0:0:0:1]:4000", None),
    ("http://user@localhost", "gateway-url"),
    ("http://localhost@evil.example", "gateway-url"),
    ("http://127.1", "gateway-url"),  # WHATWG: 127.0.0.1, Python: a name; refused rather than guessed
    ("http://0x7f.0.0.1", "gateway-url"),
    ("http://0177.0.0.1", "gateway-url"),
    ("http://2130706433", "gateway-url"),
    ("http://127.0.0.1.", "gateway-url"),
    ("http://256.0.0.1", "gateway-url"),
    ("http://evil.123", "gateway-url"),
    ("http:// localhost", "gateway-url"),
    ("http://localhost:4000\t", "gateway-url"),
    ("http://localhost:4000\n", "gateway-url"),
    ("http://localhost:40\x0000", "gateway-url"),
    ("http://l\u043ecalhost", "gateway-url"),  # Cyrillic o
    ("https://b\u00fccher.example", "gateway-url"),  # IDN: give the xn-- form
    ("http://%6cocalhost", "gateway-url"),
    ("http://localhost:0", "gateway-url"),
    ("http://localhost:65536", "gateway-url"),
    ("http://localhost:", "gateway-url"),
    ("http://:4000", "gateway-url"),
    ("http://[::1", "gateway-url"),
    ("http://[fe80::1%25eth0]", "gateway-url"),
    ("http:/localhost", "gateway-url"),
    ("http:localhost", "gateway-url"),
    ("https://gateway.example.com/claude", None),
    ("https://gateway.example.com:8443", None),
    ("https://xn--bcher-kva.example", None),
    ("http://[::ffff:127.0.0.1]", "gateway-https"),  # IPv4-mapped: not loopback by the strict rule
    ("http://localhost.", "gateway-https"),  # trailing dot: a DNS name, not loopback by the strict rule
    ("http://10.0.0.5:4000", "gateway-https"),
    ("http://litellm-gateway:4000", "gateway-https"),
]


@pytest.mark.parametrize("url,rule", URL_CASES)
def test_gateway_url_table(url, rule):
    if rule is None:
        assert check_gateway_url(url) == (url.rstrip("/"), [])
        return
    with pytest.raises(PolicyError) as err:
        check_gateway_url(url)
    assert err.value.rule == rule, str(err.value)
    assert "claude_code_gateway_url" in str(err.value) and err.value.fix
    if rule == "gateway-https":
        assert "claude_code_allow_insecure_http" in err.value.fix and "(%s)" % LOOPBACK_RULE in err.value.fix
        out, warnings = check_gateway_url(url, allow_insecure_http=True)
        assert out == url and "plain http" in warnings[0]
    else:
        # Malformed URLs stay refused with allow_insecure_http, and user info is never echoed.
        with pytest.raises(PolicyError):
            check_gateway_url(url, allow_insecure_http=True)
        if "@" in url:
            assert url.split("//", 1)[1] not in str(err.value)


# --------------------------------------------------------------------------------------------------
# claude_code_env: reserved names and secret-looking values (security finding 4)
# --------------------------------------------------------------------------------------------------

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

# (name, value, rule, a word the fix must contain)
ENV_REFUSED = [
    ("ANTHROPIC_BASE_URL", "https://evil.example", "env-reserved", "claude_code_gateway_url"),
    ("ANTHROPIC_BEDROCK_BASE_URL", "https://evil.example/b", "env-reserved", "claude_code_gateway_url"),
    ("ANTHROPIC_FOO_BASE_URL", "https://evil.example/f", "env-reserved", "claude_code_gateway_url"),
    ("ANTHROPIC_API_KEY", "gw-value-0123456789", "env-reserved", "claude_code_token"),
    ("ANTHROPIC_AUTH_TOKEN", "gw-value-0123456789", "env-reserved", "claude_code_token"),
    ("CLAUDE_CODE_OAUTH_TOKEN", "oauth-value-0123456789", "env-reserved", "claude_code_token"),
    ("CLAUDE_CODE_USE_BEDROCK", "1", "env-reserved", "claude_code_client_mode"),
    ("CLAUDE_CODE_USE_FOUNDRY", "1", "env-reserved", "claude_code_client_mode"),
    ("CLAUDE_CODE_SKIP_BEDROCK_AUTH", "1", "env-reserved", "claude_code_skip_bedrock_auth"),
    ("CLAUDE_CODE_SKIP_FOUNDRY_AUTH", "1", "env-reserved", "claude_code_skip_bedrock_auth"),
    ("CLAUDE_CODE_API_KEY_HELPER_TTL_MS", "1000", "env-reserved", "claude_code_helper_ttl_ms"),
    ("HTTP_PROXY", "http://proxy.example:3128", "env-reserved", "proxy"),
    ("HTTPS_PROXY", "http://proxy.example:3128", "env-reserved", "proxy"),
    ("https_proxy", "http://proxy.example:3128", "env-reserved", "proxy"),
    ("ALL_PROXY", "socks5://proxy.example:1080", "env-reserved", "proxy"),
    ("no_proxy", "gateway.example.com", "env-reserved", "proxy"),
    ("NODE_TLS_REJECT_UNAUTHORIZED", "0", "env-reserved", "TLS"),
    ("NODE_OPTIONS", "--require /tmp/hook-module.js", "env-reserved", "Node.js"),
    ("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE", "env-reserved", "claude_code_direct_providers"),
    ("AWS_SECRET_ACCESS_KEY", SECRET, "env-reserved", "claude_code_direct_providers"),
    ("AWS_SESSION_TOKEN", "session-value-0123456789", "env-reserved", "claude_code_direct_providers"),
    ("AWS_BEARER_TOKEN_BEDROCK", "ABSKQmVkcm9ja0FQSUtleS1hYmNkZWZnaGlqaw==", "env-reserved",
     "claude_code_direct_providers"),
    ("AWS_PROFILE", "bedrock-dev", "env-reserved", "claude_code_direct_providers"),
    ("GOOGLE_APPLICATION_CREDENTIALS", "/secret/sa-file.json", "env-reserved", "claude_code_direct_providers"),
    ("AZURE_CLIENT_SECRET", "azure-value-0123456789", "env-reserved", "claude_code_direct_providers"),
    ("ANTHROPIC_FOUNDRY_API_KEY", "foundry-value-0123456789", "env-reserved", "claude_code_direct_providers"),
    ("GITHUB_TOKEN", "some-value-0123456789", "env-reserved", "world-readable"),
    ("MY_SERVICE_PASSWORD", "hunter2-value", "env-reserved", "world-readable"),
    ("my_api_key", "lower-value-0123456789", "env-reserved", "world-readable"),
    # Secret-looking values whatever the name
    ("CUSTOM_A", "sk-ant-api03-abcdefghijklmnop", "env-secret-value", "claude_code_token"),
    ("CUSTOM_B", "AKIAIOSFODNN7EXAMPLE", "env-secret-value", "claude_code_token"),
    ("CUSTOM_C", "sk-" + "Ab3dEf6hIj9kLm2nOp5q", "env-secret-value", "claude_code_token"),
    ("CUSTOM_D", "ghp_" + "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8", "env-secret-value", "claude_code_token"),
    ("CUSTOM_E", "github_pat_" + "11ABCDEFG0123456789_abcdefghijklmnop", "env-secret-value", "claude_code_token"),
    ("CUSTOM_F", "glpat-" + "xYz12AbC34dEf56GhI78", "env-secret-value", "claude_code_token"),
    ("CUSTOM_G", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl", "env-secret-value", "claude_code_token"),
    ("CUSTOM_H", "-----BEGIN PRIVATE KEY-----MIIEvQIBADANBg", "env-secret-value", "claude_code_token"),
    ("CUSTOM_I", SECRET, "env-secret-value", "claude_code_token"),
    ("CUSTOM_J", "3dd9522d1ffa58b26e2d4f45098f16decc2d06e5081e197054aeb402258776fb", "env-secret-value",
     "claude_code_token"),
    ("ANTHROPIC_CUSTOM_HEADERS", "X-Team: a; Authorization: Bearer abcdefgh12345678", "env-secret-value",
     "claude_code_token"),
    ("CUSTOM_K", "AIzaSyA-0123456789abcdefghijklmnopqrstu", "env-secret-value", "claude_code_token"),
    ("CUSTOM_L", "https://hooks.example.com/x/yqVvg2Q9jhPoPBY8iCrImVorIlHTc7km", "env-secret-value",
     "claude_code_token"),
    # Other value rules
    ("NODE_EXTRA_CA_CERTS", "relative/ca.pem", "env-value", "absolute path"),
    ("CUSTOM_M", "a\nb", "env-value", "one line"),
    ("CUSTOM_N", ["x"], "env-value", "one line"),
]


@pytest.mark.parametrize("name,value,rule,fix_word", ENV_REFUSED, ids=[c[0] + "-" + c[2] for c in ENV_REFUSED])
def test_env_refused_table(name, value, rule, fix_word):
    err = rule_of(ws(env={"DISABLE_TELEMETRY": "1", name: value}))
    assert err.rule == rule
    message = str(err)
    assert "claude_code_env" in message and name in message  # names the variable
    assert "Fix:" in message and fix_word in err.fix  # and the fix
    if isinstance(value, str) and len(value) > 2:
        assert value not in message  # never the value
        for piece in value.replace("/", " ").replace(".", " ").split():
            assert len(piece) < 12 or piece not in message
    # Through the filter the role uses: the same message, no value.
    out = claude_code_policy(ws(env={name: value}))
    assert out["error"].startswith("claude_code policy '%s'" % rule) and out["env"] == {}


ENV_ACCEPTED = {
    "DISABLE_TELEMETRY": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": 1,
    "CLAUDE_CODE_MAX_OUTPUT_TOKENS": "32000",
    "MAX_THINKING_TOKENS": 8000,
    "ANTHROPIC_MODEL": "claude-3-5-sonnet-20241022",
    "ANTHROPIC_SMALL_FAST_MODEL": "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    "ANTHROPIC_DEFAULT_SONNET_MODEL": "arn:aws:bedrock:us-east-1:123456789012:inference-profile/"
                                      "us.anthropic.claude-sonnet-4-20250514-v1:0",
    "ANTHROPIC_DEFAULT_OPUS_MODEL": "claude-opus-4-1@20250805",
    "AWS_REGION": "eu-west-1",
    "CLOUD_ML_REGION": "us-east5",
    "ANTHROPIC_VERTEX_PROJECT_ID": "my-gcp-project-123456",
    "NODE_EXTRA_CA_CERTS": "/usr/local/share/ca-certificates/corp-root-ca.crt",
    "CLAUDE_CONFIG_DIR": "/home/alice/Projects/Claude2025/settings",
    "OTEL_EXPORTER_OTLP_ENDPOINT": "https://otel.example.com:4318/v1/traces",
    "WORKSPACE": "/opt/actions-runner/_work/ProjectName/ProjectName/SubDirectory2/File",
    "TEAM": "eu-west-1_Production_Cluster_2025_Primary",
    "LABEL": "ProjectAlpha-Team42-Workspace-Production",
    "CLASS": "XMLHttpRequestHandlerV2ForGatewayClients",
    "TENANT": "550e8400-e29b-41d4-a716-446655440000",
    "API_TIMEOUT_MS": 600000,
    "BASH_DEFAULT_TIMEOUT_MS": "120000",
}


def test_env_accepted_values():
    env = evaluate(ws(env=ENV_ACCEPTED))["env"]
    for name, value in ENV_ACCEPTED.items():
        assert env[name] == str(value)


def test_env_secret_value_rule_catches_random_tokens():
    import base64
    import random
    rng = random.Random(20260101)  # fixed: the rule is a heuristic, it misses about 1 random string in 500
    values = []
    for _ignored in range(500):
        raw = bytes(rng.randrange(256) for _ignored in range(30))
        values += [raw[:16].hex(), base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()]
    caught = [v for v in values if secret_value_kind(v)]
    assert len(caught) >= 0.99 * len(values)
    assert all(secret_value_kind(v) for v in values[0::3])  # hex: always
    assert secret_value_kind("plain value with words") is None


def test_env_absent_needs_no_checks():
    # state=absent removes what earlier runs wrote, including names now refused.
    result = evaluate({"client": "workstation", "state": "absent", "env": {"AWS_PROFILE": "x"}})
    assert "AWS_PROFILE" in result["remove"]


# Each refusal names what it is about (the variable, the user, the URL) and how to fix it, never a secret.
@pytest.mark.parametrize("cfg, words", [
    (ws(gateway_url="https://gw.example.com/?k=1"), "claude_code_gateway_url 'https://gw.example.com/?k=1' has a query"),
    (ws(gateway_url=""), "'gateway-url': claude_code_gateway_url is not set"),
    (ws(users=[{"name": "alice"}]), "no gateway token for user alice. Fix: give the token (no_log) or a store reference "
                                    "(token_ref) for user alice, or set"),
    (ws(users=[{"name": "alice", "token": TOKEN, "home": "home/alice"}]),
     "user alice has the home 'home/alice', not an absolute path"),
    (ws(env={"ANTHROPIC_BASE_URL": "x"}), "claude_code_env sets ANTHROPIC_BASE_URL, which cannot"),
    (ws(users=[{"name": "alice", "token": 5}]), "the gateway token for user alice is not a string"),
    (ws(state="gone"), "claude_code_state is 'gone'"),
    (ws(skip_bedrock_auth="yes"), "claude_code_skip_bedrock_auth has the value 'yes'"),
    (ws(client_mode="bedrock", skip_bedrock_auth=False), "Fix: leave claude_code_skip_bedrock_auth unset or set it to 1"),
    (ws(token_env_var="OPENAI_API_KEY"), "claude_code_token_env_var is 'OPENAI_API_KEY'"),
    (ws(gateway_providers=["anthropic"], skip_vertex_auth=True),
     "the gateway does not route to vertex (claude_code_gateway_providers: anthropic)"),
    (ws(gateway_providers=[], skip_vertex_auth=True), "(claude_code_gateway_providers: none)"),
    (ws(users=[{"name": "alice", "token": "a b"}]), "the gateway token for user alice contains whitespace"),
    (ws(users=[{"name": "alice", "token": "sk-ant-x"}]), "the token for user alice looks like an Anthropic API key"),
    (ws(users=[{"name": "alice", "token": "a\x7fb"}]), "the gateway token for user alice contains whitespace, quotes or control"),
    (ws(users=[{"token": TOKEN}]), "entry without a valid login name: '(missing)'"),
    (ws(users=[{"name": "Alice; rm"}]), "entry without a valid login name: 'Alice; rm'"),
    (ws(env={"X": "a\nb"}), "claude_code_env.X must be a one-line string"),
    (ws(env={"X": "ghp_" + "a1" * 12}), "Fix: remove the secret from claude_code_env.X: the gateway token"),
    (ws(client_mode="openai"), "claude_code_client_mode is 'openai'. Fix: use one of: anthropic, bedrock, vertex"),
    (ws(client_mode="bedrock", gateway_providers=["anthropic"]),
     "claude_code_client_mode is bedrock, but the gateway does not route to it. Fix: add bedrock to "
     "claude_code_gateway_providers or use client mode anthropic"),
    (ws(gateway_providers=5), "claude_code_gateway_providers must be a list. Fix: give a list among: anthropic, bedrock, vertex"),
    (ws(settings_scope="global"), "claude_code_settings_scope is 'global'. Fix: use one of: managed, managed_dropin, user"),
    ({"client": "gitlab_runner"}, "claude_code_client gitlab_runner needs claude_code_gitlab_runner_name. "
                                  "Fix: set claude_code_gitlab_runner_name for this host"),
    (ws(token=TOKEN, users=[{"name": "a"}, {"name": "a"}]), "user a is listed twice in claude_code_users"),
    (ws(gateway_providers=["anthropic", "openai"]),
     "'gateway-providers': claude_code_gateway_providers holds 'openai'. Fix: use only: anthropic, bedrock, vertex"),
    (ws(env={"BAD-NAME": "x"}), "claude_code_env has the invalid variable name 'BAD-NAME'"),
    ({"client": "laptop"}, "Fix: set claude_code_client to one of: workstation, github_actions, gitlab_runner, systemd"),
    (ws(direct_providers=["bedrock"], skip_bedrock_auth=True),
     "Fix: unset claude_code_skip_bedrock_auth on this host, or remove the direct access and let the gateway authenticate"),
    ({"client": "gitlab_runner", "gateway_url": "https://gw", "gitlab_runner_name": "r1"},
     "no gateway token for this gitlab_runner runner"),
    (ws(direct_providers="anthropic"), "'direct-providers': claude_code_direct_providers holds 'anthropic'"),
])
def test_refusals_name_what_is_wrong(cfg, words):
    assert words in str(rule_of(cfg))


def test_refused_url_says_why_and_how_to_fix():
    with pytest.raises(UrlError) as why:
        split_http_url("ftp://gw")
    text = str(rule_of(ws(gateway_url="ftp://gw")))
    assert "claude_code_gateway_url is refused: %s. Fix: %s; set it like https://" % (why.value.problem, why.value.fix) in text


def test_settings_scope_is_a_workstation_setting():
    runner = {"client": "systemd", "systemd_service": "x", "gateway_url": "https://gw", "token": TOKEN}
    assert evaluate(dict(runner, settings_scope="global"))["env"]["ANTHROPIC_BASE_URL"] == "https://gw"


def test_random_run_rule_boundaries():
    assert secret_value_kind("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY") == "a long random string (a key or token?)"
    assert secret_value_kind("aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1x=") is None  # 31 characters and padding
    # Chunks of 3.5 characters on average are not random enough; shorter ones are.
    assert secret_value_kind("Abcdef1" * 5) is None
    assert secret_value_kind("Abcde1" * 6) == "a long random string (a key or token?)"


CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("bundle, kind", [(CA_PEM, "pem"), ({"name": "pki/company-ca"}, "ref"),
                                          ("/srv/pki/company-ca.pem", "controller"), ("pki/ca.pem", "controller")])
def test_ca_bundle_sets_node_extra_ca_certs_for_every_client_kind(bundle, kind):
    result = evaluate(ws(ca_bundle=bundle))
    assert result["ca_bundle"] == {"kind": kind, "path": "/etc/claude-code/ca-bundle.pem"}
    assert result["env"]["NODE_EXTRA_CA_CERTS"] == "/etc/claude-code/ca-bundle.pem"
    assert "NODE_EXTRA_CA_CERTS" not in result["remove"]
    runner = evaluate({"client": "github_actions", "github_runner_dir": "/opt/r", "github_runner_service": "r.service",
                       "gateway_url": "https://gw", "token": TOKEN, "ca_bundle": bundle, "ca_bundle_path": "/etc/pki/gw.pem"})
    assert runner["env"]["NODE_EXTRA_CA_CERTS"] == "/etc/pki/gw.pem"


def test_no_ca_bundle_removes_the_variable_the_role_set():
    result = evaluate(ws(ca_bundle=None))
    assert result["ca_bundle"] is None and "NODE_EXTRA_CA_CERTS" not in result["env"]
    assert "NODE_EXTRA_CA_CERTS" in result["remove"]
    assert "NODE_EXTRA_CA_CERTS" in evaluate({"client": "workstation", "state": "absent"})["remove"]
    # A CA the host already has, named in claude_code_env, is kept.
    kept = evaluate(ws(env={"NODE_EXTRA_CA_CERTS": "/etc/ssl/certs/corp.pem"}))
    assert kept["env"]["NODE_EXTRA_CA_CERTS"] == "/etc/ssl/certs/corp.pem" and "NODE_EXTRA_CA_CERTS" not in kept["remove"]


@pytest.mark.parametrize("cfg, words", [
    (ws(ca_bundle={"backend": "vault"}), "neither PEM text, a store reference"),
    (ws(ca_bundle=12), "neither PEM text"),
    (ws(ca_bundle=CA_PEM, ca_bundle_path="ca.pem"), "'ca.pem' is not an absolute file path"),
    (ws(ca_bundle=CA_PEM, ca_bundle_path="/etc/claude-code/"), "is not an absolute file path"),
    (ws(ca_bundle=CA_PEM, env={"NODE_EXTRA_CA_CERTS": "/etc/x.pem"}), "claude_code_env.NODE_EXTRA_CA_CERTS are both set"),
])
def test_ca_bundle_refusals(cfg, words):
    err = rule_of(cfg)
    assert err.rule == "ca-bundle" and words in err.problem and err.fix


def test_https_with_a_ca_does_not_open_plain_http():
    # A CA bundle changes nothing about the http rule: plain http to a non-loopback host stays refused.
    assert rule_of(ws(gateway_url="http://gw.example.com", ca_bundle=CA_PEM)).rule == "gateway-https"

"""Bad input through real ansible-playbook runs: each case fails with its own clear message.

All cases run in one playbook (one block/rescue per case) to keep the suite fast; each rescue asserts
the failure message and error kind, and that no secret value is in the message.
"""
import os
import secrets
import socket

import pytest

from ansible_runner import run_playbook

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory import (
    BACKEND_ARGUMENT_SPEC,
    get_backend,
)

INFO = "llmops.claude_gateway.gateway_token_info"
WRITE = "llmops.claude_gateway.gateway_token"


def _free_port():
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def _opts(options):
    return dict((k, v) for k, v in options.items() if k in BACKEND_ARGUMENT_SPEC and v is not None)


@pytest.fixture
def cases(tmp_path, openbao_server, aws_options, gcp_options):
    vault = _opts(openbao_server.options())
    aws = dict(_opts(aws_options), backend="aws")
    gcp = dict(_opts(gcp_options), backend="gcp")
    local = {"backend": "local", "local_path": str(tmp_path / "good.yml")}
    plain = "gw-plain-" + secrets.token_hex(16)
    get_backend(local).write("plain", plain)
    get_backend(local).write("teams", '{"team-a": "gw-a-%s"}' % secrets.token_hex(8))
    get_backend(vault).write("bad-input/plain", plain)

    # A Vault token whose policy may list but not read.
    client = openbao_server.client()
    client.sys.create_or_update_policy("list-only", 'path "secret/metadata/*" { capabilities = ["list"] }')
    denied_token = client.auth.token.create(policies=["list-only"], ttl="10m")["auth"]["client_token"]

    malformed = tmp_path / "malformed.yml"
    malformed.write_text("secrets: {alice: [unclosed\n")
    encrypted = {"backend": "local", "local_path": str(tmp_path / "enc.yml"), "local_vault_password": "right-pw"}
    get_backend(encrypted).write("alice", plain)

    return [
        # (case id, module, args, message regex, error_kind or None)
        ("unknown backend", INFO, {"backend": "etcd", "name": "x"}, "value of backend must be one of: aws, gcp, local, vault, got: etcd", None),
        ("missing name", INFO, {"backend": "local"}, "missing required arguments: name", None),
        ("wrong option type", INFO, dict(local, name="plain", retries="many"), "retries.*int", None),
        ("version and version_stage", INFO, dict(aws, name="x", version="v", version_stage="AWSCURRENT"),
         "mutually exclusive: version\\|version_stage", None),
        ("aws without region", INFO, dict([(k, v) for k, v in aws.items() if k != "aws_region"], name="x"), "region", "bad_configuration"),
        ("gcp without project", INFO, dict([(k, v) for k, v in gcp.items() if k != "gcp_project"], name="s"), "project", "bad_configuration"),
        ("vault without url", INFO, dict([(k, v) for k, v in vault.items() if k != "vault_url"], name="s"), "vault_url|VAULT_ADDR", "bad_configuration"),
        ("nonexistent secret (vault)", INFO, dict(vault, name="bad-input/nobody"), "bad-input/nobody.*Fix:", "not_found"),
        ("nonexistent secret (aws)", INFO, dict(aws, name="nobody"), "nobody.*Fix:", "not_found"),
        ("nonexistent secret (gcp)", INFO, dict(gcp, name="nobody"), "nobody.*Fix:", "not_found"),
        ("nonexistent version (local)", INFO, dict(local, name="plain", version="9"), "version 9 does not exist", "not_found"),
        ("access denied (vault policy)", INFO, dict(vault, name="bad-input/plain", vault_token=denied_token), "Fix:", "access_denied"),
        ("wrong credentials (vault)", INFO, dict(vault, name="bad-input/plain", vault_token="s.not-a-real-token"), "Fix:", "access_denied"),
        ("unreachable (vault)", INFO, dict(vault, name="x", vault_url="http://127.0.0.1:%d" % _free_port(), retries=0, timeout=2), "Fix:", "unreachable"),
        ("plain http to a non-loopback vault", INFO, dict(vault, name="x", vault_url="http://vault.example.invalid:8200"),
         "in clear.*Fix:.*vault_allow_insecure_http", "bad_configuration"),
        ("unreachable (aws)", INFO, dict(aws, name="x", aws_endpoint_url="http://127.0.0.1:%d" % _free_port(), retries=0, timeout=2), "Fix:", "unreachable"),
        ("JSON field on a non-JSON secret", INFO, dict(local, name="plain", field="team-a"), "not JSON", "invalid_format"),
        ("missing JSON field", INFO, dict(local, name="teams", field="team-z"), "has no field 'team-z' \\(it has: team-a\\)", "invalid_format"),
        ("malformed local store", INFO, dict(local, name="alice", local_path=str(malformed)), "not valid YAML", "invalid_format"),
        ("wrong vault password", INFO, dict(encrypted, name="alice", local_vault_password="wrong-pw"), "wrong vault password", "bad_configuration"),
        ("encrypted store without password", INFO, dict(local, name="alice", local_path=encrypted["local_path"]),
         "encrypted with ansible-vault", "bad_configuration"),
        ("neither value nor generate", WRITE, dict(local, name="new"), "neither 'value' nor 'generate' is set. Fix:", "bad_configuration"),
        ("version on a write", WRITE, dict(local, name="new", generate=True, version="1"), "'version' and 'version_stage' are for reading", None),
        ("retire 0", WRITE, dict(local, name="plain", generate=True, retire=0), "at least 1", "bad_configuration"),
        ("token too short", WRITE, dict(local, name="short", generate=True, length=8), "too short", "bad_configuration"),
    ], [plain]


def test_each_bad_input_fails_with_its_message(cases, tmp_path):
    case_list, secret_values = cases
    tasks = []
    for number, (title, module, args, pattern, kind) in enumerate(case_list):
        checks = ["ansible_failed_result.msg is search(%r)" % pattern,
                  "'did not fail' not in ansible_failed_result.msg"]
        if kind:
            checks.append("ansible_failed_result.error_kind == %r" % kind)
        checks += ["%r not in ansible_failed_result.msg" % value for value in secret_values]
        tasks.append({"name": "case %d: %s" % (number, title), "block": [
            {"name": "run", module: args},
            {"name": "must have failed", "ansible.builtin.fail": {"msg": "case did not fail"}},
        ], "rescue": [
            {"name": "check the message", "ansible.builtin.assert": {
                "that": checks, "fail_msg": "case %d (%s): {{ ansible_failed_result.msg }}" % (number, title)}},
            {"name": "count", "ansible.builtin.set_fact": {"passed": "{{ passed | default([]) + [%d] }}" % number}},
        ]})
    tasks.append({"name": "every case was checked", "ansible.builtin.assert": {"that": ["passed | length == %d" % len(case_list)]}})
    # A lookup failure is a task failure too.
    tasks.append({"name": "lookup of a missing secret", "block": [
        {"ansible.builtin.debug": {"msg": "{{ lookup('llmops.claude_gateway.gateway_token', 'nobody', backend='local', "
                                          "local_path='%s') }}" % (tmp_path / "good.yml")}},
        {"ansible.builtin.fail": {"msg": "case did not fail"}},
    ], "rescue": [
        {"ansible.builtin.assert": {"that": ["ansible_failed_result.msg is search('no secret named .nobody.')"]}},
    ]})
    env = {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    result = run_playbook(tmp_path, [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], name="bad",
                          env=env)
    assert result.rc == 0, result
    assert "rescued=%d" % (len(case_list) + 1) in result.output, result
    print("bad-input cases checked: %d" % (len(case_list) + 1))


# --------------------------------------------------------------------------------------------------
# claude_code role: the client policy refuses claude_code_env credentials, secret values and ambiguous
# URLs before the role touches anything, at -vvv without printing the value.
# --------------------------------------------------------------------------------------------------

def _role_play(extra):
    play_vars = {
        "claude_code_client": "workstation",
        "claude_code_gateway_url": "https://gateway.example.com",
        "claude_code_users": [{"name": "nobody-here", "token": "gwt_" + secrets.token_hex(12)}],
        "claude_code_managed_dir": "/nonexistent/claude-code-must-not-be-created",
    }
    play_vars.update(extra)
    return {"hosts": "localhost", "gather_facts": False, "connection": "local", "vars": play_vars,
            "roles": ["llmops.claude_gateway.claude_code"]}


def test_claude_code_policy_refusals_at_vvv_show_no_value(tmp_path):
    aws_secret = "wJalr" + secrets.token_urlsafe(30)
    ghp = "ghp_" + secrets.token_hex(18)
    cases = [
        ("aws", {"claude_code_env": {"DISABLE_TELEMETRY": "1", "AWS_SECRET_ACCESS_KEY": aws_secret}},
         "claude_code policy 'env-reserved': claude_code_env sets AWS_SECRET_ACCESS_KEY", "claude_code_direct_providers",
         [aws_secret]),
        ("ghp", {"claude_code_env": {"CUSTOM_TOOL_SETTING": ghp}},
         "claude_code policy 'env-secret-value': the value of claude_code_env.CUSTOM_TOOL_SETTING", "claude_code_token",
         [ghp]),
        ("url", {"claude_code_gateway_url": "http://evil.example\\.localhost:4000"},
         "claude_code policy 'gateway-url'", "backslash", []),
    ]
    for name, extra, message, fix_word, hidden in cases:
        result = run_playbook(tmp_path, [_role_play(extra)], verbosity=3, name="policy-" + name)
        assert result.rc != 0, result
        assert message in result.output and fix_word in result.output, result
        assert "TASK [llmops.claude_gateway.claude_code : Refuse a profile that breaks the policy]" in result.output
        assert "Resolve the gateway tokens" not in result.output  # failed before anything else ran
        for value in hidden:
            assert value not in result.output and value not in result.log, "value leaked (%s)" % name
    assert not os.path.exists("/nonexistent/claude-code-must-not-be-created")


# --------------------------------------------------------------------------------------------------
# vault backend: no token over plain http to a host that is not loopback (refused before any request)
# --------------------------------------------------------------------------------------------------

def _non_loopback_address():
    """An address of this machine that is not loopback (the one a default route would use), or None."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("10.255.255.1", 9))  # UDP: no packet is sent
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_vault_http_to_non_loopback_refused_before_any_connection(tmp_path):
    address = _non_loopback_address()
    if not address:
        pytest.skip("no non-loopback IPv4 address on this machine")
    listener = socket.socket()
    listener.bind((address, 0))
    listener.listen(8)
    listener.settimeout(0.5)
    port = listener.getsockname()[1]
    token = "s." + secrets.token_hex(12)
    url = "http://%s:%d" % (address, port)
    opts = {"backend": "vault", "vault_url": url, "vault_token": token, "retries": 0, "timeout": 2}
    tasks = [
        {"name": "module refuses", "block": [
            {"llmops.claude_gateway.gateway_token_info": dict(opts, name="x")},
            {"ansible.builtin.fail": {"msg": "case did not fail"}}],
         "rescue": [{"ansible.builtin.assert": {"that": [
             "ansible_failed_result.error_kind == 'bad_configuration'",
             "ansible_failed_result.msg is search('plain http to .%s.*in clear')" % address.replace(".", "\\\\."),
             "ansible_failed_result.msg is search('vault_allow_insecure_http')"]}}]},
        {"name": "write refuses", "block": [
            {"llmops.claude_gateway.gateway_token": dict(opts, name="x", generate=True)},
            {"ansible.builtin.fail": {"msg": "case did not fail"}}],
         "rescue": [{"ansible.builtin.assert": {"that": [
             "ansible_failed_result.error_kind == 'bad_configuration'"]}}]},
        {"name": "lookup refuses", "block": [
            {"ansible.builtin.debug": {"msg": "{{ lookup('llmops.claude_gateway.gateway_token', 'x', backend='vault', "
                                              "vault_url='%s', vault_token='%s', retries=0, timeout=2) }}" % (url, token)}},
            {"ansible.builtin.fail": {"msg": "case did not fail"}}],
         "rescue": [{"ansible.builtin.assert": {"that": [
             "ansible_failed_result.msg is search('in clear')"]}}]},
    ]
    result = run_playbook(tmp_path, [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}], verbosity=3,
                          name="vault-http")
    assert result.rc == 0 and "rescued=3" in result.output, result
    assert token not in result.output and token not in result.log
    with pytest.raises(socket.timeout):
        listener.accept()  # nobody connected: refused before any request

    # Explicitly allowed: a warning, and then the request is made.
    allowed = [{"llmops.claude_gateway.gateway_token_info": dict(opts, name="x", vault_allow_insecure_http=True),
                "ignore_errors": True}]
    result = run_playbook(tmp_path, [{"hosts": "localhost", "gather_facts": False, "tasks": allowed}],
                          name="vault-http-allowed")
    assert "[WARNING]" in result.output and "allowed by vault_allow_insecure_http" in result.output, result
    assert token not in result.output
    conn, _peer = listener.accept()
    conn.close()
    listener.close()

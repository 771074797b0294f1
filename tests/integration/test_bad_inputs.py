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

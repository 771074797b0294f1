"""Bad input through real ansible-playbook runs: each case fails with its own named error and changes nothing.

All module cases run in ONE playbook (bad_input.run_cases): between two cases the playbook stops at a
checkpoint while the test snapshots every store through its own client (OpenBao KV v2 metadata and
data, moto's version ids and stages, drongo's versions and states, the local stores' bytes and modes),
so a change is attributed to the case that made it. Each case asserts the words of its rule, its
error_kind, that no secret value is in the message, and that no store changed.
"""
import os
import re
import secrets
import socket

import pytest

from ansible_runner import run_playbook
from bad_input import (
    AwsSecretsProbe,
    Case,
    FilesProbe,
    GcpSecretsProbe,
    VaultKVProbe,
    assert_named_error,
    run_cases,
    unchanged,
)

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


def _without(options, key):
    return dict((k, v) for k, v in options.items() if k != key)


def _gcp_client(gcp_options):
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import secretmanager_v1

    return secretmanager_v1.SecretManagerServiceClient(
        credentials=AnonymousCredentials(), transport="rest",
        client_options=ClientOptions(api_endpoint=gcp_options["gcp_api_endpoint"]))


@pytest.fixture
def stores(tmp_path, openbao_server, aws_options, gcp_options, aws_admin):
    """Every store with a few secrets in it, and the probes that see all of them."""
    directory = tmp_path / "stores"
    directory.mkdir()
    vault = _opts(openbao_server.options())
    aws = dict(_opts(aws_options), backend="aws")
    gcp = dict(_opts(gcp_options), backend="gcp")
    local = {"backend": "local", "local_path": str(directory / "good.yml")}
    plain = "gw-plain-" + secrets.token_hex(16)
    existing = "gw-existing-" + secrets.token_hex(16)
    get_backend(local).write("plain", plain)
    get_backend(local).write("teams", '{"team-a": "gw-a-%s"}' % secrets.token_hex(8))
    prefix = "bad-input-%s/" % secrets.token_hex(4)  # the session's OpenBao is shared with other tests
    get_backend(vault).write(prefix + "plain", plain)
    get_backend(vault).write(prefix + "existing", existing)
    get_backend(aws).write("existing", existing)
    get_backend(gcp).write("existing", existing)

    client = openbao_server.client()
    client.sys.create_or_update_policy("list-only", 'path "secret/metadata/*" { capabilities = ["list"] }')
    denied_token = client.auth.token.create(policies=["list-only"], ttl="10m")["auth"]["client_token"]

    malformed = directory / "malformed.yml"
    malformed.write_text("secrets: {alice: [unclosed\n")
    encrypted = {"backend": "local", "local_path": str(directory / "enc.yml"), "local_vault_password": "right-pw"}
    get_backend(encrypted).write("alice", plain)
    probes = {"vault": [VaultKVProbe(client)],
              "cloud": [AwsSecretsProbe(aws_admin()), GcpSecretsProbe(_gcp_client(gcp_options), gcp["gcp_project"])],
              "local": [FilesProbe([directory], name="local stores")]}
    return dict(vault=vault, aws=aws, gcp=gcp, local=local, encrypted=encrypted, malformed=str(malformed),
                prefix=prefix, denied_token=denied_token, hidden=[plain, existing, "right-pw"], probes=probes,
                good=str(directory / "good.yml"))


def module_cases(s):
    """(title, module, args, rule regexes, error_kind). error_kind None: refused by Ansible's argument
    spec or a lookup, which set none."""
    vault, aws, gcp, local, p = s["vault"], s["aws"], s["gcp"], s["local"], s["prefix"]
    port = _free_port()
    return [
        ("unknown backend", INFO, {"backend": "etcd", "name": "x"},
         ["value of backend must be one of: aws, gcp, local, vault, got: etcd"], None),
        ("missing name", INFO, {"backend": "local"}, ["missing required arguments: name"], None),
        ("wrong option type", INFO, dict(local, name="plain", retries="many"),
         ["argument 'retries' is of type .* and we were unable to convert to int"], None),
        ("version and version_stage", INFO, dict(aws, name="x", version="v", version_stage="AWSCURRENT"),
         ["mutually exclusive: version\\|version_stage"], None),
        ("aws without region", INFO, dict(_without(aws, "aws_region"), name="x"),
         ["no AWS region is configured", "aws_region"], "bad_configuration"),
        ("gcp without project", INFO, dict(_without(gcp, "gcp_project"), name="s"),
         ["no GCP project is known", "gcp_project"], "bad_configuration"),
        ("vault without url", INFO, dict(_without(vault, "vault_url"), name="s"),
         ["no server address", "vault_url.*VAULT_ADDR"], "bad_configuration"),
        ("nonexistent secret (vault)", INFO, dict(vault, name=p + "nobody"),
         ["'%snobody'" % p, "no secret at", "create it with llmops.claude_gateway.gateway_token"], "not_found"),
        ("nonexistent secret (aws)", INFO, dict(aws, name="nobody"),
         ["'nobody': the secret does not exist", "check the secret name"], "not_found"),
        ("nonexistent secret (gcp)", INFO, dict(gcp, name="nobody"),
         ["'nobody': the secret does not exist", "check the secret name"], "not_found"),
        ("nonexistent version (local)", INFO, dict(local, name="plain", version="9"),
         ["version 9 does not exist"], "not_found"),
        ("access denied (vault policy)", INFO, dict(vault, name=p + "plain", vault_token=s["denied_token"]),
         ["the token's policies do not allow this", "grant the token a policy .* on 'secret/data/%splain'" % p], "access_denied"),
        ("wrong credentials (vault)", INFO, dict(vault, name=p + "plain", vault_token="s.not-a-real-token"),
         ["the server refused the client token \\(invalid, expired or revoked\\)",
          "set a valid, unexpired token in 'vault_token'"], "access_denied"),
        ("unreachable (vault)", INFO,
         dict(vault, name="x", vault_url="http://127.0.0.1:%d" % port, retries=0, timeout=2),
         ["cannot reach http://127.0.0.1:%d: connection failed" % port, "check the store's address"], "unreachable"),
        ("plain http to a non-loopback vault", INFO, dict(vault, name="x", vault_url="http://vault.example.invalid:8200"),
         ["plain http to 'vault.example.invalid'", "in clear", "vault_allow_insecure_http"], "bad_configuration"),
        ("unreachable (aws)", INFO,
         dict(aws, name="x", aws_endpoint_url="http://127.0.0.1:%d" % _free_port(), retries=0, timeout=2),
         ["cannot reach the Secrets Manager endpoint", "check aws_region/aws_endpoint_url"],
         "unreachable"),
        ("JSON field on a non-JSON secret", INFO, dict(local, name="plain", field="team-a"),
         ["field 'team-a' was asked for but the secret is not JSON"], "invalid_format"),
        ("missing JSON field", INFO, dict(local, name="teams", field="team-z"),
         ["has no field 'team-z' \\(it has: team-a\\)"], "invalid_format"),
        ("malformed local store", INFO, dict(local, name="alice", local_path=s["malformed"]),
         ["not valid YAML"], "invalid_format"),
        ("wrong vault password", INFO, dict(s["encrypted"], name="alice", local_vault_password="wrong-pw"),
         ["wrong vault password"], "bad_configuration"),
        ("encrypted store without password", INFO, dict(local, name="alice", local_path=s["encrypted"]["local_path"]),
         ["encrypted with ansible-vault"], "bad_configuration"),
        # -- writes: refused before anything is written
        ("neither value nor generate", WRITE, dict(local, name="new"),
         ["neither 'value' nor 'generate' is set. Fix:"], "bad_configuration"),
        ("version on a write", WRITE, dict(local, name="new", generate=True, version="1"),
         ["'version' and 'version_stage' are for reading"], None),
        ("retire 0 on an existing secret (local)", WRITE, dict(local, name="plain", generate=True, retire=0),
         ["'retire' must keep at least 1 version"], "bad_configuration"),
        ("retire 0 on a new secret (local)", WRITE, dict(local, name="new", generate=True, retire=0),
         ["'retire' must keep at least 1 version"], "bad_configuration"),
        ("retire 0 on a new secret (vault)", WRITE, dict(vault, name=p + "new", generate=True, retire=0),
         ["'retire' must keep at least 1 version"], "bad_configuration"),
        ("retire 0 on a new secret (aws)", WRITE, dict(aws, name="new", generate=True, retire=0),
         ["'retire' must keep at least 1 version"], "bad_configuration"),
        ("retire 0 on a new secret (gcp)", WRITE, dict(gcp, name="new", generate=True, retire=0),
         ["'retire' must keep at least 1 version"], "bad_configuration"),
        ("retire 0 with a new value (vault)", WRITE,
         dict(vault, name=p + "existing", value="gw-other-" + "x" * 24, retire=0),
         ["'retire' must keep at least 1 version"], "bad_configuration"),
        ("token too short (local)", WRITE, dict(local, name="short", generate=True, length=8),
         ["length 8 is too short for a gateway token"], "bad_configuration"),
        ("token too short on an existing secret (vault)", WRITE,
         dict(vault, name=p + "existing", generate=True, rotate=True, length=8),
         ["length 8 is too short for a gateway token"], "bad_configuration"),
        ("value with a trailing newline (aws)", WRITE, dict(aws, name="existing", value="gw-new-" + "y" * 24 + "\n"),
         ["the token in 'value' contains control characters \\(U\\+000A\\)"], "bad_configuration"),
        ("value with an escape character (vault)", WRITE, dict(vault, name=p + "new", value="gw-\x1b[31m" + "y" * 24),
         ["the token in 'value' contains control characters \\(U\\+001B\\)"], "bad_configuration"),
        ("prefix with a control character (gcp)", WRITE, dict(gcp, name="new", generate=True, prefix="sk-\t"),
         ["the 'prefix' contains control characters \\(U\\+0009\\)"], "bad_configuration"),
        ("write through a field into a non-JSON secret (vault)", WRITE,
         dict(vault, name=p + "plain", field="team-a", value="gw-team-" + "z" * 24),
         ["cannot set field 'team-a': the stored secret is not a JSON object"], "invalid_format"),
        ("write denied (vault policy)", WRITE,
         dict(vault, name=p + "new", generate=True, vault_token=s["denied_token"]),
         ["the token's policies do not allow this", "grant the token a policy .* on 'secret/data/%snew'" % p], "access_denied"),
        ("write into a malformed local store", WRITE, dict(local, name="alice", generate=True, local_path=s["malformed"]),
         ["not valid YAML"], "invalid_format"),
        ("write with a wrong vault password", WRITE,
         dict(s["encrypted"], name="bob", generate=True, local_vault_password="wrong-pw"),
         ["wrong vault password"], "bad_configuration"),
    ]


SCOPES = {"vault": "vault", "aws": "cloud", "gcp": "cloud", "local": "local"}
# Refused by Ansible's argument spec or the module before a backend exists: they reach no store.
NO_STORE = ("unknown backend", "missing name", "wrong option type", "version on a write")


def test_each_bad_input_fails_with_its_named_error_and_changes_nothing(stores, tmp_path):
    # Each case runs with the probes of the store its options name; cases that reach no store (refused by
    # the argument spec) run with the cloud stores, the shortest of the three runs.
    cases = [Case(title, {module: args}, rule, kind, scope="cloud" if title in NO_STORE else SCOPES[args["backend"]])
             for title, module, args, rule, kind in module_cases(stores)]
    # A lookup failure is a task failure too (a lookup sets no error_kind).
    cases.append(Case("lookup of a missing secret", {"ansible.builtin.debug": {
        "msg": "{{ lookup('llmops.claude_gateway.gateway_token', 'nobody', backend='local', local_path='%s') }}"
               % stores["good"]}}, ["no secret named 'nobody'"], None, scope="local"))
    env = {"AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
    results = run_cases(tmp_path, cases, stores["probes"], hidden=stores["hidden"], env=env, name="bad")
    print("bad-input cases checked: %d" % len(results))


def test_the_helper_attributes_a_change_to_the_case_that_made_it(tmp_path):
    """The helper itself: a change is reported against its case only; a case that does not fail, a
    wrong message and a rule of just "Fix:" are reported too."""
    store = tmp_path / "stores"
    store.mkdir()
    data = store / "store.yml"
    data.write_text("a: 1\n")
    cases = [
        Case("clean refusal", {"ansible.builtin.fail": {"msg": "rule one refused. Fix: x"}}, ["rule one refused"], None),
        Case("writes, then fails", {"ansible.builtin.shell": "echo b: 2 >> %s; exit 3" % data},
             ["non-zero return code"], None),
        Case("does not fail", {"ansible.builtin.debug": {"msg": "fine"}}, ["anything"], None),
        Case("another message", {"ansible.builtin.fail": {"msg": "rule three. Fix: y"}}, ["rule four"], None),
        Case("clean again", {"ansible.builtin.fail": {"msg": "rule five refused"}}, ["rule five"], None),
    ]
    with pytest.raises(AssertionError) as info:
        run_cases(tmp_path, cases, [FilesProbe([store], name="store")], name="helper")
    text = str(info.value)
    assert "case 1 (writes, then fails) changed state:\n  store %s:" % data in text, text
    assert "case 2 (does not fail) did not fail" in text and "'rule four' not in the message" in text, text
    assert "case 0" not in text and "case 4" not in text, text
    with pytest.raises(AssertionError, match="name the rule"):
        assert_named_error("x. Fix: y", ["Fix:"])


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
    # What the role could touch: the managed-settings directory and the (absent) user's home.
    probes = [FilesProbe(["/nonexistent/claude-code-must-not-be-created", "/home/nobody-here"], name="role paths")]
    for name, extra, message, fix_word, hidden in cases:
        with unchanged(probes, "policy case %s" % name):
            result = run_playbook(tmp_path, [_role_play(extra)], verbosity=3, name="policy-" + name)
        assert result.rc != 0, result
        assert_named_error(result.output, [re.escape(message), re.escape(fix_word)], hidden=hidden,
                           what="policy case %s" % name)
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

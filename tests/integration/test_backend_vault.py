"""The vault backend against a real OpenBao dev server (see servers_vault.py)."""
import datetime
import json
import secrets
import socket
import time
import uuid

import hvac.exceptions
import jwt as pyjwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    AccessDenied,
    BackendUnreachable,
    BadConfiguration,
    SecretNotFound,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.vault import (
    VaultBackend,
    WriteConflict,
)
from ansible_runner import run_playbook
from lost_answer_proxy import LostAnswerProxy
from servers_vault import OpenBaoServer

READER_POLICY = """
path "secret/data/shared/*" { capabilities = ["read"] }
path "secret/metadata/shared/*" { capabilities = ["read"] }
"""


def unique(prefix="t"):
    return "%s/%s" % (prefix, uuid.uuid4().hex[:10])


def backend(server, **overrides):
    return VaultBackend(server.options(**overrides))


def rsa_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return key, public, private


def self_signed(key):
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test-ca")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def bao(openbao_server):
    """The session server plus what these tests configure once: a reader policy and a shared secret."""
    root = openbao_server.client()
    root.sys.create_or_update_policy("shared-reader", READER_POLICY)
    root.secrets.kv.v2.create_or_update_secret("shared/token", {"value": "shared-secret-value"})
    return openbao_server


def assert_clean(exc, *secrets_):
    text = str(exc)
    for secret in secrets_:
        assert secret not in text


# -- KV v2 -------------------------------------------------------------------------------------
def test_kv2_write_read_latest_and_by_version(bao):
    name = unique()
    be = backend(bao)
    assert be.write(name, "first-value") == "1"
    assert be.write(name, "second-value") == "2"
    latest = be.read(SecretRef(name))
    assert (latest.value, latest.version) == ("second-value", "2")
    assert be.read(SecretRef(name, version="latest")).value == "second-value"
    old = be.read(SecretRef(name, version="1"))
    assert (old.value, old.version) == ("first-value", "1")
    created = datetime.datetime.fromisoformat(latest.created.replace("Z", "+00:00"))
    assert abs((datetime.datetime.now(datetime.timezone.utc) - created).total_seconds()) < 60
    assert latest.metadata == {}
    # stored the way other Vault clients expect
    raw = bao.client().secrets.kv.v2.read_secret_version(name, raise_on_deleted_version=True)
    assert raw["data"]["data"] == {"value": "second-value"}
    assert "second-value" not in repr(latest)


def test_kv2_custom_metadata(bao):
    name = unique()
    be = backend(bao)
    be.write(name, "v")
    bao.client().secrets.kv.v2.update_metadata(name, custom_metadata={"owner": "team-a"})
    assert be.read(SecretRef(name)).metadata == {"owner": "team-a"}


def test_json_objects_are_stored_as_fields_and_round_trip(bao):
    be = backend(bao)
    name = unique()
    canonical = json.dumps({"api_key": "sk-123", "base_url": "http://gw"}, sort_keys=True)
    be.write(name, canonical)
    raw = bao.client().secrets.kv.v2.read_secret_version(name, raise_on_deleted_version=True)
    assert raw["data"]["data"] == {"api_key": "sk-123", "base_url": "http://gw"}
    assert be.read(SecretRef(name)).value == canonical
    assert be.read(SecretRef(name, field="api_key")).value == "sk-123"
    for value in ['{"b":1,"a":2}', '{"value": "x"}', '[1, 2]', '"quoted"', 'plain sk-abc', '{}', ' {"a": 1}']:
        other = unique()
        be.write(other, value)
        assert be.read(SecretRef(other)).value == value
    other = unique()
    be.write(other, '{"b":1,"a":"two"}')
    assert be.read(SecretRef(other, field="a")).value == "two"


def test_secrets_written_by_other_clients(bao):
    be = backend(bao)
    root = bao.client()
    single, multi = unique(), unique()
    root.secrets.kv.v2.create_or_update_secret(single, {"value": "from-cli"})
    root.secrets.kv.v2.create_or_update_secret(multi, {"user": "u", "password": "p"})
    assert be.read(SecretRef(single)).value == "from-cli"
    assert json.loads(be.read(SecretRef(multi)).value) == {"user": "u", "password": "p"}
    assert be.read(SecretRef(multi, field="password")).value == "p"


def test_rotate_then_retire_disable_and_destroy(bao):
    name = unique()
    be = backend(bao)
    for value in ("v1", "v2", "v3", "v4"):
        be.write(name, value)
    listed = be.versions(name)
    assert [v.version for v in listed] == ["4", "3", "2", "1"]
    assert {v.state for v in listed} == {"enabled"}
    assert all(v.created for v in listed)

    assert be.retire(name, keep=2, mode="disable") == ["2", "1"]
    assert [(v.version, v.state) for v in be.versions(name)] == [
        ("4", "enabled"), ("3", "enabled"), ("2", "disabled"), ("1", "disabled")]
    meta = bao.client().secrets.kv.v2.read_secret_metadata(name)["data"]["versions"]
    assert meta["1"]["deletion_time"] and not meta["1"]["destroyed"]
    with pytest.raises(SecretNotFound, match="version 2 is disabled"):
        be.read(SecretRef(name, version="2"))
    assert be.read(SecretRef(name)).value == "v4"
    assert be.retire(name, keep=2, mode="disable") == []  # idempotent

    assert be.retire(name, keep=1, mode="destroy") == ["3", "2", "1"]
    assert [(v.version, v.state) for v in be.versions(name)] == [
        ("4", "enabled"), ("3", "destroyed"), ("2", "destroyed"), ("1", "destroyed")]
    meta = bao.client().secrets.kv.v2.read_secret_metadata(name)["data"]["versions"]
    assert [meta[n]["destroyed"] for n in ("1", "2", "3", "4")] == [True, True, True, False]
    with pytest.raises(SecretNotFound, match="version 3 is destroyed"):
        be.read(SecretRef(name, version="3"))
    assert be.read(SecretRef(name)).value == "v4"


def test_latest_version_deleted_is_reported(bao):
    name = unique()
    be = backend(bao)
    be.write(name, "only")
    bao.client().secrets.kv.v2.delete_latest_version_of_secret(name)
    with pytest.raises(SecretNotFound, match=r"latest version \(1\) is disabled"):
        be.read(SecretRef(name))


def test_not_found_secret_and_version(bao):
    be = backend(bao)
    missing = unique("missing")
    with pytest.raises(SecretNotFound, match="no secret at this path") as exc:
        be.read(SecretRef(missing))
    assert exc.value.ref == missing
    with pytest.raises(SecretNotFound, match="no secret at this path"):
        be.read(SecretRef(missing, version="3"))
    with pytest.raises(SecretNotFound):
        be.versions(missing)
    name = unique()
    be.write(name, "x")
    with pytest.raises(SecretNotFound, match=r"version 9 does not exist \(the latest is 1\)"):
        be.read(SecretRef(name, version="9"))
    with pytest.raises(BadConfiguration, match="not a KV v2 version number"):
        be.read(SecretRef(name, version="abc"))


def test_unknown_mount_is_a_configuration_error(bao):
    with pytest.raises(BadConfiguration, match="no secrets engine is mounted at 'nosuchmount'"):
        backend(bao, vault_mount="nosuchmount").read(SecretRef("x"))


def test_policy_denied_names_policy_not_credentials(bao):
    token = bao.client().auth.token.create(policies=["shared-reader"], ttl="10m")["auth"]["client_token"]
    be = backend(bao, vault_token=token)
    assert be.read(SecretRef("shared/token")).value == "shared-secret-value"
    with pytest.raises(AccessDenied, match="policies do not allow") as exc:
        be.read(SecretRef(unique("private")))
    assert "secret/data/private/" in exc.value.fix
    with pytest.raises(AccessDenied, match="policies do not allow") as exc:
        be.write("shared/token", "new-value-not-allowed")
    assert_clean(exc.value, token, "new-value-not-allowed", "shared-secret-value")


def test_wrong_and_revoked_token(bao):
    wrong = "s." + secrets.token_urlsafe(18)
    with pytest.raises(AccessDenied, match="refused the client token") as exc:
        backend(bao, vault_token=wrong).read(SecretRef("shared/token"))
    assert "vault_token" in exc.value.fix
    assert_clean(exc.value, wrong)
    root = bao.client()
    token = root.auth.token.create(policies=["shared-reader"], ttl="10m")["auth"]["client_token"]
    be = backend(bao, vault_token=token)
    assert be.read(SecretRef("shared/token")).value == "shared-secret-value"
    root.auth.token.revoke(token)
    with pytest.raises(AccessDenied, match="invalid, expired or revoked"):
        be.read(SecretRef("shared/token"))


def test_unreachable_is_fast():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    opts = dict(backend="vault", vault_url="http://127.0.0.1:%d" % port, vault_token="s.whatever-token",
                vault_auth_method="token", retries=2, retry_backoff=0.05, timeout=2)
    be = VaultBackend(opts)
    start = time.time()
    with pytest.raises(BackendUnreachable, match="cannot reach http://127.0.0.1:%d" % port) as exc:
        be.read(SecretRef("any/thing"))
    assert time.time() - start < 3
    assert be.calls == 1  # the retries are urllib3's, inside the one call
    assert exc.value.transient
    assert_clean(exc.value, "s.whatever-token")


# -- retries: urllib3's, reads only; writes with check-and-set, a lost answer read back ------------
def data_path(name, method):
    return lambda request: request.method == method and request.path.split("?")[0] == "/v1/secret/data/" + name


def store_versions(server, name):
    """The secret's versions as the bao CLI sees them: {number: data or None when deleted}."""
    meta = server.cli("kv", "metadata", "get", "-format=json", "secret/" + name)["data"]
    found = {}
    for number in sorted(meta["versions"], key=int):
        got = server.cli("kv", "get", "-format=json", "-version=" + number, "secret/" + name, check=False)
        found[int(number)] = got["data"]["data"] if isinstance(got, dict) else None
    assert meta["current_version"] == max(found)
    return found


@pytest.mark.parametrize("action", ["status", "drop"])
def test_reads_are_retried_by_urllib3(bao, action):
    """A 503 (not forwarded) or an answer lost on a GET: urllib3 sends the read again, the read succeeds."""
    name = unique()
    bao.client().secrets.kv.v2.create_or_update_secret(name, {"value": "read-me"})
    with LostAnswerProxy(bao.url, data_path(name, "GET"), times=2, action=action) as proxy:
        be = backend(bao, vault_url=proxy.url, retries=2, retry_backoff=0.01)
        assert be.read(SecretRef(name)).value == "read-me"
        assert (len(proxy.matched), len(proxy.lost), be.calls) == (3, 2, 1)
    with LostAnswerProxy(bao.url, data_path(name, "GET"), times=2, action=action) as proxy:
        be = backend(bao, vault_url=proxy.url, retries=1, retry_backoff=0.01)
        with pytest.raises(BackendUnreachable) as exc:
            be.read(SecretRef(name))
        assert len(proxy.matched) == 2 and exc.value.transient


def test_a_failed_write_is_sent_once(bao):
    """A 503 to the write (the store never saw it): not sent again, reported as unreachable, nothing written."""
    name = unique()
    bao.client().secrets.kv.v2.create_or_update_secret(name, {"value": "v1"})
    with LostAnswerProxy(bao.url, data_path(name, "POST"), times=5, action="status",
                         body=b'{"errors":["Vault is sealed"]}') as proxy:
        with pytest.raises(BackendUnreachable, match="sealed, in standby or failing"):
            backend(bao, vault_url=proxy.url, retries=3, retry_backoff=0.01).write(name, "v2-never-stored")
        assert len(proxy.matched) == 1
    assert store_versions(bao, name) == {1: {"value": "v1"}}


@pytest.mark.parametrize("action", ["drop", "delay"])
def test_lost_answer_of_a_write_makes_one_version_and_is_read_back(bao, action):
    """The store takes the write but its answer is lost (connection closed, or held past the timeout). The
    write is not sent again; reading version cas+1 back shows it landed: one new version, reported."""
    name = unique()
    bao.client().secrets.kv.v2.create_or_update_secret(name, {"value": "v1"})
    with LostAnswerProxy(bao.url, data_path(name, "POST"), times=1, action=action, delay=3) as proxy:
        be = backend(bao, vault_url=proxy.url, retries=3, retry_backoff=0.01, timeout=1.5)
        assert be.write(name, "v2-written-once") == "2"
        assert (len(proxy.matched), len(proxy.lost)) == (1, 1)  # one POST ever sent
        assert proxy.lost[0].body and b'"cas": 1' in proxy.lost[0].body.replace(b'"cas":1', b'"cas": 1')
    assert store_versions(bao, name) == {1: {"value": "v1"}, 2: {"value": "v2-written-once"}}
    why = "no answer within 1.5s" if action == "delay" else "the connection closed before it came"
    assert be.warnings == ["secret '%s': the answer to the write was lost (%s); read back, version 2 holds the "
                           "value written" % (name, why)]


def test_lost_answer_of_a_write_that_did_not_land(bao):
    """The answer is lost and version cas+1 is not there: reported as unreachable, safe to run again."""
    name = unique()
    bao.client().secrets.kv.v2.create_or_update_secret(name, {"value": "v1"})

    def lose_it(request):  # the proxy forwards this write; a cas that cannot match keeps it from landing
        if request.method == "POST" and request.path == "/v1/secret/data/" + name:
            request.body = request.body.replace(b'"cas": 1', b'"cas": 7')
            return True
        return False

    with LostAnswerProxy(bao.url, lose_it, times=1, action="drop") as proxy:
        with pytest.raises(BackendUnreachable) as exc:
            backend(bao, vault_url=proxy.url).write(name, "v2-not-landed")
        assert len(proxy.matched) == 1
    assert exc.value.problem == ("the answer to the write was lost (the connection closed before it came) and "
                                 "version 2 is not in the store: nothing was written")
    assert "can never land twice" in exc.value.fix and "v2-not-landed" not in str(exc.value)
    assert store_versions(bao, name) == {1: {"value": "v1"}}


def test_lost_answer_and_a_failed_read_back_say_so(bao):
    """The write's answer is lost and the read-back fails too (503 to every read of version 2): the error says
    whether the write landed is unknown, and to look before running again."""
    name = unique()
    bao.client().secrets.kv.v2.create_or_update_secret(name, {"value": "v1"})
    with LostAnswerProxy(bao.url, lambda r: r.method == "GET" and r.path.endswith("/%s?version=2" % name),
                         times=10, action="status", body=b'{"errors":["standby"]}') as reads:
        with LostAnswerProxy(reads.url, data_path(name, "POST"), times=1, action="drop") as writes:
            with pytest.raises(BackendUnreachable) as exc:
                backend(bao, vault_url=writes.url, retries=1, retry_backoff=0.01).write(name, "v2-unknown")
            assert (len(writes.matched), len(reads.matched)) == (1, 2)  # one write; a read and its retry
    assert exc.value.problem.startswith("the answer to the write was lost (the connection closed before it came), "
                                        "and reading back whether version 2 landed failed too (the server at ")
    assert exc.value.fix == "check the secret's versions in the store before running again"
    assert store_versions(bao, name) == {1: {"value": "v1"}, 2: {"value": "v2-unknown"}}


@pytest.mark.parametrize("lose", [False, True])
def test_concurrent_writer_is_a_conflict_never_a_silent_version(bao, lose):
    """Another client writes between our read and our write: check-and-set refuses ours. With the answer
    lost too, reading version cas+1 back finds the other client's value: the same conflict."""
    name = unique()
    root = bao.client()
    root.secrets.kv.v2.create_or_update_secret(name, {"value": "v1"})

    def race(request):
        if request.method == "POST" and request.path == "/v1/secret/data/" + name:
            root.secrets.kv.v2.create_or_update_secret(name, {"value": "other-client"})
            return True
        return False

    with LostAnswerProxy(bao.url, race, times=1 if lose else 0, action="drop") as proxy:
        with pytest.raises(WriteConflict) as exc:
            backend(bao, vault_url=proxy.url).write(name, "ours-refused")
        assert len(proxy.matched) == 1
    assert exc.value.kind == "conflict" and "check-and-set refused" in exc.value.problem
    assert "ours-refused" not in str(exc.value) and "other-client" not in str(exc.value)
    assert store_versions(bao, name) == {1: {"value": "v1"}, 2: {"value": "other-client"}}


def test_first_write_uses_cas_zero(bao):
    """A new secret is written with cas=0 (create only); a secret created meanwhile makes a conflict."""
    name = unique()
    assert backend(bao).write(name, "first") == "1"
    root = bao.client()
    other = unique()

    def race(request):
        if request.method == "POST" and request.path == "/v1/secret/data/" + other:
            root.secrets.kv.v2.create_or_update_secret(other, {"value": "created-meanwhile"})
            return True
        return False

    with LostAnswerProxy(bao.url, race, times=0) as proxy:
        with pytest.raises(WriteConflict, match="read its version 0"):
            backend(bao, vault_url=proxy.url).write(other, "ours")
    assert store_versions(bao, other) == {1: {"value": "created-meanwhile"}}


def test_writes_work_on_a_cas_required_mount(bao):
    mount = "kvcas-" + uuid.uuid4().hex[:6]
    root = bao.client()
    root.sys.enable_secrets_engine("kv", path=mount, options={"version": "2"})
    root.write_data("%s/config" % mount, data={"cas_required": True})
    name = unique()
    be = backend(bao, vault_mount=mount)
    assert [be.write(name, v) for v in ("a", "b")] == ["1", "2"]
    assert be.read(SecretRef(name)).value == "b"


def test_timeout_is_honoured():
    # A listening socket that never answers: the request must give up after `timeout`.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        be = VaultBackend(dict(vault_url="http://127.0.0.1:%d" % sock.getsockname()[1], vault_token="s.x-token",
                               retries=0, timeout=1))
        start = time.time()
        with pytest.raises(BackendUnreachable, match="no answer within 1s"):
            be.read(SecretRef("any/thing"))
        assert 0.9 < time.time() - start < 2.5


# -- KV v1 -------------------------------------------------------------------------------------
def test_kv1_write_read_and_pseudo_version(bao):
    mount = "kv1-" + uuid.uuid4().hex[:6]
    bao.client().sys.enable_secrets_engine("kv", path=mount, options={"version": "1"})
    be = backend(bao, vault_mount=mount, vault_kv_version=1)
    name = unique()
    assert be.write(name, "kv1-value") == "current"
    secret = be.read(SecretRef(name))
    assert (secret.value, secret.version) == ("kv1-value", "current")
    assert bao.client().secrets.kv.v1.read_secret(name, mount_point=mount)["data"] == {"value": "kv1-value"}
    be.write(name, '{"a": 1, "b": "two"}')
    assert be.read(SecretRef(name, field="b")).value == "two"
    assert [v.to_dict() for v in be.versions(name)] == [
        {"version": "current", "created": None, "state": "enabled", "labels": []}]
    assert be.retire(name, keep=1, mode="destroy") == []
    assert be.read(SecretRef(name, version="current")).value == '{"a": 1, "b": "two"}'
    with pytest.raises(BadConfiguration, match="keeps no versions"):
        be.read(SecretRef(name, version="2"))
    with pytest.raises(SecretNotFound, match="KV v1 mount"):
        be.read(SecretRef(unique("missing")))


def test_wrong_kv_version_is_caught(bao):
    mount = "kv1-" + uuid.uuid4().hex[:6]
    root = bao.client()
    root.sys.enable_secrets_engine("kv", path=mount, options={"version": "1"})
    name = unique()
    with pytest.raises(BadConfiguration, match="mount '%s' is a KV v1 engine but vault_kv_version is 2" % mount) as exc:
        backend(bao, vault_mount=mount).write(name, "value")
    assert exc.value.fix == "set vault_kv_version: 1"
    with pytest.raises(hvac.exceptions.InvalidPath):
        root.secrets.kv.v1.read_secret("data/" + name, mount_point=mount)  # nothing was written
    backend(bao, vault_mount=mount, vault_kv_version=1).write(name, "value")
    with pytest.raises(BadConfiguration, match="set vault_kv_version: 1"):
        backend(bao, vault_mount=mount).read(SecretRef(name))
    with pytest.raises(BadConfiguration, match="set vault_kv_version: 2"):
        backend(bao, vault_kv_version=1).read(SecretRef(unique("missing")))


def test_kv_mount_without_a_version_option_is_kv1(bao):
    # A kv mount enabled without options (`secrets enable kv`) is KV v1, and its options name no version.
    mount = "kv-" + uuid.uuid4().hex[:6]
    bao.client().sys.enable_secrets_engine("kv", path=mount)
    with pytest.raises(BadConfiguration, match="mount '%s' is a KV v1 engine but vault_kv_version is 2" % mount):
        backend(bao, vault_mount=mount).write(unique(), "value")


# -- auth methods ------------------------------------------------------------------------------
def test_approle_login(bao):
    root = bao.client()
    mount = "approle-" + uuid.uuid4().hex[:6]
    root.sys.enable_auth_method("approle", path=mount)
    root.write_data("auth/%s/role/reader" % mount, data={"token_policies": ["shared-reader"], "token_ttl": "5m"})
    role_id = root.read("auth/%s/role/reader/role-id" % mount)["data"]["role_id"]
    secret_id = root.write_data("auth/%s/role/reader/secret-id" % mount)["data"]["secret_id"]
    be = backend(bao, vault_token=None, vault_auth_method="approle", vault_auth_mount=mount,
                 vault_role_id=role_id, vault_secret_id=secret_id)
    assert be.read(SecretRef("shared/token")).value == "shared-secret-value"
    bad_secret = str(uuid.uuid4())
    with pytest.raises(AccessDenied, match="approle login at auth mount '%s' was refused" % mount) as exc:
        backend(bao, vault_token=None, vault_auth_method="approle", vault_auth_mount=mount,
                vault_role_id=role_id, vault_secret_id=bad_secret).read(SecretRef("shared/token"))
    assert "vault_secret_id" in exc.value.fix
    assert_clean(exc.value, bad_secret, secret_id)


def test_jwt_login(bao):
    root = bao.client()
    _key, public, private = rsa_key()
    root.sys.enable_auth_method("jwt", path="jwt")
    root.write_data("auth/jwt/config", data={"jwt_validation_pubkeys": [public]})
    root.write_data("auth/jwt/role/ci", data={"role_type": "jwt", "user_claim": "sub", "bound_audiences": ["gateway"],
                                              "token_policies": ["shared-reader"], "token_ttl": "5m"})
    now = int(time.time())
    claims = {"sub": "runner-1", "aud": "gateway", "iat": now, "nbf": now - 5, "exp": now + 300}
    token = pyjwt.encode(claims, private, algorithm="RS256")
    be = backend(bao, vault_token=None, vault_auth_method="jwt", vault_role="ci", vault_jwt=token)
    assert be.read(SecretRef("shared/token")).value == "shared-secret-value"
    assert len(bao.requests("auth/jwt/login", "update")) >= 1
    # signed by another key: refused, and the token is not echoed
    _other, _pub, other_private = rsa_key()
    forged = pyjwt.encode(claims, other_private, algorithm="RS256")
    with pytest.raises(AccessDenied, match="jwt login at auth mount 'jwt' was refused") as exc:
        backend(bao, vault_token=None, vault_auth_method="jwt", vault_role="ci", vault_jwt=forged).read(
            SecretRef("shared/token"))
    assert "vault_jwt" in exc.value.fix
    assert_clean(exc.value, forged)
    expired = pyjwt.encode(dict(claims, exp=now - 120, iat=now - 600, nbf=now - 600), private, algorithm="RS256")
    with pytest.raises(AccessDenied):
        backend(bao, vault_token=None, vault_auth_method="jwt", vault_role="ci", vault_jwt=expired).read(
            SecretRef("shared/token"))


def test_userpass_login_and_custom_mount(bao):
    root = bao.client()
    mount = "people-" + uuid.uuid4().hex[:6]
    root.sys.enable_auth_method("userpass", path=mount)
    password = secrets.token_urlsafe(12)
    root.write_data("auth/%s/users/alice" % mount, data={"password": password, "token_policies": ["shared-reader"]})
    be = backend(bao, vault_token=None, vault_auth_method="userpass", vault_auth_mount=mount,
                 vault_username="alice", vault_password=password)
    assert be.read(SecretRef("shared/token")).value == "shared-secret-value"
    wrong = password + "x"
    with pytest.raises(AccessDenied, match="userpass login") as exc:
        backend(bao, vault_token=None, vault_auth_method="userpass", vault_auth_mount=mount,
                vault_username="alice", vault_password=wrong).read(SecretRef("shared/token"))
    assert "vault_password" in exc.value.fix
    assert_clean(exc.value, wrong, password)
    # the default mount ("userpass") is not enabled on this server: an anonymous login there is
    # "permission denied", like bad credentials, so the fix names both
    with pytest.raises(AccessDenied, match="auth mount 'userpass'") as exc:
        backend(bao, vault_token=None, vault_auth_method="userpass", vault_username="alice",
                vault_password=password).read(SecretRef("shared/token"))
    assert "vault_auth_mount" in exc.value.fix


def test_kubernetes_login_reaches_the_server(bao, tmp_path):
    """No cluster here: the server cannot run its TokenReview, so the login is refused. What is
    checked is our side: the token file is read, the login reaches the right mount with the role,
    and the refusal is reported as a credentials problem without the token."""
    root = bao.client()
    key, public, private = rsa_key()
    root.sys.enable_auth_method("kubernetes", path="kubernetes")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    root.write_data("auth/kubernetes/config", data={"kubernetes_host": "https://127.0.0.1:%d" % dead,
                                                    "kubernetes_ca_cert": self_signed(key), "pem_keys": [public],
                                                    "disable_local_ca_jwt": True})
    root.write_data("auth/kubernetes/role/gw", data={"bound_service_account_names": ["gw"],
                                                     "bound_service_account_namespaces": ["llm"],
                                                     "token_policies": ["shared-reader"]})
    now = int(time.time())
    sa_token = pyjwt.encode({"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:llm:gw",
                             "kubernetes.io/serviceaccount/namespace": "llm",
                             "kubernetes.io/serviceaccount/service-account.name": "gw",
                             "kubernetes.io/serviceaccount/service-account.uid": str(uuid.uuid4()),
                             "iat": now, "exp": now + 300}, private, algorithm="RS256")
    token_file = tmp_path / "token"
    token_file.write_text(sa_token + "\n")
    before = len(bao.requests("auth/kubernetes/login", "update"))
    be = backend(bao, vault_token=None, vault_auth_method="kubernetes", vault_role="gw",
                 vault_kubernetes_token_path=str(token_file))
    with pytest.raises(AccessDenied, match="kubernetes login at auth mount 'kubernetes' was refused") as exc:
        be.read(SecretRef("shared/token"))
    assert "vault_kubernetes_token_path" in exc.value.fix
    assert_clean(exc.value, sa_token)
    assert len(bao.requests("auth/kubernetes/login", "update")) == before + 1
    with pytest.raises(BadConfiguration, match="vault_kubernetes_token_path"):
        backend(bao, vault_token=None, vault_auth_method="kubernetes", vault_role="gw",
                vault_kubernetes_token_path=str(tmp_path / "absent"))


# -- namespaces, environment, TLS, sealed --------------------------------------------------------
def test_namespace(bao, monkeypatch):
    ns = "team" + uuid.uuid4().hex[:6]
    root = bao.client()
    root.sys.create_namespace(ns)
    bao.client(namespace=ns).sys.enable_secrets_engine("kv", path="secret", options={"version": "2"})
    name = unique()
    assert backend(bao, vault_namespace=ns).write(name, "in-namespace") == "1"
    assert backend(bao, vault_namespace=ns).read(SecretRef(name)).value == "in-namespace"
    with pytest.raises(SecretNotFound):
        backend(bao).read(SecretRef(name))  # not in the root namespace
    monkeypatch.setenv("VAULT_NAMESPACE", ns)
    assert backend(bao).read(SecretRef(name)).value == "in-namespace"
    raw = bao.client(namespace=ns).secrets.kv.v2.read_secret_version(name, raise_on_deleted_version=True)
    assert raw["data"]["data"] == {"value": "in-namespace"}


def test_env_fallback(bao, monkeypatch):
    monkeypatch.setenv("VAULT_ADDR", bao.url)
    monkeypatch.setenv("VAULT_TOKEN", bao.root_token)
    be = VaultBackend(dict(backend="vault", vault_url=None, vault_token=None, vault_namespace=None, retries=0))
    assert be.read(SecretRef("shared/token")).value == "shared-secret-value"
    # explicit options win over the environment
    monkeypatch.setenv("VAULT_TOKEN", "s.not-a-valid-token")
    assert backend(bao).read(SecretRef("shared/token")).value == "shared-secret-value"
    monkeypatch.delenv("VAULT_ADDR")
    with pytest.raises(BadConfiguration, match="VAULT_ADDR"):
        VaultBackend(dict(vault_token="s.x"))
    monkeypatch.delenv("VAULT_TOKEN")
    with pytest.raises(BadConfiguration, match="needs option 'vault_token'"):
        VaultBackend(dict(vault_url=bao.url))


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_tls_needs_the_ca_cert(openbao_tls_server, monkeypatch):
    tls = openbao_tls_server
    name = unique()
    assert backend(tls).write(name, "over-tls") == "1"
    # The machine's own CA bundle does not know the dev server's CA.
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    with pytest.raises(BadConfiguration, match="TLS connection to https://127.0.0.1") as exc:
        backend(tls, vault_ca_cert=None).read(SecretRef(name))
    assert "vault_ca_cert" in exc.value.fix
    assert backend(tls, vault_ca_cert=None, vault_validate_certs=False).read(SecretRef(name)).value == "over-tls"
    with pytest.raises(BadConfiguration, match="is not a file"):
        backend(tls, vault_ca_cert="/nonexistent/ca.pem")
    with pytest.raises(BadConfiguration, match="speaks HTTPS"):
        backend(tls, vault_url=tls.url.replace("https", "http"), vault_ca_cert=None).read(SecretRef(name))


def test_sealed_server_is_unreachable_not_missing(require_dependency):
    server = OpenBaoServer(missing=require_dependency)
    try:
        backend(server).write("s/x", "value")
        server.client().sys.seal()
        be = backend(server, retries=1, retry_backoff=0.01)
        with pytest.raises(BackendUnreachable, match="sealed") as exc:
            be.read(SecretRef("s/x"))
        assert exc.value.transient and be.calls == 1
    finally:
        server.cleanup()


def test_count_reads_sees_each_backend_read(bao):
    name = unique("fanout")
    be = backend(bao)
    be.write(name, "x")
    before = bao.count_reads(name)
    for _ignored in range(3):
        be.read(SecretRef(name))
    assert bao.count_reads(name) - before == 3
    backend(bao).read(SecretRef(name, version="1"))  # a fresh backend with a token: no extra read
    assert bao.count_reads(name) - before == 4
    assert bao.count_reads("fanout/never-read") == 0


def test_factory_selects_vault(bao):
    from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import factory

    opts = dict((k, v.get("default")) for k, v in factory.BACKEND_ARGUMENT_SPEC.items())
    opts.update(bao.options(name="shared/token"))
    be = factory.get_backend(opts)
    assert isinstance(be, VaultBackend)
    assert be.read(factory.ref_from_options(opts)).value == "shared-secret-value"


def test_lookup_store_options_set_once(bao, tmp_path):
    """The lookup takes its store options from inventory variables, and VAULT_ADDR / VAULT_TOKEN from the
    environment, so a call names only the secret."""
    plays = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"ansible.builtin.assert": {"that": [
            "lookup('llmops.claude_gateway.gateway_token', 'shared/token') == 'shared-secret-value'"]}}]}]
    by_vars = run_playbook(tmp_path, plays, name="vars", extra_vars={
        "claude_gateway_store_backend": "vault", "claude_gateway_store_vault_url": bao.url,
        "claude_gateway_store_vault_token": bao.root_token})
    assert by_vars.rc == 0, by_vars
    by_env = run_playbook(tmp_path, plays, name="env", extra_vars={"claude_gateway_store_backend": "vault"},
                          env={"VAULT_ADDR": bao.url, "VAULT_TOKEN": bao.root_token})
    assert by_env.rc == 0, by_env
    assert bao.root_token not in by_vars.output + by_env.output


@pytest.mark.parametrize("kv_version", [1, 2])
def test_dot_segments_never_leave_the_mount(bao, kv_version):
    """Vault resolves '.' and '..' in a request path: on a KV v1 mount a name '../<mount>/x' would reach the
    secret x of another mount. Such a name is refused before any request, and nothing is written anywhere."""
    mount = "kv%d-%s" % (kv_version, uuid.uuid4().hex[:6])
    other = "other-" + uuid.uuid4().hex[:6]
    root = bao.client()
    root.sys.enable_secrets_engine("kv", path=mount, options={"version": str(kv_version)})
    root.sys.enable_secrets_engine("kv", path=other, options={"version": "1"})
    root.secrets.kv.v1.create_or_update_secret("victim", {"value": "other-team-value"}, mount_point=other)
    be = backend(bao, vault_mount=mount, vault_kv_version=kv_version)
    for name in ("../%s/victim" % other, "a/../../%s/victim" % other, "./x", "a/./b"):
        for call in (lambda: be.write(name, "attacker-value"), lambda: be.read(SecretRef(name)),
                     lambda: be.versions(name), lambda: be.retire(name, keep=1)):
            with pytest.raises(BadConfiguration, match=r"has a '\.' or '\.\.' segment") as exc:
                call()
            assert "secret name '%s' has a '.' or '..' segment, which Vault would resolve" % name in str(exc.value)
            assert "other-team-value" not in str(exc.value)
            assert exc.value.fix == "give the secret's path inside the mount, without '.' or '..' segments"
    assert be.calls == 0
    assert root.secrets.kv.v1.read_secret("victim", mount_point=other)["data"] == {"value": "other-team-value"}
    assert root.secrets.kv.v1.list_secrets("", mount_point=other)["data"]["keys"] == ["victim"]

"""The gcp backend against a real drongo server (Secret Manager REST API) on 127.0.0.1.

drongo has no authentication or IAM: it accepts any caller. So "access denied" cannot be
provoked here, nor "wrong credentials" (a service-account key signs its own JWT, which only the
real server checks; user credentials always go to Google's token endpoint). Both mappings
(PermissionDenied, Unauthenticated, RefreshError) are tested in
tests/unit/plugins/module_utils/_backends/test_gcp.py, PermissionDenied also over gRPC in
test_backend_gcp_grpc.py. Faults on the REST path (503, a lost answer, DATA_LOSS) come from a proxy in
front of drongo (gcp_rest_faults), which counts what reached it.
"""
import json
import re
import time

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    BackendUnreachable,
    BadConfiguration,
    InvalidFormat,
    SecretNotFound,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.gcp import GcpBackend

VALUE = "sk-test-0123456789abcdef"


def test_write_creates_then_read_latest(gcp_options):
    backend = GcpBackend(gcp_options)
    assert backend.write("gw-master", VALUE) == "1"
    secret = backend.read(SecretRef("gw-master"))
    assert (secret.value, secret.version) == (VALUE, "1")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", secret.created)
    assert secret.metadata == {"name": "projects/gateway-test/secrets/gw-master/versions/1", "state": "enabled"}
    assert VALUE not in repr(secret)


def test_rotate_and_read_given_version(gcp_options):
    backend = GcpBackend(gcp_options)
    assert [backend.write("gw-rot", v) for v in ("value-one", "value-two")] == ["1", "2"]
    assert backend.read(SecretRef("gw-rot")).value == "value-two"
    assert backend.read(SecretRef("gw-rot", version="latest")).version == "2"
    assert backend.read(SecretRef("gw-rot", version="1")).value == "value-one"
    assert [(v.version, v.state) for v in backend.versions("gw-rot")] == [("2", "enabled"), ("1", "enabled")]


def test_created_concurrently_adds_a_version(gcp_options):
    backend = GcpBackend(gcp_options)
    other = GcpBackend(gcp_options)
    client = backend.client()
    create = client.create_secret

    def create_after_someone_else(**kwargs):
        # Someone else creates the secret (and writes) between our "not found" and our create.
        other.write("gw-race", "their-value")
        return create(**kwargs)

    client.create_secret = create_after_someone_else
    assert backend.write("gw-race", VALUE) == "2"
    assert backend.read(SecretRef("gw-race")).value == VALUE
    assert backend.read(SecretRef("gw-race", version="1")).value == "their-value"


def test_full_resource_path_names_the_project(gcp_options):
    options = dict(gcp_options, gcp_project=None)
    backend = GcpBackend(options)
    backend.write("projects/other-proj/secrets/gw-path", VALUE)
    secret = backend.read(SecretRef("projects/other-proj/secrets/gw-path"))
    assert secret.value == VALUE
    assert secret.metadata["name"].startswith("projects/other-proj/secrets/gw-path/")
    # Not visible under the default project.
    with pytest.raises(SecretNotFound):
        GcpBackend(gcp_options).read(SecretRef("gw-path"))


def test_json_field(gcp_options):
    backend = GcpBackend(gcp_options)
    backend.write("gw-json", json.dumps({"master_key": "sk-abc", "models": ["a", "b"]}))
    assert backend.read(SecretRef("gw-json", field="master_key")).value == "sk-abc"
    assert backend.read(SecretRef("gw-json", field="models")).value == '["a", "b"]'
    with pytest.raises(InvalidFormat):
        backend.read(SecretRef("gw-json", field="nope"))


def test_retire_disable_then_destroy(gcp_options):
    backend = GcpBackend(gcp_options)
    for i in range(3):
        backend.write("gw-ret", "value-%d" % i)
    assert backend.retire("gw-ret", keep=1, mode="disable") == ["2", "1"]
    assert [v.state for v in backend.versions("gw-ret")] == ["enabled", "disabled", "disabled"]
    assert backend.retire("gw-ret", keep=1, mode="disable") == []
    with pytest.raises(SecretNotFound, match="DISABLED"):
        backend.read(SecretRef("gw-ret", version="1"))
    assert backend.read(SecretRef("gw-ret")).value == "value-2"
    assert backend.retire("gw-ret", keep=1, mode="destroy") == ["2", "1"]
    assert [v.state for v in backend.versions("gw-ret")] == ["enabled", "destroyed", "destroyed"]
    assert backend.retire("gw-ret", keep=1, mode="destroy") == []
    with pytest.raises(SecretNotFound, match="DESTROYED"):
        backend.read(SecretRef("gw-ret", version="2"))


def test_not_found_secret_and_version(gcp_options):
    backend = GcpBackend(gcp_options)
    with pytest.raises(SecretNotFound, match="secret does not exist") as err:
        backend.read(SecretRef("gw-missing"))
    assert "gcp backend" in str(err.value) and "gw-missing" in str(err.value)
    backend.write("gw-some", VALUE)
    with pytest.raises(SecretNotFound, match="exists but has no version '7'"):
        backend.read(SecretRef("gw-some", version="7"))
    with pytest.raises(SecretNotFound):
        backend.versions("gw-missing")


def test_bad_configuration(gcp_options):
    with pytest.raises(BadConfiguration, match="no GCP project"):
        GcpBackend(dict(gcp_options, gcp_project=None)).read(SecretRef("gw-x"))
    with pytest.raises(BadConfiguration, match="neither 'latest' nor a positive number"):
        GcpBackend(gcp_options).read(SecretRef("gw-x", version="abc"))
    with pytest.raises(BadConfiguration, match="not a valid secret id"):
        GcpBackend(gcp_options).read(SecretRef("bad name!"))
    with pytest.raises(BadConfiguration, match="only understood by the aws backend"):
        GcpBackend(gcp_options).read(SecretRef("gw-x", version_stage="AWSCURRENT"))


def test_unreadable_credentials_file(gcp_options, tmp_path):
    path = tmp_path / "sa.json"
    path.write_text('{"type": "service_account", "private_key": "-----BEGIN PRIVATE KEY-----\\nsecretkeymaterial"}')
    with pytest.raises(BadConfiguration, match="cannot load the credentials file") as err:
        GcpBackend(dict(gcp_options, gcp_credentials_file=str(path))).read(SecretRef("gw-x"))
    assert "secretkeymaterial" not in str(err.value)


def test_service_account_key_file(gcp_options, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    path = tmp_path / "sa.json"
    path.write_text(json.dumps({
        "type": "service_account", "project_id": "from-key-file", "private_key_id": "k1", "private_key": pem,
        "client_email": "gateway@from-key-file.iam.gserviceaccount.com", "client_id": "1",
        "token_uri": "https://oauth2.googleapis.com/token"}))
    # The project comes from the key file; the client signs its own JWT (no token exchange).
    backend = GcpBackend(dict(gcp_options, gcp_project=None, gcp_credentials_file=str(path)))
    backend.write("gw-sa", VALUE)
    assert backend.read(SecretRef("gw-sa")).metadata["name"] == "projects/from-key-file/secrets/gw-sa/versions/1"
    path.write_text(json.dumps({"type": "external_account", "credential_source": {"executable": {"command": "x"}}}))
    with pytest.raises(BadConfiguration, match="type 'external_account'"):
        GcpBackend(dict(gcp_options, gcp_credentials_file=str(path))).read(SecretRef("gw-sa"))


def test_access_token_is_used(gcp_options):
    # drongo ignores the token, but the client must accept it and talk to the endpoint.
    backend = GcpBackend(dict(gcp_options, gcp_access_token="ya29.test-token"))
    backend.write("gw-tok", VALUE)
    assert backend.read(SecretRef("gw-tok")).value == VALUE
    with pytest.raises(BadConfiguration, match="both"):
        GcpBackend(dict(gcp_options, gcp_access_token="t", gcp_credentials_file="/x")).read(SecretRef("gw-tok"))


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_unreachable_fails_fast(gcp_options, free_port, transport):
    backend = GcpBackend(dict(gcp_options, gcp_transport=transport, timeout=2, retries=2, retry_backoff=0.1,
                              gcp_api_endpoint="http://127.0.0.1:%d" % free_port))
    start = time.monotonic()
    with pytest.raises(BackendUnreachable) as err:
        backend.read(SecretRef("gw-any"))
    assert time.monotonic() - start < 5
    assert backend.calls == 3
    assert "gcp_api_endpoint" in str(err.value)


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_hung_server_times_out(gcp_options, silent_port, transport):
    backend = GcpBackend(dict(gcp_options, gcp_transport=transport, timeout=1, retries=0,
                              gcp_api_endpoint="http://127.0.0.1:%d" % silent_port))
    start = time.monotonic()
    with pytest.raises(BackendUnreachable):
        backend.read(SecretRef("gw-any"))
    assert time.monotonic() - start < 3  # one attempt of 1 s: the client does not retry on its own


def test_rest_unavailable_read_is_retried_by_the_client_library(gcp_options, gcp_rest_faults):
    GcpBackend(gcp_options).write("gw-flaky", VALUE)
    backend = GcpBackend(dict(gcp_options, gcp_api_endpoint=gcp_rest_faults.url, retries=2))
    gcp_rest_faults.fail("access", times=2)
    assert backend.read(SecretRef("gw-flaky")).value == VALUE
    assert gcp_rest_faults.received("access") == 3
    gcp_rest_faults.fail("access", times=5)
    with pytest.raises(BackendUnreachable, match="unavailable"):
        backend.read(SecretRef("gw-flaky"))
    assert gcp_rest_faults.received("access") == 6  # 3 more: 1 + retries


def test_rest_write_with_a_lost_answer_is_not_retried(gcp_options, gcp_rest_faults):
    """drongo stores the version, its answer is replaced by a 503: one AddSecretVersion, one new version."""
    GcpBackend(gcp_options).write("gw-lost", "old-value")
    backend = GcpBackend(dict(gcp_options, gcp_api_endpoint=gcp_rest_faults.url, retries=5))
    gcp_rest_faults.fail("addVersion", after_apply=True)
    with pytest.raises(BackendUnreachable) as err:
        backend.write("gw-lost", "sk-new-value-1")
    assert "a write is not retried" in err.value.fix
    assert gcp_rest_faults.received("addVersion") == 1
    assert [v.version for v in GcpBackend(gcp_options).versions("gw-lost")] == ["2", "1"]


def test_rest_data_loss_is_a_checksum_error(gcp_options, gcp_rest_faults):
    # REST carries DATA_LOSS as a 500 naming the status: neither retried nor taken for an outage.
    GcpBackend(gcp_options).write("gw-dl", "old-value")
    backend = GcpBackend(dict(gcp_options, gcp_api_endpoint=gcp_rest_faults.url, retries=5))
    gcp_rest_faults.fail("addVersion", status=500, name="DATA_LOSS")
    with pytest.raises(InvalidFormat, match="DATA_LOSS"):
        backend.write("gw-dl", "sk-new-value-2")
    gcp_rest_faults.fail("access", status=500, name="DATA_LOSS")
    with pytest.raises(InvalidFormat, match="DATA_LOSS"):
        backend.read(SecretRef("gw-dl"))
    assert (gcp_rest_faults.received("addVersion"), gcp_rest_faults.received("access")) == (1, 1)
    assert [v.version for v in GcpBackend(gcp_options).versions("gw-dl")] == ["1"]


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_hung_server_each_attempt_has_the_timeout(gcp_options, silent_port, transport):
    backend = GcpBackend(dict(gcp_options, gcp_transport=transport, timeout=1, retries=1, retry_backoff=0.01,
                              gcp_api_endpoint="http://127.0.0.1:%d" % silent_port))
    start = time.monotonic()
    with pytest.raises(BackendUnreachable):
        backend.read(SecretRef("gw-any"))
    elapsed = time.monotonic() - start
    assert backend.calls == 2
    assert 1.9 < elapsed < 6, elapsed  # two attempts of 1 s, no more

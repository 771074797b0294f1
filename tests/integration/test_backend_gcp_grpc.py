"""The gcp backend over gRPC, the client library's default transport, against grpc_secret_manager.py.

The stand-in speaks the real wire protocol with the client library's own message types; it counts what
reached it, so retries are proved by the server's count, not by the client's word.
"""
import hashlib
import json
import os
import re
import secrets

import grpc
import pytest

from ansible_runner import ROOT, run_playbook
from bad_input import Case, digest, run_cases

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import gcp
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    AccessDenied,
    BackendUnreachable,
    InvalidFormat,
    SecretNotFound,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.gcp import GcpBackend

VALUE = "sk-test-0123456789abcdef"
PATH = "projects/gateway-test/secrets/%s"
ROUNDTRIP = os.path.join(ROOT, "tests", "integration", "playbooks", "secret_roundtrip.yml")


def _methods(stand_in):
    return [call.method for call in stand_in.calls]


def test_default_transport_is_grpc(gcp_grpc_options):
    from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
        SecretManagerServiceGrpcTransport,
    )

    assert "gcp_transport" not in gcp_grpc_options
    assert isinstance(GcpBackend(gcp_grpc_options).client()._transport, SecretManagerServiceGrpcTransport)


def test_write_creates_then_read(gcp_grpc_options, grpc_secret_manager):
    backend = GcpBackend(gcp_grpc_options)
    assert backend.write("gw-master", VALUE) == "1"
    # Not found, created (with the collection's label), then the version; the checksum went along.
    assert _methods(grpc_secret_manager) == ["AddSecretVersion", "CreateSecret", "AddSecretVersion"]
    assert [c.crc_sent for c in grpc_secret_manager.calls if c.method == "AddSecretVersion"] == [True, True]
    secret = backend.read(SecretRef("gw-master"))
    assert (secret.value, secret.version) == (VALUE, "1")
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", secret.created)
    assert secret.metadata == {"name": PATH % "gw-master" + "/versions/1", "state": "enabled"}
    # Plain text to loopback carries no credentials at all.
    assert not any("authorization" in call.metadata for call in grpc_secret_manager.calls)
    labels = grpc_secret_manager.secrets[PATH % "gw-master"].labels
    assert dict(labels) == {"managed-by": "llmops-claude-gateway"}


def test_rotate_read_versions_and_pages(gcp_grpc_options, grpc_secret_manager):
    backend = GcpBackend(gcp_grpc_options)
    assert [backend.write("gw-rot", "value-%d" % i) for i in range(1, 6)] == ["1", "2", "3", "4", "5"]
    assert backend.read(SecretRef("gw-rot")).value == "value-5"
    assert backend.read(SecretRef("gw-rot", version="2")).value == "value-2"
    del grpc_secret_manager.calls[:]
    # Five versions, two per page: the listing follows next_page_token to the end.
    assert [v.version for v in backend.versions("gw-rot")] == ["5", "4", "3", "2", "1"]
    assert grpc_secret_manager.count("ListSecretVersions") == 3


def test_retire_disable_then_destroy(gcp_grpc_options, grpc_secret_manager):
    backend = GcpBackend(gcp_grpc_options)
    for i in range(3):
        backend.write("gw-ret", "value-%d" % i)
    assert backend.retire("gw-ret", keep=1, mode="disable") == ["2", "1"]
    assert grpc_secret_manager.state(PATH % "gw-ret") == {"1": "DISABLED", "2": "DISABLED", "3": "ENABLED"}
    assert backend.retire("gw-ret", keep=1, mode="disable") == []
    with pytest.raises(SecretNotFound, match="DISABLED"):
        backend.read(SecretRef("gw-ret", version="1"))
    assert backend.read(SecretRef("gw-ret")).value == "value-2"
    assert backend.retire("gw-ret", keep=1, mode="destroy") == ["2", "1"]
    assert grpc_secret_manager.state(PATH % "gw-ret") == {"1": "DESTROYED", "2": "DESTROYED", "3": "ENABLED"}
    assert [v.state for v in backend.versions("gw-ret")] == ["enabled", "destroyed", "destroyed"]
    with pytest.raises(SecretNotFound, match="DESTROYED"):
        backend.read(SecretRef("gw-ret", version="2"))


def test_not_found_is_not_retried(gcp_grpc_options, grpc_secret_manager):
    backend = GcpBackend(gcp_grpc_options)
    with pytest.raises(SecretNotFound, match="secret does not exist"):
        backend.read(SecretRef("gw-missing"))
    assert grpc_secret_manager.count("AccessSecretVersion") == 1
    grpc_secret_manager.put(PATH % "gw-some", b"x")
    with pytest.raises(SecretNotFound, match="exists but has no version '7'"):
        backend.read(SecretRef("gw-some", version="7"))


def test_permission_denied(gcp_grpc_options, grpc_secret_manager):
    grpc_secret_manager.put(PATH % "gw-deny", VALUE.encode())
    backend = GcpBackend(gcp_grpc_options)
    grpc_secret_manager.fail(grpc.StatusCode.PERMISSION_DENIED, methods=["AccessSecretVersion", "GetSecret"],
                             times=2, message="Permission 'secretmanager.versions.access' denied")
    with pytest.raises(AccessDenied) as err:
        backend.read(SecretRef("gw-deny"))
    assert err.value.problem == "permission denied: Permission 'secretmanager.versions.access' denied"
    assert grpc_secret_manager.count("AccessSecretVersion") == 1
    grpc_secret_manager.fail(grpc.StatusCode.PERMISSION_DENIED, methods=["AddSecretVersion"])
    with pytest.raises(AccessDenied, match="while writing"):
        backend.write("gw-deny", "sk-other-value")
    assert grpc_secret_manager.state(PATH % "gw-deny") == {"1": "ENABLED"}


def test_read_only_identity_reads_without_metadata(gcp_grpc_options, grpc_secret_manager):
    # secretAccessor may access a version but not get its metadata: the value is read all the same.
    grpc_secret_manager.put(PATH % "gw-ro", VALUE.encode())
    grpc_secret_manager.fail(grpc.StatusCode.PERMISSION_DENIED, methods=["GetSecretVersion"])
    secret = GcpBackend(gcp_grpc_options).read(SecretRef("gw-ro"))
    assert (secret.value, secret.version, secret.created, secret.metadata["state"]) == (VALUE, "1", None, None)
    assert grpc_secret_manager.count("GetSecretVersion") == 1


def test_unavailable_read_is_retried_by_the_client_library(gcp_grpc_options, grpc_secret_manager):
    grpc_secret_manager.put(PATH % "gw-flaky", VALUE.encode())
    backend = GcpBackend(gcp_grpc_options)  # retries: 2
    grpc_secret_manager.fail(grpc.StatusCode.UNAVAILABLE, times=2, methods=["AccessSecretVersion"])
    assert backend.read(SecretRef("gw-flaky")).value == VALUE
    assert grpc_secret_manager.count("AccessSecretVersion") == 3
    assert backend.calls == 3
    # Listing and metadata reads are retried the same way.
    grpc_secret_manager.fail(grpc.StatusCode.UNAVAILABLE, times=1, methods=["ListSecretVersions"])
    assert [v.version for v in backend.versions("gw-flaky")] == ["1"]
    assert grpc_secret_manager.count("ListSecretVersions") == 2


def test_unavailable_read_gives_up_after_retries(gcp_grpc_options, grpc_secret_manager):
    grpc_secret_manager.put(PATH % "gw-down", VALUE.encode())
    grpc_secret_manager.fail(grpc.StatusCode.UNAVAILABLE, times=100, methods=["AccessSecretVersion"])
    with pytest.raises(BackendUnreachable, match="unavailable") as err:
        GcpBackend(gcp_grpc_options).read(SecretRef("gw-down"))
    assert grpc_secret_manager.count("AccessSecretVersion") == 3  # 1 + retries
    assert "gcp_api_endpoint" in err.value.fix
    del grpc_secret_manager.calls[:]
    with pytest.raises(BackendUnreachable):
        GcpBackend(dict(gcp_grpc_options, retries=0)).read(SecretRef("gw-down"))
    assert grpc_secret_manager.count("AccessSecretVersion") == 1


def test_unavailable_write_is_not_retried(gcp_grpc_options, grpc_secret_manager):
    grpc_secret_manager.put(PATH % "gw-w", b"old-value")
    backend = GcpBackend(dict(gcp_grpc_options, retries=5))
    grpc_secret_manager.fail(grpc.StatusCode.UNAVAILABLE, methods=["AddSecretVersion"])
    with pytest.raises(BackendUnreachable) as err:
        backend.write("gw-w", "sk-new-value-1")
    assert grpc_secret_manager.count("AddSecretVersion") == 1
    assert err.value.problem == "Secret Manager is unavailable while writing (ServiceUnavailable)"
    assert "a write is not retried" in err.value.fix and "gateway_token_info" in err.value.fix
    assert grpc_secret_manager.state(PATH % "gw-w") == {"1": "ENABLED"}


def test_lost_answer_of_a_write_makes_no_duplicate(gcp_grpc_options, grpc_secret_manager):
    """The store adds the version but its answer is lost: exactly one new version, never two."""
    grpc_secret_manager.put(PATH % "gw-lost", b"old-value")
    backend = GcpBackend(dict(gcp_grpc_options, retries=5))
    grpc_secret_manager.fail(grpc.StatusCode.UNAVAILABLE, methods=["AddSecretVersion"], after_apply=True)
    with pytest.raises(BackendUnreachable):
        backend.write("gw-lost", "sk-new-value-2")
    assert grpc_secret_manager.count("AddSecretVersion") == 1
    assert grpc_secret_manager.state(PATH % "gw-lost") == {"1": "ENABLED", "2": "ENABLED"}
    assert backend.read(SecretRef("gw-lost")).value == "sk-new-value-2"


def test_corrupted_read_is_refused(gcp_grpc_options, grpc_secret_manager):
    grpc_secret_manager.put(PATH % "gw-crc", VALUE.encode())
    grpc_secret_manager.corrupt_access()
    with pytest.raises(InvalidFormat, match="data_crc32c") as err:
        GcpBackend(gcp_grpc_options).read(SecretRef("gw-crc"))
    assert VALUE not in str(err.value)
    # The next answer is whole again.
    assert GcpBackend(gcp_grpc_options).read(SecretRef("gw-crc")).value == VALUE


def test_write_with_a_wrong_checksum_is_data_loss(gcp_grpc_options, grpc_secret_manager, monkeypatch):
    grpc_secret_manager.put(PATH % "gw-dl", b"old-value")
    monkeypatch.setattr(gcp, "crc32c", lambda data: 12345)  # the payload "changed" after its checksum
    with pytest.raises(InvalidFormat) as err:
        GcpBackend(gcp_grpc_options).write("gw-dl", "sk-new-value-3")
    assert err.value.problem == "the server reported a checksum mismatch (DATA_LOSS) while writing"
    assert "nothing was stored" in err.value.fix and "sk-new-value-3" not in str(err.value)
    assert grpc_secret_manager.count("AddSecretVersion") == 1
    assert grpc_secret_manager.state(PATH % "gw-dl") == {"1": "ENABLED"}


def test_latest_is_the_newest_version_whatever_its_state(gcp_grpc_options, grpc_secret_manager):
    # Another tool disabled the newest version: 'latest' is unusable, as in the real service.
    from google.cloud.secretmanager_v1 import types

    grpc_secret_manager.put(PATH % "gw-lat", b"v1")
    grpc_secret_manager.put(PATH % "gw-lat", b"v2", state=types.SecretVersion.State.DISABLED)
    with pytest.raises(SecretNotFound, match="DISABLED"):
        GcpBackend(gcp_grpc_options).read(SecretRef("gw-lat"))
    assert GcpBackend(gcp_grpc_options).read(SecretRef("gw-lat", version="1")).value == "v1"


# -- through ansible-playbook ------------------------------------------------------------------------
def _store(options):
    """Module options: the fixture's, less the test-only retry_backoff, with backend gcp."""
    store = dict((k, v) for k, v in options.items() if k != "retry_backoff")
    store["backend"] = "gcp"
    return store


def test_roundtrip_through_modules_and_lookup(gcp_grpc_options, grpc_secret_manager, tmp_path):
    """Every module and lookup operation, over gRPC (no gcp_transport given), leaking nothing at -vvv."""
    values = {"v1": "gw-v1-" + secrets.token_hex(20), "v2": "gw-v2-" + secrets.token_hex(20),
              "json_secret": {"team-a": "gw-a-" + secrets.token_hex(20), "team-b": "gw-b-" + secrets.token_hex(20)}}
    store = _store(gcp_grpc_options)
    result = run_playbook(tmp_path, ROUNDTRIP, dict(values, store=store, ns="it-grpc"), verbosity=3)
    assert result.rc == 0, result
    methods = set(_methods(grpc_secret_manager))
    assert {"AddSecretVersion", "CreateSecret", "AccessSecretVersion", "ListSecretVersions",
            "DisableSecretVersion"} <= methods
    assert grpc_secret_manager.state(PATH % "it-grpc-generated") == {"1": "DISABLED", "2": "ENABLED"}
    generated = GcpBackend(gcp_grpc_options).read(SecretRef("it-grpc-generated")).value
    for value in [values["v1"], values["v2"], generated] + list(values["json_secret"].values()):
        assert value not in result.output and value not in result.log


def test_module_write_unavailable_fails_once_and_clearly(gcp_grpc_options, grpc_secret_manager, tmp_path):
    grpc_secret_manager.put(PATH % "gw-mod", b"sk-old-value-0123456789")
    grpc_secret_manager.fail(grpc.StatusCode.UNAVAILABLE, methods=["AddSecretVersion"], times=10)
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"llmops.claude_gateway.gateway_token": dict(_store(gcp_grpc_options), name="gw-mod", generate=True,
                                                     rotate=True, retries=3),
         "register": "r", "ignore_errors": True},
        {"ansible.builtin.copy": {"content": "{{ r | to_json }}", "dest": str(tmp_path / "r.json")}}]}]
    result = run_playbook(tmp_path, play)
    assert result.rc == 0, result
    with open(str(tmp_path / "r.json")) as handle:
        answer = json.load(handle)
    assert answer["failed"] is True and answer["error_kind"] == "unreachable"
    assert "unavailable while writing" in answer["msg"] and "a write is not retried" in answer["msg"]
    assert grpc_secret_manager.count("AddSecretVersion") == 1
    assert grpc_secret_manager.state(PATH % "gw-mod") == {"1": "ENABLED"}


def test_lookup_read_retried_over_grpc(gcp_grpc_options, grpc_secret_manager, tmp_path):
    grpc_secret_manager.put(PATH % "gw-look", b"sk-lookup-value-0123456789")
    grpc_secret_manager.fail(grpc.StatusCode.UNAVAILABLE, methods=["AccessSecretVersion"], times=2)
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"ansible.builtin.assert": {"quiet": True, "that": [
            "lookup('llmops.claude_gateway.gateway_token', 'gw-look', **store) | hash('sha256') == want"]},
         "vars": {"store": _store(gcp_grpc_options),
                  "want": hashlib.sha256(b"sk-lookup-value-0123456789").hexdigest()}}]}]
    result = run_playbook(tmp_path, play)
    assert result.rc == 0, result
    assert grpc_secret_manager.count("AccessSecretVersion") == 3


class StandInProbe(object):
    """Everything in the stand-in, read from its state (not through the collection); values as digests."""

    name = "grpc secret manager"

    def __init__(self, stand_in):
        self.stand_in = stand_in

    def snapshot(self):
        with self.stand_in.lock:
            return dict((path, {"labels": dict(secret.labels),
                                "versions": [(v.name.rsplit("/", 1)[1], v.state.name,
                                              digest(self.stand_in.payloads.get(v.name)))
                                             for v in self.stand_in.versions[path]]})
                        for path, secret in self.stand_in.secrets.items())


def test_bad_inputs_over_grpc_change_nothing(gcp_grpc_options, grpc_secret_manager, tmp_path):
    existing = "gw-existing-" + secrets.token_hex(16)
    GcpBackend(gcp_grpc_options).write("existing", existing)
    store = _store(gcp_grpc_options)
    write = "llmops.claude_gateway.gateway_token"
    cases = [
        Case("plain http to a remote host", {write: dict(store, name="existing", generate=True, rotate=True,
                                                         gcp_api_endpoint="http://secrets.example.com:8085")},
             ["is plain http to a host that is not loopback", "https://"], "bad_configuration"),
        Case("retire 0", {write: dict(store, name="existing", generate=True, retire=0)},
             ["'retire' must keep at least 1 version"], "bad_configuration"),
        Case("version not a number",
             {"llmops.claude_gateway.gateway_token_info": dict(store, name="existing", version="abc")},
             ["neither 'latest' nor a positive number"], "bad_configuration"),
    ]
    del grpc_secret_manager.calls[:]
    run_cases(tmp_path, cases, [StandInProbe(grpc_secret_manager)], hidden=[existing], name="grpc-bad")
    assert grpc_secret_manager.count("AddSecretVersion") == 0  # refused before any write

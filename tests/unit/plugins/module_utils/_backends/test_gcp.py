"""The gcp backend without a server: error mapping, retries, checksums, configuration."""
import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import base, gcp, errors
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef

GCP = {"gcp_project": "p", "gcp_transport": "rest", "gcp_api_endpoint": "http://127.0.0.1:9", "retries": 2,
       "retry_backoff": 0.001, "timeout": 3}


@pytest.mark.parametrize("data,expected", [
    (b"123456789", 0xE3069283),
    (b"\x00" * 32, 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (b"", 0),
])
def test_crc32c_pure_python(monkeypatch, data, expected):
    monkeypatch.setattr(gcp, "google_crc32c", None)
    assert gcp.crc32c(data) == expected


def _gexc():
    from google.api_core import exceptions

    return exceptions


@pytest.mark.parametrize("make,kind", [
    (lambda e: e.PermissionDenied("Permission 'secretmanager.versions.access' denied"), errors.AccessDenied),
    (lambda e: e.Forbidden("denied"), errors.AccessDenied),
    (lambda e: e.Unauthenticated("Request had invalid authentication credentials"), errors.AccessDenied),
    (lambda e: e.Unauthorized("401"), errors.AccessDenied),
    (lambda e: e.ResourceExhausted("Quota exceeded"), errors.Throttled),
    (lambda e: e.TooManyRequests("429"), errors.Throttled),
    (lambda e: e.ServiceUnavailable("unavailable"), errors.BackendUnreachable),
    (lambda e: e.DeadlineExceeded("deadline"), errors.BackendUnreachable),
    (lambda e: e.InternalServerError("boom"), errors.BackendUnreachable),
    (lambda e: e.NotFound("Secret [projects/p/secrets/x] not found"), errors.SecretNotFound),
    (lambda e: e.FailedPrecondition("Secret version is in DISABLED state"), errors.SecretNotFound),
    (lambda e: e.InvalidArgument("Checksum mismatch"), errors.InvalidFormat),
    (lambda e: e.InvalidArgument("bad id"), errors.BadConfiguration),
])
def test_gcp_api_error_mapping(make, kind):
    err = gcp.GcpBackend(GCP)._map(make(_gexc()), SecretRef("gw-x"))
    assert type(err) is kind  # pylint: disable=unidiomatic-typecheck  # exact class, not a subclass
    assert str(err).startswith("gcp backend, secret 'gw-x': ") and "Fix: " in str(err)


def test_gcp_auth_errors():
    import google.auth.exceptions as auth_exc
    import requests

    backend = gcp.GcpBackend(GCP)
    err = backend._map(auth_exc.RefreshError("invalid_grant: token sk-leak revoked"), "gw-x")
    assert isinstance(err, errors.AccessDenied) and "sk-leak" not in str(err)
    assert isinstance(backend._map(auth_exc.DefaultCredentialsError("none"), "gw-x"), errors.BadConfiguration)
    assert isinstance(backend._map(auth_exc.TransportError("down"), "gw-x"), errors.BackendUnreachable)
    assert isinstance(backend._map(requests.exceptions.ConnectTimeout("slow"), "gw-x"), errors.BackendUnreachable)


class FakeSecretManager(object):
    """Stands in for the SecretManagerServiceClient to feed exact responses (checksums, errors)."""

    def __init__(self, payload_crc=None, data=b"sk-value", failures=()):
        self.payload_crc, self.data, self.failures = payload_crc, data, list(failures)
        self.requests = []

    def _maybe_fail(self):
        if self.failures:
            raise self.failures.pop(0)

    def access_secret_version(self, name, retry, timeout):
        from google.cloud import secretmanager_v1 as sm

        def attempt():
            self.requests.append(("access", name, retry, timeout))
            self._maybe_fail()
            payload = sm.SecretPayload(data=self.data)
            if self.payload_crc is not None:
                payload.data_crc32c = self.payload_crc
            return sm.AccessSecretVersionResponse(name=name.replace("latest", "4"), payload=payload)

        # As the client library does: the retry object wraps the call.
        return retry(attempt)() if retry is not None else attempt()

    def get_secret_version(self, name, retry, timeout):
        raise _gexc().PermissionDenied("secretAccessor cannot get version metadata")

    def add_secret_version(self, parent, payload, retry, timeout):
        from google.cloud import secretmanager_v1 as sm

        self.requests.append(("add", parent, payload, retry, timeout))
        return sm.SecretVersion(name=parent + "/versions/5")


def _with_fake(fake, **options):
    backend = gcp.GcpBackend(dict(GCP, **options))
    backend._client = fake
    return backend


def test_gcp_checksum_verified_when_sent():
    good = gcp.crc32c(b"sk-value")
    secret = _with_fake(FakeSecretManager(payload_crc=good)).read(SecretRef("gw-x"))
    # Version metadata is best effort (a read-only identity may not see it).
    assert (secret.value, secret.version, secret.created) == ("sk-value", "4", None)
    with pytest.raises(errors.InvalidFormat, match="data_crc32c") as err:
        _with_fake(FakeSecretManager(payload_crc=good ^ 1)).read(SecretRef("gw-x"))
    assert "sk-value" not in str(err.value)
    # No checksum from the server: nothing to verify.
    assert _with_fake(FakeSecretManager()).read(SecretRef("gw-x")).value == "sk-value"


def test_gcp_write_sends_checksum_and_no_sdk_retry():
    fake = FakeSecretManager()
    assert _with_fake(fake).write("gw-x", "sk-new") == "5"
    _op, parent, payload, retry, timeout = fake.requests[0]
    assert parent == "projects/p/secrets/gw-x"
    assert payload == {"data": b"sk-new", "data_crc32c": gcp.crc32c(b"sk-new")}
    assert retry is None and timeout == 3


def test_gcp_transient_read_errors_retried_by_the_client_library():
    fake = FakeSecretManager(failures=[_gexc().ServiceUnavailable("x"), _gexc().ResourceExhausted("y")])
    backend = _with_fake(fake)
    assert backend.read(SecretRef("gw-x", version="2")).value == "sk-value"
    assert backend.calls == 3 and len(fake.requests) == 3
    assert fake.requests[-1][1] == "projects/p/secrets/gw-x/versions/2"


def test_gcp_read_retries_bounded_by_count():
    # retries: 2 -> three attempts, then the last error is mapped.
    fake = FakeSecretManager(failures=[_gexc().ServiceUnavailable("x%d" % n) for n in range(5)])
    backend = _with_fake(fake)
    with pytest.raises(errors.BackendUnreachable):
        backend.read(SecretRef("gw-x"))
    assert len(fake.requests) == 3 and backend.calls == 3
    fake = FakeSecretManager(failures=[_gexc().ServiceUnavailable("x")])
    with pytest.raises(errors.BackendUnreachable):
        _with_fake(fake, retries=0).read(SecretRef("gw-x"))
    assert len(fake.requests) == 1


def test_gcp_permanent_read_errors_not_retried():
    for failure in (_gexc().NotFound("x"), _gexc().PermissionDenied("x"), _gexc().DataLoss("x")):
        fake = FakeSecretManager(failures=[failure])
        fake.get_secret = lambda **kwargs: None
        with pytest.raises(errors.SecretError):
            _with_fake(fake).read(SecretRef("gw-x"))
        assert len(fake.requests) == 1, failure


def test_gcp_read_retry_settings():
    backend = gcp.GcpBackend(dict(GCP, retry_backoff=0.25, timeout=7))
    kw = backend._read_kw()
    retry = kw["retry"]
    assert (retry._initial, retry._multiplier, retry._maximum, retry._timeout) == (0.25, 2.0, base.MAX_BACKOFF, None)
    # Each attempt gets the whole timeout (not one deadline shared by all attempts).
    seen = []
    kw["timeout"](lambda **k: seen.append(k["timeout"]))()
    assert seen == [7.0]
    assert backend._write_kw() == {"retry": None, "timeout": 7.0}


@pytest.mark.parametrize("make,transient", [
    (lambda e: e.ServiceUnavailable("x"), True),
    (lambda e: e.DeadlineExceeded("x"), True),
    (lambda e: e.GatewayTimeout("x"), True),
    (lambda e: e.ResourceExhausted("x"), True),
    (lambda e: e.TooManyRequests("x"), True),
    (lambda e: e.InternalServerError("x"), True),
    (lambda e: e.BadGateway("x"), True),
    (lambda e: e.DataLoss("x"), False),
    (lambda e: e.NotFound("x"), False),
    (lambda e: e.PermissionDenied("x"), False),
    (lambda e: e.Unauthenticated("x"), False),
    (lambda e: e.FailedPrecondition("x"), False),
    (lambda e: e.InvalidArgument("x"), False),
    (lambda e: e.MethodNotImplemented("x"), False),
])
def test_gcp_transient_predicate(make, transient):
    assert gcp._transient(make(_gexc())) is transient


def test_gcp_transient_predicate_transport_errors():
    import google.auth.exceptions as auth_exc
    import requests

    class RestResponse(object):
        def json(self):
            return {"error": {"status": "DATA_LOSS"}}

    assert gcp._transient(requests.exceptions.ConnectionError("refused")) is True
    assert gcp._transient(requests.exceptions.ReadTimeout("slow")) is True
    assert gcp._transient(auth_exc.TransportError("token endpoint down")) is True
    assert gcp._transient(ValueError("x")) is False
    # REST reports DATA_LOSS as a 500: named in the body, never retried, mapped as a checksum error.
    rest = _gexc().InternalServerError("Checksum mismatch", response=RestResponse())
    assert gcp._transient(rest) is False
    assert type(gcp.GcpBackend(GCP)._map(rest, "gw-x")) is errors.InvalidFormat  # pylint: disable=unidiomatic-typecheck


def test_gcp_binary_payload_is_invalid_format():
    with pytest.raises(errors.InvalidFormat, match="UTF-8"):
        _with_fake(FakeSecretManager(data=b"\xff\xfe")).read(SecretRef("gw-x"))


def test_gcp_client_endpoint_and_transport():
    rest = gcp.GcpBackend(dict(GCP, gcp_api_endpoint="http://127.0.0.1:8085")).client()
    assert rest._transport.host == "http://127.0.0.1:8085"
    grpc_private = gcp.GcpBackend(dict(GCP, gcp_transport="grpc", gcp_access_token="ya29.x",
                                       gcp_api_endpoint="https://secretmanager.europe-west1.rep.googleapis.com"))
    assert grpc_private.client()._transport._host.startswith("secretmanager.europe-west1.rep.googleapis.com")


def test_gcp_write_errors_say_writes_are_not_retried():
    backend = gcp.GcpBackend(GCP)
    assert "a write is not retried" in backend._map(_gexc().ServiceUnavailable("x"), "gw-x", during="writing").fix
    assert "a write is not retried" not in backend._map(_gexc().ServiceUnavailable("x"), "gw-x").fix
    assert "writes are not retried" in backend._map(_gexc().TooManyRequests("x"), "gw-x", during="writing").fix


@pytest.mark.parametrize("transport", ["grpc", "rest"])
def test_gcp_plain_http_only_to_loopback(transport):
    # No credentials to leak, but the secret values themselves would travel in clear.
    with pytest.raises(errors.BadConfiguration) as err:
        gcp.GcpBackend(dict(GCP, gcp_transport=transport, gcp_api_endpoint="http://secrets.example.com:8085")).client()
    assert err.value.problem == "gcp_api_endpoint 'http://secrets.example.com:8085' is plain http to a host that is not loopback"


def test_gcp_grpc_loopback_channel_is_insecure_and_anonymous():
    from google.auth.credentials import AnonymousCredentials

    backend = gcp.GcpBackend(dict(GCP, gcp_transport="grpc", gcp_api_endpoint="http://localhost:8085"))
    client = backend.client()
    assert isinstance(backend._credentials, AnonymousCredentials)
    assert client._transport.grpc_channel._channel.target() == b"dns:///localhost:8085"
    # TLS endpoints keep the library's own secure channel.
    tls = gcp.GcpBackend(dict(GCP, gcp_transport="grpc", gcp_access_token="ya29.x",
                              gcp_api_endpoint="secretmanager.us-east1.rep.googleapis.com")).client()
    assert tls._transport._host.startswith("secretmanager.us-east1.rep.googleapis.com")


def test_gcp_no_credentials_over_plain_http_to_remote_host():
    with pytest.raises(errors.BadConfiguration, match="unencrypted") as err:
        gcp.GcpBackend(dict(GCP, gcp_access_token="ya29.must-not-leak",
                            gcp_api_endpoint="http://secrets.example.com")).client()
    assert "must-not-leak" not in str(err.value)
    assert gcp.GcpBackend(dict(GCP, gcp_access_token="ya29.x", gcp_api_endpoint="http://localhost:8085")).client()


def test_gcp_no_credentials_at_all(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    with pytest.raises(errors.BadConfiguration, match="Application Default Credentials"):
        gcp.GcpBackend(dict(GCP, gcp_api_endpoint=None)).client()


def test_gcp_missing_sdk(load_without):
    # A controller without the SDK: the module still loads, and the backend names the secret and the fix.
    without = load_without(gcp, "google.cloud.secretmanager_v1", "google.cloud")
    assert without.HAS_GCP is False
    with pytest.raises(errors.BadConfiguration) as err:
        without.GcpBackend(dict(GCP, name="gw-x"))
    assert str(err.value) == ("gcp backend, secret 'gw-x': the google-cloud-secret-manager Python package is not "
                              "installed. Fix: install it on the controller: pip install google-cloud-secret-manager")


def test_gcp_without_requests(load_without):
    # requests only adds its connection errors to the mapped ones.
    without = load_without(gcp, "requests", "requests.exceptions")
    assert without.requests_exceptions is None
    assert len(without.GcpBackend(GCP)._mapped()) == 2


def test_gcp_iso_dates():
    import datetime

    assert gcp._iso(datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)) == "2026-01-02T00:00:00+00:00"
    assert gcp._iso(None) is None
    assert gcp._iso("2026-01-02") is None  # not a date object


def test_gcp_status_name():
    class RestResponse(object):
        def json(self):
            return {"error": {"status": "FAILED_PRECONDITION"}}

    # gRPC errors carry the status code; REST answers 400 for several statuses and names it in the body.
    assert gcp._status(_gexc().NotFound("x")) == "NOT_FOUND"
    rest = _gexc().BadRequest("Secret Version is in DISABLED state.", response=RestResponse())
    assert gcp._status(rest) == "FAILED_PRECONDITION"
    assert gcp._status(_gexc().BadRequest("x")) == ""
    err = gcp.GcpBackend(GCP)._map(rest, "gw-x")
    assert (type(err), err.problem) == (errors.SecretNotFound, "the version cannot be used: Secret Version is in DISABLED state")


def test_gcp_version_must_be_positive():
    backend = gcp.GcpBackend(GCP)
    assert backend._version_path(SecretRef("gw-x", version="1")) == "projects/p/secrets/gw-x/versions/1"
    with pytest.raises(errors.BadConfiguration, match="version '0' is neither 'latest' nor a positive number"):
        backend._version_path(SecretRef("gw-x", version="0"))


@pytest.mark.parametrize("make,during,kind,problem", [
    (lambda e, a: e.NotFound("gone"), None, errors.SecretNotFound, "the secret does not exist"),
    (lambda e, a: e.NotFound("gone"), "writing", errors.SecretNotFound, "the secret does not exist while writing"),
    (lambda e, a: a.RefreshError("invalid_grant"), "writing", errors.AccessDenied,
     "the credentials were rejected when fetching an access token while writing"),
    (lambda e, a: a.TransportError("down"), "writing", errors.BackendUnreachable,
     "cannot reach the token endpoint while writing"),
    (lambda e, a: e.Unauthorized("401"), "writing", errors.AccessDenied, "GCP rejected the credentials while writing (401)"),
    (lambda e, a: e.TooManyRequests("429"), "writing", errors.Throttled, "GCP throttled the request while writing"),
    (lambda e, a: e.BadRequest("Checksum mismatch"), "writing", errors.InvalidFormat,
     "the server reported a checksum mismatch while writing"),
    (lambda e, a: e.BadRequest("bad id"), None, errors.BadConfiguration, "GCP refused the request: bad id"),
    (lambda e, a: e.DataLoss("Checksum mismatch"), "writing", errors.InvalidFormat,
     "the server reported a checksum mismatch (DATA_LOSS) while writing"),
    (lambda e, a: e.ServiceUnavailable("down"), "writing", errors.BackendUnreachable,
     "Secret Manager is unavailable while writing (ServiceUnavailable)"),
])
def test_gcp_error_problems(make, during, kind, problem):
    import google.auth.exceptions as auth_exc

    err = gcp.GcpBackend(GCP)._map(make(_gexc(), auth_exc), "gw-x", during=during)
    assert (type(err), err.problem) == (kind, problem)


def test_gcp_malformed_plain_http_endpoint_is_not_loopback():
    assert gcp._loopback_http("http://127.0.0.1:8085") is True
    assert gcp._loopback_http("http://user@127.0.0.1:8085") is False
    with pytest.raises(errors.BadConfiguration) as err:
        gcp.GcpBackend(dict(GCP, gcp_access_token="ya29.x", gcp_api_endpoint="http://user@127.0.0.1:8085")).client()
    assert err.value.problem == "credentials would be sent unencrypted to 'http://user@127.0.0.1:8085'"


class CreateRefused(FakeSecretManager):
    def add_secret_version(self, parent, payload, retry, timeout):
        raise _gexc().NotFound("no secret")

    def create_secret(self, parent, secret_id, secret, retry, timeout):
        raise _gexc().PermissionDenied("secretmanager.secrets.create denied")


def test_gcp_create_refused_after_not_found():
    with pytest.raises(errors.AccessDenied) as err:
        _with_fake(CreateRefused()).write("gw-x", "sk-new-value")
    assert err.value.problem == "permission denied while creating the secret: secretmanager.secrets.create denied"


class CreatedConcurrently(FakeSecretManager):
    """gRPC: the secret appears between our "not found" and our create."""

    def __init__(self):
        super(CreatedConcurrently, self).__init__(failures=[_gexc().NotFound("no secret")])

    def add_secret_version(self, parent, payload, retry, timeout):
        self._maybe_fail()
        return super(CreatedConcurrently, self).add_secret_version(parent, payload, retry, timeout)

    def create_secret(self, parent, secret_id, secret, retry, timeout):
        raise _gexc().AlreadyExists("Secret [%s] already exists" % secret_id)


def test_gcp_created_concurrently_over_grpc():
    fake = CreatedConcurrently()
    assert _with_fake(fake).write("gw-x", "sk-new-value") == "5"
    assert [r[0] for r in fake.requests] == ["add"]


def test_gcp_other_errors():
    import google.auth.exceptions as auth_exc
    import requests

    backend = gcp.GcpBackend(GCP)
    err = backend._map(auth_exc.DefaultCredentialsError("none"), "gw-x", during="writing")
    assert (type(err), err.problem) == (errors.BadConfiguration, "no usable GCP credentials while writing")
    err = backend._map(requests.exceptions.ConnectionError("refused"), "gw-x", during="writing")
    assert (type(err), err.problem) == (errors.BackendUnreachable, "cannot reach Secret Manager while writing (ConnectionError)")
    # Any other API error is the server's answer to a request it did not like.
    err = backend._map(_gexc().Conflict("Secret version is being modified"), "gw-x", during="writing")
    assert (type(err), err.problem, err.fix) == (errors.BadConfiguration, "GCP error while writing: Secret version is being "
                                                 "modified", errors.BadConfiguration.default_fix)
    other = ValueError("not from the SDK")
    assert backend._map(other, "gw-x") is other


def test_gcp_unknown_transport():
    with pytest.raises(errors.BadConfiguration) as err:
        gcp.GcpBackend(dict(GCP, gcp_transport="http2")).client("gw-x")
    assert (err.value.ref, err.value.problem) == ("gw-x", "unknown gcp_transport 'http2'")


class Refusing(FakeSecretManager):
    """An identity that may list versions but neither add nor disable one."""

    def add_secret_version(self, parent, payload, retry, timeout):
        raise _gexc().PermissionDenied("secretmanager.versions.add denied")

    def list_secret_versions(self, parent, retry, timeout):
        from google.cloud import secretmanager_v1 as sm

        return [sm.SecretVersion(name=parent + "/versions/%d" % n, state=sm.SecretVersion.State.ENABLED)
                for n in (1, 2)]

    def disable_secret_version(self, name, retry, timeout):
        raise _gexc().PermissionDenied("secretmanager.versions.disable denied")


def test_gcp_refusals_name_the_step():
    backend = _with_fake(Refusing())
    with pytest.raises(errors.AccessDenied) as err:
        backend.write("gw-x", "sk-new-value")
    assert err.value.problem == "permission denied while writing: secretmanager.versions.add denied"
    with pytest.raises(errors.AccessDenied) as err:
        backend.retire("gw-x", keep=1)
    assert err.value.problem == "permission denied while retiring version 1: secretmanager.versions.disable denied"

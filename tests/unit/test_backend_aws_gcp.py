"""aws and gcp backends without a server: error mapping, retries, checksums, configuration."""
import os

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import aws, gcp
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    AccessDenied,
    BackendUnreachable,
    BadConfiguration,
    InvalidFormat,
    SecretNotFound,
    Throttled,
)

AWS = {"aws_region": "eu-west-1", "aws_access_key_id": "AKIAEXAMPLEEXAMPLE00",
       "aws_secret_access_key": "secret-key-must-not-leak", "retries": 2, "retry_backoff": 0.001, "timeout": 3}
GCP = {"gcp_project": "p", "gcp_transport": "rest", "gcp_api_endpoint": "http://127.0.0.1:9", "retries": 2,
       "retry_backoff": 0.001, "timeout": 3}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch):
    for var in ("AWS_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)


# -- AWS ------------------------------------------------------------------------------------------
def client_error(code, status=400, message="msg"):
    import botocore.exceptions

    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetSecretValue")


@pytest.mark.parametrize("code,status,kind", [
    ("AccessDeniedException", 400, AccessDenied),
    ("UnrecognizedClientException", 400, AccessDenied),
    ("InvalidSignatureException", 400, AccessDenied),
    ("ExpiredTokenException", 400, AccessDenied),
    ("DecryptionFailure", 400, AccessDenied),
    ("ThrottlingException", 400, Throttled),
    ("TooManyRequestsException", 429, Throttled),
    ("ResourceNotFoundException", 400, SecretNotFound),
    ("InternalServiceError", 500, BackendUnreachable),
    ("InvalidRequestException", 400, BadConfiguration),
    ("InvalidParameterException", 400, InvalidFormat),
])
def test_aws_client_error_mapping(code, status, kind):
    err = aws.AwsBackend(AWS)._map(client_error(code, status), SecretRef("gw/x"))
    assert type(err) is kind  # pylint: disable=unidiomatic-typecheck  # exact class, not a subclass
    assert str(err).startswith("aws backend, secret 'gw/x': ")
    assert "Fix: " in str(err)


def test_aws_xml_auth_error_body_is_understood():
    # Servers may answer a JSON-protocol call's auth failure with an XML body (botocore then
    # reports the HTTP status as the code).
    xml = ("<ErrorResponse><Errors><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we "
           "calculated does not match</Message></Error></Errors></ErrorResponse>")
    err = aws.AwsBackend(AWS)._map(client_error("403", 403, xml), SecretRef("gw/x"))
    assert isinstance(err, AccessDenied) and "rejected the credentials (SignatureDoesNotMatch)" in str(err)


def test_aws_transport_errors_are_unreachable():
    import botocore.exceptions

    for exc in (botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"),
                botocore.exceptions.ConnectTimeoutError(endpoint_url="http://x"),
                botocore.exceptions.ReadTimeoutError(endpoint_url="http://x")):
        err = aws.AwsBackend(AWS)._map(exc, "gw/x")
        assert isinstance(err, BackendUnreachable) and err.transient


def test_aws_sdk_retries_off_and_timeout_honoured():
    client = aws.AwsBackend(AWS).client()
    assert client.meta.config.retries["total_max_attempts"] == 1
    assert client.meta.config.connect_timeout == 3 and client.meta.config.read_timeout == 3


def _stubbed(options=None):
    from botocore.stub import Stubber

    backend = aws.AwsBackend(AWS if options is None else options)
    stub = Stubber(backend.client())
    stub.activate()
    return backend, stub


def _value_response(value="sk-value"):
    import datetime

    return {"ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:gw/x-abc", "Name": "gw/x",
            "VersionId": "v" * 32, "SecretString": value, "VersionStages": ["AWSCURRENT"],
            "CreatedDate": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)}


def test_aws_throttling_is_retried_by_the_backend():
    backend, stub = _stubbed()
    expected = {"SecretId": "gw/x", "VersionStage": "AWSCURRENT"}
    for _ignored in range(2):
        stub.add_client_error("get_secret_value", "ThrottlingException", "Rate exceeded", 400,
                              expected_params=expected)
    stub.add_response("get_secret_value", _value_response(), expected)
    secret = backend.read(SecretRef("gw/x"))
    assert (secret.value, secret.created) == ("sk-value", "2026-01-02T03:04:05+00:00")
    assert backend.calls == 3
    stub.assert_no_pending_responses()


def test_aws_throttling_gives_up_after_retries():
    backend, stub = _stubbed(dict(AWS, retries=1))
    for _ignored in range(2):
        stub.add_client_error("get_secret_value", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(Throttled, match="throttled"):
        backend.read(SecretRef("gw/x"))
    assert backend.calls == 2


def test_aws_denied_is_not_retried_and_hides_credentials():
    backend, stub = _stubbed()
    stub.add_client_error("get_secret_value", "AccessDeniedException", "User: arn:aws:iam::1:user/u is not "
                          "authorized to perform: secretsmanager:GetSecretValue", 400)
    with pytest.raises(AccessDenied) as err:
        backend.read(SecretRef("gw/x"))
    assert backend.calls == 1
    assert AWS["aws_secret_access_key"] not in str(err.value)


def test_aws_reads_ask_awscurrent_explicitly_and_field():
    backend, stub = _stubbed()
    stub.add_response("get_secret_value", _value_response('{"key": "sk-in-json"}'),
                      {"SecretId": "gw/x", "VersionStage": "AWSCURRENT"})
    stub.add_response("get_secret_value", _value_response(), {"SecretId": "gw/x", "VersionStage": "AWSPENDING"})
    stub.add_response("get_secret_value", _value_response(), {"SecretId": "gw/x", "VersionId": "v" * 32})
    assert backend.read(SecretRef("gw/x", field="key")).value == "sk-in-json"
    backend.read(SecretRef("gw/x", version_stage="AWSPENDING"))
    backend.read(SecretRef("gw/x", version="v" * 32))
    stub.assert_no_pending_responses()


def test_aws_binary_not_utf8_is_invalid_format():
    backend, stub = _stubbed()
    resp = _value_response()
    del resp["SecretString"]
    resp["SecretBinary"] = b"\xff\xfe"
    stub.add_response("get_secret_value", resp)
    with pytest.raises(InvalidFormat, match="not UTF-8"):
        backend.read(SecretRef("gw/x"))


def test_aws_param_validation_never_quotes_values():
    import botocore.exceptions

    exc = botocore.exceptions.ParamValidationError(
        report="Invalid type for parameter SecretString, value: sk-leaky, type: <class 'int'>")
    err = aws.AwsBackend(AWS)._map(exc, "gw/x")
    assert isinstance(err, BadConfiguration) and "SecretString" in str(err) and "sk-leaky" not in str(err)


def test_aws_bad_configuration():
    with pytest.raises(BadConfiguration, match="no AWS region"):
        aws.AwsBackend(dict(AWS, aws_region=None)).client()
    with pytest.raises(BadConfiguration, match="only one of"):
        aws.AwsBackend(dict(AWS, aws_secret_access_key=None)).client()
    with pytest.raises(BadConfiguration, match="profile 'missing'"):
        aws.AwsBackend(dict(AWS, aws_profile="missing", aws_access_key_id=None,
                            aws_secret_access_key=None)).client()


def test_aws_sts_endpoint_choice():
    backend = aws.AwsBackend(AWS)
    assert backend._sts_endpoint("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert backend._sts_endpoint("https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com") is None
    assert backend._sts_endpoint(None) is None


def test_aws_missing_sdk(monkeypatch):
    monkeypatch.setattr(aws, "HAS_BOTO3", False)
    with pytest.raises(BadConfiguration, match="pip install boto3"):
        aws.AwsBackend(AWS)


# -- GCP ------------------------------------------------------------------------------------------
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
    (lambda e: e.PermissionDenied("Permission 'secretmanager.versions.access' denied"), AccessDenied),
    (lambda e: e.Forbidden("denied"), AccessDenied),
    (lambda e: e.Unauthenticated("Request had invalid authentication credentials"), AccessDenied),
    (lambda e: e.Unauthorized("401"), AccessDenied),
    (lambda e: e.ResourceExhausted("Quota exceeded"), Throttled),
    (lambda e: e.TooManyRequests("429"), Throttled),
    (lambda e: e.ServiceUnavailable("unavailable"), BackendUnreachable),
    (lambda e: e.DeadlineExceeded("deadline"), BackendUnreachable),
    (lambda e: e.InternalServerError("boom"), BackendUnreachable),
    (lambda e: e.NotFound("Secret [projects/p/secrets/x] not found"), SecretNotFound),
    (lambda e: e.FailedPrecondition("Secret version is in DISABLED state"), SecretNotFound),
    (lambda e: e.InvalidArgument("Checksum mismatch"), InvalidFormat),
    (lambda e: e.InvalidArgument("bad id"), BadConfiguration),
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
    assert isinstance(err, AccessDenied) and "sk-leak" not in str(err)
    assert isinstance(backend._map(auth_exc.DefaultCredentialsError("none"), "gw-x"), BadConfiguration)
    assert isinstance(backend._map(auth_exc.TransportError("down"), "gw-x"), BackendUnreachable)
    assert isinstance(backend._map(requests.exceptions.ConnectTimeout("slow"), "gw-x"), BackendUnreachable)


class FakeSecretManager(object):
    """Stands in for the SecretManagerServiceClient to feed exact responses (checksums, errors)."""

    def __init__(self, payload_crc=None, data=b"sk-value", errors=()):
        self.payload_crc, self.data, self.errors = payload_crc, data, list(errors)
        self.requests = []

    def _maybe_fail(self):
        if self.errors:
            raise self.errors.pop(0)

    def access_secret_version(self, name, retry, timeout):
        from google.cloud import secretmanager_v1 as sm

        self.requests.append(("access", name, retry, timeout))
        self._maybe_fail()
        payload = sm.SecretPayload(data=self.data)
        if self.payload_crc is not None:
            payload.data_crc32c = self.payload_crc
        return sm.AccessSecretVersionResponse(name=name.replace("latest", "4"), payload=payload)

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
    with pytest.raises(InvalidFormat, match="data_crc32c") as err:
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


def test_gcp_transient_errors_retried_by_backend():
    fake = FakeSecretManager(errors=[_gexc().ServiceUnavailable("x"), _gexc().ResourceExhausted("y")])
    backend = _with_fake(fake)
    assert backend.read(SecretRef("gw-x", version="2")).value == "sk-value"
    assert backend.calls == 3
    assert fake.requests[-1][1] == "projects/p/secrets/gw-x/versions/2"


def test_gcp_binary_payload_is_invalid_format():
    with pytest.raises(InvalidFormat, match="UTF-8"):
        _with_fake(FakeSecretManager(data=b"\xff\xfe")).read(SecretRef("gw-x"))


def test_gcp_client_endpoint_and_transport():
    rest = gcp.GcpBackend(dict(GCP, gcp_api_endpoint="http://127.0.0.1:8085")).client()
    assert rest._transport.host == "http://127.0.0.1:8085"
    grpc_private = gcp.GcpBackend(dict(GCP, gcp_transport="grpc", gcp_access_token="ya29.x",
                                       gcp_api_endpoint="https://secretmanager.europe-west1.rep.googleapis.com"))
    assert grpc_private.client()._transport._host.startswith("secretmanager.europe-west1.rep.googleapis.com")


def test_gcp_no_credentials_over_plain_http_to_remote_host():
    with pytest.raises(BadConfiguration, match="unencrypted") as err:
        gcp.GcpBackend(dict(GCP, gcp_access_token="ya29.must-not-leak",
                            gcp_api_endpoint="http://secrets.example.com")).client()
    assert "must-not-leak" not in str(err.value)
    assert gcp.GcpBackend(dict(GCP, gcp_access_token="ya29.x", gcp_api_endpoint="http://localhost:8085")).client()


def test_gcp_no_credentials_at_all(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    with pytest.raises(BadConfiguration, match="Application Default Credentials"):
        gcp.GcpBackend(dict(GCP, gcp_api_endpoint=None)).client()


def test_gcp_missing_sdk(monkeypatch):
    monkeypatch.setattr(gcp, "HAS_GCP", False)
    with pytest.raises(BadConfiguration, match="pip install google-cloud-secret-manager"):
        gcp.GcpBackend(GCP)

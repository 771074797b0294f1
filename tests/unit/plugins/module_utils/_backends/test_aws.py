"""The aws backend without a server: error mapping, retry configuration, the label-aware retire plan."""
import os
import uuid

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import aws, errors
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import (
    NEW_VERSION,
    SecretRef,
    VersionInfo,
)

AWS = {"aws_region": "eu-west-1", "aws_access_key_id": "AKIAEXAMPLEEXAMPLE00",
       "aws_secret_access_key": "secret-key-must-not-leak", "retries": 2, "retry_backoff": 0.001, "timeout": 3}


def client_error(code, status=400, message="msg"):
    import botocore.exceptions

    return botocore.exceptions.ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetSecretValue")


@pytest.mark.parametrize("code,status,kind", [
    ("AccessDeniedException", 400, errors.AccessDenied),
    ("UnrecognizedClientException", 400, errors.AccessDenied),
    ("InvalidSignatureException", 400, errors.AccessDenied),
    ("ExpiredTokenException", 400, errors.AccessDenied),
    ("DecryptionFailure", 400, errors.AccessDenied),
    ("ThrottlingException", 400, errors.Throttled),
    ("TooManyRequestsException", 429, errors.Throttled),
    ("ResourceNotFoundException", 400, errors.SecretNotFound),
    ("InternalServiceError", 500, errors.BackendUnreachable),
    ("InvalidRequestException", 400, errors.BadConfiguration),
    ("InvalidParameterException", 400, errors.InvalidFormat),
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
    assert isinstance(err, errors.AccessDenied) and "rejected the credentials (SignatureDoesNotMatch)" in str(err)


def test_aws_transport_errors_are_unreachable():
    import botocore.exceptions

    for exc in (botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"),
                botocore.exceptions.ConnectTimeoutError(endpoint_url="http://x"),
                botocore.exceptions.ReadTimeoutError(endpoint_url="http://x")):
        err = aws.AwsBackend(AWS)._map(exc, "gw/x")
        assert isinstance(err, errors.BackendUnreachable) and err.transient


@pytest.mark.parametrize("retries,attempts", [(0, 1), (2, 3), (None, 4)])
def test_aws_retries_are_the_sdks_own(retries, attempts):
    # botocore retries (its retry re-sends the write's ClientRequestToken); the base class makes one call.
    backend = aws.AwsBackend(dict(AWS, retries=retries))
    client = backend.client()
    assert client.meta.config.retries == {"total_max_attempts": attempts, "mode": "standard"}
    assert client.meta.config.connect_timeout == 3 and client.meta.config.read_timeout == 3


@pytest.mark.parametrize("environ,region", [
    ({"AWS_REGION": "eu-west-2"}, "eu-west-2"),
    ({"AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1"),
    ({"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "ap-south-1"}, "eu-west-2"),
    ({"AWS_REGION": "", "AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1"),
])
def test_aws_region_env_fallbacks(monkeypatch, environ, region):
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    for var, value in environ.items():
        monkeypatch.setenv(var, value)
    assert aws.AwsBackend(dict(AWS, aws_region=None)).client().meta.region_name == region
    # The option wins over both.
    assert aws.AwsBackend(AWS).client().meta.region_name == "eu-west-1"


def test_aws_no_region_names_every_place_to_set_it(monkeypatch):
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    for var in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(errors.BadConfiguration) as err:
        aws.AwsBackend(dict(AWS, aws_region=None)).client()
    assert err.value.fix == "set 'aws_region', AWS_REGION, AWS_DEFAULT_REGION or a region in the AWS profile"


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


def test_aws_read_and_throttling_make_one_call_of_ours():
    # The SDK retries (tests/integration/test_backend_aws.py shows it against a server); never a second
    # call of the backend's own, which would send a new ClientRequestToken.
    backend, stub = _stubbed()
    expected = {"SecretId": "gw/x", "VersionStage": "AWSCURRENT"}
    stub.add_response("get_secret_value", _value_response(), expected)
    secret = backend.read(SecretRef("gw/x"))
    assert (secret.value, secret.created) == ("sk-value", "2026-01-02T03:04:05+00:00")
    stub.add_client_error("get_secret_value", "ThrottlingException", "Rate exceeded", 400, expected_params=expected)
    with pytest.raises(errors.Throttled, match="throttled"):
        backend.read(SecretRef("gw/x"))
    assert backend.calls == 2
    stub.assert_no_pending_responses()


def test_aws_denied_is_not_retried_and_hides_credentials():
    backend, stub = _stubbed()
    stub.add_client_error("get_secret_value", "AccessDeniedException", "User: arn:aws:iam::1:user/u is not "
                          "authorized to perform: secretsmanager:GetSecretValue", 400)
    with pytest.raises(errors.AccessDenied) as err:
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
    with pytest.raises(errors.InvalidFormat, match="not UTF-8"):
        backend.read(SecretRef("gw/x"))


def test_aws_param_validation_never_quotes_values():
    import botocore.exceptions

    exc = botocore.exceptions.ParamValidationError(
        report="Invalid type for parameter SecretString, value: sk-leaky, type: <class 'int'>")
    err = aws.AwsBackend(AWS)._map(exc, "gw/x")
    assert isinstance(err, errors.BadConfiguration) and "SecretString" in str(err) and "sk-leaky" not in str(err)


def test_aws_bad_configuration():
    with pytest.raises(errors.BadConfiguration, match="no AWS region"):
        aws.AwsBackend(dict(AWS, aws_region=None)).client()
    with pytest.raises(errors.BadConfiguration, match="only one of"):
        aws.AwsBackend(dict(AWS, aws_secret_access_key=None)).client()
    with pytest.raises(errors.BadConfiguration, match="profile 'missing'"):
        aws.AwsBackend(dict(AWS, aws_profile="missing", aws_access_key_id=None,
                            aws_secret_access_key=None)).client()


def test_aws_sts_endpoint_choice():
    backend = aws.AwsBackend(AWS)
    assert backend._sts_endpoint("http://127.0.0.1:5000") == "http://127.0.0.1:5000"
    assert backend._sts_endpoint("https://vpce-1.secretsmanager.eu-west-1.vpce.amazonaws.com") is None
    assert backend._sts_endpoint(None) is None
    assert backend._sts_endpoint("http://localhost:4566/") == "http://localhost:4566/"
    # The host alone decides: not the path, not the port.
    for hosted in ("https://secretsmanager.eu-west-1.amazonaws.com/", "https://secretsmanager.eu-west-1.amazonaws.com:443",
                   "https://secretsmanager.cn-north-1.amazonaws.com.cn/x"):
        assert backend._sts_endpoint(hosted) is None


def test_aws_missing_sdk(load_without):
    # A controller without boto3: the module still loads, and the backend names the secret and the fix.
    without = load_without(aws, "boto3", "botocore", "botocore.exceptions", "botocore.config")
    assert without.HAS_BOTO3 is False
    with pytest.raises(errors.BadConfiguration) as err:
        without.AwsBackend(dict(AWS, name="gw/x"))
    assert str(err.value) == ("aws backend, secret 'gw/x': the boto3 Python package is not installed. "
                              "Fix: install it on the controller: pip install boto3")


def test_aws_iso_dates():
    import datetime

    assert aws._iso(datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc)) == "2026-01-02T00:00:00+00:00"
    assert aws._iso("2026-01-02") == "2026-01-02"
    assert aws._iso(None) is None


@pytest.mark.parametrize("code,status,message,during,kind,problem", [
    # Unknown codes are classified by the HTTP status.
    ("Weird", 401, "msg", None, errors.AccessDenied, "access denied (Weird): msg"),
    ("Weird", 403, "msg", None, errors.AccessDenied, "access denied (Weird): msg"),
    ("Weird", 429, "msg", None, errors.Throttled, "AWS throttled the request (Weird)"),
    ("Weird", 500, "msg", None, errors.BackendUnreachable, "AWS answered with a server error (Weird)"),
    ("Weird", 499, "msg", "reading", errors.InvalidFormat, "AWS error Weird while reading: msg"),
    ("Weird", 402, "msg", None, errors.InvalidFormat, "AWS error Weird: msg"),
    ("Weird", None, "msg", None, errors.InvalidFormat, "AWS error Weird: msg"),
    ("InternalFailure", 400, "msg", None, errors.BackendUnreachable, "AWS answered with a server error (InternalFailure)"),
    ("ResourceNotFoundException", 400, "msg", "writing", errors.SecretNotFound,
     "the secret does not exist while writing"),
    ("ResourceNotFoundException", 400, "msg", None, errors.SecretNotFound, "the secret does not exist"),
    ("ThrottlingException", 400, "msg", "listing versions", errors.Throttled,
     "AWS throttled the request (ThrottlingException) while listing versions"),
    # An HTTP status as the code and no XML body: the status decides.
    ("403", 403, "Forbidden", None, errors.AccessDenied, "access denied (403): Forbidden"),
    # No code at all, the code in an XML body.
    ("", 400, "<Error><Code>SignatureDoesNotMatch</Code><Message>bad signature</Message></Error>", None,
     errors.AccessDenied, "AWS rejected the credentials (SignatureDoesNotMatch)"),
    # A real code is kept even when the message quotes another one; only the XML message text is shown.
    ("ThrottlingException", 400, "<Code>AccessDenied</Code>", None, errors.Throttled,
     "AWS throttled the request (ThrottlingException)"),
    ("403", 403, "<Error><Code>AccessDenied</Code><Message>User u is not authorized</Message></Error>", None,
     errors.AccessDenied, "access denied (AccessDenied): User u is not authorized"),
])
def test_aws_client_error_problems(code, status, message, during, kind, problem):
    import botocore.exceptions

    response = {"Error": {"Code": code, "Message": message}}
    if status is not None:
        response["ResponseMetadata"] = {"HTTPStatusCode": status}
    err = aws.AwsBackend(AWS)._map(botocore.exceptions.ClientError(response, "GetSecretValue"), "gw/x", during=during)
    assert (type(err), err.problem) == (kind, problem)


def test_aws_denied_fix_names_kms_only_for_decryption():
    backend = aws.AwsBackend(AWS)
    assert backend._map(client_error("DecryptionFailure"), "gw/x").fix == (
        "grant kms:Decrypt on the secret's KMS key to the identity used")
    assert backend._map(client_error("AccessDeniedException"), "gw/x").fix == errors.AccessDenied.default_fix


def test_aws_sdk_errors():
    import botocore.exceptions

    backend = aws.AwsBackend(AWS)
    err = backend._map(botocore.exceptions.NoCredentialsError(), "gw/x", during="writing")
    assert (type(err), err.problem) == (errors.BadConfiguration, "no usable AWS credentials were found while writing")
    err = backend._map(botocore.exceptions.NoRegionError(), "gw/x")
    assert (type(err), err.problem, err.fix) == (errors.BadConfiguration, "no AWS region is configured",
                                                 "set 'aws_region', AWS_REGION, AWS_DEFAULT_REGION or a region in "
                                                 "the AWS profile")
    err = backend._map(botocore.exceptions.BotoCoreError(), "gw/x", during="writing")
    assert (type(err), err.problem) == (errors.BackendUnreachable, "AWS SDK error while writing (BotoCoreError)")
    other = ValueError("not from the SDK")
    assert backend._map(other, "gw/x") is other


def test_aws_session_token_signs_the_requests():
    backend = aws.AwsBackend(dict(AWS, aws_session_token="session-token-value"))
    client = backend.client()
    seen = []

    class Sent(Exception):
        pass

    def stop(request, **_kwargs):
        seen.append(request.headers.get("X-Amz-Security-Token"))
        raise Sent()

    client.meta.events.register("before-send", stop)
    with pytest.raises(Sent):
        client.get_secret_value(SecretId="gw/x")
    assert [v.decode() if isinstance(v, bytes) else v for v in seen] == ["session-token-value"]


def _version(version_id, created=None, stages=None):
    import datetime

    entry = {"VersionId": version_id * 32}
    if created is not None:
        entry["CreatedDate"] = datetime.datetime.fromtimestamp(created, tz=datetime.timezone.utc)
    if stages is not None:
        entry["VersionStages"] = stages
    return entry


def test_aws_versions_all_pages_deprecated_included_newest_first():
    backend, stub = _stubbed()
    # Without IncludeDeprecated AWS leaves out the versions without a label (the retired ones).
    stub.add_response("list_secret_version_ids", {"NextToken": "page-2", "Versions": [
        _version("a", 200, ["AWSPREVIOUS"]), _version("b", 300, ["AWSCURRENT"])]},
        {"SecretId": "gw/x", "IncludeDeprecated": True})
    # A version without a date counts as the epoch; equal dates keep the server's order, reversed.
    stub.add_response("list_secret_version_ids", {"Versions": [
        _version("c"), _version("d", 0), _version("e"), _version("f", 100)]},
        {"SecretId": "gw/x", "IncludeDeprecated": True, "NextToken": "page-2"})
    listed = backend.versions("gw/x")
    stub.assert_no_pending_responses()
    assert [(v.version[0], v.state) for v in listed] == [
        ("b", "enabled"), ("a", "enabled"), ("f", "disabled"), ("e", "disabled"), ("d", "disabled"),
        ("c", "disabled")]
    assert listed[0].created == "1970-01-01T00:05:00+00:00" and listed[-1].created is None


def test_aws_versions_error_statuses():
    backend, stub = _stubbed(dict(AWS, retries=0))
    # Below 500 the error is the server's answer: no look-up of the secret.
    stub.add_client_error("list_secret_version_ids", "Weird", "msg", 499)
    with pytest.raises(errors.InvalidFormat) as err:
        backend.versions("gw/x")
    assert err.value.problem == "AWS error Weird while listing versions: msg"
    # A 500 for a secret that does not exist means "not found" (some servers answer so).
    stub.add_client_error("list_secret_version_ids", "InternalFailure", "boom", 500)
    stub.add_client_error("describe_secret", "ResourceNotFoundException", "no such secret", 400)
    with pytest.raises(errors.SecretNotFound) as err:
        backend.versions("gw/x")
    assert err.value.problem == "the secret does not exist"
    stub.assert_no_pending_responses()


def test_aws_create_refused_after_not_found():
    backend, stub = _stubbed()
    stub.add_client_error("list_secret_version_ids", "ResourceNotFoundException", "no such secret", 400)
    stub.add_client_error("put_secret_value", "ResourceNotFoundException", "no such secret", 400)
    stub.add_client_error("create_secret", "AccessDeniedException", "not allowed to create", 400)
    with pytest.raises(errors.AccessDenied) as err:
        backend.write("gw/x", "sk-value-0123456789")
    assert err.value.problem == "access denied (AccessDeniedException) while creating the secret: not allowed to create"
    stub.assert_no_pending_responses()


def test_aws_retire_failure_names_the_version():
    backend, stub = _stubbed()
    stub.add_response("list_secret_version_ids", {"Versions": [
        _version("b", 300, ["AWSCURRENT"]), _version("a", 200, ["AWSPREVIOUS"])]})
    stub.add_client_error("update_secret_version_stage", "AccessDeniedException", "no", 400,
                          expected_params={"SecretId": "gw/x", "VersionStage": "AWSPREVIOUS",
                                           "RemoveFromVersionId": "a" * 32})
    with pytest.raises(errors.AccessDenied) as err:
        backend.retire("gw/x", keep=1)
    assert err.value.problem == "access denied (AccessDeniedException) while retiring version %s: no" % ("a" * 32)


def _capture(backend):
    """The parameters of every call the client makes, in order."""
    calls = []
    backend.client().meta.events.register(
        "provide-client-params.secrets-manager", lambda params, model, **_kw: calls.append((model.name, dict(params))))
    return calls


def test_aws_one_idempotency_token_for_the_put_the_create_and_the_fall_back():
    backend, stub = _stubbed()
    calls = _capture(backend)
    stub.add_client_error("list_secret_version_ids", "ResourceNotFoundException", "no such secret", 400)
    stub.add_client_error("put_secret_value", "ResourceNotFoundException", "no such secret", 400)
    stub.add_client_error("create_secret", "ResourceExistsException", "exists", 400)
    stub.add_response("put_secret_value", {"VersionId": "n" * 32})
    assert backend.write("gw/x", "sk-value-0123456789") == "n" * 32
    stub.assert_no_pending_responses()
    writes = [(op, params) for op, params in calls if op in ("PutSecretValue", "CreateSecret")]
    assert [op for op, _params in writes] == ["PutSecretValue", "CreateSecret", "PutSecretValue"]
    tokens = set(params["ClientRequestToken"] for _op, params in writes)
    assert len(tokens) == 1 and uuid.UUID(tokens.pop()).version == 4
    # A second write is a second version: a new token.
    stub.add_response("list_secret_version_ids", {"Versions": [_version("n", 300, ["AWSCURRENT"])]})
    stub.add_response("put_secret_value", {"VersionId": "m" * 32})
    backend.write("gw/x", "sk-value-other-0123")
    assert calls[-1][1]["ClientRequestToken"] not in [params["ClientRequestToken"] for _op, params in writes]
    assert "VersionStages" not in calls[-1][1]


def test_aws_sdk_marks_both_writes_idempotent():
    # Where a caller passes no token, botocore fills one in once per call (and its retry re-sends it).
    model = aws.AwsBackend(AWS).client().meta.service_model
    for operation in ("PutSecretValue", "CreateSecret"):
        assert model.operation_model(operation).idempotent_members == ["ClientRequestToken"]


def test_aws_write_refused_mid_rotation_before_writing():
    backend, stub = _stubbed()
    calls = _capture(backend)
    stub.add_response("list_secret_version_ids", {"Versions": [
        _version("p", 300, ["AWSPENDING"]), _version("c", 200, ["AWSCURRENT"]), _version("o", 100, ["AWSPREVIOUS"])]})
    with pytest.raises(errors.InvalidFormat) as err:
        backend.write("gw/x", "sk-value-0123456789")
    assert err.value.problem == "another rotation is in progress: version %s carries AWSPENDING but not AWSCURRENT" % (
        "p" * 32)
    assert err.value.fix == ("let that rotation finish (it moves AWSCURRENT onto the pending version), or cancel it "
                             "and remove AWSPENDING from version %s (UpdateSecretVersionStage with "
                             "RemoveFromVersionId), then run again" % ("p" * 32))
    assert [op for op, _params in calls] == ["ListSecretVersionIds"]
    stub.assert_no_pending_responses()


def test_aws_write_without_the_right_to_list_warns_and_writes():
    backend, stub = _stubbed()
    stub.add_client_error("list_secret_version_ids", "AccessDeniedException", "not allowed to list", 400)
    stub.add_response("put_secret_value", {"VersionId": "n" * 32})
    assert backend.write("gw/x", "sk-value-0123456789") == "n" * 32
    stub.assert_no_pending_responses()
    assert backend.warnings == [
        "aws backend, secret 'gw/x': could not check for another rotation in progress (listing the versions was "
        "denied), writing anyway. Fix: allow secretsmanager:ListSecretVersionIds to the identity used"]


def test_aws_finished_rotations_pending_label_goes_along_with_current():
    backend, stub = _stubbed()
    calls = _capture(backend)
    stub.add_response("list_secret_version_ids", {"Versions": [
        _version("c", 300, ["AWSCURRENT", "AWSPENDING"]), _version("o", 100, ["AWSPREVIOUS"])]})
    stub.add_response("put_secret_value", {"VersionId": "n" * 32})
    backend.write("gw/x", "sk-value-0123456789")
    assert calls[-1][1]["VersionStages"] == ["AWSCURRENT", "AWSPENDING"]


def _info(version, *labels):
    return VersionInfo(version, state="enabled" if labels else "disabled", labels=list(labels))


@pytest.mark.parametrize("listed,keep,retired,warned", [
    # The rotation model's order, not the dates: a pending version in front counts for nothing.
    ([_info("p", "AWSPENDING"), _info("c", "AWSCURRENT"), _info("o", "AWSPREVIOUS")], 2, [], []),
    ([_info("p", "AWSPENDING"), _info("c", "AWSCURRENT"), _info("o", "AWSPREVIOUS")], 1, ["o"], []),
    ([_info("c", "AWSCURRENT"), _info("o", "AWSPREVIOUS"), _info("x")], 1, ["o"], []),
    ([_info("c", "AWSCURRENT"), _info("o", "AWSPREVIOUS"), _info("x")], 3, [], []),
    # AWSCURRENT is never taken off, even listed after AWSPREVIOUS.
    ([_info("o", "AWSPREVIOUS"), _info("c", "AWSCURRENT")], 1, ["o"], []),
    ([_info("c", "AWSCURRENT")], 1, [], []),
    # A version with a label set by someone else is left whole, with a warning.
    ([_info("c", "AWSCURRENT"), _info("o", "AWSPREVIOUS", "CANARY")], 1, [],
     ["aws backend: version o keeps AWSPREVIOUS: it also carries CANARY, set outside this collection; remove "
      "those labels to retire it"]),
    ([_info("c", "AWSCURRENT"), _info("o", "AWSPREVIOUS", "AWSPENDING")], 1, [],
     ["aws backend: version o keeps AWSPREVIOUS: it also carries AWSPENDING, set outside this collection; remove "
      "those labels to retire it"]),
    # Versions with only custom labels are not the collection's.
    ([_info("k", "CANARY"), _info("c", "AWSCURRENT"), _info("o", "AWSPREVIOUS")], 1, ["o"], []),
])
@pytest.mark.parametrize("mode", ["disable", "destroy"])
def test_aws_retire_plan_follows_the_rotation_model(listed, keep, retired, warned, mode):
    backend = aws.AwsBackend(AWS)
    assert [v.version for v in backend.retire_plan(listed, keep, mode)] == retired
    assert backend.warnings == warned


def _labels(listed):
    return [(v.version, sorted(v.labels), v.state) for v in listed]


def test_aws_listed_after_write_moves_the_labels_as_put_secret_value_does():
    backend = aws.AwsBackend(AWS)
    listed = [_info("p", "AWSPENDING"), _info("c", "AWSCURRENT", "CANARY"), _info("o", "AWSPREVIOUS"), _info("x")]
    assert _labels(backend.listed_after_write(listed)) == [
        (NEW_VERSION, ["AWSCURRENT"], "enabled"), ("p", ["AWSPENDING"], "enabled"),
        ("c", ["AWSPREVIOUS", "CANARY"], "enabled"), ("o", [], "disabled"), ("x", [], "disabled")]
    # A finished rotation's AWSPENDING (on AWSCURRENT) goes along with AWSCURRENT, as _write sends it.
    listed = [_info("c", "AWSCURRENT", "AWSPENDING"), _info("o", "AWSPREVIOUS")]
    assert _labels(backend.listed_after_write(listed)) == [
        (NEW_VERSION, ["AWSCURRENT", "AWSPENDING"], "enabled"), ("c", ["AWSPREVIOUS"], "enabled"),
        ("o", [], "disabled")]
    assert _labels(backend.listed_after_write([])) == [(NEW_VERSION, ["AWSCURRENT"], "enabled")]


def test_aws_retire_removes_only_awsprevious():
    backend, stub = _stubbed()
    calls = _capture(backend)
    stub.add_response("list_secret_version_ids", {"Versions": [
        _version("p", 400, ["AWSPENDING"]), _version("c", 300, ["AWSCURRENT"]), _version("o", 200, ["AWSPREVIOUS"]),
        _version("k", 100, ["CANARY"])]})
    stub.add_response("update_secret_version_stage", {}, {"SecretId": "gw/x", "VersionStage": "AWSPREVIOUS",
                                                          "RemoveFromVersionId": "o" * 32})
    assert backend.retire("gw/x", 1, "destroy") == ["o" * 32]
    stub.assert_no_pending_responses()
    assert [op for op, _params in calls] == ["ListSecretVersionIds", "UpdateSecretVersionStage"]

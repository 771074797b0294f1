"""The aws backend against a real moto_server on 127.0.0.1."""
import re
import time

import boto3
import botocore.exceptions
import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.aws import AwsBackend
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    AccessDenied,
    BackendUnreachable,
    BadConfiguration,
    InvalidFormat,
    SecretNotFound,
)

VALUE = "sk-test-0123456789abcdef"


def test_write_creates_then_read_current(aws_options, aws_admin):
    backend = AwsBackend(aws_options)
    version = backend.write("gw/master", VALUE)
    secret = backend.read(SecretRef("gw/master"))
    assert secret.value == VALUE
    assert secret.version == version
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", secret.created)
    assert secret.metadata["version_stages"] == ["AWSCURRENT"]
    assert secret.metadata["arn"].startswith("arn:aws:secretsmanager:us-east-1:")
    assert aws_admin().describe_secret(SecretId="gw/master")["Name"] == "gw/master"
    assert VALUE not in repr(secret)


def test_rotate_keeps_old_version_readable(aws_options):
    backend = AwsBackend(aws_options)
    first = backend.write("gw/rot", "value-one")
    second = backend.write("gw/rot", "value-two")
    assert first != second
    assert backend.read(SecretRef("gw/rot")).value == "value-two"
    assert backend.read(SecretRef("gw/rot", version=first)).value == "value-one"
    assert backend.read(SecretRef("gw/rot", version_stage="AWSPREVIOUS")).value == "value-one"
    assert backend.read(SecretRef("gw/rot", version_stage="AWSCURRENT")).version == second
    listed = backend.versions("gw/rot")
    assert [v.version for v in listed] == [second, first]
    assert [v.labels for v in listed] == [["AWSCURRENT"], ["AWSPREVIOUS"]]


def test_read_custom_stage_and_current_after_manual_move(aws_options, aws_admin):
    backend = AwsBackend(aws_options)
    first = backend.write("gw/stage", "value-one")
    second = backend.write("gw/stage", "value-two")
    sm = aws_admin()
    sm.update_secret_version_stage(SecretId="gw/stage", VersionStage="CANARY", MoveToVersionId=first)
    assert backend.read(SecretRef("gw/stage", version_stage="CANARY")).value == "value-one"
    # Move AWSCURRENT back by hand: a read without a stage must follow it.
    sm.update_secret_version_stage(SecretId="gw/stage", VersionStage="AWSCURRENT", MoveToVersionId=first,
                                   RemoveFromVersionId=second)
    secret = backend.read(SecretRef("gw/stage"))
    assert (secret.value, secret.version) == ("value-one", first)


def test_json_field(aws_options):
    backend = AwsBackend(aws_options)
    backend.write("gw/json", '{"master_key": "sk-abc", "port": 4000}')
    assert backend.read(SecretRef("gw/json", field="master_key")).value == "sk-abc"
    assert backend.read(SecretRef("gw/json", field="port")).value == "4000"
    with pytest.raises(InvalidFormat) as err:
        backend.read(SecretRef("gw/json", field="nope"))
    assert "sk-abc" not in str(err.value)


def test_binary_secret(aws_options, aws_admin):
    sm = aws_admin()
    sm.create_secret(Name="gw/bin", SecretBinary="sk-from-binary".encode())
    sm.create_secret(Name="gw/notutf8", SecretBinary=b"\xff\xfe\x00binary")
    backend = AwsBackend(aws_options)
    assert backend.read(SecretRef("gw/bin")).value == "sk-from-binary"
    with pytest.raises(InvalidFormat, match="not UTF-8"):
        backend.read(SecretRef("gw/notutf8"))


def test_create_with_kms_key(aws_options, aws_admin):
    key_id = aws_admin("kms").create_key()["KeyMetadata"]["KeyId"]
    AwsBackend(dict(aws_options, aws_kms_key_id=key_id)).write("gw/kms", VALUE)
    assert aws_admin().describe_secret(SecretId="gw/kms")["KmsKeyId"] == key_id


@pytest.mark.parametrize("mode", ["disable", "destroy"])
def test_retire_keeps_newest(aws_options, mode):
    backend = AwsBackend(aws_options)
    ids = [backend.write("gw/ret", "value-%d" % i) for i in range(3)]
    # After three writes the oldest has no label left (AWS drops AWSPREVIOUS from it): already disabled.
    assert [v.state for v in backend.versions("gw/ret")] == ["enabled", "enabled", "disabled"]
    retired = backend.retire("gw/ret", keep=1, mode=mode)
    assert retired == [ids[1]]
    listed = {v.version: v for v in backend.versions("gw/ret")}
    assert listed[ids[2]].labels == ["AWSCURRENT"]
    assert listed[ids[1]].state == "disabled" and listed[ids[1]].labels == []
    # AWS cannot delete one version: a retired version stays readable by id until AWS drops it.
    assert backend.read(SecretRef("gw/ret", version=ids[1])).value == "value-1"
    assert backend.read(SecretRef("gw/ret")).value == "value-2"
    assert backend.retire("gw/ret", keep=1, mode=mode) == []


def test_retire_never_touches_current(aws_options, aws_admin):
    backend = AwsBackend(aws_options)
    current = backend.write("gw/pend", "value-current")
    pending = aws_admin().put_secret_value(SecretId="gw/pend", SecretString="value-pending",
                                           VersionStages=["AWSPENDING"])["VersionId"]
    # The newest enabled version is the pending one; AWSCURRENT is kept anyway, and not reported.
    assert [v.version for v in backend.versions("gw/pend")][:2] == [pending, current]
    assert backend.retire("gw/pend", keep=1) == []
    labels = {v.version: v.labels for v in backend.versions("gw/pend")}
    assert labels[current] == ["AWSCURRENT"]
    assert labels[pending] == ["AWSPENDING"]
    assert backend.read(SecretRef("gw/pend")).value == "value-current"


def test_retire_skips_current_and_goes_on(aws_options, aws_admin):
    backend = AwsBackend(aws_options)
    previous = backend.write("gw/skip", "value-previous")
    current = backend.write("gw/skip", "value-current")
    pending = aws_admin().put_secret_value(SecretId="gw/skip", SecretString="value-pending",
                                           VersionStages=["AWSPENDING"])["VersionId"]
    # Newest first: pending (kept), current (never touched), previous (retired after current).
    assert backend.retire("gw/skip", keep=1) == [previous]
    labels = {v.version: v.labels for v in backend.versions("gw/skip")}
    assert labels == {pending: ["AWSPENDING"], current: ["AWSCURRENT"], previous: []}


def test_not_found_secret_version_and_stage(aws_options):
    backend = AwsBackend(aws_options)
    with pytest.raises(SecretNotFound, match="secret does not exist") as err:
        backend.read(SecretRef("gw/missing"))
    assert "gw/missing" in str(err.value) and "aws backend" in str(err.value)
    backend.write("gw/some", VALUE)
    with pytest.raises(SecretNotFound) as err:
        backend.read(SecretRef("gw/some", version="0" * 36))
    assert err.value.problem == "the secret exists but has no version '%s'" % ("0" * 36)
    with pytest.raises(SecretNotFound) as err:
        backend.read(SecretRef("gw/some", version_stage="NOPE"))
    assert err.value.problem == "the secret exists but has no staging label 'NOPE'"
    with pytest.raises(SecretNotFound) as err:
        backend.versions("gw/missing")
    assert err.value.problem == "the secret does not exist"


def test_bad_configuration(aws_options):
    with pytest.raises(BadConfiguration, match="mutually exclusive"):
        AwsBackend(aws_options).read(SecretRef("gw/x", version="a" * 32, version_stage="AWSCURRENT"))
    with pytest.raises(BadConfiguration, match="no AWS region"):
        AwsBackend(dict(aws_options, aws_region=None)).read(SecretRef("gw/x"))
    with pytest.raises(BadConfiguration, match="VersionId"):
        AwsBackend(aws_options).read(SecretRef("gw/x", version="short"))
    with pytest.raises(BadConfiguration, match="profile 'nosuch'"):
        AwsBackend(dict(aws_options, aws_profile="nosuch", aws_access_key_id=None,
                        aws_secret_access_key=None)).read(SecretRef("gw/x"))


def test_access_denied_by_iam_policy(aws_options, moto_iam):
    AwsBackend(dict(aws_options, **moto_iam["reader"])).write("gw/iam", VALUE)
    denied = AwsBackend(dict(aws_options, **moto_iam["denied"]))
    with pytest.raises(AccessDenied, match="not authorized to perform: secretsmanager:GetSecretValue") as err:
        denied.read(SecretRef("gw/iam"))
    assert denied.calls == 1  # not transient: no retry
    with pytest.raises(AccessDenied):
        denied.write("gw/iam", "other-value")
    assert AwsBackend(dict(aws_options, **moto_iam["reader"])).read(SecretRef("gw/iam")).value == VALUE
    assert moto_iam["denied"]["aws_secret_access_key"] not in str(err.value)


def test_wrong_credentials(aws_options, moto_iam):
    AwsBackend(dict(aws_options, **moto_iam["reader"])).write("gw/cred", VALUE)
    wrong_secret = dict(moto_iam["reader"], aws_secret_access_key="not-the-right-secret-key")
    for creds in (wrong_secret, {"aws_access_key_id": "AKIAUNKNOWNUNKNOWN00", "aws_secret_access_key": "x" * 40}):
        with pytest.raises(AccessDenied, match="rejected the credentials") as err:
            AwsBackend(dict(aws_options, **creds)).read(SecretRef("gw/cred"))
        assert creds["aws_secret_access_key"] not in str(err.value)


def test_assume_role(aws_options, moto_iam, monkeypatch):
    AwsBackend(dict(aws_options, **moto_iam["reader"])).write("gw/role", VALUE)
    # The assumer itself may not read; through the role it can.
    with pytest.raises(AccessDenied):
        AwsBackend(dict(aws_options, **moto_iam["assumer"])).read(SecretRef("gw/role"))
    assumed = []

    class RecordingSession(boto3.session.Session):
        def __init__(self, *args, **kwargs):
            super(RecordingSession, self).__init__(*args, **kwargs)
            self.events.register("provide-client-params.sts.AssumeRole",
                                 lambda params, **_kwargs: assumed.append(dict(params)))

    monkeypatch.setattr(boto3.session, "Session", RecordingSession)
    backend = AwsBackend(dict(aws_options, aws_assume_role_arn=moto_iam["role_arn"], **moto_iam["assumer"]))
    assert backend.read(SecretRef("gw/role")).value == VALUE
    assert assumed == [{"RoleArn": moto_iam["role_arn"], "RoleSessionName": "llmops-claude-gateway",
                        "DurationSeconds": 3600}]
    # The role only allows reads: listing is denied, and it is not taken for a missing secret.
    with pytest.raises(AccessDenied):
        backend.write("gw/role", "other-value")
    with pytest.raises(AccessDenied, match="while listing versions"):
        backend.versions("gw/role")
    # A user without sts:AssumeRole cannot take the role.
    with pytest.raises(AccessDenied, match="while assuming role '%s'" % re.escape(moto_iam["role_arn"])) as err:
        AwsBackend(dict(aws_options, aws_assume_role_arn=moto_iam["role_arn"],
                        **moto_iam["denied"])).read(SecretRef("gw/role"))
    assert err.value.fix.startswith("allow sts:AssumeRole on this role")


def test_unreachable_fails_fast(aws_options, free_port):
    backend = AwsBackend(dict(aws_options, aws_endpoint_url="http://127.0.0.1:%d" % free_port,
                              retries=2, retry_backoff=0.1, timeout=2))
    start = time.monotonic()
    with pytest.raises(BackendUnreachable) as err:
        backend.read(SecretRef("gw/any"))
    assert time.monotonic() - start < 5
    assert backend.calls == 3  # transient: retried by the backend, not by the SDK
    assert "aws_endpoint_url" in str(err.value)


def test_unreachable_write_and_listing(aws_options, free_port):
    backend = AwsBackend(dict(aws_options, aws_endpoint_url="http://127.0.0.1:%d" % free_port, retries=0))
    with pytest.raises(BackendUnreachable, match=r"endpoint while writing \(EndpointConnectionError\)"):
        backend.write("gw/any", VALUE)
    with pytest.raises(BackendUnreachable, match=r"endpoint while listing versions \(EndpointConnectionError\)"):
        backend.versions("gw/any")


def test_created_concurrently_adds_a_version(aws_options, aws_admin):
    backend = AwsBackend(aws_options)
    theirs = []

    def create_first(**_kwargs):
        # Someone else creates the secret between our "not found" and our create.
        theirs.append(aws_admin().create_secret(Name="gw/race", SecretString="their-value")["VersionId"])

    backend.client().meta.events.register("before-call.secrets-manager.CreateSecret", create_first)
    ours = backend.write("gw/race", VALUE)
    assert ours != theirs[0]
    assert backend.read(SecretRef("gw/race")).value == VALUE
    assert backend.read(SecretRef("gw/race", version=theirs[0])).value == "their-value"


def test_create_unreachable_is_reported(aws_options):
    backend = AwsBackend(dict(aws_options, retries=0))

    def drop(request, **_kwargs):
        raise botocore.exceptions.EndpointConnectionError(endpoint_url=request.url)

    backend.client().meta.events.register("before-send.secrets-manager.CreateSecret", drop)
    with pytest.raises(BackendUnreachable, match="while creating the secret"):
        backend.write("gw/lost", VALUE)


def test_hung_server_times_out(aws_options, silent_port):
    backend = AwsBackend(dict(aws_options, aws_endpoint_url="http://127.0.0.1:%d" % silent_port,
                              retries=0, timeout=1))
    start = time.monotonic()
    with pytest.raises(BackendUnreachable, match="ReadTimeoutError"):
        backend.read(SecretRef("gw/any"))
    assert time.monotonic() - start < 3  # one attempt of 1 s: the SDK does not retry on its own


def test_read_counter_counts_server_side_reads(aws_options, aws_read_counter):
    backend = AwsBackend(dict(aws_options, aws_endpoint_url=aws_read_counter.url))
    backend.write("gw/count", VALUE)
    assert aws_read_counter.count() == 0
    for _ignored in range(3):
        assert backend.read(SecretRef("gw/count")).value == VALUE
    assert aws_read_counter.count() == 3
    assert aws_read_counter.count("PutSecretValue") == 1
    aws_read_counter.reset()
    assert aws_read_counter.count() == 0

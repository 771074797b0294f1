"""The aws backend against a real moto_server on 127.0.0.1."""
import json
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
    Throttled,
)
from ansible_runner import run_playbook
from lost_answer_proxy import LostAnswerProxy

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


def _attempts(backend):
    """The HTTP attempts the backend's client makes (botocore's retries included)."""
    sent = []
    backend.client().meta.events.register("before-send.secrets-manager", lambda request, **_kw: sent.append(request.url))
    return sent


def test_unreachable_fails_fast(aws_options, free_port):
    backend = AwsBackend(dict(aws_options, aws_endpoint_url="http://127.0.0.1:%d" % free_port, retries=2, timeout=2))
    sent = _attempts(backend)
    start = time.monotonic()
    with pytest.raises(BackendUnreachable) as err:
        backend.read(SecretRef("gw/any"))
    # Standard retry mode: 1 + 2 attempts, backoff at most 1 s then 2 s.
    assert time.monotonic() - start < 5
    assert (backend.calls, len(sent)) == (1, 3)  # transient: retried by the SDK, not by the backend
    assert "aws_endpoint_url" in str(err.value)


def test_unreachable_write_and_listing(aws_options, free_port):
    backend = AwsBackend(dict(aws_options, aws_endpoint_url="http://127.0.0.1:%d" % free_port, retries=0))
    # A write first lists the labels (another rotation in progress?): that call is the one that fails.
    with pytest.raises(BackendUnreachable, match=r"endpoint while listing versions \(EndpointConnectionError\)"):
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


# -- retries are botocore's own: a write whose answer was lost is not stored twice ----------------------
def _target(action):
    return lambda request: request.headers.get("x-amz-target", "") == "secretsmanager." + action


def _token(request):
    return json.loads(request.body)["ClientRequestToken"]


def _store_versions(sm, name):
    """VersionId -> (labels, value) as the store's own client sees them, deprecated versions included."""
    listed = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    return dict((v["VersionId"], (sorted(v.get("VersionStages") or []),
                                  sm.get_secret_value(SecretId=name, VersionId=v["VersionId"])["SecretString"]))
                for v in listed)


@pytest.mark.parametrize("action", ["drop", "delay"])
def test_lost_answer_of_a_put_makes_no_duplicate_version(aws_options, aws_admin, action):
    sm = aws_admin()
    previous = sm.create_secret(Name="gw/lost", SecretString="value-previous")["VersionId"]
    with LostAnswerProxy(aws_options["aws_endpoint_url"], _target("PutSecretValue"), times=1, action=action,
                         delay=2.5) as proxy:
        backend = AwsBackend(dict(aws_options, aws_endpoint_url=proxy.url, retries=2, timeout=1))
        version = backend.write("gw/lost", "value-new")
    # The store took the first request, its answer never came back, and botocore sent it again.
    assert len(proxy.lost) == 1 and proxy.lost[0] in proxy.forwarded and len(proxy.matched) == 2
    assert _token(proxy.matched[0]) == _token(proxy.matched[1]) == version
    assert backend.calls == 2  # the label check, then the write: the retry is not ours
    assert _store_versions(sm, "gw/lost") == {version: (["AWSCURRENT"], "value-new"),
                                              previous: (["AWSPREVIOUS"], "value-previous")}


def test_lost_answer_of_a_create_makes_one_secret_with_one_version(aws_options, aws_admin):
    with LostAnswerProxy(aws_options["aws_endpoint_url"], _target("CreateSecret"), times=1) as proxy:
        version = AwsBackend(dict(aws_options, aws_endpoint_url=proxy.url, retries=1)).write("gw/lostnew", VALUE)
    assert len(proxy.lost) == 1 and len(proxy.matched) == 2 and _token(proxy.matched[1]) == version
    assert _store_versions(aws_admin(), "gw/lostnew") == {version: (["AWSCURRENT"], VALUE)}


def test_lost_answer_of_a_create_after_all_retries_is_found_by_the_fall_back(aws_options, aws_admin):
    # Every answer to CreateSecret lost; the next call of the same write finds the secret and adds the
    # value with the same token: the store answers with the version it already holds.
    with LostAnswerProxy(aws_options["aws_endpoint_url"], _target("CreateSecret"), times=1) as proxy:
        backend = AwsBackend(dict(aws_options, aws_endpoint_url=proxy.url, retries=0))
        with pytest.raises(BackendUnreachable, match="while creating the secret"):
            backend.write("gw/lostall", VALUE)
    created = _token(proxy.lost[0])
    assert _store_versions(aws_admin(), "gw/lostall") == {created: (["AWSCURRENT"], VALUE)}


def test_write_without_sdk_retries_would_duplicate(aws_options, aws_admin):
    # The control: the same lost answer followed by a new request (a new token, as a hand-made retry of
    # the call would send) does make a second version, so the tests above can fail.
    sm = aws_admin()
    sm.create_secret(Name="gw/dup", SecretString="value-previous")
    with LostAnswerProxy(aws_options["aws_endpoint_url"], _target("PutSecretValue"), times=1) as proxy:
        backend = AwsBackend(dict(aws_options, aws_endpoint_url=proxy.url, retries=0))
        with pytest.raises(BackendUnreachable):
            backend.write("gw/dup", "value-new")
        backend.write("gw/dup", "value-new")
    stored = _store_versions(sm, "gw/dup")
    assert sorted(value for _labels, value in stored.values()) == ["value-new", "value-new", "value-previous"]
    assert sorted(labels for labels, value in stored.values() if value == "value-previous") == [[]]


THROTTLED = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"}).encode()


def test_throttling_is_retried_by_the_sdk(aws_options, aws_admin):
    aws_admin().create_secret(Name="gw/busy", SecretString=VALUE)
    with LostAnswerProxy(aws_options["aws_endpoint_url"], _target("GetSecretValue"), times=2, action="status",
                         status=400, body=THROTTLED) as proxy:
        backend = AwsBackend(dict(aws_options, aws_endpoint_url=proxy.url, retries=2))
        assert backend.read(SecretRef("gw/busy")).value == VALUE
    assert (len(proxy.matched), len(proxy.lost), backend.calls) == (3, 2, 1)
    with LostAnswerProxy(aws_options["aws_endpoint_url"], _target("GetSecretValue"), times=3, action="status",
                         status=400, body=THROTTLED) as proxy:
        backend = AwsBackend(dict(aws_options, aws_endpoint_url=proxy.url, retries=1))
        with pytest.raises(Throttled, match="ThrottlingException"):
            backend.read(SecretRef("gw/busy"))
    assert len(proxy.matched) == 2


@pytest.mark.parametrize("environ,region", [
    ({"AWS_REGION": "eu-west-2"}, "eu-west-2"),
    ({"AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1"),
    ({"AWS_REGION": "eu-west-2", "AWS_DEFAULT_REGION": "ap-south-1"}, "eu-west-2"),
])
def test_region_from_the_environment(aws_options, monkeypatch, environ, region):
    for var, value in environ.items():
        monkeypatch.setenv(var, value)
    backend = AwsBackend(dict(aws_options, aws_region=None))
    backend.write("gw/region", VALUE)
    assert backend.read(SecretRef("gw/region")).metadata["arn"].startswith("arn:aws:secretsmanager:%s:" % region)


def test_module_and_lookup_take_the_region_from_aws_region(aws_options, aws_admin, tmp_path):
    # Through ansible-playbook as a user runs it: AWS_REGION in the environment, no aws_region anywhere.
    store = {"backend": "aws", "aws_endpoint_url": aws_options["aws_endpoint_url"],
             "aws_access_key_id": aws_options["aws_access_key_id"],
             "aws_secret_access_key": aws_options["aws_secret_access_key"]}
    plays = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"llmops.claude_gateway.gateway_token": dict(store, name="gw/env-region", generate=True)},
        {"ansible.builtin.assert": {"that": ["lookup('llmops.claude_gateway.gateway_token', 'gw/env-region', **store)"
                                             " is match('sk-')"]}, "vars": {"store": store}, "no_log": True},
    ]}]
    run = run_playbook(tmp_path, plays, extra_vars={}, env={"AWS_REGION": "eu-central-1"}, name="env-region")
    assert run.rc == 0, run
    with pytest.raises(botocore.exceptions.ClientError, match="ResourceNotFoundException"):
        aws_admin().describe_secret(SecretId="gw/env-region")  # not in the fixture's own region
    eu = boto3.client("secretsmanager", region_name="eu-central-1", endpoint_url=aws_options["aws_endpoint_url"],
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    assert eu.describe_secret(SecretId="gw/env-region")["ARN"].startswith("arn:aws:secretsmanager:eu-central-1:")

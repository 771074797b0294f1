"""Interop with AWS Secrets Manager's own client: boto3 writes versions and staging labels (AWSPENDING, a
custom label) as another tool would, the collection reads, rotates and retires, and boto3 checks the
versions, labels and values that result. Against a real moto_server on 127.0.0.1.

moto follows the store closely enough here, with two known differences the tests keep clear of:
  - after UpdateSecretVersionStage moves AWSCURRENT, moto's next PutSecretValue still takes the old current
    version for the current one (two versions end up AWSCURRENT). A finished rotation is therefore made
    with one PutSecretValue(VersionStages=[AWSCURRENT, AWSPENDING]), which leaves the same labels the
    store's own finishing step does.
  - PutSecretValue replaces ALL labels of the old current version with AWSPREVIOUS (AWS keeps the others),
    so custom labels are put on versions that are not current when the collection writes.
"""
import json
import re

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.aws import AwsBackend
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import InvalidFormat
from ansible_collections.llmops.claude_gateway.plugins.module_utils._tokens import ensure_token
from ansible_runner import run_playbook
from bad_input import AwsSecretsProbe, unchanged

NAME = "gw/interop"
RESULTS = "{{ {'predicted': predicted, 'rotated': rotated, 'warned': warned} | to_json }}"


def params(**given):
    base = {"name": NAME, "value": None, "generate": True, "length": 48, "prefix": "sk-", "rotate": False,
            "retire": None, "retire_mode": "disable", "field": None}
    base.update(given)
    return base


def labels(sm, name=NAME):
    """VersionId -> sorted labels, deprecated versions included, as the store's own client lists them."""
    listed = sm.list_secret_version_ids(SecretId=name, IncludeDeprecated=True)["Versions"]
    return dict((v["VersionId"], sorted(v.get("VersionStages") or [])) for v in listed)


def value(sm, **which):
    return sm.get_secret_value(SecretId=NAME, **which)["SecretString"]


def by_label(sm, label):
    return [version for version, stages in labels(sm).items() if label in stages]


def mid_rotation(sm):
    """Another tool's rotation in progress: v1 AWSPREVIOUS + CANARY, v2 AWSCURRENT, v3 AWSPENDING."""
    v1 = sm.create_secret(Name=NAME, SecretString="sk-value-one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=NAME, SecretString="sk-value-two")["VersionId"]
    v3 = sm.put_secret_value(SecretId=NAME, SecretString="sk-value-pending", VersionStages=["AWSPENDING"])["VersionId"]
    sm.update_secret_version_stage(SecretId=NAME, VersionStage="CANARY", MoveToVersionId=v1)
    assert labels(sm) == {v1: ["AWSPREVIOUS", "CANARY"], v2: ["AWSCURRENT"], v3: ["AWSPENDING"]}
    return v1, v2, v3


def finished_rotation(sm):
    """Another tool's finished rotation: v1 CANARY, v2 AWSPREVIOUS, v3 AWSCURRENT with AWSPENDING left on it
    (the store's documented state after a successful rotation)."""
    v1 = sm.create_secret(Name=NAME, SecretString="sk-value-one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=NAME, SecretString="sk-value-two")["VersionId"]
    sm.update_secret_version_stage(SecretId=NAME, VersionStage="CANARY", MoveToVersionId=v1)
    v3 = sm.put_secret_value(SecretId=NAME, SecretString="sk-value-three",
                             VersionStages=["AWSCURRENT", "AWSPENDING"])["VersionId"]
    assert labels(sm) == {v1: ["CANARY"], v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT", "AWSPENDING"]}
    return v1, v2, v3


def test_the_collection_reads_what_the_stores_client_wrote(aws_options, aws_admin):
    sm = aws_admin()
    v1, v2, v3 = mid_rotation(sm)
    backend = AwsBackend(aws_options)
    assert (backend.read(SecretRef(NAME)).value, backend.read(SecretRef(NAME)).version) == ("sk-value-two", v2)
    for stage, expected in (("AWSPREVIOUS", "sk-value-one"), ("CANARY", "sk-value-one"),
                            ("AWSPENDING", "sk-value-pending")):
        assert backend.read(SecretRef(NAME, version_stage=stage)).value == expected
    assert backend.read(SecretRef(NAME, version=v3)).value == "sk-value-pending"
    listed = dict((v.version, (sorted(v.labels), v.state)) for v in backend.versions(NAME))
    assert listed == dict((version, (stages, "enabled")) for version, stages in labels(sm).items())


@pytest.mark.parametrize("check_mode", [False, True])
def test_rotate_mid_rotation_is_refused_and_nothing_changes(aws_options, aws_admin, check_mode):
    sm = aws_admin()
    _v1, _v2, v3 = mid_rotation(sm)
    with unchanged([AwsSecretsProbe(sm)], "rotate while AWSPENDING is on a version that is not AWSCURRENT"):
        with pytest.raises(InvalidFormat) as err:
            ensure_token(AwsBackend(aws_options), params(rotate=True, retire=2), check_mode=check_mode)
    assert err.value.problem == "another rotation is in progress: version %s carries AWSPENDING but not AWSCURRENT" % v3
    assert "remove AWSPENDING from version %s" % v3 in err.value.fix
    # The fix as the message gives it: the other tool's rotation is cancelled, its label removed.
    sm.update_secret_version_stage(SecretId=NAME, VersionStage="AWSPENDING", RemoveFromVersionId=v3)
    result, _token = ensure_token(AwsBackend(aws_options), params(rotate=True, retire=2))
    assert result["changed"] and by_label(sm, "AWSCURRENT") == [result["version"]]


def test_rotate_and_retire_after_another_tools_finished_rotation(aws_options, aws_admin):
    sm = aws_admin()
    v1, v2, v3 = finished_rotation(sm)
    backend = AwsBackend(aws_options)
    predicted, _none = ensure_token(backend, params(rotate=True, retire=2), check_mode=True)
    assert labels(sm) == {v1: ["CANARY"], v2: ["AWSPREVIOUS"], v3: ["AWSCURRENT", "AWSPENDING"]}
    result, token = ensure_token(AwsBackend(aws_options), params(rotate=True, retire=2))
    v4 = result["version"]
    assert (result["previous_version"], result["retired"]) == (v3, [])
    assert (predicted["previous_version"], predicted["retired"], predicted["version"]) == (v3, [], None)
    # AWSPREVIOUS is on the real previous value; AWSPENDING went along with AWSCURRENT (the store still sees a
    # finished rotation); AWS itself deprecated v2; the custom label is where its owner put it.
    assert labels(sm) == {v1: ["CANARY"], v2: [], v3: ["AWSPREVIOUS"], v4: ["AWSCURRENT", "AWSPENDING"]}
    assert value(sm, VersionStage="AWSCURRENT") == token
    assert value(sm, VersionStage="AWSPREVIOUS") == "sk-value-three"
    assert value(sm, VersionStage="CANARY") == "sk-value-one"

    # Every client has the new token: retire 1 takes AWSPREVIOUS off, and nothing else.
    predicted, _none = ensure_token(AwsBackend(aws_options), params(retire=1), check_mode=True)
    result, _token = ensure_token(AwsBackend(aws_options), params(retire=1))
    assert predicted["retired"] == result["retired"] == [v3]
    assert (predicted["version"], result["version"], result["changed"]) == (v4, v4, True)
    assert labels(sm) == {v1: ["CANARY"], v2: [], v3: [], v4: ["AWSCURRENT", "AWSPENDING"]}
    assert value(sm, VersionStage="AWSCURRENT") == token
    # A retired version stays readable by id until AWS removes it (AWS cannot delete one version).
    assert value(sm, VersionId=v3) == "sk-value-three"
    assert ensure_token(AwsBackend(aws_options), params(retire=1))[0]["changed"] is False


def test_retire_leaves_a_version_with_someone_elses_label_whole(aws_options, aws_admin):
    sm = aws_admin()
    v1 = sm.create_secret(Name=NAME, SecretString="sk-value-one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=NAME, SecretString="sk-value-two")["VersionId"]
    sm.update_secret_version_stage(SecretId=NAME, VersionStage="CANARY", MoveToVersionId=v1)
    backend = AwsBackend(aws_options)
    with unchanged([AwsSecretsProbe(sm)], "retire 1 with a custom label on AWSPREVIOUS"):
        result, _token = ensure_token(backend, params(retire=1))
    assert (result["changed"], result["retired"]) == (False, [])
    assert backend.warnings == ["aws backend: version %s keeps AWSPREVIOUS: it also carries CANARY, set outside "
                                "this collection; remove those labels to retire it" % v1]
    assert labels(sm) == {v1: ["AWSPREVIOUS", "CANARY"], v2: ["AWSCURRENT"]}


def test_the_module_rotates_and_retires_a_secret_the_stores_client_made(aws_options, aws_admin, tmp_path):
    """The same through ansible-playbook: check mode first (predictions), then the real run; boto3 checks the
    labels (a version another tool labelled keeps its label), and the task warns about the version it left."""
    sm = aws_admin()
    v1 = sm.create_secret(Name=NAME, SecretString="sk-value-one")["VersionId"]
    v2 = sm.put_secret_value(SecretId=NAME, SecretString="sk-value-two")["VersionId"]
    v3 = sm.put_secret_value(SecretId=NAME, SecretString="sk-value-pending", VersionStages=["AWSPENDING"])["VersionId"]
    sm.update_secret_version_stage(SecretId=NAME, VersionStage="AWSPENDING", RemoveFromVersionId=v3)
    sm.update_secret_version_stage(SecretId=NAME, VersionStage="CANARY", MoveToVersionId=v3)
    w1 = sm.create_secret(Name="gw/warned", SecretString="sk-value-one")["VersionId"]
    w2 = sm.put_secret_value(SecretId="gw/warned", SecretString="sk-value-two")["VersionId"]
    sm.update_secret_version_stage(SecretId="gw/warned", VersionStage="CANARY", MoveToVersionId=w1)
    store = dict((key, aws_options[key]) for key in ("aws_region", "aws_endpoint_url", "aws_access_key_id",
                                                     "aws_secret_access_key"))
    task = dict(store, backend="aws", name=NAME, generate=True, rotate=True, retire=1)
    warned = dict(store, backend="aws", name="gw/warned", generate=True, retire=1)
    out = tmp_path / "results.json"
    plays = [{"hosts": "localhost", "gather_facts": False, "tasks": [
        {"llmops.claude_gateway.gateway_token": task, "check_mode": True, "register": "predicted"},
        {"llmops.claude_gateway.gateway_token": task, "register": "rotated"},
        {"llmops.claude_gateway.gateway_token": warned, "register": "warned"},
        {"ansible.builtin.copy": {"dest": str(out), "content": RESULTS}, "check_mode": False},
    ]}]
    run = run_playbook(tmp_path, plays, extra_vars={}, name="interop")
    assert run.rc == 0, run
    results = json.loads(out.read_text())
    predicted, rotated = results["predicted"], results["rotated"]
    v4 = rotated["version"]
    assert (predicted["changed"], predicted["version"], predicted["previous_version"]) == (True, None, v2)
    assert predicted["retired"] == rotated["retired"] == [v2]
    assert rotated["previous_version"] == v2
    assert labels(sm) == {v1: [], v2: [], v3: ["CANARY"], v4: ["AWSCURRENT"]}
    assert (results["warned"]["changed"], results["warned"]["retired"]) == (False, [])
    assert re.search(r"\[WARNING\]: aws backend: version %s keeps AWSPREVIOUS: it also carries CANARY" % w1,
                     run.output), run
    assert labels(sm, "gw/warned") == {w1: ["AWSPREVIOUS", "CANARY"], w2: ["AWSCURRENT"]}
    assert "sk-value" not in run.output

"""The SecretBackend base class to the letter: defaults, field extraction, reprs that never show a value,
the wording of its refusals, and retries (exponential backoff, capped, transient errors only)."""
import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import base, errors
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import (
    MAX_BACKOFF,
    Secret,
    SecretBackend,
    SecretRef,
    VersionInfo,
    extract_field,
)

from .recording_backend import RecordingBackend


def test_defaults():
    backend = SecretBackend({})
    assert (backend.retries, backend.timeout, backend.backoff, backend.calls, backend.warnings) == (3, 10.0, 0.5, 0, [])
    assert SecretBackend({"retries": 0, "timeout": 2, "retry_backoff": 0.25}).retries == 0


def test_reprs_never_show_the_value():
    assert repr(Secret("s3cr3t", version=3, created="t")) == "Secret(version='3', created='t', value=<hidden>)"
    assert repr(VersionInfo(3, state="disabled", labels=["AWSPREVIOUS"])) == \
        "VersionInfo('3', state='disabled', labels=['AWSPREVIOUS'])"
    assert VersionInfo(3).to_dict() == {"version": "3", "created": None, "state": "enabled", "labels": []}
    assert Secret("v", metadata=None).info() == {"version": None, "created": None, "metadata": {}}


def test_ref_text():
    assert str(SecretRef("n", version=2, field="f")) == "n@2#f"
    assert str(SecretRef("n", version_stage="AWSCURRENT")) == "n@AWSCURRENT"
    assert str(SecretRef("n", version="")) == "n"


@pytest.mark.parametrize("raw, field, value", [
    ('{"f": {"b": 1, "a": 2}}', "f", '{"a": 2, "b": 1}'),
    ('{"f": [2, 1]}', "f", "[2, 1]"),
    ('{"f": 5}', "f", "5"),
    ('{"f": null}', "f", "null"),
    ('{"f": "text"}', "f", "text"),
    ("not json", None, "not json"),
])
def test_extract_field(raw, field, value):
    assert extract_field("local", SecretRef("n", field=field), raw) == value


@pytest.mark.parametrize("raw, problem", [
    ("not json", "field 'f' was asked for but the secret is not JSON"),
    ("[1]", "field 'f' was asked for but the secret is JSON list, not an object"),
    ('{"b": 1, "a": 2}', "the JSON secret has no field 'f' (it has: a, b)"),
    ("{}", "the JSON secret has no field 'f' (it has: no fields)"),
])
def test_extract_field_refusals_are_worded(raw, problem):
    with pytest.raises(errors.InvalidFormat) as info:
        extract_field("local", SecretRef("n", field="f"), raw)
    assert info.value.problem == problem


def test_unknown_retire_mode_lists_the_known_ones():
    with pytest.raises(errors.BadConfiguration) as info:
        SecretBackend({}).retire("n", 1, mode="shred")
    assert info.value.problem == "unknown retire mode 'shred'" and info.value.fix == "use one of: disable, destroy"


def test_metadata_is_kept():
    assert Secret("v", metadata={"k": "x"}).info()["metadata"] == {"k": "x"}


@pytest.mark.parametrize("value", ["", 5, None, b"bytes"])
def test_only_a_non_empty_string_is_written(value):
    with pytest.raises(errors.BadConfiguration) as info:
        SecretBackend({}).write("n", value)
    assert info.value.problem == "the value to store must be a non-empty string"


# -- no retries of its own: each store's SDK retries (a hand-made retry of a write can store it twice) ----
@pytest.mark.parametrize("error", [
    errors.BackendUnreachable("recording", "alice", "down"),
    errors.Throttled("recording", "alice", "slow down"),
    errors.SecretNotFound("recording", "alice", "gone"),
])
def test_the_base_class_calls_once_whatever_the_error(monkeypatch, error):
    monkeypatch.setattr("time.sleep", lambda s: pytest.fail("the base class waited for a retry"))
    backend = RecordingBackend({"retries": 5, "retry_backoff": 0.5}, failures=[error] * 3)
    backend.store["alice"] = ["v1"]
    with pytest.raises(type(error)):
        backend.read(SecretRef("alice"))
    assert backend.calls == 1


def test_a_write_whose_call_failed_is_not_sent_again():
    backend = RecordingBackend({"retries": 3})
    sent = []

    def lost_answer(name, value):
        sent.append(value)
        RecordingBackend._write(backend, name, value)
        raise errors.BackendUnreachable("recording", name, "the answer was lost")

    backend._write = lost_answer
    with pytest.raises(errors.BackendUnreachable):
        backend.write("alice", "v1")
    assert sent == ["v1"] and backend.store["alice"] == ["v1"]


def test_base_retire_refuses_bad_keep_and_mode_before_listing():
    backend = RecordingBackend()
    backend.store["alice"] = ["v1", "v2"]
    with pytest.raises(errors.BadConfiguration, match="at least 1"):
        backend.retire("alice", 0)
    with pytest.raises(errors.BadConfiguration, match="unknown retire mode"):
        backend.retire("alice", 1, "shred")
    assert backend.log == []
    assert backend.retire("alice", 1) == ["1"]


def _listing(*states):
    return [VersionInfo(str(n), state=state) for n, state in zip(range(len(states), 0, -1), states)]


@pytest.mark.parametrize("states,keep,mode,retired", [
    (("enabled", "enabled", "enabled"), 1, "disable", ["2", "1"]),
    (("enabled", "enabled", "enabled"), 3, "disable", []),
    (("enabled", "disabled", "enabled"), 2, "disable", []),
    (("enabled", "disabled", "enabled"), 1, "disable", ["1"]),
    (("enabled", "disabled", "enabled"), 1, "destroy", ["2", "1"]),
    (("enabled", "destroyed", "disabled"), 1, "destroy", ["1"]),
    (("disabled", "enabled"), 1, "disable", []),
])
def test_retire_plan_keeps_the_newest_enabled(states, keep, mode, retired):
    assert [v.version for v in SecretBackend({}).retire_plan(_listing(*states), keep, mode)] == retired


def test_listed_after_write_puts_a_new_enabled_version_in_front():
    after = SecretBackend({}).listed_after_write(_listing("enabled", "disabled"))
    assert [(v.version, v.state) for v in after] == [(base.NEW_VERSION, "enabled"), ("2", "enabled"), ("1", "disabled")]


@pytest.mark.parametrize("keep", [1, 2, 3])
@pytest.mark.parametrize("pending_write", [False, True])
def test_predict_retire_is_what_retire_then_does(keep, pending_write):
    backend = RecordingBackend()
    backend.store["alice"] = ["v1", "v2", "v3"]
    predicted = backend.predict_retire("alice", keep, "disable", pending_write=pending_write)
    assert ("retire", "alice") not in backend.log and backend.store["alice"] == ["v1", "v2", "v3"]
    if pending_write:
        backend.write("alice", "v4")
    assert backend.retire("alice", keep, "disable") == predicted
    assert len(predicted) == max(3 + pending_write - keep, 0)


def test_predict_retire_on_a_missing_secret_and_bad_arguments():
    backend = RecordingBackend()
    assert backend.predict_retire("nobody", 1) == [] and backend.predict_retire("nobody", 1, pending_write=True) == []
    del backend.log[:]
    with pytest.raises(errors.BadConfiguration, match="at least 1"):
        backend.predict_retire("alice", 0)
    with pytest.raises(errors.BadConfiguration, match="unknown retire mode"):
        backend.predict_retire("alice", 1, "shred")
    assert backend.log == []


def test_check_writable_accepts_by_default():
    assert SecretBackend({}).check_writable("alice") is None


def test_backend_defaults():
    backend = RecordingBackend({"retries": None, "retry_backoff": None, "timeout": None})
    assert (backend.retries, backend.backoff, backend.timeout) == (3, 0.5, 10.0)
    assert MAX_BACKOFF == 10.0  # the SDKs' cap between two retries (gcp, vault)

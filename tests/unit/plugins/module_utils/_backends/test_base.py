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


# -- retries: exponential backoff, capped, transient errors only -------------------------------------
@pytest.fixture
def sleeps(monkeypatch):
    waited = []
    monkeypatch.setattr(base.time, "sleep", waited.append)
    return waited


def test_backoff_doubles_from_retry_backoff(sleeps):
    backend = RecordingBackend({"retries": 3, "retry_backoff": 0.5},
                               failures=[errors.BackendUnreachable("recording", "alice", "down")] * 3)
    backend.store["alice"] = ["v1"]
    assert backend.read(SecretRef("alice")).value == "v1"
    assert sleeps == [0.5, 1.0, 2.0]
    assert backend.calls == 4


def test_backoff_is_capped(sleeps):
    throttles = [errors.Throttled("recording", "alice", "slow down")] * 8
    backend = RecordingBackend({"retries": 8, "retry_backoff": 1.0}, failures=throttles)
    backend.store["alice"] = ["v1"]
    backend.read(SecretRef("alice"))
    assert sleeps == [1.0, 2.0, 4.0, 8.0, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]
    assert MAX_BACKOFF == 10.0


def test_backoff_gives_up_after_retries_without_a_last_sleep(sleeps):
    backend = RecordingBackend({"retries": 2, "retry_backoff": 0.25},
                               failures=[errors.BackendUnreachable("recording", "alice", "down")] * 5)
    with pytest.raises(errors.BackendUnreachable):
        backend.read(SecretRef("alice"))
    assert sleeps == [0.25, 0.5] and backend.calls == 3


def test_default_backoff_is_half_a_second(sleeps):
    backend = RecordingBackend({"retries": None, "retry_backoff": None},
                               failures=[errors.BackendUnreachable("recording", "alice", "down")] * 9)
    with pytest.raises(errors.BackendUnreachable):
        backend.read(SecretRef("alice"))
    assert sleeps == [0.5, 1.0, 2.0]  # retries default to 3


@pytest.mark.parametrize("error", [
    errors.SecretNotFound("recording", "alice", "gone"),
    errors.AccessDenied("recording", "alice", "no"),
    errors.BadConfiguration("recording", "alice", "bad"),
    errors.InvalidFormat("recording", "alice", "odd"),
])
def test_permanent_errors_are_not_retried_and_not_waited_for(sleeps, error):
    backend = RecordingBackend({"retries": 5}, failures=[error])
    with pytest.raises(type(error)):
        backend.read(SecretRef("alice"))
    assert sleeps == [] and backend.calls == 1


def test_retries_zero_means_one_attempt(sleeps):
    backend = RecordingBackend({"retries": 0}, failures=[errors.BackendUnreachable("recording", "alice", "down")])
    with pytest.raises(errors.BackendUnreachable):
        backend.read(SecretRef("alice"))
    assert sleeps == [] and backend.calls == 1


def test_writes_and_retire_are_retried_the_same_way(sleeps):
    backend = RecordingBackend({"retries": 1, "retry_backoff": 0.5})
    calls = {"n": 0}

    def flaky_write(name, value):
        calls["n"] += 1
        if calls["n"] == 1:
            raise errors.BackendUnreachable("recording", name, "down")
        return RecordingBackend._write(backend, name, value)

    backend._write = flaky_write
    assert backend.write("alice", "v1") == "1"
    assert sleeps == [0.5] and backend.store["alice"] == ["v1"]


def test_base_retire_refuses_bad_keep_and_mode_before_listing():
    backend = RecordingBackend()
    backend.store["alice"] = ["v1", "v2"]
    with pytest.raises(errors.BadConfiguration, match="at least 1"):
        backend.retire("alice", 0)
    with pytest.raises(errors.BadConfiguration, match="unknown retire mode"):
        backend.retire("alice", 1, "shred")
    assert backend.log == []
    assert backend.retire("alice", 1) == ["1"]


def test_backend_defaults():
    backend = RecordingBackend({"retries": None, "retry_backoff": None, "timeout": None})
    assert (backend.retries, backend.backoff, backend.timeout) == (3, 0.5, 10.0)
    assert [backend.backoff_delay(n) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0, MAX_BACKOFF]


class FlakyBackend(SecretBackend):
    name = "flaky"

    def __init__(self, failures, exc):
        super(FlakyBackend, self).__init__({"retries": 3, "retry_backoff": 0.001})
        self.failures, self.exc = failures, exc

    def _read(self, ref):
        if self.failures:
            self.failures -= 1
            raise self.exc
        return Secret("v", 1)


def test_retries_transient_errors_only():
    flaky = FlakyBackend(2, errors.BackendUnreachable("flaky", "s", "down"))
    assert flaky.read(SecretRef("s")).value == "v" and flaky.calls == 3
    hopeless = FlakyBackend(10, errors.BackendUnreachable("flaky", "s", "down"))
    with pytest.raises(errors.BackendUnreachable):
        hopeless.read(SecretRef("s"))
    assert hopeless.calls == 4  # one try + 3 retries
    denied = FlakyBackend(1, errors.SecretNotFound("flaky", "s", "gone"))
    with pytest.raises(errors.SecretNotFound):
        denied.read(SecretRef("s"))
    assert denied.calls == 1

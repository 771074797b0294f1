"""Refused before any write (gateway_token), control characters in tokens, and the retry backoff delays."""
import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import base
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import (
    MAX_BACKOFF,
    Secret,
    SecretBackend,
    SecretRef,
    VersionInfo,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    AccessDenied,
    BadConfiguration,
    BackendUnreachable,
    InvalidFormat,
    SecretNotFound,
    Throttled,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code import PolicyError, check_token
from ansible_collections.llmops.claude_gateway.plugins.module_utils._tokens import ensure_token, generate_token


class RecordingBackend(SecretBackend):
    """An in-memory store that records every primitive call and fails ``_read`` with ``errors`` first."""

    name = "recording"

    def __init__(self, options=None, errors=()):
        super(RecordingBackend, self).__init__(dict({"retries": 3, "retry_backoff": 0.5}, **(options or {})))
        self.errors = list(errors)
        self.store = {}
        self.log = []

    def _read(self, ref):
        self.log.append(("read", ref.name))
        if self.errors:
            raise self.errors.pop(0)
        if ref.name not in self.store:
            raise SecretNotFound(self.name, ref.name, "no secret")
        versions = self.store[ref.name]
        return Secret(versions[-1], version=len(versions))

    def _write(self, name, value):
        self.log.append(("write", name))
        self.store.setdefault(name, []).append(value)
        return len(self.store[name])

    def _versions(self, name):
        self.log.append(("versions", name))
        if name not in self.store:
            raise SecretNotFound(self.name, name, "no secret")
        return [VersionInfo(n) for n in range(len(self.store[name]), 0, -1)]

    def _retire(self, name, versions, mode):
        self.log.append(("retire", name))


def params(**kw):
    out = dict(name="alice", field=None, value=None, generate=False, rotate=False, length=48, prefix="sk-",
               retire=None, retire_mode="disable")
    out.update(kw)
    return out


# -- gateway_token: every refusal happens before the store is touched ---------------------------------
@pytest.mark.parametrize("kw, words", [
    (dict(generate=True, retire=0), "'retire' must keep at least 1 version"),
    (dict(generate=True, retire=-1), "'retire' must keep at least 1 version"),
    (dict(value="tok-" + "a" * 30, retire=0), "'retire' must keep at least 1 version"),
    (dict(generate=True, retire=1, retire_mode="shred"), "unknown retire mode 'shred'"),
    (dict(generate=True, length=8), "length 8 is too short"),
    (dict(generate=True, length=0), "length 0 is too short"),
    (dict(generate=True, prefix="sk-\n"), "the 'prefix' contains control characters \\(U\\+000A\\)"),
    (dict(value="tok-abc\n"), "contains control characters \\(U\\+000A\\)"),
    (dict(value=""), "must be a non-empty string"),
    (dict(), "neither 'value' nor 'generate'"),
])
@pytest.mark.parametrize("existing", [False, True])
def test_refused_before_any_read_or_write(kw, words, existing):
    backend = RecordingBackend()
    if existing:
        backend.store["alice"] = ["tok-old-" + "b" * 30]
    before = {k: list(v) for k, v in backend.store.items()}
    with pytest.raises(BadConfiguration, match=words):
        ensure_token(backend, params(**kw))
    assert backend.log == [] and backend.store == before


def test_retire_zero_on_a_new_secret_writes_nothing():
    """The bug the bad-input snapshots found: a version was written, then 'retire' was refused."""
    backend = RecordingBackend()
    with pytest.raises(BadConfiguration):
        ensure_token(backend, params(name="new", generate=True, retire=0))
    assert "new" not in backend.store


def test_retire_zero_in_check_mode_is_refused_too():
    backend = RecordingBackend()
    with pytest.raises(BadConfiguration, match="at least 1"):
        ensure_token(backend, params(generate=True, retire=0), check_mode=True)
    assert backend.log == []


def test_an_existing_secret_with_a_short_length_is_refused_even_without_rotation():
    backend = RecordingBackend()
    backend.store["alice"] = ["tok-old-" + "b" * 30]
    with pytest.raises(BadConfiguration, match="too short"):
        ensure_token(backend, params(generate=True, length=23))
    assert ensure_token(backend, params(generate=True, length=24))[0]["changed"] is False


# -- control characters in a token: each place that takes one refuses them ---------------------------
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\t", "\n", "\x0b", "\x0c", "\r", "\x1b", "\x1f", "\x7f", "\x80", "\x85",
           "\x9f", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", CONTROL, ids=lambda c: "U+%04X" % ord(c))
@pytest.mark.parametrize("where", ["start", "middle", "end"])
def test_gateway_token_value_with_a_control_character_is_refused(char, where):
    token = {"start": char + "tok" + "a" * 30, "middle": "tok" + char + "a" * 30, "end": "tok" + "a" * 30 + char}[where]
    backend = RecordingBackend()
    with pytest.raises(BadConfiguration, match="U\\+%04X" % ord(char)) as info:
        ensure_token(backend, params(value=token))
    assert token not in str(info.value) and "aaaa" not in str(info.value)
    assert backend.log == []


@pytest.mark.parametrize("char", CONTROL, ids=lambda c: "U+%04X" % ord(c))
def test_gateway_token_prefix_with_a_control_character_is_refused(char):
    backend = RecordingBackend()
    with pytest.raises(BadConfiguration, match="prefix"):
        ensure_token(backend, params(generate=True, prefix="sk" + char))
    assert backend.log == []


@pytest.mark.parametrize("token", [" tok" + "a" * 30, "tok" + "a" * 30 + " ", "tok" + "a" * 30 + "\u00a0"])
def test_gateway_token_value_with_blanks_around_is_refused(token):
    with pytest.raises(BadConfiguration, match="whitespace"):
        ensure_token(RecordingBackend(), params(value=token))


def test_gateway_token_plain_value_and_generated_token_are_accepted():
    backend = RecordingBackend()
    assert ensure_token(backend, params(value="gwt_" + "x" * 30))[0]["changed"]
    token = generate_token(48, "sk-")
    assert not any(ord(c) < 33 or ord(c) > 126 for c in token)


@pytest.mark.parametrize("char", CONTROL, ids=lambda c: "U+%04X" % ord(c))
def test_claude_code_check_token_refuses_control_characters(char):
    token = "gwt_" + "q" * 20 + char + "z" * 4
    with pytest.raises(PolicyError) as info:
        check_token(token, "user alice")
    assert info.value.rule == "token-format", info.value
    assert token not in str(info.value)


def test_claude_code_check_token_accepts_a_plain_token():
    check_token("gwt_" + "q" * 30, "user alice")


# -- retries: exponential backoff, capped, transient errors only -------------------------------------
@pytest.fixture
def sleeps(monkeypatch):
    waited = []
    monkeypatch.setattr(base.time, "sleep", waited.append)
    return waited


def test_backoff_doubles_from_retry_backoff(sleeps):
    backend = RecordingBackend({"retries": 3, "retry_backoff": 0.5},
                               errors=[BackendUnreachable("recording", "alice", "down")] * 3)
    backend.store["alice"] = ["v1"]
    assert backend.read(SecretRef("alice")).value == "v1"
    assert sleeps == [0.5, 1.0, 2.0]
    assert backend.calls == 4


def test_backoff_is_capped(sleeps):
    errors = [Throttled("recording", "alice", "slow down")] * 8
    backend = RecordingBackend({"retries": 8, "retry_backoff": 1.0}, errors=errors)
    backend.store["alice"] = ["v1"]
    backend.read(SecretRef("alice"))
    assert sleeps == [1.0, 2.0, 4.0, 8.0, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF, MAX_BACKOFF]
    assert MAX_BACKOFF == 10.0


def test_backoff_gives_up_after_retries_without_a_last_sleep(sleeps):
    backend = RecordingBackend({"retries": 2, "retry_backoff": 0.25},
                               errors=[BackendUnreachable("recording", "alice", "down")] * 5)
    with pytest.raises(BackendUnreachable):
        backend.read(SecretRef("alice"))
    assert sleeps == [0.25, 0.5] and backend.calls == 3


def test_default_backoff_is_half_a_second(sleeps):
    backend = RecordingBackend({"retries": None, "retry_backoff": None},
                               errors=[BackendUnreachable("recording", "alice", "down")] * 9)
    with pytest.raises(BackendUnreachable):
        backend.read(SecretRef("alice"))
    assert sleeps == [0.5, 1.0, 2.0]  # retries default to 3


@pytest.mark.parametrize("error", [
    SecretNotFound("recording", "alice", "gone"),
    AccessDenied("recording", "alice", "no"),
    BadConfiguration("recording", "alice", "bad"),
    InvalidFormat("recording", "alice", "odd"),
])
def test_permanent_errors_are_not_retried_and_not_waited_for(sleeps, error):
    backend = RecordingBackend({"retries": 5}, errors=[error])
    with pytest.raises(type(error)):
        backend.read(SecretRef("alice"))
    assert sleeps == [] and backend.calls == 1


def test_retries_zero_means_one_attempt(sleeps):
    backend = RecordingBackend({"retries": 0}, errors=[BackendUnreachable("recording", "alice", "down")])
    with pytest.raises(BackendUnreachable):
        backend.read(SecretRef("alice"))
    assert sleeps == [] and backend.calls == 1


def test_writes_and_retire_are_retried_the_same_way(sleeps):
    backend = RecordingBackend({"retries": 1, "retry_backoff": 0.5})
    calls = {"n": 0}

    def flaky_write(name, value):
        calls["n"] += 1
        if calls["n"] == 1:
            raise BackendUnreachable("recording", name, "down")
        return RecordingBackend._write(backend, name, value)

    backend._write = flaky_write
    assert backend.write("alice", "v1") == "1"
    assert sleeps == [0.5] and backend.store["alice"] == ["v1"]


def test_base_retire_refuses_bad_keep_and_mode_before_listing():
    backend = RecordingBackend()
    backend.store["alice"] = ["v1", "v2"]
    with pytest.raises(BadConfiguration, match="at least 1"):
        backend.retire("alice", 0)
    with pytest.raises(BadConfiguration, match="unknown retire mode"):
        backend.retire("alice", 1, "shred")
    assert backend.log == []
    assert backend.retire("alice", 1) == ["1"]


def test_generate_token_length_boundary_and_alphabet():
    with pytest.raises(BadConfiguration, match="length 23 is too short"):
        generate_token(23, "sk-")
    token = generate_token(24, "gwt_")
    assert token.startswith("gwt_") and len(token) == 28 and token[4:].isalnum() and token[4:].isascii()


def test_backend_defaults():
    backend = RecordingBackend({"retries": None, "retry_backoff": None, "timeout": None})
    assert (backend.retries, backend.backoff, backend.timeout) == (3, 0.5, 10.0)
    assert [backend.backoff_delay(n) for n in (1, 2, 3, 4, 5, 6)] == [0.5, 1.0, 2.0, 4.0, 8.0, MAX_BACKOFF]


def test_a_whole_json_secret_is_checked_field_by_field():
    """A rotation's restore writes a whole JSON secret back: its layout may hold newlines, its tokens not."""
    backend = RecordingBackend()
    pretty = '{\n  "team-a": "gw-a-%s",\n  "team-b": "gw-b-%s"\n}\n' % ("a" * 24, "b" * 24)
    assert ensure_token(backend, params(value=pretty))[0]["changed"]
    with pytest.raises(BadConfiguration, match="field 'team-b' of the JSON object in 'value' contains control"):
        ensure_token(backend, params(name="bob", value='{"team-a": "ok", "team-b": "gw-b\\u001b[0m"}'))
    assert "bob" not in backend.store

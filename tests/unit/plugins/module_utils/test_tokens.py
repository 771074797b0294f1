"""gateway_token's logic (module_utils/_tokens.py): token generation, ensure/rotate/retire on the local
backend, the exact diff, check-mode predictions and wording, and every refusal made before the store is
touched (control characters in tokens, in every place that takes one)."""
import json
import re

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import (
    SecretBackend,
    SecretRef,
    VersionInfo,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    BadConfiguration,
    InvalidFormat,
    SecretNotFound,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.local import LocalBackend
from ansible_collections.llmops.claude_gateway.plugins.module_utils._tokens import (
    MASK,
    check_token_text,
    ensure_token,
    generate_token,
)
from ansible_collections.llmops.claude_gateway.plugins.plugin_utils._client_policy import PolicyError, check_token

from ._backends.recording_backend import RecordingBackend


@pytest.fixture
def store(tmp_path):
    return LocalBackend({"local_path": str(tmp_path / "secrets.yml")})


def params(**kw):
    """The task's options with the module's defaults."""
    base = dict(name="alice", field=None, value=None, generate=False, rotate=False, length=48, prefix="sk-",
                retire=None, retire_mode="disable")
    base.update(kw)
    return base


def unset_params(**kw):
    """The task's options as a caller that sets none of them passes them: every default comes from _tokens."""
    base = dict(name="alice", field=None, value=None, generate=False, rotate=False, length=None, prefix=None,
                retire=None, retire_mode=None)
    base.update(kw)
    return base


def test_generate_token_shape_and_uniqueness():
    tokens = set(generate_token() for _ignored in range(200))
    assert len(tokens) == 200
    assert all(re.match(r"^sk-[A-Za-z0-9]{48}$", t) for t in tokens)
    assert generate_token(30, "gw-").startswith("gw-")
    with pytest.raises(BadConfiguration, match="too short"):
        generate_token(8)


def test_generate_is_idempotent(store):
    first, value = ensure_token(store, params(generate=True))
    assert first["changed"] and first["created"] and first["version"] == "1"
    second, again = ensure_token(store, params(generate=True))
    assert not second["changed"] and second["version"] == "1" and again == value


def test_value_is_idempotent_and_updates(store):
    assert ensure_token(store, params(value="tok-a"))[0]["changed"]
    assert not ensure_token(store, params(value="tok-a"))[0]["changed"]
    changed = ensure_token(store, params(value="tok-b"))[0]
    assert changed["changed"] and changed["previous_version"] == "1" and changed["version"] == "2"


def test_rotate_and_retire(store):
    ensure_token(store, params(generate=True))
    rotated, new = ensure_token(store, params(generate=True, rotate=True, retire=2))
    assert rotated["changed"] and rotated["version"] == "2" and rotated["retired"] == []
    assert store.read(SecretRef("alice")).value == new
    done = ensure_token(store, params(generate=True, retire=1))[0]
    assert done["changed"] and done["retired"] == ["1"]
    assert not ensure_token(store, params(generate=True, retire=1))[0]["changed"]


def test_check_mode_predicts_without_writing(store):
    predicted = ensure_token(store, params(generate=True), check_mode=True)[0]
    assert predicted["changed"] and predicted["created"]
    assert not store._load()
    ensure_token(store, params(generate=True))
    ensure_token(store, params(generate=True, rotate=True))
    plan = ensure_token(store, params(generate=True, rotate=True, retire=1), check_mode=True)[0]
    assert plan["changed"] and plan["retired"] == ["2", "1"]
    assert [v.version for v in store.versions("alice")] == ["2", "1"]
    real = ensure_token(store, params(generate=True, rotate=True, retire=1))[0]
    assert real["retired"] == plan["retired"]


def test_diff_never_holds_the_value(store):
    result, value = ensure_token(store, params(value="tok-diff-secret"))
    assert "tok-diff-secret" not in repr(result)
    assert result["diff"]["after"]["value"] == "********"


def test_write_through_field_keeps_other_keys(store):
    store.write("teams", '{"a": "tok-a", "b": "tok-b"}')
    result = ensure_token(store, params(name="teams", field="b", value="tok-b2"))[0]
    assert result["changed"]
    assert store.read(SecretRef("teams", field="a")).value == "tok-a"
    assert store.read(SecretRef("teams", field="b")).value == "tok-b2"
    assert not ensure_token(store, params(name="teams", field="b", value="tok-b2"))[0]["changed"]
    store.write("plain", "not-json")
    with pytest.raises(InvalidFormat, match="not a JSON object"):
        ensure_token(store, params(name="plain", field="b", value="x"))


def test_needs_value_or_generate(store):
    with pytest.raises(BadConfiguration, match="neither 'value' nor 'generate'"):
        ensure_token(store, params())


# --- the diff ------------------------------------------------------------------------------------

def test_diff_of_a_new_token(store):
    result, _value = ensure_token(store, unset_params(generate=True))
    assert result["diff"] == {"before": {"version": None, "value": None}, "after": {"version": "1", "value": MASK}}
    assert result["created"] is True


def test_diff_of_an_unchanged_token(store):
    ensure_token(store, unset_params(value="tok-a"))
    result, _value = ensure_token(store, unset_params(value="tok-a"))
    assert result["diff"] == {"before": {"version": "1", "value": MASK}, "after": {"version": "1", "value": MASK}}
    assert result["changed"] is False and result["created"] is False


def test_an_update_is_not_a_creation(store):
    ensure_token(store, unset_params(value="tok-a"))
    result, _value = ensure_token(store, unset_params(value="tok-b"))
    assert result["changed"] is True and result["created"] is False
    assert result["diff"] == {"before": {"version": "1", "value": MASK}, "after": {"version": "2", "value": MASK}}


def test_check_mode_on_a_new_token_predicts_a_version_and_returns_no_value(store):
    result, value = ensure_token(store, unset_params(generate=True), check_mode=True)
    assert value is None and result["version"] is None and result["previous_version"] is None
    assert result["diff"] == {"before": {"version": None, "value": None},
                              "after": {"version": "(new version)", "value": MASK}}


def test_check_mode_on_an_unchanged_token_keeps_its_version(store):
    _result, stored = ensure_token(store, unset_params(generate=True))
    result, value = ensure_token(store, unset_params(generate=True), check_mode=True)
    assert value == stored and result["changed"] is False and result["version"] == "1"
    assert result["diff"]["after"] == {"version": "1", "value": MASK}


def test_check_mode_returns_no_version_for_a_pending_write(store):
    # The new version's id is only known once written: null, as documented, not the current one.
    ensure_token(store, unset_params(generate=True))
    result, value = ensure_token(store, unset_params(generate=True, rotate=True), check_mode=True)
    assert (result["changed"], result["version"], result["previous_version"], value) == (True, None, "1", None)
    result, _value = ensure_token(store, unset_params(value="other-token-value"), check_mode=True)
    assert (result["changed"], result["version"], result["previous_version"]) == (True, None, "1")


# --- generated tokens: defaults, length, prefix ---------------------------------------------------------

def test_generated_token_default_length_is_48_without_prefix(store):
    _result, value = ensure_token(store, unset_params(generate=True))
    assert re.match(r"^[A-Za-z0-9]{48}$", value)


def test_generated_token_uses_length_and_prefix(store):
    _result, value = ensure_token(store, unset_params(generate=True, length=30, prefix="gw-"))
    assert re.match(r"^gw-[A-Za-z0-9]{30}$", value)


def test_the_shortest_allowed_length_is_24():
    assert len(generate_token(24, "")) == 24
    with pytest.raises(BadConfiguration):
        generate_token(23, "")


# --- calls made -------------------------------------------------------------------------------------

def test_an_unchanged_plain_token_costs_one_read(store):
    ensure_token(store, unset_params(value="tok-a"))
    before = store.calls
    ensure_token(store, unset_params(value="tok-a"))
    assert store.calls - before == 1


# --- write through a field -----------------------------------------------------------------------

def test_a_field_is_written_into_the_object_with_sorted_keys(store):
    store.write("alice", '{"z": "1", "a": "2"}')
    ensure_token(store, unset_params(value="tok-m", field="m"))
    assert store.read(SecretRef("alice")).value == '{"a": "2", "m": "tok-m", "z": "1"}'


def test_a_field_cannot_be_written_into_a_secret_that_is_not_an_object(store):
    store.write("alice", "plain-token")
    with pytest.raises(InvalidFormat) as info:
        ensure_token(store, unset_params(value="tok-m", field="api_key"))
    assert "cannot set field 'api_key': the stored secret is not a JSON object" in str(info.value)


# --- retirement ------------------------------------------------------------------------------------

def test_retire_mode_defaults_to_disable_and_destroy_is_passed_on(store):
    for value in ("t1", "t2", "t3"):
        ensure_token(store, unset_params(value=value))
    result, _value = ensure_token(store, unset_params(value="t3", retire=2))
    assert result["retired"] == ["1"]
    states = {v.version: v.state for v in store.versions("alice")}
    assert states == {"3": "enabled", "2": "enabled", "1": "disabled"}
    result, _value = ensure_token(store, unset_params(value="t3", retire=1, retire_mode="destroy"))
    assert result["retired"] == ["2", "1"]


class Listed(SecretBackend):
    """A store that only lists versions: newest first, with their states."""
    name = "fake"

    def __init__(self, states):
        super(Listed, self).__init__({})
        self.states = states

    def _versions(self, name):
        if self.states is None:
            raise SecretNotFound(self.name, name, "no such secret")
        return [VersionInfo(str(number), state=state)
                for number, state in sorted(self.states.items(), reverse=True)]


STATES = {5: "enabled", 4: "disabled", 3: "enabled", 2: "destroyed", 1: "enabled"}


@pytest.mark.parametrize("keep, mode, pending, retired", [
    (2, "disable", False, ["1"]),
    (2, "destroy", False, ["4", "1"]),
    (2, "disable", True, ["3", "1"]),
    (2, "destroy", True, ["4", "3", "1"]),
    (1, "disable", True, ["5", "3", "1"]),
    (3, "disable", False, []),
    (3, "destroy", False, ["4"]),
])
def test_check_mode_predicts_the_retired_versions(keep, mode, pending, retired):
    assert Listed(STATES).predict_retire("alice", keep, mode, pending_write=pending) == retired


def test_check_mode_retirement_of_a_missing_secret_is_empty():
    assert Listed(None).predict_retire("alice", 1, "disable", pending_write=True) == []


# --- refusals, word for word -------------------------------------------------------------------------

def test_blanks_around_a_token_are_named():
    with pytest.raises(BadConfiguration) as info:
        check_token_text("local", "alice", " tok", "the token in 'value'")
    assert "the token in 'value' starts or ends with whitespace" in str(info.value)


def test_unknown_retire_mode_lists_the_known_ones(store):
    with pytest.raises(BadConfiguration) as info:
        ensure_token(store, unset_params(value="tok", retire=1, retire_mode="shred"))
    assert "unknown retire mode 'shred'" in str(info.value) and "use one of: disable, destroy" in str(info.value)


@pytest.mark.parametrize("char", ["~", " ", "\u00a0", "\u00ff"])
def test_printable_characters_are_not_control_characters(char):
    check_token_text("local", "alice", "tok%sen" % char, "the token in 'value'")


@pytest.mark.parametrize("char, name", [("\x7f", "U+007F"), ("\x9f", "U+009F"), ("\x1f", "U+001F"),
                                        ("\u2028", "U+2028")])
def test_control_characters_are_named_by_code_point(char, name):
    with pytest.raises(BadConfiguration) as info:
        check_token_text("local", "alice", "tok%sen" % char, "the token in 'value'")
    assert "the token in 'value' contains control characters (%s)" % name in str(info.value)
    assert "tok" not in str(info.value).split("contains")[1]


def test_diff_value_is_masked_not_the_token(store):
    result, value = ensure_token(store, unset_params(generate=True))
    assert value not in json.dumps(result)


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


def test_generate_token_length_boundary_and_alphabet():
    with pytest.raises(BadConfiguration, match="length 23 is too short"):
        generate_token(23, "sk-")
    token = generate_token(24, "gwt_")
    assert token.startswith("gwt_") and len(token) == 28 and token[4:].isalnum() and token[4:].isascii()


def test_a_whole_json_secret_is_checked_field_by_field():
    """A rotation's restore writes a whole JSON secret back: its layout may hold newlines, its tokens not."""
    backend = RecordingBackend()
    pretty = '{\n  "team-a": "gw-a-%s",\n  "team-b": "gw-b-%s"\n}\n' % ("a" * 24, "b" * 24)
    assert ensure_token(backend, params(value=pretty))[0]["changed"]
    with pytest.raises(BadConfiguration, match="field 'team-b' of the JSON object in 'value' contains control"):
        ensure_token(backend, params(name="bob", value='{"team-a": "ok", "team-b": "gw-b\\u001b[0m"}'))
    assert "bob" not in backend.store

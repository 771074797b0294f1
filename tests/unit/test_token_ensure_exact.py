"""gateway_token's ensure logic to the letter: the diff it reports, the default length and prefix of a
generated token, what check mode returns, the retirement it predicts in check mode, the JSON it writes
through a field, the calls it makes, and the wording of its refusals."""
import json
import re

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils import _tokens
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef, VersionInfo
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


@pytest.fixture
def store(tmp_path):
    return LocalBackend({"local_path": str(tmp_path / "secrets.yml")})


def params(**kw):
    base = dict(name="alice", field=None, value=None, generate=False, rotate=False, length=None, prefix=None,
                retire=None, retire_mode=None)
    base.update(kw)
    return base


# --- the diff ------------------------------------------------------------------------------------

def test_diff_of_a_new_token(store):
    result, _value = ensure_token(store, params(generate=True))
    assert result["diff"] == {"before": {"version": None, "value": None}, "after": {"version": "1", "value": MASK}}
    assert result["created"] is True


def test_diff_of_an_unchanged_token(store):
    ensure_token(store, params(value="tok-a"))
    result, _value = ensure_token(store, params(value="tok-a"))
    assert result["diff"] == {"before": {"version": "1", "value": MASK}, "after": {"version": "1", "value": MASK}}
    assert result["changed"] is False and result["created"] is False


def test_an_update_is_not_a_creation(store):
    ensure_token(store, params(value="tok-a"))
    result, _value = ensure_token(store, params(value="tok-b"))
    assert result["changed"] is True and result["created"] is False
    assert result["diff"] == {"before": {"version": "1", "value": MASK}, "after": {"version": "2", "value": MASK}}


def test_check_mode_on_a_new_token_predicts_a_version_and_returns_no_value(store):
    result, value = ensure_token(store, params(generate=True), check_mode=True)
    assert value is None
    assert result["diff"] == {"before": {"version": None, "value": None},
                              "after": {"version": "(new version)", "value": MASK}}


def test_check_mode_on_an_unchanged_token_keeps_its_version(store):
    _result, stored = ensure_token(store, params(generate=True))
    result, value = ensure_token(store, params(generate=True), check_mode=True)
    assert value == stored and result["changed"] is False
    assert result["diff"]["after"] == {"version": "1", "value": MASK}


# --- generated tokens: defaults, length, prefix ---------------------------------------------------------

def test_generated_token_default_length_is_48_without_prefix(store):
    _result, value = ensure_token(store, params(generate=True))
    assert re.match(r"^[A-Za-z0-9]{48}$", value)


def test_generated_token_uses_length_and_prefix(store):
    _result, value = ensure_token(store, params(generate=True, length=30, prefix="gw-"))
    assert re.match(r"^gw-[A-Za-z0-9]{30}$", value)


def test_the_shortest_allowed_length_is_24():
    assert len(generate_token(24, "")) == 24
    with pytest.raises(BadConfiguration):
        generate_token(23, "")


# --- calls made -------------------------------------------------------------------------------------

def test_an_unchanged_plain_token_costs_one_read(store):
    ensure_token(store, params(value="tok-a"))
    before = store.calls
    ensure_token(store, params(value="tok-a"))
    assert store.calls - before == 1


# --- write through a field -----------------------------------------------------------------------

def test_a_field_is_written_into_the_object_with_sorted_keys(store):
    store.write("alice", '{"z": "1", "a": "2"}')
    ensure_token(store, params(value="tok-m", field="m"))
    assert store.read(SecretRef("alice")).value == '{"a": "2", "m": "tok-m", "z": "1"}'


def test_a_field_cannot_be_written_into_a_secret_that_is_not_an_object(store):
    store.write("alice", "plain-token")
    with pytest.raises(InvalidFormat) as info:
        ensure_token(store, params(value="tok-m", field="api_key"))
    assert "cannot set field 'api_key': the stored secret is not a JSON object" in str(info.value)


# --- retirement ------------------------------------------------------------------------------------

def test_retire_mode_defaults_to_disable_and_destroy_is_passed_on(store):
    for value in ("t1", "t2", "t3"):
        ensure_token(store, params(value=value))
    result, _value = ensure_token(store, params(value="t3", retire=2))
    assert result["retired"] == ["1"]
    states = {v.version: v.state for v in store.versions("alice")}
    assert states == {"3": "enabled", "2": "enabled", "1": "disabled"}
    result, _value = ensure_token(store, params(value="t3", retire=1, retire_mode="destroy"))
    assert result["retired"] == ["2", "1"]


class Listed(object):
    """A store that only lists versions: newest first, with their states."""
    name = "fake"

    def __init__(self, states):
        self.states = states

    def versions(self, name):
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
    assert _tokens._retire(Listed(STATES), "alice", keep, mode, True, pending_write=pending) == retired


def test_check_mode_retirement_of_a_missing_secret_is_empty():
    assert _tokens._retire(Listed(None), "alice", 1, "disable", True, pending_write=True) == []


# --- refusals, word for word -------------------------------------------------------------------------

def test_blanks_around_a_token_are_named():
    with pytest.raises(BadConfiguration) as info:
        check_token_text("local", "alice", " tok", "the token in 'value'")
    assert "the token in 'value' starts or ends with whitespace" in str(info.value)


def test_unknown_retire_mode_lists_the_known_ones(store):
    with pytest.raises(BadConfiguration) as info:
        ensure_token(store, params(value="tok", retire=1, retire_mode="shred"))
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
    result, value = ensure_token(store, params(generate=True))
    assert value not in json.dumps(result)

"""Token generation and the gateway_token ensure/rotate/retire logic, on the local backend."""
import re

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    BadConfiguration,
    InvalidFormat,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.local import LocalBackend
from ansible_collections.llmops.claude_gateway.plugins.module_utils._tokens import ensure_token, generate_token


@pytest.fixture
def store(tmp_path):
    return LocalBackend({"local_path": str(tmp_path / "secrets.yml")})


def params(**kw):
    base = dict(name="alice", field=None, value=None, generate=False, rotate=False, length=48, prefix="sk-",
                retire=None, retire_mode="disable")
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

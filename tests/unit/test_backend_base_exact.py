"""The SecretBackend base class to the letter: defaults, field extraction, reprs that never show a value,
and the wording of its refusals."""
import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import (
    Secret,
    SecretBackend,
    SecretRef,
    VersionInfo,
    extract_field,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    BadConfiguration,
    InvalidFormat,
)


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
    with pytest.raises(InvalidFormat) as info:
        extract_field("local", SecretRef("n", field="f"), raw)
    assert info.value.problem == problem


def test_unknown_retire_mode_lists_the_known_ones():
    with pytest.raises(BadConfiguration) as info:
        SecretBackend({}).retire("n", 1, mode="shred")
    assert info.value.problem == "unknown retire mode 'shred'" and info.value.fix == "use one of: disable, destroy"


def test_metadata_is_kept():
    assert Secret("v", metadata={"k": "x"}).info()["metadata"] == {"k": "x"}


@pytest.mark.parametrize("value", ["", 5, None, b"bytes"])
def test_only_a_non_empty_string_is_written(value):
    with pytest.raises(BadConfiguration) as info:
        SecretBackend({}).write("n", value)
    assert info.value.problem == "the value to store must be a non-empty string"

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Settings files (JSON): the merge a task writes, and the effective settings Claude Code reads back."""

from __future__ import absolute_import, division, print_function

import json
import os

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.errors import FileFormatError
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.settings import (
    dump_settings,
    leaf_paths,
    mask_settings,
    merge_layers,
    merge_settings,
    parse_settings,
    pick_settings,
    read_settings,
    remove_settings,
    settings_layers,
)

SECRET = "gwt_S3cretValue0123456789"
OWNED = {"apiKeyHelper": "/usr/local/bin/claude-gateway-token",
         "env": {"ANTHROPIC_BASE_URL": "https://gw.example.com", "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"}}


def test_merge_keeps_foreign_keys_and_order():
    before = {"permissions": {"allow": ["Bash"]}, "env": {"FOO": "bar"}, "model": "x"}
    after = merge_settings(before, OWNED)
    assert list(after) == ["permissions", "env", "model", "apiKeyHelper"]
    assert after["env"] == {"FOO": "bar", "ANTHROPIC_BASE_URL": "https://gw.example.com",
                            "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"}
    assert remove_settings(after, OWNED) == before
    assert before == {"permissions": {"allow": ["Bash"]}, "env": {"FOO": "bar"}, "model": "x"}  # not mutated


def test_remove_drops_only_objects_it_empties():
    assert remove_settings(merge_settings({}, OWNED), OWNED) == {}
    assert remove_settings({"env": {}}, OWNED) == {"env": {}}  # empty before: not ours to drop


def test_remove_with_match_values_keeps_a_users_own_value():
    owned = {"apiKeyHelper": "/x", "env": {"A": "1", "B": None}}
    mine = {"apiKeyHelper": "/mine", "env": {"A": "2", "B": "b", "C": "c"}}
    assert remove_settings(mine, owned, match_values=True) == {"apiKeyHelper": "/mine", "env": {"A": "2", "C": "c"}}
    assert remove_settings(mine, owned) == {"env": {"C": "c"}}
    ours = {"apiKeyHelper": "/x", "env": {"A": "1", "B": "b"}, "model": "m"}
    assert remove_settings(ours, owned, match_values=True) == {"model": "m"}
    assert remove_settings({"env": "text"}, owned) == {}  # not an object where ours was: the key goes


def test_leaf_and_picked_paths():
    data = {"env": {"A": "1", "B": "2"}, "hooks": {}, "model": "m", "obj": {"k": {"deep": 1}}}
    assert leaf_paths(data) == [("env", "A"), ("env", "B"), ("hooks",), ("model",), ("obj", "k", "deep")]
    paths = [("env", "A"), ("missing", "x"), ("model", "x"), ("obj",), ("env", "Z")]
    assert pick_settings(data, paths) == {"env": {"A": "1"}, "obj": {}}


def test_dump_settings_keeps_text_readable():
    assert dump_settings({"a": "é"}) == '{\n  "a": "é"\n}\n'


def test_parse_settings_errors():
    assert parse_settings("  \n") == {}
    with pytest.raises(FileFormatError, match="not valid JSON.*left untouched"):
        parse_settings('{"env": ', "/etc/x.json")
    with pytest.raises(FileFormatError, match="JSON list, not an object"):
        parse_settings("[1]")


def test_mask_settings():
    data = {"env": {"ANTHROPIC_AUTH_TOKEN": SECRET, "MY_KEY": "k", "URL": "u", "OTHER": SECRET}, "apiKeyHelper": "/x"}
    masked = json.dumps(mask_settings(data, secret_values=[SECRET]))
    assert SECRET not in masked and '"MY_KEY": "********"' in masked and '"URL": "u"' in masked
    assert '"apiKeyHelper": "/x"' in masked
    assert mask_settings({"empty": "", "n": 5}, secret_values=["", 5]) == {"empty": "", "n": 5}
    data = {"auth": {"nested": {"v": "x", "flag": "1"}, "list": ["a"], "off": None}, "plain": {"p": "v", "n": 3},
            "url": "https://user:pw@host/x", "list": [SECRET], "given": "g"}
    assert mask_settings(data, secret_paths=[["plain", "p"], ("given",)]) == {
        "auth": {"nested": {"v": "********", "flag": "1"}, "list": "********", "off": None},
        "plain": {"p": "********", "n": 3}, "url": "https://user:********@host/x", "list": [SECRET], "given": "********"}


# ---------------------------------------------------------------- reader: written by the writer, read back
def write(path, data):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dump_settings(data))


def test_write_then_read(tmp_path):
    path = tmp_path / "home" / ".claude" / "settings.json"
    existing = {"permissions": {"allow": ["Bash"]}, "env": {"FOO": "bar"}}
    write(path, merge_settings(existing, OWNED))
    settings, sources = read_settings([str(path), str(tmp_path / "missing.json")])
    assert settings == merge_settings(existing, OWNED) and sources == [str(path)]
    write(path, remove_settings(settings, OWNED))
    assert read_settings([str(path)])[0] == existing


def test_layers_in_claude_code_order(tmp_path):
    managed = tmp_path / "etc"
    (managed / "managed-settings.d").mkdir(parents=True)
    for name in ("90-b.json", "10-a.json", ".hidden.json", "notes.txt"):
        (managed / "managed-settings.d" / name).write_text("{}")
    assert settings_layers(str(managed), "/home/u") == [
        "/home/u/.claude/settings.json", str(managed / "managed-settings.json"),
        str(managed / "managed-settings.d" / "10-a.json"), str(managed / "managed-settings.d" / "90-b.json")]
    assert settings_layers(str(tmp_path / "none")) == [str(tmp_path / "none" / "managed-settings.json")]


def test_dropin_after_managed_base_wins(tmp_path):
    """Drift guard: managed-settings.json is the base, managed-settings.d drop-ins merge on top in sorted
    order, and managed settings beat the user's own."""
    home, managed = tmp_path / "home", tmp_path / "etc"
    write(home / ".claude" / "settings.json", {"env": {"ANTHROPIC_BASE_URL": "https://user", "MINE": "1"},
                                               "apiKeyHelper": "/user/helper"})
    write(managed / "managed-settings.json", {"env": {"ANTHROPIC_BASE_URL": "https://base", "BASE": "1"},
                                              "apiKeyHelper": "/base/helper", "permissions": {"deny": ["A"]}})
    write(managed / "managed-settings.d" / "50-gw.json", {"env": {"ANTHROPIC_BASE_URL": "https://dropin-50"},
                                                          "permissions": {"deny": ["B", "A"]}})
    write(managed / "managed-settings.d" / "90-late.json", {"apiKeyHelper": "/late/helper"})
    write(managed / "managed-settings.d" / ".off.json", {"apiKeyHelper": "/hidden/helper"})
    settings, sources = read_settings(settings_layers(str(managed), str(home)))
    assert settings["env"] == {"ANTHROPIC_BASE_URL": "https://dropin-50", "MINE": "1", "BASE": "1"}
    assert settings["apiKeyHelper"] == "/late/helper"
    assert settings["permissions"] == {"deny": ["A", "B"]}
    assert [os.path.basename(s) for s in sources] == ["settings.json", "managed-settings.json", "50-gw.json",
                                                      "90-late.json"]


def test_merge_layers_values():
    assert merge_layers([{"a": {"b": 1, "c": [1]}}, {"a": {"c": [2, 1], "d": 2}}, {"a": {"b": "x"}}]) == \
        {"a": {"b": "x", "c": [1, 2], "d": 2}}
    assert merge_layers([{"a": {"b": 1}}, {"a": 3}]) == {"a": 3}
    assert merge_layers([{"a": ["x"], "b": "s"}, {"a": "yz", "b": ["t"]}]) == {"a": "yz", "b": ["t"]}
    assert merge_layers([]) == {}


def test_reader_refuses_invalid_json(tmp_path):
    (tmp_path / "s.json").write_text('{"env": ')
    with pytest.raises(FileFormatError, match="not valid JSON"):
        read_settings([str(tmp_path / "s.json")])
    (tmp_path / "s.json").write_bytes(b'{"a": "\xff"}')
    with pytest.raises(FileFormatError, match="s.json is not UTF-8 text"):
        read_settings([str(tmp_path / "s.json")])

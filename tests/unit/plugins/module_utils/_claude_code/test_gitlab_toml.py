# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A GitLab Runner config.toml: the writer's edits of one runner's environment, and the reader."""

from __future__ import absolute_import, division, print_function

import tomllib

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.errors import FileFormatError
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.gitlab_toml import (
    edit_gitlab_environment,
    gitlab_environment,
    gitlab_environment_text,
    gitlab_runner_env,
)

from .test_settings import SECRET

CONFIG = '''concurrent = 4
check_interval = 0

[session_server]
  session_timeout = 1800

# The build runner
[[runners]]
  name = "builds"
  url = "https://gitlab.example.com"
  token = "glrt-XXXX"
  executor = "shell"
  environment = [
    "FOO=bar",   # keep me
    "ANTHROPIC_BASE_URL=http://old",
  ]
  [runners.cache]
    MaxUploadedArchiveSize = 0

[[runners]]
  name = "docs"
  url = "https://gitlab.example.com"
  token = "glrt-YYYY"
  executor = "docker"
  [runners.docker]
    image = "debian:12"
    environment = ["NOT_THIS=1"]
'''


ENV = {"ANTHROPIC_BASE_URL": "https://gw", "ANTHROPIC_AUTH_TOKEN": SECRET, "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"}


def test_gitlab_multiline_environment_edited_line_by_line():
    new = edit_gitlab_environment(CONFIG, "builds", ENV)
    assert gitlab_environment(new, "builds") == ["FOO=bar", "ANTHROPIC_BASE_URL=https://gw",
                                                 "ANTHROPIC_AUTH_TOKEN=" + SECRET, "CLAUDE_CODE_SKIP_BEDROCK_AUTH=1"]
    assert '    "FOO=bar",   # keep me\n    "ANTHROPIC_BASE_URL=https://gw",\n' in new  # replaced in place
    assert '    "CLAUDE_CODE_SKIP_BEDROCK_AUTH=1",\n  ]\n' in new  # appended, same layout
    assert edit_gitlab_environment(new, "builds", ENV) == new
    removed = edit_gitlab_environment(new, "builds", ENV, "absent")
    assert removed == CONFIG.replace('    "ANTHROPIC_BASE_URL=http://old",\n', "")


def test_gitlab_multiline_roundtrip_is_byte_identical():
    text = '[[runners]]\n  name = "r"\n  environment = [\n    "GIT_DEPTH=10",\n  ]\n'
    new = edit_gitlab_environment(text, "r", ENV)
    assert gitlab_environment(new, "r")[0] == "GIT_DEPTH=10"
    assert edit_gitlab_environment(new, "r", ENV, "absent") == text
    empty = '[[runners]]\n  name = "r"\n  environment = [\n  ]\n'
    assert edit_gitlab_environment(edit_gitlab_environment(empty, "r", ENV), "r", ENV, "absent") == empty
    odd = '[[runners]]\n  name = "r"\n  environment = ["A=1",\n    "B=2"]\n'  # not one per line
    assert gitlab_environment(edit_gitlab_environment(odd, "r", {"C": "3"}), "r") == ["A=1", "B=2", "C=3"]
    odd = '[[runners]]\n  name = "r"\n  environment = [\n    "A=1",\n    "B=2"]\n'  # closed on an item's line
    assert gitlab_environment(edit_gitlab_environment(odd, "r", {"C": "3"}), "r") == ["A=1", "B=2", "C=3"]


def test_gitlab_add_environment_to_table_without_one_and_remove_it():
    new = edit_gitlab_environment(CONFIG, "docs", ENV)
    parsed = tomllib.loads(new)
    assert parsed["runners"][1]["environment"][0] == "ANTHROPIC_BASE_URL=https://gw"
    assert parsed["runners"][1]["docker"]["environment"] == ["NOT_THIS=1"]
    assert '  environment = ["ANTHROPIC_BASE_URL=https://gw"' in new  # indented like its table
    assert edit_gitlab_environment(new, "docs", ENV, "absent") == CONFIG  # byte-identical again


def test_gitlab_last_table_without_newline_at_end():
    text = '[[runners]]\n  name = "only"\n  executor = "shell"'
    new = edit_gitlab_environment(text, "only", {"A": "1"})
    assert tomllib.loads(new)["runners"][0]["environment"] == ["A=1"]


@pytest.mark.parametrize("name,match", [("nope", "no \\[\\[runners\\]\\] named 'nope'"), ("builds", "has 2")])
def test_gitlab_runner_name_errors(name, match):
    text = CONFIG if name == "nope" else CONFIG.replace('name = "docs"', 'name = "builds"')
    with pytest.raises(FileFormatError, match=match):
        edit_gitlab_environment(text, name, ENV)


def test_gitlab_invalid_toml():
    with pytest.raises(FileFormatError, match="not valid TOML"):
        edit_gitlab_environment("[[runners]\nname=", "x", ENV)


def test_write_then_read():
    text = edit_gitlab_environment(CONFIG, "builds", ENV)
    assert gitlab_runner_env(text, "builds") == dict(ENV, FOO="bar")
    assert gitlab_runner_env(text, "docs") == {}  # its docker table's environment is not the runner's
    assert gitlab_runner_env(text, "nope") is None
    assert gitlab_runner_env(edit_gitlab_environment(text, "builds", ENV, "absent"), "builds") == {"FOO": "bar"}
    added = edit_gitlab_environment(CONFIG, "docs", {"A": "x=y"})
    assert gitlab_runner_env(added, "docs") == {"A": "x=y"}
    assert gitlab_runner_env('[[runners]]\n  name = "r"\n  environment = ["A=1", "JUNK"]\n', "r") == {"A": "1"}


def test_gitlab_single_line_rewrite_keeps_foreign_entries_exactly():
    text = '[[runners]]\n  name = "r"\n  environment = ["Q=say \\"hi\\"", "W=c:\\\\dir"]\n'
    new = edit_gitlab_environment(text, "r", {"A": "1"})
    assert gitlab_environment(new, "r") == ['Q=say "hi"', "W=c:\\dir", "A=1"]
    assert edit_gitlab_environment(new, "r", {"A": "1"}, "absent") == text


def test_gitlab_multiline_array_with_comments_gets_a_comma_before_appended_entries():
    text = '[[runners]]\n  name = "r"\n  environment = [  # ours below\n\n    "A=1"  # last\n    # end\n  ]\n'
    new = edit_gitlab_environment(text, "r", {"B": "2"})
    assert gitlab_environment(new, "r") == ["A=1", "B=2"]
    assert '  environment = [  # ours below\n\n    "A=1",' in new and '# last\n    "B=2",\n    # end\n  ]\n' in new


@pytest.mark.parametrize("text, match", [
    ('[[runners]]\n  name = "r"\n  environment = [1]\n', "environment of runner 'r' is not a list of strings"),
    ('runners = [{name = "r"}]\n', "names runner 'r' in a form this edit does not handle"),
])
def test_gitlab_forms_the_edit_refuses(text, match):
    with pytest.raises(FileFormatError, match=match):
        edit_gitlab_environment(text, "r", {"A": "1"})


def test_gitlab_multiline_removal_keeps_the_entries_after_ours():
    text = '[[runners]]\n  name = "r"\n  environment = [\n    "A=1",\n    "A=2",\n    "KEEP=1",\n  ]\n'
    assert edit_gitlab_environment(text, "r", {"A": "1"}, "absent") == \
        '[[runners]]\n  name = "r"\n  environment = [\n    "KEEP=1",\n  ]\n'
    assert edit_gitlab_environment(text, "r", {"A": "3"}) == \
        '[[runners]]\n  name = "r"\n  environment = [\n    "A=3",\n    "KEEP=1",\n  ]\n'


def test_gitlab_new_environment_goes_after_the_tables_last_key():
    text = '[[runners]]\n  name = "r"\n\n# next\n'
    assert edit_gitlab_environment(text, "r", {"A": "1"}) == '[[runners]]\n  name = "r"\n  environment = ["A=1"]\n\n# next\n'


def test_gitlab_appends_to_an_empty_array_indented_under_its_key():
    text = '[[runners]]\n  name = "r"\n  environment = [\n]\n'
    assert edit_gitlab_environment(text, "r", {"A": "1"}) == '[[runners]]\n  name = "r"\n  environment = [\n    "A=1",\n]\n'


def test_gitlab_refuses_what_its_line_reader_cannot_read():
    """A key line inside a multi-line string is not a key: the edit refuses (naming the line) rather than guess."""
    text = '[[runners]]\n  name = "r"\n  pre_build_script = """\nenvironment = [\n"""\n'
    with pytest.raises(FileFormatError, match="cannot read the 'environment' value at line 4"):
        edit_gitlab_environment(text, "r", {"A": "1"})


def test_gitlab_environment_text_shows_one_runner():
    assert gitlab_environment_text(CONFIG, "builds") == \
        '# [[runners]] "builds"\nenvironment = [\n  "FOO=bar",\n  "ANTHROPIC_BASE_URL=http://old",\n]\n'
    assert gitlab_environment_text(CONFIG, "docs") == ""
    assert gitlab_environment_text("  \n", "builds") == gitlab_environment_text("[[runners", "builds") == ""


def test_gitlab_unknown_runner_lists_the_registered_ones():
    with pytest.raises(FileFormatError, match=r"no \[\[runners\]\] named 'nope' \(runners: 'builds', 'docs'\)"):
        edit_gitlab_environment(CONFIG, "nope", ENV)
    with pytest.raises(FileFormatError, match=r"no \[\[runners\]\] named 'nope' \(runners: none\)"):
        edit_gitlab_environment("concurrent = 1\n", "nope", ENV)


def test_gitlab_last_item_without_comma_gets_one_even_with_commas_inside():
    """The comma after the last item is looked for after its string, not in the string or in a comment."""
    text = '[[runners]]\n  name = "only"\n  environment = [\n    "X=1,2"  # note, with a comma\n  ]\n'
    new = edit_gitlab_environment(text, "only", {"A": "1"})
    assert tomllib.loads(new)["runners"][0]["environment"] == ["X=1,2", "A=1"]


def test_gitlab_empty_multiline_array_gets_its_items_inside():
    text = '[[runners]]\n  name = "only"\n  environment = [\n  ]\n'
    new = edit_gitlab_environment(text, "only", {"A": "1"})
    assert tomllib.loads(new)["runners"][0]["environment"] == ["A=1"]
    assert new.index("environment = [") < new.index('"A=1"')


def test_gitlab_empty_multiline_array_items_go_first_above_its_comments():
    """A comment left in an empty array (a note, a commented-out item) stays below what we add, untouched."""
    text = '[[runners]]\n  name = "only"\n  environment = [\n    # "OLD=1",\n  ]\n'
    new = edit_gitlab_environment(text, "only", {"A": "1"})
    assert new == '[[runners]]\n  name = "only"\n  environment = [\n    "A=1",\n    # "OLD=1",\n  ]\n'

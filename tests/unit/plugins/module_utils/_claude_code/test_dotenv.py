# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KEY=VALUE environment files: the writer's edits, and what the reader reads back."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.dotenv import dotenv_lines, edit_dotenv, parse_dotenv
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.errors import FileFormatError

from .test_settings import SECRET


def test_dotenv_edit():
    text = "LANG=C.UTF-8\n# comment\nANTHROPIC_BASE_URL=old\nJAVA_HOME=/j"
    new = edit_dotenv(text, {"ANTHROPIC_BASE_URL": "https://gw", "ANTHROPIC_AUTH_TOKEN": SECRET})
    assert new == "LANG=C.UTF-8\n# comment\nANTHROPIC_BASE_URL=https://gw\nJAVA_HOME=/j\nANTHROPIC_AUTH_TOKEN=%s\n" % SECRET
    assert edit_dotenv(new, {"ANTHROPIC_BASE_URL": "https://gw", "ANTHROPIC_AUTH_TOKEN": SECRET}) == new
    assert edit_dotenv(new, {"ANTHROPIC_BASE_URL": "", "ANTHROPIC_AUTH_TOKEN": ""}, "absent") == \
        "LANG=C.UTF-8\n# comment\nJAVA_HOME=/j\n"
    assert edit_dotenv("A=1\nA=2\n", {"A": "3"}) == "A=3\n"


@pytest.mark.parametrize("value", ["a\nb", "a'b", ' a', "a\\b"])
def test_dotenv_refuses_ambiguous_values(value):
    with pytest.raises(FileFormatError, match="the value of X has a newline, quote, backslash or surrounding blanks"):
        edit_dotenv("", {"X": value})


def test_dotenv_refuses_invalid_names():
    with pytest.raises(FileFormatError, match="invalid variable name 'BAD-NAME'. Fix: use letters"):
        edit_dotenv("", {"BAD-NAME": "1"})


def test_write_then_read():
    env = {"ANTHROPIC_BASE_URL": "https://gw", "ANTHROPIC_AUTH_TOKEN": SECRET, "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"}
    text = edit_dotenv("LANG=C.UTF-8\n# a comment\nexport JAVA_HOME=/j\nANTHROPIC_BASE_URL=old", env)
    assert parse_dotenv(text) == dict(env, LANG="C.UTF-8", JAVA_HOME="/j")
    assert parse_dotenv(edit_dotenv(text, env, "absent")) == {"LANG": "C.UTF-8", "JAVA_HOME": "/j"}
    assert parse_dotenv("A=1\nA=2=3\n") == {"A": "2=3"}


def test_dotenv_edit_line_ends():
    """A newline is added before appended variables only; an untouched last line keeps its end."""
    assert edit_dotenv("", {"X": "1"}) == "X=1\n"
    assert edit_dotenv("A=1\nB=2", {"A": "1"}) == "A=1\nB=2"
    assert edit_dotenv("A=1\nB=2", {"C": "3"}) == "A=1\nB=2\nC=3\n"


def test_dotenv_lines_show_only_the_named_variables():
    text = "LANG=C\nexport TOKEN=t\n# TOKEN=c\nURL=u"
    assert dotenv_lines(text, ["TOKEN", "URL"]) == "export TOKEN=t\nURL=u\n"
    assert dotenv_lines(text, []) == ""
    assert dotenv_lines("A=1\r\nB=2\r\n", ["A"]) == "A=1\r\n"  # lines as the file has them

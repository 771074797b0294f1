# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KEY=VALUE environment files: the writer's edits, and what the reader reads back."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.dotenv import edit_dotenv, parse_dotenv
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
    with pytest.raises(FileFormatError):
        edit_dotenv("", {"X": value})


def test_write_then_read():
    env = {"ANTHROPIC_BASE_URL": "https://gw", "ANTHROPIC_AUTH_TOKEN": SECRET, "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"}
    text = edit_dotenv("LANG=C.UTF-8\n# a comment\nexport JAVA_HOME=/j\nANTHROPIC_BASE_URL=old", env)
    assert parse_dotenv(text) == dict(env, LANG="C.UTF-8", JAVA_HOME="/j")
    assert parse_dotenv(edit_dotenv(text, env, "absent")) == {"LANG": "C.UTF-8", "JAVA_HOME": "/j"}
    assert parse_dotenv("A=1\nA=2=3\n") == {"A": "2=3"}

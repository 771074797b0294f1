# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What diffs may show of a client's files (the names and files of a whole config: tests/unit/plugins/modules/test_diff_masking.py)."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.masking import (
    is_secret_name,
    mask_text,
    secret_value,
)


@pytest.mark.parametrize("value, shown", [
    (None, False), (True, False), (False, False), ("", False), (" 1 ", False), ('"true"', False), ("'off'", False),
    ("YES", False), ("s3cret", True), (0, False), (12, True),
])
def test_flag_values_are_not_secrets(value, shown):
    assert secret_value(value) is shown


def test_short_words_count_only_as_words_of_their_own():
    assert is_secret_name("GH_PAT") and is_secret_name("db_pw") and not is_secret_name("PATH")
    assert not is_secret_name("APIKEYHELPER")  # the role's helper command, in any case


def test_mask_text_named_variables_and_known_values():
    text = 'PLAIN=visible\nTOKEN_LIKE=1\nexport "quoted"=q\nURL=https://gw/abcdef\nenvironment = ["MINE=m1"]\n'
    masked = mask_text(text, secret_names=("PLAIN", "quoted", "MINE"), secret_values=("abc", "abcdef", ""))
    assert masked == 'PLAIN=********\nTOKEN_LIKE=1\nexport "quoted"=********\nURL=https://gw/********\n' \
        'environment = ["MINE=********"]\n'


def test_mask_text_array_items_judged_by_their_own_value():
    """In a TOML array item "NAME=value", a flag under a secret-looking name stays shown, a real value is masked."""
    text = 'environment = ["CLAUDE_CODE_SKIP_BEDROCK_AUTH=1", "GH_TOKEN=", "API_KEY=s3cret"]\n'
    assert mask_text(text) == 'environment = ["CLAUDE_CODE_SKIP_BEDROCK_AUTH=1", "GH_TOKEN=", "API_KEY=********"]\n'

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What diffs and results may show of a client's files: secrets masked whatever their name."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MASK = "********"

# Diffs show only what a task edits, with secrets masked. A name is secret-looking when it holds one of
# these parts (any case: GH_TOKEN, AccountKey, SecretKey, Authorization, access_key), or one of the short
# words as a word of its own (GH_PAT, but not PATH).
SECRET_NAME_PARTS = ("token", "secret", "password", "passwd", "passphrase", "credential", "auth", "key", "cert",
                     "private", "session", "cookie", "bearer", "signature", "dsn")
SECRET_NAME_WORDS = ("pat", "pw", "pwd", "pass", "sas", "otp", "jwt")
# Names that look secret but hold none: a command path and a duration the role sets.
NOT_SECRET_NAMES = ("apikeyhelper", "claude_code_api_key_helper_ttl_ms")
# Flag values are shown even under a secret-looking name (CLAUDE_CODE_SKIP_BEDROCK_AUTH=1).
FLAG_VALUES = ("", "0", "1", "true", "false", "yes", "no", "on", "off")
_NAME_WORDS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
URL_PASSWORD = re.compile(r"(://[^/\s:@\"']+:)[^/\s@\"']+@")


def is_secret_name(name):
    """True for a key or variable name whose value should not be shown (see SECRET_NAME_PARTS)."""
    name = str(name)
    lowered = name.lower()
    if lowered in NOT_SECRET_NAMES:
        return False
    return any(part in lowered for part in SECRET_NAME_PARTS) or \
        any(word.lower() in SECRET_NAME_WORDS for word in _NAME_WORDS.findall(name))


def secret_value(value):
    """A value worth masking under a secret-looking name: not a flag, not empty."""
    if value is None or isinstance(value, bool):
        return False
    return str(value).strip().strip('"\'').lower() not in FLAG_VALUES


# KEY=value (dotenv), key = value and "key" = value (TOML); not a "NAME=value" string in an array.
_ASSIGNMENT = re.compile(r'^(\s*(?:export\s+)?(?:"([A-Za-z_][A-Za-z0-9_.-]*)"|([A-Za-z_][A-Za-z0-9_.-]*))\s*=\s*)(.+)$',
                         re.M)
_QUOTED_ASSIGNMENT = re.compile(r'"([A-Za-z_][A-Za-z0-9_]*)=([^"]*)"')


def mask_text(text, secret_names=(), secret_values=()):
    """Mask secrets in an environment file or config.toml for a diff: values of the given variables,
    values whose name looks secret (``token = ...``, ``GH_PAT=...``, ``AccountKey = ...``), passwords in
    URLs, and any known secret value."""
    def secret(name, value):
        return name in secret_names or (is_secret_name(name) and secret_value(value))

    text = _QUOTED_ASSIGNMENT.sub(lambda m: '"%s=%s"' % (m.group(1), MASK) if secret(m.group(1), m.group(2))
                                  else m.group(0), text)
    text = _ASSIGNMENT.sub(lambda m: m.group(1) + MASK if secret(m.group(2) or m.group(3), m.group(4))
                           else m.group(0), text)
    text = URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)
    for value in sorted((v for v in secret_values if v), key=len, reverse=True):
        text = text.replace(value, MASK)
    return text

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""KEY=VALUE environment files (a GitHub Actions runner's .env, a systemd EnvironmentFile): writer and reader."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.errors import FileFormatError

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_DOTENV_LINE = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def check_env_value(name, value):
    """Values both the GitHub runner (raw) and systemd (unquoting) read the same way."""
    if not ENV_NAME.match(name):
        raise FileFormatError("invalid variable name %r. Fix: use letters, digits and underscores" % name)
    value = str(value)
    if re.search(r"[\r\n\0\"'\\]", value) or value != value.strip():
        raise FileFormatError("the value of %s has a newline, quote, backslash or surrounding blanks, which "
                              "environment files do not carry the same way in every reader. Fix: give a "
                              "one-line value without them" % name)
    return value


def edit_dotenv(text, env, state="present"):
    """Set (or remove) ``env``'s variables in KEY=VALUE text; other lines are kept as they are."""
    lines = text.splitlines(True)
    out, done = [], set()
    for line in lines:
        match = _DOTENV_LINE.match(line)
        name = match.group(1) if match else None
        if name in env:
            if state == "present" and name not in done:
                out.append("%s=%s\n" % (name, check_env_value(name, env[name])))
                done.add(name)
            continue  # removed, or a duplicate of a line already written
        out.append(line)
    if state == "present":
        missing = [n for n in env if n not in done]
        if missing and out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        for name in missing:
            out.append("%s=%s\n" % (name, check_env_value(name, env[name])))
    return "".join(out)


def parse_dotenv(text):
    """The variables ``text`` sets, as the runner reads them: the raw value after the first ``=`` (the writer
    never quotes; a later line for the same name wins)."""
    env = {}
    for line in text.splitlines():
        match = _DOTENV_LINE.match(line)
        if match:
            env[match.group(1)] = line.split("=", 1)[1]
    return env


def dotenv_lines(text, names):
    """Only the lines of ``text`` that set one of ``names``: what a diff shows of an environment file."""
    return "".join(line if line.endswith("\n") else line + "\n" for line in text.splitlines(True)
                   if _DOTENV_LINE.match(line) and _DOTENV_LINE.match(line).group(1) in names)

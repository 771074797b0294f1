# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``environment`` of a [[runners]] table in a GitLab Runner config.toml: writer and reader."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.dotenv import check_env_value
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.errors import FileFormatError

try:
    import tomllib
except ImportError:  # pragma: no cover - Python < 3.11 on a managed host
    tomllib = None

_TOML_HEADER = re.compile(r"^\s*\[")
_TOML_RUNNERS = re.compile(r"^\s*\[\[\s*runners\s*\]\]\s*(#.*)?$")
_TOML_KEY = re.compile(r"^\s*([A-Za-z0-9_-]+|\"[^\"]*\")\s*=")


def _toml_loads(text):
    if tomllib is None:
        raise FileFormatError("editing GitLab Runner config.toml needs Python 3.11+ (tomllib) on the host. "
                              "Fix: run the module with a Python 3.11+ interpreter")
    return tomllib.loads(text)


def _toml_value(line_text, what):
    return _toml_loads("v = " + line_text)["v"]


def _toml_string(value):
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"%s"' % escaped


def _runner_tables(lines):
    """(start, end) line ranges of each top-level [[runners]] table (up to its first sub-table)."""
    tables, start = [], None
    for idx, line in enumerate(lines):
        if _TOML_HEADER.match(line):
            if start is not None:
                tables.append((start, idx))
                start = None
            if _TOML_RUNNERS.match(line):
                start = idx
    if start is not None:
        tables.append((start, len(lines)))
    return tables


def _key_span(lines, start, end, key):
    """(first, last+1) lines of ``key = value`` inside a table, multi-line arrays included, or None."""
    for idx in range(start + 1, end):
        match = _TOML_KEY.match(lines[idx])
        if not match or match.group(1).strip('"') != key:
            continue
        value_text = lines[idx].split("=", 1)[1]
        for last in range(idx, end):
            if last > idx:
                value_text += lines[last]
            try:
                return idx, last + 1, _toml_value(value_text, key)
            except Exception:  # not complete yet: a multi-line array goes on
                continue
        raise FileFormatError("cannot read the '%s' value at line %d. Fix: check the file's TOML" % (key, idx + 1))
    return None


def edit_gitlab_environment(text, runner_name, env, state="present"):
    """Set (or remove) ``env`` in the ``environment`` of the [[runners]] table named ``runner_name``.

    Only that table's ``environment`` line(s) change; every other byte of the file is kept. The result is
    re-parsed to prove the edit did what it should and nothing else.
    """
    try:
        before = _toml_loads(text)
    except FileFormatError:
        raise
    except Exception as exc:
        raise FileFormatError("config.toml is not valid TOML (%s); it was left untouched. Fix: repair it" % exc)
    names = [r.get("name") for r in before.get("runners", []) if isinstance(r, dict)]
    if names.count(runner_name) != 1:
        problem = "has no [[runners]] named %r" % runner_name if runner_name not in names else \
            "has %d [[runners]] named %r" % (names.count(runner_name), runner_name)
        raise FileFormatError("config.toml %s (runners: %s); it was left untouched. Fix: set "
                              "claude_code_gitlab_runner_name to the name of a registered runner"
                              % (problem, ", ".join(repr(n) for n in names) or "none"))
    lines = text.splitlines(True)
    table = None
    for start, end in _runner_tables(lines):
        span = _key_span(lines, start, end, "name")
        if span and span[2] == runner_name:
            table = (start, end)
    if table is None:
        raise FileFormatError("config.toml names runner %r in a form this edit does not handle (e.g. an inline "
                              "table). Fix: use a [[runners]] table with name = \"...\"" % runner_name)
    span = _key_span(lines, table[0], table[1], "environment")
    current = list(span[2]) if span else []
    if not all(isinstance(item, str) for item in current):
        raise FileFormatError("the environment of runner %r is not a list of strings. Fix: repair it" % runner_name)
    new = _merge_env_list(current, env, state)
    if new == current:
        return text
    multi = _edit_multiline_array(lines[span[0]:span[1]], env, state) if span and span[1] - span[0] > 1 else None
    if multi is not None:
        # One element per line: edit those lines only, so removing our entries restores the original text.
        lines[span[0]:span[1]] = multi
    elif span:
        indent = re.match(r"^[ \t]*", lines[span[0]]).group(0)
        # An array that held only our entries goes away with them (the role added it).
        lines[span[0]:span[1]] = ["%senvironment = [%s]\n" % (indent, ", ".join(_toml_string(i) for i in new))] \
            if new else []
    else:
        indent = re.match(r"^[ \t]*", lines[_key_span(lines, table[0], table[1], "name")[0]]).group(0)
        # After the table's last key line, so comments and blank lines that follow stay where they are.
        last_key = max([i for i in range(table[0] + 1, table[1]) if _TOML_KEY.match(lines[i])] or [table[0]])
        last = _key_span(lines, table[0], table[1], _TOML_KEY.match(lines[last_key]).group(1).strip('"'))[1] \
            if last_key > table[0] else table[0] + 1
        if lines[last - 1] and not lines[last - 1].endswith("\n"):
            lines[last - 1] += "\n"
        lines.insert(last, "%senvironment = [%s]\n" % (indent, ", ".join(_toml_string(i) for i in new)))
    result = "".join(lines)
    _check_gitlab_edit(before, _toml_loads(result), runner_name, new)
    return result


def _merge_env_list(current, env, state):
    """Our entries replaced in place (present) or dropped (absent); missing ones appended."""
    out, done = [], set()
    for item in current:
        name = item.split("=", 1)[0]
        if name in env:
            if state == "present" and name not in done:
                out.append("%s=%s" % (name, check_env_value(name, env[name])))
                done.add(name)
            continue
        out.append(item)
    if state == "present":
        out.extend("%s=%s" % (n, check_env_value(n, v)) for n, v in env.items() if n not in done)
    return out


_ARRAY_OPEN = re.compile(r"^[ \t]*environment[ \t]*=[ \t]*\[[ \t]*(#.*)?\n?$")
_ARRAY_CLOSE = re.compile(r"^[ \t]*\][ \t]*(#.*)?\n?$")
_ARRAY_ITEM = re.compile(r'^([ \t]*)("(?:[^"\\]|\\.)*")([ \t]*,?)(.*\n?)$')
_BLANK_OR_COMMENT = re.compile(r"^[ \t]*(#.*)?\n?$")


def _edit_multiline_array(block, env, state):
    """Edit an array written one string per line; None when it is laid out any other way."""
    if not (_ARRAY_OPEN.match(block[0]) and _ARRAY_CLOSE.match(block[-1])):
        return None
    out, done, last_item = [block[0]], set(), None
    for line in block[1:-1]:
        match = _ARRAY_ITEM.match(line)
        if not match:
            if not _BLANK_OR_COMMENT.match(line):
                return None
            out.append(line)
            continue
        name = _toml_value(match.group(2), "environment").split("=", 1)[0]
        if name in env:
            if state == "absent" or name in done:
                continue
            line = "%s%s%s%s" % (match.group(1), _toml_string("%s=%s" % (name, check_env_value(name, env[name]))),
                                 match.group(3), match.group(4))
            done.add(name)
        out.append(line)
        last_item = len(out) - 1
    missing = [n for n in env if n not in done] if state == "present" else []
    if missing:
        if last_item is not None:
            match = _ARRAY_ITEM.match(out[last_item])
            indent = match.group(1)
            if "," not in match.group(3):
                out[last_item] = "%s%s,%s" % (match.group(1), match.group(2), match.group(4))
        else:
            indent = re.match(r"^[ \t]*", block[0]).group(0) + "  "
        insert_at = (last_item + 1) if last_item is not None else 1
        for offset, name in enumerate(missing):
            out.insert(insert_at + offset, "%s%s,\n" % (indent, _toml_string("%s=%s" % (name, check_env_value(name, env[name])))))
    out.append(block[-1])
    return out


def _check_gitlab_edit(before, after, runner_name, environment):
    for b_runner, a_runner in zip(before.get("runners", []), after.get("runners", [])):
        b_runner, a_runner = dict(b_runner), dict(a_runner)
        if b_runner.get("name") == runner_name:
            got = a_runner.pop("environment", [])
            b_runner.pop("environment", None)
            if got != environment:
                raise FileFormatError("internal check failed: the edited environment does not read back")
        if a_runner != b_runner:
            raise FileFormatError("internal check failed: the edit changed another setting; file left untouched")
    before = dict(before, runners=None)
    after = dict(after, runners=None)
    if before != after or len(before) != len(after):
        raise FileFormatError("internal check failed: the edit changed another setting; file left untouched")


def gitlab_environment(text, runner_name):
    """The environment list of a named runner (for checks and results)."""
    for runner in _toml_loads(text).get("runners", []):
        if runner.get("name") == runner_name:
            return list(runner.get("environment", []))
    return None


def gitlab_runner_env(text, runner_name):
    """The variables a named runner gives its jobs ({NAME: value}, a later entry wins), or None without
    that runner."""
    environment = gitlab_environment(text, runner_name)
    if environment is None:
        return None
    return dict(item.split("=", 1) for item in environment if isinstance(item, str) and "=" in item)


def gitlab_environment_text(text, runner_name):
    """The ``environment`` of one runner of a config.toml, one entry a line: what a diff shows of it."""
    try:
        environment = gitlab_environment(text, runner_name) if text.strip() else None
    except Exception:  # unreadable: show nothing of it
        environment = None
    if not environment:
        return ""
    return "# [[runners]] %s\nenvironment = [\n%s]\n" % (_toml_string(runner_name), "".join(
        "  %s,\n" % _toml_string(str(item)) for item in environment))

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Claude Code settings files (JSON): the merge a task writes, and the effective settings Claude Code reads."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json
import os

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.errors import FileFormatError
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.masking import (
    MASK,
    URL_PASSWORD,
    is_secret_name,
    secret_value,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.safe_file import read_file


def leaf_paths(data, prefix=()):
    """Every path to a non-dict value (or an empty dict) in ``data``, as tuples."""
    paths = []
    for key, value in data.items():
        if isinstance(value, dict) and value:
            paths.extend(leaf_paths(value, prefix + (key,)))
        else:
            paths.append(prefix + (key,))
    return paths


def parse_settings(text, path="settings file"):
    """Parse a settings file's text; an empty file is an empty object."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FileFormatError("%s is not valid JSON (%s); it was left untouched. Fix: repair the JSON or move the "
                              "file away, then run again" % (path, exc))
    if not isinstance(data, dict):
        raise FileFormatError("%s holds a JSON %s, not an object; it was left untouched. Fix: make it a JSON object "
                              "({...}) or move it away" % (path, type(data).__name__))
    return data


def merge_settings(existing, owned):
    """Deep-merge ``owned`` into a copy of ``existing``; every other key is kept, in place."""
    result = copy.deepcopy(existing)
    for key, value in owned.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge_settings(result[key], value)
        else:
            result[key] = copy.deepcopy(value)
    return result


def remove_settings(existing, owned, match_values=False):
    """Remove the leaf keys of ``owned`` from a copy of ``existing``; drop objects this empties.

    With ``match_values``, a key given with a value other than None is removed only if the file holds that
    value (so a user's own apiKeyHelper survives); None removes the key whatever it holds.
    """
    result = copy.deepcopy(existing)
    for key, value in owned.items():
        if key not in result:
            continue
        if isinstance(value, dict) and value and isinstance(result[key], dict):
            had_keys = bool(result[key])
            result[key] = remove_settings(result[key], value, match_values)
            if had_keys and not result[key]:
                del result[key]
        elif not match_values or value is None or result[key] == value:
            del result[key]
    return result


def dump_settings(data):
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def pick_settings(data, paths):
    """Only the keys at ``paths`` (tuples) that ``data`` holds, nested as in ``data``: what a diff shows of a
    settings file (the rest of a user's file is none of the task's business)."""
    out = {}
    for path in paths:
        node = data
        for key in path:
            if not isinstance(node, dict) or key not in node:
                break
            node = node[key]
        else:
            target = out
            for key in path[:-1]:
                target = target.setdefault(key, {})
            # An owned object stands for its presence only, not for every key it holds.
            target[path[-1]] = {} if isinstance(node, dict) else copy.deepcopy(node)
    return out


def mask_settings(data, secret_paths=(), secret_values=()):
    """Copy of ``data`` with secret values replaced, for diffs and results: the given paths, known secret
    values, values under a secret-looking key (and everything below it), and passwords in URLs."""
    secret_paths = set(tuple(p) for p in secret_paths)
    secret_values = set(v for v in secret_values if isinstance(v, str) and v)

    def walk(node, prefix, inherited):
        out = {}
        for key, value in node.items():
            here = prefix + (key,)
            secret = inherited or here in secret_paths or is_secret_name(key)
            if isinstance(value, dict):
                out[key] = walk(value, here, secret)
            elif (here in secret_paths or (isinstance(value, str) and value in secret_values)
                  or (secret and (isinstance(value, (list, dict)) or secret_value(value)))):
                out[key] = MASK
            elif isinstance(value, str):
                out[key] = URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", value)
            else:
                out[key] = value
        return out
    return walk(data, (), False)


# --------------------------------------------------------------------------------------------------
# Reading: the settings Claude Code ends up with for one user
# --------------------------------------------------------------------------------------------------

def settings_layers(managed_dir, home=None):
    """Claude Code's settings files for a user, lowest precedence first: ``~/.claude/settings.json``, then
    ``managed-settings.json`` (the managed base), then the ``managed-settings.d/*.json`` drop-ins in sorted
    order, merged on top of it (hidden files are skipped)."""
    layers = [os.path.join(home, ".claude", "settings.json")] if home else []
    layers.append(os.path.join(managed_dir, "managed-settings.json"))
    dropins = os.path.join(managed_dir, "managed-settings.d")
    try:
        names = sorted(n for n in os.listdir(dropins) if n.endswith(".json") and not n.startswith("."))
    except OSError:  # no drop-in directory
        names = []
    return layers + [os.path.join(dropins, name) for name in names]


def merge_layers(layers):
    """One settings object from ``layers`` (lowest precedence first), merged as Claude Code merges its files:
    objects key by key, arrays concatenated without repeats, any other value taken from the later file."""
    def merge(low, high):
        if isinstance(low, dict) and isinstance(high, dict):
            out = dict(low)
            for key, value in high.items():
                out[key] = merge(out[key], value) if key in out else copy.deepcopy(value)
            return out
        if isinstance(low, list) and isinstance(high, list):
            return low + [item for item in high if item not in low]
        return copy.deepcopy(high)

    result = {}
    for layer in layers:
        result = merge(result, layer)
    return result


def read_settings(paths):
    """(effective settings, files that held settings) for ``paths`` (lowest precedence first). A missing file
    counts as empty; invalid JSON or an unsafe link raises (FileFormatError, SafeFileError)."""
    layers, sources = [], []
    for path in paths:
        data = read_file(path)
        if data is None:
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise FileFormatError("%s is not UTF-8 text. Fix: repair it" % path)
        layers.append(parse_settings(text, path))
        sources.append(path)
    return merge_layers(layers), sources

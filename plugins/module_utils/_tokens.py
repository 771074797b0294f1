# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Gateway token generation and the gateway_token module's ensure/rotate/retire logic."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import secrets
import string

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import RETIRE_MODES, SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    BadConfiguration,
    InvalidFormat,
    SecretNotFound,
)

ALPHABET = string.ascii_letters + string.digits
MASK = "********"
MIN_LENGTH = 24


def _control_characters(text):
    """The control characters in ``text`` (C0, DEL, C1, Unicode line and paragraph separators), as names."""
    return sorted(set("U+%04X" % ord(c) for c in text
                      if ord(c) < 32 or 127 <= ord(c) < 160 or c in u"\u2028\u2029"))


def check_token_text(backend, name, text, what):
    """Refuse a token (or prefix) a client could not send as given: control characters, or whitespace at
    either end (a trailing newline from a file, a pasted tab). The message names the characters by code
    point, never the value."""
    found = _control_characters(text)
    if found:
        raise BadConfiguration(backend, name, "%s contains control characters (%s)" % (what, ", ".join(found)),
                               "remove them (a trailing newline from a file? use '| trim')")
    if text != text.strip():
        raise BadConfiguration(backend, name, "%s starts or ends with whitespace" % what,
                               "remove the blanks around the token (e.g. '| trim')")


def generate_token(length=48, prefix="sk-"):
    """A random token: ``prefix`` plus ``length`` characters from [A-Za-z0-9] (about 5.95 bits each)."""
    if length < MIN_LENGTH:
        raise BadConfiguration("token", "", "length %d is too short for a gateway token" % length,
                               "set length to 24 or more (48 is the default)")
    return prefix + "".join(secrets.choice(ALPHABET) for _index in range(length))


def _current_raw(backend, name):
    try:
        return backend.read(SecretRef(name))
    except SecretNotFound:
        return None


def _merge_field(backend, name, raw, field, value):
    """The whole JSON secret with ``field`` set to ``value`` (write through a field)."""
    data = {}
    if raw is not None:
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise InvalidFormat(backend.name, "%s#%s" % (name, field), "cannot set field '%s': the stored secret is "
                                "not a JSON object" % field, "drop 'field' or store a JSON object in this secret")
    data[field] = value
    return json.dumps(data, sort_keys=True)


def _token_texts(value):
    """What in ``value`` is a token: the value itself, or each string of a JSON object (a whole JSON
    secret written back, e.g. by a rotation's restore, may be pretty-printed)."""
    if value.lstrip().startswith("{"):
        try:
            data = json.loads(value)
        except ValueError:
            data = None
        if isinstance(data, dict):
            return [("field '%s' of the JSON object in 'value'" % key, text) for key, text in sorted(data.items())
                    if isinstance(text, str)]
    return [("the token in 'value'", value)]


def validate_params(backend, params):
    """Every check of the gateway_token parameters, run before the store is read or written."""
    name = params["name"]
    value, generate = params.get("value"), params.get("generate")
    if value is None and not generate:
        raise BadConfiguration(backend.name, name, "neither 'value' nor 'generate' is set",
                               "pass the token in 'value' (no_log) or set 'generate: true'")
    if value is not None:
        if not isinstance(value, str) or value == "":
            raise BadConfiguration(backend.name, name, "the value to store must be a non-empty string",
                                   "pass a string in 'value' or use 'generate'")
        for what, text in _token_texts(value):
            check_token_text(backend.name, name, text, what)
    if generate:
        length = params.get("length")
        length = 48 if length is None else int(length)
        if length < MIN_LENGTH:
            raise BadConfiguration("token", name, "length %d is too short for a gateway token" % length,
                                   "set length to %d or more (48 is the default)" % MIN_LENGTH)
        check_token_text(backend.name, name, params.get("prefix") or "", "the 'prefix'")
    if params.get("retire") is not None and int(params["retire"]) < 1:
        raise BadConfiguration(backend.name, name, "'retire' must keep at least 1 version", "set retire to 1 or more")
    if (params.get("retire_mode") or "disable") not in RETIRE_MODES:
        raise BadConfiguration(backend.name, name, "unknown retire mode '%s'" % params.get("retire_mode"),
                               "use one of: %s" % ", ".join(RETIRE_MODES))


def ensure_token(backend, params, check_mode=False):
    """Apply the gateway_token module's parameters to ``backend``. Returns (result, value or None).

    Every parameter is validated first: a refused task reads and writes nothing."""
    validate_params(backend, params)
    name, field = params["name"], params.get("field")
    value, generate, rotate = params.get("value"), params.get("generate"), params.get("rotate")
    current = _current_raw(backend, name)
    current_value = current.value if current is not None else None
    if field and current_value is not None:
        try:
            current_value = backend.read(SecretRef(name, field=field)).value
        except InvalidFormat:
            current_value = None

    if value is None:
        needed = current_value is None or rotate
        new_value = generate_token(params.get("length") or 48, params.get("prefix") or "") if needed and not check_mode else None
    else:
        needed = current_value != value
        new_value = value

    if needed and check_mode:
        # A store may refuse a write now (AWS mid-rotation); its write runs this check itself.
        backend.check_writable(name)
    # In check mode a pending write's version id is not known yet: "version" is null then (as documented),
    # and the current version when nothing is to be written (it stays the current one).
    result = {"changed": bool(needed), "name": name, "backend": backend.name,
              "previous_version": current.version if current is not None else None,
              "version": None if (needed and check_mode) or current is None else current.version,
              "created": current is None and bool(needed), "retired": []}
    if needed and not check_mode:
        stored = _merge_field(backend, name, current.value if current else None, field, new_value) if field else new_value
        result["version"] = backend.write(name, stored)
    if params.get("retire") is not None:
        keep, mode = int(params["retire"]), params.get("retire_mode") or "disable"
        # The prediction and the real run share the store's one retire plan (SecretBackend.retire_plan).
        if check_mode:
            result["retired"] = backend.predict_retire(name, keep, mode, pending_write=needed)
        else:
            result["retired"] = backend.retire(name, keep, mode)
        result["changed"] = result["changed"] or bool(result["retired"])
    result["diff"] = {
        "before": {"version": result["previous_version"], "value": MASK if current is not None else None},
        "after": {"version": result["version"] if not (needed and check_mode) else "(new version)",
                  "value": MASK if (current is not None or needed) else None},
    }
    return result, (new_value if needed else current_value)

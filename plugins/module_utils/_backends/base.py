# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SecretBackend interface shared by every store.

A backend stores *string* values under a name and keeps versions. Subclasses implement the
four ``_``-prefixed primitives and map their SDK's exceptions into the error family of
``errors``; this class adds what is common: JSON ``field`` extraction and keep-the-newest-N
retirement (one plan, ``retire_plan``, for the real run and the check-mode prediction). Retries are the
stores' SDKs' own (see ``_call``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    BadConfiguration,
    InvalidFormat,
    SecretNotFound,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.options import with_env_fallbacks

RETIRE_MODES = ("disable", "destroy")
NEW_VERSION = "(new version)"  # stands for the version a pending write will make, in check-mode predictions
MAX_BACKOFF = 10.0  # seconds: the longest wait between two SDK retries, however many are allowed


class Secret(object):
    """A value read from a store. ``repr`` never shows the value."""

    __slots__ = ("value", "version", "created", "metadata")

    def __init__(self, value, version=None, created=None, metadata=None):
        self.value = value
        self.version = None if version is None else str(version)
        self.created = created
        self.metadata = metadata or {}

    def __repr__(self):
        return "Secret(version=%r, created=%r, value=<hidden>)" % (self.version, self.created)

    def info(self):
        """Everything but the value, for module results."""
        return {"version": self.version, "created": self.created, "metadata": self.metadata}


class VersionInfo(object):
    """One version of a secret as listed by ``versions()``, newest first."""

    __slots__ = ("version", "created", "state", "labels")

    def __init__(self, version, created=None, state="enabled", labels=None):
        self.version = str(version)
        self.created = created
        self.state = state  # enabled | disabled | destroyed
        self.labels = list(labels or [])

    def to_dict(self):
        return {"version": self.version, "created": self.created, "state": self.state, "labels": self.labels}

    def __repr__(self):
        return "VersionInfo(%r, state=%r, labels=%r)" % (self.version, self.state, self.labels)


class SecretRef(object):
    """What to read: a name plus an optional version (or AWS stage) and JSON field."""

    __slots__ = ("name", "version", "version_stage", "field")

    def __init__(self, name, version=None, version_stage=None, field=None):
        if not name:
            raise BadConfiguration("any", "", "no secret name given", "set the 'name' option")
        self.name = name
        self.version = None if version in (None, "") else str(version)
        self.version_stage = version_stage or None
        self.field = field or None

    def __str__(self):
        text = self.name
        if self.version:
            text += "@" + self.version
        if self.version_stage:
            text += "@" + self.version_stage
        if self.field:
            text += "#" + self.field
        return text


def extract_field(backend, ref, raw):
    """Return ``raw`` or, when ``ref.field`` is set, that key of the JSON object in ``raw``."""
    if not ref.field:
        return raw
    try:
        data = json.loads(raw)
    except ValueError:
        raise InvalidFormat(backend, str(ref), "field '%s' was asked for but the secret is not JSON" % ref.field,
                            "drop the 'field' option, or store a JSON object in this secret")
    if not isinstance(data, dict):
        raise InvalidFormat(backend, str(ref), "field '%s' was asked for but the secret is JSON %s, not an object"
                            % (ref.field, type(data).__name__), "drop the 'field' option, or store a JSON object")
    if ref.field not in data:
        raise InvalidFormat(backend, str(ref), "the JSON secret has no field '%s' (it has: %s)"
                            % (ref.field, ", ".join(sorted(data)) or "no fields"),
                            "use one of the listed field names in 'field'")
    value = data[ref.field]
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return value if isinstance(value, str) else json.dumps(value)


class SecretBackend(object):
    """Interface of a secret store. One subclass per store; see ``factory.BACKENDS``.

    Subclasses set ``name`` and implement ``_read``, ``_write``, ``_versions`` and ``_retire``.
    ``options`` is the dict of module options (``aws_*``, ``gcp_*``, ``vault_*``, ``local_*``,
    ``retries``, ``timeout``), completed with their environment fallbacks; each backend reads only its own.
    """

    name = "abstract"
    supports_stages = False

    def __init__(self, options):
        self.options = with_env_fallbacks(options)
        self.retries = int(options.get("retries") if options.get("retries") is not None else 3)
        self.timeout = float(options.get("timeout") or 10)
        self.backoff = float(options.get("retry_backoff") or 0.5)
        self.calls = 0  # backend API calls made, for tests and benchmarks
        self.warnings = []  # shown by the module (module.warn) or the lookup (display.warning)

    # -- primitives a store implements -------------------------------------------------------
    def _read(self, ref):
        """Return a ``Secret`` holding the whole stored string for ``ref`` (field not applied)."""
        raise NotImplementedError

    def _write(self, name, value):
        """Store ``value`` as a new version of ``name`` (creating it) and return the version id."""
        raise NotImplementedError

    def _versions(self, name):
        """Return the ``VersionInfo`` list of ``name``, newest first."""
        raise NotImplementedError

    def _retire(self, name, versions, mode):
        """Retire the given ``VersionInfo`` objects in the store's own way (``mode`` in RETIRE_MODES)."""
        raise NotImplementedError

    # -- common behaviour ---------------------------------------------------------------------
    def _call(self, func, *args):
        """Run one store call, once. Transient errors are retried inside each store's SDK (botocore,
        google.api_core, urllib3 under hvac), where a retried write keeps its idempotency token or is not
        retried at all; a retry loop here would send a write whose answer was lost a second time."""
        self.calls += 1
        return func(*args)

    def check_ref(self, ref):
        """Refuse reference options this store does not understand."""
        if ref.version and ref.version_stage:
            raise BadConfiguration(self.name, str(ref), "'version' and 'version_stage' are mutually exclusive",
                                   "set only one of them")
        if ref.version_stage and not self.supports_stages:
            raise BadConfiguration(self.name, str(ref), "'version_stage' is only understood by the aws backend",
                                   "use 'version' with this backend")

    def read(self, ref):
        """Read ``ref`` and return a ``Secret`` whose value has ``ref.field`` applied."""
        self.check_ref(ref)
        secret = self._call(self._read, ref)
        secret.value = extract_field(self.name, ref, secret.value)
        return secret

    def write(self, name, value):
        if not isinstance(value, str) or value == "":
            raise BadConfiguration(self.name, name, "the value to store must be a non-empty string",
                                   "pass a string in 'value' or use 'generate'")
        return str(self._call(self._write, name, value))

    def versions(self, name):
        return self._call(self._versions, name)

    def check_writable(self, name):
        """Raise a SecretError when ``name`` may not be written now, before anything is changed. Most stores
        always accept a new version; one that may refuse (AWS mid-rotation) calls this from its ``_write``,
        and check mode calls it where a write is pending, so the refusal is predicted."""

    # -- retirement: one plan for the real run and the check-mode prediction --------------------------------
    def _check_retire_args(self, name, keep, mode):
        if mode not in RETIRE_MODES:
            raise BadConfiguration(self.name, name, "unknown retire mode '%s'" % mode,
                                   "use one of: %s" % ", ".join(RETIRE_MODES))
        if int(keep) < 1:
            raise BadConfiguration(self.name, name, "'retire' must keep at least 1 version", "set retire to 1 or more")

    def retire_plan(self, listed, keep, mode):
        """The ``VersionInfo`` objects of ``listed`` (newest first) that keeping ``keep`` retires.

        Keeps the newest ``keep`` enabled versions; "disable" leaves already-disabled versions alone,
        "destroy" also destroys them. A store whose versions rank otherwise overrides this (AWS)."""
        kept = set(v.version for v in [v for v in listed if v.state == "enabled"][:keep])
        return [v for v in listed if v.version not in kept
                and (v.state == "enabled" or (mode == "destroy" and v.state != "destroyed"))]

    def listed_after_write(self, listed):
        """``listed`` as it will be after one more write (a new enabled version ``NEW_VERSION`` in front), for
        check mode to plan a retire that follows a pending write. A store whose write also changes other
        versions overrides this (AWS moves its labels)."""
        return [VersionInfo(NEW_VERSION, state="enabled")] + list(listed)

    def retire(self, name, keep, mode="disable"):
        """Keep the newest ``keep`` live versions of ``name``; retire the others. Returns their ids."""
        self._check_retire_args(name, keep, mode)
        old = self.retire_plan(self.versions(name), int(keep), mode)
        if old:
            self._call(self._retire, name, old, mode)
        return [v.version for v in old]

    def predict_retire(self, name, keep, mode="disable", pending_write=False):
        """The ids ``retire`` would return, after the pending write if ``pending_write``, changing nothing:
        the same ``retire_plan`` on the listing the real run would see."""
        self._check_retire_args(name, keep, mode)
        try:
            listed = self.versions(name)
        except SecretNotFound:
            listed = []
        if pending_write:
            listed = self.listed_after_write(listed)
        return [v.version for v in self.retire_plan(listed, int(keep), mode) if v.version != NEW_VERSION]

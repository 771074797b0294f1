# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The embedded ``local`` backend: a versioned YAML store in one file on the controller.

It lets a laptop or the demo run with no cloud at all. The file is mode 0600 in a 0700 directory,
written atomically under an exclusive lock, and encrypted as a whole with ansible-vault when a vault
password is configured (``local_vault_password`` or ``local_vault_password_file``, a file or a password
script). A rewrite keeps the store's vault ID label. The lookup encrypts with ansible-core's own vault
library; the modules, which cannot import it, with ansible_vault_file.py.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import fcntl
import os
import tempfile

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import ansible_vault_file
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import (
    Secret,
    SecretBackend,
    VersionInfo,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    AccessDenied,
    BadConfiguration,
    InvalidFormat,
    SecretNotFound,
)

try:
    import yaml

    # libyaml parses and writes 5-10 times faster; the store is read and rewritten whole on every call.
    YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    YAML_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    HAS_YAML = True
except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
    HAS_YAML = False

STORE_FORMAT = 1
HEADER = "# llmops.claude_gateway local secret store (format %d). Managed by the collection: do not edit.\n" % STORE_FORMAT


def default_store_path():
    """``$XDG_CONFIG_HOME/llmops/claude_gateway/secrets.yml`` (``~/.config`` when unset)."""
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "llmops", "claude_gateway", "secrets.yml")


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z")


class LocalBackend(SecretBackend):
    name = "local"

    def __init__(self, options, vault_class=None):
        """``vault_class(password, password_file, vault_id)`` encrypts the store: ansible_vault_file.FileVault
        by default; the controller passes one built on ansible-core's own vault library."""
        super(LocalBackend, self).__init__(options)
        if not HAS_YAML:
            raise BadConfiguration(self.name, options.get("name") or "", "the PyYAML Python package is not installed",
                                   "install it where the task runs (pip install pyyaml), or run the task on the controller")
        # Local file access has no transient failures worth retrying.
        self.retries = 0
        self.path = os.path.abspath(os.path.expanduser(options.get("local_path") or default_store_path()))
        self.vault = self._vault(options, vault_class)
        # Whether the store was encrypted when last read, and its vault ID label (None: format 1.1): a
        # rewrite keeps them.
        self._read_encrypted, self._read_label = False, None

    # -- encryption -----------------------------------------------------------------------------
    def _vault(self, options, vault_class):
        password = options.get("local_vault_password")
        pw_file = options.get("local_vault_password_file")
        if password and pw_file:
            raise BadConfiguration(self.name, "", "both local_vault_password and local_vault_password_file are set",
                                   "set only one of them")
        if not (password or pw_file):
            return None
        if vault_class is None:
            if not ansible_vault_file.HAS_CRYPTOGRAPHY:
                raise BadConfiguration(self.name, "", "an encrypted local store needs the Python cryptography package",
                                       "install cryptography (it comes with ansible-core) or run on the controller")
            vault_class = ansible_vault_file.FileVault
        return vault_class(password or None, pw_file or None, options.get("local_vault_id") or None)

    def _secret_error(self, exc):
        return BadConfiguration(self.name, "", exc.problem, exc.fix)

    def _decode(self, b_data):
        if ansible_vault_file.is_encrypted(b_data):
            if not self.vault:
                raise BadConfiguration(self.name, "", "the local store %s is encrypted with ansible-vault" % self.path,
                                       "set local_vault_password or local_vault_password_file")
            try:
                b_data, self._read_label = self.vault.decrypt(b_data)
                self._read_encrypted = True
            except ansible_vault_file.VaultSecretError as exc:
                raise self._secret_error(exc)
            except ansible_vault_file.VaultPasswordError:
                raise BadConfiguration(self.name, "", "cannot decrypt the local store %s: wrong vault password"
                                       % self.path, "give the vault password the store was encrypted with "
                                       "(check it with ansible-vault view)")
            except ansible_vault_file.VaultFormatError as exc:
                raise InvalidFormat(self.name, "", "the local store %s is not readable ansible-vault data (%s)"
                                    % (self.path, exc), exc.fix or "restore the file from a backup")
        try:
            return b_data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidFormat(self.name, "", "the local store %s is not UTF-8 text" % self.path,
                                "restore the file from a backup or move it away to start a new store")

    def _encode(self, text):
        """The store's bytes: encrypted when a vault password is set, under the label the store was read
        with (``ansible-vault encrypt --vault-id prod@...`` stays ``1.2;AES256;prod``); a new or plain store
        gets local_vault_id."""
        b_text = text.encode("utf-8")
        if not self.vault:
            return b_text
        try:
            return self.vault.encrypt(b_text, self._read_label if self._read_encrypted else self.vault.vault_id)
        except ansible_vault_file.VaultSecretError as exc:
            raise self._secret_error(exc)

    # -- file I/O -------------------------------------------------------------------------------
    def _load(self):
        self._read_encrypted, self._read_label = False, None
        try:
            with open(self.path, "rb") as handle:
                b_data = handle.read()
        except (IOError, OSError) as exc:
            if exc.errno == 2:
                return {}
            if exc.errno == 13:
                raise AccessDenied(self.name, "", "cannot read the local store %s" % self.path,
                                   "run as the user who owns it, or fix its permissions (0600)")
            raise BadConfiguration(self.name, "", "cannot read the local store %s (%s)" % (self.path, exc.strerror),
                                   "check local_path")
        text = self._decode(b_data)
        try:
            data = yaml.load(text, Loader=YAML_LOADER) if text.strip() else {}  # nosec: a safe loader
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = " at line %d" % (mark.line + 1) if mark else ""
            raise InvalidFormat(self.name, "", "the local store %s is not valid YAML%s" % (self.path, where),
                                "restore the file from a backup or move it away to start a new store")
        if data is None:
            return {}
        if not isinstance(data, dict) or not isinstance(data.get("secrets", {}), dict):
            raise InvalidFormat(self.name, "", "the local store %s has no 'secrets' mapping" % self.path,
                                "restore the file from a backup or move it away to start a new store")
        secrets = data.get("secrets") or {}
        for name, entry in secrets.items():
            if not isinstance(entry, dict) or not isinstance(entry.get("versions"), list):
                raise InvalidFormat(self.name, str(name), "malformed entry in the local store %s" % self.path,
                                    "restore the file from a backup or remove this entry")
        return secrets

    def _save(self, secrets):
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        b_data = self._encode(HEADER + yaml.dump({"format": STORE_FORMAT, "secrets": secrets}, Dumper=YAML_DUMPER,
                                                 default_flow_style=False, sort_keys=True))
        fd, tmp = tempfile.mkstemp(prefix=".secrets-", dir=directory)  # mkstemp creates it 0600
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(b_data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise

    def _locked(self):
        """An exclusive lock for read-modify-write across processes (forks, parallel plays)."""
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
        handle = open(self.path + ".lock", "a")
        os.chmod(self.path + ".lock", 0o600)
        fcntl.flock(handle, fcntl.LOCK_EX)
        return handle

    # -- primitives -----------------------------------------------------------------------------
    def _entry(self, secrets, name):
        if name not in secrets:
            raise SecretNotFound(self.name, name, "no secret named '%s' in the local store %s" % (name, self.path))
        return secrets[name]

    def _read(self, ref):
        versions = self._entry(self._load(), ref.name)["versions"]
        if ref.version:
            match = [v for v in versions if str(v.get("version")) == ref.version]
            if not match:
                raise SecretNotFound(self.name, str(ref), "version %s does not exist" % ref.version,
                                     "list the versions with llmops.claude_gateway.gateway_token_info")
            chosen = match[0]
            if chosen.get("state", "enabled") != "enabled":
                raise SecretNotFound(self.name, str(ref), "version %s is %s" % (ref.version, chosen.get("state")),
                                     "read an enabled version")
        else:
            enabled = [v for v in versions if v.get("state", "enabled") == "enabled"]
            if not enabled:
                raise SecretNotFound(self.name, str(ref), "the secret has no enabled version",
                                     "write a new version with llmops.claude_gateway.gateway_token")
            chosen = enabled[-1]
        value = chosen.get("value")
        if not isinstance(value, str):
            raise InvalidFormat(self.name, str(ref), "stored value is not a string", "rewrite this secret")
        return Secret(value, chosen.get("version"), chosen.get("created"), {"path": self.path})

    def _write(self, name, value):
        with self._locked():
            secrets = self._load()
            entry = secrets.setdefault(name, {"versions": []})
            number = max([int(v.get("version", 0)) for v in entry["versions"]] or [0]) + 1
            entry["versions"].append({"version": number, "created": _now(), "state": "enabled", "value": value})
            self._save(secrets)
        return number

    def _versions(self, name):
        versions = self._entry(self._load(), name)["versions"]
        return [VersionInfo(v.get("version"), v.get("created"), v.get("state", "enabled")) for v in reversed(versions)]

    def _retire(self, name, versions, mode):
        wanted = set(v.version for v in versions)
        with self._locked():
            secrets = self._load()
            for item in self._entry(secrets, name)["versions"]:
                if str(item.get("version")) in wanted:
                    if mode == "destroy":
                        item["state"] = "destroyed"
                        item.pop("value", None)
                    else:
                        item["state"] = "disabled"
            self._save(secrets)

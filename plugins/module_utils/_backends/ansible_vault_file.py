# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local store's encryption where ansible-core cannot be imported: in the modules.

The controller (the lookup) uses ansible-core's own vault library instead (plugin_utils/_local_vault.py),
through the same ``FileVault`` interface. A module cannot: ``ansible.parsing.vault`` is no module_utils,
so AnsiballZ does not ship it; a host's Python (also the discovered one on the controller) usually has
no ansible-core; and where it has (implicit localhost runs modules with the controller's Python), on
ansible-core 2.19 importing it imports ``ansible._internal``, which marks the process as the controller
and swaps in the controller's serialisation hooks. The module's ``exit_json`` then imports
``ansible.module_utils.common.sentinel`` through them, which the module's payload does not carry: the
module dies in ``exit_json`` and the task fails with "Module result deserialization failed".

Format, as ``ansible-vault`` writes it: ``$ANSIBLE_VAULT;1.1;AES256`` or, with a vault ID label,
``$ANSIBLE_VAULT;1.2;AES256;<label>``, then the hex of ``hex(salt) \\n hex(hmac) \\n hex(ciphertext)`` in
80-column lines; PBKDF2-HMAC-SHA256 (10000 rounds) derives an AES-256-CTR key, an HMAC-SHA256 key and the
counter block; PKCS7 padding. The vault password comes from an option, a file, or a password script run
as ``ansible-vault`` runs it (a ``*-client`` script gets ``--vault-id <label>``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import hmac as hmac_lib
import os
import stat
import subprocess

try:
    from cryptography.hazmat.primitives import hashes, padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.hmac import HMAC
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False

HEADER = b"$ANSIBLE_VAULT"
# The formats this code reads; a newer one is refused rather than misread.
READ_VERSIONS = (b"1.1", b"1.2")
# ansible-vault's name for "no label": a file encrypted under it gets a 1.1 header.
DEFAULT_VAULT_ID = "default"
# A client script's answer for "no password for this vault ID" (ansible-core's convention).
CLIENT_UNKNOWN_VAULT_ID_RC = 2


class VaultFormatError(Exception):
    """Not an ansible-vault file this code can read (format or cipher); ``fix`` when not a damaged file."""

    def __init__(self, problem, fix=None):
        super(VaultFormatError, self).__init__(problem)
        self.fix = fix


class VaultPasswordError(Exception):
    """The HMAC does not match: wrong password (or a damaged file)."""


class VaultSecretError(Exception):
    """The vault password could not be had (a file missing or empty, a script that failed)."""

    def __init__(self, problem, fix):
        super(VaultSecretError, self).__init__(problem)
        self.problem, self.fix = problem, fix


def is_encrypted(b_data):
    return b_data.lstrip().startswith(HEADER)


def header_vault_id(b_vaulttext):
    """The vault ID label in the header (format 1.2), or None (1.1, or the label ``default``)."""
    header = b_vaulttext.strip().partition(b"\n")[0].strip().split(b";")
    label = header[3].strip().decode("utf-8", "replace") if len(header) >= 4 else ""
    return label if label and label != DEFAULT_VAULT_ID else None


def _keys(b_password, b_salt):
    derived = PBKDF2HMAC(algorithm=hashes.SHA256(), length=80, salt=b_salt, iterations=10000).derive(b_password)
    return derived[:32], derived[32:64], derived[64:80]


def encrypt(b_plaintext, b_password, vault_id=None):
    """ansible-vault data of ``b_plaintext``: format 1.2 with ``vault_id`` in the header, 1.1 without one."""
    b_salt = os.urandom(32)
    key, hmac_key, iv = _keys(b_password, b_salt)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    b_ciphertext = encryptor.update(padder.update(b_plaintext) + padder.finalize()) + encryptor.finalize()
    mac = HMAC(hmac_key, hashes.SHA256())
    mac.update(b_ciphertext)
    body = binascii.hexlify(b"\n".join([binascii.hexlify(b_salt), binascii.hexlify(mac.finalize()),
                                        binascii.hexlify(b_ciphertext)]))
    if vault_id and vault_id != DEFAULT_VAULT_ID:
        header = b";".join([HEADER, b"1.2", b"AES256", vault_id.encode("utf-8")])
    else:
        header = HEADER + b";1.1;AES256"
    lines = [header] + [body[i:i + 80] for i in range(0, len(body), 80)]
    return b"\n".join(lines) + b"\n"


def decrypt(b_vaulttext, b_password):
    lines = b_vaulttext.strip().splitlines()
    header = lines[0].strip().split(b";") if lines else []
    if len(header) < 3 or header[0] != HEADER or header[2].strip() != b"AES256":
        raise VaultFormatError("not an ansible-vault AES256 file")
    if header[1].strip() not in READ_VERSIONS:
        raise VaultFormatError("ansible-vault format %s; modules read formats 1.1 and 1.2"
                               % header[1].strip().decode("ascii", "replace"),
                               "read the store with the gateway_token lookup (ansible-core's own vault library), "
                               "or a collection release that knows this format")
    try:
        salt_hex, mac_hex, cipher_hex = binascii.unhexlify(b"".join(lines[1:])).split(b"\n", 2)
        b_salt, b_ciphertext = binascii.unhexlify(salt_hex), binascii.unhexlify(cipher_hex)
        b_mac = binascii.unhexlify(mac_hex)
    except (ValueError, TypeError, binascii.Error):
        raise VaultFormatError("damaged ansible-vault data")
    key, hmac_key, iv = _keys(b_password, b_salt)
    mac = HMAC(hmac_key, hashes.SHA256())
    mac.update(b_ciphertext)
    if not hmac_lib.compare_digest(mac.finalize(), b_mac):
        raise VaultPasswordError("HMAC mismatch")
    decryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).decryptor()
    unpadder = padding.PKCS7(128).unpadder()
    b_padded = decryptor.update(b_ciphertext) + decryptor.finalize()
    return unpadder.update(b_padded) + unpadder.finalize()


# -- the vault password, as ansible-vault gets it ----------------------------------------------------
def script_is_client(path):
    """A ``*-client`` script (any extension) is asked for one vault ID's password (ansible-core's rule)."""
    return os.path.splitext(path)[0].endswith("-client")


def _is_executable(path):
    return bool(os.stat(path).st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH))


def _run_script(path, vault_id):
    client = script_is_client(path)
    command = [path, "--vault-id", vault_id] if client else [path]
    what = "vault password client script" if client else "vault password script"
    try:
        # No stdin: a module has no terminal, so a script that prompts gets end-of-file instead of hanging.
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as exc:
        raise VaultSecretError("cannot run the %s %s (%s)" % (what, path, exc.strerror),
                               "fix the script, or remove its executable bit if it is a password file")
    b_out, b_err = proc.communicate()
    # What the script said on stderr helps; its stdout may hold a password and is never shown.
    said = b_err.decode("utf-8", "replace").strip().splitlines()
    said = ": %s" % said[-1][:200] if said else ""
    if client and proc.returncode == CLIENT_UNKNOWN_VAULT_ID_RC:
        raise VaultSecretError("the %s %s has no password for vault ID '%s'%s" % (what, path, vault_id, said),
                               "give the script a password for this vault ID, or set local_vault_id to the "
                               "vault ID it knows")
    if proc.returncode != 0:
        raise VaultSecretError("the %s %s failed (exit status %d)%s" % (what, path, proc.returncode, said),
                               "make it print the vault password and exit 0 (run it by hand to see why it "
                               "fails), or point local_vault_password_file at another password file")
    b_password = b_out.strip(b"\r\n")
    if not b_password:
        raise VaultSecretError("the %s %s printed no password" % (what, path),
                               "make it print the vault password on its standard output")
    return b_password


def read_password_file(path, vault_id=DEFAULT_VAULT_ID):
    """The vault password in ``path``, or what ``path`` prints when it is executable (as ansible-vault does)."""
    # Absolute, as ansible-core makes it: a relative script name is not looked up in PATH.
    path = os.path.abspath(os.path.expanduser(path))
    try:
        if _is_executable(path) and not os.path.isdir(path):
            return _run_script(path, vault_id)
        with open(path, "rb") as handle:
            b_password = handle.read().strip()
    except (IOError, OSError) as exc:
        raise VaultSecretError("cannot read local_vault_password_file %s (%s)" % (path, exc.strerror),
                               "point local_vault_password_file at a readable file")
    if is_encrypted(b_password):
        raise VaultSecretError("local_vault_password_file %s is itself encrypted with ansible-vault" % path,
                               "give a plain password file or a password script")
    if not b_password:
        raise VaultSecretError("local_vault_password_file %s is empty" % path, "write the vault password into it")
    return b_password


class FileVault(object):
    """The store's encryption: decrypt a store, encrypt it under a label, the password loaded on first use.

    A ``*-client`` password script is asked for ``local_vault_id``, else for the label the data is
    read or written with, else for ``default`` (as ``ansible-vault --vault-id label@script`` asks it).
    Subclasses swap the primitives (``_load_password``, ``_label``, ``_decrypt``, ``_encrypt``).
    """

    def __init__(self, password=None, password_file=None, vault_id=None):
        self.password, self.password_file, self.vault_id = password, password_file, vault_id
        self._passwords = {}

    def _password(self, label):
        asked = self.vault_id or label or DEFAULT_VAULT_ID
        if asked not in self._passwords:
            self._passwords[asked] = self._load_password(asked)
        return self._passwords[asked]

    def decrypt(self, b_vaulttext):
        """(plaintext, the header's vault ID label or None)."""
        label = self._label(b_vaulttext)
        return self._decrypt(b_vaulttext, self._password(label)), label

    def encrypt(self, b_plaintext, label=None):
        return self._encrypt(b_plaintext, self._password(label), label)

    # -- primitives ---------------------------------------------------------------------------------
    def _load_password(self, vault_id):
        if self.password_file:
            return read_password_file(self.password_file, vault_id)
        return self.password.encode("utf-8")

    def _label(self, b_vaulttext):
        return header_vault_id(b_vaulttext)

    # ``password``: what _load_password returned (bytes here).
    def _decrypt(self, b_vaulttext, password):
        return decrypt(b_vaulttext, password)

    def _encrypt(self, b_plaintext, password, label):
        return encrypt(b_plaintext, password, label)

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local store's encryption on the controller: ansible-core's own vault library.

Same interface as module_utils/_backends/ansible_vault_file.FileVault (which the modules use), with
ansible-core's primitives: ``VaultLib`` encrypts and decrypts (every format and cipher ansible-core
knows), ``get_file_vault_secret`` loads the password exactly as ``ansible-vault --vault-id label@file``
does (a password file, a password script, a ``*-client`` script asked for the label, a password file
itself vault-encrypted with the run's own vault secrets).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import functools

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.parsing.dataloader import DataLoader
from ansible.parsing.vault import (
    AnsibleVaultFormatError,
    VaultLib,
    VaultSecret,
    get_file_vault_secret,
    parse_vaulttext_envelope,
)

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.ansible_vault_file import (
    DEFAULT_VAULT_ID,
    FileVault,
    VaultFormatError,
    VaultPasswordError,
    VaultSecretError,
)

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.local import LocalBackend

try:
    from ansible.parsing.vault import CIPHER_ALLOWLIST
except ImportError:  # ansible-core < 2.17 names it CIPHER_WHITELIST
    from ansible.parsing.vault import CIPHER_WHITELIST as CIPHER_ALLOWLIST

PASSWORD_FIX = ("point local_vault_password_file at a readable password file, or at a script that prints the "
                "password and exits 0 (a *-client script is run with --vault-id and local_vault_id, else the "
                "store's vault ID)")


class ControllerVault(FileVault):
    def __init__(self, password=None, password_file=None, vault_id=None, loader=None):
        super(ControllerVault, self).__init__(password, password_file, vault_id)
        # The run's DataLoader: it holds the run's vault secrets (a vault-encrypted password file).
        self.loader = loader or DataLoader()

    def _load_password(self, vault_id):
        """A VaultSecret (what the other two primitives take as ``password``)."""
        if not self.password_file:
            return VaultSecret(to_bytes(self.password, errors="surrogate_or_strict"))
        try:
            secret = get_file_vault_secret(filename=self.password_file, vault_id=vault_id, loader=self.loader)
            secret.load()
        except AnsibleError as exc:
            raise VaultSecretError("cannot get the vault password from local_vault_password_file: %s"
                                   % to_text(exc), PASSWORD_FIX)
        return secret

    def _envelope(self, b_vaulttext, default_vault_id=None):
        try:
            return parse_vaulttext_envelope(b_vaulttext.lstrip(), default_vault_id)
        except AnsibleVaultFormatError:
            raise VaultFormatError("damaged ansible-vault data")

    def _label(self, b_vaulttext):
        # 'default' for no label, whatever vault_identity ansible.cfg sets: a 1.1 store stays 1.1.
        label = self._envelope(b_vaulttext, DEFAULT_VAULT_ID)[3]
        return label if label and label != DEFAULT_VAULT_ID else None

    def _decrypt(self, b_vaulttext, password):
        # The data's vault ID as VaultLib itself reads it (ansible.cfg's vault_identity for no label).
        dummy, dummy, cipher, vault_id = self._envelope(b_vaulttext)
        if cipher not in CIPHER_ALLOWLIST:
            raise VaultFormatError("cipher %s, not one ansible-core reads" % cipher)
        try:
            # The secret under the data's own vault ID: it is tried whatever vault_id_match says.
            return VaultLib([(vault_id, password)]).decrypt(b_vaulttext.lstrip())
        except AnsibleVaultFormatError:
            raise VaultFormatError("damaged ansible-vault data")
        except AnsibleError:
            # One secret, a known cipher, a readable envelope: what is left is a wrong password.
            raise VaultPasswordError("no vault secret decrypts the store")

    def _encrypt(self, b_plaintext, password, label):
        return VaultLib().encrypt(b_plaintext, secret=password, vault_id=label)


def local_backend(options, loader=None):
    """The local store with ansible-core's vault library (for code that runs in the controller process)."""
    return LocalBackend(options, vault_class=functools.partial(ControllerVault, loader=loader))

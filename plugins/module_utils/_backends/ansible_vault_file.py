# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ansible-vault file format (1.1, AES256), readable and writable by ``ansible-vault``: the
encryption of the local store.

Written here because modules must not import the controller's ``ansible.parsing.vault`` (in
ansible-core 2.19 that breaks the module's own JSON handling). Format: header line, then the hex of
``hex(salt) \\n hex(hmac) \\n hex(ciphertext)`` in 80-column lines; PBKDF2-HMAC-SHA256 (10000
rounds) derives an AES-256-CTR key, an HMAC-SHA256 key and the counter block; PKCS7 padding.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import hmac as hmac_lib
import os

try:
    from cryptography.hazmat.primitives import hashes, padding
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.hmac import HMAC
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False

HEADER = b"$ANSIBLE_VAULT"


class VaultFormatError(Exception):
    """Not an ansible-vault file this code can read (format or cipher)."""


class VaultPasswordError(Exception):
    """The HMAC does not match: wrong password (or a damaged file)."""


def is_encrypted(b_data):
    return b_data.lstrip().startswith(HEADER)


def _keys(b_password, b_salt):
    derived = PBKDF2HMAC(algorithm=hashes.SHA256(), length=80, salt=b_salt, iterations=10000).derive(b_password)
    return derived[:32], derived[32:64], derived[64:80]


def encrypt(b_plaintext, b_password):
    b_salt = os.urandom(32)
    key, hmac_key, iv = _keys(b_password, b_salt)
    padder = padding.PKCS7(128).padder()
    encryptor = Cipher(algorithms.AES(key), modes.CTR(iv)).encryptor()
    b_ciphertext = encryptor.update(padder.update(b_plaintext) + padder.finalize()) + encryptor.finalize()
    mac = HMAC(hmac_key, hashes.SHA256())
    mac.update(b_ciphertext)
    body = binascii.hexlify(b"\n".join([binascii.hexlify(b_salt), binascii.hexlify(mac.finalize()),
                                        binascii.hexlify(b_ciphertext)]))
    lines = [HEADER + b";1.1;AES256"] + [body[i:i + 80] for i in range(0, len(body), 80)]
    return b"\n".join(lines) + b"\n"


def decrypt(b_vaulttext, b_password):
    lines = b_vaulttext.strip().splitlines()
    header = lines[0].strip().split(b";") if lines else []
    if len(header) < 3 or header[0] != HEADER or header[2].strip() != b"AES256":
        raise VaultFormatError("not an ansible-vault AES256 file")
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

"""The ansible-vault file format of the local store, against ansible-core's own vault library."""
import binascii

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import ansible_vault_file


def test_the_format_interoperates_with_ansible_vault():
    from ansible.parsing.vault import VaultLib, VaultSecret

    lib = VaultLib([("default", VaultSecret(b"pw"))])
    assert lib.decrypt(ansible_vault_file.encrypt(b"hello store", b"pw")) == b"hello store"
    assert ansible_vault_file.decrypt(lib.encrypt(b"from ansible-vault"), b"pw") == b"from ansible-vault"
    with pytest.raises(ansible_vault_file.VaultPasswordError):
        ansible_vault_file.decrypt(lib.encrypt(b"x"), b"other")
    with pytest.raises(ansible_vault_file.VaultFormatError):
        ansible_vault_file.decrypt(b"$ANSIBLE_VAULT;1.1;AES256\nzz\n", b"pw")


def test_encrypted_layout():
    lines = ansible_vault_file.encrypt(b"x" * 200, b"pw").split(b"\n")
    assert lines[0] == b"$ANSIBLE_VAULT;1.1;AES256" and lines[-1] == b""
    body = lines[1:-1]
    assert all(len(line) == 80 for line in body[:-1]) and 0 < len(body[-1]) <= 80


def test_vault_ids_and_surrounding_blanks_are_read():
    from ansible.parsing.vault import VaultLib, VaultSecret

    lib = VaultLib([("prod", VaultSecret(b"pw"))])
    with_id = lib.encrypt(b"labelled", vault_id="prod")
    assert with_id.startswith(b"$ANSIBLE_VAULT;1.2;AES256;prod")
    assert ansible_vault_file.decrypt(with_id, b"pw") == b"labelled"
    padded = b"\n  " + ansible_vault_file.encrypt(b"padded", b"pw") + b"\n\n"
    assert ansible_vault_file.is_encrypted(padded)
    assert ansible_vault_file.decrypt(padded, b"pw") == b"padded"


def test_is_encrypted_only_at_the_start():
    assert not ansible_vault_file.is_encrypted(b"secrets: {}  # $ANSIBLE_VAULT")
    assert not ansible_vault_file.is_encrypted(b"")


def _body(text):
    return text.split(b"\n", 1)[1]


@pytest.mark.parametrize("header", [b"$ANSIBLE_VAULT;1.1;AES128", b"$OTHER_VAULT;1.1;AES256"])
def test_only_ansible_vault_aes256_is_read(header):
    # A well-formed body under another header is refused, not decrypted.
    with pytest.raises(ansible_vault_file.VaultFormatError):
        ansible_vault_file.decrypt(header + b"\n" + _body(ansible_vault_file.encrypt(b"x", b"pw")), b"pw")


def test_envelope_as_ansible_vault_writes_it():
    # hex(salt) \n hex(HMAC-SHA256) \n hex(ciphertext): 32 bytes each here (20 bytes pad to two AES blocks).
    envelope = binascii.unhexlify(b"".join(_body(ansible_vault_file.encrypt(b"x" * 20, b"pw")).split()))
    assert [len(binascii.unhexlify(part)) for part in envelope.split(b"\n")] == [32, 32, 32]


def test_without_cryptography(load_without):
    without = load_without(ansible_vault_file, "cryptography.hazmat.primitives")
    assert without.HAS_CRYPTOGRAPHY is False


@pytest.mark.parametrize("text", [
    b"", b"$ANSIBLE_VAULT;1.1", b"$ANSIBLE_VAULT;1.1;AES128\n3132\n", b"$OTHER_VAULT;1.1;AES256\n3132\n",
    b"$ANSIBLE_VAULT;1.1;AES256\n" + b"3132" * 4 + b"\n",  # hex, but not three hex parts
    b"$ANSIBLE_VAULT;1.1;AES256\n" + binascii.hexlify(b"zz\n00\n00") + b"\n",  # parts not hex
])
def test_not_readable_vault_data(text):
    with pytest.raises(ansible_vault_file.VaultFormatError):
        ansible_vault_file.decrypt(text, b"pw")


def test_each_encryption_has_its_own_salt():
    assert ansible_vault_file.encrypt(b"same", b"pw") != ansible_vault_file.encrypt(b"same", b"pw")

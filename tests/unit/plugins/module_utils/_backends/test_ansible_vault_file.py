"""The ansible-vault file format of the local store, against ansible-core's own vault library."""
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

"""The local store's encryption on the controller: ansible-core's own vault library behind FileVault's
interface, and what only the controller can do."""
import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import ansible_vault_file
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    BadConfiguration,
    InvalidFormat,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.local import LocalBackend
from ansible_collections.llmops.claude_gateway.plugins.plugin_utils._local_vault import ControllerVault, local_backend


def test_labels_both_ways_with_the_modules_code():
    controller, module = ControllerVault(password="pw"), ansible_vault_file.FileVault(password="pw")
    for label in ("prod", None):
        assert module.decrypt(controller.encrypt(b"from the controller", label)) == (b"from the controller", label)
        assert controller.decrypt(module.encrypt(b"from a module", label)) == (b"from a module", label)
    assert controller.encrypt(b"x", "prod").startswith(b"$ANSIBLE_VAULT;1.2;AES256;prod\n")
    assert controller.encrypt(b"x", "default").startswith(b"$ANSIBLE_VAULT;1.1;AES256\n")


def test_a_password_file_encrypted_with_the_runs_vault_secret(tmp_path):
    # ansible-vault opens a vault-encrypted password file with the run's own secrets (the DataLoader's);
    # the lookup hands its loader over, so the store opens the same way. Modules cannot (no such secrets).
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultLib, VaultSecret

    run_secret = [("ops", VaultSecret(b"run-pw"))]
    pw_file = tmp_path / "store.pw"
    pw_file.write_bytes(VaultLib().encrypt(b"store-pw\n", run_secret[0][1], "ops"))
    path = str(tmp_path / "secrets.yml")
    LocalBackend({"local_path": path, "local_vault_password": "store-pw"}).write("alice", "tok")
    loader = DataLoader()
    loader.set_vault_secrets(run_secret)
    options = {"local_path": path, "local_vault_password_file": str(pw_file)}
    assert local_backend(options, loader).read(SecretRef("alice")).value == "tok"
    with pytest.raises(BadConfiguration, match="is itself encrypted with ansible-vault"):
        LocalBackend(options).read(SecretRef("alice"))


@pytest.mark.parametrize("damage, problem", [
    (lambda data: data.replace(b"AES256", b"AES128", 1), "cipher AES128, not one ansible-core reads"),
    (lambda data: data.split(b"\n")[0] + b"\nzz\n", "damaged ansible-vault data"),
    (lambda data: b"$ANSIBLE_VAULT\n" + data.split(b"\n", 1)[1], "damaged ansible-vault data"),
])
def test_unreadable_data_is_invalid_format_not_a_wrong_password(tmp_path, damage, problem):
    path = tmp_path / "secrets.yml"
    LocalBackend({"local_path": str(path), "local_vault_password": "pw"}).write("alice", "tok")
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(InvalidFormat) as exc:
        local_backend({"local_path": str(path), "local_vault_password": "pw"}).read(SecretRef("alice"))
    assert exc.value.problem == "the local store %s is not readable ansible-vault data (%s)" % (path, problem)


def test_a_format_ansible_core_reads_is_read_whatever_its_version(tmp_path):
    # ansible-core decides by cipher, not version: the controller reads what it reads; modules refuse.
    path = tmp_path / "secrets.yml"
    LocalBackend({"local_path": str(path), "local_vault_password": "pw"}).write("alice", "tok")
    path.write_bytes(path.read_bytes().replace(b";1.1;", b";1.3;", 1))
    assert local_backend({"local_path": str(path), "local_vault_password": "pw"}).read(SecretRef("alice")).value == "tok"
    with pytest.raises(InvalidFormat, match="ansible-vault format 1.3; modules read formats 1.1 and 1.2"):
        LocalBackend({"local_path": str(path), "local_vault_password": "pw"}).read(SecretRef("alice"))


@pytest.mark.parametrize("vault_id_match", [False, True])
def test_ansible_cfg_vault_identity_and_id_match_change_nothing(tmp_path, monkeypatch, vault_id_match):
    # A configured default vault identity must not label a 1.1 store, and vault_id_match must not refuse
    # the one password the store has.
    from ansible import constants

    monkeypatch.setattr(constants, "DEFAULT_VAULT_IDENTITY", "site")
    monkeypatch.setattr(constants, "DEFAULT_VAULT_ID_MATCH", vault_id_match)
    path = tmp_path / "secrets.yml"
    for label, header in ((None, b"$ANSIBLE_VAULT;1.1;AES256\n"), ("prod", b"$ANSIBLE_VAULT;1.2;AES256;prod\n")):
        LocalBackend({"local_path": str(path), "local_vault_password": "pw", "local_vault_id": label}).write("a", "1")
        store = local_backend({"local_path": str(path), "local_vault_password": "pw"})
        assert store.read(SecretRef("a")).value == "1"
        store.write("a", "2")
        assert path.read_bytes().startswith(header)
        path.unlink()

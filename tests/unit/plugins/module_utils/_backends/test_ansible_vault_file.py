"""The ansible-vault format and password loading of the local store in modules, against ansible-core's own
vault library (the other side of every interop test)."""
import binascii
import os

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


# -- vault ID labels (format 1.2) -----------------------------------------------------------------
def test_a_label_is_written_as_ansible_vault_writes_it():
    from ansible.parsing.vault import VaultLib, VaultSecret

    labelled = ansible_vault_file.encrypt(b"x" * 100, b"pw", "prod")
    mine, theirs = labelled.split(b"\n"), VaultLib().encrypt(b"x" * 100, VaultSecret(b"pw"), "prod").split(b"\n")
    assert mine[0] == theirs[0] == b"$ANSIBLE_VAULT;1.2;AES256;prod"
    assert [len(line) for line in mine[1:]] == [len(line) for line in theirs[1:]]
    lib = VaultLib([("prod", VaultSecret(b"pw"))])
    assert lib.decrypt_and_get_vault_id(labelled)[:2] == (b"x" * 100, "prod")


@pytest.mark.parametrize("label", [None, "", "default"])
def test_no_label_or_default_writes_format_1_1(label):
    # ansible-vault writes 1.1 for the label 'default' too.
    assert ansible_vault_file.encrypt(b"x", b"pw", label).startswith(b"$ANSIBLE_VAULT;1.1;AES256\n")


@pytest.mark.parametrize("header, label", [
    (b"$ANSIBLE_VAULT;1.1;AES256", None), (b"$ANSIBLE_VAULT;1.2;AES256;prod", "prod"),
    (b"$ANSIBLE_VAULT;1.2;AES256;default", None), (b"  $ANSIBLE_VAULT;1.2;AES256; team-a \r", "team-a"),
])
def test_header_vault_id(header, label):
    assert ansible_vault_file.header_vault_id(header + b"\n3132\n") == label


@pytest.mark.parametrize("version", [b"1.0", b"1.3", b"2.0"])
def test_an_unknown_format_version_is_refused_not_misread(version):
    data = ansible_vault_file.encrypt(b"x", b"pw", "prod").replace(b";1.2;", b";" + version + b";", 1)
    with pytest.raises(ansible_vault_file.VaultFormatError) as exc:
        ansible_vault_file.decrypt(data, b"pw")
    assert str(exc.value) == "ansible-vault format %s; modules read formats 1.1 and 1.2" % version.decode()
    assert "gateway_token lookup" in exc.value.fix


# -- the vault password, as ansible-vault gets it -------------------------------------------------
def _script(path, body, mode=0o700):
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(mode)
    return str(path)


# A client script as ansible-core documents them: --vault-id <label>, exit 2 for an unknown label.
CLIENT = '[ "$1" = --vault-id ] || exit 3\ncase "$2" in prod) echo "pw for $2";; *) echo "no $2" >&2; exit 2;; esac'


def _ansible_reads(path, vault_id="default"):
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import get_file_vault_secret

    secret = get_file_vault_secret(filename=path, vault_id=vault_id, loader=DataLoader())
    secret.load()
    return secret.bytes


@pytest.mark.parametrize("name, body, vault_id", [
    ("pass.sh", "printf ' spaced pw \\r\\n'", "default"),  # only CR/LF are stripped from a script's output
    ("pass", "echo pw; echo ignored >&2", "default"),
    ("keyring-client", CLIENT, "prod"),
    ("keyring-client.py", CLIENT, "prod"),  # the extension does not count
])
def test_password_scripts_are_run_as_ansible_runs_them(tmp_path, name, body, vault_id):
    path = _script(tmp_path / name, body)
    assert ansible_vault_file.read_password_file(path, vault_id) == _ansible_reads(path, vault_id)


@pytest.mark.skipif(os.geteuid() != 0, reason="only root may run a file whose owner has no execute bit")
@pytest.mark.parametrize("mode", [0o650, 0o601])
def test_any_execute_bit_makes_a_script(tmp_path, mode):
    # ansible-core runs a file with any of the three execute bits set (group or others only, here).
    path = _script(tmp_path / "pass.sh", "echo pw-x", mode)
    assert ansible_vault_file.read_password_file(path) == _ansible_reads(path) == b"pw-x"


def test_a_password_file_is_read_as_ansible_reads_it(tmp_path):
    path = tmp_path / "pw"
    path.write_bytes(b"  pw with inner space \n\n")
    path.chmod(0o600)
    assert ansible_vault_file.read_password_file(str(path)) == _ansible_reads(str(path)) == b"pw with inner space"


def test_a_failing_script_names_its_status_and_stderr_never_stdout(tmp_path):
    path = _script(tmp_path / "pass.sh", "echo would-be-pw; echo 'keyring locked' >&2; exit 1")
    with pytest.raises(ansible_vault_file.VaultSecretError) as exc:
        ansible_vault_file.read_password_file(path)
    assert exc.value.problem == "the vault password script %s failed (exit status 1): keyring locked" % path
    assert exc.value.fix.startswith("make it print the vault password and exit 0")
    assert "would-be-pw" not in exc.value.problem + exc.value.fix


def test_a_failing_script_shows_the_last_line_of_stderr_cut_to_200_characters(tmp_path):
    last = "x" * 199 + "yz"
    path = _script(tmp_path / "pass.sh", "echo first >&2\necho %s >&2\nexit 1" % last)
    with pytest.raises(ansible_vault_file.VaultSecretError) as exc:
        ansible_vault_file.read_password_file(path)
    assert exc.value.problem == "the vault password script %s failed (exit status 1): %s" % (path, last[:200])


def test_a_client_script_without_the_label(tmp_path):
    path = _script(tmp_path / "vault-client", CLIENT)
    with pytest.raises(ansible_vault_file.VaultSecretError) as exc:
        ansible_vault_file.read_password_file(path, "dev")
    assert exc.value.problem == ("the vault password client script %s has no password for vault ID 'dev': no dev"
                                 % path)
    assert "local_vault_id" in exc.value.fix


@pytest.mark.parametrize("body, problem", [
    ("exit 0", "the vault password script %s printed no password"),
    ("exit 7", "the vault password script %s failed (exit status 7)"),
])
def test_script_without_a_password(tmp_path, body, problem):
    path = _script(tmp_path / "pass.sh", body)
    with pytest.raises(ansible_vault_file.VaultSecretError) as exc:
        ansible_vault_file.read_password_file(path)
    assert exc.value.problem == problem % path


def test_a_script_that_cannot_run(tmp_path):
    path = tmp_path / "pass.sh"
    path.write_text("#!/nonexistent/interpreter\n")
    path.chmod(0o700)
    with pytest.raises(ansible_vault_file.VaultSecretError) as exc:
        ansible_vault_file.read_password_file(str(path))
    assert exc.value.problem == "cannot run the vault password script %s (No such file or directory)" % path
    assert "remove its executable bit" in exc.value.fix


@pytest.mark.parametrize("content, problem", [
    (None, "cannot read local_vault_password_file %s (No such file or directory)"),
    (b"\n \n", "local_vault_password_file %s is empty"),
    (b"$ANSIBLE_VAULT;1.1;AES256\n3132\n", "local_vault_password_file %s is itself encrypted with ansible-vault"),
])
def test_password_file_problems(tmp_path, content, problem):
    path = tmp_path / "pw"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ansible_vault_file.VaultSecretError) as exc:
        ansible_vault_file.read_password_file(str(path))
    assert exc.value.problem == problem % path


def test_password_file_is_a_directory(tmp_path):
    with pytest.raises(ansible_vault_file.VaultSecretError) as exc:
        ansible_vault_file.read_password_file(str(tmp_path))
    assert exc.value.problem == "cannot read local_vault_password_file %s (Is a directory)" % tmp_path


def test_password_file_path_with_tilde(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "pw").write_text("home-pw\n")
    assert ansible_vault_file.read_password_file("~/pw") == b"home-pw"


# -- FileVault: which vault ID a client script is asked for, and when ---------------------------------
def _counting_client(tmp_path):
    log = tmp_path / "asked"
    body = 'echo "$2" >> %s\n%s' % (log, CLIENT.replace("prod)", "prod|dev)"))
    return _script(tmp_path / "vault-client", body), log


@pytest.mark.parametrize("configured, label, asked", [
    (None, "prod", "prod"), (None, None, "default"), ("dev", "prod", "dev"), ("dev", None, "dev"),
])
def test_the_vault_id_a_client_script_is_asked_for(tmp_path, configured, label, asked):
    script, log = _counting_client(tmp_path)
    vault = ansible_vault_file.FileVault(password_file=script, vault_id=configured)
    if asked != "default":  # the script knows prod and dev only
        data = vault.encrypt(b"x", label)
        assert ansible_vault_file.header_vault_id(data) == label
    else:
        with pytest.raises(ansible_vault_file.VaultSecretError):
            vault.encrypt(b"x", label)
    assert log.read_text().split() == [asked]


def test_the_password_is_loaded_once_and_only_when_needed(tmp_path):
    script, log = _counting_client(tmp_path)
    vault = ansible_vault_file.FileVault(password_file=script)
    assert not log.exists()
    data = vault.encrypt(b"one", "prod")
    assert vault.decrypt(data) == (b"one", "prod")
    assert vault.decrypt(vault.encrypt(b"two", "prod")) == (b"two", "prod")
    assert log.read_text().split() == ["prod"]


def test_file_vault_with_a_password():
    vault = ansible_vault_file.FileVault(password="pw")
    assert vault.decrypt(vault.encrypt(b"x")) == (b"x", None)
    with pytest.raises(ansible_vault_file.VaultPasswordError):
        ansible_vault_file.FileVault(password="other").decrypt(vault.encrypt(b"x", "prod"))


def test_a_relative_script_is_run_from_the_working_directory_not_path(tmp_path, monkeypatch):
    _script(tmp_path / "pass.sh", "echo pw-here")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATH", "/nonexistent")
    assert ansible_vault_file.read_password_file("pass.sh") == _ansible_reads("pass.sh") == b"pw-here"


def test_the_modules_store_code_imports_no_controller_code():
    # What a module imports from ansible-core must be module_utils (see the module docstring for what an
    # import of ansible.parsing.vault does to a module on ansible-core 2.19).
    import ast

    from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import local

    for module in (ansible_vault_file, local):
        with open(module.__file__) as handle:
            tree = ast.parse(handle.read())
        names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
        names += [node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module]
        controller = [n for n in names if n.split(".")[0] == "ansible" and not n.startswith("ansible.module_utils")]
        assert controller == [], os.path.basename(module.__file__)


def test_a_script_runs_with_no_stdin_so_a_prompt_cannot_hang(tmp_path):
    # A module has no terminal: the script's stdin is /dev/null (a 'read' gets end-of-file at once), not
    # whatever the module's stdin is.
    path = _script(tmp_path / "prompt.sh", 'stdin=$(readlink /proc/$$/fd/0)\n'
                   '[ "$stdin" = /dev/null ] && echo pw || { echo "stdin is $stdin" >&2; exit 1; }')
    read, write = os.pipe()  # an open, silent stdin, as a module's might be
    saved = os.dup(0)
    os.dup2(read, 0)
    try:
        assert ansible_vault_file.read_password_file(path) == b"pw"
    finally:
        os.dup2(saved, 0)
        for fd in (read, write, saved):
            os.close(fd)

"""The embedded local backend: versions, file modes, retirement, malformed and encrypted stores."""
import os
import re
import stat

import pytest
import yaml

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import (
    SecretRef,
    extract_field,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    BadConfiguration,
    InvalidFormat,
    SecretNotFound,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.local import LocalBackend


@pytest.fixture
def store(tmp_path):
    return LocalBackend({"local_path": str(tmp_path / "cfg" / "secrets.yml")})


def test_write_read_versions(store):
    assert store.write("alice", "tok-1") == "1"
    assert store.write("alice", "tok-2") == "2"
    assert store.read(SecretRef("alice")).value == "tok-2"
    assert store.read(SecretRef("alice", version="1")).value == "tok-1"
    assert [v.version for v in store.versions("alice")] == ["2", "1"]


def test_file_and_directory_modes(store):
    store.write("alice", "tok-1")
    assert stat.S_IMODE(os.stat(store.path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(os.path.dirname(store.path)).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.path + ".lock").st_mode) == 0o600


def test_default_path_honours_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert LocalBackend({}).path == str(tmp_path / "llmops" / "claude_gateway" / "secrets.yml")


def test_not_found_secret_and_version(store):
    with pytest.raises(SecretNotFound) as exc:
        store.read(SecretRef("nobody"))
    assert "local backend, secret 'nobody'" in str(exc.value) and "Fix:" in str(exc.value)
    store.write("alice", "tok-1")
    with pytest.raises(SecretNotFound, match="version 7 does not exist"):
        store.read(SecretRef("alice", version="7"))


def test_json_field(store):
    store.write("teams", '{"a": "tok-a", "b": "tok-b", "n": 3}')
    assert store.read(SecretRef("teams", field="b")).value == "tok-b"
    assert store.read(SecretRef("teams", field="n")).value == "3"
    with pytest.raises(InvalidFormat, match="has no field 'c' \\(it has: a, b, n\\)"):
        store.read(SecretRef("teams", field="c"))
    store.write("plain", "tok-plain")
    with pytest.raises(InvalidFormat, match="not JSON") as exc:
        store.read(SecretRef("plain", field="a"))
    assert "tok-plain" not in str(exc.value)


def test_field_on_json_array_is_invalid():
    with pytest.raises(InvalidFormat, match="not an object"):
        extract_field("x", SecretRef("s", field="a"), "[1, 2]")


def test_retire_disable_then_destroy(store):
    for i in range(4):
        store.write("alice", "tok-%d" % i)
    assert store.retire("alice", 2) == ["2", "1"]
    states = dict((v.version, v.state) for v in store.versions("alice"))
    assert states == {"4": "enabled", "3": "enabled", "2": "disabled", "1": "disabled"}
    with pytest.raises(SecretNotFound, match="version 1 is disabled"):
        store.read(SecretRef("alice", version="1"))
    assert store.retire("alice", 2) == []  # idempotent
    assert store.retire("alice", 1, "destroy") == ["3", "2", "1"]
    with open(store.path) as handle:
        text = handle.read()
    # Destroyed versions lose their data; version 4 (value tok-3) is the one kept.
    assert "tok-3" in text and not any("tok-%d" % i in text for i in (0, 1, 2))
    assert store.read(SecretRef("alice")).value == "tok-3"


def test_retire_bad_arguments(store):
    store.write("alice", "tok")
    with pytest.raises(BadConfiguration, match="at least 1"):
        store.retire("alice", 0)
    with pytest.raises(BadConfiguration, match="unknown retire mode"):
        store.retire("alice", 1, "shred")


def test_malformed_store_is_invalid_format_and_untouched(store):
    os.makedirs(os.path.dirname(store.path))
    with open(store.path, "w") as handle:
        handle.write("secrets: [unclosed\n")
    with pytest.raises(InvalidFormat, match="not valid YAML at line [0-9]+"):
        store.read(SecretRef("alice"))
    with pytest.raises(InvalidFormat):
        store.write("alice", "tok")
    with open(store.path) as handle:
        assert handle.read() == "secrets: [unclosed\n"


def test_wrong_shape_store(store):
    os.makedirs(os.path.dirname(store.path))
    with open(store.path, "w") as handle:
        yaml.safe_dump({"secrets": {"alice": "not-a-mapping"}}, handle)
    with pytest.raises(InvalidFormat, match="malformed entry"):
        store.read(SecretRef("alice"))


def test_encrypted_store(tmp_path):
    path = str(tmp_path / "secrets.yml")
    enc = LocalBackend({"local_path": path, "local_vault_password": "correct horse"})
    enc.write("alice", "tok-secret")
    with open(path, "rb") as handle:
        raw = handle.read()
    assert raw.startswith(b"$ANSIBLE_VAULT;1.1;AES256") and b"tok-secret" not in raw
    assert enc.read(SecretRef("alice")).value == "tok-secret"
    with pytest.raises(BadConfiguration, match="wrong vault password"):
        LocalBackend({"local_path": path, "local_vault_password": "wrong"}).read(SecretRef("alice"))
    with pytest.raises(BadConfiguration, match="is encrypted with ansible-vault"):
        LocalBackend({"local_path": path}).read(SecretRef("alice"))


def test_vault_password_file(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("s3cret\n")
    path = str(tmp_path / "secrets.yml")
    LocalBackend({"local_path": path, "local_vault_password_file": str(pw)}).write("a", "tok")
    assert LocalBackend({"local_path": path, "local_vault_password": "s3cret"}).read(SecretRef("a")).value == "tok"
    with pytest.raises(BadConfiguration, match="cannot read local_vault_password_file"):
        LocalBackend({"local_path": path, "local_vault_password_file": str(tmp_path / "missing")}).read(SecretRef("a"))


def test_version_and_stage_are_exclusive(store):
    with pytest.raises(BadConfiguration, match="mutually exclusive"):
        store.read(SecretRef("a", version="1", version_stage="AWSCURRENT"))
    with pytest.raises(BadConfiguration, match="only understood by the aws backend"):
        store.read(SecretRef("a", version_stage="AWSCURRENT"))


def test_secret_repr_hides_value(store):
    store.write("alice", "tok-hidden")
    assert "tok-hidden" not in repr(store.read(SecretRef("alice")))


def test_missing_yaml(load_without, tmp_path):
    # Where the task runs without PyYAML the backend says so instead of failing on a missing name.
    from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import local

    without = load_without(local, "yaml")
    assert without.HAS_YAML is False
    with pytest.raises(BadConfiguration) as exc:
        without.LocalBackend({"local_path": str(tmp_path / "s.yml"), "name": "alice"})
    assert str(exc.value).startswith("local backend, secret 'alice': the PyYAML Python package is not installed. Fix: ")


def test_store_file_format(store):
    import re

    store.write("bob", "tok-b")
    store.write("alice", "tok-a")
    created = store.read(SecretRef("alice")).created
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", created)  # UTC, whole seconds
    with open(store.path) as handle:
        text = re.sub(r"created: '[^']+'", "created: C", handle.read())
    # Block style, sorted keys: a store diffs line by line.
    assert text == (
        "# llmops.claude_gateway local secret store (format 1). Managed by the collection: do not edit.\n"
        "format: 1\n"
        "secrets:\n"
        "  alice:\n"
        "    versions:\n"
        "    - created: C\n"
        "      state: enabled\n"
        "      value: tok-a\n"
        "      version: 1\n"
        "  bob:\n"
        "    versions:\n"
        "    - created: C\n"
        "      state: enabled\n"
        "      value: tok-b\n"
        "      version: 1\n")


def _store_file(store, content):
    os.makedirs(os.path.dirname(store.path), exist_ok=True)
    with open(store.path, "wb") as handle:
        handle.write(content)


@pytest.mark.parametrize("content,problem", [
    (b"- a list\n", "has no 'secrets' mapping"),
    (b"secrets: [a, b]\n", "has no 'secrets' mapping"),
    (b"secrets:\n  alice:\n\tversions: []\n", "is not valid YAML at line 3"),
    (b"secrets: {}\n\xff\xfe\n", "is not UTF-8 text"),
])
def test_unreadable_store_content(store, content, problem):
    _store_file(store, content)
    with pytest.raises(InvalidFormat) as exc:
        store.read(SecretRef("alice"))
    assert exc.value.problem == "the local store %s %s" % (store.path, problem)


def test_malformed_entry_names_the_store(store):
    _store_file(store, b"secrets:\n  alice: not-a-mapping\n")
    with pytest.raises(InvalidFormat) as exc:
        store.read(SecretRef("alice"))
    assert (exc.value.ref, exc.value.problem) == ("alice", "malformed entry in the local store %s" % store.path)


def test_damaged_encrypted_store(tmp_path):
    store = LocalBackend({"local_path": str(tmp_path / "secrets.yml"), "local_vault_password": "pw"})
    _store_file(store, b"$ANSIBLE_VAULT;1.1;AES256\nzz\n")
    with pytest.raises(InvalidFormat) as exc:
        store.read(SecretRef("alice"))
    assert exc.value.problem == ("the local store %s is not readable ansible-vault data (damaged ansible-vault data)"
                                 % store.path)
    assert exc.value.fix == "restore the file from a backup"


def test_a_newer_vault_format_is_refused_with_its_own_fix(tmp_path):
    path = tmp_path / "secrets.yml"
    store = LocalBackend({"local_path": str(path), "local_vault_password": "pw"})
    store.write("alice", "tok")
    before = path.read_bytes().replace(b";1.1;", b";1.3;", 1)
    path.write_bytes(before)
    with pytest.raises(InvalidFormat) as exc:
        store.write("alice", "tok-2")
    assert exc.value.problem == ("the local store %s is not readable ansible-vault data (ansible-vault format 1.3; "
                                 "modules read formats 1.1 and 1.2)" % path)
    assert exc.value.fix.startswith("read the store with the gateway_token lookup")
    assert path.read_bytes() == before


def test_encrypted_store_messages_name_the_store(tmp_path):
    path = str(tmp_path / "secrets.yml")
    LocalBackend({"local_path": path, "local_vault_password": "right"}).write("alice", "tok")
    with pytest.raises(BadConfiguration) as exc:
        LocalBackend({"local_path": path, "local_vault_password": "wrong"}).read(SecretRef("alice"))
    assert exc.value.problem == "cannot decrypt the local store %s: wrong vault password" % path
    with pytest.raises(BadConfiguration) as exc:
        LocalBackend({"local_path": path}).read(SecretRef("alice"))
    assert exc.value.problem == "the local store %s is encrypted with ansible-vault" % path


def test_empty_vault_password_file(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("\n")
    with pytest.raises(BadConfiguration) as exc:
        LocalBackend({"local_path": str(tmp_path / "s.yml"), "local_vault_password_file": str(pw)}).write("a", "tok")
    assert exc.value.problem == "local_vault_password_file %s is empty" % pw
    assert not os.path.exists(str(tmp_path / "s.yml"))


def test_encryption_needs_cryptography(monkeypatch, tmp_path):
    from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import ansible_vault_file

    monkeypatch.setattr(ansible_vault_file, "HAS_CRYPTOGRAPHY", False)
    with pytest.raises(BadConfiguration, match="needs the Python cryptography package"):
        LocalBackend({"local_path": str(tmp_path / "s.yml"), "local_vault_password": "pw"})
    # A plain store does not need it.
    LocalBackend({"local_path": str(tmp_path / "s.yml")}).write("alice", "tok")


def test_store_path_that_is_a_directory(store):
    os.makedirs(store.path)
    with pytest.raises(BadConfiguration) as exc:
        store.read(SecretRef("alice"))
    assert exc.value.problem == "cannot read the local store %s (Is a directory)" % store.path


def test_store_not_readable_by_this_user(store):
    store.write("alice", "tok")
    os.chmod(store.path, 0)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: an unprivileged user (root reads any file)
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            try:
                store.read(SecretRef("alice"))
                outcome = "read"
            except Exception as exc:  # pylint: disable=broad-except  # reported to the parent
                outcome = "%s: %s" % (type(exc).__name__, getattr(exc, "problem", exc))
            os.write(write, outcome.encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as handle:
        outcome = handle.read()
    os.waitpid(pid, 0)
    assert outcome == "AccessDenied: cannot read the local store %s" % store.path


def test_failed_save_leaves_store_and_no_temporary_file(store, monkeypatch):
    store.write("alice", "tok-1")
    with open(store.path, "rb") as handle:
        before = handle.read()

    def disk_full(_fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        store.write("alice", "tok-2")
    monkeypatch.undo()
    with open(store.path, "rb") as handle:
        assert handle.read() == before
    assert sorted(os.listdir(os.path.dirname(store.path))) == ["secrets.yml", "secrets.yml.lock"]


# -- ansible-vault interop: labels, password scripts; modules' own code and the controller's ansible-core --
def _module_store(options):
    return LocalBackend(options)


def _controller_store(options):
    from ansible_collections.llmops.claude_gateway.plugins.plugin_utils._local_vault import local_backend

    return local_backend(options)


@pytest.fixture(params=[_module_store, _controller_store], ids=["module", "controller"])
def open_store(request):
    return request.param


def _ansible_vault_encrypt(path, password, vault_id):
    """What ``ansible-vault encrypt --vault-id <vault_id>@...`` makes of the file (ansible-core's library)."""
    from ansible.parsing.vault import VaultLib, VaultSecret

    with open(path, "rb") as handle:
        plain = handle.read()
    with open(path, "wb") as handle:
        handle.write(VaultLib().encrypt(plain, VaultSecret(password), vault_id))


def _ansible_vault_view(path, password):
    from ansible.parsing.vault import VaultLib, VaultSecret

    with open(path, "rb") as handle:
        return yaml.safe_load(VaultLib([("any", VaultSecret(password))]).decrypt(handle.read()))


def _head(path):
    with open(path, "rb") as handle:
        return handle.readline().rstrip(b"\n")


def _script(path, body):
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o700)
    return str(path)


def test_a_labelled_store_keeps_its_label(tmp_path, open_store):
    path = str(tmp_path / "secrets.yml")
    LocalBackend({"local_path": path}).write("alice", "tok-1")
    _ansible_vault_encrypt(path, b"pw-prod", "prod")
    store = open_store({"local_path": path, "local_vault_password": "pw-prod"})
    assert store.read(SecretRef("alice")).value == "tok-1"
    store.write("alice", "tok-2")
    store.retire("alice", 1, "destroy")
    assert _head(path) == b"$ANSIBLE_VAULT;1.2;AES256;prod"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    versions = _ansible_vault_view(path, b"pw-prod")["secrets"]["alice"]["versions"]
    assert [(v["version"], v["state"], v.get("value")) for v in versions] == [
        (1, "destroyed", None), (2, "enabled", "tok-2")]


@pytest.mark.parametrize("vault_id, header", [(None, b"$ANSIBLE_VAULT;1.1;AES256"),
                                              ("team-a", b"$ANSIBLE_VAULT;1.2;AES256;team-a")])
def test_a_new_or_plain_store_gets_local_vault_id(tmp_path, open_store, vault_id, header):
    path = str(tmp_path / "secrets.yml")
    LocalBackend({"local_path": path}).write("alice", "tok-1")  # plain, then encrypted by a write
    open_store({"local_path": path, "local_vault_password": "pw", "local_vault_id": vault_id}).write("bob", "tok-2")
    assert _head(path) == header
    new = str(tmp_path / "new.yml")
    open_store({"local_path": new, "local_vault_password": "pw", "local_vault_id": vault_id}).write("bob", "tok-2")
    assert _head(new) == header


def test_an_encrypted_store_keeps_its_header_whatever_local_vault_id(tmp_path, open_store):
    path = str(tmp_path / "secrets.yml")
    LocalBackend({"local_path": path, "local_vault_password": "pw"}).write("alice", "tok-1")  # format 1.1
    open_store({"local_path": path, "local_vault_password": "pw", "local_vault_id": "prod"}).write("alice", "tok-2")
    assert _head(path) == b"$ANSIBLE_VAULT;1.1;AES256"


def test_password_scripts(tmp_path, open_store):
    path = str(tmp_path / "secrets.yml")
    LocalBackend({"local_path": path}).write("alice", "tok-1")
    _ansible_vault_encrypt(path, b"pw-prod", "prod")
    plain = _script(tmp_path / "pass.sh", "echo pw-prod")
    client = _script(tmp_path / "keyring-client", '[ "$1 $2" = "--vault-id prod" ] && echo pw-prod || exit 2')
    for before, script in (("tok-1", plain), ("tok-pass.sh", client)):
        store = open_store({"local_path": path, "local_vault_password_file": script})
        assert store.read(SecretRef("alice")).value == before
        store.write("alice", "tok-%s" % os.path.basename(script))
    assert _head(path) == b"$ANSIBLE_VAULT;1.2;AES256;prod"
    assert _ansible_vault_view(path, b"pw-prod")["secrets"]["alice"]["versions"][-1]["value"] == "tok-keyring-client"


def _bytes_and_mode(path):
    with open(path, "rb") as handle:
        return handle.read(), stat.S_IMODE(os.stat(path).st_mode), sorted(os.listdir(os.path.dirname(path)))


@pytest.mark.parametrize("case", ["failing script", "unknown vault ID", "wrong password", "wrong script password"])
def test_a_bad_password_changes_nothing(tmp_path, open_store, case):
    path = str(tmp_path / "store" / "secrets.yml")
    LocalBackend({"local_path": path}).write("alice", "tok-1")
    _ansible_vault_encrypt(path, b"pw-prod", "prod")
    LocalBackend({"local_path": path, "local_vault_password": "pw-prod"}).write("alice", "tok-2")  # makes the lock
    before = _bytes_and_mode(path)
    options = {
        "failing script": lambda: {"local_vault_password_file": _script(tmp_path / "pass.sh", "echo locked >&2; exit 1")},
        "unknown vault ID": lambda: {"local_vault_password_file": _script(tmp_path / "k-client", "exit 2"),
                                     "local_vault_id": "dev"},
        "wrong password": lambda: {"local_vault_password": "pw-dev"},
        "wrong script password": lambda: {"local_vault_password_file": _script(tmp_path / "pass.sh", "echo pw-dev")},
    }[case]()
    store = open_store(dict(options, local_path=path))
    for call in (lambda: store.read(SecretRef("alice")), lambda: store.write("alice", "tok-3"),
                 lambda: store.retire("alice", 1, "destroy"), lambda: store.versions("alice")):
        with pytest.raises(BadConfiguration) as exc:
            call()
        assert _bytes_and_mode(path) == before
    text = str(exc.value)
    if case.startswith("wrong"):
        assert exc.value.problem == "cannot decrypt the local store %s: wrong vault password" % path
    else:
        assert ("pass.sh" in text or "k-client" in text) and "Fix:" in text
        # The modules show the script's stderr; ansible-core leaves it on the terminal.
        assert re.search(r"exit status 1\): locked|returned non-zero \(1\)" if case == "failing script" else "'?dev'?",
                         text)
    assert "pw-prod" not in text


def test_controller_and_module_messages_for_a_failing_script(tmp_path):
    # The module's own code words it like ansible-core, which the controller shows as it is.
    path = str(tmp_path / "secrets.yml")
    LocalBackend({"local_path": path, "local_vault_password": "pw"}).write("alice", "tok")
    options = {"local_path": path, "local_vault_password_file": _script(tmp_path / "pass.sh", "exit 1")}
    with pytest.raises(BadConfiguration) as module:
        _module_store(options).read(SecretRef("alice"))
    with pytest.raises(BadConfiguration) as controller:
        _controller_store(options).read(SecretRef("alice"))
    assert module.value.problem == "the vault password script %s failed (exit status 1)" % options[
        "local_vault_password_file"]
    assert re.match(r"cannot get the vault password from local_vault_password_file: Vault password script %s "
                    r"returned non-zero \(1\)" % re.escape(options["local_vault_password_file"]),
                    controller.value.problem)

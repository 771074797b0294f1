"""The embedded local backend, the shared base behaviour and the ansible-vault format."""
import os
import stat

import pytest
import yaml

from ansible_collections.llmops.claude_gateway.plugins.module_utils import _vault_format as vault_format
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import (
    SecretBackend,
    SecretRef,
    extract_field,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    BackendUnreachable,
    BadConfiguration,
    InvalidFormat,
    SecretNotFound,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory import get_backend
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
        LocalBackend({"local_path": path, "local_vault_password_file": str(tmp_path / "missing")})


def test_vault_format_interoperates_with_ansible_vault():
    from ansible.parsing.vault import VaultLib, VaultSecret

    lib = VaultLib([("default", VaultSecret(b"pw"))])
    assert lib.decrypt(vault_format.encrypt(b"hello store", b"pw")) == b"hello store"
    assert vault_format.decrypt(lib.encrypt(b"from ansible-vault"), b"pw") == b"from ansible-vault"
    with pytest.raises(vault_format.VaultPasswordError):
        vault_format.decrypt(lib.encrypt(b"x"), b"other")
    with pytest.raises(vault_format.VaultFormatError):
        vault_format.decrypt(b"$ANSIBLE_VAULT;1.1;AES256\nzz\n", b"pw")


def test_unknown_backend_is_bad_configuration():
    with pytest.raises(BadConfiguration, match="unknown backend 'etcd'.*one of: aws, gcp, local, vault"):
        get_backend({"backend": "etcd", "name": "x"})


def test_version_and_stage_are_exclusive(store):
    with pytest.raises(BadConfiguration, match="mutually exclusive"):
        store.read(SecretRef("a", version="1", version_stage="AWSCURRENT"))
    with pytest.raises(BadConfiguration, match="only understood by the aws backend"):
        store.read(SecretRef("a", version_stage="AWSCURRENT"))


def test_secret_repr_hides_value(store):
    store.write("alice", "tok-hidden")
    assert "tok-hidden" not in repr(store.read(SecretRef("alice")))


class FlakyBackend(SecretBackend):
    name = "flaky"

    def __init__(self, failures, exc):
        super(FlakyBackend, self).__init__({"retries": 3, "retry_backoff": 0.001})
        self.failures, self.exc = failures, exc

    def _read(self, ref):
        if self.failures:
            self.failures -= 1
            raise self.exc
        from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import Secret

        return Secret("v", 1)


def test_retries_transient_errors_only():
    flaky = FlakyBackend(2, BackendUnreachable("flaky", "s", "down"))
    assert flaky.read(SecretRef("s")).value == "v" and flaky.calls == 3
    hopeless = FlakyBackend(10, BackendUnreachable("flaky", "s", "down"))
    with pytest.raises(BackendUnreachable):
        hopeless.read(SecretRef("s"))
    assert hopeless.calls == 4  # one try + 3 retries
    denied = FlakyBackend(1, SecretNotFound("flaky", "s", "gone"))
    with pytest.raises(SecretNotFound):
        denied.read(SecretRef("s"))
    assert denied.calls == 1


def test_choosing_a_backend_imports_only_its_sdk():
    """The local backend must not pull in boto3, the GCP client or hvac (0.8 s per module run)."""
    import subprocess
    import sys

    code = ("import sys; from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory "
            "import get_backend; get_backend({'backend': 'local', 'local_path': '/nonexistent/s.yml'}); "
            "print(sorted(m for m in ('boto3', 'hvac', 'google.cloud.secretmanager_v1') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], check=True, stdout=subprocess.PIPE, universal_newlines=True,
                         env=dict(__import__("os").environ, PYTHONPATH=":".join(sys.path)))
    assert out.stdout.strip() == "[]"

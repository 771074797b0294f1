"""Choosing a backend by name."""
import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import BadConfiguration
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory import get_backend


def test_unknown_backend_is_bad_configuration():
    with pytest.raises(BadConfiguration, match="unknown backend 'etcd'.*one of: aws, gcp, local, vault"):
        get_backend({"backend": "etcd", "name": "x"})


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


def test_each_name_gives_its_backend(tmp_path):
    from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory import _backend_class

    assert [_backend_class(name).name for name in ("aws", "gcp", "local", "vault")] == ["aws", "gcp", "local", "vault"]
    # No backend named: the local store.
    assert get_backend({"local_path": str(tmp_path / "s.yml")}).name == "local"


def test_unknown_backend_names_the_secret():
    with pytest.raises(BadConfiguration) as exc:
        get_backend({"backend": "etcd", "name": "gw/x"})
    assert (exc.value.backend, exc.value.ref, exc.value.problem) == ("etcd", "gw/x", "unknown backend 'etcd'")
    with pytest.raises(BadConfiguration) as exc:
        get_backend({"backend": "etcd"})
    assert exc.value.ref == ""


def test_ref_from_options():
    from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory import ref_from_options

    ref = ref_from_options({"name": "gw/x", "version": "3", "version_stage": None, "field": "team-a"})
    assert (ref.name, ref.version, ref.version_stage, ref.field) == ("gw/x", "3", None, "team-a")
    assert str(ref_from_options({"name": "gw/x", "version_stage": "AWSPREVIOUS"})) == "gw/x@AWSPREVIOUS"

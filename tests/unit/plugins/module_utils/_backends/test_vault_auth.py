"""The Vault auth methods: the options each needs (checked before any request) and where it logs in."""
import os

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import BadConfiguration
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.options import BY_NAME
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.vault_auth import AUTH_METHODS, auth_for


@pytest.mark.parametrize("method,options,missing", [
    ("token", {"vault_token": None}, "vault_token"),
    ("approle", {}, "vault_role_id"),
    ("jwt", {"vault_jwt": "a.b.c"}, "vault_role"),
    ("jwt", {"vault_role": "r"}, "vault_jwt"),
    ("kubernetes", {"vault_jwt": "a.b.c"}, "vault_role"),
    ("userpass", {"vault_password": "p4ss"}, "vault_username"),
    ("userpass", {"vault_username": "u"}, "vault_password"),
])
def test_missing_auth_option_is_named(method, options, missing):
    with pytest.raises(BadConfiguration) as exc:
        auth_for(dict(vault_auth_method=method, **options))
    assert "'%s'" % missing in str(exc.value)
    assert exc.value.fix == "set '%s'" % missing


def test_auth_methods_match_the_option_choices():
    assert sorted(AUTH_METHODS) == BY_NAME["vault_auth_method"].choices


def test_an_unknown_method_is_refused():
    with pytest.raises(BadConfiguration, match="unknown vault_auth_method 'ldap'") as exc:
        auth_for(dict(vault_auth_method="ldap"))
    assert exc.value.fix == "use one of: approle, jwt, kubernetes, token, userpass"


def test_auth_mount_defaults_to_method_name():
    assert auth_for(dict(vault_auth_method="userpass", vault_username="u", vault_password="p")).mount == "userpass"
    assert auth_for(dict(vault_auth_method="approle", vault_role_id="r", vault_auth_mount="ci")).mount == "ci"


def kubernetes(**options):
    return auth_for(dict(vault_auth_method="kubernetes", vault_role="gw", **options))


def test_kubernetes_token_file(tmp_path):
    token = tmp_path / "token"
    token.write_text("header.payload.sig\n")
    auth = kubernetes(vault_kubernetes_token_path=str(token))
    assert auth._jwt == "header.payload.sig"
    assert "header.payload.sig" in auth.secrets()
    auth = kubernetes(vault_jwt="given.jwt.value", vault_kubernetes_token_path=str(tmp_path / "absent"))
    assert auth._jwt == "given.jwt.value"
    with pytest.raises(BadConfiguration, match="cannot read the service-account token file") as exc:
        kubernetes(vault_kubernetes_token_path=str(tmp_path / "absent"))
    assert "vault_kubernetes_token_path" in exc.value.fix
    (tmp_path / "empty").write_text("")
    with pytest.raises(BadConfiguration, match="is empty"):
        kubernetes(vault_kubernetes_token_path=str(tmp_path / "empty"))


def test_refusals_name_the_secret_and_the_method():
    with pytest.raises(BadConfiguration) as exc:
        auth_for(dict(vault_auth_method="jwt", vault_jwt="a.b.c", name="gw/x"))
    assert (exc.value.ref, exc.value.problem) == ("gw/x", "vault_auth_method 'jwt' needs option 'vault_role', which is not set")
    with pytest.raises(BadConfiguration) as exc:
        auth_for(dict(vault_auth_method="ldap", name="gw/x"))
    assert exc.value.ref == "gw/x"
    with pytest.raises(BadConfiguration) as exc:
        auth_for(dict(vault_auth_method="token"))
    assert exc.value.ref == ""


def test_the_default_method_is_token():
    auth = auth_for(dict(vault_token="s.token-value"))
    assert (auth.method, auth.mount) == ("token", "token")


def test_fix_names_credentials_mount_and_method():
    auth = auth_for(dict(vault_auth_method="approle", vault_role_id="r", vault_auth_mount="ci"))
    assert auth.fix() == ("check 'vault_role_id', 'vault_secret_id', the role/user configured at auth mount 'ci', "
                          "and that the approle method is enabled there (else set 'vault_auth_mount')")
    assert auth_for(dict(vault_token="t")).fix() == (
        "set a valid, unexpired token in 'vault_token' (or BAO_TOKEN / VAULT_TOKEN); renew or re-issue it")


def test_secrets_are_the_secret_options():
    auth = auth_for(dict(vault_auth_method="userpass", vault_username="u", vault_password="p4ss",
                         vault_token="", vault_jwt="j.w.t"))
    assert auth.secrets() == [None, None, "j.w.t", "p4ss"]


def test_kubernetes_default_token_path_and_messages(tmp_path):
    default = BY_NAME["vault_kubernetes_token_path"].default
    if os.path.exists(default):  # inside a pod: the projected token is read
        with open(default) as handle:
            assert kubernetes()._jwt == handle.read().strip()
    else:
        with pytest.raises(BadConfiguration) as exc:
            kubernetes()
        assert exc.value.problem == "cannot read the service-account token file '%s' (No such file or directory)" % default
    (tmp_path / "blank").write_text(" \n")
    with pytest.raises(BadConfiguration) as exc:
        kubernetes(vault_kubernetes_token_path=str(tmp_path / "blank"))
    assert exc.value.problem == "the service-account token file '%s' is empty" % (tmp_path / "blank")
    assert exc.value.fix == "set 'vault_kubernetes_token_path' to the pod's projected token"

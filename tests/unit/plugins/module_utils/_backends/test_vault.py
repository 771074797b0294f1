"""Unit tests of the vault backend: value mapping, option checks and error mapping (no server)."""
import json
import random
import string

import hvac.exceptions
import pytest
import requests.exceptions

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import vault
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    AccessDenied,
    BackendUnreachable,
    BadConfiguration,
    Throttled,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory import get_backend
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.vault import (
    VaultBackend,
    decode_value,
    encode_value,
    iso_time,
)

# Nothing listens on port 9 (discard): any test that reached the network would fail with "unreachable".
NOWHERE = "http://127.0.0.1:9"


def make(**options):
    opts = dict(vault_url=NOWHERE, vault_token="s.unit-test-token", retries=0, timeout=1)
    opts.update(options)
    return VaultBackend(opts)


@pytest.fixture(autouse=True)
def no_vault_env(monkeypatch):
    for key in ("ADDR", "TOKEN", "NAMESPACE", "CACERT", "SKIP_VERIFY"):
        monkeypatch.delenv("VAULT_" + key, raising=False)
        monkeypatch.delenv("BAO_" + key, raising=False)


# -- value mapping -------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [
    "sk-plain-token", "", " ", "null", "42", "[1, 2]", '"s"', "{}", '{"value": "x"}', '{"value": 1}',
    '{"b":1,"a":2}', '{"a": 1, "b": 2}', '{"a": {"n": [1, 2]}, "z": null}', '{"b": 1, "a": 2}',
    '{"k": "\\u00e9"}', '{"k": "\u00e9"}', "not {json", "\n{\"a\": 1}\n", '{"a": 1}  ',
])
def test_round_trip(value):
    assert decode_value(encode_value(value)) == value


def test_round_trip_random():
    rnd = random.Random(7)
    for _ignored in range(500):
        if rnd.random() < 0.5:
            obj = dict(("".join(rnd.choice(string.ascii_letters) for _ignored in range(rnd.randint(1, 6))),
                        rnd.choice([rnd.randint(0, 9), "v", None, [1], {"x": "y"}])) for _ignored in range(rnd.randint(0, 4)))
            value = json.dumps(obj, sort_keys=rnd.random() < 0.5, separators=rnd.choice([None, (",", ":")]))
        else:
            value = "".join(rnd.choice(string.printable) for _ignored in range(rnd.randint(1, 30)))
        assert decode_value(encode_value(value)) == value


def test_canonical_json_objects_become_fields():
    assert encode_value('{"api_key": "sk-1", "url": "u"}') == {"api_key": "sk-1", "url": "u"}
    assert encode_value("sk-1") == {"value": "sk-1"}
    assert encode_value('{"url":"u"}') == {"value": '{"url":"u"}'}  # not canonical: kept verbatim
    assert encode_value('{"value": "x"}') == {"value": '{"value": "x"}'}  # would read back as "x"
    assert encode_value("[1, 2]") == {"value": "[1, 2]"}


def test_decode_data_from_other_clients():
    assert decode_value({"value": "v"}) == "v"
    assert decode_value({"value": 5}) == "5"
    assert decode_value({"value": {"b": 1, "a": 2}}) == '{"a": 2, "b": 1}'
    assert decode_value({"user": "u", "password": "p"}) == '{"password": "p", "user": "u"}'
    assert decode_value({}) == "{}"
    assert decode_value(None) == "{}"


def test_iso_time():
    assert iso_time("2026-11-27T02:32:31.977413353Z") == "2026-11-27T02:32:31.977413Z"
    assert iso_time("2026-11-27T02:32:31Z") == "2026-11-27T02:32:31Z"
    assert iso_time("2026-11-27T02:32:31.5+01:00") == "2026-11-27T02:32:31.5+01:00"
    assert iso_time("") is None and iso_time(None) is None


# -- configuration checks, all before any request ------------------------------------------------
def test_the_factory_picks_vault():
    assert isinstance(get_backend(dict(backend="vault", vault_url="http://127.0.0.1:1", vault_token="t")), VaultBackend)


def test_hvac_missing(load_without):
    # A controller without hvac: the module still loads, and the backend names the secret and the fix.
    without = load_without(vault, "hvac", "hvac.exceptions")
    assert without.HAS_HVAC is False
    with pytest.raises(BadConfiguration, match="'hvac' is not installed") as exc:
        without.VaultBackend(dict(vault_url=NOWHERE, vault_token="t", name="gw/x"))
    assert exc.value.ref == "gw/x" and "pip install hvac" in exc.value.fix


def test_url_and_env_fallbacks(monkeypatch):
    with pytest.raises(BadConfiguration, match="no server address") as exc:
        make(vault_url=None, name="gw/x")
    assert "VAULT_ADDR" in exc.value.fix and exc.value.ref == "gw/x"
    with pytest.raises(BadConfiguration, match="not an http"):
        make(vault_url="vault.example.com:8200")
    monkeypatch.setenv("VAULT_ADDR", "https://vault.example.com:8200")
    monkeypatch.setenv("VAULT_TOKEN", "s.from-env")
    monkeypatch.setenv("VAULT_NAMESPACE", "team-a")
    be = make(vault_url=None, vault_token=None)
    assert (be.url, be.namespace, be.auth.value("vault_token")) == ("https://vault.example.com:8200", "team-a", "s.from-env")
    be = make(vault_url="https://other:8200", vault_token="s.option", vault_namespace="ns2")
    assert (be.url, be.namespace, be.auth.value("vault_token")) == ("https://other:8200", "ns2", "s.option")


def test_bao_variables_win_and_reach_the_backend(monkeypatch, tmp_path):
    monkeypatch.setenv("VAULT_ADDR", "https://vault.example.com:8200")
    monkeypatch.setenv("BAO_ADDR", "https://bao.example.com:8200")
    monkeypatch.setenv("BAO_TOKEN", "s.from-bao-env")
    monkeypatch.setenv("BAO_NAMESPACE", "team-b")
    be = make(vault_url=None, vault_token=None)
    assert (be.url, be.namespace, be.auth.value("vault_token")) == ("https://bao.example.com:8200", "team-b",
                                                                    "s.from-bao-env")
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("VAULT_CACERT", str(ca))
    assert make().verify == str(ca)
    monkeypatch.setenv("VAULT_SKIP_VERIFY", "true")
    assert make().verify is False
    assert make(vault_validate_certs=True).verify == str(ca)  # the option wins over the variable
    monkeypatch.setenv("BAO_SKIP_VERIFY", "false")
    assert make().verify == str(ca)
    monkeypatch.setenv("BAO_CACERT", "/nonexistent/bao-ca.pem")
    with pytest.raises(BadConfiguration, match="vault_ca_cert '/nonexistent/bao-ca.pem' is not a file") as exc:
        make()
    assert "BAO_CACERT" in exc.value.fix


def test_bad_kv_version_and_method():
    with pytest.raises(BadConfiguration) as exc:
        make(vault_kv_version=3)
    assert (exc.value.problem, exc.value.fix) == ("vault_kv_version must be 1 or 2, not 3",
                                                  "set vault_kv_version to the version of the KV engine at 'secret'")
    with pytest.raises(BadConfiguration, match="unknown vault_auth_method 'ldap'"):
        make(vault_auth_method="ldap")


def test_version_checks_happen_before_any_request():
    with pytest.raises(BadConfiguration) as exc:
        make(vault_kv_version=1, vault_mount="kv").read(SecretRef("a", version="3"))
    assert exc.value.problem == "KV v1 mount 'kv' keeps no versions"
    with pytest.raises(BadConfiguration) as exc:
        make().read(SecretRef("a", version="v3"))
    assert exc.value.problem == "version 'v3' is not a KV v2 version number"
    with pytest.raises(BadConfiguration, match="not a KV v2 version number"):
        make().read(SecretRef("a", version="0"))


def test_tls_options(tmp_path):
    assert make().verify is True
    assert make(vault_validate_certs=False, vault_ca_cert="/whatever").verify is False
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    assert make(vault_ca_cert=str(ca)).verify == str(ca)
    with pytest.raises(BadConfiguration, match="vault_ca_cert '/nonexistent' is not a file"):
        make(vault_ca_cert="/nonexistent")


# -- retries: urllib3's, for reads only -----------------------------------------------------------
def test_the_session_retries_reads_only():
    be = make(retries=4, retry_backoff=0.25)
    client = be.client()
    for scheme in ("http://", "https://"):
        retry = client.adapter.session.get_adapter(scheme + "x").max_retries
        assert isinstance(retry, vault.ReadRetry)
        assert (retry.total, retry.other, retry.backoff_factor, retry.backoff_max, retry.raise_on_status) == (
            4, 0, 0.25, vault.MAX_BACKOFF, False)
        assert retry.allowed_methods == {"GET", "LIST"}
        assert set(retry.status_forcelist) == {429, 500, 502, 503, 504}


@pytest.mark.parametrize("verify", [False, True])
def test_the_session_keeps_the_verify_setting(verify):
    # hvac prefers a given session's verify to its own argument: both must say the same.
    be = make(vault_validate_certs=verify)
    assert be.client().adapter.session.verify is verify
    assert be.client().adapter._kwargs["verify"] is verify


def _errors():
    import urllib3.exceptions as u3

    return {
        "refused": u3.NewConnectionError(None, "refused"),
        "connect timeout": u3.ConnectTimeoutError(None, "slow"),
        "read timeout": u3.ReadTimeoutError(None, "/v1/x", "slow"),
        "reset": u3.ProtocolError("Connection aborted.", ConnectionResetError()),
    }


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("error", sorted(_errors()))
def test_a_write_is_never_sent_again(method, error):
    import urllib3.exceptions as u3

    retry = vault.read_retry(5, 0)
    with pytest.raises((u3.MaxRetryError, u3.ReadTimeoutError, u3.ProtocolError)):
        retry.increment(method, "/v1/secret/data/x", error=_errors()[error])
    assert not retry.is_retry(method, 503)


@pytest.mark.parametrize("method", ["GET", "LIST", "get"])
@pytest.mark.parametrize("error", sorted(_errors()))
def test_a_read_is_sent_again_until_the_retries_are_used_up(method, error):
    import urllib3.exceptions as u3

    retry = vault.read_retry(2, 0)
    retry = retry.increment(method, "/v1/x", error=_errors()[error])
    retry = retry.increment(method, "/v1/x", error=_errors()[error])
    with pytest.raises(u3.MaxRetryError):
        retry.increment(method, "/v1/x", error=_errors()[error])
    assert vault.read_retry(2, 0).is_retry(method.upper(), 503)
    assert not vault.read_retry(2, 0).is_retry(method.upper(), 404)


def test_no_retries_means_one_attempt():
    import urllib3.exceptions as u3

    with pytest.raises(u3.MaxRetryError):
        vault.read_retry(0, 0).increment("GET", "/v1/x", error=_errors()["refused"])


@pytest.mark.parametrize("exc,sent,timeout", [
    (requests.exceptions.ConnectionError("refused"), True, False),
    (requests.exceptions.ConnectTimeout("slow"), False, True),
    (requests.exceptions.SSLError("bad cert"), False, False),
    (requests.exceptions.ReadTimeout("slow"), True, True),
])
def test_never_sent_and_timed_out(exc, sent, timeout):
    assert vault.never_sent(exc) is not sent
    assert vault.timed_out(exc) is timeout


def test_never_sent_and_timed_out_look_under_used_up_retries():
    import urllib3.exceptions as u3

    def wrapped(reason):
        return requests.exceptions.ConnectionError(u3.MaxRetryError(None, "/v1/x", reason))

    assert vault.never_sent(wrapped(u3.NewConnectionError(None, "refused")))
    assert not vault.timed_out(wrapped(u3.NewConnectionError(None, "refused")))
    assert not vault.never_sent(wrapped(u3.ReadTimeoutError(None, "/v1/x", "slow")))
    assert vault.timed_out(wrapped(u3.ReadTimeoutError(None, "/v1/x", "slow")))
    mapped = make()._map(wrapped(u3.ReadTimeoutError(None, "/v1/x", "slow")), "a")
    assert mapped.problem == "cannot reach http://127.0.0.1:9: no answer within 1s"


def test_a_write_conflict_names_no_value():
    exc = vault.WriteConflict("vault", "gw/x", "another client wrote")
    assert (exc.kind, exc.transient) == ("conflict", False)
    assert str(exc) == ("vault backend, secret 'gw/x': another client wrote. Fix: run again: the next run reads "
                        "the new current version and acts on it")


# -- error mapping -------------------------------------------------------------------------------
@pytest.mark.parametrize("exc,kind,text", [
    (hvac.exceptions.InternalServerError(errors=["boom"]), BackendUnreachable, "boom"),
    (hvac.exceptions.VaultDown(errors=["Vault is sealed"]), BackendUnreachable, "sealed"),
    (hvac.exceptions.BadGateway(errors=["upstream"]), BackendUnreachable, "upstream"),
    (hvac.exceptions.RateLimitExceeded(errors=["slow down"]), Throttled, "rate-limited"),
    (hvac.exceptions.InvalidRequest(errors=["bad field"]), BadConfiguration, "bad field"),
    (hvac.exceptions.InvalidRequest(text="Client sent an HTTP request to an HTTPS server.\n"), BadConfiguration,
     "speaks HTTPS"),
    (requests.exceptions.ConnectionError("refused"), BackendUnreachable, "connection failed"),
    (requests.exceptions.ConnectTimeout("slow"), BackendUnreachable, "no answer within 1s"),
    (requests.exceptions.ReadTimeout("slow"), BackendUnreachable, "no answer within 1s"),
    (requests.exceptions.SSLError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed "
                                  "certificate in certificate chain (_ssl.c:992)"), BadConfiguration,
     "certificate verify failed: self-signed certificate in certificate chain"),
])
def test_error_mapping(exc, kind, text):
    be = make()
    mapped = be._map(exc, "some/secret")
    assert type(mapped) is kind  # pylint: disable=unidiomatic-typecheck  # exact class, not a subclass
    assert text in str(mapped)
    assert mapped.transient == (kind in (BackendUnreachable, Throttled))
    if isinstance(exc, requests.exceptions.SSLError):
        assert "vault_ca_cert" in mapped.fix


def test_login_errors():
    be = make(vault_auth_method="approle", vault_role_id="role-1", vault_secret_id="secret-id-value")
    mapped = be._map(hvac.exceptions.InvalidRequest(errors=["invalid role or secret ID"]), "x", during_login=True)
    assert isinstance(mapped, AccessDenied)
    assert "'vault_role_id', 'vault_secret_id'" in mapped.fix and "auth mount 'approle'" in str(mapped)
    mapped = be._map(hvac.exceptions.InvalidPath(errors=['no handler for route "auth/approle/login"']), "x",
                     during_login=True)
    assert isinstance(mapped, BadConfiguration) and "vault_auth_mount" in mapped.fix
    mapped = be._map(requests.exceptions.ConnectionError("refused"), "x", during_login=True)
    assert isinstance(mapped, BackendUnreachable)


def test_secrets_are_scrubbed_from_server_messages():
    be = make(vault_auth_method="userpass", vault_username="alice", vault_password="hunter2-password")
    mapped = be._map(hvac.exceptions.InvalidRequest(errors=["bad password hunter2-password for alice"]), "x",
                     during_login=True)
    assert "hunter2-password" not in str(mapped) and "<hidden>" in str(mapped)
    be = make(vault_token="s.leaky-token-value")
    mapped = be._map(hvac.exceptions.InternalServerError(errors=["token s.leaky-token-value broke"]), "x")
    assert "s.leaky-token-value" not in str(mapped)


def test_secrets_of_four_characters_are_scrubbed_shorter_ones_not():
    be = make(vault_auth_method="userpass", vault_username="alice", vault_password="p4ss")
    assert be._scrub("login p4ss refused") == "login <hidden> refused"
    be = make(vault_auth_method="userpass", vault_username="alice", vault_password="p4s")
    assert be._scrub("login p4s refused") == "login p4s refused"  # too short to tell from ordinary words


@pytest.mark.parametrize("exc,kind,problem", [
    (hvac.exceptions.InvalidRequest(text="Client sent an HTTP request to an HTTPS server.\n"), BadConfiguration,
     "the server at http://127.0.0.1:9 speaks HTTPS"),
    (hvac.exceptions.InvalidRequest(errors=["bad field"]), BadConfiguration, "the server rejected the request (bad field)"),
    (hvac.exceptions.UnexpectedError(errors=["I'm a teapot"]), BackendUnreachable,
     "unexpected answer from http://127.0.0.1:9 (UnexpectedError: I'm a teapot)"),
])
def test_error_problems(exc, kind, problem):
    mapped = make()._map(exc, "some/secret")
    assert (type(mapped), mapped.problem) == (kind, problem)


def test_server_said():
    be = make()
    # Nothing said at all: the kind of error stands in.
    mapped = be._map(hvac.exceptions.InternalServerError(), "a")
    assert mapped.problem == ("the server at http://127.0.0.1:9 is sealed, in standby or failing "
                              "(InternalServerError: InternalServerError)")
    # A long answer is cut at 300 characters.
    assert be._server_said(hvac.exceptions.InvalidRequest(errors=["x" * 400])) == "x" * 300


def test_refused_url_says_why():
    from ansible_collections.llmops.claude_gateway.plugins.module_utils._url import UrlError, split_http_url

    with pytest.raises(UrlError) as rule:
        split_http_url("http://127.1:8200", ("http",))
    with pytest.raises(BadConfiguration) as exc:
        make(vault_url="http://127.1:8200")
    assert (exc.value.problem, exc.value.fix) == ("vault_url is refused: %s" % rule.value.problem, rule.value.fix)


def test_api_paths():
    assert make()._api_path(SecretRef("a/b", version="3", field="f")) == "secret/data/a/b"
    assert make(vault_kv_version=1, vault_mount="kv")._api_path(SecretRef("a/b", field="f")) == "kv/a/b"


def test_invalid_request_fix_names_mount_and_kv_version():
    mapped = make(vault_mount="kv", vault_kv_version=1)._map(hvac.exceptions.InvalidRequest(errors=["x"]), "a")
    assert mapped.fix == "check vault_mount ('kv'), vault_kv_version (1) and the mount's settings (e.g. cas_required)"


def _fake_client(read_answer=None):
    from types import SimpleNamespace

    def lookup_self():
        raise requests.exceptions.ConnectionError("refused")

    return SimpleNamespace(auth=SimpleNamespace(token=SimpleNamespace(lookup_self=lookup_self)),
                           read=lambda path: read_answer)


def test_token_check_that_cannot_connect_blames_the_policy():
    # The token cannot be checked (no connection): the refusal is taken for a policy's, not the token's.
    be = make()
    be._client = _fake_client()
    mapped = be._map(hvac.exceptions.Forbidden(errors=["permission denied"]), SecretRef("some/secret", "3", field="f"))
    assert mapped.problem == "the token's policies do not allow this on mount 'secret' (permission denied)"
    assert mapped.fix == "grant the token a policy with the needed capabilities on 'secret/data/some/secret'"


def test_mount_version_unknown_when_the_answer_is_not_json():
    # hvac returns the raw response when the body is not JSON: the KV version cannot be told.
    answer = requests.Response()
    answer.status_code = 200
    be = make()
    be._client = _fake_client(read_answer=answer)
    assert be._kv_mismatch("a") is None and be._mount_version == 0
    be = make()
    be._client = _fake_client(read_answer={"data": {"options": {"version": "two"}}})
    assert be._kv_mismatch("a") is None and be._mount_version == 0


def test_unreachable_without_server():
    with pytest.raises(BackendUnreachable, match="cannot reach http://127.0.0.1:9") as exc:
        make().read(SecretRef("a"))
    assert "s.unit-test-token" not in str(exc.value)


def test_url_credentials_never_shown():
    be = make(vault_url="https://user:pa55word@127.0.0.1:9")
    mapped = be._map(requests.exceptions.ConnectionError("refused"), "x")
    assert "pa55word" not in str(mapped) and "https://127.0.0.1:9" in str(mapped)
    # Over plain http, user info is refused outright (Python and other readers disagree on user@host).
    with pytest.raises(BadConfiguration) as exc:
        make(vault_url="http://user:pa55word@127.0.0.1:9")
    assert "pa55word" not in str(exc.value) and "user information" in str(exc.value)


# -- plain http only to loopback (security finding 8) --------------------------------------------
@pytest.mark.parametrize("url", ["http://127.0.0.1:8200", "http://127.5.6.7:8200", "http://localhost:8200",
                                 "http://LocalHost:8200/", "http://[::1]:8200", "https://vault.example.com:8200",
                                 "https://10.0.0.5:8200"])
def test_http_to_loopback_or_https_accepted(url):
    be = make(vault_url=url)
    assert be.warnings == []


@pytest.mark.parametrize("url", ["http://vault.example.com:8200", "http://10.0.0.5:8200", "http://vault:8200",
                                 "http://a.localhost:8200", "http://localhost.:8200", "http://[::ffff:127.0.0.1]:8200"])
def test_http_to_other_hosts_refused_unless_allowed(url, monkeypatch):
    calls = []
    monkeypatch.setattr(vault.hvac, "Client", lambda *a, **k: calls.append(a) or pytest.fail("client created"))
    with pytest.raises(BadConfiguration) as exc:
        make(vault_url=url, vault_token="s.secret-token-value")
    text = str(exc.value)
    assert exc.value.kind == "bad_configuration" and url.split("//")[1].split(":")[0].lower() in text
    assert "in clear" in text and "https://" in exc.value.fix and "vault_allow_insecure_http" in exc.value.fix
    assert "s.secret-token-value" not in text and calls == []
    # The env fallback is checked the same way.
    monkeypatch.setenv("VAULT_ADDR", url)
    with pytest.raises(BadConfiguration):
        make(vault_url=None)
    # Explicitly allowed: a warning, no error.
    be = make(vault_url=url, vault_allow_insecure_http=True)
    assert len(be.warnings) == 1 and "plain http" in be.warnings[0] and "vault_allow_insecure_http" in be.warnings[0]


@pytest.mark.parametrize("url", ["http://127.1:8200", "http://2130706433:8200", "http://evil.example\\.localhost:8200",
                                 "http://localhost@evil.example:8200", "http://l\u043ecalhost:8200"])
def test_http_urls_read_differently_refused_even_when_allowed(url):
    with pytest.raises(BadConfiguration, match="vault_url is refused"):
        make(vault_url=url, vault_allow_insecure_http=True)

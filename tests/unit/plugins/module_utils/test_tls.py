# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The TLS checks on real certificates made by a test CA: each refusal names the problem and the fix."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils import _tls

from .pki import DAY, MINUTE, NOW, ca, cert_pem, issue, key_pem, new_key


@pytest.fixture(name="pki", scope="module")
def fixture_pki():
    root = ca()
    leaf = issue("gw.example.com", issuer=root, names=["gw.example.com", "10.0.0.5"])
    return root, leaf


def test_good_chain_key_and_names(pki):
    root, leaf = pki
    info = _tls.check_server(cert_pem(leaf[0]) + cert_pem(root[0]), key_pem(leaf[1]),
                             ["gw.example.com", "10.0.0.5", "GW.Example.com."], now=NOW)
    assert info["names"] == ["gw.example.com", "10.0.0.5"]
    assert info["subject"] == "CN=gw.example.com" and info["issuer"] == "CN=Test Root CA"
    assert info["chain_length"] == 2 and info["days_left"] == 90 and info["warnings"] == []


def test_key_of_another_certificate_is_refused_without_showing_it(pki):
    _root, leaf = pki
    other = new_key()
    with pytest.raises(_tls.TlsError) as err:
        _tls.check_server(cert_pem(leaf[0]), key_pem(other), ["gw.example.com"], now=NOW)
    msg = str(err.value)
    assert "the private key does not belong to the certificate (CN=gw.example.com)" in msg
    assert "Fix: give the key the certificate was issued for" in msg
    assert "PRIVATE KEY" not in msg and key_pem(other).splitlines()[1] not in msg


def test_expired_and_not_yet_valid(pki):
    root, _leaf = pki
    old = issue("gw.example.com", issuer=root, names=["gw.example.com"], start=NOW - 100 * DAY, end=NOW - DAY)
    with pytest.raises(_tls.TlsError) as err:
        _tls.check_server(cert_pem(old[0]), key_pem(old[1]), ["gw.example.com"], now=NOW)
    assert "the certificate (CN=gw.example.com) expired on" in str(err.value)
    assert "Fix: renew the certificate" in str(err.value)
    future = issue("gw.example.com", issuer=root, names=["gw.example.com"], start=NOW + DAY)
    with pytest.raises(_tls.TlsError) as err:
        _tls.check_server(cert_pem(future[0]), key_pem(future[1]), [], now=NOW)
    assert "is not valid yet" in str(err.value)


def test_expired_intermediate_is_refused(pki):
    root, leaf = pki
    stale = issue("Old Intermediate", issuer=root, ca=True, start=NOW - 10 * DAY, end=NOW - DAY)
    with pytest.raises(_tls.TlsError) as err:
        _tls.check_server(cert_pem(leaf[0]) + cert_pem(stale[0]), key_pem(leaf[1]), [], now=NOW)
    assert "certificate 2 of the chain (CN=Old Intermediate) expired" in str(err.value)


def test_names_not_covered_and_every_problem_at_once(pki):
    _root, leaf = pki
    with pytest.raises(_tls.TlsError) as err:
        _tls.check_server(cert_pem(leaf[0]), key_pem(new_key()), ["gateway.example.com", "10.0.0.6"], now=NOW)
    msg = str(err.value)
    assert "does not cover gateway.example.com, 10.0.0.6: its subjectAltName holds gw.example.com, 10.0.0.5" in msg
    assert "does not belong" in msg and msg.count("Fix:") == 2


def test_no_san_means_no_name_even_with_a_matching_cn(pki):
    root, _leaf = pki
    cn_only = issue("gw.example.com", issuer=root, names=["gw.example.com"], san=False)
    with pytest.raises(_tls.TlsError) as err:
        _tls.check_server(cert_pem(cn_only[0]), key_pem(cn_only[1]), ["gw.example.com"], now=NOW)
    assert "its subjectAltName holds nothing" in str(err.value) and "clients ignore the subject CN" in str(err.value)


@pytest.mark.parametrize("name, sans, covered", [
    ("gw.example.com", ["*.example.com"], True),
    ("a.gw.example.com", ["*.example.com"], False),
    ("example.com", ["*.example.com"], False),
    ("10.0.0.5", ["10.0.0.5"], True),
    ("10.0.0.5", ["*.0.0.5"], False),
    ("[::1]", ["::1"], True),
    ("10.0.0.5", ["gw.example.com"], False),
    ("gw.example.com", ["10.0.0.5"], False),
])
def test_name_matching(name, sans, covered):
    assert _tls.name_covered(name, sans) is covered


def test_expiry_warning(pki):
    root, _leaf = pki
    soon = issue("gw.example.com", issuer=root, names=["gw.example.com"], end=NOW + 5 * DAY + MINUTE)
    info = _tls.check_server(cert_pem(soon[0]), key_pem(soon[1]), ["gw.example.com"], warn_days=14, now=NOW)
    assert info["warnings"] == ["the certificate (CN=gw.example.com) expires in 5 days, on %s: renew it"
                                % (NOW + 5 * DAY + MINUTE).isoformat()]
    assert _tls.check_server(cert_pem(soon[0]), None, [], warn_days=5, now=NOW)["warnings"] == []


@pytest.mark.parametrize("text, words", [
    ("", "holds no PEM certificate"),
    ("just some text\n", "holds no PEM certificate"),
    ("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n", "block 1 is not a valid certificate"),
])
def test_not_pem_certificates(text, words):
    with pytest.raises(_tls.TlsError) as err:
        _tls.check_ca_bundle(text, now=NOW)
    assert "the CA bundle " + words in str(err.value) and "Fix:" in str(err.value)


def test_key_in_a_ca_bundle_is_refused_and_not_shown(pki):
    root, _leaf = pki
    with pytest.raises(_tls.TlsError) as err:
        _tls.check_ca_bundle(cert_pem(root[0]) + key_pem(root[1]), now=NOW)
    assert "block 2 is a 'PRIVATE KEY', not a CERTIFICATE" in str(err.value)
    assert key_pem(root[1]).splitlines()[1] not in str(err.value)


def test_ca_bundle_warnings_and_all_expired(pki):
    root, leaf = pki
    old_ca = issue("Old CA", ca=True, start=NOW - 10 * DAY, end=NOW - DAY)
    out = _tls.check_ca_bundle(cert_pem(root[0]) + cert_pem(old_ca[0]) + cert_pem(leaf[0]), now=NOW)
    assert out["count"] == 3 and [c["is_ca"] for c in out["certificates"]] == [True, True, False]
    assert any("CA bundle certificate 2 (CN=Old CA) expired" in w for w in out["warnings"])
    assert any("certificate 3 (CN=gw.example.com) is not a CA certificate" in w for w in out["warnings"])
    with pytest.raises(_tls.TlsError) as err:
        _tls.check_ca_bundle(cert_pem(old_ca[0]), now=NOW)
    assert "every certificate of the CA bundle is expired" in str(err.value)


def test_encrypted_or_missing_key():
    cert, key = issue("gw.example.com", names=["gw.example.com"])
    from cryptography.hazmat.primitives import serialization
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"pass")).decode()
    with pytest.raises(_tls.TlsError) as err:
        _tls.check_server(cert_pem(cert), encrypted, [], now=NOW)
    assert "is encrypted with a passphrase" in str(err.value)
    with pytest.raises(_tls.TlsError) as err:
        _tls.check_server(cert_pem(cert), cert_pem(cert), [], now=NOW)
    assert "the private key holds no PEM private key" in str(err.value)

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""claude_code_client_check against an https gateway stand-in whose certificate a test CA issued: the tls check
and the requests trust what Claude Code trusts (the system store plus NODE_EXTRA_CA_CERTS)."""

from __future__ import absolute_import, division, print_function

import json
import ssl
import threading
from http.server import HTTPServer

import pytest

from ..module_utils.pki import DAY, NOW, ca, cert_pem, issue, key_pem
from .test_claude_code_client_check import Gateway, by_name, check, gateway, workstation  # noqa: F401 pylint: disable=unused-import


@pytest.fixture(name="tls_gateway")
def fixture_tls_gateway(tmp_path):
    root = ca()
    leaf = issue("localhost", issuer=root, names=["localhost"], end=NOW + 10 * DAY)
    (tmp_path / "ca.pem").write_text(cert_pem(root[0]))
    (tmp_path / "gw.pem").write_text(cert_pem(leaf[0]))
    (tmp_path / "gw.key").write_text(key_pem(leaf[1]))
    server = HTTPServer(("127.0.0.1", 0), Gateway)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(tmp_path / "gw.pem"), str(tmp_path / "gw.key"))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.seen, server.tokens = [], set(["gwt-check-0123456789abcdef"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = "https://localhost:%d" % server.server_port
    server.ca = str(tmp_path / "ca.pem")
    yield server
    server.shutdown()
    server.server_close()


def with_ca(args, ca_path, expected=True, configured=True):
    """The workstation's managed settings (and the policy's env) name the CA bundle."""
    json_path = args["managed_dir"] + "/managed-settings.json"
    with open(json_path) as handle:
        settings = json.load(handle)
    if configured:
        settings["env"]["NODE_EXTRA_CA_CERTS"] = ca_path
    with open(json_path, "w") as handle:
        json.dump(settings, handle)
    if expected:
        args["expected_env"] = dict(args["expected_env"], NODE_EXTRA_CA_CERTS=ca_path)
    return args


def test_https_with_the_ca_passes_and_warns_about_expiry(tmp_path, tls_gateway):
    args = with_ca(workstation(tmp_path, tls_gateway.url), tls_gateway.ca)
    out = check(tmp_path, tls_warn_days=14, **args)
    assert [c for c in out["checks"] if not c["ok"]] == []
    tls = [c for c in out["checks"] if c["check"].startswith("tls")][0]
    assert "chain verified with the system store and %s; certificate CN=localhost expires" % tls_gateway.ca in tls["detail"]
    assert out["tls_warnings"] and "expires in 9 days" in out["tls_warnings"][0]
    assert out["requests"][0]["status"] == 200
    assert check(tmp_path, tls_warn_days=5, **args)["tls_warnings"] == []


def test_without_the_ca_the_chain_fails_and_names_the_fix(tmp_path, tls_gateway):
    out = check(tmp_path, **workstation(tmp_path, tls_gateway.url))
    checks = by_name(out)
    tls = [c for name, c in checks.items() if name.startswith("tls")][0]
    assert not tls["ok"] and "does not verify: unable to get local issuer certificate" in tls["detail"]
    assert "Fix: push the CA that issued the gateway's certificate (claude_code_ca_bundle" in tls["detail"]
    assert not out["requests"][0]["ok"] and "CERTIFICATE_VERIFY_FAILED" in out["requests"][0]["error"]
    live = checks["liveliness"]
    assert not live["ok"] and "CERTIFICATE_VERIFY_FAILED" in live["detail"]


def test_ca_other_than_the_policy_or_missing_file(tmp_path, tls_gateway):
    args = with_ca(workstation(tmp_path, tls_gateway.url), tls_gateway.ca, expected=False)
    tls = [c for c in check(tmp_path, **args)["checks"] if c["check"].startswith("tls")][0]
    assert not tls["ok"] and "NODE_EXTRA_CA_CERTS is %r, the policy says None" % tls_gateway.ca in tls["detail"]
    missing = str(tmp_path / "gone.pem")
    (tmp_path / "second").mkdir()
    args = with_ca(workstation(tmp_path / "second", tls_gateway.url), missing)
    tls = [c for c in check(tmp_path, **args)["checks"] if c["check"].startswith("tls")][0]
    assert not tls["ok"] and "NODE_EXTRA_CA_CERTS=%s cannot be loaded" % missing in tls["detail"]


def test_name_not_on_the_certificate(tmp_path, tls_gateway):
    url = tls_gateway.url.replace("localhost", "127.0.0.1")
    # The same server, but the certificate names localhost only.
    args = with_ca(workstation(tmp_path, url), tls_gateway.ca)
    tls = [c for c in check(tmp_path, checks=["tls"], **args)["checks"] if c["check"].startswith("tls")][0]
    assert not tls["ok"] and "subjectAltName covers 127.0.0.1" in tls["detail"]


def test_plain_http_has_nothing_to_check(tmp_path, gateway):  # noqa: F811 pylint: disable=redefined-outer-name
    tls = check(tmp_path, checks=["tls"], **workstation(tmp_path, gateway.url))["checks"][0]
    assert tls["ok"] and "is not https" in tls["detail"]

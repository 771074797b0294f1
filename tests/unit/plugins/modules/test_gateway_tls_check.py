# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""gateway_tls_check run as a real process: certificates of a test CA given as text or paths, the key never in
the output."""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys

from ..module_utils.pki import DAY, NOW, ca, cert_pem, issue, key_pem, new_key
from .test_claude_code_client_check import ROOT


def tls_check(tmp_path, secret=None, **args):
    argfile = tmp_path / "args.json"
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".cache", "collections"))
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.llmops.claude_gateway.plugins.modules."
                           "gateway_tls_check", str(argfile)], capture_output=True, text=True, env=env, check=False)
    if secret:
        for line in secret.splitlines()[1:-1]:
            assert line not in proc.stdout + proc.stderr, "key material in module output"
    return json.loads(proc.stdout)


def test_good_material_as_text_and_as_paths(tmp_path):
    root = ca()
    leaf = issue("gw.example.com", issuer=root, names=["gw.example.com"], end=NOW + 10 * DAY)
    key = key_pem(leaf[1])
    out = tls_check(tmp_path, key, cert=cert_pem(leaf[0]) + cert_pem(root[0]), key=key, names=["gw.example.com"],
                    _ansible_check_mode=True)
    assert not out.get("failed") and out["changed"] is False
    assert out["certificate"]["names"] == ["gw.example.com"] and out["certificate"]["chain_length"] == 2
    assert len(out["tls_warnings"]) == 1 and "expires in 9 days" in out["tls_warnings"][0]
    (tmp_path / "c.pem").write_text(cert_pem(leaf[0]))
    (tmp_path / "k.pem").write_text(key)
    (tmp_path / "ca.pem").write_text(cert_pem(root[0]))
    out = tls_check(tmp_path, key, cert_path=str(tmp_path / "c.pem"), key_path=str(tmp_path / "k.pem"),
                    ca_bundle_path=str(tmp_path / "ca.pem"), warn_days=5)
    assert not out.get("failed") and out["tls_warnings"] == [] and out["ca_bundle"]["count"] == 1


def test_refusals_name_the_problem_and_never_the_key(tmp_path):
    leaf = issue("gw.example.com", names=["gw.example.com"])
    other = key_pem(new_key())
    out = tls_check(tmp_path, other, cert=cert_pem(leaf[0]), key=other, names=["gw.example.com", "api.example.com"])
    assert out["failed"] and "does not belong to the certificate" in out["msg"] and "does not cover api.example.com" in out["msg"]
    out = tls_check(tmp_path, ca_bundle="MIIBxTCCAWugAwIBAgIU\n")
    assert out["failed"] and out["msg"].startswith("the CA bundle holds no PEM certificate")
    out = tls_check(tmp_path, cert_path=str(tmp_path / "missing.pem"))
    assert out["failed"] and "certificate %s cannot be read" % (tmp_path / "missing.pem") in out["msg"]
    out = tls_check(tmp_path, key="x")
    assert out["failed"] and "one of the following is required: cert, cert_path, ca_bundle, ca_bundle_path" in out["msg"]

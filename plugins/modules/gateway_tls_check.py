#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gateway_tls_check
short_description: Check a gateway certificate and key, or a CA bundle, before they are installed
version_added: 0.1.0
description:
  - Server material (O(cert) with O(key)) - the key must be the certificate's (same public key), every
    certificate of the chain must be valid now (not expired, not yet valid), and every name of O(names) must be
    covered by the first certificate's subjectAltName (clients ignore the subject CN; a wildcard covers one
    label).
  - A CA bundle (O(ca_bundle)) - PEM certificates only, at least one valid now.
  - Fails listing every problem with its fix; a certificate or CA expiring within O(warn_days) days is a
    warning. The roles run it on the controller (where C(cryptography) is always installed, as a dependency of
    ansible-core) before they write anything, so a refused input changes nothing.
  - Changes nothing (check mode is supported and C(changed) is always false). The key is never in the results
    or messages.
author:
  - llmops.claude_gateway maintainers (@llmops)
requirements:
  - cryptography (a dependency of ansible-core)
options:
  cert:
    description: The certificate chain as PEM text, the gateway's certificate first, then intermediates.
    type: str
  cert_path:
    description: Path of the certificate chain (PEM) on the host that runs the module, instead of O(cert).
    type: path
  key:
    description: The certificate's private key as unencrypted PEM text.
    type: str
  key_path:
    description: Path of the private key (PEM) on the host that runs the module, instead of O(key).
    type: path
  names:
    description:
      - Host names or IP addresses clients use to reach the gateway (the host of its URL); the certificate
        must cover each.
    type: list
    elements: str
    default: []
  ca_bundle:
    description: A CA bundle as PEM text (one or more certificates), checked on its own.
    type: str
  ca_bundle_path:
    description: Path of a CA bundle (PEM) on the host that runs the module, instead of O(ca_bundle).
    type: path
  warn_days:
    description: A certificate expiring within this many days is a warning.
    type: int
    default: 14
"""

EXAMPLES = r"""
- name: Check the gateway's certificate and key on the controller before installing them
  llmops.claude_gateway.gateway_tls_check:
    cert: "{{ lookup('ansible.builtin.file', 'pki/gateway.pem') }}"
    key: "{{ lookup('ansible.builtin.file', 'pki/gateway.key') }}"
    names: [llm-gateway.example.com]
  delegate_to: localhost
  no_log: true

- name: Check the company CA bundle clients will trust
  llmops.claude_gateway.gateway_tls_check:
    ca_bundle_path: pki/company-ca.pem
  delegate_to: localhost
  register: ca
"""

RETURN = r"""
certificate:
  description: The gateway's certificate (the first of the chain), when O(cert) or O(cert_path) is given.
  returned: when a certificate is given
  type: dict
  contains:
    subject:
      description: Subject distinguished name.
      type: str
    issuer:
      description: Issuer distinguished name.
      type: str
    not_before:
      description: Start of validity (ISO 8601, UTC).
      type: str
    not_after:
      description: End of validity (ISO 8601, UTC).
      type: str
    days_left:
      description: Whole days until RV(certificate.not_after).
      type: int
    names:
      description: DNS names and IP addresses of its subjectAltName.
      type: list
      elements: str
    fingerprint_sha256:
      description: SHA-256 fingerprint (hex).
      type: str
    chain_length:
      description: Number of certificates given (the certificate and its intermediates).
      type: int
  sample: {subject: "CN=llm-gateway.example.com", days_left: 89, names: [llm-gateway.example.com], chain_length: 2}
ca_bundle:
  description: The CA bundle, when O(ca_bundle) or O(ca_bundle_path) is given.
  returned: when a CA bundle is given
  type: dict
  contains:
    count:
      description: Number of certificates.
      type: int
    certificates:
      description: Each certificate, with the keys of RV(certificate) and C(is_ca).
      type: list
      elements: dict
  sample: {count: 1, certificates: [{subject: "CN=Example Corp Root CA", is_ca: true, days_left: 3600}]}
tls_warnings:
  description: Certificates expiring within O(warn_days) days, and for a CA bundle expired or non-CA entries.
  returned: always
  type: list
  elements: str
  sample: ["the certificate (CN=llm-gateway.example.com) expires in 9 days, on 2026-12-10T00:00:00+00:00: renew it"]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.llmops.claude_gateway.plugins.module_utils import _tls


def _read(module, path, what):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as exc:
        module.fail_json(msg="%s %s cannot be read (%s). Fix: give the path of a readable PEM file."
                         % (what, path, to_native(exc.strerror or exc)))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            cert=dict(type="str"),
            cert_path=dict(type="path"),
            key=dict(type="str", no_log=True),
            key_path=dict(type="path", no_log=False),
            names=dict(type="list", elements="str", default=[]),
            ca_bundle=dict(type="str"),
            ca_bundle_path=dict(type="path"),
            warn_days=dict(type="int", default=_tls.DEFAULT_WARN_DAYS),
        ),
        mutually_exclusive=[("cert", "cert_path"), ("key", "key_path"), ("ca_bundle", "ca_bundle_path")],
        required_one_of=[("cert", "cert_path", "ca_bundle", "ca_bundle_path")],
        supports_check_mode=True,
    )
    if not _tls.HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography") + " Fix: run this check on the controller "
                         "(delegate_to: localhost), where ansible-core installed it.")
    params = module.params
    has_cert = params["cert"] is not None or params["cert_path"] is not None
    has_key = params["key"] is not None or params["key_path"] is not None
    if has_key and not has_cert:
        module.fail_json(msg="a key was given without its certificate. Fix: give cert or cert_path too.")
    result = {"changed": False, "tls_warnings": []}
    try:
        if has_cert:
            cert = params["cert"] if params["cert"] is not None else _read(module, params["cert_path"], "certificate")
            key = None
            if has_key:
                key = params["key"] if params["key"] is not None else _read(module, params["key_path"], "private key")
            info = _tls.check_server(cert, key, params["names"], params["warn_days"])
            result["tls_warnings"].extend(info.pop("warnings"))
            info.pop("is_ca", None)
            result["certificate"] = info
        if params["ca_bundle"] is not None or params["ca_bundle_path"] is not None:
            bundle = params["ca_bundle"]
            if bundle is None:
                bundle = _read(module, params["ca_bundle_path"], "CA bundle")
            info = _tls.check_ca_bundle(bundle, params["warn_days"])
            result["tls_warnings"].extend(info.pop("warnings"))
            result["ca_bundle"] = info
    except _tls.TlsError as exc:
        module.fail_json(msg=str(exc), **result)
    for warning in result["tls_warnings"]:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

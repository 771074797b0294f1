# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pem_source_kind filter: how a role's certificate, key or CA bundle is given."""

from __future__ import absolute_import, division, print_function

import pytest

from ansible_collections.llmops.claude_gateway.plugins.filter.tls import FilterModule, pem_source_kind

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.mark.parametrize("value, remote_src, kind", [
    ("", False, "none"), (None, True, "none"),
    ({"name": "pki/gateway-key", "backend": "vault"}, True, "ref"), ({"backend": "vault"}, False, "invalid"),
    (PEM, True, "pem"), (PEM, False, "pem"),
    ("/etc/ssl/gw.pem", True, "host"), ("/srv/pki/gw.pem", False, "controller"), ("pki/gw.pem", False, "controller"),
    (42, False, "invalid"), (["/a"], False, "invalid"),
])
def test_kinds(value, remote_src, kind):
    assert pem_source_kind(value, remote_src) == kind


def test_registered():
    assert FilterModule().filters() == {"pem_source_kind": pem_source_kind}

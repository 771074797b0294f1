# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the roles' TLS inputs (certificates, keys, CA bundles) are given (module_utils/_tls.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Each filter is documented in plugins/filter/<filter name>.yml.

from ansible_collections.llmops.claude_gateway.plugins.module_utils._tls import source_kind


def pem_source_kind(value, remote_src=False):
    return source_kind(value, bool(remote_src))


class FilterModule(object):
    def filters(self):
        return {"pem_source_kind": pem_source_kind}

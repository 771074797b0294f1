# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the secret modules share besides their options (see _backends/options.py): error reporting."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import SecretError


def fail_from_error(module, exc):
    """Fail the module with a SecretError's message (which never holds a secret value)."""
    if isinstance(exc, SecretError):
        module.fail_json(msg=str(exc), **exc.to_result())
    raise exc

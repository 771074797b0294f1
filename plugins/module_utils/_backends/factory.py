# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backend selection by name (the options themselves are the table in options.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import BadConfiguration
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.options import BACKENDS, argument_spec


def _backend_class(name):
    """The class of backend ``name``, importing only that backend (and so only its SDK).

    The imports are explicit statements, not importlib: AnsiballZ finds the module_utils a module needs
    by reading its import statements, wherever they are. Importing one SDK instead of all of them saves
    about 0.8 s per module run and per lookup worker (see docs/performance.md).
    """
    if name == "aws":
        from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.aws import AwsBackend

        return AwsBackend
    if name == "gcp":
        from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.gcp import GcpBackend

        return GcpBackend
    if name == "vault":
        from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.vault import VaultBackend

        return VaultBackend
    from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.local import LocalBackend

    return LocalBackend


# The modules' argument_spec, derived from the options table.
BACKEND_ARGUMENT_SPEC = argument_spec()


def get_backend(options):
    """Return the backend instance named by ``options['backend']``."""
    name = options.get("backend") or "local"
    if name not in BACKENDS:
        raise BadConfiguration(name, options.get("name") or "", "unknown backend '%s'" % name,
                               "set 'backend' to one of: %s" % ", ".join(sorted(BACKENDS)))
    return _backend_class(name)(options)


def ref_from_options(options):
    """Build the SecretRef named by module/lookup options."""
    return SecretRef(options.get("name"), options.get("version"), options.get("version_stage"), options.get("field"))

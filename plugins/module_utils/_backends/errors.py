# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One error family for every secret backend.

Each message names the backend, the reference and the fix, never a secret value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class SecretError(Exception):
    """Base of every backend error. ``kind`` is stable and machine-readable."""

    kind = "error"
    transient = False
    default_fix = ""

    def __init__(self, backend, ref, problem, fix=None):
        self.backend = backend
        self.ref = "" if ref is None else str(ref)  # a SecretRef or a name
        self.problem = problem
        self.fix = fix if fix is not None else self.default_fix
        super(SecretError, self).__init__(self.__str__())

    def __str__(self):
        where = " '%s'" % self.ref if self.ref else ""
        msg = "%s backend, secret%s: %s" % (self.backend, where, self.problem)
        if self.fix:
            msg += ". Fix: %s" % self.fix
        return msg

    def to_result(self):
        """Fields a module adds to its failure result."""
        return {"error_kind": self.kind, "backend": self.backend, "secret": self.ref}


class SecretNotFound(SecretError):
    kind = "not_found"
    default_fix = "check the secret name, path and version, or create it with llmops.claude_gateway.gateway_token"


class AccessDenied(SecretError):
    kind = "access_denied"
    default_fix = "grant the identity used by this backend read (and for writes, write) access to this secret"


class BackendUnreachable(SecretError):
    kind = "unreachable"
    transient = True
    default_fix = "check the store's address, that it is running and reachable from the controller, and proxy/TLS settings"


class Throttled(SecretError):
    kind = "throttled"
    transient = True
    default_fix = "retry later or raise the 'retries' option"


class InvalidFormat(SecretError):
    kind = "invalid_format"
    default_fix = "check the stored value's format and the 'field' option"


class BadConfiguration(SecretError):
    kind = "bad_configuration"
    default_fix = "check the backend options (see ansible-doc llmops.claude_gateway.gateway_token_info)"

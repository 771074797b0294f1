# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the ``vault`` backend logs in: one class per Vault / OpenBao auth method.

``vault_auth_method`` picks the class from ``AUTH_METHODS``; ``vault_auth_mount`` defaults to the
method's name. Each class names the options it needs (checked before any request), the credentials a
refused login points at, and how it turns them into a client token:

- ``token``: ``vault_token`` (or ``BAO_TOKEN`` / ``VAULT_TOKEN``, see options.py).
- ``approle``: ``vault_role_id`` and ``vault_secret_id`` (may be omitted for roles that do not bind a
  secret ID).
- ``jwt``: ``vault_role`` and ``vault_jwt``.
- ``kubernetes``: ``vault_role`` and the service-account token read from ``vault_kubernetes_token_path``
  (or given directly in ``vault_jwt``).
- ``userpass``: ``vault_username`` and ``vault_password``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import BadConfiguration
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.options import BY_NAME

BACKEND = "vault"
SECRET_OPTIONS = ("vault_token", "vault_secret_id", "vault_jwt", "vault_password")


class VaultAuth(object):
    """One auth method: which options it needs and how it turns them into a client token."""

    method = None
    required = ()  # option names that must be set
    credentials = ()  # option names a failed login points at

    def __init__(self, options, mount):
        self.options = options
        self.mount = mount or self.method

    def value(self, key):
        return self.options.get(key) or None

    def refuse(self, problem, fix):
        return BadConfiguration(BACKEND, self.options.get("name") or "", problem, fix)

    def check(self):
        """Refuse missing options before any request is made."""
        for key in self.required:
            if not self.value(key):
                raise self.refuse("vault_auth_method '%s' needs option '%s', which is not set" % (self.method, key),
                                  "set '%s'" % key)

    def secrets(self):
        """Values that must never appear in a message."""
        return [self.value(key) for key in SECRET_OPTIONS]

    def login(self, client):
        raise NotImplementedError

    def fix(self):
        names = ", ".join("'%s'" % c for c in self.credentials)
        return "check %s, the role/user configured at auth mount '%s', and that the %s method is enabled " \
               "there (else set 'vault_auth_mount')" % (names, self.mount, self.method)


class AppRoleAuth(VaultAuth):
    method = "approle"
    required = ("vault_role_id",)
    credentials = ("vault_role_id", "vault_secret_id")

    def login(self, client):
        client.auth.approle.login(self.value("vault_role_id"), self.value("vault_secret_id"), mount_point=self.mount)


class JwtAuth(VaultAuth):
    method = "jwt"
    required = ("vault_role", "vault_jwt")
    credentials = ("vault_role", "vault_jwt")

    def login(self, client):
        client.auth.jwt.jwt_login(self.value("vault_role"), self.value("vault_jwt"), path=self.mount)


class KubernetesAuth(VaultAuth):
    method = "kubernetes"
    required = ("vault_role",)
    credentials = ("vault_role", "vault_kubernetes_token_path")

    def __init__(self, options, mount):
        super(KubernetesAuth, self).__init__(options, mount)
        self._jwt = None

    def check(self):
        super(KubernetesAuth, self).check()
        if self.value("vault_jwt"):
            self._jwt = self.value("vault_jwt")
            return
        path = self.value("vault_kubernetes_token_path") or BY_NAME["vault_kubernetes_token_path"].default
        try:
            with open(path) as handle:
                self._jwt = handle.read().strip()
        except (IOError, OSError) as exc:
            raise self.refuse("cannot read the service-account token file '%s' (%s)" % (path, exc.strerror),
                              "set 'vault_kubernetes_token_path' to a readable token file, or pass the token in "
                              "'vault_jwt'")
        if not self._jwt:
            raise self.refuse("the service-account token file '%s' is empty" % path,
                              "set 'vault_kubernetes_token_path' to the pod's projected token")

    def secrets(self):
        return super(KubernetesAuth, self).secrets() + [self._jwt]

    def login(self, client):
        client.auth.kubernetes.login(self.value("vault_role"), self._jwt, mount_point=self.mount)


class TokenAuth(VaultAuth):
    method = "token"
    required = ("vault_token",)
    credentials = ("vault_token",)

    def login(self, client):
        client.token = self.value("vault_token")

    def fix(self):
        return "set a valid, unexpired token in 'vault_token' (or BAO_TOKEN / VAULT_TOKEN); renew or re-issue it"


class UserpassAuth(VaultAuth):
    method = "userpass"
    required = ("vault_username", "vault_password")
    credentials = ("vault_username", "vault_password")

    def login(self, client):
        client.auth.userpass.login(self.value("vault_username"), self.value("vault_password"), mount_point=self.mount)


# The selector by vault_auth_method; keep it in alphabetical order, like options.VAULT_AUTH_METHODS.
AUTH_METHODS = dict((cls.method, cls) for cls in (AppRoleAuth, JwtAuth, KubernetesAuth, TokenAuth, UserpassAuth))


def auth_for(options):
    """The auth method object named by ``vault_auth_method``, its options checked."""
    method = options.get("vault_auth_method") or "token"
    if method not in AUTH_METHODS:
        raise BadConfiguration(BACKEND, options.get("name") or "", "unknown vault_auth_method '%s'" % method,
                               "use one of: %s" % ", ".join(sorted(AUTH_METHODS)))
    auth = AUTH_METHODS[method](options, options.get("vault_auth_mount"))
    auth.check()
    return auth

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The secret-store options, in one table.

Everything else is derived from ``OPTIONS``: the modules' argument_spec (``argument_spec()``), the
backend choice of the factory (``BACKENDS``), the lookup's option list, the environment fallbacks
(``with_env_fallbacks()``, applied once, by every backend) and the ``vars:``/``ini:``/``env:`` names
that let a lookup option be set once (``plugin_settings()``). The doc fragments stay literal YAML, since
ansible-doc reads them without running code; a unit test holds them equal to this table.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.module_utils.parsing.convert_bool import boolean

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import BadConfiguration

COMMON = "common"
BACKENDS = ("aws", "gcp", "local", "vault")
VAULT_AUTH_METHODS = ("approle", "jwt", "kubernetes", "token", "userpass")

# Where a lookup option can be set once (see plugin_settings).
INI_SECTION = "llmops_claude_gateway"
VARS_PREFIX = "claude_gateway_store_"
ENV_PREFIX = "ANSIBLE_CLAUDE_GATEWAY_STORE_"


class Option(object):
    """One option: its spec, the backend that reads it, and ``doc``, the first words of its description in the
    doc fragment of that backend (which starts with V(backend) for a backend's own option)."""

    __slots__ = ("name", "backend", "doc", "type", "default", "choices", "env", "env_negates", "no_log", "settable",
                 "required", "aliases")

    def __init__(self, name, backend, doc, type="str", default=None, choices=None, env=(), env_negates=False,
                 no_log=False, settable=True, required=False, aliases=()):
        self.name = name
        self.backend = backend  # COMMON or one of BACKENDS
        self.doc = doc
        self.type = type
        self.default = default
        self.choices = list(choices) if choices else None
        # Environment variables read when the option is unset (lowest precedence), first set one wins.
        self.env = list(env)
        self.env_negates = env_negates  # a bool option the variables say the opposite of (SKIP_VERIFY)
        self.no_log = no_log
        self.settable = settable  # may be set once for the lookup (vars/ini/env), not per secret
        self.required = required
        self.aliases = list(aliases)

    def spec(self):
        """This option as an AnsibleModule argument_spec entry."""
        entry = dict(type=self.type, no_log=self.no_log)  # explicit: names like *_token_path are no secrets
        for key in ("default", "choices"):
            if getattr(self, key) is not None:
                entry[key] = getattr(self, key)
        if self.required:
            entry["required"] = True
        if self.aliases:
            entry["aliases"] = list(self.aliases)
        return entry


OPTIONS = (
    # common
    Option("backend", COMMON, "The secret store.", default="local", choices=BACKENDS),
    Option("name", COMMON, "The secret's name.", settable=False, required=True, aliases=("secret", "path")),
    Option("version", COMMON, "The version to read.", settable=False),
    Option("version_stage", COMMON, "V(aws) only.", settable=False),
    Option("field", COMMON, "Pick one key out of a secret that holds a JSON object.", settable=False),
    Option("retries", COMMON, "How many times to retry a call that failed transiently", type="int", default=3),
    Option("timeout", COMMON, "Seconds to wait for the store to connect and answer, per call.", type="float",
           default=10),
    # aws
    # AWS_REGION first: the variable AWS's own tools and docs name (botocore itself reads only AWS_DEFAULT_REGION).
    Option("aws_region", "aws", "V(aws) region.", env=("AWS_REGION", "AWS_DEFAULT_REGION")),
    Option("aws_profile", "aws", "V(aws) named profile from the AWS config and credentials files."),
    Option("aws_access_key_id", "aws", "V(aws) access key id.", no_log=True),
    Option("aws_secret_access_key", "aws", "V(aws) secret access key, with O(aws_access_key_id).", no_log=True),
    Option("aws_session_token", "aws", "V(aws) session token for temporary credentials.", no_log=True),
    Option("aws_assume_role_arn", "aws", "V(aws) role to assume with STS before calling Secrets Manager."),
    Option("aws_endpoint_url", "aws", "V(aws) endpoint of Secrets Manager (and STS)"),
    Option("aws_kms_key_id", "aws", "V(aws) KMS key to encrypt a secret with when it is created."),
    # gcp
    Option("gcp_project", "gcp", "V(gcp) project id."),
    Option("gcp_credentials_file", "gcp", "V(gcp) service-account JSON key file.", type="path"),
    Option("gcp_access_token", "gcp", "V(gcp) OAuth2 access token to use instead of a key file or ADC.",
           no_log=True),
    Option("gcp_transport", "gcp", "V(gcp) API transport.", default="grpc", choices=("grpc", "rest")),
    Option("gcp_api_endpoint", "gcp", "V(gcp) API endpoint"),
    # vault / openbao
    Option("vault_url", "vault", "V(vault) server address.", env=("BAO_ADDR", "VAULT_ADDR")),
    Option("vault_namespace", "vault", "V(vault) namespace (Vault Enterprise, OpenBao).",
           env=("BAO_NAMESPACE", "VAULT_NAMESPACE")),
    Option("vault_mount", "vault", "V(vault) mount point of the KV secrets engine.", default="secret"),
    Option("vault_kv_version", "vault", "V(vault) KV secrets engine version.", type="int", default=2, choices=(1, 2)),
    Option("vault_auth_method", "vault", "V(vault) authentication method.", default="token",
           choices=VAULT_AUTH_METHODS),
    Option("vault_auth_mount", "vault", "V(vault) mount point of the auth method."),
    Option("vault_token", "vault", "V(vault) token for O(vault_auth_method=token).", env=("BAO_TOKEN", "VAULT_TOKEN"),
           no_log=True),
    Option("vault_role_id", "vault", "V(vault) AppRole role id."),
    Option("vault_secret_id", "vault", "V(vault) AppRole secret id.", no_log=True),
    Option("vault_role", "vault", "V(vault) role for the V(jwt) and V(kubernetes) methods."),
    Option("vault_jwt", "vault", "V(vault) signed JWT for O(vault_auth_method=jwt).", no_log=True),
    Option("vault_kubernetes_token_path", "vault", "V(vault) service-account token file", type="path",
           default="/var/run/secrets/kubernetes.io/serviceaccount/token"),
    Option("vault_username", "vault", "V(vault) user name for O(vault_auth_method=userpass)."),
    Option("vault_password", "vault", "V(vault) password for O(vault_auth_method=userpass).", no_log=True),
    Option("vault_ca_cert", "vault", "V(vault) CA bundle to verify the server's certificate.", type="path",
           env=("BAO_CACERT", "VAULT_CACERT")),
    # No default in the spec: a default would always be set, and the variables could never apply. Unset and
    # no variable set means true (vault.py).
    Option("vault_validate_certs", "vault", "V(vault) whether to verify the server's TLS certificate.", type="bool",
           env=("BAO_SKIP_VERIFY", "VAULT_SKIP_VERIFY"), env_negates=True),
    Option("vault_allow_insecure_http", "vault", "V(vault) allow an C(http://) O(vault_url) to a host that is not "
           "loopback.", type="bool", default=False),
    # local
    Option("local_path", "local", "V(local) store file.", type="path"),
    Option("local_vault_password", "local", "V(local) ansible-vault password.", no_log=True),
    Option("local_vault_password_file", "local", "V(local) file holding the ansible-vault password", type="path"),
    Option("local_vault_id", "local", "V(local) vault ID label"),
)

BY_NAME = dict((option.name, option) for option in OPTIONS)

# Option pairs a task may not set together.
MUTUALLY_EXCLUSIVE = [["version", "version_stage"], ["local_vault_password", "local_vault_password_file"]]


def argument_spec(**extra):
    """The argument_spec of a module that talks to a store, plus the module's own ``extra`` options."""
    spec = dict((option.name, option.spec()) for option in OPTIONS)
    spec.update(extra)
    return spec


def plugin_settings(name):
    """Where a lookup option can be set once: ``vars:``, ``ini:`` and ``env:`` entries of its doc."""
    return {
        "vars": [{"name": VARS_PREFIX + name}],
        "ini": [{"section": INI_SECTION, "key": name}],
        "env": [{"name": ENV_PREFIX + name.upper()}],
    }


def env_value(option, environ):
    """The value the environment gives ``option``, or None.

    The first of ``option.env`` that is set and not empty wins (an empty variable counts as unset). A bool
    option's variable is parsed strictly and may negate it.
    """
    key = next((key for key in option.env if environ.get(key)), None)
    if key is None:
        return None
    if option.type != "bool":
        return environ[key]
    try:
        value = boolean(environ[key], strict=True)
    except TypeError:
        raise BadConfiguration(option.backend, "", "environment variable %s is '%s', not a boolean"
                               % (key, environ[key]), "set %s to true or false, or unset it" % key)
    return not value if option.env_negates else value


def with_env_fallbacks(options, environ=None):
    """``options`` with every unset option that has environment fallbacks taken from the environment.

    The one place where BAO_ADDR, VAULT_ADDR and friends are read, for modules, the lookup and direct callers.
    """
    environ = os.environ if environ is None else environ
    merged = dict(options)
    for option in OPTIONS:
        if option.env and merged.get(option.name) in (None, ""):
            merged[option.name] = env_value(option, environ)
    return merged

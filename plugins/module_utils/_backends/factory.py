# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backend selection and the option spec shared by the modules and the lookup."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import BadConfiguration

BACKENDS = ("aws", "gcp", "local", "vault")


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


# The options every backend understands, documented once in doc_fragments/backend.py.
BACKEND_ARGUMENT_SPEC = dict(
    backend=dict(type="str", default="local", choices=list(BACKENDS)),
    name=dict(type="str", required=True, aliases=["secret", "path"]),
    version=dict(type="str"),
    version_stage=dict(type="str"),
    field=dict(type="str"),
    retries=dict(type="int", default=3),
    timeout=dict(type="float", default=10),
    # aws
    aws_region=dict(type="str"),
    aws_profile=dict(type="str"),
    aws_access_key_id=dict(type="str", no_log=True),
    aws_secret_access_key=dict(type="str", no_log=True),
    aws_session_token=dict(type="str", no_log=True),
    aws_assume_role_arn=dict(type="str"),
    aws_endpoint_url=dict(type="str"),
    aws_kms_key_id=dict(type="str"),
    # gcp
    gcp_project=dict(type="str"),
    gcp_credentials_file=dict(type="path"),
    gcp_access_token=dict(type="str", no_log=True),
    gcp_transport=dict(type="str", default="grpc", choices=["grpc", "rest"]),
    gcp_api_endpoint=dict(type="str"),
    # vault / openbao
    vault_url=dict(type="str", fallback=(env_fallback, ["VAULT_ADDR"])),
    vault_namespace=dict(type="str", fallback=(env_fallback, ["VAULT_NAMESPACE"])),
    vault_mount=dict(type="str", default="secret"),
    vault_kv_version=dict(type="int", default=2, choices=[1, 2]),
    vault_auth_method=dict(type="str", default="token",
                           choices=["token", "approle", "jwt", "kubernetes", "userpass"]),
    vault_auth_mount=dict(type="str"),
    vault_token=dict(type="str", no_log=True, fallback=(env_fallback, ["VAULT_TOKEN"])),
    vault_role_id=dict(type="str"),
    vault_secret_id=dict(type="str", no_log=True),
    vault_role=dict(type="str"),
    vault_jwt=dict(type="str", no_log=True),
    vault_kubernetes_token_path=dict(type="path", no_log=False, default="/var/run/secrets/kubernetes.io/serviceaccount/token"),
    vault_username=dict(type="str"),
    vault_password=dict(type="str", no_log=True),
    vault_ca_cert=dict(type="path"),
    vault_validate_certs=dict(type="bool", default=True),
    vault_allow_insecure_http=dict(type="bool", default=False),
    # local
    local_path=dict(type="path"),
    local_vault_password=dict(type="str", no_log=True),
    local_vault_password_file=dict(type="path", no_log=False),
)


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

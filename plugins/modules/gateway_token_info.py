#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gateway_token_info
short_description: Read a gateway token from a secret store
version_added: 0.1.0
description:
  - Reads a secret (a gateway token, a master key, a provider credential) from AWS Secrets Manager,
    Google Cloud Secret Manager, HashiCorp Vault / OpenBao or the embedded local store, with its version,
    creation time and metadata.
  - The result is marked C(no_log), so the value never shows in the output, even at C(-vvv); it is
    still available in the registered variable.
  - Normally run on the controller with C(delegate_to=localhost) and C(run_once=true), which costs one
    store read for the whole play.
author:
  - llmops.claude_gateway maintainers (@llmops)
options:
  name:
    description:
      - The secret's name. AWS secret name or ARN; GCP secret id or C(projects/P/secrets/S); Vault path
        under O(vault_mount); local store key.
    type: str
    required: true
    aliases: [secret, path]
  list_versions:
    description: Also return the list of the secret's versions (ids, states, labels; no values).
    type: bool
    default: false
extends_documentation_fragment:
  - llmops.claude_gateway.backend
  - llmops.claude_gateway.backend_aws
  - llmops.claude_gateway.backend_gcp
  - llmops.claude_gateway.backend_vault
  - llmops.claude_gateway.backend_local
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only.
seealso:
  - module: llmops.claude_gateway.gateway_token
  - plugin: llmops.claude_gateway.gateway_token
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Read the gateway master key once for the whole play (one store read, not one per host)
  llmops.claude_gateway.gateway_token_info:
    backend: vault
    vault_url: https://vault.example.com:8200
    vault_auth_method: approle
    vault_role_id: "{{ approle_role_id }}"
    vault_secret_id: "{{ approle_secret_id }}"
    name: claude-gateway/master-key
  delegate_to: localhost
  run_once: true
  register: master_key

- name: Read one JSON field of an AWS secret, by staging label
  llmops.claude_gateway.gateway_token_info:
    backend: aws
    aws_region: eu-west-1
    name: claude-gateway/tokens
    field: ci
    version_stage: AWSPREVIOUS
  delegate_to: localhost
  run_once: true
  register: ci_token_previous

- name: Read version 3 of a GCP secret and list its versions
  llmops.claude_gateway.gateway_token_info:
    backend: gcp
    gcp_project: my-platform
    gcp_credentials_file: /etc/ansible/gcp-sa.json
    name: claude-gateway-alice
    version: "3"
    list_versions: true
  delegate_to: localhost
  run_once: true
  register: alice_token

- name: Read from the embedded local store (laptops, the demo)
  llmops.claude_gateway.gateway_token_info:
    name: alice
  delegate_to: localhost
  run_once: true
  register: alice_local
"""

RETURN = r"""
value:
  description: The secret value (after O(field) is applied).
  returned: success
  type: str
version:
  description: The version read (AWS VersionId, GCP/Vault/local version number; null for Vault KV v1).
  returned: success
  type: str
  sample: "3"
created:
  description: When that version was created (ISO 8601), when the store says.
  returned: success
  type: str
  sample: "2026-11-27T09:30:00Z"
metadata:
  description: Store-specific metadata (AWS ARN and stages, GCP resource name, Vault custom metadata, ...).
  returned: success
  type: dict
versions:
  description: Every version of the secret, newest first, with O(list_versions=true). Never holds values.
  returned: when O(list_versions=true)
  type: list
  elements: dict
  sample: [{"version": "3", "created": "2026-11-27T09:30:00Z", "state": "enabled", "labels": []}]
backend:
  description: The backend used.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import SecretError
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory import (
    get_backend,
    ref_from_options,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.options import (
    MUTUALLY_EXCLUSIVE,
    argument_spec,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._module import fail_from_error


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(list_versions=dict(type="bool", default=False)),
        mutually_exclusive=MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    try:
        backend = get_backend(module.params)
        for warning in backend.warnings:
            module.warn(warning)
        secret = backend.read(ref_from_options(module.params))
        result = dict(changed=False, backend=backend.name, value=secret.value, **secret.info())
        if module.params["list_versions"]:
            result["versions"] = [v.to_dict() for v in backend.versions(module.params["name"])]
    except SecretError as exc:
        fail_from_error(module, exc)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

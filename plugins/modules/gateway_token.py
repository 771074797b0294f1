#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gateway_token
short_description: Ensure, generate, rotate and retire a gateway token in a secret store
version_added: 0.1.0
description:
  - Makes sure a secret (a gateway client token or the LiteLLM master key) exists in AWS Secrets Manager,
    Google Cloud Secret Manager, HashiCorp Vault / OpenBao or the embedded local store.
  - Either stores the given O(value), or generates a random token with O(generate=true). It is idempotent; no
    new version is written when the stored value already matches, or when a generated token already
    exists and O(rotate) is not set.
  - O(rotate=true) writes a newly generated token as a new version; O(retire) then keeps the newest N
    enabled versions and retires the older ones in the store's own way (AWS takes C(AWSPREVIOUS) off the
    previous version, GCP disables or destroys them, Vault KV v2 deletes or destroys them, the local store
    marks them).
  - Returns version ids, never the value, unless O(return_value=true) (the result is then C(no_log)).
  - On AWS a write is refused, before anything is changed, while another tool's rotation is in progress
    (C(AWSPENDING) on a version that is not C(AWSCURRENT)), since that rotation would move C(AWSCURRENT) away
    from the token written here when it finishes. A finished rotation's C(AWSPENDING) left on the C(AWSCURRENT)
    version moves along with C(AWSCURRENT) to the new version.
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
  value:
    description:
      - The token to store. Mutually exclusive with O(generate).
      - With O(field), only that key of the stored JSON object is set; the other keys are kept.
      - Refused when it holds control characters (a trailing newline, an escape sequence) or starts or ends
        with whitespace; a JSON object (a whole JSON secret) is checked string value by string value.
    type: str
  generate:
    description: Generate a random token (O(prefix) plus O(length) letters and digits) when none exists.
    type: bool
    default: false
  length:
    description: Random characters in a generated token (about 5.95 bits each; 48 gives 285 bits). At least 24.
    type: int
    default: 48
  prefix:
    description: Prefix of a generated token (no control characters). LiteLLM master keys must start with C(sk-).
    type: str
    default: sk-
  rotate:
    description: With O(generate=true), write a newly generated token as a new version even if one exists.
    type: bool
    default: false
  retire:
    description:
      - Keep this many newest enabled versions and retire the older ones. Unset keeps every version.
      - During a rotation keep 2 (old and new) until every client has the new token, then retire with 1.
      - On AWS the newest versions are counted the way Secrets Manager's rotation model ranks them,
        C(AWSCURRENT) then C(AWSPREVIOUS) (AWS itself deprecates older ones); 2 or more keeps both, 1 takes
        C(AWSPREVIOUS) off the previous version. C(AWSCURRENT) is never moved or removed. C(AWSPENDING) and
        labels set outside this collection are never removed, and a version that carries one of them keeps
        C(AWSPREVIOUS) too, with a warning.
      - Must be 1 or more. Every option is checked before the store is read or written, so a refused task
        leaves the store unchanged.
    type: int
  retire_mode:
    description:
      - V(disable) makes old versions unreadable but recoverable (AWS, which cannot delete a single
        version, removes their staging labels either way); V(destroy) deletes their data where the store can.
    type: str
    choices: [destroy, disable]
    default: disable
  return_value:
    description: Return the token in RV(value). The whole result is then C(no_log).
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
    description: Predicts the change (a new version, retired versions) without writing, with the same retire
      plan as a real run.
  diff_mode:
    support: full
    description: Shows version ids; values are always masked.
seealso:
  - module: llmops.claude_gateway.gateway_token_info
  - plugin: llmops.claude_gateway.gateway_token
    plugin_type: lookup
"""

EXAMPLES = r"""
- name: Make sure the LiteLLM master key exists in Vault (generated once, then left alone)
  llmops.claude_gateway.gateway_token:
    backend: vault
    vault_url: https://vault.example.com:8200
    name: claude-gateway/master-key
    generate: true
  delegate_to: localhost
  run_once: true

- name: Rotate a client token in AWS Secrets Manager, keeping the old version until clients have moved
  llmops.claude_gateway.gateway_token:
    backend: aws
    aws_region: eu-west-1
    name: claude-gateway/clients/ci-runner-01
    generate: true
    rotate: true
    retire: 2
    return_value: true
  delegate_to: localhost
  run_once: true
  register: ci_token

- name: After every client uses the new token, retire the old version
  llmops.claude_gateway.gateway_token:
    backend: aws
    aws_region: eu-west-1
    name: claude-gateway/clients/ci-runner-01
    generate: true
    retire: 1
  delegate_to: localhost
  run_once: true

- name: Store a given token as one field of a JSON secret in GCP
  llmops.claude_gateway.gateway_token:
    backend: gcp
    gcp_project: my-platform
    name: claude-gateway-teams
    field: team-a
    value: "{{ team_a_token }}"
  delegate_to: localhost
  run_once: true
  no_log: true
"""

RETURN = r"""
version:
  description:
    - The current version after the task (the new one when written).
    - In check mode null when a new version would be written (its id is only known once it is written),
      else the current version, which the task leaves current.
  returned: success
  type: str
  sample: "4"
previous_version:
  description: The current version before the task, null when the secret did not exist.
  returned: success
  type: str
  sample: "3"
created:
  description: Whether the secret did not exist and was created.
  returned: success
  type: bool
retired:
  description: Versions retired by O(retire) (predicted in check mode).
  returned: success
  type: list
  elements: str
  sample: ["2"]
backend:
  description: The backend used.
  returned: success
  type: str
value:
  description: The token (after the task). Only with O(return_value=true); the result is then no_log.
  returned: when O(return_value=true) and not in check mode with a pending generation
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import SecretError
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory import get_backend
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.options import (
    MUTUALLY_EXCLUSIVE,
    argument_spec,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._module import fail_from_error
from ansible_collections.llmops.claude_gateway.plugins.module_utils._tokens import ensure_token


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(
            value=dict(type="str", no_log=True),
            generate=dict(type="bool", default=False),
            length=dict(type="int", default=48),
            prefix=dict(type="str", default="sk-", no_log=False),
            rotate=dict(type="bool", default=False),
            retire=dict(type="int"),
            retire_mode=dict(type="str", default="disable", choices=["destroy", "disable"]),
            return_value=dict(type="bool", default=False),
        ),
        mutually_exclusive=MUTUALLY_EXCLUSIVE + [["value", "generate"], ["value", "rotate"]],
        supports_check_mode=True,
    )
    if module.params["version"] or module.params["version_stage"]:
        module.fail_json(msg="gateway_token writes the current version: 'version' and 'version_stage' are for "
                             "reading. Fix: remove them, or use llmops.claude_gateway.gateway_token_info")
    try:
        backend = get_backend(module.params)
        for warning in backend.warnings:
            module.warn(warning)
        shown = len(backend.warnings)
        result, value = ensure_token(backend, module.params, module.check_mode)
    except SecretError as exc:
        fail_from_error(module, exc)
    for warning in backend.warnings[shown:]:  # e.g. an AWS version left labelled by retire
        module.warn(warning)
    diff = result.pop("diff")
    if module._diff:
        result["diff"] = diff
    if module.params["return_value"] and value is not None:
        result["value"] = value  # the action plugin marks the result no_log
    module.exit_json(**result)


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of every secret store, shared by gateway_token_info, gateway_token and the gateway_token lookup.
    # One table in module_utils/_backends/options.py holds them; a unit test keeps this text equal to it.
    DOCUMENTATION = r"""
options:
  backend:
    description:
      - The secret store.
      - V(local) is the embedded store, a versioned YAML file on the machine that runs the module
        (normally the controller), encrypted with ansible-vault when a vault password is set.
      - V(aws) is AWS Secrets Manager, V(gcp) is Google Cloud Secret Manager, V(vault) is HashiCorp Vault
        or OpenBao (KV version 1 or 2).
    type: str
    choices: [aws, gcp, local, vault]
    default: local
  version:
    description:
      - The version to read. Default is the current one.
      - V(aws) a C(VersionId); V(gcp) a version number or V(latest); V(vault) (KV v2) and V(local) a
        version number.
      - Mutually exclusive with O(version_stage).
    type: str
  version_stage:
    description:
      - V(aws) only. The staging label to read, for example V(AWSCURRENT), V(AWSPREVIOUS) or V(AWSPENDING).
      - Mutually exclusive with O(version).
    type: str
  field:
    description:
      - Pick one key out of a secret that holds a JSON object.
      - With V(vault), a KV secret whose data is exactly one key C(value) reads as that key's value; any
        other KV secret reads as its JSON object, so O(field) picks one of its keys.
    type: str
  retries:
    description:
      - How many times to retry a call that failed transiently (store unreachable or throttled), with
        exponential backoff. Errors such as not found or access denied are never retried.
      - The retries are the store SDK's own. V(aws) retries every call with botocore, and a retried write
        re-sends its request token, so it is stored once. V(gcp) and V(vault) retry reads only; a write that
        failed is not sent again (V(vault) reads back whether a write whose answer was lost was stored).
    type: int
    default: 3
  timeout:
    description: Seconds to wait for the store to connect and answer, per call.
    type: float
    default: 10
notes:
  - Error messages name the backend, the secret and the fix; they never contain a secret value.
  - To hand one secret to many hosts, read it once with C(run_once) on the controller (see the
    examples); the registered result is then set for every host of the play.
"""

    # Where a lookup reads these options when its call does not give them: set them once in inventory
    # (vars), ansible.cfg (ini) or the environment (env).
    PLUGINS = r"""
options:
  backend:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_BACKEND
    ini:
      - section: llmops_claude_gateway
        key: backend
    vars:
      - name: claude_gateway_store_backend
  retries:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_RETRIES
    ini:
      - section: llmops_claude_gateway
        key: retries
    vars:
      - name: claude_gateway_store_retries
  timeout:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_TIMEOUT
    ini:
      - section: llmops_claude_gateway
        key: timeout
    vars:
      - name: claude_gateway_store_timeout
"""

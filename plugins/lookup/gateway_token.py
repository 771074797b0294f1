# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: gateway_token
short_description: Read gateway tokens from a secret store on the controller
version_added: 0.1.0
description:
  - Returns the values of the named secrets from AWS Secrets Manager, Google Cloud Secret Manager,
    HashiCorp Vault / OpenBao or the embedded local store, with the same options as
    M(llmops.claude_gateway.gateway_token_info).
  - Store options not given in the call are read from inventory variables (C(claude_gateway_store_<option>),
    for example C(claude_gateway_store_vault_url)), the C([llmops_claude_gateway]) section of C(ansible.cfg) or
    C(ANSIBLE_CLAUDE_GATEWAY_STORE_<OPTION>) environment variables, so they can be set once.
  - A lookup runs again every time its template is evaluated, for every host. To read a secret once for
    a whole play, evaluate it in a C(set_fact) task with C(run_once=true) (see the examples) or use
    M(llmops.claude_gateway.gateway_token_info) with C(run_once=true).
author:
  - llmops.claude_gateway maintainers (@llmops)
options:
  _terms:
    description: Names of the secrets to read (see O(llmops.claude_gateway.gateway_token_info#module:name)).
    required: true
    type: list
    elements: str
extends_documentation_fragment:
  - llmops.claude_gateway.backend
  - llmops.claude_gateway.backend_aws
  - llmops.claude_gateway.backend_gcp
  - llmops.claude_gateway.backend_vault
  - llmops.claude_gateway.backend_local
  - llmops.claude_gateway.backend.plugins
  - llmops.claude_gateway.backend_aws.plugins
  - llmops.claude_gateway.backend_gcp.plugins
  - llmops.claude_gateway.backend_vault.plugins
  - llmops.claude_gateway.backend_local.plugins
"""

EXAMPLES = r"""
- name: Read a token once for the whole play and hand it to every host
  ansible.builtin.set_fact:
    gateway_token: "{{ lookup('llmops.claude_gateway.gateway_token', 'clients/ci', backend='vault',
                      vault_url='https://vault.example.com:8200') }}"
  run_once: true
  no_log: true

- name: One field of a JSON secret in AWS Secrets Manager
  ansible.builtin.debug:
    msg: "{{ lookup('llmops.claude_gateway.gateway_token', 'claude-gateway/tokens', backend='aws',
             aws_region='eu-west-1', field='team-a') | length }} characters"

- name: Two secrets from the embedded local store, as a list
  ansible.builtin.set_fact:
    tokens: "{{ query('llmops.claude_gateway.gateway_token', 'alice', 'bob') }}"
  run_once: true
  no_log: true
"""

RETURN = r"""
_raw:
  description:
    - One value per name, after O(field) is applied.
    - Always a string, on every supported ansible-core. A secret that holds a JSON object (with V(vault), a KV
      secret with several keys) read without O(field) is its JSON text; turn it into a dictionary with
      C(from_json), or pick one key with O(field).
  type: list
  elements: str
"""

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import SecretRef
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import SecretError
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.factory import get_backend
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.options import OPTIONS
from ansible_collections.llmops.claude_gateway.plugins.plugin_utils._local_vault import local_backend

try:
    # ansible-core before 2.19 turns a template result that looks like a dict or list into one; text marked
    # this way is left alone (the builtin template lookup does the same). 2.19 and later keep strings as strings.
    from ansible.utils.native_jinja import NativeJinjaText
except ImportError:
    NativeJinjaText = None

display = Display()


def as_text(value):
    """``value`` as a string that every supported ansible-core leaves a string (see RETURN)."""
    return NativeJinjaText(value) if NativeJinjaText is not None else value


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        options = dict((option.name, self.get_option(option.name)) for option in OPTIONS if option.name != "name")
        if options.get("version") and options.get("version_stage"):
            raise AnsibleLookupError("gateway_token: 'version' and 'version_stage' are mutually exclusive. "
                                     "Fix: set only one of them")
        try:
            # The local store with ansible-core's own vault library (the controller has it; modules do not).
            backend = local_backend(options, self._loader) if (options.get("backend") or "local") == "local" \
                else get_backend(options)
            for warning in backend.warnings:
                display.warning("gateway_token lookup: %s" % warning)
            return [as_text(backend.read(SecretRef(term, options.get("version"), options.get("version_stage"),
                                                   options.get("field"))).value) for term in terms]
        except SecretError as exc:
            raise AnsibleLookupError(str(exc))

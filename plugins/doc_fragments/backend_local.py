# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of the embedded local secret store; see backend.py for how they are kept.
    DOCUMENTATION = r"""
options:
  local_path:
    description:
      - V(local) store file. Default is C($XDG_CONFIG_HOME/llmops/claude_gateway/secrets.yml)
        (C(~/.config/...) when E(XDG_CONFIG_HOME) is unset) of the user running the module.
    type: path
  local_vault_password:
    description:
      - V(local) ansible-vault password. When set (or O(local_vault_password_file)), the store is
        encrypted as a whole with ansible-vault.
    type: str
  local_vault_password_file:
    description: V(local) file holding the ansible-vault password.
    type: path
requirements:
  - ansible-core on the machine running the module for an encrypted V(local) store
"""

    # Where a lookup reads these options when its call does not give them: set them once in inventory
    # (vars), ansible.cfg (ini) or the environment (env).
    PLUGINS = r"""
options:
  local_path:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_LOCAL_PATH
    ini:
      - section: llmops_claude_gateway
        key: local_path
    vars:
      - name: claude_gateway_store_local_path
  local_vault_password:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_LOCAL_VAULT_PASSWORD
    ini:
      - section: llmops_claude_gateway
        key: local_vault_password
    vars:
      - name: claude_gateway_store_local_vault_password
  local_vault_password_file:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_LOCAL_VAULT_PASSWORD_FILE
    ini:
      - section: llmops_claude_gateway
        key: local_vault_password_file
    vars:
      - name: claude_gateway_store_local_vault_password_file
"""

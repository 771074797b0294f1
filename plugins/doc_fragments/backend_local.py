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
        encrypted as a whole with ansible-vault and stays readable by C(ansible-vault view).
      - A store encrypted with a vault ID (C(ansible-vault encrypt --vault-id prod@...), format 1.2) keeps
        its label when the collection rewrites it; a new or plain store gets O(local_vault_id).
      - The lookup uses ansible-core's own vault library. The modules, which cannot import it, read and
        write the formats 1.1 and 1.2 (AES256) with the collection's own code.
    type: str
  local_vault_password_file:
    description:
      - V(local) file holding the ansible-vault password, or a password script, as C(ansible-vault
        --vault-password-file) takes it.
      - An executable file is run and its output is the password; a script named C(*-client) (any
        extension) is run with C(--vault-id) and O(local_vault_id), else the store's vault ID, else
        C(default). A failing script is an error that changes nothing.
    type: path
  local_vault_id:
    description:
      - V(local) vault ID label of a new or newly encrypted store (its header becomes
        C($ANSIBLE_VAULT;1.2;AES256;<label>)), and the vault ID a C(*-client) password script is asked for.
      - An encrypted store keeps the label it has; change it with C(ansible-vault rekey --new-vault-id).
    type: str
requirements:
  - the Python cryptography package where the module runs, for an encrypted V(local) store (it comes with
    ansible-core on the controller)
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
  local_vault_id:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_LOCAL_VAULT_ID
    ini:
      - section: llmops_claude_gateway
        key: local_vault_id
    vars:
      - name: claude_gateway_store_local_vault_id
"""

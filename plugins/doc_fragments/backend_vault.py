# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of the vault secret store (HashiCorp Vault, OpenBao); see backend.py for how they are kept.
    DOCUMENTATION = r"""
options:
  vault_url:
    description:
      - V(vault) server address.
      - When unset, E(BAO_ADDR), then E(VAULT_ADDR). As with the C(bao) CLI, a E(BAO_*) variable wins over its
        E(VAULT_*) twin (for every option here); an empty variable counts as unset.
    type: str
  vault_namespace:
    description:
      - V(vault) namespace (Vault Enterprise, OpenBao).
      - When unset, E(BAO_NAMESPACE), then E(VAULT_NAMESPACE).
    type: str
  vault_mount:
    description: V(vault) mount point of the KV secrets engine.
    type: str
    default: secret
  vault_kv_version:
    description: V(vault) KV secrets engine version. KV version 1 keeps no versions.
    type: int
    choices: [1, 2]
    default: 2
  vault_auth_method:
    description: V(vault) authentication method.
    type: str
    choices: [approle, jwt, kubernetes, token, userpass]
    default: token
  vault_auth_mount:
    description: V(vault) mount point of the auth method. Default is the method's name.
    type: str
  vault_token:
    description:
      - V(vault) token for O(vault_auth_method=token).
      - When unset, E(BAO_TOKEN), then E(VAULT_TOKEN).
    type: str
  vault_role_id:
    description: V(vault) AppRole role id.
    type: str
  vault_secret_id:
    description: V(vault) AppRole secret id.
    type: str
  vault_role:
    description: V(vault) role for the V(jwt) and V(kubernetes) methods.
    type: str
  vault_jwt:
    description: V(vault) signed JWT for O(vault_auth_method=jwt).
    type: str
  vault_kubernetes_token_path:
    description: V(vault) service-account token file for O(vault_auth_method=kubernetes).
    type: path
    default: /var/run/secrets/kubernetes.io/serviceaccount/token
  vault_username:
    description: V(vault) user name for O(vault_auth_method=userpass).
    type: str
  vault_password:
    description: V(vault) password for O(vault_auth_method=userpass).
    type: str
  vault_ca_cert:
    description:
      - V(vault) CA bundle to verify the server's certificate.
      - When unset, E(BAO_CACERT), then E(VAULT_CACERT).
    type: path
  vault_validate_certs:
    description:
      - V(vault) whether to verify the server's TLS certificate.
      - Unset means true, unless E(BAO_SKIP_VERIFY) (or, when that is unset, E(VAULT_SKIP_VERIFY)) is true.
        The option has no default value so that these variables can apply.
    type: bool
  vault_allow_insecure_http:
    description:
      - V(vault) allow an C(http://) O(vault_url) to a host that is not loopback. The Vault token (or the
        login credentials) then cross the network unencrypted, so this is refused by default; when
        allowed, every run warns.
      - Loopback is C(localhost), an address in C(127.0.0.0/8) written C(a.b.c.d), or C([::1]); plain http
        to those needs no opt-in.
    type: bool
    default: false
requirements:
  - hvac for O(backend=vault)
"""

    # Where a lookup reads these options when its call does not give them: set them once in inventory
    # (vars), ansible.cfg (ini) or the environment (env).
    PLUGINS = r"""
options:
  vault_url:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_URL
    ini:
      - section: llmops_claude_gateway
        key: vault_url
    vars:
      - name: claude_gateway_store_vault_url
  vault_namespace:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_NAMESPACE
    ini:
      - section: llmops_claude_gateway
        key: vault_namespace
    vars:
      - name: claude_gateway_store_vault_namespace
  vault_mount:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_MOUNT
    ini:
      - section: llmops_claude_gateway
        key: vault_mount
    vars:
      - name: claude_gateway_store_vault_mount
  vault_kv_version:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_KV_VERSION
    ini:
      - section: llmops_claude_gateway
        key: vault_kv_version
    vars:
      - name: claude_gateway_store_vault_kv_version
  vault_auth_method:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_AUTH_METHOD
    ini:
      - section: llmops_claude_gateway
        key: vault_auth_method
    vars:
      - name: claude_gateway_store_vault_auth_method
  vault_auth_mount:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_AUTH_MOUNT
    ini:
      - section: llmops_claude_gateway
        key: vault_auth_mount
    vars:
      - name: claude_gateway_store_vault_auth_mount
  vault_token:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_TOKEN
    ini:
      - section: llmops_claude_gateway
        key: vault_token
    vars:
      - name: claude_gateway_store_vault_token
  vault_role_id:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_ROLE_ID
    ini:
      - section: llmops_claude_gateway
        key: vault_role_id
    vars:
      - name: claude_gateway_store_vault_role_id
  vault_secret_id:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_SECRET_ID
    ini:
      - section: llmops_claude_gateway
        key: vault_secret_id
    vars:
      - name: claude_gateway_store_vault_secret_id
  vault_role:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_ROLE
    ini:
      - section: llmops_claude_gateway
        key: vault_role
    vars:
      - name: claude_gateway_store_vault_role
  vault_jwt:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_JWT
    ini:
      - section: llmops_claude_gateway
        key: vault_jwt
    vars:
      - name: claude_gateway_store_vault_jwt
  vault_kubernetes_token_path:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_KUBERNETES_TOKEN_PATH
    ini:
      - section: llmops_claude_gateway
        key: vault_kubernetes_token_path
    vars:
      - name: claude_gateway_store_vault_kubernetes_token_path
  vault_username:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_USERNAME
    ini:
      - section: llmops_claude_gateway
        key: vault_username
    vars:
      - name: claude_gateway_store_vault_username
  vault_password:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_PASSWORD
    ini:
      - section: llmops_claude_gateway
        key: vault_password
    vars:
      - name: claude_gateway_store_vault_password
  vault_ca_cert:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_CA_CERT
    ini:
      - section: llmops_claude_gateway
        key: vault_ca_cert
    vars:
      - name: claude_gateway_store_vault_ca_cert
  vault_validate_certs:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_VALIDATE_CERTS
    ini:
      - section: llmops_claude_gateway
        key: vault_validate_certs
    vars:
      - name: claude_gateway_store_vault_validate_certs
  vault_allow_insecure_http:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_VAULT_ALLOW_INSECURE_HTTP
    ini:
      - section: llmops_claude_gateway
        key: vault_allow_insecure_http
    vars:
      - name: claude_gateway_store_vault_allow_insecure_http
"""

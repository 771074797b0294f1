# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The secret-store options shared by gateway_token_info, gateway_token and the gateway_token lookup.
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
    type: int
    default: 3
  timeout:
    description: Seconds to wait for the store to connect and answer, per call.
    type: float
    default: 10
  aws_region:
    description: V(aws) region. Defaults to the AWS SDK's own configuration (C(AWS_REGION), profile).
    type: str
  aws_profile:
    description: V(aws) named profile from the AWS config and credentials files.
    type: str
  aws_access_key_id:
    description: V(aws) access key id. Default is the AWS SDK's credential chain.
    type: str
  aws_secret_access_key:
    description: V(aws) secret access key, with O(aws_access_key_id).
    type: str
  aws_session_token:
    description: V(aws) session token for temporary credentials.
    type: str
  aws_assume_role_arn:
    description: V(aws) role to assume with STS before calling Secrets Manager.
    type: str
  aws_endpoint_url:
    description: V(aws) endpoint of Secrets Manager (and STS), for VPC endpoints or a test server.
    type: str
  aws_kms_key_id:
    description: V(aws) KMS key to encrypt a secret with when it is created.
    type: str
  gcp_project:
    description:
      - V(gcp) project id. Not needed when the secret name is a full C(projects/PROJECT/secrets/SECRET) path.
    type: str
  gcp_credentials_file:
    description:
      - V(gcp) service-account JSON key file. Default is Application Default Credentials.
    type: path
  gcp_access_token:
    description: V(gcp) OAuth2 access token to use instead of a key file or ADC.
    type: str
  gcp_transport:
    description: V(gcp) API transport.
    type: str
    choices: [grpc, rest]
    default: grpc
  gcp_api_endpoint:
    description:
      - V(gcp) API endpoint, for regional or private endpoints (for example
        C(secretmanager.us-east1.rep.googleapis.com)) or a test server (C(http://127.0.0.1:PORT), with
        O(gcp_transport=rest)).
    type: str
  vault_url:
    description: V(vault) server address. Falls back to E(VAULT_ADDR).
    type: str
  vault_namespace:
    description: V(vault) namespace (Vault Enterprise, OpenBao). Falls back to E(VAULT_NAMESPACE).
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
    description: V(vault) token for O(vault_auth_method=token). Falls back to E(VAULT_TOKEN).
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
    description: V(vault) CA bundle to verify the server's certificate.
    type: path
  vault_validate_certs:
    description: V(vault) whether to verify the server's TLS certificate.
    type: bool
    default: true
  vault_allow_insecure_http:
    description:
      - V(vault) allow an C(http://) O(vault_url) to a host that is not loopback. The Vault token (or the
        login credentials) then cross the network unencrypted, so this is refused by default; when
        allowed, every run warns.
      - Loopback is C(localhost), an address in C(127.0.0.0/8) written C(a.b.c.d), or C([::1]); plain http
        to those needs no opt-in.
    type: bool
    default: false
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
  - boto3 for O(backend=aws)
  - google-cloud-secret-manager for O(backend=gcp)
  - hvac for O(backend=vault)
  - ansible-core on the machine running the module for an encrypted V(local) store
notes:
  - Error messages name the backend, the secret and the fix; they never contain a secret value.
  - To hand one secret to many hosts, read it once with C(run_once) on the controller (see the
    examples); the registered result is then set for every host of the play.
"""

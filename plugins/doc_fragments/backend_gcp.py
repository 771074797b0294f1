# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of the gcp secret store (Google Cloud Secret Manager); see backend.py for how they are kept.
    DOCUMENTATION = r"""
options:
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
        C(secretmanager.us-east1.rep.googleapis.com)) or a test server on this machine
        (C(http://127.0.0.1:PORT), either transport).
      - Plain C(http://) is accepted only to a loopback host (C(127.0.0.1), C([::1]), C(localhost)), for a
        local test server; every other endpoint uses TLS.
    type: str
requirements:
  - google-cloud-secret-manager for O(backend=gcp)
"""

    # Where a lookup reads these options when its call does not give them: set them once in inventory
    # (vars), ansible.cfg (ini) or the environment (env).
    PLUGINS = r"""
options:
  gcp_project:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_GCP_PROJECT
    ini:
      - section: llmops_claude_gateway
        key: gcp_project
    vars:
      - name: claude_gateway_store_gcp_project
  gcp_credentials_file:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_GCP_CREDENTIALS_FILE
    ini:
      - section: llmops_claude_gateway
        key: gcp_credentials_file
    vars:
      - name: claude_gateway_store_gcp_credentials_file
  gcp_access_token:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_GCP_ACCESS_TOKEN
    ini:
      - section: llmops_claude_gateway
        key: gcp_access_token
    vars:
      - name: claude_gateway_store_gcp_access_token
  gcp_transport:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_GCP_TRANSPORT
    ini:
      - section: llmops_claude_gateway
        key: gcp_transport
    vars:
      - name: claude_gateway_store_gcp_transport
  gcp_api_endpoint:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_GCP_API_ENDPOINT
    ini:
      - section: llmops_claude_gateway
        key: gcp_api_endpoint
    vars:
      - name: claude_gateway_store_gcp_api_endpoint
"""

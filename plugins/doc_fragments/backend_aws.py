# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # The options of the aws secret store (AWS Secrets Manager); see backend.py for how they are kept.
    DOCUMENTATION = r"""
options:
  aws_region:
    description:
      - V(aws) region. Falls back to E(AWS_REGION), then E(AWS_DEFAULT_REGION), then the region of the AWS
        profile.
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
requirements:
  - boto3 for O(backend=aws)
"""

    # Where a lookup reads these options when its call does not give them: set them once in inventory
    # (vars), ansible.cfg (ini) or the environment (env).
    PLUGINS = r"""
options:
  aws_region:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_AWS_REGION
    ini:
      - section: llmops_claude_gateway
        key: aws_region
    vars:
      - name: claude_gateway_store_aws_region
  aws_profile:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_AWS_PROFILE
    ini:
      - section: llmops_claude_gateway
        key: aws_profile
    vars:
      - name: claude_gateway_store_aws_profile
  aws_access_key_id:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_AWS_ACCESS_KEY_ID
    ini:
      - section: llmops_claude_gateway
        key: aws_access_key_id
    vars:
      - name: claude_gateway_store_aws_access_key_id
  aws_secret_access_key:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_AWS_SECRET_ACCESS_KEY
    ini:
      - section: llmops_claude_gateway
        key: aws_secret_access_key
    vars:
      - name: claude_gateway_store_aws_secret_access_key
  aws_session_token:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_AWS_SESSION_TOKEN
    ini:
      - section: llmops_claude_gateway
        key: aws_session_token
    vars:
      - name: claude_gateway_store_aws_session_token
  aws_assume_role_arn:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_AWS_ASSUME_ROLE_ARN
    ini:
      - section: llmops_claude_gateway
        key: aws_assume_role_arn
    vars:
      - name: claude_gateway_store_aws_assume_role_arn
  aws_endpoint_url:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_AWS_ENDPOINT_URL
    ini:
      - section: llmops_claude_gateway
        key: aws_endpoint_url
    vars:
      - name: claude_gateway_store_aws_endpoint_url
  aws_kms_key_id:
    env:
      - name: ANSIBLE_CLAUDE_GATEWAY_STORE_AWS_KMS_KEY_ID
    ini:
      - section: llmops_claude_gateway
        key: aws_kms_key_id
    vars:
      - name: claude_gateway_store_aws_kms_key_id
"""

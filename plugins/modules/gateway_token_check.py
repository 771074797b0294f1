#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: gateway_token_check
short_description: Check which tokens a LiteLLM gateway accepts and which it refuses
version_added: 0.1.0
description:
  - Sends one request per token to the gateway (C(GET) O(path) with the token as C(Authorization) Bearer) and
    compares the HTTP status with the one expected, so a rotation can prove that the gateway accepts the old
    and the new version of a token during its window and refuses the old one after it.
  - Fails naming each token (by its O(checks[].name), never its value) the gateway answered differently.
  - Changes nothing (check mode is supported and C(changed) is always false). A token is used only in its
    request header - never in the results, messages or logs.
author:
  - llmops.claude_gateway maintainers (@llmops)
options:
  url:
    description: The gateway's base URL, e.g. V(http://127.0.0.1:4000) on the gateway host itself.
    type: str
    required: true
  path:
    description: The path requested with each token; both client tokens and master keys may call V(/v1/models).
    type: str
    default: /v1/models
  checks:
    description: The tokens to try.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: A label for the results and messages (e.g. the secret name and version).
        type: str
        required: true
      token:
        description: The token.
        type: str
        required: true
      status:
        description: The HTTP status the gateway must answer (200 accepted, 401 refused).
        type: int
        required: true
  timeout:
    description: Seconds to wait for each answer.
    type: int
    default: 30
  validate_certs:
    description:
      - Check the gateway's TLS certificate. A gateway checked from its own host on 127.0.0.1 presents a
        certificate for its public name, so callers on the host set V(false); the token never leaves the host.
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: The gateway accepts the new version and still the old one
  llmops.claude_gateway.gateway_token_check:
    url: http://127.0.0.1:4000
    checks:
      - {name: "claude-gateway-client-alice@current", token: "{{ new_token }}", status: 200}
      - {name: "claude-gateway-client-alice@3", token: "{{ old_token }}", status: 200}
"""

RETURN = r"""
results:
  description: One entry per check, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The check's label.
      type: str
    status:
      description: The status expected.
      type: int
    got:
      description: The status the gateway answered, or the connection error (text) when it did not answer.
      type: raw
    ok:
      description: Whether C(got) is C(status).
      type: bool
  sample: [{name: "claude-gateway-client-alice@current", status: 200, got: 200, ok: true}]
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils.urls import open_url


def answer(url, token, timeout, validate_certs):
    """The HTTP status the gateway answers for ``token``, or the connection error as text."""
    try:
        # No redirects, as claude_code_client_check: the token must not follow a 3xx to another address.
        resp = open_url(url, headers={"Authorization": "Bearer " + token}, timeout=timeout,
                        validate_certs=validate_certs, follow_redirects="none")
        return resp.getcode()
    except HTTPError as err:
        return err.code
    except (URLError, OSError, ValueError) as exc:  # the gateway did not answer: the reason, never the request
        return ("no answer: %s" % exc)[:200]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", required=True),
            path=dict(type="str", default="/v1/models"),
            checks=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                token=dict(type="str", required=True, no_log=True),
                status=dict(type="int", required=True),
            )),
            timeout=dict(type="int", default=30),
            validate_certs=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    url = module.params["url"].rstrip("/") + module.params["path"]
    results = []
    for check in module.params["checks"]:
        got = answer(url, check["token"], module.params["timeout"], module.params["validate_certs"])
        results.append({"name": check["name"], "status": check["status"], "got": got, "ok": got == check["status"]})
    wrong = ["%s expected %s, got %s" % (r["name"], r["status"], r["got"]) for r in results if not r["ok"]]
    if wrong:
        module.fail_json(msg="the gateway at %s answered unexpectedly: %s" % (url, "; ".join(wrong)),
                         results=results)
    module.exit_json(changed=False, results=results)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: claude_code_runner_env
short_description: Set Claude Code gateway variables in a CI runner's environment file
version_added: 0.1.0
description:
  - Sets (or removes) variables in the file a CI runner reads its job environment from, keeping everything
    else in the file byte for byte.
  - V(dotenv) - C(KEY=VALUE) lines, as in a GitHub Actions self-hosted runner's C(<runner dir>/.env) or a
    systemd C(EnvironmentFile). Other lines keep their place; new variables are appended.
  - V(gitlab_toml) - GitLab Runner's C(config.toml). Only the C(environment) array of the C([[runners]])
    table named O(runner_name) is rewritten (as one line); the rest of the file is untouched, and the result
    is parsed again to prove nothing else changed. The file must exist (register the runner first).
  - The file is written atomically and only when its content changes. Check and diff modes are supported;
    values of O(secret_env) are masked in the diff.
author:
  - llmops.claude_gateway maintainers (@llmops)
options:
  path:
    description: The environment file (C(.env), EnvironmentFile or C(config.toml)).
    type: path
    required: true
  format:
    description: How the file is laid out.
    type: str
    choices: [dotenv, gitlab_toml]
    default: dotenv
  runner_name:
    description: With O(format=gitlab_toml), the C(name) of the C([[runners]]) table to edit.
    type: str
  env:
    description: Variables to set. With O(state=absent) only the names count.
    type: dict
    default: {}
  secret_env:
    description: Like O(env), for values that must not be logged or shown in a diff (the gateway token).
    type: dict
    default: {}
  purge:
    description: Variables to remove if present (managed before, not wanted now). Names in O(env) or O(secret_env) are kept.
    type: list
    elements: str
    default: []
  state:
    description: V(present) sets the variables, V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  remove_empty:
    description: With O(format=dotenv) and O(state=absent), delete the file when no line is left.
    type: bool
    default: true
  backup:
    description: Keep a timestamped copy of the file before changing it.
    type: bool
    default: false
notes:
  - A new file gets mode C(0600) unless O(mode) is given.
  - Values must be one line without quotes, backslashes or surrounding blanks, so that every reader (the
    GitHub runner reads raw values, systemd unquotes) sees the same value.
extends_documentation_fragment:
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    description: Predicts the change (and the diff) without writing.
  diff_mode:
    support: full
    description: Shows the file before and after, with secret values masked.
"""

EXAMPLES = r"""
- name: Gateway variables for a GitHub Actions self-hosted runner
  llmops.claude_gateway.claude_code_runner_env:
    path: /opt/actions-runner/.env
    env:
      ANTHROPIC_BASE_URL: https://gateway.example.com
    secret_env:
      ANTHROPIC_AUTH_TOKEN: "{{ runner_token }}"
    owner: runner
    mode: "0600"

- name: Gateway variables for one GitLab runner, keeping the rest of config.toml
  llmops.claude_gateway.claude_code_runner_env:
    path: /etc/gitlab-runner/config.toml
    format: gitlab_toml
    runner_name: docker-builds
    env:
      ANTHROPIC_BASE_URL: https://gateway.example.com
    secret_env:
      ANTHROPIC_AUTH_TOKEN: "{{ runner_token }}"
"""

RETURN = r"""
path:
  description: The file.
  returned: always
  type: str
names:
  description: The variables this task owns.
  returned: always
  type: list
  elements: str
backup_file:
  description: The backup copy, when O(backup=true) and the file changed.
  returned: changed and backup
  type: str
"""

import functools
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code import (
    FileFormatError,
    apply_text_file,
    edit_dotenv,
    edit_gitlab_environment,
    mask_text,
    read_text_file,
)


def _mask(text, secrets):
    return mask_text(text, secret_names=list(secrets), secret_values=list(secrets.values()))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            format=dict(type="str", default="dotenv", choices=["dotenv", "gitlab_toml"]),
            runner_name=dict(type="str"),
            env=dict(type="dict", default={}),
            secret_env=dict(type="dict", default={}, no_log=True),
            purge=dict(type="list", elements="str", default=[]),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            remove_empty=dict(type="bool", default=True),
            backup=dict(type="bool", default=False),
        ),
        required_if=[("format", "gitlab_toml", ["runner_name"])],
        add_file_common_args=True,
        supports_check_mode=True,
    )
    params = module.params
    path, state = params["path"], params["state"]
    env = dict((k, "" if v is None else str(v)) for k, v in params["env"].items())
    secrets = dict((k, "" if v is None else str(v)) for k, v in params["secret_env"].items())
    env.update(secrets)
    result = dict(changed=False, path=path, names=sorted(env))

    exists, text = read_text_file(module, path, result)
    if params["format"] == "gitlab_toml" and not exists:
        module.fail_json(msg="GitLab Runner configuration %s does not exist. Fix: register the runner first, or "
                             "set claude_code_gitlab_config to its config.toml" % path, **result)
    if not exists and state == "present" and not os.path.isdir(os.path.dirname(path) or ".") \
            and not module.check_mode:
        module.fail_json(msg="the directory of %s does not exist. Fix: create it first" % path, **result)
    try:
        purge = dict((name, "") for name in params["purge"] if name not in env)
        edit = edit_dotenv
        if params["format"] == "gitlab_toml":
            edit = functools.partial(edit_gitlab_environment, runner_name=params["runner_name"])
        new = edit(text, env=env, state=state)
        if purge:
            new = edit(new, env=purge, state="absent")
    except FileFormatError as exc:
        module.fail_json(msg="%s: %s" % (path, _mask(to_native(exc), secrets)), **result)

    delete = state == "absent" and exists and not new.strip() and params["format"] == "dotenv" \
        and params["remove_empty"]
    create = state == "present" and not exists
    changed = delete or create or new != text
    if module._diff:
        result["diff"] = dict(before_header=path, after_header=path, before=_mask(text, secrets),
                              after="" if delete else _mask(new, secrets))
    apply_text_file(module, path, new, changed, exists, create, delete, result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

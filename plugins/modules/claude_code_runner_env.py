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
  - The file is written atomically and only when its content changes.
  - Safe in directories other users control (a runner directory belongs to the runner user, i.e. to whatever
    a CI job runs as). The path is walked from C(/) one directory at a time without following symbolic links.
    A symbolic link (a directory on the way, or the file itself) is followed only when root owns it and the
    directory holding it, and that directory is not group- or world-writable; any other link (a job that
    plants C(.env -> /etc/shadow)) is refused with C(error_kind=unsafe_path), in check mode too, and nothing
    is read, written or shown. In such a directory a file with more than one hard link is refused as well. A
    new content goes to a fresh temporary file whose owner and mode are set on it before it is renamed over
    the file; nothing is chowned or chmodded by path.
  - Check and diff modes are supported. The diff shows only what the task manages - with V(dotenv) the lines
    of the variables in O(env), O(secret_env) and O(purge), with V(gitlab_toml) the C(environment) of the
    runner O(runner_name) - never the rest of the file. Values of O(secret_env), known secret values and
    values whose name looks like a secret (it holds token, key, secret, password, auth, credential, cert,
    private, session, cookie or bearer, or the word PAT, e.g. C(GH_PAT), C(AccountKey)) are masked; flag
    values (C(0), C(1), C(true), C(false)) are shown.
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
  mode:
    description:
      - Mode of the file, as an octal string (V("0600")) or a number. Symbolic modes are not supported.
      - A new file gets C(0600) when not given; an existing file keeps its mode.
    type: raw
  owner:
    description:
      - User (name or uid) that should own the file. When not given, a new file belongs to the user running the
        module and an existing one keeps its owner.
      - Changing the owner rewrites the file (a new file owned by O(owner) replaces it), so that only a file
        this module has just created is ever chowned.
    type: str
  group:
    description: Group (name or gid) of the file; like O(owner).
    type: str
notes:
  - A new file gets mode C(0600) unless O(mode) is given.
  - Only O(mode), O(owner) and O(group) are supported as file attributes. SELinux contexts and file attributes
    (C(chattr)) cannot be set safely through a file descriptor here, so the common C(seuser), C(serole),
    C(setype), C(selevel), C(attributes) and C(unsafe_writes) options are not offered; a new file gets the
    default SELinux context of its directory.
  - Values must be one line without quotes, backslashes or surrounding blanks, so that every reader (the
    GitHub runner reads raw values, systemd unquotes) sees the same value.
attributes:
  check_mode:
    support: full
    description: Predicts the change (and the diff) without writing.
  diff_mode:
    support: full
    description: Shows the managed variables before and after, with secret values masked.
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
error_kind:
  description:
    - Why the module failed, when it did; V(unsafe_path) for a symbolic or hard link it refuses to follow.
    - Others are V(invalid_content) (a value or config.toml it cannot edit), V(missing_file), V(not_regular_file),
      V(not_utf8), V(missing_directory), V(invalid_argument) and V(io_error).
  returned: failure
  type: str
  sample: unsafe_path
"""

import functools

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.dotenv import dotenv_lines, edit_dotenv
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.errors import FileFormatError
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.gitlab_toml import edit_gitlab_environment, gitlab_environment_text
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.masking import mask_text
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.safe_file import FILE_ARGUMENT_SPEC, ManagedFile


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
            **FILE_ARGUMENT_SPEC
        ),
        required_if=[("format", "gitlab_toml", ["runner_name"])],
        supports_check_mode=True,
    )
    params = module.params
    path, state = params["path"], params["state"]
    env = dict((k, "" if v is None else str(v)) for k, v in params["env"].items())
    secrets = dict((k, "" if v is None else str(v)) for k, v in params["secret_env"].items())
    env.update(secrets)
    result = dict(changed=False, path=path, names=sorted(env))

    # Walks the path without following untrusted links and reads the file: refusals come here, check mode too.
    target = ManagedFile(module, path, result, action="write" if state == "present" else "edit")
    exists, text = target.exists, target.text
    if params["format"] == "gitlab_toml" and not exists:
        target.fail("GitLab Runner configuration %s does not exist. Fix: register the runner first, or "
                    "set claude_code_gitlab_config to its config.toml" % path, "missing_file")
    if not exists and state == "present" and target.missing_dirs and not module.check_mode:
        target.fail("the directory of %s does not exist. Fix: create it first" % path, "missing_directory")
    try:
        purge = dict((name, "") for name in params["purge"] if name not in env)
        edit = edit_dotenv
        if params["format"] == "gitlab_toml":
            edit = functools.partial(edit_gitlab_environment, runner_name=params["runner_name"])
        new = edit(text, env=env, state=state)
        if purge:
            new = edit(new, env=purge, state="absent")
    except FileFormatError as exc:
        target.fail("%s: %s" % (path, _mask(to_native(exc), secrets)), "invalid_content")

    delete = state == "absent" and exists and not new.strip() and params["format"] == "dotenv" \
        and params["remove_empty"]
    create = state == "present" and not exists
    changed = delete or create or new != text
    if module._diff:
        # Only what this task manages: its variables' lines, or the environment of the named GitLab runner.
        if params["format"] == "gitlab_toml":
            def shown(content):
                return gitlab_environment_text(content, params["runner_name"])
        else:
            managed = set(env) | set(purge)

            def shown(content):
                return dotenv_lines(content, managed)
        result["diff"] = dict(before_header=path, after_header=path, before=_mask(shown(text), secrets),
                              after="" if delete else _mask(shown(new), secrets))
    target.apply(new, changed, create, delete)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: claude_code_settings
short_description: Merge keys into a Claude Code settings JSON file
version_added: 0.1.0
description:
  - Sets the keys given in O(settings) and O(secret_settings) in a Claude Code settings file (managed
    C(/etc/claude-code/managed-settings.json), a C(managed-settings.d/) drop-in, or a user's
    C(~/.claude/settings.json)), keeping every key it is not given. Objects are merged key by key, so
    adding C(env.ANTHROPIC_BASE_URL) keeps the other C(env) entries.
  - With O(state=absent) it removes exactly the keys it is given (and objects that end up empty because of
    that), and deletes the file when nothing is left (O(remove_empty)).
  - The file is written atomically (temporary file in the same directory, then rename), only when its parsed
    content changes. A file that is not valid JSON is never touched; the module fails and says why.
  - Safe in directories other users control (a user's home). The path is walked from C(/) one directory at a
    time without following symbolic links. A symbolic link (a directory on the way, or the file itself) is
    followed only when root owns it and the directory holding it, and that directory is not group- or
    world-writable (an admin's C(/home/alice -> /data/alice)); any other link (C(~/.claude -> /etc/...),
    C(~/.claude/settings.json -> /root/...)) is refused with C(error_kind=unsafe_path), in check mode too,
    and nothing is read, written or shown. In such a directory a file with more than one hard link is refused
    as well. A new content goes to a fresh temporary file whose owner and mode are set on it before it is
    renamed over the file; nothing is chowned or chmodded by path.
  - Check mode and diff mode are supported. The diff holds only the keys this task owns or purges, not the
    rest of the file; values of O(secret_settings), known secret values, and values whose key looks like a
    secret (its name holds token, key, secret, password, auth, credential, cert, private, session, cookie or
    bearer, or the word PAT, e.g. C(GH_PAT), C(AccountKey), C(Authorization)) are masked. Flag values
    (C(0), C(1), C(true), C(false)) are shown.
author:
  - llmops.claude_gateway maintainers (@llmops)
options:
  path:
    description: The settings file. Its directory must exist.
    type: path
    required: true
  settings:
    description: Keys to set (nested objects are merged). Keep secrets out of it; use O(secret_settings).
    type: dict
    default: {}
  secret_settings:
    description: Like O(settings), for values that must not be logged or shown in a diff.
    type: dict
    default: {}
  purge:
    description:
      - Keys to remove if present, in the same nested form as O(settings) (values are ignored), for keys this
        task managed before but no longer wants (a bypass flag the policy now forbids). Keys also in
        O(settings) or O(secret_settings) are kept.
    type: dict
    default: {}
  state:
    description:
      - V(present) sets the keys, V(absent) removes them and the keys in O(purge).
      - With V(absent), a key given with a value is removed only when the file holds that value (a user's own
        C(apiKeyHelper) survives); give V(null) to remove a key whatever it holds.
    type: str
    choices: [present, absent]
    default: present
  remove_empty:
    description: With O(state=absent), delete the file when it holds no key any more.
    type: bool
    default: true
  parent_mode:
    description:
      - When set and the file's directory does not exist, create it (one level) with this mode and the
        O(owner) and O(group) of the file, e.g. a user's C(~/.claude). Without it a missing directory is an error.
    type: raw
  mode:
    description:
      - Mode of the file, as an octal string (V("0600")) or a number (V(0o600) in YAML is V(384)). Symbolic modes
        are not supported.
      - A new file gets C(0600) when not given; an existing file keeps its mode.
    type: raw
  owner:
    description:
      - User (name or uid) that should own the file (and a directory O(parent_mode) creates).
      - When not given, a new file belongs to the user running the module and an existing one keeps its owner.
      - Changing the owner rewrites the file (a new file owned by O(owner) replaces it), so that only a file
        this module has just created is ever chowned.
    type: str
  group:
    description: Group (name or gid) of the file (and of a directory O(parent_mode) creates); like O(owner).
    type: str
  backup:
    description: Keep a timestamped copy of the file before changing it.
    type: bool
    default: false
notes:
  - A new file gets mode C(0600) unless O(mode) is given; an existing file keeps its mode unless O(mode) is given.
  - Only O(mode), O(owner) and O(group) are supported as file attributes. SELinux contexts and file attributes
    (C(chattr)) cannot be set safely through a file descriptor here, so the common C(seuser), C(serole),
    C(setype), C(selevel), C(attributes) and C(unsafe_writes) options are not offered; a new file gets the
    default SELinux context of its directory.
attributes:
  check_mode:
    support: full
    description: Predicts the change (and the diff) without writing.
  diff_mode:
    support: full
    description: Shows the keys this task owns or purges before and after, with secret values masked.
"""

EXAMPLES = r"""
- name: Point Claude Code at the gateway for every user of this machine
  llmops.claude_gateway.claude_code_settings:
    path: /etc/claude-code/managed-settings.json
    settings:
      apiKeyHelper: /usr/local/bin/claude-gateway-token
      env:
        ANTHROPIC_BASE_URL: https://gateway.example.com
        CLAUDE_CODE_SKIP_BEDROCK_AUTH: "1"
    mode: "0644"
    owner: root
    group: root

- name: Remove what the first task added, keeping everything else
  llmops.claude_gateway.claude_code_settings:
    path: /etc/claude-code/managed-settings.json
    state: absent
    settings:
      apiKeyHelper: /usr/local/bin/claude-gateway-token  # removed only if it still points there
      env:
        ANTHROPIC_BASE_URL: null
        CLAUDE_CODE_SKIP_BEDROCK_AUTH: null
"""

RETURN = r"""
path:
  description: The settings file.
  returned: always
  type: str
keys:
  description: Dotted paths of the keys this task owns.
  returned: always
  type: list
  elements: str
  sample: ["apiKeyHelper", "env.ANTHROPIC_BASE_URL"]
changed_keys:
  description: Dotted paths of the owned keys whose value was added, changed or removed.
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
    - Others are V(invalid_json), V(not_regular_file), V(not_utf8), V(missing_directory), V(invalid_argument) and
      V(io_error).
  returned: failure
  type: str
  sample: unsafe_path
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.errors import FileFormatError
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.safe_file import (
    FILE_ARGUMENT_SPEC,
    ManagedFile,
    parse_mode,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.settings import (
    dump_settings,
    leaf_paths,
    mask_settings,
    merge_settings,
    parse_settings,
    pick_settings,
    remove_settings,
)


def _get(data, path):
    for key in path:
        if not isinstance(data, dict) or key not in data:
            return None, False
        data = data[key]
    return data, True


def _nest(path):
    node = {path[-1]: None}
    for key in reversed(path[:-1]):
        node = {key: node}
    return node


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            settings=dict(type="dict", default={}),
            secret_settings=dict(type="dict", default={}, no_log=True),
            purge=dict(type="dict", default={}),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            remove_empty=dict(type="bool", default=True),
            parent_mode=dict(type="raw"),
            backup=dict(type="bool", default=False),
            **FILE_ARGUMENT_SPEC
        ),
        supports_check_mode=True,
    )
    path = module.params["path"]
    state = module.params["state"]
    owned = merge_settings(module.params["settings"], module.params["secret_settings"])
    secret_paths = leaf_paths(module.params["secret_settings"])
    secret_values = [v for p in secret_paths for v in [_get(module.params["secret_settings"], p)[0]]]
    keys = [".".join(p) for p in leaf_paths(owned)]
    result = dict(changed=False, path=path, keys=keys, changed_keys=[])

    try:
        parse_mode(module.params["parent_mode"])
    except ValueError as exc:
        module.fail_json(msg="parent_mode: %s" % exc, error_kind="invalid_argument", **result)
    # Walks the path without following untrusted links and reads the file: refusals come here, check mode too.
    target = ManagedFile(module, path, result, action="write" if state == "present" else "edit")
    exists, text = target.exists, target.text
    missing = target.missing_dirs
    make_parent = state == "present" and missing == 1 and module.params["parent_mode"] is not None
    # In check mode an earlier task may only have predicted the directory; predict the file too.
    if state == "present" and missing and not make_parent and not module.check_mode:
        target.fail("the directory of %s does not exist. Fix: create it first%s"
                    % (path, " (parent_mode creates one level only)" if missing > 1 else ""), "missing_directory")
    try:
        before = parse_settings(text, path)
    except FileFormatError as exc:
        target.fail(to_native(exc), "invalid_json")

    owned_paths = leaf_paths(owned)
    purge = {}
    for path_ in leaf_paths(module.params["purge"]):
        if path_ not in owned_paths:
            purge = merge_settings(purge, _nest(path_))
    if state == "present":
        after = merge_settings(remove_settings(before, purge), owned)
    else:
        after = remove_settings(remove_settings(before, owned, match_values=True), purge)
    result["changed_keys"] = [".".join(p) for p in owned_paths + leaf_paths(purge)
                              if _get(before, p) != _get(after, p)]
    delete = state == "absent" and exists and not after and module.params["remove_empty"]
    create = state == "present" and not exists
    content_changed = delete or create or after != before

    if module._diff:
        # Only the keys this task owns or purges: the rest of a user's file is not the task's to show.
        shown = owned_paths + leaf_paths(purge)

        def mask(data):
            return dump_settings(mask_settings(pick_settings(data, shown), secret_paths, secret_values))
        result["diff"] = dict(before_header=path, after_header=path,
                              before=mask(before) if exists else "",
                              after="" if delete or (state == "absent" and not exists) else mask(after))

    target.apply(dump_settings(after), content_changed, create, delete,
                 parent_mode=module.params["parent_mode"] if make_parent else None)
    module.exit_json(**result)


if __name__ == "__main__":
    main()

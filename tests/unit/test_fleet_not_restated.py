# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the fleet model (plugins/plugin_utils/_fleet.py) knows is not restated in YAML: no playbook or role
writes the store default, the master-key name, the token prefixes or builds a gateway's registry itself."""

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RESTATED = [
    ("the store default", re.compile(r"claude_gateway_store\s*\|\s*default")),
    ("the secret prefix default", re.compile(r"claude_gateway_secret_prefix\s*\|\s*default")),
    ("the master-key name", re.compile(r"~\s*'master-key'|claude_gateway_master_key_name\s*\|\s*default")),
    ("the client token prefix", re.compile(r"claude_gateway_token_prefix\s*\|\s*default")),
    ("a gateway's teams", re.compile(r"claude_gateway_teams")),
    ("a client's secret name", re.compile(r"~\s*'client-'")),
]


def _yaml_files():
    for top in ("playbooks", "roles"):
        for base, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith((".yml", ".yaml", ".j2")):
                    yield os.path.join(base, name)


@pytest.mark.parametrize("what, pattern", RESTATED, ids=[w for w, _p in RESTATED])
def test_no_playbook_or_role_restates(what, pattern):
    found = []
    for path in _yaml_files():
        with open(path, encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if pattern.search(line) and not line.lstrip().startswith("#"):
                    found.append("%s:%d" % (os.path.relpath(path, ROOT), number))
    assert not found, "%s restated (use the gateway_* filters of plugins/filter/fleet.py): %s" % (what, found)


def test_every_registry_comes_from_gateway_registry():
    """litellm_tokens of the playbooks come from the one registry builder (gateway.yml and the rotation)."""
    users = []
    for path in _yaml_files():
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if re.search(r"^\s+litellm_tokens:", text, re.M) and "/roles/litellm/" not in path:
            users.append(os.path.relpath(path, ROOT))
            assert "llmops.claude_gateway.gateway_registry(" in text, path
    assert sorted(users) == ["playbooks/gateway.yml", "roles/rotation/tasks/gateway_registry.yml"]


def test_every_token_reference_comes_from_gateway_client_tokens():
    """The claude_code role gets its token references from one function (profiles.yml, the rotation, the demo)."""
    users = []
    for path in _yaml_files():
        if "/roles/claude_code/" in path:
            continue
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        if re.search(r"^\s+claude_code_token_ref:", text, re.M):
            users.append(os.path.relpath(path, ROOT))
            assert "llmops.claude_gateway.gateway_client_tokens(" in text, path
    assert "playbooks/profiles.yml" in users and "roles/rotation/tasks/client_profile.yml" in users

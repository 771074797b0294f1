# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/rotate.yml refuses bad selections and an unreachable store before anything changes.

The whole rotation (gateway, clients, faults, load) runs in molecule/fleet; these cases stop in the first
play on the controller, so the inventory's hosts are never contacted.
"""

import os

import pytest
import yaml

from ansible_runner import ROOT, run_playbook

ROTATE = os.path.join(ROOT, "playbooks", "rotate.yml")


@pytest.fixture
def inventory(tmp_path):
    store = str(tmp_path / "store.yml")
    inv = {"all": {
        "vars": {"claude_gateway_store": {"backend": "local", "local_path": store}},
        "children": {
            "gateway": {"hosts": {"gw1": {"ansible_connection": "local"}}},
            "workstations": {"hosts": {"ws1": {"ansible_connection": "local", "claude_gateway_team": "platform",
                                               "claude_code_users": [{"name": "alice", "client": "alice"}]}}},
            "ci_runners": {"hosts": {"runner1": {"ansible_connection": "local", "claude_gateway_team": "ci",
                                                 "claude_code_client": "github_actions"}}},
        }}}
    path = str(tmp_path / "inventory.yml")
    with open(path, "w") as handle:
        yaml.safe_dump(inv, handle)
    return path, store


@pytest.mark.parametrize("extra, message", [
    ({}, "nothing selected"),
    ({"rotate_clients": "alice,zed"}, "unknown client(s) zed (known: alice, runner1)"),
    ({"rotate_team": "nobody"}, "team nobody has no client in the inventory"),
])
def test_bad_selection_changes_nothing(tmp_path, inventory, extra, message):
    path, store = inventory
    run = run_playbook(tmp_path, ROTATE, extra_vars=extra, inventory=path)
    assert run.rc != 0, run
    assert message in run.output and "Nothing was changed" in run.output, run
    assert not os.path.exists(store)


def test_unreachable_store_changes_nothing(tmp_path, inventory):
    path, _store = inventory
    store = {"backend": "vault", "vault_url": "http://127.0.0.1:9", "vault_token": "not-a-token", "retries": 0,
             "timeout": 2}
    run = run_playbook(tmp_path, ROTATE, extra_vars={"rotate_all": True, "claude_gateway_store": store},
                       inventory=path, verbosity=3)
    assert run.rc != 0, run
    assert "the secret store could not be read; nothing was changed" in run.output, run
    assert "cannot reach http://127.0.0.1:9" in run.output, run
    assert "PLAY [Rotate - the gateway" not in run.output


def test_check_mode_is_refused(tmp_path, inventory):
    path, store = inventory
    run = run_playbook(tmp_path, ROTATE, extra_vars={"rotate_all": True}, inventory=path, check=True)
    assert run.rc != 0 and "--check cannot predict a rotation" in run.output, run
    assert not os.path.exists(store)

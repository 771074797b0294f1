# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The layout's rules (docs/architecture.md) that a later change could quietly break: host-side checks are
modules, not scripts shipped with a playbook; the rotation's playbook only orders the rotation role's steps."""

import os

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _tasks(play):
    return [task for key in ("pre_tasks", "tasks", "post_tasks") for task in play.get(key) or []]


def test_no_host_scripts_beside_the_playbooks_or_roles():
    found = []
    for top in ("playbooks", "roles"):
        for base, _dirs, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                if name.endswith(".yml"):
                    with open(os.path.join(base, name), encoding="utf-8") as handle:
                        if "ansible.builtin.script" in handle.read():
                            found.append(os.path.relpath(os.path.join(base, name), ROOT))
    assert not found, "host-side checks are modules (plugins/modules/), not scripts: %s" % found
    assert not os.path.exists(os.path.join(ROOT, "playbooks", "files"))


def test_rotate_playbook_is_a_table_of_contents():
    with open(os.path.join(ROOT, "playbooks", "rotate.yml"), encoding="utf-8") as handle:
        plays = yaml.safe_load(handle)
    steps = []
    for play in plays:
        for task in _tasks(play):
            assert list(task.get("ansible.builtin.include_role", {})) == ["name", "tasks_from"], task
            assert task["ansible.builtin.include_role"]["name"] == "llmops.claude_gateway.rotation"
            steps.append(task["ansible.builtin.include_role"]["tasks_from"])
    entry_points = os.path.join(ROOT, "roles", "rotation", "meta", "argument_specs.yml")
    with open(entry_points, encoding="utf-8") as handle:
        documented = yaml.safe_load(handle)["argument_specs"]
    assert steps and set(steps) <= set(documented), "every step is a documented entry point of roles/rotation"


def test_verify_playbook_runs_the_roles_verify_entry_point():
    with open(os.path.join(ROOT, "playbooks", "verify.yml"), encoding="utf-8") as handle:
        plays = yaml.safe_load(handle)
    client_tasks = _tasks(plays[0])
    assert [t["ansible.builtin.include_role"] for t in client_tasks] == [
        {"name": "llmops.claude_gateway.claude_code", "tasks_from": "verify"}]

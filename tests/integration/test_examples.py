# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The example inventories (examples/inventories/<use case>) are working inventories.

Each one: parses with ansible-inventory, gives the expected clients through the gateway_clients filter,
passes `ansible-playbook --syntax-check` of site.yml and verify.yml, and passes the checks the roles run
before touching a host (the litellm role's argument spec and its validate tasks for each gateway, the
claude_code policy for each client host), all on the controller without reaching any host.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys

import pytest

from ansible_runner import ROOT, run_playbook

EXAMPLES = os.path.join(ROOT, "examples", "inventories")
BIN = os.path.dirname(sys.executable)

# client -> team, and per client host the bypass flags its profile gets.
EXPECTED = {
    "local-dev": {"clients": {"local-dev": None}, "flags": {"localhost": ["CLAUDE_CODE_SKIP_BEDROCK_AUTH"]}},
    "enterprise-gateway": {
        "clients": {"dev-ws-01-example-com": "engineering", "dev-ws-02-example-com": "engineering"},
        "flags": {"dev-ws-01.example.com": ["CLAUDE_CODE_SKIP_BEDROCK_AUTH", "CLAUDE_CODE_SKIP_VERTEX_AUTH"]}},
    "ci-cd": {"clients": {"gha-runner-01": "ci", "gitlab-runner-01": "ci"},
              "flags": {"gha-runner-01.ci.example.com": ["CLAUDE_CODE_SKIP_BEDROCK_AUTH"],
                        "gitlab-runner-01.ci.example.com": ["CLAUDE_CODE_SKIP_BEDROCK_AUTH"]}},
    "multi-tenant": {"clients": {"alice": "platform", "bob": "platform", "dana": "data-science",
                                 "erin": "data-science", "frank": "platform", "intern1": "interns",
                                 "intern2": "interns"},
                     "flags": {"devbox-01.corp.example.com": ["CLAUDE_CODE_SKIP_VERTEX_AUTH"]}},
    "compliance-segregated": {
        "clients": {"ws-a-01-example-com": "team-a", "runner-a-01-example-com": "team-a",
                    "ws-b-01-example-com": "team-b"},
        "flags": {"ws-a-01.example.com": ["CLAUDE_CODE_SKIP_BEDROCK_AUTH"],
                  "runner-a-01.example.com": ["CLAUDE_CODE_SKIP_BEDROCK_AUTH"],
                  "ws-b-01.example.com": ["CLAUDE_CODE_SKIP_VERTEX_AUTH"]},
        # each gateway accepts only its team's tokens and routes only to its provider
        "registry": {"gw-team-a.example.com": ["runner-a-01-example-com", "ws-a-01-example-com"],
                     "gw-team-b.example.com": ["ws-b-01-example-com"]}},
}


def env():
    out = dict(os.environ)
    out.update({"ANSIBLE_COLLECTIONS_PATH": "%s:%s" % (os.path.join(ROOT, ".cache", "collections"),
                                                       os.path.join(ROOT, ".venv", "lib", "python3.11", "site-packages")),
                "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LOCALHOST_WARNING": "0"})
    return out


def test_every_use_case_has_an_example():
    assert sorted(os.listdir(EXAMPLES)) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_inventory_parses(name):
    proc = subprocess.run(check=False, args=[os.path.join(BIN, "ansible-inventory"), "-i", os.path.join(EXAMPLES, name), "--list"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env(), universal_newlines=True)
    assert proc.returncode == 0, proc.stderr
    assert "WARNING" not in proc.stderr, proc.stderr
    data = json.loads(proc.stdout)
    assert data["gateway"]["hosts"] or data["gateway"].get("children")
    assert os.path.isfile(os.path.join(EXAMPLES, name, "hosts.yml"))
    assert os.path.isdir(os.path.join(EXAMPLES, name, "group_vars"))


@pytest.mark.parametrize("playbook", ["site", "verify", "gateway", "profiles", "tokens"])
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_syntax_check(name, playbook):
    argv = [os.path.join(BIN, "ansible-playbook"), "--syntax-check", "-i", os.path.join(EXAMPLES, name),
            "llmops.claude_gateway.%s" % playbook]
    proc = subprocess.run(argv, check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env(), universal_newlines=True)
    assert proc.returncode == 0, proc.stdout


CHECKS = [
    {"name": "Controller-side checks of the example inventory", "hosts": "localhost", "gather_facts": False,
     "tasks": [{"name": "Clients and each gateway's registry", "ansible.builtin.copy": {
         "dest": "{{ out }}/clients.json", "mode": "0600",
         "content": "{{ {'clients': _clients, 'registry': _registry} | to_json }}"},
         "vars": {"_clients": "{{ groups | llmops.claude_gateway.gateway_clients(hostvars) }}",
                  "_registry": "{% set r = {} %}{% for g in groups['gateway'] %}{% set _ = r.update({g: (_clients "
                               "| llmops.claude_gateway.gateway_registry(hostvars, g)).tokens | map(attribute='client') "
                               "| sort}) %}"
                               "{% endfor %}{{ r }}"}}]},
    {"name": "The litellm role's checks for each gateway (no host is contacted)", "hosts": "gateway",
     "gather_facts": False, "connection": "local",
     "vars": {"litellm_master_key": {"backend": "local", "name": "placeholder-master-key"},
              "litellm_tokens": [{"client": "placeholder", "token": {"backend": "local", "name": "placeholder"}}]},
     "tasks": [
         {"name": "Argument spec", "ansible.builtin.validate_argument_spec": {
             "argument_spec": "{{ (lookup('ansible.builtin.file', spec) | from_yaml).argument_specs.main.options }}",
             "provided_arguments": "{{ hostvars[inventory_hostname] | dict2items | selectattr('key', 'match', '^litellm_')"
                                   " | items2dict | combine({'litellm_master_key': litellm_master_key,"
                                   " 'litellm_tokens': litellm_tokens}) }}"},
          "vars": {"spec": os.path.join(ROOT, "roles", "litellm", "meta", "argument_specs.yml")}},
         {"name": "Validate tasks", "ansible.builtin.include_role": {
             "name": "llmops.claude_gateway.litellm", "tasks_from": "validate.yml"}}]},
    {"name": "The claude_code policy for each client host", "hosts": "workstations:ci_runners", "gather_facts": False,
     "connection": "local",
     "tasks": [{"name": "Policy", "ansible.builtin.set_fact": {"policy": "{{ cfg | llmops.claude_gateway.claude_code_policy }}"},
                "vars": {"cfg": {
                    "client": "{{ claude_code_client | default('workstation') }}",
                    "gateway_url": "{{ claude_gateway_url }}",
                    "gateway_providers": "{{ claude_code_gateway_providers | default(omit) }}",
                    "env": "{{ claude_code_env | default({}) }}",
                    "token": "sk-cgw-placeholder-00000000000000",
                    "users": "{% set u = [] %}{% for x in claude_code_users | default([]) %}{% set _ = u.append({'name': x.name}) %}"
                             "{% endfor %}{{ u }}",
                    "token_env_var": "{{ claude_code_token_env_var | default('ANTHROPIC_AUTH_TOKEN') }}",
                    "settings_scope": "{{ claude_code_settings_scope | default('managed') }}",
                    "helper_ttl_ms": "{{ claude_code_helper_ttl_ms | default(none) }}",
                    "github_runner_dir": "{{ claude_code_github_runner_dir | default('') }}",
                    "github_runner_service": "{{ claude_code_github_runner_service | default('') }}",
                    "gitlab_runner_name": "{{ claude_code_gitlab_runner_name | default('') }}",
                    "systemd_service": "{{ claude_code_systemd_service | default('') }}"}}},
               {"name": "Write the result", "ansible.builtin.copy": {
                   "dest": "{{ out }}/policy-{{ inventory_hostname }}.json", "mode": "0600",
                   "content": "{{ policy | to_json }}"}, "delegate_to": "localhost"}]},
]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_filter_and_role_checks(tmp_path, name):
    out = tmp_path / "out"
    out.mkdir()
    run = run_playbook(tmp_path, CHECKS, extra_vars={"out": str(out)}, inventory=os.path.join(EXAMPLES, name))
    assert run.rc == 0, run
    want = EXPECTED[name]
    data = json.loads((out / "clients.json").read_text())
    assert {c["client"]: c["team"] for c in data["clients"]} == want["clients"]
    assert all(c["secret"].endswith("client-" + c["client"]) for c in data["clients"])
    for gw, clients in want.get("registry", {}).items():
        assert data["registry"][gw] == clients
    if "registry" not in want:
        for gw, clients in data["registry"].items():
            assert clients == sorted(want["clients"]), gw
    for host, flags in want["flags"].items():
        policy = json.loads((out / ("policy-%s.json" % host)).read_text())
        assert policy["error"] is None, policy
        assert sorted(k for k in policy["env"] if k.startswith("CLAUDE_CODE_SKIP_")) == flags, (host, policy["env"])
    for path in out.glob("policy-*.json"):
        assert json.loads(path.read_text())["error"] is None, path.name

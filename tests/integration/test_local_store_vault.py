# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The encrypted local store against ansible-core's own ``ansible-vault`` CLI, on both sides.

``ansible-vault encrypt --vault-id prod@<source>`` writes the store (format 1.2, label ``prod``); the
modules (the collection's own format code, also under a Python without ansible-core) and the lookup
(ansible-core's vault library) read and rotate it with a password file, a password script and a
``*-client`` script; afterwards ``ansible-vault view`` reads it and its header still names ``prod``. A
failing script, a client script without the label and a wrong password are clear errors that change
nothing.
"""

import os
import secrets
import stat
import subprocess
import sys

import pytest
import yaml

from ansible_runner import run_playbook
from bad_input import Case, FilesProbe, run_cases

ANSIBLE_VAULT = os.path.join(os.path.dirname(sys.executable), "ansible-vault")
# A Python without ansible-core (the modules must not need it); it has PyYAML and cryptography here.
SYSTEM_PYTHON = "/usr/bin/python3"
PROD_HEADER = "$ANSIBLE_VAULT;1.2;AES256;prod"


def _script(path, body):
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o700)
    return str(path)


def _vault_cli(*args):
    proc = subprocess.run([ANSIBLE_VAULT] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def _head(path):
    with open(path) as handle:
        return handle.readline().rstrip("\n")


@pytest.fixture
def labelled_store(tmp_path):
    """A store with alice's token, encrypted by ``ansible-vault encrypt --vault-id prod@<file>``, and the
    three password sources for it."""
    password = "pw-prod-" + secrets.token_hex(8)
    token = "sk-first-" + secrets.token_hex(12)
    secrets_dir = tmp_path / "secrets"
    secrets_dir.mkdir()
    pw_file = secrets_dir / "prod.pw"
    pw_file.write_text(password + "\n")
    pw_file.chmod(0o600)
    sources = {
        "password file": str(pw_file),
        "password script": _script(secrets_dir / "prod-pass.sh", "cat %s" % pw_file),
        # ansible-core's client protocol: --vault-id <label>, exit 2 when the label is unknown.
        "client script": _script(secrets_dir / "keyring-client", '[ "$1" = --vault-id ] || exit 3\n'
                                 '[ "$2" = prod ] || { echo "no secret for $2" >&2; exit 2; }\ncat %s' % pw_file),
    }
    store_dir = tmp_path / "store"
    store_dir.mkdir(mode=0o700)
    store = store_dir / "secrets.yml"
    created = "2026-11-30T08:00:00Z"
    store.write_text("# llmops.claude_gateway local secret store (format 1). Managed by the collection: do not edit.\n"
                     + yaml.safe_dump({"format": 1, "secrets": {"alice": {"versions": [
                         {"version": 1, "created": created, "state": "enabled", "value": token}]}}}))
    store.chmod(0o600)
    _vault_cli("encrypt", "--vault-id", "prod@%s" % pw_file, str(store))
    assert _head(store) == PROD_HEADER
    return dict(path=str(store), password=password, token=token, sources=sources, pw_file=str(pw_file))


def _plain(store):
    """The store as ``ansible-vault view --vault-id prod@<password file>`` shows it."""
    return yaml.safe_load(_vault_cli("view", "--vault-id", "prod@%s" % store["pw_file"], store["path"]))


@pytest.mark.parametrize("source, interpreter", [
    ("password file", "controller"), ("password script", "controller"), ("client script", "controller"),
    ("client script", "without ansible-core"),
])
def test_a_labelled_store_is_read_and_rotated_by_the_modules_and_the_lookup(tmp_path, labelled_store, source,
                                                                            interpreter):
    if interpreter != "controller" and not os.path.exists(SYSTEM_PYTHON):
        pytest.skip("no %s on this machine" % SYSTEM_PYTHON)  # pragma: no cover
    store = labelled_store
    opts = {"backend": "local", "local_path": store["path"], "local_vault_password_file": store["sources"][source]}
    lookup = "{{ lookup('llmops.claude_gateway.gateway_token', 'alice', **store) }}"
    module_vars = {"ansible_python_interpreter": sys.executable if interpreter == "controller" else SYSTEM_PYTHON}
    tasks = [
        {"name": "the lookup reads the store ansible-vault wrote",
         "ansible.builtin.set_fact": {"before_lookup": lookup}, "no_log": True},
        {"name": "the module reads it", "llmops.claude_gateway.gateway_token_info": dict(opts, name="alice"),
         "delegate_to": "localhost", "vars": module_vars, "register": "before_info"},
        {"name": "the module rotates it", "llmops.claude_gateway.gateway_token": dict(
            opts, name="alice", generate=True, rotate=True, retire=1, return_value=True),
         "delegate_to": "localhost", "vars": module_vars, "register": "rotated"},
        {"name": "the lookup reads the rotated store", "ansible.builtin.set_fact": {"after_lookup": lookup},
         "no_log": True},
        {"name": "the module reads the rotated store",
         "llmops.claude_gateway.gateway_token_info": dict(opts, name="alice", list_versions=True),
         "delegate_to": "localhost", "vars": module_vars, "register": "after_info"},
        {"name": "hand the results to the test", "ansible.builtin.copy": {
            "dest": str(tmp_path / "results.json"), "mode": "0600", "content": "{{ {'before_lookup': before_lookup, "
            "'before_info': before_info.value, 'rotated': rotated.value, 'version': rotated.version, "
            "'after_lookup': after_lookup, 'after_info': after_info.value, 'versions': after_info.versions} "
            "| to_json }}"}, "no_log": True},
    ]
    run = run_playbook(tmp_path, [{"hosts": "localhost", "gather_facts": False, "connection": "local",
                                   "vars": {"store": opts}, "tasks": tasks}], verbosity=3)
    assert run.rc == 0, run
    with open(str(tmp_path / "results.json")) as handle:
        results = yaml.safe_load(handle)
    assert results["before_lookup"] == results["before_info"] == store["token"]
    new = results["rotated"]
    assert new.startswith("sk-") and new != store["token"] and str(results["version"]) == "2"
    assert results["after_lookup"] == results["after_info"] == new
    assert [(v["version"], v["state"]) for v in results["versions"]] == [("2", "enabled"), ("1", "disabled")]
    # The store as ansible-core sees it: label kept, readable by ansible-vault view, 0600, no value leaked.
    assert _head(store["path"]) == PROD_HEADER
    versions = _plain(store)["secrets"]["alice"]["versions"]
    assert [(v["version"], v["state"], v["value"]) for v in versions] == [
        (1, "disabled", store["token"]), (2, "enabled", new)]
    assert stat.S_IMODE(os.stat(store["path"]).st_mode) == 0o600
    with open(store["path"]) as handle:
        raw = handle.read()
    assert new not in raw and store["token"] not in raw
    # Not at -vvv either (script runs, module arguments, the lookup's templating).
    for value in (new, store["token"], store["password"]):
        assert value not in run.output and value not in run.log


def test_the_client_script_is_asked_for_the_store_label_by_ansible_vault_too(labelled_store):
    # The other side of the client protocol: ansible-vault itself runs the same script for this store.
    store = labelled_store
    shown = yaml.safe_load(_vault_cli("view", "--vault-id", "prod@%s" % store["sources"]["client script"],
                                      store["path"]))
    assert shown["secrets"]["alice"]["versions"][0]["value"] == store["token"]


def test_bad_vault_passwords_fail_clearly_and_change_nothing(tmp_path, labelled_store):
    store = labelled_store
    secrets_dir = tmp_path / "secrets"
    failing = _script(secrets_dir / "locked-pass.sh", "echo 'keyring is locked' >&2\nexit 1")
    wrong = secrets_dir / "dev.pw"
    wrong.write_text("pw-dev\n")
    base = {"backend": "local", "local_path": store["path"]}
    sources = [
        ("failing script", {"local_vault_password_file": failing},
         [r"[Vv]ault password script \S*locked-pass\.sh (failed \(exit status 1\)|returned non-zero \(1\))",
          "prints? the (vault )?password"]),
        ("client script without the label", {"local_vault_password_file": store["sources"]["client script"],
                                             "local_vault_id": "dev"},
         [r"[Vv]ault password client script \S*keyring-client (has no password for vault ID 'dev'|did not find a secret for "
          r"vault-id=dev)"]),
        ("wrong password file", {"local_vault_password_file": str(wrong)},
         [r"cannot decrypt the local store \S*secrets\.yml: wrong vault password", "ansible-vault view"]),
        ("wrong password", {"local_vault_password": "pw-dev"}, ["wrong vault password"]),
    ]
    cases = []
    for title, source, rule in sources:
        opts = dict(base, **source)
        cases += [
            Case("%s: module read" % title, {"llmops.claude_gateway.gateway_token_info": dict(opts, name="alice"),
                                             "delegate_to": "localhost"}, rule, "bad_configuration", scope="local"),
            Case("%s: module rotate" % title, {"llmops.claude_gateway.gateway_token": dict(
                opts, name="alice", generate=True, rotate=True, retire=1), "delegate_to": "localhost"},
                rule, "bad_configuration", scope="local"),
            Case("%s: module write under python without ansible-core" % title,
                 {"llmops.claude_gateway.gateway_token": dict(opts, name="bob", generate=True),
                  "delegate_to": "localhost", "vars": {"ansible_python_interpreter": SYSTEM_PYTHON}},
                 rule, "bad_configuration", scope="local"),
            Case("%s: lookup" % title, {"ansible.builtin.debug": {
                "msg": "{{ lookup('llmops.claude_gateway.gateway_token', 'alice', **opts) }}"},
                "vars": {"opts": opts}}, rule, None, scope="local"),
        ]
    # A first write makes the lock file, so that every case meets the same directory.
    with open(store["path"] + ".lock", "a"):
        os.chmod(store["path"] + ".lock", 0o600)
    probes = {"local": [FilesProbe([os.path.dirname(store["path"])], name="local store")]}
    results = run_cases(tmp_path, cases, probes, hidden=[store["token"], store["password"]], name="vault")
    assert len(results) == len(cases)
    assert _head(store["path"]) == PROD_HEADER


def test_a_store_without_a_password_yet_gets_local_vault_id(tmp_path):
    # A new store encrypted by a module is labelled with local_vault_id and ansible-vault reads it back.
    pw_file = tmp_path / "pw"
    pw_file.write_text("new-pw\n")
    path = str(tmp_path / "store" / "secrets.yml")
    opts = {"backend": "local", "local_path": path, "local_vault_password_file": str(pw_file),
            "local_vault_id": "team-a"}
    run = run_playbook(tmp_path, [{"hosts": "localhost", "gather_facts": False, "connection": "local", "tasks": [
        {"llmops.claude_gateway.gateway_token": dict(opts, name="ci", value="sk-ci-token-%s" % ("x" * 24))},
        {"ansible.builtin.assert": {"that": "lookup('llmops.claude_gateway.gateway_token', 'ci', **opts) "
                                            "== 'sk-ci-token-' ~ 'x' * 24"}, "vars": {"opts": opts}},
    ]}])
    assert run.rc == 0, run
    assert _head(path) == "$ANSIBLE_VAULT;1.2;AES256;team-a"
    shown = yaml.safe_load(_vault_cli("view", "--vault-id", "team-a@%s" % pw_file, path))
    assert shown["secrets"]["ci"]["versions"][0]["value"] == "sk-ci-token-" + "x" * 24

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real ansible-playbook runs, as root, of the file-editing modules against paths an unprivileged user
controls: a symbolic link planted by that user must never lead a root task to read, copy, chown, rewrite
or delete another file, and never show it in a diff.
"""

import json
import os
import pwd
import re
import stat
from pathlib import Path

import pytest

from ansible_runner import run_playbook
from bad_input import FilesProbe, assert_named_error, unchanged

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the attacks need root to run the modules and an "
                                                          "unprivileged user to own the attacker's files")

ATTACKER = "nobody"
VICTIM_SECRET = "VICTIM-SECRET"
GATEWAY = {"apiKeyHelper": "/usr/local/bin/claude-gateway-token",
           "env": {"ANTHROPIC_BASE_URL": "https://gateway.example.com", "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"}}
TOKEN = "gwt_AttackTestToken0123456789"


def attacker():
    entry = pwd.getpwnam(ATTACKER)
    return entry.pw_uid, entry.pw_gid


def owned_by_attacker(path, mode=0o755):
    os.makedirs(path, exist_ok=True)
    uid, gid = attacker()
    os.chown(path, uid, gid)
    os.chmod(path, mode)
    return path


def victim_dir(tmp_path, content, name="settings.json"):
    """A root-only directory holding a root-owned 0600 file with a secret in it."""
    directory = tmp_path / "root-only"
    directory.mkdir(mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)
    path = directory / name
    path.write_text(content)
    os.chmod(path, 0o600)
    return directory, path


def probes(victim, attacker_root):
    """The victim file's (or directory's) bytes, owner, mode and inode, and every entry under the
    attacker's directory (links not followed): nothing may change there when an attack is refused."""
    return [FilesProbe([victim], name="victim"), FilesProbe([attacker_root], name="attacker's directories")]


def play(tasks):
    return [{"hosts": "localhost", "connection": "local", "gather_facts": False, "tasks": tasks}]


def settings_task(path, **extra):
    args = {"path": str(path), "settings": GATEWAY, "secret_settings": {"env": {"ANTHROPIC_AUTH_TOKEN": TOKEN}}}
    args.update(extra)
    return {"name": "gateway settings", "llmops.claude_gateway.claude_code_settings": args}


def runner_env_task(path, **extra):
    args = {"path": str(path), "env": {"ANTHROPIC_BASE_URL": "https://gateway.example.com"},
            "secret_env": {"ANTHROPIC_AUTH_TOKEN": TOKEN}}
    args.update(extra)
    return {"name": "runner env", "llmops.claude_gateway.claude_code_runner_env": args}


def assert_refused(run, path, link):
    assert run.rc != 0, run
    assert_named_error(run.output, ["refusing to", re.escape(str(path)), "symbolic link", re.escape(str(link)),
                                    "unsafe_path"], hidden=[VICTIM_SECRET, TOKEN], what="attack on %s" % path)
    assert VICTIM_SECRET not in run.log, run


@pytest.fixture
def home(tmp_path):
    """An unprivileged user's home: /.../home/alice owned by the user."""
    owned_by_attacker(str(tmp_path / "home"), 0o755)
    os.chown(str(tmp_path / "home"), 0, 0)  # /home itself is root's, as on a real host
    return Path(owned_by_attacker(str(tmp_path / "home" / "alice"), 0o755))


# The secret sits last, where a diff's context lines would show it.
VICTIM_JSON = json.dumps({"permissions": {"allow": ["Bash"]}, "victim": VICTIM_SECRET}, indent=2) + "\n"


def test_a_settings_file_link_to_a_root_file(tmp_path, home):
    owned_by_attacker(str(home / ".claude"), 0o700)
    victim = victim_dir(tmp_path, VICTIM_JSON)[1]
    link = home / ".claude" / "settings.json"
    os.symlink(str(victim), str(link))
    os.lchown(str(link), *attacker())
    with unchanged(probes(victim, home), "the refused attack"):
        run = run_playbook(tmp_path, play([settings_task(link, owner=ATTACKER, mode="0600")]))
    assert_refused(run, link, link)


def test_b_claude_dir_link_to_a_root_only_dir_with_parent_mode(tmp_path, home):
    owned_by_attacker(str(home), 0o755)
    directory, victim = victim_dir(tmp_path, VICTIM_JSON)
    link = home / ".claude"
    os.symlink(str(directory), str(link))
    os.lchown(str(link), *attacker())
    with unchanged(probes(directory, home), "the refused attack"):  # the directory's mode and owner too
        run = run_playbook(tmp_path, play([settings_task(link / "settings.json", owner=ATTACKER, parent_mode="0700")]))
    assert_refused(run, link / "settings.json", link)
    assert stat.S_IMODE(os.stat(str(directory)).st_mode) == 0o700 and os.stat(str(directory)).st_uid == 0


def test_c_link_in_a_parent_directory_the_user_controls(tmp_path, home):
    owned_by_attacker(str(home / "projects"), 0o755)
    directory, victim = victim_dir(tmp_path, VICTIM_JSON)
    os.makedirs(str(directory / ".claude"))
    os.rename(str(victim), str(directory / ".claude" / "settings.json"))
    victim = directory / ".claude" / "settings.json"
    link = home / "projects" / "work"
    os.symlink(str(directory), str(link))
    os.lchown(str(link), *attacker())
    path = link / ".claude" / "settings.json"
    with unchanged(probes(victim, home), "the refused attack"):
        run = run_playbook(tmp_path, play([settings_task(path, owner=ATTACKER)]))
    assert_refused(run, path, link)


def test_d_runner_env_link_to_a_root_file(tmp_path):
    runner = tmp_path / "actions-runner"
    owned_by_attacker(str(runner), 0o755)  # the runner user, i.e. whatever a CI job runs as
    victim = victim_dir(tmp_path, "LANG=C\nGH_PAT=%s\n" % VICTIM_SECRET, name="db.env")[1]
    link = runner / ".env"
    os.symlink(str(victim), str(link))
    os.lchown(str(link), *attacker())
    with unchanged(probes(victim, runner), "the refused attack"):
        run = run_playbook(tmp_path, play([runner_env_task(link, owner=ATTACKER, mode="0600")]))
    assert_refused(run, link, link)


@pytest.mark.parametrize("module", ["settings", "runner_env"])
def test_e_absent_through_a_link(tmp_path, home, module):
    owned_by_attacker(str(home / ".claude"), 0o700)
    if module == "settings":
        content = json.dumps(dict(GATEWAY, victim=VICTIM_SECRET), indent=2) + "\n"
    else:
        content = "ANTHROPIC_BASE_URL=https://gateway.example.com\nGH_PAT=%s\n" % VICTIM_SECRET
    victim = victim_dir(tmp_path, content)[1]
    link = home / ".claude" / ("settings.json" if module == "settings" else ".env")
    os.symlink(str(victim), str(link))
    os.lchown(str(link), *attacker())
    task = settings_task(link, state="absent") if module == "settings" else runner_env_task(link, state="absent")
    with unchanged(probes(victim, home), "the refused attack"):
        run = run_playbook(tmp_path, play([task]))
    assert_refused(run, link, link)


@pytest.mark.parametrize("module", ["settings", "runner_env"])
def test_f_check_diff_through_a_link_shows_nothing(tmp_path, home, module):
    owned_by_attacker(str(home / ".claude"), 0o700)
    content = VICTIM_JSON if module == "settings" else "LANG=C\nGH_PAT=%s\n" % VICTIM_SECRET
    victim = victim_dir(tmp_path, content)[1]
    link = home / ".claude" / ("settings.json" if module == "settings" else ".env")
    os.symlink(str(victim), str(link))
    os.lchown(str(link), *attacker())
    task = settings_task(link, owner=ATTACKER) if module == "settings" else runner_env_task(link, owner=ATTACKER)
    with unchanged(probes(victim, home), "the refused attack"):
        run = run_playbook(tmp_path, play([task]), check=True)
    assert_refused(run, link, link)


def test_hard_link_in_a_user_directory_is_refused(tmp_path):
    """A hard link the user made to a file it may not change (same file system) is refused too."""
    runner = tmp_path / "actions-runner"
    owned_by_attacker(str(runner), 0o755)
    victim = victim_dir(tmp_path, "GH_PAT=%s\n" % VICTIM_SECRET, name="db.env")[1]
    os.link(str(victim), str(runner / ".env"))  # as root: the kernel stops a user doing it, not every kernel
    with unchanged(probes(victim, runner), "the refused attack"):
        run = run_playbook(tmp_path, play([runner_env_task(runner / ".env", owner=ATTACKER, mode="0600")]))
    assert run.rc != 0, run
    assert_named_error(run.output, ["hard link", "unsafe_path"], hidden=[VICTIM_SECRET, TOKEN], what="hard link")


def test_trusted_root_symlink_is_followed(tmp_path):
    """An admin's root-owned link in a root-owned directory (/home/alice -> /data/alice) is fine."""
    data = tmp_path / "data" / "alice"
    owned_by_attacker(str(data), 0o755)
    os.chmod(str(tmp_path / "data"), 0o755)
    homes = tmp_path / "homes"
    homes.mkdir(mode=0o755)
    os.symlink(str(data), str(homes / "alice"))
    path = homes / "alice" / ".claude" / "settings.json"
    run = run_playbook(tmp_path, play([settings_task(path, owner=ATTACKER, mode="0600", parent_mode="0700")]))
    assert run.rc == 0, run
    real = data / ".claude" / "settings.json"
    assert json.loads(real.read_text())["env"]["ANTHROPIC_AUTH_TOKEN"] == TOKEN
    assert os.stat(str(real)).st_uid == attacker()[0] and os.stat(str(data / ".claude")).st_uid == attacker()[0]
    assert os.path.islink(str(homes / "alice"))


def test_normal_user_dir_works_and_is_idempotent(tmp_path, home):
    owned_by_attacker(str(home), 0o755)
    (home / "notes.txt").write_text("mine\n")
    path = home / ".claude" / "settings.json"
    runner = tmp_path / "actions-runner"
    owned_by_attacker(str(runner), 0o755)
    (runner / ".env").write_text("LANG=C.UTF-8\n")
    tasks = [settings_task(path, owner=ATTACKER, group="nogroup", mode="0600", parent_mode="0700"),
             runner_env_task(runner / ".env", owner=ATTACKER, mode="0600")]
    first = run_playbook(tmp_path, play(tasks), name="first")
    assert first.rc == 0 and "changed=2" in first.output, first
    uid, gid = attacker()
    for item, mode in ((path, 0o600), (path.parent, 0o700), (runner / ".env", 0o600)):
        info = os.stat(str(item))
        assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (uid, mode), item
    assert os.stat(str(path)).st_gid == gid
    data = json.loads(path.read_text())
    assert data["env"]["ANTHROPIC_AUTH_TOKEN"] == TOKEN and data["apiKeyHelper"] == GATEWAY["apiKeyHelper"]
    assert (runner / ".env").read_text() == ("LANG=C.UTF-8\nANTHROPIC_BASE_URL=https://gateway.example.com\n"
                                             "ANTHROPIC_AUTH_TOKEN=%s\n" % TOKEN)
    second = run_playbook(tmp_path, play(tasks), name="second")
    assert second.rc == 0 and "changed=0" in second.output, second
    check = run_playbook(tmp_path, play(tasks), name="check", check=True)
    assert check.rc == 0 and "changed=0" in check.output and TOKEN not in check.output, check
    leftovers = [p for p in FilesProbe([home]).snapshot() if os.path.basename(p).startswith(".settings.json.")]
    assert not leftovers and not [p for p in FilesProbe([runner]).snapshot() if os.path.basename(p).startswith("..env.")]

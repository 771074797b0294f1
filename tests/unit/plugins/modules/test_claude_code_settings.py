# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""claude_code_settings / claude_code_runner_env modules (the file edits are tested in module_utils/_claude_code).

The modules run as real processes (as Ansible runs them) on files in a temporary directory.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import stat
import subprocess
import sys

import pytest

from ..module_utils._claude_code.test_gitlab_toml import CONFIG
from ..module_utils._claude_code.test_settings import OWNED, SECRET

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def run(module, tmp_path, **args):
    args.setdefault("_ansible_diff", True)
    argfile = tmp_path / "args.json"
    argfile.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".cache", "collections"))
    proc = subprocess.run([sys.executable, "-m", "ansible_collections.llmops.claude_gateway.plugins.modules." + module,
                           str(argfile)], capture_output=True, text=True, env=env, check=False)
    out = json.loads(proc.stdout)
    assert SECRET not in proc.stdout + proc.stderr, "secret leaked in module output"
    return out


def changed(base, **changes):
    """A copy of module arguments with some changed."""
    out = dict(base)
    out.update(changes)
    return out


def settings(tmp_path, **args):
    return run("claude_code_settings", tmp_path, **args)


# ---------------------------------------------------------------- merge logic


# ---------------------------------------------------------------- claude_code_settings module
def test_create_merge_idempotent_absent(tmp_path):
    path = tmp_path / "managed-settings.json"
    out = settings(tmp_path, path=str(path), settings=OWNED, secret_settings={"env": {"ANTHROPIC_AUTH_TOKEN": SECRET}})
    assert out["changed"] is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # new file, no mode given
    data = json.loads(path.read_text())
    assert data["env"]["ANTHROPIC_AUTH_TOKEN"] == SECRET and data["apiKeyHelper"] == OWNED["apiKeyHelper"]
    assert "********" in out["diff"]["after"]
    again = settings(tmp_path, path=str(path), settings=OWNED, secret_settings={"env": {"ANTHROPIC_AUTH_TOKEN": SECRET}})
    assert again["changed"] is False and again["changed_keys"] == []
    gone = settings(tmp_path, path=str(path), settings=OWNED, secret_settings={"env": {"ANTHROPIC_AUTH_TOKEN": None}},
                    state="absent")
    assert gone["changed"] is True and not path.exists()


def test_existing_file_keeps_foreign_keys_and_mode(tmp_path):
    path = tmp_path / "s.json"
    original = {"permissions": {"deny": ["Read(./.env)"]}, "env": {"FOO": "bar"}}
    path.write_text(json.dumps(original, indent=2) + "\n")
    os.chmod(path, 0o640)
    out = settings(tmp_path, path=str(path), settings=OWNED)
    assert out["changed"]
    assert out["changed_keys"] == ["apiKeyHelper", "env.ANTHROPIC_BASE_URL", "env.CLAUDE_CODE_SKIP_BEDROCK_AUTH"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert json.loads(path.read_text())["permissions"] == original["permissions"]
    settings(tmp_path, path=str(path), settings=OWNED, state="absent")
    assert path.read_text() == json.dumps(original, indent=2) + "\n"  # byte-identical again


def test_mode_change_only(tmp_path):
    path = tmp_path / "s.json"
    settings(tmp_path, path=str(path), settings=OWNED, mode="0644")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    out = settings(tmp_path, path=str(path), settings=OWNED, mode="0600")
    assert out["changed"] and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_check_mode_changes_nothing(tmp_path):
    path = tmp_path / "s.json"
    path.write_text('{"a": 1}\n')
    out = settings(tmp_path, path=str(path), settings=OWNED, _ansible_check_mode=True)
    assert out["changed"] and path.read_text() == '{"a": 1}\n'
    assert '"apiKeyHelper"' in out["diff"]["after"]
    missing = tmp_path / "nodir" / "s.json"
    out = settings(tmp_path, path=str(missing), settings=OWNED, _ansible_check_mode=True)
    assert out["changed"] and not missing.parent.exists()


@pytest.mark.parametrize("content", ['{"env": {', "[1, 2]", "not json", b"\xff\xfe"])
def test_invalid_file_left_untouched(tmp_path, content):
    path = tmp_path / "s.json"
    raw = content if isinstance(content, bytes) else content.encode()
    path.write_bytes(raw)
    out = settings(tmp_path, path=str(path), settings=OWNED)
    assert out.get("failed") and "left untouched" in out["msg"] and "Fix:" in out["msg"]
    assert path.read_bytes() == raw


def test_backup_and_missing_dir(tmp_path):
    path = tmp_path / "s.json"
    path.write_text("{}\n")
    out = settings(tmp_path, path=str(path), settings=OWNED, backup=True)
    assert open(out["backup_file"]).read() == "{}\n"
    out = settings(tmp_path, path=str(tmp_path / "nope" / "s.json"), settings=OWNED)
    assert out["failed"] and "does not exist" in out["msg"]


def test_absent_on_missing_file_is_ok(tmp_path):
    out = settings(tmp_path, path=str(tmp_path / "s.json"), settings=OWNED, state="absent")
    assert out["changed"] is False and not (tmp_path / "s.json").exists()


def test_absent_keeps_file_with_foreign_keys_and_remove_empty_false(tmp_path):
    path = tmp_path / "s.json"
    settings(tmp_path, path=str(path), settings=OWNED)
    settings(tmp_path, path=str(path), settings=OWNED, state="absent", remove_empty=False)
    assert path.read_text() == "{}\n"


# ---------------------------------------------------------------- dotenv


def test_runner_env_module(tmp_path):
    path = tmp_path / ".env"
    path.write_text("LANG=C.UTF-8\n")
    os.chmod(path, 0o644)
    args = dict(path=str(path), env={"ANTHROPIC_BASE_URL": "https://gw"}, secret_env={"ANTHROPIC_AUTH_TOKEN": SECRET},
                mode="0600")
    out = run("claude_code_runner_env", tmp_path, **args)
    assert out["changed"] and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == "LANG=C.UTF-8\nANTHROPIC_BASE_URL=https://gw\nANTHROPIC_AUTH_TOKEN=%s\n" % SECRET
    assert "ANTHROPIC_AUTH_TOKEN=********" in out["diff"]["after"]
    assert run("claude_code_runner_env", tmp_path, **args)["changed"] is False
    out = run("claude_code_runner_env", tmp_path, **changed(args, state="absent", secret_env={"ANTHROPIC_AUTH_TOKEN": ""}))
    assert out["changed"] and path.read_text() == "LANG=C.UTF-8\n"
    # A file that only held our variables disappears.
    new = tmp_path / "svc.env"
    run("claude_code_runner_env", tmp_path, **changed(args, path=str(new)))
    run("claude_code_runner_env", tmp_path, **changed(args, path=str(new), state="absent"))
    assert not new.exists()


def test_runner_env_bad_value_message_masks_secret(tmp_path):
    out = run("claude_code_runner_env", tmp_path, path=str(tmp_path / ".env"),
              secret_env={"ANTHROPIC_AUTH_TOKEN": SECRET + "\n"})
    assert out["failed"] and "newline" in out["msg"]
    assert not (tmp_path / ".env").exists()


# ---------------------------------------------------------------- GitLab config.toml


def test_gitlab_module_keeps_file_and_mode(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    os.chmod(path, 0o600)
    args = dict(path=str(path), format="gitlab_toml", runner_name="docs", env={"ANTHROPIC_BASE_URL": "https://gw"},
                secret_env={"ANTHROPIC_AUTH_TOKEN": SECRET})
    out = run("claude_code_runner_env", tmp_path, **args)
    assert out["changed"] and stat.S_IMODE(path.stat().st_mode) == 0o600 and SECRET in path.read_text()
    assert run("claude_code_runner_env", tmp_path, **args)["changed"] is False
    bad = run("claude_code_runner_env", tmp_path, **changed(args, runner_name="missing"))
    assert bad["failed"] and "claude_code_gitlab_runner_name" in bad["msg"]
    run("claude_code_runner_env", tmp_path, **changed(args, state="absent"))
    assert path.read_text() == CONFIG
    missing = run("claude_code_runner_env", tmp_path, **changed(args, path=str(tmp_path / "none.toml")))
    assert missing["failed"] and "register the runner first" in missing["msg"]


def test_gitlab_diff_masks_every_token(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    out = run("claude_code_runner_env", tmp_path, path=str(path), format="gitlab_toml", runner_name="builds",
              secret_env={"ANTHROPIC_AUTH_TOKEN": SECRET}, _ansible_check_mode=True)
    diff = out["diff"]["before"] + out["diff"]["after"]
    # Only the named runner's environment is shown: not its registration token, not the other runner.
    assert "glrt-" not in diff and "token =" not in diff and "NOT_THIS" not in diff and "concurrent" not in diff
    assert '"ANTHROPIC_AUTH_TOKEN=********"' in diff and '"FOO=bar"' in diff


def test_purge_removes_managed_keys_no_longer_wanted(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"env": {"FOO": "1", "CLAUDE_CODE_SKIP_VERTEX_AUTH": "1"}}))
    purge = {"env": {"CLAUDE_CODE_SKIP_VERTEX_AUTH": None, "ANTHROPIC_BASE_URL": None}}
    out = settings(tmp_path, path=str(path), settings=OWNED, purge=purge)
    data = json.loads(path.read_text())
    assert "CLAUDE_CODE_SKIP_VERTEX_AUTH" not in data["env"] and data["env"]["FOO"] == "1"
    assert data["env"]["ANTHROPIC_BASE_URL"] == "https://gw.example.com"  # owned wins over purge
    assert "env.CLAUDE_CODE_SKIP_VERTEX_AUTH" in out["changed_keys"]
    assert settings(tmp_path, path=str(path), settings=OWNED, purge=purge)["changed"] is False


def test_runner_env_purge(tmp_path):
    path = tmp_path / ".env"
    path.write_text("LANG=C\nANTHROPIC_API_KEY=old\n")
    run("claude_code_runner_env", tmp_path, path=str(path), env={"ANTHROPIC_BASE_URL": "https://gw"},
        secret_env={"ANTHROPIC_AUTH_TOKEN": SECRET}, purge=["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"])
    assert path.read_text() == "LANG=C\nANTHROPIC_BASE_URL=https://gw\nANTHROPIC_AUTH_TOKEN=%s\n" % SECRET


def test_absent_removes_valued_keys_only_when_they_match(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"apiKeyHelper": "/home/u/my-helper", "env": {"ANTHROPIC_BASE_URL": "x", "A": "1"}}))
    out = settings(tmp_path, path=str(path), state="absent", settings={"apiKeyHelper": OWNED["apiKeyHelper"]},
                   purge={"env": {"ANTHROPIC_BASE_URL": None}})
    assert out["changed"] and json.loads(path.read_text()) == {"apiKeyHelper": "/home/u/my-helper", "env": {"A": "1"}}


def test_parent_mode_creates_the_directory(tmp_path):
    path = tmp_path / "home" / ".claude" / "settings.json"
    (tmp_path / "home").mkdir()
    out = settings(tmp_path, path=str(path), settings=OWNED, parent_mode="0700")
    assert out["changed"] and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert settings(tmp_path, path=str(path), settings=OWNED, parent_mode="0700")["changed"] is False
    check = settings(tmp_path, path=str(tmp_path / "home" / "other" / "s.json"), settings=OWNED, parent_mode="0700",
                     _ansible_check_mode=True)
    assert check["changed"] and not (tmp_path / "home" / "other").exists()

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""claude_code_settings / claude_code_runner_env modules and the file edits behind them.

The modules run as real processes (as Ansible runs them) on files in a temporary directory.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import stat
import subprocess
import sys
import tomllib

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code import (
    FileFormatError,
    edit_dotenv,
    edit_gitlab_environment,
    gitlab_environment,
    mask_settings,
    merge_settings,
    parse_settings,
    remove_settings,
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SECRET = "gwt_S3cretValue0123456789"
OWNED = {"apiKeyHelper": "/usr/local/bin/claude-gateway-token",
         "env": {"ANTHROPIC_BASE_URL": "https://gw.example.com", "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"}}


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
def test_merge_keeps_foreign_keys_and_order():
    before = {"permissions": {"allow": ["Bash"]}, "env": {"FOO": "bar"}, "model": "x"}
    after = merge_settings(before, OWNED)
    assert list(after) == ["permissions", "env", "model", "apiKeyHelper"]
    assert after["env"] == {"FOO": "bar", "ANTHROPIC_BASE_URL": "https://gw.example.com",
                            "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"}
    assert remove_settings(after, OWNED) == before
    assert before == {"permissions": {"allow": ["Bash"]}, "env": {"FOO": "bar"}, "model": "x"}  # not mutated


def test_remove_drops_only_objects_it_empties():
    assert remove_settings(merge_settings({}, OWNED), OWNED) == {}
    assert remove_settings({"env": {}}, OWNED) == {"env": {}}  # empty before: not ours to drop


def test_parse_settings_errors():
    assert parse_settings("  \n") == {}
    with pytest.raises(FileFormatError, match="not valid JSON.*left untouched"):
        parse_settings('{"env": ', "/etc/x.json")
    with pytest.raises(FileFormatError, match="JSON list, not an object"):
        parse_settings("[1]")


def test_mask_settings():
    data = {"env": {"ANTHROPIC_AUTH_TOKEN": SECRET, "MY_KEY": "k", "URL": "u", "OTHER": SECRET}, "apiKeyHelper": "/x"}
    masked = json.dumps(mask_settings(data, secret_values=[SECRET]))
    assert SECRET not in masked and '"MY_KEY": "********"' in masked and '"URL": "u"' in masked
    assert '"apiKeyHelper": "/x"' in masked


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
def test_dotenv_edit():
    text = "LANG=C.UTF-8\n# comment\nANTHROPIC_BASE_URL=old\nJAVA_HOME=/j"
    new = edit_dotenv(text, {"ANTHROPIC_BASE_URL": "https://gw", "ANTHROPIC_AUTH_TOKEN": SECRET})
    assert new == "LANG=C.UTF-8\n# comment\nANTHROPIC_BASE_URL=https://gw\nJAVA_HOME=/j\nANTHROPIC_AUTH_TOKEN=%s\n" % SECRET
    assert edit_dotenv(new, {"ANTHROPIC_BASE_URL": "https://gw", "ANTHROPIC_AUTH_TOKEN": SECRET}) == new
    assert edit_dotenv(new, {"ANTHROPIC_BASE_URL": "", "ANTHROPIC_AUTH_TOKEN": ""}, "absent") == \
        "LANG=C.UTF-8\n# comment\nJAVA_HOME=/j\n"
    assert edit_dotenv("A=1\nA=2\n", {"A": "3"}) == "A=3\n"


@pytest.mark.parametrize("value", ["a\nb", "a'b", ' a', "a\\b"])
def test_dotenv_refuses_ambiguous_values(value):
    with pytest.raises(FileFormatError):
        edit_dotenv("", {"X": value})


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
CONFIG = '''concurrent = 4
check_interval = 0

[session_server]
  session_timeout = 1800

# The build runner
[[runners]]
  name = "builds"
  url = "https://gitlab.example.com"
  token = "glrt-XXXX"
  executor = "shell"
  environment = [
    "FOO=bar",   # keep me
    "ANTHROPIC_BASE_URL=http://old",
  ]
  [runners.cache]
    MaxUploadedArchiveSize = 0

[[runners]]
  name = "docs"
  url = "https://gitlab.example.com"
  token = "glrt-YYYY"
  executor = "docker"
  [runners.docker]
    image = "debian:12"
    environment = ["NOT_THIS=1"]
'''

ENV = {"ANTHROPIC_BASE_URL": "https://gw", "ANTHROPIC_AUTH_TOKEN": SECRET, "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1"}


def test_gitlab_multiline_environment_edited_line_by_line():
    new = edit_gitlab_environment(CONFIG, "builds", ENV)
    assert gitlab_environment(new, "builds") == ["FOO=bar", "ANTHROPIC_BASE_URL=https://gw",
                                                 "ANTHROPIC_AUTH_TOKEN=" + SECRET, "CLAUDE_CODE_SKIP_BEDROCK_AUTH=1"]
    assert '    "FOO=bar",   # keep me\n    "ANTHROPIC_BASE_URL=https://gw",\n' in new  # replaced in place
    assert '    "CLAUDE_CODE_SKIP_BEDROCK_AUTH=1",\n  ]\n' in new  # appended, same layout
    assert edit_gitlab_environment(new, "builds", ENV) == new
    removed = edit_gitlab_environment(new, "builds", ENV, "absent")
    assert removed == CONFIG.replace('    "ANTHROPIC_BASE_URL=http://old",\n', "")


def test_gitlab_multiline_roundtrip_is_byte_identical():
    text = '[[runners]]\n  name = "r"\n  environment = [\n    "GIT_DEPTH=10",\n  ]\n'
    new = edit_gitlab_environment(text, "r", ENV)
    assert gitlab_environment(new, "r")[0] == "GIT_DEPTH=10"
    assert edit_gitlab_environment(new, "r", ENV, "absent") == text
    empty = '[[runners]]\n  name = "r"\n  environment = [\n  ]\n'
    assert edit_gitlab_environment(edit_gitlab_environment(empty, "r", ENV), "r", ENV, "absent") == empty
    odd = '[[runners]]\n  name = "r"\n  environment = ["A=1",\n    "B=2"]\n'  # not one per line
    assert gitlab_environment(edit_gitlab_environment(odd, "r", {"C": "3"}), "r") == ["A=1", "B=2", "C=3"]


def test_gitlab_add_environment_to_table_without_one_and_remove_it():
    new = edit_gitlab_environment(CONFIG, "docs", ENV)
    parsed = tomllib.loads(new)
    assert parsed["runners"][1]["environment"][0] == "ANTHROPIC_BASE_URL=https://gw"
    assert parsed["runners"][1]["docker"]["environment"] == ["NOT_THIS=1"]
    assert '  environment = ["ANTHROPIC_BASE_URL=https://gw"' in new  # indented like its table
    assert edit_gitlab_environment(new, "docs", ENV, "absent") == CONFIG  # byte-identical again


def test_gitlab_last_table_without_newline_at_end():
    text = '[[runners]]\n  name = "only"\n  executor = "shell"'
    new = edit_gitlab_environment(text, "only", {"A": "1"})
    assert tomllib.loads(new)["runners"][0]["environment"] == ["A=1"]


@pytest.mark.parametrize("name,match", [("nope", "no \\[\\[runners\\]\\] named 'nope'"), ("builds", "has 2")])
def test_gitlab_runner_name_errors(name, match):
    text = CONFIG if name == "nope" else CONFIG.replace('name = "docs"', 'name = "builds"')
    with pytest.raises(FileFormatError, match=match):
        edit_gitlab_environment(text, name, ENV)


def test_gitlab_invalid_toml():
    with pytest.raises(FileFormatError, match="not valid TOML"):
        edit_gitlab_environment("[[runners]\nname=", "x", ENV)


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


def test_settings_files_filter():
    from ansible_collections.llmops.claude_gateway.plugins.filter.claude_code import claude_code_settings_files
    accounts = [{"name": "carol", "gid": 1001, "home": "/home/carol"}]
    assert [f["path"] for f in claude_code_settings_files(accounts, "present", "user", "/etc/cc", "50.json")] == \
        ["/home/carol/.claude/settings.json"]
    managed = claude_code_settings_files(accounts, "present", "managed", "/etc/cc", "50.json")
    assert managed == [{"path": "/etc/cc/managed-settings.json", "owner": "root", "group": "root", "mode": "0644",
                        "state": "present"}]
    absent = claude_code_settings_files(accounts, "absent", "managed", "/etc/cc", "50.json")
    assert [f["state"] for f in absent] == ["absent"] * 3 and absent[1]["path"] == "/etc/cc/managed-settings.d/50.json"

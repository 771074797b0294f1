# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Diffs of the file-editing modules: only what the task edits, secrets masked whatever their name."""

from __future__ import absolute_import, division, print_function

import json

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.masking import is_secret_name, mask_text
from ansible_collections.llmops.claude_gateway.plugins.module_utils._claude_code.settings import mask_settings, pick_settings

from .test_claude_code_settings import OWNED, SECRET, run, settings

CONFIG = '''concurrent = 4

[[runners]]
  name = "builds"
  url = "https://gitlab.example.com"
  token = "glrt-RUNNER-TOKEN"
  executor = "shell"
  environment = ["GH_PAT=ghp_PersonalAccessToken1", "GIT_DEPTH=10", "DEBUG=1"]
  [runners.cache]
    Type = "s3"
    [runners.cache.s3]
      AccessKey = "AKIAEXAMPLEACCESSKEY"
      SecretKey = "s3-secret-key-value"
    [runners.cache.azure]
      AccountName = "acct"
      AccountKey = "azure-account-key-value"

[[runners]]
  name = "docs"
  token = "glrt-OTHER"
  environment = ["DOCS_ONLY=1"]
'''
HIDDEN = ("glrt-RUNNER-TOKEN", "ghp_PersonalAccessToken1", "AKIAEXAMPLEACCESSKEY", "s3-secret-key-value",
          "azure-account-key-value", "glrt-OTHER")


@pytest.mark.parametrize("name", ["GH_PAT", "AccountKey", "SecretKey", "token", "access_key", "Authorization",
                                  "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "db_password", "ghPat",
                                  "GOOGLE_APPLICATION_CREDENTIALS", "private_key_id", "Cookie", "tls-cert-file"])
def test_secret_looking_names(name):
    assert is_secret_name(name)


@pytest.mark.parametrize("name", ["ANTHROPIC_BASE_URL", "PATH", "AWS_REGION", "CLOUD_ML_REGION", "apiKeyHelper",
                                  "ANTHROPIC_VERTEX_PROJECT_ID", "CLAUDE_CODE_USE_BEDROCK", "GIT_DEPTH", "url",
                                  "CLAUDE_CODE_API_KEY_HELPER_TTL_MS", "executor"])
def test_plain_names(name):
    assert not is_secret_name(name)


def test_mask_text_masks_every_secret_name_of_a_gitlab_config():
    masked = mask_text(CONFIG)
    for value in HIDDEN:
        assert value not in masked
    assert "AccountKey = ********" in masked and "SecretKey = ********" in masked
    assert '"GH_PAT=********"' in masked and '"GIT_DEPTH=10"' in masked and 'url = "https://gitlab.example.com"' in masked


def test_flags_and_urls_stay_visible_passwords_in_urls_do_not():
    text = "CLAUDE_CODE_SKIP_BEDROCK_AUTH=1\nANTHROPIC_BASE_URL=https://gw.example.com\nHTTP_PROXY=http://u:pw1@proxy:3128\n"
    masked = mask_text(text)
    assert "CLAUDE_CODE_SKIP_BEDROCK_AUTH=1" in masked and "ANTHROPIC_BASE_URL=https://gw.example.com" in masked
    assert "pw1" not in masked and "http://u:********@proxy:3128" in masked
    data = mask_settings({"env": {"CLAUDE_CODE_SKIP_VERTEX_AUTH": "1", "GH_PAT": "ghp_x", "AccountKey": "k"},
                          "auth": {"user": "me", "value": "v"}})
    assert data == {"env": {"CLAUDE_CODE_SKIP_VERTEX_AUTH": "1", "GH_PAT": "********", "AccountKey": "********"},
                    "auth": {"user": "********", "value": "********"}}


def test_pick_settings_keeps_only_the_owned_keys():
    data = {"env": {"ANTHROPIC_BASE_URL": "u", "GH_PAT": "p"}, "permissions": {"allow": ["Bash"]}, "x": {"y": 1}}
    assert pick_settings(data, [("env", "ANTHROPIC_BASE_URL"), ("apiKeyHelper",), ("x",)]) == \
        {"env": {"ANTHROPIC_BASE_URL": "u"}, "x": {}}


def test_gitlab_module_diff_shows_only_the_named_runner_environment(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(CONFIG)
    out = run("claude_code_runner_env", tmp_path, path=str(path), format="gitlab_toml", runner_name="builds",
              env={"ANTHROPIC_BASE_URL": "https://gw"}, secret_env={"ANTHROPIC_AUTH_TOKEN": SECRET},
              _ansible_check_mode=True)
    diff = out["diff"]["before"] + out["diff"]["after"]
    for value in HIDDEN + ("AccountKey", "SecretKey", "AccessKey", "DOCS_ONLY", "concurrent", "executor"):
        assert value not in diff, value
    assert '"GH_PAT=********"' in diff and '"GIT_DEPTH=10"' in diff and '"DEBUG=1"' in diff
    assert '"ANTHROPIC_BASE_URL=https://gw"' in out["diff"]["after"]
    assert '"ANTHROPIC_AUTH_TOKEN=********"' in out["diff"]["after"]


def test_dotenv_module_diff_shows_only_managed_lines(tmp_path):
    path = tmp_path / ".env"
    path.write_text("LANG=C\nGH_PAT=ghp_PersonalAccessToken1\nANTHROPIC_API_KEY=old-key-value\n")
    out = run("claude_code_runner_env", tmp_path, path=str(path), env={"ANTHROPIC_BASE_URL": "https://gw"},
              secret_env={"ANTHROPIC_AUTH_TOKEN": SECRET}, purge=["ANTHROPIC_API_KEY"], _ansible_check_mode=True)
    assert out["diff"]["before"] == "ANTHROPIC_API_KEY=********\n"
    assert out["diff"]["after"] == "ANTHROPIC_BASE_URL=https://gw\nANTHROPIC_AUTH_TOKEN=********\n"


def test_settings_module_diff_shows_only_owned_keys(tmp_path):
    path = tmp_path / "settings.json"
    user = {"env": {"GH_PAT": "ghp_PersonalAccessToken1", "AccountKey": "azure-account-key-value", "EDITOR": "vi"},
            "permissions": {"allow": ["Bash"]}, "SecretKey": "s3-secret-key-value"}
    path.write_text(json.dumps(user))
    owned = dict(OWNED, env=dict(OWNED["env"], AccountKey="owned-account-key"))
    out = settings(tmp_path, path=str(path), settings=owned, _ansible_check_mode=True)
    diff = out["diff"]["before"] + out["diff"]["after"]
    for value in HIDDEN + ("GH_PAT", "EDITOR", "permissions", "SecretKey", "owned-account-key"):
        assert value not in diff, value
    after = json.loads(out["diff"]["after"])
    assert after == {"apiKeyHelper": OWNED["apiKeyHelper"],
                     "env": {"ANTHROPIC_BASE_URL": "https://gw.example.com", "CLAUDE_CODE_SKIP_BEDROCK_AUTH": "1",
                             "AccountKey": "********"}}
    assert json.loads(out["diff"]["before"]) == {"env": {"AccountKey": "********"}}

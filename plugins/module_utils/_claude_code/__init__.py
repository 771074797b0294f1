# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Claude Code client profiles on a host: one module per file format, each with its writer and its reader.

``settings`` (the JSON settings files), ``dotenv`` (KEY=VALUE environment files), ``gitlab_toml`` (a GitLab
Runner config.toml), ``masking`` (what diffs and results may show) and ``safe_file`` (reads and writes a
root task can do in directories other users control), ``errors`` (FileFormatError). Used by the
claude_code_* modules; the policy the role checks on the controller is in plugin_utils/_client_policy.py.
Nothing here puts a secret in a message."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

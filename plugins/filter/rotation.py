# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One step of a rotation's state (plugins/plugin_utils/_rotation.py); documentation in rotation.yml."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.llmops.claude_gateway.plugins.plugin_utils._rotation import step


class FilterModule(object):
    def filters(self):
        return {"rotation": step}

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs gateway_token / gateway_token_info and marks the result no_log when it holds a token.

A module cannot censor its own result (Ansible strips internal keys such as ``_ansible_no_log`` from
module returns), so a token it returns would show in every callback. This action marks such a result
no_log; the registered variable still holds the value.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        result.update(self._execute_module(module_args=self._task.args, task_vars=task_vars))
        if "value" in result:
            result["_ansible_no_log"] = True
        return result

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet model as filters (plugins/plugin_utils/_fleet.py); documentation in gateway_*.yml beside this."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.llmops.claude_gateway.plugins.plugin_utils import _fleet


def gateway_clients(groups, hostvars):
    return _fleet.clients(groups, hostvars)


def gateway_secrets(groups, hostvars):
    return _fleet.secrets(groups, hostvars)


def gateway_store(hostvars, host):
    return _fleet.store(hostvars[host] if host in hostvars else {})


def gateway_registry(clients, hostvars, host, window=None):
    return _fleet.registry(clients, hostvars[host], window)


def gateway_client_tokens(clients, hostvars, host, pins=None):
    return _fleet.client_tokens(clients, hostvars[host], host, pins)


class FilterModule(object):
    def filters(self):
        return {
            "gateway_clients": gateway_clients,
            "gateway_client_tokens": gateway_client_tokens,
            "gateway_registry": gateway_registry,
            "gateway_secrets": gateway_secrets,
            "gateway_store": gateway_store,
        }

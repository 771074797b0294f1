# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Strict http(s) URL splitting and the one loopback rule of the collection.

Claude Code (Node.js) reads URLs with the WHATWG URL parser, Python with ``urlsplit``; the two disagree on
backslashes, whitespace, IPv4 shorthand (``127.1``, ``0x7f.0.0.1``, ``2130706433``), percent-encoded and
non-ASCII hosts. Rather than guess how the other side reads such a URL, ``split_http_url`` refuses every
form where they may differ, so a URL it accepts names the same host for both.

Loopback (plain http allowed without an explicit opt-in): ``localhost`` exactly (any case, no trailing dot),
an IPv4 address in ``127.0.0.0/8`` written as a canonical dotted quad, and ``[::1]``. Subdomains of
``localhost``, ``localhost.``, IPv4-mapped IPv6 addresses (``[::ffff:127.0.0.1]``) and names that resolve to
loopback are not loopback here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re

LOOPBACK_RULE = "localhost, an address in 127.0.0.0/8 written a.b.c.d, or [::1]"
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://([^/?#]*)(.*)$")
_HOST = re.compile(r"^[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?$")
_NUMERIC_LABEL = re.compile(r"^(\d+|0[x][0-9a-f]*)$")
_DOTTED_QUAD = re.compile(r"^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$")


class UrlError(ValueError):
    """A URL refused by split_http_url; ``problem`` never holds more of the URL than its host."""

    def __init__(self, problem, fix):
        self.problem, self.fix = problem, fix
        super(UrlError, self).__init__("%s. Fix: %s" % (problem, fix))


def split_http_url(url, schemes=("http", "https")):
    """Split an http(s) URL into (scheme, host, port or None, rest), refusing ambiguous forms.

    ``host`` is lower case; an IPv6 host keeps its brackets (``[::1]``). ``rest`` is the path, query and
    fragment as given. Raises UrlError.
    """
    if not isinstance(url, str) or not url:
        raise UrlError("the URL is empty", "give a URL like https://host.example.com")
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise UrlError("the URL contains whitespace or control characters (a trailing newline or tab?)",
                       "remove them; write a space in a path as %20")
    if "\\" in url:
        raise UrlError("the URL contains a backslash, which Node.js reads as '/' and Python does not",
                       "use '/' only")
    if any(ord(c) > 127 for c in url):
        raise UrlError("the URL contains non-ASCII characters (an internationalized or look-alike host name?)",
                       "write the host in ASCII (the xn-- form of an internationalized name)")
    match = _URL.match(url)
    if not match or match.group(1).lower() not in schemes:
        raise UrlError("the URL is not an %s URL of the form scheme://host" % "/".join(schemes),
                       "write it like https://host.example.com[:port][/path]")
    scheme, authority, rest = match.group(1).lower(), match.group(2), match.group(3)
    if "@" in authority:
        raise UrlError("the URL carries user information (user@ or user:password@) before the host",
                       "remove it: authenticate with the credentials the option or variable for them holds")
    if "%" in authority:
        raise UrlError("the URL's host is percent-encoded", "write the host name as plain ASCII")
    port = None
    if authority.startswith("["):
        ipv6 = re.match(r"^\[([0-9A-Fa-f:.]+)\](?::(\d*))?$", authority)
        if not ipv6:
            raise UrlError("the URL's IPv6 host is malformed", "write it like http://[::1]:4000")
        try:
            host = "[%s]" % ipaddress.IPv6Address(ipv6.group(1)).compressed
        except ValueError:
            raise UrlError("the URL's IPv6 host is not a valid address", "write it like http://[::1]:4000")
        port = ipv6.group(2)
    else:
        host, sep, port = authority.partition(":")
        if not sep:
            port = None
        host = host.lower()
        if not host:
            raise UrlError("the URL has no host", "write it like https://host.example.com")
        if not _HOST.match(host):
            raise UrlError("the URL's host '%s' is not a plain DNS name or IPv4 address" % host,
                           "use letters, digits, '-', '_' and single dots in the host")
        labels = host.rstrip(".").split(".")
        if _NUMERIC_LABEL.match(labels[-1]) and not (_DOTTED_QUAD.match(host) and
                                                     all(int(x) <= 255 for x in labels)):
            raise UrlError("the URL's host '%s' is not a canonical IPv4 address (shorthand, hex, octal or "
                           "decimal forms are read differently by Node.js and Python)" % host,
                           "write the IPv4 address as four decimal numbers a.b.c.d without leading zeros "
                           "or a trailing dot")
    if port is not None:
        if not re.match(r"^\d{1,5}$", port) or not 1 <= int(port) <= 65535:
            raise UrlError("the URL's port is empty or outside 1-65535", "give a port from 1 to 65535 or none")
        port = int(port)
    return scheme, host, port, rest


def is_loopback_host(host):
    """Whether ``host`` (as split_http_url returns it, or bare) is loopback by the strict rule above."""
    host = (host or "").lower()
    if host == "localhost":
        return True
    if host in ("[::1]", "::1"):
        return True
    if _DOTTED_QUAD.match(host):
        labels = [int(x) for x in host.split(".")]
        return labels[0] == 127 and all(x <= 255 for x in labels)
    if host.startswith("[") != host.endswith("]"):
        return False  # a bracket without its pair is no address at all
    if host.startswith("[") or ":" in host:
        try:
            return ipaddress.IPv6Address(host[1:-1] if host.startswith("[") else host) == ipaddress.IPv6Address("::1")
        except ValueError:
            return False
    return False

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""split_http_url and is_loopback_host directly: every refusal with its reason, every boundary (port
1 and 65535, octet 255, the control and non-ASCII character ranges), and the exact parts returned."""

import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._url import (
    LOOPBACK_RULE,
    UrlError,
    is_loopback_host,
    split_http_url,
)


@pytest.mark.parametrize("url, parts", [
    ("https://gw.example.com", ("https", "gw.example.com", None, "")),
    ("HTTP://GW.Example.COM:4000/v1?x=1#f", ("http", "gw.example.com", 4000, "/v1?x=1#f")),
    ("http://gw.example.com.:1/", ("http", "gw.example.com.", 1, "/")),
    ("http://gw:65535", ("http", "gw", 65535, "")),
    ("http://10.0.0.255:80/a~b", ("http", "10.0.0.255", 80, "/a~b")),
    ("http://0.0.0.0", ("http", "0.0.0.0", None, "")),
    ("http://[::1]:4000/x", ("http", "[::1]", 4000, "/x")),
    ("http://[0:0:0:0:0:0:0:1]", ("http", "[::1]", None, "")),
    ("http://[::FFFF:7f00:1]", ("http", "[::ffff:7f00:1]", None, "")),
    ("http://a_b-c.d9", ("http", "a_b-c.d9", None, "")),
])
def test_accepted_urls_and_their_parts(url, parts):
    assert split_http_url(url) == parts


@pytest.mark.parametrize("url, problem", [
    ("", "the URL is empty"),
    (None, "the URL is empty"),
    (42, "the URL is empty"),
    ("http://gw.example.com\n", "whitespace or control characters"),
    ("http://gw.example.com/a b", "whitespace or control characters"),
    ("http://gw.example.com/\x1f", "whitespace or control characters"),
    ("http://gw.example.com/\x00", "whitespace or control characters"),
    ("http://gw.example.com/\x7f", "whitespace or control characters"),
    ("http://gw.example.com\\@evil", "backslash"),
    ("http://gw.example.com/\x80", "non-ASCII"),
    ("http://gw.exämple.com", "non-ASCII"),
    ("ftp://gw.example.com", "not an http/https URL"),
    ("gw.example.com", "not an http/https URL"),
    ("http:/gw.example.com", "not an http/https URL"),
    ("http://user@gw.example.com", "user information"),
    ("http://user:pw@gw.example.com", "user information"),
    ("http://gw%2eexample.com", "percent-encoded"),
    ("http://[::1", "IPv6 host is malformed"),
    ("http://[::1]x", "IPv6 host is malformed"),
    ("http://[:::1::]", "IPv6 host is not a valid address"),
    ("http://[::1]:", "port is empty or outside 1-65535"),
    ("http://[::1]:65536", "port is empty or outside 1-65535"),
    ("http://:80", "the URL has no host"),
    ("http://", "the URL has no host"),
    ("http://gw..example.com", "not a plain DNS name"),
    ("http://.gw.example.com", "not a plain DNS name"),
    ("http://gw.example.com:", "port is empty or outside 1-65535"),
    ("http://gw.example.com:0", "port is empty or outside 1-65535"),
    ("http://gw.example.com:65536", "port is empty or outside 1-65535"),
    ("http://gw.example.com:123456", "port is empty or outside 1-65535"),
    ("http://gw.example.com:-1", "port is empty or outside 1-65535"),
    ("http://gw.example.com:8a", "port is empty or outside 1-65535"),
    ("http://127.1", "not a canonical IPv4 address"),
    ("http://0x7f.0.0.1", "not a canonical IPv4 address"),
    ("http://0x7f000001", "not a canonical IPv4 address"),
    ("http://2130706433", "not a canonical IPv4 address"),
    ("http://127.0.0.01", "not a canonical IPv4 address"),
    ("http://127.0.0.256", "not a canonical IPv4 address"),
    ("http://256.0.0.1", "not a canonical IPv4 address"),
    ("http://127.0.0.1.", "not a canonical IPv4 address"),
    ("http://1.2.3.4.5", "not a canonical IPv4 address"),
    ("http://example.0x", "not a canonical IPv4 address"),
])
def test_refused_urls_say_why(url, problem):
    with pytest.raises(UrlError) as info:
        split_http_url(url)
    assert problem in info.value.problem
    assert str(info.value) == "%s. Fix: %s" % (info.value.problem, info.value.fix)


def test_the_problem_names_at_most_the_host():
    with pytest.raises(UrlError) as info:
        split_http_url("http://127.1/secret-path?token=abc")
    assert "'127.1'" in info.value.problem and "secret" not in str(info.value) and "abc" not in str(info.value)


def test_other_schemes_when_asked():
    assert split_http_url("ws://gw:80", schemes=("ws",)) == ("ws", "gw", 80, "")
    with pytest.raises(UrlError) as info:
        split_http_url("http://gw", schemes=("ws", "wss"))
    assert info.value.problem == "the URL is not an ws/wss URL of the form scheme://host"


@pytest.mark.parametrize("host", [
    "localhost", "LocalHost", "127.0.0.1", "127.255.255.255", "127.0.0.0", "[::1]", "::1",
    "[0:0:0:0:0:0:0:1]", "0::1",
])
def test_loopback_hosts(host):
    assert is_loopback_host(host) is True


@pytest.mark.parametrize("host", [
    None, "", "localhost.", "a.localhost", "localhost.example.com", "126.0.0.1", "128.0.0.1", "127.0.0.256",
    "127.256.0.1", "127.1", "[::2]", "::", "[::ffff:127.0.0.1]", "::ffff:127.0.0.1", "[zz]", "a:b", "[::1", "::1]",
    "example.com", "0.0.0.0",
])
def test_not_loopback_hosts(host):
    assert is_loopback_host(host) is False


def test_loopback_rule_text_names_the_three_forms():
    assert LOOPBACK_RULE == "localhost, an address in 127.0.0.0/8 written a.b.c.d, or [::1]"


def test_a_bad_host_is_named_in_the_problem():
    with pytest.raises(UrlError) as info:
        split_http_url("http://gw..example.com/path")
    assert info.value.problem == "the URL's host 'gw..example.com' is not a plain DNS name or IPv4 address"

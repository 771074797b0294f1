# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""`make demo` as a test (`make demo-test`, part of `make test`).

Runs the README's main command in its own directory (.cache/demo-test) and podman container
(claude-gateway-demo-test), so a demo of the user's own is not touched, then checks the next step it
prints: the curl command, run exactly as printed, answers 200 with the demo model's reply through the
gateway, and the same command with a wrong token is refused with 401. Removes its container and
directory at the end (--keep leaves them). --twice runs the demo a second time and checks it changed
nothing. Prints the wall time of each run.

    .venv/bin/python tests/check_demo.py [--twice] [--keep]
"""

import argparse
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEMO_DIR = os.path.join(ROOT, ".cache", "demo-test")
CONTAINER = "claude-gateway-demo-test"
MOCK_PREFIX = "[DEMO MODEL]"
RECAP_RE = re.compile(r"^(\S+)\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")
TOKEN_RE = re.compile(r"\$\([^()]*/bin/claude-gateway-token\)")


def fail(message, output=""):
    sys.stderr.write("demo-test FAILED: %s\n" % message)
    if output:
        sys.stderr.write(output[-6000:] + "\n")
    sys.exit(1)


def run_demo():
    """`make demo` in the test's directory and container; return (output, seconds)."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_CALLBACK_RESULT_FORMAT="json",
               ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
    argv = [os.environ.get("MAKE", "make"), "--no-print-directory", "-C", ROOT, "demo", "DEMO_DIR=" + DEMO_DIR,
            "DEMO_ARGS=-e demo_container_name=%s -e demo_gateway_mode=container" % CONTAINER]
    started = time.monotonic()
    proc = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    seconds = time.monotonic() - started
    sys.stdout.write(proc.stdout)
    if proc.returncode != 0:
        fail("make demo exited with %d" % proc.returncode)
    return proc.stdout, seconds


def recap(output):
    """{host: (changed, unreachable, failed)} from the PLAY RECAP."""
    hosts = {}
    for line in output.splitlines():
        match = RECAP_RE.match(line.strip())
        if match:
            hosts[match.group(1)] = tuple(int(match.group(i)) for i in (3, 4, 5))
    return hosts


def printed_curl(output):
    """The curl command of the demo's "what to type next" (a JSON string in the debug output)."""
    for line in output.splitlines():
        text = line.strip().rstrip(",")
        if text.startswith('"') and "curl " in text:
            try:
                command = json.loads(text).strip()
            except ValueError:
                continue
            if command.startswith("curl "):
                return command
    return None


def curl(command):
    """Run a command with bash, adding only curl's status output; return (status, body)."""
    proc = subprocess.run(["bash", "-c", command + " -w '\\n%{http_code}'"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        fail("the command exited with %d: %s" % (proc.returncode, proc.stderr))
    body, _sep, status = proc.stdout.rpartition("\n")
    return int(status), body


def cleanup():
    subprocess.run(["podman", "rm", "--force", "--time", "5", CONTAINER], stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, check=False)
    shutil.rmtree(DEMO_DIR, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--twice", action="store_true", help="run the demo again and check it changes nothing")
    parser.add_argument("--keep", action="store_true", help="leave the container and the directory")
    args = parser.parse_args()
    cleanup()  # a fresh first run, whatever an earlier run left
    timings = {}
    try:
        output, timings["first make demo (s)"] = run_demo()
        hosts = recap(output)
        if not hosts or any(unreachable or failed for _changed, unreachable, failed in hosts.values()):
            fail("the demo's recap shows failures: %s" % hosts, output)
        command = printed_curl(output)
        if command is None or not TOKEN_RE.search(command):
            fail("no curl command with the token helper in the demo's output", output)
        print("demo-test: the printed command: %s" % command)

        # Exactly as printed: a model reply through the gateway.
        proc = subprocess.run(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=120, check=False)
        try:
            reply = json.loads(proc.stdout)
            text = "".join(part.get("text", "") for part in reply["content"])
        except (ValueError, KeyError, TypeError):
            fail("the printed command did not return a model reply: rc=%d %s %s"
                 % (proc.returncode, proc.stdout[:500], proc.stderr[:500]))
        if reply.get("type") != "message" or not text.startswith(MOCK_PREFIX):
            fail("unexpected reply: %s" % proc.stdout[:500])
        status, _body = curl(command)
        if status != 200:
            fail("the printed command answered %d, not 200" % status)
        print("demo-test: printed command -> 200, reply %r" % text[:80])

        # The same command with a wrong token: refused by the gateway.
        wrong = TOKEN_RE.sub("cgw-workstation-" + secrets.token_urlsafe(24), command)
        status, body = curl(wrong)
        if status != 401:
            fail("a wrong token got %d, not 401: %s" % (status, body[:300]))
        print("demo-test: wrong token -> 401 (%s)" % body[:120])

        if args.twice:
            output, timings["second make demo (s)"] = run_demo()
            hosts = recap(output)
            if not hosts or any(sum(counts) for counts in hosts.values()):
                fail("the second run changed or failed something: %s" % hosts, output)
            print("demo-test: second run changed nothing: %s" % hosts)
    finally:
        if not args.keep:
            cleanup()
    for name, seconds in timings.items():
        print("demo-test timing: %s = %.0f" % (name, seconds))
    print("demo-test: OK")


if __name__ == "__main__":
    main()

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side servers of the fleet scenario: a real OpenBao dev server on 127.0.0.1 (the secret
store) and the fake Bedrock/Vertex upstreams on the scenario network's gateway address (the containers
reach them as host.containers.internal).

  python servers.py start STATE_DIR BIND_ADDR   -> writes STATE_DIR/servers.json (ports, token, pids)
  python servers.py stop STATE_DIR              -> stops what start started (by pid)
The AWS secret the fake Bedrock checks signatures with is read from STATE_DIR/aws_secret (never argv).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
BAO = os.path.join(os.path.dirname(sys.executable), "bao")


def free_port(addr="127.0.0.1", pair=False):
    for _attempt in range(50):
        with socket.socket() as sock:
            sock.bind((addr, 0))
            port = sock.getsockname()[1]
        if not pair:
            return port
        with socket.socket() as sock:
            try:
                sock.bind((addr, port + 1))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port")


def wait_http(url, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return True
        except urllib.error.HTTPError:
            return True
        except Exception:
            time.sleep(0.1)
    return False


def spawn(argv, log, env=None):
    with open(log, "ab") as handle:
        return subprocess.Popen(argv, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True).pid


def start(state_dir, bind):
    os.makedirs(state_dir, exist_ok=True)
    state = {"pids": []}
    # OpenBao: dev server, audit log of every request.
    bao_dir = os.path.join(state_dir, "openbao")
    os.makedirs(bao_dir, exist_ok=True)
    state["bao_token"] = "root-" + secrets.token_hex(16)
    state["bao_port"] = free_port(pair=True)
    state["bao_url"] = "http://127.0.0.1:%d" % state["bao_port"]
    state["bao_audit"] = os.path.join(bao_dir, "audit.log")
    config = os.path.join(bao_dir, "audit.hcl")
    with open(config, "w") as handle:
        handle.write('audit "file" "reads" {\n  options { file_path = "%s" }\n}\n' % state["bao_audit"])
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_")))
    env["HOME"] = bao_dir
    state["pids"].append(spawn([BAO, "server", "-dev", "-dev-no-store-token", "-dev-root-token-id=" + state["bao_token"],
                                "-dev-listen-address=127.0.0.1:%d" % state["bao_port"], "-config=" + config],
                               os.path.join(bao_dir, "server.log"), env))
    # Fake upstreams on the network's gateway address.
    with open(os.path.join(state_dir, "aws_secret")) as handle:
        aws_secret = handle.read().strip()
    with open(os.path.join(state_dir, "aws_key_id")) as handle:
        aws_key_id = handle.read().strip()
    fakes = os.path.join(ROOT, "tests", "fakes")
    state["bedrock_port"], state["vertex_port"] = free_port(bind), free_port(bind)
    state["bedrock_log"] = os.path.join(state_dir, "fake-bedrock.jsonl")
    state["vertex_log"] = os.path.join(state_dir, "fake-vertex.jsonl")
    fenv = dict(os.environ, FAKE_BEDROCK_SECRET_KEY=aws_secret)
    state["pids"].append(spawn([sys.executable, os.path.join(fakes, "fake_bedrock.py"), "--host", bind, "--port",
                                str(state["bedrock_port"]), "--access-key", aws_key_id, "--region", "us-east-1",
                                "--log", state["bedrock_log"]], os.path.join(state_dir, "fake-bedrock.out"), fenv))
    state["pids"].append(spawn([sys.executable, os.path.join(fakes, "fake_vertex.py"), "--host", bind, "--port",
                                str(state["vertex_port"]), "--sa-public-key", os.path.join(state_dir, "sa_pub.pem"),
                                "--log", state["vertex_log"]], os.path.join(state_dir, "fake-vertex.out")))
    with open(os.path.join(state_dir, "servers.json"), "w") as handle:
        json.dump(state, handle)
    ok = wait_http(state["bao_url"] + "/v1/sys/health") and \
        wait_http("http://%s:%d/" % (bind, state["bedrock_port"])) and wait_http("http://%s:%d/" % (bind, state["vertex_port"]))
    if not ok:
        stop(state_dir)
        raise SystemExit("servers did not start; see %s" % state_dir)
    print(json.dumps({"bao_url": state["bao_url"], "bedrock_port": state["bedrock_port"], "vertex_port": state["vertex_port"]}))


def stop(state_dir):
    path = os.path.join(state_dir, "servers.json")
    if not os.path.exists(path):
        return
    with open(path) as handle:
        state = json.load(handle)
    for pid in state.get("pids", []):
        try:
            os.killpg(pid, signal.SIGTERM)
        except OSError:
            pass
    os.rename(path, path + ".stopped")


if __name__ == "__main__":
    if sys.argv[1] == "start":
        start(sys.argv[2], sys.argv[3])
    else:
        stop(sys.argv[2])

# -*- coding: utf-8 -*-
# Copyright: (c) 2025, llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Start the fake Bedrock/Vertex/Anthropic upstreams and a real LiteLLM proxy on free 127.0.0.1 ports.

Used by test_litellm_gateway.py (no conftest magic). LiteLLM comes from
$LITELLM_BIN, else .cache/litellm-venv/bin/litellm (see find_litellm()).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FAKES = os.path.join(ROOT, "tests", "fakes")
HOOK = os.path.join(ROOT, "roles", "litellm", "files", "claude_gateway_auth.py")

AWS_REGION = "us-east-1"
BEDROCK_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
BEDROCK_CATCHALL_MODEL = "anthropic.claude-sonnet-4-20250514-v1:0"
VERTEX_MODEL = "claude-sonnet-4@20250514"
VERTEX_PROJECT = "gw-test-project"
VERTEX_LOCATION = "us-east5"
ANTHROPIC_MODEL = "claude-sonnet-4-20250514"

CONFIG_TEMPLATE = """\
# Rendered by the test harness; the role renders the same shape.
model_list:
  - model_name: bedrock-sonnet
    litellm_params:
      model: bedrock/{bedrock_model}
      aws_region_name: {region}
      aws_access_key_id: os.environ/AWS_ACCESS_KEY_ID
      aws_secret_access_key: os.environ/AWS_SECRET_ACCESS_KEY
      aws_bedrock_runtime_endpoint: {bedrock_url}
  - model_name: vertex-sonnet
    litellm_params:
      model: vertex_ai/{vertex_model}
      vertex_project: {vertex_project}
      vertex_location: {vertex_location}
      vertex_credentials: {vertex_credentials}
      api_base: {vertex_url}
  # provider: anthropic, as the role renders it: the gateway's own key from its environment.
  - model_name: anthropic-sonnet
    litellm_params:
      model: anthropic/{anthropic_model}
      api_key: os.environ/ANTHROPIC_API_KEY
      api_base: {anthropic_url}
  - model_name: "claude-*"
    litellm_params:
      model: bedrock/{bedrock_catchall}
      aws_region_name: {region}
      aws_access_key_id: os.environ/AWS_ACCESS_KEY_ID
      aws_secret_access_key: os.environ/AWS_SECRET_ACCESS_KEY
      aws_bedrock_runtime_endpoint: {bedrock_url}

{extra_models}
general_settings:
  master_key: os.environ/LITELLM_MASTER_KEY
  custom_auth: claude_gateway_auth.user_api_key_auth
  custom_auth_run_common_checks: true
"""


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def find_litellm():
    """Path of a litellm executable, or None. Order: $LITELLM_BIN, the test venv."""
    candidates = [os.environ.get("LITELLM_BIN"),
                  os.path.join(ROOT, ".cache", "litellm-venv", "bin", "litellm")]
    for path in candidates:
        if path and os.access(path, os.X_OK):
            return os.path.abspath(path)  # LiteLLM runs in its config directory
    return None


def start_fake(script, args, log_path, env=None):
    """Start a fake with --port 0; return (process, port) once it printed READY <port>."""
    proc = subprocess.Popen([sys.executable, os.path.join(FAKES, script), "--host", "127.0.0.1",
                             "--port", "0", "--log", log_path] + args,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, **(env or {})))
    line = proc.stdout.readline()
    if not line.startswith("READY "):
        proc.kill()
        raise RuntimeError("%s did not start: %s %s" % (script, line, proc.stderr.read()))
    return proc, int(line.split()[1])


def make_service_account(directory):
    """Write the SA public key JSON (for the fake); return (its path, SA dict without token_uri)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    email = "gateway@%s.iam.gserviceaccount.com" % VERTEX_PROJECT
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption()).decode("ascii")
    sa = {"type": "service_account", "project_id": VERTEX_PROJECT, "private_key_id": "fake-key-1",
          "private_key": pem, "client_email": email, "client_id": "1234567890"}
    pub_path = os.path.join(directory, "vertex-sa-public.json")
    numbers = key.public_key().public_numbers()
    write_private(pub_path, json.dumps({"n": numbers.n, "e": numbers.e, "client_email": email}))
    return pub_path, sa


def write_private(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def write_registry(path, tokens):
    """Atomic rewrite (rename), as the role does, so the hook never sees half a file."""
    tmp = path + ".tmp"
    write_private(tmp, json.dumps({"version": 1, "tokens": tokens}, indent=1))
    os.replace(tmp, path)


def http(method, url, body=None, headers=None, timeout=60):
    """(status, headers, body bytes) for one request; never raises for HTTP errors."""
    data = json.dumps(body).encode("utf-8") if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=dict(headers or {}))
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


class Gateway:
    """Three fakes + one LiteLLM proxy in a work directory; stop() ends all four."""

    def __init__(self, workdir, litellm_bin, master_key, aws_key, aws_secret, registry_tokens,
                 extra_models="", extra_env=None, anthropic_key=None):
        self.workdir = workdir
        self.litellm_bin = litellm_bin
        self.master_key = master_key
        self.aws_key, self.aws_secret = aws_key, aws_secret
        self.registry = os.path.join(workdir, "token_registry.json")
        self.bedrock_log = os.path.join(workdir, "bedrock.jsonl")
        self.vertex_log = os.path.join(workdir, "vertex.jsonl")
        self.anthropic_log = os.path.join(workdir, "anthropic.jsonl")
        # The gateway's Anthropic API key: the fake Anthropic accepts only this one.
        self.anthropic_key = anthropic_key or "sk-ant-api03-fake-" + os.urandom(18).hex()
        self.stdout_path = os.path.join(workdir, "litellm.stdout")
        self.stderr_path = os.path.join(workdir, "litellm.stderr")
        self.procs = []
        self.start_seconds = None
        self.extra_models = extra_models
        self.extra_env = dict(extra_env or {})
        write_registry(self.registry, registry_tokens)

    def start(self, timeout=120):
        pub_path, sa = make_service_account(self.workdir)
        proc, self.bedrock_port = start_fake(
            "fake_bedrock.py", ["--access-key", self.aws_key, "--region", AWS_REGION],
            self.bedrock_log, env={"FAKE_BEDROCK_SECRET_KEY": self.aws_secret})
        self.procs.append(proc)
        proc, self.vertex_port = start_fake("fake_vertex.py", ["--sa-public-key", pub_path], self.vertex_log)
        self.procs.append(proc)
        proc, self.anthropic_port = start_fake("fake_anthropic.py", [], self.anthropic_log,
                                               env={"FAKE_ANTHROPIC_API_KEY": self.anthropic_key})
        self.procs.append(proc)
        urls = {"bedrock_url": "http://127.0.0.1:%d" % self.bedrock_port,
                "anthropic_url": "http://127.0.0.1:%d" % self.anthropic_port}
        # LiteLLM mints Vertex access tokens at the SA's token_uri: the fake's /token.
        sa["token_uri"] = "http://127.0.0.1:%d/token" % self.vertex_port
        sa_path = os.path.join(self.workdir, "vertex-sa.json")
        write_private(sa_path, json.dumps(sa))

        confdir = os.path.join(self.workdir, "litellm")
        os.makedirs(confdir, exist_ok=True)
        shutil.copy(HOOK, os.path.join(confdir, "claude_gateway_auth.py"))
        self.config_path = os.path.join(confdir, "config.yaml")
        with open(self.config_path, "w") as handle:
            handle.write(CONFIG_TEMPLATE.format(
                bedrock_model=BEDROCK_MODEL, bedrock_catchall=BEDROCK_CATCHALL_MODEL, region=AWS_REGION,
                vertex_model=VERTEX_MODEL, vertex_project=VERTEX_PROJECT, vertex_location=VERTEX_LOCATION,
                vertex_credentials=sa_path, vertex_url="http://127.0.0.1:%d" % self.vertex_port,
                anthropic_model=ANTHROPIC_MODEL, extra_models=self.extra_models.format(**urls), **urls))
        self.port = free_port()
        self.url = "http://127.0.0.1:%d" % self.port
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LITELLM_", "GOOGLE_", "ANTHROPIC_"))}
        env.update({
            "LITELLM_MASTER_KEY": self.master_key,
            "AWS_ACCESS_KEY_ID": self.aws_key,
            "AWS_SECRET_ACCESS_KEY": self.aws_secret,
            "ANTHROPIC_API_KEY": self.anthropic_key,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "CLAUDE_GATEWAY_REGISTRY": self.registry,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "LITELLM_TELEMETRY": "False",
            "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        })
        env.update(self.extra_env)
        started = time.monotonic()
        out, err = open(self.stdout_path, "w"), open(self.stderr_path, "w")
        self.litellm = subprocess.Popen(
            [self.litellm_bin, "--config", self.config_path, "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=out, stderr=err, env=env, cwd=confdir)
        out.close()
        err.close()
        self.procs.append(self.litellm)
        while time.monotonic() - started < timeout:
            if self.litellm.poll() is not None:
                raise RuntimeError("LiteLLM exited with %s:\n%s" % (self.litellm.returncode, self.output()[-4000:]))
            try:
                status, _ignored, _ignored = http("GET", self.url + "/health/liveliness", timeout=2)
                if status == 200:
                    self.start_seconds = time.monotonic() - started
                    return self
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError("LiteLLM not live after %ss:\n%s" % (timeout, self.output()[-4000:]))

    def output(self):
        text = ""
        for path in (self.stdout_path, self.stderr_path):
            if os.path.exists(path):
                with open(path, errors="replace") as handle:
                    text += handle.read()
        return text

    @staticmethod
    def read_log(path):
        if not os.path.exists(path):
            return []
        with open(path) as handle:
            return [json.loads(line) for line in handle if line.strip()]

    def stop(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            for stream in (proc.stdout, proc.stderr):
                if stream:
                    stream.close()

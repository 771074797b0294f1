# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ``vault`` backend: a KV secrets engine of HashiCorp Vault or OpenBao, through hvac.

Where a secret lives
    ``name`` is the path inside the KV mount ``vault_mount`` (default ``secret``), for example
    ``claude/gateway/master``. ``vault_kv_version`` says whether the mount is KV v2 (default) or KV v1.
    ``vault_namespace`` (or ``VAULT_NAMESPACE``) selects a namespace (Vault Enterprise, OpenBao).

How a string value maps to the KV data
    - ``write(v)``: when ``v`` is a JSON object in canonical form, i.e. exactly
      ``json.dumps(obj, sort_keys=True)`` (Ansible: ``obj | to_json(sort_keys=true)``), the object
      itself is stored, so every key is a KV field other Vault clients see. Any other string (plain
      tokens, non-canonical JSON, or an object whose only key is ``value``) is stored as
      ``{"value": v}``.
    - ``read``: data that is exactly ``{"value": x}`` gives ``x``; any other data gives
      ``json.dumps(data, sort_keys=True)``, so ``field`` can pick one key. Secrets written by other
      tools read the same way (``vault kv put secret/x value=...`` gives the plain string).
    - Round trip: ``read(write(v)) == v`` for every string. Non-canonical JSON is kept as a string
      rather than re-encoded, because re-encoding would change the bytes and make every run look
      like a change.

Versions
    - KV v2: versions are Vault's numbers (``"1"``, ``"2"``...); ``version`` reads that version
      (``latest`` or no version reads the current one). ``created`` is the version's
      ``created_time`` (ISO 8601, UTC, microseconds) and ``metadata`` the secret's
      ``custom_metadata``. A version is ``disabled`` when soft-deleted (``deletion_time`` set) and
      ``destroyed`` when destroyed. Retiring with ``mode=disable`` soft-deletes (undeletable with
      ``vault kv undelete``), ``mode=destroy`` destroys the data for good.
    - KV v1 keeps no versions: ``versions()`` lists one pseudo version ``current``, ``write``
      returns ``current``, ``version`` may only be ``current`` or ``latest`` (anything else is a
      configuration error) and retiring does nothing.

Writes: check-and-set, never repeated
    - A KV v2 write carries ``cas`` = the secret's current version, read just before (0 when the secret
      does not exist). If another client wrote in between, the store refuses the write and the backend
      raises ``WriteConflict`` (nothing written; running again acts on the new current version). A write
      can therefore only ever land as version ``cas + 1``.
    - Retries are urllib3's, in the requests session hvac uses (``read_retry``): reads (GET, LIST) are
      retried on connection errors and on HTTP 429/500/502/503/504, with backoff; a write (POST, PUT,
      DELETE, and logins) is sent once. SecretBackend._call itself calls once.
    - When a write's answer is lost (the request was sent, then the connection broke or timed out), the
      backend does not write again: it reads version ``cas + 1`` back. Holding exactly the data sent, it is
      this write's version (returned, with a warning); absent, nothing landed (``BackendUnreachable``,
      safe to run again); holding other data, another client won the check-and-set (``WriteConflict``).
      Why read back rather than fail: the write most often did land, and a failure would make the user run
      again - a rotation would then make one more version than asked. Check-and-set pins the one version
      number the write could have made, so one read answers the question exactly. A blind second write
      could not duplicate the version (check-and-set would refuse it) but would report a landed write as
      a conflict.
    - KV v1 has no versions and no check-and-set: a write overwrites, so running it again is harmless.

Authentication
    One class per auth method in vault_auth.py, picked by ``vault_auth_method``. Login happens once, on
    the first request.

Environment
    Unset options fall back to the stores' own variables (options.py, applied by SecretBackend), with the
    precedence of the bao CLI, ``BAO_*`` before ``VAULT_*`` (an empty variable counts as unset, where the
    CLI would let an empty ``BAO_*`` hide the ``VAULT_*`` one): ``vault_url`` from ``BAO_ADDR`` or
    ``VAULT_ADDR``, ``vault_token`` from ``BAO_TOKEN`` or ``VAULT_TOKEN``, ``vault_namespace`` from
    ``BAO_NAMESPACE`` or ``VAULT_NAMESPACE``, ``vault_ca_cert`` from ``BAO_CACERT`` or ``VAULT_CACERT``;
    ``vault_validate_certs`` (no default in the spec, so that a variable can apply) is false when
    ``BAO_SKIP_VERIFY`` or ``VAULT_SKIP_VERIFY`` is true, and true otherwise.

Plain http
    An ``http://`` address is accepted only for a loopback host (``localhost``, ``127.a.b.c``, ``[::1]``:
    the strict rule of module_utils/_url.py); any other host is refused before any request, since the
    token or login credentials would cross the network in clear, unless ``vault_allow_insecure_http`` is
    set (the backend then adds a warning to ``warnings``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import (
    MAX_BACKOFF,
    Secret,
    SecretBackend,
    SecretRef,
    VersionInfo,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import (
    AccessDenied,
    BackendUnreachable,
    BadConfiguration,
    SecretError,
    SecretNotFound,
    Throttled,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.vault_auth import auth_for
from ansible_collections.llmops.claude_gateway.plugins.module_utils._url import (
    UrlError,
    is_loopback_host,
    split_http_url,
)

try:
    import hvac
    import hvac.exceptions
    import requests
    import requests.exceptions
    import urllib3.exceptions
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    HAS_HVAC = True
except ImportError:
    HAS_HVAC = False
    Retry = object  # only so that ReadRetry below can be defined

BACKEND = "vault"
KV1_VERSION = "current"
LATEST = ("latest", "current")
READ_METHODS = frozenset(("GET", "LIST"))  # idempotent: the only requests urllib3 may send again
RETRY_STATUSES = (429, 500, 502, 503, 504)
CAS_MISMATCH = "check-and-set parameter did not match"


class WriteConflict(SecretError):
    """Another client wrote the secret between this run's read and its write (check-and-set refused it)."""

    kind = "conflict"
    default_fix = "run again: the next run reads the new current version and acts on it"


class ReadRetry(Retry):
    """urllib3's Retry that never sends a write twice.

    urllib3 itself limits read-error and status retries to ``allowed_methods`` but retries a failed
    connection and "other" errors for any method; here a request that is not a read gets what an adapter
    without retries gives (one attempt, the same exceptions).
    """

    def increment(self, method=None, url=None, *args, **kwargs):  # pylint: disable=keyword-arg-before-vararg
        if method is not None and method.upper() not in READ_METHODS:
            return Retry(0, read=False).increment(method, url, *args, **kwargs)
        return super(ReadRetry, self).increment(method, url, *args, **kwargs)


def read_retry(retries, backoff):
    """The Retry of the backend's HTTP adapter: reads only, ``retries`` times, backoff from ``backoff``
    (urllib3's curve: no wait before the first retry, then backoff x 2, x 4 ..., at most MAX_BACKOFF)."""
    kwargs = dict(total=retries, other=0, allowed_methods=READ_METHODS, status_forcelist=RETRY_STATUSES,
                  backoff_factor=backoff, raise_on_status=False)  # the last answer is mapped like any other
    try:
        return ReadRetry(backoff_max=MAX_BACKOFF, **kwargs)
    except TypeError:  # urllib3 < 2 has no backoff_max argument (its cap is a class attribute)
        return ReadRetry(**kwargs)


def _reason(exc):
    """The urllib3 error under a requests exception once urllib3's retries are used up."""
    return getattr(exc.args[0], "reason", None) if exc.args else None


def never_sent(exc):
    """Whether a requests exception means the request cannot have reached the server (no connection, or a
    TLS handshake that failed), as opposed to an answer lost after the request was sent."""
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError)):
        return True
    return isinstance(_reason(exc), urllib3.exceptions.ConnectTimeoutError)  # NewConnectionError included


def timed_out(exc):
    """Whether a requests exception is a timeout (requests reports read timeouts that used up urllib3's
    retries as a ConnectionError)."""
    reason = _reason(exc)
    return isinstance(exc, requests.exceptions.Timeout) or (
        isinstance(reason, urllib3.exceptions.TimeoutError)
        and not isinstance(reason, urllib3.exceptions.NewConnectionError))


def check_path(name):
    """Refuse '.' and '..' segments: Vault resolves them in the request path, so on a KV v1 mount the name
    '../<mount>/x' would reach a secret of another mount."""
    if any(part in (".", "..") for part in name.split("/")):
        raise BadConfiguration(BACKEND, name, "secret name '%s' has a '.' or '..' segment, which Vault would "
                               "resolve to another path" % name,
                               "give the secret's path inside the mount, without '.' or '..' segments")
    return name


def encode_value(value):
    """The KV data stored for the string ``value`` (see the module docstring)."""
    try:
        data = json.loads(value)
    except ValueError:
        data = None
    if isinstance(data, dict) and set(data) != {"value"} and json.dumps(data, sort_keys=True) == value:
        return data
    return {"value": value}


def decode_value(data):
    """The string a read returns for the KV ``data`` (inverse of ``encode_value``)."""
    data = data or {}
    if set(data) == {"value"}:
        value = data["value"]
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return json.dumps(data, sort_keys=True)


def iso_time(stamp):
    """Vault's RFC 3339 nanosecond time as ISO 8601 with microseconds (``...T02:32:31.977413Z``)."""
    if not stamp:
        return None
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", stamp)
    if not match:
        return stamp
    frac = (match.group(2) or "")[:7]
    return match.group(1) + frac + match.group(3)


class _Missing(Exception):
    """A 404 from the server, with its JSON body (KV v2 sends a deleted version's metadata in it)."""

    def __init__(self, body):
        super(_Missing, self).__init__("not found")
        self.body = body or {}

    def metadata(self):
        data = self.body.get("data") or {}
        return data.get("metadata") or None


class _LostAnswer(Exception):
    """A write was sent, and its answer did not come back (connection broken or timed out)."""

    def __init__(self, error):
        super(_LostAnswer, self).__init__("answer lost")
        self.error = error


# -- the backend --------------------------------------------------------------------------------
class VaultBackend(SecretBackend):
    """KV v1/v2 on HashiCorp Vault or OpenBao. See the module docstring for mapping and options."""

    name = BACKEND

    def __init__(self, options):
        super(VaultBackend, self).__init__(options)
        options = self.options  # with the environment fallbacks
        if not HAS_HVAC:
            raise BadConfiguration(BACKEND, options.get("name") or "",
                                   "the Python library 'hvac' is not installed on the controller",
                                   "pip install hvac (into the Python that runs Ansible)")
        ref = options.get("name") or ""
        self.url = options.get("vault_url")
        if not self.url:
            raise BadConfiguration(BACKEND, ref, "no server address", "set 'vault_url', or the BAO_ADDR or VAULT_ADDR environment variable")
        if not re.match(r"^https?://", self.url):
            raise BadConfiguration(BACKEND, ref, "vault_url is not an http(s) URL",
                                   "use a URL like https://vault.example.com:8200")
        self.shown_url = re.sub(r"//[^/@]*@", "//", self.url)  # never show user:password@ in messages
        self._check_plain_http(options, ref)
        self.namespace = options.get("vault_namespace") or None
        self.mount = (options.get("vault_mount") or "secret").strip("/")
        self.kv_version = int(options.get("vault_kv_version") or 2)
        if self.kv_version not in (1, 2):
            raise BadConfiguration(BACKEND, ref, "vault_kv_version must be 1 or 2, not %s" % self.kv_version,
                                   "set vault_kv_version to the version of the KV engine at '%s'" % self.mount)
        self.auth = auth_for(options)
        self.verify = True
        if options.get("vault_validate_certs") is False:
            self.verify = False
        elif options.get("vault_ca_cert"):
            if not os.path.isfile(options["vault_ca_cert"]):
                raise BadConfiguration(BACKEND, ref, "vault_ca_cert '%s' is not a file" % options["vault_ca_cert"],
                                       "point vault_ca_cert (or BAO_CACERT / VAULT_CACERT) at the PEM CA bundle "
                                       "of the server")
            self.verify = options["vault_ca_cert"]
        self._client = None
        self._mount_version = None  # the mount's KV version as the server reports it; 0 = unknown

    def _check_plain_http(self, options, ref):
        """Refuse http:// to a host that is not loopback (the token would cross the network in clear).

        Runs before any request. Loopback is the collection's one strict rule (module_utils/_url.py).
        """
        if not self.url.lower().startswith("http://"):
            return
        try:
            host = split_http_url(self.url, ("http",))[1]
        except UrlError as exc:
            raise BadConfiguration(BACKEND, ref, "vault_url is refused: %s" % exc.problem, exc.fix)
        if is_loopback_host(host):
            return
        if not options.get("vault_allow_insecure_http"):
            raise BadConfiguration(BACKEND, ref, "vault_url %s uses plain http to '%s', which is not a loopback "
                                   "address: the Vault token (or login credentials) would cross the network in "
                                   "clear" % (self.shown_url, host),
                                   "use an https:// vault_url (with vault_ca_cert for a private CA), or set "
                                   "vault_allow_insecure_http: true for a trusted private network")
        self.warnings.append("vault_url %s uses plain http to '%s' (allowed by vault_allow_insecure_http): the "
                             "Vault token crosses the network unencrypted" % (self.shown_url, host))

    # -- plumbing ---------------------------------------------------------------------------
    def _scrub(self, text):
        for secret in self.auth.secrets():
            if secret and len(secret) >= 4:
                text = text.replace(secret, "<hidden>")
        return text

    def _server_said(self, exc):
        errors = [e for e in (getattr(exc, "errors", None) or []) if isinstance(e, str)]
        if not errors and isinstance(getattr(exc, "text", None), str) and not exc.text.lstrip().startswith("{"):
            errors = [exc.text]  # a plain-text answer, e.g. from a proxy or the TLS listener
        text = "; ".join(e.strip().replace("\n", " ") for e in errors)[:300]
        return self._scrub(text) if text else type(exc).__name__

    def _transport_error(self, exc, ref):
        """Map a requests-level failure (no HTTP answer)."""
        if isinstance(exc, requests.exceptions.SSLError):
            reason = re.search(r"certificate verify failed[^'\")]*|wrong version number|hostname mismatch[^'\")]*", str(exc))
            return BadConfiguration(BACKEND, ref, "TLS connection to %s failed (%s)"
                                    % (self.shown_url, reason.group(0).strip() if reason else "TLS handshake error"),
                                    "set 'vault_ca_cert' to the PEM CA bundle that signed the server certificate "
                                    "(vault_validate_certs: false only for a throw-away test server), "
                                    "and use http:// only for a server without TLS")
        if timed_out(exc):
            what = "no answer within %gs" % self.timeout
        else:
            what = "connection failed (refused, reset or name not resolved)"
        return BackendUnreachable(BACKEND, ref, "cannot reach %s: %s" % (self.shown_url, what))

    def _map(self, exc, ref, during_login=False):
        """Turn an hvac/requests exception into the backend error family."""
        if isinstance(exc, requests.exceptions.RequestException):
            return self._transport_error(exc, ref)
        said = self._server_said(exc)
        if isinstance(exc, hvac.exceptions.RateLimitExceeded):
            return Throttled(BACKEND, ref, "the server rate-limited the request (HTTP 429)")
        if isinstance(exc, (hvac.exceptions.InternalServerError, hvac.exceptions.VaultDown, hvac.exceptions.BadGateway,
                            hvac.exceptions.VaultNotInitialized)):
            return BackendUnreachable(BACKEND, ref, "the server at %s is sealed, in standby or failing (%s: %s)"
                                      % (self.shown_url, type(exc).__name__, said),
                                      "unseal or repair the server, or retry later")
        if during_login:
            if isinstance(exc, hvac.exceptions.InvalidPath):
                return BadConfiguration(BACKEND, ref, "no %s auth method is enabled at auth mount '%s' (%s)"
                                        % (self.auth.method, self.auth.mount, said),
                                        "set 'vault_auth_mount' to the path where the method is enabled")
            return AccessDenied(BACKEND, ref, "%s login at auth mount '%s' was refused (%s)"
                                % (self.auth.method, self.auth.mount, said), self.auth.fix())
        if isinstance(exc, (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized)):
            if not self._token_valid():
                return AccessDenied(BACKEND, ref, "the server refused the client token (invalid, expired or revoked)",
                                    self.auth.fix())
            return AccessDenied(BACKEND, ref, "the token's policies do not allow this on mount '%s' (%s)"
                                % (self.mount, said),
                                "grant the token a policy with the needed capabilities on '%s'"
                                % self._api_path(ref))
        if "HTTP request to an HTTPS server" in said:
            return BadConfiguration(BACKEND, ref, "the server at %s speaks HTTPS" % self.shown_url,
                                    "use an https:// URL in 'vault_url' (and 'vault_ca_cert' for a private CA)")
        if isinstance(exc, hvac.exceptions.InvalidRequest):
            return BadConfiguration(BACKEND, ref, "the server rejected the request (%s)" % said,
                                    "check vault_mount ('%s'), vault_kv_version (%d) and the mount's settings "
                                    "(e.g. cas_required)" % (self.mount, self.kv_version))
        return BackendUnreachable(BACKEND, ref, "unexpected answer from %s (%s: %s)" % (self.shown_url, type(exc).__name__, said))

    def _api_path(self, ref):
        name = str(ref).split("@", 1)[0].split("#", 1)[0]
        if self.kv_version == 2:
            return "%s/data/%s" % (self.mount, name)
        return "%s/%s" % (self.mount, name)

    def _token_valid(self):
        """Whether the current token is accepted at all (lookup-self is in every default policy)."""
        try:
            self._client.auth.token.lookup_self()
            return True
        except hvac.exceptions.VaultError as exc:
            return not isinstance(exc, (hvac.exceptions.Forbidden, hvac.exceptions.Unauthorized))
        except requests.exceptions.RequestException:
            return True

    def client(self, ref=""):
        """The logged-in hvac client, created on first use."""
        if self._client is None:
            session = requests.Session()
            session.verify = self.verify  # hvac takes a session's verify over its own argument
            adapter = HTTPAdapter(max_retries=read_retry(self.retries, self.backoff))
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            client = hvac.Client(url=self.url, token="", verify=self.verify, timeout=self.timeout,
                                 namespace=self.namespace, session=session)
            try:
                self.auth.login(client)
            except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
                raise self._map(exc, ref, during_login=True)
            self._client = client
        return self._client

    def _api(self, ref, func, on_lost_answer=False):
        """Run ``func(client)``; a 404 becomes ``_Missing`` for the caller to explain, the rest is mapped.

        With ``on_lost_answer``, a transport error after the request may have reached the server becomes
        ``_LostAnswer`` (for a write, which must not be sent again).
        """
        client = self.client(ref)
        try:
            return func(client)
        except requests.exceptions.RequestException as exc:
            if on_lost_answer and not never_sent(exc):
                raise _LostAnswer(exc)
            raise self._map(exc, ref)
        except hvac.exceptions.InvalidPath as exc:
            said = self._server_said(exc)
            if "no handler for route" in said:
                raise BadConfiguration(BACKEND, ref, "no secrets engine is mounted at '%s'" % self.mount,
                                       "set 'vault_mount' to the path of the KV engine")
            raise _Missing(exc.json if isinstance(exc.json, dict) else None)
        except (hvac.exceptions.VaultError, requests.exceptions.RequestException) as exc:
            raise self._map(exc, ref)

    def _not_found(self, ref, what=None):
        mismatch = self._kv_mismatch(ref)
        if mismatch:
            return mismatch
        return SecretNotFound(BACKEND, str(ref), what or "no secret at this path in KV v%d mount '%s'"
                              % (self.kv_version, self.mount))

    def _kv_mismatch(self, ref):
        """A BadConfiguration when the mount's real KV version differs from vault_kv_version.

        Best effort, asked only before a write or after a miss: with the wrong version a read finds
        nothing and a KV v2 write to a KV v1 mount would create a secret named ``data/<name>``.
        """
        if self._mount_version is None:
            try:
                info = self.client(ref).read("sys/internal/ui/mounts/%s" % self.mount) or {}
                options = (info.get("data") or {}).get("options") or {}
                self._mount_version = int(options.get("version") or 1)
            except (hvac.exceptions.VaultError, requests.exceptions.RequestException, ValueError, AttributeError):
                self._mount_version = 0  # cannot tell (e.g. no policy on sys/internal/ui/mounts)
        if self._mount_version and self._mount_version != self.kv_version:
            return BadConfiguration(BACKEND, str(ref), "mount '%s' is a KV v%d engine but vault_kv_version is %d"
                                    % (self.mount, self._mount_version, self.kv_version),
                                    "set vault_kv_version: %d" % self._mount_version)
        return None

    def _kv2_version(self, ref):
        if ref.version is None or ref.version.lower() == "latest":
            return None
        if not re.match(r"^[1-9][0-9]*$", ref.version):
            raise BadConfiguration(BACKEND, str(ref), "version '%s' is not a KV v2 version number" % ref.version,
                                   "use a positive integer or 'latest'")
        return int(ref.version)

    def _call(self, func, target, *args):
        # Every store call names its secret first (a reference or a name): checked before any request.
        check_path(target.name if isinstance(target, SecretRef) else target)
        return super(VaultBackend, self)._call(func, target, *args)

    # -- primitives -------------------------------------------------------------------------
    def _read(self, ref):
        if self.kv_version == 1:
            return self._read_kv1(ref)
        version = self._kv2_version(ref)
        try:
            resp = self._api(ref, lambda c: c.secrets.kv.v2.read_secret_version(
                path=ref.name, version=version, mount_point=self.mount, raise_on_deleted_version=True))
        except _Missing as missing:
            raise self._kv2_missing(ref, version, missing.metadata())
        data = resp.get("data") or {}
        meta = data.get("metadata") or {}
        return Secret(decode_value(data.get("data")), meta.get("version"), iso_time(meta.get("created_time")),
                      meta.get("custom_metadata") or {})

    def _kv2_missing(self, ref, version, meta):
        """Say precisely what is missing: the secret, a version, or a retired version."""
        if meta:
            number = meta.get("version")
            which = "version %s" % number if version else "the latest version (%s)" % number
            if meta.get("destroyed"):
                return SecretNotFound(BACKEND, str(ref), "%s is destroyed" % which,
                                      "read another version, or write a new one")
            return SecretNotFound(BACKEND, str(ref), "%s is disabled (soft-deleted)" % which,
                                  "undelete it (vault kv undelete -versions=%s), read another version, or write a new one"
                                  % number)
        if version is None:
            return self._not_found(ref)
        try:
            current = self._api(ref, lambda c: c.secrets.kv.v2.read_secret_metadata(
                path=ref.name, mount_point=self.mount))["data"].get("current_version")
        except _Missing:
            return self._not_found(ref)
        return SecretNotFound(BACKEND, str(ref), "version %d does not exist (the latest is %s)" % (version, current),
                              "use a version listed by the versions of this secret, or 'latest'")

    def _read_kv1(self, ref):
        if ref.version is not None and ref.version.lower() not in LATEST:
            raise BadConfiguration(BACKEND, str(ref), "KV v1 mount '%s' keeps no versions" % self.mount,
                                   "drop 'version' (or set vault_kv_version: 2 if the mount is KV v2)")
        try:
            resp = self._api(ref, lambda c: c.secrets.kv.v1.read_secret(path=ref.name, mount_point=self.mount))
        except _Missing:
            raise self._not_found(ref)
        return Secret(decode_value(resp.get("data")), KV1_VERSION, None, {})

    def _write(self, name, value):
        data = encode_value(value)
        mismatch = self._kv_mismatch(name)
        if mismatch:
            raise mismatch
        if self.kv_version == 1:
            try:
                self._api(name, lambda c: c.secrets.kv.v1.create_or_update_secret(
                    path=name, secret=data, mount_point=self.mount))
            except _Missing:
                raise self._not_found(name)
            return KV1_VERSION
        cas = self._current_version(name)
        try:
            resp = self._api(name, lambda c: c.secrets.kv.v2.create_or_update_secret(
                path=name, secret=data, cas=cas, mount_point=self.mount), on_lost_answer=True)
        except _Missing:
            raise self._not_found(name)
        except _LostAnswer as lost:
            return self._landed(name, cas + 1, data, lost.error)
        except BadConfiguration as exc:
            if CAS_MISMATCH not in exc.problem:
                raise
            raise WriteConflict(BACKEND, name, "another client wrote this secret after this run read its version "
                                "%d; check-and-set refused the write, nothing was written" % cas)
        return str(resp["data"]["version"])

    def _current_version(self, name):
        """The secret's current KV v2 version (0: no secret), for the write's check-and-set.

        Read from the data path, which every token that reads the secret may read, unlike the metadata; a
        deleted or destroyed latest version still names its number in the 404 answer.
        """
        try:
            resp = self._api(name, lambda c: c.secrets.kv.v2.read_secret_version(
                path=name, mount_point=self.mount, raise_on_deleted_version=True))
        except _Missing as missing:
            meta = missing.metadata() or {}
            return int(meta.get("version") or 0)
        return int(((resp.get("data") or {}).get("metadata") or {}).get("version") or 0)

    def _landed(self, name, version, data, error):
        """After a write whose answer was lost: whether ``version`` (the only one the write could have made)
        holds ``data``. Reads only: a second write is never sent."""
        lost = "the answer to the write was lost (%s)" % (
            "no answer within %gs" % self.timeout if timed_out(error) else "the connection closed before it came")
        try:
            resp = self._api(name, lambda c: c.secrets.kv.v2.read_secret_version(
                path=name, version=version, mount_point=self.mount, raise_on_deleted_version=True))
        except _Missing:
            raise BackendUnreachable(BACKEND, name, "%s and version %d is not in the store: nothing was written"
                                     % (lost, version),
                                     "run again: the write carries check-and-set, so it can never land twice")
        except SecretError as exc:
            raise BackendUnreachable(BACKEND, name, "%s, and reading back whether version %d landed failed too (%s)"
                                     % (lost, version, exc.problem),
                                     "check the secret's versions in the store before running again")
        if (resp.get("data") or {}).get("data") != data:
            raise WriteConflict(BACKEND, name, "%s and version %d holds another client's value: check-and-set "
                                "refused this write, nothing was written" % (lost, version))
        self.warnings.append("secret '%s': %s; read back, version %d holds the value written" % (name, lost, version))
        return str(version)

    def _versions(self, name):
        if self.kv_version == 1:
            self._read_kv1(SecretRef(name))  # raises SecretNotFound when absent
            return [VersionInfo(KV1_VERSION)]
        try:
            meta = self._api(name, lambda c: c.secrets.kv.v2.read_secret_metadata(
                path=name, mount_point=self.mount))["data"]
        except _Missing:
            raise self._not_found(name)
        listed = []
        for number, info in (meta.get("versions") or {}).items():
            if info.get("destroyed"):
                state = "destroyed"
            elif info.get("deletion_time"):
                state = "disabled"
            else:
                state = "enabled"
            listed.append(VersionInfo(number, iso_time(info.get("created_time")), state))
        listed.sort(key=lambda v: int(v.version), reverse=True)
        return listed

    def _retire(self, name, versions, mode):
        if self.kv_version == 1:
            return  # nothing to retire: KV v1 keeps only the current value
        numbers = [int(v.version) for v in versions]
        try:
            if mode == "destroy":
                self._api(name, lambda c: c.secrets.kv.v2.destroy_secret_versions(
                    path=name, versions=numbers, mount_point=self.mount))
            else:
                self._api(name, lambda c: c.secrets.kv.v2.delete_secret_versions(
                    path=name, versions=numbers, mount_point=self.mount))
        except _Missing:
            raise self._not_found(name)

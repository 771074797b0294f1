# -*- coding: utf-8 -*-
# Copyright: llmops.claude_gateway contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS Secrets Manager backend (boto3).

Versions are Secrets Manager VersionIds; a read may also name a staging label
(``version_stage``). A version counts as "enabled" while it carries any staging label.

Secrets Manager's rotation model is followed: a write is a PutSecretValue, which makes the new version
AWSCURRENT and moves AWSPREVIOUS onto the version that was current. The collection only ever removes
AWSPREVIOUS (``retire``); AWSCURRENT stays where the store put it, and AWSPENDING and every other label
belong to whoever set them. Transient errors are retried by botocore itself (the base class calls once): its retry
of a write re-sends the same ClientRequestToken, so a write whose answer was lost is not stored twice.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import uuid

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import (
    NEW_VERSION,
    Secret,
    SecretBackend,
    SecretRef,
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

try:
    import boto3
    import botocore.exceptions
    from botocore.config import Config

    HAS_BOTO3 = True
except ImportError:  # pragma: no cover - depends on the controller
    HAS_BOTO3 = False

CURRENT = "AWSCURRENT"
PREVIOUS = "AWSPREVIOUS"
PENDING = "AWSPENDING"

# Error codes that mean "who you are is not accepted" (wrong or expired credentials).
CREDENTIAL_CODES = frozenset((
    "UnrecognizedClientException", "InvalidClientTokenId", "SignatureDoesNotMatch", "InvalidSignatureException",
    "IncompleteSignature", "ExpiredToken", "ExpiredTokenException", "MissingAuthenticationToken",
    "AuthFailure", "InvalidAccessKeyId",
))
DENIED_CODES = frozenset(("AccessDenied", "AccessDeniedException", "KMSAccessDeniedException"))
THROTTLE_CODES = frozenset((
    "Throttling", "ThrottlingException", "ThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "LimitExceededException", "SlowDown",
))
NOT_FOUND_CODES = frozenset(("ResourceNotFoundException",))
FORMAT_CODES = frozenset(("InvalidParameterException", "MalformedPolicyDocumentException",
                          "PreconditionNotMetException", "EncryptionFailure"))


def _unreachable_types():
    return (
        botocore.exceptions.EndpointConnectionError,
        botocore.exceptions.ConnectTimeoutError,
        botocore.exceptions.ReadTimeoutError,
        botocore.exceptions.ConnectionClosedError,
        botocore.exceptions.HTTPClientError,
    )


def _iso(value):
    return value.isoformat() if hasattr(value, "isoformat") else (None if value is None else str(value))


def _error_code(exc):
    """The AWS error code of a ClientError.

    Some servers (moto among them) answer auth failures of JSON-protocol services with an XML
    body; botocore then reports the HTTP status as the code and the XML as the message.
    """
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "")
    found = re.search(r"<Code>([^<]+)</Code>", str(error.get("Message") or ""))
    if found and (code.isdigit() or not code):
        code = found.group(1)
    return code


def _error_message(exc):
    error = exc.response.get("Error", {})
    message = str(error.get("Message") or "")
    found = re.search(r"<Message>([^<]*)</Message>", message)
    return found.group(1) if found else message


class AwsBackend(SecretBackend):
    name = "aws"
    supports_stages = True

    def __init__(self, options):
        super(AwsBackend, self).__init__(options)
        if not HAS_BOTO3:
            raise BadConfiguration(self.name, options.get("name") or "", "the boto3 Python package is not installed",
                                   "install it on the controller: pip install boto3")
        self._client = None

    # -- connection -----------------------------------------------------------------------------
    def _config(self):
        # botocore retries transient errors itself ('retries' more attempts): its retry re-sends the same
        # ClientRequestToken, so a write whose answer was lost is not stored twice. "standard" rather than
        # "adaptive": adaptive adds a client-side rate limiter that only pays off across many calls of one
        # long-lived client, and a task makes a handful.
        return Config(connect_timeout=self.timeout, read_timeout=self.timeout,
                      retries={"total_max_attempts": self.retries + 1, "mode": "standard"})

    def _sts_endpoint(self, endpoint):
        # An AWS-hosted endpoint (e.g. a VPC endpoint) serves Secrets Manager only, so STS keeps its
        # default; any other endpoint is taken to be a local/private emulation serving every API.
        if not endpoint:
            return None
        host = re.sub(r"^[a-z]+://", "", endpoint).split("/")[0].split(":")[0]
        if host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn"):
            return None
        return endpoint

    def client(self, ref=""):
        if self._client is not None:
            return self._client
        opts = self.options
        if bool(opts.get("aws_access_key_id")) != bool(opts.get("aws_secret_access_key")):
            raise BadConfiguration(self.name, ref, "only one of 'aws_access_key_id' and 'aws_secret_access_key' is set",
                                   "set both, or neither to use a profile, the environment or an instance role")
        try:
            session = boto3.session.Session(
                profile_name=opts.get("aws_profile") or None,
                aws_access_key_id=opts.get("aws_access_key_id") or None,
                aws_secret_access_key=opts.get("aws_secret_access_key") or None,
                aws_session_token=opts.get("aws_session_token") or None,
                region_name=opts.get("aws_region") or None,
            )
        except botocore.exceptions.ProfileNotFound:
            raise BadConfiguration(self.name, ref, "AWS profile '%s' was not found" % opts.get("aws_profile"),
                                   "set 'aws_profile' to a profile of ~/.aws/config or ~/.aws/credentials")
        region = session.region_name
        if not region:
            raise BadConfiguration(self.name, ref, "no AWS region is configured",
                                   "set 'aws_region', AWS_REGION, AWS_DEFAULT_REGION or a region in the AWS profile")
        endpoint = opts.get("aws_endpoint_url") or None
        role = opts.get("aws_assume_role_arn")
        if role:
            sts = session.client("sts", region_name=region, endpoint_url=self._sts_endpoint(endpoint),
                                 config=self._config())
            try:
                creds = sts.assume_role(RoleArn=role, RoleSessionName="llmops-claude-gateway",
                                        DurationSeconds=3600)["Credentials"]
            except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
                err = self._map(exc, ref, during="assuming role '%s'" % role)
                if isinstance(err, AccessDenied):
                    err = AccessDenied(self.name, str(ref), err.problem,
                                       "allow sts:AssumeRole on this role for the identity used, and check the "
                                       "role's trust policy names it")
                raise err
            session = boto3.session.Session(
                aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"], region_name=region)
        self._client = session.client("secretsmanager", region_name=region, endpoint_url=endpoint,
                                      config=self._config())
        return self._client

    # -- error mapping ----------------------------------------------------------------------------
    def _map(self, exc, ref, during=None, version_missing=None):
        """Turn a boto3/botocore exception into the backend error family."""
        ref = str(ref)
        what = " while %s" % during if during else ""
        if isinstance(exc, botocore.exceptions.ClientError):
            code = _error_code(exc)
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
            message = _error_message(exc)
            if code in CREDENTIAL_CODES:
                return AccessDenied(self.name, ref, "AWS rejected the credentials (%s)%s" % (code, what),
                                    "check aws_access_key_id/aws_secret_access_key/aws_session_token or the profile; "
                                    "they may be wrong or expired")
            if code in DENIED_CODES or code == "DecryptionFailure" or status in (401, 403):
                fix = None
                if code == "DecryptionFailure":
                    fix = "grant kms:Decrypt on the secret's KMS key to the identity used"
                return AccessDenied(self.name, ref, "access denied (%s)%s: %s" % (code, what, message), fix)
            if code in NOT_FOUND_CODES:
                if version_missing:
                    return SecretNotFound(self.name, ref, "the secret exists but has no %s" % version_missing,
                                          "list the versions with llmops.claude_gateway.gateway_token_info, "
                                          "or drop 'version'/'version_stage' to read AWSCURRENT")
                return SecretNotFound(self.name, ref, "the secret does not exist%s" % what)
            if code in THROTTLE_CODES or status == 429:
                return Throttled(self.name, ref, "AWS throttled the request (%s)%s" % (code, what))
            if code == "InvalidRequestException":
                return BadConfiguration(self.name, ref, "AWS refused the request%s: %s" % (what, message),
                                        "check that the secret is not scheduled for deletion and the options fit")
            if code in FORMAT_CODES:
                return InvalidFormat(self.name, ref, "AWS refused the request (%s)%s: %s" % (code, what, message),
                                     "check the secret name and the options (aws_kms_key_id, version)")
            if status >= 500 or code in ("InternalServiceError", "InternalFailure", "ServiceUnavailable"):
                return BackendUnreachable(self.name, ref, "AWS answered with a server error (%s)%s" % (code, what))
            return InvalidFormat(self.name, ref, "AWS error %s%s: %s" % (code, what, message),
                                 "check the options and the secret")
        if isinstance(exc, _unreachable_types()):
            return BackendUnreachable(self.name, ref, "cannot reach the Secrets Manager endpoint%s (%s)"
                                      % (what, type(exc).__name__),
                                      "check aws_region/aws_endpoint_url, network and proxy settings; "
                                      "the timeout is %ss" % self.timeout)
        if isinstance(exc, (botocore.exceptions.NoCredentialsError, botocore.exceptions.PartialCredentialsError)):
            return BadConfiguration(self.name, ref, "no usable AWS credentials were found%s" % what,
                                    "set aws_profile or aws_access_key_id/aws_secret_access_key, or run with a role")
        if isinstance(exc, botocore.exceptions.ParamValidationError):
            # The report may quote a parameter value: name only the parameters.
            params = sorted(set(re.findall(r"parameter (\w+)", str(exc))))
            return BadConfiguration(self.name, ref, "invalid request parameter(s)%s: %s" % (what, ", ".join(params)),
                                    "check 'version' (a VersionId is 32-64 characters) and the secret name")
        if isinstance(exc, botocore.exceptions.NoRegionError):
            return BadConfiguration(self.name, ref, "no AWS region is configured",
                                    "set 'aws_region', AWS_REGION, AWS_DEFAULT_REGION or a region in the AWS profile")
        if isinstance(exc, botocore.exceptions.BotoCoreError):
            return BackendUnreachable(self.name, ref, "AWS SDK error%s (%s)" % (what, type(exc).__name__))
        return exc

    def _api(self, ref, method, during=None, **kwargs):
        try:
            return getattr(self.client(ref), method)(**kwargs)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._map(exc, ref, during=during)

    # -- primitives -------------------------------------------------------------------------------
    def _read(self, ref):
        kwargs = {"SecretId": ref.name}
        if ref.version:
            kwargs["VersionId"] = ref.version
        else:
            # Always explicit: asking without a stage can return a stale value on some servers.
            kwargs["VersionStage"] = ref.version_stage or CURRENT
        try:
            resp = self.client(ref).get_secret_value(**kwargs)
        except botocore.exceptions.ClientError as exc:
            missing = None
            if _error_code(exc) in NOT_FOUND_CODES and self._exists(ref):
                missing = ("version '%s'" % ref.version) if ref.version else ("staging label '%s'" % kwargs["VersionStage"])
            raise self._map(exc, ref, version_missing=missing)
        except botocore.exceptions.BotoCoreError as exc:
            raise self._map(exc, ref)
        if resp.get("SecretString") is not None:
            value = resp["SecretString"]
        elif resp.get("SecretBinary") is not None:
            try:
                value = resp["SecretBinary"].decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidFormat(self.name, str(ref), "the secret holds binary data that is not UTF-8 text",
                                    "store the token as SecretString (text)")
        else:
            raise InvalidFormat(self.name, str(ref), "the version holds no value", "write a value to this secret")
        metadata = {"arn": resp.get("ARN"), "name": resp.get("Name"), "version_stages": resp.get("VersionStages", [])}
        return Secret(value, resp.get("VersionId"), _iso(resp.get("CreatedDate")), metadata)

    def _exists(self, ref):
        """Whether the secret itself exists (to tell a missing secret from a missing version)."""
        try:
            self.client(ref).describe_secret(SecretId=ref.name)
            return True
        except Exception:  # any failure here: report the original error as "secret not found"
            return False

    def check_writable(self, name):
        """Refuse to write while another tool's rotation is in progress; return the listing (empty when the
        secret does not exist yet).

        AWSPENDING on a version that is not AWSCURRENT is the store's own sign of a rotation in progress
        (RotateSecret refuses to start another one then). Writing now would not work correctly: when that
        rotation finishes it moves AWSCURRENT onto its pending version, and the token written here would
        silently stop being current. So the write is refused, before anything is changed.

        An identity allowed to write but not to list versions still writes (with a warning): the check is a
        guard, and least-privilege writers that worked before keep working.
        """
        try:
            listed = self.versions(name)
        except SecretNotFound:
            return []
        except AccessDenied:
            self.warnings.append("aws backend, secret '%s': could not check for another rotation in progress "
                                 "(listing the versions was denied), writing anyway. Fix: allow "
                                 "secretsmanager:ListSecretVersionIds to the identity used" % name)
            return []
        pending = [v.version for v in listed if PENDING in v.labels and CURRENT not in v.labels]
        if pending:
            raise InvalidFormat(self.name, name, "another rotation is in progress: version %s carries %s but not %s"
                                % (pending[0], PENDING, CURRENT),
                                "let that rotation finish (it moves %s onto the pending version), or cancel it and "
                                "remove %s from version %s (UpdateSecretVersionStage with RemoveFromVersionId), "
                                "then run again" % (CURRENT, PENDING, pending[0]))
        return listed

    def _write(self, name, value):
        listed = self.check_writable(name)
        # One token for every call of this write, which is one new version: botocore's retry of a call
        # re-sends it, and so does the fall-back below, so a request that reached the store but whose
        # answer was lost is answered with the version it made instead of making a second one.
        token = str(uuid.uuid4())
        put = {"SecretId": name, "SecretString": value, "ClientRequestToken": token}
        if any(CURRENT in v.labels and PENDING in v.labels for v in listed):
            # A finished rotation may leave AWSPENDING on the AWSCURRENT version. Left behind on what
            # becomes AWSPREVIOUS, it would read as a rotation in progress (and block the next RotateSecret),
            # so it goes along with AWSCURRENT: the secret stays in the state of a finished rotation.
            put["VersionStages"] = [CURRENT, PENDING]
        try:
            return self.client(name).put_secret_value(**put)["VersionId"]
        except botocore.exceptions.ClientError as exc:
            if _error_code(exc) not in NOT_FOUND_CODES:
                raise self._map(exc, name, during="writing")
        except botocore.exceptions.BotoCoreError as exc:
            raise self._map(exc, name, during="writing")
        kwargs = {"Name": name, "SecretString": value, "Description": "Managed by llmops.claude_gateway",
                  "ClientRequestToken": token}
        if self.options.get("aws_kms_key_id"):
            kwargs["KmsKeyId"] = self.options["aws_kms_key_id"]
        try:
            return self.client(name).create_secret(**kwargs)["VersionId"]
        except botocore.exceptions.ClientError as exc:
            if _error_code(exc) != "ResourceExistsException":
                raise self._map(exc, name, during="creating the secret")
        except botocore.exceptions.BotoCoreError as exc:
            raise self._map(exc, name, during="creating the secret")
        # Created meanwhile, by someone else or by our own create whose answer was lost: add the value as a
        # version with the same token (the store answers with our version if it already holds it).
        return self._api(name, "put_secret_value", "writing", **put)["VersionId"]

    def retire_plan(self, listed, keep, mode):
        """Secrets Manager's rotation model instead of ranking by date (``mode`` does not matter: AWS cannot
        delete one version, a version without labels is deprecated and AWS removes it later by itself).

        The newest versions are counted along the store's own order, AWSCURRENT then AWSPREVIOUS (AWS
        deprecates older ones itself): ``keep`` 2 or more keeps both, ``keep`` 1 takes AWSPREVIOUS off its
        version. AWSCURRENT is never removed. A version that also carries another label (AWSPENDING, a custom
        label) is left whole, since someone else still uses it; a warning says so.
        """
        lineage = []
        for label in (CURRENT, PREVIOUS):
            lineage.extend(v for v in listed if label in v.labels and v not in lineage)
        plan = []
        for info in lineage[keep:]:
            if CURRENT in info.labels:
                continue
            others = [label for label in info.labels if label != PREVIOUS]
            if others:
                self.warnings.append("aws backend: version %s keeps %s: it also carries %s, set outside this "
                                     "collection; remove those labels to retire it"
                                     % (info.version, PREVIOUS, ", ".join(others)))
                continue
            plan.append(info)
        return plan

    def listed_after_write(self, listed):
        """``listed`` after a PutSecretValue: the new version takes AWSCURRENT (with AWSPENDING when that sits
        on AWSCURRENT, see ``_write``), the old current gets AWSPREVIOUS, the old previous loses it."""
        carried = [CURRENT]
        if any(CURRENT in v.labels and PENDING in v.labels for v in listed):
            carried.append(PENDING)
        after = [VersionInfo(NEW_VERSION, state="enabled", labels=carried)]
        for info in listed:
            labels = [label for label in info.labels if label not in carried and label != PREVIOUS]
            if CURRENT in info.labels:
                labels.append(PREVIOUS)
            after.append(VersionInfo(info.version, info.created, "enabled" if labels else "disabled", labels))
        return after

    def _versions(self, name):
        listed, token = [], None
        while True:
            kwargs = {"SecretId": name, "IncludeDeprecated": True}
            if token:
                kwargs["NextToken"] = token
            try:
                resp = self.client(name).list_secret_version_ids(**kwargs)
            except botocore.exceptions.ClientError as exc:
                # Some servers answer 500 instead of ResourceNotFound for a missing secret.
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
                if status >= 500 and not self._exists(SecretRef(name)):
                    raise SecretNotFound(self.name, name, "the secret does not exist")
                raise self._map(exc, name, during="listing versions")
            except botocore.exceptions.BotoCoreError as exc:
                raise self._map(exc, name, during="listing versions")
            listed.extend(resp.get("Versions", []))
            token = resp.get("NextToken")
            if not token:
                break

        # Newest first by CreatedDate; equal dates keep the server's (creation) order, reversed.
        def newest(pair):
            created = pair[1].get("CreatedDate")
            return (created.timestamp() if hasattr(created, "timestamp") else 0, pair[0])

        order = sorted(enumerate(listed), key=newest, reverse=True)
        return [VersionInfo(v["VersionId"], _iso(v.get("CreatedDate")),
                            "enabled" if v.get("VersionStages") else "disabled", v.get("VersionStages"))
                for _i, v in order]

    def _retire(self, name, versions, mode):
        # Retiring = taking AWSPREVIOUS off the versions retire_plan chose; no other label is ever removed.
        for info in versions:
            if PREVIOUS in info.labels:
                self._api(name, "update_secret_version_stage", "retiring version %s" % info.version,
                          SecretId=name, VersionStage=PREVIOUS, RemoveFromVersionId=info.version)

"""The backend error family: one message shape, a stable kind, the default fix of each kind."""
import pytest

from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends import errors


def test_message_names_backend_secret_problem_and_fix():
    err = errors.AccessDenied("vault", "gw/x", "permission denied", "grant read")
    assert str(err) == "vault backend, secret 'gw/x': permission denied. Fix: grant read"
    assert err.to_result() == {"error_kind": "access_denied", "backend": "vault", "secret": "gw/x"}


def test_message_without_secret_or_fix():
    assert str(errors.SecretError("local", None, "broken")) == "local backend, secret: broken"
    assert str(errors.SecretError("local", "", "broken", "")) == "local backend, secret: broken"


@pytest.mark.parametrize("cls,kind,transient", [
    (errors.SecretNotFound, "not_found", False),
    (errors.AccessDenied, "access_denied", False),
    (errors.BackendUnreachable, "unreachable", True),
    (errors.Throttled, "throttled", True),
    (errors.InvalidFormat, "invalid_format", False),
    (errors.BadConfiguration, "bad_configuration", False),
])
def test_kinds_and_default_fixes(cls, kind, transient):
    err = cls("aws", "gw/x", "problem")
    assert (err.kind, err.transient, err.fix) == (kind, transient, cls.default_fix)
    assert str(err) == "aws backend, secret 'gw/x': problem. Fix: %s" % cls.default_fix

"""An in-memory SecretBackend for tests: records every primitive call, fails reads on demand."""
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.base import (
    Secret,
    SecretBackend,
    VersionInfo,
)
from ansible_collections.llmops.claude_gateway.plugins.module_utils._backends.errors import SecretNotFound


class RecordingBackend(SecretBackend):
    """An in-memory store that records every primitive call and fails ``_read`` with ``failures`` first."""

    name = "recording"

    def __init__(self, options=None, failures=()):
        super(RecordingBackend, self).__init__(dict({"retries": 3, "retry_backoff": 0.5}, **(options or {})))
        self.failures = list(failures)
        self.store = {}
        self.log = []

    def _read(self, ref):
        self.log.append(("read", ref.name))
        if self.failures:
            raise self.failures.pop(0)
        if ref.name not in self.store:
            raise SecretNotFound(self.name, ref.name, "no secret")
        versions = self.store[ref.name]
        return Secret(versions[-1], version=len(versions))

    def _write(self, name, value):
        self.log.append(("write", name))
        self.store.setdefault(name, []).append(value)
        return len(self.store[name])

    def _versions(self, name):
        self.log.append(("versions", name))
        if name not in self.store:
            raise SecretNotFound(self.name, name, "no secret")
        return [VersionInfo(n) for n in range(len(self.store[name]), 0, -1)]

    def _retire(self, name, versions, mode):
        self.log.append(("retire", name))

"""The sync error tree.

Errors of httpx, the MQTT transport and the cloud's HTTP statuses are translated
into these at the adapter boundary, so the uploader and the inbox only catch ours::

    HubError
    └── SyncError                 anything cloud sync raises on purpose
        ├── CloudUnavailable      retry later: no route, timeout, dropped connection, 5xx, 429
        │   └── CloudAuthError    401/403: the store's credential is wrong or revoked
        ├── CloudGap              409: the cloud's per-stream head is not the record's ``prev``
        ├── CloudBadBatch         400/413/422: the cloud refuses this batch as it is
        ├── CloudUnsupported      the adapter cannot do this (an MQTT bridge cannot pull)
        └── ChangeRejected        raised by an applier: quarantine this change with a reason
"""

from __future__ import annotations

from hub.errors import HubError


class SyncError(HubError):
    """Base class of every error cloud sync raises on purpose."""


class CloudUnavailable(SyncError):
    """The cloud could not be reached or answered "not now"; the same call may succeed later."""


class CloudAuthError(CloudUnavailable):
    """The cloud refused the store's credential (retried slowly, and raised as an alert)."""


class CloudGap(SyncError):
    """The cloud's head of a stream is not the ``prev`` a record claims.

    ``heads`` holds the cloud's last accepted ``seq`` per stream of the batch: the
    store realigns on it (re-sends what the cloud lost, or skips what it already has).
    """

    def __init__(self, heads: dict[str, int]) -> None:
        super().__init__(f"stream heads differ: {heads}")
        self.heads = heads


class CloudBadBatch(SyncError):
    """The cloud refuses the batch itself (malformed, too large): resending it as is won't help."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}")
        self.status = status
        self.detail = detail


class CloudUnsupported(SyncError):
    """The adapter does not implement this direction (e.g. pulling over an MQTT bridge)."""


class ChangeRejected(SyncError):
    """Raised by an inbox applier: the change is invalid and goes to quarantine with this reason."""

"""Cloud sync: the outbox to the commerce backend, its changes back (docs/sync.md).

    outbox rows ─▶ OutboxUploader ─▶ CloudAdapter.upload ─▶ acks ─▶ journal (sent)
    DiskBudget watches what waits;  Inbox ◀─ CloudAdapter.pull ◀─ HQ's changes
                                      └─▶ appliers (members, plates, items, ...) + quarantine

Public API: :class:`Sync` (and the hub plugin :func:`plugin`), :class:`CloudAdapter`
with :class:`HttpCloudAdapter` and :class:`MqttBridgeAdapter`, :func:`register_applier`,
the wire models of :mod:`hub.sync.protocol` and the errors of :mod:`hub.sync.errors`.
"""

from hub.sync.adapter import Backoff, CloudAdapter
from hub.sync.alerting import AlertSink, LogAlerts
from hub.sync.appliers import Applier
from hub.sync.errors import (
    ChangeRejected,
    CloudAuthError,
    CloudBadBatch,
    CloudGap,
    CloudUnavailable,
    CloudUnsupported,
    SyncError,
)
from hub.sync.http import HttpCloudAdapter
from hub.sync.inbox import Inbox, register_applier
from hub.sync.mqtt_bridge import MqttBridgeAdapter
from hub.sync.outbox import OutboxUploader
from hub.sync.protocol import (
    Change,
    ChangesPage,
    OutgoingBatch,
    OutgoingRecord,
    Record,
    RecordAck,
    UploadBatch,
)
from hub.sync.service import Sync, build_adapters, plugin, read_token
from hub.sync.status import SyncStatus, read_status

__all__ = [
    "AlertSink",
    "Applier",
    "Backoff",
    "Change",
    "ChangeRejected",
    "ChangesPage",
    "CloudAdapter",
    "CloudAuthError",
    "CloudBadBatch",
    "CloudGap",
    "CloudUnavailable",
    "CloudUnsupported",
    "HttpCloudAdapter",
    "Inbox",
    "LogAlerts",
    "MqttBridgeAdapter",
    "OutboxUploader",
    "OutgoingBatch",
    "OutgoingRecord",
    "Record",
    "RecordAck",
    "Sync",
    "SyncError",
    "SyncStatus",
    "UploadBatch",
    "build_adapters",
    "plugin",
    "read_status",
    "read_token",
    "register_applier",
]

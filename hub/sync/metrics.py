"""Prometheus metrics of cloud sync, registered on the hub's own registry."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class SyncMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        r = registry or CollectorRegistry()
        self.registry = r
        self.uploaded = Counter(
            "storehub_sync_uploaded_total",
            "Outbox rows acknowledged by the cloud",
            ["stream", "status"],
            registry=r,
        )
        self.batches = Counter(
            "storehub_sync_batches_total", "Upload attempts by outcome", ["outcome"], registry=r
        )
        self.upload_seconds = Histogram(
            "storehub_sync_upload_seconds", "Round trip of a successful upload", registry=r
        )
        self.pending_rows = Gauge(
            "storehub_sync_pending_rows",
            "Outbox rows not yet acknowledged",
            ["stream"],
            registry=r,
        )
        self.pending_bytes = Gauge(
            "storehub_sync_pending_bytes", "Bytes of unsent outbox data (budgeted)", registry=r
        )
        self.lag = Gauge(
            "storehub_sync_lag_seconds",
            "Age of the oldest unsent outbox row",
            ["stream"],
            registry=r,
        )
        self.budget_ratio = Gauge(
            "storehub_sync_budget_ratio", "Unsent outbox bytes / disk budget", registry=r
        )
        self.dropped = Counter(
            "storehub_sync_dropped_total",
            "Unsent rows dropped by the disk budget policy",
            ["stream"],
            registry=r,
        )
        self.rewound = Counter(
            "storehub_sync_rewound_total",
            "Sent rows re-queued because the cloud lost them",
            ["stream"],
            registry=r,
        )
        self.last_success = Gauge(
            "storehub_sync_last_success_timestamp", "When an upload last succeeded", registry=r
        )
        self.inbox_version = Gauge(
            "storehub_sync_inbox_version", "The inbox cursor (last version handled)", registry=r
        )
        self.inbox_applied = Counter(
            "storehub_sync_inbox_applied_total", "Inbox changes applied", ["type"], registry=r
        )
        self.inbox_quarantined = Counter(
            "storehub_sync_inbox_quarantined_total",
            "Inbox changes quarantined",
            ["type"],
            registry=r,
        )
        self.pull_errors = Counter(
            "storehub_sync_pull_errors_total", "Failed inbox pulls", registry=r
        )

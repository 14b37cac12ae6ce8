"""The reference cloud backend of the sync protocol (docs/sync.md): FastAPI + its own
SQLite; dedupes on the idempotency key, serves versioned changes, fails on demand.

    python -m simulators.cloud --port 8900 --db var/cloud.db --token s1=secret
"""

from simulators.cloud.app import CloudApp
from simulators.cloud.db import CloudStats, CloudStore, PublishChange
from simulators.cloud.faults import Fault, Faults
from simulators.cloud.server import CloudServer, free_port

__all__ = [
    "CloudApp",
    "CloudServer",
    "CloudStats",
    "CloudStore",
    "Fault",
    "Faults",
    "PublishChange",
    "free_port",
]

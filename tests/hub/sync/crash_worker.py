"""A hub-like process for the SIGKILL test: the real Journal and the real Sync
uploader, with sales, stock and traffic rows written continuously.

    python -m tests.hub.sync.crash_worker DATA_DIR CLOUD_URL [--drain]

Waits for a line on stdin before touching the database (so the test can start the
next worker's imports while this one runs), prints ``ready`` once uploading; with
``--drain`` writes nothing, uploads what is pending, prints ``drained N`` and exits.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from hub.config import SyncConfig
from hub.journal import Entry, Journal
from hub.sync import HttpCloudAdapter, LogAlerts, Sync

# Not imported from the conftest: that would load the reference cloud (FastAPI) into
# every worker, and worker start-up is most of this test's time.
STORE = "s1"
TOKEN = "s1-secret"


async def main(data: Path, url: str, drain: bool) -> None:
    journal = Journal(data / "hub.db", batch_max=200)
    await journal.open()
    writer = asyncio.create_task(journal.run())
    config = SyncConfig(
        enabled=True,
        url=url,
        batch_rows=40,
        batch_age_s=0,
        poll_s=0.02,
        backoff_min_s=0.02,
        backoff_max_s=0.2,
        timeout_s=1.0,
        reconcile_s=0.5,
    )
    adapter = HttpCloudAdapter(url, STORE, TOKEN, timeout=config.timeout_s)
    sync = Sync(
        store_id=STORE,
        journal=journal,
        db_path=journal.path,
        config=config,
        uploads=adapter,
        pulls=None,
        alerts=LogAlerts(),
    )
    if drain:
        await sync.outbox.start()
        await sync.outbox.reconcile()
        sent = await asyncio.wait_for(sync.drain(), 60)
        print(f"drained {sent}", flush=True)
        writer.cancel()
        await asyncio.gather(writer, return_exceptions=True)
        journal.close()
        return
    uploader = asyncio.create_task(sync.run())
    print("ready", flush=True)
    n = 0
    while not uploader.done():
        for stream in ("sales", "inventory", "traffic"):
            data_ = json.dumps({"stream": stream, "n": n, "pid": os.getpid()})
            await journal.append(Entry(type="event", ts=0.0, data=data_, stream=stream))
        n += 1
        await asyncio.sleep(0.004)
    await uploader  # only a crash of the uploader gets here


if __name__ == "__main__":
    sys.stdin.readline()
    asyncio.run(main(Path(sys.argv[1]), sys.argv[2], "--drain" in sys.argv[3:]))

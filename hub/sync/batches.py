"""Pure pieces of the uploader: building a batch, reading its acknowledgements."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from pydantic_core import from_json

from hub.sync.protocol import OutgoingBatch, OutgoingRecord, RecordAck, record_key
from hub.sync.store import PendingRow


def build_batch(
    store_id: str, origin: str, rows: Sequence[PendingRow], heads: dict[str, int]
) -> OutgoingBatch:
    """``rows`` as records, each naming as ``prev`` the record of its stream before it
    (for the first of a stream: ``heads``, what the cloud acknowledged last)."""
    prev = dict(heads)
    records: list[OutgoingRecord] = []
    for row in rows:
        data = row.data
        try:
            # One JSON value and nothing else: the text is spliced into the body as it
            # is, so a row must not be able to add fields to its record.
            from_json(data)
        except ValueError:
            # Cannot happen through the journal, but a row may not block its stream:
            # sent as a string, which the cloud rejects visibly instead of the store
            # dropping it silently.
            data = json.dumps(data)
        key = record_key(store_id, origin, row.id)
        records.append(
            OutgoingRecord(key, row.stream, row.id, prev.get(row.stream, 0), row.created, data)
        )
        prev[row.stream] = row.id
    return OutgoingBatch(origin, records)


def heads_after(heads: dict[str, int], rows: Sequence[PendingRow]) -> dict[str, int]:
    """The heads once every row of ``rows`` is acknowledged."""
    after = dict(heads)
    for row in rows:
        after[row.stream] = row.id
    return after


def accepted_prefix(
    rows: Sequence[PendingRow], batch: OutgoingBatch, acks: Sequence[RecordAck]
) -> tuple[list[tuple[PendingRow, RecordAck]], set[str]]:
    """The acknowledged rows that count, and the streams cut short.

    Only a prefix of each stream counts: a row acknowledged while an earlier row of
    its stream was not would be out of order; it goes again and comes back
    ``duplicate``."""
    by_key = {a.key: a for a in acks}
    accepted: list[tuple[PendingRow, RecordAck]] = []
    blocked: set[str] = set()
    for row, record in zip(rows, batch.records, strict=True):
        ack = by_key.get(record.key)
        if ack is None or row.stream in blocked:
            blocked.add(row.stream)
            continue
        accepted.append((row, ack))
    return accepted, blocked


@dataclass(frozen=True, slots=True)
class Prepared:
    """The next batch, built while the current one is in flight, on the assumption
    that the current one will be acknowledged whole."""

    rows: list[PendingRow]
    heads: dict[str, int]
    batch: OutgoingBatch

    def fits(self, rows: Sequence[PendingRow], heads: dict[str, int]) -> bool:
        # Outbox rows never change once written: same ids and same heads = same batch.
        return heads == self.heads and [r.id for r in rows] == [r.id for r in self.rows]

"""Consent records and sealed embeddings in SQLite (functions of a connection, run by
the journal's single writer or a reader)."""

from __future__ import annotations

import sqlite3

from pydantic import BaseModel, ConfigDict

#: The only purpose face data may be used for; marketing etc. need their own consent.
FACE_PURPOSE = "face_recognition"


class Consent(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int
    member: str
    purpose: str
    text_version: str
    granted: float
    granted_by: str
    channel: str
    withdrawn: float | None = None
    withdrawn_by: str | None = None

    @property
    def active(self) -> bool:
        return self.withdrawn is None


_COLS = "id, member, purpose, text_version, granted, granted_by, channel, withdrawn, withdrawn_by"


def _consent(row: tuple[object, ...] | sqlite3.Row) -> Consent:
    return Consent.model_validate(dict(zip(_COLS.split(", "), tuple(row), strict=True)))


def insert_consent(
    conn: sqlite3.Connection,
    member: str,
    purpose: str,
    text_version: str,
    granted: float,
    granted_by: str,
    channel: str,
) -> Consent:
    cur = conn.execute(
        "INSERT INTO vision_consents (member, purpose, text_version, granted, granted_by,"
        " channel) VALUES (?, ?, ?, ?, ?, ?)",
        (member, purpose, text_version, granted, granted_by, channel),
    )
    row = conn.execute(f"SELECT {_COLS} FROM vision_consents WHERE id = ?", (cur.lastrowid,))
    return _consent(row.fetchone())


def active_consent(conn: sqlite3.Connection, member: str, purpose: str) -> Consent | None:
    row = conn.execute(
        f"SELECT {_COLS} FROM vision_consents WHERE member = ? AND purpose = ?"
        " AND withdrawn IS NULL ORDER BY granted DESC LIMIT 1",
        (member, purpose),
    ).fetchone()
    return None if row is None else _consent(row)


def consents(conn: sqlite3.Connection, member: str | None = None) -> list[Consent]:
    if member is None:
        rows = conn.execute(f"SELECT {_COLS} FROM vision_consents ORDER BY id").fetchall()
    else:
        rows = conn.execute(
            f"SELECT {_COLS} FROM vision_consents WHERE member = ? ORDER BY id", (member,)
        ).fetchall()
    return [_consent(r) for r in rows]


def withdraw(conn: sqlite3.Connection, member: str, purpose: str, when: float, by: str) -> int:
    """Withdraw the member's consent and delete every embedding it allowed; returns the
    number of embeddings deleted.  Both in one transaction (the journal's savepoint)."""
    conn.execute(
        "UPDATE vision_consents SET withdrawn = ?, withdrawn_by = ?"
        " WHERE member = ? AND purpose = ? AND withdrawn IS NULL",
        (when, by, member, purpose),
    )
    return conn.execute("DELETE FROM vision_faces WHERE member = ?", (member,)).rowcount


def insert_face(
    conn: sqlite3.Connection,
    member: str,
    consent_id: int,
    created: float,
    expires: float,
    sealed: bytes,
) -> int:
    # Re-checked inside the write: a withdrawal that landed between the check and now wins.
    still = conn.execute(
        "SELECT 1 FROM vision_consents WHERE id = ? AND withdrawn IS NULL", (consent_id,)
    ).fetchone()
    if still is None:
        return 0
    cur = conn.execute(
        "INSERT INTO vision_faces (member, consent_id, created, expires, embedding)"
        " VALUES (?, ?, ?, ?, ?)",
        (member, consent_id, created, expires, sealed),
    )
    return int(cur.lastrowid or 0)


def faces(conn: sqlite3.Connection, now: float) -> list[tuple[int, str, float, bytes]]:
    """(id, member, expires, sealed embedding) of the embeddings still within retention
    and under an active consent."""
    rows = conn.execute(
        "SELECT f.id, f.member, f.expires, f.embedding FROM vision_faces f"
        " JOIN vision_consents c ON c.id = f.consent_id"
        " WHERE f.expires > ? AND c.withdrawn IS NULL ORDER BY f.id",
        (now,),
    ).fetchall()
    return [(int(r[0]), str(r[1]), float(r[2]), bytes(r[3])) for r in rows]


def purge_expired(conn: sqlite3.Connection, now: float) -> int:
    return conn.execute("DELETE FROM vision_faces WHERE expires <= ?", (now,)).rowcount

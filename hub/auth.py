"""Store API bearer tokens and the audit log of API writes.

A token is ``shb_`` + 43 url-safe characters (32 random bytes).  Only its
SHA-256 is stored: a token is as strong as a 256-bit key, so nobody can guess
one from its hash and a slow password hash (bcrypt, scrypt) would buy nothing
but latency on every request.  A stolen database therefore yields no usable
token; the token itself is shown once, by ``storehub token create``.

Scopes: ``staff`` (the floor: read, work alerts, open doors, flash labels),
``hq`` (headquarters: prices), ``admin`` (everything; implies the others).

Functions here take a :class:`sqlite3.Connection`: the CLI uses its own, the
running hub writes through its journal's single writer.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
from collections.abc import Iterable
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field

Scope = Literal["staff", "hq", "admin"]
SCOPES: tuple[Scope, ...] = get_args(Scope)
PREFIX = "shb_"
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"


class TokenError(ValueError):
    """A token could not be created or revoked (bad name, name in use, unknown name)."""


class Principal(BaseModel):
    """Who is calling: a token's name and scopes."""

    model_config = ConfigDict(frozen=True)

    name: str
    scopes: frozenset[Scope]

    def allows(self, scope: Scope) -> bool:
        return scope in self.scopes or "admin" in self.scopes


class TokenInfo(BaseModel):
    """A token as listed (never the token itself)."""

    model_config = ConfigDict(frozen=True)

    name: str
    scopes: list[Scope]
    created: float
    last_used: float | None = None
    revoked: float | None = None


class AuditRow(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: int = 0
    ts: float
    token: str | None = Field(description="The token's name; null when no valid token was sent")
    method: str
    path: str
    body: str = Field(description="A short summary of the request body, secrets redacted")
    status: int
    client: str | None = None


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def create_token(
    conn: sqlite3.Connection, name: str, scopes: Iterable[Scope], *, now: float
) -> str:
    """Store a new token's hash; returns the token (the only time it is known)."""
    if not re.match(NAME_PATTERN, name):
        raise TokenError(f"bad token name {name!r}: letters, digits and ._@- (max 64)")
    wanted = sorted(set(scopes))
    if not wanted or any(s not in SCOPES for s in wanted):
        raise TokenError(f"scopes must be some of {', '.join(SCOPES)}")
    token = new_token()
    try:
        conn.execute(
            "INSERT INTO api_tokens(name, hash, scopes, created) VALUES (?,?,?,?)",
            (name, hash_token(token), " ".join(wanted), now),
        )
    except sqlite3.IntegrityError:
        raise TokenError(f"a token named {name!r} exists; revoke it first") from None
    return token


def revoke_token(conn: sqlite3.Connection, name: str, *, now: float) -> None:
    cur = conn.execute(
        "UPDATE api_tokens SET revoked = ? WHERE name = ? AND revoked IS NULL", (now, name)
    )
    if cur.rowcount == 0:
        raise TokenError(f"no active token named {name!r}")


def list_tokens(conn: sqlite3.Connection, *, revoked: bool = False) -> list[TokenInfo]:
    where = "" if revoked else " WHERE revoked IS NULL"
    rows = conn.execute(
        f"SELECT name, scopes, created, last_used, revoked FROM api_tokens{where} ORDER BY name"
    ).fetchall()
    return [
        TokenInfo(name=r[0], scopes=r[1].split(), created=r[2], last_used=r[3], revoked=r[4])
        for r in rows
    ]


def lookup(conn: sqlite3.Connection, token: str) -> Principal | None:
    """The principal of an active token, or ``None``."""
    if not token.startswith(PREFIX):
        return None
    row = conn.execute(
        "SELECT name, scopes FROM api_tokens WHERE hash = ? AND revoked IS NULL",
        (hash_token(token),),
    ).fetchone()
    if row is None:
        return None
    return Principal(name=row[0], scopes=frozenset(s for s in row[1].split() if s in SCOPES))


def touch(conn: sqlite3.Connection, name: str, ts: float) -> None:
    conn.execute(
        "UPDATE api_tokens SET last_used = ? WHERE name = ? AND revoked IS NULL", (ts, name)
    )


def record(conn: sqlite3.Connection, row: AuditRow) -> None:
    conn.execute(
        "INSERT INTO audit(ts, token, method, path, body, status, client) VALUES (?,?,?,?,?,?,?)",
        (row.ts, row.token, row.method, row.path, row.body, row.status, row.client),
    )

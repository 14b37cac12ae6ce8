"""Entry tokens: what the shopper's app shows as a QR code at the entry door.

``SH1.<claims>.<signature>``, both parts base64url without padding; the claims
are JSON, the signature is Ed25519 over ``SH1.<claims>``.  The cloud signs with
its private key; the hub verifies offline with the public keys it holds (the
store file's ``entry_keys`` and the ``entry_key`` documents of the cloud inbox),
so the door opens while the uplink is down.  A token is used once: its ``jti``
is recorded in the same transaction that opens the session, so a replay (a
screenshot passed to a friend) is refused even across restarts.

Claims: ``jti`` (token id), ``kid`` (signing key id), ``store`` (store id or
``*``), ``iat``/``exp`` (epoch seconds), ``member`` (or null), ``pay`` (the
card-on-file / deduction agreement token charged at the exit, or null),
``party`` (people it lets in, 1..max_party).
"""

from __future__ import annotations

import base64
import binascii
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Mapping

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.errors import HubError

PREFIX = "SH1"


class TokenRefused(HubError):
    """An entry token that does not open the door; ``reason`` says why (shown to staff)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class EntryClaims(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    jti: str = Field(min_length=8, max_length=64)
    kid: str = Field(min_length=1, max_length=64)
    store: str = Field(min_length=1, max_length=64)
    iat: float
    exp: float
    member: str | None = Field(default=None, max_length=64)
    pay: str | None = Field(default=None, max_length=256)
    party: int = Field(default=1, ge=1, le=20)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The raw public key in base64, as ``entry_keys`` holds it."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return base64.b64encode(pub.public_bytes_raw()).decode()


def load_public_key(text: str) -> Ed25519PublicKey:
    """``ValueError`` if ``text`` is not a base64 raw Ed25519 public key."""
    try:
        raw = base64.b64decode(text, validate=True)
        return Ed25519PublicKey.from_public_bytes(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not a base64 Ed25519 public key: {exc}") from None


def load_private_key(text: str) -> Ed25519PrivateKey:
    """A raw Ed25519 private key (32 bytes) in base64 (the cloud's, or the demo's)."""
    try:
        return Ed25519PrivateKey.from_private_bytes(base64.b64decode(text.strip(), validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"not a base64 Ed25519 private key: {exc}") from None


def sign(key: Ed25519PrivateKey, claims: EntryClaims) -> str:
    """The token the app shows (the cloud's side; simulators and tests use it too)."""
    body = f"{PREFIX}.{_b64(claims.model_dump_json().encode())}"
    return f"{body}.{_b64(key.sign(body.encode()))}"


def issue(
    key: Ed25519PrivateKey,
    *,
    kid: str,
    store: str,
    ttl_s: float = 300.0,
    member: str | None = None,
    pay: str | None = None,
    party: int = 1,
    now: float | None = None,
) -> str:
    now = time.time() if now is None else now
    claims = EntryClaims(
        jti=uuid.uuid4().hex,
        kid=kid,
        store=store,
        iat=now,
        exp=now + ttl_s,
        member=member,
        pay=pay,
        party=party,
    )
    return sign(key, claims)


class TokenVerifier:
    """Checks signature, store, times and party size; not replay (see :func:`use`)."""

    def __init__(
        self,
        store: str,
        keys: Mapping[str, Ed25519PublicKey],
        *,
        leeway_s: float = 30.0,
        max_party: int = 6,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.keys = dict(keys)
        self.leeway_s = leeway_s
        self.max_party = max_party
        self.clock = clock

    def verify(self, token: str) -> EntryClaims:
        parts = token.strip().split(".")
        if len(parts) != 3 or parts[0] != PREFIX:
            raise TokenRefused("not an entry token")
        try:
            claims = EntryClaims.model_validate_json(_unb64(parts[1]))
            signature = _unb64(parts[2])
        except (ValidationError, binascii.Error, ValueError):
            raise TokenRefused("malformed entry token") from None
        key = self.keys.get(claims.kid)
        if key is None:
            raise TokenRefused(f"unknown signing key {claims.kid!r}")
        try:
            key.verify(signature, f"{parts[0]}.{parts[1]}".encode())
        except InvalidSignature:
            raise TokenRefused("bad signature") from None
        now = self.clock()
        if claims.store not in (self.store, "*"):
            raise TokenRefused(f"token is for store {claims.store!r}")
        if claims.exp + self.leeway_s < now:
            raise TokenRefused("expired")
        if claims.iat - self.leeway_s > now:
            raise TokenRefused("issued in the future")
        if claims.party > self.max_party:
            raise TokenRefused(f"party of {claims.party} is more than {self.max_party}")
        return claims


def use(conn: sqlite3.Connection, jti: str, session: str, now: float) -> None:
    """Record a token as used (in the writer); :class:`TokenRefused` for a replay."""
    try:
        conn.execute(
            "INSERT INTO unmanned_tokens(jti, session, used) VALUES (?,?,?)", (jti, session, now)
        )
    except sqlite3.IntegrityError:
        raise TokenRefused("already used") from None


def stored_keys(conn: sqlite3.Connection) -> dict[str, str]:
    """Entry keys HQ published through the cloud inbox (``sync_documents``)."""
    out: dict[str, str] = {}
    for key, data in conn.execute(
        "SELECT key, data FROM sync_documents WHERE type = 'entry_key'"
    ).fetchall():
        try:
            out[str(key)] = str(json.loads(data)["public_key"])
        except (ValueError, KeyError, TypeError):
            continue
    return out

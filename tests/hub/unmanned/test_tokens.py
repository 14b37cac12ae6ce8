"""Entry tokens: signed by the cloud, verified offline, used once."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.db import connect_writer
from hub.unmanned import tokens
from hub.unmanned.tokens import TokenRefused, TokenVerifier, issue

NOW = 1_800_000_000.0


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def verifier(key: Ed25519PrivateKey, now: float = NOW) -> TokenVerifier:
    pub = tokens.load_public_key(tokens.public_key_text(key))
    return TokenVerifier("s1", {"k1": pub}, leeway_s=30, max_party=4, clock=lambda: now)


def test_a_valid_token_gives_its_claims(key: Ed25519PrivateKey) -> None:
    token = issue(key, kid="k1", store="s1", member="m1", pay="tok-1", party=3, now=NOW)
    claims = verifier(key).verify(token)
    assert (claims.member, claims.pay, claims.party) == ("m1", "tok-1", 3)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"now": NOW - 400}, "expired"),
        ({"store": "s2"}, "token is for store 's2'"),
        ({"kid": "k9"}, "unknown signing key 'k9'"),
        ({"party": 5}, "party of 5 is more than 4"),
        ({"now": NOW + 100}, "issued in the future"),
    ],
)
def test_refused_tokens_say_why(
    key: Ed25519PrivateKey, change: dict[str, object], reason: str
) -> None:
    args: dict[str, object] = {"kid": "k1", "store": "s1", "now": NOW, **change}
    token = issue(key, **args)  # type: ignore[arg-type]
    with pytest.raises(TokenRefused) as err:
        verifier(key).verify(token)
    assert err.value.reason == reason


def test_a_token_signed_by_another_key_or_tampered_is_refused(key: Ed25519PrivateKey) -> None:
    other = issue(Ed25519PrivateKey.generate(), kid="k1", store="s1", now=NOW)
    with pytest.raises(TokenRefused, match="bad signature"):
        verifier(key).verify(other)
    head, claims, sig = issue(key, kid="k1", store="s1", now=NOW).split(".")
    forged = issue(key, kid="k1", store="s1", party=4, now=NOW).split(".")[1]
    with pytest.raises(TokenRefused, match="bad signature"):
        verifier(key).verify(f"{head}.{forged}.{sig}")
    for junk in ("", "hello", "SH1.a.b", "SH2." + claims + "." + sig):
        with pytest.raises(TokenRefused):
            verifier(key).verify(junk)


def test_a_token_is_used_once_even_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "hub.db"
    conn = connect_writer(path)
    tokens.use(conn, "jti-0000001", "ss-1", NOW)
    with pytest.raises(TokenRefused, match="already used"):
        tokens.use(conn, "jti-0000001", "ss-2", NOW)
    conn.close()
    again = sqlite3.connect(path)
    with pytest.raises(TokenRefused, match="already used"):
        tokens.use(again, "jti-0000001", "ss-3", NOW)
    again.close()


def test_keys_published_by_hq_are_read_back(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    conn = connect_writer(tmp_path / "hub.db")
    text = tokens.public_key_text(key)
    conn.execute(
        "INSERT INTO sync_documents(type, key, version, data, updated) VALUES (?,?,?,?,?)",
        ("entry_key", "k7", 1, f'{{"public_key": "{text}"}}', NOW),
    )
    assert tokens.stored_keys(conn) == {"k7": text}
    with pytest.raises(ValueError, match="Ed25519"):
        tokens.load_public_key("bm90IGEga2V5")

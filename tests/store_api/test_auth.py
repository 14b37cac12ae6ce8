"""Tokens (hub/auth.py) and the API's auth: the matrix over every write endpoint."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from hub import auth
from hub.db import migrate
from hub.hub import Hub
from hub.migrations import MIGRATIONS
from tests.store_api.conftest import Tokens, bearer, make_token, raise_alert
from tests.store_api.fake_engine import install_fake_engine

pytestmark = pytest.mark.integration


# -- hub/auth.py -----------------------------------------------------------------


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn)
    yield conn
    conn.close()


def test_tokens_are_stored_hashed_and_looked_up(db: sqlite3.Connection) -> None:
    token = auth.create_token(db, "li.wei", ["staff"], now=1.0)
    assert token.startswith("shb_") and len(token) > 40
    stored = db.execute("SELECT hash, scopes FROM api_tokens").fetchone()
    assert stored == (auth.hash_token(token), "staff")
    assert token not in str(db.execute("SELECT * FROM api_tokens").fetchall())
    who = auth.lookup(db, token)
    assert who is not None and who.name == "li.wei" and who.scopes == {"staff"}
    assert auth.lookup(db, token + "x") is None
    assert auth.lookup(db, "not-even-prefixed") is None


def test_admin_implies_every_scope() -> None:
    admin = auth.Principal(name="a", scopes=frozenset({"admin"}))
    staff = auth.Principal(name="s", scopes=frozenset({"staff"}))
    assert all(admin.allows(s) for s in auth.SCOPES)
    assert staff.allows("staff") and not staff.allows("hq") and not staff.allows("admin")


def test_names_are_unique_among_active_tokens(db: sqlite3.Connection) -> None:
    auth.create_token(db, "kiosk-tablet", ["staff"], now=1.0)
    with pytest.raises(auth.TokenError, match="exists"):
        auth.create_token(db, "kiosk-tablet", ["staff"], now=2.0)
    auth.revoke_token(db, "kiosk-tablet", now=3.0)
    again = auth.create_token(db, "kiosk-tablet", ["hq"], now=4.0)
    assert auth.lookup(db, again) is not None
    assert [t.scopes for t in auth.list_tokens(db)] == [["hq"]]
    assert len(auth.list_tokens(db, revoked=True)) == 2


@pytest.mark.parametrize(
    ("name", "scopes", "match"),
    [
        ("bad name", ["staff"], "bad token name"),
        ("", ["staff"], "bad token name"),
        ("ok", [], "scopes"),
        ("ok", ["root"], "scopes"),
    ],
)
def test_bad_tokens_are_refused(
    db: sqlite3.Connection, name: str, scopes: list[Any], match: str
) -> None:
    with pytest.raises(auth.TokenError, match=match):
        auth.create_token(db, name, scopes, now=1.0)


def test_revoked_token_no_longer_works(db: sqlite3.Connection) -> None:
    token = auth.create_token(db, "gone", ["admin"], now=1.0)
    auth.revoke_token(db, "gone", now=2.0)
    assert auth.lookup(db, token) is None
    with pytest.raises(auth.TokenError, match="no active token"):
        auth.revoke_token(db, "gone", now=3.0)


def test_migrations_only_grow() -> None:
    assert len(MIGRATIONS) >= 3


# -- the matrix ------------------------------------------------------------------


@dataclass(frozen=True)
class Write:
    """A write endpoint: the scope it needs and a way to make a valid call of it."""

    id: str
    scope: str  # the lowest scope that may call it
    path: str
    body: dict[str, Any] | None = None
    ok: int = 200
    needs_alert: bool = False


WRITES = [
    Write("alert-ack", "staff", "/alerts/{alert}/ack", needs_alert=True),
    Write("alert-resolve", "staff", "/alerts/{alert}/resolve", needs_alert=True),
    Write(
        "alert-assign", "staff", "/alerts/{alert}/assign", {"assignee": "li.wei"}, needs_alert=True
    ),
    Write(
        "alert-note",
        "staff",
        "/alerts/{alert}/notes",
        {"text": "on my way"},
        ok=201,
        needs_alert=True,
    ),
    Write(
        "door-open", "staff", "/devices/door-in/commands/open", {"args": {"seconds": 3}, "ttl": 0.2}
    ),
    Write("door-lock", "admin", "/devices/door-in/commands/lock", {"ttl": 0.2}),
    Write(
        "gate-alarm",
        "admin",
        "/devices/gate-out/commands/alarm",
        {"args": {"pattern": "attention", "seconds": 1}, "ttl": 0.2},
    ),
    Write("rules-reload", "admin", "/rules/reload"),
    Write("rule-enable", "admin", "/rules/offline/enable"),
    Write("rule-disable", "admin", "/rules/offline/disable"),
]

# Who may call an endpoint that needs ``scope``.
ALLOWED = {"staff": {"staff", "admin"}, "admin": {"admin"}}


@pytest.fixture
def engine(hub: Hub, monkeypatch: pytest.MonkeyPatch) -> Any:
    return install_fake_engine(hub, monkeypatch)


@pytest.mark.parametrize("caller", ["none", "bad", "revoked", "staff", "hq", "admin"])
@pytest.mark.parametrize("write", WRITES, ids=[w.id for w in WRITES])
async def test_auth_matrix(
    hub: Hub, client: httpx.AsyncClient, tokens: Tokens, engine: Any, write: Write, caller: str
) -> None:
    path = write.path
    if write.needs_alert:
        path = path.format(alert=await raise_alert(hub, f"matrix:{write.id}:{caller}"))
    headers: dict[str, str] = {}
    if caller == "bad":
        headers = bearer("shb_" + "x" * 43)
    elif caller == "revoked":
        token = await make_token(hub, "leaver", "admin")
        await hub.journal.call(lambda c: auth.revoke_token(c, "leaver", now=hub.clock()))
        headers = bearer(token)
    elif caller != "none":
        headers = bearer(tokens[caller])
    res = await client.post(path, json=write.body, headers=headers)
    if caller in ("none", "bad", "revoked"):
        assert res.status_code == 401, res.text
        assert res.headers["www-authenticate"] == "Bearer"
        assert "token" in res.json()["detail"]
    elif caller in ALLOWED[write.scope]:
        assert res.status_code == write.ok, res.text
    else:
        assert res.status_code == 403, res.text
        assert (
            caller in str(res.json()["detail"])
            or "may not" in res.json()["detail"]
            or "lacks" in res.json()["detail"]
        )


READS = [
    "/ready",
    "/status",
    "/me",
    "/metrics",
    "/devices",
    "/devices/door-in",
    "/devices/door-in/presence",
    "/journal",
    "/events",
    "/deadletter",
    "/deadletter/counts",
    "/alerts",
    "/rules",
]


@pytest.mark.parametrize("path", READS)
async def test_reads_need_a_token_of_any_scope(
    client: httpx.AsyncClient, tokens: Tokens, engine: Any, path: str
) -> None:
    assert (await client.get(path)).status_code == 401
    for scope in ("staff", "hq", "admin"):
        res = await client.get(path, headers=bearer(tokens[scope]))
        assert res.status_code == 200, (scope, res.text)


async def test_only_health_and_the_page_are_anonymous(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).json() == {"status": "ok"}
    page = await client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert (await client.get("/static/app.js")).status_code == 200
    spec = (await client.get("/openapi.json")).json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if path == "/health":
                assert "security" not in op
                continue
            assert op.get("security"), (method, path)
            assert "401" in op["responses"], (method, path)
            if method == "post":
                assert "403" in op["responses"], (method, path)


async def test_audit_log_is_admin_only(client: httpx.AsyncClient, tokens: Tokens) -> None:
    assert (await client.get("/audit", headers=bearer(tokens.staff))).status_code == 403
    assert (await client.get("/audit", headers=bearer(tokens.hq))).status_code == 403
    assert (await client.get("/audit", headers=bearer(tokens.admin))).status_code == 200


async def test_me_says_what_the_token_may_do(client: httpx.AsyncClient, tokens: Tokens) -> None:
    staff = (await client.get("/me", headers=bearer(tokens.staff))).json()
    assert staff == {
        "name": "floor-1",
        "scopes": ["staff"],
        "commands": ["door/open", "esl/led"],
        "alerts": True,
        "admin": False,
    }
    hq = (await client.get("/me", headers=bearer(tokens.hq))).json()
    assert hq["commands"] == [] and hq["alerts"] is False
    admin = (await client.get("/me", headers=bearer(tokens.admin))).json()
    assert admin["commands"] == ["*"] and admin["alerts"] and admin["admin"]

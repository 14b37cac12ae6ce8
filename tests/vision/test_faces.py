"""Shopper recognition on real photos: consent, enrolment, matching, encryption, retention."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import numpy as np
import pytest

from hub.journal import Journal
from tests.vision.conftest import astronaut, coffee, grace_hopper, jpeg
from vision.errors import ConsentError, ImageError, NoFace
from vision.faces.crypto import KEY_ENV, KEY_FILE, Sealer, VisionKeyError, load_key
from vision.faces.engine import FaceEngine
from vision.faces.service import FaceService, FaceSettings


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine()


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def faces(journal: Journal, tmp_path: Path, engine: FaceEngine, clock: Clock) -> FaceService:
    return FaceService(
        journal, tmp_path, settings=FaceSettings(retention_days=30), clock=clock, engine=engine
    )


def shifted(rgb: np.ndarray) -> np.ndarray:
    """The same person in another shot: mirrored, darker, scaled down."""
    import cv2

    img = np.asarray(cv2.resize(rgb[:, ::-1], None, fx=0.8, fy=0.8), np.float32)
    out: np.ndarray = np.clip(img * 0.8, 0, 255).astype(np.uint8)
    return out


async def test_no_consent_nothing_is_computed_or_stored(
    faces: FaceService, journal: Journal
) -> None:
    with pytest.raises(ConsentError):
        await faces.enrol("m-1", [jpeg(astronaut())])
    assert (
        await journal.call(lambda c: c.execute("SELECT count(*) FROM vision_faces").fetchone()[0])
        == 0
    )
    # Nobody enrolled: a frame is not even searched for faces.
    assert faces.identify(astronaut()) == []


async def test_enrol_then_recognise_the_member_and_not_a_stranger(faces: FaceService) -> None:
    await faces.grant("m-1", text_version="face-v1", by="li.wei", channel="counter")
    assert await faces.enrol("m-1", [jpeg(astronaut())]) == 1
    [match] = faces.identify(shifted(astronaut()))
    assert match.member == "m-1" and match.score > 0.5
    [stranger] = faces.identify(grace_hopper())
    assert stranger.member is None  # explicit "unknown"
    assert stranger.distance > faces.settings.tolerance
    assert faces.identify(coffee()) == []


async def test_enrolment_needs_exactly_one_face(faces: FaceService) -> None:
    await faces.grant("m-1", text_version="face-v1", by="li.wei")
    with pytest.raises(NoFace):
        await faces.enrol("m-1", [jpeg(coffee())])
    with pytest.raises(ImageError):
        await faces.enrol("m-1", [b"not an image"])
    both = np.concatenate([astronaut(), grace_hopper()[:512, :512]], axis=1)
    with pytest.raises(NoFace, match="2 faces"):
        await faces.enrol("m-1", [jpeg(both)])


async def test_embeddings_are_encrypted_at_rest_with_a_key_outside_the_db(
    faces: FaceService, journal: Journal, tmp_path: Path
) -> None:
    await faces.grant("m-1", text_version="face-v1", by="li.wei")
    await faces.enrol("m-1", [jpeg(astronaut())])
    [blob] = await journal.call(
        lambda c: [r[0] for r in c.execute("SELECT embedding FROM vision_faces")]
    )
    key = tmp_path / KEY_FILE
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert bytes(blob).startswith(b"gAAAAA")  # a Fernet token, not 512 bytes of floats
    with pytest.raises(ValueError, match="reshape"):
        np.frombuffer(bytes(blob), np.float32).reshape(128)
    # The database file alone holds neither the key nor any raw float vector.
    db = (tmp_path / "hub.db").read_bytes()
    assert key.read_bytes().strip() not in db
    # Nothing biometric went into the journal or its cloud outbox.
    rows = await journal.call(lambda c: c.execute("SELECT data FROM journal").fetchall())
    assert all("embedding" not in r[0] for r in rows)
    assert await journal.call(lambda c: c.execute("SELECT count(*) FROM outbox").fetchone()[0]) == 0
    # Another key cannot open it.
    from cryptography.fernet import Fernet

    with pytest.raises(VisionKeyError):
        Sealer(Fernet.generate_key()).open(bytes(blob))


async def test_withdrawal_deletes_the_embeddings_at_once(
    faces: FaceService, journal: Journal
) -> None:
    await faces.grant("m-1", text_version="face-v1", by="li.wei")
    await faces.enrol("m-1", [jpeg(astronaut()), jpeg(shifted(astronaut()))])
    assert faces.enrolled == 2
    assert await faces.withdraw("m-1", by="m-1") == 2
    assert faces.enrolled == 0 and not faces.has_consent("m-1")
    assert (
        await journal.call(lambda c: c.execute("SELECT count(*) FROM vision_faces").fetchone()[0])
        == 0
    )
    [record] = await faces.consents("m-1")
    assert record.withdrawn is not None and record.text_version == "face-v1"  # proof kept
    assert faces.identify(astronaut()) == []
    with pytest.raises(ConsentError):
        await faces.enrol("m-1", [jpeg(astronaut())])


async def test_retention_purge(faces: FaceService, journal: Journal, clock: Clock) -> None:
    await faces.grant("m-1", text_version="face-v1", by="li.wei")
    await faces.enrol("m-1", [jpeg(astronaut())])
    clock.now += 29 * 86400
    assert await faces.purge() == 0
    clock.now += 2 * 86400
    assert await faces.purge() == 1
    assert faces.enrolled == 0
    assert (
        await journal.call(lambda c: c.execute("SELECT count(*) FROM vision_faces").fetchone()[0])
        == 0
    )


async def test_a_restart_reloads_and_decrypts(
    faces: FaceService, journal: Journal, tmp_path: Path, engine: FaceEngine
) -> None:
    await faces.grant("m-1", text_version="face-v1", by="li.wei")
    await faces.enrol("m-1", [jpeg(astronaut())])
    again = FaceService(journal, tmp_path, engine=engine, clock=faces.clock)
    await again.load()
    assert again.enrolled == 1 and again.has_consent("m-1")
    [match] = again.identify(astronaut())
    assert match.member == "m-1"


def test_key_from_the_environment_and_bad_keys(tmp_path: Path) -> None:
    from cryptography.fernet import Fernet

    key = Fernet.generate_key()
    assert load_key(tmp_path, env={KEY_ENV: key.decode()}) == key
    assert not (tmp_path / KEY_FILE).exists()  # the environment's key wins; no file made
    with pytest.raises(VisionKeyError):
        load_key(tmp_path, env={KEY_ENV: "short"})
    made = load_key(tmp_path, env={})
    assert load_key(tmp_path, env={}) == made
    assert oct(os.stat(tmp_path / KEY_FILE).st_mode & 0o777) == "0o600"


def test_the_vision_tables_come_from_the_hub_migrations(tmp_path: Path) -> None:
    # The vision tables come from hub/db.py's migrations.
    from hub.db import connect_writer

    conn = connect_writer(tmp_path / "x.db")
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"vision_consents", "vision_faces", "vision_plates"} <= tables
    conn.close()
    assert isinstance(conn, sqlite3.Connection)

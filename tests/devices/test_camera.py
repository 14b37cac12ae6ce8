"""The camera kind: config, frame sources and the pump (bounded queue, drops counted)."""

from __future__ import annotations

import asyncio
import http.server
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
import pytest
from pydantic import BaseModel, ValidationError

from devices.camera.codec import CODEC, Items
from devices.camera.config import CameraConfig
from devices.camera.pump import Frame, PumpStats, pump
from devices.camera.sources import (
    DirectorySource,
    SnapshotSource,
    SourceError,
    Ticker,
    _redact,
    open_source,
)
from hub.errors import PayloadError


def test_config_needs_a_source_unless_onboard_ai() -> None:
    with pytest.raises(ValidationError, match="needs a `source`"):
        CameraConfig(id="cam-1")
    assert CameraConfig(id="cam-1", onboard_ai=True).tasks == ["items"]
    with pytest.raises(ValidationError):
        CameraConfig(id="cam-1", source="x", tasks=["teleport"])


def test_onboard_ai_events_decode_through_the_codec() -> None:
    payload = (
        b'{"ts": 1.0, "seq": 3, "total": 2, "counts": [{"gtin": "06901234567892",'
        b' "count": 2, "score": 0.9}]}'
    )
    items = CODEC.decode_event("items", payload)
    assert isinstance(items, Items) and items.counts[0].count == 2
    with pytest.raises(PayloadError):
        CODEC.decode_event("items", b'{"ts": 1.0, "seq": 3, "total": 1, "counts": [{"gtin": "1"}]}')


def write_frames(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        img = np.full((48, 64, 3), i * 20 % 255, np.uint8)
        cv2.imwrite(str(folder / f"{i:03d}.png"), img)


def test_directory_source_plays_in_order_and_loops(tmp_path: Path) -> None:
    write_frames(tmp_path, 3)
    src = DirectorySource(tmp_path)
    frames = [src.read() for _ in range(4)]
    assert [int(f[0, 0, 0]) for f in frames[:3] if f is not None] == [0, 20, 40]
    assert frames[3] is None
    looping = DirectorySource(tmp_path, loop=True)
    assert all(looping.read() is not None for _ in range(7))


def test_video_file_source_samples(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), 10.0, (64, 48))
    for i in range(20):
        writer.write(np.full((48, 64, 3), i * 10, np.uint8))
    writer.release()
    src = open_source(str(path), fps=2.0)  # 10 fps file, 2 fps wanted: every 5th frame
    n = 0
    while src.read() is not None:
        n += 1
    src.close()
    assert n == 4


def test_unknown_source_fails(tmp_path: Path) -> None:
    with pytest.raises(SourceError):
        open_source(str(tmp_path / "nope"), fps=1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no images"):
        open_source(str(tmp_path / "empty"), fps=1)


@pytest.fixture
def snapshot_server(tmp_path: Path) -> Iterator[str]:
    _, jpeg = cv2.imencode(".jpg", np.full((32, 32, 3), 200, np.uint8))
    body = jpeg.tobytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path != "/snapshot.jpg":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_http_snapshot_source(snapshot_server: str) -> None:
    src = open_source(f"{snapshot_server}/snapshot.jpg", fps=1, timeout=2)
    assert isinstance(src, SnapshotSource)
    frame = src.read()
    assert frame is not None and frame.shape == (32, 32, 3)
    src.close()
    missing = SnapshotSource(f"{snapshot_server}/nope", timeout=2)
    with pytest.raises(SourceError):
        missing.read()
    missing.close()


def test_passwords_are_redacted_from_logs() -> None:
    assert _redact("rtsp://admin:secret@10.0.0.5/stream1") == "rtsp://***@10.0.0.5/stream1"
    assert _redact("http://cam/snap.jpg") == "http://cam/snap.jpg"


def test_ticker_paces_without_drift() -> None:
    now = [0.0]
    t = Ticker(2.0, clock=lambda: now[0])
    assert t.delay() == 0.5
    now[0] = 0.9  # a slow read: the next frame is due sooner
    assert t.delay() == pytest.approx(0.1)
    now[0] = 5.0  # far behind: no burst to catch up
    assert t.delay() == 0.0


class FakeSource:
    def __init__(self, n: int) -> None:
        self.n = n
        self.closed = False

    def read(self) -> np.ndarray | None:
        if self.n == 0:
            return None
        self.n -= 1
        return np.zeros((4, 4, 3), np.uint8)

    def close(self) -> None:
        self.closed = True


class Marker(BaseModel):
    index: int


async def test_slow_analysis_drops_the_oldest_frames_and_counts_them() -> None:
    emitted: list[int] = []

    def slow(frame: Frame) -> Sequence[tuple[str, BaseModel]]:
        time.sleep(0.05)  # much slower than 200 frames per second
        return [("marker", Marker(index=frame.index))]

    async def emit(name: str, payload: BaseModel) -> None:
        assert isinstance(payload, Marker)
        emitted.append(payload.index)

    source = FakeSource(40)
    stats = await pump(lambda: source, slow, emit, camera="cam", zone=None, fps=200, queue=2)
    assert stats.read == 40
    assert stats.dropped > 0 and stats.analysed + stats.dropped == 40
    assert emitted == sorted(emitted) and emitted[-1] == 39  # the freshest frame is analysed
    assert source.closed


async def test_a_failing_frame_is_counted_not_fatal() -> None:
    def flaky(frame: Frame) -> Sequence[tuple[str, BaseModel]]:
        if frame.index == 1:
            raise RuntimeError("corrupt frame")
        return []

    async def emit(name: str, payload: BaseModel) -> None:
        return None

    stats = await pump(
        lambda: FakeSource(3), flaky, emit, camera="cam", zone=None, fps=100, queue=8
    )
    assert (stats.analysed, stats.errors) == (2, 1)


async def test_live_source_reconnects_with_backoff() -> None:
    opened = 0

    def opener() -> FakeSource:
        nonlocal opened
        opened += 1
        if opened < 3:
            raise SourceError("camera unreachable")
        return FakeSource(2)

    async def emit(name: str, payload: BaseModel) -> None:
        return None

    stats = PumpStats()
    task = asyncio.create_task(
        pump(
            opener,
            lambda f: [],
            emit,
            camera="cam",
            zone=None,
            fps=50,
            queue=2,
            live=True,
            stats=stats,
        )
    )
    try:
        from tests.conftest import eventually

        await eventually(lambda: stats.read == 2, timeout=5)
        assert stats.reconnects == 2
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

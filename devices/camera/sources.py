"""Frame sources: RTSP streams, HTTP snapshots, video files and image directories.

Every source is blocking (OpenCV, httpx) and is only ever called from a worker
thread.  ``read()`` returns the next frame to analyse as a BGR ``uint8`` array, or
``None`` when a finite source (file, directory) has ended; a live source that fails
raises :class:`SourceError` and the pump reconnects with back-off.

Sampling happens here, where it is cheap: a video file skips frames with ``grab()``
(no decoding), and an RTSP source keeps decoding in its own thread and hands out only
the latest frame, so a slow analyser never makes the stream lag behind reality.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hub.errors import HubError

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Image = NDArray[np.uint8]
else:
    Image = Any

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp"})


class SourceError(HubError):
    """A frame source cannot be opened or read."""


class FrameSource(Protocol):
    def read(self) -> Image | None: ...

    def close(self) -> None: ...


def _cv2() -> Any:
    try:
        import cv2
    except ModuleNotFoundError as exc:  # the optional "vision" extra is not installed
        raise SourceError("OpenCV is not installed (pip install 'storehub[vision]')") from exc
    return cv2


def decode_image(data: bytes) -> Image:
    """JPEG/PNG bytes → BGR array; :class:`SourceError` if it is not an image."""
    import numpy as np

    cv2 = _cv2()
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        raise SourceError("not a decodable image")
    return img  # type: ignore[no-any-return]


class DirectorySource:
    """Images of a directory in name order: a camera made of generated frames."""

    def __init__(self, path: Path, *, loop: bool = False) -> None:
        self.files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not self.files:
            raise SourceError(f"{path}: no images")
        self.loop = loop
        self._i = 0

    def read(self) -> Image | None:
        if self._i >= len(self.files):
            if not self.loop:
                return None
            self._i = 0
        path = self.files[self._i]
        self._i += 1
        return decode_image(path.read_bytes())

    def close(self) -> None:
        return None


class VideoFileSource:
    """A video file, sampled at ``fps`` by skipping frames without decoding them."""

    def __init__(self, path: Path, fps: float, *, loop: bool = False) -> None:
        cv2 = _cv2()
        self._cv2 = cv2
        self.cap = cv2.VideoCapture(str(path))
        if not self.cap.isOpened():
            raise SourceError(f"{path}: cannot open video")
        native = float(self.cap.get(cv2.CAP_PROP_FPS) or 0) or fps
        self.stride = max(1, round(native / fps))
        self.loop = loop

    def read(self) -> Image | None:
        for _ in range(self.stride - 1):
            if not self.cap.grab():
                break
        ok, frame = self.cap.read()
        if not ok and self.loop:
            self.cap.set(self._cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self.cap.read()
        return frame if ok else None

    def close(self) -> None:
        self.cap.release()


class StreamSource:
    """An RTSP (or any live OpenCV) stream: decoded continuously in a daemon thread;
    ``read()`` returns the newest frame not handed out yet."""

    def __init__(self, url: str, *, timeout: float) -> None:
        cv2 = _cv2()
        self.cap = cv2.VideoCapture(url)
        if not self.cap.isOpened():
            raise SourceError(f"{_redact(url)}: cannot open stream")
        self.cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self.timeout = timeout
        self._latest: Image | None = None
        self._fresh = threading.Condition()
        self._failed = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="camera-stream", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop:
            ok, frame = self.cap.read()
            with self._fresh:
                if not ok:
                    self._failed = True
                    self._fresh.notify_all()
                    return
                self._latest = frame
                self._fresh.notify_all()

    def read(self) -> Image | None:
        with self._fresh:
            if self._latest is None and not self._failed:
                self._fresh.wait(self.timeout)
            if self._latest is None:
                raise SourceError("stream ended or stalled")
            frame, self._latest = self._latest, None
            return frame

    def close(self) -> None:
        self._stop = True
        self.cap.release()


class SnapshotSource:
    """An HTTP(S) snapshot URL, fetched once per frame (cameras' ``/snapshot.jpg``)."""

    def __init__(self, url: str, *, timeout: float) -> None:
        import httpx

        self.url = url
        self.client = httpx.Client(timeout=timeout, follow_redirects=True)

    def read(self) -> Image | None:
        import httpx

        try:
            response = self.client.get(self.url)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise SourceError(f"{_redact(self.url)}: {exc}") from exc
        return decode_image(response.content)

    def close(self) -> None:
        self.client.close()


def _redact(url: str) -> str:
    """The URL without a password (``rtsp://user:secret@cam/...``) for logs."""
    scheme, sep, rest = url.partition("://")
    if sep and "@" in rest.split("/", 1)[0]:
        rest = "***@" + rest.split("@", 1)[1]
    return scheme + sep + rest


def open_source(
    spec: str, *, fps: float, loop: bool = False, timeout: float = 5.0, base: Path | None = None
) -> FrameSource:
    """The source ``spec`` names: ``rtsp://``/``rtmp://`` stream, ``http(s)://`` snapshot,
    a directory of images, or a video file (relative paths are taken from ``base``)."""
    scheme = spec.partition("://")[0].lower() if "://" in spec else ""
    if scheme in ("rtsp", "rtsps", "rtmp"):
        return StreamSource(spec, timeout=timeout)
    if scheme in ("http", "https"):
        return SnapshotSource(spec, timeout=timeout)
    path = Path(spec[7:] if scheme == "file" else spec)
    if not path.is_absolute() and base is not None:
        path = base / path
    if path.is_dir():
        return DirectorySource(path, loop=loop)
    if path.is_file():
        return VideoFileSource(path, fps, loop=loop)
    raise SourceError(f"{spec}: no such file, directory or supported URL")


class Ticker:
    """Paces reads at ``fps`` without drifting (a slow read shortens the next wait)."""

    def __init__(self, fps: float, clock: Any = time.monotonic) -> None:
        self.period = 1.0 / fps
        self.clock = clock
        self.next = clock()

    def delay(self) -> float:
        now = self.clock()
        self.next = max(self.next + self.period, now)
        return max(0.0, float(self.next - now))

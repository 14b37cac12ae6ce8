"""Run the reference cloud: in a background thread (tests, benchmarks) or as a process."""

from __future__ import annotations

import socket
import threading
import time
from pathlib import Path
from types import TracebackType

import uvicorn

from simulators.cloud.app import CloudApp
from simulators.cloud.db import CloudStore


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_server(
    app: CloudApp, host: str, port: int, *, log_level: str = "warning"
) -> uvicorn.Server:
    config = uvicorn.Config(
        app.asgi,
        host=host,
        port=port,
        log_level=log_level,
        lifespan="off",
        ws="none",
        access_log=False,
        timeout_graceful_shutdown=1,
        # A long poll outlives the default keep-alive; the client reconnects anyway.
        timeout_keep_alive=30,
    )
    return uvicorn.Server(config)


class CloudServer:
    """``with CloudServer(db) as cloud:`` — a real HTTP server on a loopback port,
    in a thread of this process; ``cloud.app`` arms faults and reads what arrived."""

    def __init__(
        self,
        db: Path,
        *,
        port: int | None = None,
        tokens: dict[str, str] | None = None,
        seed: int | None = 0,
    ) -> None:
        self.port = port or free_port()
        self.store = CloudStore(db)
        self.app = CloudApp(self.store, tokens=tokens, seed=seed)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> CloudServer:
        self._server = make_server(self.app, "127.0.0.1", self.port)
        self._thread = threading.Thread(target=self._server.run, name="cloud", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the reference cloud did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
        self._server = None
        self._thread = None

    def __enter__(self) -> CloudServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        self.store.close()

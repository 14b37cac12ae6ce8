"""The store API as a hub plugin: uvicorn serving :func:`create_app` in the hub's task group.

The hub owns signals (Ctrl-C, SIGTERM cancel it, and it cancels us): uvicorn is
told not to install handlers.  A port that cannot be bound is logged and the
hub runs on without its API — doors and gates matter more than the dashboard.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING

import uvicorn
from fastapi import FastAPI

from store_api.app import create_app

if TYPE_CHECKING:
    from hub.hub import Hub

log = logging.getLogger("storehub.api")

#: Seconds open connections get to finish when the API stops.
GRACE_S = 3.0


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.app = app

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # The hub handles signals; uvicorn's own handlers would steal Ctrl-C from it.
        yield

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        # End the live streams first, or uvicorn would wait on them for the grace period.
        api = getattr(self.app.state, "api", None)
        if api is not None:
            api.closing.set()
        await super().shutdown(sockets)


def bind(host: str, port: int) -> socket.socket:
    family, type_, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, type_, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock


async def plugin(hub: Hub) -> None:
    """Serve the store API on ``api.host`` and the hub's API port until cancelled (port 0:
    no API)."""
    host, port = hub.config.store.api.host, hub.config.api_port
    if port == 0:
        return
    try:
        sock = bind(host, port)
    except OSError as exc:
        log.error("store API cannot listen on %s:%d (%s); running without it", host, port, exc)
        return
    try:
        await _serve(hub, sock, host, port)
    finally:
        sock.close()


async def _serve(hub: Hub, sock: socket.socket, host: str, port: int) -> None:
    app = create_app(hub)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        lifespan="on",
        access_log=False,  # ?token= (the live stream) must not end up in logs; writes are audited
        timeout_graceful_shutdown=int(GRACE_S),
        server_header=False,
    )
    server = _Server(config, app)
    log.info("store API on http://%s:%d/ (OpenAPI at /docs)", host, port)
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        await asyncio.shield(serving)
    except asyncio.CancelledError:
        server.should_exit = True
        done, _ = await asyncio.wait({serving}, timeout=GRACE_S + 2)
        if not done:
            serving.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await serving
        raise

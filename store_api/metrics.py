"""``/metrics``: the hub's registry plus the API's own (kept apart so that an app
can come and go, or two can serve one hub, without clashing names).

The API adds: requests by route and status, request latency, live streams and
what slow streams dropped, and live alerts by status and severity.  Rule
timings come from the rules engine's own collector in the hub's registry.
"""

from __future__ import annotations

import logging
import time
from collections import Counter as Tally
from collections.abc import Iterable
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from hub.hub import Hub

log = logging.getLogger("storehub.api.metrics")


class ApiMetrics:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.registry = r = CollectorRegistry()
        self.requests = Counter(
            "storehub_api_requests_total",
            "API requests",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "storehub_api_request_seconds",
            "API request time (streams excluded)",
            ["route"],
            registry=r,
        )
        self.streams = Gauge("storehub_api_streams", "Live event streams open", registry=r)
        self.stream_dropped = Counter(
            "storehub_api_stream_dropped_total", "Events slow streams dropped", registry=r
        )
        r.register(_StateCollector(hub))

    def render(self) -> bytes:
        return generate_latest(self.hub.metrics.registry) + generate_latest(self.registry)


class _StateCollector(Collector):
    """Gauges read from the hub at scrape time."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def collect(self) -> Iterable[Metric]:
        live = GaugeMetricFamily(
            "storehub_alerts_live", "Unresolved alerts", labels=["status", "severity"]
        )
        tally = Tally((a.status, a.severity) for a in self.hub.alerts.live())
        for (status, severity), n in sorted(tally.items()):
            live.add_metric([status, severity], n)
        yield live


class MetricsMiddleware:
    """Counts requests by route template (not raw path: ids would explode the labels)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            state = getattr(scope["app"].state, "api", None)
            if state is not None:
                route = getattr(scope.get("route"), "path", None) or "(unmatched)"
                state.metrics.requests.labels(scope["method"], route, str(status)).inc()
                if route != "/stream":
                    state.metrics.latency.labels(route).observe(time.perf_counter() - start)

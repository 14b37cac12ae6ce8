"""Prometheus metrics of one hub (its own registry, so several hubs can share a process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.events_in = Counter(
            "storehub_events_total", "Device events accepted", ["kind", "name"], registry=r
        )
        self.duplicates = Counter(
            "storehub_duplicates_total", "QoS 1 redeliveries dropped", registry=r
        )
        self.deadletters = Counter(
            "storehub_deadletter_total", "Messages rejected", ["device", "reason"], registry=r
        )
        self.commands = Counter(
            "storehub_commands_total", "Commands by outcome", ["name", "outcome"], registry=r
        )
        self.command_latency = Histogram(
            "storehub_command_seconds", "Command round trip", ["name"], registry=r
        )
        self.alerts = Counter(
            "storehub_alerts_total", "Alerts raised", ["kind", "severity"], registry=r
        )
        self.mqtt_reconnects = Counter(
            "storehub_mqtt_reconnects_total", "MQTT reconnects", registry=r
        )
        self.queue_depth = Gauge(
            "storehub_queue_depth", "Items waiting in a queue", ["queue"], registry=r
        )
        self.devices_online = Gauge(
            "storehub_devices_online", "Devices online", ["kind"], registry=r
        )
        self.broker_restarts = Gauge(
            "storehub_broker_restarts", "Managed broker restarts", registry=r
        )

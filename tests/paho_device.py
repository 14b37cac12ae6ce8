"""A device written against ../shared/CONTRACT.md alone: plain paho, no project code.

Used by the integration tests as the black-box stand-in for third-party hardware.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion


class PahoDevice:
    def __init__(
        self,
        store: str,
        dev: str,
        kind: str,
        port: int,
        *,
        username: str | None = None,
        password: str | None = None,
        auto_reply: bool = True,
    ) -> None:
        self.store, self.dev, self.kind = store, dev, kind
        self.base = f"store/{store}/device/{dev}"
        self.seq = int(time.time() * 1000)
        self.messages: list[tuple[str, dict[str, Any] | bytes]] = []
        self.commands: list[dict[str, Any]] = []
        self.auto_reply = auto_reply
        self.seen_ids: set[str] = set()
        self.connected = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=dev)
        if username:
            c.username_pw_set(username, password)
        c.will_set(f"{self.base}/state", json.dumps({"online": False}), qos=1, retain=True)
        c.on_message = self._on_message
        c.on_connect = lambda *a: self.connected.set()
        self.client = c
        self.port = port

    def start(self, subscribe: str | None = None) -> PahoDevice:
        self.client.connect("127.0.0.1", self.port, keepalive=5)
        self.client.loop_start()
        if not self.connected.wait(5):
            raise RuntimeError("device could not connect")
        self.client.subscribe(subscribe or f"{self.base}/command/#", qos=1)
        return self

    def birth(self) -> None:
        self.publish(
            f"{self.base}/state",
            {"online": True, "kind": self.kind, "model": "paho", "fw": "1.0", "ts": time.time()},
            retain=True,
        )

    def event(self, name: str, **fields: Any) -> int:
        self.seq += 1
        self.publish(f"{self.base}/event/{name}", {"ts": time.time(), "seq": self.seq, **fields})
        return self.seq

    def publish(self, topic: str, body: Any, *, retain: bool = False) -> None:
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(5)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        body: dict[str, Any] | bytes
        try:
            body = json.loads(msg.payload)
        except ValueError:
            body = bytes(msg.payload)
        self.messages.append((msg.topic, body))
        if "/command/" in msg.topic and isinstance(body, dict):
            self.commands.append({"name": msg.topic.rsplit("/", 1)[1], **body})
            if not self.auto_reply:
                return
            ok, error = True, None
            if body["id"] in self.seen_ids:
                ok, error = False, "duplicate"
            elif body["expires"] < time.time():
                ok, error = False, "expired"
            self.seen_ids.add(body["id"])
            client.publish(
                f"{self.base}/reply",
                json.dumps({"id": body["id"], "ok": ok, "error": error}),
                qos=1,
            )

    def vanish(self) -> None:
        """Drop off without a clean disconnect: the broker publishes the will."""
        sock = self.client.socket()
        self.client.loop_stop()
        if isinstance(sock, socket.socket):
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

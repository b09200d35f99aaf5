"""Real receivers on loopback for the monitoring tests: a webhook endpoint (http.server), an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict
    body: bytes  # the raw body, as signed

    @property
    def event(self) -> dict:
        return json.loads(self.body)


class WebhookReceiver:
    """Answers 500 to its first `fail_first` requests, then 204; keeps every request it got."""

    def __init__(self, port: int = 0, fail_first: int = 0):
        self.fail_first = fail_first
        self.attempts: list[Received] = []  # every request, failed or not
        self.events: list[Received] = []  # the requests it accepted
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                got = Received({k.lower(): v for k, v in self.headers.items()}, body)
                with receiver._lock:
                    receiver.attempts.append(got)
                    accept = len(receiver.attempts) > receiver.fail_first
                    if accept:
                        receiver.events.append(got)
                self.send_response(204 if accept else 500)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def of(self, incident_id: str) -> list[dict]:
        with self._lock:
            return [r.event for r in self.events if r.event["incident"]["id"] == incident_id]

    def types(self, incident_id: str) -> list[str]:
        return [e["type"] for e in self.of(incident_id)]


@dataclass
class Mail:
    rcpt: list[str]
    message: Message


@dataclass
class SmtpSink:
    """An SMTP server on loopback keeping every message it receives."""

    messages: list[Mail] = field(default_factory=list)

    def __post_init__(self):
        from aiosmtpd.controller import Controller

        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                sink.messages.append(Mail(list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
                return "250 Message accepted for delivery"

        with socket.socket() as s:  # the controller checks its port by connecting: it needs a real one
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def to(self, address: str, incident_id: str | None = None) -> list[Mail]:
        return [m for m in list(self.messages) if address in m.rcpt
                and (incident_id is None or m.message["X-OpenMaaS-Incident"] == incident_id)]

    def stop(self) -> None:
        self.controller.stop()


def wait_for(predicate, timeout: float = 60.0, interval: float = 0.1, what: str = "condition"):
    """Poll until `predicate()` is truthy and return its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)

"""Real receivers on loopback for the notification tests: an HTTP webhook receiver whose
answers are scripted (ok, 500, slow, hold), and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

#: How long a "slow" answer waits: far beyond the worker's timeout in these tests.
SLOW_S = 3.0


def free_port() -> int:
    """A loopback port nobody listens on (until someone does)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it (raw body bytes, as signed)."""

    headers: dict[str, str]
    body: bytes
    answer: str

    @property
    def delivery_id(self) -> str:
        return self.headers["X-Gis-Delivery"]


@dataclass
class Script:
    """What the receiver answers, request by request: "ok" (204), "500", "slow" (answers
    after :data:`SLOW_S`), "hold" (answers when :attr:`release` is set); then "ok"."""

    answers: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self, headers: dict[str, str], body: bytes) -> str:
        with self.lock:
            answer = self.answers.pop(0) if self.answers else "ok"
            self.received.append(Received(headers, body, answer))
        return answer

    def ids(self) -> list[str]:
        with self.lock:
            return [r.delivery_id for r in self.received]


def _handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            answer = script.next_answer(dict(self.headers.items()), body)
            if answer == "slow":
                time.sleep(SLOW_S)
            if answer == "hold":
                script.holding.set()
                script.release.wait(30)
            try:
                self.send_response(500 if answer == "500" else 204)
                self.end_headers()
                if answer == "500":
                    self.wfile.write(b"receiver failing on purpose")
            except OSError:
                pass  # the worker gave up (timeout) or was killed: nobody reads the answer

        def log_message(self, format: str, *args: Any) -> None:
            del format, args

    return Handler


@contextmanager
def http_receiver(script: Script, port: int = 0) -> Iterator[int]:
    """Serve ``script`` on ``port`` (0: any free one) for the block; yield the port."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(script))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        script.release.set()
        server.shutdown()
        server.server_close()


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        del server, session
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"


@contextmanager
def smtp_receiver(port: int) -> Iterator[list[EmailMessage]]:
    """An SMTP server on loopback ``port`` for the block; yield the messages it accepts."""
    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox.messages
    finally:
        controller.stop()


def wait_for(condition: Callable[[], bool], *, timeout_s: float = 30.0, step_s: float = 0.05) -> None:
    """Poll until ``condition()``; fail after ``timeout_s`` (a bound, not a measurement)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout_s:g} s: {condition}")
        time.sleep(step_s)

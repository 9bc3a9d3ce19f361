"""Real servers for delivery tests (also used by bench/notify.py): an SMTP server (aiosmtpd) that
records every message it accepts by Message-ID, and an HTTP gateway (http.server in a thread) that
checks the HMAC signature, records what it accepts by idempotency key, and can be told to fail."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from claimwise.notifications.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, verify


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Received:
    message_id: str
    to: list[str]
    subject: str
    body: str
    at: float


@dataclass
class SmtpRecorder:
    """aiosmtpd handler. `hold_rcpt_at=n` makes the n-th RCPT wait until `release` is set (so a test
    can kill the client in the middle of an SMTP transaction); `holding` is set while it waits."""

    received: list[Received] = field(default_factory=list)
    rcpts: int = 0
    hold_rcpt_at: int | None = None
    holding: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:  # noqa: N802
        with self.lock:
            self.rcpts += 1
            hold = self.rcpts == self.hold_rcpt_at
        if hold:
            self.holding.set()
            await asyncio.get_running_loop().run_in_executor(None, self.release.wait, 30)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        body = parsed.get_body(preferencelist=("plain",))
        with self.lock:
            self.received.append(
                Received(
                    message_id=str(parsed["Message-ID"]),
                    to=list(envelope.rcpt_tos),
                    subject=str(parsed["Subject"]),
                    body=body.get_content() if body is not None else "",
                    at=time.time(),
                )
            )
        return "250 Message accepted for delivery"

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(r.message_id for r in self.received)


class SmtpServer:
    def __init__(self) -> None:
        self.recorder = SmtpRecorder()
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.recorder.release.set()
        self.controller.stop()


@dataclass
class GatewayState:
    secret: str
    mode: str = "ok"  # "ok", or "503": answer 503 Service Unavailable to everything
    accepted: list[dict[str, Any]] = field(default_factory=list)
    keys: Counter[str] = field(default_factory=Counter)
    rejected_signatures: int = 0
    unavailable: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real gateway
    server: Any

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return

    def _answer(self, status: int, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:  # noqa: N802
        state: GatewayState = self.server.state
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if state.mode == "503":
            with state.lock:
                state.unavailable += 1
            self._answer(503, "down for maintenance")
            return
        timestamp = self.headers.get(TIMESTAMP_HEADER, "")
        signature = self.headers.get(SIGNATURE_HEADER, "")
        if not verify(state.secret, timestamp, body, signature):
            with state.lock:
                state.rejected_signatures += 1
            self._answer(401, "bad signature")
            return
        payload = json.loads(body)
        key = self.headers.get("Idempotency-Key", "")
        with state.lock:
            state.keys[key] += 1
            if state.keys[key] == 1:  # a real gateway drops a repeat of the same key
                state.accepted.append({**payload, "_at": time.time(), "_key": key})
        self._answer(200, "queued")


class Gateway:
    """A signature-checking gateway on 127.0.0.1; `stop()` then `start()` again on the same port
    simulates an outage where connections are refused."""

    def __init__(self, secret: str) -> None:
        self.state = GatewayState(secret=secret)
        self.port = free_port()
        self.httpd: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/send"

    def start(self) -> None:
        httpd = ThreadingHTTPServer(("127.0.0.1", self.port), _Handler)
        httpd.daemon_threads = True
        httpd.state = self.state  # type: ignore[attr-defined]
        self.httpd = httpd
        self.thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None

    def __enter__(self) -> Gateway:
        self.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

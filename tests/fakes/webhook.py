"""A webhook receiver on 127.0.0.1 for the notify integration tests, with fault switches.

It checks signatures the way an in-house receiver would (its own HMAC code, not
:func:`syndicator.notify.sign`, so a bug shared by both sides cannot pass), drops duplicate
``X-Syndicator-Delivery`` ids, and can be told to misbehave for the next N requests: answer 500,
429 with Retry-After, or 400; answer slowly; close the connection without answering.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import pytest

from tests.fakes._base import Running

__all__ = [
    "SECRET",
    "TOLERANCE_SECONDS",
    "FakeWebhook",
    "Received",
    "WebhookFactory",
    "webhook",
    "webhook_factory",
]

TOLERANCE_SECONDS = 300
SECRET = "whsec-test-4f1c9a"


@dataclass(frozen=True, slots=True)
class Received:
    """One delivery the receiver accepted (after signature checks and de-duplication)."""

    delivery_id: str
    event: str
    timestamp: int
    signature: str
    headers: dict[str, str]
    body: bytes

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body.decode("utf-8"))
        return data


@dataclass(frozen=True, slots=True)
class _Fault:
    action: str  # "status" | "slow" | "drop"
    status: int = 500
    retry_after: str | None = None
    delay: float = 0.0


class FakeWebhook(Running):
    """A threaded HTTP server verifying ``X-Syndicator-Signature`` with *secret*.

    Args:
        secret: the HMAC key the receiver expects.
        path: the path it listens on (other paths answer 404).
        clock: its wall clock, for the timestamp tolerance.
        reply_ids: answer an accepted delivery with its receiver-side ``id`` (``rcv-1`` …), as
            an in-house system that files it would.

    Attributes:
        received: accepted deliveries, each delivery id once.
        requests: every request that reached the handler, in order, as (status, delivery id).
    """

    def __init__(
        self,
        secret: str,
        *,
        path: str = "/hook",
        clock: Callable[[], float] = time.time,
        reply_ids: bool = False,
    ) -> None:
        self.secret = secret
        self.reply_ids = reply_ids
        self.path = path
        self.clock = clock
        self.received: list[Received] = []
        self.requests: list[tuple[int | None, str | None]] = []
        self._seen: set[str] = set()
        self._faults: deque[_Fault] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{self.path}"

    @property
    def duplicates(self) -> int:
        """Requests with a valid signature and an already recorded delivery id."""
        accepted = sum(1 for status, _ in self.requests if status == 200)
        return accepted - len(self.received)

    # -- fault switches -------------------------------------------------------------------

    def fail_next(
        self, count: int = 1, *, status: int = 500, retry_after: str | None = None
    ) -> None:
        """Answer the next *count* requests with *status* (JSON error body) before any check."""
        self._push(count, _Fault("status", status=status, retry_after=retry_after))

    def slow_next(self, count: int = 1, *, delay: float = 1.0) -> None:
        """Wait *delay* seconds before handling each of the next *count* requests."""
        self._push(count, _Fault("slow", delay=delay))

    def drop_next(self, count: int = 1) -> None:
        """Read each of the next *count* requests, then close the connection without answering."""
        self._push(count, _Fault("drop"))

    def _push(self, count: int, fault: _Fault) -> None:
        with self._lock:
            self._faults.extend([fault] * count)

    def _next_fault(self) -> _Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="fake-webhook", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(5)
        self._server.server_close()

    # -- the handler ----------------------------------------------------------------------

    def _verify(self, headers: dict[str, str], body: bytes) -> str | None:
        """The reason to reject, or None."""
        stamp = headers.get("x-syndicator-timestamp", "")
        given = headers.get("x-syndicator-signature", "")
        if not stamp.isdigit() or not given.startswith("sha256="):
            return "missing or malformed signature headers"
        if abs(self.clock() - int(stamp)) > TOLERANCE_SECONDS:
            return "timestamp outside tolerance"
        expected = hmac.new(
            self.secret.encode("utf-8"), stamp.encode("ascii") + b"." + body, hashlib.sha256
        ).hexdigest()
        if not hmac.compare_digest(given.removeprefix("sha256="), expected):
            return "bad signature"
        return None

    def _handle(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        delivery = headers.get("x-syndicator-delivery")
        fault = self._next_fault()
        if fault is not None and fault.action == "slow":
            if self._stopping.wait(fault.delay):
                return
            fault = None
        if fault is not None and fault.action == "drop":
            self._log(None, delivery)
            handler.close_connection = True
            return
        if fault is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            self._answer(handler, fault.status, {"error": "injected fault"}, extra, delivery)
            return
        if handler.path != self.path:
            self._answer(handler, 404, {"error": "not found"}, {}, delivery)
            return
        reason = self._verify(headers, body)
        if reason is not None:
            self._answer(handler, 401, {"error": reason}, {}, delivery)
            return
        with self._lock:
            duplicate = delivery in self._seen
            ident = next(
                (f"rcv-{i}" for i, r in enumerate(self.received, 1) if r.delivery_id == delivery),
                f"rcv-{len(self.received) + 1}",
            )
            if delivery is not None and not duplicate:
                self._seen.add(delivery)
                self.received.append(
                    Received(
                        delivery_id=delivery,
                        event=headers.get("x-syndicator-event", ""),
                        timestamp=int(headers["x-syndicator-timestamp"]),
                        signature=headers["x-syndicator-signature"],
                        headers=headers,
                        body=body,
                    )
                )
        answer: dict[str, Any] = {"ok": True, "duplicate": duplicate}
        if self.reply_ids:
            answer["id"] = ident
        self._answer(handler, 200, answer, {}, delivery)

    def _log(self, status: int | None, delivery: str | None) -> None:
        with self._lock:
            self.requests.append((status, delivery))

    def _answer(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any],
        headers: dict[str, str],
        delivery: str | None,
    ) -> None:
        self._log(status, delivery)
        data = json.dumps(payload).encode("utf-8")
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 5

            def do_POST(self) -> None:
                try:
                    fake._handle(self)
                except (BrokenPipeError, ConnectionResetError):
                    self.close_connection = True  # the client gave up (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler


WebhookFactory = Callable[..., FakeWebhook]


@pytest.fixture
def webhook_factory() -> Iterator[WebhookFactory]:
    """Start receivers on demand: ``webhook_factory(secret="…", path="/hook")``; all stopped."""
    started: list[FakeWebhook] = []

    def start(secret: str = SECRET, **options: Any) -> FakeWebhook:
        fake = FakeWebhook(secret, **options).start()
        started.append(fake)
        return fake

    yield start
    for fake in started:
        fake.stop()


@pytest.fixture
def webhook(webhook_factory: WebhookFactory) -> FakeWebhook:
    """A running receiver expecting the secret ``tests.fakes.webhook.SECRET``."""
    return webhook_factory()

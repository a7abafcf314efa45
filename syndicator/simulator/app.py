"""A raw ASGI app serving a mutable in-memory :class:`Portal` of :class:`Page` objects.

Raw ASGI rather than a framework: the benchmark farm serves thousands of requests a second from one
Python thread, and each page's response headers are prepared once, when the page is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from typing import Literal

from starlette.types import Message, Receive, Scope, Send

__all__ = ["LOOP_SUFFIX", "Behaviour", "Page", "Portal", "PortalApp", "PortalStats"]

Behaviour = Literal["normal", "redirect_loop", "endless", "drop"]

# A ``redirect_loop`` page at ``/p`` redirects to ``/p`` + LOOP_SUFFIX, which redirects back.
LOOP_SUFFIX = "~loop"
_ENDLESS_CHUNK = ("<p>" + "政府网站信息内容无限输出测试。" * 64 + "</p>\n").encode() * 21


@dataclass(frozen=True, slots=True, kw_only=True)
class Page:
    """What the portal answers at one path.

    Attributes:
        body: the response body, already encoded.
        content_type: the ``Content-Type`` header.
        etag: the ``ETag``; when ``None`` and ``auto_etag`` it is derived from the body.
        auto_etag: derive an ETag from the body when none is given (``False``: send no ETag).
        last_modified: sent as ``Last-Modified`` and honoured for ``If-Modified-Since``.
        status: the HTTP status of a ``normal`` page (429/503 pages may carry ``Retry-After``
            in ``headers``); conditional requests get 304 only on status 200.
        headers: extra response headers (``Cache-Control``, ``Retry-After``, ``Location`` …).
        delay: seconds to wait before answering (a slow server).
        behaviour: ``normal``; ``redirect_loop`` (302 to a second path that 302s back);
            ``endless`` (a body without ``Content-Length`` that never ends); ``drop`` (close
            the connection without answering).
    """

    body: bytes = b""
    content_type: str = "text/html; charset=utf-8"
    etag: str | None = None
    auto_etag: bool = True
    last_modified: datetime | None = None
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    behaviour: Behaviour = "normal"


@dataclass(frozen=True, slots=True)
class _Prepared:
    page: Page
    etag: bytes | None
    last_modified: datetime | None
    headers: list[tuple[bytes, bytes]]
    not_modified_headers: list[tuple[bytes, bytes]]


def _prepare(page: Page) -> _Prepared:
    etag = page.etag
    if etag is None and page.auto_etag:
        etag = '"' + hashlib.blake2b(page.body, digest_size=10).hexdigest() + '"'
    validators: list[tuple[bytes, bytes]] = []
    if etag is not None:
        validators.append((b"etag", etag.encode("latin-1")))
    last_modified = None
    if page.last_modified is not None:
        last_modified = page.last_modified.astimezone(UTC).replace(microsecond=0)
        validators.append((b"last-modified", format_datetime(last_modified, usegmt=True).encode()))
    extra = [(k.lower().encode("latin-1"), v.encode()) for k, v in page.headers.items()]
    headers = [
        (b"content-type", page.content_type.encode("latin-1")),
        (b"content-length", str(len(page.body)).encode()),
        *validators,
        *extra,
    ]
    return _Prepared(
        page=page,
        etag=None if etag is None else etag.encode("latin-1"),
        last_modified=last_modified,
        headers=headers,
        not_modified_headers=[*validators, *extra],
    )


@dataclass(frozen=True, slots=True)
class PortalStats:
    """A snapshot of what the portal has served.

    Attributes:
        requests: requests per path (unknown paths included).
        max_in_flight: the highest number of requests in progress at once, per server port.
        in_flight: requests in progress now, per port.
        connections: distinct client connections seen, per port.
    """

    requests: Mapping[str, int]
    max_in_flight: Mapping[int, int]
    in_flight: Mapping[int, int]
    connections: Mapping[int, int]

    @property
    def total_requests(self) -> int:
        return sum(self.requests.values())

    @property
    def total_connections(self) -> int:
        return sum(self.connections.values())


class Portal:
    """Mutable ``path → Page`` mapping shared by the test (or CLI) thread and the server thread.

    Every method is safe to call from any thread.
    """

    def __init__(self, pages: Mapping[str, Page] | None = None) -> None:
        self._lock = threading.Lock()
        self._pages: dict[str, _Prepared] = {}
        self._requests: dict[str, int] = {}
        self._in_flight: dict[int, int] = {}
        self._max_in_flight: dict[int, int] = {}
        self._connections: dict[int, set[tuple[str, int]]] = {}
        if pages:
            self.update(pages)

    def set(self, path: str, page: Page) -> None:
        """Serve *page* at *path* (an absolute path such as ``/feeds/1.xml``)."""
        prepared = _prepare(page)
        with self._lock:
            self._pages[path] = prepared

    def update(self, pages: Mapping[str, Page] | Iterable[tuple[str, Page]]) -> None:
        """Set several pages at once."""
        items = pages.items() if isinstance(pages, Mapping) else pages
        prepared = {path: _prepare(page) for path, page in items}
        with self._lock:
            self._pages.update(prepared)

    def get(self, path: str) -> Page | None:
        with self._lock:
            found = self._pages.get(path)
        return None if found is None else found.page

    def delete(self, path: str) -> None:
        with self._lock:
            self._pages.pop(path, None)

    def paths(self) -> list[str]:
        with self._lock:
            return sorted(self._pages)

    def etag(self, path: str) -> str | None:
        """The ETag the portal sends for *path* (derived ones included)."""
        with self._lock:
            found = self._pages.get(path)
        return None if found is None or found.etag is None else found.etag.decode("latin-1")

    @property
    def stats(self) -> PortalStats:
        with self._lock:
            return PortalStats(
                requests=dict(self._requests),
                max_in_flight=dict(self._max_in_flight),
                in_flight=dict(self._in_flight),
                connections={port: len(seen) for port, seen in self._connections.items()},
            )

    def reset_stats(self) -> None:
        with self._lock:
            self._requests.clear()
            self._max_in_flight = dict(self._in_flight)
            self._connections.clear()

    # -- used by PortalApp on the server thread -------------------------------------------

    def _begin(self, path: str, port: int, client: tuple[str, int] | None) -> _Prepared | None:
        with self._lock:
            self._requests[path] = self._requests.get(path, 0) + 1
            now = self._in_flight.get(port, 0) + 1
            self._in_flight[port] = now
            if now > self._max_in_flight.get(port, 0):
                self._max_in_flight[port] = now
            if client is not None:
                self._connections.setdefault(port, set()).add(client)
            return self._pages.get(path)

    def _lookup(self, path: str) -> _Prepared | None:
        with self._lock:
            return self._pages.get(path)

    def _end(self, port: int) -> None:
        with self._lock:
            self._in_flight[port] -= 1


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


def _etag_matches(header: bytes, etag: bytes) -> bool:
    if header.strip() == b"*":
        return True
    bare = etag.removeprefix(b"W/")
    return any(tag.strip().removeprefix(b"W/") == bare for tag in header.split(b","))


def _not_modified(scope: Scope, prepared: _Prepared) -> bool:
    if prepared.page.status != 200:
        return False
    if_none_match = _header(scope, b"if-none-match")
    if if_none_match is not None:
        return prepared.etag is not None and _etag_matches(if_none_match, prepared.etag)
    if_modified_since = _header(scope, b"if-modified-since")
    if if_modified_since is None or prepared.last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since.decode("latin-1"))
    except (TypeError, ValueError, IndexError):
        return False
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return prepared.last_modified <= since


class PortalApp:
    """The ASGI application; one per server, serving one :class:`Portal` on all its ports."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self._closing = asyncio.Event()

    def close(self) -> None:
        """Make waiting and endless responses finish now; call it on the server's loop."""
        self._closing.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        server = scope.get("server")
        port = int(server[1]) if server else 0
        client = scope.get("client")
        path: str = scope["path"]
        prepared = self.portal._begin(path, port, tuple(client) if client else None)
        try:
            await self._answer(scope, receive, send, path, prepared)
        finally:
            self.portal._end(port)

    async def _answer(
        self, scope: Scope, receive: Receive, send: Send, path: str, prepared: _Prepared | None
    ) -> None:
        if prepared is None:
            base = self.portal._lookup(path.removesuffix(LOOP_SUFFIX))
            if path.endswith(LOOP_SUFFIX) and base and base.page.behaviour == "redirect_loop":
                await _redirect(send, path.removesuffix(LOOP_SUFFIX))
            else:
                await _simple(send, 404, b"404 Not Found")
            return
        page = prepared.page
        if page.delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), page.delay)
        if page.behaviour == "normal":
            if _not_modified(scope, prepared):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 304,
                        "headers": prepared.not_modified_headers,
                    }
                )
                await send({"type": "http.response.body", "body": b""})
            else:
                await send(
                    {
                        "type": "http.response.start",
                        "status": page.status,
                        "headers": prepared.headers,
                    }
                )
                await send({"type": "http.response.body", "body": page.body})
        elif page.behaviour == "redirect_loop":
            await _redirect(send, path + LOOP_SUFFIX)
        elif page.behaviour == "endless":
            await self._endless(receive, send, page)
        elif not await _drop(receive):
            await _simple(send, 500, b"connection drop is not supported by this server")

    async def _endless(self, receive: Receive, send: Send, page: Page) -> None:
        async def until_disconnect() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        watcher = asyncio.ensure_future(until_disconnect())
        try:
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [(b"content-type", page.content_type.encode("latin-1"))],
                }
            )
            while not watcher.done() and not self._closing.is_set():
                await send(
                    {"type": "http.response.body", "body": _ENDLESS_CHUNK, "more_body": True}
                )
                await asyncio.sleep(0)
            if not watcher.done():
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


async def _simple(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _redirect(send: Send, location: str) -> None:
    start: Message = {
        "type": "http.response.start",
        "status": 302,
        "headers": [(b"location", location.encode()), (b"content-length", b"0")],
    }
    await send(start)
    await send({"type": "http.response.body", "body": b""})


async def _drop(receive: Receive) -> bool:
    """Close the connection without a word.

    ASGI has no message for this, so it reaches the transport behind uvicorn's ``receive``
    (a bound method of its request cycle); returns ``False`` on servers without one.
    """
    transport = getattr(getattr(receive, "__self__", None), "transport", None)
    if not isinstance(transport, asyncio.BaseTransport):
        return False
    if isinstance(transport, asyncio.WriteTransport):
        transport.abort()
    else:
        transport.close()
    # Wait for the server to notice, so it does not complain that no response was started.
    while (await receive())["type"] != "http.disconnect":
        pass
    return True

"""The delivery client: httpx's API on a lean HTTP/1.1 transport over asyncio's own sockets.

Adapters take an :class:`httpx.AsyncClient` and call it as usual; what differs is below it.
httpx's default transport (httpcore over anyio, h11 for the protocol) costs about half a
millisecond of CPU per request on the machines here, more than the rest of a delivery's own
work together; :class:`Http11Transport` does the same job with an :class:`asyncio.Protocol`
per connection and llhttp (``httptools``, Node's HTTP parser, already installed with uvicorn)
reading the answers, and writes each request in one ``send``.

What it does:

* HTTP/1.1 to ``http://`` and ``https://`` origins (TLS through asyncio, with httpx's own SSL
  context: certifi, ``SSL_CERT_FILE``); no proxies: with one set in the environment,
  :func:`delivery_client` gives httpx's own client instead;
* keep-alive: idle connections are reused per origin, newest first, for at most
  ``keepalive_expiry`` seconds and never once the server has closed them; at most
  ``max_connections`` requests at once, waiting up to the ``pool`` timeout for a place;
* timeouts as httpx's: ``connect``, ``write`` (while the socket's buffer is full), ``read``
  (the longest silence while an answer is awaited), ``pool``;
* answers read whole: fixed length, chunked, or up to the close; interim ``1xx`` answers skipped;
  a ``HEAD`` answer has no body; at most ``max_response_bytes``.

What an adapter may rely on, as with httpx's transport: :class:`httpx.ConnectError`,
:class:`httpx.ConnectTimeout` and :class:`httpx.PoolTimeout` are raised only before anything of
the request was written (``channels._http.NOT_SENT``: a retry is safe); every failure after that
(:class:`httpx.WriteTimeout`, :class:`httpx.WriteError`, :class:`httpx.ReadTimeout`,
:class:`httpx.ReadError`, :class:`httpx.RemoteProtocolError`) means the platform may have acted
on it. A header carrying a line break is refused before anything is sent
(:class:`httpx.LocalProtocolError`).
"""

from __future__ import annotations

import asyncio
import re
import select
import ssl
from collections.abc import AsyncIterable, Iterable
from typing import Any, cast
from urllib.request import getproxies

import httptools
import httpx

__all__ = ["MAX_RESPONSE_BYTES", "Http11Transport", "delivery_client"]

MAX_RESPONSE_BYTES = 64 * 1024 * 1024
"""The largest answer read (platform APIs answer a few KiB of JSON)."""

_TOKEN = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(rb"[\x00\r\n]")
_Origin = tuple[str, str, int]


class _Connection(asyncio.Protocol):
    """One HTTP/1.1 connection: writes a request, parses its answer (llhttp's callbacks)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: _Origin, limit: int) -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._limit = limit
        self._parser = httptools.HttpResponseParser(self)
        self._writable: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._paused = False
        self._reset(head=False)

    def _reset(self, *, head: bool) -> None:
        self.status = 0
        self.reason = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.size = 0
        self.head = head
        self.headers_done = False
        self.until_close = False
        self.keep_alive = False
        self.done: asyncio.Future[None] | None = None
        self.progress = 0.0
        self.received = False

    # -- asyncio.Protocol --------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        done = self.done
        if done is None or done.done():
            # Bytes nobody asked for: the connection cannot be trusted with another request.
            self._close()
            return
        self.received = True
        self.progress = self.loop.time()
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._fail(httpx.RemoteProtocolError("the server switched protocols (unexpected)"))
        except httptools.HttpParserError as exc:
            self._fail(httpx.RemoteProtocolError(f"malformed HTTP answer: {exc}"))

    def eof_received(self) -> bool:
        self._ended(None)
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._ended(exc)
        if self._writable is not None and not self._writable.done():
            self._writable.set_exception(httpx.WriteError(str(exc or "connection closed")))

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    # -- llhttp callbacks ----------------------------------------------------------------

    def on_status(self, reason: bytes) -> None:
        self.reason += reason

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        if 100 <= self.status < 200:  # interim (100 Continue, 103): the real answer follows
            self.reason, self.headers = b"", []
            return
        self.headers_done = True
        names = {name.lower() for name, _ in self.headers}
        self.until_close = b"content-length" not in names and b"transfer-encoding" not in names
        if self.head or self.status in (204, 304):
            # No body follows, whatever the headers say; llhttp cannot be told for HEAD, so
            # that connection is not used again.
            self.keep_alive = not self.head and self._parser.should_keep_alive()
            self._complete()

    def on_body(self, body: bytes) -> None:
        self.size += len(body)
        if self.size > self._limit:
            self._fail(httpx.RemoteProtocolError(f"answer larger than {self._limit} bytes"))
            return
        self.body.append(body)

    def on_message_complete(self) -> None:
        # An interim 1xx answer ends here too (headers not done): the real one follows.
        if self.headers_done and self.done is not None and not self.done.done():
            self.keep_alive = self._parser.should_keep_alive()
            self._complete()

    # -- the request ---------------------------------------------------------------------

    def _complete(self) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(None)

    def _fail(self, exc: Exception) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc)
        self._close()

    def _ended(self, exc: Exception | None) -> None:
        """The server closed (or the connection broke): the answer ends here."""
        self.closed = True
        done = self.done
        if done is None or done.done():
            return
        if exc is not None:
            done.set_exception(httpx.ReadError(str(exc)))
        elif self.headers_done and self.until_close:
            done.set_result(None)  # a body delimited by the close
        elif self.received:
            done.set_exception(
                httpx.RemoteProtocolError("the server closed the connection mid-answer")
            )
        else:
            done.set_exception(
                httpx.RemoteProtocolError("Server disconnected without sending a response.")
            )

    def _close(self) -> None:
        """Close the connection; an answer still awaited is given up (nothing reports it)."""
        self.closed = True
        if self.done is not None and not self.done.done():
            self.done.cancel()
        if self.transport is not None:
            self.transport.close()

    async def write(self, data: bytes, within: float | None) -> None:
        assert self.transport is not None
        if self.closed:
            raise httpx.WriteError("connection closed")
        self.transport.write(data)
        while self._paused and not self.closed:
            self._writable = self.loop.create_future()
            try:
                async with asyncio.timeout(within):
                    await self._writable
            except TimeoutError:
                self._close()
                raise httpx.WriteTimeout("timed out while sending the request") from None
            finally:
                self._writable = None

    def answered(self) -> bool:
        """Whether the whole answer to the current request has come."""
        done = self.done
        return done is not None and done.done() and not done.cancelled() and not done.exception()

    def expect(self, *, head: bool) -> None:
        """Get ready for the answer to the request about to be written."""
        self._reset(head=head)
        self.done = self.loop.create_future()
        self.progress = self.loop.time()

    async def answer(self, within: float | None) -> None:
        """Wait for the whole answer; :class:`httpx.ReadTimeout` after *within* s of silence."""
        done = self.done
        assert done is not None
        if within is None:
            await done
            return
        self._timer = self.loop.call_at(self.progress + within, self._check_silence, within)
        try:
            await done
        finally:
            self._timer.cancel()

    def _check_silence(self, timeout: float) -> None:
        done = self.done
        if done is None or done.done():
            return
        due = self.progress + timeout
        if self.loop.time() >= due:
            self._fail(httpx.ReadTimeout("timed out waiting for the answer"))
        else:  # data came meanwhile: wait for the rest of the silence
            self._timer = self.loop.call_at(due, self._check_silence, timeout)

    def readable(self) -> bool:
        """Whether the socket has something to read while idle: the server's close not yet
        seen by the loop, or stray bytes. Either way it is not used again."""
        assert self.transport is not None
        sock = self.transport.get_extra_info("socket")
        if sock is None:
            return True
        poller = select.poll()
        poller.register(sock.fileno(), select.POLLIN)
        return bool(poller.poll(0))


class Http11Transport(httpx.AsyncBaseTransport):
    """An :class:`httpx.AsyncBaseTransport` speaking HTTP/1.1 on asyncio connections.

    Args:
        verify: as httpx's (``True``: certifi; an :class:`ssl.SSLContext`; a CA bundle path).
        limits: ``max_connections`` (requests at once), ``max_keepalive_connections`` (idle
            connections kept, all origins together), ``keepalive_expiry`` (seconds idle).
        max_response_bytes: the largest answer read.
    """

    def __init__(
        self,
        *,
        verify: ssl.SSLContext | str | bool = True,
        limits: httpx.Limits | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        limits = limits or httpx.Limits(
            max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0
        )
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[_Origin, list[_Connection]] = {}
        self._idle_count = 0
        self._max_idle = limits.max_keepalive_connections
        self._expiry = limits.keepalive_expiry
        self._places = asyncio.Semaphore(limits.max_connections) if limits.max_connections else None
        self._limit = max_response_bytes
        self._closed = False

    def __repr__(self) -> str:
        idle = sum(len(v) for v in self._idle.values())
        return f"<Http11Transport idle={idle}{' closed' if self._closed else ''}>"

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the transport is closed")
        url = request.url
        if url.scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {url.scheme!r}")
        timeouts: dict[str, float | None] = request.extensions.get("timeout", {})
        head = _request_head(request)  # refuses a bad header before anything is sent
        places = self._places
        if places is not None:
            if places.locked():  # (no timeout to arm when a place is free)
                try:
                    async with asyncio.timeout(timeouts.get("pool")):
                        await places.acquire()
                except TimeoutError:
                    raise httpx.PoolTimeout("no free connection in the pool") from None
            else:
                await places.acquire()
        try:
            return await self._exchange(request, url, head, timeouts)
        finally:
            if places is not None:
                places.release()

    async def _exchange(
        self,
        request: httpx.Request,
        url: httpx.URL,
        head: bytes,
        timeouts: dict[str, float | None],
    ) -> httpx.Response:
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        connection = self._reuse(origin) or await self._connect(request, origin, timeouts)
        connection.expect(head=request.method == "HEAD")
        write = timeouts.get("write")
        try:
            try:
                body = request.content  # bytes, JSON, a form: the head and body in one send
            except httpx.RequestNotRead:  # a stream (files): written as it comes
                await connection.write(head, write)
                chunked = request.headers.get("transfer-encoding", "").lower() == "chunked"
                try:
                    await _write_body(connection, request.stream, chunked, write)
                except httpx.WriteError:
                    if not connection.answered():  # else: answered, then closed mid-upload
                        raise
                    connection.keep_alive = False
            else:
                await connection.write(head + body, write)
            await connection.answer(timeouts.get("read"))
        except BaseException:
            connection._close()
            raise
        response = httpx.Response(
            connection.status,
            headers=connection.headers,
            stream=httpx.ByteStream(b"".join(connection.body)),
            extensions={"http_version": b"HTTP/1.1", "reason_phrase": connection.reason},
            request=request,
        )
        if connection.keep_alive and not connection.closed:  # (keep_alive: read at the end)
            self._keep(connection)
        else:
            connection._close()
        return response

    def _reuse(self, origin: _Origin) -> _Connection | None:
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = asyncio.get_running_loop().time()
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            fresh = self._expiry is None or now - connection.idle_since < self._expiry
            if fresh and not connection.closed and not connection.readable():
                return connection
            connection._close()
        return None

    def _keep(self, connection: _Connection) -> None:
        if self._closed or (self._max_idle is not None and self._idle_count >= self._max_idle):
            connection._close()
            return
        connection.idle_since = connection.loop.time()
        self._idle.setdefault(connection.origin, []).append(connection)
        self._idle_count += 1

    async def _connect(
        self, request: httpx.Request, origin: _Origin, timeouts: dict[str, float | None]
    ) -> _Connection:
        loop = asyncio.get_running_loop()
        scheme, host, port = origin
        tls: dict[str, Any] = {}
        if scheme == "https":
            if self._ssl is None:
                self._ssl = (
                    self._verify
                    if isinstance(self._verify, ssl.SSLContext)
                    else httpx.create_ssl_context(verify=self._verify)
                )
            sni = request.extensions.get("sni_hostname")
            tls = {"ssl": self._ssl, "server_hostname": sni or host}
        try:
            async with asyncio.timeout(timeouts.get("connect")):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop, origin, self._limit), host, port, **tls
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:  # refused, unreachable, name not found, TLS handshake
            raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from None
        return connection

    async def aclose(self) -> None:
        self._closed = True
        for idle in self._idle.values():
            for connection in idle:
                connection._close()
        self._idle.clear()
        self._idle_count = 0


def _request_head(request: httpx.Request) -> bytes:
    """Request line and headers, refusing a header that would break the framing."""
    parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    for name, value in request.headers.raw:
        if _TOKEN.fullmatch(name) is None or _BAD_VALUE.search(value) is not None:
            raise httpx.LocalProtocolError(
                f"HTTP header {name.decode('latin-1')!r}: its name or value holds a character "
                "HTTP does not allow there (a line break, say); nothing was sent"
            )
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


async def _write_body(
    connection: _Connection,
    stream: AsyncIterable[bytes] | Iterable[bytes],
    chunked: bool,
    within: float | None,
) -> None:
    """Write a streamed body; stop early if the whole answer came meanwhile (a refusal before
    the upload ended, 413 say: the answer is what counts, the connection is not reused)."""
    chunks: AsyncIterable[bytes] = stream if isinstance(stream, AsyncIterable) else _aiter(stream)
    async for chunk in chunks:
        if connection.answered():
            connection.keep_alive = False
            return
        if chunk:
            await connection.write(
                b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunked else chunk, within
            )
    if chunked:
        await connection.write(b"0\r\n\r\n", within)


async def _aiter(items: Iterable[bytes]) -> AsyncIterable[bytes]:
    for item in items:
        yield item


def delivery_client(
    *, timeout: httpx.Timeout | float = 10.0, headers: dict[str, str] | None = None
) -> httpx.AsyncClient:
    """The client the delivery engine gives its adapters: httpx's API on
    :class:`Http11Transport` (the adapters' contract tests run on it too).

    With a proxy in the environment (``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY``, any case)
    it is httpx's own client, which sends through the proxy and honours ``NO_PROXY``: httpx
    reads the environment only when it chooses the transport itself.
    """
    proxied = any(scheme in getproxies() for scheme in ("http", "https", "all"))
    transport = None if proxied else Http11Transport()
    return httpx.AsyncClient(timeout=timeout, headers=headers, transport=transport)

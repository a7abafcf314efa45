"""The HTTP fetcher: one polite, bounded GET per call, and a verdict instead of an exception.

Choices, and why:

* **A pool of clients.** ``settings.clients`` :class:`httpx.AsyncClient` objects share the load,
  each with ``ceil(concurrency / clients)`` connections. One client at concurrency 50 served
  ≈350 req/s on our hardware, five clients of 10 ≈900 req/s: one connection pool's bookkeeping is
  the bottleneck, not the network. Requests go round-robin, skipping a client whose pool is full,
  so no request ever waits on a pool (and a pool wait can never turn into a false "timeout").
* **Politeness per host, concurrency overall.** A request first takes one of the
  ``per_host_concurrency`` slots of its host (``host:port``), then waits out ``per_host_delay``
  since the previous start on that host, and only then takes one of the ``concurrency`` global
  slots. Waiting for a host never holds a global slot, so a slow or rate-limited portal delays its
  own requests and nobody else's. Time comes from the injected ``clock``/``sleep``, so the rules
  are tested without real sleeps.
* **Redirects by hand.** Each hop is a request of its own (its own host's politeness), relative
  ``Location`` values are resolved, loops are caught by the first repeated URL and the chain goes
  into the error text, because "redirect loop: a → b → a" is what an operator needs to see.
* **A hard body cap on decoded bytes.** ``Content-Length`` above the cap is refused before reading;
  otherwise the body is streamed and dropped as soon as it passes the cap. gzip and deflate are
  inflated here with a bounded :mod:`zlib` stream, so a small compressed body cannot inflate far
  past the cap in memory (a compression bomb).
* **Verdicts, not exceptions.** Every network, HTTP and size problem comes back as a
  :class:`FetchResult` whose ``status`` is a :class:`~syndicator.db.models.FetchStatus`; only
  programming errors raise. The mapping::

      2xx ................................................ OK
      304 ................................................ NOT_MODIFIED
      4xx / 5xx / other 3xx .............................. HTTP_ERROR (retry_after from 429/503)
      redirect loop, more than max_redirects ............. TOO_MANY_REDIRECTS
      redirect to a non-http(s) URL ...................... ERROR
      body above max_body_bytes .......................... TOO_LARGE
      httpx.HTTPError
      ├── TimeoutException (connect/read/write/pool) ..... TIMEOUT
      ├── NetworkError (refused, reset, DNS) ............. CONNECT_ERROR
      ├── RemoteProtocolError, no response at all ........ CONNECT_ERROR (the peer hung up)
      └── anything else (protocol, decoding, scheme) ..... ERROR
      httpx.InvalidURL ................................... ERROR

Caching hints travel with every result: ``retry_after`` (delta-seconds or HTTP-date) and
``fresh_for`` (``Cache-Control: max-age``, ``no-cache``/``no-store`` → 0, else ``Expires - Date``),
for the scheduler to honour.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import math
import sys
import time
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Self

import httpx

from syndicator.clock import utcnow
from syndicator.db.models import FetchStatus
from syndicator.settings import FetchSettings

__all__ = [
    "REDIRECT_STATUSES",
    "FetchRequest",
    "FetchResult",
    "Fetcher",
    "parse_freshness",
    "parse_retry_after",
]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


def _remember_missing_sniffio() -> None:
    """Make httpcore's ``import sniffio`` fail fast when sniffio is not installed.

    httpcore 1.0 tries the import for every lock it sets up, and a failed import is not cached:
    each attempt walks ``sys.path`` again, about a fifth of the fetcher's CPU under load (anyio 4
    no longer installs sniffio). A ``None`` entry in ``sys.modules`` makes the same ImportError
    instant; httpcore then assumes asyncio, exactly as before.
    """
    if "sniffio" not in sys.modules and importlib.util.find_spec("sniffio") is None:
        sys.modules["sniffio"] = None  # type: ignore[assignment]


_remember_missing_sniffio()

# Bodies of redirects and error pages are read (up to this much) so the connection can be reused.
_DRAIN_LIMIT = 64 * 1024
_DISCONNECTED = "disconnected without sending a response"


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchRequest:
    """One GET; ``etag``/``last_modified`` are the validators kept from the previous answer."""

    url: str
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchResult:
    """What one :meth:`Fetcher.fetch` found out.

    Attributes:
        status: the verdict (see the module docstring for the mapping).
        url: the final URL, after redirects.
        http_status: the last HTTP status seen, ``None`` when no response came.
        body: the decoded body; ``b""`` unless ``status`` is ``OK``.
        content_type: the ``Content-Type`` of the last response.
        etag: the response's ``ETag`` when ``OK`` (on ``NOT_MODIFIED`` keep the old one).
        last_modified: the response's ``Last-Modified`` when ``OK``.
        retry_after: seconds from ``Retry-After``, on any response.
        fresh_for: seconds the response may be considered fresh, from ``Cache-Control`` or
            ``Expires - Date``; ``0`` for ``no-cache``/``no-store``; ``None`` when not said.
        started_at: UTC time the first request went out (after politeness waits).
        elapsed: seconds from then until the result, all redirect hops included.
        error: a readable reason when ``status`` is not ``OK``/``NOT_MODIFIED``.
    """

    status: FetchStatus
    url: str
    http_status: int | None
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    retry_after: float | None
    fresh_for: float | None
    started_at: datetime
    elapsed: float
    error: str | None

    @classmethod
    def failed(
        cls, *, status: FetchStatus, url: str, error: str, started_at: datetime, elapsed: float
    ) -> FetchResult:
        """A result for a fetch that got no usable response."""
        return cls(
            status=status,
            url=url,
            http_status=None,
            body=b"",
            content_type=None,
            etag=None,
            last_modified=None,
            retry_after=None,
            fresh_for=None,
            started_at=started_at,
            elapsed=elapsed,
            error=error,
        )


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def parse_retry_after(value: str | None, *, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delta-seconds or an HTTP-date.

    Args:
        value: the header value, or ``None``.
        now: the reference time for a date (the response's ``Date`` when it has one).

    Returns:
        Non-negative seconds, or ``None`` when absent or unreadable.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        when = _http_date(text)
        return None if when is None else max(0.0, (when - now).total_seconds())
    return seconds if seconds >= 0 and math.isfinite(seconds) else None


def parse_freshness(headers: Mapping[str, str], *, now: datetime) -> float | None:
    """Seconds a response stays fresh according to its caching headers.

    ``Cache-Control: no-store``/``no-cache`` give 0, ``max-age`` wins over ``Expires``
    (``s-maxage`` is for shared caches and ignored), and ``Expires`` is measured from the
    response's ``Date`` (else *now*); an unreadable ``Expires`` means already expired (RFC 9111).

    Returns:
        Non-negative seconds, or ``None`` when the response says nothing.
    """
    cache_control = headers.get("cache-control")
    if cache_control:
        max_age: float | None = None
        for directive in cache_control.split(","):
            name, _, argument = directive.strip().partition("=")
            name = name.strip().lower()
            if name in ("no-store", "no-cache") and not argument:
                return 0.0
            if name == "max-age":
                with contextlib.suppress(ValueError):
                    max_age = max(0.0, float(int(argument.strip().strip('"'))))
        if max_age is not None:
            return max_age
    expires = headers.get("expires")
    if expires is None:
        return None
    when = _http_date(expires)
    if when is None:
        return 0.0
    reference = _http_date(headers.get("date")) or now
    return max(0.0, (when - reference).total_seconds())


def _reason(response: httpx.Response) -> str:
    phrase = response.reason_phrase
    if not phrase:
        with contextlib.suppress(ValueError):
            phrase = HTTPStatus(response.status_code).phrase
    return f"HTTP {response.status_code} {phrase}".rstrip()


class _BodyTooLarge(Exception):
    """Internal: the body passed the cap."""


class _Inflater:
    """gzip/deflate decoding that never produces more than the cap allows."""

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._fresh = True
        wbits = zlib.MAX_WBITS | 16 if self._gzip else zlib.MAX_WBITS
        self._decompressor = zlib.decompressobj(wbits)

    def feed(self, data: bytes, out: bytearray, cap: int) -> None:
        while data:
            try:
                out += self._decompressor.decompress(data, cap - len(out) + 1)
            except zlib.error as exc:
                if self._gzip or not self._fresh:
                    raise httpx.DecodingError(f"cannot decode the body: {exc}") from None
                # Like httpx: some servers send raw deflate without the zlib wrapper.
                self._decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                self._fresh = False
                continue
            self._fresh = False
            if len(out) > cap:
                raise _BodyTooLarge
            data = self._decompressor.unconsumed_tail

    def finish(self, out: bytearray, cap: int) -> None:
        try:
            out += self._decompressor.flush()
        except zlib.error as exc:
            raise httpx.DecodingError(f"cannot decode the body: {exc}") from None
        if len(out) > cap:
            raise _BodyTooLarge


def _already_read(response: httpx.Response) -> bytes | None:
    """The body of a response that arrived complete (``httpx.MockTransport`` given bytes)."""
    try:
        return response.content
    except httpx.ResponseNotRead:
        return None


async def _read_capped(response: httpx.Response, cap: int) -> bytes:
    declared = response.headers.get("content-length", "").strip()
    if declared.isdigit() and int(declared) > cap:
        raise _BodyTooLarge
    preloaded = _already_read(response)
    if preloaded is not None:
        if len(preloaded) > cap:
            raise _BodyTooLarge
        return preloaded
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    out = bytearray()
    if encoding in ("", "identity"):
        async for chunk in response.aiter_raw():
            out += chunk
            if len(out) > cap:
                raise _BodyTooLarge
    elif encoding in ("gzip", "x-gzip", "deflate"):
        inflater = _Inflater(encoding)
        async for chunk in response.aiter_raw():
            inflater.feed(chunk, out, cap)
        inflater.finish(out, cap)
    else:  # stacked or unusual encodings: let httpx decode, still capped per chunk
        async for chunk in response.aiter_bytes():
            out += chunk
            if len(out) > cap:
                raise _BodyTooLarge
    return bytes(out)


async def _drain(response: httpx.Response) -> None:
    """Read a small unwanted body so the connection can go back to the pool."""
    declared = response.headers.get("content-length", "").strip()
    if (declared.isdigit() and int(declared) > _DRAIN_LIMIT) or _already_read(response) is not None:
        return
    seen = 0
    with contextlib.suppress(httpx.HTTPError):
        async for chunk in response.aiter_raw():
            seen += len(chunk)
            if seen > _DRAIN_LIMIT:
                return


class _HostGate:
    """Politeness state of one ``host:port``."""

    __slots__ = ("last_start", "slots", "start_lock")

    def __init__(self, concurrency: int) -> None:
        self.slots = asyncio.Semaphore(concurrency)
        self.start_lock = asyncio.Lock()
        self.last_start = -math.inf


@dataclass(slots=True)
class _Run:
    """Mutable progress of one :meth:`Fetcher.fetch` call."""

    url: str
    started_at: datetime | None = None
    t0: float | None = None


def _host_key(url: httpx.URL) -> str:
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.host}:{port}"


class Fetcher:
    """Fetches URLs politely over a small pool of HTTP clients; see the module docstring.

    Args:
        settings: timeouts, limits and politeness.
        transport: given to every client instead of the network (tests pass
            :class:`httpx.MockTransport`).
        clock: monotonic seconds, for politeness and ``elapsed``.
        sleep: how to wait out ``per_host_delay``.
        now: UTC wall-clock time, for ``started_at`` and HTTP-date arithmetic.

    Use it as an async context manager, or call :meth:`aclose` when done.
    """

    def __init__(
        self,
        settings: FetchSettings,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        for name in ("concurrency", "clients", "per_host_concurrency", "max_body_bytes"):
            if getattr(settings, name) < 1:
                raise ValueError(f"FetchSettings.{name} must be at least 1")
        self._settings = settings
        self._clock = clock
        self._sleep = sleep
        self._now = now
        self._per_client = math.ceil(settings.concurrency / settings.clients)
        limits = httpx.Limits(
            max_connections=self._per_client, max_keepalive_connections=self._per_client
        )
        timeout = httpx.Timeout(
            connect=settings.connect_timeout,
            read=settings.read_timeout,
            write=settings.read_timeout,
            pool=settings.connect_timeout,
        )
        headers = {"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"}
        self._clients = [
            httpx.AsyncClient(
                limits=limits,
                timeout=timeout,
                follow_redirects=False,
                headers=headers,
                transport=transport,
            )
            for _ in range(settings.clients)
        ]
        self._in_use = [0] * settings.clients
        self._next_client = 0
        self._global = asyncio.Semaphore(settings.concurrency)
        self._hosts: dict[str, _HostGate] = {}
        self._closed = False

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close every client and its connections; the fetcher cannot be used afterwards."""
        self._closed = True
        for client in self._clients:
            await client.aclose()

    async def fetch(self, request: FetchRequest) -> FetchResult:
        """GET ``request.url``, following redirects, conditionally when validators are given.

        Never raises for network, HTTP or size problems: they come back as the result's
        ``status`` and ``error``.

        Raises:
            RuntimeError: the fetcher was closed.
        """
        if self._closed:
            raise RuntimeError("fetch() on a closed Fetcher")
        run = _Run(url=request.url)
        try:
            return await self._follow(request, run)
        except httpx.TimeoutException as exc:
            return self._failure(run, FetchStatus.TIMEOUT, self._timeout_message(exc))
        except httpx.RemoteProtocolError as exc:
            if _DISCONNECTED in str(exc):
                message = "connection closed by the server without an answer"
                return self._failure(run, FetchStatus.CONNECT_ERROR, message)
            return self._failure(run, FetchStatus.ERROR, f"RemoteProtocolError: {exc}")
        except httpx.NetworkError as exc:
            detail = str(exc) or type(exc).__name__
            return self._failure(run, FetchStatus.CONNECT_ERROR, f"connection failed: {detail}")
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            return self._failure(run, FetchStatus.ERROR, f"{type(exc).__name__}: {exc}")

    # -- one request after another -----------------------------------------------------------

    async def _follow(self, request: FetchRequest, run: _Run) -> FetchResult:
        headers: dict[str, str] = {}
        if request.etag:
            headers["If-None-Match"] = request.etag
        if request.last_modified:
            headers["If-Modified-Since"] = request.last_modified
        url = httpx.URL(request.url)
        if url.scheme not in ("http", "https"):
            return self._failure(run, FetchStatus.ERROR, f"unsupported URL scheme: {request.url}")
        if not url.host:
            return self._failure(run, FetchStatus.ERROR, f"URL without a host: {request.url}")
        chain = [str(url)]
        while True:
            run.url = str(url)
            async with (
                self._slot(url, run) as client,
                client.stream("GET", url, headers=headers) as response,
            ):
                status = response.status_code
                location = response.headers.get("location")
                if status in REDIRECT_STATUSES and location:
                    await _drain(response)
                    target = response.url.join(location.strip())
                elif 200 <= status < 300:
                    try:
                        body = await _read_capped(response, self._settings.max_body_bytes)
                    except _BodyTooLarge:
                        message = f"body exceeds {self._settings.max_body_bytes} bytes"
                        return self._result(run, response, FetchStatus.TOO_LARGE, error=message)
                    return self._result(run, response, FetchStatus.OK, body=body)
                else:
                    await _drain(response)
                    if status == 304:
                        return self._result(run, response, FetchStatus.NOT_MODIFIED)
                    error = _reason(response)
                    if status in REDIRECT_STATUSES:
                        error += " without Location"
                    return self._result(run, response, FetchStatus.HTTP_ERROR, error=error)
            if target.scheme not in ("http", "https") or not target.host:
                message = f"redirect to unsupported scheme: {target}"
                return self._result(run, response, FetchStatus.ERROR, error=message)
            if str(target) in chain:
                message = "redirect loop: " + " → ".join([*chain, str(target)])
                return self._result(run, response, FetchStatus.TOO_MANY_REDIRECTS, error=message)
            if len(chain) > self._settings.max_redirects:
                message = f"more than {self._settings.max_redirects} redirects: " + " → ".join(
                    [*chain, str(target)]
                )
                return self._result(run, response, FetchStatus.TOO_MANY_REDIRECTS, error=message)
            chain.append(str(target))
            url = target

    @contextlib.asynccontextmanager
    async def _slot(self, url: httpx.URL, run: _Run) -> AsyncIterator[httpx.AsyncClient]:
        """Wait for the host's politeness rules and a global slot; yield a client to use."""
        key = _host_key(url)
        gate = self._hosts.get(key)
        if gate is None:
            gate = self._hosts[key] = _HostGate(self._settings.per_host_concurrency)
        async with gate.slots:
            # Starts on one host are serialised, so the delay holds between actual starts even
            # when the global wait reorders requests; the sleep holds no global slot.
            async with gate.start_lock:
                wait = gate.last_start + self._settings.per_host_delay - self._clock()
                if wait > 0:
                    await self._sleep(wait)
                await self._global.acquire()
                gate.last_start = self._clock()
            try:
                if run.t0 is None:
                    run.t0, run.started_at = gate.last_start, self._now()
                index = self._pick_client()
                self._in_use[index] += 1
                try:
                    yield self._clients[index]
                finally:
                    self._in_use[index] -= 1
            finally:
                self._global.release()

    def _pick_client(self) -> int:
        count = len(self._clients)
        for _ in range(count):
            index = self._next_client
            self._next_client = (index + 1) % count
            if self._in_use[index] < self._per_client:
                return index
        # Unreachable while the global semaphore caps requests at clients * per_client.
        return min(range(count), key=self._in_use.__getitem__)

    # -- results ------------------------------------------------------------------------------

    def _result(
        self,
        run: _Run,
        response: httpx.Response,
        status: FetchStatus,
        *,
        body: bytes = b"",
        error: str | None = None,
    ) -> FetchResult:
        headers = response.headers
        reference = _http_date(headers.get("date")) or self._now()
        ok = status is FetchStatus.OK
        return FetchResult(
            status=status,
            url=str(response.url),
            http_status=response.status_code,
            body=body if ok else b"",
            content_type=headers.get("content-type"),
            etag=headers.get("etag") if ok else None,
            last_modified=headers.get("last-modified") if ok else None,
            retry_after=parse_retry_after(headers.get("retry-after"), now=reference),
            fresh_for=parse_freshness(headers, now=reference),
            started_at=run.started_at or self._now(),
            elapsed=self._elapsed(run),
            error=error,
        )

    def _failure(self, run: _Run, status: FetchStatus, error: str) -> FetchResult:
        return FetchResult.failed(
            status=status,
            url=run.url,
            error=error,
            started_at=run.started_at or self._now(),
            elapsed=self._elapsed(run),
        )

    def _elapsed(self, run: _Run) -> float:
        return 0.0 if run.t0 is None else max(0.0, self._clock() - run.t0)

    def _timeout_message(self, exc: httpx.TimeoutException) -> str:
        settings = self._settings
        if isinstance(exc, httpx.ConnectTimeout):
            return f"connect timeout after {settings.connect_timeout} s"
        if isinstance(exc, httpx.WriteTimeout):
            return f"write timeout after {settings.read_timeout} s"
        if isinstance(exc, httpx.PoolTimeout):
            return f"pool timeout after {settings.connect_timeout} s"
        return f"read timeout after {settings.read_timeout} s"

"""The fetcher on httpx.MockTransport: statuses, caching hints, redirects, limits, politeness."""

from __future__ import annotations

import asyncio
import gzip
import socket
import zlib
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest

from syndicator.db.models import FetchStatus
from syndicator.settings import FetchSettings
from syndicator.sources.fetcher import (
    Fetcher,
    FetchRequest,
    FetchResult,
    parse_freshness,
    parse_retry_after,
)

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
Handler = (
    Callable[[httpx.Request], httpx.Response]
    | Callable[[httpx.Request], Coroutine[None, None, httpx.Response]]
)


class FakeTime:
    """A monotonic clock that only moves when the fetcher sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        wake = self.now + seconds
        self.sleeps.append(seconds)
        await asyncio.sleep(0)
        self.now = max(self.now, wake)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def make_fetcher(fake_time: FakeTime) -> Callable[..., Fetcher]:
    def make(handler: Handler, **settings: Any) -> Fetcher:
        return Fetcher(
            FetchSettings(**{"per_host_delay": 0.0, **settings}),
            transport=httpx.MockTransport(handler),
            clock=fake_time.clock,
            sleep=fake_time.sleep,
            now=lambda: NOW,
        )

    return make


async def chunks(data: bytes, size: int = 4096) -> AsyncIterator[bytes]:
    """A streamed body, as the network delivers it (bytes given to MockTransport arrive whole)."""
    for start in range(0, len(data), size):
        yield data[start : start + size]


async def fetch_one(fetcher: Fetcher, url: str, **validators: str) -> FetchResult:
    async with fetcher:
        return await fetcher.fetch(FetchRequest(url=url, **validators))


# -- the guard --------------------------------------------------------------------------------


def test_unit_tests_cannot_open_real_connections() -> None:
    with pytest.raises(pytest.fail.Exception, match="must not touch the network"):
        socket.create_connection(("127.0.0.1", 9), timeout=0.1)


# -- plain answers ------------------------------------------------------------------------------


async def test_ok_returns_body_validators_and_sends_our_headers(
    make_fetcher: Callable[..., Fetcher],
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            content="<ul><li>国务院文件</li></ul>".encode(),
            headers={
                "Content-Type": "text/html; charset=utf-8",
                "ETag": '"abc"',
                "Last-Modified": "Wed, 25 Nov 2026 10:00:00 GMT",
            },
        )

    result = await fetch_one(make_fetcher(handler, user_agent="test-agent/1"), "http://gov.test/a")

    assert result.status is FetchStatus.OK
    assert result.body == "<ul><li>国务院文件</li></ul>".encode()
    assert (result.http_status, result.url) == (200, "http://gov.test/a")
    assert result.content_type == "text/html; charset=utf-8"
    assert (result.etag, result.last_modified) == ('"abc"', "Wed, 25 Nov 2026 10:00:00 GMT")
    assert result.error is None
    assert result.started_at == NOW
    assert seen[0].headers["User-Agent"] == "test-agent/1"
    assert seen[0].headers["Accept-Encoding"] == "gzip, deflate"
    assert "If-None-Match" not in seen[0].headers


async def test_conditional_get_sends_validators_and_maps_304(
    make_fetcher: Callable[..., Fetcher],
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(304, headers={"ETag": '"abc"', "Cache-Control": "max-age=120"})

    result = await fetch_one(
        make_fetcher(handler),
        "http://gov.test/a",
        etag='"abc"',
        last_modified="Wed, 25 Nov 2026 10:00:00 GMT",
    )

    assert result.status is FetchStatus.NOT_MODIFIED
    assert (result.http_status, result.body, result.etag) == (304, b"", None)
    assert result.fresh_for == 120.0
    assert seen[0].headers["If-None-Match"] == '"abc"'
    assert seen[0].headers["If-Modified-Since"] == "Wed, 25 Nov 2026 10:00:00 GMT"


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (404, {}, "HTTP 404 Not Found", None),
        (500, {}, "HTTP 500 Internal Server Error", None),
        (503, {"Retry-After": "120"}, "HTTP 503 Service Unavailable", 120.0),
        (
            429,
            {"Retry-After": "Thu, 26 Nov 2026 01:05:00 GMT"},
            "HTTP 429 Too Many Requests",
            300.0,
        ),
        (412, {}, "HTTP 412 Precondition Failed", None),
        (300, {}, "HTTP 300 Multiple Choices", None),
        (302, {}, "HTTP 302 Found without Location", None),
    ],
    ids=["404", "500", "503-seconds", "429-date", "412-anti-bot", "300", "302-no-location"],
)
async def test_http_errors(
    make_fetcher: Callable[..., Fetcher],
    status: int,
    headers: dict[str, str],
    error: str,
    retry_after: float | None,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, content=b"<h1>error page</h1>")

    result = await fetch_one(make_fetcher(handler), "http://gov.test/a")

    assert result.status is FetchStatus.HTTP_ERROR
    assert (result.http_status, result.error, result.body) == (status, error, b"")
    assert result.retry_after == retry_after


# -- caching hints ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 0 ", 0.0),
        ("1.5", 1.5),
        ("Thu, 26 Nov 2026 01:02:00 GMT", 120.0),
        ("Thu, 26 Nov 2026 00:00:00 GMT", 0.0),
        ("-5", None),
        ("soon", None),
        ("", None),
        (None, None),
    ],
    ids=[
        "seconds",
        "zero",
        "fraction",
        "http-date",
        "date-in-past",
        "negative",
        "junk",
        "empty",
        "none",
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


DATE = format_datetime(NOW, usegmt=True)
IN_AN_HOUR = format_datetime(NOW + timedelta(hours=1), usegmt=True)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"cache-control": "max-age=300"}, 300.0),
        ({"cache-control": "public, max-age=60, s-maxage=600"}, 60.0),
        ({"cache-control": 'max-age="90"'}, 90.0),
        ({"cache-control": "s-maxage=600"}, None),
        ({"cache-control": "no-cache"}, 0.0),
        ({"cache-control": "no-store, max-age=60"}, 0.0),
        ({"cache-control": 'private, no-cache="set-cookie", max-age=30'}, 30.0),
        ({"cache-control": "max-age=60", "expires": IN_AN_HOUR, "date": DATE}, 60.0),
        ({"expires": IN_AN_HOUR, "date": DATE}, 3600.0),
        ({"expires": IN_AN_HOUR}, 3600.0),
        ({"expires": DATE, "date": IN_AN_HOUR}, 0.0),
        ({"expires": "0"}, 0.0),
        ({"cache-control": "max-age=junk"}, None),
        ({}, None),
    ],
    ids=[
        "max-age",
        "s-maxage-ignored",
        "quoted",
        "s-maxage-only",
        "no-cache",
        "no-store-wins",
        "qualified-no-cache",
        "max-age-over-expires",
        "expires-minus-date",
        "expires-minus-now",
        "expires-before-date",
        "invalid-expires",
        "bad-max-age",
        "nothing",
    ],
)
def test_parse_freshness(headers: dict[str, str], expected: float | None) -> None:
    assert parse_freshness(headers, now=NOW) == expected


async def test_fresh_for_and_retry_after_use_the_response_date(
    make_fetcher: Callable[..., Fetcher],
) -> None:
    server_now = NOW + timedelta(minutes=30)  # the server's clock is ahead of ours

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=b"x",
            headers={
                "Date": format_datetime(server_now, usegmt=True),
                "Expires": format_datetime(server_now + timedelta(minutes=10), usegmt=True),
                "Retry-After": format_datetime(server_now + timedelta(seconds=45), usegmt=True),
            },
        )

    result = await fetch_one(make_fetcher(handler), "http://gov.test/a")

    assert (result.fresh_for, result.retry_after) == (600.0, 45.0)


# -- redirects ------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_redirect_chain_is_followed(
    make_fetcher: Callable[..., Fetcher], status: int
) -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/old":
            return httpx.Response(status, headers={"Location": "/new/"})
        if request.url.path == "/new/":
            return httpx.Response(status, headers={"Location": "list.htm"})
        return httpx.Response(200, content=b"final", headers={"ETag": '"f"'})

    result = await fetch_one(make_fetcher(handler), "http://gov.test/old", etag='"old"')

    assert result.status is FetchStatus.OK
    assert result.url == "http://gov.test/new/list.htm"
    assert (result.body, result.etag) == (b"final", '"f"')
    assert seen == ["http://gov.test/old", "http://gov.test/new/", "http://gov.test/new/list.htm"]


async def test_redirect_to_another_host(make_fetcher: Callable[..., Fetcher]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "old.gov.test":
            return httpx.Response(301, headers={"Location": "https://www.gov.test/a"})
        return httpx.Response(200, content=b"moved")

    result = await fetch_one(make_fetcher(handler), "http://old.gov.test/a")

    assert (result.status, result.url, result.body) == (
        FetchStatus.OK,
        "https://www.gov.test/a",
        b"moved",
    )


async def test_redirect_loop_names_the_chain(make_fetcher: Callable[..., Fetcher]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        target = "/b" if request.url.path == "/a" else "/a"
        return httpx.Response(302, headers={"Location": target})

    result = await fetch_one(make_fetcher(handler), "http://gov.test/a")

    assert result.status is FetchStatus.TOO_MANY_REDIRECTS
    assert (
        result.error == "redirect loop: http://gov.test/a → http://gov.test/b → http://gov.test/a"
    )
    assert result.http_status == 302


async def test_too_many_redirects(make_fetcher: Callable[..., Fetcher]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        step = int(request.url.path.strip("/"))
        return httpx.Response(301, headers={"Location": f"/{step + 1}"})

    result = await fetch_one(make_fetcher(handler, max_redirects=2), "http://gov.test/0")

    assert result.status is FetchStatus.TOO_MANY_REDIRECTS
    assert result.error == (
        "more than 2 redirects: http://gov.test/0 → http://gov.test/1 → http://gov.test/2"
        " → http://gov.test/3"
    )


async def test_max_redirects_are_allowed(make_fetcher: Callable[..., Fetcher]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        step = int(request.url.path.strip("/"))
        if step == 2:
            return httpx.Response(200, content=b"done")
        return httpx.Response(301, headers={"Location": f"/{step + 1}"})

    result = await fetch_one(make_fetcher(handler, max_redirects=2), "http://gov.test/0")

    assert (result.status, result.url) == (FetchStatus.OK, "http://gov.test/2")


async def test_redirect_to_other_scheme_is_an_error(make_fetcher: Callable[..., Fetcher]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "ftp://files.gov.test/list.txt"})

    result = await fetch_one(make_fetcher(handler), "http://gov.test/a")

    assert result.status is FetchStatus.ERROR
    assert result.error == "redirect to unsupported scheme: ftp://files.gov.test/list.txt"


# -- the body cap ---------------------------------------------------------------------------------


async def test_content_length_over_cap_is_refused_before_reading(
    make_fetcher: Callable[..., Fetcher],
) -> None:
    pulled: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for n in range(10):
            pulled.append(n)
            yield b"x" * 1000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": "10000"}, content=body())

    result = await fetch_one(make_fetcher(handler, max_body_bytes=4096), "http://gov.test/big")

    assert result.status is FetchStatus.TOO_LARGE
    assert result.error == "body exceeds 4096 bytes"
    assert (result.body, result.http_status) == (b"", 200)
    assert pulled == []


async def test_streamed_body_is_cut_as_soon_as_it_passes_the_cap(
    make_fetcher: Callable[..., Fetcher],
) -> None:
    pulled: list[int] = []

    async def endless() -> AsyncIterator[bytes]:
        n = 0
        while True:
            pulled.append(n)
            n += 1
            yield b"x" * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    result = await fetch_one(make_fetcher(handler, max_body_bytes=10 * 1024), "http://gov.test/e")

    assert result.status is FetchStatus.TOO_LARGE
    assert len(pulled) == 11


async def test_body_exactly_at_cap_is_fine(make_fetcher: Callable[..., Fetcher]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"x" * 4096)

    result = await fetch_one(make_fetcher(handler, max_body_bytes=4096), "http://gov.test/a")

    assert (result.status, len(result.body)) == (FetchStatus.OK, 4096)


async def test_gzip_bomb_is_cut_at_the_cap(make_fetcher: Callable[..., Fetcher]) -> None:
    bomb = gzip.compress(b"\0" * (20 * 1024 * 1024))
    assert len(bomb) < 64 * 1024

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(bomb), headers={"Content-Encoding": "gzip"})

    result = await fetch_one(make_fetcher(handler, max_body_bytes=64 * 1024), "http://gov.test/z")

    assert result.status is FetchStatus.TOO_LARGE


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


TEXT = "江西省人民政府办公厅关于转发《国务院办公厅关于…的意见》的通知".encode() * 200


@pytest.mark.parametrize(
    ("encoding", "payload"),
    [
        ("gzip", gzip.compress(TEXT)),
        ("deflate", zlib.compress(TEXT)),
        ("deflate", _raw_deflate(TEXT)),
        ("identity", TEXT),
    ],
    ids=["gzip", "zlib-deflate", "raw-deflate", "identity"],
)
async def test_compressed_bodies_are_decoded(
    make_fetcher: Callable[..., Fetcher], encoding: str, payload: bytes
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks(payload), headers={"Content-Encoding": encoding})

    result = await fetch_one(make_fetcher(handler), "http://gov.test/a")

    assert (result.status, result.body) == (FetchStatus.OK, TEXT)


async def test_corrupt_gzip_is_an_error(make_fetcher: Callable[..., Fetcher]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        headers = {"Content-Encoding": "gzip"}
        return httpx.Response(200, content=chunks(b"not gzip at all"), headers=headers)

    result = await fetch_one(make_fetcher(handler), "http://gov.test/a")

    assert result.status is FetchStatus.ERROR
    assert result.error is not None and result.error.startswith("DecodingError: ")


# -- exceptions become statuses ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("exc", "status", "error"),
    [
        (httpx.ConnectTimeout("timed out"), FetchStatus.TIMEOUT, "connect timeout after 10.0 s"),
        (httpx.ReadTimeout("timed out"), FetchStatus.TIMEOUT, "read timeout after 20.0 s"),
        (httpx.WriteTimeout("timed out"), FetchStatus.TIMEOUT, "write timeout after 20.0 s"),
        (httpx.PoolTimeout("timed out"), FetchStatus.TIMEOUT, "pool timeout after 10.0 s"),
        (
            httpx.ConnectError("[Errno 111] Connection refused"),
            FetchStatus.CONNECT_ERROR,
            "connection failed: [Errno 111] Connection refused",
        ),
        (
            httpx.ConnectError("[Errno -2] Name or service not known"),
            FetchStatus.CONNECT_ERROR,
            "connection failed: [Errno -2] Name or service not known",
        ),
        (
            httpx.ReadError("[Errno 104] Connection reset by peer"),
            FetchStatus.CONNECT_ERROR,
            "connection failed: [Errno 104] Connection reset by peer",
        ),
        (
            httpx.RemoteProtocolError("Server disconnected without sending a response."),
            FetchStatus.CONNECT_ERROR,
            "connection closed by the server without an answer",
        ),
        (
            httpx.RemoteProtocolError("illegal status line: bytearray(b'SSH-2.0')"),
            FetchStatus.ERROR,
            "RemoteProtocolError: illegal status line: bytearray(b'SSH-2.0')",
        ),
        (
            httpx.DecodingError("bad chunk"),
            FetchStatus.ERROR,
            "DecodingError: bad chunk",
        ),
        (
            httpx.UnsupportedProtocol("Request URL has an unsupported protocol"),
            FetchStatus.ERROR,
            "UnsupportedProtocol: Request URL has an unsupported protocol",
        ),
    ],
    ids=[
        "connect-timeout",
        "read-timeout",
        "write-timeout",
        "pool-timeout",
        "refused",
        "dns",
        "reset",
        "dropped",
        "protocol",
        "decoding",
        "unsupported",
    ],
)
async def test_transport_exceptions_become_statuses(
    make_fetcher: Callable[..., Fetcher],
    exc: Exception,
    status: FetchStatus,
    error: str,
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    result = await fetch_one(make_fetcher(handler), "http://gov.test/a")

    assert (result.status, result.error) == (status, error)
    assert (result.http_status, result.body, result.url) == (None, b"", "http://gov.test/a")


async def test_timeout_during_a_redirect_reports_the_current_url(
    make_fetcher: Callable[..., Fetcher],
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/a":
            return httpx.Response(302, headers={"Location": "/b"})
        raise httpx.ReadTimeout("timed out")

    result = await fetch_one(make_fetcher(handler), "http://gov.test/a")

    assert (result.status, result.url) == (FetchStatus.TIMEOUT, "http://gov.test/b")


@pytest.mark.parametrize(
    "url", ["ftp://gov.test/a", "gov.test/a", "http://"], ids=["ftp", "no-scheme", "no-host"]
)
async def test_unusable_urls_are_errors(make_fetcher: Callable[..., Fetcher], url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("no request expected")

    result = await fetch_one(make_fetcher(handler), url)

    assert result.status is FetchStatus.ERROR


async def test_a_closed_fetcher_refuses_to_fetch(make_fetcher: Callable[..., Fetcher]) -> None:
    fetcher = make_fetcher(lambda request: httpx.Response(200))
    await fetcher.aclose()

    with pytest.raises(RuntimeError, match="closed"):
        await fetcher.fetch(FetchRequest(url="http://gov.test/a"))


async def test_elapsed_comes_from_the_injected_clock(
    make_fetcher: Callable[..., Fetcher], fake_time: FakeTime
) -> None:
    async def handler(request: httpx.Request) -> httpx.Response:
        fake_time.now += 2.5
        return httpx.Response(200, content=b"x")

    result = await fetch_one(make_fetcher(handler), "http://gov.test/a")

    assert result.elapsed == 2.5


# -- politeness ----------------------------------------------------------------------------------


async def test_per_host_delay_spaces_the_starts(
    make_fetcher: Callable[..., Fetcher], fake_time: FakeTime
) -> None:
    starts: list[tuple[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        starts.append((request.url.path, fake_time.now))
        return httpx.Response(200, content=b"x")

    async with make_fetcher(handler, per_host_delay=1.5, per_host_concurrency=2) as fetcher:
        results = await asyncio.gather(
            *(fetcher.fetch(FetchRequest(url=f"http://gov.test/{n}")) for n in range(4))
        )

    assert all(r.status is FetchStatus.OK for r in results)
    assert fake_time.sleeps == [1.5, 1.5, 1.5]
    assert [at for _, at in starts] == [0.0, 1.5, 3.0, 4.5]


async def test_per_host_delay_does_not_hold_up_other_hosts(
    make_fetcher: Callable[..., Fetcher], fake_time: FakeTime
) -> None:
    starts: list[tuple[str | None, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        starts.append((request.url.host, fake_time.now))
        return httpx.Response(200, content=b"x")

    async with make_fetcher(handler, per_host_delay=10.0) as fetcher:
        await asyncio.gather(
            *(
                fetcher.fetch(FetchRequest(url=f"http://{host}.gov.test/{n}"))
                for n in range(2)
                for host in ("a", "b", "c")
            )
        )

    first = {host: at for host, at in reversed(starts)}
    assert first == {"a.gov.test": 0.0, "b.gov.test": 0.0, "c.gov.test": 0.0}
    assert sorted(fake_time.sleeps) == [10.0, 10.0, 10.0]


async def test_host_key_includes_the_port(
    make_fetcher: Callable[..., Fetcher], fake_time: FakeTime
) -> None:
    async with make_fetcher(lambda r: httpx.Response(200), per_host_delay=5.0) as fetcher:
        await fetcher.fetch(FetchRequest(url="http://gov.test:8001/a"))
        await fetcher.fetch(FetchRequest(url="http://gov.test:8002/a"))
        await fetcher.fetch(FetchRequest(url="http://gov.test/a"))
        await fetcher.fetch(FetchRequest(url="http://gov.test:80/b"))

    assert fake_time.sleeps == [5.0]


class InFlight:
    """Counts requests inside the handler; they stay there for a few loop turns."""

    def __init__(self) -> None:
        self.now: dict[str, int] = {}
        self.peak: dict[str, int] = {}
        self.total_peak = 0

    async def handler(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        self.now[host] = self.now.get(host, 0) + 1
        self.peak[host] = max(self.peak.get(host, 0), self.now[host])
        self.total_peak = max(self.total_peak, sum(self.now.values()))
        for _ in range(5):
            await asyncio.sleep(0)
        self.now[host] -= 1
        return httpx.Response(200, content=b"x")


async def test_per_host_concurrency_is_capped(make_fetcher: Callable[..., Fetcher]) -> None:
    counter = InFlight()

    async with make_fetcher(counter.handler, per_host_concurrency=2) as fetcher:
        results = await asyncio.gather(
            *(
                fetcher.fetch(FetchRequest(url=f"http://{host}.gov.test/{n}"))
                for n in range(8)
                for host in ("a", "b")
            )
        )

    assert all(r.status is FetchStatus.OK for r in results)
    assert counter.peak == {"a.gov.test": 2, "b.gov.test": 2}


async def test_global_concurrency_is_capped(make_fetcher: Callable[..., Fetcher]) -> None:
    counter = InFlight()

    async with make_fetcher(
        counter.handler, concurrency=3, clients=2, per_host_concurrency=2
    ) as fetcher:
        await asyncio.gather(
            *(fetcher.fetch(FetchRequest(url=f"http://h{n}.gov.test/")) for n in range(10))
        )

    assert counter.total_peak == 3


async def test_a_stuck_host_does_not_block_other_hosts(
    make_fetcher: Callable[..., Fetcher],
) -> None:
    release = asyncio.Event()
    done: list[str] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "slow.gov.test":
            await release.wait()
        done.append(str(request.url))
        return httpx.Response(200)

    async with make_fetcher(handler, concurrency=4, per_host_concurrency=2) as fetcher:
        slow = [
            asyncio.ensure_future(fetcher.fetch(FetchRequest(url=f"http://slow.gov.test/{n}")))
            for n in range(6)
        ]
        fast = await asyncio.gather(
            *(fetcher.fetch(FetchRequest(url=f"http://fast{n}.gov.test/")) for n in range(6))
        )
        assert all(r.status is FetchStatus.OK for r in fast)
        assert not any(task.done() for task in slow)
        release.set()
        assert all(r.status is FetchStatus.OK for r in await asyncio.gather(*slow))

"""The fetcher over real sockets against the portal simulator on 127.0.0.1."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from syndicator.db.models import FetchStatus
from syndicator.settings import FetchSettings
from syndicator.sources.fetcher import Fetcher, FetchRequest
from tests.fakes.portals import Page, ServerFactory, SimulatorServer, unused_port

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

GBK_TITLE = "修水县人民政府办公室关于转发《国务院办公厅关于加强政务数据共享的意见》的通知"


def settings(**overrides: Any) -> FetchSettings:
    return FetchSettings(**{"per_host_delay": 0.0, "connect_timeout": 2.0, **overrides})


async def test_etag_then_304_on_a_conditional_get(portal: SimulatorServer) -> None:
    url = portal.set(
        "/list",
        Page(body="<li>最新政策</li>".encode(), last_modified=datetime(2026, 11, 25, tzinfo=UTC)),
    )

    async with Fetcher(settings()) as fetcher:
        first = await fetcher.fetch(FetchRequest(url=url))
        served_etag = portal.portal.etag("/list")
        by_etag = await fetcher.fetch(FetchRequest(url=url, etag=first.etag))
        by_date = await fetcher.fetch(FetchRequest(url=url, last_modified=first.last_modified))
        portal.set("/list", Page(body="<li>新的政策</li>".encode()))
        changed = await fetcher.fetch(FetchRequest(url=url, etag=first.etag))

    assert first.status is FetchStatus.OK
    assert first.etag is not None and first.etag == served_etag
    assert first.last_modified == "Wed, 25 Nov 2026 00:00:00 GMT"
    assert (by_etag.status, by_etag.http_status, by_etag.body) == (
        FetchStatus.NOT_MODIFIED,
        304,
        b"",
    )
    assert by_date.status is FetchStatus.NOT_MODIFIED
    assert changed.status is FetchStatus.OK
    assert changed.body == "<li>新的政策</li>".encode()
    assert changed.etag not in (None, first.etag)


async def test_gbk_bytes_arrive_intact(portal: SimulatorServer) -> None:
    body = f'<meta charset="gb2312"><ul><li><a href="./t1.html">{GBK_TITLE}</a></li></ul>'
    encoded = body.encode("gbk")
    url = portal.set("/gbk", Page(body=encoded, content_type="text/html; charset=GB2312"))

    async with Fetcher(settings()) as fetcher:
        result = await fetcher.fetch(FetchRequest(url=url))

    assert result.status is FetchStatus.OK
    assert result.body == encoded
    assert result.content_type == "text/html; charset=GB2312"
    assert GBK_TITLE in result.body.decode("gbk")


async def test_endless_body_is_cut_at_the_cap(portal: SimulatorServer) -> None:
    url = portal.set("/endless", Page(behaviour="endless"))

    started = time.monotonic()
    async with Fetcher(settings(max_body_bytes=64 * 1024)) as fetcher:
        result = await fetcher.fetch(FetchRequest(url=url))

    assert result.status is FetchStatus.TOO_LARGE
    assert result.error == "body exceeds 65536 bytes"
    assert time.monotonic() - started < 1.0


async def test_redirects_are_followed_and_loops_caught(portal: SimulatorServer) -> None:
    portal.set("/old", Page(status=301, headers={"Location": "/new/"}))
    portal.set("/new/", Page(body=b"moved here"))
    loop = portal.set("/loop", Page(behaviour="redirect_loop"))

    async with Fetcher(settings()) as fetcher:
        moved = await fetcher.fetch(FetchRequest(url=portal.url("/old")))
        looping = await fetcher.fetch(FetchRequest(url=loop))

    assert (moved.status, moved.url, moved.body) == (
        FetchStatus.OK,
        portal.url("/new/"),
        b"moved here",
    )
    assert looping.status is FetchStatus.TOO_MANY_REDIRECTS
    assert looping.error == f"redirect loop: {loop} → {loop}~loop → {loop}"


@pytest.mark.parametrize(
    ("page", "http_status", "error", "retry_after"),
    [
        (
            Page(status=429, headers={"Retry-After": "30"}, body=b"slow down"),
            429,
            "HTTP 429 Too Many Requests",
            30.0,
        ),
        (
            Page(status=503, headers={"Retry-After": "Thu, 01 Jan 2099 00:00:00 GMT"}),
            503,
            "HTTP 503 Service Unavailable",
            None,
        ),
        (Page(status=500, body=b"<h1>500</h1>"), 500, "HTTP 500 Internal Server Error", None),
    ],
    ids=["429-retry-after", "503-retry-date", "500"],
)
async def test_http_errors(
    portal: SimulatorServer,
    page: Page,
    http_status: int,
    error: str,
    retry_after: float | None,
) -> None:
    url = portal.set("/err", page)

    async with Fetcher(settings()) as fetcher:
        result = await fetcher.fetch(FetchRequest(url=url))

    assert (result.status, result.http_status, result.error) == (
        FetchStatus.HTTP_ERROR,
        http_status,
        error,
    )
    if http_status == 503:
        assert result.retry_after is not None and result.retry_after > 365 * 86400
    else:
        assert result.retry_after == retry_after


async def test_unknown_path_is_404(portal: SimulatorServer) -> None:
    async with Fetcher(settings()) as fetcher:
        result = await fetcher.fetch(FetchRequest(url=portal.url("/nowhere")))

    assert (result.status, result.http_status) == (FetchStatus.HTTP_ERROR, 404)


async def test_slow_host_times_out_while_another_host_answers(
    portal_factory: ServerFactory,
) -> None:
    server = portal_factory(ports=2)
    slow = server.set("/slow", Page(body=b"late", delay=1.0), host=0)
    fast = server.set("/fast", Page(body=b"quick"), host=1)

    async with Fetcher(settings(read_timeout=0.3)) as fetcher:
        slow_task = asyncio.ensure_future(fetcher.fetch(FetchRequest(url=slow)))
        await asyncio.sleep(0.05)
        fast_result = await fetcher.fetch(FetchRequest(url=fast))
        assert not slow_task.done()
        slow_result = await slow_task

    assert (fast_result.status, fast_result.body) == (FetchStatus.OK, b"quick")
    assert fast_result.elapsed < 0.2
    assert slow_result.status is FetchStatus.TIMEOUT
    assert slow_result.error == "read timeout after 0.3 s"
    assert 0.25 < slow_result.elapsed < 0.9


async def test_connection_refused(portal: SimulatorServer) -> None:
    url = f"http://127.0.0.1:{unused_port()}/list"

    async with Fetcher(settings()) as fetcher:
        result = await fetcher.fetch(FetchRequest(url=url))

    assert result.status is FetchStatus.CONNECT_ERROR
    assert result.error is not None and result.error.startswith("connection failed: ")
    assert result.http_status is None


async def test_dropped_connection(portal: SimulatorServer) -> None:
    url = portal.set("/drop", Page(behaviour="drop"))

    async with Fetcher(settings()) as fetcher:
        result = await fetcher.fetch(FetchRequest(url=url))

    assert result.status is FetchStatus.CONNECT_ERROR
    assert result.error == "connection closed by the server without an answer"


async def test_per_host_concurrency_as_the_server_sees_it(portal_factory: ServerFactory) -> None:
    server = portal_factory(ports=2)
    server.set("/page", Page(body=b"x", delay=0.1))
    urls = [server.url("/page", host) for host in (0, 1) for _ in range(6)]

    async with Fetcher(settings(per_host_concurrency=2)) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(FetchRequest(url=u)) for u in urls))

    assert all(r.status is FetchStatus.OK for r in results)
    assert server.stats.max_in_flight == {port: 2 for port in server.ports}


async def test_per_host_delay_against_a_real_server(portal: SimulatorServer) -> None:
    url = portal.set("/page", Page(body=b"x"))

    started = time.monotonic()
    async with Fetcher(settings(per_host_delay=0.15)) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(FetchRequest(url=url)) for _ in range(4)))

    assert all(r.status is FetchStatus.OK for r in results)
    assert time.monotonic() - started >= 0.45


async def test_connections_are_kept_alive(portal: SimulatorServer) -> None:
    url = portal.set("/page", Page(body=b"x" * 10_000))

    async with Fetcher(settings(clients=2)) as fetcher:
        for _ in range(20):
            result = await fetcher.fetch(FetchRequest(url=url))
            assert result.status is FetchStatus.OK

    stats = portal.stats
    assert stats.requests["/page"] == 20
    assert stats.total_connections <= 2

"""The portal simulator serves what it claims: demo portals, the sources file, the bench farm."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx
import pytest

from syndicator.simulator import DEMO_SITE_IDS, DEMO_SOURCE_IDS, SimulatorError
from tests.fakes.portals import (
    DemoWorld,
    Page,
    Portal,
    SimulatorServer,
    build_bench_world,
    build_demo_world,
)

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


@pytest.fixture
def demo() -> Iterator[tuple[DemoWorld, SimulatorServer, httpx.Client]]:
    world = build_demo_world(NOW, slow_delay=0.2)
    with (
        SimulatorServer(world.portal) as server,
        httpx.Client(base_url=server.base_urls[0], timeout=5) as client,
    ):
        yield world, server, client


# -- the demo world ----------------------------------------------------------------------------


def test_every_source_of_the_sources_file_is_served(
    demo: tuple[DemoWorld, SimulatorServer, httpx.Client],
) -> None:
    world, server, client = demo
    config = tomllib.loads(world.sources_toml(server.base_urls[0]))

    assert [s["id"] for s in config["site"]] == list(DEMO_SITE_IDS)
    assert [s["id"] for s in config["source"]] == list(DEMO_SOURCE_IDS)
    for source in config["source"]:
        response = client.get(source["url"])
        assert response.status_code == 200, source["id"]
        assert response.content, source["id"]


def test_sources_file_declares_what_the_pages_need(
    demo: tuple[DemoWorld, SimulatorServer, httpx.Client],
) -> None:
    world, server, _ = demo
    config = tomllib.loads(world.sources_toml(server.base_urls[0]))
    sites = {s["id"]: s for s in config["site"]}
    sources = {s["id"]: s for s in config["source"]}

    assert sites["gov-cn"]["level"] == "national" and "parent" not in sites["gov-cn"]
    assert sites["jiangxi"]["parent"] == "gov-cn"
    assert {sites[i]["parent"] for i in ("nanchang", "xiushui", "wuyuan", "jinggangshan")} == {
        "jiangxi"
    }
    govcn = sources["govcn-zuixin"]
    assert (govcn["role"], govcn["kind"], govcn["key"], govcn["detail"]) == (
        "upstream",
        "html_list",
        True,
        True,
    )
    assert govcn["html"]["link_pattern"] == r"content_\d+\.htm"
    assert "encoding" not in sources["xs-tzgg"]
    for source in sources.values():
        assert source["interval"] == "10m"
        if source["role"] == "downstream":
            assert source["column"] in {"dynamic", "notice", "policy", "home", "repost"}
            assert "key" not in source
        else:
            assert "column" not in source
        if source["kind"] == "html_list":
            assert {"item", "link", "title", "date"} <= set(source["html"])


def test_govcn_list_and_detail_pages(demo: tuple[DemoWorld, SimulatorServer, httpx.Client]) -> None:
    world, _, client = demo
    listing = client.get(world.source_path("govcn-zuixin"))
    text = listing.text

    assert listing.headers["content-type"] == "text/html; charset=utf-8"
    assert '<ul class="list">' in text
    links = re.findall(r'<li><h4><a href="\./content_(\d+)\.htm"[^>]*>([^<]+)</a>', text)
    assert len(links) == 15
    dates = re.findall(r'<span class="date">(\d{4}-\d{2}-\d{2})</span>', text)
    assert len(dates) == 15
    assert "国务院办公厅关于印发《政府网站发展指引》的通知" in text

    number, title = links[0]
    detail = client.get(world.source_path("govcn-zuixin") + f"content_{number}.htm").text
    first = re.search(r'<meta name="firstpublishedtime" content="([^"]+)">', detail)
    assert first is not None
    published = datetime.strptime(first.group(1), "%Y-%m-%d-%H:%M:%S")
    assert published == datetime(2026, 11, 26, 7, 0, 15)  # NOW - 2 h, Beijing time
    assert f'<meta name="manuscriptId" content="{number}">' in detail
    assert f'<meta name="ArticleTitle" content="{title}">' in detail
    assert '<meta name="ContentSource" content="中国政府网">' in detail


def test_demo_times_are_recent_and_in_beijing_time(
    demo: tuple[DemoWorld, SimulatorServer, httpx.Client],
) -> None:
    world, _, client = demo
    for document in world.documents["gov-cn"] + world.documents["jiangxi"]:
        assert NOW - timedelta(hours=31) < document.published < NOW - timedelta(hours=1)
    for entries in world.entries.values():
        for entry in entries:
            assert entry.published < NOW
            if entry.reposts is not None:
                assert entry.published > entry.reposts.published

    feed = ET.fromstring(client.get(world.source_path("jx-szfwj")).content)
    stamps = [item.findtext("pubDate") for item in feed.iter("item")]
    assert stamps and all(s is not None and s.endswith("+0800") for s in stamps)


@pytest.mark.parametrize("source_id", ["jx-szfwj", "jx-gwywj"])
def test_jiangxi_rss_parses(
    demo: tuple[DemoWorld, SimulatorServer, httpx.Client], source_id: str
) -> None:
    world, _, client = demo
    response = client.get(world.source_path(source_id))
    root = ET.fromstring(response.content)

    assert response.headers["content-type"].startswith("application/rss+xml")
    assert root.tag == "rss" and root.get("version") == "2.0"
    items = list(root.iter("item"))
    assert 10 <= len(items) <= 12
    for item in items:
        assert item.findtext("title")
        assert item.findtext("link", "").startswith("/www.jiangxi.gov.cn/art/")
        assert parsedate_to_datetime(item.findtext("pubDate", "")).tzinfo is not None
    assert any("赣府" in (item.findtext("description") or "") for item in items) == (
        source_id == "jx-szfwj"
    )


def test_gbk_county_page(demo: tuple[DemoWorld, SimulatorServer, httpx.Client]) -> None:
    world, _, client = demo
    response = client.get(world.source_path("xs-tzgg"))

    assert response.headers["content-type"] == "text/html; charset=GB2312"
    with pytest.raises(UnicodeDecodeError):
        response.content.decode("utf-8")
    text = response.content.decode("gbk")
    assert '<meta charset="gb2312">' in text
    assert "修水县人民政府办公室关于转发《" in text
    assert re.search(r'<span class="date">\[\d{2}-\d{2}\]</span>', text)
    link = re.search(r'<a href="\./([^"]+)"', text)
    assert link is not None
    article = client.get(world.source_path("xs-tzgg") + link.group(1))
    assert article.status_code == 200 and "修水县人民政府" in article.content.decode("gbk")


def test_county_reposts_use_the_usual_wrappers(
    demo: tuple[DemoWorld, SimulatorServer, httpx.Client],
) -> None:
    world, _, client = demo
    nanchang = client.get(world.source_path("nc-zcwj")).text

    assert "南昌市人民政府办公室关于转发《" in nanchang
    assert "【转载】国务院" in nanchang
    assert "转发：江西省人民政府" in nanchang
    assert re.search(r'<span class="time">\d{4}年\d{1,2}月\d{1,2}日</span>', nanchang)
    slow = client.get(world.source_path("jgs-zcwj")).text
    assert re.search(r"发布时间：\d{4}-\d{2}-\d{2} \d{2}:\d{2}", slow)


def test_broken_site_redesigned_or_failing() -> None:
    redesigned = build_demo_world(NOW)
    failing = build_demo_world(NOW, broken="http_500")
    path = redesigned.source_path("wy-zwdt")

    page = redesigned.portal.get(path)
    assert page is not None and page.status == 200
    assert 'class="list-item"' not in page.body.decode()
    assert "婺源县" in page.body.decode()
    error = failing.portal.get(path)
    assert error is not None and error.status == 500


def test_slow_site_takes_its_delay(demo: tuple[DemoWorld, SimulatorServer, httpx.Client]) -> None:
    world, _, client = demo
    started = time.monotonic()
    response = client.get(world.source_path("jgs-zcwj"))

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2


def test_advance_publishes_and_reposts(
    demo: tuple[DemoWorld, SimulatorServer, httpx.Client],
) -> None:
    world, _, client = demo
    listing = world.source_path("govcn-zuixin")
    before = client.get(listing)
    nanchang_before = client.get(world.source_path("nc-zcwj")).text

    changes = world.advance(NOW + timedelta(hours=1))

    (document,) = changes.published
    ((source_id, repost),) = changes.reposted
    after = client.get(listing, headers={"If-None-Match": before.headers["etag"]})
    assert after.status_code == 200
    assert document.title in after.text and document.title not in before.text
    assert client.get(listing + f"content_{document.id}.htm").status_code == 200
    nanchang_after = client.get(world.source_path("nc-zcwj")).text
    assert source_id == "nc-zcwj"
    assert repost.title in nanchang_after and repost.title not in nanchang_before
    assert repost.reposts is not None and repost.reposts.title in repost.title


# -- the server itself -------------------------------------------------------------------------


def test_server_counts_requests_and_honours_if_modified_since() -> None:
    portal = Portal({"/a": Page(body=b"a", last_modified=NOW)})
    with SimulatorServer(portal, ports=2) as server, httpx.Client(timeout=5) as client:
        fresh = client.get(
            server.url("/a", 1), headers={"If-Modified-Since": "Thu, 26 Nov 2026 01:00:00 GMT"}
        )
        stale = client.get(
            server.url("/a"), headers={"If-Modified-Since": "Wed, 25 Nov 2026 01:00:00 GMT"}
        )
        missing = client.get(server.url("/b"))

    assert (fresh.status_code, fresh.content) == (304, b"")
    assert fresh.headers["last-modified"] == "Thu, 26 Nov 2026 01:00:00 GMT"
    assert (stale.status_code, stale.content) == (200, b"a")
    assert missing.status_code == 404
    assert server.stats.requests == {"/a": 2, "/b": 1}
    assert set(server.stats.max_in_flight) == set(server.ports)
    assert not server.running


def test_port_in_use_is_reported() -> None:
    with SimulatorServer() as first:
        second = SimulatorServer(ports=[first.ports[0]])
        with pytest.raises(SimulatorError, match="cannot bind"):
            second.start()


# -- the bench world ---------------------------------------------------------------------------


def test_bench_world_feeds() -> None:
    started = time.monotonic()
    world = build_bench_world(2000, hosts=200, seed=1)
    assert time.monotonic() - started < 5.0

    assert len(world.paths) == 2000
    sizes = [world.feed_size(i) for i in range(2000)]
    assert min(sizes) >= 27_000 and max(sizes) <= 33_000
    page = world.portal.get(world.paths[7])
    assert page is not None
    root = ET.fromstring(page.body)
    items = list(root.iter("item"))
    assert len(items) == 50
    assert re.search(r"[\u4e00-\u9fff]{10}", items[0].findtext("title", ""))
    assert len(items[0].findtext("description", "")) > 100
    assert [world.portal.etag(p) is not None for p in world.paths[:4]] == [True, False, True, False]
    urls = world.urls([f"http://127.0.0.1:{9000 + h}" for h in range(200)])
    assert urls[201] == "http://127.0.0.1:9001/feeds/00201.xml"


def test_bench_steady_cycle_changes_a_tenth() -> None:
    world = build_bench_world(400, hosts=10, seed=2)
    before = {p: world.portal.get(p) for p in world.paths}

    changed = world.steady_cycle(0.1, random.Random(3))

    after = {p: world.portal.get(p) for p in world.paths}
    differ = [p for p in world.paths if after[p] is not before[p]]
    assert changed == len(differ) == 40
    for path in differ:
        old, new = before[path], after[path]
        assert old is not None and new is not None and old.body != new.body
        new_items = list(ET.fromstring(new.body).iter("item"))
        assert len(new_items) == 50
        assert new_items[1].findtext("guid") == next(ET.fromstring(old.body).iter("item")).findtext(
            "guid"
        )


def test_bench_conditional_answers_over_http() -> None:
    world = build_bench_world(40, hosts=4, seed=4)
    with SimulatorServer(world.portal, ports=4) as server, httpx.Client(timeout=5) as client:
        urls = world.urls(server.base_urls)
        first = [client.get(u) for u in urls]
        world.steady_cycle(0.25, random.Random(5))
        second = [
            client.get(
                u, headers={"If-None-Match": r.headers["etag"]} if "etag" in r.headers else {}
            )
            for u, r in zip(urls, first, strict=True)
        ]

    outcome = [
        "304" if r2.status_code == 304 else "same" if r2.content == r1.content else "new"
        for r1, r2 in zip(first, second, strict=True)
    ]
    assert outcome.count("new") == 10
    assert outcome.count("304") + outcome.count("same") == 30
    assert outcome.count("304") >= 10 and outcome.count("same") >= 10


def test_bench_farm_process_protocol() -> None:
    farm = subprocess.Popen(
        [sys.executable, "-m", "syndicator.simulator", "bench", "--sources", "30", "--hosts", "3"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert farm.stdin is not None and farm.stdout is not None
    try:
        hello = json.loads(farm.stdout.readline())
        assert len(hello["base_urls"]) == 3 and len(hello["urls"]) == 30
        with httpx.Client(timeout=5) as client:
            assert client.get(hello["urls"][0]).status_code == 200
        farm.stdin.write("mutate\n")
        farm.stdin.flush()
        assert json.loads(farm.stdout.readline()) == {"mutated": 3}
        farm.stdin.write("stats\n")
        farm.stdin.flush()
        assert json.loads(farm.stdout.readline())["requests"] == 1
        farm.stdin.close()
        assert farm.wait(timeout=10) == 0
    finally:
        if farm.poll() is None:
            farm.kill()
            farm.wait()
        farm.stdout.close()

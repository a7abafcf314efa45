"""The RSS/Atom adapter writing feed files in tmp_path (no network: the client is never used)."""

from __future__ import annotations

import asyncio
import errno
import os
import stat
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest

from channels.base import ChannelConfigError, ChannelError, Message, Misconfigured, Retryable
from channels.rss import ATOM_NS, RSSFeed, entry_id
from syndicator.sources.parsers import parse_feed

pytestmark = pytest.mark.anyio

A = f"{{{ATOM_NS}}}"
FEED_URL = "https://www.jiangxi.gov.cn/feeds/jiedu.atom"
ARTICLE = "https://www.jiangxi.gov.cn/art/2026/11/26/art_5218_4938291.html"
START = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def tick(self, minutes: int = 1) -> None:
        self.now += timedelta(minutes=minutes)


def message(n: int = 1, **kw: Any) -> Message:
    fields: dict[str, Any] = {
        "kind": "interpretation",
        "title": f"《江西省优化营商环境条例》解读（{n}）",
        "body": f"<p>第 {n} 条解读：条例自 2027 年 1 月 1 日起施行。</p>",
        "format": "html",
        "summary": "一图读懂条例要点",
        "url": f"{ARTICLE}?n={n}",
    }
    return Message(**(fields | kw))


@pytest.fixture
def clock() -> Clock:  # overrides the shared FrozenClock: this adapter takes a callable
    return Clock()


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"the RSS adapter must not use HTTP: {request.url}")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as http:
        yield http


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "jiedu.atom"


def feed(path: Path, client: httpx.AsyncClient, clock: Clock, **config: Any) -> RSSFeed:
    settings = {"path": str(path), "feed_url": FEED_URL, "title": "江西省政府 政策解读", **config}
    return RSSFeed("jx-rss", settings, client=client, clock=clock)


def entries(path: Path) -> list[ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == A + "feed"
    return root.findall(A + "entry")


def data(path: Path) -> bytes:
    return path.read_bytes()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def ids(path: Path) -> list[str | None]:
    return [e.findtext(A + "id") for e in entries(path)]


async def test_publish_writes_a_valid_atom_feed(
    path: Path, client: httpx.AsyncClient, clock: Clock
) -> None:
    channel = feed(path, client, clock, author="江西省人民政府办公厅")
    receipt = await channel.publish(message(), idempotency_key="push-1.jx-rss")

    assert receipt.status == "published"
    assert receipt.external_id == "urn:syndicator:push-1.jx-rss"
    assert receipt.url == f"{ARTICLE}?n=1"
    assert receipt.detail == f"已加入订阅源（共 1 条）：{path}"
    root = ET.parse(path).getroot()
    assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == "zh-CN"
    assert root.findtext(A + "id") == FEED_URL
    assert root.findtext(A + "updated") == "2026-11-26T09:00:00Z"
    assert root.find(A + "link[@rel='self']") is not None
    assert root.findtext(f"{A}author/{A}name") == "江西省人民政府办公厅"
    (entry,) = root.findall(A + "entry")
    assert entry.findtext(A + "title") == "《江西省优化营商环境条例》解读（1）"
    assert entry.findtext(A + "published") == entry.findtext(A + "updated")
    assert entry.find(A + "content").get("type") == "html"  # type: ignore[union-attr]
    assert entry.find(A + "category").get("label") == "政策解读"  # type: ignore[union-attr]
    assert data(path).startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<feed xmlns=")
    assert mode(path) == 0o644  # readable by the web server
    assert [p.name for p in path.parent.iterdir() if p.name.endswith(".tmp")] == []

    parsed = feedparser.parse(data(path))
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "江西省政府 政策解读"
    assert parsed.entries[0].id == "urn:syndicator:push-1.jx-rss"
    assert parsed.entries[0].link == f"{ARTICLE}?n=1"
    assert parsed.entries[0].content[0].value == message().body


async def test_same_key_updates_never_duplicates(
    path: Path, client: httpx.AsyncClient, clock: Clock
) -> None:
    channel = feed(path, client, clock)
    await channel.publish(message(1), idempotency_key="a")
    clock.tick()
    await channel.publish(message(2), idempotency_key="b")
    clock.tick()
    receipt = await channel.publish(message(1, title="更正后的标题"), idempotency_key="a")

    assert receipt.detail is not None and receipt.detail.startswith(
        "已更新订阅源中的条目（共 2 条）"
    )
    assert receipt.raw["replaced"] is True
    assert ids(path) == [entry_id("a"), entry_id("b")]
    first = entries(path)[0]
    assert first.findtext(A + "title") == "更正后的标题"
    assert first.findtext(A + "published") == "2026-11-26T09:00:00Z"
    assert first.findtext(A + "updated") == "2026-11-26T09:02:00Z"


async def test_same_time_newest_first(path: Path, client: httpx.AsyncClient, clock: Clock) -> None:
    channel = feed(path, client, clock)
    for key in "abc":
        await channel.publish(message(), idempotency_key=key)
    assert ids(path) == [entry_id("c"), entry_id("b"), entry_id("a")]


async def test_keeps_the_newest_max_entries(
    path: Path, client: httpx.AsyncClient, clock: Clock
) -> None:
    channel = feed(path, client, clock, max_entries=3)
    for n in range(5):
        clock.tick()
        receipt = await channel.publish(message(n), idempotency_key=f"k{n}")
    assert receipt.raw["entries"] == 3
    assert ids(path) == [entry_id("k4"), entry_id("k3"), entry_id("k2")]


async def test_escaping_and_chinese(path: Path, client: httpx.AsyncClient, clock: Clock) -> None:
    title = "关于“A<B & C>D”的说明\x07"
    body = "纯文本：x < y && y > z，<script>不应执行</script>"
    channel = feed(path, client, clock, title="订阅 & <测试>")
    await channel.publish(
        message(title=title, body=body, format="plain", url=None, summary=None),
        idempotency_key="k&<1>",
    )

    raw = data(path).decode("utf-8")
    assert "关于“A&lt;B &amp; C&gt;D”的说明</title>" in raw  # UTF-8, not character references
    assert "<script>" not in raw
    (entry,) = entries(path)
    assert entry.findtext(A + "title") == title.rstrip("\x07")  # not an XML character: dropped
    assert entry.findtext(A + "content") == body
    assert entry.find(A + "content").get("type") == "text"  # type: ignore[union-attr]
    assert entry.find(A + "link") is None
    parsed = feedparser.parse(raw.encode())
    assert not parsed.bozo
    assert parsed.feed.title == "订阅 & <测试>"
    assert parsed.entries[0].title == title.rstrip("\x07")
    assert parsed.entries[0].id == "urn:syndicator:k&<1>"


async def test_receipt_url_without_message_url(
    path: Path, client: httpx.AsyncClient, clock: Clock
) -> None:
    receipt = await feed(path, client, clock).publish(message(url=None), idempotency_key="k")
    assert receipt.url == f"{FEED_URL}#urn:syndicator:k"


async def test_markdown_body_becomes_html(
    path: Path, client: httpx.AsyncClient, clock: Clock
) -> None:
    body = "## 要点\n\n**一是**简化审批；详见[全文](https://www.jiangxi.gov.cn/a.html)。"
    await feed(path, client, clock).publish(
        message(body=body, format="markdown"), idempotency_key="k"
    )
    (entry,) = entries(path)
    content = entry.find(A + "content")
    assert content is not None and content.get("type") == "html"
    assert content.text == (
        "<h2>要点</h2>\n<p><strong>一是</strong>简化审批；详见"
        '<a href="https://www.jiangxi.gov.cn/a.html">全文</a>。</p>'
    )


async def test_parses_with_the_sources_parser(
    path: Path, client: httpx.AsyncClient, clock: Clock
) -> None:
    channel = feed(path, client, clock)
    await channel.publish(message(1), idempotency_key="a")
    clock.tick()
    await channel.publish(message(2, summary="第二条 & 摘要"), idempotency_key="b")

    parsed = parse_feed(data(path), base_url=FEED_URL, now=clock.now)
    assert [e.guid for e in parsed] == [entry_id("b"), entry_id("a")]
    assert [e.url for e in parsed] == [f"{ARTICLE}?n=2", f"{ARTICLE}?n=1"]
    assert parsed[0].title == "《江西省优化营商环境条例》解读（2）"
    assert parsed[0].summary == "第二条 & 摘要"
    assert parsed[0].published is not None


@pytest.mark.parametrize(
    ("errno_", "error"),
    [(errno.EACCES, Misconfigured), (errno.EROFS, Misconfigured), (errno.ENOSPC, Retryable)],
    ids=["permission-denied", "read-only-fs", "disk-full"],
)
async def test_write_failure(
    path: Path,
    client: httpx.AsyncClient,
    clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
    errno_: int,
    error: type[ChannelError],
) -> None:
    def refuse(src: str, dst: Path) -> None:
        raise OSError(errno_, os.strerror(errno_), str(dst))

    monkeypatch.setattr(os, "replace", refuse)  # the one the adapter calls
    with pytest.raises(error, match="无法写入订阅源文件") as caught:
        await feed(path, client, clock).publish(message(), idempotency_key="k")
    assert type(caught.value) is error
    assert caught.value.platform_code == errno_
    assert sorted(p.name for p in path.parent.iterdir()) == ["jiedu.atom.lock"]  # no temp left


@pytest.mark.parametrize(
    "where",
    ["missing-dir/feed.atom", ".", "a-file/feed.atom"],
    ids=["missing-directory", "path-is-a-directory", "parent-is-a-file"],
)
async def test_bad_path_is_misconfigured(
    tmp_path: Path, client: httpx.AsyncClient, clock: Clock, where: str
) -> None:
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(Misconfigured, match="无法写入订阅源文件") as caught:
        await feed(tmp_path / where, client, clock).publish(message(), idempotency_key="k")
    assert caught.value.raw["path"] == str(tmp_path / where)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"<html><body>home page</body></html>", "不是 syndicator 生成的 Atom 订阅源"),
        (b"not xml at all", "不是有效的 XML"),
        (f'<feed xmlns="{ATOM_NS}"><title>other</title></feed>'.encode(), "不是 syndicator"),
    ],
    ids=["html", "garbage", "foreign-feed"],
)
async def test_never_overwrites_a_foreign_file(
    path: Path, client: httpx.AsyncClient, clock: Clock, content: bytes, problem: str
) -> None:
    await asyncio.to_thread(path.write_bytes, content)
    with pytest.raises(Misconfigured, match=problem):
        await feed(path, client, clock).publish(message(), idempotency_key="k")
    assert data(path) == content


async def test_keeps_an_existing_file_mode(
    path: Path, client: httpx.AsyncClient, clock: Clock
) -> None:
    channel = feed(path, client, clock)
    await channel.publish(message(), idempotency_key="a")
    await asyncio.to_thread(path.chmod, 0o640)
    await channel.publish(message(), idempotency_key="b")
    assert mode(path) == 0o640


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"max_entries": 0}, "max_entries 应为正整数"),
        ({"max_entries": "50"}, "max_entries 应为正整数"),
        ({"feed_url": "/feeds/a.atom"}, "feed_url 应为 http"),
        ({"title": "  "}, "missing field|title 应为非空字符串"),
    ],
    ids=["zero", "string", "relative-url", "blank-title"],
)
async def test_bad_config(
    path: Path, client: httpx.AsyncClient, clock: Clock, config: dict[str, Any], problem: str
) -> None:
    with pytest.raises(ChannelConfigError, match=problem):
        feed(path, client, clock, **config)


async def test_repr(path: Path, client: httpx.AsyncClient, clock: Clock) -> None:
    assert repr(feed(path, client, clock)) == (
        f"RSSFeed(id='jx-rss', path={str(path)!r}, feed_url='{FEED_URL}')"
    )

"""The WeCom group-robot adapter without sockets: byte counting, news cuts, the errcode table.

Every HTTP exchange goes through ``httpx.MockTransport``; the fake server's behaviour is proved
in ``tests/integration/channels/test_wecom_bot.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from channels._robot import truncate_utf8, utf8_len
from channels.base import (
    BadContent,
    ChannelConfigError,
    ChannelError,
    LengthUnit,
    Misconfigured,
    RateLimited,
    Retryable,
    Unconfirmed,
    measure,
)
from channels.registry import load_registry
from channels.wecom_bot import WeComBot
from tests.unit.channels._support import Handler, message, mock_client, refuse

pytestmark = pytest.mark.anyio

KEY = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"
URL = "https://www.jiangxi.gov.cn/art/2026/11/26/art_1.html"


def channel(
    handler: Handler = refuse, clock: Callable[[], float] = lambda: 1000.0, **config: Any
) -> WeComBot:
    return WeComBot("jx-wecom", {"key": KEY, **config}, client=mock_client(handler), clock=clock)


@pytest.mark.parametrize(
    ("text", "size"),
    [("政务", 6), ("ab", 2), ("政a", 4), ("“辟谣”", 12), ("😀", 4), ("", 0)],
    ids=["cjk", "ascii", "mixed", "cjk-quotes", "emoji", "empty"],
)
def test_utf8_byte_counting(text: str, size: int) -> None:
    assert utf8_len(text) == size
    assert measure(text, LengthUnit.UTF8_BYTES) == size


def test_truncation_keeps_whole_characters() -> None:
    text = "政务公开" * 20  # 240 bytes
    cut = truncate_utf8(text, 128)
    assert utf8_len(cut) <= 128
    # 125 bytes of room before the 3-byte ellipsis: 41 characters (123 bytes), not 42 (126).
    assert cut == "政务公开" * 10 + "政" + "…"
    assert utf8_len(cut) == 126
    assert truncate_utf8("短", 128) == "短"


@pytest.mark.parametrize(
    ("fmt", "size"), [("plain", 2048), ("markdown", 4096)], ids=["text", "markdown"]
)
def test_chinese_text_is_limited_by_bytes_not_characters(fmt: str, size: int) -> None:
    bot = channel()
    fits = "政" * (size // 3) + "a" * (size % 3)
    bot.payload(message(fits, format=fmt))
    assert len(fits) < size  # far fewer characters than the limit's number
    with pytest.raises(BadContent) as caught:
        bot.payload(message(fits + "a", format=fmt))
    assert caught.value.platform_code == "length"
    assert f"{size + 1} 字节" in str(caught.value)


def test_news_is_cut_client_side() -> None:
    payload = channel().payload(
        message(title="题" * 100, summary="述" * 400, url=URL, extra={"card": True, "picurl": URL})
    )
    [article] = payload["news"]["articles"]
    assert utf8_len(article["title"]) <= 128
    assert utf8_len(article["description"]) <= 512
    assert article["picurl"] == URL
    assert payload["msgtype"] == "news"


@pytest.mark.parametrize(
    ("kw", "config", "msgtype"),
    [
        ({}, {}, "text"),
        ({"format": "markdown"}, {}, "markdown"),
        ({"url": URL, "extra": {"card": True}}, {}, "news"),
        ({"extra": {"card": True}}, {}, "text"),  # no url: no card
        ({}, {"msgtype": "markdown_v2"}, "markdown_v2"),
        ({"extra": {"msgtype": "markdown"}}, {"msgtype": "text"}, "markdown"),
    ],
    ids=["plain", "markdown", "card", "card-without-url", "configured", "per-message"],
)
def test_msgtype(kw: dict[str, Any], config: dict[str, Any], msgtype: str) -> None:
    assert channel(**config).payload(message(**kw))["msgtype"] == msgtype


def test_mentions_only_in_text() -> None:
    bot = channel(mentioned_list="wangwei,@all", mentioned_mobile_list=["13800138000"])
    text = bot.payload(message(extra={"mentions": ["lisi", "+8613900139000"]}))["text"]
    assert text["mentioned_list"] == ["wangwei", "@all", "lisi"]
    assert text["mentioned_mobile_list"] == ["13800138000", "+8613900139000"]
    assert "mentioned_list" not in bot.payload(message(format="markdown"))["markdown"]


@pytest.mark.parametrize(
    ("kw", "says"),
    [
        ({"body": " "}, "为空"),
        ({"format": "html"}, "html"),
        ({"extra": {"msgtype": "news"}}, "url"),
        ({"extra": {"msgtype": "image"}}, "image"),
    ],
    ids=["empty", "html", "news-without-url", "unknown-msgtype"],
)
def test_refused_before_sending(kw: dict[str, Any], says: str) -> None:
    with pytest.raises(BadContent, match=says):
        channel().payload(message(**kw))


def test_bad_configuration() -> None:
    with pytest.raises(ChannelConfigError, match="msgtype"):
        channel(msgtype="voice")
    with pytest.raises(ChannelConfigError, match="mentioned_list"):
        channel(mentioned_list={"a": 1})


def case(
    code: int | None, errmsg: str | None, error: type[ChannelError], says: str, *, status: int = 200
) -> Any:
    body = {k: v for k, v in (("errcode", code), ("errmsg", errmsg)) if v is not None}
    return pytest.param(body, status, error, says, id=f"{code}-http-{status}")


@pytest.mark.parametrize(
    ("body", "status", "error", "says"),
    [
        case(93000, "invalid webhook url, hint: [x]", Misconfigured, "移出群聊"),
        case(45009, "api freq out of limit", RateLimited, "每分钟最多 20 条"),
        case(40058, "markdown.content exceed max length 4096.", BadContent, "长度"),
        case(44004, "empty content", BadContent, "为空"),
        case(40008, "invalid message type", Misconfigured, "msgtype"),
        case(40035, "invalid parameter", BadContent, "拒绝"),
        case(-1, "system busy", Retryable, "繁忙"),
        case(60020, "not allow to access from your ip", Misconfigured, "拒绝"),
        case(93000, "invalid webhook url", Misconfigured, "移出群聊", status=400),
        case(None, None, Retryable, "HTTP 503", status=503),
        case(None, "ok", Unconfirmed, "没有 errcode"),
    ],
)
async def test_the_errcode_table(
    body: dict[str, Any], status: int, error: type[ChannelError], says: str
) -> None:
    with pytest.raises(error) as caught:
        await channel(lambda r: httpx.Response(status, json=body)).publish(
            message(), idempotency_key="k"
        )
    assert type(caught.value) is error
    assert says in str(caught.value)
    assert caught.value.http_status == status


async def test_45009_waits_until_the_rolling_minute_frees() -> None:
    now = [1000.0]
    ok = {"errcode": 0, "errmsg": "ok"}
    answers = [ok] * 20 + [{"errcode": 45009, "errmsg": "api freq out of limit"}]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=answers.pop(0))

    bot = channel(handler, clock=lambda: now[0])
    first = channel(lambda r: httpx.Response(200, json=answers[-1]))
    with pytest.raises(RateLimited) as caught:
        await first.publish(message(), idempotency_key="k")
    assert caught.value.retry_after == 60.0  # no sends known: the whole minute
    for _ in range(20):
        await bot.publish(message(), idempotency_key="k")
        now[0] += 2.0
    with pytest.raises(RateLimited) as caught:
        await bot.publish(message(), idempotency_key="k")
    assert caught.value.retry_after == pytest.approx(20.0)  # first send at 1000, now 1040


async def test_the_key_is_masked() -> None:
    echo = {"errcode": 93000, "errmsg": f"invalid webhook url key={KEY}"}
    bot = channel(lambda r: httpx.Response(200, json=echo))
    with pytest.raises(ChannelError) as caught:
        await bot.publish(message(), idempotency_key="k")
    for text in (str(caught.value), json.dumps(dict(caught.value.raw)), repr(bot)):
        assert KEY not in text
    assert bot.safe_config() == {"key": "***"}


def test_registered_as_a_builtin() -> None:
    registry = load_registry(plugins=False)
    assert registry.get("wecom_bot") is WeComBot
    assert WeComBot.rate == ((20, 60.0),)
    assert WeComBot.secret_fields == ("key",)

"""The WeCom group-robot adapter over real HTTP to the fake webhook on 127.0.0.1.

The adapter's clock is the fake's (``lambda: fake.now``), so the rolling minute is crossed by
moving it, never by sleeping; the only waits are the bounded slow-answer switch and the
client's read timeout.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from channels.base import (
    BadContent,
    ChannelError,
    Message,
    Misconfigured,
    RateLimited,
    Retryable,
    Unconfirmed,
)
from channels.wecom_bot import WeComBot
from tests.fakes.portals import unused_port
from tests.fakes.wecom import SEND_PATH, WeComServer

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

ARTICLE = "https://www.jiangxi.gov.cn/art/2026/11/26/art_5218_4938291.html"


def message(body: str = "网传“某地停水三天”系谣言，请以官方发布为准。", **kw: Any) -> Message:
    kw.setdefault("title", "关于网传停水消息的辟谣")
    return Message(kind="rebuttal", body=body, **kw)


@asynccontextmanager
async def adapter(
    wecom: WeComServer,
    *,
    key: str | None = None,
    base_url: str | None = None,
    http_timeout: float = 5.0,
    **config: Any,
) -> AsyncIterator[WeComBot]:
    async with httpx.AsyncClient(timeout=http_timeout) as client:
        yield WeComBot(
            "jx-wecom",
            {"key": key or wecom.key, **config},
            client=client,
            base_url=base_url or wecom.base_url,
            clock=lambda: wecom.fake.now,
        )


async def test_text_happy_path_with_mentions(wecom: WeComServer) -> None:
    async with adapter(wecom, mentioned_list=["wangwei", "@all"]) as channel:
        receipt = await channel.publish(
            message(extra={"mentions": ["13800138000"]}), idempotency_key="push-1-jx-wecom"
        )
    assert receipt.status == "published"
    assert receipt.final
    assert receipt.platform_code == 0
    assert receipt.detail == "已发送到企业微信群"
    assert receipt.raw == {"errcode": 0, "errmsg": "ok"}
    [sent] = wecom.fake.delivered_to(wecom.key)
    assert sent == {
        "msgtype": "text",
        "text": {
            "content": "网传“某地停水三天”系谣言，请以官方发布为准。",
            "mentioned_list": ["wangwei", "@all"],
            "mentioned_mobile_list": ["13800138000"],
        },
    }
    [request] = wecom.fake.requests
    assert request.path == SEND_PATH
    assert request.query == {"key": wecom.key}
    assert request.headers["content-type"] == "application/json; charset=utf-8"


async def test_markdown_happy_path(wecom: WeComServer) -> None:
    body = '## 政策解读\n> <font color="info">重点</font>：新规 12 月 1 日起施行'
    async with adapter(wecom) as channel:
        await channel.publish(message(body, format="markdown"), idempotency_key="k")
    assert wecom.fake.delivered_to(wecom.key) == [
        {"msgtype": "markdown", "markdown": {"content": body}}
    ]


async def test_news_card_is_cut_to_the_byte_limits_client_side(wecom: WeComServer) -> None:
    title = "关于" + "政策" * 70  # 422 bytes
    summary = "解读" * 200  # 1200 bytes
    async with adapter(wecom) as channel:
        await channel.publish(
            message(title=title, summary=summary, url=ARTICLE, extra={"card": True}),
            idempotency_key="k",
        )
    [request] = wecom.fake.requests
    [article] = request.body["news"]["articles"]
    assert len(article["title"].encode()) <= 128
    assert len(article["description"].encode()) <= 512
    assert article["title"].startswith("关于政策")
    assert article["title"].endswith("…")
    assert article["url"] == ARTICLE
    # What the client sent already fits: the fake's own cut changes nothing.
    assert wecom.fake.delivered_to(wecom.key)[0]["news"]["articles"] == [article]


async def test_the_body_errcode_decides_not_the_http_status(wecom: WeComServer) -> None:
    async with adapter(wecom, key="not-a-robot-key-123") as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="k")
    error = caught.value
    assert error.http_status == 200
    assert error.platform_code == 93000
    assert "机器人已被移出群聊" in str(error)
    assert "not-a-robot-key-123" not in str(error)
    assert wecom.fake.requests[0].errcode == 93000


async def test_a_removed_robot_is_misconfigured(wecom: WeComServer) -> None:
    wecom.fake.remove_robot(wecom.key)
    async with adapter(wecom) as channel:
        with pytest.raises(Misconfigured):
            await channel.publish(message(), idempotency_key="k")


async def test_twenty_per_minute_then_rate_limited_until_the_minute_frees(
    wecom: WeComServer,
) -> None:
    async with adapter(wecom) as channel:
        for i in range(20):
            await channel.publish(message(f"第 {i} 条"), idempotency_key=f"k{i}")
            wecom.fake.advance(1.0)
        with pytest.raises(RateLimited) as caught:
            await channel.publish(message("第 20 条"), idempotency_key="k20")
        assert caught.value.platform_code == 45009
        # The first send was 20 s ago: the rolling minute frees in 40 s.
        assert caught.value.retry_after == pytest.approx(40.0)
        wecom.fake.advance(caught.value.retry_after or 0)
        await channel.publish(message("第 20 条"), idempotency_key="k20")
    assert len(wecom.fake.messages) == 21


@pytest.mark.parametrize(
    ("fmt", "size"),
    [("plain", 2048), ("markdown", 4096)],
    ids=["text-2048", "markdown-4096"],
)
async def test_over_the_byte_limit_is_refused_before_sending(
    wecom: WeComServer, fmt: str, size: int
) -> None:
    fits = "政" * (size // 3) + "x" * (size % 3)  # exactly *size* bytes, far fewer characters
    async with adapter(wecom) as channel:
        await channel.publish(message(fits, format=fmt), idempotency_key="fits")
        with pytest.raises(BadContent) as caught:
            await channel.publish(message(fits + "x", format=fmt), idempotency_key="over")
    assert f"{size + 1} 字节" in str(caught.value)
    assert len(wecom.fake.requests) == 1


async def test_the_platforms_own_40058_is_bad_content(wecom: WeComServer) -> None:
    wecom.fake.text_limit = 100
    async with adapter(wecom) as channel:
        with pytest.raises(BadContent) as caught:
            await channel.publish(message("政" * 50), idempotency_key="k")
    assert caught.value.platform_code == 40058
    assert caught.value.raw["errcode"] == 40058
    assert wecom.fake.requests[0].errcode == 40058


async def test_empty_content_is_refused_before_sending(wecom: WeComServer) -> None:
    async with adapter(wecom) as channel:
        with pytest.raises(BadContent):
            await channel.publish(message("  "), idempotency_key="k")
    assert wecom.fake.requests == []


async def test_5xx_is_retryable(wecom: WeComServer) -> None:
    wecom.fake.fail_next(status=502)
    async with adapter(wecom) as channel:
        with pytest.raises(Retryable) as caught:
            await channel.publish(message(), idempotency_key="k")
        assert not isinstance(caught.value, RateLimited)
        assert caught.value.http_status == 502
        await channel.publish(message(), idempotency_key="k")
    assert len(wecom.fake.messages) == 1


async def test_a_dropped_connection_after_sending_is_unconfirmed(wecom: WeComServer) -> None:
    wecom.fake.drop_next(commit=True)
    async with adapter(wecom) as channel:
        with pytest.raises(Unconfirmed) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert "请到群里核对" in str(caught.value)
    assert len(wecom.fake.messages) == 1  # it did arrive: a blind retry would post it twice


async def test_a_slow_answer_is_unconfirmed(wecom: WeComServer) -> None:
    wecom.fake.slow_next(delay=2.0)
    async with adapter(wecom, http_timeout=0.3) as channel:
        with pytest.raises(Unconfirmed):
            await channel.publish(message(), idempotency_key="k")


async def test_nothing_listening_is_retryable(wecom: WeComServer) -> None:
    async with adapter(wecom, base_url=f"http://127.0.0.1:{unused_port()}") as channel:
        with pytest.raises(Retryable) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert not isinstance(caught.value, Unconfirmed)


async def test_the_key_never_shows(wecom: WeComServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    async with adapter(wecom) as channel:
        shown.append(repr(channel))
        shown.append(json.dumps(channel.safe_config(), ensure_ascii=False))
        receipt = await channel.publish(message(), idempotency_key="k1")
        shown.append(json.dumps(dict(receipt.raw), ensure_ascii=False))
        for arm in (
            lambda: wecom.fake.drop_next(),
            lambda: wecom.fake.fail_next(),
            lambda: wecom.fake.remove_robot(wecom.key),
        ):
            arm()
            with pytest.raises(ChannelError) as caught:
                await channel.publish(message(), idempotency_key="k2")
            shown += [str(caught.value), repr(caught.value)]
            shown.append(json.dumps(dict(caught.value.raw), ensure_ascii=False))
    shown.append(caplog.text)
    assert "sent k1 as text" in caplog.text
    assert "no answer to send (k2)" in caplog.text
    for text in shown:
        assert wecom.key not in text
    assert channel.redact(f"{wecom.base_url}{SEND_PATH}?key={wecom.key}").endswith("?key=***")

"""The WeCom group-robot adapter over real HTTP to the fake webhook on 127.0.0.1.

The rolling minute is crossed by moving the fake's clock (see ``_support``).
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

import pytest

from channels.base import BadContent, Misconfigured, RateLimited
from channels.wecom_bot import WeComBot
from tests.fakes.wecom import SEND_PATH, WeComServer
from tests.integration.channels._support import (
    ARTICLE,
    GROUP_BOT_TRANSPORT,
    GroupBotCheck,
    message,
    opened,
    shown_by,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]


def adapter(
    wecom: WeComServer, *, key: str | None = None, **options: Any
) -> AbstractAsyncContextManager[WeComBot]:
    """The adapter on the fixture's robot, or on *key*; *options* go to :func:`opened`."""
    return opened(WeComBot, "jx-wecom", wecom, {"key": key or wecom.key}, **options)


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


@pytest.mark.parametrize("check", GROUP_BOT_TRANSPORT)
async def test_transport_failures(wecom: WeComServer, check: GroupBotCheck) -> None:
    await check(wecom.fake, partial(adapter, wecom))


async def test_the_key_never_shows(wecom: WeComServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    async with adapter(wecom) as channel:
        remove = partial(wecom.fake.remove_robot, wecom.key)
        shown = await shown_by(channel, [wecom.fake.drop_next, wecom.fake.fail_next, remove])
    shown.append(caplog.text)
    assert "sent k1 as text" in caplog.text
    assert "no answer to send (k2)" in caplog.text
    for text in shown:
        assert wecom.key not in text
    assert channel.redact(f"{wecom.base_url}{SEND_PATH}?key={wecom.key}").endswith("?key=***")

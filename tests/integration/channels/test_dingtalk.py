"""The DingTalk custom-robot adapter over real HTTP to the fake webhook on 127.0.0.1.

The adapter's clock is the fake's (``lambda: fake.now``) unless a test skews it on purpose, so
the rate windows and the lockout are crossed by moving the clock, never by sleeping.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
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
from channels.dingtalk import DingTalk
from tests.fakes.dingtalk import KEYWORDS, SEND_PATH, DingTalkRobot, DingTalkServer
from tests.fakes.portals import unused_port

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

ARTICLE = "https://www.jiangxi.gov.cn/art/2026/11/26/art_5218_4938291.html"


def message(body: str = "网传“某地停水三天”系谣言，请以官方发布为准。", **kw: Any) -> Message:
    kw.setdefault("title", "关于网传停水消息的辟谣")
    return Message(kind="rebuttal", body=body, **kw)


@asynccontextmanager
async def adapter(
    dingtalk: DingTalkServer,
    robot: DingTalkRobot | None = None,
    *,
    clock: Callable[[], float] | None = None,
    base_url: str | None = None,
    http_timeout: float = 5.0,
    **config: Any,
) -> AsyncIterator[DingTalk]:
    robot = robot or dingtalk.signed
    settings: dict[str, Any] = {"access_token": robot.token}
    if robot.secret:
        settings["secret"] = robot.secret
    async with httpx.AsyncClient(timeout=http_timeout) as client:
        yield DingTalk(
            "jx-dingtalk",
            {**settings, **config},
            client=client,
            base_url=base_url or dingtalk.base_url,
            clock=clock or (lambda: dingtalk.fake.now),
        )


async def test_signed_text_is_accepted(dingtalk: DingTalkServer) -> None:
    async with adapter(dingtalk, at_mobiles=["13800138000"]) as channel:
        receipt = await channel.publish(message(), idempotency_key="push-1-jx-dingtalk")
    assert receipt.status == "published"
    assert receipt.platform_code == 0
    assert receipt.detail == "已发送到钉钉群"
    assert receipt.raw == {"errcode": 0, "errmsg": "ok"}
    [request] = dingtalk.fake.requests
    assert request.path == SEND_PATH
    assert request.query["timestamp"] == str(int(dingtalk.fake.now * 1000))
    assert set(request.query) == {"access_token", "timestamp", "sign"}
    assert request.errcode == 0
    assert dingtalk.fake.delivered_to(dingtalk.signed.token) == [
        {
            "msgtype": "text",
            "text": {"content": "网传“某地停水三天”系谣言，请以官方发布为准。"},
            "at": {"isAtAll": False, "atMobiles": ["13800138000"]},
        }
    ]


@pytest.mark.parametrize(
    ("kw", "msgtype", "expected"),
    [
        (
            {"format": "markdown"},
            "markdown",
            {"title": "关于网传停水消息的辟谣", "text": "## 辟谣\n停水消息不实"},
        ),
        (
            {"url": ARTICLE, "extra": {"card": True}, "summary": "停水消息不实"},
            "link",
            {"title": "关于网传停水消息的辟谣", "text": "停水消息不实", "messageUrl": ARTICLE},
        ),
        (
            {"format": "markdown", "url": ARTICLE, "extra": {"card": True}},
            "actionCard",
            {
                "title": "关于网传停水消息的辟谣",
                "text": "## 辟谣\n停水消息不实",
                "singleTitle": "阅读全文",
                "singleURL": ARTICLE,
            },
        ),
    ],
    ids=["markdown", "link", "actionCard"],
)
async def test_msgtype_follows_the_message(
    dingtalk: DingTalkServer, kw: dict[str, Any], msgtype: str, expected: dict[str, Any]
) -> None:
    body = "## 辟谣\n停水消息不实" if kw.get("format") == "markdown" else "停水消息不实"
    async with adapter(dingtalk) as channel:
        await channel.publish(message(body, **kw), idempotency_key="k")
    [sent] = dingtalk.fake.delivered_to(dingtalk.signed.token)
    assert sent == {"msgtype": msgtype, msgtype: expected}


async def test_a_wrong_secret_is_misconfigured(dingtalk: DingTalkServer) -> None:
    wrong = "SEC" + "0" * 64
    async with adapter(dingtalk, secret=wrong) as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="k")
    error = caught.value
    assert error.platform_code == 310000
    assert error.http_status == 200
    assert "签名不匹配" in str(error)
    assert wrong not in str(error)
    assert dingtalk.fake.messages == []


async def test_no_secret_for_a_signing_robot_says_so(dingtalk: DingTalkServer) -> None:
    async with adapter(dingtalk, dingtalk.keyword, access_token=dingtalk.signed.token) as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == 310000
    assert "请在渠道配置中填写 secret" in str(caught.value)


@pytest.mark.parametrize("skew", [-3601.0, 3601.0], ids=["an-hour-slow", "an-hour-fast"])
async def test_a_stale_timestamp_is_rejected(dingtalk: DingTalkServer, skew: float) -> None:
    async with adapter(dingtalk, clock=lambda: dingtalk.fake.now + skew) as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == 310000
    assert "时钟" in str(caught.value)


async def test_a_timestamp_within_the_hour_is_accepted(dingtalk: DingTalkServer) -> None:
    async with adapter(dingtalk, clock=lambda: dingtalk.fake.now - 3500) as channel:
        await channel.publish(message(), idempotency_key="k")
    assert len(dingtalk.fake.messages) == 1


async def test_a_missing_keyword_is_refused_before_sending(dingtalk: DingTalkServer) -> None:
    async with adapter(dingtalk, dingtalk.keyword, keywords=list(KEYWORDS)) as channel:
        with pytest.raises(BadContent) as caught:
            await channel.publish(
                message("明日全市停水检修", title="停水通知"), idempotency_key="k"
            )
        assert "辟谣" in str(caught.value)
        assert dingtalk.fake.requests == []
        await channel.publish(message("【辟谣】停水消息不实"), idempotency_key="k")
        # A markdown message carries its title: a keyword there is enough.
        await channel.publish(message("停水消息不实", format="markdown"), idempotency_key="k")
        assert "辟谣" in dingtalk.fake.messages[-1].payload["markdown"]["title"]
    assert len(dingtalk.fake.messages) == 2


async def test_the_platforms_keyword_refusal_is_misconfigured(dingtalk: DingTalkServer) -> None:
    async with adapter(dingtalk, dingtalk.keyword) as channel:  # keywords not configured
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message("停水通知", title="通知"), idempotency_key="k")
    assert caught.value.platform_code == 310000
    assert "关键词" in str(caught.value)


async def test_ip_whitelist_refusal_names_the_whitelist(dingtalk: DingTalkServer) -> None:
    robot = dingtalk.fake.add_robot(ip_whitelist=("10.0.0.0/8",))
    async with adapter(dingtalk, robot) as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert "IP 白名单" in str(caught.value)


async def test_an_unknown_token_is_misconfigured(dingtalk: DingTalkServer) -> None:
    async with adapter(dingtalk, dingtalk.keyword, access_token="f" * 64) as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == 300005
    assert "f" * 64 not in str(caught.value)


async def test_over_twenty_a_minute_locks_the_robot_for_ten_minutes(
    dingtalk: DingTalkServer,
) -> None:
    async with adapter(dingtalk) as channel:
        for i in range(20):
            await channel.publish(message(f"第 {i} 条"), idempotency_key=f"k{i}")
        with pytest.raises(RateLimited) as caught:
            await channel.publish(message("第 20 条"), idempotency_key="k20")
        assert caught.value.platform_code == 130101
        assert caught.value.retry_after == 600
        dingtalk.fake.advance(120)  # the minute is over, the lockout is not
        with pytest.raises(RateLimited):
            await channel.publish(message("第 20 条"), idempotency_key="k20")
        dingtalk.fake.advance(480)
        await channel.publish(message("第 20 条"), idempotency_key="k20")
    assert len(dingtalk.fake.messages) == 21


async def test_over_20000_bytes_is_refused_before_sending(dingtalk: DingTalkServer) -> None:
    fits = "政" * 6666 + "xx"  # 20,000 bytes, 6,668 characters
    async with adapter(dingtalk) as channel:
        await channel.publish(message(fits), idempotency_key="fits")
        with pytest.raises(BadContent) as caught:
            await channel.publish(message(fits + "x"), idempotency_key="over")
    assert "20001 字节" in str(caught.value)
    assert len(dingtalk.fake.requests) == 1


async def test_the_platforms_own_460101_is_bad_content(dingtalk: DingTalkServer) -> None:
    dingtalk.fake.text_limit = 100
    async with adapter(dingtalk) as channel:
        with pytest.raises(BadContent) as caught:
            await channel.publish(message("政" * 50), idempotency_key="k")
    assert caught.value.platform_code == 460101  # "exceed" in its errmsg is no rate limit


async def test_5xx_is_retryable(dingtalk: DingTalkServer) -> None:
    dingtalk.fake.fail_next(status=503)
    async with adapter(dingtalk) as channel:
        with pytest.raises(Retryable) as caught:
            await channel.publish(message(), idempotency_key="k")
        assert caught.value.http_status == 503
        await channel.publish(message(), idempotency_key="k")
    assert len(dingtalk.fake.messages) == 1


async def test_a_dropped_connection_after_sending_is_unconfirmed(
    dingtalk: DingTalkServer,
) -> None:
    dingtalk.fake.drop_next(commit=True)
    async with adapter(dingtalk) as channel:
        with pytest.raises(Unconfirmed):
            await channel.publish(message(), idempotency_key="k")
    assert len(dingtalk.fake.messages) == 1


async def test_a_slow_answer_is_unconfirmed(dingtalk: DingTalkServer) -> None:
    dingtalk.fake.slow_next(delay=2.0)
    async with adapter(dingtalk, http_timeout=0.3) as channel:
        with pytest.raises(Unconfirmed):
            await channel.publish(message(), idempotency_key="k")


async def test_nothing_listening_is_retryable(dingtalk: DingTalkServer) -> None:
    async with adapter(dingtalk, base_url=f"http://127.0.0.1:{unused_port()}") as channel:
        with pytest.raises(Retryable) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert not isinstance(caught.value, Unconfirmed)


async def test_token_secret_and_sign_never_show(
    dingtalk: DingTalkServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    robot = dingtalk.signed
    assert robot.secret is not None
    shown: list[str] = []
    async with adapter(dingtalk) as channel:
        shown.append(repr(channel))
        shown.append(json.dumps(channel.safe_config(), ensure_ascii=False))
        receipt = await channel.publish(message(), idempotency_key="k1")
        shown.append(json.dumps(dict(receipt.raw), ensure_ascii=False))
        for arm in (
            lambda: dingtalk.fake.drop_next(),
            lambda: dingtalk.fake.fail_next(),
            lambda: dingtalk.fake.remove_robot(robot.token),
        ):
            arm()
            with pytest.raises(ChannelError) as caught:
                await channel.publish(message(), idempotency_key="k2")
            shown += [str(caught.value), repr(caught.value)]
            shown.append(json.dumps(dict(caught.value.raw), ensure_ascii=False))
    shown.append(caplog.text)
    signs = [r.query["sign"] for r in dingtalk.fake.requests]
    assert "sent k1 as text" in caplog.text
    assert "no answer to send (k2)" in caplog.text
    for text in shown:
        assert robot.token not in text
        assert robot.secret not in text
        for sign in signs:
            assert sign not in text

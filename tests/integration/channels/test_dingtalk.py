"""The DingTalk custom-robot adapter over real HTTP to the fake webhook on 127.0.0.1.

The rate windows and the lockout are crossed by moving the fake's clock (see ``_support``).
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

import pytest

from channels.base import BadContent, Misconfigured, RateLimited
from channels.dingtalk import DingTalk
from tests.fakes.dingtalk import KEYWORDS, SEND_PATH, DingTalkRobot, DingTalkServer
from tests.integration.channels._support import (
    ARTICLE,
    GROUP_BOT_TRANSPORT,
    SIGNING_CHECKS,
    GroupBotCheck,
    Signing,
    SigningCheck,
    message,
    opened,
    shown_by,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

SIGNING = Signing(
    sign=310000, keywords=310000, wrong_secret="SEC" + "0" * 64, mismatch="签名不匹配"
)
"""加签 and 关键词 refusals are all errcode 310000, told apart by errmsg."""


def adapter(
    dingtalk: DingTalkServer, robot: DingTalkRobot | None = None, **options: Any
) -> AbstractAsyncContextManager[DingTalk]:
    """The adapter on *robot* (the 加签 one unless named); *options* go to :func:`opened`."""
    robot = robot or dingtalk.signed
    settings = {"access_token": robot.token} | ({"secret": robot.secret} if robot.secret else {})
    return opened(DingTalk, "jx-dingtalk", dingtalk, settings, **options)


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


@pytest.mark.parametrize("check", SIGNING_CHECKS)
async def test_security_settings(dingtalk: DingTalkServer, check: SigningCheck) -> None:
    await check(dingtalk, partial(adapter, dingtalk), SIGNING)


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


@pytest.mark.parametrize("check", GROUP_BOT_TRANSPORT)
async def test_transport_failures(dingtalk: DingTalkServer, check: GroupBotCheck) -> None:
    await check(dingtalk.fake, partial(adapter, dingtalk))


async def test_token_secret_and_sign_never_show(
    dingtalk: DingTalkServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    robot = dingtalk.signed
    assert robot.secret is not None
    fake = dingtalk.fake
    async with adapter(dingtalk) as channel:
        remove = partial(fake.remove_robot, robot.token)
        shown = await shown_by(channel, [fake.drop_next, fake.fail_next, remove])
    shown.append(caplog.text)
    signs = [r.query["sign"] for r in dingtalk.fake.requests]
    assert "sent k1 as text" in caplog.text
    assert "no answer to send (k2)" in caplog.text
    for text in shown:
        assert robot.token not in text
        assert robot.secret not in text
        for sign in signs:
            assert sign not in text

"""The Feishu custom-bot adapter over real HTTP to the fake webhook on 127.0.0.1.

The 1 s and 60 s rate windows are crossed by moving the fake's clock (see ``_support``).
"""

from __future__ import annotations

import logging
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

import pytest

from channels.base import BadContent, Misconfigured, RateLimited
from channels.feishu import Feishu
from tests.fakes.feishu import HOOK_PATH, KEYWORDS, FeishuBot, FeishuServer
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
    sign=19021, keywords=19024, wrong_secret="wrongSecretValue123", mismatch="签名校验失败"
)
"""签名校验 failures are 19021 (the clock included), missing keywords 19024."""


def adapter(
    feishu: FeishuServer, bot: FeishuBot | None = None, **options: Any
) -> AbstractAsyncContextManager[Feishu]:
    """The adapter on *bot* (the signing one unless named); *options* go to :func:`opened`."""
    bot = bot or feishu.signed
    settings = {"hook_id": bot.hook_id} | ({"secret": bot.secret} if bot.secret else {})
    return opened(Feishu, "jx-feishu", feishu, settings, **options)


async def test_signed_post_is_accepted(feishu: FeishuServer) -> None:
    async with adapter(feishu) as channel:
        receipt = await channel.publish(
            message(url=ARTICLE, extra={"mentions": ["@all"]}), idempotency_key="push-1"
        )
    assert receipt.status == "published"
    assert receipt.platform_code == 0
    assert receipt.detail == "已发送到飞书群"
    assert receipt.raw["code"] == 0
    [request] = feishu.fake.requests
    assert request.path == HOOK_PATH + feishu.signed.hook_id
    assert request.body["timestamp"] == str(int(feishu.fake.now))
    assert request.errcode == 0
    assert feishu.fake.delivered_to(feishu.signed.hook_id) == [
        {
            "msg_type": "post",
            "content": {
                "post": {
                    "zh_cn": {
                        "title": "关于网传停水消息的辟谣",
                        "content": [
                            [
                                {
                                    "tag": "text",
                                    "text": "网传“某地停水三天”系谣言，请以官方发布为准。",
                                }
                            ],
                            [{"tag": "a", "text": "阅读全文", "href": ARTICLE}],
                            [{"tag": "at", "user_id": "all"}],
                        ],
                    }
                }
            },
        }
    ]


async def test_text_and_card(feishu: FeishuServer) -> None:
    async with adapter(feishu, feishu.open) as channel:
        await channel.publish(message("停水消息不实", title=""), idempotency_key="k1")
        await channel.publish(
            message("**辟谣**\n停水消息不实", format="markdown", url=ARTICLE), idempotency_key="k2"
        )
    text, card = feishu.fake.delivered_to(feishu.open.hook_id)
    assert text == {"msg_type": "text", "content": {"text": "停水消息不实"}}
    assert card["msg_type"] == "interactive"
    assert card["card"]["header"]["title"]["content"] == "关于网传停水消息的辟谣"
    div, action = card["card"]["elements"]
    assert div["text"] == {"tag": "lark_md", "content": "**辟谣**\n停水消息不实"}
    assert action["actions"][0]["url"] == ARTICLE


async def test_the_body_code_decides_not_the_http_status(feishu: FeishuServer) -> None:
    feishu.fake.remove_bot(feishu.open.hook_id)
    async with adapter(feishu, feishu.open) as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.http_status == 200
    assert caught.value.platform_code == 19001
    assert "hook_id 无效" in str(caught.value)


async def test_legacy_status_code_bodies_are_read(feishu: FeishuServer) -> None:
    feishu.fake.legacy_errors = True
    async with adapter(feishu, secret="not-the-signing-secret") as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == 19021
    assert caught.value.raw["StatusCode"] == 19021 and "code" not in caught.value.raw


@pytest.mark.parametrize("check", SIGNING_CHECKS)
async def test_security_settings(feishu: FeishuServer, check: SigningCheck) -> None:
    await check(feishu, partial(adapter, feishu), SIGNING)


async def test_a_missing_keyword_is_refused_before_sending(feishu: FeishuServer) -> None:
    async with adapter(feishu, feishu.keyword, keywords=list(KEYWORDS)) as channel:
        with pytest.raises(BadContent) as caught:
            await channel.publish(
                message("明日全市停水检修", title="停水通知"), idempotency_key="k"
            )
        assert "辟谣" in str(caught.value)
        assert caught.value.platform_code == "keywords"
        assert feishu.fake.requests == []
        await channel.publish(message("【辟谣】停水消息不实", title=""), idempotency_key="k")
        # A post carries its title: a keyword there is enough.
        await channel.publish(message("停水消息不实"), idempotency_key="k")
    assert len(feishu.fake.messages) == 2


async def test_ip_whitelist_refusal_names_the_whitelist(feishu: FeishuServer) -> None:
    bot = feishu.fake.add_bot(ip_whitelist=("10.0.0.0/8",))
    async with adapter(feishu, bot) as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == 19022
    assert "IP 白名单" in str(caught.value)


async def test_five_a_second_then_rate_limited(feishu: FeishuServer) -> None:
    async with adapter(feishu) as channel:
        for i in range(5):
            await channel.publish(message(f"第 {i} 条"), idempotency_key=f"k{i}")
        with pytest.raises(RateLimited) as caught:
            await channel.publish(message("第 5 条"), idempotency_key="k5")
        assert caught.value.platform_code == 11232
        assert caught.value.retry_after is not None and caught.value.retry_after > 0
        feishu.fake.advance(1.0)
        await channel.publish(message("第 5 条"), idempotency_key="k5")
    assert len(feishu.fake.messages) == 6


async def test_a_hundred_a_minute_then_rate_limited(feishu: FeishuServer) -> None:
    async with adapter(feishu, feishu.open) as channel:
        for i in range(100):
            await channel.publish(message(f"第 {i} 条"), idempotency_key=f"k{i}")
            feishu.fake.advance(0.5)
        with pytest.raises(RateLimited):
            await channel.publish(message("第 100 条"), idempotency_key="k100")
        feishu.fake.advance(10.0)  # the first messages leave the minute's window
        await channel.publish(message("第 100 条"), idempotency_key="k100")
    assert len(feishu.fake.messages) == 101


async def test_over_20_kb_is_refused_before_sending(feishu: FeishuServer) -> None:
    async with adapter(feishu, feishu.open) as channel:
        await channel.publish(message("政" * 6000, title=""), idempotency_key="fits")
        with pytest.raises(BadContent) as caught:
            await channel.publish(message("政" * 7000, title=""), idempotency_key="over")
    assert caught.value.platform_code == "length"
    assert "20 KB" in str(caught.value)
    assert len(feishu.fake.requests) == 1


async def test_the_platforms_own_size_refusal_is_bad_content(feishu: FeishuServer) -> None:
    feishu.fake.body_limit = 500
    async with adapter(feishu, feishu.open) as channel:
        with pytest.raises(BadContent) as caught:
            await channel.publish(message("政" * 200, title=""), idempotency_key="k")
    assert caught.value.platform_code == 9499  # "Bad Request": no rate limit


@pytest.mark.parametrize("check", GROUP_BOT_TRANSPORT)
async def test_transport_failures(feishu: FeishuServer, check: GroupBotCheck) -> None:
    await check(feishu.fake, partial(adapter, feishu))


async def test_a_full_webhook_address_works_as_hook_id(feishu: FeishuServer) -> None:
    address = f"https://open.feishu.cn{HOOK_PATH}{feishu.open.hook_id}"
    async with adapter(feishu, feishu.open, hook_id=address) as channel:
        await channel.publish(message(), idempotency_key="k")
    assert len(feishu.fake.delivered_to(feishu.open.hook_id)) == 1


async def test_hook_id_secret_and_sign_never_show(
    feishu: FeishuServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = feishu.signed
    assert bot.secret is not None
    fake = feishu.fake
    async with adapter(feishu) as channel:
        remove = partial(fake.remove_bot, bot.hook_id)
        shown = await shown_by(channel, [fake.drop_next, fake.fail_next, remove])
    shown.append(caplog.text)
    signs = [r.body["sign"] for r in feishu.fake.requests]
    assert "sent k1 as post" in caplog.text
    assert "no answer to send (k2)" in caplog.text
    assert f"{HOOK_PATH}***" in caplog.text  # httpx's request line, masked
    for text in shown:
        assert bot.hook_id not in text
        assert bot.secret not in text
        for sign in signs:
            assert sign not in text

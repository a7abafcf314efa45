"""The Weibo adapter over real HTTP to the fake Weibo API on 127.0.0.1.

Token expiry and the hourly rate windows are reached by moving the fake's clock (see
``_support``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from functools import partial
from typing import Any

import httpx
import pytest

from channels.base import (
    BadContent,
    ChannelError,
    Misconfigured,
    RateLimited,
    Retryable,
    Unconfirmed,
)
from channels.weibo import Weibo
from tests.fakes.weibo import SAFE_DOMAIN_URL, SHARE_PATH, TOKEN_INFO_PATH, UID, WeiboServer
from tests.integration.channels._support import (
    ARTICLE,
    message,
    nothing_listening_is_retryable,
    opened,
)

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

RIP = "211.156.0.1"


def adapter(
    weibo: WeiboServer, *, token: str | None = None, **options: Any
) -> AbstractAsyncContextManager[Weibo]:
    """The adapter on the fixture's token, or on *token*; *options* go to :func:`opened`."""
    settings = {
        "access_token": token or weibo.token,
        "safe_domain_url": SAFE_DOMAIN_URL,
        "rip": RIP,
    }
    return opened(Weibo, "jx-weibo", weibo, settings, **options)


async def test_happy_path(weibo: WeiboServer) -> None:
    async with adapter(weibo) as channel:
        receipt = await channel.publish(message(url=ARTICLE), idempotency_key="push-1-jx-weibo")
    [status] = weibo.fake.statuses
    assert receipt.status == "published"
    assert receipt.final
    assert receipt.external_id == status["idstr"]
    assert receipt.url == f"https://weibo.com/{UID}/{status['mid']}"
    assert receipt.detail == "已发布到新浪微博"
    assert receipt.raw == status
    assert [r.path for r in weibo.fake.requests] == [TOKEN_INFO_PATH, SHARE_PATH]
    share = weibo.fake.requests_to(SHARE_PATH)[0]
    assert share.status == 200
    assert share.form["status"] == f"网传“某地停水三天”系谣言，请以官方发布为准。 {ARTICLE}"
    assert share.form["rip"] == RIP
    assert share.form["access_token"] == weibo.token
    assert share.headers["content-type"] == "application/x-www-form-urlencoded"


async def test_the_token_is_checked_once_then_cached(weibo: WeiboServer) -> None:
    async with adapter(weibo) as channel:
        await channel.publish(message("第一条"), idempotency_key="k1")
        await channel.publish(message("第二条"), idempotency_key="k2")
    paths = [r.path for r in weibo.fake.requests]
    assert paths == [TOKEN_INFO_PATH, SHARE_PATH, SHARE_PATH]


async def test_an_off_domain_url_is_replaced_by_the_configured_link(weibo: WeiboServer) -> None:
    async with adapter(weibo) as channel:
        await channel.publish(
            message("辟谣", url="https://news.example.com/x"), idempotency_key="k"
        )
    assert weibo.fake.requests_to(SHARE_PATH)[0].form["status"] == f"辟谣 {SAFE_DOMAIN_URL}"


async def test_token_info(weibo: WeiboServer) -> None:
    async with adapter(weibo) as channel:
        info = await channel.token_info()
    assert info.uid == str(UID)
    assert info.appkey == weibo.fake.appkey
    assert info.expire_in == 30 * 86400


async def test_a_token_about_to_expire_is_logged(
    weibo: WeiboServer, caplog: pytest.LogCaptureFixture
) -> None:
    token = weibo.fake.issue_token(UID, lifetime=3 * 86400)
    caplog.set_level(logging.WARNING, logger="channels.weibo")
    async with adapter(weibo, token=token) as channel:
        await channel.publish(message(), idempotency_key="k")
    assert "expires in 3.0 days" in caplog.text
    assert token not in caplog.text


# -- BadContent --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("谣" * 141, "正文 141 字，超过 140 字"),
        ("谣" * 130, "加上必需的安全域名链接后共 144 字"),
        ("#江西辟谣# 停水消息不实", "#话题词#"),
    ],
    ids=["body-too-long", "no-room-for-safe-link", "topic"],
)
async def test_bad_content_is_refused_before_sending(
    weibo: WeiboServer, body: str, error: str
) -> None:
    async with adapter(weibo) as channel:
        with pytest.raises(BadContent, match=error):
            await channel.publish(message(body), idempotency_key="k")
    assert weibo.fake.requests == []


async def test_the_platform_length_refusal_is_bad_content(weibo: WeiboServer) -> None:
    weibo.fake.length_limit = 20  # the platform counts stricter than we do
    async with adapter(weibo) as channel:
        with pytest.raises(BadContent) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == 20012
    assert caught.value.http_status == 400
    assert caught.value.raw["error_code"] == 20012
    assert weibo.fake.statuses == []


# -- Misconfigured -----------------------------------------------------------------------------


async def test_a_safe_domain_the_app_has_not_bound(weibo: WeiboServer) -> None:
    async with adapter(weibo, safe_domain_url="https://www.ganzhou.gov.cn/") as channel:
        with pytest.raises(Misconfigured, match="safe_domain_url") as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == 10017
    assert "appkey not bind domain!" in str(caught.value)


async def test_missing_rip(weibo: WeiboServer) -> None:
    async with adapter(weibo, rip=None) as channel:
        with pytest.raises(Misconfigured, match="rip") as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == 10016
    assert "rip" not in weibo.fake.requests_to(SHARE_PATH)[0].form


async def test_an_expired_token_is_found_before_posting(weibo: WeiboServer) -> None:
    token = weibo.fake.issue_token(UID, lifetime=60)
    weibo.fake.advance(61)
    async with adapter(weibo, token=token) as channel:
        with pytest.raises(Misconfigured, match="重新授权") as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == 21327
    assert [r.path for r in weibo.fake.requests] == [TOKEN_INFO_PATH]


async def test_a_token_expiring_between_posts_is_misconfigured(weibo: WeiboServer) -> None:
    token = weibo.fake.issue_token(UID, lifetime=3600)
    start = weibo.fake.now
    async with adapter(weibo, token=token, clock=lambda: start) as channel:
        await channel.publish(message("第一条"), idempotency_key="k1")
        weibo.fake.advance(3601)  # the adapter still believes the token valid
        with pytest.raises(Misconfigured, match="访问令牌已过期") as caught:
            await channel.publish(message("第二条"), idempotency_key="k2")
    assert caught.value.platform_code == 21327
    assert caught.value.http_status == 400
    assert len(weibo.fake.statuses) == 1


async def test_a_revoked_token_is_misconfigured(weibo: WeiboServer) -> None:
    weibo.fake.revoke(weibo.token)
    async with adapter(weibo) as channel:
        with pytest.raises(Misconfigured, match="无效或已撤销") as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == 21332


# -- RateLimited ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calls", "posts", "code"),
    [(2, 10, 10023), (10, 1, 10024)],
    ids=["calls-10023", "posts-10024"],
)
async def test_rate_limits_wait_for_the_next_hour(
    weibo: WeiboServer, calls: int, posts: int, code: int
) -> None:
    weibo.fake.hourly_calls, weibo.fake.hourly_posts = calls, posts
    weibo.fake.advance(600)  # the fake starts on a full hour
    async with adapter(weibo) as channel:
        await channel.publish(message("第一条"), idempotency_key="k1")
        with pytest.raises(RateLimited) as caught:
            await channel.publish(message("第二条"), idempotency_key="k2")
        assert caught.value.platform_code == code
        assert caught.value.http_status == 403
        assert caught.value.retry_after == 3000
        assert "3000 秒后（下一个整点）重试" in str(caught.value)
        weibo.fake.advance(caught.value.retry_after)
        await channel.publish(message("第二条"), idempotency_key="k2")
    assert len(weibo.fake.statuses) == 2


# -- Unconfirmed ---------------------------------------------------------------------------------


async def test_repeat_content_is_unconfirmed(weibo: WeiboServer) -> None:
    async with adapter(weibo) as channel:
        await channel.publish(message(), idempotency_key="push-1-a")
        with pytest.raises(Unconfirmed, match="内容重复") as caught:
            await channel.publish(message(), idempotency_key="push-2-a")
        assert caught.value.platform_code == 20019
        assert caught.value.http_status == 400
        assert caught.value.raw == {
            "error": "repeat content!",
            "error_code": 20019,
            "request": SHARE_PATH,
        }
        weibo.fake.advance(601)  # outside the duplicate window the same text posts again
        await channel.publish(message(), idempotency_key="push-3-a")
    assert len(weibo.fake.statuses) == 2


async def test_a_dropped_connection_after_sending_is_unconfirmed(weibo: WeiboServer) -> None:
    weibo.fake.drop_next(commit=True)
    async with adapter(weibo) as channel:
        with pytest.raises(Unconfirmed, match="未收到应答"):
            await channel.publish(message(), idempotency_key="k")
        assert len(weibo.fake.statuses) == 1  # it did take effect
        # A blind retry would find out only by the platform's duplicate check.
        with pytest.raises(Unconfirmed) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == 20019
    assert len(weibo.fake.statuses) == 1
    assert [r.status for r in weibo.fake.requests_to(SHARE_PATH)] == [None, 400]


async def test_no_answer_in_time_is_unconfirmed(weibo: WeiboServer) -> None:
    weibo.fake.slow_next(delay=2.0)
    timeout = httpx.Timeout(5.0, read=0.2)
    async with adapter(weibo, http_timeout=timeout) as channel:
        with pytest.raises(Unconfirmed, match="ReadTimeout"):
            await channel.publish(message(), idempotency_key="k")


# -- Retryable -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"), [(503, 10001), (502, None)], ids=["503-system-error", "502-html"]
)
async def test_server_errors_are_retryable(
    weibo: WeiboServer, status: int, code: int | None
) -> None:
    weibo.fake.fail_next(status=status, error_code=code)
    async with adapter(weibo) as channel:
        with pytest.raises(Retryable) as caught:
            await channel.publish(message(), idempotency_key="k")
        assert type(caught.value) is Retryable
        assert caught.value.http_status == status
        assert caught.value.platform_code == code
        receipt = await channel.publish(message(), idempotency_key="k")
    assert receipt.status == "published"


async def test_token_info_failing_posts_nothing(weibo: WeiboServer) -> None:
    weibo.fake.fail_next(status=503, path=TOKEN_INFO_PATH)
    async with adapter(weibo) as channel:
        with pytest.raises(Retryable):
            await channel.publish(message(), idempotency_key="k")
    assert weibo.fake.requests_to(SHARE_PATH) == []


async def test_connection_refused_is_retryable(weibo: WeiboServer) -> None:
    error = await nothing_listening_is_retryable(partial(adapter, weibo))
    assert "无法" in str(error)


# -- secrets and what is shown ---------------------------------------------------------------------


async def test_secrets_are_masked_everywhere(
    weibo: WeiboServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    shown: list[str] = []
    async with adapter(weibo) as channel:
        shown += [repr(channel), json.dumps(channel.safe_config(), ensure_ascii=False)]
        receipt = await channel.publish(message(), idempotency_key="k1")
        shown.append(json.dumps(receipt.raw, ensure_ascii=False))
        errors: list[ChannelError] = []
        faults: list[Callable[[], None]] = [
            lambda: weibo.fake.fail_next(status=503),
            lambda: weibo.fake.drop_next(),
            lambda: None,  # 20019: the same text again
        ]
        for arrange in faults:
            arrange()
            with pytest.raises(ChannelError) as caught:
                await channel.publish(message(), idempotency_key="k2")
            errors.append(caught.value)
        weibo.fake.revoke(weibo.token)
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message("另一条"), idempotency_key="k3")
        errors.append(caught.value)
    assert [type(e) for e in errors] == [Retryable, Unconfirmed, Unconfirmed, Misconfigured]
    for error in errors:
        shown += [str(error), repr(error), json.dumps(error.raw, ensure_ascii=False)]
        assert str(error).startswith("新浪微博 jx-weibo：")
    shown.append(caplog.text)
    assert "published k1 as" in caplog.text
    assert "no answer to share (k2)" in caplog.text
    assert channel.safe_config()["access_token"] == "***"
    for text in shown:
        assert weibo.token not in text


def test_the_error_str_is_for_staff() -> None:
    error = Unconfirmed("新浪微博 jx-weibo：内容重复（20019 repeat content!）", platform_code=20019)
    assert str(error) == "新浪微博 jx-weibo：内容重复（20019 repeat content!）"

"""The Telegram adapter: python-telegram-bot speaking real HTTP to the fake Bot API on 127.0.0.1.

The only waits are the bounded slow-answer switch and the client's read timeout; rate limits are
reached with a small per-chat window, never by sleeping.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import httpx
import pytest
from telegram import Bot
from telegram.error import BadRequest, Forbidden, InvalidToken

from channels.base import (
    BadContent,
    ChannelError,
    Misconfigured,
    RateLimited,
    Retryable,
    Unconfirmed,
)
from channels.telegram import Telegram
from syndicator.delivery.http import delivery_client
from tests.fakes.telegram import BOT_TOKEN, CHANNEL, CHANNEL_ID, GROUP_ID, TelegramServer
from tests.integration.channels._support import ARTICLE, message, nothing_listening_is_retryable

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

BOT_ID = int(BOT_TOKEN.split(":")[0])


@asynccontextmanager
async def adapter(
    api: TelegramServer | None,
    *,
    base_url: str | None = None,
    http_timeout: httpx.Timeout | float = 5.0,
    **config: Any,
) -> AsyncIterator[Telegram]:
    settings = {"bot_token": BOT_TOKEN, "chat_id": CHANNEL, **config}
    async with delivery_client(timeout=http_timeout) as client:
        channel = Telegram(
            "jx-telegram",
            settings,
            client=client,
            base_url=base_url or (api.base_url if api else None),
        )
        try:
            yield channel
        finally:
            await channel.aclose()


def assert_masked(*texts: object) -> None:
    secret = BOT_TOKEN.split(":")[1]
    for text in texts:
        assert secret not in str(text)


# -- success ---------------------------------------------------------------------------------


async def test_publish_to_a_public_channel(telegram_api: TelegramServer) -> None:
    body = f'<b>辟谣</b>：网传停水系谣言 &amp; 不实信息。<a href="{ARTICLE}">全文</a>'
    async with adapter(telegram_api, disable_web_page_preview=True) as channel:
        first = await channel.publish(message(body, format="html"), idempotency_key="p1")
        second = await channel.publish(message("第二条"), idempotency_key="p2")

    assert first.status == "published" and first.final
    assert first.external_id == "1" and second.external_id == "2"
    assert first.url == f"https://t.me/{CHANNEL[1:]}/1"
    assert first.raw["chat"]["id"] == CHANNEL_ID
    assert first.detail is not None and "已发送" in first.detail
    posted = telegram_api.fake.messages(CHANNEL_ID)
    assert [m["text"] for m in posted] == ["辟谣：网传停水系谣言 & 不实信息。全文", "第二条"]
    html_call, plain_call = telegram_api.fake.requests_to("sendMessage")
    assert html_call.form["parse_mode"] == "HTML"
    assert html_call.form["chat_id"] == CHANNEL
    assert '"is_disabled": true' in html_call.form["link_preview_options"]
    assert "parse_mode" not in plain_call.form
    assert telegram_api.fake.requests_to("getMe") == []  # no round trip before the first post


async def test_private_supergroup_has_no_link(telegram_api: TelegramServer) -> None:
    async with adapter(telegram_api, chat_id=str(GROUP_ID), disable_notification=True) as channel:
        receipt = await channel.publish(message(), idempotency_key="p1")

    assert receipt.status == "published" and receipt.external_id == "1"
    assert receipt.url is None
    (call,) = telegram_api.fake.requests_to("sendMessage")
    assert call.form["chat_id"] == str(GROUP_ID)
    assert call.form["disable_notification"] == "true"


async def test_full_length_with_emoji_and_cjk_is_sent(telegram_api: TelegramServer) -> None:
    body = "政" * 4094 + "📢"  # 4094 + 2 UTF-16 units: exactly at the limit
    async with adapter(telegram_api) as channel:
        receipt = await channel.publish(message(body), idempotency_key="p1")
    assert receipt.status == "published"


# -- refused before sending ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "format"),
    [
        pytest.param("政" * 4097, "plain", id="cjk-over-4096"),
        pytest.param("📢" * 2049, "plain", id="emoji-count-two"),
        pytest.param("<b>" + "a" * 4097 + "</b>", "html", id="html-text-over"),
        pytest.param("   ", "plain", id="empty"),
        pytest.param("<b> </b>", "html", id="empty-html"),
        pytest.param("**辟谣**", "markdown", id="markdown-format"),
    ],
)
async def test_refused_before_sending(telegram_api: TelegramServer, body: str, format: Any) -> None:
    async with adapter(telegram_api) as channel:
        with pytest.raises(BadContent):
            await channel.publish(message(body, format=format), idempotency_key="p1")
    assert telegram_api.fake.requests == []


# -- the platform refuses ---------------------------------------------------------------------


async def test_fake_refuses_too_long_itself(telegram_api: TelegramServer) -> None:
    telegram_api.fake.text_limit = 10  # the adapter's own check passes; the platform's does not
    async with adapter(telegram_api) as channel:
        with pytest.raises(BadContent) as caught:
            await channel.publish(message("政" * 11), idempotency_key="p1")
    assert caught.value.http_status == 400
    assert "message is too long" in str(caught.value)
    assert caught.value.raw["ok"] is False


async def test_unparsable_html_is_bad_content(telegram_api: TelegramServer) -> None:
    async with adapter(telegram_api) as channel:
        with pytest.raises(BadContent) as caught:
            await channel.publish(message("<h1>标题</h1>正文", format="html"), idempotency_key="p")
    assert "can't parse entities" in str(caught.value)
    assert telegram_api.fake.messages() == []


async def test_flood_control_is_rate_limited(telegram_api: TelegramServer) -> None:
    telegram_api.fake.chat_rate = (1, 60.0)
    async with adapter(telegram_api) as channel:
        await channel.publish(message(), idempotency_key="p1")
        with pytest.raises(RateLimited) as caught:
            await channel.publish(message(), idempotency_key="p2")
    error = caught.value
    assert isinstance(error.retry_after, float) and 55 <= error.retry_after <= 60
    assert error.http_status == 429 and error.platform_code == 429
    assert "秒后再试" in str(error)


async def test_flood_switch_gives_retry_after(telegram_api: TelegramServer) -> None:
    telegram_api.fake.flood_next(retry_after=9)
    async with adapter(telegram_api) as channel:
        with pytest.raises(RateLimited) as caught:
            await channel.publish(message(), idempotency_key="p1")
        receipt = await channel.publish(message(), idempotency_key="p1")
    assert caught.value.retry_after == 9.0
    assert receipt.status == "published"


@pytest.mark.parametrize(
    ("setup", "config", "words"),
    [
        pytest.param(lambda f: f.revoke(BOT_TOKEN), {}, "bot_token", id="401-revoked-token"),
        pytest.param(lambda f: f.kick(BOT_ID, CHANNEL_ID), {}, "bot was kicked", id="403-kicked"),
        pytest.param(
            lambda f: f.add_chat(-1005555, "channel", "别的频道"),
            {"chat_id": -1005555},
            "not a member",
            id="403-not-member",
        ),
        pytest.param(
            lambda f: None, {"chat_id": "@no_such_channel"}, "chat not found", id="400-no-chat"
        ),
        pytest.param(
            lambda f: None,
            {"bot_token": "7000000099:AAHsomeoneElsesTokenThatIsWrong"},
            "bot_token",
            id="401-unknown-token",
        ),
    ],
)
async def test_misconfigured(
    telegram_api: TelegramServer, setup: Any, config: dict[str, Any], words: str
) -> None:
    setup(telegram_api.fake)
    async with adapter(telegram_api, **config) as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="p1")
    assert words in str(caught.value)
    assert caught.value.http_status in (400, 401, 403)
    assert_masked(caught.value, caught.value.raw)


async def test_wrong_base_url_path_is_misconfigured(telegram_api: TelegramServer) -> None:
    async with adapter(None, base_url=telegram_api.base_url + "/wrong") as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="p1")
    assert caught.value.http_status == 404


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_retryable(telegram_api: TelegramServer, status: int) -> None:
    telegram_api.fake.fail_next(status=status)
    async with adapter(telegram_api) as channel:
        with pytest.raises(Retryable) as caught:
            await channel.publish(message(), idempotency_key="p1")
        receipt = await channel.publish(message(), idempotency_key="p1")
    assert type(caught.value) is Retryable
    assert caught.value.http_status == status
    assert receipt.status == "published"
    assert len(telegram_api.fake.messages()) == 1


async def test_gateway_timeout_is_unconfirmed(telegram_api: TelegramServer) -> None:
    telegram_api.fake.fail_next(status=504)
    async with adapter(telegram_api) as channel:
        with pytest.raises(Unconfirmed):
            await channel.publish(message(), idempotency_key="p1")


# -- transport failures ----------------------------------------------------------------------


async def test_slow_answer_beyond_the_timeout_is_unconfirmed(
    telegram_api: TelegramServer,
) -> None:
    telegram_api.fake.slow_next(delay=5.0)
    async with adapter(telegram_api, http_timeout=httpx.Timeout(5.0, read=0.3)) as channel:
        with pytest.raises(Unconfirmed) as caught:
            await channel.publish(message(), idempotency_key="p1")
    assert "可能已发布" in str(caught.value)
    assert len(telegram_api.fake.messages()) == 1  # it was posted: a resend would duplicate it


@pytest.mark.parametrize("commit", [False, True], ids=["lost-request", "lost-answer"])
async def test_connection_closed_after_sending_is_unconfirmed(
    telegram_api: TelegramServer, commit: bool
) -> None:
    telegram_api.fake.drop_next(commit=commit)
    async with adapter(telegram_api) as channel:
        with pytest.raises(Unconfirmed):
            await channel.publish(message(), idempotency_key="p1")
    assert len(telegram_api.fake.messages()) == int(commit)


async def test_connection_refused_is_retryable() -> None:
    error = await nothing_listening_is_retryable(partial(adapter, None))
    assert type(error) is Retryable
    assert "无法连接" in str(error)


# -- secrets ---------------------------------------------------------------------------------


async def test_token_never_shown(
    telegram_api: TelegramServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[ChannelError] = []
    telegram_api.fake.fail_next(status=502)
    telegram_api.fake.flood_next(retry_after=3)
    async with adapter(telegram_api) as channel:
        for _ in range(2):
            with pytest.raises(ChannelError) as caught:
                await channel.publish(message(), idempotency_key="p1")
            errors.append(caught.value)
        receipt = await channel.publish(message(), idempotency_key="p1")
        shown = [repr(channel), channel.safe_config()]
    telegram_api.fake.revoke(BOT_TOKEN)
    async with adapter(telegram_api) as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="p2")
        errors.append(caught.value)

    assert receipt.status == "published"
    loggers = {r.name for r in caplog.records}
    assert {"httpx", "telegram.Bot"} <= loggers  # the records that would carry the URL
    assert any("/bot***/sendMessage" in r.getMessage() for r in caplog.records)
    assert_masked(
        *shown,
        receipt,
        receipt.raw,
        *errors,
        *(e.raw for e in errors),
        *(e.args for e in errors),
        caplog.text,
        *(r.getMessage() for r in caplog.records),
    )
    # The fake did receive the real token (the adapter does send it).
    assert all(r.token == BOT_TOKEN for r in telegram_api.fake.requests)


# -- the fake, as PTB's own client sees it ---------------------------------------------------


async def test_fake_serves_ptb_initialize_and_maps_statuses(telegram_api: TelegramServer) -> None:
    base = f"{telegram_api.base_url}/bot"
    async with Bot(BOT_TOKEN, base_url=base) as bot:  # initialize() calls getMe
        assert bot.username == "jxfabu_bot" and bot.id == BOT_ID
        sent = await bot.send_message(CHANNEL, "测试")
        assert sent.message_id == 1 and sent.chat.id == CHANNEL_ID
        with pytest.raises(BadRequest, match=r"(?i)chat not found"):
            await bot.send_message("@nowhere_at_all", "x")
        telegram_api.fake.kick(BOT_ID, CHANNEL_ID)
        with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the channel chat"):
            await bot.send_message(CHANNEL, "x")
    with pytest.raises(InvalidToken):
        async with Bot("7000000099:AAHnotKnownToTheFakeAtAll", base_url=base):
            pass


@pytest.mark.parametrize(
    ("path", "status", "description"),
    [
        pytest.param(f"/bot{BOT_TOKEN}/getMe", 200, None, id="get-me"),
        pytest.param(f"/bot{BOT_TOKEN}/getme", 200, None, id="method-case-insensitive"),
        pytest.param(f"/bot{BOT_TOKEN}/noSuchMethod", 404, "Not Found", id="unknown-method"),
        pytest.param("/botmalformed/getMe", 404, "Not Found", id="malformed-token"),
        pytest.param("/bot1:wrong/getMe", 401, "Unauthorized", id="unknown-token"),
        pytest.param("/elsewhere", 404, "Not Found", id="outside-bot-paths"),
    ],
)
async def test_fake_envelope(
    telegram_api: TelegramServer, path: str, status: int, description: str | None
) -> None:
    async with httpx.AsyncClient(base_url=telegram_api.base_url) as client:
        response = await client.post(path)
    assert response.status_code == status
    body = response.json()
    assert body["ok"] is (status == 200)
    if status == 200:
        assert body["result"]["is_bot"] is True
    else:
        assert body == {"ok": False, "error_code": status, "description": description}


async def test_fake_accepts_json_bodies_and_checks_html(telegram_api: TelegramServer) -> None:
    url = f"{telegram_api.base_url}/bot{BOT_TOKEN}/sendMessage"
    async with httpx.AsyncClient() as client:
        ok = await client.post(
            url, json={"chat_id": GROUP_ID, "text": "<i>群</i>", "parse_mode": "HTML"}
        )
        bad = await client.post(
            url, json={"chat_id": GROUP_ID, "text": "<b>x", "parse_mode": "HTML"}
        )
        odd = await client.post(
            url, json={"chat_id": GROUP_ID, "text": "x", "parse_mode": "BBCode"}
        )
    assert ok.json()["result"]["text"] == "群"
    assert ok.json()["result"]["from"]["id"] == BOT_ID
    assert bad.status_code == 400 and "Can't find end tag" in bad.json()["description"]
    assert odd.status_code == 400

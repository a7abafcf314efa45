"""The Telegram adapter without sockets: length counting, configuration, the answer table.

PTB runs for real; its HTTP goes through the adapter's transport into an ``httpx.MockTransport``.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from channels.base import (
    BadContent,
    ChannelConfigError,
    ChannelError,
    LengthUnit,
    Message,
    Misconfigured,
    RateLimited,
    Retryable,
    Unconfirmed,
    measure,
)
from channels.telegram import Telegram, visible_text
from tests.unit.channels._support import Handler, mock_client

pytestmark = pytest.mark.anyio

TOKEN = "7000000001:AAHunitTestTokenNeverShown-0123456789"
SECRET = TOKEN.split(":")[1]


def sent_message(request: httpx.Request) -> httpx.Response:
    result = {
        "message_id": 42,
        "date": 1_795_000_000,
        "chat": {"id": -1001, "type": "channel", "title": "江西发布", "username": "jxfabu"},
        "text": "x",
    }
    return httpx.Response(200, json={"ok": True, "result": result})


def channel(handler: Handler, **config: Any) -> Telegram:
    client = mock_client(handler)
    settings = {"bot_token": TOKEN, "chat_id": "@jxfabu", **config}
    return Telegram("jx-tg", settings, client=client, base_url="https://tg.invalid")


async def publish(
    handler: Handler, body: str = "通知", format: Any = "plain", **config: Any
) -> Any:
    adapter = channel(handler, **config)
    try:
        return await adapter.publish(
            Message(kind="notice", title="t", body=body, format=format), idempotency_key="k"
        )
    finally:
        await adapter.client.aclose()


# -- length -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "units"),
    [
        pytest.param("政务公开", 4, id="cjk-bmp"),
        pytest.param("📢", 2, id="emoji-astral"),
        pytest.param("👍🏽", 4, id="emoji-with-skin-tone"),
        pytest.param("👨‍👩‍👧", 8, id="zwj-family"),
        pytest.param("𠀀", 2, id="cjk-extension-b"),
        pytest.param("a©€", 3, id="latin-and-symbols"),
        pytest.param("", 0, id="empty"),
    ],
)
def test_utf16_units(text: str, units: int) -> None:
    assert measure(text, LengthUnit.UTF16_UNITS) == units


def test_limit_counts_utf16() -> None:
    limit = Telegram.limit
    assert limit is not None and limit.size == 4096 and limit.unit is LengthUnit.UTF16_UNITS
    assert limit.fits("政" * 4096)
    assert not limit.fits("政" * 4095 + "📢")
    assert limit.fits("📢" * 2048)
    assert not limit.fits("📢" * 2049)


@pytest.mark.parametrize(
    ("body", "format", "shown"),
    [
        pytest.param("<b>辟谣</b> &amp; <a href='u'>全文</a>", "html", "辟谣 & 全文", id="html"),
        pytest.param("1 &lt; 2", "html", "1 < 2", id="html-entity"),
        pytest.param("<b>原样</b>", "plain", "<b>原样</b>", id="plain-kept"),
    ],
)
def test_visible_text(body: str, format: Any, shown: str) -> None:
    assert visible_text(body, format) == shown


async def test_html_tags_do_not_count() -> None:
    receipt = await publish(sent_message, body="<b>" + "政" * 4096 + "</b>", format="html")
    assert receipt.external_id == "42"


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "words"),
    [
        pytest.param({"bot_token": "not-a-token"}, "bot_token", id="token-format"),
        pytest.param({"chat_id": "jxfabu"}, "chat_id", id="chat-without-at"),
        pytest.param({"chat_id": "@ab"}, "chat_id", id="chat-too-short"),
        pytest.param({"chat_id": True}, "chat_id", id="chat-bool"),
        pytest.param({"disable_notification": "yes"}, "disable_notification", id="flag-str"),
        pytest.param({"parse_mode": "HTML"}, "unknown field", id="unknown-field"),
    ],
)
def test_bad_config(config: dict[str, Any], words: str) -> None:
    with pytest.raises(ChannelConfigError) as caught:
        channel(sent_message, **config)
    assert words in str(caught.value)
    assert SECRET not in str(caught.value)


def test_numeric_chat_id_and_repr() -> None:
    adapter = channel(sent_message, chat_id="-1009876543210")
    assert adapter.chat_id == -1009876543210
    assert channel(sent_message, chat_id=-100123).chat_id == -100123
    assert SECRET not in repr(adapter)
    assert adapter.safe_config()["bot_token"] == "***"
    assert adapter.base_url == "https://tg.invalid"


# -- the answer table -------------------------------------------------------------------------


def answer(status: int, body: Any = None, **kw: Any) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, dict):
            return httpx.Response(status, json=body, **kw)
        return httpx.Response(status, content=body or b"", **kw)

    return handler


def error(code: int, description: str, **parameters: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
    if parameters:
        body["parameters"] = parameters
    return body


def raising(exc: Exception) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


@pytest.mark.parametrize(
    ("handler", "kind", "words"),
    [
        pytest.param(
            answer(429, error(429, "Too Many Requests: retry after 7", retry_after=7)),
            RateLimited,
            "7 秒后再试",
            id="429-retry-after",
        ),
        pytest.param(
            answer(429, {"ok": False}, headers={"Retry-After": "11"}),
            RateLimited,
            "11 秒",
            id="429-header-only",
        ),
        pytest.param(
            answer(
                400,
                error(
                    400,
                    "Bad Request: group chat was upgraded to a supergroup chat",
                    migrate_to_chat_id=-1002222,
                ),
            ),
            Misconfigured,
            "-1002222",
            id="400-migrated",
        ),
        pytest.param(
            answer(400, error(400, "Bad Request: not enough rights to send text messages")),
            Misconfigured,
            "not enough rights",
            id="400-rights",
        ),
        pytest.param(
            answer(400, error(400, "Bad Request: message is too long")),
            BadContent,
            "message is too long",
            id="400-too-long",
        ),
        pytest.param(answer(404, error(404, "Not Found")), Misconfigured, "bot_token", id="404"),
        pytest.param(
            answer(403, error(403, "Forbidden: bot was kicked from the channel chat")),
            Misconfigured,
            "bot was kicked",
            id="403",
        ),
        pytest.param(answer(418, b"teapot"), Misconfigured, "HTTP 418", id="unexpected"),
        pytest.param(answer(502, b"<html>nginx</html>"), Retryable, "HTTP 502", id="502-html"),
        pytest.param(answer(504, b""), Unconfirmed, "可能已发布", id="504"),
        pytest.param(answer(200, b"not json"), Unconfirmed, "无法解析", id="200-garbage"),
        pytest.param(
            answer(200, {"ok": True, "result": {"message_id": "x"}}),
            Unconfirmed,
            "无法解析",
            id="200-no-message",
        ),
        pytest.param(answer(200, {"ok": True}), Unconfirmed, "无法解析", id="200-no-result"),
        pytest.param(
            raising(httpx.ConnectError("refused")), Retryable, "无法连接", id="connect-error"
        ),
        pytest.param(
            raising(httpx.ConnectTimeout("slow dns")), Retryable, "无法连接", id="connect-timeout"
        ),
        pytest.param(raising(httpx.PoolTimeout("busy")), Retryable, "无法连接", id="pool-timeout"),
        pytest.param(raising(httpx.ReadTimeout("late")), Unconfirmed, "超时", id="read-timeout"),
        pytest.param(
            raising(httpx.RemoteProtocolError("Server disconnected without sending a response")),
            Unconfirmed,
            "连接中断",
            id="disconnected",
        ),
    ],
)
async def test_answer_table(handler: Handler, kind: type[ChannelError], words: str) -> None:
    with pytest.raises(kind) as caught:
        await publish(handler)
    assert type(caught.value) is kind
    assert words in str(caught.value)
    assert SECRET not in str(caught.value)
    assert SECRET not in json.dumps(caught.value.raw, ensure_ascii=False)


async def test_rate_limited_carries_seconds() -> None:
    handler = answer(429, error(429, "Too Many Requests: retry after 7", retry_after=7))
    with pytest.raises(RateLimited) as caught:
        await publish(handler)
    assert caught.value.retry_after == 7.0
    assert caught.value.platform_code == 429


async def test_an_echoed_token_is_redacted() -> None:
    handler = answer(400, error(400, f"Bad Request: weird {TOKEN} echo"))
    with pytest.raises(BadContent) as caught:
        await publish(handler)
    assert SECRET not in str(caught.value)
    assert SECRET not in json.dumps(caught.value.raw)


async def test_request_and_receipt(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return sent_message(request)

    receipt = await publish(handler, disable_web_page_preview=True)
    (request,) = seen
    assert request.url.path == f"/bot{TOKEN}/sendMessage"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert receipt.status == "published"
    assert receipt.url == "https://t.me/jxfabu/42"
    assert SECRET not in caplog.text
    assert SECRET not in json.dumps(receipt.raw, ensure_ascii=False)


async def test_private_chat_has_no_link() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        result = {"message_id": 5, "date": 1, "chat": {"id": -100, "type": "supergroup"}}
        return httpx.Response(200, json={"ok": True, "result": result})

    receipt = await publish(handler, chat_id=-100)
    assert receipt.url is None and receipt.external_id == "5"

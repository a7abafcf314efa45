"""The Feishu adapter without sockets: the signature, the code table, payloads, redaction.

Every HTTP exchange goes through ``httpx.MockTransport``; the fake server's behaviour is proved
in ``tests/integration/channels/test_feishu.py``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from channels.base import (
    BadContent,
    ChannelConfigError,
    ChannelError,
    Message,
    Misconfigured,
    RateLimited,
    Retryable,
    Unconfirmed,
)
from channels.feishu import RETRY_AFTER, Feishu, mask_hook, sign
from channels.registry import load_registry
from tests.unit.channels._support import Handler, message, mock_client

pytestmark = pytest.mark.anyio

HOOK = "8f3a2c1e-5b7d-4e90-a1c2-3d4e5f607182"
SECRET = "fSx9kQ2mZ7pL4vB1nW8r"
NOW = 1_732_582_800.0
# printf '' | openssl dgst -sha256 -binary \
#   -hmac "$(printf '1732582800\nfSx9kQ2mZ7pL4vB1nW8r')" | base64
VECTOR = "7IqggvWom/4trIqo8E4fYiG79HNt4bhPPmdr7UQHlkI="


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"code": 0, "msg": "success", "data": {}})


def channel(handler: Handler = ok, **config: Any) -> Feishu:
    settings: dict[str, Any] = {"hook_id": HOOK, "secret": SECRET, **config}
    settings = {k: v for k, v in settings.items() if v is not None}
    return Feishu("jx-feishu", settings, client=mock_client(handler), clock=lambda: NOW)


def answering(status: int, payload: Any = None, **headers: str) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        if payload is None:
            return httpx.Response(status, text="<html>oops</html>", headers=headers)
        return httpx.Response(status, json=payload, headers=headers)

    return handler


def test_sign_matches_an_independently_computed_vector() -> None:
    assert sign(SECRET, int(NOW)) == VECTOR


def test_the_adapter_is_registered_and_describes_itself() -> None:
    assert load_registry(plugins=False).get("feishu") is Feishu
    assert Feishu.secret_fields == ("hook_id", "secret")
    assert Feishu.rate == ((5, 1.0), (100, 60.0))
    assert Feishu.default_base_url == "https://open.feishu.cn"


async def test_the_body_carries_timestamp_in_seconds_and_sign() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(request)

    receipt = await channel(handler).publish(message(title=""), idempotency_key="k")
    assert receipt.status == "published" and receipt.platform_code == 0
    [request] = seen
    assert request.url.path == f"/open-apis/bot/v2/hook/{HOOK}"
    assert request.url.host == "open.feishu.cn"
    assert json.loads(request.content) == {
        "timestamp": "1732582800",
        "sign": VECTOR,
        "msg_type": "text",
        "content": {"text": "网传停水消息系谣言。"},
    }


async def test_an_unsigned_bot_sends_no_sign() -> None:
    seen: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return ok(request)

    await channel(handler, secret=None).publish(message(), idempotency_key="k")
    assert "sign" not in seen[0] and "timestamp" not in seen[0]
    assert seen[0]["msg_type"] == "post"


async def test_lark_is_a_base_url() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(request)

    client = mock_client(handler)
    lark = Feishu("lark", {"hook_id": HOOK}, client=client, base_url="https://open.larksuite.com/")
    await lark.publish(message(), idempotency_key="k")
    assert str(seen[0].url) == f"https://open.larksuite.com/open-apis/bot/v2/hook/{HOOK}"


@pytest.mark.parametrize(
    ("status", "payload", "error", "code"),
    [
        (200, {"code": 19021, "msg": "sign match fail"}, Misconfigured, 19021),
        (200, {"code": 19022, "msg": "Ip Not Allowed"}, Misconfigured, 19022),
        (200, {"code": 19024, "msg": "Key Words Not Found"}, Misconfigured, 19024),
        (
            200,
            {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"},
            Misconfigured,
            19001,
        ),
        (200, {"code": 19001, "msg": "param invalid: msg_type"}, BadContent, 19001),
        (200, {"code": 11232, "msg": "frequency limited psm[x]appID[1500]"}, RateLimited, 11232),
        (200, {"code": 9499, "msg": "too many request"}, RateLimited, 9499),
        (200, {"code": 9499, "msg": "Bad Request"}, BadContent, 9499),
        (400, {"code": 9499, "msg": "Bad Request"}, BadContent, 9499),
        (200, {"StatusCode": 19021, "StatusMessage": "sign match fail"}, Misconfigured, 19021),
        (200, {"code": 12345, "msg": "something new"}, Misconfigured, 12345),
        (502, None, Retryable, None),
        (500, {"code": 0}, Retryable, None),
        (429, None, RateLimited, None),
        (200, {"ok": True}, Unconfirmed, None),
        (404, None, Misconfigured, None),
    ],
    ids=[
        "19021-sign",
        "19022-ip",
        "19024-keywords",
        "19001-token",
        "19001-param",
        "11232-rate",
        "9499-too-many",
        "9499-bad-request",
        "9499-http-400",
        "legacy-StatusCode",
        "unknown-code",
        "502-html",
        "500-json",
        "429-no-code",
        "200-no-code",
        "404-no-code",
    ],
)
async def test_the_code_table(
    status: int, payload: Any, error: type[ChannelError], code: int | None
) -> None:
    with pytest.raises(error) as caught:
        await channel(answering(status, payload)).publish(message(), idempotency_key="k")
    assert type(caught.value) is error
    assert caught.value.platform_code == code
    assert caught.value.http_status == status


async def test_success_with_legacy_fields_only() -> None:
    receipt = await channel(answering(200, {"StatusCode": 0, "StatusMessage": "success"})).publish(
        message(), idempotency_key="k"
    )
    assert receipt.status == "published"


async def test_rate_limits_carry_a_retry_hint() -> None:
    with pytest.raises(RateLimited) as caught:
        await channel(answering(200, {"code": 11232, "msg": "frequency limited"})).publish(
            message(), idempotency_key="k"
        )
    assert caught.value.retry_after == RETRY_AFTER
    with pytest.raises(RateLimited) as caught:
        await channel(answering(429, None, **{"Retry-After": "3"})).publish(
            message(), idempotency_key="k"
        )
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize(
    ("raised", "error"),
    [
        (httpx.ConnectError("refused"), Retryable),
        (httpx.ConnectTimeout("connect timed out"), Retryable),
        (httpx.ReadTimeout("read timed out"), Unconfirmed),
        (httpx.RemoteProtocolError("Server disconnected without sending a response."), Unconfirmed),
        (httpx.WriteError("broken pipe"), Unconfirmed),
    ],
    ids=["connect", "connect-timeout", "read-timeout", "dropped", "write"],
)
async def test_transport_failures(raised: Exception, error: type[ChannelError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised

    with pytest.raises(error) as caught:
        await channel(handler).publish(message(), idempotency_key="k")
    assert type(caught.value) is error


@pytest.mark.parametrize(
    ("msg", "reason"),
    [
        (message(""), "消息内容为空"),
        (message("x", format="html"), "html"),
        (message("x", extra={"msg_type": "image"}), "不支持的消息类型"),
        (message("x", title="", format="markdown"), "需要标题"),
        (message("政" * 7000), "20 KB"),
    ],
    ids=["empty", "html", "msg-type", "card-title", "size"],
)
async def test_refused_before_sending(msg: Message, reason: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing should be sent")

    with pytest.raises(BadContent, match=reason):
        await channel(handler).publish(msg, idempotency_key="k")


def test_keywords_are_searched_in_the_text_not_in_links() -> None:
    bot = channel(keywords="辟谣,解读")
    assert bot.keywords == ("辟谣", "解读")
    bot.payload(message("停水消息不实"))  # the post's title has 辟谣
    with pytest.raises(BadContent, match="自定义关键词"):
        bot.payload(message("停水", title="通知", url="https://example.gov.cn/辟谣"))


def test_mentions() -> None:
    bot = channel()
    text = bot.payload(message("注意", title="", extra={"mentions": ["@all", "ou_1"]}))
    assert text["content"]["text"] == '注意 <at user_id="all">所有人</at><at user_id="ou_1"></at>'
    card = bot.payload(message("注意", format="markdown", extra={"mentions": "@all"}))
    assert card["card"]["elements"][0]["text"]["content"] == "注意\n<at id=all></at>"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"hook_id": "not a hook!"}, "hook_id"),
        ({"hook_id": HOOK, "keywords": 3}, "keywords"),
        ({"hook_id": HOOK, "token": "x"}, "unknown field"),
        ({}, "missing field"),
    ],
    ids=["bad-hook", "bad-keywords", "unknown", "missing"],
)
def test_config_errors_name_the_field_but_not_the_secret(
    config: dict[str, Any], field: str
) -> None:
    client = mock_client(ok)
    with pytest.raises(ChannelConfigError, match=field) as caught:
        Feishu("jx-feishu", config, client=client)
    assert "not a hook!" not in str(caught.value)


def test_redaction() -> None:
    bot = channel()
    url = f"https://open.feishu.cn/open-apis/bot/v2/hook/{HOOK}"
    assert bot.redact(f"POST {url} failed, secret {SECRET}") == (
        "POST https://open.feishu.cn/open-apis/bot/v2/hook/*** failed, secret ***"
    )
    assert mask_hook(f"{url}/") == "https://open.feishu.cn/open-apis/bot/v2/hook/***/"
    assert HOOK not in repr(bot) and SECRET not in repr(bot)
    assert bot.safe_config() == {"hook_id": "***", "secret": "***"}
    full = channel(hook_id=url)
    assert full.redact(f"id {HOOK}") == "id ***"

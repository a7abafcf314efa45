"""The DingTalk adapter without sockets: the signature, byte limits, keywords, the errcode table.

Every HTTP exchange goes through ``httpx.MockTransport``; the fake server's behaviour is proved
in ``tests/integration/channels/test_dingtalk.py``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlsplit

import httpx
import pytest

from channels.base import (
    BadContent,
    ChannelConfigError,
    ChannelError,
    Misconfigured,
    RateLimited,
    Retryable,
    Unconfirmed,
)
from channels.dingtalk import DingTalk, sign
from channels.registry import load_registry
from tests.unit.channels._support import Handler, message, mock_client, refuse

pytestmark = pytest.mark.anyio

TOKEN = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
SECRET = "SECtestsecret0123456789"
NOW = 1_700_000_000.0
# printf '1700000000000\nSECtestsecret0123456789' \
#   | openssl dgst -sha256 -hmac 'SECtestsecret0123456789' -binary | base64
VECTOR = "zrLWzK97t62y5CpqN8Ok9UIdPvX+jL1PNoW8nKT5a9k="


def channel(handler: Handler = refuse, **config: Any) -> DingTalk:
    settings = {"access_token": TOKEN, "secret": SECRET, **config}
    return DingTalk("jx-dingtalk", settings, client=mock_client(handler), clock=lambda: NOW)


def answer(body: dict[str, Any], status: int = 200) -> Handler:
    return lambda request: httpx.Response(status, json=body)


def test_sign_matches_an_independent_vector() -> None:
    assert sign(SECRET, 1_700_000_000_000) == "zrLWzK97t62y5CpqN8Ok9UIdPvX%2BjL1PNoW8nKT5a9k%3D"
    assert unquote_plus(sign(SECRET, 1_700_000_000_000)) == VECTOR


@pytest.mark.parametrize("ts", [0, 1_767_225_600_123, 1_795_654_800_999])
def test_sign_is_the_documented_formula(ts: int) -> None:
    mac = hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(), hashlib.sha256)
    assert unquote_plus(sign(SECRET, ts)) == base64.b64encode(mac.digest()).decode()


async def test_the_request_carries_ms_timestamp_and_the_encoded_sign() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    await channel(handler).publish(message(), idempotency_key="k")
    [request] = seen
    raw_query = urlsplit(str(request.url)).query
    assert "sign=zrLWzK97t62y5CpqN8Ok9UIdPvX%2BjL1PNoW8nKT5a9k%3D" in raw_query  # encoded once
    query = parse_qs(raw_query)
    assert query["timestamp"] == ["1700000000000"]
    assert query["sign"] == [VECTOR]
    assert query["access_token"] == [TOKEN]
    assert json.loads(request.content)["text"]["content"] == "网传停水消息系谣言。"
    assert "网传".encode() in request.content  # raw UTF-8, no \\u escapes


async def test_no_secret_no_signature() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"errcode": 0, "errmsg": "ok"})

    dt = DingTalk(
        "d",
        {"access_token": TOKEN},
        client=mock_client(handler),
    )
    await dt.publish(message(), idempotency_key="k")
    assert set(parse_qs(urlsplit(str(seen[0].url)).query)) == {"access_token"}


def test_byte_counting_of_chinese_text() -> None:
    dt = channel()
    fits = "政" * 6666 + "ab"
    assert len(fits) == 6668
    assert len(fits.encode()) == 20_000
    dt.payload(message(fits))
    with pytest.raises(BadContent) as caught:
        dt.payload(message("政" * 6667))  # 6,667 characters, 20,001 bytes
    assert caught.value.platform_code == "length"
    assert "20001 字节" in str(caught.value)


@pytest.mark.parametrize(
    ("kw", "keywords", "ok"),
    [
        ({}, "辟谣", False),  # a text message carries no title
        ({"body": "【辟谣】网传停水不实"}, "辟谣", True),
        ({"format": "markdown"}, "辟谣", True),  # the markdown title counts
        ({}, "通知, 谣言", True),  # comma-separated configuration
    ],
    ids=["title-not-sent", "in-body", "in-markdown-title", "comma-list"],
)
def test_keywords(kw: dict[str, Any], keywords: str, ok: bool) -> None:
    dt = channel(keywords=keywords)
    msg = message(**kw)
    if ok:
        dt.payload(msg)
    else:
        with pytest.raises(BadContent, match="自定义关键词"):
            dt.payload(msg)


def test_markdown_needs_a_title_and_carries_the_at_mobiles() -> None:
    dt = channel(at_mobiles="13800138000", at_all="false")
    with pytest.raises(BadContent, match="标题"):
        dt.payload(message("## x", format="markdown", title=" "))
    payload = dt.payload(message("## 辟谣", format="markdown"))
    assert payload["markdown"]["text"] == "## 辟谣\n\n@13800138000"
    assert payload["at"] == {"isAtAll": False, "atMobiles": ["13800138000"]}


def test_html_is_refused() -> None:
    with pytest.raises(BadContent, match="html"):
        channel().payload(message("<p>x</p>", format="html"))


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"secret": "not-sec"}, "secret"),
        ({"at_all": "maybe"}, "at_all"),
        ({"keywords": 3}, "keywords"),
    ],
)
def test_bad_configuration(config: dict[str, Any], field: str) -> None:
    with pytest.raises(ChannelConfigError, match=field):
        channel(**config)


def case(
    code: int | None,
    errmsg: str | None,
    error: type[ChannelError],
    says: str,
    *,
    status: int = 200,
    retry_after: float | None = None,
    id: str,
) -> Any:
    body = {k: v for k, v in (("errcode", code), ("errmsg", errmsg)) if v is not None}
    return pytest.param(body, status, error, retry_after, says, id=id)


@pytest.mark.parametrize(
    ("body", "status", "error", "retry_after", "says"),
    [
        case(310000, "sign not match", Misconfigured, "签名不匹配", id="310000-sign"),
        case(310000, "invalid timestamp", Misconfigured, "时钟", id="310000-timestamp"),
        case(310000, "keywords not in content", Misconfigured, "关键词", id="310000-keywords"),
        case(310000, "ip 1.2.3.4 not in whitelist", Misconfigured, "白名单", id="310000-ip"),
        case(310000, "description:关键词不匹配", Misconfigured, "关键词", id="310000-zh"),
        case(
            130101,
            "send too fast, exceed 20 times per minute",
            RateLimited,
            "10 分钟",
            retry_after=600,
            id="130101",
        ),
        case(
            410100,
            "发送速度太快而限流",
            RateLimited,
            "每分钟最多 20 条",
            retry_after=600,
            id="410100",
        ),
        case(
            300001, "调用频率超过限制", RateLimited, "限流", retry_after=600, id="300001-frequency"
        ),
        case(
            460101,
            "message too long, exceed 20000 bytes",
            BadContent,
            "20000",
            id="460101-exceed-is-not-rate",
        ),
        case(300005, "token is not exist", Misconfigured, "access_token", id="300005"),
        case(400106, "robot not exist", Misconfigured, "机器人不存在", id="400106"),
        case(-1, "系统繁忙", Retryable, "繁忙", id="busy"),
        case(88888, "?", Misconfigured, "钉钉拒绝", id="unknown"),
        case(0, "ok", Retryable, "HTTP 502", status=502, id="http-502"),
        case(None, "ok", Unconfirmed, "没有 errcode", id="200-without-errcode"),
        case(None, None, Misconfigured, "HTTP 404", status=404, id="http-404"),
        case(None, None, RateLimited, "HTTP 429", status=429, id="http-429"),
    ],
)
async def test_the_errcode_table(
    body: dict[str, Any],
    status: int,
    error: type[ChannelError],
    retry_after: float | None,
    says: str,
) -> None:
    with pytest.raises(error) as caught:
        await channel(answer(body, status)).publish(message(), idempotency_key="k")
    assert type(caught.value) is error
    assert says in str(caught.value)
    assert str(caught.value).startswith("钉钉群机器人 jx-dingtalk：")
    if retry_after is not None:
        assert isinstance(caught.value, Retryable)
        assert caught.value.retry_after == retry_after
    if "errcode" in body and status == 200:
        assert caught.value.platform_code == body["errcode"]


async def test_secrets_are_masked_even_when_the_platform_echoes_them() -> None:
    echo = {"errcode": 88888, "errmsg": f"bad {TOKEN} {SECRET} sign=abc%2B&x=1"}
    dt = channel(answer(echo))
    with pytest.raises(ChannelError) as caught:
        await dt.publish(message(), idempotency_key="k")
    for text in (str(caught.value), json.dumps(dict(caught.value.raw)), repr(dt)):
        assert TOKEN not in text
        assert SECRET not in text
        assert "abc%2B" not in text
    assert dt.safe_config() == {"access_token": "***", "secret": "***"}


def test_registered_as_a_builtin() -> None:
    registry = load_registry(plugins=False)
    assert registry.get("dingtalk") is DingTalk
    assert DingTalk.secret_fields == ("access_token", "secret")
    assert DingTalk.rate == ((20, 60.0),)

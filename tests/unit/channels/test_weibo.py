"""The Weibo adapter without sockets: length counting, the safe-domain link, the error table.

Every HTTP exchange goes through ``httpx.MockTransport``; the fake server's behaviour is proved
in ``tests/integration/channels/test_weibo.py``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

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
from channels.registry import load_registry
from channels.weibo import Weibo, compose_status, on_domain, weibo_length
from tests.unit.channels._support import Handler, mock_client

pytestmark = pytest.mark.anyio

SAFE = "https://www.jiangxi.gov.cn/"
TOKEN = "2.00SecretTokenValue"
HOUR = 1_795_654_800.0  # a full hour (2026-11-26 01:00 UTC)
TOKEN_INFO = {"uid": 42, "appkey": "3718420915", "scope": "", "create_at": 1, "expire_in": 10**8}
STATUS = {"id": 5028, "idstr": "5028", "mid": "5028", "text": "…", "user": {"id": 42}}


def share_answers(status: int, body: Any) -> Handler:
    """A handler answering get_token_info normally and share with *status* and *body*."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth2/get_token_info":
            return httpx.Response(200, json=TOKEN_INFO)
        if isinstance(body, Exception):
            raise body
        if isinstance(body, bytes):
            return httpx.Response(status, content=body)
        return httpx.Response(status, json=body)

    return handle


def channel(
    handler: Handler, *, clock: Callable[[], float] = lambda: HOUR, **config: Any
) -> tuple[Weibo, httpx.AsyncClient]:
    client = mock_client(handler)
    settings = {"access_token": TOKEN, "safe_domain_url": SAFE, "rip": "211.156.0.1", **config}
    return Weibo("jx-weibo", settings, client=client, clock=clock), client


def msg(body: str = "关于网传消息的辟谣说明", url: str | None = None) -> Message:
    return Message(kind="rebuttal", title="辟谣", body=body, url=url)


# -- length ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "length"),
    [
        ("", 0),
        ("政务公开", 4),
        ("abc", 1.5),
        ("2026年", 3),
        ("，。！？", 4),  # full-width punctuation counts as a character
        (",.!?", 2),
        ("https://www.jiangxi.gov.cn/", 13.5),
        ("　", 1),  # the ideographic space
        ("辟谣 rumor", 5),
    ],
    ids=[
        "empty",
        "cjk",
        "ascii",
        "digits-cjk",
        "fullwidth-punct",
        "ascii-punct",
        "url",
        "ideo-sp",
        "mixed",
    ],
)
def test_weibo_length(text: str, length: float) -> None:
    assert weibo_length(text) == length


def test_limit_describes_the_weibo_count() -> None:
    assert Weibo.limit is not None
    assert Weibo.limit.size == 140
    assert str(Weibo.limit) == "140 字(中文计1，其他计0.5)"


def test_exactly_140_with_the_link_fits_and_half_more_does_not() -> None:
    weibo, _ = channel(share_answers(200, STATUS))
    link_length = weibo_length(" " + SAFE)  # 14
    body = "政" * int(140 - link_length)
    assert weibo_length(weibo.status_text(msg(body))) == 140
    with pytest.raises(BadContent, match="安全域名链接") as caught:
        weibo.status_text(msg(body + "a"))
    assert caught.value.platform_code == "length"


def test_a_body_over_the_limit_by_itself_says_so() -> None:
    weibo, _ = channel(share_answers(200, STATUS))
    with pytest.raises(BadContent, match=r"正文 141 字，超过 140 字"):
        weibo.status_text(msg("政" * 141))


@pytest.mark.parametrize(
    ("message", "error"),
    [
        (Message(kind="test", title="t", body="x", format="markdown"), "只接受纯文本"),
        (msg("  \n"), "正文为空"),
        (msg("#江西发布# 辟谣"), "#话题词#"),
    ],
    ids=["markdown", "empty", "topic"],
)
def test_refused_before_sending(message: Message, error: str) -> None:
    weibo, _ = channel(share_answers(200, STATUS))
    with pytest.raises(BadContent, match=error):
        weibo.status_text(message)


# -- the safe-domain link --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.jiangxi.gov.cn/art/1.html", True),
        ("http://WWW.JIANGXI.GOV.CN/", True),
        ("https://m.www.jiangxi.gov.cn/a", True),
        ("https://www.jiangxi.gov.cn.evil.example/", False),
        ("https://jiangxi.gov.cn/", False),
        ("ftp://www.jiangxi.gov.cn/", False),
        ("not a url", False),
    ],
    ids=["same", "case", "subdomain", "suffix-trick", "parent", "ftp", "garbage"],
)
def test_on_domain(url: str, expected: bool) -> None:
    assert on_domain(url, "www.jiangxi.gov.cn") is expected


@pytest.mark.parametrize(
    ("body", "url", "status"),
    [
        ("辟谣", "https://www.jiangxi.gov.cn/a.html", "辟谣 https://www.jiangxi.gov.cn/a.html"),
        ("辟谣", "https://other.example/a", "辟谣 https://www.jiangxi.gov.cn/"),
        ("辟谣", None, "辟谣 https://www.jiangxi.gov.cn/"),
        ("详见 https://www.jiangxi.gov.cn/b 。", None, "详见 https://www.jiangxi.gov.cn/b 。"),
        ("辟谣\n", "https://www.jiangxi.gov.cn/a", "辟谣 https://www.jiangxi.gov.cn/a"),
    ],
    ids=["message-url", "off-domain-url", "no-url", "already-in-body", "strips"],
)
def test_compose_status(body: str, url: str | None, status: str) -> None:
    assert compose_status(body, url, safe_domain_url=SAFE) == status


@pytest.mark.parametrize(
    ("config", "error"),
    [
        ({"safe_domain_url": "www.jiangxi.gov.cn"}, "safe_domain_url"),
        ({"rip": "localhost"}, "rip"),
        ({"access_token": ""}, "missing field"),
        ({"appkey": "x"}, "unknown field"),
    ],
    ids=["safe-domain-not-url", "rip-not-ip", "no-token", "unknown"],
)
def test_config_errors(config: dict[str, Any], error: str) -> None:
    with pytest.raises(ChannelConfigError, match=error):
        channel(share_answers(200, STATUS), **config)


def test_registered_as_builtin() -> None:
    registry = load_registry(plugins=False)
    assert registry.get("weibo") is Weibo
    assert Weibo.secret_fields == ("access_token",)
    assert Weibo.default_base_url == "https://api.weibo.com"


# -- the wire and the error table ------------------------------------------------------------


async def test_publish_sends_the_form_and_builds_the_receipt() -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return share_answers(200, STATUS)(request)

    weibo, client = channel(handle)
    async with client:
        receipt = await weibo.publish(msg(), idempotency_key="push-1-jx-weibo")
        await weibo.publish(msg("第二条"), idempotency_key="push-2-jx-weibo")
    assert [r.url.path for r in seen] == [
        "/oauth2/get_token_info",
        "/2/statuses/share.json",
        "/2/statuses/share.json",
    ]
    assert str(seen[1].url) == "https://api.weibo.com/2/statuses/share.json"
    assert seen[1].headers["content-type"] == "application/x-www-form-urlencoded"
    form = parse_qs(seen[1].content.decode())
    assert form == {
        "access_token": [TOKEN],
        "status": ["关于网传消息的辟谣说明 https://www.jiangxi.gov.cn/"],
        "rip": ["211.156.0.1"],
    }
    assert receipt.status == "published"
    assert receipt.external_id == "5028"
    assert receipt.url == "https://weibo.com/42/5028"


async def test_without_rip_the_field_is_not_sent() -> None:
    seen: list[bytes] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.content)
        return share_answers(200, STATUS)(request)

    weibo, client = channel(handle, rip="")
    async with client:
        await weibo.publish(msg(), idempotency_key="k")
    assert "rip" not in parse_qs(seen[-1].decode())


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (500, 10001, Retryable),
        (503, 10002, Retryable),
        (400, 10003, Retryable),
        (400, 10006, Misconfigured),
        (400, 10008, BadContent),
        (403, 10014, Misconfigured),
        (400, 10016, Misconfigured),
        (400, 10017, Misconfigured),
        (403, 10022, RateLimited),
        (403, 10023, RateLimited),
        (403, 10024, RateLimited),
        (400, 20012, BadContent),
        (400, 20019, Unconfirmed),
        (400, 20021, BadContent),
        (400, 20999, BadContent),
        (400, 21321, Misconfigured),
        (400, 21327, Misconfigured),
        (401, 21332, Misconfigured),
        (400, 19999, Misconfigured),
        (502, 19999, Retryable),
        (200, 10001, Retryable),  # an error body is an error whatever the status
    ],
    ids=lambda v: str(v) if not isinstance(v, type) else v.__name__,
)
async def test_error_table(status: int, code: int, expected: type[ChannelError]) -> None:
    body = {"error": "some error", "error_code": code, "request": "/2/statuses/share.json"}
    weibo, client = channel(share_answers(status, body))
    async with client:
        with pytest.raises(ChannelError) as caught:
            await weibo.publish(msg(), idempotency_key="k")
    assert type(caught.value) is expected
    assert caught.value.platform_code == code
    assert caught.value.http_status == status
    assert caught.value.raw == body
    assert str(caught.value).startswith("新浪微博 jx-weibo：")
    assert f"（{code} some error）" in str(caught.value)


async def test_error_code_as_a_string_is_read() -> None:
    weibo, client = channel(share_answers(400, {"error": "repeat content!", "error_code": "20019"}))
    async with client:
        with pytest.raises(Unconfirmed) as caught:
            await weibo.publish(msg(), idempotency_key="k")
    assert caught.value.platform_code == 20019
    assert "切勿直接重发" in str(caught.value)


@pytest.mark.parametrize(
    ("now", "retry_after"), [(HOUR, 3600), (HOUR + 1, 3599), (HOUR + 3599.5, 0.5)]
)
async def test_rate_limit_waits_for_the_next_hour(now: float, retry_after: float) -> None:
    body = {"error": "User requests out of rate limit!", "error_code": 10023}
    weibo, client = channel(share_answers(403, body), clock=lambda: now)
    async with client:
        with pytest.raises(RateLimited) as caught:
            await weibo.publish(msg(), idempotency_key="k")
    assert caught.value.retry_after == pytest.approx(retry_after)


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (502, b"<html>Bad Gateway</html>", Retryable),
        (429, b"", RateLimited),
        (403, b"<html>Forbidden</html>", Misconfigured),
        (200, {"text": "no id"}, Unconfirmed),
        (200, b"not json", Unconfirmed),
    ],
    ids=["502-html", "429-empty", "403-html", "200-no-id", "200-not-json"],
)
async def test_answers_without_error_code(
    status: int, body: Any, expected: type[ChannelError]
) -> None:
    weibo, client = channel(share_answers(status, body))
    async with client:
        with pytest.raises(ChannelError) as caught:
            await weibo.publish(msg(), idempotency_key="k")
    assert type(caught.value) is expected
    assert caught.value.platform_code is None


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (httpx.ConnectError("refused"), Retryable),
        (httpx.ConnectTimeout("connect"), Retryable),
        (httpx.PoolTimeout("pool"), Retryable),
        (httpx.ReadTimeout("read"), Unconfirmed),
        (httpx.WriteTimeout("write"), Unconfirmed),
        (httpx.RemoteProtocolError("Server disconnected"), Unconfirmed),
        (httpx.ReadError("reset"), Unconfirmed),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else v.__name__,
)
async def test_transport_errors_on_share(exc: Exception, expected: type[ChannelError]) -> None:
    weibo, client = channel(share_answers(200, exc))
    async with client:
        with pytest.raises(ChannelError) as caught:
            await weibo.publish(msg(), idempotency_key="k")
    assert type(caught.value) is expected


async def test_token_info_is_read_only_so_every_transport_error_is_retryable() -> None:
    def handle(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("read")

    weibo, client = channel(handle)
    async with client:
        with pytest.raises(Retryable, match="无法查询微博令牌"):
            await weibo.publish(msg(), idempotency_key="k")


async def test_token_lifetime_is_cached_until_it_runs_out() -> None:
    now = [HOUR]
    info = {**TOKEN_INFO, "expire_in": 100}
    paths: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.path)
        if request.url.path == "/oauth2/get_token_info":
            return httpx.Response(200, json=info)
        return httpx.Response(200, json=STATUS)

    weibo, client = channel(handle, clock=lambda: now[0])
    async with client:
        await weibo.publish(msg("一"), idempotency_key="k1")
        now[0] += 99
        await weibo.publish(msg("二"), idempotency_key="k2")
        now[0] += 1
        info["expire_in"] = 0
        with pytest.raises(Misconfigured, match="重新授权") as caught:
            await weibo.publish(msg("三"), idempotency_key="k3")
    assert caught.value.platform_code == 21327
    assert paths.count("/oauth2/get_token_info") == 2
    assert paths.count("/2/statuses/share.json") == 2


async def test_the_uid_falls_back_to_token_info() -> None:
    weibo, client = channel(share_answers(200, {"idstr": "77", "id": 77}))
    async with client:
        receipt = await weibo.publish(msg(), idempotency_key="k")
    assert receipt.url == "https://weibo.com/42/77"
    assert json.loads(json.dumps(receipt.raw)) == {"idstr": "77", "id": 77}


async def test_secrets_never_leave_in_errors() -> None:
    body = {"error": f"invalid_access_token {TOKEN}", "error_code": 21332, "access_token": TOKEN}
    weibo, client = channel(share_answers(400, body))
    async with client:
        with pytest.raises(Misconfigured) as caught:
            await weibo.publish(msg(), idempotency_key="k")
    assert TOKEN not in str(caught.value)
    assert TOKEN not in json.dumps(caught.value.raw)
    assert caught.value.raw["access_token"] == "***"
    assert TOKEN not in repr(weibo)
    assert weibo.safe_config()["access_token"] == "***"

"""The WeChat Official Account adapter without sockets: ``httpx.MockTransport`` and a hand-moved
clock, for token-cache timing and the answers a real server rarely gives."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import httpx
import pytest

from channels.base import (
    ChannelConfigError,
    ChannelError,
    Message,
    Misconfigured,
    RateLimited,
    Receipt,
    Retryable,
    Unconfirmed,
)
from channels.registry import load_registry
from channels.wechat_mp import WeChatMP
from tests.unit.channels._support import Handler, mock_client

pytestmark = pytest.mark.anyio

SECRET = "app-secret-0123456789abcdef"
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Api:
    """A scripted WeChat: tokens numbered tok-1, tok-2 …; *overrides* answer per path."""

    def __init__(self, expires_in: int = 7200) -> None:
        self.expires_in = expires_in
        self.tokens = 0
        self.seen: list[httpx.Request] = []
        self.overrides: dict[str, list[Handler]] = {}

    def on(self, path: str, *answers: Handler) -> None:
        self.overrides.setdefault(path, []).extend(answers)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        path = request.url.path
        if self.overrides.get(path):
            return self.overrides[path].pop(0)(request)
        if path in ("/cgi-bin/token", "/cgi-bin/stable_token"):
            self.tokens += 1
            return ok(access_token=f"tok-{self.tokens:04d}", expires_in=self.expires_in)
        if path == "/cgi-bin/material/add_material":
            return ok(media_id="mat-1", url="http://mmbiz.qpic.cn/x/0")
        if path == "/cgi-bin/draft/add":
            return ok(media_id="draft-1")
        if path == "/cgi-bin/freepublish/submit":
            return ok(errcode=0, errmsg="ok", publish_id=2247483655, msg_data_id=1)
        if path == "/cgi-bin/freepublish/get":
            return ok(publish_id=2247483655, publish_status=1)
        return httpx.Response(404)

    def paths(self) -> list[str]:
        return [r.url.path for r in self.seen]


def ok(**body: Any) -> httpx.Response:
    return httpx.Response(200, json=body)


def errcode(code: int, **extra: Any) -> Handler:
    return lambda request: ok(errcode=code, errmsg=f"error rid: 6a1b-{code}", **extra)


def raises(exc: type[httpx.TransportError]) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc("boom", request=request)

    return handler


def article(**changes: Any) -> Message:
    fields: dict[str, Any] = {"kind": "rebuttal", "title": "辟谣：网传消息不实", "body": "<p>x</p>"}
    fields.update({"format": "html", "cover": JPEG, **changes})
    return Message(**fields)


def make(api: Api, clock: Clock | None = None, **config: Any) -> tuple[WeChatMP, httpx.AsyncClient]:
    client = mock_client(api)
    channel = WeChatMP(
        "jx-wechat",
        {"app_id": "wx0123456789abcdef", "app_secret": SECRET, **config},
        client=client,
        clock=clock or Clock(),
    )
    return channel, client


def test_the_registry_loads_the_adapter() -> None:
    registry = load_registry(plugins=False)
    assert registry.get("wechat_mp") is WeChatMP
    assert WeChatMP.title == "微信公众号"
    assert WeChatMP.secret_fields == ("app_secret",)
    assert WeChatMP.default_base_url == "https://api.weixin.qq.com"


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"stable_token": "maybe"}, "stable_token"),
        ({"mass_send": 2}, "mass_send"),
        ({"author": "作" * 17}, "author"),
        ({"thumb_media_id": 12}, "thumb_media_id"),
        ({"appsecret": "x"}, "unknown"),
    ],
    ids=["flag-text", "flag-number", "author-too-long", "thumb-not-text", "unknown-field"],
)
def test_bad_configuration_is_refused_at_construction(config: dict[str, Any], named: str) -> None:
    with pytest.raises(ChannelConfigError, match=named):
        make(Api(), **config)


async def test_the_token_is_reused_until_five_minutes_before_it_expires() -> None:
    api, clock = Api(), Clock()
    channel, client = make(api, clock)
    async with client:
        receipt = Receipt(status="pending", external_id="2247483655")
        await channel.check(receipt)
        clock.now += 7200 - 300 - 1
        await channel.check(receipt)
        assert api.tokens == 1
        clock.now += 2
        await channel.check(receipt)
        assert api.tokens == 2
    used = [r.url.params["access_token"] for r in api.seen if "access_token" in r.url.params]
    assert used == ["tok-0001", "tok-0001", "tok-0002"]


async def test_a_short_lived_token_is_refreshed_at_half_its_life() -> None:
    api, clock = Api(expires_in=400), Clock()
    channel, client = make(api, clock)
    async with client:
        receipt = Receipt(status="pending", external_id="1")
        await channel.check(receipt)
        clock.now += 199
        await channel.check(receipt)
        assert api.tokens == 1
        clock.now += 2
        await channel.check(receipt)
    assert api.tokens == 2


async def test_concurrent_calls_fetch_one_token() -> None:
    api = Api()
    channel, client = make(api)
    async with client:
        receipt = Receipt(status="pending", external_id="1")
        await asyncio.gather(*(channel.check(receipt) for _ in range(8)))
    assert api.tokens == 1


async def test_the_adapter_works_across_event_loops() -> None:
    api = Api()
    channel, client = make(api)
    receipt = Receipt(status="pending", external_id="1")

    def run_in_new_loop() -> None:
        async def many() -> None:
            await asyncio.gather(*(channel.check(receipt) for _ in range(3)))

        asyncio.run(many())

    await asyncio.to_thread(run_in_new_loop)
    await asyncio.gather(*(channel.check(receipt) for _ in range(3)))
    await client.aclose()
    assert api.tokens == 1


async def test_another_caller_refreshing_first_is_not_refreshed_again() -> None:
    api = Api()
    channel, client = make(api)
    async with client:
        token = await channel._access_token()
        fresh = await channel._access_token(rejected=token)
        assert await channel._access_token(rejected=token) == fresh
    assert api.tokens == 2


async def test_the_token_endpoint_gets_appid_and_secret_and_stable_token_a_json_body() -> None:
    api = Api()
    channel, client = make(api, stable_token="true")
    async with client:
        await channel.check(Receipt(status="pending", external_id="1"))
    stable = api.seen[0]
    assert (stable.method, stable.url.path) == ("POST", "/cgi-bin/stable_token")
    assert "secret" not in stable.url.params
    assert json.loads(stable.content)["force_refresh"] is False


async def test_a_token_endpoint_that_returns_no_token_is_retryable() -> None:
    api = Api()
    api.on("/cgi-bin/token", lambda r: ok(expires_in=7200))
    channel, client = make(api)
    async with client:
        with pytest.raises(Retryable, match="access_token"):
            await channel.check(Receipt(status="pending", external_id="1"))


@pytest.mark.parametrize(
    ("path", "handler", "expected"),
    [
        ("/cgi-bin/draft/add", raises(httpx.ReadTimeout), Unconfirmed),
        ("/cgi-bin/draft/add", raises(httpx.WriteError), Unconfirmed),
        ("/cgi-bin/freepublish/submit", raises(httpx.RemoteProtocolError), Unconfirmed),
        ("/cgi-bin/freepublish/submit", raises(httpx.ConnectError), Retryable),
        ("/cgi-bin/freepublish/submit", raises(httpx.ConnectTimeout), Retryable),
        ("/cgi-bin/freepublish/submit", raises(httpx.PoolTimeout), Retryable),
        ("/cgi-bin/material/add_material", raises(httpx.ReadTimeout), Retryable),
        ("/cgi-bin/token", raises(httpx.ReadError), Retryable),
        ("/cgi-bin/freepublish/submit", lambda r: httpx.Response(200, text="<html>"), Unconfirmed),
        ("/cgi-bin/token", lambda r: httpx.Response(200, text="<html>"), Retryable),
        ("/cgi-bin/draft/add", lambda r: httpx.Response(404), Misconfigured),
        ("/cgi-bin/draft/add", lambda r: httpx.Response(403), ChannelError),
        ("/cgi-bin/freepublish/submit", lambda r: ok(errcode=0, errmsg="ok"), Unconfirmed),
    ],
    ids=[
        "draft-read-timeout",
        "draft-write-error",
        "submit-disconnected",
        "submit-connect-error",
        "submit-connect-timeout",
        "submit-pool-timeout",
        "material-read-timeout",
        "token-read-error",
        "submit-not-json",
        "token-not-json",
        "http-404",
        "http-403",
        "submit-without-publish-id",
    ],
)
async def test_transport_failures(path: str, handler: Handler, expected: type[Exception]) -> None:
    api = Api()
    api.on(path, handler)
    channel, client = make(api)
    async with client:
        with pytest.raises(ChannelError) as caught:
            await channel.publish(article(), idempotency_key="k")
    assert type(caught.value) is expected


async def test_http_429_is_rate_limited_with_retry_after() -> None:
    api = Api()
    api.on("/cgi-bin/draft/add", lambda r: httpx.Response(429, headers={"Retry-After": "12"}))
    channel, client = make(api)
    async with client:
        with pytest.raises(RateLimited) as caught:
            await channel.publish(article(), idempotency_key="k")
    assert (caught.value.retry_after, caught.value.http_status) == (12.0, 429)


async def test_errmsg_is_never_matched_only_the_code() -> None:
    api = Api()
    api.on("/cgi-bin/draft/add", lambda r: ok(errcode=45003, errmsg="ok, nothing wrong"))
    api.on(
        "/cgi-bin/freepublish/submit",
        lambda r: ok(errcode=0, errmsg="invalid credential", publish_id=5),
    )
    channel, client = make(api)
    async with client:
        with pytest.raises(ChannelError) as caught:
            await channel.publish(article(), idempotency_key="k")
        assert caught.value.platform_code == 45003
        receipt = await channel.publish(article(), idempotency_key="k")
    assert receipt.status == "pending"


async def test_the_publish_id_is_kept_as_text_whatever_its_json_type() -> None:
    api = Api()
    api.on("/cgi-bin/freepublish/submit", lambda r: ok(errcode=0, publish_id="100000001"))
    channel, client = make(api)
    async with client:
        receipt = await channel.publish(article(), idempotency_key="k")
        await channel.check(receipt)
    assert receipt.external_id == "100000001"
    assert json.loads(api.seen[-1].content) == {"publish_id": "100000001"}


async def test_the_poll_without_an_id_cannot_be_made() -> None:
    channel, client = make(Api())
    async with client:
        with pytest.raises(ChannelError, match="publish_id"):
            await channel.check(Receipt(status="pending"))


async def test_an_unknown_publish_status_is_a_failure_that_names_it() -> None:
    api = Api()
    api.on("/cgi-bin/freepublish/get", lambda r: ok(publish_id=1, publish_status=9))
    channel, client = make(api)
    async with client:
        result = await channel.check(Receipt(status="pending", external_id="1"))
    assert (result.status, result.platform_code, result.detail) == ("failed", 9, "未知的发表状态 9")


async def test_a_long_idempotency_key_becomes_a_64_character_clientmsgid() -> None:
    api = Api()
    api.on("/cgi-bin/message/mass/sendall", lambda r: ok(errcode=0, msg_id=31, msg_data_id=2))
    channel, client = make(api, mass_send=True)
    async with client:
        receipt = await channel.publish(article(), idempotency_key="推送-" * 30)
    body = json.loads(api.seen[-1].content)
    assert len(body["clientmsgid"]) == 64
    assert receipt.external_id == "mass:31"


async def test_the_access_token_is_redacted_everywhere(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api = Api()
    api.on("/cgi-bin/draft/add", errcode(40001), errcode(40001))
    channel, client = make(api)
    async with client:
        with pytest.raises(ChannelError) as caught:
            await channel.publish(article(), idempotency_key="k")
        assert channel.redact("access_token=tok-0002&x") == "access_token=***&x"
        assert "tok-0001" in channel.secrets() and SECRET in channel.secrets()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in logged, "httpx logged the request URLs"
    for secret in (SECRET, "tok-0001", "tok-0002"):
        assert secret not in logged
        assert secret not in str(caught.value)
        assert secret not in repr(channel)

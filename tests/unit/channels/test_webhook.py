"""The generic webhook adapter without sockets: the signature, headers, the status table.

Every HTTP exchange goes through ``httpx.MockTransport``; the signed receiver is exercised in
``tests/integration/channels/test_webhook_channel.py``.
"""

from __future__ import annotations

import hashlib
import hmac
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
from channels.registry import load_registry
from channels.webhook import Webhook, mask_url, sign
from syndicator import notify
from tests.unit.channels._support import Handler, mock_client

pytestmark = pytest.mark.anyio

URL = "https://oa.example.gov.cn/api/push"
SECRET = "whsec-test-4f1c9a"
NOW = 1_732_582_800.0
# printf '1732582800.{"kind":"test"}' | openssl dgst -sha256 -hmac 'whsec-test-4f1c9a'
VECTOR = "sha256=8897996881dd89f63d3cb9093364132eaea0bb478fb2237c651256304aaf89ff"
MESSAGE = Message(kind="rebuttal", title="辟谣", body="网传信息不实。")


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"id": 42})


def channel(handler: Handler = ok, **config: Any) -> Webhook:
    client = mock_client(handler)
    settings = {"url": URL, "secret": SECRET, **config}
    return Webhook("duty", settings, client=client, clock=lambda: NOW)


def test_sign_matches_an_independently_computed_vector() -> None:
    assert sign(SECRET, int(NOW), b'{"kind":"test"}') == VECTOR


def test_the_scheme_is_the_notice_webhooks() -> None:
    body = '{"title":"辟谣"}'.encode()
    assert sign(SECRET, 1_700_000_000, body) == notify.sign(SECRET, 1_700_000_000, body)


def test_the_adapter_is_registered_and_describes_itself() -> None:
    assert load_registry(plugins=False).get("webhook") is Webhook
    assert Webhook.secret_fields == ("secret",)
    assert Webhook.idempotent is True


async def test_headers_and_signature_cover_the_exact_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(request)

    receipt = await channel(handler, headers={"X-Office": "jx"}).publish(
        MESSAGE, idempotency_key="push-1-duty"
    )
    assert receipt.status == "published" and receipt.external_id == "42"
    [request] = seen
    assert str(request.url) == URL
    assert request.headers["x-syndicator-event"] == "push.rebuttal"
    assert request.headers["x-syndicator-delivery"] == "push-1-duty"
    assert request.headers["x-syndicator-timestamp"] == "1732582800"
    assert request.headers["x-office"] == "jx"
    expected = hmac.new(
        SECRET.encode(), b"1732582800." + request.content, hashlib.sha256
    ).hexdigest()
    assert request.headers["x-syndicator-signature"] == f"sha256={expected}"
    assert json.loads(request.content)["sent_at"] == "2024-11-26T01:00:00+00:00"


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (429, RateLimited),
        (500, Retryable),
        (503, Retryable),
        (408, Retryable),
        (400, BadContent),
        (413, BadContent),
        (422, BadContent),
        (401, Misconfigured),
        (403, Misconfigured),
        (404, Misconfigured),
        (302, Misconfigured),
    ],
    ids=lambda v: str(v) if isinstance(v, int) else v.__name__,
)
async def test_the_status_table(status: int, error: type[ChannelError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers={"Retry-After": "5"}, json={"error": "x"})

    with pytest.raises(error) as caught:
        await channel(handler).publish(MESSAGE, idempotency_key="k")
    assert type(caught.value) is error
    assert caught.value.http_status == status
    if error is RateLimited:
        assert isinstance(caught.value, RateLimited) and caught.value.retry_after == 5.0


@pytest.mark.parametrize(
    ("raised", "error"),
    [
        (httpx.ConnectError("refused"), Retryable),
        (httpx.ConnectTimeout("timed out"), Retryable),
        (httpx.ReadTimeout("timed out"), Unconfirmed),
        (httpx.RemoteProtocolError("Server disconnected"), Unconfirmed),
    ],
    ids=["connect", "connect-timeout", "read-timeout", "dropped"],
)
async def test_transport_failures(raised: Exception, error: type[ChannelError]) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise raised

    with pytest.raises(error) as caught:
        await channel(handler).publish(MESSAGE, idempotency_key="k")
    assert type(caught.value) is error


async def test_an_empty_body_is_not_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError("nothing should be sent")

    with pytest.raises(BadContent, match="正文为空"):
        await channel(handler).publish(
            Message(kind="test", title="t", body="  "), idempotency_key="k"
        )


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"url": "ftp://x/y"}, "url"),
        ({"headers": {"X-Syndicator-Signature": "x"}}, "X-Syndicator-Signature"),
        ({"headers": ["a"]}, "headers"),
        ({"timeout": 0}, "timeout"),
        ({"secret": ""}, "missing field"),
    ],
    ids=["scheme", "reserved-header", "headers-type", "timeout", "no-secret"],
)
def test_config_errors(config: dict[str, Any], field: str) -> None:
    with pytest.raises(ChannelConfigError, match=field):
        channel(**config)


def test_urls_and_secrets_are_masked() -> None:
    assert mask_url("https://u:pw@oa.example/hook?token=abc&x=1") == (
        "https://u:***@oa.example/hook?token=***&x=***"
    )
    assert mask_url(URL) == URL
    tokened = channel(url=f"{URL}?token=tok-98765")
    shown = [repr(tokened), tokened.redact(f"POST {URL}?token=tok-98765 with {SECRET}")]
    assert all("tok-98765" not in s and SECRET not in s for s in shown)
    assert tokened.safe_config()["secret"] == "***"

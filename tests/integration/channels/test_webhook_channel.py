"""The generic webhook adapter against a signature-checking receiver on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from channels.base import (
    BadContent,
    ChannelError,
    Message,
    Misconfigured,
    RateLimited,
    Receipt,
    Retryable,
    Unconfirmed,
)
from channels.webhook import Webhook, sign
from tests.fakes.webhook import SECRET, FakeWebhook, WebhookFactory

pytestmark = pytest.mark.integration

MESSAGE = Message(kind="rebuttal", title="关于网传信息的说明", body="经核查，网传信息不实。")


def _publish(
    hook: FakeWebhook, *, secret: str = SECRET, key: str = "push-1-duty", **cfg: Any
) -> Receipt:
    async def go() -> Receipt:
        async with httpx.AsyncClient() as client:
            channel = Webhook("duty", {"url": hook.url, "secret": secret, **cfg}, client=client)
            return await channel.publish(MESSAGE, idempotency_key=key)

    return asyncio.run(go())


def test_signed_json_reaches_the_receiver(webhook: FakeWebhook) -> None:
    receipt = _publish(webhook, headers={"X-Office": "jx"})
    assert receipt.status == "published"
    (received,) = webhook.received
    assert received.delivery_id == "push-1-duty" and received.event == "push.rebuttal"
    assert received.payload["title"] == "关于网传信息的说明"
    assert received.headers["x-office"] == "jx"
    assert received.signature == sign(SECRET, received.timestamp, received.body)


def test_a_retry_carries_the_same_key_and_the_receiver_drops_it(webhook: FakeWebhook) -> None:
    _publish(webhook)
    _publish(webhook)
    assert len(webhook.received) == 1 and webhook.duplicates == 1


@pytest.mark.parametrize(
    ("status", "retry_after", "error"),
    [
        (500, None, Retryable),
        (429, "7", RateLimited),
        (422, None, BadContent),
        (404, None, Misconfigured),
    ],
    ids=["500", "429", "422", "404"],
)
def test_answers_map_to_what_the_engine_does(
    webhook: FakeWebhook, status: int, retry_after: str | None, error: type[ChannelError]
) -> None:
    webhook.fail_next(status=status, retry_after=retry_after)
    with pytest.raises(error) as caught:
        _publish(webhook)
    assert caught.value.http_status == status
    if retry_after:
        assert isinstance(caught.value, RateLimited) and caught.value.retry_after == 7.0


def test_a_wrong_secret_is_refused_as_misconfiguration(webhook: FakeWebhook) -> None:
    with pytest.raises(Misconfigured, match="401"):
        _publish(webhook, secret="not-the-secret")


def test_dropped_connection_after_sending_is_unconfirmed(webhook: FakeWebhook) -> None:
    webhook.drop_next()
    with pytest.raises(Unconfirmed):
        _publish(webhook)


def test_nothing_listening_is_retryable() -> None:
    async def go() -> None:
        async with httpx.AsyncClient() as client:
            channel = Webhook(
                "duty", {"url": "http://127.0.0.1:9/hook", "secret": SECRET}, client=client
            )
            await channel.publish(MESSAGE, idempotency_key="k")

    with pytest.raises(Retryable):
        asyncio.run(go())


@pytest.fixture
def echoing(webhook_factory: WebhookFactory) -> Iterator[FakeWebhook]:
    yield webhook_factory(secret=SECRET)


def test_the_secret_never_shows(echoing: FakeWebhook, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echoing.fail_next(status=403)
    with pytest.raises(Misconfigured) as caught:
        _publish(echoing)

    async def build() -> str:
        async with httpx.AsyncClient() as client:
            return repr(Webhook("duty", {"url": echoing.url, "secret": SECRET}, client=client))

    shown = [str(caught.value), repr(caught.value.raw), asyncio.run(build()), caplog.text]
    assert all(SECRET not in text for text in shown)


def test_every_attempt_carries_the_same_delivery_id(webhook: FakeWebhook) -> None:
    webhook.fail_next(status=503)
    with pytest.raises(Retryable):
        _publish(webhook, key="push-7-duty")
    _publish(webhook, key="push-7-duty")
    assert webhook.requests == [(503, "push-7-duty"), (200, "push-7-duty")]
    (received,) = webhook.received
    assert received.payload["idempotency_key"] == "push-7-duty"


def test_the_receivers_id_becomes_the_external_id(webhook_factory: WebhookFactory) -> None:
    hook = webhook_factory(reply_ids=True)
    first = _publish(hook, key="push-1-duty")
    again = _publish(hook, key="push-1-duty")  # a repeat: the receiver names the same record
    assert first.external_id == again.external_id == "rcv-1"
    assert first.platform_code == 200 and first.raw["id"] == "rcv-1"


def test_the_body_holds_the_message(webhook: FakeWebhook) -> None:
    message = Message(
        kind="interpretation",
        title="政策解读",
        body="## 要点\n一、……",
        format="markdown",
        summary="三项要点",
        url="https://www.jiangxi.gov.cn/art/1.html",
        author="省政府办公厅",
    )

    async def go() -> None:
        async with httpx.AsyncClient() as client:
            channel = Webhook("duty", {"url": webhook.url, "secret": SECRET}, client=client)
            await channel.publish(message, idempotency_key="push-2-duty")

    asyncio.run(go())
    (received,) = webhook.received
    payload = received.payload
    assert received.event == "push.interpretation"
    assert {k: v for k, v in payload.items() if k != "sent_at"} == {
        "idempotency_key": "push-2-duty",
        "kind": "interpretation",
        "title": "政策解读",
        "body": "## 要点\n一、……",
        "format": "markdown",
        "summary": "三项要点",
        "url": "https://www.jiangxi.gov.cn/art/1.html",
        "author": "省政府办公厅",
    }
    assert payload["sent_at"].endswith("+00:00")


def test_a_stale_timestamp_is_refused(webhook_factory: WebhookFactory) -> None:
    hook = webhook_factory(clock=lambda: time.time() + 3600)  # the receiver's clock is an hour on
    with pytest.raises(Misconfigured) as caught:
        _publish(hook)
    assert caught.value.http_status == 401
    assert caught.value.raw == {"error": "timestamp outside tolerance"}


def test_a_slow_answer_is_unconfirmed(webhook: FakeWebhook) -> None:
    webhook.slow_next(delay=2.0)
    with pytest.raises(Unconfirmed) as caught:
        _publish(webhook, timeout=0.3)
    assert "投递编号" in str(caught.value)


def test_a_token_in_the_url_is_masked(
    webhook_factory: WebhookFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = "oa-token-5be1c2d9"
    hook = webhook_factory(path=f"/hook?token={token}")
    url = hook.url
    hook.fail_next(status=404)

    async def go() -> tuple[str, ChannelError]:
        async with httpx.AsyncClient() as client:
            channel = Webhook("duty", {"url": url, "secret": SECRET}, client=client)
            try:
                await channel.publish(MESSAGE, idempotency_key="k")
            except ChannelError as exc:
                return repr(channel), exc
        raise AssertionError("the 404 should raise")

    shown, error = asyncio.run(go())
    assert "token=***" in str(error) and "token=***" in shown
    assert "token=***" in caplog.text  # httpx's own request line
    for text in (shown, str(error), repr(error.raw), caplog.text):
        assert token not in text and SECRET not in text

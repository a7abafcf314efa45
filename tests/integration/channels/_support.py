"""What the adapters' contract suites share: the sample push, and the group bots' common checks.

Each suite talks real HTTP to its platform's fake on 127.0.0.1 through an ``adapter(server,
...)`` context manager of its own: the adapter on a fresh ``httpx.AsyncClient``, its clock the
fake's (``lambda: fake.now``) unless a test skews it on purpose, so rate windows and token
lifetimes are crossed by moving that clock, never by sleeping. The only waits are the bounded
slow-answer switch and the client's read timeout.

The group bots (WeCom, DingTalk, Feishu) fail in transport the same way — a request that got no
answer may have reached the group, and none of them can be asked — so their suites run
:data:`GROUP_BOT_TRANSPORT` against their own fake and opener. DingTalk's and Feishu's bots
also share their security settings (a signature over a timestamp, custom keywords): those
suites run :data:`SIGNING_CHECKS` with the platform's own codes (:class:`Signing`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar

import httpx
import pytest

from channels.base import Channel, ChannelError, Message, Misconfigured, Retryable, Unconfirmed
from syndicator.delivery.http import delivery_client
from syndicator.simulator.fakes.wecom import RobotFake
from tests.fakes._base import Served
from tests.fakes.portals import unused_port

__all__ = [
    "ARTICLE",
    "GROUP_BOT_TRANSPORT",
    "SIGNING_CHECKS",
    "Connect",
    "GroupBotCheck",
    "Signing",
    "SigningCheck",
    "message",
    "nothing_listening_is_retryable",
    "opened",
    "shown_by",
]

ARTICLE = "https://www.jiangxi.gov.cn/art/2026/11/26/art_5218_4938291.html"

Connect = Callable[..., AbstractAsyncContextManager[Channel]]
"""A suite's ``adapter`` bound to its server; takes ``base_url=`` and ``http_timeout=``."""

C = TypeVar("C", bound=Channel)


@asynccontextmanager
async def opened(
    adapter: Callable[..., C],
    id: str,
    server: Served[Any],
    settings: Mapping[str, Any],
    *,
    clock: Callable[[], float] | None = None,
    base_url: str | None = None,
    http_timeout: httpx.Timeout | float = 5.0,
    **config: Any,
) -> AsyncIterator[C]:
    """The *adapter* instance *id* on a fresh client, configured with *settings*, then *config*.

    It posts to *server* unless *base_url* is given, and keeps the fake's clock unless *clock*
    is: for the adapters that take one (a group bot, Weibo).
    """
    async with delivery_client(timeout=http_timeout) as client:
        yield adapter(
            id,
            {**settings, **config},
            client=client,
            base_url=base_url or server.base_url,
            clock=clock or (lambda: server.fake.now),
        )


def message(body: str = "网传“某地停水三天”系谣言，请以官方发布为准。", **kw: Any) -> Message:
    """The sample rebuttal (辟谣), titled 关于网传停水消息的辟谣 unless *kw* names a title."""
    kw.setdefault("title", "关于网传停水消息的辟谣")
    return Message(kind="rebuttal", body=body, **kw)


async def shown_by(channel: Channel, arms: Iterable[Callable[[], object]]) -> list[str]:
    """Everything *channel* shows of itself and its failures, as text.

    Its repr and safe configuration, the receipt of a publish (``k1``, which must succeed),
    then for each of *arms* (a fault switch, a removed robot …) the error of one more publish
    (``k2``, which must fail): ``str``, ``repr`` and the redacted body.
    """
    shown = [repr(channel), json.dumps(channel.safe_config(), ensure_ascii=False)]
    receipt = await channel.publish(message(), idempotency_key="k1")
    shown.append(json.dumps(dict(receipt.raw), ensure_ascii=False))
    for arm in arms:
        arm()
        with pytest.raises(ChannelError) as caught:
            await channel.publish(message(), idempotency_key="k2")
        shown += [str(caught.value), repr(caught.value)]
        shown.append(json.dumps(dict(caught.value.raw), ensure_ascii=False))
    return shown


async def nothing_listening_is_retryable(connect: Connect) -> Retryable:
    """No server at the base URL: :class:`Retryable` (nothing was sent), never Unconfirmed."""
    async with connect(base_url=f"http://127.0.0.1:{unused_port()}") as channel:
        with pytest.raises(Retryable) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert not isinstance(caught.value, Unconfirmed)
    return caught.value


# -- the group bots' transport ----------------------------------------------------------------


async def _server_error_is_retryable(fake: RobotFake, connect: Connect, *, status: int) -> None:
    fake.fail_next(status=status)
    async with connect() as channel:
        with pytest.raises(Retryable) as caught:
            await channel.publish(message(), idempotency_key="k")
        assert caught.value.http_status == status
        assert type(caught.value) is Retryable  # not RateLimited: no wait is asked for
        await channel.publish(message(), idempotency_key="k")
    assert len(fake.messages) == 1


async def _dropped_after_sending_is_unconfirmed(fake: RobotFake, connect: Connect) -> None:
    fake.drop_next(commit=True)
    async with connect() as channel:
        with pytest.raises(Unconfirmed) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert "请到群里核对" in str(caught.value)
    assert len(fake.messages) == 1  # it did arrive: a blind retry would post it twice


async def _slow_answer_is_unconfirmed(fake: RobotFake, connect: Connect) -> None:
    fake.slow_next(delay=2.0)
    async with connect(http_timeout=0.3) as channel:
        with pytest.raises(Unconfirmed):
            await channel.publish(message(), idempotency_key="k")


async def _nothing_listening(fake: RobotFake, connect: Connect) -> None:
    await nothing_listening_is_retryable(connect)


GroupBotCheck = Callable[[RobotFake, Connect], Awaitable[None]]

GROUP_BOT_TRANSPORT = [
    pytest.param(partial(_server_error_is_retryable, status=502), id="502-is-retryable"),
    pytest.param(partial(_server_error_is_retryable, status=503), id="503-is-retryable"),
    pytest.param(_dropped_after_sending_is_unconfirmed, id="dropped-after-sending-is-unconfirmed"),
    pytest.param(_slow_answer_is_unconfirmed, id="slow-answer-is-unconfirmed"),
    pytest.param(_nothing_listening, id="nothing-listening-is-retryable"),
]
"""``check(fake, connect)`` coroutines every group bot's suite parametrizes one test with."""


# -- the signing bots' security settings ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Signing:
    """How a signing bot's platform refuses what its security settings do not allow.

    Attributes:
        sign: the code for a bad signature, a stale timestamp, or no signature at all.
        keywords: the code for a message with none of the bot's custom keywords.
        wrong_secret: a well-formed secret that is not the bot's.
        mismatch: what the adapter says about a signature that does not match.
    """

    sign: int
    keywords: int
    wrong_secret: str
    mismatch: str


class SigningBots(Protocol):
    """A running fake with a bot that signs (``signed``) and one with keywords (``keyword``)."""

    @property
    def fake(self) -> RobotFake: ...

    @property
    def signed(self) -> Any: ...

    @property
    def keyword(self) -> Any: ...


async def _wrong_secret_is_misconfigured(
    server: SigningBots, connect: Connect, signing: Signing
) -> None:
    async with connect(secret=signing.wrong_secret) as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="k")
    error = caught.value
    assert error.platform_code == signing.sign
    assert error.http_status == 200
    assert signing.mismatch in str(error)
    assert signing.wrong_secret not in str(error)
    assert server.fake.messages == []


async def _no_secret_for_a_signing_bot_says_so(
    server: SigningBots, connect: Connect, signing: Signing
) -> None:
    async with connect(server.signed, secret=None) as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == signing.sign
    assert "请在渠道配置中填写 secret" in str(caught.value)


async def _stale_timestamp_is_rejected(
    server: SigningBots, connect: Connect, signing: Signing, *, skew: float
) -> None:
    async with connect(clock=lambda: server.fake.now + skew) as channel:
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message(), idempotency_key="k")
    assert caught.value.platform_code == signing.sign
    assert "时钟" in str(caught.value)


async def _timestamp_within_the_hour_is_accepted(
    server: SigningBots, connect: Connect, signing: Signing
) -> None:
    async with connect(clock=lambda: server.fake.now - 3500) as channel:
        await channel.publish(message(), idempotency_key="k")
    assert len(server.fake.messages) == 1


async def _keyword_refusal_is_misconfigured(
    server: SigningBots, connect: Connect, signing: Signing
) -> None:
    async with connect(server.keyword) as channel:  # keywords not configured
        with pytest.raises(Misconfigured) as caught:
            await channel.publish(message("停水通知", title="通知"), idempotency_key="k")
    assert caught.value.platform_code == signing.keywords
    assert "关键词" in str(caught.value)


SigningCheck = Callable[[SigningBots, Connect, Signing], Awaitable[None]]

SIGNING_CHECKS = [
    pytest.param(_wrong_secret_is_misconfigured, id="wrong-secret-is-misconfigured"),
    pytest.param(_no_secret_for_a_signing_bot_says_so, id="no-secret-for-a-signing-bot-says-so"),
    pytest.param(partial(_stale_timestamp_is_rejected, skew=-3601.0), id="an-hour-slow"),
    pytest.param(partial(_stale_timestamp_is_rejected, skew=3601.0), id="an-hour-fast"),
    pytest.param(_timestamp_within_the_hour_is_accepted, id="timestamp-within-the-hour"),
    pytest.param(_keyword_refusal_is_misconfigured, id="platforms-keyword-refusal"),
]
"""``check(server, connect, signing)`` coroutines every signing bot's suite runs."""

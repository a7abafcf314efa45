"""The delivery engine over real storage (SQLite and PostgreSQL): exactly once where it can be,
never blind, every attempt logged.

The adapter here is scripted (it counts what it "posted"); the adapters' own contract suites
talk HTTP to the fakes. The clock is moved by hand: no sleeps.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

import httpx
import pytest
import redis
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select

from channels.base import (
    BadContent,
    Capability,
    Channel,
    Message,
    Misconfigured,
    RateLimited,
    Receipt,
    Retryable,
    Unconfirmed,
)
from syndicator import audit
from syndicator.clock import FrozenClock
from syndicator.db import Database
from syndicator.db.models import Delivery, DeliveryAttempt, DeliveryState, Push, PushState
from syndicator.delivery.engine import (
    DeliveryEngine,
    DeliveryError,
    approve_push,
    confirm_delivery,
    create_push,
    plain_render,
)
from syndicator.delivery.limits import LocalRateLimiter, RedisRateLimiter
from tests.conftest import REDIS_URL, empty_redis

pytestmark = pytest.mark.integration

Step = Callable[[Message, str], Receipt]


class Scripted(Channel):
    """Posts by appending to ``posted``; each call takes the next step of ``script``."""

    name = "scripted"
    title = "脚本渠道"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TEXT, Capability.STATUS})
    optional_fields = ("token",)
    secret_fields = ("token",)

    def __init__(self, id: str, *, script: list[Any] | None = None, **kw: Any) -> None:
        super().__init__(id, {"token": "tok-SECRET-123"}, client=kw.pop("client"))
        self.script = list(script or [])
        self.posted: list[tuple[str, str]] = []
        self.checks: list[Any] = []

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        step = self.script.pop(0) if self.script else "ok"
        if step == "ok":
            self.posted.append((idempotency_key, message.body))
            return Receipt(status="published", external_id=f"m-{len(self.posted)}")
        if step == "pending":
            self.posted.append((idempotency_key, message.body))
            return Receipt(status="pending", external_id="publish-77")
        if step == "killed":  # the worker process dies after the request went out
            self.posted.append((idempotency_key, message.body))
            raise asyncio.CancelledError
        if isinstance(step, BaseException):
            raise step
        raise AssertionError(step)

    async def check(self, receipt: Receipt) -> Receipt:
        result = self.checks.pop(0)
        if isinstance(result, Exception):
            raise result
        assert isinstance(result, Receipt)
        return result


class Idempotent(Scripted):
    name = "idempotent"
    idempotent = True


START = datetime(2026, 12, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def client() -> Iterator[httpx.AsyncClient]:
    yield httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500)))


def _engine(
    db: Database, clock: FrozenClock, channels: dict[str, Channel], **kw: Any
) -> DeliveryEngine:
    return DeliveryEngine(
        db, channels, limiter=kw.pop("limiter", LocalRateLimiter()), now=clock.now, **kw
    )


def _push(db: Database, clock: FrozenClock, channels: list[str]) -> list[int]:
    push_id = create_push(
        db,
        kind="rebuttal",
        title="关于“某地自来水被污染”的辟谣",
        body="近日网传……经核查，该信息不实。",
        channels=channels,
        by="staff:li",
        now=clock.now(),
    )
    return approve_push(db, push_id, by="staff:wang", now=clock.now())


def _row(db: Database, delivery_id: int) -> Delivery:
    with db.session() as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        return row


def _attempts(db: Database, delivery_id: int) -> list[str]:
    with db.session() as session:
        return list(
            session.scalars(
                select(DeliveryAttempt.outcome)
                .where(DeliveryAttempt.delivery_id == delivery_id)
                .order_by(DeliveryAttempt.id)
            )
        )


def test_approval_creates_one_delivery_per_channel_in_one_transaction(
    db: Database, clock: FrozenClock
) -> None:
    ids = _push(db, clock, ["wx", "weibo", "wx"])
    with db.session() as session:
        rows = session.scalars(select(Delivery).order_by(Delivery.id)).all()
        push = session.scalars(select(Push)).one()
        assert audit.verify(session)[1] is None
    assert [r.id for r in rows] == ids
    assert [(r.channel_id, r.state) for r in rows] == [
        ("wx", DeliveryState.QUEUED),
        ("weibo", DeliveryState.QUEUED),
    ]
    assert rows[0].idempotency_key == f"push-{push.id}-wx"
    assert push.state is PushState.APPROVED and push.approved_by == "staff:wang"
    with pytest.raises(DeliveryError, match="不能再次批准"):
        approve_push(db, push.id, by="staff:wang", now=clock.now())


def test_sent_once_even_when_the_message_is_queued_twice(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    wx = Scripted("wx", client=client)
    engine = _engine(db, clock, {"wx": wx})
    (delivery,) = _push(db, clock, ["wx"])
    first = asyncio.run(engine.deliver(delivery))
    second = asyncio.run(engine.deliver(delivery))  # a duplicated queue message
    assert first.state is DeliveryState.SENT and second.state is None
    assert len(wx.posted) == 1
    row = _row(db, delivery)
    assert (row.external_id, row.attempts, row.sent_at) == ("m-1", 1, START)
    assert _attempts(db, delivery) == ["published"]


def test_worker_killed_between_send_and_record_never_posts_twice(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    wx = Scripted("wx", script=["killed"], client=client)
    engine = _engine(db, clock, {"wx": wx}, lease_seconds=60)
    (delivery,) = _push(db, clock, ["wx"])
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(engine.deliver(delivery))
    assert _row(db, delivery).state is DeliveryState.SENDING

    assert engine.sweep() == []  # the lease still holds: nobody touches it
    clock.advance(timedelta(seconds=61))
    assert engine.sweep() == []  # not handed out again…
    row = _row(db, delivery)
    assert row.state is DeliveryState.UNCONFIRMED  # …but shown as unknown
    assert row.last_error is not None and "不会自动重发" in row.last_error
    assert asyncio.run(engine.deliver(delivery)).state is None
    clock.advance(timedelta(hours=1))
    assert engine.sweep() == []
    assert len(wx.posted) == 1

    # Staff look at the account: it was not posted. Only then is it sent again.
    confirm_delivery(db, delivery, sent=False, by="staff:zhao", now=clock.now())
    assert engine.sweep() == [delivery]
    assert asyncio.run(engine.deliver(delivery)).state is DeliveryState.SENT
    assert len(wx.posted) == 2
    assert _attempts(db, delivery) == ["unconfirmed", "confirmed_not_sent", "published"]


def test_a_platform_that_drops_repeats_is_resent_after_a_crash(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    hook = Idempotent("hook", script=["killed"], client=client)
    engine = _engine(db, clock, {"hook": hook}, lease_seconds=60)
    (delivery,) = _push(db, clock, ["hook"])
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(engine.deliver(delivery))
    clock.advance(timedelta(seconds=61))
    assert engine.sweep() == [delivery]
    asyncio.run(engine.deliver(delivery))
    keys = [key for key, _ in hook.posted]
    assert keys == [keys[0], keys[0]]  # the same idempotency key: the receiver drops the repeat
    assert _row(db, delivery).state is DeliveryState.SENT


def test_unconfirmed_is_never_retried_and_staff_can_confirm_it_sent(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    wx = Scripted("wx", script=[Unconfirmed("read timeout after sending")], client=client)
    engine = _engine(db, clock, {"wx": wx})
    (delivery,) = _push(db, clock, ["wx"])
    assert asyncio.run(engine.deliver(delivery)).state is DeliveryState.UNCONFIRMED
    clock.advance(timedelta(days=1))
    assert engine.sweep() == [] and engine.to_check() == []  # no platform id to ask about
    confirm_delivery(db, delivery, sent=True, by="staff:zhao", now=clock.now(), note="已在后台看到")
    row = _row(db, delivery)
    assert (row.state, row.confirmed_by) == (DeliveryState.SENT, "staff:zhao")
    assert wx.posted == []
    with pytest.raises(DeliveryError, match="无需确认"):
        confirm_delivery(db, delivery, sent=True, by="staff:zhao", now=clock.now())


def test_asynchronous_publish_is_reconciled_by_the_platform_status(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    wx = Scripted("wx", script=["pending", "pending"], client=client)
    wx.checks = [
        Receipt(status="pending", external_id="publish-77"),
        Receipt(status="published", external_id="publish-77", url="https://mp.weixin.qq.com/s/x"),
        Receipt(
            status="failed", external_id="publish-77", platform_code=4, detail="平台审核不通过"
        ),
    ]
    engine = _engine(db, clock, {"wx": wx}, check_interval=30)
    first, second = _push(db, clock, ["wx"]), _push(db, clock, ["wx"])
    for ids in (first, second):
        assert asyncio.run(engine.deliver(ids[0])).state is DeliveryState.PUBLISHING
    assert engine.to_check() == []  # not yet: checked every 30 s
    clock.advance(timedelta(seconds=30))
    assert sorted(engine.to_check()) == [first[0], second[0]]
    assert asyncio.run(engine.check(first[0])).state is DeliveryState.PUBLISHING
    assert engine.to_check() == [second[0]]  # the first is asked again in 30 s
    clock.advance(timedelta(seconds=30))
    assert asyncio.run(engine.check(first[0])).state is DeliveryState.SENT
    assert asyncio.run(engine.check(second[0])).state is DeliveryState.FAILED
    assert _row(db, first[0]).url == "https://mp.weixin.qq.com/s/x"
    failed = _row(db, second[0])
    assert (failed.platform_code, failed.last_error) == ("4", "平台审核不通过")
    assert len(wx.posted) == 2


def test_rate_limits_wait_without_spending_attempts(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    class Robot(Scripted):
        name = "robot"
        rate = ((2, 60.0),)

    bot = Robot("bot", client=client)
    engine = _engine(db, clock, {"bot": bot})
    ids = [_push(db, clock, ["bot"])[0] for _ in range(3)]
    outcomes = [asyncio.run(engine.deliver(i)).state for i in ids]
    assert outcomes == [DeliveryState.SENT, DeliveryState.SENT, DeliveryState.RETRY_WAIT]
    waiting = _row(db, ids[2])
    assert waiting.attempts == 0 and waiting.next_attempt_at == START + timedelta(seconds=60)
    clock.advance(timedelta(seconds=59))
    assert engine.sweep() == []
    clock.advance(timedelta(seconds=1))
    assert engine.sweep() == [ids[2]]
    assert asyncio.run(engine.deliver(ids[2])).state is DeliveryState.SENT
    assert len(bot.posted) == 3


def test_platform_rate_limit_and_retries_then_give_up(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    script: list[Any] = [RateLimited("45009", retry_after=42)] + [Retryable("503")] * 3
    wx = Scripted("wx", script=script, client=client)
    engine = _engine(db, clock, {"wx": wx}, max_attempts=4, backoff_base=10, rand=lambda: 0.5)
    (delivery,) = _push(db, clock, ["wx"])
    asyncio.run(engine.deliver(delivery))
    row = _row(db, delivery)
    assert row.state is DeliveryState.RETRY_WAIT
    assert row.next_attempt_at == START + timedelta(seconds=42)  # the platform's word
    waits = []
    for _ in range(3):
        clock.advance(timedelta(hours=2))
        asyncio.run(engine.deliver(delivery))
        row = _row(db, delivery)
        if row.next_attempt_at is not None and row.state is DeliveryState.RETRY_WAIT:
            waits.append((row.next_attempt_at - clock.now()).total_seconds())
    assert waits == [20.0, 40.0]  # 10 × 2^(n−1), jitter at its midpoint
    assert row.state is DeliveryState.FAILED
    assert _attempts(db, delivery) == ["rate_limited", "retry", "retry", "gave_up"]


def test_one_failing_channel_does_not_hold_up_the_others(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    wx = Scripted(
        "wx", script=[Misconfigured("40164 invalid ip", platform_code=40164)], client=client
    )
    weibo = Scripted("weibo", script=[BadContent("text too long")], client=client)
    bot = Scripted("bot", client=client)
    engine = _engine(db, clock, {"wx": wx, "weibo": weibo, "bot": bot})
    ids = _push(db, clock, ["wx", "weibo", "bot"])
    states = {i: asyncio.run(engine.deliver(i)).state for i in ids}
    assert list(states.values()) == [DeliveryState.FAILED, DeliveryState.FAILED, DeliveryState.SENT]
    assert _row(db, ids[0]).platform_code == "40164"
    assert _row(db, ids[1]).last_error == "text too long"
    assert len(bot.posted) == 1


def test_sweeper_recovers_deliveries_whose_queue_messages_were_lost(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    wx = Scripted("wx", client=client)
    engine = _engine(db, clock, {"wx": wx})
    ids = _push(db, clock, ["wx"]) + _push(db, clock, ["wx"])
    # The broker restarted: nothing was ever delivered. The sweeper finds them all.
    assert engine.sweep() == ids
    for delivery in engine.sweep():
        asyncio.run(engine.deliver(delivery))
    assert engine.sweep() == [] and len(wx.posted) == 2


def test_secrets_never_reach_the_delivery_log(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    error = Misconfigured("POST /send?token=tok-SECRET-123 refused", raw={"echo": "tok-SECRET-123"})
    wx = Scripted("wx", script=[error], client=client)
    engine = _engine(db, clock, {"wx": wx})
    (delivery,) = _push(db, clock, ["wx"])
    asyncio.run(engine.deliver(delivery))
    with db.session() as session:
        attempt = session.scalars(select(DeliveryAttempt)).one()
        row = session.get(Delivery, delivery)
        assert row is not None
        stored = f"{attempt.message} {attempt.request} {row.last_error}"
    assert "tok-SECRET-123" not in stored and "***" in stored


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    with empty_redis(REDIS_URL) as client:
        yield client


def test_redis_windows_are_shared_by_every_worker(redis_client: redis.Redis) -> None:
    first, second = RedisRateLimiter(redis_client), RedisRateLimiter(redis_client)
    windows = ((2, 60.0), (3, 3600.0))
    assert first.reserve("bot", windows, 1000.0) == 0
    assert second.reserve("bot", windows, 1001.0) == 0
    assert first.reserve("bot", windows, 1002.0) == pytest.approx(58.0)
    assert second.reserve("bot", windows, 1060.0) == 0  # the minute window moved on
    assert first.reserve("bot", windows, 1070.0) == pytest.approx(3530.0)  # the hour did not
    assert first.reserve("other", windows, 1070.0) == 0


class Answering(Scripted):
    """Answers each publish with the next step: a receipt to return or an error to raise."""

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        step = self.script.pop(0)
        if isinstance(step, BaseException):
            raise step
        self.posted.append((idempotency_key, message.body))
        assert isinstance(step, Receipt)
        return step


def test_the_claim_is_committed_before_the_request_goes_out(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    seen: list[tuple[DeliveryState, int, datetime | None]] = []

    class Looking(Scripted):
        async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
            row = _row(db, delivery)  # another connection: only what is committed
            seen.append((row.state, row.attempts, row.claimed_until))
            return await super().publish(message, idempotency_key=idempotency_key)

    wx = Looking("wx", client=client)
    engine = _engine(db, clock, {"wx": wx}, lease_seconds=60)
    (delivery,) = _push(db, clock, ["wx"])
    assert asyncio.run(engine.deliver(delivery)).state is DeliveryState.SENT
    assert seen == [(DeliveryState.SENDING, 1, START + timedelta(seconds=60))]
    row = _row(db, delivery)
    assert (row.state, row.attempts, row.claimed_until) == (DeliveryState.SENT, 1, None)


def test_the_renderer_gets_the_push_as_stored(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    given: list[Push] = []

    def render(push: Push, channel: Channel) -> list[Message]:
        given.append(push)
        return plain_render(push, channel)

    wx = Scripted("wx", client=client)
    engine = _engine(db, clock, {"wx": wx}, render=render)
    (delivery,) = _push(db, clock, ["wx"])
    assert asyncio.run(engine.deliver(delivery)).state is DeliveryState.SENT
    with db.session() as session:
        stored = session.get(Push, _row(db, delivery).push_id)
        assert stored is not None
    keys = [attr.key for attr in sa_inspect(Push).column_attrs]
    assert {k: getattr(given[0], k) for k in keys} == {k: getattr(stored, k) for k in keys}
    assert given[0].state is PushState.APPROVED and given[0].channels == ["wx"]
    assert given[0].created_at == START and given[0].approved_at == START
    assert wx.posted == [(f"push-{stored.id}-wx", stored.body)]


def test_every_attempt_is_logged_with_its_fields(
    db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    busy = Retryable(
        "503 busy (token tok-SECRET-123)",
        http_status=503,
        platform_code="busy",
        raw={"error": "busy", "token": "tok-SECRET-123"},
    )
    published = Receipt(
        status="published",
        external_id="x-9",
        url="https://example.org/p/9",
        platform_code=0,
        detail="接收方已确认",
        raw={"id": "x-9", "echo": "tok-SECRET-123"},
    )
    wx = Answering("wx", script=[busy, published], client=client)
    engine = _engine(db, clock, {"wx": wx}, backoff_base=10, rand=lambda: 0.5)
    (delivery,) = _push(db, clock, ["wx"])
    assert asyncio.run(engine.deliver(delivery)).state is DeliveryState.RETRY_WAIT
    row = _row(db, delivery)
    assert (row.attempts, row.claimed_until, row.sent_at) == (1, None, None)
    assert (row.platform_code, row.last_error) == ("busy", "503 busy (token ***)")
    assert row.next_attempt_at == START + timedelta(seconds=10)
    assert row.external_id is None and row.updated_at == START

    clock.advance(timedelta(seconds=10))
    assert asyncio.run(engine.deliver(delivery)).state is DeliveryState.SENT
    row = _row(db, delivery)
    then = START + timedelta(seconds=10)
    assert (row.state, row.attempts, row.parts_sent) == (DeliveryState.SENT, 2, 1)
    assert (row.sent_at, row.updated_at, row.claimed_until) == (then, then, None)
    assert (row.external_id, row.url, row.platform_code) == ("x-9", published.url, "0")
    assert row.last_error is None
    with db.session() as session:
        attempts = session.scalars(
            select(DeliveryAttempt)
            .where(DeliveryAttempt.delivery_id == delivery)
            .order_by(DeliveryAttempt.id)
        ).all()
        logged = [
            (
                a.action,
                a.started_at,
                a.outcome,
                a.http_status,
                a.platform_code,
                a.message,
                a.external_id,
                a.url,
                a.request,
            )
            for a in attempts
        ]
        durations = [a.duration_ms for a in attempts]
    assert logged == [
        (
            "publish",
            START,
            "retry",
            503,
            "busy",
            "503 busy (token ***)",
            None,
            None,
            {"response": {"error": "busy", "token": "***"}},
        ),
        (
            "publish",
            then,
            "published",
            None,
            "0",
            "接收方已确认",
            "x-9",
            published.url,
            {"response": {"id": "x-9", "echo": "***"}},
        ),
    ]
    assert all(isinstance(d, float) and d >= 0 for d in durations)


def test_recording_relaxes_durability_for_its_own_transaction_only(
    pg_db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    wx = Scripted("wx", client=client)
    engine = _engine(pg_db, clock, {"wx": wx})
    ids = _push(pg_db, clock, ["wx"]) + _push(pg_db, clock, ["wx"])
    for delivery in ids:
        assert asyncio.run(engine.deliver(delivery)).state is DeliveryState.SENT
    pool = pg_db.engine.pool
    checked_in = pool.checkedin()  # type: ignore[attr-defined]
    assert checked_in >= 1
    # Every pooled connection (the one that recorded the outcomes among them) is back to the
    # server's durable default: the next claim is flushed to disk before it returns.
    # Nor is any of them left in autocommit: sessions still get real transactions.
    connections = [pg_db.engine.connect() for _ in range(checked_in)]
    try:
        settings = {c.exec_driver_sql("SHOW synchronous_commit").scalar() for c in connections}
        drivers = [c.connection.driver_connection for c in connections]
        autocommit = {getattr(driver, "autocommit", None) for driver in drivers}
    finally:
        for c in connections:
            c.close()
    assert settings == {"on"} and autocommit == {False}
    assert _attempts(pg_db, ids[0]) == ["published"] and _attempts(pg_db, ids[1]) == ["published"]


def _drop_pooled_connections(db: Database) -> int:
    """Have the server end every connection idle in *db*'s pool (as a restart would)."""
    pool = db.engine.pool
    connections = [db.engine.connect() for _ in range(pool.checkedin())]  # type: ignore[attr-defined]
    pids = [c.exec_driver_sql("SELECT pg_backend_pid()").scalar() for c in connections]
    for c in connections:
        c.close()  # back to the pool, "used moments ago": not pinged on the next checkout
    admin = Database(db.url)
    try:
        with admin.engine.begin() as conn:
            for pid in pids:
                conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid)})")
    finally:
        admin.dispose()
    return len(pids)


def test_a_connection_the_server_dropped_between_deliveries_costs_no_delivery(
    pg_db: Database, clock: FrozenClock, client: httpx.AsyncClient, caplog: Any
) -> None:
    wx = Scripted("wx", client=client)
    engine = _engine(pg_db, clock, {"wx": wx})
    first, second = _push(pg_db, clock, ["wx"]) + _push(pg_db, clock, ["wx"])
    assert asyncio.run(engine.deliver(first)).state is DeliveryState.SENT
    assert _drop_pooled_connections(pg_db) >= 1
    assert asyncio.run(engine.deliver(second)).state is DeliveryState.SENT
    assert [key for key, _ in wx.posted] == [
        _row(pg_db, first).idempotency_key,
        _row(pg_db, second).idempotency_key,
    ]
    assert _attempts(pg_db, second) == ["published"]
    assert "database connection was dropped" in caplog.text


class DroppingConnections(Scripted):
    """Posts, and meanwhile the database server ends the pool's connections."""

    def __init__(self, id: str, db: Database, **kw: Any) -> None:
        super().__init__(id, **kw)
        self.db = db

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        _drop_pooled_connections(self.db)
        return await super().publish(message, idempotency_key=idempotency_key)


def test_the_outcome_is_recorded_when_the_connection_died_during_the_request(
    pg_db: Database, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    wx = DroppingConnections("wx", pg_db, client=client)
    engine = _engine(pg_db, clock, {"wx": wx})
    (delivery,) = _push(pg_db, clock, ["wx"])
    assert asyncio.run(engine.deliver(delivery)).state is DeliveryState.SENT
    row = _row(pg_db, delivery)
    assert (row.state, row.external_id, row.attempts) == (DeliveryState.SENT, "m-1", 1)
    assert len(wx.posted) == 1 and _attempts(pg_db, delivery) == ["published"]

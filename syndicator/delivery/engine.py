"""The delivery engine: an outbox of ``Delivery`` rows, sent once, every attempt logged.

Approving a push creates one ``Delivery`` per target channel in the same transaction
(:func:`approve_push`). A worker then :meth:`DeliveryEngine.deliver`\\ s one row:

1. **claim** — one conditional ``UPDATE`` moves it ``queued``/``retry_wait`` → ``sending``
   with a lease; a second worker (a duplicated queue message) finds nothing to claim;
2. **rate** — the channel's windows (:mod:`syndicator.delivery.limits`, shared by all workers)
   either give a slot or put the row back to ``retry_wait`` for as long as they say;
3. **send** — outside any transaction, the adapter publishes each rendered part under the
   delivery's idempotency key;
4. **record** — the outcome and a ``DeliveryAttempt`` row, in one transaction:

   ============================  ======================================================
   receipt ``published``         ``sent``
   receipt ``pending``           ``publishing``: the sweeper asks the platform (check)
   Retryable / RateLimited       ``retry_wait`` (backoff with jitter, or retry_after);
                                 ``failed`` after ``max_attempts``
   BadContent / Misconfigured    ``failed`` (shown to staff; the latter alerts admins)
   Unconfirmed, or any surprise  ``unconfirmed``: never resent blindly
   ============================  ======================================================

:meth:`DeliveryEngine.sweep` makes the database the source of truth: rows due but not
enqueued are handed out again (a lost queue message loses nothing); a ``sending`` row whose
lease ran out (the worker died between send and record) becomes ``unconfirmed`` — resent only
for adapters whose platform drops repeats of the key (``Channel.idempotent``); ``publishing``
and ``unconfirmed`` rows with a platform id are reconciled through ``Channel.check``; the rest
of the unconfirmed wait for staff (:func:`confirm_delivery`).
"""

from __future__ import annotations

import hashlib
import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError

from channels.base import (
    BadContent,
    Capability,
    Channel,
    ChannelError,
    Message,
    Misconfigured,
    RateLimited,
    Receipt,
    Retryable,
    Unconfirmed,
)
from syndicator import audit
from syndicator.db.models import Delivery, DeliveryAttempt, DeliveryState, Push, PushState
from syndicator.db.prepared import Prepared, run_transaction
from syndicator.db.session import Database
from syndicator.delivery.limits import RateLimiter

__all__ = [
    "NOT_CLAIMED",
    "Claim",
    "DeliveryEngine",
    "DeliveryError",
    "Outcome",
    "approve_push",
    "confirm_delivery",
    "content_hash",
    "create_push",
    "plain_render",
    "queued_delivery",
]

log = logging.getLogger(__name__)

Render = Callable[[Push, Channel], list[Message]]


class DeliveryError(ValueError):
    """A request about pushes or deliveries that cannot be done; the message says why (zh-CN)."""


def content_hash(kind: str, title: str, body: str, summary: str | None, url: str | None) -> str:
    """What an approval is bound to: an edit makes another hash."""
    text = "\x1f".join((kind, title, body, summary or "", url or ""))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plain_render(push: Push, adapter: Channel) -> list[Message]:
    """The simplest rendering: the push as it is, in the adapter's preferred format."""
    fmt = adapter.formats[0]
    body = push.body
    if fmt == "html":
        from html import escape

        body = "".join(f"<p>{escape(p)}</p>" for p in push.body.split("\n") if p.strip())
    return [
        Message(
            kind=push.kind,
            title=push.title,
            body=body,
            format=fmt,
            summary=push.summary,
            url=push.url,
            author=push.author,
        )
    ]


def create_push(
    db: Database,
    *,
    kind: str,
    title: str,
    body: str,
    channels: Sequence[str],
    by: str,
    now: datetime,
    summary: str | None = None,
    url: str | None = None,
    author: str | None = None,
) -> int:
    """Store a draft push for *channels*; nothing is sent until it is approved."""
    if not title.strip() or not body.strip():
        raise DeliveryError("标题和正文不能为空 / title and body are required")
    if not channels:
        raise DeliveryError("至少需要一个推送渠道 / at least one channel is required")
    with db.begin() as session:
        push = Push(
            kind=kind,
            title=title,
            body=body,
            summary=summary,
            url=url,
            author=author,
            content_hash=content_hash(kind, title, body, summary, url),
            channels=list(dict.fromkeys(channels)),
            state=PushState.DRAFT,
            created_at=now,
            created_by=by,
        )
        session.add(push)
        session.flush()
        audit.append(
            session,
            at=now,
            actor=by,
            action="push.created",
            subject=f"push:{push.id}",
            data={
                "kind": kind,
                "title": title,
                "channels": push.channels,
                "hash": push.content_hash,
            },
        )
        return push.id


def queued_delivery(push_id: int, channel_id: str, now: datetime) -> Delivery:
    """A new outbox row: *push_id* to *channel_id*, due now, keyed ``push-<id>-<channel>``."""
    return Delivery(
        push_id=push_id,
        channel_id=channel_id,
        idempotency_key=f"push-{push_id}-{channel_id}",
        state=DeliveryState.QUEUED,
        attempts=0,
        parts_sent=0,
        created_at=now,
        updated_at=now,
        next_attempt_at=now,
    )


def approve_push(
    db: Database,
    push_id: int,
    *,
    by: str,
    now: datetime,
    check: Callable[[Push], Sequence[str]] | None = None,
) -> list[int]:
    """Approve a draft: in the same transaction, one queued delivery per target channel.

    *check* lists what stops the push from being sent as it is (a channel that would refuse
    its length, say: :meth:`syndicator.delivery.render.PushRenderer.problems`); any problem
    refuses the approval and the push stays a draft.

    Raises:
        DeliveryError: no such push, it is not a draft (approved twice creates nothing), its
            content no longer matches its hash, or *check* found problems.
    """
    with db.begin() as session:
        push = session.get(Push, push_id, with_for_update=True)
        if push is None:
            raise DeliveryError(f"没有编号为 {push_id} 的推送 / no push {push_id}")
        if push.state is not PushState.DRAFT:
            raise DeliveryError(f"推送 {push_id} 已是“{push.state.value}”状态，不能再次批准")
        if push.content_hash != content_hash(
            push.kind, push.title, push.body, push.summary, push.url
        ):
            raise DeliveryError(f"推送 {push_id} 的内容与其指纹不符，请重新提交审核")
        problems = check(push) if check is not None else ()
        if problems:
            lines = "\n".join(f"  - {p}" for p in problems)
            raise DeliveryError(f"推送 {push_id} 不能批准，请先修改：\n{lines}")
        push.state, push.approved_at, push.approved_by = PushState.APPROVED, now, by
        rows = [queued_delivery(push_id, channel_id, now) for channel_id in push.channels]
        session.add_all(rows)
        session.flush()
        audit.append(
            session,
            at=now,
            actor=by,
            action="push.approved",
            subject=f"push:{push_id}",
            data={"hash": push.content_hash, "deliveries": [r.id for r in rows]},
        )
        return [r.id for r in rows]


def confirm_delivery(
    db: Database, delivery_id: int, *, sent: bool, by: str, now: datetime, note: str = ""
) -> DeliveryState:
    """Staff settle an ``unconfirmed`` delivery: it was published (→ sent) or it was not
    (→ queued again, the only way an unconfirmed delivery is ever resent)."""
    with db.begin() as session:
        row = session.get(Delivery, delivery_id, with_for_update=True)
        if row is None:
            raise DeliveryError(f"没有编号为 {delivery_id} 的投递 / no delivery {delivery_id}")
        if row.state is not DeliveryState.UNCONFIRMED:
            raise DeliveryError(f"投递 {delivery_id} 的状态是 {row.state.value}，无需确认")
        row.state = DeliveryState.SENT if sent else DeliveryState.QUEUED
        row.confirmed_by, row.updated_at = by, now
        if sent:
            row.sent_at = now
        else:
            row.next_attempt_at, row.claimed_until = now, None
        session.add(
            DeliveryAttempt(
                delivery_id=delivery_id,
                action="confirm",
                started_at=now,
                duration_ms=0.0,
                outcome="confirmed_sent" if sent else "confirmed_not_sent",
                message=f"{by}: {note}" if note else by,
                request={},
            )
        )
        audit.append(
            session,
            at=now,
            actor=by,
            action="delivery.confirmed",
            subject=f"delivery:{delivery_id}",
            data={"sent": sent, "note": note},
        )
        return row.state


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one :meth:`DeliveryEngine.deliver` or check did."""

    delivery_id: int
    state: DeliveryState | None  # None: nothing to do (not claimable, or unknown)
    detail: str = ""


NOT_CLAIMED = "not due or held by another worker"


@dataclass(frozen=True, slots=True)
class _Job:
    id: int
    channel_id: str
    key: str
    attempts: int
    parts_sent: int
    push_id: int | None
    external_id: str | None
    push: Push | None = None


@dataclass(frozen=True, slots=True)
class Claim:
    """A delivery this process holds (claimed at :attr:`at`, for the engine's lease), with
    its content: what :meth:`DeliveryEngine.send` takes."""

    job: _Job
    at: datetime


# -- the hot path's statements --------------------------------------------------------------
#
# A delivery is two short write transactions, the claim and the record. Their statements are
# Core, built once (no Session, no unit of work, no statement building per delivery), and on
# PostgreSQL each transaction is a single autocommitted statement: one round trip each.

_D = Delivery.__table__
_P = Push.__table__
_A = DeliveryAttempt.__table__
_PUSH_FIELDS = tuple(
    (attr.key, f"content_{column.name}")
    for attr in sa_inspect(Push).column_attrs
    for column in attr.columns
)
_JOB_COLUMNS = (
    "id",
    "channel_id",
    "idempotency_key",
    "attempts",
    "parts_sent",
    "push_id",
    "external_id",
)
_ATTEMPT_COLUMNS = (
    "delivery_id",
    "action",
    "started_at",
    "duration_ms",
    "outcome",
    "http_status",
    "platform_code",
    "message",
    "external_id",
    "url",
    "request",
)


def _claim_statements(dialect: Dialect) -> tuple[Prepared, ...]:
    """The claim, run in one transaction: the last statement reads the claimed row and its
    push; any before it must each change one row. PostgreSQL: one statement."""
    now = bindparam("now", type_=_D.c.updated_at.type)
    claim = (
        update(_D)
        .where(
            _D.c.id == bindparam("delivery_id", type_=_D.c.id.type),
            # Not IN (…): an expanding parameter is re-rendered on every execution.
            or_(_D.c.state == DeliveryState.QUEUED, _D.c.state == DeliveryState.RETRY_WAIT),
            or_(_D.c.next_attempt_at.is_(None), _D.c.next_attempt_at <= now),
            or_(_D.c.claimed_until.is_(None), _D.c.claimed_until < now),
        )
        .values(
            state=DeliveryState.SENDING,
            claimed_until=bindparam("lease", type_=_D.c.claimed_until.type),
            attempts=_D.c.attempts + 1,
            updated_at=now,
        )
    )
    push_columns = [c.label(f"content_{c.name}") for c in _P.c]  # see _PUSH_FIELDS
    if dialect.name == "postgresql":
        # UPDATE … RETURNING in a CTE, joined to the push: claimed and read in one statement.
        claimed = claim.returning(*(_D.c[name] for name in _JOB_COLUMNS)).cte("claimed")
        single = select(*(claimed.c[name] for name in _JOB_COLUMNS), *push_columns).select_from(
            claimed.outerjoin(_P, _P.c.id == claimed.c.push_id)
        )
        return (Prepared(single, dialect),)
    read = (
        select(*(_D.c[name] for name in _JOB_COLUMNS), *push_columns)
        .select_from(_D.outerjoin(_P, _P.c.id == _D.c.push_id))
        .where(_D.c.id == bindparam("delivery_id", type_=_D.c.id.type))
    )
    return (Prepared(claim, dialect), Prepared(read, dialect))


def _record_statements(dialect: Dialect, changed: tuple[str, ...]) -> tuple[Prepared, ...]:
    """The record, run in one transaction: update the row, log the attempt (PostgreSQL: one
    statement). Parameters: ``job_id``, ``set_<column>`` for each of *changed*, ``log_<column>``."""
    row = (
        update(_D)
        .where(_D.c.id == bindparam("job_id", type_=_D.c.id.type))
        .values({name: bindparam(f"set_{name}", type_=_D.c[name].type) for name in changed})
    )
    logged = [bindparam(f"log_{name}", type_=_A.c[name].type) for name in _ATTEMPT_COLUMNS]
    if dialect.name == "postgresql":
        # Recording need not wait for the disk: if this commit were lost in a crash, the row
        # would still be "sending" and become unconfirmed, never resent blindly. (The claim,
        # which prevents a second send, is committed durably.) set_config(…, true) is
        # SET LOCAL: it lasts until the end of this statement's own transaction.
        relaxed = select(func.set_config("synchronous_commit", "off", True).label("setting")).cte(
            "relaxed"
        )
        single = (
            insert(_A)
            .from_select(list(_ATTEMPT_COLUMNS), select(*logged).select_from(relaxed))
            .add_cte(row.cte("recorded"))
        )
        return (Prepared(single, dialect),)
    log_it = insert(_A).values(dict(zip(_ATTEMPT_COLUMNS, logged, strict=True)))
    return (Prepared(row, dialect), Prepared(log_it, dialect))


class DeliveryEngine:
    """Sends deliveries through the configured channels.

    Args:
        db: the database (the source of truth).
        channels: the channel instances by id (see :func:`syndicator.delivery.build_channels`).
        limiter: shared rate windows.
        now: the clock (UTC-aware datetimes).
        render: push × channel instance → the messages to publish (default :func:`plain_render`).
        lease_seconds: how long a claim holds; longer than any publish can take.
        max_attempts, backoff_base, backoff_cap: retries (exponential, ±20 % jitter).
        check_interval: seconds between status checks of a ``publishing`` delivery.
    """

    def __init__(
        self,
        db: Database,
        channels: Mapping[str, Channel],
        *,
        limiter: RateLimiter,
        now: Callable[[], datetime],
        render: Render = plain_render,
        lease_seconds: float = 300.0,
        max_attempts: int = 8,
        backoff_base: float = 10.0,
        backoff_cap: float = 3600.0,
        check_interval: float = 30.0,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self._db = db
        self.channels = dict(channels)
        self._limiter = limiter
        self._now = now
        self._render = render
        self._lease = timedelta(seconds=lease_seconds)
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_cap = backoff_cap
        self._check_interval = timedelta(seconds=check_interval)
        self._rand = rand
        self._claim_sql = _claim_statements(db.engine.dialect)
        self._record_sql: dict[tuple[str, ...], tuple[Prepared, ...]] = {}

    # -- claiming ---------------------------------------------------------------------------

    def _transaction(
        self, statements: Sequence[Prepared], params: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Run *statements* in one transaction (see :func:`run_transaction`): every one before
        the last must change one row (else nothing is committed and the answer is ``None``);
        the answer is the last one's first row, if it returns one.

        A pooled connection is not pinged when it was used moments ago (see
        :mod:`syndicator.db.session`); if the server dropped it meanwhile, the transaction
        runs once more on a new connection. Repeating is safe: a claim whose first run took
        effect finds the row held and claims nothing; a record sets the same values again (its
        attempt is logged twice only if the first commit landed just before the drop).
        """
        for attempt in (1, 2):
            try:
                # Not committed (a guard changed no row): no row either.
                return run_transaction(self._db.engine, statements, params)[1]
            except DBAPIError as exc:
                if attempt == 2 or not exc.connection_invalidated:
                    raise
                log.warning("database connection was dropped; running the statement again")
        raise AssertionError("unreachable")

    def _claim(self, delivery_id: int, now: datetime) -> _Job | None:
        params = {"delivery_id": delivery_id, "now": now, "lease": now + self._lease}
        # The content comes in the same transaction as the claim.
        row = self._transaction(self._claim_sql, params)
        if row is None:
            return None
        push = None
        if row["push_id"] is not None:
            push = Push(**{key: row[label] for key, label in _PUSH_FIELDS})
        return _Job(
            row["id"],
            row["channel_id"],
            row["idempotency_key"],
            row["attempts"],
            row["parts_sent"],
            row["push_id"],
            row["external_id"],
            push,
        )

    # -- sending ----------------------------------------------------------------------------

    async def deliver(self, delivery_id: int) -> Outcome:
        """Send one delivery if it is due and nobody else holds it: :meth:`claim`, then
        :meth:`send`."""
        claim = self.claim(delivery_id)
        if claim is None:
            return Outcome(delivery_id, None, NOT_CLAIMED)
        return await self.send(claim)

    def claim(self, delivery_id: int) -> Claim | None:
        """Take delivery *delivery_id* for this process if it is due and nobody holds it
        (``sending``, committed before anything is sent); ``None`` if not. Blocking: it may
        run on any thread, the :meth:`send` that follows on the event loop."""
        now = self._now()
        job = self._claim(delivery_id, now)
        return None if job is None else Claim(job, now)

    async def send(self, claim: Claim) -> Outcome:
        """Render, publish and record a delivery :meth:`claim` took."""
        job, now = claim.job, claim.at
        channel = self.channels.get(job.channel_id)
        if channel is None:
            return self._finish(
                job,
                DeliveryState.FAILED,
                "misconfigured",
                now,
                0.0,
                error=f"渠道 {job.channel_id} 未配置 / channel not configured",
            )
        wait = self._limiter.reserve(job.channel_id, channel.rate, now.timestamp())
        if wait > 0:
            return self._rate_wait(job, wait, now)
        push = job.push
        if push is None:
            return self._finish(
                job,
                DeliveryState.FAILED,
                "no_content",
                now,
                0.0,
                error="推送内容不存在 / push not found",
            )
        try:
            parts = self._render(push, channel)
        except Exception as exc:  # the content cannot be sent on this channel as it is
            return self._finish(
                job, DeliveryState.FAILED, "bad_content", now, 0.0, error=channel.redact(str(exc))
            )
        started = time.perf_counter()
        receipt: Receipt | None = None
        sent = job.parts_sent
        try:
            for index in range(job.parts_sent, len(parts)):
                key = job.key if len(parts) == 1 else f"{job.key}-{index + 1}"
                receipt = await channel.publish(parts[index], idempotency_key=key)
                sent = index + 1
                if len(parts) > 1 and index + 1 < len(parts):
                    self._progress(job.id, sent)
        except ChannelError as exc:
            return self._failure(job, channel, exc, now, started, sent)
        except Exception as exc:
            # Whatever went wrong, the request may have gone out: never resend blindly.
            log.exception("channel %s raised unexpectedly", job.channel_id)
            error = Unconfirmed(channel.redact(f"{type(exc).__name__}: {exc}"))
            return self._failure(job, channel, error, now, started, sent)
        elapsed = (time.perf_counter() - started) * 1000
        assert receipt is not None
        state = {
            "published": DeliveryState.SENT,
            "pending": DeliveryState.PUBLISHING,
            "failed": DeliveryState.FAILED,
        }[receipt.status]
        return self._finish(
            job,
            state,
            receipt.status,
            now,
            elapsed,
            receipt=receipt,
            channel=channel,
            parts_sent=sent,
        )

    def _failure(
        self,
        job: _Job,
        channel: Channel,
        exc: ChannelError,
        now: datetime,
        started: float,
        sent: int,
    ) -> Outcome:
        elapsed = (time.perf_counter() - started) * 1000
        error = channel.redact(str(exc))
        if isinstance(exc, Unconfirmed):
            state, outcome = DeliveryState.UNCONFIRMED, "unconfirmed"
        elif isinstance(exc, Retryable):
            if job.attempts >= self._max_attempts:
                state, outcome = DeliveryState.FAILED, "gave_up"
            else:
                state = DeliveryState.RETRY_WAIT
                outcome = "rate_limited" if isinstance(exc, RateLimited) else "retry"
        elif isinstance(exc, BadContent):
            state, outcome = DeliveryState.FAILED, "bad_content"
        elif isinstance(exc, Misconfigured):
            state, outcome = DeliveryState.FAILED, "misconfigured"
        else:  # AuthExpired after the adapter's own refresh, or another refusal
            if job.attempts >= self._max_attempts:
                state, outcome = DeliveryState.FAILED, "gave_up"
            else:
                state, outcome = DeliveryState.RETRY_WAIT, "retry"
        retry_after = exc.retry_after if isinstance(exc, Retryable) else None
        return self._finish(
            job,
            state,
            outcome,
            now,
            elapsed,
            error=error,
            exc=exc,
            channel=channel,
            retry_after=retry_after,
            parts_sent=sent,
        )

    def backoff(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds before the next attempt: the platform's word, else exponential with jitter."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self._backoff_cap)
        growth = 2.0 ** max(attempts - 1, 0)
        base = min(self._backoff_base * growth, self._backoff_cap)
        return float(base * (0.8 + 0.4 * self._rand()))

    def _rate_wait(self, job: _Job, wait: float, now: datetime) -> Outcome:
        with self._db.begin() as session:
            session.execute(
                update(Delivery)
                .where(Delivery.id == job.id)
                .values(
                    state=DeliveryState.RETRY_WAIT,
                    attempts=job.attempts - 1,  # not sent: the attempt does not count
                    next_attempt_at=now + timedelta(seconds=wait),
                    claimed_until=None,
                    updated_at=now,
                )
            )
            session.add(
                DeliveryAttempt(
                    delivery_id=job.id,
                    action="publish",
                    started_at=now,
                    duration_ms=0.0,
                    outcome="rate_wait",
                    message=f"渠道频率限制：{wait:.1f} 秒后发送",
                    request={},
                )
            )
        return Outcome(job.id, DeliveryState.RETRY_WAIT, f"rate limit: {wait:.1f} s")

    def _progress(self, delivery_id: int, sent: int) -> None:
        with self._db.begin() as session:
            session.execute(
                update(Delivery).where(Delivery.id == delivery_id).values(parts_sent=sent)
            )

    def _finish(
        self,
        job: _Job,
        state: DeliveryState,
        outcome: str,
        now: datetime,
        elapsed_ms: float,
        *,
        receipt: Receipt | None = None,
        error: str | None = None,
        exc: ChannelError | None = None,
        channel: Channel | None = None,
        retry_after: float | None = None,
        parts_sent: int | None = None,
        action: str = "publish",
    ) -> Outcome:
        done = self._now()
        values: dict[str, Any] = {"state": state, "claimed_until": None, "updated_at": done}
        if parts_sent is not None:
            values["parts_sent"] = parts_sent
        if state is DeliveryState.SENT:
            values["sent_at"] = done
        if state is DeliveryState.RETRY_WAIT:
            values["next_attempt_at"] = done + timedelta(
                seconds=self.backoff(job.attempts, retry_after)
            )
        elif state is DeliveryState.PUBLISHING:
            values["next_attempt_at"] = done + self._check_interval
        if receipt is not None:
            values["external_id"] = receipt.external_id or job.external_id
            values["url"] = receipt.url
            values["platform_code"] = _text(receipt.platform_code)
            values["last_error"] = receipt.detail if state is DeliveryState.FAILED else None
        if error is not None:
            values["last_error"] = error
            values["platform_code"] = _text(exc.platform_code) if exc is not None else None
        raw: Any = receipt.raw if receipt is not None else exc.raw if exc is not None else {}
        attempt = {
            "delivery_id": job.id,
            "action": action,
            "started_at": now,
            "duration_ms": elapsed_ms,
            "outcome": outcome,
            "http_status": exc.http_status if exc is not None else None,
            "platform_code": _text(
                receipt.platform_code
                if receipt is not None
                else exc.platform_code
                if exc is not None
                else None
            ),
            "message": error or (receipt.detail if receipt is not None else None),
            "external_id": receipt.external_id if receipt is not None else None,
            "url": receipt.url if receipt is not None else None,
            "request": {"response": channel.redact_data(dict(raw))} if channel and raw else {},
        }
        self._record(job.id, values, attempt)
        return Outcome(job.id, state, error or outcome)

    def _record(self, delivery_id: int, values: dict[str, Any], attempt: dict[str, Any]) -> None:
        """Set *values* on the delivery and log *attempt*, in one transaction."""
        changed = tuple(sorted(values))
        sql = self._record_sql.get(changed)
        if sql is None:
            sql = self._record_sql[changed] = _record_statements(self._db.engine.dialect, changed)
        params: dict[str, Any] = {"job_id": delivery_id}
        params.update({f"set_{name}": value for name, value in values.items()})
        params.update({f"log_{name}": value for name, value in attempt.items()})
        self._transaction(sql, params)

    # -- sweeping and reconciling -----------------------------------------------------------

    def sweep(self) -> list[int]:
        """Repair what lost messages and dead workers left; return the ids due for sending.

        A ``sending`` row whose lease ran out is ``unconfirmed`` (queued again only when the
        platform drops repeats of its key); rows due (``queued``/``retry_wait`` past
        ``next_attempt_at``, no live lease) are returned to be enqueued.
        """
        now = self._now()
        with self._db.begin() as session:
            stale = session.scalars(
                select(Delivery).where(
                    Delivery.state == DeliveryState.SENDING, Delivery.claimed_until < now
                )
            ).all()
            for row in stale:
                channel = self.channels.get(row.channel_id)
                again = channel is not None and type(channel).idempotent
                row.state = DeliveryState.QUEUED if again else DeliveryState.UNCONFIRMED
                row.claimed_until, row.updated_at = None, now
                row.next_attempt_at = now
                note = (
                    "发送中断（进程终止）；平台会丢弃重复请求，已重新排队"
                    if again
                    else "发送中断（进程终止），结果未知：不会自动重发，请核实"
                )
                row.last_error = note
                session.add(
                    DeliveryAttempt(
                        delivery_id=row.id,
                        action="sweep",
                        started_at=now,
                        duration_ms=0.0,
                        outcome="requeued" if again else "unconfirmed",
                        message=note,
                        request={},
                    )
                )
            due = session.scalars(
                select(Delivery.id)
                .where(
                    Delivery.state.in_((DeliveryState.QUEUED, DeliveryState.RETRY_WAIT)),
                    or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
                    or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
                )
                .order_by(Delivery.next_attempt_at, Delivery.id)
            ).all()
        return list(due)

    def to_check(self) -> list[int]:
        """Deliveries whose outcome the platform can tell: publishing, or unconfirmed with an
        id, on a channel that can check."""
        now = self._now()
        with self._db.session() as session:
            rows = session.execute(
                select(Delivery.id, Delivery.channel_id).where(
                    or_(
                        and_(
                            Delivery.state == DeliveryState.PUBLISHING,
                            or_(
                                Delivery.next_attempt_at.is_(None),
                                Delivery.next_attempt_at <= now,
                            ),
                        ),
                        and_(
                            Delivery.state == DeliveryState.UNCONFIRMED,
                            Delivery.external_id.is_not(None),
                        ),
                    )
                )
            ).all()
        return [
            i
            for i, channel_id in rows
            if (c := self.channels.get(channel_id)) and Capability.STATUS in c.capabilities
        ]

    async def check(self, delivery_id: int) -> Outcome:
        """Ask the platform about a publishing (or unconfirmed, with an id) delivery."""
        now = self._now()
        with self._db.begin() as session:
            row = session.get(Delivery, delivery_id, with_for_update=True)
            if row is None or row.external_id is None:
                return Outcome(delivery_id, None, "nothing to check")
            if row.state not in (DeliveryState.PUBLISHING, DeliveryState.UNCONFIRMED):
                return Outcome(delivery_id, None, "nothing to check")
            job = _Job(
                row.id,
                row.channel_id,
                row.idempotency_key,
                row.attempts,
                row.parts_sent,
                row.push_id,
                row.external_id,
            )
            previous = row.state
        channel = self.channels.get(job.channel_id)
        if channel is None:
            return Outcome(delivery_id, None, "channel not configured")
        started = time.perf_counter()
        try:
            receipt = await channel.check(Receipt(status="pending", external_id=job.external_id))
        except ChannelError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            # A failed check changes nothing: the state stays, the attempt is logged.
            return self._finish(
                job,
                previous,
                "check_failed",
                now,
                elapsed,
                error=channel.redact(str(exc)),
                exc=exc,
                channel=channel,
                action="check",
            )
        elapsed = (time.perf_counter() - started) * 1000
        state = {
            "published": DeliveryState.SENT,
            "pending": DeliveryState.PUBLISHING,
            "failed": DeliveryState.FAILED,
        }[receipt.status]
        return self._finish(
            job,
            state,
            receipt.status,
            now,
            elapsed,
            receipt=receipt,
            channel=channel,
            action="check",
        )


def _text(value: object) -> str | None:
    return None if value is None else str(value)

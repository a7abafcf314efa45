"""Delivering notices: pending :class:`~syndicator.db.models.Notice` rows to configured targets.

:class:`Notifier` claims due notices, sends each to every :class:`Target` that accepts it and has
not had it yet, and records each target's outcome in ``Notice.deliveries``. Delivery is at least
once: a target that succeeded is never sent the notice again by this code, but a dispatcher that
dies between sending and recording, or outlives its claim lease, may send it twice. Webhook
receivers drop such duplicates by ``X-Syndicator-Delivery``.

Targets (``[[notify.targets]]`` in ``syndicator.toml``, see docs/configuration.md):

* :class:`ConsoleTarget` writes a zh-CN line or a few to a stream or callable;
* :class:`LogTarget` logs to ``syndicator.notice`` (WARNING for breaches and the like, else INFO);
* :class:`WebhookTarget` POSTs signed JSON;
* :class:`ChannelTarget` hands the notice to the delivery engine for one of the ``[[channels]]``
  (a WeCom/DingTalk/Feishu robot, Telegram, email …): an approved ``notice`` push whose delivery
  has the engine's retries, rate limits and log (:mod:`syndicator.delivery.notices`). For such a
  target ``sent`` means "in the outbox"; ``syndicator deliveries list`` shows how it went.

A target reports failure by raising::

    DeliveryError             retryable, retry_after (seconds), http_status
    ├── TargetUnavailable     timeout, refused or dropped connection (retryable)
    ├── RateLimited           HTTP 429 (retryable; retry_after from Retry-After)
    └── Rejected              3xx or 4xx other than 408/429: the request is wrong (permanent)

HTTP 408 and 5xx are plain retryable :class:`DeliveryError`. After a :class:`TargetUnavailable` or
:class:`RateLimited`, the rest of the notices in the same dispatch skip that target (recorded as
``retry`` without an attempt), so one dead receiver costs one timeout per dispatch, not one per
notice.

Webhook signature
-----------------

Each request carries::

    X-Syndicator-Timestamp: 1704457800
    X-Syndicator-Signature: sha256=<hex>

where ``<hex>`` is ``HMAC-SHA256(key=secret, msg=b"<timestamp>." + raw body)``; the key is the
UTF-8 bytes of the value of the variable ``secret_env`` names. A receiver recomputes it over the
raw body bytes (before parsing JSON), compares with :func:`hmac.compare_digest`, and rejects
timestamps more than 300 s from its own clock, which stops replays. The timestamp is the sending
machine's wall clock at each attempt; ``X-Syndicator-Delivery: notice-<id>`` stays the same on
every retry, so a receiver keeps the ids it has seen and drops repeats.
"""

from __future__ import annotations

import copy
import email.utils
import hashlib
import hmac
import json
import logging
import random
import sys
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import IO, Any, ClassVar, Self

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from syndicator import audit
from syndicator.clock import SHANGHAI, format_local
from syndicator.db.models import Notice, NoticeKind, NoticeStatus, Site
from syndicator.db.session import Database
from syndicator.delivery.notices import submit_notice
from syndicator.labels import NOTICE_KIND_ZH
from syndicator.settings import NotifyTargetSettings, Secret, Settings, mask_url

__all__ = [
    "NOTICE_LOGGER",
    "UNROUTED",
    "WARNING_KINDS",
    "ChannelTarget",
    "ConsoleTarget",
    "DeliveryError",
    "DispatchReport",
    "LogTarget",
    "NoticeMessage",
    "Notifier",
    "Outbox",
    "RateLimited",
    "Rejected",
    "Route",
    "Target",
    "TargetUnavailable",
    "WebhookTarget",
    "backoff_delay",
    "claim_due_notices",
    "encode_payload",
    "headline",
    "notice_text",
    "sign",
    "site_ancestry",
]

log = logging.getLogger(__name__)

NOTICE_LOGGER = "syndicator.notice"
"""The logger :class:`LogTarget` writes notices to (``syndicator.notify`` logs delivery itself)."""

WARNING_KINDS = frozenset(
    {NoticeKind.BREACH, NoticeKind.UNKNOWN, NoticeKind.UNCHECKED, NoticeKind.STALE}
)
"""Kinds :class:`LogTarget` logs at WARNING; the rest at INFO."""

UNROUTED = "_unrouted"
"""``deliveries`` key recording that no target accepted the notice (target ids cannot start
with ``_``)."""

_ACTOR = "system:notify"
_ERROR_CHARS = 300


# -- messages and routing --------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class NoticeMessage:
    """What a target gets: a copy of one notice, detached from the database.

    Attributes:
        id: the notice id.
        kind: the notice kind.
        title: one line, zh-CN.
        body: the details, zh-CN, possibly several lines.
        site_id: the site the notice is about, if any.
        site_name: that site's name, if known.
        created_at: when the notice was raised, aware UTC.
        data: the notice's structured details (a copy).
    """

    id: int
    kind: NoticeKind
    title: str
    body: str
    site_id: str | None
    site_name: str | None
    created_at: datetime
    data: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_notice(cls, notice: Notice, *, site_name: str | None = None) -> NoticeMessage:
        """Copy the fields of a :class:`Notice` row; *site_name* is looked up by the caller."""
        return cls(
            id=notice.id,
            kind=NoticeKind(notice.kind),
            title=notice.title,
            body=notice.body,
            site_id=notice.site_id,
            site_name=site_name,
            created_at=notice.created_at.astimezone(UTC),
            data=copy.deepcopy(dict(notice.data or {})),
        )

    @property
    def kind_zh(self) -> str:
        """The kind as staff read it (``超时``, ``每日汇总`` …)."""
        return NOTICE_KIND_ZH.get(self.kind, self.kind.value)

    @property
    def delivery_id(self) -> str:
        """The idempotency key: the same on every attempt to deliver this notice."""
        return f"notice-{self.id}"

    def to_json(self) -> dict[str, Any]:
        """The webhook payload as a JSON-ready dict."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "kind_zh": self.kind_zh,
            "title": self.title,
            "body": self.body,
            "site_id": self.site_id,
            "site_name": self.site_name,
            "created_at": self.created_at.astimezone(UTC).isoformat(),
            "created_at_local": self.created_at.astimezone(SHANGHAI).isoformat(),
            "data": dict(self.data),
        }


def headline(message: NoticeMessage) -> str:
    """One zh-CN line: ``[超时] 2024-01-05 20:30 赣州市人民政府：<title>`` (Asia/Shanghai)."""
    where = message.site_name or message.site_id
    subject = f"{where}：{message.title}" if where else message.title
    return f"[{message.kind_zh}] {format_local(message.created_at)} {subject}"


def encode_payload(message: NoticeMessage) -> bytes:
    """The exact webhook body: compact UTF-8 JSON of :meth:`NoticeMessage.to_json`."""
    return json.dumps(
        message.to_json(), ensure_ascii=False, separators=(",", ":"), default=str
    ).encode("utf-8")


def site_ancestry(site_id: str | None, parents: Mapping[str, str | None]) -> tuple[str, ...]:
    """*site_id* followed by its parent, grandparent … up to the root; empty without a site.

    A site missing from *parents* ends the chain there; a cycle in the data ends it too.
    """
    chain: list[str] = []
    current = site_id
    while current is not None and current not in chain:
        chain.append(current)
        current = parents.get(current)
    return tuple(chain)


@dataclass(frozen=True, kw_only=True, slots=True)
class Route:
    """Which notices a target takes. ``None`` means every kind / every site.

    ``sites`` matches a site and any site below it. A notice about no site matches only when
    ``sites`` is ``None``.
    """

    kinds: frozenset[NoticeKind] | None = None
    sites: frozenset[str] | None = None

    @classmethod
    def of(cls, *, kinds: Iterable[str] | None = None, sites: Iterable[str] | None = None) -> Route:
        """Build from plain names (as in the settings)."""
        return cls(
            kinds=None if kinds is None else frozenset(NoticeKind(k) for k in kinds),
            sites=None if sites is None else frozenset(sites),
        )

    def matches(self, kind: NoticeKind, site_ancestry: Sequence[str]) -> bool:
        """True when *kind* is routed here and the site (or an ancestor) is one of ``sites``."""
        if self.kinds is not None and kind not in self.kinds:
            return False
        if self.sites is None:
            return True
        return any(site in self.sites for site in site_ancestry)


# -- errors ------------------------------------------------------------------------------------


class DeliveryError(Exception):
    """A target could not deliver a message.

    Args:
        message: what went wrong, zh-CN first; stored in ``deliveries`` and shown to staff, so it
            must never contain a secret.
        retryable: whether a later attempt may succeed.
        retry_after: seconds the receiver asked us to wait, if it said.
        http_status: the HTTP status, for HTTP targets.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.http_status = http_status


class TargetUnavailable(DeliveryError):
    """The target could not be reached: timeout, connection refused or dropped (retryable)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retryable=True)


class RateLimited(DeliveryError):
    """HTTP 429: retryable, after ``retry_after`` seconds when the receiver said."""

    def __init__(self, message: str, *, retry_after: float | None) -> None:
        super().__init__(message, retryable=True, retry_after=retry_after, http_status=429)


class Rejected(DeliveryError):
    """The receiver refused the request itself (4xx, 3xx): retrying cannot help."""

    def __init__(self, message: str, *, http_status: int | None = None) -> None:
        super().__init__(message, retryable=False, http_status=http_status)


# -- targets -----------------------------------------------------------------------------------


class Target(ABC):
    """Where notices go. Subclasses set ``kind`` and implement :meth:`send`.

    Args:
        id: unique among the configured targets; the key in ``Notice.deliveries``.
        route: which notices this target takes (default: all).
    """

    kind: ClassVar[str]

    def __init__(self, id: str, *, route: Route | None = None) -> None:
        self.id = id
        self.route = route or Route()

    def accepts(self, notice: NoticeMessage, site_ancestry: Sequence[str]) -> bool:
        """Whether *notice* is routed here.

        Args:
            notice: the message.
            site_ancestry: the notice's site followed by its ancestors (:func:`site_ancestry`);
                empty for a notice about no site.
        """
        return self.route.matches(notice.kind, site_ancestry)

    @abstractmethod
    def send(self, message: NoticeMessage) -> None:
        """Deliver *message* once, or raise.

        Must not touch the database (but :class:`ChannelTarget`, whose delivery *is* a row in
        the outbox). Returning means delivered.

        Raises:
            DeliveryError: with ``retryable`` and ``retry_after`` set as the failure warrants.
        """

    def redact(self, text: str) -> str:
        """*text* with this target's secrets masked; applied to every error stored or logged."""
        return text

    def close(self) -> None:  # noqa: B027 - optional hook; most targets hold nothing
        """Release what the target holds (HTTP connections)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(id={self.id!r})"


class ConsoleTarget(Target):
    """Writes the headline and the body lines (indented) to a stream or a callable.

    Args:
        id: the target id.
        out: a text stream (each line written with ``\\n``) or a callable taking one line,
            e.g. ``typer.echo``; ``None`` writes to ``sys.stdout`` as it is at send time.
        route: which notices this target takes.
    """

    kind = "console"

    def __init__(
        self,
        id: str = "console",
        *,
        out: IO[str] | Callable[[str], object] | None = None,
        route: Route | None = None,
    ) -> None:
        super().__init__(id, route=route)
        self._out = out

    @staticmethod
    def lines(message: NoticeMessage) -> list[str]:
        """What :meth:`send` writes: the headline, then each body line indented by two spaces."""
        body = [f"  {line}" for line in message.body.splitlines() if line.strip()]
        return [headline(message), *body]

    def send(self, message: NoticeMessage) -> None:
        out = self._out if self._out is not None else sys.stdout
        try:
            if callable(out):
                for line in self.lines(message):
                    out(line)
            else:
                out.write("".join(f"{line}\n" for line in self.lines(message)))
                out.flush()
        except OSError as exc:
            raise TargetUnavailable(f"无法写出 / cannot write: {exc}") from exc


class LogTarget(Target):
    """Logs one line per notice to ``syndicator.notice``: WARNING for :data:`WARNING_KINDS`.

    The record carries ``notice_id``, ``notice_kind`` and ``site_id`` as extra attributes.

    Args:
        id: the target id.
        logger: where to log; default ``logging.getLogger("syndicator.notice")``.
        route: which notices this target takes.
    """

    kind = "log"

    def __init__(
        self, id: str = "log", *, logger: logging.Logger | None = None, route: Route | None = None
    ) -> None:
        super().__init__(id, route=route)
        self._logger = logger or logging.getLogger(NOTICE_LOGGER)

    def send(self, message: NoticeMessage) -> None:
        level = logging.WARNING if message.kind in WARNING_KINDS else logging.INFO
        body = " ".join(message.body.split())
        self._logger.log(
            level,
            "%s",
            f"{headline(message)}｜{body}" if body else headline(message),
            extra={
                "notice_id": message.id,
                "notice_kind": message.kind.value,
                "site_id": message.site_id,
            },
        )


@dataclass(frozen=True, slots=True)
class Outbox:
    """What ``channel`` targets need: the database, the clock, and *submitted*, called with
    each new delivery's id to enqueue it now (else the sweeper hands it out within
    ``scheduler.sweep_seconds``)."""

    db: Database
    now: Callable[[], datetime]
    submitted: Callable[[int], object] | None = None


def notice_text(message: NoticeMessage) -> tuple[str, str]:
    """The title and body a channel gets for *message* (zh-CN, times in Asia/Shanghai)."""
    where = message.site_name or message.site_id
    lines = [f"类别：{message.kind_zh}"]
    if where:
        lines.append(f"单位：{where}")
    lines.append(f"时间：{format_local(message.created_at)}（北京时间）")
    lines.extend(line for line in message.body.splitlines() if line.strip())
    return f"{message.kind_zh}｜{message.title}", "\n".join(lines)


class ChannelTarget(Target):
    """Puts the notice in the delivery outbox for the channel instance *channel*.

    Args:
        id: the target id.
        channel: the ``[[channels]]`` id the notice goes to.
        outbox: the database, clock and enqueue hook (see :class:`Outbox`).
        route: which notices this target takes.
    """

    kind = "channel"

    def __init__(
        self, id: str, *, channel: str, outbox: Outbox, route: Route | None = None
    ) -> None:
        super().__init__(id, route=route)
        self.channel = channel
        self._outbox = outbox

    def send(self, message: NoticeMessage) -> None:
        title, body = notice_text(message)
        outbox = self._outbox
        try:
            delivery_id, created = submit_notice(
                outbox.db,
                notice_id=message.id,
                target_id=self.id,
                channel_id=self.channel,
                title=title,
                body=body,
                now=outbox.now(),
            )
        except SQLAlchemyError as exc:
            raise DeliveryError(
                f"无法写入投递队列 / cannot queue the delivery: {type(exc).__name__}",
                retryable=True,
            ) from exc
        if created and outbox.submitted is not None:
            try:
                outbox.submitted(delivery_id)
            except Exception:  # the row is in the outbox: the sweeper sends it anyway
                log.warning(
                    "通知 %d 的投递 %d 未能立即排队，将由清扫任务发送", message.id, delivery_id
                )

    def __repr__(self) -> str:
        return f"ChannelTarget(id={self.id!r}, channel={self.channel!r})"


def sign(secret: str | Secret, timestamp: int, body: bytes) -> str:
    """The ``X-Syndicator-Signature`` value.

    Returns:
        ``"sha256=" + hex(HMAC-SHA256(key=secret, msg=b"<timestamp>." + body))``.
    """
    key = (secret.reveal() if isinstance(secret, Secret) else secret).encode("utf-8")
    digest = hmac.new(key, f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


class WebhookTarget(Target):
    """POSTs each notice as signed JSON (the scheme is in the module docstring).

    Args:
        id: the target id.
        url: an absolute http(s) URL.
        secret: the HMAC key.
        timeout: seconds for each of connect, write and read.
        client: an :class:`httpx.Client` to use (not closed by :meth:`close`); by default the
            target builds and owns one.
        user_agent: the ``User-Agent`` header.
        route: which notices this target takes.
        clock: wall-clock seconds for ``X-Syndicator-Timestamp`` (tests fix it).
    """

    kind = "webhook"

    def __init__(
        self,
        id: str,
        *,
        url: str,
        secret: Secret | str,
        timeout: float = 10.0,
        client: httpx.Client | None = None,
        user_agent: str = "syndicator/0.1",
        route: Route | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(id, route=route)
        self.url = url
        self.timeout = timeout
        self._secret = secret if isinstance(secret, Secret) else Secret(secret)
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout)
        self._user_agent = user_agent
        self._clock = clock

    def request_headers(
        self, message: NoticeMessage, body: bytes, timestamp: int
    ) -> dict[str, str]:
        """The headers of one attempt (the signature covers *timestamp* and *body*)."""
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": self._user_agent,
            "X-Syndicator-Event": f"notice.{message.kind.value}",
            "X-Syndicator-Delivery": message.delivery_id,
            "X-Syndicator-Timestamp": str(timestamp),
            "X-Syndicator-Signature": sign(self._secret, timestamp, body),
        }

    def send(self, message: NoticeMessage) -> None:
        body = encode_payload(message)
        timestamp = int(self._clock())
        try:
            response = self._client.post(
                self.url,
                content=body,
                headers=self.request_headers(message, body, timestamp),
                timeout=self.timeout,
                follow_redirects=False,
            )
        except httpx.TimeoutException as exc:
            raise TargetUnavailable(f"请求超时 / timed out ({type(exc).__name__})") from exc
        except httpx.HTTPError as exc:
            detail = self.redact(str(exc)) or type(exc).__name__
            raise TargetUnavailable(
                f"连接失败 / connection failed ({type(exc).__name__}: {detail})"
            ) from exc
        status = response.status_code
        if 200 <= status < 300:
            return
        said = self.redact(" ".join(response.text.split()))[:200]
        detail = f"HTTP {status}" + (f": {said}" if said else "")
        retry_after = _retry_after(response.headers.get("Retry-After"), self._clock())
        if status == 429:
            raise RateLimited(f"请求过多 / rate limited, {detail}", retry_after=retry_after)
        if status >= 500 or status == 408:
            raise DeliveryError(
                f"接收方出错 / receiver error, {detail}",
                retryable=True,
                retry_after=retry_after,
                http_status=status,
            )
        raise Rejected(f"接收方拒绝 / rejected, {detail}", http_status=status)

    def redact(self, text: str) -> str:
        secret = self._secret.reveal()
        return text.replace(secret, "***") if secret else text

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __repr__(self) -> str:
        return f"WebhookTarget(id={self.id!r}, url={mask_url(self.url)!r}, secret='***')"


# -- dispatch ----------------------------------------------------------------------------------


def backoff_delay(
    attempts: int,
    *,
    base: float = 30.0,
    cap: float = 3600.0,
    jitter: float = 0.2,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds to wait after the *attempts*-th failed attempt.

    ``base × 2^(attempts − 1)``, capped at *cap*, then shortened by up to ``jitter × 100`` % at
    random so notices that failed together do not all retry in the same second.
    """
    raw = min(cap, base * 2.0 ** min(max(attempts - 1, 0), 60))
    return raw * (1.0 - jitter * rand())


def claim_due_notices(db: Database, *, now: datetime, limit: int, lease_seconds: int) -> list[int]:
    """Return up to *limit* due pending notice ids, most overdue first, and lease them.

    A leased notice is not handed out again until its outcome is stored (which clears the lease)
    or the lease runs out. On PostgreSQL rows locked by another claimer are skipped.
    """
    with db.begin() as session:
        return _claim(session, db.dialect, now, limit, now + timedelta(seconds=lease_seconds))


def _claim(session: Session, dialect: str, now: datetime, limit: int, until: datetime) -> list[int]:
    query = (
        select(Notice.id)
        .where(
            Notice.status == NoticeStatus.PENDING,
            or_(Notice.next_attempt_at.is_(None), Notice.next_attempt_at <= now),
            or_(Notice.claimed_until.is_(None), Notice.claimed_until < now),
        )
        .order_by(Notice.next_attempt_at.asc().nulls_first(), Notice.id)
        .limit(limit)
    )
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = [int(i) for i in session.scalars(query)]
    if ids:
        session.execute(update(Notice).where(Notice.id.in_(ids)).values(claimed_until=until))
    return ids


@dataclass(frozen=True, kw_only=True, slots=True)
class DispatchReport:
    """What one :meth:`Notifier.dispatch` did.

    Attributes:
        claimed: notices claimed.
        sent: notices now delivered to every target they are routed to.
        failed: notices given up on in this dispatch.
        pending: notices left to retry.
        delivered: successful sends (notice × target).
        errors: failed sends.
    """

    claimed: int = 0
    sent: int = 0
    failed: int = 0
    pending: int = 0
    delivered: int = 0
    errors: int = 0


@dataclass(slots=True)
class _Claimed:
    message: NoticeMessage
    ancestry: tuple[str, ...]
    deliveries: dict[str, Any]


@dataclass(slots=True)
class _Trip:
    error: str
    next_at: datetime


def _iso(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()


def _parse(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Notifier:
    """Delivers pending notices to targets, with retries and per-target bookkeeping.

    Args:
        targets: where notices go; ids must be unique.
        max_attempts: attempts per target before giving up on it.
        backoff_base: seconds before the first retry (see :func:`backoff_delay`).
        backoff_cap: the longest wait, also for Retry-After.
        claim_lease_seconds: how long a claim holds.
        rand: ``random.random`` by default; tests pass ``lambda: 0.0`` for exact times.
    """

    def __init__(
        self,
        targets: Sequence[Target],
        *,
        max_attempts: int = 8,
        backoff_base: float = 30.0,
        backoff_cap: float = 3600.0,
        claim_lease_seconds: int = 300,
        rand: Callable[[], float] | None = None,
    ) -> None:
        ids = [t.id for t in targets]
        if len(set(ids)) != len(ids):
            raise ValueError(f"target ids must be unique: {ids}")
        if any(i.startswith("_") for i in ids):
            raise ValueError("target ids must not start with '_'")
        self.targets: tuple[Target, ...] = tuple(targets)
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.claim_lease_seconds = claim_lease_seconds
        self._rand = rand or random.Random().random

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        console: IO[str] | Callable[[str], object] | None = None,
        http_client: httpx.Client | None = None,
        rand: Callable[[], float] | None = None,
        outbox: Outbox | None = None,
    ) -> Notifier:
        """Build the targets ``settings.notify`` lists.

        Args:
            settings: the loaded settings.
            console: where console targets write (default ``sys.stdout``).
            http_client: shared by every webhook target and not closed by :meth:`close`; by
                default each webhook target has its own.
            rand: see the class.
            outbox: the delivery outbox, required by ``channel`` targets.

        Raises:
            ValueError: a ``channel`` target without *outbox*.
        """
        notify = settings.notify
        targets = [
            _target(
                t,
                console=console,
                client=http_client,
                user_agent=settings.fetch.user_agent,
                outbox=outbox,
            )
            for t in notify.targets
        ]
        return cls(
            targets,
            max_attempts=notify.max_attempts,
            backoff_base=notify.backoff_base,
            backoff_cap=notify.backoff_cap,
            claim_lease_seconds=notify.claim_lease_seconds,
            rand=rand,
        )

    def close(self) -> None:
        """Close every target (their own HTTP clients)."""
        for target in self.targets:
            target.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Notifier(targets={list(self.targets)!r}, max_attempts={self.max_attempts})"

    def retry_delay(self, attempts: int, retry_after: float | None) -> float:
        """Seconds until the next attempt: the receiver's Retry-After if given, else backoff."""
        if retry_after is not None:
            return min(self.backoff_cap, max(0.0, retry_after))
        return backoff_delay(
            attempts, base=self.backoff_base, cap=self.backoff_cap, rand=self._rand
        )

    def dispatch(self, db: Database, now: datetime, *, limit: int = 100) -> DispatchReport:
        """Claim due notices, deliver them, and store each outcome.

        The claim is one short transaction; sends happen outside any transaction; each notice's
        outcome is then stored in a short transaction of its own, so a failing or slow target
        holds up neither the database nor the other notices' bookkeeping.

        Args:
            db: the database.
            now: the dispatch time (aware); stored times and backoff count from it.
            limit: the most notices claimed in this call.

        Raises:
            ValueError: *now* is naive.
        """
        if now.tzinfo is None:
            raise ValueError("dispatch needs a timezone-aware now")
        until = now + timedelta(seconds=self.claim_lease_seconds)
        claimed = self._load(db, now, limit, until)
        tripped: dict[str, _Trip] = {}
        counts = {"sent": 0, "failed": 0, "pending": 0, "delivered": 0, "errors": 0}
        for item in claimed:
            routed = [t for t in self.targets if t.accepts(item.message, item.ancestry)]
            updates, attempted = self._send(item, routed, now, tripped, counts)
            status = self._record(db, item, [t.id for t in routed], updates, attempted, now, until)
            if status is not None:
                counts[status.value] += 1
        return DispatchReport(claimed=len(claimed), **counts)

    def _load(self, db: Database, now: datetime, limit: int, until: datetime) -> list[_Claimed]:
        with db.begin() as session:
            ids = _claim(session, db.dialect, now, limit, until)
            if not ids:
                return []
            sites = {
                sid: (parent, name)
                for sid, parent, name in session.execute(select(Site.id, Site.parent_id, Site.name))
            }
            parents = {sid: parent for sid, (parent, _) in sites.items()}
            rows = session.scalars(select(Notice).where(Notice.id.in_(ids)).order_by(Notice.id))
            by_id = {
                row.id: _Claimed(
                    message=NoticeMessage.from_notice(
                        row, site_name=sites[row.site_id][1] if row.site_id in sites else None
                    ),
                    ancestry=site_ancestry(row.site_id, parents),
                    deliveries=copy.deepcopy(dict(row.deliveries or {})),
                )
                for row in rows
            }
        return [by_id[i] for i in ids if i in by_id]

    def _send(
        self,
        item: _Claimed,
        routed: Sequence[Target],
        now: datetime,
        tripped: dict[str, _Trip],
        counts: dict[str, int],
    ) -> tuple[dict[str, dict[str, Any]], bool]:
        updates: dict[str, dict[str, Any]] = {}
        attempted = False
        message = item.message
        for target in routed:
            previous = item.deliveries.get(target.id)
            previous = previous if isinstance(previous, dict) else {}
            if previous.get("status") in ("sent", "failed"):
                continue
            due = _parse(previous.get("next_at"))
            if due is not None and due > now:
                continue
            attempts = int(previous.get("attempts", 0))
            trip = tripped.get(target.id)
            if trip is not None:
                updates[target.id] = {
                    "status": "retry",
                    "at": _iso(now),
                    "attempts": attempts,
                    "error": f"本轮未发送 / not tried this run: {trip.error}",
                    "next_at": _iso(trip.next_at),
                }
                continue
            attempted = True
            attempts += 1
            try:
                target.send(message)
            except DeliveryError as exc:
                error: DeliveryError = exc
            except Exception as exc:
                # Redacted by hand: a plain log.exception would print the message unmasked.
                trace = target.redact("".join(traceback.format_exception(exc)))
                log.error(
                    "通知目标 %s 出现异常 / target %s raised:\n%s", target.id, target.id, trace
                )
                error = DeliveryError(
                    f"目标异常 / target raised {type(exc).__name__}: {target.redact(str(exc))}",
                    retryable=True,
                )
            else:
                counts["delivered"] += 1
                updates[target.id] = {"status": "sent", "at": _iso(now), "attempts": attempts}
                continue
            counts["errors"] += 1
            text = target.redact(str(error))[:_ERROR_CHARS]
            entry: dict[str, Any] = {"at": _iso(now), "attempts": attempts, "error": text}
            if error.http_status is not None:
                entry["http_status"] = error.http_status
            if error.retryable and attempts < self.max_attempts:
                next_at = now + timedelta(seconds=self.retry_delay(attempts, error.retry_after))
                entry.update(status="retry", next_at=_iso(next_at))
                if isinstance(error, TargetUnavailable | RateLimited):
                    tripped[target.id] = _Trip(text, next_at)
            else:
                entry["status"] = "failed"
            updates[target.id] = entry
            log.warning(
                "通知 %d 发送到 %s 失败（第 %d 次，%s）：%s",
                message.id,
                target.id,
                attempts,
                "稍后重试 / will retry" if entry["status"] == "retry" else "放弃 / giving up",
                text,
            )
        return updates, attempted

    def _record(
        self,
        db: Database,
        item: _Claimed,
        routed: Sequence[str],
        updates: Mapping[str, dict[str, Any]],
        attempted: bool,
        now: datetime,
        until: datetime,
    ) -> NoticeStatus | None:
        with db.begin() as session:
            query = select(Notice).where(Notice.id == item.message.id)
            if db.dialect == "postgresql":
                query = query.with_for_update()
            row = session.scalar(query)
            if row is None:
                return None
            # Re-read under the lock: another dispatcher may have recorded since the claim
            # (an expired lease), and a "sent" must never be overwritten.
            merged: dict[str, Any] = copy.deepcopy(dict(row.deliveries or {}))
            for target_id, entry in updates.items():
                current = merged.get(target_id)
                if isinstance(current, dict) and current.get("status") == "sent":
                    continue
                merged[target_id] = entry
            if not routed:
                merged[UNROUTED] = {"status": "unrouted", "at": _iso(now)}
            states = {t: (merged.get(t) or {}).get("status") for t in routed}
            remaining = [t for t, s in states.items() if s not in ("sent", "failed")]
            before = row.status
            if remaining:
                status = NoticeStatus.PENDING
                times = [_parse((merged.get(t) or {}).get("next_at")) for t in remaining]
                row.next_attempt_at = min((t for t in times if t is not None), default=now)
            elif "failed" in states.values():
                status = NoticeStatus.FAILED
                row.next_attempt_at = None
            else:
                status = NoticeStatus.SENT
                row.next_attempt_at = None
                row.sent_at = row.sent_at or now
            row.status = status
            row.deliveries = merged
            if attempted:
                row.attempts = (row.attempts or 0) + 1
            if row.claimed_until == until:
                row.claimed_until = None
            if status is NoticeStatus.FAILED and before is not NoticeStatus.FAILED:
                audit.append(
                    session,
                    at=now,
                    actor=_ACTOR,
                    action="notice.failed",
                    subject=f"notice:{row.id}",
                    data={
                        "kind": row.kind.value,
                        "site_id": row.site_id,
                        "targets": {
                            t: {
                                k: v
                                for k, v in (merged.get(t) or {}).items()
                                if k in ("status", "attempts", "error", "http_status")
                            }
                            for t in routed
                        },
                    },
                )
            return status


def _target(
    config: NotifyTargetSettings,
    *,
    console: IO[str] | Callable[[str], object] | None,
    client: httpx.Client | None,
    user_agent: str,
    outbox: Outbox | None = None,
) -> Target:
    route = Route.of(kinds=config.kinds, sites=config.sites)
    if config.kind == "channel":
        if outbox is None or config.channel is None:
            raise ValueError(f"channel target {config.id!r} needs a channel and the outbox")
        return ChannelTarget(config.id, channel=config.channel, outbox=outbox, route=route)
    if config.kind == "console":
        return ConsoleTarget(config.id, out=console, route=route)
    if config.kind == "log":
        return LogTarget(config.id, route=route)
    if config.url is None or config.secret is None:
        raise ValueError(f"webhook target {config.id!r} needs url and secret")
    return WebhookTarget(
        config.id,
        url=config.url,
        secret=config.secret,
        timeout=config.timeout,
        client=client,
        user_agent=user_agent,
        route=route,
    )

"""SQLAlchemy 2 models: the database is the source of truth.

All ``DateTime`` columns hold UTC; :class:`UTCDateTime` makes SQLite hand them back timezone-aware
as PostgreSQL does, so the rest of the code only ever sees aware datetimes.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.sql.expression import false, true

__all__ = [
    "FINAL_DELIVERY_STATES",
    "OPEN_STATES",
    "AuditEntry",
    "Base",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryState",
    "Entry",
    "FetchAttempt",
    "FetchStatus",
    "Item",
    "Notice",
    "NoticeKind",
    "NoticeStatus",
    "Obligation",
    "ObligationState",
    "Precision",
    "Push",
    "PushState",
    "Site",
    "Source",
    "SourceHealth",
    "SourceKind",
    "SourceRole",
    "WindowBasis",
]


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    # Every model here is mapped to a plain Table; say so, for Core statements on it.
    __table__: ClassVar[Table]
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: JSON}


class SourceRole(enum.StrEnum):
    UPSTREAM = "upstream"
    DOWNSTREAM = "downstream"


class SourceKind(enum.StrEnum):
    RSS = "rss"
    ATOM = "atom"
    HTML_LIST = "html_list"
    JSON = "json"


class SourceHealth(enum.StrEnum):
    """Whether a source could be checked; later issues alert on anything but ``ok``."""

    UNKNOWN = "unknown"  # never checked yet
    OK = "ok"
    BROKEN = "broken"  # it answers, but what it answers is unusable (0 entries, 4xx/5xx streak)
    UNREACHABLE = "unreachable"  # timeouts / connection failures streak: could not check


class Precision(enum.StrEnum):
    """How much of ``published_at`` the source actually gave."""

    DATETIME = "datetime"
    DATE = "date"  # day only: the time part is 00:00 Asia/Shanghai
    NONE = "none"  # unknown: published_at is NULL, first_seen_at stands in


class FetchStatus(enum.StrEnum):
    OK = "ok"
    NOT_MODIFIED = "not_modified"
    UNCHANGED = "unchanged"
    HTTP_ERROR = "http_error"
    TIMEOUT = "timeout"
    CONNECT_ERROR = "connect_error"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    PARSE_ERROR = "parse_error"
    EMPTY = "empty"
    ERROR = "error"


def _enum(cls: type[enum.StrEnum], length: int = 20) -> Enum:
    return Enum(
        cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e]
    )


class Site(Base):
    """An organisation's website or account; sites form a hierarchy."""

    __tablename__ = "site"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"), index=True)
    url: Mapped[str | None] = mapped_column(String(2000))
    # False exempts the site from repost obligations (``repost = false`` in the sources file).
    repost: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())

    parent: Mapped[Site | None] = relationship(remote_side="Site.id")
    sources: Mapped[list[Source]] = relationship(back_populates="site")


class Source(Base):
    """A polled list (feed, HTML list page or JSON API) and its polling state."""

    __tablename__ = "source"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[SourceRole] = mapped_column(_enum(SourceRole))
    kind: Mapped[SourceKind] = mapped_column(_enum(SourceKind))
    url: Mapped[str] = mapped_column(String(2000))
    encoding: Mapped[str | None] = mapped_column(String(40))
    interval_seconds: Mapped[int] = mapped_column(Integer)
    column_type: Mapped[str | None] = mapped_column(String(20))
    is_key: Mapped[bool] = mapped_column(Boolean, default=False)
    detail: Mapped[bool] = mapped_column(Boolean, default=False)
    spec: Mapped[dict[str, Any]] = mapped_column(default=dict)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    next_check_at: Mapped[datetime | None] = mapped_column(index=True)
    claimed_until: Mapped[datetime | None]
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))
    body_hash: Mapped[str | None] = mapped_column(String(64))
    last_checked_at: Mapped[datetime | None]
    last_success_at: Mapped[datetime | None]
    last_entry_count: Mapped[int | None] = mapped_column(Integer)
    max_entry_count: Mapped[int] = mapped_column(Integer, default=0)
    error_streak: Mapped[int] = mapped_column(Integer, default=0)
    timeout_streak: Mapped[int] = mapped_column(Integer, default=0)
    health: Mapped[SourceHealth] = mapped_column(_enum(SourceHealth), default=SourceHealth.UNKNOWN)
    health_reason: Mapped[str | None] = mapped_column(Text)
    health_since: Mapped[datetime | None]

    site: Mapped[Site] = relationship(back_populates="sources")


class _EntryColumns:
    """Columns shared by upstream items and downstream entries."""

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("source.id"))
    key: Mapped[str] = mapped_column(String(64))
    guid: Mapped[str | None] = mapped_column(String(1000))
    url: Mapped[str | None] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    published_precision: Mapped[Precision] = mapped_column(_enum(Precision, 10))
    doc_no: Mapped[str | None] = mapped_column(String(100))
    summary: Mapped[str | None] = mapped_column(Text)
    meta: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    content_hash: Mapped[str] = mapped_column(String(64))


class Item(_EntryColumns, Base):
    """A publication seen on an upstream portal.

    ``is_key``/``key_reason`` come from the profile's key-policy rules when the item is first
    seen; ``key_by`` is set when staff overrode that verdict, and then rules never touch it again.
    """

    __tablename__ = "item"
    __table_args__ = (
        # key first: the poller looks entries up by key for a whole batch of sources at once.
        UniqueConstraint("key", "source_id"),
        Index("ix_item_source_published", "source_id", "published_at"),
        Index("ix_item_published_at", "published_at"),
    )

    is_key: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    key_reason: Mapped[str | None] = mapped_column(Text)
    key_by: Mapped[str | None] = mapped_column(String(200))
    # When the compliance tick opened this key item's obligations; NULL: not yet (or re-open,
    # after staff marked it key).
    obligations_at: Mapped[datetime | None]


class Entry(_EntryColumns, Base):
    """A list entry seen on a downstream (subordinate) site's column."""

    __tablename__ = "entry"
    __table_args__ = (
        UniqueConstraint("key", "source_id"),
        Index("ix_entry_source_first_seen", "source_id", "first_seen_at"),
        Index("ix_entry_first_seen_at", "first_seen_at"),
        Index("ix_entry_matched_at", "matched_at"),
    )

    # When the compliance tick compared this entry with the open key items; NULL: not yet.
    matched_at: Mapped[datetime | None]


class FetchAttempt(Base):
    """One poll of one source, successful or not."""

    __tablename__ = "fetch_attempt"
    __table_args__ = (Index("ix_fetch_attempt_source_started", "source_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    source_id: Mapped[str] = mapped_column(ForeignKey("source.id"))
    started_at: Mapped[datetime]
    duration_ms: Mapped[float] = mapped_column(Float)
    status: Mapped[FetchStatus] = mapped_column(_enum(FetchStatus))
    http_status: Mapped[int | None] = mapped_column(Integer)
    bytes: Mapped[int] = mapped_column(Integer, default=0)
    entries_seen: Mapped[int] = mapped_column(Integer, default=0)
    new_entries: Mapped[int] = mapped_column(Integer, default=0)
    encoding: Mapped[str | None] = mapped_column(String(40))
    error: Mapped[str | None] = mapped_column(Text)


class AuditEntry(Base):
    """Append-only, hash-chained record of state changes (see :mod:`syndicator.audit`)."""

    __tablename__ = "audit_entry"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class ObligationState(enum.StrEnum):
    """Where one site stands with one key item (see docs/compliance.md)."""

    PENDING = "pending"  # the window is open, or closed and awaiting the check that confirms it
    REPOSTED = "reposted"  # reposted within the deadline
    REPOSTED_LATE = "reposted_late"
    OVERDUE = "overdue"  # checked after the deadline: no repost
    UNKNOWN = "unknown"  # could not be checked, or the timing cannot be decided: neither verdict
    WAIVED = "waived"  # staff released the site from it, with a reason


OPEN_STATES = (ObligationState.PENDING, ObligationState.OVERDUE, ObligationState.UNKNOWN)
"""States a later repost can still change (and that keep the item in the matcher)."""


class WindowBasis(enum.StrEnum):
    """What the deadline window starts from."""

    PUBLISHED = "published"  # the exact publication time
    PUBLISHED_DATE = "published_date"  # only the day is known: the window is an estimate
    FIRST_SEEN = "first_seen"  # no publication time: when syndicator first saw the item


class Obligation(Base):
    """Site ``site_id`` must repost key item ``item_id`` by ``due_at``, with the evidence."""

    __tablename__ = "obligation"
    __table_args__ = (
        UniqueConstraint("item_id", "site_id"),
        Index("ix_obligation_state_due", "state", "due_at"),
        Index("ix_obligation_site_state", "site_id", "state"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("item.id"))
    site_id: Mapped[str] = mapped_column(ForeignKey("site.id"))
    profile: Mapped[str] = mapped_column(String(64))
    deadline_seconds: Mapped[int] = mapped_column(Integer)
    opened_at: Mapped[datetime]
    # The item's publication as known: [window_start, published_latest] (equal when exact).
    window_start: Mapped[datetime]
    published_latest: Mapped[datetime]
    window_basis: Mapped[WindowBasis] = mapped_column(_enum(WindowBasis))
    due_at: Mapped[datetime]
    state: Mapped[ObligationState] = mapped_column(_enum(ObligationState))
    state_since: Mapped[datetime]
    note: Mapped[str | None] = mapped_column(Text)

    # Evidence of the repost.
    entry_id: Mapped[int | None] = mapped_column(ForeignKey("entry.id"))
    reposted_earliest: Mapped[datetime | None]
    reposted_latest: Mapped[datetime | None]
    latency_seconds: Mapped[float | None] = mapped_column(Float)
    on_time: Mapped[bool | None] = mapped_column(Boolean)
    match_score: Mapped[float | None] = mapped_column(Float)
    match_reason: Mapped[str | None] = mapped_column(Text)

    waived_by: Mapped[str | None] = mapped_column(String(200))
    waived_reason: Mapped[str | None] = mapped_column(Text)

    item: Mapped[Item] = relationship()
    site: Mapped[Site] = relationship()
    entry: Mapped[Entry | None] = relationship()


class NoticeKind(enum.StrEnum):
    REMIND = "remind"  # ladder step: the window is half gone
    WARN = "warn"  # ladder step: most of the window is gone
    BREACH = "breach"  # the deadline passed without a repost
    UNKNOWN = "unknown"  # an obligation could not be decided (could not check / timing)
    UNCHECKED = "unchecked"  # a source could not be checked (broken, unreachable)
    DIGEST = "digest"  # the daily list of open breaches, for supervisors
    STALE_WARN = "stale_warn"  # a column is close to its update limit
    STALE = "stale"  # a column passed its update limit


class NoticeStatus(enum.StrEnum):
    PENDING = "pending"  # not yet delivered to every target it is routed to
    SENT = "sent"
    FAILED = "failed"  # gave up after the retries; shown to staff


class Notice(Base):
    """An alert, raised once (``dedup_key`` is unique) and delivered by :mod:`syndicator.notify`.

    ``deliveries`` records each target's outcome: ``{target: {"status", "at", "attempts",
    "next_at"?, "http_status"?, "error"?}}`` (errors redacted); see
    :class:`~syndicator.notify.Notifier`.
    """

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[NoticeKind] = mapped_column(_enum(NoticeKind))
    created_at: Mapped[datetime]
    site_id: Mapped[str | None] = mapped_column(ForeignKey("site.id"), index=True)
    obligation_id: Mapped[int | None] = mapped_column(ForeignKey("obligation.id"), index=True)
    source_id: Mapped[str | None] = mapped_column(ForeignKey("source.id"))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)

    status: Mapped[NoticeStatus] = mapped_column(_enum(NoticeStatus), default=NoticeStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    deliveries: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PushState(enum.StrEnum):
    DRAFT = "draft"  # written, not yet approved: nothing is sent
    APPROVED = "approved"  # approved: one Delivery per target channel exists (the outbox)
    WITHDRAWN = "withdrawn"  # withdrawn before approval


class Push(Base):
    """Content to publish (解读, 辟谣, a test) to one or more channels.

    ``content_hash`` is the SHA-256 of what is published (kind, title, body, summary, url): an
    approval is for exactly that content. The review chain (三审) comes with the chat issue; for
    now one approval creates the deliveries.
    """

    __tablename__ = "push"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    summary: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2000))
    author: Mapped[str | None] = mapped_column(String(200))
    content_hash: Mapped[str] = mapped_column(String(64))
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    state: Mapped[PushState] = mapped_column(_enum(PushState))
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(200))
    approved_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(200))
    origin: Mapped[str | None] = mapped_column(String(200), unique=True)
    """What made a system push (``notice-12-ops``: notice 12 for target ops); None for staff's."""


class DeliveryState(enum.StrEnum):
    """Where one push × channel stands (see docs/delivery.md)."""

    QUEUED = "queued"  # waiting for a worker
    SENDING = "sending"  # a worker holds it and may be talking to the platform right now
    PUBLISHING = "publishing"  # the platform accepted it and publishes asynchronously
    SENT = "sent"  # final: published
    UNCONFIRMED = "unconfirmed"  # the request may have taken effect: reconciled, never resent
    RETRY_WAIT = "retry_wait"  # failed for now; next_attempt_at says when
    FAILED = "failed"  # final: given up, or refused for good


FINAL_DELIVERY_STATES = (DeliveryState.SENT, DeliveryState.FAILED)


class Delivery(Base):
    """One push to one channel: the outbox row a worker sends, exactly once where it can."""

    __tablename__ = "delivery"
    __table_args__ = (
        Index("ix_delivery_state_next", "state", "next_attempt_at"),
        Index("ix_delivery_push", "push_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    push_id: Mapped[int | None] = mapped_column(ForeignKey("push.id"))
    channel_id: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    state: Mapped[DeliveryState] = mapped_column(_enum(DeliveryState))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    parts_sent: Mapped[int] = mapped_column(Integer, default=0)  # of a message split in parts
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    external_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    platform_code: Mapped[str | None] = mapped_column(String(50))
    last_error: Mapped[str | None] = mapped_column(Text)
    confirmed_by: Mapped[str | None] = mapped_column(String(200))


class DeliveryAttempt(Base):
    """Every try of a delivery (and every status check), for the delivery log."""

    __tablename__ = "delivery_attempt"
    __table_args__ = (Index("ix_delivery_attempt_delivery", "delivery_id", "started_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("delivery.id"))
    action: Mapped[str] = mapped_column(String(20))  # publish | check | confirm
    started_at: Mapped[datetime]
    duration_ms: Mapped[float] = mapped_column(Float)
    outcome: Mapped[str] = mapped_column(String(30))
    http_status: Mapped[int | None] = mapped_column(Integer)
    platform_code: Mapped[str | None] = mapped_column(String(50))
    message: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(200))
    url: Mapped[str | None] = mapped_column(String(2000))
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)

"""Raising notices: each one exactly once, whatever runs the tick and however often.

A notice is a row with a unique ``dedup_key`` (``obligation:12:warn``,
``source:ganzhou-tzgg:broken:2024-01-05T02:00:00``, ``digest:2024-01-05`` …). Raising one that
exists already does nothing, so two ticks racing (two beats, a retried task) never alert twice.
Delivery is :mod:`syndicator.notify`'s job: a new notice is ``pending``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from syndicator.db.models import Notice, NoticeKind, NoticeStatus

__all__ = ["notice_exists", "raise_notice"]


def notice_exists(session: Session, key: str) -> bool:
    return session.scalar(select(Notice.id).where(Notice.dedup_key == key)) is not None


def raise_notice(
    session: Session,
    *,
    key: str,
    kind: NoticeKind,
    now: datetime,
    title: str,
    body: str,
    site_id: str | None = None,
    obligation_id: int | None = None,
    source_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> int | None:
    """Insert a pending notice unless one with *key* exists; return the new id or ``None``."""
    values = {
        "dedup_key": key,
        "kind": kind,
        "created_at": now,
        "site_id": site_id,
        "obligation_id": obligation_id,
        "source_id": source_id,
        "title": title,
        "body": body,
        "data": data or {},
        "status": NoticeStatus.PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "deliveries": {},
    }
    result: Any
    if session.get_bind().dialect.name == "postgresql":
        pg = pg_insert(Notice).values(values).on_conflict_do_nothing(index_elements=["dedup_key"])
        result = session.execute(pg.returning(Notice.id))
    else:
        lite = sqlite_insert(Notice).values(values)
        result = session.execute(
            lite.on_conflict_do_nothing(index_elements=["dedup_key"]).returning(Notice.id)
        )
    new_id = result.scalar_one_or_none()
    return int(new_id) if new_id is not None else None

"""Internal notices through the delivery engine: a notice becomes an approved ``notice`` push.

A ``[[notify.targets]]`` table with ``kind = "channel"`` names one of the ``[[channels]]``. For
each notice routed to it, :func:`submit_notice` stores a push of kind ``notice`` for that channel,
already approved by the system (internal notices need no review), with its queued delivery: the
same outbox, retries, rate limits, unconfirmed handling and delivery log as any push.

The push's ``origin`` (``notice-<id>-<target>``) is unique: a notifier that dies after
submitting and retries the notice finds the push it made and submits nothing twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from syndicator import audit
from syndicator.db.models import Delivery, Push, PushState
from syndicator.db.session import Database
from syndicator.delivery.engine import content_hash, queued_delivery

__all__ = ["ACTOR", "notice_origin", "submit_notice"]

ACTOR = "system:notify"


def notice_origin(notice_id: int, target_id: str) -> str:
    """The unique origin of the push that carries notice *notice_id* to target *target_id*."""
    return f"notice-{notice_id}-{target_id}"


def submit_notice(
    db: Database,
    *,
    notice_id: int,
    target_id: str,
    channel_id: str,
    title: str,
    body: str,
    now: datetime,
) -> tuple[int, bool]:
    """Store the approved push and queued delivery for one notice × target.

    Returns:
        The delivery id, and whether it was created now (False: an earlier call made it).
    """
    origin = notice_origin(notice_id, target_id)
    existing = _submitted(db, origin)
    if existing is not None:
        return existing, False
    try:
        return _submit(db, origin, target_id, channel_id, notice_id, title, body, now), True
    except IntegrityError:  # another dispatcher made it between our look and our insert
        existing = _submitted(db, origin)
        if existing is None:
            raise
        return existing, False


def _submitted(db: Database, origin: str) -> int | None:
    with db.session() as session:
        return session.execute(
            select(Delivery.id).join(Push, Delivery.push_id == Push.id).where(Push.origin == origin)
        ).scalar_one_or_none()


def _submit(
    db: Database,
    origin: str,
    target_id: str,
    channel_id: str,
    notice_id: int,
    title: str,
    body: str,
    now: datetime,
) -> int:
    with db.begin() as session:
        push = Push(
            kind="notice",
            title=title,
            body=body,
            content_hash=content_hash("notice", title, body, None, None),
            channels=[channel_id],
            state=PushState.APPROVED,
            created_at=now,
            created_by=ACTOR,
            approved_at=now,
            approved_by=ACTOR,
            origin=origin,
        )
        session.add(push)
        session.flush()
        delivery = queued_delivery(push.id, channel_id, now)
        session.add(delivery)
        session.flush()
        audit.append(
            session,
            at=now,
            actor=ACTOR,
            action="notice.submitted",
            subject=f"notice:{notice_id}",
            data={"target": target_id, "push": push.id, "delivery": delivery.id},
        )
        return delivery.id

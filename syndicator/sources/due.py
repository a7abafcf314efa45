"""Which sources are due, claimed so that a backed-up queue never polls one twice at once."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from syndicator.db.models import Source
from syndicator.db.session import Database

__all__ = ["claim_due"]


def claim_due(db: Database, *, now: datetime, limit: int, lease_seconds: int) -> list[str]:
    """Return up to *limit* due source ids, most overdue first, and lease them.

    A leased source is not handed out again until its poll is stored (which clears the lease) or
    the lease runs out (the worker died or the message was lost), so no source is ever stranded.
    """
    with db.begin() as session:
        query = (
            select(Source.id)
            .where(
                Source.active.is_(True),
                Source.next_check_at <= now,
                or_(Source.claimed_until.is_(None), Source.claimed_until < now),
            )
            .order_by(Source.next_check_at)
            .limit(limit)
        )
        if db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        ids = list(session.scalars(query))
        if ids:
            session.execute(
                update(Source)
                .where(Source.id.in_(ids))
                .values(claimed_until=now + timedelta(seconds=lease_seconds))
            )
        return ids

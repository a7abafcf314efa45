"""Append-only, hash-chained audit log.

Each :class:`~syndicator.db.models.AuditEntry` stores the SHA-256 of its own canonical content and
the hash of the row before it, so deleting, editing or reordering a row breaks the chain at that
point; :func:`verify` finds the first broken link. Appends are serialised (an advisory lock on
PostgreSQL, the write lock of :meth:`Database.begin` on SQLite) and ``prev_hash`` is unique, so two
writers can never fork the chain.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from syndicator.db.models import AuditEntry

__all__ = ["GENESIS", "AuditBreak", "Record", "append", "append_many", "entry_hash", "verify"]

GENESIS = "0" * 64


def entry_hash(
    *, prev_hash: str, at: datetime, actor: str, action: str, subject: str, data: Mapping[str, Any]
) -> str:
    payload = json.dumps(
        {
            "prev": prev_hash,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor,
            "action": action,
            "subject": subject,
            "data": data,
        },
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


# Any constant: serialises appends across processes and machines on PostgreSQL.
_PG_LOCK_KEY = 0x5E1D_A0D1


def _last_hash(session: Session) -> str:
    if session.get_bind().dialect.name == "postgresql":
        # Held to the end of the transaction, so the head read below stays the head.
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    last = session.scalar(select(AuditEntry.hash).order_by(AuditEntry.id.desc()).limit(1))
    return last or GENESIS


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    """One entry to append; ``data`` must not contain secrets (the log is shown to staff)."""

    at: datetime
    actor: str
    action: str
    subject: str
    data: Mapping[str, Any] = field(default_factory=dict)


def append(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    subject: str,
    data: Mapping[str, Any] | None = None,
) -> AuditEntry:
    """Add one entry to the chain inside the caller's transaction."""
    row = _row(
        Record(at=at, actor=actor, action=action, subject=subject, data=data or {}),
        _last_hash(session),
    )
    session.add(row)
    session.flush()
    return row


def append_many(session: Session, records: Sequence[Record]) -> None:
    """Add several entries in order with one read of the chain head and one insert."""
    if not records:
        return
    prev = _last_hash(session)
    rows = []
    for record in records:
        row = _row(record, prev)
        rows.append(
            {
                "at": row.at,
                "actor": row.actor,
                "action": row.action,
                "subject": row.subject,
                "data": row.data,
                "prev_hash": row.prev_hash,
                "hash": row.hash,
            }
        )
        prev = row.hash
    session.execute(insert(AuditEntry.__table__), rows)


def _row(record: Record, prev: str) -> AuditEntry:
    # Round-trip through JSON so the stored value and the hashed value are the same thing.
    clean: dict[str, Any] = json.loads(
        json.dumps(dict(record.data), ensure_ascii=False, default=str)
    )
    return AuditEntry(
        at=record.at,
        actor=record.actor,
        action=record.action,
        subject=record.subject,
        data=clean,
        prev_hash=prev,
        hash=entry_hash(
            prev_hash=prev,
            at=record.at,
            actor=record.actor,
            action=record.action,
            subject=record.subject,
            data=clean,
        ),
    )


@dataclass(frozen=True, slots=True)
class AuditBreak:
    """The first place where the chain does not hold."""

    entry_id: int
    reason: str


def verify(session: Session, *, batch: int = 5000) -> tuple[int, AuditBreak | None]:
    """Walk the chain in id order; return (entries checked, first break or None)."""
    prev = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
        ).all()
        if not rows:
            return checked, None
        for row in rows:
            if row.prev_hash != prev:
                return checked, AuditBreak(
                    row.id, "previous-hash link does not match the entry before it"
                )
            expected = entry_hash(
                prev_hash=row.prev_hash,
                at=row.at,
                actor=row.actor,
                action=row.action,
                subject=row.subject,
                data=row.data,
            )
            if row.hash != expected:
                return checked, AuditBreak(row.id, "content does not match its stored hash")
            prev = row.hash
            checked += 1
            last_id = row.id

"""The storage layer on both SQLite and PostgreSQL: migrations, entry upserts, the audit chain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from syndicator import audit
from syndicator.clock import FrozenClock
from syndicator.db import AuditEntry, Database, Site, Source, current_revision, upgrade
from syndicator.db.models import SourceKind, SourceRole

pytestmark = pytest.mark.integration


def test_init_is_idempotent_and_reaches_head(db: Database) -> None:
    first = current_revision(db)
    assert first is not None
    assert upgrade(db) == first


def test_times_come_back_utc_aware(db: Database, clock: FrozenClock) -> None:
    with db.begin() as session:
        session.add(Site(id="jx", name="江西省人民政府", level="province"))
        session.add(
            Source(
                id="jx-zxwj",
                site_id="jx",
                role=SourceRole.UPSTREAM,
                kind=SourceKind.RSS,
                url="https://www.jiangxi.gov.cn/rss.xml",
                interval_seconds=600,
                next_check_at=clock.now(),
            )
        )
    with db.session() as session:
        row = session.get(Source, "jx-zxwj")
        assert row is not None and row.next_check_at == clock.now()
        assert row.next_check_at.utcoffset() == timedelta(0)
        assert row.spec == {} and row.active


def test_audit_chain_verifies_and_pinpoints_tampering(db: Database, clock: FrozenClock) -> None:
    with db.begin() as session:
        for n in range(5):
            audit.append(
                session,
                at=clock.advance(60),
                actor="staff:张三",
                action="item.marked_key",
                subject=f"item:{n}",
                data={"reason": "国务院文件", "n": n},
            )
    with db.session() as session:
        assert audit.verify(session) == (5, None)
        ids = list(session.scalars(select(AuditEntry.id).order_by(AuditEntry.id)))

    with db.begin() as session:
        session.execute(
            update(AuditEntry).where(AuditEntry.id == ids[2]).values(data={"reason": "篡改"})
        )
    with db.session() as session:
        checked, broken = audit.verify(session)
    assert checked == 2
    assert broken is not None and broken.entry_id == ids[2]
    assert "hash" in broken.reason


def test_audit_chain_detects_a_deleted_row(db: Database, clock: FrozenClock) -> None:
    with db.begin() as session:
        for n in range(3):
            audit.append(session, at=clock.now(), actor="system", action="x", subject=str(n))
    with db.begin() as session:
        rows = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
        session.delete(rows[1])
    with db.session() as session:
        checked, broken = audit.verify(session)
    assert checked == 1 and broken is not None and broken.entry_id == rows[2].id


def test_audit_chain_cannot_fork(db: Database, clock: FrozenClock) -> None:
    """A second entry claiming the same predecessor (a racing writer) is refused."""
    from sqlalchemy.exc import IntegrityError

    with db.begin() as session:
        first = audit.append(session, at=clock.now(), actor="system", action="a", subject="s")
        audit.append(session, at=clock.now(), actor="w1", action="b", subject="s")
    fields = {"at": clock.now(), "actor": "w2", "action": "b", "subject": "s", "data": {}}
    with pytest.raises(IntegrityError), db.begin() as session:
        session.add(
            AuditEntry(
                prev_hash=first.hash,
                hash=audit.entry_hash(prev_hash=first.hash, **fields),
                **fields,
            )
        )
    with db.session() as session:
        assert audit.verify(session) == (2, None)


def test_migrations_match_the_models(db: Database) -> None:
    """A model change without a migration would pass SQLite tests and break deployments."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from syndicator.db import Base

    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []

"""Pooled PostgreSQL connections: pinged only after sitting idle, replaced when dead."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError

from syndicator.db import Database, session

pytestmark = pytest.mark.integration


def _kill_pooled(db: Database) -> None:
    with db.engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
    admin = Database(db.url)
    try:
        with admin.engine.begin() as conn:
            conn.exec_driver_sql(f"SELECT pg_terminate_backend({int(pid or 0)})")
    finally:
        admin.dispose()


def test_an_idle_dead_connection_is_replaced_on_checkout(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database(pg_url)
    try:
        _kill_pooled(db)
        monkeypatch.setattr(session, "PING_AFTER_IDLE", 0.0)  # as if it sat idle for long
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        db.dispose()


def test_a_connection_used_moments_ago_is_not_pinged(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        _kill_pooled(db)
        # No round trip before the statement: it meets the dead connection itself, and the
        # pool replaces that connection for the next checkout.
        with pytest.raises(DBAPIError) as failure, db.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert failure.value.connection_invalidated
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        db.dispose()

"""Short write transactions on a pooled DBAPI connection: converted as SQLAlchemy would, all or
nothing, and the pool's connections left as the ORM expects them (both backends)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError

from syndicator.db import Database
from syndicator.db.models import Push, PushState
from syndicator.db.prepared import Prepared, run_transaction

pytestmark = pytest.mark.integration

_P = Push.__table__
NOW = datetime(2026, 12, 31, 16, 0, tzinfo=UTC)  # midnight, New Year's Day, in Beijing


def _insert(db: Database) -> Prepared:
    return Prepared(
        insert(_P).values(
            id=bindparam("id"),
            kind="rebuttal",
            title=bindparam("title"),
            body="正文",
            content_hash="h",
            channels=bindparam("channels"),
            state=PushState.APPROVED,
            created_at=bindparam("at", type_=_P.c.created_at.type),
            created_by="li",
        ),
        db.engine.dialect,
    )


def _read(db: Database) -> Prepared:
    columns = (_P.c.title, _P.c.channels, _P.c.state, _P.c.created_at)
    return Prepared(select(*columns).where(_P.c.id == bindparam("id")), db.engine.dialect)


def _titles(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(Push.title).order_by(Push.id)))


def test_values_go_in_and_come_out_as_the_column_types_say(db: Database) -> None:
    values = {"id": 1, "title": "说明", "channels": ["duty", "weibo"], "at": NOW}
    assert run_transaction(db.engine, [_insert(db)], values) == (True, None)

    done, row = run_transaction(db.engine, [_read(db)], {"id": 1})
    assert done and row == {
        "title": "说明",
        "channels": ["duty", "weibo"],  # JSON
        "state": PushState.APPROVED,  # the enum, not its string
        "created_at": NOW,  # aware, in UTC, on SQLite too
    }
    assert row["state"] is PushState.APPROVED and row["created_at"].tzinfo is UTC
    assert run_transaction(db.engine, [_read(db)], {"id": 2}) == (True, None)


def test_a_guard_that_changes_no_row_commits_nothing(db: Database) -> None:
    run_transaction(db.engine, [_insert(db)], {"id": 1, "title": "原", "channels": [], "at": NOW})
    rename = Prepared(
        update(_P).where(_P.c.id == bindparam("target")).values(title=bindparam("title")),
        db.engine.dialect,
    )
    params = {"target": 9, "id": 2, "title": "新", "channels": [], "at": NOW}
    assert run_transaction(db.engine, [rename, _insert(db)], params) == (False, None)
    assert _titles(db) == ["原"]

    params["target"] = 1
    assert run_transaction(db.engine, [rename, _insert(db)], params) == (True, None)
    assert _titles(db) == ["新", "新"]


def test_a_failing_statement_is_named_and_what_ran_before_it_is_rolled_back(
    db: Database,
) -> None:
    run_transaction(db.engine, [_insert(db)], {"id": 1, "title": "原", "channels": [], "at": NOW})
    rename = Prepared(
        update(_P).where(_P.c.id == bindparam("target")).values(title=bindparam("title")),
        db.engine.dialect,
    )
    params = {"target": 1, "id": 1, "title": "改", "channels": [], "at": NOW}  # id 1 exists
    with pytest.raises(DBAPIError, match="INSERT INTO push") as caught:
        run_transaction(db.engine, [rename, _insert(db)], params)
    assert not caught.value.connection_invalidated
    assert _titles(db) == ["原"]  # the rename went with the failed insert

    # The pool's connection is usable as before, in a transaction of its own.
    with db.begin() as session:
        session.add(
            Push(
                id=3,
                kind="test",
                title="后来的",
                body="b",
                content_hash="h",
                channels=[],
                state=PushState.DRAFT,
                created_at=NOW,
                created_by="li",
            )
        )
        session.flush()
        session.rollback()
    assert _titles(db) == ["原"]


def test_a_naive_datetime_is_refused_before_anything_is_written(db: Database) -> None:
    naive = datetime(2026, 12, 31, 16, 0)
    with pytest.raises(ValueError, match="naive datetime"):
        run_transaction(
            db.engine, [_insert(db)], {"id": 1, "title": "t", "channels": [], "at": naive}
        )
    assert _titles(db) == []


def test_a_statement_rendered_anew_for_each_execution_is_refused(db: Database) -> None:
    statement = select(_P.c.id).where(_P.c.id.in_(bindparam("ids", expanding=True)))
    with pytest.raises(TypeError, match=r"IN \(…\)"):
        Prepared(statement, db.engine.dialect)

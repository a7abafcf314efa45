"""Engine and session factory for both modes (SQLite embedded, PostgreSQL distributed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database"]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy issue BEGIN itself (see _sqlite_begin) instead of the driver's implicit one.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL lets the web/CLI read while the poller writes; busy_timeout rides out short write locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Write transactions take SQLite's write lock up front. A deferred transaction that read
    # first and writes later fails with SQLITE_BUSY when another writer committed in between,
    # and would read a stale audit-chain head; BEGIN IMMEDIATE waits its turn instead.
    immediate = conn.get_execution_options().get("sqlite_immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


PING_AFTER_IDLE = 2.0
"""Seconds a pooled PostgreSQL connection may sit unused before it is pinged on checkout."""


def _ping_when_idle(engine: Engine) -> None:
    """Ping a pooled connection on checkout only when it sat idle for :data:`PING_AFTER_IDLE`.

    ``pool_pre_ping`` pings on every checkout: a round trip, and about a tenth of a
    millisecond of CPU on each side, before every statement of a busy worker that checks out a
    connection a few milliseconds after returning it. A connection that was in use moments ago
    is alive unless the server went away in those moments; then the statement fails as it would
    have anyway, and the pool drops that connection and every older one. A dead connection
    found by the ping is replaced at once (``DisconnectionError``: the pool retries).
    """
    dialect = engine.dialect

    def fresh(_dbapi_connection: Any, record: Any) -> None:
        record.info["syndicator_idle_since"] = time.monotonic()

    def checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("syndicator_idle_since")
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"pooled connection is dead: {exc}") from exc

    event.listen(engine, "connect", fresh)  # just made: alive
    event.listen(engine, "checkin", fresh)
    event.listen(engine, "checkout", checkout)


class Database:
    """Owns one engine and hands out sessions.

    Args:
        url: a SQLAlchemy URL, ``sqlite:///…`` or ``postgresql+psycopg://…``.
        engine_options: extra keyword arguments for :func:`sqlalchemy.create_engine`.
    """

    def __init__(self, url: str, **engine_options: Any) -> None:
        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        ping = parsed.get_backend_name() == "postgresql" and "pool_pre_ping" not in engine_options
        self.url = url
        self.engine: Engine = create_engine(url, **engine_options)
        if ping:
            _ping_when_idle(self.engine)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            event.listen(self.engine, "begin", _sqlite_begin)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def session(self) -> Session:
        return self._sessions()

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """A write transaction: committed on success, rolled back on error.

        On SQLite it holds the database's write lock from the start (``BEGIN IMMEDIATE``).
        """
        with self._sessions.begin() as session:
            if self.dialect == "sqlite":
                session.connection(execution_options={"sqlite_immediate": True})
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.engine.url.render_as_string(hide_password=True)!r})"

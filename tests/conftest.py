"""Shared fixtures: databases on both backends, real services for integration tests.

Integration tests need Redis and PostgreSQL. Under CI (``CI`` set) a missing service fails the
test; elsewhere it is skipped with the reason, so `make test` on a laptop without them still runs
everything else.
"""

from __future__ import annotations

import os
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine, text

from syndicator.clock import FrozenClock
from syndicator.db import Database, upgrade

PG_URL = os.environ.get(
    "SYNDICATOR_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("SYNDICATOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require_service(name: str, reason: str) -> None:
    """Fail under CI, skip elsewhere: CI must never go green without the real services."""
    message = f"{name} is not available: {reason}"
    if os.environ.get("CI"):
        pytest.fail(message + " (CI requires it; .ci/run starts it)")
    pytest.skip(message)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 26, 1, 0, tzinfo=UTC))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A URL to a fresh, empty PostgreSQL schema of its own (dropped afterwards)."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        require_service("PostgreSQL", f"{PG_URL}: {exc}")
    try:
        yield f"{PG_URL}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    db = Database(f"sqlite:///{tmp_path / 'syndicator.db'}")
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture
def pg_db(pg_url: str) -> Iterator[Database]:
    db = Database(pg_url)
    upgrade(db)
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Iterator[Database]:
    """The storage layer under test, on both backends."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_db")
    else:
        yield request.getfixturevalue("pg_db")


def celery_worker_command(queues: str, *, concurrency: int = 2) -> list[str]:
    """A real Celery worker on *queues* (comma-separated): prefork, INFO log, no gossip."""
    return [
        *(sys.executable, "-m", "celery", "-A", "workers.app", "worker", "-Q", queues),
        *("--concurrency", str(concurrency), "--pool", "prefork", "--loglevel", "INFO"),
        *("--without-gossip", "--without-mingle", "--without-heartbeat"),
    ]


@contextmanager
def empty_redis(url: str) -> Iterator[redis.Redis]:
    """A client of the Redis database *url*, flushed before and after (fails under CI when
    Redis does not answer, see :func:`require_service`)."""
    client = redis.Redis.from_url(url)
    try:
        client.ping()
    except redis.RedisError as exc:
        require_service("Redis", f"{url}: {exc}")
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()

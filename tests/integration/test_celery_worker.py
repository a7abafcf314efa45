"""Distributed mode for real: a Celery worker process on Redis, PostgreSQL, the simulator.

The test plays beat: it sends the ``enqueue_due_sources`` tick to the broker; the worker leases the
due sources and runs one ``poll_source_task`` per source, which store their results in PostgreSQL;
then it sends the ``evaluate_compliance`` tick, which opens and judges the repost obligations.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from celery import Celery
from sqlalchemy import func, select

from syndicator.clock import SystemClock
from syndicator.db import Database, FetchAttempt, Item, Obligation, ObligationState, Source
from syndicator.simulator import SimulatorServer, build_demo_world
from syndicator.sources.config import load_sources
from syndicator.sources.registry import sync_sources
from tests.conftest import REDIS_URL, celery_worker_command, empty_redis

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def broker() -> Iterator[str]:
    with empty_redis(REDIS_URL):
        yield REDIS_URL


def _wait(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def test_worker_polls_due_sources_enqueued_by_the_beat_tick(
    tmp_path: Path, broker: str, pg_db: Database, pg_url: str
) -> None:
    world = build_demo_world(SystemClock().now(), slow_delay=0.0)
    with SimulatorServer(world.portal) as server:
        path = tmp_path / "sources.toml"
        path.write_text(world.sources_toml(server.base_urls[0]), encoding="utf-8")
        config = load_sources(path)
        sync_sources(pg_db, config, clock=SystemClock())
        with pg_db.begin() as session:  # everything due now
            for source in session.scalars(select(Source)):
                source.next_check_at = SystemClock().now()

        env = {
            **os.environ,
            "SYNDICATOR_DATA_DIR": str(tmp_path),
            "SYNDICATOR_DATABASE_URL": pg_url,
            "SYNDICATOR_BROKER_URL": broker,
            "SYNDICATOR_FETCH__PER_HOST_DELAY": "0",
            "SYNDICATOR_FETCH__PER_HOST_CONCURRENCY": "8",
        }
        log = (tmp_path / "worker.log").open("w")
        worker = subprocess.Popen(
            celery_worker_command("poll,syndicator"),
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            client = Celery(broker=broker)
            client.send_task("workers.tasks.enqueue_due_sources", queue="syndicator")

            def all_polled() -> bool:
                with pg_db.session() as session:
                    count = session.scalar(select(func.count()).select_from(FetchAttempt))
                return count == len(config.sources)

            # Then the compliance tick, as beat sends it every minute.
            def evaluated() -> bool:
                with pg_db.session() as session:
                    return bool(session.scalar(select(func.count()).select_from(Obligation)))

            try:
                _wait(all_polled, 60, "the worker to poll every source")
                client.send_task("workers.tasks.evaluate_compliance", queue="syndicator")
                _wait(evaluated, 60, "the worker to open obligations")
            except AssertionError:
                log.flush()
                raise AssertionError((tmp_path / "worker.log").read_text()) from None
            client.close()
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            log.close()

    with pg_db.session() as session:
        items = session.scalar(
            select(func.count()).select_from(Item).where(Item.source_id == "govcn-zuixin")
        )
        assert items == 15
        sources = session.scalars(select(Source)).all()
        assert all(s.claimed_until is None for s in sources)  # leases released
        assert all(s.next_check_at > SystemClock().now() for s in sources)
        states = set(session.scalars(select(Obligation.state)))
        # The demo world has on-time and late reposts, and documents nobody reposted.
        assert {ObligationState.REPOSTED, ObligationState.OVERDUE} <= states
    assert worker.returncode in (0, -15)

"""Embedded mode: the runner leases due sources and runs the same task functions in process."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from syndicator.clock import FrozenClock
from syndicator.db import Database, FetchAttempt, Obligation, ObligationState
from syndicator.services import Services, reset_services
from syndicator.settings import load_settings
from syndicator.simulator import SimulatorServer, build_demo_world
from syndicator.sources.config import load_sources
from syndicator.sources.registry import sync_sources
from workers.embedded import EmbeddedRunner

pytestmark = pytest.mark.integration


@pytest.fixture
def services(tmp_path: Path, sqlite_db: Database, clock: FrozenClock) -> Iterator[Services]:
    world = build_demo_world(clock.now(), slow_delay=0.0)
    with SimulatorServer(world.portal) as server:
        (tmp_path / "sources.toml").write_text(world.sources_toml(server.base_urls[0]), "utf-8")
        settings = load_settings({"SYNDICATOR_DATA_DIR": str(tmp_path)})
        settings = replace(
            settings, fetch=replace(settings.fetch, per_host_delay=0.0, per_host_concurrency=8)
        )
        built = Services(settings, clock=clock, db=sqlite_db)
        sync_sources(sqlite_db, load_sources(tmp_path / "sources.toml"), clock=clock)
        yield built
        reset_services()


def _attempts(db: Database) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(FetchAttempt)) or 0)


def test_runner_polls_each_source_once_per_interval(services: Services, clock: FrozenClock) -> None:
    results: list[dict[str, object]] = []
    runner = EmbeddedRunner(services, on_result=results.append)
    try:
        # New sources are spread over their first ten-minute interval: none is due at once.
        assert runner.tick() < 7
        clock.advance(timedelta(minutes=10))
        started = runner.tick()
        assert runner.wait_idle(timeout=30)
        assert _attempts(services.db) == 7
        assert started + len([r for r in results if r["source_id"]]) >= 7

        # Polled sources are not due again until their interval has passed.
        assert runner.tick() == 0
        clock.advance(timedelta(minutes=12))
        assert runner.tick() == 7
        assert runner.wait_idle(timeout=30)
        assert _attempts(services.db) == 14
    finally:
        runner.shutdown()
    assert {r["status"] for r in results} <= {"ok", "not_modified", "unchanged", "empty"}


def test_runner_evaluates_compliance_with_the_same_task(
    services: Services, clock: FrozenClock
) -> None:
    evaluations: list[dict[str, object]] = []
    runner = EmbeddedRunner(services, on_evaluation=evaluations.append)
    try:
        clock.advance(timedelta(minutes=10))
        runner.tick()
        assert runner.wait_idle(timeout=30)
        assert runner.evaluate()
        assert runner.wait_idle(timeout=30)
    finally:
        runner.shutdown()
    assert len(evaluations) == 1
    summary = evaluations[0]
    assert summary["skipped"] is False
    assert isinstance(summary["opened"], int) and summary["opened"] > 0
    with services.db.session() as session:
        states = set(session.scalars(select(Obligation.state)))
    assert ObligationState.REPOSTED in states

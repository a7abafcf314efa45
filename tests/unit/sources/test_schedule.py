from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from syndicator.db.models import FetchStatus, SourceHealth
from syndicator.settings import SchedulerSettings
from syndicator.sources.schedule import HealthVerdict, first_check_at, judge_health, next_check_at

NOW = datetime(2026, 11, 26, 16, 0, tzinfo=UTC)
SETTINGS = SchedulerSettings()


def test_first_checks_spread_over_the_interval_and_are_stable() -> None:
    times = [first_check_at(f"county-{n}", 600, NOW) for n in range(1000)]
    offsets = [(t - NOW).total_seconds() for t in times]
    assert all(0 <= o < 600 for o in offsets)
    # Spread: every minute of the ten-minute window gets a share; none gets a herd.
    buckets = [sum(1 for o in offsets if m * 60 <= o < (m + 1) * 60) for m in range(10)]
    assert min(buckets) > 60 and max(buckets) < 140
    assert first_check_at("county-7", 600, NOW) == times[7]


def _delay(status: FetchStatus, streak: int = 0, **kw: float | None) -> float:
    rng = random.Random(1)
    due = next_check_at(
        now=NOW,
        interval=600,
        status=status,
        error_streak=streak,
        settings=SETTINGS,
        rng=rng,
        **kw,  # type: ignore[arg-type]
    )
    return (due - NOW).total_seconds()


def test_success_waits_one_interval_with_jitter() -> None:
    assert 540 <= _delay(FetchStatus.OK) <= 660
    assert 540 <= _delay(FetchStatus.NOT_MODIFIED) <= 660


@pytest.mark.parametrize(
    ("streak", "base"), [(1, 600), (2, 1200), (3, 2400), (4, 4800), (5, 4800), (50, 4800)]
)
def test_errors_back_off_exponentially_capped_at_eight_intervals(streak: int, base: int) -> None:
    delay = _delay(FetchStatus.HTTP_ERROR, streak)
    assert base * 0.9 <= delay <= min(base * 1.1, 4800)


def test_retry_after_is_honoured_but_capped() -> None:
    assert _delay(FetchStatus.HTTP_ERROR, 1, retry_after=3000) >= 2700
    assert _delay(FetchStatus.HTTP_ERROR, 1, retry_after=10**6) <= 4800


def test_cache_lifetime_stretches_the_interval_within_the_cap() -> None:
    assert 1800 * 0.9 <= _delay(FetchStatus.OK, fresh_for=1800) <= 1800 * 1.1
    assert _delay(FetchStatus.OK, fresh_for=86400) <= 4800
    assert _delay(FetchStatus.OK, fresh_for=10) >= 540  # a short max-age never speeds polling up


def _judge(status: FetchStatus, **kw: object) -> HealthVerdict:
    args: dict[str, object] = {
        "max_entries_before": 20,
        "error_streak": 0,
        "timeout_streak": 0,
        "previous": SourceHealth.OK,
        "previous_reason": None,
        "error": "boom",
        "settings": SETTINGS,
    }
    args.update(kw)
    return judge_health(status=status, **args)  # type: ignore[arg-type]


def test_list_that_empties_is_broken_at_once() -> None:
    verdict = _judge(FetchStatus.EMPTY)
    assert verdict.health is SourceHealth.BROKEN
    assert "20" in verdict.reason


def test_single_error_keeps_the_previous_verdict_until_the_streak() -> None:
    once = _judge(FetchStatus.HTTP_ERROR)
    assert once.health is SourceHealth.OK and once.error_streak == 1
    third = _judge(FetchStatus.HTTP_ERROR, error_streak=2)
    assert third.health is SourceHealth.BROKEN


def test_timeout_streak_means_could_not_check() -> None:
    verdict = _judge(FetchStatus.TIMEOUT, error_streak=2, timeout_streak=2)
    assert verdict.health is SourceHealth.UNREACHABLE
    assert verdict.timeout_streak == 3


def test_a_success_clears_streaks_and_restores_health() -> None:
    verdict = _judge(
        FetchStatus.NOT_MODIFIED, error_streak=5, timeout_streak=5, previous=SourceHealth.BROKEN
    )
    assert verdict.health is SourceHealth.OK
    assert (verdict.error_streak, verdict.timeout_streak) == (0, 0)


def test_jitter_moves_sources_apart() -> None:
    rng = random.Random(3)
    dues = {
        next_check_at(
            now=NOW, interval=600, status=FetchStatus.OK, error_streak=0, settings=SETTINGS, rng=rng
        )
        for _ in range(20)
    }
    assert len(dues) == 20
    assert max(dues) - min(dues) > timedelta(seconds=30)

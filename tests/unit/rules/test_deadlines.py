"""Deadline arithmetic at the edges: midnight, year end, day-only times, the inclusive limit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from syndicator.rules import LadderStep, Moment, crossed_steps, load_profile, on_time, repost_due
from syndicator.rules.deadlines import SHANGHAI

H12 = load_profile("jiangxi").repost_deadline


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


def test_due_crosses_midnight_and_the_year_end_in_beijing_time() -> None:
    due = repost_due(Moment.exact(bj(2024, 12, 31, 20, 0)), H12)
    assert due == bj(2025, 1, 1, 8, 0)
    assert due.tzinfo is UTC and due == datetime(2025, 1, 1, 0, 0, tzinfo=UTC)


def test_a_day_only_time_is_the_beijing_day_not_the_utc_day() -> None:
    day = Moment.day(date(2025, 1, 1))
    assert day.earliest == datetime(2024, 12, 31, 16, 0, tzinfo=UTC)
    assert day.latest == datetime(2025, 1, 1, 15, 59, 59, 999999, tzinfo=UTC)
    # A stored 00:00 Beijing of that day (day-only precision) is the same day.
    assert Moment.of(bj(2025, 1, 1), "date") == day


UP = Moment.exact(bj(2024, 12, 31, 20, 0))  # due 2025-01-01 08:00 Beijing


@pytest.mark.parametrize(
    ("downstream", "expected"),
    [
        (Moment.exact(bj(2025, 1, 1, 8, 0)), True),  # exactly 12 h: inclusive
        (Moment.exact(bj(2025, 1, 1, 8, 0, 1)), False),
        (Moment.exact(bj(2024, 12, 31, 23, 59)), True),
        (Moment.day(date(2024, 12, 31)), True),  # the whole day is before the deadline
        (Moment.day(date(2025, 1, 1)), None),  # the day straddles 08:00: undecidable
        (Moment.day(date(2025, 1, 2)), False),
    ],
    ids=[
        "exactly-12h",
        "12h-1s-late",
        "before-midnight",
        "day-before",
        "day-straddles",
        "day-after",
    ],
)
def test_on_time(downstream: Moment, expected: bool | None) -> None:
    assert on_time(UP, downstream, H12) is expected


def test_day_only_upstream_is_judged_over_the_whole_day() -> None:
    upstream = Moment.day(date(2025, 3, 3))
    assert on_time(upstream, Moment.exact(bj(2025, 3, 3, 11, 0)), H12) is True
    assert on_time(upstream, Moment.exact(bj(2025, 3, 3, 18, 0)), H12) is None
    assert on_time(upstream, Moment.exact(bj(2025, 3, 4, 12, 0, 1)), H12) is False


def test_ladder_steps_fall_due_at_their_fractions() -> None:
    ladder = load_profile("jiangxi").repost_ladder
    opened = bj(2025, 1, 1, 22, 0)
    due = opened + timedelta(hours=12)
    assert crossed_steps(opened, due, bj(2025, 1, 2, 3, 59), ladder) == []
    assert crossed_steps(opened, due, bj(2025, 1, 2, 4, 0), ladder) == [LadderStep(0.5, "remind")]
    assert [s.level for s in crossed_steps(opened, due, bj(2025, 1, 2, 7, 36), ladder)] == [
        "remind",
        "warn",
    ]
    assert len(crossed_steps(opened, due, due, ladder)) == 3


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        Moment.exact(datetime(2025, 1, 1, 8, 0))

"""Deadline arithmetic at the edges: midnight, year end, day-only times, the inclusive limit."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from syndicator.rules import (
    LadderStep,
    Moment,
    crossed_steps,
    load_profile,
    observed_moment,
    on_time,
    repost_due,
    repost_window,
)
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


def test_repost_window_from_an_exact_time() -> None:
    window = repost_window(bj(2024, 12, 31, 20, 0), "datetime", bj(2024, 12, 31, 20, 5), H12)
    assert (window.basis, window.due_at) == ("published", bj(2025, 1, 1, 8, 0))
    assert window.published.is_exact


def test_repost_window_of_a_day_runs_from_the_latest_possible_publication() -> None:
    # Listed as 2025-01-01 only, first seen at 15:00: it was published by 15:00 at the latest.
    window = repost_window(bj(2025, 1, 1), "date", bj(2025, 1, 1, 15, 0), H12)
    assert window.basis == "published_date"
    assert window.published.earliest == bj(2025, 1, 1, 0, 0)
    assert window.due_at == bj(2025, 1, 2, 3, 0)
    # Seen days later: the end of the day bounds it.
    late = repost_window(bj(2025, 1, 1), "date", bj(2025, 1, 5, 9, 0), H12)
    assert late.due_at == Moment.day(date(2025, 1, 1)).latest + H12


def test_repost_window_without_a_time_uses_the_first_sighting() -> None:
    window = repost_window(None, "none", bj(2025, 1, 1, 23, 30), H12)
    assert (window.basis, window.due_at) == ("first_seen", bj(2025, 1, 2, 11, 30))


@pytest.mark.parametrize(
    ("published", "precision", "not_before", "earliest", "latest"),
    [
        (bj(2025, 1, 1, 10, 0), "datetime", None, bj(2025, 1, 1, 10, 0), bj(2025, 1, 1, 10, 0)),
        # A stated time after the first sighting is capped at the sighting.
        (bj(2025, 1, 2, 10, 0), "datetime", None, bj(2025, 1, 1, 12, 0), bj(2025, 1, 1, 12, 0)),
        (bj(2025, 1, 1), "date", None, bj(2025, 1, 1, 0, 0), bj(2025, 1, 1, 12, 0)),
        (bj(2025, 1, 1), "date", bj(2025, 1, 1, 9, 0), bj(2025, 1, 1, 9, 0), bj(2025, 1, 1, 12, 0)),
        (None, "none", bj(2025, 1, 1, 11, 0), bj(2025, 1, 1, 11, 0), bj(2025, 1, 1, 12, 0)),
        (None, "none", None, bj(2025, 1, 1, 12, 0), bj(2025, 1, 1, 12, 0)),
    ],
    ids=["exact", "future-capped", "day", "day-after-check", "untimed", "untimed-no-check"],
)
def test_observed_moment_uses_the_sighting_and_the_previous_check(
    published: datetime | None,
    precision: str,
    not_before: datetime | None,
    earliest: datetime,
    latest: datetime,
) -> None:
    moment = observed_moment(published, precision, bj(2025, 1, 1, 12, 0), not_before=not_before)
    assert (moment.earliest, moment.latest) == (earliest, latest)

"""Deadline arithmetic: the one place where syndicator decides "by when" and "in time or not".

Times are UTC-aware datetimes. A publication time is a :class:`Moment`: an exact instant, or a
whole Asia/Shanghai day when a list shows only the date. Repost deadlines are wall-clock hours
(nights, weekends and holidays count, rules.md §3), so ``due = published + deadline``; a
deadline is met when the latency is at most the deadline (inclusive). When a day-only time
straddles the deadline, the question has no answer: :func:`on_time` returns ``None`` rather than
guessing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from syndicator.rules.profiles import LadderStep

__all__ = [
    "SHANGHAI",
    "Moment",
    "RepostWindow",
    "crossed_steps",
    "latency",
    "observed_moment",
    "on_time",
    "repost_due",
    "repost_window",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
_TICK = timedelta(microseconds=1)


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()}: deadlines need aware times")
    return at.astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Moment:
    """When something was published, as precisely as it is known.

    ``earliest`` and ``latest`` are inclusive UTC bounds; they are equal for an exact time.
    """

    earliest: datetime
    latest: datetime

    @classmethod
    def exact(cls, at: datetime) -> Moment:
        at = _aware(at)
        return cls(at, at)

    @classmethod
    def day(cls, day: date) -> Moment:
        """The whole Asia/Shanghai calendar day."""
        start = datetime.combine(day, time(0), tzinfo=SHANGHAI)
        end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI)
        return cls(start.astimezone(UTC), end.astimezone(UTC) - _TICK)

    @classmethod
    def of(cls, at: datetime, precision: Literal["datetime", "date"]) -> Moment:
        """From a stored time and its precision (``date``: the day of ``at`` in Shanghai)."""
        if precision == "date":
            return cls.day(_aware(at).astimezone(SHANGHAI).date())
        return cls.exact(at)

    @classmethod
    def parse(cls, text: str) -> Moment:
        """``2024-01-05`` (a whole Beijing day) or ISO 8601 with an offset.

        Raises:
            ValueError: not ISO 8601, or a time without a UTC offset.
        """
        text = text.strip()
        if len(text) == 10:
            return cls.day(date.fromisoformat(text))
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            raise ValueError(f"{text!r} has a time but no UTC offset (add +08:00)")
        return cls.exact(parsed)

    @property
    def is_exact(self) -> bool:
        return self.earliest == self.latest

    def clip(
        self, *, not_before: datetime | None = None, not_after: datetime | None = None
    ) -> Moment:
        """Narrow the bounds with what else is known (never widens).

        ``not_after``: something cannot be published after syndicator first saw it (a stated
        time later than that is clock skew: the sighting wins). ``not_before``: nor before the
        last check that did not list it yet (a stated time earlier than that is kept: lists
        page and reorder, so the absence is weaker evidence than the stated time).
        """
        earliest, latest = self.earliest, self.latest
        if not_after is not None:
            not_after = _aware(not_after)
            latest = min(latest, not_after)
            earliest = min(earliest, not_after)
        if not_before is not None:
            earliest = min(max(earliest, _aware(not_before)), latest)
        return Moment(earliest, latest)


def observed_moment(
    published_at: datetime | None,
    precision: str,
    first_seen_at: datetime,
    *,
    not_before: datetime | None = None,
) -> Moment:
    """When a list entry was published, from what the list said and when it was seen.

    ``precision`` is ``datetime``, ``date`` (a whole Beijing day) or ``none`` (no time given:
    anywhere from *not_before* up to the first sighting). A stated time later than the first
    sighting (clock skew, a scheduled CMS date) is capped at the sighting.
    """
    first_seen_at = _aware(first_seen_at)
    if precision == "none" or published_at is None:
        start = _aware(not_before) if not_before is not None else first_seen_at
        return Moment(min(start, first_seen_at), first_seen_at)
    moment = Moment.of(published_at, "date") if precision == "date" else Moment.exact(published_at)
    return moment.clip(not_before=not_before, not_after=first_seen_at)


@dataclass(frozen=True, slots=True)
class RepostWindow:
    """The window a key item opens: its publication as known, the due time and its basis.

    ``basis`` is ``published`` (exact), ``published_date`` (only the day was given: the window
    runs from the *latest* possible publication, bounded by the first sighting, so no site is
    told it is late before it can be) or ``first_seen`` (no time at all).
    """

    published: Moment
    due_at: datetime
    basis: Literal["published", "published_date", "first_seen"]


def repost_window(
    published_at: datetime | None, precision: str, first_seen_at: datetime, deadline: timedelta
) -> RepostWindow:
    """The deadline window of a key item (see :class:`RepostWindow`)."""
    if precision == "none" or published_at is None:
        seen = Moment.exact(first_seen_at)
        return RepostWindow(seen, seen.latest + deadline, "first_seen")
    moment = observed_moment(published_at, precision, first_seen_at)
    basis: Literal["published", "published_date"] = (
        "published" if precision == "datetime" else "published_date"
    )
    return RepostWindow(moment, moment.latest + deadline, basis)


def repost_due(published: Moment, deadline: timedelta) -> datetime:
    """The time by which a repost is due.

    For a day-only publication the window starts at the start of that day, so the deadline is
    never later than the rules allow; callers flag such deadlines as approximate.
    """
    return published.earliest + deadline


def latency(upstream: Moment, downstream: Moment) -> tuple[timedelta, timedelta]:
    """The smallest and largest possible delay between the two publications."""
    return downstream.earliest - upstream.latest, downstream.latest - upstream.earliest


def on_time(upstream: Moment, downstream: Moment, deadline: timedelta) -> bool | None:
    """Whether the repost came within *deadline* (inclusive); ``None`` when undecidable."""
    shortest, longest = latency(upstream, downstream)
    if longest <= deadline:
        return True
    if shortest > deadline:
        return False
    return None


def crossed_steps(
    opened: datetime, due: datetime, now: datetime, ladder: Sequence[LadderStep]
) -> list[LadderStep]:
    """The ladder steps whose moment (``opened + at × window``) has come by *now*."""
    opened, due, now = _aware(opened), _aware(due), _aware(now)
    window = due - opened
    return [step for step in ladder if opened + window * step.at <= now]

"""Time sources. Store UTC, show Asia/Shanghai; every caller takes a :class:`Clock` so tests can
move time without sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

__all__ = ["SHANGHAI", "Clock", "FrozenClock", "SystemClock", "format_local", "utcnow"]

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return utcnow()

    def __repr__(self) -> str:
        return "SystemClock()"


class FrozenClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs a timezone-aware start")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when.astimezone(UTC)

    def advance(self, delta: timedelta | float) -> datetime:
        self._now += delta if isinstance(delta, timedelta) else timedelta(seconds=delta)
        return self._now

    def __repr__(self) -> str:
        return f"FrozenClock({self._now.isoformat()})"


def format_local(
    when: datetime | None,
    *,
    tz: ZoneInfo = SHANGHAI,
    seconds: bool = False,
    date_only: bool = False,
) -> str:
    """Render a stored UTC time for people: ``2024-01-05 18:30`` in Asia/Shanghai.

    ``date_only`` is for times known only to the day: showing them as ``00:00`` would claim a
    precision nobody has.
    """
    if when is None:
        return "—"
    fmt = "%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M"
    return when.astimezone(tz).strftime(fmt)

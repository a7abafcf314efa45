"""When to check a source next, and whether it still counts as working.

Pure functions over plain values: the poll service feeds them what it saw and stores what they
return. Nothing here ever disables a source: a source that keeps failing is checked less often
(backoff capped at ``interval × backoff_cap_factor``) and is flagged, but never dropped, because a
site that silently stops being checked is exactly what the compliance rules must not miss.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from syndicator.db.models import FetchStatus, SourceHealth
from syndicator.settings import SchedulerSettings

__all__ = [
    "HealthVerdict",
    "first_check_at",
    "judge_health",
    "next_check_at",
]

# Statuses meaning "we could not reach the site at all" rather than "the site answered badly".
UNREACHABLE_STATUSES = frozenset({FetchStatus.TIMEOUT, FetchStatus.CONNECT_ERROR})
FINE_STATUSES = frozenset({FetchStatus.OK, FetchStatus.NOT_MODIFIED, FetchStatus.UNCHANGED})


def first_check_at(source_id: str, interval: int, now: datetime) -> datetime:
    """Spread first checks over one interval, stably per source id (no thundering herd).

    The offset comes from a hash of the id, so restarting the process or re-loading the sources
    file does not bunch every source together again.
    """
    digest = int.from_bytes(hashlib.sha256(source_id.encode("utf-8")).digest()[:8], "big")
    return now + timedelta(seconds=digest % max(interval, 1))


def next_check_at(
    *,
    now: datetime,
    interval: int,
    status: FetchStatus,
    error_streak: int,
    settings: SchedulerSettings,
    fresh_for: float | None = None,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> datetime:
    """The time of the next check after a poll that ended with *status*.

    Args:
        now: when the poll finished.
        interval: the source's configured interval in seconds.
        status: how the poll ended.
        error_streak: consecutive failed polls, this one included (0 after a success).
        settings: scheduler settings (backoff cap).
        fresh_for: seconds the server said its answer stays fresh (max-age / Expires).
        retry_after: seconds the server asked us to wait (Retry-After).
        rng: jitter source; jitter is ±10 % so sources polled together drift apart.
    """
    rng = rng or random.Random()
    cap = interval * settings.backoff_cap_factor
    if status in FINE_STATUSES:
        delay = float(interval)
        if fresh_for is not None and fresh_for > delay:
            # A server may ask for less frequent checks, but never so rarely that a 12-hour
            # repost window could be missed: stretching is bounded like the error backoff.
            delay = min(fresh_for, float(cap))
    else:
        delay = float(min(interval * 2 ** max(error_streak - 1, 0), cap))
    if retry_after is not None:
        delay = max(delay, min(retry_after, float(cap)))
    delay *= rng.uniform(0.9, 1.1)
    return now + timedelta(seconds=min(delay, cap))


@dataclass(frozen=True, slots=True)
class HealthVerdict:
    health: SourceHealth
    reason: str | None
    error_streak: int
    timeout_streak: int


def judge_health(
    *,
    status: FetchStatus,
    max_entries_before: int,
    error_streak: int,
    timeout_streak: int,
    previous: SourceHealth,
    previous_reason: str | None,
    error: str | None,
    settings: SchedulerSettings,
) -> HealthVerdict:
    """Decide a source's health after one poll.

    A list that now parses to no entries (status ``EMPTY``) is *broken* at once: that is what a
    site redesign looks like, and it must not pass as "nothing new".
    """
    if status in FINE_STATUSES:
        return HealthVerdict(SourceHealth.OK, None, 0, 0)
    if status is FetchStatus.EMPTY:
        reason = (
            f"列表曾有 {max_entries_before} 条，现在解析为 0 条（网站可能改版）"
            f" / list used to have {max_entries_before} entries, now parses to 0"
            if max_entries_before
            else "列表解析为 0 条，请检查选择器 / list parses to 0 entries: check the selectors"
        )
        return HealthVerdict(SourceHealth.BROKEN, reason, error_streak + 1, 0)

    errors = error_streak + 1
    timeouts = timeout_streak + 1 if status in UNREACHABLE_STATUSES else 0
    if timeouts >= settings.timeout_streak_broken:
        return HealthVerdict(
            SourceHealth.UNREACHABLE,
            f"连续 {timeouts} 次无法连接或超时 / "
            f"{timeouts} timeouts or connection failures in a row: {error}",
            errors,
            timeouts,
        )
    if errors >= settings.error_streak_broken:
        return HealthVerdict(
            SourceHealth.BROKEN,
            f"连续 {errors} 次检查失败 / {errors} failed checks in a row: {error}",
            errors,
            timeouts,
        )
    # Below the thresholds a single failure does not change the verdict.
    return HealthVerdict(previous, previous_reason, errors, timeouts)

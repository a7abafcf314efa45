"""Per-channel rate limits shared by everything that sends: sliding windows.

A channel's ``rate`` is a tuple of ``(messages, seconds)`` windows (WeCom: 20 a minute; Feishu:
5 a second and 100 a minute). :meth:`RateLimiter.reserve` either takes a slot in every window
and returns 0, or takes none and returns how long to wait for the first slot. In distributed mode
the windows live in Redis (one Lua script: atomic across workers and machines); in embedded mode
in the process.
"""

from __future__ import annotations

import threading
import uuid
from collections import defaultdict, deque
from collections.abc import Sequence
from typing import Protocol

import redis

__all__ = ["LocalRateLimiter", "RateLimiter", "RedisRateLimiter"]


class RateLimiter(Protocol):
    def reserve(self, key: str, windows: Sequence[tuple[int, float]], now: float) -> float:
        """Take a slot in every window of *key* at *now* (seconds) and return 0, or take none
        and return the seconds until one is free."""
        ...


class LocalRateLimiter:
    """Sliding windows in this process (embedded mode, tests)."""

    def __init__(self) -> None:
        self._sent: dict[tuple[str, float], deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def reserve(self, key: str, windows: Sequence[tuple[int, float]], now: float) -> float:
        with self._lock:
            wait = 0.0
            for limit, span in windows:
                log = self._sent[key, span]
                while log and log[0] <= now - span:
                    log.popleft()
                if len(log) >= limit:
                    wait = max(wait, log[len(log) - limit] + span - now)
            if wait > 0:
                return wait
            for _limit, span in windows:
                self._sent[key, span].append(now)
            return 0.0


# KEYS: one sorted set per window; ARGV: now, member, then (limit, span) per window.
_RESERVE = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local limit = tonumber(ARGV[1 + 2 * i])
  local span = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - span)
  local count = redis.call('ZCARD', key)
  if count >= limit then
    local oldest = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
    local free = tonumber(oldest[2]) + span - now
    if free > wait then wait = free end
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  local span = tonumber(ARGV[2 + 2 * i])
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, math.ceil(span * 1000) + 1000)
end
return '0'
"""


class RedisRateLimiter:
    """Sliding windows in Redis, shared by every worker (distributed mode)."""

    def __init__(self, client: redis.Redis, *, prefix: str = "syndicator:rate") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_RESERVE)

    def reserve(self, key: str, windows: Sequence[tuple[int, float]], now: float) -> float:
        if not windows:
            return 0.0
        keys = [f"{self._prefix}:{key}:{span:g}" for _limit, span in windows]
        args: list[str | float | int] = [now, f"{now}:{uuid.uuid4().hex}"]
        for limit, span in windows:
            args += [limit, span]
        return float(self._script(keys=keys, args=args))

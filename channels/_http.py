"""What the HTTP adapters share: reading an answer, naming a failure, keeping secrets out of logs.

The pieces are small on purpose; each adapter still decides what an answer *means*:

* :data:`NOT_SENT` — the transport failures that happen before a request is written (no
  connection, no free connection in the pool): nothing reached the platform, so a retry is safe.
  Any other :class:`httpx.TransportError` may have come after the request went out.
* :func:`json_object` and :func:`retry_after` read a response's JSON object and its
  ``Retry-After`` header without raising on a body or a header that is not what it should be.
* :func:`describe` names an exception for a message to staff (``ReadTimeout: timed out``).
* :func:`mask_logs` installs a filter on a logger (``httpx`` by default, whose INFO line shows
  every request URL) that rewrites each record through a masking function, once per function.
* :class:`HttpChannel` keeps the adapter's clock and speaks in its own name (``{title} {id}：…``,
  secrets redacted); an adapter that adds no constructor argument of its own takes the base
  class's as ``**options: Unpack[HttpOptions]``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any, Unpack

import httpx

from channels.base import Channel, ChannelOptions

__all__ = [
    "NOT_SENT",
    "HttpChannel",
    "HttpOptions",
    "MaskRecords",
    "describe",
    "json_object",
    "mask_logs",
    "retry_after",
]

NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
"""Transport failures before the request was written: nothing was sent, a retry is safe."""


def json_object(response: httpx.Response) -> dict[str, Any] | None:
    """The response's body as a JSON object, or ``None`` when it is not JSON or not an object."""
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def retry_after(response: httpx.Response) -> float | None:
    """The ``Retry-After`` header in seconds (never below 0); ``None`` when absent or no number.

    Only the delta-seconds form is read: an HTTP date gives ``None``.
    """
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


def describe(exc: BaseException) -> str:
    """*exc* as ``Type: text``, or ``Type`` alone when it has no text."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class MaskRecords(logging.Filter):
    """Rewrites each record's message through *mask*; a record it does not change is untouched.

    A changed record keeps the masked text as its message, its arguments already merged in.
    """

    def __init__(self, mask: Callable[[str], str]) -> None:
        super().__init__()
        self.mask = mask

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = self.mask(text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


def mask_logs(mask: Callable[[str], str], *loggers: str) -> None:
    """Mask the records of *loggers* (``httpx`` when none are named) with *mask*, once each.

    Calling it again with the same *mask* adds nothing, so an adapter can call it whenever an
    instance is built.
    """
    for name in loggers or ("httpx",):
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskRecords) and f.mask is mask for f in logger.filters):
            logger.addFilter(MaskRecords(mask))


class HttpOptions(ChannelOptions, total=False):
    """:class:`HttpChannel`'s keyword arguments: ``client``, ``base_url`` and the clock."""

    clock: Callable[[], float]


class HttpChannel(Channel):
    """A :class:`Channel` with a clock, whose messages to staff start with its title and id.

    Args:
        clock: the wall clock (seconds since the epoch) for timestamps, signatures and rate
            windows; tests pass their own. Kept as ``self._clock``.
        options: ``client`` and ``base_url``, as for :class:`~channels.base.Channel`.
    """

    def __init__(
        self,
        id: str,
        config: Mapping[str, Any],
        *,
        clock: Callable[[], float] = time.time,
        **options: Unpack[ChannelOptions],
    ) -> None:
        super().__init__(id, config, **options)
        self._clock = clock

    def _say(self, text: str) -> str:
        """*text* as ``{title} {id}：text``, redacted (every message an error carries)."""
        return self.redact(f"{self.title} {self.id}：{text}")

    def _exc(self, exc: BaseException) -> str:
        """*exc* as :func:`describe` names it, redacted."""
        return self.redact(describe(exc))

    def _refused(self, explain: str, code: int, said: str) -> str:
        """``explain（code said）`` through :meth:`_say`; ``explain（code）`` when *said* is empty.

        *said* is the platform's own (already redacted) text for its error *code*.
        """
        return self._say(f"{explain}（{code} {said}）" if said else f"{explain}（{code}）")

    def _details(
        self, code: int | None, response: httpx.Response, data: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The keyword arguments of an error about *response*: the code, status and body.

        The body (``raw``) is redacted; pass the dict on as ``**kw`` to any
        :class:`~channels.base.ChannelError`.
        """
        return {
            "platform_code": code,
            "http_status": response.status_code,
            "raw": self.redact_data(dict(data)),
        }

"""What the group-robot adapters share: posting one JSON message and reading its ``errcode``.

WeCom's and DingTalk's robots answer business errors with HTTP 200 and a non-zero ``errcode``
(``docs/channel-contracts.md`` §0.1), so the body decides; the HTTP status only matters when
there is no ``errcode`` to read. :meth:`RobotChannel._post` turns the transport-level outcomes
into errors the same way for both:

==========================================  =========================================
what happened                               raised
==========================================  =========================================
no connection (refused, connect timeout)    :class:`Retryable` — nothing was sent
sent, no answer (read timeout, dropped)     :class:`Unconfirmed` — a robot has no
                                            status check: staff confirm in the group
HTTP 5xx                                    :class:`Retryable`
HTTP 429 without ``errcode``                :class:`RateLimited` (``Retry-After``)
HTTP 2xx without ``errcode``                :class:`Unconfirmed`
other HTTP status without ``errcode``       :class:`Misconfigured` (wrong base URL …)
==========================================  =========================================

Otherwise it returns the ``errcode`` for the adapter's own table. The robots' credentials ride
in the query string (``key=``, ``access_token=``, ``sign=``): :meth:`RobotChannel.redact` also
masks those parameters, so a URL in an exception or a log line shows none of them, and a filter
on the ``httpx`` logger masks them in httpx's own request lines.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import httpx

from channels.base import (
    Channel,
    Misconfigured,
    RateLimited,
    Retryable,
    Unconfirmed,
)

__all__ = ["RobotChannel", "errcode", "truncate_utf8", "utf8_len"]

log = logging.getLogger(__name__)

_SECRET_PARAMS = re.compile(r"(?i)\b(key|access_token|sign|secret)=[^&\s'\"<>]*")


class _RedactQuery(logging.Filter):
    """Masks the robots' secret query parameters in httpx's own "HTTP Request: … URL" records."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        masked = _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)
        if masked != text:
            record.msg, record.args = masked, None
        return True


def _guard_httpx_log() -> None:
    # httpx logs every request URL at INFO, and a robot's credential is in its query string.
    logger = logging.getLogger("httpx")
    if not any(isinstance(f, _RedactQuery) for f in logger.filters):
        logger.addFilter(_RedactQuery())


def utf8_len(text: str) -> int:
    """The length of *text* in UTF-8 bytes (a Chinese character is 3)."""
    return len(text.encode("utf-8"))


def truncate_utf8(text: str, size: int, *, ellipsis: str = "…") -> str:
    """*text* cut to at most *size* UTF-8 bytes on a character boundary, ending in *ellipsis*.

    Text that fits is returned unchanged; the ellipsis counts towards *size*.
    """
    data = text.encode("utf-8")
    if len(data) <= size:
        return text
    room = size - utf8_len(ellipsis)
    if room <= 0:
        return data[:size].decode("utf-8", "ignore")
    return data[:room].decode("utf-8", "ignore") + ellipsis


def errcode(data: Mapping[str, Any]) -> int | None:
    """The body's ``errcode`` as a number, or ``None`` when it has none."""
    value = data.get("errcode")
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class RobotChannel(Channel):
    """A group robot: one webhook, one JSON message per publish, no status check.

    Args:
        clock: the wall clock (seconds since the epoch); for signatures and the rate windows.
    """

    robot_path: ClassVar[str]
    """The send endpoint's path under the base URL."""

    def __init__(
        self,
        id: str,
        config: Mapping[str, Any],
        *,
        client: httpx.AsyncClient,
        base_url: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(id, config, client=client, base_url=base_url)
        self._clock = clock
        _guard_httpx_log()

    def redact(self, text: str) -> str:
        """*text* with the secrets and the secret query parameters replaced by ``***``."""
        return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", super().redact(text))

    def _say(self, text: str) -> str:
        return self.redact(f"{self.title} {self.id}：{text}")

    def _exc(self, exc: Exception) -> str:
        return self.redact(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)

    async def _post(
        self, params: Mapping[str, str], payload: Mapping[str, Any], *, idempotency_key: str
    ) -> tuple[int, dict[str, Any], httpx.Response]:
        """Post *payload* to the robot; return ``(errcode, body, response)``.

        *params* is the query string, already encoded where the platform wants it so (a
        DingTalk signature is URL-encoded by the caller and must not be encoded twice).

        Raises:
            Retryable, RateLimited, Unconfirmed, Misconfigured: see the module's table.
        """
        assert self.base_url is not None
        query = "&".join(f"{k}={v}" for k, v in params.items())
        url = f"{self.base_url}{self.robot_path}?{query}"
        content = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            response = await self.client.post(url, content=content, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise Retryable(self._say(f"无法连接{self.title}：{self._exc(exc)}")) from None
        except httpx.TransportError as exc:
            log.warning(
                "%s %s: no answer to send (%s): %s",
                self.name,
                self.id,
                idempotency_key,
                self._exc(exc),
            )
            raise Unconfirmed(
                self._say(
                    f"消息已发出但未收到应答（{self._exc(exc)}），可能已送达群聊；"
                    "机器人无法查询发送结果，请到群里核对后再确认，切勿直接重发"
                )
            ) from None
        data = _json(response)
        code = errcode(data)
        status = response.status_code
        raw = self.redact_data(data)
        if status >= 500:
            raise Retryable(
                self._say(f"{self.title}服务错误（HTTP {status}），稍后重试"),
                platform_code=code,
                http_status=status,
                raw=raw,
            )
        if code is None:
            if status == 429:
                raise RateLimited(
                    self._say(f"请求过于频繁（HTTP {status}）"),
                    retry_after=_retry_after(response),
                    http_status=status,
                    raw=raw,
                )
            if response.is_success:
                raise Unconfirmed(
                    self._say(
                        f"应答（HTTP {status}）中没有 errcode，无法确认是否送达；请到群里核对"
                    ),
                    http_status=status,
                    raw=raw,
                )
            raise Misconfigured(
                self._say(f"{self.title}拒绝了请求（HTTP {status}），请核对 webhook 地址"),
                http_status=status,
                raw=raw,
            )
        return code, data, response


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None

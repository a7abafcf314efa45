"""What the group-bot adapters share: posting one JSON message and reading its ``errcode``.

WeCom's and DingTalk's robots answer business errors with HTTP 200 and a non-zero ``errcode``
(``docs/channel-contracts.md`` §0.1), so the body decides; the HTTP status only matters when
there is no ``errcode`` to read. :meth:`RobotChannel._post` turns the transport-level outcomes
into errors the same way for both (the first two rows are :meth:`GroupBot._send`, which the
Feishu bot shares):

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
in the query string (``key=``, ``access_token=``, ``sign=``): :meth:`GroupBot.redact` also
masks those parameters, so a URL in an exception or a log line shows none of them, and a filter
on the ``httpx`` logger masks them in httpx's own request lines.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Collection, Iterator, Mapping
from typing import Any, ClassVar, Unpack

import httpx

from channels._http import NOT_SENT, HttpChannel, HttpOptions, json_object, mask_logs, retry_after
from channels.base import BadContent, Misconfigured, RateLimited, Receipt, Retryable, Unconfirmed

__all__ = [
    "GroupBot",
    "RobotChannel",
    "errcode",
    "keywords_mismatch",
    "texts",
    "truncate_utf8",
    "utf8_len",
]

log = logging.getLogger(__name__)

_SECRET_PARAMS = re.compile(r"(?i)\b(key|access_token|sign|secret)=[^&\s'\"<>]*")


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


def texts(value: Any, *, skip: Collection[str] = ()) -> Iterator[str]:
    """Every string in the JSON-like *value*, except those under a key in *skip*."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key not in skip:
                yield from texts(item, skip=skip)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from texts(item, skip=skip)


def keywords_mismatch(keywords: Collection[str]) -> str:
    """What to tell staff when the platform refuses a message for its bot's custom keywords."""
    configured = "、".join(keywords) if keywords else "未配置"
    return (
        "消息不含机器人的自定义关键词；请核对渠道配置的 keywords"
        f"（当前：{configured}）与机器人安全设置是否一致"
    )


class GroupBot(HttpChannel):
    """A bot in a group chat (WeCom, DingTalk, Feishu): one webhook, one JSON message per publish.

    Its credential is part of the webhook's URL, which :meth:`_mask` hides: :meth:`redact` and
    a filter on httpx's own request log apply it. The platform keeps no record a publish could
    be checked against, so :meth:`_send` raises :class:`Unconfirmed` for a request that went out
    without an answer: staff confirm it in the group.
    """

    _log: ClassVar[logging.Logger] = log
    """Where :meth:`_send` logs a request left without an answer."""

    def __init__(self, id: str, config: Mapping[str, Any], **options: Unpack[HttpOptions]) -> None:
        super().__init__(id, config, **options)
        # httpx logs every request URL at INFO, and the bot's credential is in it.
        mask_logs(self._mask)

    @staticmethod
    def _mask(text: str) -> str:
        """*text* with the credential in the bot's URLs masked; each platform says how."""
        return text

    def redact(self, text: str) -> str:
        """*text* with the secrets replaced by ``***`` and the webhook URLs masked."""
        return self._mask(super().redact(text))

    def _published(self, detail: str, data: Mapping[str, Any]) -> Receipt:
        """The receipt of a message the bot accepted: final, but with no message id to give."""
        return Receipt(
            status="published", platform_code=0, detail=detail, raw=self.redact_data(data)
        )

    def _require_keyword(
        self,
        payload: Mapping[str, Any],
        keywords: Collection[str],
        *,
        skip: Collection[str],
        platform: str,
    ) -> None:
        """Refuse *payload* before sending when none of its texts holds one of *keywords*.

        A bot with custom keywords (自定义关键词) rejects such a message anyway; *skip* names the
        body's keys that hold markup or ids rather than text, *platform* the one that rejects.

        Raises:
            BadContent: ``platform_code`` ``"keywords"``; nothing when *keywords* is empty.
        """
        if keywords and not any(k in s for s in texts(payload, skip=skip) for k in keywords):
            raise BadContent(
                self._say(
                    "消息不含机器人的任何自定义关键词（"
                    + "、".join(keywords)
                    + f"），{platform}会拒收；请在消息中加入其中一个"
                ),
                platform_code="keywords",
            )

    async def _send(
        self, url: str, content: bytes, *, idempotency_key: str, service: str
    ) -> httpx.Response:
        """POST *content* (UTF-8 JSON) to *url*; return the response, whatever its status.

        Raises:
            Retryable: no connection (*service* names the platform in the message).
            Unconfirmed: sent, but no answer came back (read timeout, connection dropped).
        """
        headers = {"Content-Type": "application/json; charset=utf-8"}
        try:
            return await self.client.post(url, content=content, headers=headers)
        except NOT_SENT as exc:
            raise Retryable(self._say(f"无法连接{service}：{self._exc(exc)}")) from None
        except httpx.TransportError as exc:
            self._log.warning(
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


class RobotChannel(GroupBot):
    """A WeCom or DingTalk group robot: the credential in the query string, ``errcode`` answers."""

    robot_path: ClassVar[str]
    """The send endpoint's path under the base URL."""

    @staticmethod
    def _mask(text: str) -> str:
        """*text* with the secret query parameters (``key=``, ``sign=`` …) shown as ``***``."""
        return _SECRET_PARAMS.sub(lambda m: f"{m.group(1)}=***", text)

    def _forced_msgtype(self, extra: Mapping[str, Any], msgtypes: Collection[str]) -> str | None:
        """The ``msgtype`` a message's *extra* forces, or ``None`` when it forces none.

        Raises:
            BadContent: it forces one that is not among *msgtypes*.
        """
        forced = extra.get("msgtype")
        if forced is None:
            return None
        if forced not in msgtypes:
            raise BadContent(self._say(f"不支持的消息类型 {forced!r}"))
        return str(forced)

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
        response = await self._send(
            url, content, idempotency_key=idempotency_key, service=self.title
        )
        data = json_object(response) or {}
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
                    retry_after=retry_after(response),
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

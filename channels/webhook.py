"""Generic webhook: a JSON POST signed with HMAC-SHA256, for any in-house system (OA, 值班系统).

The request (the same scheme as syndicator's notice webhooks, so one receiver verifies both)::

    POST <url>
    Content-Type: application/json; charset=utf-8
    X-Syndicator-Event: push.<kind>
    X-Syndicator-Delivery: <idempotency key>      the same on every retry: drop repeats
    X-Syndicator-Timestamp: <unix seconds>
    X-Syndicator-Signature: sha256=<hex HMAC-SHA256(secret, b"<timestamp>." + body)>

    {"idempotency_key", "kind", "title", "body", "format", "summary", "url", "author", "sent_at"}

A receiver recomputes the signature over the raw body bytes, compares it in constant time and
rejects timestamps more than 300 s from its own clock (:mod:`syndicator.notify` describes the
same scheme for notices; this module re-implements the few lines, ``channels`` being
independent of ``syndicator``).

=====================================  ======================================================
answer                                 outcome
=====================================  ======================================================
2xx                                    published (a JSON ``id`` becomes the external id)
429                                    :class:`RateLimited` (``retry_after`` from Retry-After)
5xx, 408                               :class:`Retryable`
400, 413, 415, 422                     :class:`BadContent`: the receiver refuses the content
401, 403, 404, other 3xx/4xx           :class:`Misconfigured`: address or secret
no connection                          :class:`Retryable`: nothing was sent
sent, no answer (timeout, dropped)     :class:`Unconfirmed`
=====================================  ======================================================

Because receivers are asked to drop a repeated delivery id, the adapter is ``idempotent``: a
delivery whose first attempt has no known outcome may be sent again. The URL may carry a
credential of its own (``?token=…``, ``user:password@``): every URL this module shows or logs,
httpx's request line included, has the query values and the password masked.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Unpack
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from channels._config import config_error
from channels._http import NOT_SENT, HttpChannel, HttpOptions, MaskRecords
from channels.base import (
    BadContent,
    Capability,
    Format,
    Message,
    Misconfigured,
    RateLimited,
    Receipt,
    Retryable,
    Unconfirmed,
)

__all__ = ["RESERVED_HEADERS", "Webhook", "mask_url", "sign"]

RESERVED_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "host",
        "x-syndicator-event",
        "x-syndicator-delivery",
        "x-syndicator-timestamp",
        "x-syndicator-signature",
    }
)
"""Headers the adapter sets itself; the ``headers`` option cannot replace them."""


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``b"<timestamp>." + body`` keyed with *secret*."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256
    ).hexdigest()
    return f"sha256={digest}"


def mask_url(url: str) -> str:
    """*url* with its password and every query value shown as ``***``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            netloc = f"{parts.username or ''}:***@{netloc.rpartition('@')[2]}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, "***") for k, _ in pairs], safe="*")
        return urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        return "<invalid url>"


class _MaskUrls(MaskRecords):
    """Shows the configured webhook URLs masked in httpx's own "HTTP Request: …" records."""

    def __init__(self) -> None:
        super().__init__(self._replace)
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    def add(self, url: str) -> None:
        masked = mask_url(url)
        if masked != url:
            with self._lock:
                self._urls[url] = masked

    def _replace(self, text: str) -> str:
        for url, safe in sorted(self._urls.items(), key=lambda kv: len(kv[0]), reverse=True):
            text = text.replace(url, safe)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        return True if not self._urls else super().filter(record)


_URL_FILTER = _MaskUrls()


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return None


class Webhook(HttpChannel):
    """Signed JSON to an in-house endpoint.

    Configuration:
        url: the endpoint, an absolute http(s) URL (its query and password are masked).
        secret: the HMAC key (a secret).
        timeout: seconds for each of connect, write and read (default 10).
        headers: extra, non-secret headers (a string table), e.g. ``{"X-Office": "jx"}``;
            they cannot replace :data:`RESERVED_HEADERS`.

    Args:
        clock: the wall clock (seconds since the epoch) for the timestamp and ``sent_at``.
    """

    name = "webhook"
    title = "通用 Webhook"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.TEXT, Capability.MARKDOWN, Capability.HTML, Capability.LINK}
    )
    formats: ClassVar[tuple[Format, ...]] = ("plain", "markdown", "html")
    required_fields = ("url", "secret")
    optional_fields = ("timeout", "headers")
    secret_fields = ("secret",)
    idempotent = True

    def __init__(self, id: str, config: Mapping[str, Any], **options: Unpack[HttpOptions]) -> None:
        super().__init__(id, config, **options)
        url = str(self.config["url"])
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise config_error(self, f"url must be an absolute http(s) URL, not {mask_url(url)!r}")
        headers = self.config.get("headers") or {}
        if not isinstance(headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise config_error(self, "headers must be a string table")
        reserved = sorted(k for k in headers if k.lower() in RESERVED_HEADERS)
        if reserved:
            raise config_error(
                self, f"headers cannot set {', '.join(reserved)} (the adapter sets them)"
            )
        timeout = self.config.get("timeout", 10)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise config_error(self, "timeout must be seconds > 0")
        self._url = url
        self._headers = dict(headers)
        self._timeout = float(timeout)
        _URL_FILTER.add(url)
        logger = logging.getLogger("httpx")
        if _URL_FILTER not in logger.filters:
            logger.addFilter(_URL_FILTER)

    def redact(self, text: str) -> str:
        """*text* with the secret replaced by ``***`` and the URL shown masked."""
        return super().redact(text.replace(self._url, mask_url(self._url)))

    def payload(self, message: Message, idempotency_key: str) -> dict[str, Any]:
        """The JSON body: the message's fields, the key, and ``sent_at`` (ISO 8601, UTC)."""
        return {
            "idempotency_key": idempotency_key,
            "kind": message.kind,
            "title": message.title,
            "body": message.body,
            "format": message.format,
            "summary": message.summary,
            "url": message.url,
            "author": message.author,
            "sent_at": datetime.fromtimestamp(self._clock(), UTC).isoformat(),
        }

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        """POST *message*, signed, with *idempotency_key* as ``X-Syndicator-Delivery``.

        Raises:
            BadContent: an empty body; HTTP 400, 413, 415, 422.
            Misconfigured: HTTP 401, 403, 404 and other 3xx/4xx (address or secret).
            RateLimited: HTTP 429.
            Retryable: no connection; HTTP 5xx, 408.
            Unconfirmed: sent, but no answer came back (timeout, connection dropped).
        """
        if not message.body.strip():
            raise BadContent(f"通用 Webhook {self.id}：正文为空，未发送")
        body = json.dumps(
            self.payload(message, idempotency_key), ensure_ascii=False, separators=(",", ":")
        ).encode("utf-8")
        stamp = int(self._clock())
        headers = {
            **self._headers,
            "Content-Type": "application/json; charset=utf-8",
            "X-Syndicator-Event": f"push.{message.kind}",
            "X-Syndicator-Delivery": idempotency_key,
            "X-Syndicator-Timestamp": str(stamp),
            "X-Syndicator-Signature": sign(str(self.config["secret"]), stamp, body),
        }
        where = mask_url(self._url)
        try:
            response = await self.client.post(
                self._url, content=body, headers=headers, timeout=self._timeout
            )
        except NOT_SENT as exc:
            raise Retryable(
                self.redact(f"通用 Webhook {self.id}：无法连接 {where}：{exc}")
            ) from None
        except httpx.TransportError as exc:
            raise Unconfirmed(
                self.redact(
                    f"通用 Webhook {self.id}：请求已发出但未收到应答（{type(exc).__name__}），"
                    "接收方可能已收到；按投递编号去重后可安全重发"
                )
            ) from None
        return self._receipt(response, where)

    def _receipt(self, response: httpx.Response, where: str) -> Receipt:
        status = response.status_code
        try:
            data: Any = response.json()
        except ValueError:
            data = {"text": response.text[:500]}
        raw = self.redact_data(data if isinstance(data, dict) else {"body": data})
        if 200 <= status < 300:
            ident = data.get("id") if isinstance(data, dict) else None
            return Receipt(
                status="published",
                external_id=None if ident is None else str(ident),
                platform_code=status,
                detail=f"接收方已确认（HTTP {status}）",
                raw=raw,
            )
        text = f"通用 Webhook {self.id}：{where} 返回 HTTP {status}"
        kw: dict[str, Any] = {"http_status": status, "platform_code": status, "raw": raw}
        if status == 429:
            wait = _retry_after(response.headers.get("Retry-After"), self._clock())
            raise RateLimited(f"{text}（频率受限）", retry_after=wait, **kw)
        if status >= 500 or status == 408:
            raise Retryable(f"{text}（接收方暂时不可用）", **kw)
        if status in (400, 413, 415, 422):
            raise BadContent(f"{text}（接收方拒绝了内容）", **kw)
        raise Misconfigured(f"{text}（检查地址与签名密钥）", **kw)

    def __repr__(self) -> str:
        return f"Webhook(id={self.id!r}, url={mask_url(self._url)!r})"

"""Generic webhook: a JSON POST signed with HMAC-SHA256, for any in-house system (OA, 值班系统).

The request (the same scheme as syndicator's notice webhooks, so one receiver verifies both)::

    POST <url>
    Content-Type: application/json; charset=utf-8
    X-Syndicator-Event: push.<kind>
    X-Syndicator-Delivery: <idempotency key>      the same on every retry: drop repeats
    X-Syndicator-Timestamp: <unix seconds>
    X-Syndicator-Signature: sha256=<hex HMAC-SHA256(secret, b"<timestamp>." + body)>

    {"idempotency_key", "kind", "title", "body", "format", "summary", "url", "author", "sent_at"}

Any 2xx is success (a JSON ``id`` in the answer becomes the external id). Because receivers are
asked to drop a repeated delivery id, the adapter is ``idempotent``: a delivery whose first
attempt has no known outcome may be sent again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

import httpx

from channels.base import (
    BadContent,
    Capability,
    Channel,
    ChannelConfigError,
    Format,
    Message,
    Misconfigured,
    RateLimited,
    Receipt,
    Retryable,
    Unconfirmed,
)

__all__ = ["Webhook", "sign"]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 of ``b"<timestamp>." + body`` keyed with *secret*."""
    digest = hmac.new(
        secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256
    ).hexdigest()
    return f"sha256={digest}"


def _retry_after(value: str | None, now: float) -> float | None:
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return max(parsedate_to_datetime(value).timestamp() - now, 0.0)
    except (TypeError, ValueError):
        return None


class Webhook(Channel):
    """Signed JSON to an in-house endpoint."""

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
        url = str(self.config["url"])
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ChannelConfigError(f"channel {id!r} (webhook): url must be http(s), not {url!r}")
        headers = self.config.get("headers") or {}
        if not isinstance(headers, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            raise ChannelConfigError(f"channel {id!r} (webhook): headers must be a string table")
        timeout = self.config.get("timeout", 10)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ChannelConfigError(f"channel {id!r} (webhook): timeout must be seconds > 0")
        self._url = url
        self._headers = dict(headers)
        self._timeout = float(timeout)
        self._clock = clock

    def payload(self, message: Message, idempotency_key: str) -> dict[str, Any]:
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
        where = self.redact(self._url)
        try:
            response = await self.client.post(
                self._url, content=body, headers=headers, timeout=self._timeout
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
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

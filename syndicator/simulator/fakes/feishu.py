"""A fake Feishu / Lark (飞书) custom-bot webhook (``open.feishu.cn``) for tests and the demo.

It serves ``POST /open-apis/bot/v2/hook/{HOOK_ID}`` (and the same with a trailing slash, as
apprise posts) with the wire behaviour of the channel contract (``docs/channel-contracts.md``
§5):

* a hook table: an unknown or removed hook id answers 19001 ``param invalid: incoming webhook
  access token invalid``; each bot with its own security settings: a signing secret, custom
  keywords, an IP whitelist;
* the signature recomputed from the body's ``timestamp`` (seconds) and ``sign``: a wrong one, or
  a timestamp more than ``max_skew`` (3600) seconds from the fake's clock, is 19021; a client
  outside the whitelist 19022; a message without any keyword (searched in the text of the
  message, not in tags, links or ids) 19024;
* per bot, sliding windows of 5 messages a second and 100 a minute; beyond either, 11232
  ``frequency limited …``;
* a request body over ``body_limit`` (20 KB) bytes, a body that is not JSON, or a message that
  is not a well-formed ``text``, ``post``, ``interactive``, ``image`` or ``share_chat``: 9499
  ``Bad Request``.

Every answer is HTTP 200 with a ``code`` body: success is ``{"code":0,"msg":"success",
"data":{}}`` plus the legacy ``Extra``/``StatusCode``/``StatusMessage`` fields; with
``legacy_errors`` an error answer carries only ``StatusCode``/``StatusMessage``, like some old
ones. Clock, fault switches (next N 5xx, slow answer, connection closed after reading the
request) and recording are those of :class:`~syndicator.simulator.fakes.wecom.RobotFake`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from syndicator.simulator.fakes._base import START, refused_ip, strings
from syndicator.simulator.fakes.wecom import Recorded, RobotFake, SlidingWindow

__all__ = [
    "HOOK_PATH",
    "MESSAGES",
    "FakeFeishu",
    "FeishuBot",
    "Recorded",
    "expected_sign",
]

HOOK_PATH = "/open-apis/bot/v2/hook/"

MESSAGES: dict[int, str] = {
    9499: "Bad Request",
    19001: "param invalid: incoming webhook access token invalid",
    19021: "sign match fail or timestamp is not within one hour from current time",
    19022: "Ip Not Allowed",
    19024: "Key Words Not Found",
    11232: "frequency limited psm[lark.oapi.app_platform_runtime]appID[1500]",
}
"""The ``msg`` of each error code the fake answers."""

_NOT_TEXT = frozenset({"tag", "href", "url", "user_id", "image_key", "share_chat_id", "template"})


def expected_sign(secret: str, timestamp: str) -> str:
    """The base64 ``sign`` Feishu expects: HMAC-SHA256 keyed ``timestamp\\nsecret``, no message."""
    key = (timestamp + "\n" + secret).encode("utf-8")
    return base64.b64encode(hmac.new(key, digestmod=hashlib.sha256).digest()).decode()


@dataclass(slots=True)
class FeishuBot:
    """One bot's hook id, security settings and rate windows."""

    hook_id: str
    secret: str | None = None
    keywords: tuple[str, ...] = ()
    ip_whitelist: tuple[str, ...] = ()
    per_second: SlidingWindow = field(default_factory=lambda: SlidingWindow(5, 1.0))
    per_minute: SlidingWindow = field(default_factory=lambda: SlidingWindow(100, 60.0))


class FakeFeishu(RobotFake):
    """The fake's ASGI application and its state; serve it with ``SimulatorServer(app=...)``.

    Args:
        per_second / per_minute: accepted messages per bot per sliding 1 s / 60 s (11232 beyond).
        body_limit: the request body's limit in bytes (9499 beyond).
        max_skew: how far (seconds) a signed timestamp may be from the fake's clock (19021).
        legacy_errors: answer errors in the old ``StatusCode``/``StatusMessage``-only form.
        clock / start: see :class:`~syndicator.simulator.fakes.wecom.RobotFake`.
    """

    routes = (
        (HOOK_PATH + "{hook_id}", "_send"),
        (HOOK_PATH + "{hook_id}/", "_send"),
    )

    def __init__(
        self,
        *,
        per_second: int = 5,
        per_minute: int = 100,
        body_limit: int = 20 * 1024,
        max_skew: float = 3600.0,
        legacy_errors: bool = False,
        clock: Callable[[], float] | None = None,
        start: float = START,
    ) -> None:
        super().__init__(clock=clock, start=start)
        self.per_second = per_second
        self.per_minute = per_minute
        self.body_limit = body_limit
        self.max_skew = max_skew
        self.legacy_errors = legacy_errors
        self._bots: dict[str, FeishuBot] = {}

    def add_bot(
        self,
        hook_id: str | None = None,
        *,
        secret: str | None = None,
        keywords: tuple[str, ...] = (),
        ip_whitelist: tuple[str, ...] = (),
    ) -> FeishuBot:
        """A bot in some group, with these security settings; returns it (hook id, secret)."""
        bot = FeishuBot(
            hook_id or str(uuid.uuid4()),
            secret,
            tuple(keywords),
            tuple(ip_whitelist),
            SlidingWindow(self.per_second, 1.0),
            SlidingWindow(self.per_minute, 60.0),
        )
        with self._lock:
            self._bots[bot.hook_id] = bot
        return bot

    def remove_bot(self, hook_id: str) -> None:
        """The bot was deleted: its hook answers 19001 from now on."""
        with self._lock:
            del self._bots[hook_id]

    # -- answers --------------------------------------------------------------------------

    def _reply(self, request: Request, body: Any, code: int) -> Response:
        self._record(request, body, 200, code)
        payload: dict[str, Any]
        if code == 0:
            payload = {
                "code": 0,
                "msg": "success",
                "data": {},
                "Extra": None,
                "StatusCode": 0,
                "StatusMessage": "success",
            }
        elif self.legacy_errors:
            payload = {"StatusCode": code, "StatusMessage": MESSAGES[code]}
        else:
            payload = {"code": code, "msg": MESSAGES[code], "data": {}}
        headers = {"X-Tt-Logid": f"{int(self.now)}{secrets.token_hex(10).upper()}"}
        return Response(
            json.dumps(payload, ensure_ascii=False),
            200,
            headers=headers,
            media_type="application/json",
        )

    async def _send(self, request: Request) -> Response:
        raw = await request.body()  # starlette keeps it: _begin reads the same bytes
        body, fault = await self._begin(request)
        hook_id = request.path_params.get("hook_id", "")
        if fault is not None and fault.action == "drop" and fault.commit:
            with self._lock:
                if hook_id in self._bots and isinstance(body, dict):
                    self._accept(self._bots[hook_id], body)
        if (faulted := await self._faulted(request, body, fault)) is not None:
            return faulted
        if request.method != "POST":
            return self._reply(request, body, 9499)
        if len(raw) > self.body_limit or not isinstance(body, dict):
            return self._reply(request, body, 9499)
        with self._lock:
            bot = self._bots.get(hook_id)
            if bot is None:
                return self._reply(request, body, 19001)
            refused = self._security(request, bot, body) or self._check(body)
            if refused is not None:
                return self._reply(request, body, refused)
            now = self.now
            if bot.per_second.full(now) or bot.per_minute.full(now):
                return self._reply(request, body, 11232)
            self._accept(bot, body)
        return self._reply(request, body, 0)

    def _accept(self, bot: FeishuBot, body: dict[str, Any]) -> None:
        now = self.now
        bot.per_second.add(now)
        bot.per_minute.add(now)
        stored = {k: v for k, v in body.items() if k not in ("timestamp", "sign")}
        self._deliver(bot.hook_id, stored)

    def _security(self, request: Request, bot: FeishuBot, body: dict[str, Any]) -> int | None:
        if refused_ip(request, bot.ip_whitelist) is not None:
            return 19022
        if bot.secret is not None:
            timestamp = str(body.get("timestamp", ""))
            given = body.get("sign")
            try:
                skew = abs(self.now - int(timestamp))
            except ValueError:
                return 19021
            if skew > self.max_skew or not isinstance(given, str):
                return 19021
            if not hmac.compare_digest(given, expected_sign(bot.secret, timestamp)):
                return 19021
        if bot.keywords:
            message = {k: v for k, v in body.items() if k not in ("timestamp", "sign", "msg_type")}
            if not any(k in s for s in strings(message, skip=_NOT_TEXT) for k in bot.keywords):
                return 19024
        return None

    def _check(self, body: dict[str, Any]) -> int | None:
        msg_type = body.get("msg_type")
        if msg_type == "interactive":
            card = body.get("card")
            return None if isinstance(card, dict) and card else 9499
        content = body.get("content")
        if not isinstance(content, dict):
            return 9499
        if msg_type == "text":
            text = content.get("text")
            return None if isinstance(text, str) and text else 9499
        if msg_type == "post":
            post = content.get("post")
            if not isinstance(post, dict) or not post:
                return 9499
            for lang in post.values():
                if not isinstance(lang, dict) or not isinstance(lang.get("content"), list):
                    return 9499
                for line in lang["content"]:
                    if not isinstance(line, list) or not all(
                        isinstance(e, dict) and isinstance(e.get("tag"), str) for e in line
                    ):
                        return 9499
            return None
        if msg_type == "image":
            return None if content.get("image_key") else 9499
        if msg_type == "share_chat":
            return None if content.get("share_chat_id") else 9499
        return 9499

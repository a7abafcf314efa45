"""A fake DingTalk (钉钉) custom-robot webhook (``oapi.dingtalk.com``) for tests and the demo.

It serves ``POST /robot/send?access_token=TOKEN[&timestamp=MS&sign=SIGN]`` with the wire
behaviour of the channel contract (``docs/channel-contracts.md`` §4):

* a token table (missing 40035, unknown or removed 300005), each robot with its own security
  settings: a 加签 secret, custom keywords, an IP whitelist;
* the signature recomputed from the URL-decoded query: a wrong one is 310000 ``sign not
  match``, a timestamp more than an hour from the fake's clock 310000 ``invalid timestamp``;
  a message without any keyword (searched in every string of the body) 310000 ``keywords not in
  content``; a client outside the whitelist 310000 ``ip X not in whitelist``;
* per robot, a sliding 60 s window of ``per_minute`` (20) messages; the next one is 130101 and
  locks the robot for ``lockout`` (600) seconds, during which everything is 130101;
* the text (``text.content``, ``markdown.text``, ``link.text``, ``actionCard.text``) at most
  ``text_limit`` (20,000) UTF-8 bytes, else 460101; a markdown without title 40035;
* GET 43002, a Content-Type other than JSON 43004.

Every answer is HTTP 200 with an ``errcode`` body; ``errmsg`` gets a variable request-id suffix
so no adapter learns to match on all of it. Clock, fault switches and recording are those of
:class:`~syndicator.simulator.fakes.wecom.RobotFake`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from syndicator.simulator.fakes._base import START, refused_ip, strings
from syndicator.simulator.fakes.wecom import Recorded, RobotFake, SlidingWindow

__all__ = ["SEND_PATH", "DingTalkRobot", "FakeDingTalk", "Recorded", "expected_sign"]

SEND_PATH = "/robot/send"

_TEXT_FIELDS = {"text": "content", "markdown": "text", "link": "text", "actionCard": "text"}


def expected_sign(secret: str, timestamp: str) -> str:
    """The base64 signature DingTalk expects for *timestamp* (before URL-encoding)."""
    mac = hmac.new(secret.encode(), (timestamp + "\n" + secret).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


@dataclass(slots=True)
class DingTalkRobot:
    """One robot's security settings and rate state."""

    token: str
    secret: str | None = None
    keywords: tuple[str, ...] = ()
    ip_whitelist: tuple[str, ...] = ()
    window: SlidingWindow = field(default_factory=lambda: SlidingWindow(20))
    locked_until: float = 0.0


class FakeDingTalk(RobotFake):
    """The fake's ASGI application and its state; serve it with ``SimulatorServer(app=...)``.

    Args:
        per_minute: messages per robot per sliding 60 s before the lockout.
        lockout: seconds a robot answers 130101 after exceeding ``per_minute``.
        text_limit: the text limit in UTF-8 bytes (460101 beyond).
        max_skew: how far (seconds) a signed timestamp may be from the fake's clock.
        clock / start: see :class:`~syndicator.simulator.fakes.wecom.RobotFake`.
    """

    routes = ((SEND_PATH, "_send"),)

    def __init__(
        self,
        *,
        per_minute: int = 20,
        lockout: float = 600.0,
        text_limit: int = 20_000,
        max_skew: float = 3600.0,
        clock: Callable[[], float] | None = None,
        start: float = START,
    ) -> None:
        super().__init__(clock=clock, start=start)
        self.per_minute = per_minute
        self.lockout = lockout
        self.text_limit = text_limit
        self.max_skew = max_skew
        self._robots: dict[str, DingTalkRobot] = {}

    def add_robot(
        self,
        token: str | None = None,
        *,
        secret: str | None = None,
        keywords: tuple[str, ...] = (),
        ip_whitelist: tuple[str, ...] = (),
    ) -> DingTalkRobot:
        """A robot in some group, with these security settings; returns it (token, secret)."""
        robot = DingTalkRobot(
            token or secrets.token_hex(32),
            secret,
            tuple(keywords),
            tuple(ip_whitelist),
            SlidingWindow(self.per_minute),
        )
        with self._lock:
            self._robots[robot.token] = robot
        return robot

    def remove_robot(self, token: str) -> None:
        """The robot was removed: its token answers 300005 from now on."""
        with self._lock:
            del self._robots[token]

    def _error(self, request: Request, body: Any, code: int, reason: str) -> Response:
        return self._answer(request, body, code, reason, request_id=self._hint())

    async def _send(self, request: Request) -> Response:
        body, fault = await self._begin(request)
        token = request.query_params.get("access_token", "")
        if fault is not None and fault.action == "drop" and fault.commit:
            with self._lock:
                if token in self._robots:
                    self._robots[token].window.add(self.now)
                    self._deliver(token, body)
        if (faulted := await self._faulted(request, body, fault)) is not None:
            return faulted
        if request.method != "POST":
            return self._error(request, body, 43002, "需要POST请求")
        if not request.headers.get("content-type", "").startswith("application/json"):
            return self._error(request, body, 43004, "无效的HTTP HEADER Content-Type")
        if not token:
            return self._error(request, body, 40035, "缺少参数 access_token")
        with self._lock:
            robot = self._robots.get(token)
            if robot is None:
                return self._error(request, body, 300005, "token is not exist")
            now = self.now
            if now < robot.locked_until:
                return self._error(
                    request, body, 130101, "send too fast, exceed 20 times per minute"
                )
            refused = self._security(request, robot, body) or self._check(body)
            if refused is not None:
                return self._error(request, body, *refused)
            if robot.window.full(now):
                robot.locked_until = now + self.lockout
                return self._error(
                    request, body, 130101, "send too fast, exceed 20 times per minute"
                )
            robot.window.add(now)
            self._deliver(token, body)
        return self._answer(request, body, 0, "ok")

    def _security(
        self, request: Request, robot: DingTalkRobot, body: Any
    ) -> tuple[int, str] | None:
        if (client := refused_ip(request, robot.ip_whitelist)) is not None:
            return 310000, f"ip {client} not in whitelist"
        if robot.secret is not None:
            timestamp = request.query_params.get("timestamp", "")
            given = request.query_params.get("sign", "")
            try:
                skew = abs(self.now * 1000 - int(timestamp))
            except ValueError:
                return 310000, "invalid timestamp"
            if skew > self.max_skew * 1000:
                return 310000, "invalid timestamp"
            if not hmac.compare_digest(given, expected_sign(robot.secret, timestamp)):
                return 310000, "sign not match"
        texts = strings(body, skip=("msgtype",))
        if robot.keywords and not any(k in s for s in texts for k in robot.keywords):
            return 310000, "keywords not in content"
        return None

    def _check(self, body: Any) -> tuple[int, str] | None:
        if not isinstance(body, dict):
            return 40035, "缺少参数 json"
        msgtype = body.get("msgtype")
        part = body.get(msgtype) if isinstance(msgtype, str) else None
        if not isinstance(part, dict):
            return 40035, "缺少参数 msgtype"
        if msgtype in _TEXT_FIELDS:
            text = part.get(_TEXT_FIELDS[msgtype])
            if not isinstance(text, str) or not text:
                return 40035, f"缺少参数 {msgtype}.{_TEXT_FIELDS[msgtype]}"
            if len(text.encode("utf-8")) > self.text_limit:
                return 460101, f"message too long, exceed {self.text_limit} bytes"
        if msgtype in ("markdown", "link", "actionCard") and not part.get("title"):
            return 40035, f"缺少参数 {msgtype}.title"
        if msgtype == "link" and not part.get("messageUrl"):
            return 40035, "缺少参数 link.messageUrl"
        if msgtype not in (*_TEXT_FIELDS, "feedCard"):
            return 40035, f"不支持的消息类型 {msgtype}"
        return None

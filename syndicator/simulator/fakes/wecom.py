"""A fake WeCom (企业微信) group-robot webhook (``qyapi.weixin.qq.com``) for tests and the demo.

It serves ``POST /cgi-bin/webhook/send?key=KEY`` with the wire behaviour of the channel
contract (``docs/channel-contracts.md`` §3):

* a key table: an unknown or removed key answers 93000 (``invalid webhook url``);
* per key, a sliding 60 s window of ``per_minute`` (20) accepted messages, then 45009;
* ``text`` content ≤ 2048 and ``markdown`` content ≤ 4096 UTF-8 bytes, else 40058; empty
  content 44004; an unknown ``msgtype`` 40008; a body that is not JSON 47001;
* ``news``: 1–8 articles, each title cut to 128 and description to 512 bytes (cut, not
  refused, as the platform does); the delivered message holds the cut text.

Every answer is HTTP 200 with an ``errcode`` body, and ``errmsg`` carries WeCom's variable
``hint: [...]`` / ``from ip`` / ``more info`` suffix so no adapter learns to match on it. The
windows run on the fake's clock (:meth:`FakeWeCom.advance`, or a ``clock`` passed in).

Fault switches act on the next N requests: answer a 5xx, answer late, or close the connection
after reading the request (optionally after the message was delivered, like a lost answer).
:class:`RobotFake` holds that machinery for the DingTalk fake too.
"""

from __future__ import annotations

import itertools
import json
import secrets
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syndicator.simulator.fakes._base import START, FakePlatform, drop, headers_of

__all__ = [
    "SEND_PATH",
    "Delivered",
    "FakeWeCom",
    "Recorded",
    "RobotFake",
    "SlidingWindow",
    "cut_utf8",
]

SEND_PATH = "/cgi-bin/webhook/send"


def cut_utf8(text: str, size: int) -> str:
    """*text* cut to at most *size* UTF-8 bytes, whole characters only (the platform's cut)."""
    out: list[str] = []
    used = 0
    for ch in text:
        width = len(ch.encode("utf-8"))
        if used + width > size:
            break
        out.append(ch)
        used += width
    return "".join(out)


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request the fake received (whatever it answered).

    Attributes:
        path: the request path.
        query: the decoded query parameters (the key included: it is a test double's key).
        body: the parsed JSON body, or ``None`` when it was not JSON.
        headers: the request headers, lower-case names.
        status: the HTTP status it answered, or ``None`` when it dropped the connection.
        errcode: the ``errcode`` it answered with, if any.
    """

    path: str
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int | None
    errcode: int | None = None


@dataclass(frozen=True, slots=True)
class Delivered:
    """A message the fake accepted: which robot, when (fake clock), and the body as stored."""

    robot: str
    at: float
    payload: dict[str, Any]


@dataclass(slots=True)
class _Fault:
    action: Literal["status", "slow", "drop"]
    status: int = 502
    delay: float = 0.0
    commit: bool = False


class SlidingWindow:
    """The times of accepted messages within the last *seconds*; full at *size*."""

    def __init__(self, size: int, seconds: float = 60.0) -> None:
        self.size = size
        self.seconds = seconds
        self._times: deque[float] = deque()

    def full(self, now: float) -> bool:
        while self._times and self._times[0] <= now - self.seconds:
            self._times.popleft()
        return len(self._times) >= self.size

    def add(self, now: float) -> None:
        self._times.append(now)


class RobotFake(FakePlatform):
    """What the robot fakes share: the clock, fault switches and recording.

    Args:
        clock: the fake's wall clock; without one it keeps its own, moved by :meth:`advance`.
        start: where its own clock starts (seconds since the epoch).

    Attributes:
        requests: every request received, in order (:class:`Recorded`).
        messages: the messages accepted, in order (:class:`Delivered`).
    """

    routes: tuple[tuple[str, str], ...] = ()
    """``(path, handler method name)`` pairs, served for POST (and GET, to refuse it)."""

    def __init__(self, *, clock: Callable[[], float] | None = None, start: float = START) -> None:
        super().__init__(
            [
                Route(path, getattr(self, handler), methods=["GET", "POST"])
                for path, handler in self.routes
            ]
        )
        self._clock = clock
        self._now = float(start)
        self.requests: list[Recorded] = []
        self.messages: list[Delivered] = []
        self._faults: deque[_Fault] = deque()
        self._hints = itertools.count(1)

    # -- the test's controls -------------------------------------------------------------

    @property
    def now(self) -> float:
        """The fake's current time, seconds since the epoch."""
        return self._clock() if self._clock is not None else self._now

    def advance(self, seconds: float) -> float:
        """Move the fake's own clock on; returns the new time.

        Raises:
            RuntimeError: the fake runs on a clock passed in (move that one instead).
        """
        if self._clock is not None:
            raise RuntimeError("this fake runs on an injected clock: advance that one")
        with self._lock:
            self._now += seconds
            return self._now

    def fail_next(self, count: int = 1, *, status: int = 502) -> None:
        """Answer the next *count* requests with HTTP *status* and an HTML body."""
        self._add(count, _Fault("status", status=status))

    def slow_next(self, count: int = 1, *, delay: float = 2.0) -> None:
        """Answer the next *count* requests after *delay* seconds (bounded by :meth:`close`)."""
        self._add(count, _Fault("slow", delay=delay))

    def drop_next(self, count: int = 1, *, commit: bool = False) -> None:
        """Close the connection after reading the next *count* requests, unanswered.

        With *commit* the message is delivered first, like a real answer lost on the way back.
        """
        self._add(count, _Fault("drop", commit=commit))

    def delivered_to(self, robot: str) -> list[dict[str, Any]]:
        """The messages the robot with this key (token, hook id) accepted, as stored.

        The Feishu fake stores a body without its ``timestamp`` and ``sign``.
        """
        with self._lock:
            return [m.payload for m in self.messages if m.robot == robot]

    def _add(self, count: int, fault: _Fault) -> None:
        with self._lock:
            self._faults.extend(fault for _ in range(count))

    # -- requests ------------------------------------------------------------------------

    async def _begin(self, request: Request) -> tuple[Any, _Fault | None]:
        """Read the body (``None`` unless JSON), take the next fault and serve a slow one."""
        raw = await request.body()
        try:
            body: Any = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
        if fault is not None and fault.action == "slow":
            await self._pause(fault.delay)
        return body, fault

    def _record(self, request: Request, body: Any, status: int | None, code: int | None) -> None:
        query = dict(request.query_params)
        with self._lock:
            self.requests.append(
                Recorded(request.url.path, query, body, headers_of(request), status, code)
            )

    async def _faulted(self, request: Request, body: Any, fault: _Fault | None) -> Response | None:
        """The answer a status or drop fault gives, or ``None`` to answer normally."""
        if fault is None or fault.action == "slow":
            return None
        if fault.action == "status":
            self._record(request, body, fault.status, None)
            html = f"<html><body>{fault.status} Bad Gateway</body></html>"
            return Response(html, fault.status, media_type="text/html")
        self._record(request, body, None, None)
        return await drop(request)

    def _answer(
        self, request: Request, body: Any, code: int, errmsg: str, **extra: Any
    ) -> Response:
        self._record(request, body, 200, code)
        payload = {"errcode": code, "errmsg": errmsg, **extra}
        return Response(json.dumps(payload, ensure_ascii=False), 200, media_type="application/json")

    def _deliver(self, robot: str, payload: dict[str, Any]) -> None:
        with self._lock:
            self.messages.append(Delivered(robot, self.now, payload))

    def _hint(self) -> str:
        return f"{int(self.now)}{next(self._hints):04d}_{secrets.token_hex(8)}"


class FakeWeCom(RobotFake):
    """The fake's ASGI application and its state; serve it with ``SimulatorServer(app=...)``.

    Args:
        per_minute: accepted messages per robot per sliding 60 s (45009 beyond).
        text_limit / markdown_limit: content limits in UTF-8 bytes (40058 beyond).
        title_limit / description_limit: where news titles and descriptions are cut, in bytes.
        clock / start: see :class:`RobotFake`.
    """

    routes = ((SEND_PATH, "_send"),)

    def __init__(
        self,
        *,
        per_minute: int = 20,
        text_limit: int = 2048,
        markdown_limit: int = 4096,
        title_limit: int = 128,
        description_limit: int = 512,
        clock: Callable[[], float] | None = None,
        start: float = START,
    ) -> None:
        super().__init__(clock=clock, start=start)
        self.per_minute = per_minute
        self.text_limit = text_limit
        self.markdown_limit = markdown_limit
        self.title_limit = title_limit
        self.description_limit = description_limit
        self._robots: dict[str, SlidingWindow] = {}

    def add_robot(self, key: str | None = None) -> str:
        """A robot in some group; returns its webhook key."""
        key = key or f"{secrets.token_hex(4)}-{secrets.token_hex(2)}-{secrets.token_hex(6)}"
        with self._lock:
            self._robots[key] = SlidingWindow(self.per_minute)
        return key

    def remove_robot(self, key: str) -> None:
        """The robot was removed from its group: its key answers 93000 from now on."""
        with self._lock:
            del self._robots[key]

    def _error(self, request: Request, body: Any, code: int, reason: str) -> Response:
        errmsg = (
            f"{reason}, hint: [{self._hint()}], from ip: 127.0.0.1, more info at "
            f"https://open.work.weixin.qq.com/devtool/query?e={code}"
        )
        return self._answer(request, body, code, errmsg)

    async def _send(self, request: Request) -> Response:
        body, fault = await self._begin(request)
        key = request.query_params.get("key", "")
        with self._lock:
            if (
                fault is not None
                and fault.action == "drop"
                and fault.commit
                and key in self._robots
            ):
                checked = self._check(body)
                if isinstance(checked, dict):
                    self._robots[key].add(self.now)
                    self._deliver(key, checked)
        if (faulted := await self._faulted(request, body, fault)) is not None:
            return faulted
        if request.method != "POST":
            return self._error(request, body, 43002, "require POST method")
        with self._lock:
            window = self._robots.get(key)
            if window is None:
                return self._error(request, body, 93000, "invalid webhook url")
            if window.full(self.now):
                return self._error(request, body, 45009, "api freq out of limit")
            checked = self._check(body)
            if not isinstance(checked, dict):
                return self._error(request, body, *checked)
            window.add(self.now)
            self._deliver(key, checked)
        return self._answer(request, body, 0, "ok")

    def _check(self, body: Any) -> dict[str, Any] | tuple[int, str]:
        """The message as stored, or ``(errcode, reason)``."""
        if not isinstance(body, dict):
            return 47001, "Warning: wrong json format. data format error"
        msgtype = body.get("msgtype")
        part = body.get(msgtype) if isinstance(msgtype, str) else None
        if msgtype not in ("text", "markdown", "markdown_v2", "news") or not isinstance(part, dict):
            return 40008, "Warning: wrong json format. invalid message type"
        if msgtype == "news":
            return self._news(body, part)
        content = part.get("content")
        if not isinstance(content, str) or not content:
            return 44004, "Warning: wrong json format. empty content"
        limit = self.text_limit if msgtype == "text" else self.markdown_limit
        if len(content.encode("utf-8")) > limit:
            return (
                40058,
                f"{msgtype}.content exceed max length {limit}. invalid Request Parameter",
            )
        return dict(body)

    def _news(
        self, body: dict[str, Any], part: Mapping[str, Any]
    ) -> dict[str, Any] | tuple[int, str]:
        articles = part.get("articles")
        if not isinstance(articles, list) or not articles:
            return 44004, "Warning: wrong json format. empty articles"
        if len(articles) > 8:
            return 40058, "news.articles exceed max length 8. invalid Request Parameter"
        cut: list[dict[str, Any]] = []
        for article in articles:
            if not isinstance(article, dict) or not article.get("title") or not article.get("url"):
                return 40035, "invalid news article: title and url required"
            item = dict(article)
            item["title"] = cut_utf8(str(item["title"]), self.title_limit)
            if isinstance(item.get("description"), str):
                item["description"] = cut_utf8(item["description"], self.description_limit)
            cut.append(item)
        return {"msgtype": "news", "news": {"articles": cut}}

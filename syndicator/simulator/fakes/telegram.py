"""A fake Telegram Bot API (``api.telegram.org``) for the adapter's integration tests and the demo.

It serves ``POST|GET /bot<token>/<method>`` for the methods a posting bot needs, with the wire
behaviour of the channel contract (``docs/channel-contracts.md`` §6):

* ``getMe``: the bot's User object;
* ``sendMessage``: form (or JSON, or query) fields ``chat_id`` (``@username`` or numeric id),
  ``text``, ``parse_mode`` (``HTML`` is parsed and checked; ``Markdown``/``MarkdownV2`` are
  accepted as they are), ``link_preview_options``, ``disable_notification``; success is a
  Message object with a per-chat ``message_id`` sequence.

Every answer is the real envelope: ``{"ok": true, "result": …}`` with HTTP 200, or
``{"ok": false, "error_code": N, "description": "…", "parameters"?: {…}}`` with HTTP status N
(python-telegram-bot maps errors from the status, never from ``ok``). A malformed token or an
unknown method is 404 ``Not Found``, an unknown (or revoked) well-formed token 401
``Unauthorized``, an unknown chat 400 ``chat not found``, a bot that is not (or no longer) a
member 403, text over 4096 UTF-16 code units after entity parsing 400 ``message is too long``,
and a chat over its rate limit 429 with ``parameters.retry_after``. It counts length on its own,
not with the adapter's code, so a bug shared by both sides cannot pass.

Fault switches act on the next N requests to a method: answer an error status (a 5xx, or a 429
with ``retry_after``), answer late (after the message was posted), or close the connection after
reading the request (optionally after posting, as a real lost answer would be).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http import HTTPStatus
from typing import Any, Literal
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from syndicator.simulator.fakes._base import FakePlatform, drop, headers_of

__all__ = [
    "BOT_TOKEN",
    "CHANNEL",
    "CHANNEL_ID",
    "GROUP_ID",
    "MAX_TEXT_LENGTH",
    "FakeBot",
    "FakeChat",
    "FakeTelegram",
    "Recorded",
    "utf16_units",
]

BOT_TOKEN = "7000000001:AAHfakeTokenForTestsOnly-0123456789x"
"""The token of the bot a populated fake knows."""
CHANNEL = "@jxfabu_test"
"""The public channel of a populated fake (the bot is an administrator)."""
CHANNEL_ID = -1001234567890
GROUP_ID = -1009876543210
"""A private supergroup (no username) of a populated fake; the bot is a member."""
MAX_TEXT_LENGTH = 4096

_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
# Telegram's HTML subset (https://core.telegram.org/bots/api#html-style).
_HTML_TAGS = frozenset(
    {
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)


def utf16_units(text: str) -> int:
    """Length as Telegram counts it: characters beyond the BMP (most emoji) count 2."""
    return sum(2 if ord(ch) > 0xFFFF else 1 for ch in text)


@dataclass(slots=True)
class FakeBot:
    """A bot the fake knows, by its token."""

    id: int
    token: str
    username: str
    first_name: str

    def user(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "is_bot": True,
            "first_name": self.first_name,
            "username": self.username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }


@dataclass(slots=True)
class FakeChat:
    """A chat (``channel``, ``supergroup``, ``group``); ``members``: the bot ids that may post."""

    id: int
    type: Literal["channel", "supergroup", "group"]
    title: str
    username: str | None = None
    members: set[int] = field(default_factory=set)
    kicked: set[int] = field(default_factory=set)

    def info(self) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            data["username"] = self.username
        return data


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request the fake received (whatever it answered).

    Attributes:
        method: the method name from the path, as sent (``sendMessage``).
        token: the token from the path (a test double's token).
        form: the decoded fields.
        headers: the request headers, lower-case names.
        status: the HTTP status it answered, or ``None`` when it dropped the connection.
        description: the error ``description`` it answered with, if any.
    """

    method: str
    token: str
    form: dict[str, str]
    headers: dict[str, str]
    status: int | None
    description: str | None = None


@dataclass(slots=True)
class _Fault:
    action: Literal["status", "slow", "drop"]
    method: str
    status: int = 500
    description: str | None = None
    retry_after: int | None = None
    delay: float = 0.0
    commit: bool = False


class _Refused(Exception):
    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters


class _Entities(HTMLParser):
    """Checks Telegram's HTML subset and collects the visible text (entities are not built)."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.source = source
        self.text: list[str] = []
        self.open: list[str] = []
        self.error: str | None = None
        self._lines = [0]
        for match in re.finditer("\n", source):
            self._lines.append(match.end())

    def _offset(self) -> int:
        line, col = self.getpos()
        return len(self.source[: self._lines[line - 1] + col].encode("utf-8"))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.error:
            return
        if tag not in _HTML_TAGS:
            self.error = f'Unsupported start tag "{tag}" at byte offset {self._offset()}'
        elif tag == "a" and not dict(attrs).get("href"):
            self.error = f"Can't parse entities: empty href at byte offset {self._offset()}"
        else:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self.error:
            return
        if not self.open or self.open[-1] != tag:
            expected = f'"</{self.open[-1]}>"' if self.open else "nothing"
            self.error = (
                f"Unmatched end tag at byte offset {self._offset()}, "
                f'expected {expected}, found "</{tag}>"'
            )
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def result(self) -> tuple[str, str | None]:
        self.feed(self.source)
        self.close()
        if self.error is None and self.open:
            self.error = f'Can\'t find end tag corresponding to start tag "{self.open[-1]}"'
        return "".join(self.text), self.error


class FakeTelegram(FakePlatform):
    """The fake's ASGI application and its state; serve it with ``SimulatorServer(app=...)``.

    Args:
        populate: start with the bot :data:`BOT_TOKEN`, the public channel :data:`CHANNEL`
            (id :data:`CHANNEL_ID`) and the private supergroup :data:`GROUP_ID`.
        chat_rate: at most this many messages to one chat per this many seconds (429 beyond,
            ``retry_after`` until the window has room); ``None`` for no limit.
        bot_rate: the same across all chats of one bot (Telegram: about 30 a second).
        text_limit: the message limit in UTF-16 code units, after entity parsing.
        clock: wall-clock seconds, for ``date`` and the rate windows (tests pass their own).

    Attributes:
        requests: every request received, in order (:class:`Recorded`).
    """

    def __init__(
        self,
        *,
        populate: bool = True,
        chat_rate: tuple[int, float] | None = (20, 60.0),
        bot_rate: tuple[int, float] | None = (30, 1.0),
        text_limit: int = MAX_TEXT_LENGTH,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__([Route("/bot{token}/{method}", self._call, methods=["GET", "POST"])])
        self.chat_rate = chat_rate
        self.bot_rate = bot_rate
        self.text_limit = text_limit
        self.clock = clock
        self.requests: list[Recorded] = []
        self._bots: dict[str, FakeBot] = {}
        self._chats: dict[int, FakeChat] = {}
        self._sent: dict[int, list[dict[str, Any]]] = {}
        self._ids: dict[int, itertools.count[int]] = {}
        self._windows: dict[tuple[str, int], deque[float]] = {}
        self._faults: deque[_Fault] = deque()
        if populate:
            bot = self.add_bot(BOT_TOKEN, username="jxfabu_bot", first_name="江西发布")
            self.add_chat(
                CHANNEL_ID, "channel", "江西发布", username=CHANNEL[1:], members=(bot.id,)
            )
            self.add_chat(GROUP_ID, "supergroup", "新闻办工作群", members=(bot.id,))

    # -- the test's controls -------------------------------------------------------------

    def add_bot(
        self, token: str | None = None, *, username: str = "test_bot", first_name: str = "Bot"
    ) -> FakeBot:
        """A bot with *token* (a new random one when omitted)."""
        with self._lock:
            if token is None:
                token = f"{7_000_000_002 + len(self._bots)}:AA{secrets.token_urlsafe(24)}"
            bot = FakeBot(int(token.split(":", 1)[0]), token, username, first_name)
            self._bots[token] = bot
            return bot

    def revoke(self, token: str) -> None:
        """The token was revoked in @BotFather: it answers 401 from now on."""
        with self._lock:
            self._bots.pop(token, None)

    def add_chat(
        self,
        id: int,
        type: Literal["channel", "supergroup", "group"],
        title: str,
        *,
        username: str | None = None,
        members: tuple[int, ...] = (),
    ) -> FakeChat:
        """A chat the given bot ids may post to."""
        with self._lock:
            chat = FakeChat(id, type, title, username, set(members))
            self._chats[id] = chat
            return chat

    def kick(self, bot_id: int, chat_id: int) -> None:
        """Remove the bot from the chat: sending there answers 403 ``bot was kicked``."""
        with self._lock:
            chat = self._chats[chat_id]
            chat.members.discard(bot_id)
            chat.kicked.add(bot_id)

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
        method: str = "sendMessage",
    ) -> None:
        """Answer the next *count* calls of *method* with HTTP *status* (and ``retry_after``)."""
        self._add(count, _Fault("status", method, status, description, retry_after))

    def flood_next(
        self, count: int = 1, *, retry_after: int = 5, method: str = "sendMessage"
    ) -> None:
        """Answer the next *count* calls with 429 ``Too Many Requests: retry after N``."""
        self.fail_next(
            count,
            status=429,
            description=f"Too Many Requests: retry after {retry_after}",
            retry_after=retry_after,
            method=method,
        )

    def slow_next(self, count: int = 1, *, delay: float = 2.0, method: str = "sendMessage") -> None:
        """Post, then answer the next *count* calls only after *delay* s (bounded by close)."""
        self._add(count, _Fault("slow", method, delay=delay))

    def drop_next(
        self, count: int = 1, *, commit: bool = False, method: str = "sendMessage"
    ) -> None:
        """Close the connection after reading the next *count* calls of *method*, unanswered.

        With *commit* the message is posted first, like a real answer lost on the way back.
        """
        self._add(count, _Fault("drop", method, commit=commit))

    def messages(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        """The Message objects posted (to *chat_id*, or to any chat), in order."""
        with self._lock:
            if chat_id is not None:
                return list(self._sent.get(chat_id, []))
            return [m for sent in self._sent.values() for m in sent]

    def requests_to(self, method: str) -> list[Recorded]:
        """The recorded calls of *method* (case-insensitive, as Telegram matches them)."""
        with self._lock:
            return [r for r in self.requests if r.method.lower() == method.lower()]

    def _add(self, count: int, fault: _Fault) -> None:
        with self._lock:
            self._faults.extend(dataclasses.replace(fault) for _ in range(count))

    # -- ASGI ----------------------------------------------------------------------------

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Route ``/bot…`` paths; anything else is Telegram's 404 envelope."""
        if scope.get("path", "").startswith("/bot"):
            await self._app(scope, receive, send)
        else:
            await _envelope_error(404, "Not Found")(scope, receive, send)

    async def _call(self, request: Request) -> Response:
        token = request.path_params["token"]
        method = request.path_params["method"]
        form = await _form(request)
        with self._lock:
            fault = next((f for f in self._faults if f.method.lower() == method.lower()), None)
            if fault is not None:
                self._faults.remove(fault)
        try:
            if fault is not None and fault.action == "status":
                raise _Refused(
                    fault.status,
                    fault.description or HTTPStatus(fault.status).phrase,
                    **({"retry_after": fault.retry_after} if fault.retry_after else {}),
                )
            if fault is not None and fault.action == "drop":
                if fault.commit:
                    with contextlib.suppress(_Refused):
                        self._dispatch(token, method, form)
                self._record(request, token, method, form, None, None)
                return await drop(request)
            result = self._dispatch(token, method, form)
        except _Refused as refused:
            self._record(request, token, method, form, refused.status, refused.description)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": refused.status,
                "description": refused.description,
            }
            if refused.parameters:
                body["parameters"] = refused.parameters
            return _json(body, refused.status)
        if fault is not None and fault.action == "slow":
            await self._pause(fault.delay)
        self._record(request, token, method, form, 200, None)
        return _json({"ok": True, "result": result}, 200)

    def _record(
        self,
        request: Request,
        token: str,
        method: str,
        form: dict[str, str],
        status: int | None,
        description: str | None,
    ) -> None:
        with self._lock:
            self.requests.append(
                Recorded(method, token, form, headers_of(request), status, description)
            )

    # -- methods -------------------------------------------------------------------------

    def _dispatch(self, token: str, method: str, form: dict[str, str]) -> Any:
        if not _TOKEN.match(token):
            raise _Refused(404, "Not Found")
        with self._lock:
            bot = self._bots.get(token)
            if bot is None:
                raise _Refused(401, "Unauthorized")
            name = method.lower()
            if name == "getme":
                return bot.user()
            if name == "sendmessage":
                return self._send_message(bot, form)
        raise _Refused(404, "Not Found")

    def _chat(self, value: str) -> FakeChat:
        value = value.strip()
        if not value:
            raise _Refused(400, "Bad Request: chat_id is empty")
        if value.startswith("@"):
            name = value[1:].lower()
            for chat in self._chats.values():
                if chat.username and chat.username.lower() == name:
                    return chat
            raise _Refused(400, "Bad Request: chat not found")
        try:
            chat_id = int(value)
        except ValueError:
            raise _Refused(400, "Bad Request: chat not found") from None
        if chat_id not in self._chats:
            raise _Refused(400, "Bad Request: chat not found")
        return self._chats[chat_id]

    def _send_message(self, bot: FakeBot, form: dict[str, str]) -> dict[str, Any]:
        chat = self._chat(form.get("chat_id", ""))
        kind = f"{chat.type} chat"
        if bot.id in chat.kicked:
            raise _Refused(403, f"Forbidden: bot was kicked from the {kind}")
        if bot.id not in chat.members:
            raise _Refused(403, f"Forbidden: bot is not a member of the {kind}")
        text = form.get("text", "")
        parse_mode = form.get("parse_mode", "")
        if parse_mode.lower() == "html":
            text, error = _Entities(text).result()
            if error:
                raise _Refused(400, f"Bad Request: can't parse entities: {error}")
        elif parse_mode and parse_mode.lower() not in ("markdown", "markdownv2"):
            raise _Refused(400, "Bad Request: unsupported parse_mode")
        text = text.strip()
        if not text:
            raise _Refused(400, "Bad Request: message text is empty")
        if utf16_units(text) > self.text_limit:
            raise _Refused(400, "Bad Request: message is too long")
        now = self.clock()
        self._throttle((bot.token, chat.id), self.chat_rate, now)
        self._throttle((bot.token, 0), self.bot_rate, now)
        message_id = next(self._ids.setdefault(chat.id, itertools.count(1)))
        message: dict[str, Any] = {
            "message_id": message_id,
            "date": int(now),
            "chat": chat.info(),
            "text": text,
        }
        if chat.type == "channel":
            message["sender_chat"] = chat.info()
        else:
            message["from"] = {k: v for k, v in bot.user().items() if not k.startswith("can_")}
        preview = form.get("link_preview_options")
        if preview:
            try:
                message["link_preview_options"] = json.loads(preview)
            except ValueError:
                raise _Refused(
                    400, "Bad Request: can't parse link preview options JSON object"
                ) from None
        self._sent.setdefault(chat.id, []).append(message)
        return message

    def _throttle(self, key: tuple[str, int], rate: tuple[int, float] | None, now: float) -> None:
        if rate is None:
            return
        limit, period = rate
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - period:
            window.popleft()
        if len(window) >= limit:
            wait = max(1, int(window[0] + period - now + 0.999))
            raise _Refused(429, f"Too Many Requests: retry after {wait}", retry_after=wait)
        window.append(now)


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    ctype = request.headers.get("content-type", "")
    form: dict[str, str] = dict(request.query_params)
    if ctype.startswith("application/x-www-form-urlencoded"):
        form.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    elif ctype.startswith("application/json") and body:
        with contextlib.suppress(ValueError):
            data = json.loads(body)
            if isinstance(data, dict):
                form.update(
                    {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items()}
                )
    return form


def _envelope_error(status: int, description: str) -> Response:
    return _json({"ok": False, "error_code": status, "description": description}, status)


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status, media_type="application/json")

"""A fake of the WeChat Official Account API (``api.weixin.qq.com/cgi-bin``), as an ASGI app.

It follows section 1 of ``docs/channel-contracts.md``:

* ``GET /cgi-bin/token`` and ``POST /cgi-bin/stable_token`` issue tokens with ``expires_in``
  7200; a new ``/token`` supersedes the previous one, which keeps working for 5 minutes;
  ``stable_token`` returns the same token while it is valid, ``force_refresh`` replaces it (at
  most 20 a day, 30 s apart); the two kinds never invalidate each other. A business call
  answers 41001 (no token), 40014 (unknown), 42001 (expired) or 40001 (superseded).
* ``material/add_material`` and ``media/uploadimg`` take multipart ``media`` and check type
  and size; ``draft/add`` checks the article limits (title ≤32, author ≤16, digest ≤128,
  content <20,000 characters and <1 MB, a known ``thumb_media_id``, no ``\\uXXXX`` escapes);
* ``freepublish/submit`` starts a job whose ``publish_status`` follows a script, one step per
  ``freepublish/get`` (default 1 → 0); ``message/mass/sendall`` de-duplicates
  ``clientmsgid`` (45065), limits 60 a minute and N a day (45028); ``message/mass/get``;
* a daily quota per endpoint (45009) and a per-minute limit (45011);
* always HTTP 200 with ``errcode``; every error's ``errmsg`` ends in a random ``rid: …``.

Fault switches (each optionally for one path only): :meth:`FakeWeChat.fail_next` (HTTP 5xx),
:meth:`~FakeWeChat.error_next` (a forced errcode), :meth:`~FakeWeChat.slow_next` and
:meth:`~FakeWeChat.drop_next` (read the request, optionally carry it out, then close the
connection without answering). Every request is recorded in :attr:`FakeWeChat.requests`.

The clock is ``clock() + offset``; :meth:`FakeWeChat.advance` moves it without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.parser
import email.policy
import itertools
import json
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import Receive, Scope, Send

from syndicator.simulator.fakes._base import FakePlatform

__all__ = [
    "APP_ID",
    "APP_SECRET",
    "OVERLAP_SECONDS",
    "TOKEN_TTL",
    "Article",
    "FakeWeChat",
    "PublishJob",
    "Recorded",
]

APP_ID = "wx5f3c0a1b2d4e6f70"
APP_SECRET = "9c1e7a5b3d2f4e6a8b0c1d3e5f7a9b2c"
TOKEN_TTL = 7200
OVERLAP_SECONDS = 300
"""An old token keeps working this long after a new one was issued."""

_TITLE_MAX, _AUTHOR_MAX, _DIGEST_MAX = 32, 16, 128
_CONTENT_MAX_CHARS, _CONTENT_MAX_BYTES = 20_000, 1024 * 1024
_IMAGE_MAX, _THUMB_MAX, _UPLOADIMG_MAX = 10 * 1024 * 1024, 64 * 1024, 1024 * 1024
_FORCE_REFRESH_PER_DAY, _FORCE_REFRESH_GAP = 20, 30.0
# An odd number of backslashes before "u" and four hex digits: a JSON \uXXXX escape.
_ESCAPE = re.compile(rb"(?<!\\)(?:\\\\)*\\u[0-9a-fA-F]{4}")

_ERRMSG: Mapping[int, str] = {
    -1: "system error",
    40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type",
    40004: "invalid media type",
    40005: "invalid file type",
    40006: "invalid meida size",
    40007: "invalid media_id",
    40013: "invalid appid",
    40014: "invalid access_token",
    40033: "invalid charset. please check your request, if include \\uxxxx will create fail!",
    40125: "invalid appsecret",
    40164: "invalid ip 127.0.0.1 ipv6 ::ffff:127.0.0.1, not in whitelist",
    41001: "access_token missing",
    41005: "media data missing",
    42001: "access_token expired",
    43001: "require GET method",
    43002: "require POST method",
    44002: "empty post data",
    44003: "empty news data",
    45002: "content size out of limit",
    45003: "title size out of limit",
    45004: "description size out of limit",
    45005: "url size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45028: "has no masssend quota",
    45065: "clientmsgid exist",
    45110: "author size out of limit",
    47001: "data format error",
    48001: "api unauthorized",
    53503: "该草稿未通过发布检查",
}


@dataclass(slots=True)
class Recorded:
    """One request as the fake saw it, and what it answered.

    Attributes:
        method, path, query: the request line (``query`` includes ``access_token``).
        body: the raw body; ``json`` its parsed form when it was JSON.
        status: the HTTP status sent (``None``: the connection was dropped).
        errcode: the body's errcode (0 for a success without one).
        fault: the fault switch that applied, if any.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    json: Any = None
    status: int | None = None
    errcode: int | None = None
    fault: str | None = None


@dataclass(slots=True)
class Article:
    """A draft in the draft box."""

    media_id: str
    articles: list[dict[str, Any]]


@dataclass(slots=True)
class PublishJob:
    """A ``freepublish/submit`` job; each ``freepublish/get`` takes the next scripted status."""

    publish_id: int
    draft: Article
    script: deque[int]
    status: int = 1
    article_id: str = ""
    urls: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Token:
    value: str
    appid: str
    kind: str  # "token" | "stable"
    expires: float
    superseded: float | None = None


@dataclass(slots=True)
class _Mass:
    msg_id: int
    msg_data_id: int
    script: deque[str]
    status: str = "SENDING"


@dataclass(slots=True)
class _Fault:
    kind: str  # "status" | "errcode" | "slow" | "drop"
    path: str | None
    status: int = 500
    errcode: int = 0
    delay: float = 0.0
    processed: bool = False


class _Reply(Exception):
    def __init__(self, errcode: int, **extra: Any) -> None:
        super().__init__(errcode)
        self.errcode = errcode
        self.extra = extra


class FakeWeChat(FakePlatform):
    """The WeChat Official Account API, in memory, as an ASGI application.

    Args:
        accounts: AppID → AppSecret of the accounts that exist.
        clock: seconds (monotonic is fine); the fake's time is ``clock() + offset``.
        daily_quota: path → calls allowed per day (45009 after); other paths unlimited.
        minute_limit: calls allowed per path per minute (45011 after); ``None``: unlimited.
        mass_per_minute: ``message/mass/sendall`` calls per minute (the API's 60).
        mass_per_day: successful mass sends per day (a verified 公众号 has 1).
        publish_script: the ``publish_status`` sequence of each new job (last one sticks).

    Attributes:
        requests: every request, in order.
        materials: permanent media_id → (type, size).
        drafts: the draft box, media_id → :class:`Article` (a published draft leaves it).
        jobs: publish_id → :class:`PublishJob`.
        base_url: set by whoever serves the app (the test fixture), for convenience.
    """

    def __init__(
        self,
        accounts: Mapping[str, str] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        daily_quota: Mapping[str, int] | None = None,
        minute_limit: int | None = None,
        mass_per_minute: int = 60,
        mass_per_day: int = 1,
        publish_script: Iterable[int] = (1, 0),
    ) -> None:
        super().__init__(())  # one handler for every path: see _serve
        self.accounts = dict(accounts if accounts is not None else {APP_ID: APP_SECRET})
        self.base_url: str | None = None
        self.daily_quota = dict(daily_quota or {})
        self.minute_limit = minute_limit
        self.mass_per_minute = mass_per_minute
        self.mass_per_day = mass_per_day
        self.publish_script = tuple(publish_script)
        self.requests: list[Recorded] = []
        self.materials: dict[str, tuple[str, int]] = {}
        self.drafts: dict[str, Article] = {}
        self.jobs: dict[int, PublishJob] = {}
        self._clock = clock
        self._offset = 0.0
        self._tokens: dict[str, _Token] = {}
        self._current: dict[tuple[str, str], str] = {}
        self._forced: dict[str, list[float]] = {}
        self._calls: dict[str, list[float]] = {}
        self._faults: list[_Fault] = []
        self._next_scripts: deque[tuple[int, ...]] = deque()
        self._mass: dict[int, _Mass] = {}
        self._client_msg_ids: dict[str, int] = {}
        self._mass_sent: list[float] = []
        self._ids = itertools.count(1)

    def __repr__(self) -> str:
        return f"FakeWeChat(accounts={sorted(self.accounts)}, base_url={self.base_url!r})"

    # -- controls -------------------------------------------------------------------------

    def now(self) -> float:
        """The fake's current time."""
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward (tokens expire, minute and day windows pass)."""
        with self._lock:
            self._offset += seconds

    def issue_token(self, appid: str = APP_ID) -> str:
        """Issue a ``/token`` token as another server would, superseding the current one."""
        with self._lock:
            return self._issue(appid, "token").value

    def valid_tokens(self, appid: str = APP_ID) -> list[str]:
        """The tokens a business call would accept now."""
        with self._lock:
            return [t.value for t in self._tokens.values() if t.appid == appid and self._ok(t)]

    def script_publish(self, *statuses: int) -> None:
        """The next submitted job reports *statuses*, one per ``freepublish/get``."""
        if not statuses:
            raise ValueError("script_publish needs at least one status")
        with self._lock:
            self._next_scripts.append(tuple(statuses))

    def set_publish_status(self, publish_id: int | str, status: int) -> None:
        """Force the job's status now (and from now on)."""
        with self._lock:
            job = self.jobs[int(publish_id)]
            job.script = deque([status])
            self._settle(job, status)

    def fail_next(self, count: int = 1, *, status: int = 500, path: str | None = None) -> None:
        """Answer the next *count* requests (to *path*) with HTTP *status*, doing nothing."""
        self._push(count, _Fault("status", path, status=status))

    def error_next(self, errcode: int, count: int = 1, *, path: str | None = None) -> None:
        """Answer the next *count* requests (to *path*) with *errcode*, doing nothing."""
        self._push(count, _Fault("errcode", path, errcode=errcode))

    def slow_next(self, count: int = 1, *, delay: float = 1.0, path: str | None = None) -> None:
        """Wait *delay* seconds before handling each of the next *count* requests."""
        self._push(count, _Fault("slow", path, delay=delay))

    def drop_next(
        self, count: int = 1, *, path: str | None = None, processed: bool = False
    ) -> None:
        """Read the next *count* requests, then close the connection without an answer.

        With *processed* the request is carried out first (the draft exists, the job runs):
        the case a client must treat as "may have taken effect".
        """
        self._push(count, _Fault("drop", path, processed=processed))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def calls(self, path: str) -> list[Recorded]:
        """The recorded requests to *path*."""
        return [r for r in self.requests if r.path == path]

    def _push(self, count: int, fault: _Fault) -> None:
        with self._lock:
            self._faults.extend([fault] * count)

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for index, fault in enumerate(self._faults):
                if fault.path is None or fault.path == path:
                    return self._faults.pop(index)
        return None

    # -- ASGI -----------------------------------------------------------------------------

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Record the request, apply the next fault switch for its path, then answer it."""
        request = Request(scope, receive)
        body = await request.body()
        record = Recorded(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers=dict(request.headers),
            body=body,
        )
        self.requests.append(record)
        fault = self._take_fault(record.path)
        if fault is not None:
            record.fault = fault.kind
            if fault.kind == "slow":
                await self._pause(fault.delay)
            elif fault.kind == "status":
                record.status = fault.status
                await PlainTextResponse("Bad Gateway", status_code=fault.status)(
                    scope, receive, send
                )
                return
            elif fault.kind == "errcode":
                response = self._error(record, fault.errcode)
                await response(scope, receive, send)
                return
            elif fault.kind == "drop":
                if fault.processed:
                    self._respond(record)
                # Recorded before the connection closes: the client may look at once.
                record.status = None
                await _drop(receive, send)
                return
        await self._respond(record)(scope, receive, send)

    def _respond(self, record: Recorded) -> Response:
        handler = _ROUTES.get(record.path)
        if handler is None:
            record.status = 404
            return PlainTextResponse("Not Found", status_code=404)
        try:
            with self._lock:
                self._count(record.path)
                data = handler(self, record)
        except _Reply as reply:
            return self._error(record, reply.errcode, **reply.extra)
        record.status = 200
        record.errcode = int(data.get("errcode", 0))
        return JSONResponse(data)

    def _error(self, record: Recorded, errcode: int, **extra: Any) -> Response:
        rid = "-".join(secrets.token_hex(4) for _ in range(3))
        message = _ERRMSG.get(errcode, "error")
        record.status, record.errcode = 200, errcode
        return JSONResponse({"errcode": errcode, "errmsg": f"{message} rid: {rid}", **extra})

    # -- quotas ---------------------------------------------------------------------------

    def _count(self, path: str) -> None:
        now = self.now()
        calls = self._calls.setdefault(path, [])
        calls[:] = [t for t in calls if now - t < 86_400]
        quota = self.daily_quota.get(path)
        if quota is not None and len(calls) >= quota:
            raise _Reply(45009)
        if self.minute_limit is not None:
            recent = sum(1 for t in calls if now - t < 60)
            if recent >= self.minute_limit:
                raise _Reply(45011)
        calls.append(now)

    # -- tokens ---------------------------------------------------------------------------

    def _issue(self, appid: str, kind: str) -> _Token:
        now = self.now()
        previous = self._current.get((appid, kind))
        if previous is not None:
            old = self._tokens[previous]
            if old.superseded is None:
                old.superseded = now
        token = _Token(secrets.token_urlsafe(96), appid, kind, now + TOKEN_TTL)
        self._tokens[token.value] = token
        self._current[(appid, kind)] = token.value
        return token

    def _ok(self, token: _Token) -> bool:
        now = self.now()
        if now >= token.expires:
            return False
        return token.superseded is None or now < token.superseded + OVERLAP_SECONDS

    def _credentials(self, appid: Any, secret: Any, grant_type: Any) -> str:
        if grant_type != "client_credential":
            raise _Reply(40002)
        if not isinstance(appid, str) or appid not in self.accounts:
            raise _Reply(40013)
        if secret != self.accounts[appid]:
            raise _Reply(40125)
        return appid

    def _token(self, record: Recorded) -> dict[str, Any]:
        if record.method != "GET":
            raise _Reply(43001)
        q = record.query
        appid = self._credentials(q.get("appid"), q.get("secret"), q.get("grant_type"))
        token = self._issue(appid, "token")
        return {"access_token": token.value, "expires_in": TOKEN_TTL}

    def _stable_token(self, record: Recorded) -> dict[str, Any]:
        if record.method != "POST":
            raise _Reply(43002)
        body = _json(record)
        appid = self._credentials(body.get("appid"), body.get("secret"), body.get("grant_type"))
        now = self.now()
        current = self._tokens.get(self._current.get((appid, "stable"), ""))
        if body.get("force_refresh") is True:
            forced = self._forced.setdefault(appid, [])
            forced[:] = [t for t in forced if now - t < 86_400]
            if len(forced) >= _FORCE_REFRESH_PER_DAY:
                raise _Reply(45009)
            if forced and now - forced[-1] < _FORCE_REFRESH_GAP:
                raise _Reply(45011)
            forced.append(now)
            current = self._issue(appid, "stable")
        elif current is None or current.expires - now < OVERLAP_SECONDS:
            # The platform renews a stable token 5 minutes before it expires.
            current = self._issue(appid, "stable")
        return {"access_token": current.value, "expires_in": int(current.expires - now)}

    def _authorise(self, record: Recorded) -> str:
        value = record.query.get("access_token")
        if not value:
            raise _Reply(41001)
        token = self._tokens.get(value)
        if token is None:
            raise _Reply(40014)
        if self.now() >= token.expires:
            raise _Reply(42001)
        if not self._ok(token):
            raise _Reply(40001)
        return token.appid

    # -- material -------------------------------------------------------------------------

    def _add_material(self, record: Recorded) -> dict[str, Any]:
        self._authorise(record)
        kind = record.query.get("type")
        if kind not in {"image", "thumb", "voice", "video"}:
            raise _Reply(40004)
        data = _multipart_file(record, "media")
        if kind in {"image", "thumb"}:
            image = _image_type(data)
            if image is None or (kind == "thumb" and image != "jpg"):
                raise _Reply(40005)
            if len(data) > (_IMAGE_MAX if kind == "image" else _THUMB_MAX):
                raise _Reply(40006)
        media_id = f"mat_{secrets.token_urlsafe(30)}"
        self.materials[media_id] = (kind, len(data))
        result: dict[str, Any] = {"media_id": media_id}
        if kind == "image":
            result["url"] = f"http://mmbiz.qpic.cn/mmbiz_jpg/{secrets.token_urlsafe(24)}/0"
        return result

    def _uploadimg(self, record: Recorded) -> dict[str, Any]:
        self._authorise(record)
        data = _multipart_file(record, "media")
        if _image_type(data) not in {"jpg", "png"}:
            raise _Reply(40005)
        if len(data) >= _UPLOADIMG_MAX:
            raise _Reply(40006)
        return {"url": f"http://mmbiz.qpic.cn/mmbiz_png/{secrets.token_urlsafe(24)}/0"}

    # -- draft and publish ----------------------------------------------------------------

    def _draft_add(self, record: Recorded) -> dict[str, Any]:
        self._authorise(record)
        body = _json(record)
        articles = body.get("articles")
        if not isinstance(articles, list) or not articles:
            raise _Reply(44003)
        for article in articles:
            _check_article(article, self.materials)
        if _ESCAPE.search(record.body):
            raise _Reply(40033)
        media_id = f"draft_{secrets.token_urlsafe(30)}"
        self.drafts[media_id] = Article(media_id, [dict(a) for a in articles])
        return {"media_id": media_id}

    def _submit(self, record: Recorded) -> dict[str, Any]:
        self._authorise(record)
        draft = self.drafts.get(str(_json(record).get("media_id")))
        if draft is None:
            raise _Reply(40007)
        script = self._next_scripts.popleft() if self._next_scripts else self.publish_script
        publish_id = 2_247_483_647 + next(self._ids)
        self.jobs[publish_id] = PublishJob(publish_id, draft, deque(script))
        return {
            "errcode": 0,
            "errmsg": "ok",
            "publish_id": publish_id,
            "msg_data_id": 2_455_891_298 + publish_id % 1000,
        }

    def _publish_get(self, record: Recorded) -> dict[str, Any]:
        self._authorise(record)
        # The docs call publish_id a string; responses carry numbers: accept both.
        job = self.jobs.get(_number(_json(record).get("publish_id")))
        if job is None:
            raise _Reply(40007)
        status = job.script.popleft() if len(job.script) > 1 else job.script[0]
        self._settle(job, status)
        result: dict[str, Any] = {"publish_id": job.publish_id, "publish_status": job.status}
        if job.status in {0, 5, 6}:
            result["article_id"] = job.article_id
        if job.status == 0:
            items = [{"idx": i + 1, "article_url": url} for i, url in enumerate(job.urls)]
            result["article_detail"] = {"count": len(items), "item": items}
        result["fail_idx"] = [1] if job.status in {2, 3, 4} else []
        return result

    def _settle(self, job: PublishJob, status: int) -> None:
        job.status = status
        if status in {0, 5, 6} and not job.article_id:
            job.article_id = secrets.token_urlsafe(32)
        if status == 0 and not job.urls:
            job.urls = [
                f"https://mp.weixin.qq.com/s/{secrets.token_urlsafe(16)}"
                for _ in job.draft.articles
            ]
            self.drafts.pop(job.draft.media_id, None)

    # -- mass send ------------------------------------------------------------------------

    def _sendall(self, record: Recorded) -> dict[str, Any]:
        self._authorise(record)
        body = _json(record)
        client_msg_id = body.get("clientmsgid")
        if isinstance(client_msg_id, str) and client_msg_id in self._client_msg_ids:
            raise _Reply(45065, msg_id=self._client_msg_ids[client_msg_id])
        now = self.now()
        self._mass_sent[:] = [t for t in self._mass_sent if now - t < 86_400]
        if self._recent(record.path, 60) > self.mass_per_minute:  # _count() has added this one
            raise _Reply(45011)
        mpnews = body.get("mpnews")
        media_id = mpnews.get("media_id") if isinstance(mpnews, dict) else None
        if body.get("msgtype") != "mpnews" or media_id not in self.drafts:
            raise _Reply(40007)
        if len(self._mass_sent) >= self.mass_per_day:
            raise _Reply(45028)
        self._mass_sent.append(now)
        msg_id = 3_147_494_275 + next(self._ids)
        script = deque(["SENDING", "SEND_SUCCESS"])
        self._mass[msg_id] = _Mass(msg_id, 2_455_891_298 + msg_id % 1000, script)
        if isinstance(client_msg_id, str):
            self._client_msg_ids[client_msg_id] = msg_id
        self.drafts.pop(str(media_id), None)
        return {
            "errcode": 0,
            "errmsg": "send job submission success",
            "msg_id": msg_id,
            "msg_data_id": self._mass[msg_id].msg_data_id,
        }

    def _recent(self, path: str, seconds: float) -> int:
        now = self.now()
        return sum(1 for t in self._calls.get(path, []) if now - t < seconds)

    def _mass_get(self, record: Recorded) -> dict[str, Any]:
        self._authorise(record)
        job = self._mass.get(_number(_json(record).get("msg_id")))
        if job is None:
            raise _Reply(40007)
        job.status = job.script.popleft() if len(job.script) > 1 else job.script[0]
        return {"msg_id": job.msg_id, "msg_status": job.status}


async def _drop(receive: Receive, send: Send) -> None:
    # uvicorn hands the app its RequestResponseCycle's bound send(); closing that cycle's
    # transport is the only way an ASGI app can end a connection without any response bytes.
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is None:
        raise RuntimeError("drop_next needs uvicorn's HTTP protocol (no transport found)")
    transport.close()
    # Let uvicorn see the disconnect, so it neither logs nor sends a 500.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(receive(), 1.0)


def _json(record: Recorded) -> dict[str, Any]:
    if not record.body.strip():
        raise _Reply(44002)
    try:
        data = json.loads(record.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _Reply(47001) from None
    if not isinstance(data, dict):
        raise _Reply(47001)
    record.json = data
    return data


def _number(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return -1


def _multipart_file(record: Recorded, name: str) -> bytes:
    content_type = record.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise _Reply(41005)
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + record.body)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == name:
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes) and payload:
                return payload
    raise _Reply(41005)


def _image_type(data: bytes) -> str | None:
    for magic, kind in (
        (b"\xff\xd8\xff", "jpg"),
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"GIF8", "gif"),
        (b"BM", "bmp"),
    ):
        if data.startswith(magic):
            return kind
    return None


def _check_article(article: Any, materials: Mapping[str, tuple[str, int]]) -> None:
    if not isinstance(article, dict):
        raise _Reply(47001)
    title, content = article.get("title"), article.get("content")
    if not isinstance(title, str) or not title or not isinstance(content, str) or not content:
        raise _Reply(44003)
    if len(title) > _TITLE_MAX:
        raise _Reply(45003)
    author = article.get("author")
    if isinstance(author, str) and len(author) > _AUTHOR_MAX:
        raise _Reply(45110)
    digest = article.get("digest")
    if isinstance(digest, str) and len(digest) > _DIGEST_MAX:
        raise _Reply(45004)
    if len(content) >= _CONTENT_MAX_CHARS or len(content.encode("utf-8")) >= _CONTENT_MAX_BYTES:
        raise _Reply(45002)
    url = article.get("content_source_url")
    if isinstance(url, str) and len(url.encode("utf-8")) > 1024:
        raise _Reply(45005)
    if article.get("article_type", "news") == "news":
        thumb = article.get("thumb_media_id")
        if not isinstance(thumb, str) or thumb not in materials:
            raise _Reply(40007)


_ROUTES: Mapping[str, Callable[[FakeWeChat, Recorded], dict[str, Any]]] = {
    "/cgi-bin/token": FakeWeChat._token,
    "/cgi-bin/stable_token": FakeWeChat._stable_token,
    "/cgi-bin/material/add_material": FakeWeChat._add_material,
    "/cgi-bin/media/uploadimg": FakeWeChat._uploadimg,
    "/cgi-bin/draft/add": FakeWeChat._draft_add,
    "/cgi-bin/freepublish/submit": FakeWeChat._submit,
    "/cgi-bin/freepublish/get": FakeWeChat._publish_get,
    "/cgi-bin/message/mass/sendall": FakeWeChat._sendall,
    "/cgi-bin/message/mass/get": FakeWeChat._mass_get,
}

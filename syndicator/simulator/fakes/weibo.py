"""A fake Sina Weibo open API (``api.weibo.com``) for the adapter's integration tests and the demo.

It serves the three routes an app uses to post, with the wire behaviour of the channel contract
(``docs/channel-contracts.md`` §2.5):

* ``POST /oauth2/access_token``: trades a code from :meth:`FakeWeibo.issue_code` for a token;
* ``POST /oauth2/get_token_info``: ``{uid, appkey, scope, create_at, expire_in}``;
* ``POST /2/statuses/share.json``: form fields ``access_token``, ``status``, ``rip``; the status
  must carry a URL on a bound safe domain (10017), no ``#topic#`` (10008), at most 140 in Weibo
  units (20012) and differ from the account's posts of the last ``duplicate_window`` seconds
  (20019); success is a Status object with ``idstr``.

Tokens expire on the fake's own clock (:meth:`FakeWeibo.advance`): 21327 after expiry, 21332 for
an unknown or revoked one. Per-token hourly counters give 10023 (every call) and 10024 (posts).
Errors are ``{"error", "error_code", "request"}`` with HTTP 400, or 403 for rate limits. It
counts length on its own (East Asian width), not with the adapter's code, so a bug shared by both
sides cannot pass.

Fault switches act on the next N requests to a path: answer a 5xx, answer late, or close the
connection after reading the request (optionally after the post took effect, as a real lost
answer would be).
"""

from __future__ import annotations

import ipaddress
import itertools
import json
import re
import secrets
import unicodedata
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from syndicator.simulator.fakes._base import START, FakePlatform, drop, headers_of

__all__ = [
    "SHARE_PATH",
    "TOKEN_INFO_PATH",
    "FakeWeibo",
    "Recorded",
    "WeiboAccount",
    "weibo_units",
]

SHARE_PATH = "/2/statuses/share.json"
TOKEN_INFO_PATH = "/oauth2/get_token_info"
ACCESS_TOKEN_PATH = "/oauth2/access_token"

_CST = timezone(timedelta(hours=8))
_URL_HOSTS = re.compile(r"https?://([^/\s:?#，。]+)", re.IGNORECASE)
_TOPIC = re.compile(r"#[^#\s][^#]*#")


def weibo_units(text: str) -> float:
    """Length as Weibo counts it: a wide (CJK, full-width) character 1, any other ½."""
    return sum(1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.5 for ch in text)


@dataclass(slots=True)
class WeiboAccount:
    """A Weibo user who authorised the app."""

    uid: int
    screen_name: str


@dataclass(slots=True)
class _Token:
    account: WeiboAccount
    created_at: float
    expires_at: float
    revoked: bool = False


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request the fake received (whatever it answered).

    Attributes:
        path: the request path.
        form: the decoded form fields (the token included: it is a test double's token).
        headers: the request headers, lower-case names.
        status: the HTTP status it answered, or ``None`` when it dropped the connection.
        error_code: the Weibo ``error_code`` it answered with, if any.
    """

    path: str
    form: dict[str, str]
    headers: dict[str, str]
    status: int | None
    error_code: int | None = None


@dataclass(slots=True)
class _Fault:
    action: Literal["status", "slow", "drop"]
    path: str
    status: int = 503
    error_code: int | None = 10001
    delay: float = 0.0
    commit: bool = False


@dataclass(slots=True)
class _Window:
    hour: int = -1
    calls: int = 0
    posts: int = 0


@dataclass(slots=True)
class _Posted:
    id: int
    account: WeiboAccount
    text: str
    at: float
    rip: str | None
    payload: dict[str, Any] = field(default_factory=dict)


class FakeWeibo(FakePlatform):
    """The fake's ASGI application and its state; serve it with ``SimulatorServer(app=...)``.

    Args:
        safe_domains: the app's bound safe domains (subdomains match too).
        appkey / app_secret: the app's credentials (for ``/oauth2/access_token``).
        start: the fake clock's start, seconds since the epoch.
        token_lifetime: ``expires_in`` of the tokens it issues, in seconds.
        require_rip: refuse a share without ``rip`` (10016), as the current documentation says.
        length_limit: the status limit in Weibo units.
        duplicate_window: seconds within which the same text from one account is a 20019.
        hourly_calls / hourly_posts: per-token limits per clock hour (10023 / 10024).

    Attributes:
        requests: every request received, in order (:class:`Recorded`).
        statuses: the Status objects posted, in order.
    """

    def __init__(
        self,
        *,
        safe_domains: tuple[str, ...] = ("www.jiangxi.gov.cn",),
        appkey: str = "3718420915",
        app_secret: str = "fake-weibo-app-secret",
        start: float = START,
        token_lifetime: int = 157_679_999,
        require_rip: bool = True,
        length_limit: int = 140,
        duplicate_window: float = 600.0,
        hourly_calls: int = 150,
        hourly_posts: int = 30,
    ) -> None:
        super().__init__(
            [
                Route(SHARE_PATH, self._share, methods=["POST"]),
                Route(TOKEN_INFO_PATH, self._token_info, methods=["POST"]),
                Route(ACCESS_TOKEN_PATH, self._access_token, methods=["POST"]),
            ]
        )
        self.safe_domains = tuple(d.lower() for d in safe_domains)
        self.appkey = appkey
        self.app_secret = app_secret
        self.now = float(start)
        self.token_lifetime = token_lifetime
        self.require_rip = require_rip
        self.length_limit = length_limit
        self.duplicate_window = duplicate_window
        self.hourly_calls = hourly_calls
        self.hourly_posts = hourly_posts
        self.requests: list[Recorded] = []
        self._tokens: dict[str, _Token] = {}
        self._codes: dict[str, WeiboAccount] = {}
        self._windows: dict[str, _Window] = {}
        self._posted: list[_Posted] = []
        self._faults: deque[_Fault] = deque()
        self._ids = itertools.count(5_028_496_315_416_321)

    # -- the test's controls -------------------------------------------------------------

    def issue_token(
        self,
        uid: int = 7_216_530_014,
        *,
        screen_name: str = "江西发布",
        lifetime: float | None = None,
        token: str | None = None,
    ) -> str:
        """A new access token for account *uid*, valid *lifetime* seconds from the fake's now."""
        token = token or "2.00" + secrets.token_hex(14)
        life = self.token_lifetime if lifetime is None else lifetime
        with self._lock:
            account = WeiboAccount(uid, screen_name)
            self._tokens[token] = _Token(account, self.now, self.now + life)
        return token

    def issue_code(self, uid: int = 7_216_530_014, *, screen_name: str = "江西发布") -> str:
        """An authorisation code, as the browser step would return it, for ``access_token``."""
        code = secrets.token_hex(16)
        with self._lock:
            self._codes[code] = WeiboAccount(uid, screen_name)
        return code

    def revoke(self, token: str) -> None:
        """The user cancelled the authorisation: the token answers 21332 from now on."""
        with self._lock:
            self._tokens[token].revoked = True

    def advance(self, seconds: float) -> float:
        """Move the fake's clock on; returns the new time."""
        with self._lock:
            self.now += seconds
            return self.now

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 503,
        error_code: int | None = 10001,
        path: str = SHARE_PATH,
    ) -> None:
        """Answer the next *count* requests to *path* with HTTP *status* (and *error_code*)."""
        self._add(count, _Fault("status", path, status=status, error_code=error_code))

    def slow_next(self, count: int = 1, *, delay: float = 2.0, path: str = SHARE_PATH) -> None:
        """Answer the next *count* requests to *path* after *delay* seconds (bounded by close)."""
        self._add(count, _Fault("slow", path, delay=delay))

    def drop_next(self, count: int = 1, *, commit: bool = False, path: str = SHARE_PATH) -> None:
        """Close the connection after reading the next *count* requests to *path*, unanswered.

        With *commit* the post takes effect first, like a real answer lost on the way back.
        """
        self._add(count, _Fault("drop", path, commit=commit))

    @property
    def statuses(self) -> list[dict[str, Any]]:
        with self._lock:
            return [p.payload for p in self._posted]

    def requests_to(self, path: str) -> list[Recorded]:
        """The recorded requests to *path*."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _add(self, count: int, fault: _Fault) -> None:
        with self._lock:
            self._faults.extend(fault for _ in range(count))

    # -- requests ------------------------------------------------------------------------

    async def _begin(self, request: Request) -> tuple[dict[str, str], _Fault | None]:
        body = await request.body()
        ctype = request.headers.get("content-type", "")
        form = (
            dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            if ctype.startswith("application/x-www-form-urlencoded")
            else {}
        )
        if not form and request.query_params:
            form = dict(request.query_params)
        with self._lock:
            fault = next((f for f in self._faults if f.path == request.url.path), None)
            if fault is not None:
                self._faults.remove(fault)
        if fault is not None and fault.action == "slow":
            await self._pause(fault.delay)
        return form, fault

    def _record(
        self, request: Request, form: dict[str, str], status: int | None, code: int | None
    ) -> None:
        with self._lock:
            self.requests.append(
                Recorded(request.url.path, form, headers_of(request), status, code)
            )

    def _error(
        self, request: Request, form: dict[str, str], code: int, error: str, status: int = 400
    ) -> Response:
        self._record(request, form, status, code)
        body = {"error": error, "error_code": code, "request": request.url.path}
        return _json(body, status)

    def _ok(self, request: Request, form: dict[str, str], body: dict[str, Any]) -> Response:
        self._record(request, form, 200, None)
        return _json(body, 200)

    async def _faulted(
        self, request: Request, form: dict[str, str], fault: _Fault | None
    ) -> Response | None:
        if fault is None or fault.action == "slow":
            return None
        if fault.action == "status":
            self._record(request, form, fault.status, fault.error_code)
            if fault.error_code is None:
                return Response("<html><body>502 Bad Gateway</body></html>", fault.status)
            body = {"error": "system error!", "error_code": fault.error_code}
            return _json({**body, "request": request.url.path}, fault.status)
        self._record(request, form, None, None)
        return await drop(request)

    def _auth(self, form: dict[str, str]) -> tuple[_Token | None, int, str]:
        token = self._tokens.get(form.get("access_token", ""))
        if token is None or token.revoked:
            return None, 21332, "invalid_access_token"
        if self.now >= token.expires_at:
            return None, 21327, "expired_token"
        return token, 0, ""

    def _count(self, form: dict[str, str], *, post: bool) -> tuple[int, str] | None:
        key = form["access_token"]
        window = self._windows.setdefault(key, _Window())
        hour = int(self.now // 3600)
        if window.hour != hour:
            window.hour, window.calls, window.posts = hour, 0, 0
        window.calls += 1
        if window.calls > self.hourly_calls:
            return 10023, "User requests out of rate limit!"
        if post:
            window.posts += 1
            if window.posts > self.hourly_posts:
                return 10024, "User requests for (/statuses/share) out of rate limit!"
        return None

    # -- routes --------------------------------------------------------------------------

    async def _token_info(self, request: Request) -> Response:
        form, fault = await self._begin(request)
        if (faulted := await self._faulted(request, form, fault)) is not None:
            return faulted
        with self._lock:
            token, code, error = self._auth(form)
            if token is None:
                return self._error(request, form, code, error)
            limited = self._count(form, post=False)
            if limited is not None:
                return self._error(request, form, *limited, status=403)
            body = {
                "uid": token.account.uid,
                "appkey": self.appkey,
                "scope": "",
                "create_at": int(token.created_at),
                "expire_in": int(token.expires_at - self.now),
            }
        return self._ok(request, form, body)

    async def _access_token(self, request: Request) -> Response:
        form, fault = await self._begin(request)
        if (faulted := await self._faulted(request, form, fault)) is not None:
            return faulted
        if form.get("client_id") != self.appkey or form.get("client_secret") != self.app_secret:
            return self._error(request, form, 21324, "invalid_client")
        if form.get("grant_type") != "authorization_code":
            return self._error(request, form, 21328, "unsupported_grant_type")
        with self._lock:
            account = self._codes.pop(form.get("code", ""), None)
        if account is None:
            return self._error(request, form, 21325, "invalid_grant")
        token = self.issue_token(account.uid, screen_name=account.screen_name)
        life = str(self.token_lifetime)
        body = {
            "access_token": token,
            "expires_in": life,
            "remind_in": life,
            "uid": str(account.uid),
        }
        return self._ok(request, form, body)

    async def _share(self, request: Request) -> Response:
        form, fault = await self._begin(request)
        if fault is not None and fault.action == "drop" and fault.commit:
            with self._lock:
                self._post(form)
        if (faulted := await self._faulted(request, form, fault)) is not None:
            return faulted
        if not request.headers.get("content-type", "").startswith(
            "application/x-www-form-urlencoded"
        ):
            return self._error(request, form, 10008, "Param error: pic upload is not simulated")
        with self._lock:
            token, code, error = self._auth(form)
            if token is None:
                return self._error(request, form, code, error)
            limited = self._count(form, post=True)
            if limited is not None:
                return self._error(request, form, *limited, status=403)
            status = form.get("status", "")
            rip = form.get("rip")
            if not status:
                return self._error(request, form, 10016, "Miss required parameter (status)")
            if self.require_rip and not rip:
                return self._error(request, form, 10016, "Miss required parameter (rip)")
            if rip and not _is_ip(rip):
                return self._error(request, form, 10008, "Param error, rip is not an IP address")
            if not self._has_safe_link(status):
                return self._error(request, form, 10017, "appkey not bind domain!")
            if _TOPIC.search(status):
                return self._error(request, form, 10008, "Param error, topic is not allowed")
            if weibo_units(status) > self.length_limit:
                return self._error(
                    request,
                    form,
                    20012,
                    f"Text too long, please input text less than {self.length_limit} characters!",
                )
            if self._duplicate(token.account, status):
                return self._error(request, form, 20019, "repeat content!")
            payload = self._post(form)
        return self._ok(request, form, payload)

    def _has_safe_link(self, status: str) -> bool:
        for host in _URL_HOSTS.findall(status):
            host = host.lower()
            if any(host == d or host.endswith("." + d) for d in self.safe_domains):
                return True
        return False

    def _duplicate(self, account: WeiboAccount, status: str) -> bool:
        since = self.now - self.duplicate_window
        return any(
            p.account.uid == account.uid and p.text == status and p.at >= since
            for p in self._posted
        )

    def _post(self, form: dict[str, str]) -> dict[str, Any]:
        token = self._tokens.get(form.get("access_token", ""))
        account = token.account if token else WeiboAccount(0, "unknown")
        status_id = next(self._ids)
        created = datetime.fromtimestamp(self.now, _CST)
        payload: dict[str, Any] = {
            "created_at": created.strftime("%a %b %d %H:%M:%S %z %Y"),
            "id": status_id,
            "idstr": str(status_id),
            "mid": str(status_id),
            "text": form.get("status", ""),
            "source": '<a href="https://app.weibo.com/t/feed/fake" rel="nofollow">政务发布</a>',
            "favorited": False,
            "truncated": False,
            "reposts_count": 0,
            "comments_count": 0,
            "attitudes_count": 0,
            "user": {
                "id": account.uid,
                "idstr": str(account.uid),
                "screen_name": account.screen_name,
                "verified": True,
            },
        }
        self._posted.append(
            _Posted(status_id, account, payload["text"], self.now, form.get("rip"), payload)
        )
        return payload


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(
        json.dumps(body, ensure_ascii=False),
        status,
        media_type="application/json;charset=UTF-8",
    )


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True

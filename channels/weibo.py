"""Sina Weibo (新浪微博): a status through ``POST /2/statuses/share.json``.

``share`` is the only posting route open to ordinary apps, and it refuses a status without a URL
under the app's bound safe domain (安全域名). The adapter therefore ends every status with such a
link: the message's own ``url`` when it is on that domain, else the configured
``safe_domain_url``; the link counts towards the 140-汉字 limit (a CJK character 1, any other ½:
:attr:`LengthUnit.WEIBO`), and a status that does not fit with it is refused before sending.

Errors come with a non-2xx HTTP status and a JSON body ``{"error", "error_code", "request"}``;
the body's ``error_code`` decides, the status only when there is none:

=============================  ==========================================================
``error_code``                 raised
=============================  ==========================================================
10001, 10002, 10003, HTTP 5xx  :class:`Retryable`
10022, 10023, 10024            :class:`RateLimited`, ``retry_after`` to the next full hour
10008, 20012, 20021, 2xxxx     :class:`BadContent`
20019 (repeat content)         :class:`Unconfirmed` (see below)
10006, 10014, 10016, 10017     :class:`Misconfigured`
213xx (21321, 21327, 21332)    :class:`Misconfigured`: re-authorise, a token cannot be renewed
=============================  ==========================================================

A Weibo web-app token has no refresh token: when it expires (21327) or is revoked (21332) only the
account holder can authorise the app again, so the adapter raises :class:`Misconfigured` (alert an
administrator) rather than :class:`AuthExpired` (refresh and retry). Before its first post, and
again once the known lifetime has run out, it asks ``/oauth2/get_token_info`` how long the token
has left, and logs a warning when that is under :data:`EXPIRY_WARNING` seconds.

20019 ("repeat content!") means the same text was posted moments ago. ``share`` takes no
idempotency key, so this is how an earlier attempt whose answer was lost (a timeout, a 502 from a
gateway) shows itself — but the platform names no status id, and the earlier post may as well be
a colleague's manual one. The adapter raises :class:`Unconfirmed`, never a :class:`Receipt`: the
engine does not resend, and staff confirm the delivery against the account's timeline.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn, Unpack
from urllib.parse import urlsplit

import httpx

from channels._config import config_error
from channels._http import NOT_SENT, HttpChannel, HttpOptions, json_object
from channels.base import (
    BadContent,
    Capability,
    LengthUnit,
    Limit,
    Message,
    Misconfigured,
    RateLimited,
    Receipt,
    Retryable,
    Unconfirmed,
    measure,
)

__all__ = ["EXPIRY_WARNING", "TokenInfo", "Weibo", "compose_status", "on_domain", "weibo_length"]

log = logging.getLogger(__name__)

EXPIRY_WARNING = 7 * 86400
"""Warn when the access token has less than this many seconds left."""

_URL = re.compile(r"https?://[^\s<>\"'，。、；！？）】》]+", re.IGNORECASE)
_TOPIC = re.compile(r"#[^#\s][^#]*#")

_RETRYABLE = frozenset({10001, 10002, 10003})
_RATE_LIMITED = frozenset({10022, 10023, 10024})
_BAD_CONTENT = frozenset({10008, 20012, 20021})
_MISCONFIGURED = frozenset({10006, 10014, 10016, 10017})
_DUPLICATE = 20019

_EXPLAIN: dict[int, str] = {
    10001: "微博系统错误，稍后重试",
    10002: "微博服务暂不可用，稍后重试",
    10003: "微博远程服务错误，稍后重试",
    10006: "缺少 appkey：访问令牌不属于任何应用，请重新授权",
    10008: "参数错误：微博拒绝了这条内容的参数",
    10014: "应用没有调用 statuses/share 的权限，请在微博开放平台申请",
    10016: "缺少必填参数（如 rip），请检查渠道配置",
    10017: "参数值无效：应用未绑定该安全域名，请核对 safe_domain_url 与开放平台的“安全域名”",
    10022: "本机 IP 的请求频率超限",
    10023: "该账号的请求频率超限",
    10024: "该账号的发布频率超限",
    20012: "正文超过 140 字",
    20019: "微博提示内容重复：此前的一次尝试可能已发布成功，请到账号主页核对后再确认，切勿直接重发",
    20021: "内容含有违规信息，被微博拒绝",
    21321: "应用未通过审核，只能由测试账号使用，请在微博开放平台提交审核",
    21327: "访问令牌已过期：微博令牌无法自动续期，请账号管理员重新授权后更新 access_token",
    21332: "访问令牌无效或已撤销：请账号管理员重新授权后更新 access_token",
}


def weibo_length(text: str) -> float:
    """The length of *text* as Weibo counts it: a CJK character 1, any other character ½."""
    return measure(text, LengthUnit.WEIBO)


def _host(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https"):
        return None
    return parts.hostname or None


def on_domain(url: str, domain: str) -> bool:
    """Whether *url* is an http(s) URL on *domain* or one of its subdomains."""
    host = _host(url)
    domain = domain.lower().rstrip(".")
    return host is not None and (host == domain or host.endswith("." + domain))


def compose_status(body: str, url: str | None, *, safe_domain_url: str) -> str:
    """The status text for *body*: ending with a link on ``safe_domain_url``'s domain.

    A body that already holds such a link is kept as it is; otherwise *url* is appended when it
    is on the safe domain, else ``safe_domain_url`` itself.

    Raises:
        ValueError: ``safe_domain_url`` is not an http(s) URL.
    """
    domain = _host(safe_domain_url)
    if domain is None:
        raise ValueError(f"safe_domain_url {safe_domain_url!r} is not an http(s) URL")
    text = body.strip()
    if any(on_domain(found, domain) for found in _URL.findall(text)):
        return text
    link = url if url and on_domain(url, domain) else safe_domain_url
    return f"{text} {link}" if text else link


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenInfo:
    """What ``/oauth2/get_token_info`` says about the access token (never the token itself).

    Attributes:
        uid: the authorising account's id.
        appkey: the app the token belongs to.
        scope: the granted scope (may be empty).
        expire_in: seconds until the token expires.
    """

    uid: str | None
    appkey: str | None
    scope: str
    expire_in: int


class Weibo(HttpChannel):
    """Post a status to a Sina Weibo account with ``statuses/share``.

    Configuration:
        access_token: the account's OAuth2 token (a secret; re-authorise when it expires).
        safe_domain_url: a URL on the app's bound safe domain, e.g. ``https://www.jiangxi.gov.cn/``;
            appended to a status that carries no link on that domain.
        rip: the end user's real IP, which the current ``share`` documentation requires.

    Args:
        clock: the wall clock (seconds since the epoch), for the token lifetime and the
            rate-limit windows; tests pass their own.
    """

    name = "weibo"
    title = "新浪微博"
    capabilities = frozenset({Capability.TEXT})
    formats = ("plain",)
    limit = Limit(140, LengthUnit.WEIBO)
    rate = ((30, 3600.0),)
    required_fields = ("access_token", "safe_domain_url")
    optional_fields = ("rip",)
    secret_fields = ("access_token",)
    default_base_url = "https://api.weibo.com"

    web_url: ClassVar[str] = "https://weibo.com"
    """Where a published status is read: ``{web_url}/{uid}/{mid}``."""

    def __init__(self, id: str, config: Mapping[str, Any], **options: Unpack[HttpOptions]) -> None:
        super().__init__(id, config, **options)
        self.safe_domain_url = str(self.config["safe_domain_url"]).strip()
        domain = _host(self.safe_domain_url)
        if domain is None:
            raise config_error(
                self,
                f"safe_domain_url {self.safe_domain_url!r} "
                "must be an http(s) URL on the app's bound safe domain",
            )
        self.safe_domain = domain
        rip = self.config.get("rip")
        self.rip = str(rip).strip() if rip not in (None, "") else None
        if self.rip is not None:
            try:
                ipaddress.ip_address(self.rip)
            except ValueError:
                raise config_error(self, f"rip {self.rip!r} is not an IP address") from None
        self._token_valid_until: float | None = None
        self._uid: str | None = None

    # -- publishing -----------------------------------------------------------------------

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        """Post *message* as a status; ``idempotency_key`` only labels the log lines.

        Raises:
            BadContent: not plain text, empty, a ``#topic#``, or over 140 with the safe link.
            Misconfigured: the token expired or was revoked, the safe domain is not bound …
            RateLimited: the hourly limit; ``retry_after`` runs to the next full hour.
            Retryable: connection refused, 5xx, platform busy.
            Unconfirmed: no answer after sending, or 20019 (the same text was just posted).
        """
        status = self.status_text(message)
        await self._ensure_token()
        form = {"access_token": str(self.config["access_token"]), "status": status}
        if self.rip is not None:
            form["rip"] = self.rip
        try:
            response = await self.client.post(self._url("/2/statuses/share.json"), data=form)
        except NOT_SENT as exc:
            raise Retryable(self._say(f"无法连接新浪微博：{self._exc(exc)}")) from None
        except httpx.TransportError as exc:
            log.warning("weibo %s: no answer to share (%s): %s", self.id, idempotency_key, exc)
            raise Unconfirmed(
                self._say(f"已发出请求但未收到应答（{self._exc(exc)}），微博可能已发布，请核对")
            ) from None
        data = json_object(response) or {}
        if not response.is_success or "error_code" in data:
            self._fail(response, data)
        external_id = str(data.get("idstr") or data.get("id") or "")
        if not external_id:
            raise Unconfirmed(
                self._say(
                    f"微博应答缺少微博 ID（HTTP {response.status_code}），可能已发布，请核对"
                ),
                http_status=response.status_code,
                raw=self.redact_data(data),
            )
        user = data.get("user")
        uid = (
            str(user.get("idstr") or user.get("id") or "") if isinstance(user, Mapping) else ""
        ) or self._uid
        mid = str(data.get("mid") or external_id)
        url = f"{self.web_url}/{uid}/{mid}" if uid else None
        log.info("weibo %s: published %s as %s", self.id, idempotency_key, external_id)
        return Receipt(
            status="published",
            external_id=external_id,
            url=url,
            detail="已发布到新浪微博",
            raw=self.redact_data(data),
        )

    def status_text(self, message: Message) -> str:
        """The status *message* becomes, checked against the platform's rules.

        Raises:
            BadContent: not plain text, empty, a ``#topic#`` (``share`` refuses them), or longer
                than 140 (counted the Weibo way, the safe-domain link included).
        """
        if message.format != "plain":
            raise BadContent(self._say(f"新浪微博只接受纯文本，收到 {message.format}"))
        if not message.body.strip():
            raise BadContent(self._say("正文为空"))
        status = compose_status(message.body, message.url, safe_domain_url=self.safe_domain_url)
        if _TOPIC.search(status):
            raise BadContent(self._say("statuses/share 不允许 #话题词#，请删去话题标记"))
        length = weibo_length(status)
        assert self.limit is not None
        if length > self.limit.size:
            body = weibo_length(message.body.strip())
            reason = (
                f"正文 {body:g} 字，超过 {self.limit}"
                if body > self.limit.size
                else f"正文 {body:g} 字，加上必需的安全域名链接后共 {length:g} 字，"
                f"超过 {self.limit}；请缩短正文为链接留出位置"
            )
            raise BadContent(self._say(reason), platform_code="length")
        return status

    # -- the token ------------------------------------------------------------------------

    async def token_info(self) -> TokenInfo:
        """Ask ``/oauth2/get_token_info`` about the configured token.

        Raises:
            Misconfigured: the token expired or is invalid (re-authorise).
            Retryable: the platform could not be reached or is busy.
        """
        form = {"access_token": str(self.config["access_token"])}
        try:
            response = await self.client.post(self._url("/oauth2/get_token_info"), data=form)
        except httpx.TransportError as exc:  # a read-only call: safe to retry whatever happened
            raise Retryable(self._say(f"无法查询微博令牌：{self._exc(exc)}")) from None
        data = json_object(response) or {}
        if not response.is_success or "error_code" in data:
            self._fail(response, data)
        try:
            expire_in = int(data["expire_in"])
        except (KeyError, TypeError, ValueError):
            raise Retryable(
                self._say("get_token_info 的应答缺少 expire_in"),
                http_status=response.status_code,
                raw=self.redact_data(data),
            ) from None
        uid, appkey = data.get("uid"), data.get("appkey")
        return TokenInfo(
            uid=str(uid) if uid not in (None, "") else None,
            appkey=str(appkey) if appkey not in (None, "") else None,
            scope=str(data.get("scope") or ""),
            expire_in=expire_in,
        )

    async def _ensure_token(self) -> None:
        now = self._clock()
        if self._token_valid_until is not None and now < self._token_valid_until:
            return
        info = await self.token_info()
        if info.expire_in <= 0:
            raise Misconfigured(self._say(_EXPLAIN[21327]), platform_code=21327)
        if info.expire_in < EXPIRY_WARNING:
            log.warning(
                "weibo %s: the access token expires in %.1f days; have the account re-authorise",
                self.id,
                info.expire_in / 86400,
            )
        self._token_valid_until = now + info.expire_in
        self._uid = info.uid

    # -- errors ---------------------------------------------------------------------------

    def _fail(self, response: httpx.Response, data: Mapping[str, Any]) -> NoReturn:
        """Raise the error *response* (a non-2xx status, or a body with ``error_code``) means."""
        status = response.status_code
        code = _code(data.get("error_code"))
        said = self.redact(str(data.get("error") or data.get("error_description") or ""))
        kw = self._details(code, response, data)
        if code is None:
            where = f"HTTP {status}" + (f"：{said}" if said else "")
            if status == 429:
                raise RateLimited(self._say(f"请求频率超限（{where}）"), **kw)
            if status >= 500:
                raise Retryable(self._say(f"微博服务错误（{where}）"), **kw)
            raise Misconfigured(self._say(f"微博拒绝了请求（{where}）"), **kw)
        text = self._refused(_EXPLAIN.get(code, "微博拒绝了请求"), code, said)
        if 21300 <= code < 21400:  # the OAuth2 family: 21321, 21327, 21332 …
            self._token_valid_until = None
            raise Misconfigured(text, **kw)
        if code in _RATE_LIMITED:
            wait = self._to_next_hour()
            raise RateLimited(f"{text}，{wait:.0f} 秒后（下一个整点）重试", retry_after=wait, **kw)
        if code == _DUPLICATE:
            raise Unconfirmed(text, **kw)
        if code in _RETRYABLE or status >= 500:
            raise Retryable(text, **kw)
        if code in _BAD_CONTENT:
            raise BadContent(text, **kw)
        if code in _MISCONFIGURED:
            raise Misconfigured(text, **kw)
        # Weibo numbers service-level refusals 2xxxx and system-level ones 1xxxx.
        if 20000 <= code < 30000:
            raise BadContent(text, **kw)
        raise Misconfigured(text, **kw)

    def _to_next_hour(self) -> float:
        return 3600.0 - self._clock() % 3600.0

    def _url(self, path: str) -> str:
        assert self.base_url is not None
        return self.base_url + path


def _code(value: Any) -> int | None:
    """``error_code`` as a number: current responses send one, old ones a string."""
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None

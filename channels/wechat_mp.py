"""WeChat Official Account (微信公众号): an HTML article through the draft box, then published.

One publish is::

    token (cached)  →  material/add_material?type=image (the cover, when the message has one)
                    →  draft/add  →  freepublish/submit  →  Receipt("pending", publish_id)
    check()         →  freepublish/get: publish_status 0 published, 1 pending, 2–6 failed

With ``mass_send = true`` the draft is mass-sent to all followers instead
(``message/mass/sendall``, the idempotency key as ``clientmsgid``); the receipt's id is then
``mass:<msg_id>`` and :meth:`WeChatMP.check` asks ``message/mass/get``. The poll is the source of
truth; the PUBLISHJOBFINISH callback is not used.

Every response is HTTP 200; the outcome is the body's numeric ``errcode`` (``errmsg`` carries
variable ``rid:``/``hint:`` suffixes and is never matched). Errors map to :mod:`channels.base`:

=====================================================  =====================================
errcode / transport                                    raised
=====================================================  =====================================
40001, 40014, 42001 on a business call                 token refreshed, call retried once;
                                                       again → :class:`AuthExpired`
40001, 40125, 40013, 40164, 40243, 40002 at the token  :class:`Misconfigured`
endpoint; 40164, 48001, 48003, 48004 anywhere
45009, 45028 (daily quota)                             :class:`RateLimited`, until 00:00 北京时间
45011, 45066 (per minute)                              :class:`RateLimited`, 60 s
40005, 40006, 40007, 40033, 44002, 44003, 45002–45005,  :class:`BadContent` (40007 for a
45110, 47001, 53503, 53504, 53505                      configured ``thumb_media_id``:
                                                       :class:`Misconfigured`)
45065 on sendall (``clientmsgid`` already used)        not an error: the earlier job's receipt
-1, HTTP 5xx, HTTP 429, connect errors                 :class:`Retryable` / :class:`RateLimited`
timeout / dropped connection after sending draft/add,  :class:`Unconfirmed`
freepublish/submit or sendall
anything else                                          :class:`ChannelError`
=====================================================  =====================================

The access token travels in the query string: it is added to :meth:`WeChatMP.secrets`, so
``redact`` removes it; this module never logs a URL or puts one into an error, and it installs a
filter on the ``httpx`` logger that masks ``access_token=`` and ``secret=`` in the request lines
httpx itself logs at INFO.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import time
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar, Literal, Unpack

import httpx

from channels._config import config_error
from channels._http import (
    NOT_SENT,
    HttpChannel,
    HttpOptions,
    describe,
    json_object,
    mask_logs,
    retry_after,
)
from channels.base import (
    AuthExpired,
    BadContent,
    Capability,
    Channel,
    ChannelError,
    Format,
    LengthUnit,
    Limit,
    Message,
    Misconfigured,
    RateLimited,
    Receipt,
    Retryable,
    Unconfirmed,
)

__all__ = [
    "AUTHOR_LIMIT",
    "CONTENT_SOURCE_URL_BYTES",
    "COVER_MAX_BYTES",
    "DIGEST_LIMIT",
    "PUBLISH_STATUS",
    "TOKEN_ERRORS",
    "WeChatMP",
]

log = logging.getLogger(__name__)

TOKEN_ERRORS = frozenset({40001, 40014, 42001})
"""errcodes on a business call meaning "this token is not (or no longer) valid"."""

AUTHOR_LIMIT = Limit(16)
DIGEST_LIMIT = Limit(128)
CONTENT_SOURCE_URL_BYTES = 1024
COVER_MAX_BYTES = 10 * 1024 * 1024

PUBLISH_STATUS: Mapping[int, str] = {
    0: "发表成功",
    1: "发表中",
    2: "原创校验未通过，发表失败",
    3: "发表失败（常规失败）",
    4: "平台审核不通过，发表失败",
    5: "发表成功后，文章已被用户全部删除",
    6: "发表成功后，文章已被系统封禁",
}
"""``freepublish/get`` ``publish_status`` → the text staff see."""

_TOKEN_REFRESH_MARGIN = 300.0
_MASS_STATUS: Mapping[str, tuple[Literal["published", "pending", "failed"], str]] = {
    "SENDING": ("pending", "群发中"),
    "SEND_SUCCESS": ("published", "群发成功"),
    "SEND_FAIL": ("failed", "群发失败"),
    "DELETE": ("failed", "群发后已被删除"),
}

_MISCONFIGURED: Mapping[int, str] = {
    40002: "grant_type 无效",
    40013: "AppID 无效，请检查 app_id",
    40125: "AppSecret 无效，请检查 app_secret",
    40164: "调用方 IP 不在公众号的 IP 白名单中，请在公众平台添加服务器出口 IP",
    40243: "AppSecret 已被冻结，请在公众平台解冻或重置",
    48001: "公众号没有该接口的权限（例如未开通发表或群发权限）",
    48003: "管理员尚未在公众平台同意群发协议",
    48004: "接口已被封禁，请登录公众平台查看原因",
}
_BAD_CONTENT: Mapping[int, str] = {
    40005: "封面图片格式不受支持",
    40006: "封面图片大小超出限制",
    40007: "media_id 无效（封面素材或草稿不存在）",
    40033: "标题或作者含有不允许的 \\uXXXX 转义字符",
    44002: "请求内容为空",
    44003: "图文内容为空",
    45002: "正文超过长度限制",
    45003: "标题超过长度限制",
    45004: "摘要超过长度限制",
    45005: "原文链接超过长度限制",
    45110: "作者超过长度限制",
    47001: "请求的 JSON 格式有误",
    53503: "草稿未通过发布检查",
    53504: "该草稿需前往公众平台官网使用",
    53505: "请先在公众平台手动保存草稿后再发表",
}
_DAILY_QUOTA: Mapping[int, str] = {
    45009: "接口今日调用次数已用完",
    45028: "今日群发次数已用完",
}
_MINUTE_QUOTA: Mapping[int, str] = {
    45011: "接口每分钟调用次数超限",
    45066: "相同 clientmsgid 重试过快",
}
_IMAGE_TYPES: tuple[tuple[bytes, str, str], ...] = (
    (b"\xff\xd8\xff", "cover.jpg", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "cover.png", "image/png"),
    (b"GIF87a", "cover.gif", "image/gif"),
    (b"GIF89a", "cover.gif", "image/gif"),
    (b"BM", "cover.bmp", "image/bmp"),
)


_QUERY_SECRET = re.compile(r"\b(access_token|secret)=[^&#\s\"']+")


def _mask_query(text: str) -> str:
    """*text* with ``access_token=`` and ``secret=`` values shown as ``***``."""
    return _QUERY_SECRET.sub(r"\1=***", text)


class WeChatMP(HttpChannel):
    """微信公众号: HTML articles via draft → freepublish (or mass send), results by polling.

    Configuration: ``app_id``, ``app_secret`` (secret); optionally ``thumb_media_id`` (a
    permanent image material used as the cover when the message has none), ``stable_token``
    (use ``/cgi-bin/stable_token``), ``mass_send`` (mass-send instead of publishing),
    ``author`` (default byline) and ``need_open_comment``.

    Args:
        id: the channel instance's id.
        config: its configuration, secrets resolved.
        client: the HTTP client to use.
        base_url: overrides ``https://api.weixin.qq.com`` (a fake, a proxy).
        clock: monotonic seconds, for the token's expiry (tests move it by hand).

    Raises:
        ChannelConfigError: a missing, unknown or malformed field.
    """

    name = "wechat_mp"
    title = "微信公众号"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.HTML, Capability.IMAGE, Capability.LINK, Capability.STATUS}
    )
    formats: ClassVar[tuple[Format, ...]] = ("html",)
    # content must be "<20,000 characters and <1 MB"; 19,999 characters are at most 80 KB in
    # UTF-8, so the byte limit can never bind and is not checked separately.
    limit: ClassVar[Limit | None] = Limit(19_999, LengthUnit.CHARS)
    title_limit: ClassVar[Limit | None] = Limit(32, LengthUnit.CHARS)
    required_fields: ClassVar[tuple[str, ...]] = ("app_id", "app_secret")
    optional_fields: ClassVar[tuple[str, ...]] = (
        "thumb_media_id",
        "stable_token",
        "mass_send",
        "author",
        "need_open_comment",
    )
    secret_fields: ClassVar[tuple[str, ...]] = ("app_secret",)
    default_base_url: ClassVar[str | None] = "https://api.weixin.qq.com"

    def __init__(self, id: str, config: Mapping[str, Any], **options: Unpack[HttpOptions]) -> None:
        options.setdefault("clock", time.monotonic)  # the token's expiry: a clock that never jumps
        super().__init__(id, config, **options)
        # WeChat takes the token (and, at /cgi-bin/token, the AppSecret) only in the query
        # string, and httpx logs every request URL at INFO: the injected client's logger must
        # mask them.
        mask_logs(_mask_query)
        self.app_id = str(self.config["app_id"])
        self._app_secret = str(self.config["app_secret"])
        self.thumb_media_id: str | None = _text_field(self, "thumb_media_id")
        self.author: str | None = _text_field(self, "author")
        self.stable_token = _flag(self, "stable_token")
        self.mass_send = _flag(self, "mass_send")
        self.need_open_comment = _flag(self, "need_open_comment")
        if self.author is not None and not AUTHOR_LIMIT.fits(self.author):
            raise config_error(self, f"field author is longer than {AUTHOR_LIMIT}")
        self._token: str | None = None
        self._token_fresh_until = 0.0
        # Every token this instance has held, for redaction: an old one may still show up.
        self._tokens: deque[str] = deque(maxlen=8)
        self._lock_loop: asyncio.AbstractEventLoop | None = None
        self._token_lock = asyncio.Lock()
        self._covers: dict[str, str] = {}

    def secrets(self) -> list[str]:
        """The app secret and every access token this instance has held."""
        return [*super().secrets(), *self._tokens]

    # -- publish --------------------------------------------------------------------------

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        """Add *message* as a draft and submit it for publishing (or mass-send it).

        Everything that can be checked locally (format, lengths, cover) is checked before the
        first request.

        Returns:
            A ``pending`` receipt: ``external_id`` is the ``publish_id`` (``mass:<msg_id>``
            when mass-sending); :meth:`check` tells the outcome.

        Raises:
            ChannelError: a subclass, see the module's table.
        """
        article = self._article(message)
        cover = _cover(message.cover) if message.cover is not None else None
        if cover is None and self.thumb_media_id is None:
            raise Misconfigured("公众号文章必须有封面：消息没有封面图，渠道也未配置 thumb_media_id")
        if cover is not None:
            article["thumb_media_id"] = await self._upload_cover(*cover)
        else:
            article["thumb_media_id"] = self.thumb_media_id
        try:
            draft = await self._api("/cgi-bin/draft/add", {"articles": [article]}, effect=True)
        except BadContent as exc:
            if exc.platform_code == 40007 and cover is None:
                raise Misconfigured(
                    "配置的 thumb_media_id 无效（不是永久图片素材，或已被删除）",
                    platform_code=40007,
                    raw=exc.raw,
                ) from None
            raise
        draft_id = draft.get("media_id")
        if not draft_id:
            raise ChannelError("微信创建草稿成功但没有返回 media_id", raw=self.redact_data(draft))
        if self.mass_send:
            return await self._mass_send(str(draft_id), idempotency_key)
        submitted = await self._api(
            "/cgi-bin/freepublish/submit", {"media_id": str(draft_id)}, effect=True
        )
        raw = self.redact_data({"draft_media_id": str(draft_id), **submitted})
        publish_id = submitted.get("publish_id")
        if publish_id in (None, ""):
            raise Unconfirmed("微信接受了发表请求但没有返回 publish_id，请在公众平台核对", raw=raw)
        return Receipt(
            status="pending",
            external_id=str(publish_id),
            platform_code=0,
            detail="已提交发表，等待微信处理结果",
            raw=raw,
        )

    async def _mass_send(self, draft_id: str, idempotency_key: str) -> Receipt:
        body = {
            "filter": {"is_to_all": True},
            "mpnews": {"media_id": draft_id},
            "msgtype": "mpnews",
            "send_ignore_reprint": 0,
            "clientmsgid": _client_msg_id(idempotency_key),
        }
        # 45065: this clientmsgid was used already; the body names the earlier job.
        data = await self._api(
            "/cgi-bin/message/mass/sendall", body, effect=True, accept=frozenset({45065})
        )
        raw = self.redact_data({"draft_media_id": draft_id, **data})
        msg_id = data.get("msg_id")
        if msg_id in (None, ""):
            raise Unconfirmed("微信接受了群发请求但没有返回 msg_id，请在公众平台核对", raw=raw)
        again = data.get("errcode") == 45065
        return Receipt(
            status="pending",
            external_id=f"mass:{msg_id}",
            platform_code=45065 if again else 0,
            detail="该消息此前已提交群发，等待群发结果" if again else "已提交群发，等待群发结果",
            raw=raw,
        )

    def _article(self, message: Message) -> dict[str, Any]:
        if message.format != "html":
            raise BadContent(f"公众号文章正文须为 HTML，收到的是 {message.format}")
        title = message.title.strip()
        if not title:
            raise BadContent("公众号文章必须有标题")
        assert self.title_limit is not None and self.limit is not None
        if not self.title_limit.fits(title):
            raise BadContent(f"标题超过 {self.title_limit}（现为 {len(title)} 字）")
        if not message.body.strip():
            raise BadContent("公众号文章正文不能为空")
        if not self.limit.fits(message.body):
            raise BadContent(f"正文超过 {self.limit}（现为 {len(message.body)} 字）")
        article: dict[str, Any] = {"article_type": "news", "title": title}
        author = message.author or self.author
        if author:
            if not AUTHOR_LIMIT.fits(author):
                raise BadContent(f"作者超过 {AUTHOR_LIMIT}（现为 {len(author)} 字）")
            article["author"] = author
        if message.summary:
            if not DIGEST_LIMIT.fits(message.summary):
                raise BadContent(f"摘要超过 {DIGEST_LIMIT}（现为 {len(message.summary)} 字）")
            article["digest"] = message.summary
        article["content"] = message.body
        if message.url:
            if len(message.url.encode("utf-8")) > CONTENT_SOURCE_URL_BYTES:
                raise BadContent(f"原文链接超过 {CONTENT_SOURCE_URL_BYTES} 字节")
            article["content_source_url"] = message.url
        article["need_open_comment"] = int(self.need_open_comment)
        return article

    async def _upload_cover(self, data: bytes, filename: str, mime: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        if cached := self._covers.get(digest):
            return cached
        # A repeated upload only adds an unused material to the library: not worth Unconfirmed.
        result = await self._api(
            "/cgi-bin/material/add_material",
            files={"media": (filename, data, mime)},
            params={"type": "image"},
        )
        media_id = result.get("media_id")
        if not media_id:
            raise ChannelError("微信上传封面成功但没有返回 media_id", raw=self.redact_data(result))
        self._covers[digest] = str(media_id)
        return str(media_id)

    # -- check ----------------------------------------------------------------------------

    async def check(self, receipt: Receipt) -> Receipt:
        """Ask ``freepublish/get`` (or ``message/mass/get``) about an earlier receipt.

        Returns:
            ``published`` with the article's URL, ``pending`` while WeChat is still working,
            or ``failed`` with the reason in ``detail``; ``platform_code`` is the status.

        Raises:
            ChannelError: the receipt has no id, or the query itself failed.
        """
        external_id = receipt.external_id
        if not external_id:
            raise ChannelError("回执没有 publish_id，无法查询发表结果")
        if external_id.startswith("mass:"):
            return await self._check_mass(external_id)
        data = await self._api("/cgi-bin/freepublish/get", {"publish_id": external_id})
        raw = self.redact_data(data)
        status = _int(data.get("publish_status"))
        if status is None:
            raise ChannelError("微信查询发表结果时没有返回 publish_status", raw=raw)
        detail = PUBLISH_STATUS.get(status, f"未知的发表状态 {status}")
        if status == 0:
            return Receipt(
                status="published",
                external_id=external_id,
                url=_article_url(data),
                platform_code=0,
                detail=detail,
                raw=raw,
            )
        if status == 1:
            return Receipt(
                status="pending", external_id=external_id, platform_code=1, detail=detail, raw=raw
            )
        failed = data.get("fail_idx")
        if isinstance(failed, list) and failed:
            detail += f"（失败的文章序号：{'、'.join(str(i) for i in failed)}）"
        return Receipt(
            status="failed", external_id=external_id, platform_code=status, detail=detail, raw=raw
        )

    async def _check_mass(self, external_id: str) -> Receipt:
        msg_id = external_id.removeprefix("mass:")
        data = await self._api("/cgi-bin/message/mass/get", {"msg_id": _int(msg_id) or msg_id})
        raw = self.redact_data(data)
        code = str(data.get("msg_status", ""))
        status, detail = _MASS_STATUS.get(code, ("failed", f"未知的群发状态 {code}"))
        return Receipt(
            status=status,
            external_id=external_id,
            platform_code=code,
            detail=detail,
            raw=raw,
        )

    # -- the API --------------------------------------------------------------------------

    async def _api(
        self,
        path: str,
        body: Mapping[str, Any] | None = None,
        *,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        params: Mapping[str, str] | None = None,
        effect: bool = False,
        accept: frozenset[int] = frozenset(),
    ) -> dict[str, Any]:
        """POST to a business endpoint with the access token; refresh it once if refused.

        *effect*: the call changes something visible (a draft, a publish, a mass send), so an
        answer lost after sending is :class:`Unconfirmed`. *accept*: errcodes returned as data.
        """
        token = await self._access_token()
        data = await self._send(path, body, files=files, params=params, token=token, effect=effect)
        code = _errcode(data)
        if code in TOKEN_ERRORS:
            log.info(
                "%s: access_token 被拒绝（errcode=%s），刷新后重试一次 %s", self.id, code, path
            )
            token = await self._access_token(rejected=token)
            data = await self._send(
                path, body, files=files, params=params, token=token, effect=effect
            )
            code = _errcode(data)
            if code in TOKEN_ERRORS:
                raise AuthExpired(
                    f"刷新 access_token 后微信仍拒绝调用 {path}（errcode={code}）",
                    platform_code=code,
                    raw=self.redact_data(data),
                )
        if code != 0 and code not in accept:
            raise self._error(code, data, path)
        return data

    async def _access_token(self, *, rejected: str | None = None) -> str:
        """The cached token, or a new one when it is about to expire or was *rejected*."""
        async with self._lock():
            token = self._token
            if token is not None and token != rejected and self._clock() < self._token_fresh_until:
                return token
            token, expires_in = await self._fetch_token(force=False)
            if self.stable_token and token == rejected:
                # stable_token hands out the same token while it is valid by its own account;
                # only force_refresh (20 a day) replaces one the API has just refused.
                token, expires_in = await self._fetch_token(force=True)
            self._tokens.append(token)
            self._token = token
            margin = min(_TOKEN_REFRESH_MARGIN, expires_in / 2)
            self._token_fresh_until = self._clock() + expires_in - margin
            return token

    def _lock(self) -> asyncio.Lock:
        # An asyncio.Lock binds to the loop it first waits on; callers may use asyncio.run()
        # per delivery, so each loop gets its own.
        loop = asyncio.get_running_loop()
        if self._lock_loop is not loop:
            self._lock_loop, self._token_lock = loop, asyncio.Lock()
        return self._token_lock

    async def _fetch_token(self, *, force: bool) -> tuple[str, float]:
        if self.stable_token:
            path = "/cgi-bin/stable_token"
            body: dict[str, Any] = {
                "grant_type": "client_credential",
                "appid": self.app_id,
                "secret": self._app_secret,
                "force_refresh": force,
            }
            data = await self._send(path, body)
        else:
            path = "/cgi-bin/token"
            query = {"grant_type": "client_credential", "appid": self.app_id}
            data = await self._send(path, None, method="GET", params=query, secret=True)
        code = _errcode(data)
        if code != 0:
            if code == 40001:
                raise Misconfigured(
                    "获取 access_token 失败：AppSecret 错误，请检查 app_secret（errcode=40001）",
                    platform_code=code,
                    raw=self.redact_data(data),
                )
            raise self._error(code, data, path, prefix="获取 access_token 失败：")
        token = data.get("access_token")
        if not isinstance(token, str) or not token:
            raise Retryable("获取 access_token 失败：微信没有返回 access_token")
        expires_in = _int(data.get("expires_in")) or 7200
        return token, float(expires_in)

    async def _send(
        self,
        path: str,
        body: Mapping[str, Any] | None,
        *,
        method: str = "POST",
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        params: Mapping[str, str] | None = None,
        token: str | None = None,
        secret: bool = False,
        effect: bool = False,
    ) -> dict[str, Any]:
        query = dict(params or {})
        if token is not None:
            query["access_token"] = token
        if secret:
            query["secret"] = self._app_secret
        content: bytes | None = None
        headers: dict[str, str] = {}
        if body is not None:
            # Raw UTF-8: WeChat refuses \uXXXX escapes in title and author (errcode 40033).
            content = json.dumps(body, ensure_ascii=False).encode("utf-8")
            headers["Content-Type"] = "application/json; charset=utf-8"
        try:
            response = await self.client.request(
                method,
                f"{self.base_url}{path}",
                params=query,
                content=content,
                files=files,
                headers=headers,
            )
        except NOT_SENT as exc:
            raise Retryable(self.redact(f"无法连接微信接口 {path}：{describe(exc)}")) from None
        except httpx.UnsupportedProtocol as exc:
            raise Misconfigured(self.redact(f"微信接口地址无效：{describe(exc)}")) from None
        except httpx.TransportError as exc:
            if effect:
                raise Unconfirmed(
                    self.redact(
                        f"请求已发出，但没有收到微信的答复（{path}，{describe(exc)}）："
                        "可能已经生效，请先在公众平台核对，不要直接重发"
                    )
                ) from None
            raise Retryable(
                self.redact(f"调用微信接口 {path} 时连接中断：{describe(exc)}")
            ) from None
        status = response.status_code
        if status >= 500 or status == 429:
            cls = RateLimited if status == 429 else Retryable
            raise cls(
                f"微信接口 {path} 暂时不可用（HTTP {status}）",
                http_status=status,
                retry_after=retry_after(response),
            )
        if status == 404:
            raise Misconfigured(
                f"微信接口 {path} 不存在（HTTP 404），请检查 base_url", http_status=404
            )
        if status >= 400:
            raise ChannelError(f"微信接口 {path} 返回 HTTP {status}", http_status=status)
        data = json_object(response)
        if data is None:
            text = f"微信接口 {path} 返回了无法解析的内容（HTTP {status}）"
            if effect:
                raise Unconfirmed(
                    text + "：请求可能已经生效，请先在公众平台核对", http_status=status
                )
            raise Retryable(text, http_status=status)
        log.debug("%s: %s %s → errcode %s", self.id, method, path, data.get("errcode", 0))
        return data

    def _error(
        self, code: int, data: Mapping[str, Any], path: str, *, prefix: str = ""
    ) -> ChannelError:
        raw = self.redact_data(data)
        where = f"（errcode={code}，{path}）"
        if code in _MISCONFIGURED:
            return Misconfigured(prefix + _MISCONFIGURED[code] + where, platform_code=code, raw=raw)
        if code in _BAD_CONTENT:
            return BadContent(prefix + _BAD_CONTENT[code] + where, platform_code=code, raw=raw)
        if code in _DAILY_QUOTA:
            return RateLimited(
                prefix + _DAILY_QUOTA[code] + "，北京时间零点后恢复" + where,
                platform_code=code,
                raw=raw,
                retry_after=_until_beijing_midnight(time.time()),
            )
        if code in _MINUTE_QUOTA:
            return RateLimited(
                prefix + _MINUTE_QUOTA[code] + where, platform_code=code, raw=raw, retry_after=60.0
            )
        if code == -1:
            return Retryable(
                prefix + "微信系统繁忙，请稍后重试" + where, platform_code=code, raw=raw
            )
        if code in TOKEN_ERRORS:
            return AuthExpired(
                prefix + "access_token 无效或已过期" + where, platform_code=code, raw=raw
            )
        return ChannelError(prefix + "微信返回错误" + where, platform_code=code, raw=raw)


def _errcode(data: Mapping[str, Any]) -> int:
    code = data.get("errcode", 0)
    parsed = _int(code)
    return parsed if parsed is not None else -1


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _article_url(data: Mapping[str, Any]) -> str | None:
    detail = data.get("article_detail")
    items = detail.get("item") if isinstance(detail, Mapping) else None
    if isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping) and item.get("article_url"):
                return str(item["article_url"])
    return None


def _cover(data: bytes) -> tuple[bytes, str, str]:
    if len(data) > COVER_MAX_BYTES:
        raise BadContent(f"封面图片超过 10 MB（现为 {len(data) / 1024 / 1024:.1f} MB）")
    for magic, filename, mime in _IMAGE_TYPES:
        if data.startswith(magic):
            return data, filename, mime
    raise BadContent("封面图片须为 JPG、PNG、GIF 或 BMP 格式")


def _client_msg_id(key: str) -> str:
    # clientmsgid is at most 64 bytes; a longer key is replaced by its (64-character) hash.
    if len(key.encode("utf-8")) <= 64:
        return key
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _until_beijing_midnight(now: float) -> float:
    day = 86_400.0
    return day - (now + 8 * 3600) % day


def _flag(channel: Channel, field: str) -> bool:
    value = channel.config.get(field)
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, str) and value.strip().lower() in {"", "0", "false", "no", "off"}:
        return False
    raise config_error(channel, f"field {field} must be true or false, got {value!r}")


def _text_field(channel: Channel, field: str) -> str | None:
    value = channel.config.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise config_error(channel, f"field {field} must be a string, got {value!r}")
    return value

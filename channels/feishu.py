"""Feishu / Lark (飞书) custom group bot: ``POST /open-apis/bot/v2/hook/{HOOK_ID}``.

The hook id (the last part of the bot's webhook address) is the credential, and it sits in the
URL path: every URL this module shows or logs has it masked, httpx's own request log line too.
Lark (international) is the same API on ``https://open.larksuite.com``: set ``base_url``.

A bot has up to three security settings, and the adapter honours the two it can see:

* **签名校验** (``secret``): the JSON body carries ``timestamp`` (epoch **seconds**, within an hour
  of Feishu's clock) and ``sign`` = base64 of HMAC-SHA256 keyed with ``f"{timestamp}\\n{secret}"``
  over an empty message, see :func:`sign` (``docs/channel-contracts.md`` §5);
* **自定义关键词** (``keywords``): a message must contain one of them, so one that contains none
  is refused with :class:`BadContent` before sending instead of costing a 19024.

The message type follows the :class:`~channels.base.Message`: ``markdown`` → ``interactive`` (a
card with the title as header, the body as ``lark_md`` and a 阅读全文 button to ``url``);
``plain`` with a title → ``post`` (rich text: title, one paragraph per line, a link to ``url``);
``plain`` without a title → ``text``. ``extra["msg_type"]`` forces one of the three;
``extra["mentions"]`` (``"@all"`` or ``ou_…`` open ids) @ people. The whole request body is at
most 20 KB; longer is :class:`BadContent` before sending.

Success is ``code`` 0 in the body (old answers carry only ``StatusCode``: read when ``code`` is
absent), never the HTTP status alone:

===============================  ===========================================================
``code``                         raised
===============================  ===========================================================
19021                            :class:`Misconfigured`: signature wrong or the clock is off
19022                            :class:`Misconfigured`: the server's IP is not whitelisted
19024                            :class:`Misconfigured`: keyword settings differ from ours
19001 "…access token invalid"    :class:`Misconfigured`: wrong hook id, or the bot was deleted
19001, other parameters          :class:`BadContent`
11232; 9499 "too many …"         :class:`RateLimited`: 5/s and 100/min per bot, and platform
                                 load on the hour and half hour
9499 "Bad Request"               :class:`BadContent`: a body Feishu cannot read (or > 20 KB)
other                            :class:`Misconfigured`
===============================  ===========================================================

Without a code (or with code 0 on an HTTP 5xx): HTTP 5xx is :class:`Retryable`, 429
:class:`RateLimited`, another 2xx :class:`Unconfirmed`, anything else :class:`Misconfigured`. No
connection is :class:`Retryable`; a request that went out without an answer is
:class:`Unconfirmed` (the bot has no record to check: staff confirm in the group).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar, NoReturn, Unpack

import httpx

from channels._config import config_error, string_list
from channels._http import HttpOptions, json_object, retry_after
from channels._robot import GroupBot, keywords_mismatch
from channels.base import (
    BadContent,
    Capability,
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

__all__ = ["BODY_LIMIT", "HOOK_PATH", "MSG_TYPES", "RETRY_AFTER", "Feishu", "mask_hook", "sign"]

log = logging.getLogger(__name__)

HOOK_PATH = "/open-apis/bot/v2/hook/"
BODY_LIMIT = 20_000
"""The request body's limit in bytes: Feishu says 20 KB; counted as 20,000 to stay clear of it."""
RETRY_AFTER = 10.0
"""Seconds to wait after a rate-limit answer that names no time (the windows are 1 s and 60 s)."""
MSG_TYPES = ("text", "post", "interactive")

_HOOK_ID = re.compile(r"^[A-Za-z0-9_-]{8,128}$")
_HOOK_IN_PATH = re.compile(r"(/open-apis/bot/v2/hook/)[^/?#\s'\"<>]+")
_RATE_WORDS = ("too many", "frequen", "limit", "频率", "频繁", "限流")
# Keys of the body whose values are markup, addresses or ids, not text a keyword can be in.
_NOT_TEXT = frozenset(
    {"msg_type", "timestamp", "sign", "tag", "href", "url", "user_id", "template", "type"}
)


def sign(secret: str, timestamp: int) -> str:
    """The body's ``sign`` for *timestamp* (epoch seconds).

    ``base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))``, UTF-8, as Feishu's demo.
    """
    key = f"{timestamp}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


def mask_hook(text: str) -> str:
    """*text* with every ``/open-apis/bot/v2/hook/<id>`` shown as ``…/hook/***``."""
    return _HOOK_IN_PATH.sub(r"\1***", text)


def _code(data: Mapping[str, Any]) -> int | None:
    for key in ("code", "StatusCode"):
        value = data.get(key)
        if value is None or isinstance(value, bool):
            continue
        try:
            return int(value)
        except (TypeError, ValueError):
            continue
    return None


class Feishu(GroupBot):
    """Send to a Feishu (or Lark) group through a custom bot.

    Configuration:
        hook_id: the id at the end of the bot's webhook address
            (``https://open.feishu.cn/open-apis/bot/v2/hook/<hook_id>``; a secret). The whole
            address is accepted too.
        secret: the 签名校验 secret (a secret), when the bot signs.
        keywords: the bot's custom keywords (a list, or a comma-separated string).

    Args:
        clock: the wall clock (seconds since the epoch) for the signature's timestamp.
    """

    name = "feishu"
    title = "飞书群机器人"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.TEXT, Capability.MARKDOWN, Capability.LINK, Capability.MENTION}
    )
    formats: ClassVar[tuple[Format, ...]] = ("markdown", "plain")
    limit: ClassVar[Limit | None] = Limit(18_000, LengthUnit.UTF8_BYTES)
    rate: ClassVar[tuple[tuple[int, float], ...]] = ((5, 1.0), (100, 60.0))
    required_fields = ("hook_id",)
    optional_fields = ("secret", "keywords")
    secret_fields = ("hook_id", "secret")
    default_base_url = "https://open.feishu.cn"
    _log = log

    def __init__(self, id: str, config: Mapping[str, Any], **options: Unpack[HttpOptions]) -> None:
        super().__init__(id, config, **options)
        hook = str(self.config["hook_id"]).strip()
        if HOOK_PATH in hook:
            hook = hook.split(HOOK_PATH, 1)[1].split("?", 1)[0].strip("/")
        if not _HOOK_ID.match(hook):
            # The value is a secret: the message describes it without showing it.
            raise config_error(
                self,
                "hook_id must be the id at the end of the bot's webhook address "
                "(…/open-apis/bot/v2/hook/<hook_id>; letters, digits, '-')",
            )
        self._hook_id = hook
        secret = self.config.get("secret")
        self._secret = str(secret).strip() if secret not in (None, "") else None
        self.keywords = string_list(self, "keywords", numbers=False)

    # -- secrets --------------------------------------------------------------------------

    def secrets(self) -> list[str]:
        """The secret values, the hook id as used (it may have been cut from a full address)."""
        return [*super().secrets(), self._hook_id]

    @staticmethod
    def _mask(text: str) -> str:
        """*text* with every hook path masked (see :func:`mask_hook`)."""
        return mask_hook(text)

    # -- publishing -----------------------------------------------------------------------

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        """Send *message* to the group; the bot takes no idempotency key (logs only).

        Raises:
            BadContent: empty, HTML, over 20 KB, no configured keyword in it, a refused body.
            Misconfigured: signature or clock (19021), IP whitelist, keywords, unknown hook.
            RateLimited: over 5 a second or 100 a minute, or the platform under load.
            Retryable: no connection, HTTP 5xx.
            Unconfirmed: sent, but no answer came back.
        """
        payload = self.payload(message)
        body: dict[str, Any] = {}
        if self._secret is not None:
            timestamp = int(self._clock())
            body = {"timestamp": str(timestamp), "sign": sign(self._secret, timestamp)}
        body.update(payload)
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(content) > BODY_LIMIT:
            raise BadContent(
                self._say(
                    f"请求体 {len(content)} 字节，超过飞书的 20 KB 上限（按 {BODY_LIMIT} 字节计）；"
                    "请缩短或拆分"
                ),
                platform_code="length",
            )
        assert self.base_url is not None
        url = f"{self.base_url}{HOOK_PATH}{self._hook_id}"
        response = await self._send(url, content, idempotency_key=idempotency_key, service="飞书")
        data = json_object(response) or {}
        code = _code(data)
        if code is None or (code == 0 and response.status_code >= 500):
            self._no_code(response, data)
        if code != 0:
            self._fail(code, data, response)
        log.info("feishu %s: sent %s as %s", self.id, idempotency_key, payload["msg_type"])
        return self._published("已发送到飞书群", data)

    def payload(self, message: Message) -> dict[str, Any]:
        """The message part of the body (no ``timestamp``/``sign``), checked for keywords.

        Raises:
            BadContent: empty, HTML, an unknown ``extra["msg_type"]``, no configured keyword.
        """
        msg_type = self._msg_type(message)
        body = message.body.strip()
        title = message.title.strip()
        if not body:
            raise BadContent(self._say("消息内容为空"), platform_code="empty")
        mentions = self._mentions(message)
        payload: dict[str, Any]
        if msg_type == "text":
            text = body
            if message.url:
                text = f"{text}\n{message.url}"
            if mentions:
                text += " " + "".join(
                    '<at user_id="all">所有人</at>' if m == "all" else f'<at user_id="{m}"></at>'
                    for m in mentions
                )
            payload = {"msg_type": "text", "content": {"text": text}}
        elif msg_type == "post":
            lines: list[list[dict[str, Any]]] = [
                [{"tag": "text", "text": line}] for line in body.splitlines() if line.strip()
            ]
            if message.url:
                button = str(message.extra.get("button") or "阅读全文")
                lines.append([{"tag": "a", "text": button, "href": message.url}])
            if mentions:
                lines.append([{"tag": "at", "user_id": m} for m in mentions])
            post = {"zh_cn": {"title": title, "content": lines}}
            payload = {"msg_type": "post", "content": {"post": post}}
        else:
            if not title:
                raise BadContent(self._say("卡片消息需要标题（title，显示在卡片头部）"))
            text = body
            if mentions:
                text += "\n" + " ".join(f"<at id={m}></at>" for m in mentions)
            elements: list[dict[str, Any]] = [
                {"tag": "div", "text": {"tag": "lark_md", "content": text}}
            ]
            if message.url:
                button = str(message.extra.get("button") or "阅读全文")
                elements.append(
                    {
                        "tag": "action",
                        "actions": [
                            {
                                "tag": "button",
                                "text": {"tag": "plain_text", "content": button},
                                "url": message.url,
                                "type": "primary",
                            }
                        ],
                    }
                )
            template = str(message.extra.get("template") or "blue")
            card = {
                "config": {"wide_screen_mode": True},
                "header": {"title": {"tag": "plain_text", "content": title}, "template": template},
                "elements": elements,
            }
            payload = {"msg_type": "interactive", "card": card}
        self._require_keyword(payload, self.keywords, skip=_NOT_TEXT, platform="飞书")
        return payload

    def _msg_type(self, message: Message) -> str:
        forced = message.extra.get("msg_type")
        if forced is not None:
            if forced not in MSG_TYPES:
                raise BadContent(
                    self._say(f"不支持的消息类型 {forced!r}（可用：{'、'.join(MSG_TYPES)}）")
                )
            return str(forced)
        if message.format == "markdown":
            return "interactive"
        if message.format != "plain":
            raise BadContent(
                self._say(f"飞书群机器人不接受 {message.format} 格式，请用纯文本或 markdown")
            )
        return "post" if message.title.strip() else "text"

    @staticmethod
    def _mentions(message: Message) -> list[str]:
        extra = message.extra.get("mentions") or ()
        names = [extra] if isinstance(extra, str) else list(extra)
        ids = [str(n).strip().removeprefix("@") for n in names]
        return list(dict.fromkeys(i for i in ids if i))

    # -- errors ---------------------------------------------------------------------------

    def _no_code(self, response: httpx.Response, data: Mapping[str, Any]) -> NoReturn:
        status = response.status_code
        kw = self._details(None, response, data)
        if status >= 500:
            raise Retryable(self._say(f"飞书服务错误（HTTP {status}），稍后重试"), **kw)
        if status == 429:
            raise RateLimited(
                self._say(f"请求过于频繁（HTTP {status}）"),
                retry_after=retry_after(response) or RETRY_AFTER,
                **kw,
            )
        if response.is_success:
            raise Unconfirmed(
                self._say(f"应答（HTTP {status}）中没有 code，无法确认是否送达；请到群里核对"),
                **kw,
            )
        raise Misconfigured(
            self._say(f"飞书拒绝了请求（HTTP {status}），请核对 hook_id 与 base_url"), **kw
        )

    def _fail(self, code: int, data: Mapping[str, Any], response: httpx.Response) -> NoReturn:
        said = self.redact(str(data.get("msg") or data.get("StatusMessage") or ""))
        lower = said.lower()
        kw = self._details(code, response, data)

        def text(explain: str) -> str:
            return self._refused(explain, code, said)

        if code == 19021:
            if self._secret is None:
                explain = "签名校验失败：机器人启用了签名校验，请在渠道配置中填写 secret"
            else:
                explain = (
                    "签名校验失败：请核对渠道配置的 secret 与机器人的签名密钥；"
                    "若密钥无误，则本机时钟与飞书相差超过 1 小时，请校准服务器时间"
                )
            raise Misconfigured(text(explain), **kw)
        if code == 19022:
            raise Misconfigured(
                text("本机出口 IP 不在机器人的 IP 白名单中，请联系群管理员添加"), **kw
            )
        if code == 19024:
            raise Misconfigured(text(keywords_mismatch(self.keywords)), **kw)
        if code == 11232 or (code == 9499 and any(w in lower for w in _RATE_WORDS)):
            raise RateLimited(
                text(
                    "发送过于频繁：每个机器人每秒最多 5 条、每分钟最多 100 条，"
                    "整点和半点平台繁忙时也会限流；稍后重试"
                ),
                retry_after=retry_after(response) or RETRY_AFTER,
                **kw,
            )
        if code == 9499:
            raise BadContent(text("飞书无法解析这条消息（格式错误或请求体超过 20 KB）"), **kw)
        if code == 19001:
            if "token" in lower or "webhook" in lower:
                raise Misconfigured(
                    text("hook_id 无效：请核对机器人的 webhook 地址，机器人可能已被删除"), **kw
                )
            raise BadContent(text("消息参数无效"), **kw)
        raise Misconfigured(text("飞书拒绝了这条消息"), **kw)

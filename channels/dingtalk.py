"""DingTalk (钉钉) custom group robot: ``POST /robot/send?access_token=TOKEN[&timestamp&sign]``.

A robot has at least one security setting, and the adapter honours the two it can see:

* **加签** (``secret``, the ``SEC…`` string): every request carries ``timestamp`` (epoch
  milliseconds, within an hour of DingTalk's clock) and ``sign`` =
  URL-encoded base64 of HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"), see :func:`sign`;
* **自定义关键词** (``keywords``): a message must contain one of them, so one that contains none
  is refused with :class:`BadContent` before sending instead of costing a 310000.

The message type follows the :class:`~channels.base.Message`: ``plain`` → ``text``, ``markdown``
→ ``markdown`` (its ``title`` is the notification line and is required); with a ``url`` and
``extra["card"]=True``, ``plain`` → ``link`` and ``markdown`` → ``actionCard`` (one button to the
URL). ``extra["msgtype"]`` forces one of them. The text is at most 20,000 UTF-8 bytes.

Success is ``errcode`` 0 in the body, never the HTTP status alone:

=======================================  ==================================================
``errcode``                              raised
=======================================  ==================================================
130101, 410100, or an ``errmsg`` with    :class:`RateLimited`, ``retry_after`` 600: over 20
"too fast" / "exceed" / "限流"           per minute locks the robot for 10 minutes
310000                                   :class:`Misconfigured`: signature, timestamp (the
                                         clock), keyword or IP whitelist, named from errmsg
300005, 300001, 400102, 400106, 400013   :class:`Misconfigured`: no such token, robot
                                         stopped or removed, group dissolved
460101                                   :class:`BadContent`: over 20,000 bytes
40035, 43002, 43004                      :class:`Misconfigured`: a request the robot cannot
                                         read (a bug: alert an administrator)
-1                                       :class:`Retryable`: the platform is busy
other                                    :class:`Misconfigured`
=======================================  ==================================================

The robot keeps no record a publish could be checked against: a request that went out without
an answer is :class:`Unconfirmed`, and staff confirm it in the group.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar, NoReturn, Unpack
from urllib.parse import quote_plus

import httpx

from channels._config import config_error, string_list
from channels._http import HttpOptions
from channels._robot import RobotChannel, keywords_mismatch, utf8_len
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
)

__all__ = ["LOCKOUT", "MSGTYPES", "TEXT_LIMIT", "DingTalk", "sign"]

log = logging.getLogger(__name__)

TEXT_LIMIT = Limit(20_000, LengthUnit.UTF8_BYTES)
LOCKOUT = 600.0
"""Seconds a robot stays throttled after it exceeded 20 messages in a minute."""
MSGTYPES = ("text", "markdown", "link", "actionCard")

_MOBILE = re.compile(r"^\+?[\d-]{6,20}$")
_RATE_CODES = frozenset({130101, 410100})
_RATE_WORDS = ("too fast", "exceed", "frequen", "限流", "太快", "频繁", "频率")
_GONE = frozenset({300001, 300005, 400102, 400106, 400013})
_UNREADABLE = frozenset({40035, 43002, 43004})

_EXPLAIN: dict[int, str] = {
    -1: "钉钉系统繁忙，稍后重试",
    300001: "access_token 不存在，请核对机器人的 webhook 地址",
    300005: "access_token 不存在，请核对机器人的 webhook 地址",
    400102: "机器人已停用",
    400106: "机器人不存在（可能已被移出群聊）",
    400013: "群已解散",
    460101: "消息超过 20000 字节",
    40035: "请求缺少参数",
    43002: "钉钉要求 POST 请求",
    43004: "请求的 Content-Type 无效",
}


def sign(secret: str, timestamp_ms: int) -> str:
    """The ``sign`` query value for *timestamp_ms*: URL-encoded, ready to append as it is.

    ``quote_plus(base64(HMAC_SHA256(key=secret, msg=f"{timestamp_ms}\\n{secret}")))``, all UTF-8.
    """
    message = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest).decode("ascii"))


# Keys of the body whose values are no text a keyword can be in.
_NOT_TEXT = frozenset({"msgtype", "at"})


class DingTalk(RobotChannel):
    """Send to a DingTalk group through a custom robot.

    Configuration:
        access_token: the ``access_token=`` of the robot's webhook URL (a secret).
        secret: the 加签 secret (``SEC…``, a secret), when the robot signs.
        keywords: the robot's custom keywords (a list, or a comma-separated string).
        at_mobiles: mobile numbers to @ in text and markdown messages.
        at_all: @ everyone (``true``/``false``).

    Args:
        clock: the wall clock (seconds since the epoch) for the signature's timestamp.
    """

    name = "dingtalk"
    title = "钉钉群机器人"
    capabilities = frozenset(
        {Capability.TEXT, Capability.MARKDOWN, Capability.LINK, Capability.MENTION}
    )
    formats = ("plain", "markdown")
    limit = TEXT_LIMIT
    rate = ((20, 60.0),)
    required_fields = ("access_token",)
    optional_fields = ("secret", "keywords", "at_mobiles", "at_all")
    secret_fields = ("access_token", "secret")
    default_base_url = "https://oapi.dingtalk.com"
    robot_path: ClassVar[str] = "/robot/send"

    def __init__(self, id: str, config: Mapping[str, Any], **options: Unpack[HttpOptions]) -> None:
        super().__init__(id, config, **options)
        self.access_token = str(self.config["access_token"]).strip()
        secret = self.config.get("secret")
        self.secret = str(secret).strip() if secret not in (None, "") else None
        if self.secret is not None and not self.secret.startswith("SEC"):
            raise config_error(
                self, "secret must be the 加签 secret starting with SEC (机器人安全设置 → 加签)"
            )
        self.keywords = string_list(self, "keywords")
        self.at_mobiles = string_list(self, "at_mobiles")
        at_all = self.config.get("at_all", False)
        if isinstance(at_all, str) and at_all.strip().lower() in ("true", "false", "1", "0", ""):
            at_all = at_all.strip().lower() in ("true", "1")
        if not isinstance(at_all, bool):
            raise config_error(self, "at_all must be true or false")
        self.at_all = at_all

    # -- publishing -----------------------------------------------------------------------

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        """Send *message* to the group; the robot takes no idempotency key (logs only).

        Raises:
            BadContent: empty, over 20,000 bytes, no configured keyword in it, HTML …
            Misconfigured: signature, timestamp, IP whitelist (310000), unknown token …
            RateLimited: over 20 per minute; ``retry_after`` covers the 10-minute lockout.
            Retryable: no connection, HTTP 5xx, platform busy.
            Unconfirmed: sent, but no answer came back.
        """
        payload = self.payload(message)
        params = {"access_token": self.access_token}
        if self.secret is not None:
            timestamp = int(self._clock() * 1000)
            params["timestamp"] = str(timestamp)
            params["sign"] = sign(self.secret, timestamp)
        code, data, response = await self._post(params, payload, idempotency_key=idempotency_key)
        if code != 0:
            self._fail(code, data, response)
        log.info("dingtalk %s: sent %s as %s", self.id, idempotency_key, payload["msgtype"])
        return self._published("已发送到钉钉群", data)

    def payload(self, message: Message) -> dict[str, Any]:
        """The JSON body *message* becomes, checked against the limit and the keywords.

        Raises:
            BadContent: see :meth:`publish`.
        """
        msgtype = self._msgtype(message)
        body = message.body.strip()
        title = message.title.strip()
        mobiles, at_all, users = self._mentions(message)
        payload: dict[str, Any]
        if msgtype == "text":
            text = body
            payload = {"msgtype": "text", "text": {"content": body}}
        elif msgtype == "markdown":
            if not title:
                raise BadContent(self._say("markdown 消息需要标题（title，显示在通知栏）"))
            missing = [f"@{m}" for m in mobiles if f"@{m}" not in body]
            text = f"{body}\n\n{' '.join(missing)}" if missing and body else body
            payload = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        else:
            if not message.url:
                raise BadContent(self._say(f"{msgtype} 卡片消息需要链接 url"))
            if not title:
                raise BadContent(self._say(f"{msgtype} 卡片消息需要标题"))
            if msgtype == "link":
                text = (message.summary or body).strip()
                link: dict[str, Any] = {"title": title, "text": text, "messageUrl": message.url}
                picurl = message.extra.get("picurl")
                if isinstance(picurl, str) and picurl:
                    link["picUrl"] = picurl
                payload = {"msgtype": "link", "link": link}
            else:
                text = body
                button = str(message.extra.get("button") or "阅读全文")
                card = {
                    "title": title,
                    "text": body,
                    "singleTitle": button,
                    "singleURL": message.url,
                }
                payload = {"msgtype": "actionCard", "actionCard": card}
        if not text:
            raise BadContent(self._say("消息内容为空"), platform_code="empty")
        if not TEXT_LIMIT.fits(text):
            raise BadContent(
                self._say(
                    f"{msgtype} 消息正文 {utf8_len(text)} 字节，超过 {TEXT_LIMIT}；请缩短或拆分"
                ),
                platform_code="length",
            )
        if msgtype in ("text", "markdown") and (mobiles or at_all or users):
            at: dict[str, Any] = {"isAtAll": at_all}
            if mobiles:
                at["atMobiles"] = mobiles
            if users:
                at["atUserIds"] = users
            payload["at"] = at
        self._require_keyword(payload, self.keywords, skip=_NOT_TEXT, platform="钉钉")
        return payload

    def _msgtype(self, message: Message) -> str:
        if (forced := self._forced_msgtype(message.extra, MSGTYPES)) is not None:
            return forced
        if message.format not in ("plain", "markdown"):
            raise BadContent(
                self._say(f"钉钉群机器人不接受 {message.format} 格式，请用纯文本或 markdown")
            )
        if message.extra.get("card") and message.url:
            return "link" if message.format == "plain" else "actionCard"
        return "text" if message.format == "plain" else "markdown"

    def _mentions(self, message: Message) -> tuple[list[str], bool, list[str]]:
        mobiles = list(self.at_mobiles)
        users: list[str] = []
        at_all = self.at_all
        extra = message.extra.get("mentions") or ()
        for name in [extra] if isinstance(extra, str) else extra:
            name = str(name).strip()
            if name == "@all":
                at_all = True
            elif _MOBILE.match(name):
                mobiles.append(name)
            elif name:
                users.append(name.removeprefix("@"))
        return list(dict.fromkeys(mobiles)), at_all, list(dict.fromkeys(users))

    # -- errors ---------------------------------------------------------------------------

    def _fail(self, code: int, data: Mapping[str, Any], response: httpx.Response) -> NoReturn:
        said = self.redact(str(data.get("errmsg") or ""))
        lower = said.lower()
        kw = self._details(code, response, data)

        def text(explain: str) -> str:
            return self._refused(explain, code, said)

        if code == 310000:
            raise Misconfigured(text(self._security(lower)), **kw)
        if code == 460101:
            raise BadContent(text(_EXPLAIN[code]), **kw)
        if code in _RATE_CODES or any(w in lower for w in _RATE_WORDS):
            raise RateLimited(
                text(
                    "发送过于频繁：每个机器人每分钟最多 20 条，超出后限流 10 分钟，"
                    f"{LOCKOUT:.0f} 秒后重试"
                ),
                retry_after=LOCKOUT,
                **kw,
            )
        if code == -1:
            raise Retryable(text(_EXPLAIN[code]), **kw)
        if code in _GONE or code in _UNREADABLE:
            raise Misconfigured(text(_EXPLAIN[code]), **kw)
        raise Misconfigured(text("钉钉拒绝了这条消息"), **kw)

    def _security(self, errmsg: str) -> str:
        if "keyword" in errmsg or "关键词" in errmsg:
            return "安全设置校验失败：" + keywords_mismatch(self.keywords)
        signing = ("timestamp", "时间戳", "sign", "签名")
        if self.secret is None and any(w in errmsg for w in signing):
            return "安全设置校验失败：机器人启用了加签，请在渠道配置中填写 secret（SEC 开头）"
        if "timestamp" in errmsg or "时间戳" in errmsg:
            return "安全设置校验失败：时间戳无效，本机时钟与钉钉相差超过 1 小时，请校准服务器时间"
        if "sign" in errmsg or "签名" in errmsg:
            return "安全设置校验失败：签名不匹配，请核对渠道配置的 secret 与机器人的加签密钥"
        if "whitelist" in errmsg or "白名单" in errmsg or "ip" in errmsg.split():
            return "安全设置校验失败：本机出口 IP 不在机器人的 IP 白名单中，请联系群管理员添加"
        return "安全设置校验失败（加签、关键词或 IP 白名单），请核对机器人的安全设置"

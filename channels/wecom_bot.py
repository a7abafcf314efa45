"""WeCom (企业微信) group robot: ``POST /cgi-bin/webhook/send?key=KEY``, one JSON message.

The webhook key is the robot's only credential: there is no signing. The message type follows
the :class:`~channels.base.Message`:

=================================================  ============  ===========================
message                                            ``msgtype``   limit (UTF-8 bytes)
=================================================  ============  ===========================
``format="plain"``                                 ``text``      content ≤ 2048
``format="markdown"``                              ``markdown``  content ≤ 4096
a ``url`` and ``extra["card"]=True``               ``news``      title ≤ 128, description
                                                                 ≤ 512 (cut here, as the
                                                                 platform would)
=================================================  ============  ===========================

The configuration's ``msgtype`` (or ``extra["msgtype"]``) forces a type. A body over its limit
is refused with :class:`BadContent` before anything is sent. ``mentioned_list`` /
``mentioned_mobile_list`` (and ``extra["mentions"]``) @ people in ``text`` messages only: the
platform ignores them elsewhere.

Success is ``errcode`` 0 in the body, never the HTTP status alone:

============  ===============================================================
``errcode``   raised
============  ===============================================================
45009         :class:`RateLimited` (20 per minute per robot): ``retry_after``
              until the rolling minute frees, as far as this instance knows
93000         :class:`Misconfigured`: wrong key, or the robot left the group
40058, 44004  :class:`BadContent`: too long, empty
40008         :class:`Misconfigured`: the configured ``msgtype`` is wrong
-1            :class:`Retryable`: the platform is busy
other 4xxxx   :class:`BadContent`: the platform refused a parameter
other         :class:`Misconfigured`: needs an administrator's look
============  ===============================================================

The robot keeps no record a publish could be checked against: a request that went out without
an answer is :class:`Unconfirmed`, and staff confirm it in the group.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Mapping
from typing import Any, ClassVar, NoReturn, Unpack

import httpx

from channels._config import config_error, string_list
from channels._http import HttpOptions
from channels._robot import RobotChannel, truncate_utf8, utf8_len
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
)

__all__ = [
    "DESCRIPTION_LIMIT",
    "MARKDOWN_LIMIT",
    "MSGTYPES",
    "TEXT_LIMIT",
    "TITLE_LIMIT",
    "WeComBot",
]

log = logging.getLogger(__name__)

TEXT_LIMIT = Limit(2048, LengthUnit.UTF8_BYTES)
MARKDOWN_LIMIT = Limit(4096, LengthUnit.UTF8_BYTES)
TITLE_LIMIT = Limit(128, LengthUnit.UTF8_BYTES)
DESCRIPTION_LIMIT = Limit(512, LengthUnit.UTF8_BYTES)
MSGTYPES = ("text", "markdown", "markdown_v2", "news")

_MOBILE = re.compile(r"^\+?\d{6,15}$")
_WINDOW = 60.0

_EXPLAIN: dict[int, str] = {
    -1: "企业微信系统繁忙，稍后重试",
    40008: "消息类型无效，请核对渠道配置中的 msgtype",
    40058: "消息内容超过长度限制",
    44004: "消息内容为空",
    45009: "发送过于频繁：每个机器人每分钟最多 20 条",
    93000: "webhook 地址无效：key 错误，或机器人已被移出群聊",
}


class WeComBot(RobotChannel):
    """Send to a WeCom group through its robot's webhook.

    Configuration:
        key: the webhook key (the ``key=`` of the robot's URL; a secret).
        mentioned_list: user ids to @ in text messages (``@all`` for everyone).
        mentioned_mobile_list: mobile numbers to @ in text messages.
        msgtype: force ``text``, ``markdown``, ``markdown_v2`` or ``news``.

    Args:
        clock: the wall clock, for the rolling-minute estimate of a 45009's ``retry_after``.
    """

    name = "wecom_bot"
    title = "企业微信群机器人"
    capabilities = frozenset(
        {Capability.TEXT, Capability.MARKDOWN, Capability.LINK, Capability.MENTION}
    )
    formats = ("plain", "markdown")
    limit = TEXT_LIMIT
    format_limits: ClassVar[Mapping[Format, Limit]] = {"markdown": MARKDOWN_LIMIT}
    title_limit = TITLE_LIMIT
    rate = ((20, 60.0),)
    required_fields = ("key",)
    optional_fields = ("mentioned_list", "mentioned_mobile_list", "msgtype")
    secret_fields = ("key",)
    default_base_url = "https://qyapi.weixin.qq.com"
    robot_path: ClassVar[str] = "/cgi-bin/webhook/send"

    def __init__(self, id: str, config: Mapping[str, Any], **options: Unpack[HttpOptions]) -> None:
        super().__init__(id, config, **options)
        self.key = str(self.config["key"]).strip()
        self.mentioned_list = string_list(self, "mentioned_list")
        self.mentioned_mobile_list = string_list(self, "mentioned_mobile_list")
        msgtype = self.config.get("msgtype")
        if msgtype not in (None, "") and msgtype not in MSGTYPES:
            raise config_error(self, f"msgtype {msgtype!r} is not one of {', '.join(MSGTYPES)}")
        self.msgtype: str | None = str(msgtype) if msgtype else None
        self._sent: deque[float] = deque(maxlen=self.rate[0][0])

    # -- publishing -----------------------------------------------------------------------

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        """Send *message* to the group; the robot takes no idempotency key (logs only).

        Raises:
            BadContent: empty, over the byte limit, HTML, or a news card without a URL.
            Misconfigured: wrong key, robot removed (93000) …
            RateLimited: 45009, over 20 messages per minute.
            Retryable: no connection, HTTP 5xx, platform busy.
            Unconfirmed: sent, but no answer came back.
        """
        payload = self.payload(message)
        code, data, response = await self._post(
            {"key": self.key}, payload, idempotency_key=idempotency_key
        )
        if code != 0:
            self._fail(code, data, response)
        self._sent.append(self._clock())
        log.info("wecom_bot %s: sent %s as %s", self.id, idempotency_key, payload["msgtype"])
        return self._published("已发送到企业微信群", data)

    def payload(self, message: Message) -> dict[str, Any]:
        """The JSON body *message* becomes, checked against the platform's limits.

        Raises:
            BadContent: see :meth:`publish`.
        """
        msgtype = self._msgtype(message)
        if msgtype == "news":
            return self._news(message)
        body = message.body.strip()
        if not body:
            raise BadContent(self._say(_EXPLAIN[44004]), platform_code="empty")
        limit = TEXT_LIMIT if msgtype == "text" else MARKDOWN_LIMIT
        if not limit.fits(body):
            raise BadContent(
                self._say(f"{msgtype} 消息正文 {utf8_len(body)} 字节，超过 {limit}；请缩短或拆分"),
                platform_code="length",
            )
        if msgtype != "text":
            return {"msgtype": msgtype, msgtype: {"content": body}}
        text: dict[str, Any] = {"content": body}
        users, mobiles = self._mentions(message)
        if users:
            text["mentioned_list"] = users
        if mobiles:
            text["mentioned_mobile_list"] = mobiles
        return {"msgtype": "text", "text": text}

    def _msgtype(self, message: Message) -> str:
        if (forced := self._forced_msgtype(message.extra, MSGTYPES)) is not None:
            return forced
        if message.extra.get("card") and message.url:
            return "news"
        if self.msgtype is not None:
            return self.msgtype
        if message.format == "plain":
            return "text"
        if message.format == "markdown":
            return "markdown"
        raise BadContent(
            self._say(f"企业微信群机器人不接受 {message.format} 格式，请用纯文本或 markdown")
        )

    def _news(self, message: Message) -> dict[str, Any]:
        if not message.url:
            raise BadContent(self._say("图文消息（news）需要链接 url"))
        title = message.title.strip()
        if not title:
            raise BadContent(self._say("图文消息（news）需要标题"))
        article: dict[str, Any] = {
            "title": truncate_utf8(title, TITLE_LIMIT.size),
            "url": message.url,
        }
        description = (message.summary or message.body).strip()
        if description:
            article["description"] = truncate_utf8(description, DESCRIPTION_LIMIT.size)
        picurl = message.extra.get("picurl")
        if isinstance(picurl, str) and picurl:
            article["picurl"] = picurl
        return {"msgtype": "news", "news": {"articles": [article]}}

    def _mentions(self, message: Message) -> tuple[list[str], list[str]]:
        users = list(self.mentioned_list)
        mobiles = list(self.mentioned_mobile_list)
        extra = message.extra.get("mentions") or ()
        for name in [extra] if isinstance(extra, str) else extra:
            name = str(name).strip()
            if not name:
                continue
            if name == "@all":
                users.append(name)
            elif _MOBILE.match(name):
                mobiles.append(name)
            else:
                users.append(name.removeprefix("@"))
        return list(dict.fromkeys(users)), list(dict.fromkeys(mobiles))

    # -- errors ---------------------------------------------------------------------------

    def _fail(self, code: int, data: Mapping[str, Any], response: httpx.Response) -> NoReturn:
        said = self.redact(str(data.get("errmsg") or ""))
        text = self._refused(_EXPLAIN.get(code, "企业微信拒绝了这条消息"), code, said)
        kw = self._details(code, response, data)
        if code == 45009:
            wait = self._until_minute_frees()
            raise RateLimited(f"{text}，约 {wait:.0f} 秒后重试", retry_after=wait, **kw)
        if code == -1:
            raise Retryable(text, **kw)
        if code in (40058, 44004):
            raise BadContent(text, **kw)
        if code in (93000, 40008):
            raise Misconfigured(text, **kw)
        if 40000 <= code < 50000:  # parameter errors: 40xxx invalid, 44xxx empty, 47xxx parse
            raise BadContent(text, **kw)
        raise Misconfigured(text, **kw)

    def _until_minute_frees(self) -> float:
        """Seconds until the oldest of this robot's last 20 sends leaves the rolling minute.

        Other senders with the same key make the real wait longer, never shorter; without 20
        known sends the whole minute is the safe answer.
        """
        if self._sent.maxlen is None or len(self._sent) < self._sent.maxlen:
            return _WINDOW
        return min(_WINDOW, max(1.0, self._sent[0] + _WINDOW - self._clock()))

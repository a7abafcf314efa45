"""Telegram (频道/群组): a text message through python-telegram-bot's ``Bot.send_message``.

The bot posts to one chat: a channel or group by ``@username`` or numeric id (``-100…``); it
must be a member (an administrator allowed to post, for a channel). Messages are ``html``
(Telegram's HTML subset: ``<b> <i> <u> <s> <a href> <code> <pre> <blockquote>``; sent with
``parse_mode=HTML``) or ``plain``. Telegram's own ``MarkdownV2`` is not offered: every ``_ * [ ]
( ) ~ ` > # + - = | { } . !`` outside markup must be escaped, and one miss refuses the message,
while HTML needs only ``< > &`` escaped. The body is at most 4096 UTF-16 code units *as
displayed*, so the adapter measures an HTML body without its tags, with entities decoded, and
refuses a longer one before sending.

PTB speaks HTTP through :class:`_Transport`, a :class:`telegram.request.BaseRequest` over the
``httpx.AsyncClient`` the adapter is given (its timeouts, proxy and pool apply; the client stays
the caller's). The transport also decides what every failure means, before PTB sees it:

===========================================  ===================================================
HTTP answer / transport failure              raised
===========================================  ===================================================
``parameters.retry_after`` (429)             :class:`RateLimited` with ``retry_after`` seconds
429 without ``retry_after``                  :class:`RateLimited` (the engine's default wait)
``parameters.migrate_to_chat_id``            :class:`Misconfigured`: the group became a
                                             supergroup, the message names the new id
401, 404 (token rejected, wrong base URL)    :class:`Misconfigured`
403 (bot removed, not a member, blocked)     :class:`Misconfigured`
400 chat not found, not enough rights …      :class:`Misconfigured`
400 other (message is too long, can't parse  :class:`BadContent`
entities, message text is empty …)
500, 502, 503 …                              :class:`Retryable`
504 (the gateway gave up waiting)            :class:`Unconfirmed`
2xx without a usable ``result``              :class:`Unconfirmed`
connect failure or timeout, pool timeout     :class:`Retryable`: nothing was sent
read timeout, connection lost after sending  :class:`Unconfirmed`: it may have been posted
===========================================  ===================================================

PTB's own mapping is not used because in 22.8 it loses what the engine needs: the HTTP status
and body (5xx and a lost connection both become ``NetworkError``), a 2xx body without
``result`` becomes a bare ``KeyError``, and constructing ``RetryAfter`` emits a
``PTBDeprecationWarning`` (its ``retry_after`` turning into a ``timedelta``) that no
task-safe filter can silence around one call.

``sendMessage`` takes no idempotency key: a repeat is a second post, so ``idempotent`` is false
and an answer lost after sending is :class:`Unconfirmed`.

The bot token travels in every URL path (``/bot<token>/sendMessage``). Error texts and receipts
are redacted; httpx's ``HTTP Request: POST …`` line (INFO) and PTB's ``Set Bot API URL`` line
(DEBUG, logger ``telegram.Bot``) pass through a filter masking ``/bot<token>`` as ``/bot***``.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Unpack

import httpx
from telegram import Bot, LinkPreviewOptions
from telegram.constants import MessageLimit, ParseMode
from telegram.error import TelegramError
from telegram.request import BaseRequest, RequestData

from channels._config import config_error
from channels._http import NOT_SENT, describe, json_object, mask_logs
from channels.base import (
    BadContent,
    Capability,
    Channel,
    ChannelError,
    ChannelOptions,
    Format,
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

__all__ = ["DEFAULT_BASE_URL", "Telegram", "visible_text"]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.telegram.org"

_TOKEN = re.compile(r"^\d+:[A-Za-z0-9_-]+$")
_TOKEN_IN_URL = re.compile(r"/bot\d+:[A-Za-z0-9_-]+")
_CHAT_USERNAME = re.compile(r"^@[A-Za-z][A-Za-z0-9_]{3,}$")
_CHAT_ID = re.compile(r"^-?\d+$")
_TAG = re.compile(r"<[^>]*>")
_PARSE_MODES: Mapping[str, str | None] = {"html": ParseMode.HTML, "plain": None}
# 400 descriptions that say the chat or the bot's rights are wrong, not the message.
_CONFIG_PROBLEMS = (
    "chat not found",
    "chat_id is empty",
    "peer_id_invalid",
    "not enough rights",
    "need administrator rights",
    "have no rights",
    "chat_write_forbidden",
    "chat_admin_required",
    "bot is not a member",
    "bot was kicked",
    "topic_closed",
    "message thread not found",
)


def visible_text(body: str, format: Format) -> str:
    """*body* as Telegram displays (and counts) it: HTML without tags, entities decoded."""
    if format == "html":
        return html.unescape(_TAG.sub("", body))
    return body


def _mask_token(text: str) -> str:
    """*text* with every ``/bot<token>`` (a request URL's path) shown as ``/bot***``."""
    return _TOKEN_IN_URL.sub("/bot***", text)


class _Failed(TelegramError):
    """Carries the adapter's verdict through PTB, which re-raises a TelegramError untouched."""

    def __init__(self, error: ChannelError) -> None:
        super().__init__(str(error))
        self.error = error


def _seconds(value: object, default: float | None) -> float | None:
    # PTB passes BaseRequest.DEFAULT_NONE for "not given": the client's own timeout applies.
    if value is None or isinstance(value, int | float):
        return value
    return default


class _Transport(BaseRequest):
    """PTB's HTTP layer over the adapter's client; a failure leaves as :class:`_Failed`."""

    def __init__(self, channel: Telegram) -> None:
        self._channel = channel

    @property
    def read_timeout(self) -> float | None:
        return self._channel.client.timeout.read

    async def initialize(self) -> None:
        """Nothing to open: the client is the caller's."""

    async def shutdown(self) -> None:
        """Nothing to close: the client is the caller's."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: object = BaseRequest.DEFAULT_NONE,
        write_timeout: object = BaseRequest.DEFAULT_NONE,
        connect_timeout: object = BaseRequest.DEFAULT_NONE,
        pool_timeout: object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        channel = self._channel
        base = channel.client.timeout
        timeout = httpx.Timeout(
            connect=_seconds(connect_timeout, base.connect),
            read=_seconds(read_timeout, base.read),
            write=_seconds(write_timeout, base.write),
            pool=_seconds(pool_timeout, base.pool),
        )
        endpoint = url.rsplit("/", 1)[-1]
        try:
            response = await channel.client.request(
                method,
                url,
                data=request_data.json_parameters if request_data else None,
                files=request_data.multipart_data if request_data else None,
                headers={"User-Agent": self.USER_AGENT},
                timeout=timeout,
            )
        except NOT_SENT as exc:
            raise _Failed(
                Retryable(channel._say(f"无法连接 Telegram：{channel._exc(exc)}"))
            ) from None
        except httpx.TimeoutException as exc:
            raise _Failed(
                Unconfirmed(
                    channel._say(
                        f"{endpoint} 请求超时（{channel._exc(exc)}）："
                        "消息可能已发布，请在 Telegram 中核对"
                    )
                )
            ) from None
        except httpx.TransportError as exc:
            raise _Failed(
                Unconfirmed(
                    channel._say(
                        f"{endpoint} 发出后连接中断（{channel._exc(exc)}）："
                        "消息可能已发布，请在 Telegram 中核对"
                    )
                )
            ) from None
        data = json_object(response)
        if response.is_success:
            result = data.get("result") if data else None
            if result is None or (endpoint == "sendMessage" and not _is_message(result)):
                raise _Failed(
                    Unconfirmed(
                        channel._say(
                            f"{endpoint} 得到 HTTP {response.status_code}，但答复无法解析："
                            "消息可能已发布，请在 Telegram 中核对"
                        ),
                        http_status=response.status_code,
                        raw=channel._raw(response, data),
                    )
                )
            return response.status_code, response.content
        raise _Failed(channel._refusal(response, data))


def _is_message(result: object) -> bool:
    return (
        isinstance(result, dict)
        and isinstance(result.get("message_id"), int)
        and isinstance(result.get("date"), int)
        and isinstance(result.get("chat"), dict)
        and isinstance(result["chat"].get("id"), int)
        and isinstance(result["chat"].get("type"), str)
    )


class Telegram(Channel):
    """Telegram 频道/群组: one text message per push, through a bot.

    Configuration: ``bot_token`` (secret; from @BotFather, ``<digits>:<letters>``) and
    ``chat_id`` (``@channelname`` or a numeric id such as ``-1001234567890``); optionally
    ``disable_web_page_preview`` (no link preview card under the message) and
    ``disable_notification`` (post silently).

    Args:
        id: the channel instance's id.
        config: its configuration, secrets resolved.
        client: the HTTP client PTB sends through (its timeouts apply to every request).
        base_url: overrides ``https://api.telegram.org`` (a fake, a local Bot API server);
            requests go to ``{base_url}/bot<token>/<method>``.

    Raises:
        ChannelConfigError: a missing, unknown or malformed field.
    """

    name = "telegram"
    title = "Telegram 频道/群组"
    capabilities: ClassVar[frozenset[Capability]] = frozenset({Capability.TEXT})
    formats: ClassVar[tuple[Format, ...]] = ("html", "plain")
    limit: ClassVar[Limit | None] = Limit(MessageLimit.MAX_TEXT_LENGTH, LengthUnit.UTF16_UNITS)
    # Bot FAQ: about 1 message a second to one chat, 20 a minute to one group.
    rate: ClassVar[tuple[tuple[int, float], ...]] = ((1, 1.0), (20, 60.0))
    required_fields: ClassVar[tuple[str, ...]] = ("bot_token", "chat_id")
    optional_fields: ClassVar[tuple[str, ...]] = (
        "disable_web_page_preview",
        "disable_notification",
    )
    secret_fields: ClassVar[tuple[str, ...]] = ("bot_token",)
    default_base_url: ClassVar[str | None] = DEFAULT_BASE_URL
    idempotent: ClassVar[bool] = False

    def __init__(
        self, id: str, config: Mapping[str, Any], **options: Unpack[ChannelOptions]
    ) -> None:
        super().__init__(id, config, **options)
        token = str(self.config["bot_token"]).strip()
        if not _TOKEN.match(token):
            raise config_error(
                self, "bot_token is not a bot token (<digits>:<letters>, as @BotFather gives it)"
            )
        chat = self.config["chat_id"]
        if isinstance(chat, bool) or not isinstance(chat, int | str):
            raise config_error(self, "chat_id must be @channelname or a numeric id")
        chat = str(chat).strip()
        if not (_CHAT_USERNAME.match(chat) or _CHAT_ID.match(chat)):
            raise config_error(
                self,
                f"chat_id {chat!r} must be @channelname "
                "(letters, digits, _) or a numeric id such as -1001234567890",
            )
        self.chat_id: int | str = chat if chat.startswith("@") else int(chat)
        self.disable_web_page_preview = self._flag("disable_web_page_preview")
        self.disable_notification = self._flag("disable_notification")
        mask_logs(_mask_token, "httpx", "telegram.Bot")
        transport = _Transport(self)  # both slots, or PTB builds an idle client of its own
        self._bot = Bot(
            token,
            base_url=f"{self.base_url}/bot",
            request=transport,
            get_updates_request=transport,
        )

    def _flag(self, field: str) -> bool:
        value = self.config.get(field, False)
        if not isinstance(value, bool):
            raise config_error(self, f"{field} must be true or false, not {value!r}")
        return value

    # -- publishing -----------------------------------------------------------------------

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        """Send *message* with ``sendMessage``; ``idempotency_key`` only labels the log lines.

        Raises:
            BadContent: a format other than html/plain, an empty body, over 4096 UTF-16 units,
                or Telegram refuses the text (unparsable HTML …).
            Misconfigured: the token is rejected, the chat does not exist, the bot was removed
                or may not post there.
            RateLimited: flood control; ``retry_after`` as Telegram says.
            Retryable: no connection, or a 5xx.
            Unconfirmed: no (usable) answer after the request was sent.
        """
        if message.format not in _PARSE_MODES:
            raise BadContent(
                self._say(f"不支持 {message.format} 格式，请用 {' 或 '.join(self.formats)}")
            )
        shown = visible_text(message.body, message.format)
        if not shown.strip():
            raise BadContent(self._say("消息正文为空"))
        assert self.limit is not None
        if not self.limit.fits(shown):
            size = int(measure(shown, self.limit.unit))
            raise BadContent(self._say(f"消息正文 {size} 字(UTF-16)，超过上限 {self.limit}"))
        try:
            sent = await self._bot.send_message(
                chat_id=self.chat_id,
                text=message.body,
                parse_mode=_PARSE_MODES[message.format],
                disable_notification=self.disable_notification,
                link_preview_options=(
                    LinkPreviewOptions(is_disabled=True) if self.disable_web_page_preview else None
                ),
            )
        except _Failed as exc:
            log.info("telegram %s: %s failed: %s", self.id, idempotency_key, exc.error)
            raise exc.error from None
        username = sent.chat.username or (
            self.chat_id[1:] if isinstance(self.chat_id, str) else None
        )
        public = username is not None and sent.chat.type in ("channel", "supergroup")
        log.info("telegram %s: %s sent as message %s", self.id, idempotency_key, sent.message_id)
        return Receipt(
            status="published",
            external_id=str(sent.message_id),
            url=f"https://t.me/{username}/{sent.message_id}" if public else None,
            detail=self._say(f"已发送，消息编号 {sent.message_id}"),
            raw=self.redact_data(sent.to_dict()),
        )

    # -- errors ---------------------------------------------------------------------------

    def _refusal(self, response: httpx.Response, data: Mapping[str, Any] | None) -> ChannelError:
        """The error for a non-2xx answer (see the table in the module docstring)."""
        status = response.status_code
        body = data or {}
        description = self.redact(str(body.get("description") or f"HTTP {status}"))
        code = body.get("error_code")
        params = body.get("parameters")
        params = params if isinstance(params, Mapping) else {}
        kw: dict[str, Any] = {
            "platform_code": code if isinstance(code, int) else status,
            "http_status": status,
            "raw": self._raw(response, data),
        }
        if params.get("migrate_to_chat_id"):
            return Misconfigured(
                self._say(
                    f"群组已升级为超级群组，chat_id 已变为 {params['migrate_to_chat_id']}，"
                    "请更新配置"
                ),
                **kw,
            )
        wait = params.get("retry_after")
        if wait or status == 429:
            seconds = _retry_after(wait, response.headers.get("Retry-After"))
            after = f"，{seconds:g} 秒后再试" if seconds is not None else ""
            return RateLimited(
                self._say(f"Telegram 限流（{description}）{after}"), retry_after=seconds, **kw
            )
        if status in (401, 404):
            return Misconfigured(
                self._say(f"Telegram 拒绝了 bot_token（{description}），请检查令牌与 base_url"),
                **kw,
            )
        if status == 403:
            return Misconfigured(
                self._say(
                    f"Bot 无权向 {self.chat_id} 发消息（{description}）："
                    "请确认 Bot 仍在频道/群组中并有发帖权限"
                ),
                **kw,
            )
        if status == 400:
            if any(p in description.lower() for p in _CONFIG_PROBLEMS):
                return Misconfigured(
                    self._say(
                        f"无法向 {self.chat_id} 发消息（{description}），请检查 chat_id 与权限"
                    ),
                    **kw,
                )
            return BadContent(self._say(f"Telegram 拒绝该消息（{description}）"), **kw)
        if status == 504:
            return Unconfirmed(
                self._say(
                    f"Telegram 网关超时（{description}）：消息可能已发布，请在 Telegram 中核对"
                ),
                **kw,
            )
        if status >= 500:
            return Retryable(self._say(f"Telegram 服务暂时不可用（{description}）"), **kw)
        return Misconfigured(self._say(f"Telegram 意外答复 HTTP {status}（{description}）"), **kw)

    def _raw(self, response: httpx.Response, data: Mapping[str, Any] | None) -> dict[str, Any]:
        """The answer's body for the delivery log, redacted."""
        if data is not None:
            redacted: dict[str, Any] = self.redact_data(data)
            return redacted
        return {"status": response.status_code, "body": self.redact(response.text[:500])}

    def _say(self, text: str) -> str:
        """*text* prefixed with ``Telegram {id}``, secrets redacted (every message to staff)."""
        return self.redact(f"Telegram {self.id}：{text}")

    def _exc(self, exc: Exception) -> str:
        """An exception as ``Type: text``, redacted."""
        return self.redact(describe(exc))


def _retry_after(value: object, header: str | None) -> float | None:
    for candidate in (value, header):
        if not isinstance(candidate, int | float | str) or isinstance(candidate, bool):
            continue
        try:
            seconds = float(candidate)
        except ValueError:
            continue
        if seconds >= 0:
            return seconds
    return None

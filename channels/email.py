"""E-mail (电子邮件): one MIME message over SMTP, with STARTTLS or implicit TLS and login.

The adapter speaks SMTP through the standard library's :mod:`smtplib` in a worker thread
(:func:`asyncio.to_thread`), bounded by the ``timeout`` option; the ``httpx.AsyncClient`` the
base class hands in is kept but not used. Configuration::

    host, port                      the submission server (587 with STARTTLS, 465 with ssl=true)
    sender                          the From address, optionally with a display name
    recipients                      a list of addresses (the To header and the envelope)
    username, password              login, when given (password is a secret)
    starttls = true                 upgrade the connection; a server without STARTTLS is refused
    ssl = false                     implicit TLS from the first byte (port 465) instead
    verify = true                   check the server's certificate and host name
    ca_file                         a CA bundle for a server with a private CA
    timeout = 30                    seconds per socket operation

Turning ``verify`` off, or logging in without TLS, is logged as a warning when the channel is
built: never silently. The message is UTF-8 with RFC 2047 headers; an ``html`` (or ``markdown``)
body is sent as ``multipart/alternative`` with a plain-text part derived from it. Its
``Message-ID`` is ``<{idempotency key}@syndicator>``, so a repeat after a lost answer is
recognisable to recipients and to mail servers that drop duplicate ids.

Errors, by the SMTP stage that failed:

=================================================  =========================================
failure                                            raised
=================================================  =========================================
refused connection, DNS, timeout, disconnect        :class:`Retryable`
any 4xx reply before the message is accepted        :class:`Retryable`
no STARTTLS/AUTH offered, bad certificate, TLS      :class:`Misconfigured`
login refused (535 …), 5xx to EHLO/MAIL/RCPT        :class:`Misconfigured`
every recipient refused (5xx)                       :class:`Misconfigured`
552 (too large), 5xx to the message itself          :class:`BadContent`
no final reply after the message was sent           :class:`Unconfirmed`
=================================================  =========================================

Some recipients refused while others were accepted is a ``published`` receipt whose ``detail``
and ``raw["refused"]`` list the refused ones: resending would duplicate the mail for the rest.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import html
import logging
import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime, getaddresses
from html.parser import HTMLParser
from typing import Any, ClassVar, NoReturn, Unpack

from channels._config import config_error, nonempty_string
from channels._markup import markdown_to_html
from channels.base import (
    BadContent,
    Capability,
    Channel,
    ChannelError,
    ChannelOptions,
    Format,
    Message,
    Misconfigured,
    Receipt,
    Retryable,
    Unconfirmed,
)

__all__ = ["DEFAULT_TIMEOUT", "Email", "build_message", "html_to_text", "message_id"]

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 30.0
"""Seconds per socket operation when the configuration sets no ``timeout``."""

_CST = timezone(timedelta(hours=8), "CST")
# 7bit makes set_content() pick base64/quoted-printable for non-ASCII text: the server need not
# offer 8BITMIME.
_POLICY = SMTP_POLICY.clone(cte_type="7bit")
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_AUTH_CODES = frozenset({530, 534, 535, 538})


def message_id(idempotency_key: str) -> str:
    """The ``Message-ID`` for *idempotency_key*: the key itself when it is a valid id-left."""
    left = idempotency_key if _DOT_ATOM.fullmatch(idempotency_key) else None
    if left is None or len(left) > 200:
        left = hashlib.sha256(idempotency_key.encode("utf-8")).hexdigest()[:40]
    return f"<{left}@syndicator>"


class _TextExtractor(HTMLParser):
    _BLOCK: ClassVar[frozenset[str]] = frozenset(
        {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote"}
        | {"section", "article", "ul", "ol", "table", "hr"}
    )

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._href: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("• ")
        if tag == "a":
            self._href.append(dict(attrs).get("href"))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip = max(0, self._skip - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag == "a" and self._href:
            href = self._href.pop()
            shown = self.parts[-1].strip() if self.parts else ""
            if href and href.startswith(("http://", "https://")) and href != shown:
                self.parts.append(f"（{href}）")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(body: str) -> str:
    """A readable plain-text version of an HTML body (for the ``text/plain`` alternative)."""
    parser = _TextExtractor()
    parser.feed(body)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).splitlines())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def build_message(
    message: Message,
    *,
    sender: str,
    recipients: list[str],
    idempotency_key: str,
    date: datetime,
) -> EmailMessage:
    """The MIME message for *message*: UTF-8, RFC 2047 headers, plain/HTML alternatives.

    Args:
        message: the rendered push.
        sender: the ``From`` header (``"名称 <addr>"`` or a bare address).
        recipients: the ``To`` addresses.
        idempotency_key: makes the ``Message-ID`` (see :func:`message_id`).
        date: the ``Date`` header (an aware datetime).
    """
    mail = EmailMessage(policy=_POLICY)
    mail["Subject"] = message.title
    mail["From"] = sender
    mail["To"] = ", ".join(recipients)
    mail["Date"] = format_datetime(date)
    mail["Message-ID"] = message_id(idempotency_key)
    mail["X-Syndicator-Kind"] = message.kind
    if message.format == "plain":
        text = message.body
        if message.url and message.url not in text:
            text += f"\n\n原文链接：{message.url}"
        mail.set_content(text, charset="utf-8")
        return mail
    body = message.body if message.format == "html" else markdown_to_html(message.body)
    text = html_to_text(body) if message.format == "html" else message.body
    if message.url and message.url not in body:
        link = html.escape(message.url, quote=True)
        body += f'\n<p>原文链接：<a href="{link}">{link}</a></p>'
        text += f"\n\n原文链接：{message.url}"
    mail.set_content(text, charset="utf-8")
    document = (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{html.escape(message.title)}</title></head>\n<body>\n{body}\n</body></html>\n"
    )
    mail.add_alternative(document, subtype="html", charset="utf-8")
    return mail


def _envelope(address: str) -> str:
    """The bare address of ``"名称 <addr>"`` (empty when *address* is not one)."""
    pairs = getaddresses([address])
    addr = pairs[0][1] if len(pairs) == 1 else ""
    return addr if "@" in addr else ""


@dataclass(slots=True)
class _Outcome:
    accepted: list[str]
    refused: dict[str, tuple[int, str]]
    code: int
    reply: str


class _Failure(Exception):
    """An SMTP failure, classified in the worker thread, raised as a ChannelError by publish."""

    def __init__(
        self,
        kind: type[ChannelError],
        text: str,
        code: int | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(text)
        self.kind = kind
        self.text = text
        self.code = code
        self.raw = raw or {}


def _reply(resp: bytes | str) -> str:
    text = resp.decode("utf-8", "replace") if isinstance(resp, bytes) else resp
    return " ".join(text.split())[:300]


class Email(Channel):
    """Send a push as an e-mail through an SMTP submission server.

    Args:
        id: the channel instance's id.
        config: see the module; ``recipients`` is a list of addresses.
        client: unused (SMTP is not HTTP); accepted for the common constructor.
        base_url: unused.
        clock: the wall clock, for the ``Date`` header (aware datetimes; default Beijing time).

    Raises:
        ChannelConfigError: a field has the wrong type or the options contradict each other.
    """

    name = "email"
    title = "电子邮件"
    capabilities = frozenset({Capability.TEXT, Capability.HTML, Capability.LINK})
    formats: ClassVar[tuple[Format, ...]] = ("html", "plain")
    required_fields = ("host", "port", "sender", "recipients")
    optional_fields = ("username", "password", "starttls", "ssl", "verify", "ca_file", "timeout")
    secret_fields = ("password",)

    def __init__(
        self,
        id: str,
        config: Mapping[str, Any],
        *,
        clock: Callable[[], datetime] | None = None,
        **options: Unpack[ChannelOptions],
    ) -> None:
        super().__init__(id, config, **options)
        self.clock = clock or (lambda: datetime.now(_CST))
        cfg = self.config
        self.host = nonempty_string(self, "host")
        self.port = self._int("port")
        self.sender = nonempty_string(self, "sender")
        recipients = cfg["recipients"]
        if isinstance(recipients, str) or not isinstance(recipients, list | tuple):
            self._bad("recipients", '应为地址列表，例如 ["a@example.gov.cn"]')
        if not recipients or not all(isinstance(r, str) and _envelope(r) for r in recipients):
            self._bad("recipients", "应为非空的邮件地址列表")
        self.recipients: list[str] = list(recipients)
        if not _envelope(self.sender):
            self._bad("sender", f"不是邮件地址：{self.sender!r}")
        self.username = nonempty_string(self, "username") if cfg.get("username") else None
        self.password = str(cfg["password"]) if cfg.get("password") else None
        if self.password and not self.username:
            self._bad("password", "配置了 password 却没有 username")
        self.ssl = self._bool("ssl", False)
        self.starttls = self._bool("starttls", not self.ssl)
        if self.ssl and self.starttls:
            self._bad("starttls", "ssl=true（隐式 TLS）与 starttls=true 不能同时开启，请去掉其一")
        self.verify = self._bool("verify", True)
        self.ca_file = nonempty_string(self, "ca_file") if cfg.get("ca_file") else None
        timeout = cfg.get("timeout", DEFAULT_TIMEOUT)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            self._bad("timeout", "应为正数（秒）")
        self.timeout = float(timeout)
        if not self.verify:
            log.warning("channel %s: TLS 证书校验已关闭（verify=false），连接可被冒充", id)
        if self.password and not (self.ssl or self.starttls):
            log.warning("channel %s: 未启用 TLS，登录密码将以明文传输", id)

    def _bad(self, field_name: str, why: str) -> NoReturn:
        raise config_error(self, f"{field_name} {why}")

    def _int(self, key: str) -> int:
        value = self.config[key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 65536:
            self._bad(key, f"应为 1–65535 的整数，而不是 {value!r}")
        return value

    def _bool(self, key: str, default: bool) -> bool:
        value = self.config.get(key, default)
        if not isinstance(value, bool):
            self._bad(key, f"应为 true 或 false，而不是 {value!r}")
        return value

    def secrets(self) -> list[str]:
        """The password, and the base64 forms AUTH LOGIN/PLAIN put it on the wire in."""
        found = super().secrets()
        if self.password:
            plain = f"\0{self.username or ''}\0{self.password}".encode()
            found += [base64.b64encode(self.password.encode()).decode()]
            found += [base64.b64encode(plain).decode()]
        return found

    def __repr__(self) -> str:
        return (
            f"Email(id={self.id!r}, host={self.host!r}, port={self.port}, "
            f"username={self.username!r}, recipients={len(self.recipients)})"
        )

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        """Send *message* to every recipient in one SMTP transaction.

        Raises:
            Retryable: the server could not be reached or answered 4xx before accepting.
            Misconfigured: login, TLS, sender or every recipient refused.
            BadContent: the server refused the message itself.
            Unconfirmed: the message was sent but no final reply came back.
        """
        mail = build_message(
            message,
            sender=self.sender,
            recipients=self.recipients,
            idempotency_key=idempotency_key,
            date=self.clock(),
        )
        try:
            outcome = await asyncio.to_thread(self._send, mail.as_bytes(policy=_POLICY))
        except _Failure as failure:
            raw = self.redact_data({"host": self.host, "port": self.port, **failure.raw})
            raise failure.kind(
                self.redact(f"邮件发送失败（{self.host}:{self.port}）：{failure.text}"),
                platform_code=failure.code,
                raw=raw,
            ) from None
        mid = mail["Message-ID"]
        detail = f"已发送给 {len(outcome.accepted)} 个收件人"
        if outcome.refused:
            listed = "；".join(f"{a}（{c} {t}）" for a, (c, t) in outcome.refused.items())
            detail += f"；以下收件人被拒收，未收到邮件：{listed}"
        reply = self.redact(outcome.reply)
        log.info("channel %s: mail %s accepted (%d %s)", self.id, mid, outcome.code, reply)
        return Receipt(
            status="published",
            external_id=mid,
            platform_code=outcome.code,
            detail=self.redact(detail),
            raw=self.redact_data(
                {
                    "message_id": mid,
                    "accepted": outcome.accepted,
                    "refused": {a: [c, t] for a, (c, t) in outcome.refused.items()},
                    "reply": [outcome.code, outcome.reply],
                }
            ),
        )

    # -- the SMTP conversation, in a worker thread -----------------------------------------

    def _tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=self.ca_file)
        if not self.verify:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        return context

    def _send(self, data: bytes) -> _Outcome:
        try:
            smtp = self._connect()
        except _Failure:
            raise
        except smtplib.SMTPResponseException as exc:
            raise self._by_code(exc.smtp_code, exc.smtp_error, "连接") from None
        except ssl.SSLCertVerificationError as exc:
            raise _Failure(
                Misconfigured,
                f"服务器证书校验失败（{exc.verify_message}）；请检查 host 是否与证书一致，"
                "私有 CA 请配置 ca_file",
            ) from None
        except ssl.SSLError as exc:
            raise _Failure(Misconfigured, f"TLS 握手失败：{exc.reason or exc}") from None
        except socket.gaierror as exc:
            raise _Failure(Retryable, f"无法解析主机名 {self.host}：{exc.strerror}") from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise _Failure(Retryable, f"无法连接服务器或连接中断：{reason}") from None
        try:
            return self._transaction(smtp, data)
        except _Failure:
            raise
        except smtplib.SMTPResponseException as exc:
            raise self._by_code(exc.smtp_code, exc.smtp_error, "SMTP") from None
        except (smtplib.SMTPException, OSError) as exc:
            reason = str(exc) or type(exc).__name__
            raise _Failure(Retryable, f"与服务器的连接中断（邮件尚未发出）：{reason}") from None
        finally:
            smtp.close()

    def _connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP
        if self.ssl:
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=self._tls_context()
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self.starttls:
                if not smtp.has_extn("starttls"):
                    raise _Failure(
                        Misconfigured,
                        "服务器不支持 STARTTLS。请确认端口（提交端口一般为 587，隐式 TLS 为 465 "
                        "并设 ssl=true）；确需明文连接时才将 starttls 设为 false",
                    )
                smtp.starttls(context=self._tls_context())
                smtp.ehlo()
            if self.username:
                if not smtp.has_extn("auth"):
                    raise _Failure(
                        Misconfigured,
                        "服务器未提供 AUTH 登录（可能要求先 STARTTLS）；请检查 starttls/ssl "
                        "设置，或去掉 username/password",
                    )
                try:
                    smtp.login(self.username, self.password or "")
                except smtplib.SMTPAuthenticationError as exc:
                    if 400 <= exc.smtp_code < 500:
                        raise _Failure(
                            Retryable, f"登录暂时失败：{exc.smtp_code} {_reply(exc.smtp_error)}"
                        ) from None
                    raise _Failure(
                        Misconfigured,
                        f"登录被拒绝（{exc.smtp_code} {_reply(exc.smtp_error)}）；"
                        "请检查 username/password（部分邮箱需使用授权码）",
                        exc.smtp_code,
                    ) from None
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _transaction(self, smtp: smtplib.SMTP, data: bytes) -> _Outcome:
        code, resp = smtp.mail(_envelope(self.sender))
        if code != 250:
            raise self._by_code(code, resp, "MAIL FROM", field_name="sender")
        accepted: list[str] = []
        refused: dict[str, tuple[int, str]] = {}
        for recipient in self.recipients:
            address = _envelope(recipient)
            code, resp = smtp.rcpt(address)
            if code in (250, 251):
                accepted.append(address)
            else:
                refused[address] = (code, _reply(resp))
        if not accepted:
            smtp.rset()
            listed = "；".join(f"{a}（{c} {t}）" for a, (c, t) in refused.items())
            kind: type[ChannelError] = Misconfigured
            if any(400 <= c < 500 for c, _ in refused.values()):
                kind = Retryable
            raise _Failure(
                kind,
                f"所有收件人均被拒收：{listed}；请检查 recipients",
                next(iter(refused.values()))[0],
                {"refused": {a: [c, t] for a, (c, t) in refused.items()}},
            )
        code, resp = smtp.docmd("DATA")
        if code != 354:
            raise self._by_code(code, resp, "DATA")
        payload = re.sub(rb"(?m)^\.", b"..", data)
        payload += b".\r\n" if payload.endswith(b"\r\n") else b"\r\n.\r\n"
        try:
            smtp.send(payload)
            code, resp = smtp.getreply()
        except (smtplib.SMTPException, OSError) as exc:
            raise _Failure(
                Unconfirmed,
                f"邮件正文已发出，但未收到服务器的最终答复（{exc}）；"
                "邮件可能已投递，请向收件人确认，勿直接重发",
            ) from None
        if code != 250:
            raise self._by_code(code, resp, "邮件内容", content=True)
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            log.debug("channel %s: QUIT failed after the message was accepted", self.id)
        return _Outcome(accepted, refused, code, _reply(resp))

    def _by_code(
        self,
        code: int,
        resp: bytes | str,
        stage: str,
        *,
        field_name: str | None = None,
        content: bool = False,
    ) -> _Failure:
        text = f"{stage}阶段服务器答复 {code} {_reply(resp)}"
        if 400 <= code < 500:
            return _Failure(Retryable, f"{text}（临时错误，稍后重试）", code)
        if code in _AUTH_CODES:
            return _Failure(Misconfigured, f"{text}；请检查 username/password", code)
        if code == 552 or content:
            return _Failure(BadContent, f"{text}；服务器拒收这封邮件（大小或内容）", code)
        hint = f"；请检查 {field_name}" if field_name else "；请检查邮件服务器配置"
        return _Failure(Misconfigured, text + hint, code)

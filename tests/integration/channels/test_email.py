"""The e-mail adapter over real SMTP to aiosmtpd on 127.0.0.1: plain, STARTTLS, implicit TLS."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import httpx
import pytest

from channels.base import (
    BadContent,
    ChannelConfigError,
    ChannelError,
    Message,
    Misconfigured,
    Retryable,
    Unconfirmed,
)
from channels.email import Email
from tests.fakes.portals import unused_port
from tests.fakes.smtp import PASSWORD, USERNAME, Certificate, FakeSMTP
from tests.integration.channels._support import ARTICLE

pytestmark = [pytest.mark.integration, pytest.mark.anyio]

Server = Callable[..., FakeSMTP]
SENDER = "江西省人民政府新闻办公室 <press@jiangxi.gov.cn>"
TO = ["editor@jxnews.com.cn", "duty@jiangxi.gov.cn"]
KEY = "push-42.jx-mail"
SUBJECT = "关于网传“某地停水三天”的辟谣"
NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)


def message(**kw: Any) -> Message:
    fields: dict[str, Any] = {
        "kind": "rebuttal",
        "title": SUBJECT,
        "body": (
            "<p>网传消息不实。请以<a href='https://www.jiangxi.gov.cn'>官方发布</a>"
            "为准 &amp; 勿信谣言。</p>"
        ),
        "format": "html",
        "url": ARTICLE,
    }
    return Message(**(fields | kw))


@asynccontextmanager
async def adapter(server: FakeSMTP | None = None, **config: Any) -> AsyncIterator[Email]:
    settings: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": server.port if server else unused_port(),
        "sender": SENDER,
        "recipients": TO,
        "username": USERNAME,
        "password": PASSWORD,
        "starttls": False,
        "timeout": 5,
        **config,
    }
    settings = {k: v for k, v in settings.items() if v is not None}
    async with httpx.AsyncClient() as client:
        yield Email("jx-mail", settings, client=client, clock=lambda: NOW)


def parts(mail: EmailMessage) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_content()
        for part in mail.walk()
        if part.is_attachment() is False and not part.is_multipart()
    }


def assert_no_secret(*texts: object) -> None:
    for text in texts:
        assert PASSWORD not in str(text)


async def test_delivers_a_mime_message(smtp_server: Server) -> None:
    server = smtp_server()
    async with adapter(server) as mail:
        receipt = await mail.publish(message(), idempotency_key=KEY)

    assert receipt.status == "published"
    assert receipt.external_id == f"<{KEY}@syndicator>"
    assert receipt.platform_code == 250
    assert receipt.detail == "已发送给 2 个收件人"
    (received,) = server.received
    assert received.login == USERNAME
    assert received.mail_from == "press@jiangxi.gov.cn"
    assert received.rcpt_tos == TO
    assert b"=?utf-8?" in received.content  # the subject travels RFC 2047-encoded
    assert all(byte < 0x80 for byte in received.content)
    got = received.message
    assert got["Subject"] == SUBJECT
    assert got["From"].addresses[0].display_name == "江西省人民政府新闻办公室"
    assert [a.addr_spec for a in got["To"].addresses] == TO
    assert got["Message-ID"] == f"<{KEY}@syndicator>"
    assert got.get_content_type() == "multipart/alternative"
    text = parts(got)
    assert (
        "网传消息不实。请以官方发布（https://www.jiangxi.gov.cn）为准 & 勿信谣言。"
        in text["text/plain"]
    )
    assert f"原文链接：{ARTICLE}" in text["text/plain"]
    assert "<a href='https://www.jiangxi.gov.cn'>官方发布</a>" in text["text/html"]
    assert f'<a href="{ARTICLE}">' in text["text/html"]


async def test_plain_body_is_a_single_part(smtp_server: Server) -> None:
    server = smtp_server()
    body = "Rumour denied.\n.a line starting with a dot\n.\nSee the official notice."
    async with adapter(server, username=None, password=None) as mail:
        await mail.publish(message(body=body, format="plain", url=None), idempotency_key="k 1")

    got = server.received[0].message
    assert got.get_content_type() == "text/plain"
    assert got["Content-Transfer-Encoding"] == "7bit"
    assert got.get_content().replace("\r\n", "\n").strip() == body  # dots stuffed and unstuffed
    assert got["Message-ID"].endswith("@syndicator>")  # a key with a space is hashed
    assert server.received[0].login is None


async def test_markdown_body_gets_an_html_alternative(smtp_server: Server) -> None:
    server = smtp_server()
    body = "# 权威发布\n\n**网传消息不实**，详见[通报](https://www.jiangxi.gov.cn/a.html) <勿信>。"
    async with adapter(server) as mail:
        await mail.publish(message(body=body, format="markdown", url=None), idempotency_key=KEY)

    text = parts(server.received[0].message)
    assert text["text/plain"].replace("\r\n", "\n").strip() == body
    assert "<h1>权威发布</h1>" in text["text/html"]
    assert "<strong>网传消息不实</strong>" in text["text/html"]
    assert '<a href="https://www.jiangxi.gov.cn/a.html">通报</a>' in text["text/html"]
    assert "&lt;勿信&gt;" in text["text/html"]


async def test_starttls_with_login(smtp_server: Server, smtp_certificate: Certificate) -> None:
    server = smtp_server(certificate=smtp_certificate, require_starttls=True, auth_required=True)
    async with adapter(server, starttls=True, ca_file=str(smtp_certificate.cert)) as mail:
        receipt = await mail.publish(message(), idempotency_key=KEY)

    assert receipt.status == "published"
    assert server.received[0].tls
    assert server.received[0].login == USERNAME


async def test_implicit_tls(smtp_server: Server, smtp_certificate: Certificate) -> None:
    server = smtp_server(certificate=smtp_certificate, implicit_tls=True)
    async with adapter(server, ssl=True, ca_file=str(smtp_certificate.cert)) as mail:
        await mail.publish(message(), idempotency_key=KEY)

    assert server.received[0].tls
    assert server.received[0].login == USERNAME


async def test_untrusted_certificate_is_misconfigured(
    smtp_server: Server, smtp_certificate: Certificate
) -> None:
    server = smtp_server(certificate=smtp_certificate, require_starttls=True)
    async with adapter(server, starttls=True) as mail:
        with pytest.raises(Misconfigured, match=r"证书校验失败.*ca_file"):
            await mail.publish(message(), idempotency_key=KEY)
    assert server.received == []


async def test_verify_false_is_loud(
    smtp_server: Server, smtp_certificate: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_server(certificate=smtp_certificate, require_starttls=True)
    with caplog.at_level(logging.WARNING, logger="channels.email"):
        async with adapter(server, starttls=True, verify=False) as mail:
            await mail.publish(message(), idempotency_key=KEY)
    assert "verify=false" in caplog.text
    assert server.received[0].tls


async def test_starttls_required_but_not_offered(smtp_server: Server) -> None:
    server = smtp_server()
    async with adapter(server, starttls=True) as mail:
        with pytest.raises(Misconfigured, match="服务器不支持 STARTTLS") as caught:
            await mail.publish(message(), idempotency_key=KEY)
    assert "starttls" in str(caught.value)
    assert server.received == []


async def test_wrong_password_is_misconfigured(smtp_server: Server) -> None:
    server = smtp_server()
    async with adapter(server, password="not-the-password") as mail:
        with pytest.raises(Misconfigured, match="登录被拒绝（535") as caught:
            await mail.publish(message(), idempotency_key=KEY)
    assert caught.value.platform_code == 535
    assert "not-the-password" not in str(caught.value)
    assert set(server.authenticator.attempts) == {USERNAME}  # smtplib tries PLAIN, then LOGIN
    assert server.received == []


async def test_login_required_but_not_configured(
    smtp_server: Server, smtp_certificate: Certificate
) -> None:
    server = smtp_server(certificate=smtp_certificate, require_starttls=True, auth_required=True)
    config = {"starttls": True, "ca_file": str(smtp_certificate.cert)}
    async with adapter(server, username=None, password=None, **config) as mail:
        with pytest.raises(Misconfigured, match="530") as caught:
            await mail.publish(message(), idempotency_key=KEY)
    assert caught.value.platform_code == 530


async def test_server_down_is_retryable() -> None:
    async with adapter(None) as mail:
        with pytest.raises(Retryable, match="无法连接服务器"):
            await mail.publish(message(), idempotency_key=KEY)


async def test_unknown_host_is_retryable() -> None:
    async with adapter(None, host="smtp.invalid") as mail:
        with pytest.raises(Retryable, match=r"smtp\.invalid"):
            await mail.publish(message(), idempotency_key=KEY)


async def test_some_recipients_refused_is_published_with_detail(smtp_server: Server) -> None:
    server = smtp_server()
    server.refuse[TO[0]] = "550 5.1.1 No such user"
    async with adapter(server) as mail:
        receipt = await mail.publish(message(), idempotency_key=KEY)

    assert receipt.status == "published"
    assert receipt.detail is not None
    assert "已发送给 1 个收件人" in receipt.detail
    assert f"{TO[0]}（550 5.1.1 No such user）" in receipt.detail
    assert receipt.raw["refused"] == {TO[0]: [550, "5.1.1 No such user"]}
    assert server.received[0].rcpt_tos == [TO[1]]


@pytest.mark.parametrize(
    ("replies", "error"),
    [
        (["550 5.1.1 No such user", "553 5.1.3 Bad address"], Misconfigured),
        (["550 5.1.1 No such user", "450 4.2.0 Greylisted"], Retryable),
    ],
    ids=["all-permanent", "one-temporary"],
)
async def test_every_recipient_refused(
    smtp_server: Server, replies: list[str], error: type[ChannelError]
) -> None:
    server = smtp_server()
    server.refuse = dict(zip(TO, replies, strict=True))
    async with adapter(server) as mail:
        with pytest.raises(error, match="所有收件人均被拒收") as caught:
            await mail.publish(message(), idempotency_key=KEY)
    assert type(caught.value) is error
    assert set(caught.value.raw["refused"]) == set(TO)
    assert server.received == []


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("451 4.3.0 Try again later", Retryable),
        ("554 5.7.1 Message rejected as spam", BadContent),
        ("552 5.3.4 Message too big", BadContent),
    ],
    ids=["451-temporary", "554-rejected", "552-too-big"],
)
async def test_reply_to_the_message(
    smtp_server: Server, reply: str, error: type[ChannelError]
) -> None:
    server = smtp_server()
    server.data_reply = reply
    async with adapter(server) as mail:
        with pytest.raises(error) as caught:
            await mail.publish(message(), idempotency_key=KEY)
    assert type(caught.value) is error
    assert caught.value.platform_code == int(reply[:3])
    assert reply[4:] in str(caught.value)


async def test_disconnect_after_the_message_is_unconfirmed(smtp_server: Server) -> None:
    server = smtp_server()
    server.drop_after_data = True
    async with adapter(server) as mail:
        with pytest.raises(Unconfirmed, match="勿直接重发"):
            await mail.publish(message(), idempotency_key=KEY)


async def test_secrets_are_masked(smtp_server: Server, caplog: pytest.LogCaptureFixture) -> None:
    server = smtp_server()
    caplog.set_level(logging.DEBUG)
    async with adapter(server) as mail:
        receipt = await mail.publish(message(), idempotency_key=KEY)
        assert_no_secret(repr(mail), mail.safe_config(), receipt, receipt.raw)
        assert mail.safe_config()["password"] == "***"
        assert mail.redact(f"AUTH PLAIN {mail.secrets()[-1]}") == "AUTH PLAIN ***"
    server.refuse = dict.fromkeys(TO, f"550 5.1.1 user {PASSWORD} unknown")
    async with adapter(server) as mail:
        with pytest.raises(Misconfigured) as caught:
            await mail.publish(message(), idempotency_key=KEY)
    assert "user *** unknown" in str(caught.value)
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("channels")]
    assert ours  # the adapter did log (the fake server's own log shows what it was told to say)
    assert_no_secret(caught.value, caught.value.raw, *ours)


@pytest.mark.parametrize(
    ("config", "problem"),
    [
        ({"recipients": "a@example.gov.cn"}, "recipients 应为地址列表"),
        ({"recipients": ["not an address"]}, "recipients 应为非空的邮件地址列表"),
        ({"port": "587"}, "port 应为 1–65535 的整数"),
        ({"ssl": True, "starttls": True}, "不能同时开启"),
        ({"starttls": "yes"}, "starttls 应为 true 或 false"),
        ({"username": None}, "配置了 password 却没有 username"),
        ({"timeout": 0}, "timeout 应为正数"),
    ],
    ids=[
        "recipients-str",
        "recipient-invalid",
        "port-str",
        "ssl-and-starttls",
        "bool",
        "no-user",
        "timeout",
    ],
)
async def test_bad_config(config: dict[str, Any], problem: str) -> None:
    with pytest.raises(ChannelConfigError, match=problem):
        async with adapter(None, **config):
            pass

"""A real SMTP server (aiosmtpd) on 127.0.0.1 for the e-mail adapter, with fault switches.

It checks AUTH PLAIN/LOGIN against one user, keeps every accepted message parsed, and can be told
to refuse recipients, answer the message with a given reply, or drop the connection once the
message has been sent (before its final reply). TLS uses a self-signed certificate for
``127.0.0.1`` that :func:`make_certificate` generates with the ``openssl`` command at test time.
"""

from __future__ import annotations

import asyncio
import email
import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.conftest import require_service
from tests.fakes._base import Running
from tests.fakes.portals import unused_port

__all__ = [
    "PASSWORD",
    "USERNAME",
    "Certificate",
    "FakeSMTP",
    "Received",
    "make_certificate",
    "smtp_certificate",
    "smtp_server",
]

USERNAME = "press@jiangxi.gov.cn"
PASSWORD = "smtp-Pa55-7d1e0c"


@dataclass(frozen=True, slots=True)
class Received:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: list[str]
    content: bytes
    login: str | None
    tls: bool

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.content, policy=default_policy)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass(frozen=True, slots=True)
class Certificate:
    """A self-signed server certificate and key (PEM files); the certificate is its own CA."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_certificate(directory: Path) -> Certificate:
    """Generate a certificate for ``127.0.0.1`` in *directory* with the ``openssl`` command."""
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"),
            *("-addext", "subjectAltName=IP:127.0.0.1"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return Certificate(cert, key)


@dataclass(slots=True)
class _Handler:
    owner: FakeSMTP

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.owner.refuse.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        owner = self.owner
        if owner.drop_after_data:
            assert isinstance(server.transport, asyncio.Transport)
            server.transport.abort()
            return "250 OK"
        if owner.data_reply:
            return owner.data_reply
        content = envelope.original_content or b""
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        owner.received.append(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=list(envelope.rcpt_tos),
                content=content,
                login=login,
                tls=server.transport is not None
                and server.transport.get_extra_info("ssl_object") is not None,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


@dataclass(slots=True)
class _Authenticator:
    username: str
    password: str
    attempts: list[str] = field(default_factory=list)

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.attempts.append(data.login.decode())
        ok = data.login.decode() == self.username and data.password.decode() == self.password
        return AuthResult(success=ok, handled=False, auth_data=data.login if ok else None)


class FakeSMTP(Running):
    """An aiosmtpd server in a thread on 127.0.0.1 (an ephemeral port).

    Args:
        certificate: enables TLS: STARTTLS, or implicit TLS with *implicit_tls*.
        implicit_tls: TLS from the first byte (like port 465).
        require_starttls: refuse commands before STARTTLS (needs *certificate*).
        auth_required: refuse MAIL before a successful login (not with *implicit_tls*: aiosmtpd
            only counts STARTTLS as TLS, and would warn).

    Attributes:
        received: accepted messages, in order.
        refuse: address → reply for RCPT (``"550 5.1.1 no such user"``).
        data_reply: when set, the reply to the message instead of accepting it.
        drop_after_data: abort the connection once the message is in, with no final reply.
    """

    def __init__(
        self,
        *,
        certificate: Certificate | None = None,
        implicit_tls: bool = False,
        require_starttls: bool = False,
        auth_required: bool = False,
        username: str = USERNAME,
        password: str = PASSWORD,
    ) -> None:
        if implicit_tls and (auth_required or require_starttls or certificate is None):
            raise ValueError("implicit_tls needs a certificate and neither auth/starttls_required")
        self.received: list[Received] = []
        self.refuse: dict[str, str] = {}
        self.data_reply: str | None = None
        self.drop_after_data = False
        self.authenticator = _Authenticator(username, password)
        self.host = "127.0.0.1"
        self.port = unused_port()
        context = certificate.server_context() if certificate else None
        self._controller = Controller(
            _Handler(self),
            hostname=self.host,
            port=self.port,
            ssl_context=context if implicit_tls else None,
            tls_context=None if implicit_tls else context,
            require_starttls=require_starttls,
            authenticator=self.authenticator,
            auth_required=auth_required,
            auth_require_tls=certificate is not None and not implicit_tls,
            server_hostname="smtp.test.gov.cn",
        )

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


@pytest.fixture(scope="session")
def smtp_certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1 (skipped without ``openssl``; failed under CI)."""
    if shutil.which("openssl") is None:
        require_service("openssl", "the command is needed to make a test certificate")
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., FakeSMTP]]:
    """A factory of started :class:`FakeSMTP` servers (keywords as its constructor), all stopped
    after the test."""
    started: list[FakeSMTP] = []

    def start(**kw: Any) -> FakeSMTP:
        server = FakeSMTP(**kw)
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()

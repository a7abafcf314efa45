"""Unit tests cannot touch the network.

An autouse fixture makes every IPv4/IPv6 connection attempt fail the test at once, with a message
saying what to do instead (python-telegram-bot's ``OfflineRequest`` idea). It raises
``pytest.fail``'s exception, which is not an ``OSError``, so code under test that maps network
errors to results cannot swallow it.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

_INET = (socket.AF_INET, socket.AF_INET6)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    connect = socket.socket.connect
    connect_ex = socket.socket.connect_ex

    def refuse(sock: socket.socket, address: Any) -> None:
        sock.close()  # the test fails anyway; don't add an unclosed-socket warning to it
        pytest.fail(
            f"unit tests must not touch the network (connect to {address!r}): pass "
            "httpx.MockTransport, or move the test to tests/integration",
            pytrace=False,
        )

    def guarded_connect(sock: socket.socket, address: Any) -> None:
        if sock.family in _INET:
            refuse(sock, address)
        connect(sock, address)

    def guarded_connect_ex(sock: socket.socket, address: Any) -> int:
        if sock.family in _INET:
            refuse(sock, address)
        return connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", guarded_connect_ex)

"""What the adapters' unit tests share: a client over ``httpx.MockTransport``, the sample push.

No socket is opened here: every HTTP exchange goes through ``httpx.MockTransport`` and a
handler of the test's own. What each platform's fake does over real HTTP is proved in
``tests/integration/channels``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from channels.base import Message

__all__ = ["Handler", "message", "mock_client", "refuse"]

Handler = Callable[[httpx.Request], httpx.Response]
"""Answers one request in place of the platform."""


def refuse(request: httpx.Request) -> httpx.Response:
    """The handler of a test that expects no request at all."""
    raise AssertionError(f"unexpected request {request.url}")


def mock_client(handler: Handler = refuse) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` whose every request *handler* answers."""
    return httpx.AsyncClient(transport=httpx.MockTransport(handler))


def message(body: str = "网传停水消息系谣言。", **kw: Any) -> Message:
    """The sample rebuttal (辟谣), titled 辟谣：停水消息不实 unless *kw* names a title."""
    kw.setdefault("title", "辟谣：停水消息不实")
    return Message(kind="rebuttal", body=body, **kw)

"""What the platform fakes share: ASGI plumbing, slow and dropped answers, small wire helpers.

:class:`FakePlatform` is the base of the fakes served over Starlette routes (WeCom, DingTalk,
Feishu, Weibo, Telegram): it keeps the lock, ends slow answers on :meth:`~FakePlatform.close`
and hands each request the transport a "drop" fault closes. The helpers below are the wire
details more than one fake checks the same way. The fakes never import the adapters' code: a
bug shared by both sides could not fail a test.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import threading
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

__all__ = ["START", "FakePlatform", "drop", "headers_of", "refused_ip", "strings"]

START = datetime(2026, 11, 26, 1, 0, tzinfo=UTC).timestamp()
"""Where a fake's own clock starts: 2026-11-26 01:00 UTC (09:00 in Beijing)."""

_TRANSPORT = "syndicator.fake.transport"


class FakePlatform:
    """An ASGI application over *routes*, with what every fault switch needs.

    Attributes:
        _lock: guards the fake's state (re-entrant: a handler may call the test's controls).
    """

    def __init__(self, routes: Sequence[BaseRoute]) -> None:
        self._lock = threading.RLock()
        self._closing: asyncio.Event | None = None
        self._app = Starlette(routes=list(routes))

    def close(self) -> None:
        """End waiting (slow) answers now; :class:`SimulatorServer` calls it on its loop."""
        if self._closing is not None:
            self._closing.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if self._closing is None:
            self._closing = asyncio.Event()
        # The transport behind uvicorn's receive (a bound method of its request cycle): ASGI has
        # no message for "close without answering", so the drop switch reaches for it.
        scope = dict(scope)
        scope[_TRANSPORT] = getattr(getattr(receive, "__self__", None), "transport", None)
        await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request: by the routes, unless a fake decides otherwise."""
        await self._app(scope, receive, send)

    async def _pause(self, delay: float) -> None:
        """Wait *delay* seconds, or until :meth:`close` (a slow answer must not hold a server)."""
        assert self._closing is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), delay)


async def drop(request: Request) -> Response:
    """Close *request*'s connection without answering; the response returned is never sent.

    Only under :class:`~syndicator.simulator.server.SimulatorServer` (uvicorn), whose transport
    :class:`FakePlatform` put in the scope; elsewhere the answer is a 500 saying so.
    """
    transport = request.scope.get(_TRANSPORT)
    if not isinstance(transport, asyncio.BaseTransport):
        return Response("connection drop is not supported by this server", 500)
    if isinstance(transport, asyncio.WriteTransport):
        transport.abort()
    else:
        transport.close()
    # Wait until the server sees the loss, so it discards the response instead of sending.
    while (await request.receive())["type"] != "http.disconnect":
        pass
    return Response(status_code=500)


def headers_of(request: Request) -> dict[str, str]:
    """*request*'s headers as a fake records them: lower-case names."""
    return {k.lower(): v for k, v in request.headers.items()}


def strings(value: Any, *, skip: Collection[str] = ()) -> Iterator[str]:
    """Every string in the JSON *value*, except those under a key in *skip* (keyword checks)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in skip:
                yield from strings(item, skip=skip)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item, skip=skip)


def refused_ip(request: Request, whitelist: Collection[str]) -> str | None:
    """The client's address when *whitelist* (addresses, networks) is set and lacks it, else None.

    An entry that is neither an address nor a network matches the client's text exactly.
    """
    if not whitelist:
        return None
    client = request.client.host if request.client else ""
    for allowed in whitelist:
        try:
            if ipaddress.ip_address(client) in ipaddress.ip_network(allowed, strict=False):
                return None
        except ValueError:
            if client == allowed:
                return None
    return client

"""The WeChat Official Account fake on 127.0.0.1, as pytest fixtures.

The fake itself ships in :mod:`syndicator.simulator.fakes.wechat`; this module re-exports it and
serves it with :class:`~syndicator.simulator.server.SimulatorServer`. Import the fixtures in a
test directory's ``conftest.py`` to use them.

``wechat`` gives each test a fresh :class:`FakeWeChat` (set its public attributes, such as
``minute_limit``, to change its limits) behind one server for the whole session, started on first
use: starting and stopping uvicorn costs more than most of these tests take.
"""

from __future__ import annotations

import pytest
from starlette.types import Receive, Scope, Send

from syndicator.simulator.fakes.wechat import APP_ID, APP_SECRET, FakeWeChat, Recorded
from syndicator.simulator.server import SimulatorServer

__all__ = [
    "APP_ID",
    "APP_SECRET",
    "FakeWeChat",
    "Recorded",
    "WeChatServer",
    "wechat",
]


class WeChatServer:
    """An ASGI app passing every request to the fake currently installed (one per test)."""

    def __init__(self) -> None:
        self.fake = FakeWeChat()
        self.base_url = ""
        self._served: list[FakeWeChat] = []

    def install(self, fake: FakeWeChat) -> FakeWeChat:
        self.fake = fake
        fake.base_url = self.base_url
        self._served.append(fake)
        return fake

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.fake(scope, receive, send)

    def close(self) -> None:
        for fake in self._served:
            fake.close()


_SHARED = pytest.StashKey[WeChatServer]()


@pytest.fixture
def wechat(request: pytest.FixtureRequest) -> FakeWeChat:
    """A fresh WeChat fake with one account (:data:`APP_ID` / :data:`APP_SECRET`), served.

    The server is started by the first test that asks and stopped when the session ends.
    """
    stash = request.session.stash
    if _SHARED not in stash:
        app = WeChatServer()
        server = SimulatorServer(app=app).start()
        request.config.add_cleanup(server.stop)
        app.base_url = server.base_urls[0]
        stash[_SHARED] = app
    return stash[_SHARED].install(FakeWeChat())

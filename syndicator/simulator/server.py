"""Run the portal simulator with uvicorn in a background thread, on one or several local ports.

Each port stands for one "host" (the fetcher's politeness is per ``host:port``); all ports serve
the same :class:`~syndicator.simulator.app.Portal`, and the app tells them apart by
``scope["server"]``. The sockets are bound here, before uvicorn starts, so port 0 yields a free port
that is known at once and there is no race between choosing a port and listening on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Sequence
from types import TracebackType
from typing import Any, Literal, Self

import uvicorn

from syndicator.simulator.app import Page, Portal, PortalApp, PortalStats

__all__ = ["SimulatorError", "SimulatorServer"]


class SimulatorError(RuntimeError):
    """The simulator could not bind, start or stop."""


class SimulatorServer:
    """A uvicorn server for a :class:`Portal`, on 127.0.0.1, in a daemon thread.

    Args:
        portal: what to serve; a new empty portal when omitted.
        app: serve this ASGI application instead of a portal (the channel fakes use this); an
            ``app.close()`` method, if it has one, is called on the server's loop at stop.
        ports: how many random free ports, or the exact ports (0 = a random free one).
        host: the address to bind; keep the default, the simulator is local only.
        loop: ``asyncio`` (default, for tests) or ``uvloop`` (the benchmark farm).
        start_timeout: seconds :meth:`start` waits for uvicorn to listen.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        portal: Portal | None = None,
        *,
        ports: int | Sequence[int] = 1,
        host: str = "127.0.0.1",
        loop: Literal["asyncio", "uvloop"] = "asyncio",
        start_timeout: float = 10.0,
        app: Any = None,
    ) -> None:
        wanted = [0] * ports if isinstance(ports, int) else list(ports)
        if not wanted:
            raise ValueError("SimulatorServer needs at least one port")
        self.portal = portal if portal is not None else Portal()
        self.host = host
        self._wanted = wanted
        self._loop_kind = loop
        self._start_timeout = start_timeout
        self._ports: list[int] = []
        self._sockets: list[socket.socket] = []
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._app: Any = None
        self._custom_app = app
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"SimulatorServer({self.host}, ports={self._ports or self._wanted}, {state})"

    # -- addresses ---------------------------------------------------------------------------

    @property
    def ports(self) -> list[int]:
        """The bound ports, in the order of ``base_urls``."""
        if not self._ports:
            raise SimulatorError("the simulator has not been started")
        return list(self._ports)

    @property
    def base_urls(self) -> list[str]:
        """``http://127.0.0.1:PORT`` for each port (no trailing slash)."""
        return [f"http://{self.host}:{port}" for port in self.ports]

    def url(self, path: str, host: int = 0) -> str:
        """The absolute URL of *path* on the *host*-th port."""
        if not path.startswith("/"):
            path = "/" + path
        return self.base_urls[host] + path

    def set(self, path: str, page: Page, *, host: int = 0) -> str:
        """Serve *page* at *path* (on every port); returns its URL on the *host*-th port."""
        self.portal.set(path, page)
        return self.url(path, host)

    @property
    def stats(self) -> PortalStats:
        """The portal's request statistics (see :class:`PortalStats`)."""
        return self.portal.stats

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def start(self) -> Self:
        """Bind the ports and start serving; returns once uvicorn listens.

        Raises:
            SimulatorError: a port cannot be bound, or uvicorn did not come up.
        """
        if self._thread is not None:
            raise SimulatorError("the simulator is already running")
        self._bind()
        self._app = self._custom_app if self._custom_app is not None else PortalApp(self.portal)
        config = uvicorn.Config(
            self._app,
            host=self.host,
            loop=self._loop_kind,
            http="httptools",
            interface="asgi3",
            lifespan="off",
            log_level="warning",
            log_config=None,
            access_log=False,
            proxy_headers=False,
            server_header=False,
            backlog=4096,
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._error = None
        self._thread = threading.Thread(
            target=self._run, args=(config,), name="syndicator-simulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + self._start_timeout
        while not self._server.started:
            if not self._thread.is_alive():
                error = self._error
                self._cleanup()
                raise SimulatorError(f"the simulator failed to start: {error!r}") from error
            if time.monotonic() > deadline:
                self.stop()
                raise SimulatorError(f"the simulator did not start within {self._start_timeout} s")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        """Finish in-progress responses (slow and endless ones at once) and shut down."""
        thread, server, loop, app = self._thread, self._server, self._loop, self._app
        if thread is None or server is None:
            return
        close = getattr(app, "close", None)
        if loop is not None and callable(close):
            with contextlib.suppress(RuntimeError):  # the loop already ended
                loop.call_soon_threadsafe(close)
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=5)
        alive = thread.is_alive()
        self._cleanup()
        if alive:
            raise SimulatorError("the simulator thread did not stop within 15 s")

    def _bind(self) -> None:
        sockets: list[socket.socket] = []
        try:
            for port in self._wanted:
                # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets
                # whose proto says TCP, and without it every keep-alive response waits 40 ms
                # for a delayed ACK (Nagle).
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
                sockets.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((self.host, port))
        except OSError as exc:
            for sock in sockets:
                sock.close()
            raise SimulatorError(f"cannot bind {self.host}:{port}: {exc}") from exc
        self._sockets = sockets
        self._ports = [sock.getsockname()[1] for sock in sockets]

    def _run(self, config: uvicorn.Config) -> None:
        async def serve() -> None:
            self._loop = asyncio.get_running_loop()
            assert self._server is not None
            await self._server.serve(sockets=self._sockets)

        try:
            with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
                runner.run(serve())
        except BaseException as exc:  # uvicorn exits with SystemExit when startup fails
            self._error = exc

    def _cleanup(self) -> None:
        for sock in self._sockets:
            sock.close()
        self._sockets = []
        self._thread = self._server = self._app = self._loop = None

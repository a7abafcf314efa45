"""What the test fixtures around the fakes share: serving one, and the ``with`` protocol."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Generic, Self, TypeVar

from starlette.types import ASGIApp

from syndicator.simulator.server import SimulatorServer

__all__ = ["KEYWORDS", "Running", "Served", "serving"]

KEYWORDS = ("辟谣", "解读")
"""The custom keywords of the fixtures' keyword robots (DingTalk) and bots (Feishu)."""

FakeT = TypeVar("FakeT")


@dataclass(frozen=True, slots=True)
class Served(Generic[FakeT]):
    """A running fake: its state (``fake``, with its switches) and its base URL.

    A fixture's own subclass adds what it prepared on it (robots, bots, a token).
    """

    fake: FakeT
    base_url: str


@contextmanager
def serving(app: ASGIApp) -> Iterator[str]:
    """Serve *app* on 127.0.0.1 (a random port) while the block runs; yields its base URL."""
    with SimulatorServer(app=app) as server:
        yield server.base_urls[0]


class Running:
    """``with fake:`` for a fake that has ``start()`` and ``stop()``: started, then stopped."""

    def start(self) -> object:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

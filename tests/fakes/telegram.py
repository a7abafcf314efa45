"""The fake Telegram Bot API on 127.0.0.1, as a pytest fixture.

The fake itself ships in :mod:`syndicator.simulator.fakes.telegram` (the demo can serve it too);
``telegram_api`` gives a running one, populated: the bot :data:`BOT_TOKEN`, the public channel
:data:`CHANNEL` and the private supergroup :data:`GROUP_ID`. Set the fake's attributes (such as
``chat_rate``) or use its fault switches to change what it answers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from syndicator.simulator.fakes.telegram import (
    BOT_TOKEN,
    CHANNEL,
    CHANNEL_ID,
    GROUP_ID,
    FakeTelegram,
    Recorded,
)
from tests.fakes._base import Served, serving

__all__ = [
    "BOT_TOKEN",
    "CHANNEL",
    "CHANNEL_ID",
    "GROUP_ID",
    "FakeTelegram",
    "Recorded",
    "TelegramServer",
    "telegram_api",
]


@dataclass(frozen=True, slots=True)
class TelegramServer(Served[FakeTelegram]):
    """A running fake: its state (``fake``) and base URL (no ``/bot`` suffix)."""


@pytest.fixture
def telegram_api() -> Iterator[TelegramServer]:
    """A populated fake Telegram Bot API on a random port (default rate limits)."""
    fake = FakeTelegram()
    with serving(fake) as base_url:
        yield TelegramServer(fake, base_url)

"""The fake Feishu custom-bot webhook on 127.0.0.1, as a pytest fixture.

The fake itself ships in :mod:`syndicator.simulator.fakes.feishu` (the demo can serve it too);
``feishu`` gives a running one with a signing bot, a keyword bot and a bot with no settings.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from syndicator.simulator.fakes.feishu import HOOK_PATH, FakeFeishu, FeishuBot, Recorded
from tests.fakes._base import KEYWORDS, Served, serving

__all__ = [
    "HOOK_PATH",
    "KEYWORDS",
    "FakeFeishu",
    "FeishuBot",
    "FeishuServer",
    "Recorded",
    "feishu",
]


@dataclass(frozen=True, slots=True)
class FeishuServer(Served[FakeFeishu]):
    """A running fake: its state, base URL, a signing bot, a keyword bot and an open bot."""

    signed: FeishuBot
    keyword: FeishuBot
    open: FeishuBot


@pytest.fixture
def feishu() -> Iterator[FeishuServer]:
    """A fake Feishu on a random port: one bot that signs, one with keywords 辟谣/解读, one open."""
    fake = FakeFeishu()
    signed = fake.add_bot("8f3a2c1e-5b7d-4e90-a1c2-3d4e5f607182", secret="fSx9kQ2mZ7pL4vB1nW8r")
    keyword = fake.add_bot(keywords=KEYWORDS)
    open_bot = fake.add_bot()
    with serving(fake) as base_url:
        yield FeishuServer(fake, base_url, signed, keyword, open_bot)

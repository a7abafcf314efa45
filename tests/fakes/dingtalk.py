"""The fake DingTalk custom-robot webhook on 127.0.0.1, as a pytest fixture.

The fake itself ships in :mod:`syndicator.simulator.fakes.dingtalk` (the demo can serve it
too); ``dingtalk`` gives a running one with one signing robot and one keyword robot.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from syndicator.simulator.fakes.dingtalk import SEND_PATH, DingTalkRobot, FakeDingTalk, Recorded
from tests.fakes._base import KEYWORDS, Served, serving

__all__ = [
    "KEYWORDS",
    "SEND_PATH",
    "DingTalkRobot",
    "DingTalkServer",
    "FakeDingTalk",
    "Recorded",
    "dingtalk",
]


@dataclass(frozen=True, slots=True)
class DingTalkServer(Served[FakeDingTalk]):
    """A running fake: its state, base URL, a 加签 robot and a keyword robot."""

    signed: DingTalkRobot
    keyword: DingTalkRobot


@pytest.fixture
def dingtalk() -> Iterator[DingTalkServer]:
    """A fake DingTalk on a random port: one robot that signs, one with keywords 辟谣/解读."""
    fake = FakeDingTalk()
    signed = fake.add_robot(
        "a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90",
        secret="SEC0f3c9a7e51d24b6c8e0a2f4b6d8e0a1c3e5f7092b4d6f8a0c2e4f6081a3c5e7",
    )
    keyword = fake.add_robot(keywords=KEYWORDS)
    with serving(fake) as base_url:
        yield DingTalkServer(fake, base_url, signed, keyword)

"""The fake WeCom group-robot webhook on 127.0.0.1, as a pytest fixture.

The fake itself ships in :mod:`syndicator.simulator.fakes.wecom` (the demo can serve it too);
``wecom`` gives a running one with one robot.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from syndicator.simulator.fakes.wecom import SEND_PATH, FakeWeCom, Recorded
from tests.fakes._base import Served, serving

__all__ = ["SEND_PATH", "FakeWeCom", "Recorded", "WeComServer", "wecom"]


@dataclass(frozen=True, slots=True)
class WeComServer(Served[FakeWeCom]):
    """A running fake: its state (``fake``), base URL and one robot's webhook key."""

    key: str


@pytest.fixture
def wecom() -> Iterator[WeComServer]:
    """A fake WeCom on a random port with one robot (20 messages per minute)."""
    fake = FakeWeCom()
    key = fake.add_robot("693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa")
    with serving(fake) as base_url:
        yield WeComServer(fake, base_url, key)

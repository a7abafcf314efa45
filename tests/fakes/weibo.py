"""The fake Sina Weibo API on 127.0.0.1, as pytest fixtures.

The fake itself ships in :mod:`syndicator.simulator.fakes.weibo` (the demo can serve it too);
``weibo`` gives a running one with small rate limits and one issued token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from syndicator.simulator.fakes.weibo import SHARE_PATH, TOKEN_INFO_PATH, FakeWeibo, Recorded
from tests.fakes._base import Served, serving

__all__ = [
    "SAFE_DOMAIN_URL",
    "SHARE_PATH",
    "TOKEN_INFO_PATH",
    "UID",
    "FakeWeibo",
    "Recorded",
    "WeiboServer",
    "weibo",
]

SAFE_DOMAIN_URL = "https://www.jiangxi.gov.cn/"
UID = 7_216_530_014


@dataclass(frozen=True, slots=True)
class WeiboServer(Served[FakeWeibo]):
    """A running fake: its state (``fake``), base URL and one valid token for account ``UID``."""

    token: str


@pytest.fixture
def weibo() -> Iterator[WeiboServer]:
    """A fake Weibo on a random port: safe domain www.jiangxi.gov.cn, 5 calls/h, 3 posts/h."""
    fake = FakeWeibo(
        safe_domains=("www.jiangxi.gov.cn",), hourly_calls=5, hourly_posts=3, duplicate_window=600
    )
    token = fake.issue_token(UID, lifetime=30 * 86400)
    with serving(fake) as base_url:
        yield WeiboServer(fake, base_url, token)

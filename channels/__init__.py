"""Channel adapter plugins: one module per platform, a small :class:`~channels.base.Channel` ABC.

Adapters talk HTTP through the ``httpx.AsyncClient`` they are given and know nothing of
syndicator's storage or queue; the delivery engine (``syndicator/delivery/``) drives them.
"""

from channels.base import (
    AuthExpired,
    BadContent,
    Capability,
    Channel,
    ChannelConfigError,
    ChannelError,
    LengthUnit,
    Limit,
    Message,
    Misconfigured,
    RateLimited,
    Receipt,
    Retryable,
    Unconfirmed,
    measure,
)

__all__ = [
    "AuthExpired",
    "BadContent",
    "Capability",
    "Channel",
    "ChannelConfigError",
    "ChannelError",
    "LengthUnit",
    "Limit",
    "Message",
    "Misconfigured",
    "RateLimited",
    "Receipt",
    "Retryable",
    "Unconfirmed",
    "measure",
]

"""Delivery: configured channel instances, and (next) the outbox that drives them.

The channel adapters live in the top-level ``channels`` package and know nothing of storage;
this package builds them from configuration and records what they did.
"""

from syndicator.delivery.instances import ChannelInstanceError, build_channel, build_channels

__all__ = ["ChannelInstanceError", "build_channel", "build_channels"]

"""Channel instances from ``[[channels]]``: the adapter from the registry, secrets from the
environment (never from the file)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from channels.base import Channel, ChannelConfigError
from channels.registry import Registry
from syndicator.settings import ChannelSettings

__all__ = ["ChannelInstanceError", "build_channel", "build_channels"]


class ChannelInstanceError(ValueError):
    """A configured channel that cannot be built; the message names the channel and the field."""


def build_channel(
    spec: ChannelSettings, registry: Registry, *, client: httpx.AsyncClient
) -> Channel:
    """The adapter instance *spec* configures.

    Raises:
        ChannelInstanceError: unknown type, a secret written into the file, a missing or
            unknown field.
    """
    try:
        adapter = registry.get(spec.type)
    except KeyError as exc:
        raise ChannelInstanceError(f"channel {spec.id!r}: {exc.args[0]}") from None
    literal = [f for f in adapter.secret_fields if f in spec.options]
    if literal:
        fields = ", ".join(literal)
        envs = ", ".join(f"{f}_env" for f in literal)
        raise ChannelInstanceError(
            f"channel {spec.id!r}: {fields} is a secret and must not be written in the file; "
            f"put it in an environment variable and name it with {envs}"
        )
    config: dict[str, Any] = dict(spec.options)
    config.update({name: secret.reveal() for name, secret in spec.secrets.items()})
    try:
        return adapter(spec.id, config, client=client, base_url=spec.base_url)
    except ChannelConfigError as exc:
        raise ChannelInstanceError(str(exc)) from None


def build_channels(
    specs: Sequence[ChannelSettings], registry: Registry, *, client: httpx.AsyncClient
) -> dict[str, Channel]:
    """Every configured channel, by id (the first error stops: nothing half-configured)."""
    return {spec.id: build_channel(spec, registry, client=client) for spec in specs}

"""Reading an adapter's own configuration fields: the checks more than one adapter makes.

:class:`~channels.base.Channel` has checked already that the required fields are there and no
unknown one is; these helpers check a field's value and word the error the way every adapter
does: ``channel 'jx-wecom' (wecom_bot): <field> …``.
"""

from __future__ import annotations

from channels.base import Channel, ChannelConfigError

__all__ = ["config_error", "nonempty_string", "string_list"]


def config_error(channel: Channel, text: str) -> ChannelConfigError:
    """The error for a bad value in *channel*'s configuration: ``channel 'id' (name): text``."""
    return ChannelConfigError(f"channel {channel.id!r} ({channel.name}): {text}")


def string_list(channel: Channel, field: str, *, numbers: bool = True) -> tuple[str, ...]:
    """Field *field* as strings: a list, or one comma-separated string; stripped, no empties.

    A missing or empty field is ``()``. With *numbers* a list may hold integers too (mobile
    numbers written without quotes), taken as their digits.

    Raises:
        ChannelConfigError: anything else.
    """
    value = channel.config.get(field)
    if value in (None, ""):
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(",") if v.strip())
    allowed = (str, int) if numbers else (str,)
    if isinstance(value, list | tuple) and all(isinstance(v, allowed) for v in value):
        return tuple(str(v).strip() for v in value if str(v).strip())
    raise config_error(channel, f"{field} must be a list of strings or a comma-separated string")


def nonempty_string(channel: Channel, field: str) -> str:
    """Field *field* (it must be present) as a non-empty string, stripped.

    Raises:
        ChannelConfigError: not a string, or only white space.
    """
    value = channel.config[field]
    if not isinstance(value, str) or not value.strip():
        raise config_error(channel, f"{field} 应为非空字符串")
    return value.strip()

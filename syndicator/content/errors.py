"""Errors raised while rendering a push for a channel."""

from __future__ import annotations

__all__ = ["PolicyError", "RenderError"]


class RenderError(Exception):
    """A push that cannot be rendered for a channel; ``str()`` is zh-CN, for staff.

    The message names the channel and what to change: the measured length, the limit and its
    unit for an over-long text refused by the policy; the template, line and variable for a
    template error.
    """


class PolicyError(ValueError):
    """A render-policy configuration that cannot be used; the message names the key and fix."""

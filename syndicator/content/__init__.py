"""Content: what staff publish and how it is shaped for each channel.

:func:`render` turns a :class:`Content` into the :class:`~channels.base.Message` list one channel
gets: its template, format, escaping and length limit (see :mod:`syndicator.content.render`).
"""

from __future__ import annotations

from syndicator.content.errors import PolicyError, RenderError
from syndicator.content.render import (
    DEFAULT_POLICIES,
    KIND_LABELS,
    Content,
    Kind,
    LimitRule,
    RenderPolicy,
    builtin_templates_dir,
    policies_from_config,
    policy_for,
    render,
    render_for,
    template_names,
)

__all__ = [
    "DEFAULT_POLICIES",
    "KIND_LABELS",
    "Content",
    "Kind",
    "LimitRule",
    "PolicyError",
    "RenderError",
    "RenderPolicy",
    "builtin_templates_dir",
    "policies_from_config",
    "policy_for",
    "render",
    "render_for",
    "template_names",
]

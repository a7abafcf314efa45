"""What the delivery engine publishes: a push rendered for one channel instance.

:class:`PushRenderer` is the engine's ``render`` hook. It turns a stored :class:`Push` into a
:class:`~syndicator.content.Content` and renders it with :func:`syndicator.content.render_for`:
the channel's templates, format, escaping and limit rule. The rule for an instance is, in
increasing precedence, the built-in table, ``[render.<adapter type>]`` and the instance's own
``render = {…}`` in ``[[channels]]``.

The same renderer checks a push before it is approved (:meth:`PushRenderer.problems`): a body
that a channel would refuse is refused at approval, with the channel and the limit named, rather
than failing later in the delivery log.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from typing import Any

from channels.base import Channel, Message
from syndicator.content import (
    Content,
    RenderError,
    RenderPolicy,
    policies_from_config,
    policy_for,
    render_for,
)
from syndicator.content.render import KINDS
from syndicator.db.models import Push
from syndicator.settings import Settings

__all__ = ["Preview", "PushRenderer", "push_content"]


def push_content(push: Push, *, issuer: str | None = None) -> Content:
    """The :class:`Content` of a stored push, published at its approval (or creation) time.

    Raises:
        RenderError: the push's kind or URL cannot be rendered (the message says which).
    """
    if push.kind not in KINDS:
        raise RenderError(f"推送 {push.id} 的类型 {push.kind!r} 无法渲染；可选：{', '.join(KINDS)}")
    when = push.approved_at or push.created_at
    if when.tzinfo is None:  # SQLite hands back naive datetimes; they are stored as UTC
        when = when.replace(tzinfo=UTC)
    try:
        return Content(
            kind=push.kind,
            title=push.title,
            body=push.body,
            published_at=when,
            summary=push.summary,
            url=push.url,
            author=push.author,
            issuer=issuer,
        )
    except ValueError as exc:
        raise RenderError(f"推送 {push.id}：{exc}") from None


@dataclass(frozen=True, slots=True)
class Preview:
    """How a push comes out on one channel: its messages, or why it cannot be sent there."""

    channel_id: str
    messages: tuple[Message, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def line(self) -> str:
        """One zh-CN line for staff: the format, length and parts, or why it cannot be sent."""
        if self.error is not None:
            return f"✗ {self.channel_id}：不能发送，批准前须修改 / cannot be sent：{self.error}"
        parts = self.messages
        size = sum(len(m.body) for m in parts)
        split = f"，拆为 {len(parts)} 条" if len(parts) > 1 else ""
        return f"✓ {self.channel_id}：{parts[0].format} 格式，正文 {size} 字{split}"


class PushRenderer:
    """Renders pushes for channel instances (the engine's ``render`` hook).

    Args:
        policies: ``[render.<adapter>]`` tables (see :func:`policies_from_config`).
        instance_policies: each instance's ``render = {…}`` by channel id.
        templates_dir: replaces the built-in ``templates/messages``.
        issuer: the issuing office shown where templates have a byline.

    Raises:
        PolicyError: a policy table is wrong (settings check them first).
    """

    def __init__(
        self,
        *,
        policies: Mapping[str, Mapping[str, Any]] | None = None,
        instance_policies: Mapping[str, Mapping[str, Any]] | None = None,
        templates_dir: str | Path | None = None,
        issuer: str | None = None,
    ) -> None:
        self._type_config = {k: dict(v) for k, v in (policies or {}).items()}
        self._policies = policies_from_config(self._type_config)
        self._instance_config = {k: dict(v) for k, v in (instance_policies or {}).items() if v}
        self._instance: dict[tuple[str, str], RenderPolicy] = {}
        self.templates_dir = Path(templates_dir) if templates_dir is not None else None
        self.issuer = issuer

    @classmethod
    def from_settings(cls, settings: Settings) -> PushRenderer:
        return cls(
            policies=settings.render.policies,
            instance_policies={c.id: c.render for c in settings.channels},
            templates_dir=settings.render.templates_dir,
        )

    def policy(self, channel: Channel) -> RenderPolicy:
        """The policy for *channel*: its instance's keys over its adapter type's."""
        override = self._instance_config.get(channel.id)
        if override is None:
            return policy_for(channel.name, self._policies)
        key = (channel.id, channel.name)
        if key not in self._instance:
            merged = {**self._type_config.get(channel.name, {}), **override}
            self._instance[key] = policies_from_config({channel.name: merged})[channel.name]
        return self._instance[key]

    def __call__(self, push: Push, channel: Channel) -> list[Message]:
        """The messages *push* becomes on *channel*.

        Raises:
            RenderError: the channel refuses it as it is (the message says why, in zh-CN).
        """
        return render_for(
            push_content(push, issuer=self.issuer),
            channel,
            policy=self.policy(channel),
            templates_dir=self.templates_dir,
        )

    def preview(self, push: Push, channels: Mapping[str, Channel]) -> list[Preview]:
        """How *push* comes out on each of its channels (unknown channels say so)."""
        previews = []
        for channel_id in push.channels:
            channel = channels.get(channel_id)
            if channel is None:
                previews.append(Preview(channel_id, error=f"渠道 {channel_id} 未配置"))
                continue
            try:
                previews.append(Preview(channel_id, tuple(self(push, channel))))
            except RenderError as exc:
                previews.append(Preview(channel_id, error=str(exc)))
        return previews

    def problems(self, push: Push, channels: Mapping[str, Channel]) -> Sequence[str]:
        """Why *push* cannot be approved as it is: one line per channel that refuses it."""
        return [f"{p.channel_id}：{p.error}" for p in self.preview(push, channels) if not p.ok]

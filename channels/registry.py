"""Which adapters exist: the built-ins, plus any package's ``syndicator.channels`` entry points.

A third-party package adds an adapter without touching this repository::

    [project.entry-points."syndicator.channels"]
    matrix = "syndicator_matrix:MatrixChannel"

The entry point's name must equal the class's ``name``. A built-in cannot be replaced by a
plugin (an entry point with a built-in's name is reported, not loaded), so installing a package
never silently changes how an existing channel posts.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import entry_points

from channels.base import Channel

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "AdapterProblem", "Registry", "load_registry"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "syndicator.channels"

BUILTIN: dict[str, str] = {
    "wechat_mp": "channels.wechat_mp:WeChatMP",
    "weibo": "channels.weibo:Weibo",
    "wecom_bot": "channels.wecom_bot:WeComBot",
    "dingtalk": "channels.dingtalk:DingTalk",
    "feishu": "channels.feishu:Feishu",
    "telegram": "channels.telegram:Telegram",
    "webhook": "channels.webhook:Webhook",
    "email": "channels.email:Email",
    "rss": "channels.rss:RSSFeed",
}
"""Adapter name → ``module:Class``; a module not present yet is reported, not fatal."""


@dataclass(frozen=True, slots=True)
class AdapterProblem:
    """An adapter that could not be loaded, and why (shown by ``channels list``)."""

    name: str
    origin: str
    reason: str


class Registry:
    """The adapters that loaded, by name, and the problems of those that did not."""

    def __init__(self, adapters: dict[str, type[Channel]], problems: list[AdapterProblem]) -> None:
        self.adapters = adapters
        self.problems = problems
        self.origins: dict[str, str] = {}

    def get(self, name: str) -> type[Channel]:
        """The adapter class called *name*.

        Raises:
            KeyError: no such adapter (the message lists the known ones).
        """
        try:
            return self.adapters[name]
        except KeyError:
            known = ", ".join(sorted(self.adapters)) or "none"
            raise KeyError(f"unknown channel type {name!r}; known: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self.adapters

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.adapters))


def _load(target: str) -> type[Channel]:
    module_name, _, attr = target.partition(":")
    module = importlib.import_module(module_name)
    cls = getattr(module, attr)
    if not (isinstance(cls, type) and issubclass(cls, Channel)):
        raise TypeError(f"{target} is not a Channel subclass")
    return cls


def load_registry(*, plugins: bool = True) -> Registry:
    """Load the built-in adapters and (with *plugins*) the installed entry points."""
    adapters: dict[str, type[Channel]] = {}
    problems: list[AdapterProblem] = []
    origins: dict[str, str] = {}
    for name, target in BUILTIN.items():
        try:
            adapters[name] = _load(target)
            origins[name] = "built-in"
        except ModuleNotFoundError as exc:
            if exc.name != target.partition(":")[0]:
                problems.append(AdapterProblem(name, "built-in", f"cannot import: {exc}"))
        except Exception as exc:
            problems.append(AdapterProblem(name, "built-in", f"{type(exc).__name__}: {exc}"))
    if plugins:
        for point in entry_points(group=ENTRY_POINT_GROUP):
            origin = f"plugin {point.value}" + (f" ({point.dist.name})" if point.dist else "")
            if point.name in BUILTIN:
                problems.append(
                    AdapterProblem(point.name, origin, "a built-in adapter has this name: ignored")
                )
                continue
            try:
                cls = point.load()
                if not (isinstance(cls, type) and issubclass(cls, Channel)):
                    raise TypeError(f"{point.value} is not a Channel subclass")
                if cls.name != point.name:
                    raise ValueError(f"entry point {point.name!r} names class {cls.name!r}")
            except Exception as exc:
                log.warning("channel plugin %s failed to load: %s", point.value, exc)
                problems.append(AdapterProblem(point.name, origin, f"{type(exc).__name__}: {exc}"))
                continue
            adapters[point.name] = cls
            origins[point.name] = origin
    registry = Registry(adapters, problems)
    registry.origins = origins
    return registry

"""Jurisdiction profiles: every deadline is configuration, never a constant in code.

A profile is a TOML file. Three ship with syndicator (``jiangxi``, the default, ``national`` and
``fujian``, see ``../shared/docs/rules.md``); a custom one is any file of the same shape::

    name = "ganzhou"
    title = "赣州市（6 小时）"

    [repost]
    deadline = "6h"            # "90m", "12h", "1d", or seconds as an integer
    source = "赣市府办字〔2024〕1号"

    [[repost.ladder]]          # notices raised at these fractions of the window, in order
    at = 0.5
    level = "remind"           # remind | warn | breach

    [key_policy]               # optional; each list replaces the national default
    issuers = ["国务院", "国务院办公厅", "赣州市人民政府"]
    doc_types = ["通知", "意见", "决定", "办法", "条例", "方案"]
    doc_no_prefixes = ["国发", "国办发", "赣市府发"]
    keywords = ["营商环境"]
    exclude = ["人事任免", "招聘"]
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from syndicator.text.classify import DEFAULT_KEY_RULES, KeyPolicyRules

__all__ = [
    "BUILTIN_PROFILES",
    "DEFAULT_PROFILE",
    "LadderStep",
    "Profile",
    "ProfileError",
    "load_profile",
    "parse_duration",
]

DEFAULT_PROFILE = "jiangxi"
BUILTIN_PROFILES = ("jiangxi", "national", "fujian")

Level = Literal["remind", "warn", "breach"]
LEVELS: tuple[Level, ...] = ("remind", "warn", "breach")

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file and the field."""


def parse_duration(value: object) -> timedelta:
    """``"12h"``, ``"90m"``, ``"1d"``, ``"30s"`` or whole seconds (int) as a timedelta.

    Raises:
        ValueError: anything else, or a duration that is not positive.
    """
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, int):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.match(value)):
        seconds = float(match.group(1)) * _UNIT[match.group(2)]
    else:
        raise ValueError(f'{value!r} is not a duration (use e.g. "12h", "90m" or seconds)')
    if seconds <= 0:
        raise ValueError(f"{value!r} must be positive")
    return timedelta(seconds=seconds)


@dataclass(frozen=True, slots=True)
class LadderStep:
    """Raise a notice of ``level`` once ``at`` (a fraction) of the window has passed."""

    at: float
    level: Level


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """The rules of one jurisdiction."""

    name: str
    title: str
    repost_deadline: timedelta
    repost_source: str | None
    repost_ladder: tuple[LadderStep, ...]
    key_policy: KeyPolicyRules = DEFAULT_KEY_RULES


def _field(where: str, table: dict[str, Any], key: str, kind: type) -> Any:
    if key not in table:
        raise ProfileError(f"{where}: missing field {key!r}")
    value = table[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ProfileError(f"{where}: field {key!r} must be a {kind.__name__}, not {value!r}")
    return value


def _parse(data: dict[str, Any], origin: str) -> Profile:
    name = _field(origin, data, "name", str)
    repost = _field(origin, data, "repost", dict)
    where = f"{origin} [repost]"
    try:
        deadline = parse_duration(repost.get("deadline"))
    except ValueError as exc:
        raise ProfileError(f"{where}: field 'deadline': {exc}") from None
    steps: list[LadderStep] = []
    for n, step in enumerate(repost.get("ladder", []), start=1):
        at_where = f"{origin} [[repost.ladder]] #{n}"
        if not isinstance(step, dict):
            raise ProfileError(f"{at_where}: must be a table with 'at' and 'level'")
        at = step.get("at")
        if isinstance(at, bool) or not isinstance(at, int | float) or not 0 < at <= 1:
            raise ProfileError(f"{at_where}: field 'at' must be a fraction in (0, 1], not {at!r}")
        level = step.get("level")
        if level not in LEVELS:
            raise ProfileError(f"{at_where}: field 'level' must be one of {', '.join(LEVELS)}")
        steps.append(LadderStep(float(at), level))
    ats = [s.at for s in steps]
    if ats != sorted(ats) or len(set(ats)) != len(ats):
        raise ProfileError(f"{origin} [[repost.ladder]]: steps must be in increasing order of 'at'")
    if not steps or steps[-1] != LadderStep(1.0, "breach"):
        raise ProfileError(f"{origin} [[repost.ladder]]: the last step must be at = 1.0, breach")
    source = repost.get("source")
    key_policy = _key_policy(data.get("key_policy", {}), origin)
    return Profile(
        name=name,
        title=str(data.get("title") or name),
        repost_deadline=deadline,
        repost_source=str(source) if source else None,
        repost_ladder=tuple(steps),
        key_policy=key_policy,
    )


def _key_policy(table: object, origin: str) -> KeyPolicyRules:
    """``[key_policy]`` lists replace the national defaults field by field."""
    if not isinstance(table, dict):
        raise ProfileError(f"{origin} [key_policy]: must be a table")
    fields = ("issuers", "doc_types", "doc_no_prefixes", "keywords", "exclude")
    for key in table:
        if key not in fields:
            raise ProfileError(
                f"{origin} [key_policy]: unknown field {key!r}; known: {', '.join(fields)}"
            )
    values: dict[str, tuple[str, ...]] = {}
    for key in fields:
        value = table.get(key, getattr(DEFAULT_KEY_RULES, key))
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ProfileError(f"{origin} [key_policy]: field {key!r} must be a list of strings")
        values[key] = tuple(value)
    return KeyPolicyRules(**values)


def load_profile(name_or_path: str | Path = DEFAULT_PROFILE) -> Profile:
    """A built-in profile by name, or a custom profile from a TOML file.

    Raises:
        ProfileError: unknown name, unreadable file, or a field that is missing or wrong.
    """
    if isinstance(name_or_path, str) and name_or_path in BUILTIN_PROFILES:
        text = (
            resources.files("syndicator.rules")
            .joinpath("profiles", f"{name_or_path}.toml")
            .read_text(encoding="utf-8")
        )
        origin = f"profile {name_or_path!r}"
    else:
        path = Path(name_or_path)
        if path.suffix != ".toml":
            known = ", ".join(BUILTIN_PROFILES)
            raise ProfileError(
                f"unknown profile {str(name_or_path)!r}: use one of {known} or a .toml file"
            )
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ProfileError(f"{path}: cannot read profile: {exc.strerror}") from None
        origin = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"{origin}: invalid TOML: {exc}") from None
    return _parse(data, origin)

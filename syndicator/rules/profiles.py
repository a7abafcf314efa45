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

    [obligations]              # optional: who must repost (defaults shown)
    levels = ["province", "city", "county", "district", "township", "department"]
    lookback = "3d"            # items first seen older than this open no obligation
    digest_at = "09:00"        # daily digest of open breaches, Beijing time

    [freshness]                # optional: column update limits (国办秘函〔2019〕19号)
    home = "14d"
    dynamic = "14d"
    notice = "180d"
    policy = "180d"
    warn_before = "3d"
    long_stale = "365d"
    veto_stale_columns = 5     # single-veto roll-up thresholds per site
    veto_long_stale_columns = 10
    veto_blank_columns = 5

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
from datetime import time, timedelta
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from syndicator.text.classify import DEFAULT_KEY_RULES, KeyPolicyRules

__all__ = [
    "BUILTIN_PROFILES",
    "DEFAULT_PROFILE",
    "SITE_LEVELS",
    "FreshnessRules",
    "LadderStep",
    "ObligationRules",
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


SITE_LEVELS = ("national", "province", "city", "county", "district", "township", "department")
"""Site levels, top down (the sources file's ``level``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ObligationRules:
    """Which sites must repost the key items of their superiors.

    A site of one of ``levels`` (with ``repost`` not switched off in the sources file) must
    repost every key item published by a site above it in the hierarchy: 中国政府网, its
    province, its city. Items first seen more than ``lookback`` after their window opened (a
    portal polled for the first time lists months of documents) open no obligation.
    """

    levels: tuple[str, ...] = ("province", "city", "county", "district", "township", "department")
    lookback: timedelta = timedelta(days=3)
    digest_at: time = time(9, 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class FreshnessRules:
    """Column update limits per column type, and the single-veto roll-up thresholds.

    Defaults from 国办秘函〔2019〕19号 (rules.md §2): home and dynamic columns within 2 weeks,
    notice and policy columns within 6 months; a site with ``veto_stale_columns`` such stale
    columns, ``veto_long_stale_columns`` columns not updated for ``long_stale``, or
    ``veto_blank_columns`` empty columns fails the inspection (单项否决), as does a stale home page.
    """

    limits: tuple[tuple[str, timedelta], ...] = (
        ("home", timedelta(days=14)),
        ("dynamic", timedelta(days=14)),
        ("notice", timedelta(days=180)),
        ("policy", timedelta(days=180)),
    )
    warn_before: timedelta = timedelta(days=3)
    long_stale: timedelta = timedelta(days=365)
    veto_stale_columns: int = 5
    veto_long_stale_columns: int = 10
    veto_blank_columns: int = 5

    def limit(self, column_type: str | None) -> timedelta | None:
        """The update limit of a column type; ``None``: not watched (e.g. ``repost``)."""
        return dict(self.limits).get(column_type or "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """The rules of one jurisdiction."""

    name: str
    title: str
    repost_deadline: timedelta
    repost_source: str | None
    repost_ladder: tuple[LadderStep, ...]
    key_policy: KeyPolicyRules = DEFAULT_KEY_RULES
    obligations: ObligationRules = ObligationRules()
    freshness: FreshnessRules = FreshnessRules()


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
    known = {"name", "title", "repost", "key_policy", "obligations", "freshness"}
    for key in data:
        if key not in known:
            raise ProfileError(
                f"{origin}: unknown field {key!r}; known: {', '.join(sorted(known))}"
            )
    return Profile(
        name=name,
        title=str(data.get("title") or name),
        repost_deadline=deadline,
        repost_source=str(source) if source else None,
        repost_ladder=tuple(steps),
        key_policy=key_policy,
        obligations=_obligations(data.get("obligations", {}), origin),
        freshness=_freshness(data.get("freshness", {}), origin),
    )


def _table(value: object, where: str, fields: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProfileError(f"{where}: must be a table")
    for key in value:
        if key not in fields:
            raise ProfileError(f"{where}: unknown field {key!r}; known: {', '.join(fields)}")
    return value


def _duration(table: dict[str, Any], key: str, where: str, default: timedelta) -> timedelta:
    if key not in table:
        return default
    try:
        return parse_duration(table[key])
    except ValueError as exc:
        raise ProfileError(f"{where}: field {key!r}: {exc}") from None


def _count(table: dict[str, Any], key: str, where: str, default: int) -> int:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ProfileError(f"{where}: field {key!r} must be a whole number ≥ 1, not {value!r}")
    return value


def _obligations(value: object, origin: str) -> ObligationRules:
    where = f"{origin} [obligations]"
    table = _table(value, where, ("levels", "lookback", "digest_at"))
    default = ObligationRules()
    levels = table.get("levels", list(default.levels))
    if not isinstance(levels, list) or not all(isinstance(v, str) for v in levels):
        raise ProfileError(f"{where}: field 'levels' must be a list of site levels")
    for level in levels:
        if level not in SITE_LEVELS:
            raise ProfileError(
                f"{where}: field 'levels': unknown level {level!r}; known: {', '.join(SITE_LEVELS)}"
            )
    digest = table.get("digest_at", default.digest_at.strftime("%H:%M"))
    try:
        if not isinstance(digest, str):
            raise ValueError
        digest_at = time.fromisoformat(digest)
    except ValueError:
        raise ProfileError(
            f"{where}: field 'digest_at' must be a time of day such as \"09:00\", not {digest!r}"
        ) from None
    return ObligationRules(
        levels=tuple(levels),
        lookback=_duration(table, "lookback", where, default.lookback),
        digest_at=digest_at,
    )


_COLUMN_TYPES = ("home", "dynamic", "notice", "policy", "repost")


def _freshness(value: object, origin: str) -> FreshnessRules:
    where = f"{origin} [freshness]"
    counts = ("veto_stale_columns", "veto_long_stale_columns", "veto_blank_columns")
    table = _table(value, where, (*_COLUMN_TYPES, "warn_before", "long_stale", *counts))
    default = FreshnessRules()
    limits = dict(default.limits)
    for column in _COLUMN_TYPES:
        if column in table:
            limits[column] = _duration(table, column, where, timedelta(0))
    return FreshnessRules(
        limits=tuple(limits.items()),
        warn_before=_duration(table, "warn_before", where, default.warn_before),
        long_stale=_duration(table, "long_stale", where, default.long_stale),
        veto_stale_columns=_count(table, counts[0], where, default.veto_stale_columns),
        veto_long_stale_columns=_count(table, counts[1], where, default.veto_long_stale_columns),
        veto_blank_columns=_count(table, counts[2], where, default.veto_blank_columns),
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

"""Jurisdiction rules: profiles (TOML) and the deadline arithmetic built on them."""

from syndicator.rules.deadlines import Moment, crossed_steps, latency, on_time, repost_due
from syndicator.rules.profiles import (
    BUILTIN_PROFILES,
    DEFAULT_PROFILE,
    LadderStep,
    Profile,
    ProfileError,
    load_profile,
    parse_duration,
)

__all__ = [
    "BUILTIN_PROFILES",
    "DEFAULT_PROFILE",
    "LadderStep",
    "Moment",
    "Profile",
    "ProfileError",
    "crossed_steps",
    "latency",
    "load_profile",
    "on_time",
    "parse_duration",
    "repost_due",
]

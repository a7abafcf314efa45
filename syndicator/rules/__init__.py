"""Jurisdiction rules: profiles (TOML) and the deadline arithmetic built on them."""

from syndicator.rules.deadlines import (
    Moment,
    RepostWindow,
    crossed_steps,
    latency,
    observed_moment,
    on_time,
    repost_due,
    repost_window,
)
from syndicator.rules.profiles import (
    BUILTIN_PROFILES,
    DEFAULT_PROFILE,
    SITE_LEVELS,
    FreshnessRules,
    LadderStep,
    ObligationRules,
    Profile,
    ProfileError,
    load_profile,
    parse_duration,
)

__all__ = [
    "BUILTIN_PROFILES",
    "DEFAULT_PROFILE",
    "SITE_LEVELS",
    "FreshnessRules",
    "LadderStep",
    "Moment",
    "ObligationRules",
    "Profile",
    "ProfileError",
    "RepostWindow",
    "crossed_steps",
    "latency",
    "load_profile",
    "observed_moment",
    "on_time",
    "parse_duration",
    "repost_due",
    "repost_window",
]

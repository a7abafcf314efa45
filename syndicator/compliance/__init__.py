"""Repost compliance: matching entries to key items, obligations, deadlines, reports."""

from syndicator.compliance.offline import MatchInputError, match_files

__all__ = ["MatchInputError", "match_files"]

"""Value types shared by the fetcher, the parsers and the poll service."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from syndicator.db.models import Precision

__all__ = ["DetailMeta", "ParsedEntry", "ParsedTime", "Precision"]


@dataclass(frozen=True, slots=True)
class ParsedTime:
    """A publication time read from a page: ``at`` is UTC-aware.

    For ``Precision.DATE`` the time is 00:00 Asia/Shanghai of that day, converted to UTC.
    """

    at: datetime
    precision: Precision


@dataclass(frozen=True, slots=True, kw_only=True)
class ParsedEntry:
    """One entry of a polled list, before it is stored as an Item or Entry."""

    title: str
    url: str | None = None
    guid: str | None = None
    published: ParsedTime | None = None
    summary: str | None = None
    doc_no: str | None = None
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DetailMeta:
    """What a government CMS detail page says about itself in its ``<meta>`` tags."""

    title: str | None = None
    published: ParsedTime | None = None
    source: str | None = None
    manuscript_id: str | None = None

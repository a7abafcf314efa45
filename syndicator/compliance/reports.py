"""Read-only views of obligations for staff: what is open now, how each site did, one in full.

Pure queries returning dataclasses; the CLI (and later chat and web) render them. Times are
aware UTC as stored; callers show them in Asia/Shanghai.

Counting rules, the same in every view:

* ``unknown`` (could not be checked, or the timing cannot be decided) is never counted as
  compliant or as a breach; neither are ``waived`` and ``pending`` (not decided yet).
* The on-time rate is ``reposted / (reposted + reposted_late + overdue)``: decided obligations
  only, ``None`` when none is decided.
* Latency statistics use reposts (``reposted``, ``reposted_late``) whose latency is known, i.e.
  both publication times were exact. The median is the usual one (mean of the two middle values
  for an even count); the 90th percentile is the **nearest rank**: the smallest observed latency
  that at least 90 % of the known latencies do not exceed, so it is always a real repost's value.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from syndicator.db.models import (
    OPEN_STATES,
    AuditEntry,
    Entry,
    Item,
    Notice,
    Obligation,
    ObligationState,
    Site,
    WindowBasis,
)

__all__ = [
    "REPORT_COLUMNS",
    "ObligationDetail",
    "OpenObligation",
    "ReportError",
    "SiteReport",
    "compliance_report",
    "obligation_detail",
    "open_obligations",
    "percentile_nearest_rank",
    "site_subtree",
]


class ReportError(ValueError):
    """A report that cannot be made as asked; the message (zh-CN first) says why."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenObligation:
    """One obligation still open (pending, overdue or unknown) and its countdown."""

    id: int
    site_id: str
    site_name: str
    item_id: int
    item_title: str
    doc_no: str | None
    due_at: datetime
    basis: WindowBasis
    state: ObligationState
    remaining: timedelta
    """``due_at - now``: negative once the deadline has passed."""
    note: str | None

    @property
    def estimated(self) -> bool:
        """The window does not start from an exact publication time (date only, first seen)."""
        return self.basis is not WindowBasis.PUBLISHED


REPORT_COLUMNS: dict[str, str] = {
    "site_id": "site id; empty on the total row",
    "site_name": "site name; 合计 / total on the total row",
    "total": "obligations whose window started in [since, until)",
    "reposted": "reposted within the deadline",
    "reposted_late": "reposted after the deadline",
    "overdue": "open breaches: deadline passed, checked, no repost",
    "unknown": "could not be checked or timing undecidable: neither compliant nor a breach",
    "waived": "released by staff: neither compliant nor a breach",
    "pending": "window open or awaiting confirmation: not decided yet",
    "decided": "reposted + reposted_late + overdue",
    "on_time_rate": "reposted / decided, 0..1 rounded to 4 places; empty/null when decided is 0"
    " (unknown, waived and pending are excluded)",
    "latency_known": "reposts whose latency is known (both publication times exact)",
    "latency_median_hours": "median repost latency in hours (2 places); empty/null when none known",
    "latency_p90_hours": "90th percentile repost latency in hours, nearest rank (2 places);"
    " empty/null when none known",
    "estimated": "obligations whose window is estimated (publication date only, or first seen)",
}
"""Column names of the CSV / keys of the JSON export, in order, with what each one means."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteReport:
    """How one site (or, with ``site_id`` ``None``, all of them together) did in a period.

    ``on_time_rate`` counts decided obligations only: ``unknown``, ``waived`` and ``pending``
    are in ``total`` but neither in its numerator nor its denominator.
    """

    site_id: str | None
    site_name: str
    total: int
    reposted: int
    reposted_late: int
    overdue: int
    unknown: int
    waived: int
    pending: int
    estimated: int
    latency_known: int
    latency_median_hours: float | None
    latency_p90_hours: float | None

    @property
    def is_total(self) -> bool:
        return self.site_id is None

    @property
    def decided(self) -> int:
        return self.reposted + self.reposted_late + self.overdue

    @property
    def on_time_rate(self) -> float | None:
        """``reposted / decided``; ``None`` when nothing is decided."""
        return self.reposted / self.decided if self.decided else None

    @property
    def open_breaches(self) -> int:
        """Overdue obligations: a later repost would still make them ``reposted_late``."""
        return self.overdue

    def as_row(self) -> dict[str, Any]:
        """The export row, keyed and ordered as :data:`REPORT_COLUMNS`."""
        rate = self.on_time_rate
        row: dict[str, Any] = {
            "site_id": self.site_id or "",
            "site_name": self.site_name,
            "total": self.total,
            "reposted": self.reposted,
            "reposted_late": self.reposted_late,
            "overdue": self.overdue,
            "unknown": self.unknown,
            "waived": self.waived,
            "pending": self.pending,
            "decided": self.decided,
            "on_time_rate": None if rate is None else round(rate, 4),
            "latency_known": self.latency_known,
            "latency_median_hours": _round(self.latency_median_hours),
            "latency_p90_hours": _round(self.latency_p90_hours),
            "estimated": self.estimated,
        }
        return row


@dataclass(frozen=True, slots=True, kw_only=True)
class ObligationDetail:
    """Everything known about one obligation (ORM rows, loaded; read them in the session)."""

    obligation: Obligation
    item: Item
    site: Site
    entry: Entry | None
    history: list[AuditEntry]
    """Audit entries whose subject is ``obligation:<id>``, oldest first."""
    notices: list[Notice]
    """Notices raised for it, oldest first."""


def _round(hours: float | None) -> float | None:
    return None if hours is None else round(hours, 2)


def _aware(when: datetime, name: str) -> datetime:
    if when.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return when


def site_subtree(session: Session, site_id: str) -> set[str]:
    """*site_id* and every site below it in the hierarchy.

    Raises:
        ReportError: no such site.
    """
    children: dict[str | None, list[str]] = defaultdict(list)
    known: set[str] = set()
    for sid, parent in session.execute(select(Site.id, Site.parent_id)):
        children[parent].append(sid)
        known.add(sid)
    if site_id not in known:
        raise ReportError(f"没有编号为 {site_id} 的站点 / no site {site_id!r}")
    found: set[str] = set()
    todo = [site_id]
    while todo:
        current = todo.pop()
        if current not in found:  # a cycle in the data must not loop forever
            found.add(current)
            todo.extend(children.get(current, ()))
    return found


def _sites(session: Session, site: str | None, include_descendants: bool) -> set[str] | None:
    if site is None:
        return None
    if include_descendants:
        return site_subtree(session, site)
    if session.get(Site, site) is None:
        raise ReportError(f"没有编号为 {site} 的站点 / no site {site!r}")
    return {site}


def open_obligations(
    session: Session, now: datetime, *, site: str | None = None, include_descendants: bool = True
) -> list[OpenObligation]:
    """Obligations still open (pending, overdue, unknown), soonest deadline first.

    Args:
        session: a database session.
        now: the current time (aware); ``remaining`` is ``due_at - now``.
        site: only this site and, with *include_descendants*, every site below it.
        include_descendants: see *site*.

    Raises:
        ReportError: *site* does not exist.
    """
    _aware(now, "now")
    query = (
        select(Obligation, Site.name, Item.title, Item.doc_no)
        .join(Site, Site.id == Obligation.site_id)
        .join(Item, Item.id == Obligation.item_id)
        .where(Obligation.state.in_(OPEN_STATES))
        .order_by(Obligation.due_at, Obligation.id)
    )
    sites = _sites(session, site, include_descendants)
    if sites is not None:
        query = query.where(Obligation.site_id.in_(sites))
    return [
        OpenObligation(
            id=ob.id,
            site_id=ob.site_id,
            site_name=site_name,
            item_id=ob.item_id,
            item_title=title,
            doc_no=doc_no,
            due_at=ob.due_at,
            basis=ob.window_basis,
            state=ob.state,
            remaining=ob.due_at - now,
            note=ob.note,
        )
        for ob, site_name, title, doc_no in session.execute(query)
    ]


def percentile_nearest_rank(values: Sequence[float], percent: int) -> float:
    """The nearest-rank percentile: the ``ceil(percent/100 · n)``-th smallest value.

    Raises:
        ValueError: *values* is empty or *percent* is not in 1..100.
    """
    if not values:
        raise ValueError("no values")
    if not 1 <= percent <= 100:
        raise ValueError(f"percent must be in 1..100, not {percent}")
    ordered = sorted(values)
    rank = -(-percent * len(ordered) // 100)  # integer ceil: no float rounding at 90 % of 10
    return ordered[rank - 1]


_REPOSTS = (ObligationState.REPOSTED, ObligationState.REPOSTED_LATE)


def _summarise(
    site_id: str | None,
    site_name: str,
    rows: Iterable[tuple[ObligationState, WindowBasis, float | None]],
) -> SiteReport:
    states: dict[ObligationState, int] = dict.fromkeys(ObligationState, 0)
    latencies: list[float] = []
    estimated = 0
    for state, basis, latency in rows:
        states[state] += 1
        estimated += basis is not WindowBasis.PUBLISHED
        if state in _REPOSTS and latency is not None:
            latencies.append(latency / 3600)
    return SiteReport(
        site_id=site_id,
        site_name=site_name,
        total=sum(states.values()),
        reposted=states[ObligationState.REPOSTED],
        reposted_late=states[ObligationState.REPOSTED_LATE],
        overdue=states[ObligationState.OVERDUE],
        unknown=states[ObligationState.UNKNOWN],
        waived=states[ObligationState.WAIVED],
        pending=states[ObligationState.PENDING],
        estimated=estimated,
        latency_known=len(latencies),
        latency_median_hours=statistics.median(latencies) if latencies else None,
        latency_p90_hours=percentile_nearest_rank(latencies, 90) if latencies else None,
    )


def compliance_report(
    session: Session,
    *,
    since: datetime,
    until: datetime | None = None,
    site: str | None = None,
    include_descendants: bool = True,
) -> list[SiteReport]:
    """Per-site counts, on-time rate and latencies of obligations opened in a period.

    An obligation belongs to the period when its window started (``window_start``) at or after
    *since* and before *until*. The on-time rate counts decided obligations only
    (``reposted / (reposted + reposted_late + overdue)``): ``unknown``, ``waived`` and
    ``pending`` are excluded from it, and latencies come from reposts with exact times (see the
    module docstring for the median and the nearest-rank p90).

    Args:
        session: a database session.
        since: start of the period, inclusive (aware).
        until: end of the period, exclusive (aware); ``None``: up to now.
        site: only this site and, with *include_descendants*, every site below it.
        include_descendants: see *site*.

    Returns:
        One row per site with obligations in the period, by site id, then the total row
        (``site_id`` ``None``), which is there even when the period holds nothing.

    Raises:
        ReportError: *site* does not exist, or *until* is not after *since*.
    """
    _aware(since, "since")
    if until is not None and _aware(until, "until") <= since:
        raise ReportError("结束时间必须晚于开始时间 / until must be after since")
    query = (
        select(
            Obligation.site_id,
            Site.name,
            Obligation.state,
            Obligation.window_basis,
            Obligation.latency_seconds,
        )
        .join(Site, Site.id == Obligation.site_id)
        .where(Obligation.window_start >= since)
    )
    if until is not None:
        query = query.where(Obligation.window_start < until)
    sites = _sites(session, site, include_descendants)
    if sites is not None:
        query = query.where(Obligation.site_id.in_(sites))
    per_site: dict[str, list[tuple[ObligationState, WindowBasis, float | None]]] = defaultdict(list)
    names: dict[str, str] = {}
    for site_id, name, state, basis, latency in session.execute(query):
        per_site[site_id].append((state, basis, latency))
        names[site_id] = name
    reports = [_summarise(sid, names[sid], per_site[sid]) for sid in sorted(per_site)]
    everything = [row for sid in sorted(per_site) for row in per_site[sid]]
    reports.append(_summarise(None, "合计 / total", everything))
    return reports


def obligation_detail(session: Session, obligation_id: int) -> ObligationDetail | None:
    """One obligation with its item, site, evidence entry, audit history and notices.

    Returns:
        ``None`` when there is no such obligation.
    """
    obligation = session.scalar(
        select(Obligation)
        .where(Obligation.id == obligation_id)
        .options(
            joinedload(Obligation.item), joinedload(Obligation.site), joinedload(Obligation.entry)
        )
    )
    if obligation is None:
        return None
    history = session.scalars(
        select(AuditEntry)
        .where(AuditEntry.subject == f"obligation:{obligation_id}")
        .order_by(AuditEntry.id)
    ).all()
    notices = session.scalars(
        select(Notice)
        .where(Notice.obligation_id == obligation_id)
        .order_by(Notice.created_at, Notice.id)
    ).all()
    return ObligationDetail(
        obligation=obligation,
        item=obligation.item,
        site=obligation.site,
        entry=obligation.entry,
        history=list(history),
        notices=list(notices),
    )

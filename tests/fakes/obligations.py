"""Rows for report tests: a site hierarchy, key items, entries and obligations written directly.

Nothing here runs the compliance engine; each helper adds one row as the engine would have left
it, so a test states exactly the states and evidence it reads back.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from syndicator.db.models import (
    Entry,
    Item,
    Obligation,
    ObligationState,
    Precision,
    Site,
    Source,
    SourceKind,
    SourceRole,
    WindowBasis,
)

__all__ = ["UPSTREAM", "add_entry", "add_item", "add_obligation", "add_sites"]

UPSTREAM = "govcn-zuixin"
DOWNSTREAM = {"jx": "jx-zxwj", "ganzhou": "gz-tzgg", "xingguo": "xg-tzgg", "nanchang": "nc-zwgk"}


def add_sites(session: Session) -> None:
    """中国政府网 upstream; 江西省 → 赣州市 → 兴国县, and 南昌市 beside 赣州市; one column each."""
    session.add_all(
        [
            Site(id="govcn", name="中国政府网", level="national", repost=False),
            Site(id="jx", name="江西省人民政府", level="province"),
            Site(id="ganzhou", name="赣州市人民政府", level="city", parent_id="jx"),
            Site(id="xingguo", name="兴国县人民政府", level="county", parent_id="ganzhou"),
            Site(id="nanchang", name="南昌市人民政府", level="city", parent_id="jx"),
        ]
    )
    session.flush()
    sources = [(UPSTREAM, "govcn", SourceRole.UPSTREAM)] + [
        (source, site, SourceRole.DOWNSTREAM) for site, source in DOWNSTREAM.items()
    ]
    for source_id, site_id, role in sources:
        session.add(
            Source(
                id=source_id,
                site_id=site_id,
                role=role,
                kind=SourceKind.RSS,
                url=f"https://{site_id}.example.gov.cn/rss.xml",
                interval_seconds=600,
                is_key=role is SourceRole.UPSTREAM,
                spec={},
            )
        )
    session.flush()


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def add_item(
    session: Session, title: str, published_at: datetime, *, doc_no: str | None = None
) -> Item:
    item = Item(
        source_id=UPSTREAM,
        key=_hash(title)[:32],
        url=f"https://www.gov.cn/zhengce/{_hash(title)[:8]}.htm",
        title=title,
        published_at=published_at,
        published_precision=Precision.DATETIME,
        doc_no=doc_no,
        meta={},
        first_seen_at=published_at + timedelta(minutes=5),
        last_seen_at=published_at + timedelta(minutes=5),
        content_hash=_hash(title),
        is_key=True,
        key_reason="信息源设为重点",
    )
    session.add(item)
    session.flush()
    return item


def add_entry(session: Session, site_id: str, title: str, published_at: datetime) -> Entry:
    entry = Entry(
        source_id=DOWNSTREAM[site_id],
        key=_hash(site_id + title)[:32],
        url=f"https://{site_id}.example.gov.cn/art/{_hash(title)[:8]}.html",
        title=title,
        published_at=published_at,
        published_precision=Precision.DATETIME,
        meta={},
        first_seen_at=published_at + timedelta(minutes=10),
        last_seen_at=published_at + timedelta(minutes=10),
        content_hash=_hash(site_id + title),
    )
    session.add(entry)
    session.flush()
    return entry


def add_obligation(
    session: Session,
    item: Item,
    site_id: str,
    state: ObligationState,
    *,
    window_start: datetime | None = None,
    deadline: timedelta = timedelta(hours=12),
    basis: WindowBasis = WindowBasis.PUBLISHED,
    due_at: datetime | None = None,
    latency_hours: float | None = None,
    entry: Entry | None = None,
    note: str | None = None,
) -> Obligation:
    """One obligation; a repost state with *latency_hours* gets exact evidence to match."""
    start = window_start or item.published_at
    assert start is not None
    latest = start + timedelta(days=1) if basis is WindowBasis.PUBLISHED_DATE else start
    reposted = start + timedelta(hours=latency_hours) if latency_hours is not None else None
    obligation = Obligation(
        item_id=item.id,
        site_id=site_id,
        profile="jiangxi",
        deadline_seconds=int(deadline.total_seconds()),
        opened_at=start + timedelta(minutes=5),
        window_start=start,
        published_latest=latest,
        window_basis=basis,
        due_at=due_at or start + deadline,
        state=state,
        state_since=start + timedelta(minutes=5),
        note=note,
        entry_id=entry.id if entry is not None else None,
        reposted_earliest=reposted,
        reposted_latest=reposted,
        latency_seconds=latency_hours * 3600 if latency_hours is not None else None,
        on_time={
            ObligationState.REPOSTED: True,
            ObligationState.REPOSTED_LATE: False,
        }.get(state),
        match_score=1.0 if entry is not None else None,
        match_reason="标题一致" if entry is not None else None,
        waived_by="staff:张三" if state is ObligationState.WAIVED else None,
        waived_reason="该县不设此栏目" if state is ObligationState.WAIVED else None,
    )
    session.add(obligation)
    session.flush()
    return obligation

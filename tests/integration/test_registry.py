"""Loading a sources file into the database, again and again, loses nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from syndicator import audit
from syndicator.clock import FrozenClock
from syndicator.db import AuditEntry, Database, Item, Site, Source
from syndicator.db.models import Precision
from syndicator.sources.config import load_sources
from syndicator.sources.registry import SyncReport, sync_sources

pytestmark = pytest.mark.integration

SITES = """
[[site]]
id = "jiangxi"
name = "江西省人民政府"
level = "province"

[[site]]
id = "nanchang"
name = "南昌市人民政府"
level = "city"
parent = "jiangxi"
"""


def _source(sid: str, url: str, interval: str = "10m") -> str:
    return (
        f'[[source]]\nid = "{sid}"\nsite = "nanchang"\nrole = "upstream"\nkind = "rss"\n'
        f'url = "{url}"\ninterval = "{interval}"\n'
    )


def _sync(db: Database, tmp_path: Path, clock: FrozenClock, *sources: str) -> SyncReport:
    path = tmp_path / "sources.toml"
    path.write_text(SITES + "\n".join(sources), encoding="utf-8")
    return sync_sources(db, load_sources(path), clock=clock)


def test_resync_updates_deactivates_and_reactivates(
    db: Database, tmp_path: Path, clock: FrozenClock
) -> None:
    a = _source("nc-a", "https://www.nc.gov.cn/a.xml")
    b = _source("nc-b", "https://www.nc.gov.cn/b.xml")
    report = _sync(db, tmp_path, clock, a, b)
    assert sorted(report.added) == ["nc-a", "nc-b"]

    with db.begin() as session:
        row = session.get(Source, "nc-a")
        assert row is not None and row.site.parent_id == "jiangxi"
        row.etag, row.body_hash = '"v1"', "abc"
        session.add(
            Item(
                source_id="nc-b",
                key="k" * 64,
                title="南昌市人民政府关于印发某方案的通知",
                published_precision=Precision.NONE,
                first_seen_at=clock.now(),
                last_seen_at=clock.now(),
                content_hash="h" * 64,
            )
        )

    # nc-a moves to a new URL, nc-b leaves the file.
    report = _sync(db, tmp_path, clock, _source("nc-a", "https://www.nc.gov.cn/a2.xml"))
    assert report.changed == ["nc-a"] and report.deactivated == ["nc-b"]
    with db.session() as session:
        moved = session.get(Source, "nc-a")
        gone = session.get(Source, "nc-b")
        assert moved is not None and moved.url.endswith("a2.xml")
        assert moved.etag is None and moved.body_hash is None  # validators of the old URL
        assert gone is not None and not gone.active
        assert session.scalars(select(Item.title)).all() == ["南昌市人民政府关于印发某方案的通知"]

    report = _sync(db, tmp_path, clock, _source("nc-a", "https://www.nc.gov.cn/a2.xml"), b)
    assert report.changed == ["nc-b"]
    with db.session() as session:
        back = session.get(Source, "nc-b")
        assert back is not None and back.active
        assert session.scalar(select(Site.parent_id).where(Site.id == "nanchang")) == "jiangxi"
        actions = session.scalars(select(AuditEntry.action)).all()
        assert actions == ["sources.synced"] * 3
        assert audit.verify(session)[1] is None


def test_unchanged_file_is_a_no_op(db: Database, tmp_path: Path, clock: FrozenClock) -> None:
    a = _source("nc-a", "https://www.nc.gov.cn/a.xml")
    _sync(db, tmp_path, clock, a)
    report = _sync(db, tmp_path, clock, a)
    assert (report.added, report.changed, report.deactivated) == ([], [], [])


def test_new_sources_are_spread_over_their_first_interval(
    db: Database, tmp_path: Path, clock: FrozenClock
) -> None:
    sources = [_source(f"nc-{n}", f"https://www.nc.gov.cn/{n}.xml", "1h") for n in range(40)]
    _sync(db, tmp_path, clock, *sources)
    with db.session() as session:
        dues = session.scalars(select(Source.next_check_at)).all()
    offsets = sorted((d - clock.now()).total_seconds() for d in dues)
    assert offsets[0] >= 0 and offsets[-1] < 3600
    assert offsets[-1] - offsets[0] > 1800  # not a herd at start-up

"""Column freshness on both backends: facts from stored entries and attempts, notices once each."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from syndicator.clock import SHANGHAI
from syndicator.compliance.freshness import (
    ColumnFacts,
    column_facts,
    freshness_notices,
    site_freshness,
)
from syndicator.db import Database
from syndicator.db.models import (
    Entry,
    FetchAttempt,
    FetchStatus,
    Notice,
    NoticeKind,
    Precision,
    Site,
    Source,
    SourceHealth,
    SourceKind,
    SourceRole,
)
from syndicator.rules.profiles import FreshnessRules

pytestmark = pytest.mark.integration

T0 = datetime(2026, 1, 5, 2, 0, tzinfo=UTC)  # the first poll starts; it stores 5 s later
STORED = T0 + timedelta(seconds=5)
D = timedelta(days=1)
RULES = FreshnessRules()


def add_site(session: Session, site_id: str = "ruijin", name: str = "瑞金市人民政府") -> None:
    session.add(Site(id=site_id, name=name, level="county"))


def add_source(
    session: Session,
    source_id: str,
    column: str | None,
    *,
    site_id: str = "ruijin",
    name: str | None = None,
    health: SourceHealth = SourceHealth.OK,
    role: SourceRole = SourceRole.DOWNSTREAM,
    active: bool = True,
    attempts: tuple[tuple[datetime, FetchStatus], ...] = ((T0, FetchStatus.OK),),
) -> None:
    fine = [at for at, status in attempts if status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED)]
    session.add(
        Source(
            id=source_id,
            site_id=site_id,
            name=name,
            role=role,
            kind=SourceKind.HTML_LIST,
            url=f"https://www.ruijin.gov.cn/{source_id}/",
            interval_seconds=3600,
            column_type=column,
            active=active,
            health=health,
            last_success_at=max(fine) if fine and health is SourceHealth.OK else None,
        )
    )
    session.flush()
    for at, status in attempts:
        session.add(
            FetchAttempt(source_id=source_id, started_at=at, duration_ms=120.0, status=status)
        )


def add_entry(
    session: Session,
    source_id: str,
    key: str,
    *,
    seen: datetime = STORED,
    published: datetime | None = None,
    precision: Precision | None = None,
) -> None:
    if precision is None:
        precision = Precision.NONE if published is None else Precision.DATETIME
    session.add(
        Entry(
            source_id=source_id,
            key=key,
            title=f"条目 {key}",
            published_at=published,
            published_precision=precision,
            first_seen_at=seen,
            last_seen_at=seen,
            content_hash=key.ljust(64, "0"),
        )
    )


def checked(session: Session, source_id: str, at: datetime) -> None:
    """A successful poll at *at* (what the poller records)."""
    session.add(
        FetchAttempt(source_id=source_id, started_at=at, duration_ms=100.0, status=FetchStatus.OK)
    )
    session.execute(update(Source).where(Source.id == source_id).values(last_success_at=at))


def facts_by_id(db: Database, now: datetime) -> dict[str, ColumnFacts]:
    with db.session() as session:
        return {f.source_id: f for f in column_facts(session, now)}


def test_first_poll_entries_without_times_are_not_fresh(db: Database) -> None:
    with db.begin() as session:
        add_site(session)
        add_source(session, "rj-dt", "dynamic", name="政务动态")
        for n in range(3):
            add_entry(session, "rj-dt", f"old{n}")
    first = facts_by_id(db, T0 + D)["rj-dt"]
    assert (first.last_update, first.last_update_basis) == (STORED, "first_check")
    assert (first.entries, first.checkable, first.name) == (3, True, "政务动态")
    assert first.site_name == "瑞金市人民政府" and first.checked_at == T0

    with db.begin() as session:
        add_entry(session, "rj-dt", "new", seen=T0 + 2 * D)
    later = facts_by_id(db, T0 + 3 * D)["rj-dt"]
    assert (later.last_update, later.last_update_basis, later.entries) == (
        T0 + 2 * D,
        "first_seen",
        4,
    )


def test_first_check_from_attempts_when_entries_predate_it(db: Database) -> None:
    # Entries stored before any successful attempt on record (imported, or attempts pruned):
    # undated ones first seen before that check still count as backlog.
    with db.begin() as session:
        add_site(session)
        add_source(
            session,
            "rj-tz",
            "notice",
            attempts=((T0, FetchStatus.TIMEOUT), (T0 + D, FetchStatus.NOT_MODIFIED)),
        )
        add_entry(session, "rj-tz", "a", seen=T0 - D)
        add_entry(session, "rj-tz", "b", seen=T0 + D / 2)
    column = facts_by_id(db, T0 + 2 * D)["rj-tz"]
    assert (column.last_update, column.last_update_basis) == (T0 + D, "first_check")


def test_publication_precision(db: Database) -> None:
    day = datetime(2026, 1, 3, tzinfo=SHANGHAI).astimezone(UTC)
    with db.begin() as session:
        add_site(session)
        add_source(session, "rj-tzgg", "notice")
        add_entry(session, "rj-tzgg", "exact", published=day + timedelta(hours=15))
        add_entry(session, "rj-tzgg", "day", published=day, precision=Precision.DATE)
        add_entry(session, "rj-tzgg", "older", published=day - 3 * D, precision=Precision.DATE)
        # A typo'd year stands as undated, and first seen at the first poll it says nothing.
        add_entry(session, "rj-tzgg", "typo", published=datetime(2062, 1, 1, tzinfo=UTC))
        add_source(session, "rj-zcwj", "policy")
        add_entry(session, "rj-zcwj", "exact", published=day + timedelta(hours=15))
        add_entry(session, "rj-zcwj", "before", published=day - D, precision=Precision.DATE)
        add_entry(session, "rj-zcwj", "undated", seen=T0 + D / 2)
    found = facts_by_id(db, T0 + D)
    # Day-only 3 January counts as updated at its end, after 15:00 the same day.
    assert (found["rj-tzgg"].last_update, found["rj-tzgg"].last_update_basis) == (
        day,
        "published_date",
    )
    assert found["rj-tzgg"].entries == 4
    assert (found["rj-zcwj"].last_update, found["rj-zcwj"].last_update_basis) == (
        T0 + D / 2,
        "first_seen",
    )


def test_which_columns_and_whether_they_can_be_checked(db: Database) -> None:
    with db.begin() as session:
        add_site(session)
        add_source(session, "ok", "dynamic")
        add_source(session, "broken", "dynamic", health=SourceHealth.BROKEN)
        add_source(session, "unreachable", "notice", health=SourceHealth.UNREACHABLE)
        add_source(session, "unknown-checked", "notice", health=SourceHealth.UNKNOWN)
        add_source(session, "never", "policy", health=SourceHealth.UNKNOWN, attempts=())
        add_source(
            session,
            "timeouts",
            "policy",
            health=SourceHealth.UNKNOWN,
            attempts=((T0, FetchStatus.TIMEOUT),),
        )
        add_source(session, "inactive", "dynamic", active=False)
        add_source(session, "upstream", None, role=SourceRole.UPSTREAM)
        add_entry(session, "broken", "x", published=T0 - 400 * D)
    found = facts_by_id(db, T0 + D)
    assert list(found) == ["broken", "never", "ok", "timeouts", "unknown-checked", "unreachable"]
    checkable = {k for k, f in found.items() if f.checkable}
    assert checkable == {"ok", "unknown-checked"}
    assert found["ok"].entries == 0 and found["ok"].last_update is None
    assert found["never"].checked_at is None


def _notices(db: Database) -> list[Notice]:
    with db.session() as session:
        return list(session.scalars(select(Notice).order_by(Notice.id)))


def _tick(db: Database, now: datetime) -> int:
    with db.begin() as session:
        checked(session, "rj-sy", now)
        checked(session, "rj-dt", now)
        return freshness_notices(session, now, RULES)


def test_notices_once_per_column_and_last_update(db: Database) -> None:
    published = datetime(2026, 1, 6, 10, 30, tzinfo=SHANGHAI).astimezone(UTC)
    with db.begin() as session:
        add_site(session)
        add_source(session, "rj-sy", "home", name="首页要闻")
        add_entry(session, "rj-sy", "a", published=published)
        add_source(session, "rj-dt", "dynamic", name="政务动态")
        add_entry(session, "rj-dt", "a", published=published)
        add_source(session, "rj-gone", "dynamic", health=SourceHealth.BROKEN)
        add_entry(session, "rj-gone", "a", published=T0 - 400 * D)

    assert _tick(db, published + 10 * D) == 0
    assert _tick(db, published + 11 * D) == 2  # both columns are within 3 days of the limit
    assert _tick(db, published + 12 * D) == 0
    assert _tick(db, published + 14 * D + timedelta(seconds=1)) == 2
    assert _tick(db, published + 14 * D + timedelta(hours=1)) == 0

    notices = _notices(db)
    assert [(n.kind, n.source_id) for n in notices] == [
        (NoticeKind.STALE_WARN, "rj-dt"),
        (NoticeKind.STALE_WARN, "rj-sy"),
        (NoticeKind.STALE, "rj-dt"),
        (NoticeKind.STALE, "rj-sy"),
    ]
    assert all(n.site_id == "ruijin" for n in notices)
    assert "rj-gone" not in {n.source_id for n in notices}
    warn, stale = notices[1], notices[3]
    assert warn.title == "栏目即将超期未更新：瑞金市人民政府 · 首页要闻"
    assert warn.dedup_key == f"column:rj-sy:stale_warn:{published.isoformat()}"
    assert "最近更新：2026-01-06 10:30（按发布时间）" in warn.body
    assert "更新期限：2026-01-20 10:30" in warn.body
    assert "须14天内更新" in warn.body and "本站已触及单项否决" not in warn.body
    assert stale.title == "栏目超期未更新：瑞金市人民政府 · 首页要闻"
    assert "已超过14天未更新" in stale.body
    assert "本站已触及单项否决：首页超过14天未更新" in stale.body
    assert stale.data["due_at"] == (published + 14 * D).isoformat()
    assert stale.data["veto_reasons"] == ["首页超过14天未更新"]

    # The home page updates; it alerts again only when the new update goes stale in turn.
    again = published + 20 * D
    with db.begin() as session:
        add_entry(session, "rj-sy", "b", published=again, seen=again + timedelta(minutes=5))
    assert _tick(db, again + D) == 0
    # No tick fell in its warning window this time: no belated warning, just the breach.
    assert _tick(db, again + 14 * D + timedelta(seconds=1)) == 1
    latest = _notices(db)[4:]
    assert [(n.kind, n.source_id) for n in latest] == [(NoticeKind.STALE, "rj-sy")]
    assert latest[0].dedup_key == f"column:rj-sy:stale:{again.isoformat()}"


def test_no_stale_notice_without_a_check_after_the_deadline(db: Database) -> None:
    with db.begin() as session:
        add_site(session)
        add_source(session, "rj-dt", "dynamic")
        add_entry(session, "rj-dt", "a", published=T0)
    deadline = T0 + 14 * D
    with db.begin() as session:
        checked(session, "rj-dt", deadline - timedelta(hours=1))
        assert freshness_notices(session, deadline + timedelta(hours=1), RULES) == 0
    with db.begin() as session:
        checked(session, "rj-dt", deadline + timedelta(hours=2))
        assert freshness_notices(session, deadline + timedelta(hours=2), RULES) == 1
    assert [n.kind for n in _notices(db)] == [NoticeKind.STALE]


def test_site_freshness_rolls_up_per_site(db: Database) -> None:
    now = T0 + 30 * D
    with db.begin() as session:
        add_site(session)
        add_site(session, "yudu", "于都县人民政府")
        add_source(session, "rj-sy", "home", attempts=((T0, FetchStatus.OK), (now, FetchStatus.OK)))
        add_entry(session, "rj-sy", "a", published=T0)
        for n in range(5):
            add_source(session, f"yd-{n}", "dynamic", site_id="yudu")
            add_entry(session, f"yd-{n}", "a", published=T0)
            checked(session, f"yd-{n}", now)
        add_source(session, "yd-zc", "policy", site_id="yudu", health=SourceHealth.UNREACHABLE)
    with db.session() as session:
        sites = site_freshness(session, now, RULES)
    assert [s.site_id for s in sites] == ["ruijin", "yudu"]
    ruijin, yudu = sites
    assert ruijin.home_stale and ruijin.veto_reasons == ("首页超过14天未更新",)
    assert (yudu.stale, yudu.unknown, yudu.home_stale, len(yudu.columns)) == (5, 1, False, 6)
    assert yudu.veto_reasons == (
        "5个栏目超期未更新（动态要闻14天、通知公告/政策文件180天；达5个即否决）",
    )

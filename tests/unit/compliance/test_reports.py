"""Reports on obligations: open ones by subtree, per-site rates and latencies, one in full."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from sqlalchemy.orm import Session

from syndicator import audit
from syndicator.clock import SHANGHAI
from syndicator.compliance.actions import waive_obligation
from syndicator.compliance.notices import raise_notice
from syndicator.compliance.reports import (
    REPORT_COLUMNS,
    ReportError,
    SiteReport,
    compliance_report,
    obligation_detail,
    open_obligations,
    percentile_nearest_rank,
    site_subtree,
)
from syndicator.db import Database
from syndicator.db.models import Item, NoticeKind, ObligationState, WindowBasis
from tests.fakes.obligations import add_entry, add_item, add_obligation, add_sites

S = ObligationState
NOW = datetime(2024, 1, 10, 12, 0, tzinfo=SHANGHAI).astimezone(UTC)


def bj(text: str) -> datetime:
    """A Beijing wall-clock time, as stored (UTC)."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI).astimezone(UTC)


_titles = count(1)


def _item(session: Session, published: datetime) -> Item:
    n = next(_titles)
    return add_item(session, f"国务院关于第{n}项工作的通知", published, doc_no=f"国发〔2024〕{n}号")


# -- open obligations ------------------------------------------------------------------------


@pytest.fixture
def open_db(sqlite_db: Database) -> dict[str, int]:
    """Three open obligations in three sites and three closed ones; returns their ids."""
    ids: dict[str, int] = {}
    with sqlite_db.begin() as session:
        add_sites(session)
        start = NOW - timedelta(hours=8)
        cases = [
            ("pending", "xingguo", S.PENDING, NOW + timedelta(hours=3, minutes=20), None),
            ("overdue", "ganzhou", S.OVERDUE, NOW - timedelta(days=1, hours=2), None),
            ("unknown", "nanchang", S.UNKNOWN, NOW + timedelta(hours=1), "栏目无法访问"),
            ("reposted", "xingguo", S.REPOSTED, NOW - timedelta(hours=1), None),
            ("waived", "ganzhou", S.WAIVED, NOW + timedelta(hours=2), None),
            ("late", "nanchang", S.REPOSTED_LATE, NOW - timedelta(hours=2), None),
        ]
        for name, site, state, due, note in cases:
            basis = WindowBasis.PUBLISHED_DATE if name == "unknown" else WindowBasis.PUBLISHED
            ob = add_obligation(
                session, _item(session, start), site, state, due_at=due, basis=basis, note=note
            )
            ids[name] = ob.id
    return ids


def test_open_obligations_are_the_open_states_soonest_deadline_first(
    sqlite_db: Database, open_db: dict[str, int]
) -> None:
    with sqlite_db.session() as session:
        rows = open_obligations(session, NOW)
    assert [r.id for r in rows] == [open_db["overdue"], open_db["unknown"], open_db["pending"]]
    overdue, unknown, pending = rows
    assert overdue.remaining == -timedelta(days=1, hours=2)
    assert pending.remaining == timedelta(hours=3, minutes=20)
    assert (pending.site_id, pending.site_name, pending.state) == (
        "xingguo",
        "兴国县人民政府",
        S.PENDING,
    )
    assert pending.item_title.startswith("国务院关于第") and pending.doc_no.startswith("国发")  # type: ignore[union-attr]
    assert unknown.note == "栏目无法访问" and unknown.estimated and not pending.estimated
    assert unknown.basis is WindowBasis.PUBLISHED_DATE


@pytest.mark.parametrize(
    ("site", "descendants", "expected"),
    [
        ("jx", True, ["overdue", "unknown", "pending"]),
        ("ganzhou", True, ["overdue", "pending"]),  # 兴国县 is below 赣州市
        ("xingguo", True, ["pending"]),
        ("ganzhou", False, ["overdue"]),
        ("govcn", True, []),
    ],
    ids=["province-all", "city-and-county", "county", "city-only", "unrelated"],
)
def test_open_obligations_site_means_its_subtree(
    sqlite_db: Database,
    open_db: dict[str, int],
    site: str,
    descendants: bool,
    expected: list[str],
) -> None:
    with sqlite_db.session() as session:
        rows = open_obligations(session, NOW, site=site, include_descendants=descendants)
    assert [r.id for r in rows] == [open_db[name] for name in expected]


def test_unknown_site_is_an_error_naming_it(sqlite_db: Database, open_db: dict[str, int]) -> None:
    with sqlite_db.session() as session:
        with pytest.raises(ReportError, match="没有编号为 ruijin 的站点"):
            open_obligations(session, NOW, site="ruijin")
        with pytest.raises(ReportError, match="ruijin"):
            open_obligations(session, NOW, site="ruijin", include_descendants=False)
        assert site_subtree(session, "jx") == {"jx", "ganzhou", "xingguo", "nanchang"}


def test_naive_now_is_refused(sqlite_db: Database) -> None:
    with sqlite_db.session() as session, pytest.raises(ValueError, match="timezone-aware"):
        open_obligations(session, datetime(2024, 1, 10, 12, 0))


# -- the compliance report -------------------------------------------------------------------


@pytest.fixture
def report_db(sqlite_db: Database) -> Database:
    """January 2024 in three sites, every state, with known latencies (hours)."""
    with sqlite_db.begin() as session:
        add_sites(session)

        def ob(site: str, state: ObligationState, start: str, **kw: object) -> None:
            add_obligation(session, _item(session, bj(start)), site, state, **kw)  # type: ignore[arg-type]

        # 兴国县: 4 on time (one with a date-only window: no latency), 1 late, 1 overdue,
        # 2 unknown (one carrying a latency, which must not count), 1 waived, 1 pending.
        ob("xingguo", S.REPOSTED, "2024-01-05T00:00", latency_hours=1)  # exactly at --since
        ob("xingguo", S.REPOSTED, "2024-01-05T09:00", latency_hours=2)
        ob("xingguo", S.REPOSTED, "2024-01-06T09:00", latency_hours=10)
        ob("xingguo", S.REPOSTED, "2024-01-06T00:00", basis=WindowBasis.PUBLISHED_DATE)
        ob("xingguo", S.REPOSTED_LATE, "2024-01-07T23:59", latency_hours=14)  # before --until
        ob("xingguo", S.OVERDUE, "2024-01-06T10:00")
        ob("xingguo", S.UNKNOWN, "2024-01-06T11:00", basis=WindowBasis.FIRST_SEEN)
        ob("xingguo", S.UNKNOWN, "2024-01-06T12:00", latency_hours=100)
        ob("xingguo", S.WAIVED, "2024-01-06T13:00")
        ob("xingguo", S.PENDING, "2024-01-07T20:00")
        # 赣州市: 1 on time, 1 overdue, 1 unknown.
        ob("ganzhou", S.REPOSTED, "2024-01-05T08:00", latency_hours=3)
        ob("ganzhou", S.OVERDUE, "2024-01-05T08:00")
        ob("ganzhou", S.UNKNOWN, "2024-01-05T08:00")
        # 南昌市: nothing decided.
        ob("nanchang", S.UNKNOWN, "2024-01-06T08:00")
        ob("nanchang", S.WAIVED, "2024-01-06T08:00")
        # Outside the period: one minute before Beijing midnight of the 5th, and at --until.
        ob("xingguo", S.OVERDUE, "2024-01-04T23:59")
        ob("nanchang", S.REPOSTED, "2024-01-08T00:00", latency_hours=50)
    return sqlite_db


def _by_site(reports: list[SiteReport]) -> dict[str | None, SiteReport]:
    return {r.site_id: r for r in reports}


def test_report_counts_rates_and_latencies_per_site(report_db: Database) -> None:
    with report_db.session() as session:
        reports = compliance_report(session, since=bj("2024-01-05T00:00"), until=bj("2024-01-08"))
    assert [r.site_id for r in reports] == ["ganzhou", "nanchang", "xingguo", None]
    sites = _by_site(reports)

    xg = sites["xingguo"]
    assert (xg.site_name, xg.total) == ("兴国县人民政府", 10)
    counts = (xg.reposted, xg.reposted_late, xg.overdue, xg.unknown, xg.waived, xg.pending)
    assert counts == (4, 1, 1, 2, 1, 1)
    assert xg.decided == 6 and xg.on_time_rate == pytest.approx(4 / 6)  # unknown/waived/pending out
    assert xg.open_breaches == 1 and xg.estimated == 2
    assert xg.latency_known == 4  # [1, 2, 10, 14]; the unknown's 100 h does not count
    assert xg.latency_median_hours == pytest.approx(6.0)
    assert xg.latency_p90_hours == pytest.approx(14.0)  # rank ceil(0.9 · 4) = 4

    gz = sites["ganzhou"]
    assert (gz.total, gz.decided, gz.on_time_rate) == (3, 2, 0.5)
    assert gz.latency_median_hours == gz.latency_p90_hours == pytest.approx(3.0)

    nc = sites["nanchang"]
    assert (nc.total, nc.unknown, nc.waived, nc.decided) == (2, 1, 1, 0)
    assert nc.on_time_rate is None and nc.latency_median_hours is None and nc.latency_known == 0

    total = sites[None]
    assert total.is_total and total.site_name == "合计 / total"
    assert (total.total, total.reposted, total.overdue, total.unknown) == (15, 5, 2, 4)
    assert total.on_time_rate == pytest.approx(5 / 8)
    assert total.latency_known == 5  # pooled [1, 2, 3, 10, 14], not an average of medians
    assert total.latency_median_hours == pytest.approx(3.0)
    assert total.latency_p90_hours == pytest.approx(14.0)  # rank ceil(4.5) = 5


@pytest.mark.parametrize(
    ("since", "until", "xingguo_total"),
    [
        ("2024-01-05", "2024-01-08", 10),
        ("2024-01-04T23:59", "2024-01-08", 11),  # the 23:59 window starts in the period
        ("2024-01-05T00:01", "2024-01-08", 9),  # the 00:00 one does not
        ("2024-01-05", "2024-01-07T23:59", 9),  # until is exclusive
        ("2024-01-05", None, 10),
    ],
    ids=["midnight", "a-minute-earlier", "a-minute-later", "until-exclusive", "open-ended"],
)
def test_period_is_window_start_in_since_until_at_beijing_times(
    report_db: Database, since: str, until: str | None, xingguo_total: int
) -> None:
    with report_db.session() as session:
        reports = compliance_report(
            session, since=bj(since), until=bj(until) if until else None, site="xingguo"
        )
    assert [r.site_id for r in reports] == ["xingguo", None]
    assert reports[0].total == reports[1].total == xingguo_total


def test_report_site_is_its_subtree(report_db: Database) -> None:
    with report_db.session() as session:
        reports = compliance_report(session, since=bj("2024-01-05"), site="ganzhou")
        only = compliance_report(
            session, since=bj("2024-01-05"), site="ganzhou", include_descendants=False
        )
    assert [r.site_id for r in reports] == ["ganzhou", "xingguo", None]
    assert reports[-1].total == 13
    assert [r.site_id for r in only] == ["ganzhou", None]


def test_empty_period_still_has_a_total_row_without_rates(report_db: Database) -> None:
    with report_db.session() as session:
        (total,) = compliance_report(session, since=bj("2025-01-01"))
    assert total.is_total and total.total == 0
    assert total.on_time_rate is None and total.latency_p90_hours is None


def test_report_refuses_a_backwards_period_or_unknown_site(report_db: Database) -> None:
    with report_db.session() as session:
        with pytest.raises(ReportError, match="until"):
            compliance_report(session, since=bj("2024-01-05"), until=bj("2024-01-05"))
        with pytest.raises(ReportError, match="没有编号为 ruijin 的站点"):
            compliance_report(session, since=bj("2024-01-05"), site="ruijin")


def test_export_row_follows_the_documented_columns(report_db: Database) -> None:
    with report_db.session() as session:
        reports = compliance_report(session, since=bj("2024-01-05"), until=bj("2024-01-08"))
    rows = [r.as_row() for r in reports]
    assert all(list(row) == list(REPORT_COLUMNS) for row in rows)
    xingguo = _by_site(reports)["xingguo"].as_row()
    assert xingguo["on_time_rate"] == 0.6667 and xingguo["latency_p90_hours"] == 14.0
    assert _by_site(reports)["nanchang"].as_row()["on_time_rate"] is None
    assert rows[-1]["site_id"] == ""


@pytest.mark.parametrize(
    ("values", "percent", "expected"),
    [
        ([5.0], 90, 5.0),
        ([float(v) for v in range(1, 11)], 90, 9.0),  # rank 9 of 10
        ([float(v) for v in range(10, 0, -1)], 90, 9.0),  # order does not matter
        ([float(v) for v in range(1, 12)], 90, 10.0),  # ceil(9.9) = 10
        ([float(v) for v in range(1, 21)], 90, 18.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.0),
        ([1.0, 2.0, 3.0, 4.0], 100, 4.0),
        ([1.0, 2.0, 3.0, 4.0], 1, 1.0),
    ],
    ids=["one", "ten", "unsorted", "eleven", "twenty", "p50-even", "p100", "p1"],
)
def test_p90_is_the_nearest_rank(values: list[float], percent: int, expected: float) -> None:
    assert percentile_nearest_rank(values, percent) == expected


@pytest.mark.parametrize(("values", "percent"), [([], 90), ([1.0], 0), ([1.0], 101)])
def test_percentile_refuses_nonsense(values: list[float], percent: int) -> None:
    with pytest.raises(ValueError):
        percentile_nearest_rank(values, percent)


# -- one obligation in full -------------------------------------------------------------------


def test_detail_has_evidence_history_and_notices(sqlite_db: Database) -> None:
    start = bj("2024-01-05T09:00")
    with sqlite_db.begin() as session:
        add_sites(session)
        item = _item(session, start)
        entry = add_entry(session, "xingguo", "转发：" + item.title, start + timedelta(hours=2))
        done = add_obligation(session, item, "xingguo", S.REPOSTED, latency_hours=2, entry=entry).id
        other = add_obligation(session, _item(session, start), "xingguo", S.OVERDUE).id
        audit.append(
            session,
            at=start + timedelta(hours=2, minutes=15),
            actor="system:compliance",
            action="obligation.state",
            subject=f"obligation:{done}",
            data={"from": "pending", "to": "reposted"},
        )
        raise_notice(
            session,
            key=f"obligation:{other}:breach",
            kind=NoticeKind.BREACH,
            now=start + timedelta(hours=12),
            title="兴国县逾期未转载",
            body="…",
            site_id="xingguo",
            obligation_id=other,
        )
    waive_obligation(
        sqlite_db, other, reason="网站改版期间", by="staff:张三", now=start + timedelta(days=1)
    )

    with sqlite_db.session() as session:
        assert obligation_detail(session, 999) is None
        detail = obligation_detail(session, done)
        assert detail is not None
        assert (
            detail.entry is not None and detail.entry.url and detail.entry.title.startswith("转发")
        )
        assert detail.item.title == item.title and detail.site.name == "兴国县人民政府"
        assert detail.obligation.latency_seconds == 7200
        assert [(h.action, h.data["to"]) for h in detail.history] == [
            ("obligation.state", "reposted")
        ]
        assert detail.notices == []

        waived = obligation_detail(session, other)
        assert waived is not None and waived.entry is None
        assert waived.obligation.state is S.WAIVED
        assert [h.action for h in waived.history] == ["obligation.waived"]
        assert waived.history[0].data["reason"] == "网站改版期间"
        assert [n.kind for n in waived.notices] == [NoticeKind.BREACH]

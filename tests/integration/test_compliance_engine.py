"""The compliance tick over real storage (SQLite and PostgreSQL) and real time arithmetic.

Polls are simulated by writing what the poller writes (items, entries, fetch attempts, source
check times); the clock is whatever each tick is given — no sleeps. Times are written in
Beijing time, as staff read them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from syndicator import audit
from syndicator.compliance.actions import set_item_key, waive_obligation
from syndicator.compliance.engine import ComplianceEngine, format_span
from syndicator.db import Database
from syndicator.db.models import (
    AuditEntry,
    Entry,
    FetchAttempt,
    FetchStatus,
    Item,
    Notice,
    NoticeKind,
    Obligation,
    ObligationState,
    Precision,
    Source,
    SourceHealth,
)
from syndicator.rules import load_profile
from syndicator.sources.config import load_sources
from syndicator.sources.registry import sync_sources

pytestmark = pytest.mark.integration

SH = ZoneInfo("Asia/Shanghai")

SOURCES = """
[[site]]
id = "gov-cn"
name = "中国政府网"
level = "national"

[[site]]
id = "jiangxi"
name = "江西省人民政府"
level = "province"
parent = "gov-cn"

[[site]]
id = "jiangxi-drc"
name = "江西省发展和改革委员会"
level = "department"
parent = "jiangxi"
repost = false

[[site]]
id = "ganzhou"
name = "赣州市人民政府"
level = "city"
parent = "jiangxi"

[[site]]
id = "ruijin"
name = "瑞金市人民政府"
level = "county"
parent = "ganzhou"

[[site]]
id = "xinfeng"
name = "信丰县人民政府"
level = "county"
parent = "ganzhou"

[[source]]
id = "govcn-zuixin"
site = "gov-cn"
name = "最新政策"
role = "upstream"
kind = "rss"
url = "http://127.0.0.1:9/govcn.xml"
key = true

[[source]]
id = "jx-szfwj"
site = "jiangxi"
name = "省政府文件"
role = "upstream"
kind = "rss"
url = "http://127.0.0.1:9/jx.xml"

[[source]]
id = "jx-zcwj"
site = "jiangxi"
name = "政策文件"
role = "downstream"
kind = "rss"
url = "http://127.0.0.1:9/jx-zcwj.xml"
column = "policy"
interval = "30m"

[[source]]
id = "drc-zcwj"
site = "jiangxi-drc"
name = "政策文件"
role = "downstream"
kind = "rss"
url = "http://127.0.0.1:9/drc.xml"
column = "policy"

[[source]]
id = "gz-tzgg"
site = "ganzhou"
name = "通知公告"
role = "downstream"
kind = "rss"
url = "http://127.0.0.1:9/gz.xml"
column = "notice"
interval = "30m"

[[source]]
id = "rj-zcwj"
site = "ruijin"
name = "政策文件"
role = "downstream"
kind = "rss"
url = "http://127.0.0.1:9/rj-zcwj.xml"
column = "policy"
interval = "30m"

[[source]]
id = "rj-dt"
site = "ruijin"
name = "政务动态"
role = "downstream"
kind = "rss"
url = "http://127.0.0.1:9/rj-dt.xml"
column = "dynamic"
interval = "30m"
"""

# xinfeng has no column: nobody can check it, so it is obliged to nothing.
TITLE = "国务院办公厅关于进一步加强政务新媒体管理的通知"
DOC = "国办发〔2026〕41号"


def bj(text: str) -> datetime:
    """A Beijing wall-clock time, stored as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=SH).astimezone(UTC)


class Rig:
    def __init__(self, db: Database, tmp_path: Path, profile: str = "jiangxi") -> None:
        path = tmp_path / "sources.toml"
        path.write_text(SOURCES, encoding="utf-8")
        self.db = db
        sync_sources(db, load_sources(path), clock=_Fixed(bj("2026-12-01T00:00")))
        self.engine = ComplianceEngine(db, load_profile(profile))
        self._n = 0

    def _key(self) -> str:
        self._n += 1
        return f"k{self._n}"

    def publish(
        self,
        title: str = TITLE,
        at: str = "2026-12-02T10:00",
        *,
        source: str = "govcn-zuixin",
        precision: Precision = Precision.DATETIME,
        seen: str | None = None,
        key: bool = True,
        doc_no: str | None = DOC,
    ) -> int:
        return self._insert(
            Item,
            source,
            title,
            at,
            precision,
            seen or at,
            is_key=key,
            key_reason="测试" if key else None,
            doc_no=doc_no,
        )

    def list_entry(
        self,
        source: str,
        title: str,
        at: str | None,
        *,
        precision: Precision = Precision.DATETIME,
        seen: str | None = None,
    ) -> int:
        return self._insert(Entry, source, title, at, precision, seen or at or "")

    def _insert(
        self,
        model: type[Item] | type[Entry],
        source: str,
        title: str,
        at: str | None,
        precision: Precision,
        seen: str,
        **extra: Any,
    ) -> int:
        published = None
        if at is not None and precision is not Precision.NONE:
            published = bj(at[:10] + "T00:00") if precision is Precision.DATE else bj(at)
        with self.db.begin() as session:
            row = model(
                source_id=source,
                key=self._key(),
                title=title,
                url=f"http://127.0.0.1:9/{self._n}.html",
                published_at=published,
                published_precision=precision,
                first_seen_at=bj(seen),
                last_seen_at=bj(seen),
                content_hash="x",
                meta={},
                **extra,
            )
            session.add(row)
            session.flush()
            return row.id

    def checked(
        self, source: str, at: str, *, status: FetchStatus = FetchStatus.OK, health: str = "ok"
    ) -> None:
        """Record a poll of *source* at *at* the way the poller does."""
        when = bj(at)
        fine = status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED, FetchStatus.UNCHANGED)
        with self.db.begin() as session:
            session.add(
                FetchAttempt(
                    source_id=source,
                    started_at=when,
                    duration_ms=10.0,
                    status=status,
                    bytes=100,
                    entries_seen=1,
                    new_entries=0,
                )
            )
            row = session.get(Source, source)
            assert row is not None
            row.last_checked_at = when
            row.next_check_at = when + timedelta(minutes=30)
            if fine:
                row.last_success_at = when
            if row.health.value != health:
                row.health, row.health_since = SourceHealth(health), when
                row.health_reason = None if health == "ok" else "连续 3 次超时"

    def check_all(self, at: str) -> None:
        for source in ("jx-zcwj", "gz-tzgg", "rj-zcwj", "rj-dt", "drc-zcwj"):
            self.checked(source, at)

    def tick(self, at: str) -> Any:
        return self.engine.tick(bj(at))

    def obligations(self) -> dict[str, Obligation]:
        with self.db.session() as session:
            return {o.site_id: o for o in session.scalars(select(Obligation))}

    def notices(self, kind: NoticeKind | None = None) -> list[Notice]:
        with self.db.session() as session:
            query = select(Notice).order_by(Notice.id)
            if kind is not None:
                query = query.where(Notice.kind == kind)
            return list(session.scalars(query))


class _Fixed:
    def __init__(self, at: datetime) -> None:
        self._at = at

    def now(self) -> datetime:
        return self._at


@pytest.fixture
def rig(db: Database, tmp_path: Path) -> Rig:
    return Rig(db, tmp_path)


def test_key_item_obliges_every_checkable_site_below_it(rig: Rig) -> None:
    item = rig.publish()
    provincial = rig.publish(
        "江西省人民政府关于进一步优化营商环境的若干意见",
        "2026-12-02T11:00",
        source="jx-szfwj",
        doc_no="赣府发〔2026〕3号",
    )
    rig.publish("国务院关于公布一批公示名单的通知", key=False, doc_no=None)
    report = rig.tick("2026-12-02T10:05")

    with rig.db.session() as session:
        pairs = sorted((o.item_id, o.site_id) for o in session.scalars(select(Obligation)))
        due = session.scalar(select(Obligation.due_at).where(Obligation.item_id == item))
    # 中国政府网's item: the province, the city and the county (not the exempt department, not
    # xinfeng, which has no column to check); the province's item: its city and county.
    assert pairs == [
        (item, "ganzhou"),
        (item, "jiangxi"),
        (item, "ruijin"),
        (provincial, "ganzhou"),
        (provincial, "ruijin"),
    ]
    assert report.opened == 5
    assert due == bj("2026-12-02T22:00")
    assert rig.tick("2026-12-02T10:06").opened == 0


def test_old_documents_on_a_first_poll_open_nothing(rig: Rig) -> None:
    rig.publish(at="2026-11-01T10:00", seen="2026-12-02T10:00")
    rig.tick("2026-12-02T10:01")
    assert rig.obligations() == {}


@pytest.mark.parametrize(
    ("listed", "state", "on_time"),
    [
        ("2026-12-02T13:00", ObligationState.REPOSTED, True),
        ("2026-12-02T22:00", ObligationState.REPOSTED, True),  # exactly 12 h: on time
        ("2026-12-02T22:01", ObligationState.REPOSTED_LATE, False),
    ],
    ids=["after-3h", "exactly-12h", "12h-1min"],
)
def test_a_repost_becomes_evidence_judged_against_the_deadline(
    rig: Rig, listed: str, state: ObligationState, on_time: bool
) -> None:
    rig.publish()
    rig.tick("2026-12-02T10:01")
    entry = rig.list_entry("rj-zcwj", f"【转载】{TITLE}", listed)
    rig.tick(listed)

    ruijin = rig.obligations()["ruijin"]
    assert (ruijin.state, ruijin.on_time, ruijin.entry_id) == (state, on_time, entry)
    expected = (bj(listed) - bj("2026-12-02T10:00")).total_seconds()
    assert ruijin.latency_seconds == expected
    assert rig.obligations()["ganzhou"].state is ObligationState.PENDING
    with rig.db.session() as session:
        transitions = session.scalars(
            select(AuditEntry.data).where(AuditEntry.subject == f"obligation:{ruijin.id}")
        ).all()
        assert audit.verify(session)[1] is None
    assert transitions == [{"from": "pending", "to": state.value, "entry_id": entry}]


def test_forwarding_notice_counts_news_and_interpretations_do_not(rig: Rig) -> None:
    rig.publish()
    rig.tick("2026-12-02T10:01")
    rig.list_entry(
        "gz-tzgg", "国务院办公厅印发《关于进一步加强政务新媒体管理的通知》", "2026-12-02T11:00"
    )
    rig.list_entry("rj-zcwj", "一图读懂：关于进一步加强政务新媒体管理的通知", "2026-12-02T11:00")
    rig.list_entry("jx-zcwj", f"江西省人民政府办公厅关于转发《{TITLE}》的通知", "2026-12-02T12:00")
    rig.tick("2026-12-02T12:01")
    states = {site: o.state for site, o in rig.obligations().items()}
    assert states == {
        "jiangxi": ObligationState.REPOSTED,
        "ganzhou": ObligationState.PENDING,
        "ruijin": ObligationState.PENDING,
    }


def test_repost_seen_before_the_original_is_found_when_the_item_opens(rig: Rig) -> None:
    rig.list_entry("rj-zcwj", TITLE, "2026-12-02T10:30")
    rig.tick("2026-12-02T10:31")  # nothing to match it against yet
    rig.publish(seen="2026-12-02T11:00")
    rig.tick("2026-12-02T11:01")
    assert rig.obligations()["ruijin"].state is ObligationState.REPOSTED


def test_ladder_reminds_then_warns_once_each(rig: Rig) -> None:
    rig.publish()
    for at in ("2026-12-02T10:01", "2026-12-02T15:59"):
        rig.tick(at)
    assert rig.notices() == []
    rig.tick("2026-12-02T16:00")  # 50 % of 12 h
    rig.tick("2026-12-02T16:30")
    reminds = rig.notices(NoticeKind.REMIND)
    assert len(reminds) == 3  # one per obligated site
    ruijin = next(n for n in reminds if n.site_id == "ruijin")
    assert ruijin.title == f"转载提醒：《{TITLE}》剩余 6小时"
    assert "2026-12-02 22:00" in ruijin.body and "剩余 6小时" in ruijin.body
    assert DOC in ruijin.body
    rig.tick("2026-12-02T19:36")  # 80 %
    rig.tick("2026-12-02T19:40")
    assert len(rig.notices(NoticeKind.WARN)) == 3
    assert len(rig.notices()) == 6


def test_a_late_start_sends_only_the_highest_step_crossed(rig: Rig) -> None:
    rig.publish()
    rig.tick("2026-12-02T20:00")
    assert {n.kind for n in rig.notices()} == {NoticeKind.WARN}


def test_breach_waits_for_a_check_after_the_deadline(rig: Rig) -> None:
    rig.publish()
    rig.tick("2026-12-02T10:01")
    rig.check_all("2026-12-02T21:50")
    report = rig.tick("2026-12-02T22:00")
    # Not checked since the deadline: no verdict yet, but the columns are polled at once.
    assert rig.obligations()["ruijin"].state is ObligationState.PENDING
    assert report.checks_requested == 4
    with rig.db.session() as session:
        next_check = session.scalar(select(Source.next_check_at).where(Source.id == "rj-zcwj"))
    assert next_check == bj("2026-12-02T22:00")

    rig.check_all("2026-12-02T22:01")
    rig.tick("2026-12-02T22:02")
    assert {o.state for o in rig.obligations().values()} == {ObligationState.OVERDUE}
    breaches = rig.notices(NoticeKind.BREACH)
    assert len(breaches) == 3
    assert "已逾期 2分" in next(n for n in breaches if n.site_id == "ruijin").body

    # Reposted the next morning: late, and no second alert.
    rig.list_entry("rj-zcwj", TITLE, "2026-12-03T09:00")
    rig.tick("2026-12-03T09:01")
    ruijin = rig.obligations()["ruijin"]
    assert (ruijin.state, ruijin.on_time) == (ObligationState.REPOSTED_LATE, False)
    assert len(rig.notices(NoticeKind.BREACH)) == 3


def test_one_unchecked_column_keeps_the_verdict_open(rig: Rig) -> None:
    rig.publish()
    rig.tick("2026-12-02T10:01")
    for column in ("jx-zcwj", "gz-tzgg", "rj-zcwj"):
        rig.checked(column, "2026-12-02T22:01")
    rig.checked("rj-dt", "2026-12-02T22:01", status=FetchStatus.TIMEOUT, health="unreachable")
    report = rig.tick("2026-12-02T22:02")
    assert rig.obligations()["ruijin"].state is ObligationState.PENDING
    assert report.checks_requested == 0  # it failed its early poll: its own backoff applies
    assert rig.obligations()["ganzhou"].state is ObligationState.OVERDUE

    # Past the grace (2 × the 30 min interval) it is unknown: neither compliant nor in breach.
    rig.tick("2026-12-02T23:00")
    ruijin = rig.obligations()["ruijin"]
    assert ruijin.state is ObligationState.UNKNOWN
    assert ruijin.note is not None and "政务动态（无法访问：连续 3 次超时）" in ruijin.note
    assert [n.site_id for n in rig.notices(NoticeKind.UNKNOWN)] == ["ruijin"]
    unchecked = rig.notices(NoticeKind.UNCHECKED)
    assert [n.source_id for n in unchecked] == ["rj-dt"]
    assert "不会被判定为合规或违规" in unchecked[0].body

    # The column recovers and shows no repost: now it is a breach.
    rig.checked("rj-dt", "2026-12-03T08:00")
    rig.checked("rj-zcwj", "2026-12-03T08:00")
    rig.tick("2026-12-03T08:01")
    assert rig.obligations()["ruijin"].state is ObligationState.OVERDUE
    assert [n.site_id for n in rig.notices(NoticeKind.BREACH) if n.site_id == "ruijin"] == [
        "ruijin"
    ]
    assert len(rig.notices(NoticeKind.UNCHECKED)) == 1


def test_date_only_repost_straddling_the_deadline_is_undecidable(rig: Rig) -> None:
    rig.publish()  # 10:00, due 22:00
    rig.check_all("2026-12-02T10:00")
    rig.tick("2026-12-02T10:01")
    # The county list shows only the day; it was first seen the next morning: it may have
    # been listed at 11:00 or at 23:00.
    rig.list_entry(
        "rj-zcwj", TITLE, "2026-12-02", precision=Precision.DATE, seen="2026-12-03T09:00"
    )
    rig.tick("2026-12-03T09:01")
    ruijin = rig.obligations()["ruijin"]
    assert (ruijin.state, ruijin.on_time) == (ObligationState.UNKNOWN, None)
    assert ruijin.note is not None and "无法判定是否按时" in ruijin.note
    assert ruijin.latency_seconds is None


def test_date_only_repost_seen_before_the_deadline_is_on_time(rig: Rig) -> None:
    rig.publish()
    rig.tick("2026-12-02T10:01")
    rig.list_entry(
        "gz-tzgg", TITLE, "2026-12-02", precision=Precision.DATE, seen="2026-12-02T21:00"
    )
    rig.tick("2026-12-02T21:01")
    ganzhou = rig.obligations()["ganzhou"]
    assert (ganzhou.state, ganzhou.on_time) == (ObligationState.REPOSTED, True)


def test_untimed_repost_bounded_by_the_previous_check(rig: Rig) -> None:
    rig.publish()
    rig.tick("2026-12-02T10:01")
    # The list shows no times; the column was checked at 22:30 without it, so the repost came
    # after the deadline even though nobody saw its time.
    rig.checked("rj-zcwj", "2026-12-02T22:30")
    rig.list_entry("rj-zcwj", TITLE, None, precision=Precision.NONE, seen="2026-12-02T23:00")
    rig.tick("2026-12-02T23:01")
    assert rig.obligations()["ruijin"].state is ObligationState.REPOSTED_LATE


def test_date_only_item_window_runs_from_its_first_sighting(rig: Rig) -> None:
    rig.publish(at="2026-12-02", precision=Precision.DATE, seen="2026-12-02T15:00")
    rig.tick("2026-12-02T15:01")
    ruijin = rig.obligations()["ruijin"]
    assert ruijin.window_basis.value == "published_date"
    assert ruijin.window_start == bj("2026-12-02T00:00")
    assert ruijin.due_at == bj("2026-12-03T03:00")  # no site is told it is late too early


def test_year_end_deadline_and_ladder_cross_midnight(rig: Rig) -> None:
    rig.publish(at="2026-12-31T18:00")
    rig.tick("2026-12-31T18:01")
    assert rig.obligations()["ruijin"].due_at == bj("2027-01-01T06:00")
    rig.tick("2026-12-31T23:59")
    assert rig.notices() == []
    rig.tick("2027-01-01T00:00")  # 50 %
    assert len(rig.notices(NoticeKind.REMIND)) == 3
    rig.check_all("2027-01-01T06:00")
    rig.tick("2027-01-01T06:00")
    assert {o.state for o in rig.obligations().values()} == {ObligationState.OVERDUE}


def test_profile_deadline_is_configuration(db: Database, tmp_path: Path) -> None:
    rig = Rig(db, tmp_path, profile="fujian")
    rig.publish()
    rig.tick("2026-12-02T10:01")
    assert rig.obligations()["ruijin"].due_at == bj("2026-12-02T18:00")
    custom = tmp_path / "ganzhou.toml"
    custom.write_text(
        'name = "ganzhou"\n[repost]\ndeadline = "6h"\n'
        '[[repost.ladder]]\nat = 1.0\nlevel = "breach"\n'
        '[obligations]\nlevels = ["county"]\n',
        encoding="utf-8",
    )
    rig.engine = ComplianceEngine(db, load_profile(custom))
    other = rig.publish("国务院关于促进服务消费高质量发展的意见", doc_no="国发〔2026〕18号")
    rig.tick("2026-12-02T10:02")
    with db.session() as session:
        rows = session.execute(
            select(Obligation.site_id, Obligation.due_at).where(Obligation.item_id == other)
        ).all()
    assert rows == [("ruijin", bj("2026-12-02T16:00"))]


def test_daily_digest_lists_open_breaches_once_a_day(rig: Rig) -> None:
    rig.publish(at="2026-12-01T10:00")
    rig.tick("2026-12-01T10:01")
    rig.check_all("2026-12-01T22:05")
    rig.tick("2026-12-01T22:06")
    rig.tick("2026-12-02T08:59")
    assert rig.notices(NoticeKind.DIGEST) == []
    rig.tick("2026-12-02T09:00")
    rig.tick("2026-12-02T09:10")
    digests = rig.notices(NoticeKind.DIGEST)
    assert len(digests) == 1
    assert digests[0].title == "转载超时每日汇总（2026-12-02）：3 个站点 3 项"
    assert "瑞金市人民政府（1 项）" in digests[0].body and "已逾期 11小时" in digests[0].body
    rig.tick("2026-12-03T09:00")
    assert len(rig.notices(NoticeKind.DIGEST)) == 2


def test_not_key_waives_and_key_again_restores(rig: Rig) -> None:
    item = rig.publish()
    rig.tick("2026-12-02T10:01")
    now = bj("2026-12-02T11:00")
    change = set_item_key(rig.db, item, is_key=False, reason="内部文件", by="staff:li", now=now)
    assert change.waived == 3
    assert {o.state for o in rig.obligations().values()} == {ObligationState.WAIVED}
    rig.tick("2026-12-02T16:00")
    assert rig.notices() == []  # nothing reminds about a waived obligation

    set_item_key(rig.db, item, is_key=True, reason="误判", by="staff:li", now=now)
    rig.tick("2026-12-02T16:01")
    assert {o.state for o in rig.obligations().values()} == {ObligationState.PENDING}
    assert len(rig.notices(NoticeKind.REMIND)) == 3


def test_waive_one_obligation(rig: Rig) -> None:
    rig.publish()
    rig.tick("2026-12-02T10:01")
    ruijin = rig.obligations()["ruijin"]
    done = waive_obligation(
        rig.db, ruijin.id, reason="网站迁移中", by="staff:wang", now=bj("2026-12-02T12:00")
    )
    assert done.previous is ObligationState.PENDING
    rig.check_all("2026-12-02T22:01")
    rig.tick("2026-12-02T22:02")
    after = rig.obligations()
    assert after["ruijin"].state is ObligationState.WAIVED
    assert after["ruijin"].waived_by == "staff:wang"
    assert after["ganzhou"].state is ObligationState.OVERDUE
    assert "ruijin" not in {n.site_id for n in rig.notices(NoticeKind.BREACH)}


def test_ticks_twice_at_the_same_moment_raise_each_notice_once(rig: Rig) -> None:
    rig.publish()
    other = ComplianceEngine(rig.db, load_profile("jiangxi"))
    for engine in (rig.engine, other):
        engine.tick(bj("2026-12-02T10:01"))
        engine.tick(bj("2026-12-02T20:00"))
    with rig.db.session() as session:
        count = session.scalar(select(func.count()).select_from(Notice))
        keys = session.scalars(select(Notice.dedup_key)).all()
    assert count == 3 and len(set(keys)) == 3


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(minutes=5), "5分"),
        (timedelta(hours=6), "6小时"),
        (timedelta(hours=3, minutes=20), "3小时20分"),
        (timedelta(days=1, hours=2, minutes=5), "1天2小时"),
        (timedelta(days=2), "2天"),
        (-timedelta(hours=1), "1小时"),
    ],
)
def test_format_span(span: timedelta, text: str) -> None:
    assert format_span(span) == text

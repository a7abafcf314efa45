"""The compliance tick: open obligations, attach reposts, judge deadlines, raise notices.

One :meth:`ComplianceEngine.tick` (the beat task every minute in distributed mode, the embedded
runner's loop otherwise) does, in order:

1. **open** — every key item not yet handled opens one :class:`Obligation` per obligated site:
   a site of one of the profile's ``[obligations] levels``, below the item's site in the
   hierarchy, not switched off (``repost = false``), with at least one active downstream column.
   The window comes from :func:`syndicator.rules.deadlines.repost_window`. Entries those sites
   listed recently are queued to be matched again, so a repost seen *before* its original
   (an upstream portal polled later than a county site) still counts.
2. **match** — every entry not yet matched is compared with the open key items
   (:class:`~syndicator.text.match.Matcher`); a repost by an obligated site becomes the
   obligation's evidence, and its timing decides ``reposted`` / ``reposted_late`` / ``unknown``.
3. **evaluate** — pending obligations climb the profile's ladder (remind, warn) and, past the
   deadline, become ``overdue`` only once *every* active column of the site was checked after
   the deadline (the tick asks for that check at once); a site whose columns cannot be checked
   within the grace period is ``unknown``, never compliant or non-compliant.
4. **notices** — ladder steps, breaches and unknowns (once per obligation and level), sources
   that cannot be checked (once per health episode), the daily digest of open breaches, column
   freshness (:mod:`syndicator.compliance.freshness`).

Every state change is an audit entry. The database is the source of truth: a tick may be lost
or run twice (notices are unique by key); on PostgreSQL an advisory lock lets one tick run at a
time across machines.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from syndicator import audit
from syndicator.clock import SHANGHAI, format_local
from syndicator.compliance.freshness import freshness_notices
from syndicator.compliance.notices import notice_exists, raise_notice
from syndicator.db.models import (
    OPEN_STATES,
    Entry,
    FetchAttempt,
    FetchStatus,
    Item,
    NoticeKind,
    Obligation,
    ObligationState,
    Site,
    Source,
    SourceHealth,
    SourceRole,
)
from syndicator.db.session import Database
from syndicator.labels import BASIS_ZH, HEALTH_ZH
from syndicator.rules.deadlines import Moment, crossed_steps, observed_moment, repost_window
from syndicator.rules.profiles import Profile
from syndicator.text.match import Matcher

__all__ = ["ComplianceEngine", "TickReport", "format_span"]

log = logging.getLogger(__name__)

ACTOR = "system:compliance"
_FINE = (FetchStatus.OK, FetchStatus.NOT_MODIFIED, FetchStatus.UNCHANGED)
_CANNOT_CHECK = (SourceHealth.BROKEN, SourceHealth.UNREACHABLE)
# Entries listed this long before an item's window are matched again when it opens (clock skew,
# a county site faster than syndicator's poll of the upstream portal).
_REMATCH_SLACK = timedelta(days=1)
# Items stay in the matcher this long after their window opened, open obligations or not, so a
# repost of a satisfied item is not mistaken for a near-identical open one.
_MATCHER_KEEP = timedelta(days=14)
_MIN_GRACE = timedelta(minutes=10)
_MAX_GRACE = timedelta(hours=6)
_PG_TICK_LOCK = 0x5E1D_C0DE
_DIGEST_WINDOW = timedelta(hours=3)
_FRESHNESS_EVERY = timedelta(minutes=10)


def format_span(delta: timedelta) -> str:
    """A duration the way staff read it: ``3天2小时``, ``5小时20分``, ``12分``."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{mins}分" if mins else f"{hours}小时"
    return f"{mins}分"


@dataclass
class TickReport:
    """What one tick did (for logs, the task result and the demo)."""

    skipped: bool = False
    opened: int = 0
    entries_matched: int = 0
    reposts: int = 0
    transitions: Counter[str] = field(default_factory=Counter)
    notices: int = 0
    checks_requested: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "skipped": self.skipped,
            "opened": self.opened,
            "entries_matched": self.entries_matched,
            "reposts": self.reposts,
            "transitions": dict(self.transitions),
            "notices": self.notices,
            "checks_requested": self.checks_requested,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True, slots=True)
class _Site:
    id: str
    name: str
    level: str
    parent_id: str | None
    repost: bool


@dataclass(frozen=True, slots=True)
class _Source:
    id: str
    site_id: str
    name: str
    role: SourceRole
    active: bool
    interval_seconds: int
    health: SourceHealth
    health_reason: str | None
    health_since: datetime | None
    last_success_at: datetime | None
    last_checked_at: datetime | None
    next_check_at: datetime | None
    claimed_until: datetime | None


class _World:
    """Sites and sources as one tick sees them (a few thousand rows, read once)."""

    def __init__(self, session: Session) -> None:
        self.sites = {
            row.id: _Site(row.id, row.name, row.level, row.parent_id, row.repost)
            for row in session.execute(
                select(Site.id, Site.name, Site.level, Site.parent_id, Site.repost)
            )
        }
        self.sources: dict[str, _Source] = {}
        self.columns: dict[str, list[_Source]] = defaultdict(list)
        for row in session.execute(
            select(
                Source.id,
                Source.site_id,
                Source.name,
                Source.role,
                Source.active,
                Source.interval_seconds,
                Source.health,
                Source.health_reason,
                Source.health_since,
                Source.last_success_at,
                Source.last_checked_at,
                Source.next_check_at,
                Source.claimed_until,
            )
        ):
            source = _Source(**row._asdict())
            self.sources[source.id] = source
            if source.role is SourceRole.DOWNSTREAM and source.active:
                self.columns[source.site_id].append(source)

    def ancestors(self, site_id: str) -> list[str]:
        chain: list[str] = []
        current = self.sites.get(site_id)
        while current is not None and current.parent_id and current.parent_id not in chain:
            chain.append(current.parent_id)
            current = self.sites.get(current.parent_id)
        return chain

    def obligated_sites(self, upstream_site: str, levels: tuple[str, ...]) -> list[str]:
        return sorted(
            site.id
            for site in self.sites.values()
            if site.repost
            and site.level in levels
            and self.columns.get(site.id)
            and upstream_site in self.ancestors(site.id)
        )

    def name(self, site_id: str | None) -> str:
        site = self.sites.get(site_id or "")
        return site.name if site else (site_id or "")

    def grace(self, site_id: str) -> timedelta:
        """How long past a deadline to wait for the check that confirms it."""
        intervals = [s.interval_seconds for s in self.columns.get(site_id, ())]
        grace = timedelta(seconds=2 * max(intervals, default=0))
        return min(max(grace, _MIN_GRACE), _MAX_GRACE)


def _insert_ignore(
    session: Session, model: Any, rows: list[dict[str, Any]], keys: list[str]
) -> None:
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        session.execute(pg_insert(model).on_conflict_do_nothing(index_elements=keys), rows)
    else:
        session.execute(sqlite_insert(model).on_conflict_do_nothing(index_elements=keys), rows)


class ComplianceEngine:
    """Runs the compliance tick; keeps the matcher of open key items between ticks.

    Args:
        db: the database.
        profile: the jurisdiction's rules (deadline, ladder, obligations, freshness).
        match_batch: entries matched per query.
        time_budget: seconds after which a tick stops matching and leaves the rest to the next.
    """

    def __init__(
        self,
        db: Database,
        profile: Profile,
        *,
        match_batch: int = 2000,
        time_budget: float = 30.0,
    ) -> None:
        self._db = db
        self._profile = profile
        self._deadline = profile.repost_deadline
        self._match_batch = match_batch
        self._time_budget = time_budget
        self._matcher = Matcher()
        self._indexed: dict[int, tuple[str, str | None, datetime]] = {}
        self._lock = threading.Lock()
        self._last_freshness: datetime | None = None

    @property
    def profile(self) -> Profile:
        return self._profile

    @contextmanager
    def _exclusive(self) -> Iterator[bool]:
        with self._lock:
            if self._db.dialect != "postgresql":
                yield True  # one process owns an embedded database
                return
            with self._db.engine.connect() as conn:
                got = bool(
                    conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": _PG_TICK_LOCK})
                )
                conn.commit()
                try:
                    yield got
                finally:
                    if got:
                        conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _PG_TICK_LOCK})
                        conn.commit()

    def tick(self, now: datetime) -> TickReport:
        """Run one tick as of *now* (UTC-aware); safe to run concurrently (one proceeds)."""
        started = time.perf_counter()
        report = TickReport()
        with self._exclusive() as got:
            if not got:
                report.skipped = True
                return report
            with self._db.session() as session:
                world = _World(session)
            self._open(now, world, report)
            self._sync_matcher(now)
            unmatched_sites = self._match(now, world, report, started)
            self._evaluate(now, world, report, unmatched_sites)
            self._source_notices(now, world, report)
            self._digest(now, world, report)
            if self._last_freshness is None or now - self._last_freshness >= _FRESHNESS_EVERY:
                # Limits are days long; reading every column's newest entry each minute is not
                # needed (≈ 0.5 s for 3,000 columns).
                with self._db.begin() as session:
                    report.notices += freshness_notices(session, now, self._profile.freshness)
                self._last_freshness = now
        report.seconds = time.perf_counter() - started
        return report

    # -- 1. open -----------------------------------------------------------------------------

    def _open(self, now: datetime, world: _World, report: TickReport) -> None:
        rules = self._profile.obligations
        with self._db.begin() as session:
            items = session.execute(
                select(
                    Item.id,
                    Item.source_id,
                    Item.title,
                    Item.published_at,
                    Item.published_precision,
                    Item.first_seen_at,
                )
                .where(Item.is_key.is_(True), Item.obligations_at.is_(None))
                .order_by(Item.id)
                .limit(2000)
            ).all()
            if not items:
                return
            rows: list[dict[str, Any]] = []
            records: list[audit.Record] = []
            rematch: dict[str, datetime] = {}
            for item_id, source_id, _title, published_at, precision, first_seen in items:
                source = world.sources.get(source_id)
                window = repost_window(published_at, precision, first_seen, self._deadline)
                if source is None or first_seen - window.published.latest > rules.lookback:
                    continue  # an old document on a list polled for the first time
                sites = world.obligated_sites(source.site_id, rules.levels)
                for site_id in sites:
                    rows.append(
                        {
                            "item_id": item_id,
                            "site_id": site_id,
                            "profile": self._profile.name,
                            "deadline_seconds": int(self._deadline.total_seconds()),
                            "opened_at": now,
                            "window_start": window.published.earliest,
                            "published_latest": window.published.latest,
                            "window_basis": window.basis,
                            "due_at": window.due_at,
                            "state": ObligationState.PENDING,
                            "state_since": now,
                        }
                    )
                    since = window.published.earliest - _REMATCH_SLACK
                    rematch[site_id] = min(rematch.get(site_id, since), since)
                if sites:
                    records.append(
                        audit.Record(
                            at=now,
                            actor=ACTOR,
                            action="obligations.opened",
                            subject=f"item:{item_id}",
                            data={
                                "sites": sites,
                                "due_at": window.due_at.isoformat(),
                                "basis": window.basis,
                                "profile": self._profile.name,
                            },
                        )
                    )
            _insert_ignore(session, Obligation, rows, ["item_id", "site_id"])
            session.execute(
                update(Item).where(Item.id.in_([i[0] for i in items])).values(obligations_at=now)
            )
            audit.append_many(session, records)
            report.opened += len(rows)
            # Entries the obligated sites listed around the new windows are matched again.
            evidence = select(Obligation.entry_id).where(Obligation.entry_id.is_not(None))
            for site_id, since in rematch.items():
                column_ids = [s.id for s in world.columns[site_id]]
                session.execute(
                    update(Entry)
                    .where(
                        Entry.source_id.in_(column_ids),
                        Entry.first_seen_at >= since,
                        Entry.matched_at.is_not(None),
                        Entry.id.not_in(evidence),
                    )
                    .values(matched_at=None)
                )

    # -- 2. match ----------------------------------------------------------------------------

    def _sync_matcher(self, now: datetime) -> None:
        with self._db.session() as session:
            rows = session.execute(
                select(Item.id, Item.title, Item.doc_no, func.min(Obligation.window_start))
                .join(Obligation, Obligation.item_id == Item.id)
                .where(
                    or_(
                        and_(Obligation.state.in_(OPEN_STATES), Obligation.entry_id.is_(None)),
                        Obligation.window_start >= now - _MATCHER_KEEP,
                    )
                )
                .group_by(Item.id, Item.title, Item.doc_no)
            ).all()
        wanted = {row[0]: (row[1], row[2], row[3]) for row in rows}
        for item_id in set(self._indexed) - set(wanted):
            self._matcher.remove(str(item_id))
            del self._indexed[item_id]
        for item_id, (title, doc_no, start) in wanted.items():
            if self._indexed.get(item_id) != (title, doc_no, start):
                self._matcher.add(str(item_id), title, doc_no, published=start)
                self._indexed[item_id] = (title, doc_no, start)

    def _match(self, now: datetime, world: _World, report: TickReport, started: float) -> set[str]:
        """Match unmatched entries; return the sites that still have some (time ran out)."""
        while True:
            with self._db.begin() as session:
                batch = session.execute(
                    select(
                        Entry.id,
                        Entry.source_id,
                        Entry.title,
                        Entry.published_at,
                        Entry.published_precision,
                        Entry.first_seen_at,
                    )
                    .where(Entry.matched_at.is_(None))
                    .order_by(Entry.id)
                    .limit(self._match_batch)
                ).all()
                if not batch:
                    return set()
                found: list[tuple[int, str, int, float, str, Moment]] = []
                if len(self._matcher):
                    for entry_id, source_id, title, published, precision, first_seen in batch:
                        source = world.sources.get(source_id)
                        if source is None:
                            continue
                        seen = observed_moment(published, precision, first_seen)
                        match = self._matcher.match(title, at=seen.latest)
                        if match is not None and match.relation == "repost":
                            found.append(
                                (
                                    entry_id,
                                    source.site_id,
                                    int(match.upstream_id),
                                    match.score,
                                    match.reason,
                                    seen,
                                )
                            )
                self._attach(session, now, found, report)
                session.execute(
                    update(Entry).where(Entry.id.in_([b[0] for b in batch])).values(matched_at=now)
                )
                report.entries_matched += len(batch)
            if time.perf_counter() - started > self._time_budget:
                with self._db.session() as session:
                    left = session.scalars(
                        select(Source.site_id)
                        .join(Entry, Entry.source_id == Source.id)
                        .where(Entry.matched_at.is_(None))
                        .distinct()
                    )
                    return set(left)

    def _attach(
        self,
        session: Session,
        now: datetime,
        found: list[tuple[int, str, int, float, str, Moment]],
        report: TickReport,
    ) -> None:
        if not found:
            return
        wanted = {(item_id, site_id) for _, site_id, item_id, *_ in found}
        open_rows = {
            (o.item_id, o.site_id): o
            for o in session.scalars(
                select(Obligation).where(
                    Obligation.item_id.in_({item for item, _ in wanted}),
                    Obligation.state.in_(OPEN_STATES),
                    Obligation.entry_id.is_(None),
                )
            )
            if (o.item_id, o.site_id) in wanted
        }
        records: list[audit.Record] = []
        # The earliest repost is the evidence when a site reposted an item in several columns.
        for entry_id, site_id, item_id, score, reason, seen in sorted(
            found, key=lambda f: f[5].earliest
        ):
            obligation = open_rows.pop((item_id, site_id), None)
            if obligation is None:
                continue
            if seen.latest < obligation.window_start:
                open_rows[(item_id, site_id)] = obligation
                continue  # listed before the original existed: not a repost of it
            entry = session.get(Entry, entry_id)
            assert entry is not None
            not_before = self._last_check_before(session, entry.source_id, entry.first_seen_at)
            moment = observed_moment(
                entry.published_at,
                entry.published_precision,
                entry.first_seen_at,
                not_before=max(filter(None, (not_before, obligation.window_start))),
            )
            previous = obligation.state
            self._record_repost(obligation, entry_id, moment, score, reason, now)
            report.reposts += 1
            report.transitions[obligation.state.value] += 1
            records.append(self._transition_record(obligation, previous, now))
        audit.append_many(session, records)

    @staticmethod
    def _last_check_before(session: Session, source_id: str, at: datetime) -> datetime | None:
        """The last successful check of a column that did not list an entry seen at *at*."""
        return session.scalar(
            select(func.max(FetchAttempt.started_at)).where(
                FetchAttempt.source_id == source_id,
                FetchAttempt.status.in_(_FINE),
                FetchAttempt.started_at < at,
            )
        )

    def _record_repost(
        self,
        obligation: Obligation,
        entry_id: int,
        moment: Moment,
        score: float,
        reason: str,
        now: datetime,
    ) -> None:
        due = obligation.due_at
        obligation.entry_id = entry_id
        obligation.reposted_earliest, obligation.reposted_latest = moment.earliest, moment.latest
        obligation.match_score, obligation.match_reason = score, reason
        if moment.is_exact and obligation.window_start == obligation.published_latest:
            obligation.latency_seconds = (moment.earliest - obligation.window_start).total_seconds()
        if moment.latest <= due:
            obligation.on_time, obligation.state, obligation.note = (
                True,
                ObligationState.REPOSTED,
                None,
            )
        elif moment.earliest > due:
            obligation.on_time = False
            obligation.state = ObligationState.REPOSTED_LATE
            obligation.note = None
        else:
            obligation.on_time = None
            obligation.state = ObligationState.UNKNOWN
            obligation.note = (
                f"已转载，但转载时间只能确定在 {format_local(moment.earliest)} 至 "
                f"{format_local(moment.latest)} 之间，跨越截止时间 {format_local(due)}，"
                "无法判定是否按时"
            )
        obligation.state_since = now

    @staticmethod
    def _transition_record(
        obligation: Obligation, previous: ObligationState, now: datetime
    ) -> audit.Record:
        data: dict[str, Any] = {"from": previous.value, "to": obligation.state.value}
        if obligation.entry_id is not None:
            data["entry_id"] = obligation.entry_id
        if obligation.note:
            data["note"] = obligation.note
        return audit.Record(
            at=now,
            actor=ACTOR,
            action="obligation.state",
            subject=f"obligation:{obligation.id}",
            data=data,
        )

    # -- 3. evaluate -------------------------------------------------------------------------

    def _evaluate(
        self, now: datetime, world: _World, report: TickReport, unmatched_sites: set[str]
    ) -> None:
        ladder = [s for s in self._profile.repost_ladder if s.level != "breach"]
        with self._db.begin() as session:
            rows = session.execute(
                select(Obligation, Item.title, Item.doc_no, Item.source_id)
                .join(Item, Item.id == Obligation.item_id)
                .where(
                    or_(
                        Obligation.state == ObligationState.PENDING,
                        and_(
                            Obligation.state == ObligationState.UNKNOWN,
                            Obligation.entry_id.is_(None),
                        ),
                    )
                )
                .order_by(Obligation.due_at)
            ).all()
            records: list[audit.Record] = []
            wanted_checks: set[str] = set()
            for obligation, title, doc_no, item_source in rows:
                about = _About(world, obligation, title, doc_no, item_source, self._profile)
                due = obligation.due_at
                if now < due:
                    opened = due - timedelta(seconds=obligation.deadline_seconds)
                    crossed = crossed_steps(opened, due, now, ladder)
                    if crossed:
                        level = crossed[-1].level
                        kind = NoticeKind.REMIND if level == "remind" else NoticeKind.WARN
                        report.notices += self._notice(session, now, about, kind)
                    continue
                if obligation.site_id in unmatched_sites:
                    continue  # entries still to match: a repost may be among them
                columns = world.columns.get(obligation.site_id, [])
                unchecked = [s for s in columns if not s.last_success_at or s.last_success_at < due]
                previous = obligation.state
                if not unchecked:
                    obligation.state, obligation.note = ObligationState.OVERDUE, None
                    obligation.state_since = now
                    report.notices += self._notice(session, now, about, NoticeKind.BREACH)
                elif previous is ObligationState.PENDING and now >= due + world.grace(
                    obligation.site_id
                ):
                    obligation.state = ObligationState.UNKNOWN
                    obligation.note = "截止后无法检查栏目：" + "；".join(
                        f"{s.name or s.id}（{HEALTH_ZH[s.health]}"
                        + (f"：{s.health_reason}" if s.health_reason else "")
                        + "）"
                        for s in unchecked
                    )
                    obligation.state_since = now
                    report.notices += self._notice(session, now, about, NoticeKind.UNKNOWN)
                else:
                    # One early poll per column; a column that failed it keeps its own backoff.
                    wanted_checks.update(
                        s.id for s in unchecked if not s.last_checked_at or s.last_checked_at < due
                    )
                if obligation.state is not previous:
                    report.transitions[obligation.state.value] += 1
                    records.append(self._transition_record(obligation, previous, now))
            audit.append_many(session, records)
            report.checks_requested += self._request_checks(session, now, world, wanted_checks)

    @staticmethod
    def _request_checks(session: Session, now: datetime, world: _World, ids: set[str]) -> int:
        """Bring forward the next poll of columns that must confirm a deadline."""
        due_now = [
            s.id
            for s in (world.sources[i] for i in sorted(ids))
            if s.next_check_at is not None
            and s.next_check_at > now
            and (s.claimed_until is None or s.claimed_until < now)
        ]
        if due_now:
            session.execute(update(Source).where(Source.id.in_(due_now)).values(next_check_at=now))
        return len(due_now)

    def _notice(self, session: Session, now: datetime, about: _About, kind: NoticeKind) -> int:
        title, body = about.text(kind, now)
        new = raise_notice(
            session,
            key=f"obligation:{about.obligation.id}:{kind.value}",
            kind=kind,
            now=now,
            title=title,
            body=body,
            site_id=about.obligation.site_id,
            obligation_id=about.obligation.id,
            data=about.data(),
        )
        return int(new is not None)

    # -- 4. other notices --------------------------------------------------------------------

    def _source_notices(self, now: datetime, world: _World, report: TickReport) -> None:
        with self._db.begin() as session:
            for source in world.sources.values():
                if not source.active or source.health not in _CANNOT_CHECK:
                    continue
                since = source.health_since or now
                key = f"source:{source.id}:{source.health.value}:{since.isoformat()}"
                if notice_exists(session, key):
                    continue
                column = source.name or source.id
                if source.role is SourceRole.UPSTREAM:
                    effect = (
                        "在恢复之前，该上级栏目新发布的重点政策无法发现，相应转载义务不会建立。"
                    )
                else:
                    effect = (
                        "在恢复之前，该站点的转载义务不会被判定为合规或违规（记为“无法判定”）。"
                    )
                new = raise_notice(
                    session,
                    key=key,
                    kind=NoticeKind.UNCHECKED,
                    now=now,
                    title=f"无法检查：{column}（{HEALTH_ZH[source.health]}）",
                    body=(
                        f"信息源 {source.id} 自 {format_local(since)} 起{HEALTH_ZH[source.health]}"
                        f"：{source.health_reason or '原因未知'}。{effect}"
                        "请核对栏目地址与选择器（syndicator sources list）。"
                    ),
                    site_id=source.site_id,
                    source_id=source.id,
                    data={"health": source.health.value, "reason": source.health_reason},
                )
                report.notices += int(new is not None)

    def _digest(self, now: datetime, world: _World, report: TickReport) -> None:
        local = now.astimezone(SHANGHAI)
        start = datetime.combine(local.date(), self._profile.obligations.digest_at, tzinfo=SHANGHAI)
        # Sent in the morning window only: a breach of the afternoon has had its own notice,
        # and tomorrow's digest lists it if it is still open.
        if not start <= local < start + _DIGEST_WINDOW:
            return
        key = f"digest:{local.date().isoformat()}"
        with self._db.begin() as session:
            if notice_exists(session, key):
                return
            overdue = session.execute(
                select(Obligation.id, Obligation.site_id, Obligation.due_at, Item.title)
                .join(Item, Item.id == Obligation.item_id)
                .where(Obligation.state == ObligationState.OVERDUE)
                .order_by(Obligation.site_id, Obligation.due_at)
            ).all()
            if not overdue:
                return
            unknown = session.scalar(
                select(func.count())
                .select_from(Obligation)
                .where(Obligation.state == ObligationState.UNKNOWN)
            )
            by_site: dict[str, list[str]] = defaultdict(list)
            for ob_id, site_id, due, title in overdue:
                late = format_span(now - due)
                by_site[site_id].append(f"  · [{ob_id}]《{title}》已逾期 {late}")
            lines = [
                f"{world.name(site)}（{len(items)} 项）：\n" + "\n".join(items)
                for site, items in by_site.items()
            ]
            body = "\n".join(lines)
            if unknown:
                body += f"\n另有 {unknown} 项因栏目无法检查或时间无法确定而无法判定。"
            new = raise_notice(
                session,
                key=key,
                kind=NoticeKind.DIGEST,
                now=now,
                title=(
                    f"转载超时每日汇总（{local:%Y-%m-%d}）：{len(by_site)} 个站点 {len(overdue)} 项"
                ),
                body=body,
                data={
                    "overdue": len(overdue),
                    "sites": {site: len(items) for site, items in by_site.items()},
                    "unknown": unknown,
                },
            )
            report.notices += int(new is not None)


class _About:
    """The words of an obligation's notices (zh-CN, times in Beijing time).

    Titles name the document, not the site: every target shows the site beside the title.
    """

    def __init__(
        self,
        world: _World,
        obligation: Obligation,
        title: str,
        doc_no: str | None,
        item_source: str,
        profile: Profile,
    ) -> None:
        self.obligation = obligation
        self.site = world.name(obligation.site_id)
        source = world.sources.get(item_source)
        self.upstream = world.name(source.site_id if source else None)
        self.title = title
        self.doc_no = doc_no
        self.profile = profile

    def data(self) -> dict[str, Any]:
        ob = self.obligation
        return {
            "item_id": ob.item_id,
            "item_title": self.title,
            "doc_no": self.doc_no,
            "site_name": self.site,
            "due_at": ob.due_at.astimezone(UTC).isoformat(),
            "basis": ob.window_basis.value,
            "state": ob.state.value,
        }

    def text(self, kind: NoticeKind, now: datetime) -> tuple[str, str]:
        ob = self.obligation
        doc = f"（{self.doc_no}）" if self.doc_no else ""
        hours = ob.deadline_seconds / 3600
        basis = "" if ob.window_basis.value == "published" else f"，{BASIS_ZH[ob.window_basis]}"
        facts = (
            f"《{self.title}》{doc}，{self.upstream}发布于 {format_local(ob.published_latest)}"
            f"{basis}；时限 {hours:g} 小时（{self.profile.title}），"
            f"截止 {format_local(ob.due_at)}。"
        )
        if kind is NoticeKind.REMIND:
            return (
                f"转载提醒：《{self.title}》剩余 {format_span(ob.due_at - now)}",
                f"请于 {format_local(ob.due_at)} 前转载，"
                f"剩余 {format_span(ob.due_at - now)}。{facts}",
            )
        if kind is NoticeKind.WARN:
            return (
                f"转载预警：《{self.title}》剩余 {format_span(ob.due_at - now)}",
                f"尚未发现转载，请尽快处理。{facts}",
            )
        if kind is NoticeKind.BREACH:
            return (
                f"超时未转载：《{self.title}》",
                f"截止后检查各栏目均未发现转载，已逾期 {format_span(now - ob.due_at)}。{facts}",
            )
        return (
            f"无法判定：《{self.title}》",
            f"{ob.note or '无法检查'}。在能够检查之前，不计为合规或违规。{facts}",
        )

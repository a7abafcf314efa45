"""Column freshness (栏目更新): update limits per column type and the single-veto roll-up.

国办秘函〔2019〕19号 (rules.md §2) fails a site (单项否决) whose home page has no new item for
2 weeks, or that has too many stale columns (动态要闻 > 2 weeks, 通知公告/政策文件 > 6 months),
columns not updated for a year, or blank columns. The limits and thresholds come from the
profile's :class:`~syndicator.rules.profiles.FreshnessRules`.

Two layers:

* pure: :class:`ColumnFacts` → :func:`evaluate_column` → :class:`ColumnVerdict`, and
  :func:`rollup` of one site's verdicts → :class:`SiteFreshness`;
* database: :func:`column_facts` reads every active downstream column in two queries,
  :func:`site_freshness` rolls them up for reports and :func:`freshness_notices` raises
  ``stale_warn`` / ``stale`` notices.

When a column was last updated, from its newest entry (``last_update_basis``):

``published``
    the entry's exact publication time.
``published_date``
    only the day is known (``last_update`` is 00:00 Asia/Shanghai). The column counts as
    updated at the *end* of that Beijing day, which is how an inspector counting dates reads it:
    updated on 1 January, a 14-day column is stale from 16 January 00:00, never earlier.
``first_seen``
    no publication time: when syndicator first saw the entry. Only entries first seen after the
    column's first successful check count, since the first poll finds months of old entries.
``first_check``
    nothing else is known: every entry was already listed at the first successful check
    (``last_update``) and none has a time. The column was updated no later than that, so it can
    become ``warn`` or ``stale`` but is never reported ``ok``.

A column is ``stale`` only when a successful check *after* its deadline still showed nothing
newer, and ``unknown`` when it could not be checked at all: neither counts as compliant or
non-compliant by guesswork.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any, Literal

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from syndicator.clock import SHANGHAI, format_local
from syndicator.compliance.notices import raise_notice
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
    SourceRole,
)
from syndicator.rules.profiles import FreshnessRules

__all__ = [
    "COLUMN_STATUS_ZH",
    "COLUMN_TYPE_ZH",
    "ColumnFacts",
    "ColumnStatus",
    "ColumnVerdict",
    "SiteFreshness",
    "UpdateBasis",
    "column_facts",
    "evaluate_column",
    "freshness_notices",
    "rollup",
    "site_freshness",
]

UpdateBasis = Literal["published", "published_date", "first_seen", "first_check"]
"""Where a column's ``last_update`` comes from (see the module docstring)."""

COLUMN_TYPE_ZH: dict[str, str] = {
    "home": "首页",
    "dynamic": "动态要闻",
    "notice": "通知公告",
    "policy": "政策文件",
    "repost": "转载",
}
"""zh-CN names of the downstream column types (the sources file's ``column``)."""

_DAY = timedelta(days=1)
_FINE = (FetchStatus.OK, FetchStatus.NOT_MODIFIED, FetchStatus.UNCHANGED)
_KEY_CHUNK = 500


class ColumnStatus(enum.StrEnum):
    """A column's freshness verdict."""

    OK = "ok"  # updated within its limit, and not yet within warn_before of it
    WARN = "warn"  # the deadline is within warn_before (or is now)
    STALE = "stale"  # past the deadline, confirmed by a check after it
    BLANK = "blank"  # checked successfully, and it never listed anything (空白栏目)
    UNKNOWN = "unknown"  # could not be checked, or its last update cannot be told yet
    UNWATCHED = "unwatched"  # the profile sets no limit for its type (``repost`` by default)


COLUMN_STATUS_ZH: dict[str, str] = {
    ColumnStatus.OK: "正常",
    ColumnStatus.WARN: "即将超期",
    ColumnStatus.STALE: "超期未更新",
    ColumnStatus.BLANK: "空白栏目",
    ColumnStatus.UNKNOWN: "无法判定",
    ColumnStatus.UNWATCHED: "不考核",
}
"""zh-CN labels of :class:`ColumnStatus`, for reports."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnFacts:
    """What is known about one downstream column, as of one moment.

    Attributes:
        source_id: the column's source id.
        site_id: the site it belongs to.
        site_name: the site's name, for people.
        name: the column's name (the source id when the sources file gives none).
        column_type: ``home``, ``dynamic``, ``notice``, ``policy``, ``repost`` (or ``None``).
        last_update: the latest update known (UTC); ``None`` when nothing is known.
        last_update_basis: where ``last_update`` comes from; ``None`` with it.
        checkable: it has been checked successfully and is not broken or unreachable now.
        checked_at: the last successful check; a column is only ever ``stale`` when this is
            after its deadline.
        entries: how many entries it has ever listed.
        url: the list page, for people.
    """

    source_id: str
    site_id: str
    site_name: str
    name: str
    column_type: str | None
    last_update: datetime | None
    last_update_basis: UpdateBasis | None
    checkable: bool
    checked_at: datetime | None
    entries: int
    url: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnVerdict:
    """The freshness of one column.

    Attributes:
        facts: what the verdict was made from.
        status: see :class:`ColumnStatus`.
        limit: the update limit of the column's type; ``None``: not watched.
        due_at: when the column must next be updated (the last update, read as in the module
            docstring, plus ``limit``); ``None`` without a limit or a last update.
        days_since: whole days certainly passed since the last update (a day-only update
            counts from the end of its day); ``None`` without a last update.
        long_stale: not updated for the profile's ``long_stale`` (1 year), confirmed by a check;
            any column type, watched or not.
        note: zh-CN explanation of an ``unknown`` or ``blank`` verdict.
    """

    facts: ColumnFacts
    status: ColumnStatus
    limit: timedelta | None
    due_at: datetime | None
    days_since: int | None
    long_stale: bool
    note: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteFreshness:
    """One site's column roll-up against the single-veto items.

    Attributes:
        site_id: the site.
        site_name: its name.
        as_of: when the verdicts were made.
        columns: every active downstream column of the site, by source id.
        stale: stale columns other than the home page (these count towards
            ``veto_stale_columns``; the home page is its own veto item).
        warn: columns close to their limit.
        long_stale: columns of any type not updated for ``long_stale``.
        blank: columns that never listed anything.
        unknown: columns that could not be judged; they count neither way.
        home_stale: every home-page column that can be judged is stale (and at least one is),
            with none unknown.
        veto_reasons: zh-CN, one per veto item the site meets; empty when none.
    """

    site_id: str
    site_name: str
    as_of: datetime
    columns: tuple[ColumnVerdict, ...]
    stale: int
    warn: int
    long_stale: int
    blank: int
    unknown: int
    home_stale: bool
    veto_reasons: tuple[str, ...]

    @property
    def vetoed(self) -> bool:
        """Whether any single-veto item holds."""
        return bool(self.veto_reasons)


def _aware(now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")


def _effective(last_update: datetime, basis: UpdateBasis | None) -> datetime:
    """The latest moment the column may have been updated (see the module docstring)."""
    if basis == "published_date":
        day = last_update.astimezone(SHANGHAI).date() + _DAY
        return datetime.combine(day, time(0), tzinfo=SHANGHAI).astimezone(UTC)
    return last_update


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, label in ((86400, "天"), (3600, "小时"), (60, "分钟")):
        if seconds % unit == 0:
            return f"{seconds // unit}{label}"
    return f"{seconds}秒"


def evaluate_column(facts: ColumnFacts, rules: FreshnessRules, now: datetime) -> ColumnVerdict:
    """Judge one column against its type's update limit.

    In order: a column that cannot be checked is ``unknown``; one that never listed anything is
    ``blank``; one whose type has no limit is ``unwatched``. Otherwise, with ``due_at`` the last
    update plus the limit: ``stale`` once ``now`` is after ``due_at`` (exactly at ``due_at`` is
    still in time) and a successful check after ``due_at`` saw nothing newer — ``unknown`` until
    such a check; ``warn`` from ``due_at - warn_before``; ``ok`` before that (``unknown`` for a
    ``first_check`` basis, which only bounds the last update from above).

    Args:
        facts: the column.
        rules: the profile's freshness rules.
        now: the moment judged, timezone-aware.

    Returns:
        The verdict.

    Raises:
        ValueError: ``now`` is naive.
    """
    _aware(now)
    limit = rules.limit(facts.column_type)

    def verdict(
        status: ColumnStatus,
        *,
        due_at: datetime | None = None,
        days: int | None = None,
        long_stale: bool = False,
        note: str | None = None,
    ) -> ColumnVerdict:
        return ColumnVerdict(
            facts=facts,
            status=status,
            limit=limit,
            due_at=due_at,
            days_since=days,
            long_stale=long_stale,
            note=note,
        )

    if not facts.checkable:
        return verdict(ColumnStatus.UNKNOWN, note="无法检查：信息源未检查成功、异常或无法访问")
    if facts.entries == 0:
        return verdict(ColumnStatus.BLANK, note="栏目没有任何内容")
    if facts.last_update is None:
        return verdict(ColumnStatus.UNKNOWN, note="无法确定栏目最近更新时间")

    updated = _effective(facts.last_update, facts.last_update_basis)
    days = max((now - updated) // _DAY, 0)
    checked = facts.checked_at

    def confirmed(deadline: datetime) -> bool:
        return now > deadline and checked is not None and checked > deadline

    long_stale = confirmed(updated + rules.long_stale)
    if limit is None:
        return verdict(ColumnStatus.UNWATCHED, days=days, long_stale=long_stale)
    due = updated + limit
    common: dict[str, Any] = {"due_at": due, "days": days, "long_stale": long_stale}
    if now > due:
        if confirmed(due):
            return verdict(ColumnStatus.STALE, **common)
        return verdict(ColumnStatus.UNKNOWN, note="已过更新期限，期限后尚未检查成功", **common)
    if now >= due - rules.warn_before:
        return verdict(ColumnStatus.WARN, **common)
    if facts.last_update_basis == "first_check":
        return verdict(
            ColumnStatus.UNKNOWN,
            note="列表条目均无发布时间且监测开始前已有：最近更新时间不晚于首次检查",
            **common,
        )
    return verdict(ColumnStatus.OK, **common)


def _stale_limits(rules: FreshnessRules) -> str:
    """``动态要闻14天、通知公告/政策文件180天``: the limits the stale-column count applies."""
    groups: dict[timedelta, list[str]] = {}
    for column_type, limit in rules.limits:
        if column_type != "home":
            groups.setdefault(limit, []).append(COLUMN_TYPE_ZH.get(column_type, column_type))
    return "、".join(f"{'/'.join(names)}{_span(limit)}" for limit, names in groups.items())


def rollup(
    verdicts: Iterable[ColumnVerdict], rules: FreshnessRules, now: datetime
) -> SiteFreshness:
    """Count one site's column verdicts against the single-veto thresholds.

    Args:
        verdicts: every column of one site (at least one).
        rules: the profile's freshness rules (thresholds and limits named in the reasons).
        now: when the verdicts were made.

    Returns:
        The site's roll-up; ``veto_reasons`` in zh-CN, e.g. ``首页超过14天未更新``.

    Raises:
        ValueError: no verdicts, or verdicts of more than one site.
    """
    columns = tuple(sorted(verdicts, key=lambda v: v.facts.source_id))
    if not columns:
        raise ValueError("rollup needs at least one column")
    sites = {v.facts.site_id for v in columns}
    if len(sites) > 1:
        raise ValueError(f"rollup is per site, got columns of {', '.join(sorted(sites))}")
    first = columns[0].facts

    def count(status: ColumnStatus, *, home: bool | None = None) -> int:
        return sum(
            v.status is status and (home is None or (v.facts.column_type == "home") is home)
            for v in columns
        )

    stale = count(ColumnStatus.STALE, home=False)
    long_stale = sum(v.long_stale for v in columns)
    blank = count(ColumnStatus.BLANK)
    home = [v.status for v in columns if v.facts.column_type == "home"]
    # A home page with several lists is updated when any list is; one that cannot be judged
    # leaves the question open.
    home_stale = ColumnStatus.STALE in home and all(
        s in (ColumnStatus.STALE, ColumnStatus.BLANK) for s in home
    )
    reasons: list[str] = []
    home_limit = rules.limit("home")
    if home_stale and home_limit is not None:
        reasons.append(f"首页超过{_span(home_limit)}未更新")
    if stale >= rules.veto_stale_columns:
        reasons.append(
            f"{stale}个栏目超期未更新（{_stale_limits(rules)}；达{rules.veto_stale_columns}个即否决）"
        )
    if long_stale >= rules.veto_long_stale_columns:
        reasons.append(
            f"{long_stale}个栏目超过{_span(rules.long_stale)}未更新"
            f"（达{rules.veto_long_stale_columns}个即否决）"
        )
    if blank >= rules.veto_blank_columns:
        reasons.append(f"{blank}个空白栏目（达{rules.veto_blank_columns}个即否决）")
    return SiteFreshness(
        site_id=first.site_id,
        site_name=first.site_name,
        as_of=now,
        columns=columns,
        stale=stale,
        warn=count(ColumnStatus.WARN),
        long_stale=long_stale,
        blank=blank,
        unknown=count(ColumnStatus.UNKNOWN),
        home_stale=home_stale,
        veto_reasons=tuple(reasons),
    )


@dataclass(frozen=True, slots=True)
class _EntryStats:
    count: int = 0
    first_seen: datetime | None = None
    exact: datetime | None = None
    day: datetime | None = None
    undated_seen: datetime | None = None


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _last_update(
    stats: _EntryStats, first_check: datetime | None
) -> tuple[datetime | None, UpdateBasis | None]:
    baseline = _later(stats.first_seen, first_check)
    candidates: list[tuple[datetime, datetime, UpdateBasis]] = []
    if stats.exact is not None:
        candidates.append((stats.exact, stats.exact, "published"))
    if stats.day is not None:
        candidates.append((_effective(stats.day, "published_date"), stats.day, "published_date"))
    if stats.undated_seen is not None and baseline is not None and stats.undated_seen > baseline:
        candidates.append((stats.undated_seen, stats.undated_seen, "first_seen"))
    if candidates:
        _, when, basis = max(candidates, key=lambda c: c[0])
        return when, basis
    # Undated entries listed at the first check only bound the last update from above, so they
    # stand in only when nothing else is known: a list whose newest entries were dated from
    # their detail pages is judged by those dates, not by the undated older ones.
    if stats.undated_seen is not None and baseline is not None:
        return baseline, "first_check"
    return None, None


def column_facts(session: Session, now: datetime) -> list[ColumnFacts]:
    """The facts of every active downstream column, in two queries whatever their number.

    ``last_update`` is the newest of: a publication time (exact, or a day), and the first sighting
    of an undated entry first seen after the column's first successful check. That check is the
    later of the earliest ``ok`` / ``not_modified`` / ``unchanged`` fetch attempt and the
    earliest ``first_seen_at`` of the column's entries: the first poll stores its entries after
    the attempt started, so the attempt alone would make them look new. Publication times after
    ``now`` (typos, events announced ahead) are read as undated. ``checkable``: health ``ok``,
    or ``unknown`` with a successful check on record.

    Args:
        session: a database session.
        now: the moment judged, timezone-aware.

    Returns:
        One :class:`ColumnFacts` per column, ordered by site and source id.

    Raises:
        ValueError: ``now`` is naive.
    """
    _aware(now)
    downstream = (Source.role == SourceRole.DOWNSTREAM, Source.active.is_(True))
    fine = (FetchAttempt.source_id == Source.id, FetchAttempt.status.in_(_FINE))
    # Correlated and ordered by started_at: each walks ix_fetch_attempt_source_started for one
    # row instead of grouping the whole attempt history.
    first_ok = (
        select(FetchAttempt.started_at)
        .where(*fine)
        .order_by(FetchAttempt.started_at)
        .limit(1)
        .correlate(Source)
        .scalar_subquery()
    )
    last_ok = (
        select(FetchAttempt.started_at)
        .where(*fine)
        .order_by(FetchAttempt.started_at.desc())
        .limit(1)
        .correlate(Source)
        .scalar_subquery()
    )
    sources = session.execute(
        select(
            Source.id,
            Source.site_id,
            Site.name,
            Source.name,
            Source.column_type,
            Source.url,
            Source.health,
            Source.last_success_at,
            first_ok,
            last_ok,
        )
        .join(Site, Site.id == Source.site_id)
        .where(*downstream)
        .order_by(Source.site_id, Source.id)
    ).all()

    # One pass in ix_entry_source_first_seen order, conditional aggregates rather than a second
    # GROUP BY key (which makes SQLite sort the whole table). Only downstream columns have
    # entries; inactive ones are dropped below rather than joined away.
    dated = Entry.published_at <= now
    day = Entry.published_precision == Precision.DATE
    stats: dict[str, _EntryStats] = {
        source_id: _EntryStats(n, first_seen, exact, newest_day, undated)
        for source_id, n, first_seen, exact, newest_day, undated in session.execute(
            select(
                Entry.source_id,
                func.count(),
                func.min(Entry.first_seen_at),
                func.max(case((dated & ~day, Entry.published_at))),
                func.max(case((dated & day, Entry.published_at))),
                func.max(
                    case(
                        (
                            or_(Entry.published_at.is_(None), Entry.published_at > now),
                            Entry.first_seen_at,
                        )
                    )
                ),
            ).group_by(Entry.source_id)
        )
    }

    facts: list[ColumnFacts] = []
    for row in sources:
        (source_id, site_id, site_name, name, column_type, url, health, last_success) = row[:8]
        first_check, last_check = row[8], row[9]
        s = stats.get(source_id, _EntryStats())
        last_update, basis = _last_update(s, first_check)
        succeeded = first_check is not None or last_success is not None
        facts.append(
            ColumnFacts(
                source_id=source_id,
                site_id=site_id,
                site_name=site_name,
                name=name or source_id,
                column_type=column_type,
                last_update=last_update,
                last_update_basis=basis,
                checkable=health is SourceHealth.OK
                or (health is SourceHealth.UNKNOWN and succeeded),
                checked_at=_later(last_success, last_check),
                entries=s.count,
                url=url,
            )
        )
    return facts


def _evaluate(
    session: Session, now: datetime, rules: FreshnessRules
) -> list[tuple[SiteFreshness, list[ColumnVerdict]]]:
    by_site: dict[str, list[ColumnVerdict]] = {}
    for facts in column_facts(session, now):
        by_site.setdefault(facts.site_id, []).append(evaluate_column(facts, rules, now))
    return [(rollup(v, rules, now), v) for _, v in sorted(by_site.items())]


def site_freshness(session: Session, now: datetime, rules: FreshnessRules) -> list[SiteFreshness]:
    """Every site with active downstream columns, rolled up (for reports).

    Args:
        session: a database session.
        now: the moment judged, timezone-aware.
        rules: the profile's freshness rules.

    Returns:
        One :class:`SiteFreshness` per site, ordered by site id.
    """
    return [site for site, _ in _evaluate(session, now, rules)]


def _notice_text(verdict: ColumnVerdict, kind: NoticeKind, site: SiteFreshness) -> tuple[str, str]:
    facts = verdict.facts
    assert facts.last_update is not None and verdict.limit is not None
    assert verdict.due_at is not None
    label = "栏目超期未更新" if kind is NoticeKind.STALE else "栏目即将超期未更新"
    type_zh = COLUMN_TYPE_ZH.get(facts.column_type or "", facts.column_type or "未分类")
    when = {
        "published": f"{format_local(facts.last_update)}（按发布时间）",
        "published_date": f"{format_local(facts.last_update, date_only=True)}（仅有日期）",
        "first_seen": f"{format_local(facts.last_update)}（按首次发现时间，列表无发布时间）",
        "first_check": f"不晚于 {format_local(facts.last_update)}（监测开始前已列出，无发布时间）",
    }[facts.last_update_basis or "published"]
    lines = [
        f"栏目：{facts.site_name} · {facts.name}（{type_zh}，须{_span(verdict.limit)}内更新）",
        f"最近更新：{when}",
        f"更新期限：{format_local(verdict.due_at)}",
    ]
    if kind is NoticeKind.STALE:
        lines.append(f"已超过{verdict.days_since}天未更新")
    if facts.url:
        lines.append(f"栏目地址：{facts.url}")
    if site.veto_reasons:
        lines.append(f"本站已触及单项否决：{'；'.join(site.veto_reasons)}")
    return f"{label}：{facts.site_name} · {facts.name}", "\n".join(lines)


def _existing_keys(session: Session, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), _KEY_CHUNK):
        chunk = keys[start : start + _KEY_CHUNK]
        found.update(session.scalars(select(Notice.dedup_key).where(Notice.dedup_key.in_(chunk))))
    return found


def freshness_notices(session: Session, now: datetime, rules: FreshnessRules) -> int:
    """Raise a ``stale_warn`` notice for each column in ``warn`` and ``stale`` for each ``stale``.

    Each is raised once per column and last update (``column:<source id>:<kind>:<last update
    ISO>``): a column that updates and later goes stale again alerts again. A column found
    already stale gets no belated warning. The caller commits.

    Args:
        session: a database session.
        now: the moment judged, timezone-aware.
        rules: the profile's freshness rules.

    Returns:
        How many new notices were raised.
    """
    wanted: list[tuple[str, NoticeKind, ColumnVerdict, SiteFreshness]] = []
    for site, verdicts in _evaluate(session, now, rules):
        for v in verdicts:
            if v.status is ColumnStatus.WARN:
                kind = NoticeKind.STALE_WARN
            elif v.status is ColumnStatus.STALE:
                kind = NoticeKind.STALE
            else:
                continue
            assert v.facts.last_update is not None
            key = f"column:{v.facts.source_id}:{kind.value}:{v.facts.last_update.isoformat()}"
            wanted.append((key, kind, v, site))
    # Most ticks find every notice raised already: one look-up per chunk, not one insert each.
    existing = _existing_keys(session, [key for key, *_ in wanted])
    raised = 0
    for key, kind, v, site in wanted:
        if key in existing:
            continue
        title, body = _notice_text(v, kind, site)
        assert v.due_at is not None and v.limit is not None and v.facts.last_update is not None
        new_id = raise_notice(
            session,
            key=key,
            kind=kind,
            now=now,
            title=title,
            body=body,
            site_id=v.facts.site_id,
            source_id=v.facts.source_id,
            data={
                "column_type": v.facts.column_type,
                "last_update": v.facts.last_update.isoformat(),
                "last_update_basis": v.facts.last_update_basis,
                "limit_seconds": int(v.limit.total_seconds()),
                "due_at": v.due_at.isoformat(),
                "days_since": v.days_since,
                "veto_reasons": list(site.veto_reasons),
            },
        )
        raised += new_id is not None
    return raised

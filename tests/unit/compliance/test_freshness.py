"""Column freshness, pure part: verdicts at the limit boundaries and the single-veto roll-up."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from syndicator.clock import SHANGHAI
from syndicator.compliance.freshness import (
    ColumnFacts,
    ColumnStatus,
    ColumnVerdict,
    evaluate_column,
    rollup,
)
from syndicator.rules.profiles import FreshnessRules

NOW = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)
RULES = FreshnessRules()
CUSTOM = FreshnessRules(
    limits=(
        ("home", timedelta(days=7)),
        ("dynamic", timedelta(days=7)),
        ("notice", timedelta(days=90)),
        ("policy", timedelta(days=90)),
        ("repost", timedelta(days=30)),
    ),
    warn_before=timedelta(days=1),
    long_stale=timedelta(days=200),
    veto_stale_columns=2,
    veto_long_stale_columns=3,
    veto_blank_columns=1,
)
D, H, S = timedelta(days=1), timedelta(hours=1), timedelta(seconds=1)


def facts(age: timedelta | None = D, **over: Any) -> ColumnFacts:
    """A checked column last updated *age* before NOW (exact publication time)."""
    values: dict[str, Any] = {
        "source_id": "rj-dt",
        "site_id": "ruijin",
        "site_name": "瑞金市人民政府",
        "name": "政务动态",
        "column_type": "dynamic",
        "last_update": None if age is None else NOW - age,
        "last_update_basis": None if age is None else "published",
        "checkable": True,
        "checked_at": NOW,
        "entries": 20,
    }
    values.update(over)
    return ColumnFacts(**values)


# A day known only to the day: 2026-02-15, stored as 00:00 Asia/Shanghai. Read as updated at the
# end of that day, a 14-day column is due 2026-03-02 00:00 Beijing (2026-03-01 16:00 UTC).
DAY = datetime(2026, 2, 15, tzinfo=SHANGHAI).astimezone(UTC)
DAY_DUE = datetime(2026, 3, 2, tzinfo=SHANGHAI).astimezone(UTC)


def dated(**over: Any) -> ColumnFacts:
    return facts(None, last_update=DAY, last_update_basis="published_date", **over)


CASES = [
    # (facts, now, rules, status, due_at offset from NOW or absolute, days_since)
    pytest.param(facts(13 * D + 23 * H), NOW, RULES, "warn", H, 13, id="dynamic-13d23h-warn"),
    pytest.param(
        facts(14 * D), NOW, RULES, "warn", timedelta(0), 14, id="dynamic-14d-exactly-warn"
    ),
    pytest.param(facts(14 * D + S), NOW, RULES, "stale", -S, 14, id="dynamic-14d+1s-stale"),
    pytest.param(facts(11 * D), NOW, RULES, "warn", 3 * D, 11, id="dynamic-warn-starts-at-3d-left"),
    pytest.param(facts(11 * D - S), NOW, RULES, "ok", 3 * D + S, 10, id="dynamic-1s-before-warn"),
    pytest.param(facts(D, column_type="home"), NOW, RULES, "ok", 13 * D, 1, id="home-fresh"),
    pytest.param(
        facts(14 * D + S, column_type="home"), NOW, RULES, "stale", -S, 14, id="home-14d+1s-stale"
    ),
    pytest.param(
        facts(176 * D, column_type="notice"), NOW, RULES, "ok", 4 * D, 176, id="notice-176d-ok"
    ),
    pytest.param(
        facts(180 * D, column_type="notice"),
        NOW,
        RULES,
        "warn",
        timedelta(0),
        180,
        id="notice-180d",
    ),
    pytest.param(
        facts(180 * D + S, column_type="policy"), NOW, RULES, "stale", -S, 180, id="policy-180d+1s"
    ),
    pytest.param(
        facts(100 * D, column_type="dynamic", entries=0),
        NOW,
        RULES,
        "blank",
        None,
        None,
        id="blank",
    ),
    pytest.param(
        facts(None, column_type="notice", entries=0),
        NOW,
        RULES,
        "blank",
        None,
        None,
        id="blank-new",
    ),
    pytest.param(
        facts(400 * D, checkable=False), NOW, RULES, "unknown", None, None, id="broken-never-stale"
    ),
    pytest.param(
        facts(D, checkable=False), NOW, RULES, "unknown", None, None, id="broken-never-ok"
    ),
    pytest.param(
        facts(None, entries=3), NOW, RULES, "unknown", None, None, id="entries-without-any-time"
    ),
    pytest.param(
        facts(14 * D + H, checked_at=NOW - 2 * H),
        NOW,
        RULES,
        "unknown",
        -H,
        14,
        id="past-due-but-no-check-since",
    ),
    pytest.param(
        facts(14 * D + H, checked_at=NOW - H + S),
        NOW,
        RULES,
        "stale",
        -H,
        14,
        id="past-due-checked-1s-after",
    ),
    pytest.param(
        facts(400 * D, column_type="repost"),
        NOW,
        RULES,
        "unwatched",
        None,
        400,
        id="repost-unwatched",
    ),
    pytest.param(
        facts(400 * D, column_type=None), NOW, RULES, "unwatched", None, 400, id="untyped-unwatched"
    ),
    pytest.param(
        facts(30 * D + S, column_type="repost"),
        NOW,
        CUSTOM,
        "stale",
        -S,
        30,
        id="custom-repost-30d",
    ),
    pytest.param(facts(7 * D + S), NOW, CUSTOM, "stale", -S, 7, id="custom-dynamic-7d+1s"),
    pytest.param(facts(6 * D), NOW, CUSTOM, "warn", D, 6, id="custom-warn-1d-before"),
    pytest.param(facts(6 * D - S), NOW, CUSTOM, "ok", D + S, 5, id="custom-1s-before-warn"),
    pytest.param(facts(13 * D), NOW, CUSTOM, "stale", -6 * D, 13, id="custom-13d-stale"),
    pytest.param(dated(), DAY_DUE, RULES, "warn", DAY_DUE, 14, id="date-only-end-of-day-due"),
    pytest.param(
        dated(checked_at=DAY_DUE + S), DAY_DUE + S, RULES, "stale", DAY_DUE, 14, id="date+1s"
    ),
    pytest.param(dated(), DAY_DUE - 3 * D - S, RULES, "ok", DAY_DUE, 10, id="date-before-warn"),
    pytest.param(
        facts(20 * D, last_update_basis="first_check"),
        NOW,
        RULES,
        "stale",
        -6 * D,
        20,
        id="fc-stale",
    ),
    pytest.param(
        facts(12 * D, last_update_basis="first_check"), NOW, RULES, "warn", 2 * D, 12, id="fc-warn"
    ),
    pytest.param(
        facts(D, last_update_basis="first_check"),
        NOW,
        RULES,
        "unknown",
        13 * D,
        1,
        id="fc-never-ok",
    ),
    pytest.param(
        facts(D, last_update_basis="first_seen"), NOW, RULES, "ok", 13 * D, 1, id="first-seen-ok"
    ),
]


@pytest.mark.parametrize(("column", "now", "rules", "status", "due", "days"), CASES)
def test_evaluate_column(
    column: ColumnFacts,
    now: datetime,
    rules: FreshnessRules,
    status: str,
    due: timedelta | datetime | None,
    days: int | None,
) -> None:
    verdict = evaluate_column(column, rules, now)
    assert verdict.status == status
    assert verdict.due_at == (NOW + due if isinstance(due, timedelta) else due)
    assert verdict.days_since == days
    assert verdict.facts is column
    assert (verdict.note is not None) == (status in ("unknown", "blank"))


@pytest.mark.parametrize(
    ("column", "long_stale"),
    [
        pytest.param(facts(365 * D), False, id="365d-exactly"),
        pytest.param(facts(365 * D + S), True, id="365d+1s"),
        pytest.param(facts(400 * D, column_type="repost"), True, id="unwatched-counts"),
        pytest.param(facts(400 * D, checked_at=NOW - 40 * D), False, id="not-confirmed-by-check"),
        pytest.param(facts(400 * D, checkable=False), False, id="unknown-never"),
        pytest.param(facts(400 * D, entries=0), False, id="blank-is-not-long-stale"),
    ],
)
def test_long_stale(column: ColumnFacts, long_stale: bool) -> None:
    assert evaluate_column(column, RULES, NOW).long_stale is long_stale


def test_date_only_is_never_stale_before_an_exact_time_of_that_day_would_be() -> None:
    exact = facts(None, last_update=DAY, last_update_basis="published")
    at = DAY_DUE - D + S  # 14 days and 1 s after 00:00 of that day
    assert evaluate_column(exact, RULES, at).status is ColumnStatus.STALE
    assert evaluate_column(dated(), RULES, at).status is ColumnStatus.WARN


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        evaluate_column(facts(), RULES, NOW.replace(tzinfo=None))


def columns(n: int, age: timedelta, prefix: str | None = None, **over: Any) -> list[ColumnVerdict]:
    """*n* verdicts of columns last updated *age* ago, ids ``<prefix or type>-<i>``."""
    prefix = prefix or over.get("column_type", "c")
    return [
        evaluate_column(facts(age, source_id=f"{prefix}-{i}", **over), RULES, NOW) for i in range(n)
    ]


FRESH = columns(1, D, column_type="home")
STALE_LIST = "动态要闻14天、通知公告/政策文件180天"


@pytest.mark.parametrize(
    ("verdicts", "counts", "reasons"),
    [
        pytest.param(FRESH + columns(4, 20 * D), (4, 0, 0, 0, False), [], id="4-stale-no-veto"),
        pytest.param(
            FRESH + columns(5, 20 * D),
            (5, 0, 0, 0, False),
            [f"5个栏目超期未更新（{STALE_LIST}；达5个即否决）"],
            id="5-stale-veto",
        ),
        pytest.param(
            FRESH + columns(3, 20 * D) + columns(2, 200 * D, column_type="notice"),
            (5, 0, 0, 0, False),
            [f"5个栏目超期未更新（{STALE_LIST}；达5个即否决）"],
            id="dynamic-and-notice-add-up",
        ),
        pytest.param(
            FRESH + columns(9, 400 * D, column_type="repost"),
            (0, 9, 0, 0, False),
            [],
            id="9-long-stale-no-veto",
        ),
        pytest.param(
            FRESH + columns(10, 400 * D, column_type="repost"),
            (0, 10, 0, 0, False),
            ["10个栏目超过365天未更新（达10个即否决）"],
            id="10-long-stale-veto",
        ),
        pytest.param(
            columns(1, 15 * D, column_type="home"),
            (0, 0, 0, 0, True),
            ["首页超过14天未更新"],
            id="home-stale-alone-vetoes",
        ),
        pytest.param(
            columns(4, 20 * D) + columns(1, 15 * D, column_type="home"),
            (4, 0, 0, 0, True),
            ["首页超过14天未更新"],
            id="home-not-in-stale-count",
        ),
        pytest.param(
            columns(1, 15 * D, column_type="home") + columns(1, D, "b", column_type="home"),
            (0, 0, 0, 0, False),
            [],
            id="home-updated-in-another-list",
        ),
        pytest.param(
            columns(1, 15 * D, column_type="home")
            + columns(1, 15 * D, "x", column_type="home", checkable=False),
            (0, 0, 0, 1, False),
            [],
            id="home-partly-unknown-undecided",
        ),
        pytest.param(
            FRESH + columns(10, 400 * D, checkable=False),
            (0, 0, 0, 10, False),
            [],
            id="unknown-never-counts-as-stale",
        ),
        pytest.param(FRESH + columns(4, D, entries=0), (0, 0, 4, 0, False), [], id="4-blank"),
        pytest.param(
            FRESH + columns(5, D, entries=0),
            (0, 0, 5, 0, False),
            ["5个空白栏目（达5个即否决）"],
            id="5-blank-veto",
        ),
        pytest.param(
            columns(1, 400 * D, column_type="home")
            + columns(5, 400 * D, column_type="notice")
            + columns(5, 400 * D, column_type="policy")
            + columns(5, D, column_type="repost", entries=0),
            (10, 11, 5, 0, True),
            [
                "首页超过14天未更新",
                f"10个栏目超期未更新（{STALE_LIST}；达5个即否决）",
                "11个栏目超过365天未更新（达10个即否决）",
                "5个空白栏目（达5个即否决）",
            ],
            id="every-veto",
        ),
    ],
)
def test_rollup(
    verdicts: list[ColumnVerdict], counts: tuple[int, int, int, int, bool], reasons: list[str]
) -> None:
    site = rollup(verdicts, RULES, NOW)
    assert (site.stale, site.long_stale, site.blank, site.unknown, site.home_stale) == counts
    assert list(site.veto_reasons) == reasons
    assert site.vetoed is bool(reasons)
    assert (site.site_id, site.site_name, site.as_of) == ("ruijin", "瑞金市人民政府", NOW)
    assert [v.facts.source_id for v in site.columns] == sorted(v.facts.source_id for v in verdicts)


def test_rollup_names_the_profile_thresholds() -> None:
    verdicts = [evaluate_column(facts(8 * D, source_id=f"d{i}"), CUSTOM, NOW) for i in range(2)] + [
        evaluate_column(facts(D, source_id="h", column_type="home"), CUSTOM, NOW)
    ]
    site = rollup(verdicts, CUSTOM, NOW)
    assert site.veto_reasons == (
        "2个栏目超期未更新（动态要闻7天、通知公告/政策文件90天、转载30天；达2个即否决）",
    )
    assert site.warn == 0


def test_rollup_counts_warnings() -> None:
    assert rollup(columns(3, 12 * D), RULES, NOW).warn == 3


@pytest.mark.parametrize(
    "verdicts",
    [
        pytest.param([], id="empty"),
        pytest.param(
            [
                evaluate_column(facts(), RULES, NOW),
                evaluate_column(replace(facts(), site_id="yudu"), RULES, NOW),
            ],
            id="two-sites",
        ),
    ],
)
def test_rollup_is_per_site(verdicts: list[ColumnVerdict]) -> None:
    with pytest.raises(ValueError, match="rollup"):
        rollup(verdicts, RULES, NOW)

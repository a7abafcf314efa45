"""Publication times in the formats Chinese government lists and feeds use."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from syndicator.sources.dates import SHANGHAI, parse_cn_datetime, parse_feed_datetime
from syndicator.sources.types import ParsedTime, Precision

DATE = Precision.DATE
DATETIME = Precision.DATETIME
# 2025-01-03 12:00 in Shanghai.
NOW = datetime(2025, 1, 3, 4, 0, tzinfo=UTC)


def cst(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    """A Shanghai wall-clock time, as the UTC instant the parsers must return."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


@pytest.mark.parametrize(
    ("text", "at", "precision"),
    [
        ("2024-01-05", cst(2024, 1, 5), DATE),
        ("2024/01/05", cst(2024, 1, 5), DATE),
        ("2024.01.05", cst(2024, 1, 5), DATE),
        ("2024-1-5", cst(2024, 1, 5), DATE),
        ("2024年1月5日", cst(2024, 1, 5), DATE),
        ("2024 年 1 月 5 日", cst(2024, 1, 5), DATE),
        ("2024年01月05日 10:30", cst(2024, 1, 5, 10, 30), DATETIME),
        ("2024年1月5日 10时30分", cst(2024, 1, 5, 10, 30), DATETIME),
        ("发布时间：2024-01-05 10:30", cst(2024, 1, 5, 10, 30), DATETIME),
        ("日期：2024-01-05", cst(2024, 1, 5), DATE),
        ("[2024-01-05]", cst(2024, 1, 5), DATE),
        ("2024-01-05 10:30:15", cst(2024, 1, 5, 10, 30, 15), DATETIME),
        ("2024-01-05-10:30:15", cst(2024, 1, 5, 10, 30, 15), DATETIME),
        ("2024-01-05 10:30:15.0", cst(2024, 1, 5, 10, 30, 15), DATETIME),
        ("2024-01-05T10:30:00+08:00", cst(2024, 1, 5, 10, 30), DATETIME),
        ("2024-01-05T10:30:00Z", datetime(2024, 1, 5, 10, 30, tzinfo=UTC), DATETIME),
        ("2024-01-05T10:30:00-0500", datetime(2024, 1, 5, 15, 30, tzinfo=UTC), DATETIME),
        ("２０２４－０１－０５", cst(2024, 1, 5), DATE),
        ("２０２４年１月５日　１０：３０", cst(2024, 1, 5, 10, 30), DATETIME),
        ("2024-01-05 10：30", cst(2024, 1, 5, 10, 30), DATETIME),
        ("[01-05]", cst(2025, 1, 5), DATE),
        ("(01-05)", cst(2025, 1, 5), DATE),
        ("01-05", cst(2025, 1, 5), DATE),
        ("01/02 09:15", cst(2025, 1, 2, 9, 15), DATETIME),
        ("1月5日", cst(2025, 1, 5), DATE),
        ("[12-30]", cst(2024, 12, 30), DATE),
        ("12月31日", cst(2024, 12, 31), DATE),
        ("01-06", cst(2024, 1, 6), DATE),
        ("02-29", cst(2024, 2, 29), DATE),
        ("关于2023年工作的总结 2024-01-05", cst(2024, 1, 5), DATE),
        ("关于印发通知 [01-02]", cst(2025, 1, 2), DATE),
    ],
    ids=[
        "dash",
        "slash",
        "dot",
        "single-digits",
        "chinese",
        "chinese-spaced",
        "chinese-with-time",
        "chinese-time-units",
        "fabu-shijian-prefix",
        "riqi-prefix",
        "bracketed-with-year",
        "seconds",
        "gov-cn-dash-before-hour",
        "java-timestamp-fraction",
        "iso-offset",
        "iso-zulu",
        "iso-negative-offset",
        "full-width-date",
        "full-width-chinese-time-and-space",
        "full-width-colon",
        "no-year-brackets",
        "no-year-parentheses",
        "no-year-bare",
        "no-year-with-time",
        "no-year-chinese",
        "no-year-december-seen-in-january",
        "no-year-chinese-december",
        "no-year-three-days-ahead-is-last-year",
        "no-year-leap-day",
        "title-year-not-a-date",
        "no-year-after-title",
    ],
)
def test_parse_cn_datetime(text: str, at: datetime, precision: Precision) -> None:
    assert parse_cn_datetime(text, now=NOW) == ParsedTime(at=at, precision=precision)


@pytest.mark.parametrize(
    ("text", "now", "expected_day"),
    [
        ("[01-05]", datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 1, 5)),
        ("[12-30]", datetime(2025, 1, 3, tzinfo=UTC), datetime(2024, 12, 30)),
        ("[06-03]", datetime(2025, 6, 1, tzinfo=UTC), datetime(2025, 6, 3)),
        ("[06-04]", datetime(2025, 6, 1, tzinfo=UTC), datetime(2024, 6, 4)),
        ("[01-01]", datetime(2024, 12, 31, 10, tzinfo=UTC), datetime(2025, 1, 1)),
        ("[12-31]", datetime(2024, 12, 31, 17, tzinfo=UTC), datetime(2024, 12, 31)),
        ("[01-05]", datetime(2025, 6, 1), datetime(2025, 1, 5)),
    ],
    ids=[
        "earlier-this-year",
        "year-end-seen-after-new-year",
        "two-days-ahead-is-skew",
        "three-days-ahead-is-last-year",
        "new-year-skew-rolls-forward",
        "now-is-already-next-day-in-shanghai",
        "naive-now-taken-as-utc",
    ],
)
def test_year_less_dates_pick_the_closest_past_year(
    text: str, now: datetime, expected_day: datetime
) -> None:
    parsed = parse_cn_datetime(text, now=now)

    assert parsed is not None
    assert parsed.at.astimezone(SHANGHAI).replace(tzinfo=None) == expected_day
    assert parsed.precision is DATE


@pytest.mark.parametrize(
    "text",
    [
        "2024-02-30",
        "2023-02-29",
        "2024-13-01",
        "2024年13月1日",
        "2024-00-10",
        "2024-01-05 25:00",
        "2024-01-05T10:30:00+25:00",
        "[02-30]",
        "[13-05]",
        "",
        "关于印发通知",
        "1-5月份经济运行情况",
        "同比增长3.5%",
        "赣府厅发〔2017〕43号",
        "电话：0791-88912345",
        "10:30",
    ],
    ids=[
        "february-30",
        "february-29-non-leap",
        "month-13",
        "chinese-month-13",
        "month-0",
        "hour-25",
        "offset-25h",
        "no-year-february-30",
        "no-year-month-13",
        "empty",
        "no-date",
        "month-range",
        "decimal",
        "document-number",
        "phone-number",
        "time-only",
    ],
)
def test_parse_cn_datetime_rejects(text: str) -> None:
    assert parse_cn_datetime(text, now=NOW) is None


def test_results_are_utc() -> None:
    parsed = parse_cn_datetime("2024-01-05 10:30", now=NOW)

    assert parsed is not None
    assert parsed.at.tzinfo is UTC
    assert parsed.at == datetime(2024, 1, 5, 2, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "Mon, 05 Jan 2024 10:30:00 +0800",
            ParsedTime(at=cst(2024, 1, 5, 10, 30), precision=DATETIME),
        ),
        (
            "Fri, 05 Jan 2024 10:30:00 GMT",
            ParsedTime(at=datetime(2024, 1, 5, 10, 30, tzinfo=UTC), precision=DATETIME),
        ),
        ("05 Jan 2024 10:30:00 +0800", ParsedTime(at=cst(2024, 1, 5, 10, 30), precision=DATETIME)),
        ("Fri, 5 Jan 2024 10:30:00", ParsedTime(at=cst(2024, 1, 5, 10, 30), precision=DATETIME)),
        (
            "Fri, 05 Jan 2024 10:30 +08:00",
            ParsedTime(at=cst(2024, 1, 5, 10, 30), precision=DATETIME),
        ),
        (
            "Fri, 05 Jan 2024 10:30:00 CST",
            ParsedTime(at=cst(2024, 1, 5, 10, 30), precision=DATETIME),
        ),
        (
            "Fri Jan 05 10:30:00 CST 2024",
            ParsedTime(at=cst(2024, 1, 5, 10, 30), precision=DATETIME),
        ),
        (
            "Fri, 05 Jan 24 10:30:00 -0500",
            ParsedTime(at=datetime(2024, 1, 5, 15, 30, tzinfo=UTC), precision=DATETIME),
        ),
        ("Fri, 05 January 2024", ParsedTime(at=cst(2024, 1, 5), precision=DATE)),
        (
            "2024-01-05T10:30:00Z",
            ParsedTime(at=datetime(2024, 1, 5, 10, 30, tzinfo=UTC), precision=DATETIME),
        ),
        ("2024-01-05T10:30:00+08:00", ParsedTime(at=cst(2024, 1, 5, 10, 30), precision=DATETIME)),
        ("2024-01-05T10:30:00", ParsedTime(at=cst(2024, 1, 5, 10, 30), precision=DATETIME)),
        ("2024-01-05", ParsedTime(at=cst(2024, 1, 5), precision=DATE)),
        ("  2024-01-05 10:30  ", ParsedTime(at=cst(2024, 1, 5, 10, 30), precision=DATETIME)),
        ("2024年1月5日", ParsedTime(at=cst(2024, 1, 5), precision=DATE)),
        ("Fri, 31 Feb 2024 10:30:00 +0800", None),
        ("Fri, 05 Foo 2024 10:30:00 +0800", None),
        ("01-05", None),
        ("yesterday", None),
        ("", None),
    ],
    ids=[
        "rfc822-offset",
        "rfc822-gmt",
        "rfc822-no-weekday",
        "rfc822-no-zone-is-shanghai",
        "rfc822-no-seconds-colon-offset",
        "rfc822-cst-is-china",
        "java-date-tostring",
        "rfc822-two-digit-year",
        "rfc822-date-only-long-month",
        "iso-zulu",
        "iso-offset",
        "iso-naive-is-shanghai",
        "iso-date-only",
        "padded",
        "chinese-fallback",
        "rfc822-invalid-day",
        "rfc822-unknown-month",
        "year-less-without-now",
        "words",
        "empty",
    ],
)
def test_parse_feed_datetime(value: str, expected: ParsedTime | None) -> None:
    assert parse_feed_datetime(value) == expected


def test_parse_feed_datetime_places_year_less_dates_with_now() -> None:
    assert parse_feed_datetime("[12-30]", now=NOW) == ParsedTime(
        at=cst(2024, 12, 30), precision=DATE
    )

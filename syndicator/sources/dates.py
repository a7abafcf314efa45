"""Publication times as Chinese government sites and feeds write them.

Everything returned is UTC-aware, with the precision the source actually gave. Times without an
offset are Asia/Shanghai; a day without a time is 00:00 Asia/Shanghai (``Precision.DATE``).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

from syndicator.sources.types import ParsedTime, Precision

__all__ = ["SHANGHAI", "parse_cn_datetime", "parse_feed_datetime"]

SHANGHAI = ZoneInfo("Asia/Shanghai")

# How far ahead of ``now`` a year-less date may lie and still count as this year (clock skew).
_SKEW = timedelta(days=2)

_FULL_WIDTH = str.maketrans(
    {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)} | {"\u3000": " "}
)

_TIME = r"""
    (?P<H>\d{1,2})
    (?:
        :(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<F>\d+))?)?
      | \s*[时点]\s*(?P<M2>\d{1,2})\s*分(?:\s*(?P<S2>\d{1,2})\s*秒)?
    )
    (?!\d)
    (?:\s*(?P<tz>Z|[+-]\d{2}:?\d{2})(?!\d))?
"""
_FULL_DATE = re.compile(
    rf"""
    (?<!\d)(?P<y>\d{{4}})
    (?:
        (?P<sep>[-/.])(?P<m>\d{{1,2}})(?P=sep)(?P<d>\d{{1,2}})
      | \s*年\s*(?P<m2>\d{{1,2}})\s*月\s*(?P<d2>\d{{1,2}})\s*[日号]?
    )
    (?!\d)
    (?:(?:T|\s*-?\s*){_TIME})?
    """,
    re.VERBOSE,
)
# Year-less numeric dates need two digits each, so "1-5月" or "增长3.5%" are not read as dates.
_SHORT_DATE = re.compile(
    rf"""
    (?:
        (?<![\d/.:-])(?P<m>\d{{2}})(?P<sep>[-/])(?P<d>\d{{2}})(?![\d/:-])
      | (?<![\d年])(?P<m2>\d{{1,2}})\s*月\s*(?P<d2>\d{{1,2}})\s*[日号]
    )
    (?:\s*{_TIME})?
    """,
    re.VERBOSE,
)
_RFC822 = re.compile(
    r"""
    ^(?:[A-Za-z]{2,9}\.?,?\s*)?
    (?P<d>\d{1,2})\s+(?P<mon>[A-Za-z]{3})[A-Za-z]*\.?,?\s+(?P<y>\d{4}|\d{2})
    (?:\s+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?)?
    \s*(?P<tz>[+-]\d{2}:?\d{2}|[A-Za-z]{1,5})?\s*$
    """,
    re.VERBOSE,
)
# ``java.util.Date.toString()``: "Fri Jan 05 10:30:00 CST 2024", common in Java-built CMS feeds.
_JAVA_DATE = re.compile(
    r"""
    ^[A-Za-z]{3}\s+(?P<mon>[A-Za-z]{3})\s+(?P<d>\d{1,2})\s+
    (?P<H>\d{1,2}):(?P<M>\d{2}):(?P<S>\d{2})\s+(?P<tz>[A-Za-z]{1,5})\s+(?P<y>\d{4})\s*$
    """,
    re.VERBOSE,
)
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
# CST is China Standard Time on Chinese sites, not US Central; unknown names fall back to Shanghai.
_ZONE_NAMES: dict[str, tzinfo] = {
    "z": UTC,
    "ut": UTC,
    "utc": UTC,
    "gmt": UTC,
    "cst": SHANGHAI,
    "bjt": SHANGHAI,
    "hkt": timezone(timedelta(hours=8)),
    "edt": timezone(timedelta(hours=-4)),
    "est": timezone(timedelta(hours=-5)),
    "cdt": timezone(timedelta(hours=-5)),
    "mdt": timezone(timedelta(hours=-6)),
    "mst": timezone(timedelta(hours=-7)),
    "pdt": timezone(timedelta(hours=-7)),
    "pst": timezone(timedelta(hours=-8)),
}


def parse_cn_datetime(text: str, *, now: datetime) -> ParsedTime | None:
    """Find a publication date (and time, if given) in free text from a Chinese list page.

    Dates with a year are preferred anywhere in the text over year-less ones; the first match
    decides, and an impossible date (``2024-02-30``) gives ``None`` rather than a guess.

    Args:
        text: Free text such as ``"发布时间：2024-01-05 10:30"``, ``"[01-05]"``, ``"2024年1月5日"``
            or ``"2024-01-05T10:30:00+08:00"``; full-width digits and punctuation are accepted.
        now: The current time (aware; naive is taken as UTC). A year-less date gets the year that
            puts it closest before ``now``, allowing two days ahead for clock skew.

    Returns:
        The UTC time with ``Precision.DATETIME`` or ``Precision.DATE``, or ``None`` when the text
        holds no valid date.
    """
    return _parse_text(text if text.isascii() else text.translate(_FULL_WIDTH), now)


def parse_feed_datetime(value: str, *, now: datetime | None = None) -> ParsedTime | None:
    """Parse a feed date: RFC 822, RFC 3339 / ISO 8601, or anything :func:`parse_cn_datetime` reads.

    RFC 822 without weekday or without zone is accepted (no zone means Asia/Shanghai, and ``CST``
    means China Standard Time); so is ``java.util.Date.toString()`` output.

    Args:
        value: The element text, e.g. ``"Mon, 05 Jan 2024 10:30:00 +0800"`` or
            ``"2024-01-05T10:30:00Z"``.
        now: Needed only to place a year-less date; without it such dates give ``None``.

    Returns:
        The UTC time and its precision, or ``None`` when the value is not a valid date.
    """
    text = (value if value.isascii() else value.translate(_FULL_WIDTH)).strip()
    match = _RFC822.match(text) or _JAVA_DATE.match(text)
    if match is None:
        return _parse_text(text, now)
    month = _MONTHS.get(match["mon"].lower())
    if month is None:
        return None
    year = int(match["y"])
    if year < 100:
        year += 2000 if year < 50 else 1900
    zone = _zone(match["tz"])
    if match["H"] is None:
        return _build(year, month, int(match["d"]), None, zone)
    clock = (int(match["H"]), int(match["M"]), int(match["S"] or 0), 0)
    return _build(year, month, int(match["d"]), clock, zone)


def _parse_text(text: str, now: datetime | None) -> ParsedTime | None:
    match = _FULL_DATE.search(text)
    if match is not None:
        year = int(match["y"])
        month = int(match["m"] or match["m2"])
        day = int(match["d"] or match["d2"])
    else:
        match = _SHORT_DATE.search(text)
        if match is None or now is None:
            return None
        month = int(match["m"] or match["m2"])
        day = int(match["d"] or match["d2"])
        found = _year_for(month, day, now)
        if found is None:
            return None
        year = found
    return _build(year, month, day, _clock(match), _zone(match["tz"]))


def _clock(match: re.Match[str]) -> tuple[int, int, int, int] | None:
    if match["H"] is None:
        return None
    minute = match["M"] or match["M2"]
    second = match["S"] or match["S2"] or "0"
    micro = int((match["F"] or "0")[:6].ljust(6, "0"))
    return int(match["H"]), int(minute), int(second), micro


@lru_cache(maxsize=64)
def _zone(name: str | None) -> tzinfo | None:
    """The zone a suffix names; ``None`` for an impossible offset such as ``+25:00``."""
    if not name:
        return SHANGHAI
    if name[0] in "+-":
        digits = name[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:])
        if hours > 14 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes)
        return timezone(-offset if name[0] == "-" else offset)
    return _ZONE_NAMES.get(name.lower(), SHANGHAI)


def _year_for(month: int, day: int, now: datetime) -> int | None:
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    today = now.astimezone(SHANGHAI).date()
    latest = today + _SKEW
    # Going back 8 years finds a leap year for 02-29.
    for year in range(today.year + 1, today.year - 8, -1):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate <= latest:
            return year
    return None


def _build(
    year: int,
    month: int,
    day: int,
    clock: tuple[int, int, int, int] | None,
    zone: tzinfo | None,
) -> ParsedTime | None:
    if zone is None:
        return None
    if clock is None:
        # Precision.DATE means 00:00 Asia/Shanghai, whatever zone the source attached to the day.
        zone = SHANGHAI
    hour, minute, second, micro = clock or (0, 0, 0, 0)
    try:
        local = datetime(year, month, day, hour, minute, second, micro, tzinfo=zone)
    except ValueError:
        return None
    precision = Precision.DATE if clock is None else Precision.DATETIME
    return ParsedTime(at=local.astimezone(UTC), precision=precision)

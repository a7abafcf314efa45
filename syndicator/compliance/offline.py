"""``syndicator match``: the offline audit of downstream entries against upstream items.

Input rows (JSON Lines, UTF-8)::

    upstream:   {"id", "title", "doc_no"?, "published_at"}
    downstream: {"id", "title", "published_at", "site"}

``published_at`` is ISO 8601 with an offset, or a date alone (a whole Asia/Shanghai day). Output,
one row per downstream entry that relates to an upstream item::

    {"downstream_id", "upstream_id", "relation", "score", "latency_hours", "on_time"}

``latency_hours`` is null unless both times are exact; ``on_time`` is decided for reposts only and
is null when a day-only time straddles the deadline. A bad row stops everything with its file and
line: nothing is written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from syndicator.rules.deadlines import Moment, on_time
from syndicator.text.match import Matcher

__all__ = ["MatchInputError", "match_files", "read_rows", "write_rows"]


class MatchInputError(ValueError):
    """A row that cannot be read; ``str()`` names the file, the line and the field."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(f"{path}:{line}: {message}")
        self.path, self.line = path, line


@dataclass(frozen=True, slots=True)
class _Row:
    id: str
    title: str
    moment: Moment
    doc_no: str | None
    line: int


def _moment(value: Any, path: Path, line: int) -> Moment:
    if not isinstance(value, str) or not value.strip():
        raise MatchInputError(path, line, 'field "published_at" must be an ISO 8601 string')
    try:
        return Moment.parse(value)
    except ValueError as exc:
        if "offset" in str(exc):
            raise MatchInputError(path, line, f'field "published_at": {exc}') from None
        raise MatchInputError(
            path,
            line,
            f'field "published_at": {value!r} is not ISO 8601 (e.g. 2024-01-05T10:30:00+08:00)',
        ) from None


def read_rows(path: Path, *, required: tuple[str, ...]) -> Iterator[_Row]:
    """Rows of a JSON Lines file; blank lines are skipped, ids must be unique."""
    seen: dict[str, int] = {}
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise MatchInputError(path, 0, f"cannot read: {exc.strerror}") from None
    with handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                row = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise MatchInputError(path, number, f"not valid JSON: {exc.msg}") from None
            if not isinstance(row, dict):
                raise MatchInputError(path, number, "each line must be a JSON object")
            for field in required:
                if field not in row:
                    raise MatchInputError(path, number, f'missing field "{field}"')
            for field in ("id", "title"):
                if not isinstance(row[field], str) or not row[field].strip():
                    raise MatchInputError(
                        path, number, f'field "{field}" must be a non-empty string'
                    )
            if row["id"] in seen:
                raise MatchInputError(
                    path, number, f'duplicate id "{row["id"]}" (first on line {seen[row["id"]]})'
                )
            seen[row["id"]] = number
            doc_no = row.get("doc_no")
            if doc_no is not None and not isinstance(doc_no, str):
                raise MatchInputError(path, number, 'field "doc_no" must be a string')
            yield _Row(
                row["id"], row["title"], _moment(row["published_at"], path, number), doc_no, number
            )


def match_files(
    upstream: Path, downstream: Path, *, deadline: timedelta, workers: int | None = None
) -> list[dict[str, Any]]:
    """Match every downstream row against the upstream rows; return the output rows.

    The entries go to :meth:`Matcher.match_many` as one batch: a big one is shared out over
    *workers* processes (``None``: every core; see the method), with the same result as one.
    """
    items = list(read_rows(upstream, required=("id", "title", "published_at")))
    entries = list(read_rows(downstream, required=("id", "title", "published_at", "site")))
    matcher = Matcher((row.id, row.title, row.doc_no, row.moment.earliest) for row in items)
    published = {row.id: row.moment for row in items}
    matches = matcher.match_many(
        [(entry.title, entry.moment.latest) for entry in entries], workers=workers
    )
    out: list[dict[str, Any]] = []
    for entry, found in zip(entries, matches, strict=True):
        if found is None:
            continue
        up = published[found.upstream_id]
        if up.earliest > entry.moment.latest:
            continue  # nothing reposts what was not yet published
        latency = None
        if up.is_exact and entry.moment.is_exact:
            latency = round((entry.moment.earliest - up.earliest).total_seconds() / 3600, 2)
        out.append(
            {
                "downstream_id": entry.id,
                "upstream_id": found.upstream_id,
                "relation": found.relation,
                "score": found.score,
                "latency_hours": latency,
                "on_time": on_time(up, entry.moment, deadline)
                if found.relation == "repost"
                else None,
            }
        )
    return out


def write_rows(rows: list[dict[str, Any]], out: Path) -> None:
    """Write JSON Lines atomically: a reader never sees half a file."""
    tmp = out.with_name(f".{out.name}.tmp")
    with tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(out)

"""Consistency checks for the labelled repost-matching development set in tests/data/repost/.

The set is documented in tests/data/repost/README.md; the counts asserted here are the ones
the README states, so changing the data means updating both.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "repost"
CST = timezone(timedelta(hours=8))

RELATIONS = {"repost", "news", "interpretation", "none"}
HARD_NEGATIVE_KINDS = {
    "edition",
    "implementing",
    "same_topic",
    "provincial_forward",
    "local_news",
    "local_notice",
}
PORTALS = {"gov.cn", "jiangxi"}

# Documented in README.md ("Counts").
N_UPSTREAM = 120
N_DOWNSTREAM = 500
RELATION_COUNTS = {"repost": 186, "news": 42, "interpretation": 39, "none": 233}
HARD_NEGATIVE_COUNTS = {
    ("repost", "edition"): 37,
    ("repost", "implementing"): 23,
    ("repost", "same_topic"): 26,
    ("repost", "provincial_forward"): 7,
    ("news", "edition"): 8,
    ("news", "implementing"): 4,
    ("news", "same_topic"): 5,
    ("interpretation", "edition"): 3,
    ("interpretation", "implementing"): 8,
    ("interpretation", "same_topic"): 7,
    ("none", "edition"): 8,
    ("none", "implementing"): 13,
    ("none", "same_topic"): 10,
    ("none", "local_news"): 8,
    ("none", "local_notice"): 6,
}
N_UNRELATED_LOCAL = 188

DOC_NO = re.compile(r"^(国务院令第\d+号|[\u4e00-\u9fff]+〔\d{4}〕\d+号)$")


def _load(name: str) -> list[dict[str, Any]]:
    rows = []
    with (DATA / name).open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            assert line.strip(), f"{name}:{n} is blank"
            row = json.loads(line)
            assert isinstance(row, dict), f"{name}:{n} is not an object"
            rows.append(row)
    return rows


@pytest.fixture(scope="module")
def upstream() -> list[dict[str, Any]]:
    return _load("upstream.jsonl")


@pytest.fixture(scope="module")
def downstream() -> list[dict[str, Any]]:
    return _load("downstream.jsonl")


@pytest.fixture(scope="module")
def labels() -> list[dict[str, Any]]:
    return _load("labels.jsonl")


def _aware(value: str) -> datetime:
    dt = datetime.fromisoformat(value)
    assert dt.tzinfo is not None, f"{value!r} has no UTC offset"
    return dt


def _downstream_time(value: str) -> datetime | date:
    if len(value) == 10:
        return date.fromisoformat(value)
    return _aware(value)


def _kind(label: dict[str, Any]) -> str:
    return str(label["note"]).split(":", 1)[0]


def test_sizes(
    upstream: list[dict[str, Any]],
    downstream: list[dict[str, Any]],
    labels: list[dict[str, Any]],
) -> None:
    assert len(upstream) == N_UPSTREAM
    assert len(downstream) == N_DOWNSTREAM
    assert len(labels) == N_DOWNSTREAM


def test_upstream_rows(upstream: list[dict[str, Any]]) -> None:
    ids = [u["id"] for u in upstream]
    assert len(ids) == len(set(ids))
    for u in upstream:
        assert set(u) <= {"id", "title", "doc_no", "published_at", "portal"}, u["id"]
        assert re.fullmatch(r"u\d{3}", u["id"])
        assert u["title"].strip() == u["title"] and u["title"]
        assert u["portal"] in PORTALS
        _aware(u["published_at"])
        if "doc_no" in u:
            assert DOC_NO.match(u["doc_no"]), u


def test_downstream_rows(downstream: list[dict[str, Any]]) -> None:
    ids = [d["id"] for d in downstream]
    assert len(ids) == len(set(ids))
    for d in downstream:
        assert set(d) == {"id", "title", "published_at", "site"}, d["id"]
        assert re.fullmatch(r"d\d{4}", d["id"])
        assert d["title"].strip() and d["site"]
        _downstream_time(d["published_at"])
    assert any(len(d["published_at"]) == 10 for d in downstream), "no date-only entries"


def test_every_downstream_labelled_once(
    upstream: list[dict[str, Any]],
    downstream: list[dict[str, Any]],
    labels: list[dict[str, Any]],
) -> None:
    up_ids = {u["id"] for u in upstream}
    counts = Counter(label["downstream_id"] for label in labels)
    assert set(counts) == {d["id"] for d in downstream}
    assert set(counts.values()) == {1}
    for label in labels:
        assert set(label) == {"downstream_id", "upstream_id", "relation", "hard_negative", "note"}
        assert label["relation"] in RELATIONS
        assert isinstance(label["hard_negative"], bool)
        assert isinstance(label["note"], str) and label["note"]
        if label["relation"] == "none":
            assert label["upstream_id"] is None, label
        else:
            assert label["upstream_id"] in up_ids, label
        if label["hard_negative"]:
            assert _kind(label) in HARD_NEGATIVE_KINDS, label


def test_reposts_follow_their_upstream_item(
    upstream: list[dict[str, Any]],
    downstream: list[dict[str, Any]],
    labels: list[dict[str, Any]],
) -> None:
    up = {u["id"]: _aware(u["published_at"]) for u in upstream}
    down = {d["id"]: _downstream_time(d["published_at"]) for d in downstream}
    for label in labels:
        if label["relation"] != "repost":
            continue
        original = up[label["upstream_id"]]
        when = down[label["downstream_id"]]
        if isinstance(when, datetime):
            assert when > original, label
        else:  # date only: same calendar day (China time) is allowed
            assert when >= original.astimezone(CST).date(), label


def test_counts_match_readme(labels: list[dict[str, Any]]) -> None:
    assert dict(Counter(label["relation"] for label in labels)) == RELATION_COUNTS
    hard = Counter((label["relation"], _kind(label)) for label in labels if label["hard_negative"])
    assert dict(hard) == HARD_NEGATIVE_COUNTS
    unrelated = [label for label in labels if label["note"] == "unrelated local content"]
    assert len(unrelated) == N_UNRELATED_LOCAL
    assert all(label["relation"] == "none" for label in unrelated)
    assert not any(label["hard_negative"] for label in unrelated)


def test_late_and_on_time_reposts_both_present(labels: list[dict[str, Any]]) -> None:
    notes = [label["note"] for label in labels if label["relation"] == "repost"]
    assert any(re.search(r"(^|; )late \d", n) for n in notes)
    assert any(re.search(r"(^|; )on time \d", n) for n in notes)
    assert any("straddles deadline" in n for n in notes)

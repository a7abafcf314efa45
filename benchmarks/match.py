"""Repost matching benchmark: accuracy on the labelled development set, against a naive baseline.

Data: ``tests/data/repost/`` (see its README for provenance). Strict scoring: a downstream entry
labelled ``repost`` (forwarding notices included) is a positive; a prediction is a true positive
only when it says ``repost`` *and* names the labelled upstream item. News and interpretations are
scored apart. The baseline, run in the same process, is the naive rule from the issue: the
upstream item whose title's character bigrams are ≥ 80 % contained in the entry's title.

Not yet here (issue 3 is in progress): the 10,000 × 100,000 batch timing, the comparison with a
rapidfuzz all-pairs baseline and the incremental p99; the JSON line reports them as null.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from syndicator.rules.deadlines import Moment
from syndicator.text.match import Matcher, bigrams

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "repost"


def _moment(value: str) -> Moment:
    if len(value) == 10:
        return Moment.day(date.fromisoformat(value))
    return Moment.exact(datetime.fromisoformat(value))


def _load(name: str) -> list[dict[str, Any]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def __str__(self) -> str:
        return (
            f"P {self.precision:.3f}  R {self.recall:.3f}  F1 {self.f1:.3f}  "
            f"(tp {self.tp}, fp {self.fp}, fn {self.fn})"
        )


Predict = Callable[[str], tuple[str, str] | None]  # title -> (relation, upstream id)


def score(
    predict: Predict, relation: str, labels: dict[str, dict[str, Any]], titles: dict[str, str]
) -> tuple[Score, list[str]]:
    result = Score()
    errors: list[str] = []
    for entry_id, label in labels.items():
        guess = predict(titles[entry_id])
        said = guess is not None and guess[0] == relation
        truth = label["relation"] == relation
        if said and truth and guess is not None and guess[1] == label["upstream_id"]:
            result.tp += 1
            continue
        if said:
            result.fp += 1
            errors.append(f"FP {entry_id} {titles[entry_id]} -> {guess}")
        if truth:
            result.fn += 1
            errors.append(f"FN {entry_id} {titles[entry_id]} (label {label['upstream_id']})")
    return result, errors


def main() -> int:
    upstream = _load("upstream.jsonl")
    downstream = _load("downstream.jsonl")
    labels = {row["downstream_id"]: row for row in _load("labels.jsonl")}
    titles = {row["id"]: row["title"] for row in downstream}
    print(f"dev set: {len(upstream)} upstream items, {len(downstream)} downstream entries")

    matcher = Matcher(
        (r["id"], r["title"], r.get("doc_no"), _moment(r["published_at"]).earliest)
        for r in upstream
    )
    times = {row["title"]: _moment(row["published_at"]).latest for row in downstream}

    def ours(title: str) -> tuple[str, str] | None:
        found = matcher.match(title, at=times[title])
        return (found.relation, found.upstream_id) if found else None

    grams = [(r["id"], bigrams(r["title"])) for r in upstream]

    def naive(title: str) -> tuple[str, str] | None:
        mine = bigrams(title)
        best, best_id = 0.0, None
        for item_id, item in grams:
            containment = len(item & mine) / len(item)
            if containment > best:
                best, best_id = containment, item_id
        return ("repost", best_id) if best >= 0.8 and best_id else None

    started = time.perf_counter()
    strict, errors = score(ours, "repost", labels, titles)
    elapsed = time.perf_counter() - started
    baseline, _ = score(naive, "repost", labels, titles)
    news, _ = score(ours, "news", labels, titles)
    interpretation, _ = score(ours, "interpretation", labels, titles)
    print(f"baseline (bigram containment ≥ 0.8): {baseline}")
    print(f"syndicator reposts (strict):         {strict}")
    print(f"syndicator news:                     {news}")
    print(f"syndicator interpretations:          {interpretation}")
    print(
        f"F1 ratio vs baseline: {strict.f1 / baseline.f1:.3f}; "
        f"{len(labels) / elapsed:,.0f} entries/s on the dev set"
    )
    for line in errors[: int(os.environ.get("SHOW_ERRORS", "30"))]:
        print("  " + line)
    print(
        json.dumps(
            {
                "benchmark": "match",
                "batch_seconds": None,
                "ratio_vs_cdist": None,
                "incremental_p99_ms": None,
                "dev_strict_f1": round(strict.f1, 4),
                "baseline_f1": round(baseline.f1, 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

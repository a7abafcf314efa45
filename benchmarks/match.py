"""Repost matching benchmark: accuracy on the labelled development set, against a naive baseline.

Data: ``tests/data/repost/`` (see its README for provenance). Strict scoring: a downstream entry
labelled ``repost`` (forwarding notices included) is a positive; a prediction is a true positive
only when it says ``repost`` *and* names the labelled upstream item. News and interpretations are
scored apart. The baseline, run in the same process, is the naive rule from the issue: the
upstream item whose title's character bigrams are ≥ 80 % contained in the entry's title.

Incremental speed: one new entry matched against 10,000 open items (synthetic titles built from
government phrasing: issuers × actions × years × topics × document types), p99 over 2,000 entries
of which 70 % repost an item (as is, tagged, or wrapped) and 30 % are local documents sharing the
same vocabulary. Target p99 ≤ 2 ms.

Not yet here (issue 3 is in progress): the 10,000 × 100,000 batch timing and the comparison with a
rapidfuzz all-pairs baseline; the JSON line reports them as null.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from syndicator.rules.deadlines import Moment
from syndicator.text.match import Matcher, bigrams

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "repost"


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


ISSUERS = [
    "国务院",
    "国务院办公厅",
    "江西省人民政府",
    "江西省人民政府办公厅",
    "国家发展改革委",
    "财政部",
    "教育部",
    "民政部",
    "人力资源社会保障部",
    "生态环境部",
]
ACTIONS = [
    "关于进一步加强",
    "关于加快推进",
    "关于深化",
    "关于促进",
    "关于做好",
    "关于全面推进",
    "关于健全",
    "关于完善",
    "关于规范",
    "关于支持",
]
TOPICS = [
    "政务公开",
    "营商环境",
    "就业创业",
    "养老服务",
    "医疗保障",
    "安全生产",
    "乡村振兴",
    "数字政府",
    "生态环境保护",
    "科技创新",
    "消费扩容",
    "外贸稳定",
    "粮食生产",
    "防汛抗旱",
    "城市更新",
    "基层治理",
    "应急管理",
    "教育评价",
    "住房保障",
    "交通运输",
    "能源安全",
    "文化旅游",
    "知识产权",
    "政务服务",
    "社会救助",
]
EXTRA = [
    "工作",
    "体系建设",
    "高质量发展",
    "改革",
    "管理",
    "试点",
    "三年行动",
    "专项治理",
    "能力提升",
    "长效机制",
]
TYPES = ["的通知", "的意见", "的实施意见", "的决定", "的指导意见", "的实施方案", "的若干措施"]


def incremental_p99(items: int = 10_000, entries: int = 2_000) -> tuple[float, float]:
    """(p50, p99) milliseconds to match one entry against *items* open items."""
    rng = random.Random(0)
    titles: set[str] = set()
    while len(titles) < items:
        titles.add(
            f"{rng.choice(ISSUERS)}{rng.choice(ACTIONS)}{rng.randint(2015, 2026)}年"
            f"{rng.choice(TOPICS)}{rng.choice(EXTRA)}{rng.choice(TYPES)}"
        )
    ordered = sorted(titles)
    matcher = Matcher((f"u{i}", t, None) for i, t in enumerate(ordered))
    samples = []
    for _ in range(entries):
        title, roll = rng.choice(ordered), rng.random()
        if roll < 0.3:
            samples.append(title)
        elif roll < 0.5:
            samples.append(f"【转载】{title}")
        elif roll < 0.7:
            samples.append(f"修水县人民政府办公室关于转发《{title}》的通知")
        else:
            samples.append(
                f"南昌市人民政府关于{rng.choice(TOPICS)}{rng.choice(EXTRA)}{rng.choice(TYPES)}"
            )
    latencies = []
    for title in samples:
        started = time.perf_counter()
        matcher.match(title)
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]


def main() -> int:
    upstream = _load("upstream.jsonl")
    downstream = _load("downstream.jsonl")
    labels = {row["downstream_id"]: row for row in _load("labels.jsonl")}
    titles = {row["id"]: row["title"] for row in downstream}
    print(f"dev set: {len(upstream)} upstream items, {len(downstream)} downstream entries")

    matcher = Matcher(
        (r["id"], r["title"], r.get("doc_no"), Moment.parse(r["published_at"]).earliest)
        for r in upstream
    )
    times = {row["title"]: Moment.parse(row["published_at"]).latest for row in downstream}

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
    p50, p99 = incremental_p99()
    print(
        f"incremental: one entry against 10,000 open items: p50 {p50:.3f} ms, "
        f"p99 {p99:.3f} ms (target ≤ 2 ms)"
    )
    for line in errors[: int(os.environ.get("SHOW_ERRORS", "30"))]:
        print("  " + line)
    print(
        json.dumps(
            {
                "benchmark": "match",
                "batch_seconds": None,
                "ratio_vs_cdist": None,
                "incremental_p99_ms": round(p99, 3),
                "dev_strict_f1": round(strict.f1, 4),
                "baseline_f1": round(baseline.f1, 4),
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Which upstream item, if any, a downstream list entry reposts — or reports on, or explains.

Pure functions over titles. :class:`Matcher` keeps the open upstream items in two indexes: their
normalised titles (exact look-up) and an inverted index of character bigrams (candidates for
everything else), so one entry is compared with a handful of items, never with all of them.

An entry is first sorted by what it *is*, from its raw title:

* ``interpretation`` — 解读, 图解, 一图读懂, 答记者问, 吹风会 …;
* ``news`` — a headline about a document: ``国务院办公厅印发《…》``, ``…审议通过《…》``;
* otherwise a possible ``repost`` (forwarding notices included).

Reposts are then scored on normalised titles (see :mod:`syndicator.text.normalise`): identical →
1.0; a truncated title that is a prefix of one item → 0.97; otherwise the Dice overlap of
character bigrams, accepted at :data:`REPOST_THRESHOLD` only if the guards hold: the numbers in
both titles are the same (editions: 2024 ≠ 2025), the document numbers agree when both are given,
and the entry is not a local implementing document (贯彻落实…实施意见) of the item.
"""

from __future__ import annotations

import heapq
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from syndicator.text.docno import DocNo, parse_doc_no
from syndicator.text.normalise import analyse_title, normalise_title

__all__ = ["REPOST_THRESHOLD", "Match", "Matcher", "Relation", "bigrams", "classify_relation"]

Relation = Literal["repost", "news", "interpretation"]

REPOST_THRESHOLD = 0.86
REFERENCE_THRESHOLD = 0.9
_MIN_PREFIX = 10
_CANDIDATES = 8
_VOTING_GRAMS = 12
_REFERENCE_VOTING_GRAMS = 20

_INTERPRETATION = re.compile(
    r"解读|图解|一图读懂|一图看懂|图说|答记者问|吹风会|政策问答|热点问答|权威解答|专家解析|读懂"
)
_NEWS = re.compile(
    r"^[^《》]{0,30}(?<!关于)(印发|审议通过|签署|公布|发布|出台|通过)[了]?《[^》]+》(?![^《》]*的通知$)"
    r"|^《[^》]+》(正式)?(发布|印发|公布|出台)"
    r"|^[^《》]{0,12}作出关于"
)
_IMPLEMENTING = re.compile(
    r"贯彻落实|贯彻执行|实施意见|实施方案|实施细则|落实方案|工作方案|细化措施"
)
_DIGITS = re.compile(r"\d+")
_QUOTED = re.compile(r"《([^》]+)》")


def bigrams(text: str) -> set[str]:
    return {text[i : i + 2] for i in range(len(text) - 1)} if len(text) > 1 else {text}


def classify_relation(title: str) -> Relation:
    """What kind of entry a raw downstream title is (before matching)."""
    if _INTERPRETATION.search(title):
        return "interpretation"
    if "转发" not in title and _NEWS.search(title.strip()):
        return "news"
    return "repost"


@dataclass(frozen=True, slots=True)
class Match:
    """The upstream item an entry relates to, how, and how sure the matcher is."""

    upstream_id: str
    relation: Relation
    score: float
    reason: str


@dataclass(frozen=True, slots=True)
class _Item:
    id: str
    text: str
    outer: str
    grams: frozenset[str]
    numbers: tuple[str, ...]
    doc_no: DocNo | None
    published: datetime | None


def _numbers(text: str) -> tuple[str, ...]:
    return tuple(sorted(_DIGITS.findall(text)))


def _dice(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


class Matcher:
    """An index of open upstream items, matched against downstream titles one at a time."""

    def __init__(
        self,
        items: Iterable[tuple[str, str, str | None] | tuple[str, str, str | None, datetime]] = (),
    ) -> None:
        self._items: dict[str, _Item] = {}
        self._by_text: dict[str, set[str]] = defaultdict(set)
        self._by_outer: dict[str, set[str]] = defaultdict(set)
        self._postings: dict[str, set[str]] = defaultdict(set)
        for item_id, title, doc_no, *published in items:
            self.add(item_id, title, doc_no, published=published[0] if published else None)

    def __len__(self) -> int:
        return len(self._items)

    def add(
        self,
        item_id: str,
        title: str,
        doc_no: str | None = None,
        *,
        published: datetime | None = None,
    ) -> None:
        """Index one upstream item (``doc_no`` as published, else read from the title).

        ``published`` lets identical titles of different years (the yearly 政府工作报告分工
        opinion) be told apart: an entry reposts the latest one published before it.
        """
        self.remove(item_id)
        form = analyse_title(title)
        parsed = parse_doc_no(doc_no) if doc_no else form.doc_no
        item = _Item(
            item_id,
            form.text,
            form.layers[0],
            frozenset(bigrams(form.text)),
            _numbers(form.text),
            parsed,
            published,
        )
        self._items[item_id] = item
        self._by_text[item.text].add(item_id)
        self._by_outer[item.outer].add(item_id)
        for gram in item.grams:
            self._postings[gram].add(item_id)

    def remove(self, item_id: str) -> None:
        item = self._items.pop(item_id, None)
        if item is None:
            return
        self._by_text[item.text].discard(item_id)
        self._by_outer[item.outer].discard(item_id)
        for gram in item.grams:
            self._postings[gram].discard(item_id)

    def _candidates(self, grams: set[str], voters: int = _VOTING_GRAMS) -> list[_Item]:
        # Only the rarest bigrams vote: 关于/通知/国务 are in thousands of items and say nothing
        # about which one this is, while costing most of the counting. Ties break on the gram
        # and the id, so results never depend on hash order.
        rare = sorted((len(p), g) for g in grams if (p := self._postings.get(g)))[:voters]
        counts: Counter[str] = Counter()
        for _, gram in rare:
            counts.update(self._postings[gram])
        best = heapq.nsmallest(_CANDIDATES, counts.items(), key=lambda kv: (-kv[1], kv[0]))
        return [self._items[i] for i, _ in best]

    def match(self, title: str, *, at: datetime | None = None) -> Match | None:
        """The best related upstream item for a downstream *title* published *at*, or None."""
        relation = classify_relation(title)
        if relation == "repost":
            return self._match_repost(title, at)
        return self._match_reference(title, relation)

    def _pick(self, ids: Iterable[str], doc_no: DocNo | None, at: datetime | None) -> str | None:
        """Among items with the same title: the 文号 decides, then the latest one before *at*."""
        items = [
            self._items[i]
            for i in ids
            if not (doc_no and self._items[i].doc_no and doc_no != self._items[i].doc_no)
        ]
        if not items:
            return None
        if at is not None:
            earlier = [i for i in items if i.published is None or i.published <= at]
            items = earlier or items
        newest = max(items, key=lambda i: (i.published is not None, i.published or at, i.id))
        return newest.id

    def _match_repost(self, title: str, at: datetime | None) -> Match | None:
        form = analyse_title(title)
        text = form.text
        if not text:
            return None
        # A forwarding notice can itself be the upstream item (江西省人民政府办公厅转发国务院
        # 办公厅…): try the entry's layers, outermost first, against the items' own titles.
        for layer in form.layers:
            found = self._pick(self._by_outer.get(layer, ()), form.doc_no, at)
            if found is not None:
                return Match(found, "repost", 1.0, "identical title after normalisation")
        found = self._pick(self._by_text.get(text, ()), form.doc_no, at)
        if found is not None:
            return Match(found, "repost", 1.0, "identical document after removing wrappers")
        grams = bigrams(text)
        numbers = _numbers(text)
        local = _IMPLEMENTING.search(text)
        best_match: Match | None = None
        for item in self._candidates(grams):
            if form.doc_no and item.doc_no and form.doc_no != item.doc_no:
                continue
            if local and not _IMPLEMENTING.search(item.text):
                continue  # a local implementing document is its own document
            if form.truncated and len(text) >= _MIN_PREFIX and item.text.startswith(text):
                candidate = Match(item.id, "repost", 0.97, "truncated title is a prefix")
            else:
                if numbers != item.numbers:
                    continue  # another edition or another year
                score = _dice(grams, item.grams)
                if score < REPOST_THRESHOLD:
                    continue
                candidate = Match(item.id, "repost", round(score, 3), "title bigram overlap")
            if best_match is None or candidate.score > best_match.score:
                best_match = candidate
        return best_match

    def _match_reference(self, title: str, relation: Relation) -> Match | None:
        quoted = _QUOTED.findall(title)
        reference = normalise_title(max(quoted, key=len)) if quoted else normalise_title(title)
        if len(reference) < 4:
            return None
        grams = bigrams(reference)
        numbers = set(_numbers(reference))
        best_match: Match | None = None
        # News and interpretations quote a name: more of its bigrams vote (measured on the
        # development set; letting all vote lets common words crowd the right item out).
        for item in self._candidates(grams, voters=_REFERENCE_VOTING_GRAMS):
            if not numbers <= set(item.numbers):
                continue
            if reference in item.text:
                score = 1.0
            else:
                score = len(grams & item.grams) / len(grams)
                if score < REFERENCE_THRESHOLD:
                    continue
            candidate = Match(item.id, relation, round(score, 3), f"{relation} of the item")
            if best_match is None or candidate.score > best_match.score:
                best_match = candidate
        return best_match

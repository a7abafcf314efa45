"""Which upstream item, if any, a downstream list entry reposts — or reports on, or explains.

Pure functions over titles. :class:`Matcher` keeps the open upstream items in two indexes: their
normalised titles (exact look-up) and an inverted index of character bigrams (candidates for
everything else), so one entry is compared with a handful of items, never with all of them.
:meth:`Matcher.match` takes one entry; :meth:`Matcher.match_many` a batch, with the same results.

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

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from syndicator.text._fork import available_cores, can_fork, fork_map
from syndicator.text.docno import DocNo, parse_doc_no
from syndicator.text.normalise import TitleForm, analyse_title, normalise_title

__all__ = ["REPOST_THRESHOLD", "Match", "Matcher", "Relation", "bigrams", "classify_relation"]

Relation = Literal["repost", "news", "interpretation"]

REPOST_THRESHOLD = 0.86
REFERENCE_THRESHOLD = 0.9
PARALLEL_MIN = 20_000  # below this many entries, forking costs more than a second core saves
_RANKED_MIN = 1_000  # from this many entries on, a batch ranks the bigrams once
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
    slot: int
    title: str
    form: TitleForm
    text: str
    outer: str
    grams: frozenset[str]
    numbers: tuple[str, ...]
    number_set: frozenset[str]
    doc_no: DocNo | None
    published: datetime | None
    implementing: bool


def _numbers(text: str) -> tuple[str, ...]:
    return tuple(sorted(_DIGITS.findall(text)))


def _dice(a: frozenset[str] | set[str], b: frozenset[str] | set[str]) -> float:
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def _reference(title: str) -> str:
    """The name a news item or interpretation refers to: its longest 《…》, else the title."""
    quoted = _QUOTED.findall(title)
    return normalise_title(max(quoted, key=len)) if quoted else normalise_title(title)


def _votes_needed(voters: int, grams: int, shared: float) -> int:
    """The fewest votes an item can have if it holds at least *shared* × *grams* of the bigrams.

    Such an item lacks at most ``grams - ⌈shared × grams⌉`` of them, so at most that many of
    the voters (a subset of the bigrams) miss it. The product is rounded down, not up: a bound
    one vote too low is still a bound, and float error cannot make it too high.
    """
    return max(1, voters - (grams - int(shared * grams - 1e-9)))


# Dice ≥ τ needs |A ∩ B| ≥ τ|A|/(2 − τ) (as |B| ≥ |A ∩ B|); a prefix shares all of A.
_REPOST_SHARE = REPOST_THRESHOLD / (2 - REPOST_THRESHOLD)

_SAME_TITLE = "identical title after normalisation"
_SAME_DOCUMENT = "identical document after removing wrappers"
_PREFIX = "truncated title is a prefix"
_OVERLAP = "title bigram overlap"

_Row = tuple[str, Relation, float, str]  # a Match as a child process sends it back
_Exact = tuple[str, list[_Item]]  # why, and the items with that title (文号 agreeing)


def _pack(found: Match | None) -> _Row | None:
    if found is None:
        return None
    return (found.upstream_id, found.relation, found.score, found.reason)


@dataclass(slots=True)
class _Seen:
    """A distinct title of a batch: what is known of it whatever the entry's time."""

    form: TitleForm | None  # reposts only
    exact: _Exact | None = None
    fixed: Match | None = None  # the result when it does not depend on the time
    similar: Match | None = None
    done: bool = False


class _Batch:
    """What the entries of one :meth:`Matcher.match_many` call share (the index stays put).

    A big batch ranks every indexed bigram once, rarest first (ties on the bigram, as
    :meth:`Matcher._candidates` sorts them), so an entry's voters are the lowest ranks among
    its bigrams, and entries with the same voters share their candidates.
    """

    __slots__ = ("candidates", "masks", "rank", "seen")

    def __init__(
        self, df: dict[str, int] | None = None, masks: dict[str, int] | None = None
    ) -> None:
        self.rank: dict[str, int] | None = None
        self.masks: list[int] = []
        if df is not None and masks is not None:
            order = sorted(df, key=lambda gram: (df[gram], gram))
            self.rank = {gram: i for i, gram in enumerate(order)}
            self.masks = [masks[gram] for gram in order]
        self.candidates: dict[tuple[tuple[int, ...], int], list[_Item]] = {}
        self.seen: dict[str, _Seen] = {}


class Matcher:
    """An index of open upstream items, matched against downstream titles.

    Candidates come from an inverted index of bigrams kept as bitsets over *slots* (an item's
    position in the index): counting the votes of an entry's rarest bigrams is a few dozen
    big-integer operations, however many items share them. Ties between candidates with the
    same number of votes break on the slot, so results never depend on hash order: the items
    given to the constructor are in the order of their ids, those added later after them in the
    order they came.
    """

    def __init__(
        self,
        items: Iterable[tuple[str, str, str | None] | tuple[str, str, str | None, datetime]] = (),
    ) -> None:
        self._items: dict[str, _Item] = {}
        self._slots: list[_Item | None] = []
        self._by_text: dict[str, set[str]] = {}
        self._by_outer: dict[str, set[str]] = {}
        self._df: dict[str, int] = {}  # bigram -> how many open items have it
        self._masks: dict[str, int] = {}  # bigram -> bitset of the slots of those items
        self._pending: dict[str, list[int]] = {}  # bits not yet set in _masks
        # The items' own titles, analysed: an entry that carries one as is needs no analysis.
        self._forms: dict[str, tuple[TitleForm, int]] = {}  # title -> (form, how many items)
        self._numbers: dict[tuple[str, ...], int] = {}  # numbers -> how many items have them
        # Items given together take their slots in the order of their ids (the last of a
        # repeated id wins, as with add), so their ties break on the id.
        given = {item[0]: item for item in items}
        for item_id, title, doc_no, *published in (given[i] for i in sorted(given)):
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
        form = self._analyse(title)
        parsed = parse_doc_no(doc_no) if doc_no else form.doc_no
        numbers = _numbers(form.text)
        item = _Item(
            item_id,
            len(self._slots),
            title,
            form,
            form.text,
            form.layers[0],
            frozenset(bigrams(form.text)),
            numbers,
            frozenset(numbers),
            parsed,
            published,
            _IMPLEMENTING.search(form.text) is not None,
        )
        self._insert(item)

    def remove(self, item_id: str) -> None:
        item = self._items.pop(item_id, None)
        if item is None:
            return
        self._flush()
        self._slots[item.slot] = None
        form, count = self._forms[item.title]
        if count == 1:
            del self._forms[item.title]
        else:
            self._forms[item.title] = (form, count - 1)
        _discard(self._by_text, item.text, item_id)
        _discard(self._by_outer, item.outer, item_id)
        if self._numbers[item.numbers] == 1:
            del self._numbers[item.numbers]
        else:
            self._numbers[item.numbers] -= 1
        bit = 1 << item.slot
        for gram in item.grams:
            if self._df[gram] == 1:
                del self._df[gram], self._masks[gram]
            else:
                self._df[gram] -= 1
                self._masks[gram] ^= bit
        if len(self._slots) > max(2 * len(self._items), 1024):
            self._compact()

    def _analyse(self, title: str) -> TitleForm:
        known = self._forms.get(title)
        return known[0] if known is not None else analyse_title(title)

    def _insert(self, item: _Item) -> None:
        self._items[item.id] = item
        self._slots.append(item)
        known = self._forms.get(item.title)
        self._forms[item.title] = (item.form, known[1] + 1 if known else 1)
        self._by_text.setdefault(item.text, set()).add(item.id)
        self._by_outer.setdefault(item.outer, set()).add(item.id)
        self._numbers[item.numbers] = self._numbers.get(item.numbers, 0) + 1
        df, pending = self._df, self._pending
        for gram in item.grams:
            df[gram] = df.get(gram, 0) + 1
            pending.setdefault(gram, []).append(item.slot)

    def _compact(self) -> None:
        """Renumber the slots of the open items, keeping their order (and so the tie-breaks)."""
        live = [item for item in self._slots if item is not None]
        for index in (self._items, self._by_text, self._by_outer, self._df, self._masks):
            index.clear()
        self._numbers.clear()
        self._slots.clear()
        self._pending.clear()
        self._forms.clear()
        for item in live:
            self._insert(replace(item, slot=len(self._slots)))

    def _flush(self) -> None:
        """Set the bits of the items added since the last look-up."""
        size = (len(self._slots) + 7) // 8
        masks = self._masks
        for gram, slots in self._pending.items():
            if len(slots) < 8:
                bits = 0
                for slot in slots:
                    bits |= 1 << slot
            else:
                buffer = bytearray(size)
                for slot in slots:
                    buffer[slot >> 3] |= 1 << (slot & 7)
                bits = int.from_bytes(buffer, "little")
            masks[gram] = masks.get(gram, 0) | bits
        self._pending.clear()

    # -- candidates ---------------------------------------------------------------------------

    def _candidates(
        self, grams: set[str], voters: int, share: float, batch: _Batch | None
    ) -> list[_Item]:
        """The items with the most votes from the entry's *voters* rarest indexed bigrams.

        Only the rarest bigrams vote: 关于/通知/国务 are in thousands of items and say nothing
        about which one this is. At most :data:`_CANDIDATES` items, by votes, ties on the slot;
        items with fewer votes than one sharing *share* of the entry's bigrams must have are left
        out (they would fail the score), which changes no result.
        """
        if batch is None or batch.rank is None:
            df = self._df
            rare = sorted([(n, gram) for gram in grams if (n := df.get(gram, 0))])[:voters]
            if self._pending:
                self._flush()
            masks = [self._masks[gram] for _, gram in rare]
            return self._top(masks, _votes_needed(len(masks), len(grams), share))
        rank = batch.rank
        key = tuple(sorted([r for gram in grams if (r := rank.get(gram)) is not None])[:voters])
        needed = _votes_needed(len(key), len(grams), share)
        found = batch.candidates.get((key, needed))
        if found is None:
            found = batch.candidates[key, needed] = self._top([batch.masks[r] for r in key], needed)
        return found

    def _top(self, masks: list[int], needed: int) -> list[_Item]:
        """Up to :data:`_CANDIDATES` items in most of *masks* (and at least *needed*)."""
        # Bit-sliced counters: bit k of an item's vote count is its bit in planes[k].
        planes: list[int] = []
        for mask in masks:
            carry = mask
            for k, plane in enumerate(planes):
                planes[k] = plane ^ carry
                carry &= plane
                if not carry:
                    break
            else:
                planes.append(carry)
        inverted = [~plane for plane in planes]
        slots: list[int] = []
        for votes in range(min(len(masks), (1 << len(planes)) - 1), needed - 1, -1):
            exactly = -1
            for k, plane in enumerate(planes):
                exactly &= plane if votes >> k & 1 else inverted[k]
                if not exactly:
                    break
            while exactly and len(slots) < _CANDIDATES:
                lowest = exactly & -exactly
                slots.append(lowest.bit_length() - 1)
                exactly ^= lowest
            if len(slots) == _CANDIDATES:
                break
        return [item for slot in slots if (item := self._slots[slot]) is not None]

    # -- matching -----------------------------------------------------------------------------

    def match(self, title: str, *, at: datetime | None = None) -> Match | None:
        """The best related upstream item for a downstream *title* published *at*, or None."""
        relation = classify_relation(title)
        if relation != "repost":
            return self._match_reference(_reference(title), relation, None)
        form = self._analyse(title)
        exact = self._exact(form)
        if exact is not None:
            return Match(self._latest(exact[1], at), "repost", 1.0, exact[0])
        return self._similar(form, None)

    def match_many(
        self, entries: Iterable[tuple[str, datetime | None]], *, workers: int | None = 1
    ) -> list[Match | None]:
        """``[self.match(title, at=at) for title, at in entries]``, for large batches.

        The results are the same; the work is shared: each distinct title is analysed once, and
        entries whose rarest bigrams are the same share their candidates. With *workers* above 1
        (``None``: every available core) a batch of at least :data:`PARALLEL_MIN` entries is
        split by distinct title over that many processes, forked from this one (see
        :mod:`syndicator.text._fork`: not from inside a threaded server).
        """
        batch = entries if isinstance(entries, list) else list(entries)
        if self._pending:
            self._flush()  # once, before any fork
        # Ranking the bigrams pays once there are many more entries than a look-up costs.
        shared = _Batch(self._df, self._masks) if len(batch) >= _RANKED_MIN else _Batch()
        processes = available_cores() if workers is None else workers
        if processes <= 1 or len(batch) < PARALLEL_MIN or not can_fork():
            return self._match_batch(batch, shared)
        # Shards by distinct title, dealt in turn, so that no title is analysed twice.
        shards: list[list[int]] = [[] for _ in range(processes)]
        first: dict[str, int] = {}
        for index, (title, _) in enumerate(batch):
            shards[first.setdefault(title, len(first)) % processes].append(index)

        def run(shard: list[int]) -> list[_Row | None]:
            part = [batch[i] for i in shard]
            return [_pack(found) for found in self._match_batch(part, shared)]

        results: list[Match | None] = [None] * len(batch)
        made: dict[_Row, Match] = {}
        for shard, rows in zip(shards, fork_map(run, shards), strict=True):
            for index, row in zip(shard, rows, strict=True):
                if row is not None:
                    if (found := made.get(row)) is None:
                        found = made[row] = Match(*row)
                    results[index] = found
        return results

    def _match_batch(
        self, entries: list[tuple[str, datetime | None]], batch: _Batch
    ) -> list[Match | None]:
        seen = batch.seen
        results: list[Match | None] = []
        for title, at in entries:
            entry = seen.get(title)
            if entry is None:
                entry = seen[title] = self._first_sight(title, batch)
            if entry.fixed is not None or entry.done:
                results.append(entry.fixed or entry.similar)
            elif entry.exact is not None:
                reason, items = entry.exact
                results.append(Match(self._latest(items, at), "repost", 1.0, reason))
            else:
                assert entry.form is not None  # only reposts have neither
                entry.similar, entry.done = self._similar(entry.form, batch), True
                results.append(entry.similar)
        return results

    def _first_sight(self, title: str, batch: _Batch) -> _Seen:
        relation = classify_relation(title)
        if relation != "repost":
            found = self._match_reference(_reference(title), relation, batch)
            return _Seen(None, similar=found, done=True)
        form = self._analyse(title)
        exact = self._exact(form)
        if exact is None:
            return _Seen(form)
        reason, items = exact
        fixed = Match(items[0].id, "repost", 1.0, reason) if len(items) == 1 else None
        return _Seen(form, exact, fixed)

    def _exact(self, form: TitleForm) -> _Exact | None:
        """The items whose title is the entry's, the 文号 agreeing; why; else None.

        A forwarding notice can itself be the upstream item (江西省人民政府办公厅转发国务院办公厅…):
        the entry's layers are tried, outermost first, against the items' own titles, then the
        document inside all wrappers.
        """
        if not form.text:
            return None
        for layer in form.layers:
            ids = self._by_outer.get(layer)
            if ids and (items := self._agreeing(ids, form.doc_no)):
                return _SAME_TITLE, items
        ids = self._by_text.get(form.text)
        if ids and (items := self._agreeing(ids, form.doc_no)):
            return _SAME_DOCUMENT, items
        return None

    def _agreeing(self, ids: Iterable[str], doc_no: DocNo | None) -> list[_Item]:
        items = [self._items[i] for i in ids]
        if doc_no is None:
            return items
        return [item for item in items if not (item.doc_no and doc_no != item.doc_no)]

    @staticmethod
    def _latest(items: list[_Item], at: datetime | None) -> str:
        """Among items with the same title: the latest one published before *at*."""
        if len(items) == 1:
            return items[0].id
        if at is not None:
            earlier = [i for i in items if i.published is None or i.published <= at]
            items = earlier or items
        newest = max(items, key=lambda i: (i.published is not None, i.published or at, i.id))
        return newest.id

    def _similar(self, form: TitleForm, batch: _Batch | None) -> Match | None:
        """A repost whose title is close to an item's; the same whatever the entry's time."""
        text = form.text
        if not text:
            return None
        numbers = _numbers(text)
        prefix = form.truncated and len(text) >= _MIN_PREFIX
        if not prefix and numbers not in self._numbers:
            return None  # the numbers guard below would refuse every candidate
        grams = bigrams(text)
        local = _IMPLEMENTING.search(text) is not None
        best: tuple[float, str, str] | None = None
        for item in self._candidates(grams, _VOTING_GRAMS, _REPOST_SHARE, batch):
            if form.doc_no and item.doc_no and form.doc_no != item.doc_no:
                continue
            if local and not item.implementing:
                continue  # a local implementing document is its own document
            if prefix and item.text.startswith(text):
                score, reason = 0.97, _PREFIX
            else:
                if numbers != item.numbers:
                    continue  # another edition or another year
                score = _dice(grams, item.grams)
                if score < REPOST_THRESHOLD:
                    continue
                score, reason = round(score, 3), _OVERLAP
            if best is None or score > best[0]:
                best = (score, item.id, reason)
        return Match(best[1], "repost", best[0], best[2]) if best else None

    def _match_reference(
        self, reference: str, relation: Relation, batch: _Batch | None
    ) -> Match | None:
        if len(reference) < 4:
            return None
        grams = bigrams(reference)
        numbers = set(_numbers(reference))
        best: tuple[float, str] | None = None
        # News and interpretations quote a name: more of its bigrams vote (measured on the
        # development set; letting all vote lets common words crowd the right item out).
        voters = _REFERENCE_VOTING_GRAMS
        for item in self._candidates(grams, voters, REFERENCE_THRESHOLD, batch):
            if not numbers <= item.number_set:
                continue
            if reference in item.text:
                score = 1.0
            else:
                score = len(grams & item.grams) / len(grams)
                if score < REFERENCE_THRESHOLD:
                    continue
                score = round(score, 3)
            if best is None or score > best[0]:
                best = (score, item.id)
        return Match(best[1], relation, best[0], f"{relation} of the item") if best else None


def _discard(index: dict[str, set[str]], key: str, item_id: str) -> None:
    ids = index.get(key)
    if ids is not None:
        ids.discard(item_id)
        if not ids:
            del index[key]

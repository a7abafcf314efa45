"""The matcher on the cases staff care about: reposts found, editions and local documents not."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syndicator.rules.deadlines import Moment
from syndicator.text import match as match_module
from syndicator.text._fork import fork_map
from syndicator.text.match import Matcher, classify_relation

ITEMS = [
    ("u-zhiyin", "国务院办公厅关于印发《政府网站发展指引》的通知", "国办发〔2017〕47号"),
    ("u-2024", "国务院办公厅关于2024年部分节假日安排的通知", None),
    ("u-2025", "国务院办公厅关于2025年部分节假日安排的通知", None),
    ("u-yinfa", "国务院关于加快发展银发经济增进老年人福祉的意见", "国发〔2024〕1号"),
    ("u-yanglao", "国务院办公厅关于发展银发经济增进老年人福祉的意见", None),
    ("u-ling", "中华人民共和国政府信息公开条例", "国务院令第711号"),
]


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    return Matcher(ITEMS)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("国务院办公厅关于印发《政府网站发展指引》的通知", "u-zhiyin"),
        (
            "南昌市人民政府办公室关于转发《国务院办公厅关于印发〈政府网站发展指引〉的通知》的通知",
            "u-zhiyin",
        ),
        ("【转载】国务院办公厅关于2024年部分节假日安排的通知", "u-2024"),
        ("转发：国务院办公厅关于2025年部分节假日安排的通知", "u-2025"),
        ("国务院关于加快发展银发经济增进老年人福祉的意见（国发〔2024〕1号）", "u-yinfa"),
        ("国务院关于加快发展银发经济增进老年人福祉的...", "u-yinfa"),
        ("國務院辦公廳關於印發《政府網站發展指引》的通知", "u-zhiyin"),
        ("中华人民共和国政府信息公开条例（全文）", "u-ling"),
    ],
    ids=[
        "same",
        "nested-wrapper",
        "tag",
        "colon-forward",
        "trailing-docno",
        "truncated",
        "traditional",
        "full-text-suffix",
    ],
)
def test_reposts_are_found(matcher: Matcher, title: str, expected: str) -> None:
    found = matcher.match(title)
    assert found is not None and found.relation == "repost"
    assert found.upstream_id == expected


@pytest.mark.parametrize(
    "title",
    [
        "国务院办公厅关于2026年部分节假日安排的通知",
        "江西省人民政府关于贯彻落实《国务院关于加快发展银发经济增进老年人福祉的意见》的实施意见",
        "南昌市加快发展银发经济增进老年人福祉实施方案",
        "市政府召开常务会议 研究部署安全生产等工作",
        "国务院关于加快发展银发经济增进老年人福祉的意见（国发〔2024〕9号）",
    ],
    ids=["other-edition", "provincial-implementing", "city-plan", "local-news", "wrong-docno"],
)
def test_hard_negatives_are_not_reposts(matcher: Matcher, title: str) -> None:
    found = matcher.match(title)
    assert found is None or found.relation != "repost"


@pytest.mark.parametrize(
    ("title", "relation", "expected"),
    [
        ("国务院办公厅印发《政府网站发展指引》", "news", "u-zhiyin"),
        ("一图读懂《政府网站发展指引》", "interpretation", "u-zhiyin"),
        ("《中华人民共和国政府信息公开条例》政策解读", "interpretation", "u-ling"),
    ],
    ids=["news", "infographic", "interpretation"],
)
def test_news_and_interpretations_are_their_own_relations(
    matcher: Matcher, title: str, relation: str, expected: str
) -> None:
    assert classify_relation(title) == relation
    found = matcher.match(title)
    assert found is not None and (found.relation, found.upstream_id) == (relation, expected)


def test_removed_items_are_no_longer_matched() -> None:
    matcher = Matcher(ITEMS)
    matcher.remove("u-2024")
    assert matcher.match("国务院办公厅关于2024年部分节假日安排的通知") is None
    assert len(matcher) == len(ITEMS) - 1


def test_a_provincial_forward_is_matched_to_itself_not_to_the_national_item() -> None:
    matcher = Matcher(
        [
            ("u-national", "国务院办公厅关于2025年部分节假日安排的通知", None),
            (
                "u-jiangxi",
                "江西省人民政府办公厅转发国务院办公厅关于2025年部分节假日安排的通知",
                None,
            ),
        ]
    )
    county = (
        "修水县人民政府办公室关于转发《江西省人民政府办公厅转发"
        "国务院办公厅关于2025年部分节假日安排的通知》的通知"
    )
    assert (found := matcher.match(county)) is not None and found.upstream_id == "u-jiangxi"
    direct = matcher.match("【转载】国务院办公厅关于2025年部分节假日安排的通知")
    assert direct is not None and direct.upstream_id == "u-national"


def test_identical_titles_of_different_years_are_told_apart_by_time() -> None:
    from datetime import UTC, datetime

    title = "国务院关于落实《政府工作报告》重点工作分工的意见"
    matcher = Matcher(
        [
            ("u-2023", title, None, datetime(2023, 4, 6, tzinfo=UTC)),
            ("u-2024", title, None, datetime(2024, 4, 3, tzinfo=UTC)),
        ]
    )
    assert (a := matcher.match(title, at=datetime(2023, 4, 7, tzinfo=UTC))) is not None
    assert a.upstream_id == "u-2023"
    assert (b := matcher.match(f"转发：{title}", at=datetime(2024, 4, 4, tzinfo=UTC))) is not None
    assert b.upstream_id == "u-2024"


# -- the batch API: the same results as one entry at a time ------------------------------------

DEV = Path(__file__).resolve().parents[2] / "data" / "repost"


def _jsonl(name: str) -> list[dict[str, Any]]:
    with (DEV / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _dev_set() -> tuple[Matcher, list[tuple[str, datetime | None]]]:
    matcher = Matcher(
        (r["id"], r["title"], r.get("doc_no"), Moment.parse(r["published_at"]).earliest)
        for r in _jsonl("upstream.jsonl")
    )
    entries: list[tuple[str, datetime | None]] = [
        (r["title"], Moment.parse(r["published_at"]).latest) for r in _jsonl("downstream.jsonl")
    ]
    return matcher, entries


def _synthetic_set(
    seed: int = 7, items: int = 1_500, entries: int = 6_000
) -> tuple[list[tuple[str, str, str | None, datetime]], list[tuple[str, datetime | None]]]:
    """Items in government phrasing and entries of every kind the matcher tells apart."""
    rng = random.Random(seed)
    issuers = ["国务院", "国务院办公厅", "江西省人民政府", "财政部", "教育部", "民政部"]
    actions = ["关于进一步加强", "关于加快推进", "关于深化", "关于促进", "关于做好", "关于健全"]
    topics = ["政务公开", "营商环境", "就业创业", "养老服务", "医疗保障", "安全生产", "乡村振兴"]
    extras = ["工作", "体系建设", "高质量发展", "改革", "管理", "试点", "三年行动"]
    kinds = ["的通知", "的意见", "的实施意见", "的决定", "的实施方案"]
    start = datetime(2016, 1, 1, tzinfo=UTC)
    titles: set[str] = set()
    while len(titles) < items:
        titles.add(
            f"{rng.choice(issuers)}{rng.choice(actions)}{rng.randint(2016, 2025)}年"
            f"{rng.choice(topics)}{rng.choice(extras)}{rng.choice(kinds)}"
        )
    ordered = sorted(titles)
    upstream: list[tuple[str, str, str | None, datetime]] = []
    for i, title in enumerate(ordered):
        doc_no = (
            f"国办发〔{rng.randint(2016, 2025)}〕{rng.randint(1, 80)}号" if i % 5 == 0 else None
        )
        upstream.append((f"u{i}", title, doc_no, start + timedelta(days=rng.randrange(3_000))))
    # The same title in two years: the entry's time decides.
    for i in range(0, 40, 4):
        upstream.append((f"y{i}", ordered[i], None, start + timedelta(days=3_100 + i)))
    # A provincial forward of a national document that is not itself an item.
    for i in range(10):
        national = f"国务院办公厅关于{rng.choice(topics)}第{i}批{rng.choice(extras)}的意见"
        forward = f"江西省人民政府办公厅转发{national}"
        for kind in "fg":
            published = start + timedelta(days=rng.randrange(3_000))
            upstream.append((f"{kind}{i}", forward, None, published))
    out: list[tuple[str, datetime | None]] = []
    for _ in range(entries):
        item_id, title, doc_no, published = rng.choice(upstream)
        roll = rng.random()
        if item_id[0] in "fg":
            title = title.removeprefix("江西省人民政府办公厅转发")
        elif roll < 0.2:
            pass
        elif roll < 0.3:
            title = f"【转载】{title}"
        elif roll < 0.4:
            title = f"{rng.choice(['修水县', '南昌市'])}人民政府办公室关于转发《{title}》的通知"
        elif roll < 0.5:
            title = f"{title[: rng.randint(8, len(title) - 2)]}…"
        elif roll < 0.55:
            title = f"{title}（{doc_no or '赣府发〔2020〕3号'}）"
        elif roll < 0.6:
            title = title.replace("关于", "关于进一步", 1)
        elif roll < 0.65:
            title = title.replace("20", "19", 1)
        elif roll < 0.7:
            title = f"南昌市人民政府关于贯彻落实《{title}》的实施意见"
        elif roll < 0.75:
            title = f"{rng.choice(issuers)}印发《{title[-12:]}》"
        elif roll < 0.8:
            title = f"一图读懂《{title}》"
        else:
            title = f"南昌市{rng.choice(topics)}{rng.choice(extras)}{rng.choice(kinds)}"
        at = None if roll > 0.97 else published + timedelta(hours=rng.randint(-48, 400))
        out.append((title, at))
    out += out[:500]  # repeated titles, some at other times
    return upstream, out


def test_match_many_is_match_on_the_development_set() -> None:
    matcher, entries = _dev_set()
    assert matcher.match_many(entries) == [matcher.match(t, at=at) for t, at in entries]


def test_match_many_is_match_on_a_synthetic_set() -> None:
    items, entries = _synthetic_set()
    matcher = Matcher(items)
    one_by_one = [matcher.match(t, at=at) for t, at in entries]
    assert sum(found is not None for found in one_by_one) > len(entries) // 3
    assert {found.reason for found in one_by_one if found} >= {
        "identical title after normalisation",
        "identical document after removing wrappers",
        "truncated title is a prefix",
        "title bigram overlap",
        "news of the item",
        "interpretation of the item",
    }
    assert matcher.match_many(iter(entries)) == one_by_one


def test_match_many_over_forked_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    items, entries = _synthetic_set(seed=8, entries=2_000)
    matcher = Matcher(items)
    monkeypatch.setattr(match_module, "PARALLEL_MIN", 1)
    assert matcher.match_many(entries, workers=3) == [matcher.match(t, at=at) for t, at in entries]


def test_leaving_out_candidates_with_too_few_votes_changes_no_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items, entries = _synthetic_set(seed=9, entries=3_000)
    matcher = Matcher(items)
    pruned = matcher.match_many(entries)
    monkeypatch.setattr(match_module, "_votes_needed", lambda *_: 1)
    assert matcher.match_many(entries) == pruned
    assert [matcher.match(t, at=at) for t, at in entries] == pruned


class _HasAll(dict[tuple[str, ...], int]):
    def __contains__(self, key: object) -> bool:
        return True


def test_skipping_entries_whose_numbers_no_item_has_changes_no_result() -> None:
    items, entries = _synthetic_set(seed=12, entries=3_000)
    matcher = Matcher(items)
    skipped = [matcher.match(t, at=at) for t, at in entries]
    matcher._numbers = _HasAll(matcher._numbers)
    assert [matcher.match(t, at=at) for t, at in entries] == skipped


def test_an_index_after_removals_matches_like_a_fresh_one() -> None:
    items, entries = _synthetic_set(seed=10, entries=2_000)
    churned = Matcher(items)
    for item_id, *_ in [*items[::3], *items[1::3]]:
        churned.remove(item_id)
    churned.add(*items[1][:3], published=items[1][3])  # back, after the others
    fresh = Matcher(items[2::3])
    fresh.add(*items[1][:3], published=items[1][3])
    assert len(churned) == len(fresh) == len(items[2::3]) + 1
    assert len(churned._slots) < len(items)  # the slots were renumbered
    assert churned.match_many(entries) == fresh.match_many(entries)
    assert [churned.match(t, at=at) for t, at in entries] == fresh.match_many(entries)


def test_results_do_not_depend_on_the_order_items_are_given_in() -> None:
    items, entries = _synthetic_set(seed=11, entries=2_000)
    assert Matcher(items).match_many(entries) == Matcher(items[::-1]).match_many(entries)


def test_fork_map_keeps_order_and_raises_what_a_child_raised() -> None:
    assert fork_map(lambda n: n * n, [1, 2, 3]) == [1, 4, 9]

    def fail(n: int) -> int:
        if n == 2:
            raise ValueError("two")
        return n

    with pytest.raises(ValueError, match="two"):
        fork_map(fail, [1, 2])

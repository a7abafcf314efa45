"""The matcher on the cases staff care about: reposts found, editions and local documents not."""

from __future__ import annotations

import pytest

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

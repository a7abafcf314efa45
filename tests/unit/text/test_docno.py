from __future__ import annotations

import dataclasses

import pytest

from syndicator.text import DocNo, find_doc_nos, parse_doc_no, strip_doc_no

GUOBANFA = DocNo("国办发", 2017, 47)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("国办发〔2017〕47号", GUOBANFA),
        ("国办发[2017]47号", GUOBANFA),
        ("国办发（2017）47号", GUOBANFA),
        ("国办发(2017)47号", GUOBANFA),
        ("国办发【2017】47号", GUOBANFA),
        ("国办发﹝2017﹞47号", GUOBANFA),
        ("国办发〔2017〕第47号", GUOBANFA),
        ("国办发〔２０１７〕４７号", GUOBANFA),
        ("国办发 〔2017〕 47 号", GUOBANFA),
        ("国办发\u3000〔 2017 〕47号", GUOBANFA),
        ("关于印发政府网站发展指引的通知（国办发〔2017〕47号）", GUOBANFA),
        ("关于印发政府网站发展指引的通知国办发〔2017〕47号", GUOBANFA),
        ("根据国办发〔2017〕47号文件精神", GUOBANFA),
        ("《国办发〔2017〕47号》", GUOBANFA),
        ("国发〔2024〕7号", DocNo("国发", 2024, 7)),
        ("国办函〔2023〕115号", DocNo("国办函", 2023, 115)),
        ("国办明电〔2020〕12号", DocNo("国办明电", 2020, 12)),
        ("赣府发〔2024〕3号", DocNo("赣府发", 2024, 3)),
        ("赣府厅发〔2024〕10号", DocNo("赣府厅发", 2024, 10)),
        ("赣府厅字〔2024〕21号", DocNo("赣府厅字", 2024, 21)),
        ("赣府厅明电〔2024〕5号", DocNo("赣府厅明电", 2024, 5)),
        ("闽政办〔2022〕9号", DocNo("闽政办", 2022, 9)),
        ("发改投资〔2024〕1号", DocNo("发改投资", 2024, 1)),
        ("国务院令第777号", DocNo("国务院令", 0, 777)),
        ("（国务院令 第 777 号）", DocNo("国务院令", 0, 777)),
        ("国办发〔1949〕1号", DocNo("国办发", 1949, 1)),
        ("国办发〔2100〕99999号", DocNo("国办发", 2100, 99999)),
    ],
    ids=[
        "lenticular",
        "square",
        "fullwidth-paren",
        "ascii-paren",
        "black-lenticular",
        "small-tortoise",
        "di-before-number",
        "fullwidth-digits",
        "spaces",
        "ideographic-space",
        "in-title-parenthesised",
        "glued-to-title",
        "after-genju",
        "in-book-quotes",
        "guofa",
        "guobanhan",
        "guobanmingdian",
        "ganfufa",
        "ganfutingfa",
        "ganfutingzi",
        "ganfutingmingdian",
        "minzhengban",
        "ministry-prefix",
        "decree",
        "decree-spaced",
        "min-year",
        "max-year-and-number",
    ],
)
def test_parse_doc_no_accepts(text: str, expected: DocNo) -> None:
    assert parse_doc_no(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2024年部分节假日安排",
        "第1号台风",
        "〔2017〕",
        "〔2017〕47号",
        "国办发〔1948〕1号",
        "国办发〔2101〕1号",
        "国办发〔2017〕0号",
        "国办发〔2017〕123456号",
        "国办发〔17〕47号",
        "命令第1号",
        "2024年第1号",
        "",
    ],
    ids=[
        "holiday-title",
        "typhoon",
        "bracket-only",
        "no-prefix",
        "year-too-early",
        "year-too-late",
        "number-zero",
        "number-too-long",
        "two-digit-year",
        "decree-prefix-too-short",
        "year-di-hao-not-decree",
        "empty",
    ],
)
def test_parse_doc_no_rejects(text: str) -> None:
    assert parse_doc_no(text) is None


@pytest.mark.parametrize(
    ("doc_no", "expected"),
    [
        (GUOBANFA, "国办发〔2017〕47号"),
        (DocNo("国务院令", 0, 777), "国务院令第777号"),
    ],
    ids=["dated", "decree"],
)
def test_str_is_canonical(doc_no: DocNo, expected: str) -> None:
    assert str(doc_no) == expected


def test_canonical_form_round_trips() -> None:
    assert parse_doc_no(str(parse_doc_no("国办发[２０１７]第 47 号"))) == GUOBANFA


def test_doc_no_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        GUOBANFA.number = 48  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "国办发〔2017〕47号、赣府厅字〔2024〕21号",
            [GUOBANFA, DocNo("赣府厅字", 2024, 21)],
        ),
        (
            "国办发〔2017〕47号国务院令第777号",
            [GUOBANFA, DocNo("国务院令", 0, 777)],
        ),
        ("依据国发〔2024〕7号和第1号台风预警", [DocNo("国发", 2024, 7)]),
        ("没有文号", []),
    ],
    ids=["two-separated", "two-glued", "skips-non-doc-no", "none"],
)
def test_find_doc_nos(text: str, expected: list[DocNo]) -> None:
    assert find_doc_nos(text) == expected


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("关于印发政府网站发展指引的通知（国办发〔2017〕47号）", "关于印发政府网站发展指引的通知"),
        ("关于印发政府网站发展指引的通知(国办发[2017]47号)", "关于印发政府网站发展指引的通知"),
        ("关于印发政府网站发展指引的通知 国办发〔2017〕47号", "关于印发政府网站发展指引的通知"),
        ("关于印发政府网站发展指引的通知国办发〔2017〕47号", "关于印发政府网站发展指引的通知"),
        ("关于印发政府网站发展指引的通知【国办发〔2017〕47号】 ", "关于印发政府网站发展指引的通知"),
        ("政府信息公开条例（国务院令第711号）", "政府信息公开条例"),
        ("国办发〔2017〕47号解读", "国办发〔2017〕47号解读"),
        ("关于政府网站发展指引的通知", "关于政府网站发展指引的通知"),
        ("国办发〔2017〕47号", ""),
    ],
    ids=[
        "fullwidth-parens",
        "ascii-parens",
        "space-separated",
        "glued",
        "lenticular-and-trailing-space",
        "decree",
        "not-trailing-kept",
        "no-doc-no-unchanged",
        "doc-no-only",
    ],
)
def test_strip_doc_no(title: str, expected: str) -> None:
    assert strip_doc_no(title) == expected

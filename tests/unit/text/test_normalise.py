from __future__ import annotations

import unicodedata

import pytest

import syndicator.text as text_pkg
from syndicator.text import DocNo, analyse_title, is_truncated, normalise_title
from syndicator.text.normalise import _T2S_PAIRS

ZHIYIN = "国务院办公厅关于印发《政府网站发展指引》的通知"
ZHIYIN_KEY = "国务院办公厅关于印发政府网站发展指引的通知"
YIJIAN = "国务院办公厅关于加强政务公开工作的意见"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        (ZHIYIN, ZHIYIN_KEY),
        ("  国务院 办公厅：关于“印发”、政府网站 ", "国务院办公厅关于印发政府网站"),
        (
            "国务院办公厅关于2024年部分节假日安排的通知",
            "国务院办公厅关于2024年部分节假日安排的通知",
        ),
        ("关于推进ＡＰＰ建设的通知", "关于推进app建设的通知"),
        ("关于做好「十四五」规划工作的通知", "关于做好十四五规划工作的通知"),
        ("关于规范转发工作的通知", "关于规范转发工作的通知"),
        ("转发", "转发"),
        ("", ""),
    ],
    ids=[
        "punctuation-removed",
        "spaces-and-quotes",
        "digits-kept",
        "fullwidth-latin-casefolded",
        "corner-brackets",
        "zhuanfa-inside-not-a-wrapper",
        "bare-zhuanfa-kept",
        "empty",
    ],
)
def test_normalise_title(title: str, expected: str) -> None:
    assert normalise_title(title) == expected


@pytest.mark.parametrize(
    ("repost", "original"),
    [
        (
            "南昌市人民政府办公室关于转发《国务院办公厅关于印发〈政府网站发展指引〉的通知》的通知",
            ZHIYIN,
        ),
        ("关于转发《国务院办公厅关于印发〈政府网站发展指引〉的通知》的通知", ZHIYIN),
        (
            "江西省人民政府办公厅转发《国务院办公厅关于印发〈政府网站发展指引〉的通知》的通知",
            ZHIYIN,
        ),
        (
            "九江市人民政府关于转发《国务院办公厅关于印发〈政府网站发展指引〉的通知》"
            "（国办发〔2017〕47号）的通知",
            ZHIYIN,
        ),
        (
            "县政府关于转发《市政府关于转发〈国务院办公厅关于加强政务公开工作的意见〉的通知》的通知",
            YIJIAN,
        ),
        (f"关于转发{YIJIAN}的通知", YIJIAN),
        (f"某某县人民政府办公室关于转发{YIJIAN}的通知", YIJIAN),
        (
            "转发国务院办公厅关于做好春节期间安全工作的通知",
            "国务院办公厅关于做好春节期间安全工作的通知",
        ),
        (f"【转载】{ZHIYIN}", ZHIYIN),
        (f"[转载]{ZHIYIN}", ZHIYIN),
        (f"(转载){ZHIYIN}", ZHIYIN),
        (f"【转发】{ZHIYIN}", ZHIYIN),
        (f"【全文】{ZHIYIN}", ZHIYIN),
        (f"转发：{ZHIYIN}", ZHIYIN),
        (f"转发:{ZHIYIN}", ZHIYIN),
        (f"转载{ZHIYIN}", ZHIYIN),
        (f"全文：{ZHIYIN}", ZHIYIN),
        (f"受权发布：{ZHIYIN}", ZHIYIN),
        (f"权威发布丨{ZHIYIN}", ZHIYIN),
        (f"权威发布{ZHIYIN}", ZHIYIN),
        (f"{ZHIYIN}（全文）", ZHIYIN),
        (f"{ZHIYIN}(全文)", ZHIYIN),
        (f"{ZHIYIN}全文", ZHIYIN),
        (f"{ZHIYIN}（2017年5月15日）", ZHIYIN),
        (f"{ZHIYIN}（国办发〔2017〕47号）", ZHIYIN),
        (f"{ZHIYIN} 国办发[2017]47号", ZHIYIN),
        (f"{ZHIYIN}（国办发〔2017〕47号）（全文）", ZHIYIN),
        ("国务院办公厅关于印发（政府网站发展指引）的通知", ZHIYIN),
        ("國務院辦公廳關於印發《政府網站發展指引》的通知", ZHIYIN),
        ("国务院办公厅关于印发＜政府网站发展指引＞的通知", ZHIYIN),
        ("关于转发<国务院办公厅关于印发〈政府网站发展指引〉的通知>的通知", ZHIYIN),
        ("国务院办公厅关于印发〈政府网站发展指引〉的通知", ZHIYIN),
        ("国务院办公厅关于印发政府网站发展指引的通知……", ZHIYIN),
        ("国务院办公厅关于印发政府网站发展指引的通知...", ZHIYIN),
        (
            "国务院办公厅关于２０２４年部分节假日安排的通知",
            "国务院办公厅关于2024年部分节假日安排的通知",
        ),
    ],
    ids=[
        "wrapper-issuer-quoted-nested",
        "wrapper-no-issuer",
        "wrapper-without-guanyu",
        "wrapper-with-inner-doc-no",
        "wrapper-twice",
        "wrapper-plain-genre",
        "wrapper-plain-issuer",
        "bare-zhuanfa-notice",
        "tag-lenticular-zhuanzai",
        "tag-square-zhuanzai",
        "tag-paren-zhuanzai",
        "tag-lenticular-zhuanfa",
        "tag-lenticular-quanwen",
        "tag-zhuanfa-fullwidth-colon",
        "tag-zhuanfa-ascii-colon",
        "tag-bare-zhuanzai",
        "tag-quanwen-colon",
        "tag-shouquan",
        "tag-quanwei-bar",
        "tag-quanwei-bare",
        "suffix-quanwen-fullwidth",
        "suffix-quanwen-ascii",
        "suffix-quanwen-bare",
        "suffix-date",
        "suffix-doc-no",
        "suffix-doc-no-space",
        "suffix-doc-no-then-quanwen",
        "parens-for-book-quotes",
        "traditional",
        "fullwidth-angle",
        "wrapper-ascii-angle",
        "single-angle-brackets",
        "ellipsis-truncated-whole",
        "dots-truncated-whole",
        "fullwidth-digits",
    ],
)
def test_repost_equals_original(repost: str, original: str) -> None:
    assert normalise_title(repost) == normalise_title(original)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (
            "国务院办公厅关于2024年部分节假日安排的通知",
            "国务院办公厅关于2025年部分节假日安排的通知",
        ),
        ("国务院办公厅印发《政府网站发展指引》", ZHIYIN),
        ("江西省人民政府关于贯彻落实《国务院关于加强政务公开工作的意见》的实施意见", YIJIAN),
        ("关于《国务院办公厅关于加强政务公开工作的意见》的解读", YIJIAN),
        ("《国务院办公厅关于加强政务公开工作的意见》解读", YIJIAN),
        ("国务院关于加强政务公开工作的意见", YIJIAN),
        ("中华人民共和国政府信息公开条例（2019年修订）", "中华人民共和国政府信息公开条例"),
        ("关于规范转发工作的通知", "工作的通知"),
    ],
    ids=[
        "different-years",
        "news-announcement-vs-notice",
        "implementation-opinion-vs-opinion",
        "interpretation-guanyu",
        "interpretation-suffix",
        "different-issuer",
        "revision-edition",
        "zhuanfa-word-in-title",
    ],
)
def test_distinct_titles_differ(first: str, second: str) -> None:
    assert normalise_title(first) != normalise_title(second)


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("国务院办公厅关于印发政府网站发展指引的…", True),
        ("国务院办公厅关于印发政府网站发展指引的……", True),
        ("国务院办公厅关于印发政府网站发展指引的...", True),
        ("国务院办公厅关于印发政府网站发展指引的。。。", True),
        ("国务院办公厅关于印发政府网站发展指引的⋯ ", True),
        (ZHIYIN, False),
        ("国务院办公厅关于印发政府网站发展指引的..", False),
        ("关于…的解读", False),
    ],
    ids=[
        "ellipsis",
        "double-ellipsis",
        "three-dots",
        "three-full-stops",
        "midline-ellipsis-trailing-space",
        "complete",
        "two-dots",
        "ellipsis-inside",
    ],
)
def test_is_truncated(title: str, expected: bool) -> None:
    assert is_truncated(title) is expected


def test_truncated_title_is_a_prefix_of_the_original() -> None:
    form = analyse_title("南昌市人民政府办公室关于转发《国务院办公厅关于印发〈政府网站…")
    assert form.truncated
    assert not form.text.endswith("…")
    assert form.text == "南昌市人民政府办公室关于转发国务院办公厅关于印发政府网站"


@pytest.mark.parametrize(
    ("title", "wrapped", "doc_no"),
    [
        (ZHIYIN, False, None),
        (f"{ZHIYIN}（国办发〔2017〕47号）", False, DocNo("国办发", 2017, 47)),
        (f"【转载】{ZHIYIN}", True, None),
        (f"南昌市人民政府关于转发《{ZHIYIN}》的通知", True, None),
        (
            f"南昌市人民政府关于转发《{ZHIYIN}》的通知（洪府发〔2017〕9号）",
            True,
            DocNo("洪府发", 2017, 9),
        ),
        (
            "关于转发国办发〔2017〕47号文件的通知",
            True,
            DocNo("国办发", 2017, 47),
        ),
        (f"{ZHIYIN}（全文）", False, None),
    ],
    ids=[
        "plain",
        "trailing-doc-no",
        "tag",
        "wrapper",
        "wrapper-with-own-doc-no",
        "doc-no-inside",
        "quanwen-is-not-a-wrapper",
    ],
)
def test_analyse_title(title: str, wrapped: bool, doc_no: DocNo | None) -> None:
    form = analyse_title(title)
    assert form.text == normalise_title(title)
    assert form.wrapped is wrapped
    assert form.truncated is False
    assert form.doc_no == doc_no


def test_normalise_is_idempotent() -> None:
    repost = (
        "【转载】南昌市人民政府办公室关于转发"
        "《國務院辦公廳關於印發〈政府網站發展指引〉的通知》的通知"
    )
    once = normalise_title(repost)
    assert once == ZHIYIN_KEY
    assert normalise_title(once) == once


def test_traditional_table_is_well_formed() -> None:
    pairs = _T2S_PAIRS.split()
    assert len(pairs) >= 150
    assert all(len(pair) == 2 for pair in pairs)
    traditional = [pair[0] for pair in pairs]
    simplified = {pair[1] for pair in pairs}
    assert len(set(traditional)) == len(traditional)
    assert not set(traditional) & simplified
    assert all(unicodedata.normalize("NFKC", ch) == ch for ch in traditional)


def test_package_exports() -> None:
    # Every advertised name exists, and the normaliser's API is among them.
    assert all(hasattr(text_pkg, name) for name in text_pkg.__all__)
    assert {"analyse_title", "normalise_title", "parse_doc_no", "strip_doc_no"} <= set(
        text_pkg.__all__
    )

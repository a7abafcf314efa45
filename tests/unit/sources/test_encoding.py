"""The encoding cascade on bytes as Chinese government sites serve them."""

from __future__ import annotations

import codecs

import pytest

from syndicator.sources.encoding import (
    decode_body,
    normalise_label,
    sniff_meta_charset,
    sniff_xml_encoding,
)

TITLE = "关于印发《江西省政府网站管理办法》的通知"
DOC_NO = "赣府厅发〔2017〕43号"
# 镕 and 堃 are GBK-only (not in GB2312): pages labelled gb2312 contain them all the same.
GBK_ONLY = "朱镕基 王堃"


def html_page(charset_meta: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head>{charset_meta}<title>{TITLE}</title></head>"
        f"<body><h1>{TITLE}</h1><p>{DOC_NO}</p><p>{GBK_ONLY}</p></body></html>"
    )


def rss(encoding: str) -> str:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<rss version="2.0"><channel>'
        f"<title>江西省人民政府</title><item><title>{TITLE}</title>"
        f"<description>{DOC_NO}</description></item></channel></rss>"
    )


META_GB2312 = '<meta http-equiv="Content-Type" content="text/html; charset=gb2312">'
PAGE = html_page()
PAGE_GBK = PAGE.encode("gbk")


def case(
    case_id: str,
    source: str,
    codec: str = "gbk",
    *,
    bom: bytes = b"",
    content_type: str | None = None,
    declared: str | None = None,
    expected: str = "gb18030",
) -> pytest.ParameterSet:
    return pytest.param(
        source, bom + source.encode(codec), content_type, declared, expected, id=case_id
    )


@pytest.mark.parametrize(
    ("source", "body", "content_type", "declared", "expected_encoding"),
    [
        case("header-gbk", PAGE, content_type="text/html; charset=gbk"),
        case("header-gb2312", PAGE, content_type="text/html; charset=GB2312"),
        case("header-quoted-label", PAGE, content_type='text/html; charset="gbk"'),
        case("meta-http-equiv-gb2312", html_page(META_GB2312)),
        case("meta-charset-gb2312", html_page('<meta charset="gb2312">'), content_type="text/html"),
        case("xml-prolog-GBK", rss("GBK"), content_type="application/xml"),
        case("xml-prolog-gb2312", rss("gb2312")),
        case("header-utf8-but-bytes-gbk-detected", PAGE, content_type="text/html; charset=utf-8"),
        case(
            "header-utf8-but-bytes-gbk-meta-decides",
            html_page(META_GB2312),
            content_type="text/html; charset=utf-8",
        ),
        case("servlet-default-latin1-ignored", PAGE, content_type="text/html; charset=ISO-8859-1"),
        case("unknown-header-label-falls-through", PAGE, content_type="text/html; charset=foo"),
        case("unknown-meta-label-falls-through", html_page('<meta charset="x-unknown">')),
        case("no-label-detected", PAGE),
        case(
            "declared-wins-over-header",
            PAGE,
            content_type="text/html; charset=utf-8",
            declared="GBK",
        ),
        case(
            "utf8-bom-beats-gbk-header",
            PAGE,
            "utf-8",
            bom=codecs.BOM_UTF8,
            content_type="text/html; charset=gbk",
            expected="utf-8",
        ),
        case(
            "utf8-bom-beats-declared-utf8",
            PAGE,
            "utf-8",
            bom=codecs.BOM_UTF8,
            declared="utf-8",
            expected="utf-8",
        ),
        case("utf16le-bom", PAGE, "utf-16-le", bom=codecs.BOM_UTF16_LE, expected="utf-16-le"),
        case(
            "utf16be-bom",
            PAGE,
            "utf-16-be",
            bom=codecs.BOM_UTF16_BE,
            content_type="text/html; charset=gbk",
            expected="utf-16-be",
        ),
        case("stale-gb2312-meta-on-utf8-page", html_page(META_GB2312), "utf-8", expected="utf-8"),
        case(
            "gb2312-header-on-utf8-page",
            PAGE,
            "utf-8",
            content_type="text/html; charset=gb2312",
            expected="utf-8",
        ),
        case(
            "header-utf8-alias",
            PAGE,
            "utf-8",
            content_type="text/html; charset=UTF8",
            expected="utf-8",
        ),
        case("no-label-utf8", PAGE, "utf-8", expected="utf-8"),
    ],
)
def test_decodes_chinese_pages(
    source: str,
    body: bytes,
    content_type: str | None,
    declared: str | None,
    expected_encoding: str,
) -> None:
    text, encoding = decode_body(body, content_type=content_type, declared=declared)

    assert encoding == expected_encoding
    assert text == source
    assert TITLE in text
    assert DOC_NO in text


def test_gbk_only_characters_survive_a_gb2312_label() -> None:
    text, _ = decode_body(PAGE_GBK, content_type="text/html; charset=gb2312")

    assert GBK_ONLY in text


def test_short_gbk_body_with_wrong_utf8_header() -> None:
    text, encoding = decode_body(TITLE.encode("gbk"), content_type="text/plain; charset=utf-8")

    assert (text, encoding) == (TITLE, "gb18030")


def test_declared_encoding_is_forced_even_when_bytes_do_not_fit() -> None:
    text, encoding = decode_body(PAGE_GBK, declared="utf-8")

    assert encoding == "utf-8"
    assert "\ufffd" in text


def test_body_cut_mid_character_keeps_its_label() -> None:
    cut = PAGE_GBK[: PAGE_GBK.index(DOC_NO.encode("gbk")) + 3]

    text, encoding = decode_body(cut, content_type="text/html; charset=gbk")

    assert encoding == "gb18030"
    assert text.endswith(DOC_NO[0] + "\ufffd")


def test_ascii_body_uses_the_label() -> None:
    assert decode_body(b"<rss/>", content_type="text/xml; charset=gb2312") == ("<rss/>", "gb18030")


def test_empty_body() -> None:
    assert decode_body(b"") == ("", "utf-8")


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("GB2312", "gb18030"),
        ("gbk", "gb18030"),
        ("x-gbk", "gb18030"),
        ("cp936", "gb18030"),
        ("GB18030", "gb18030"),
        ("UTF8", "utf-8"),
        (" 'utf-8' ", "utf-8"),
        ("Big5", "big5"),
        ("iso-8859-1", "iso8859-1"),
        ("foo", None),
        ("base64", None),
        ("", None),
        (None, None),
    ],
    ids=[
        "gb2312",
        "gbk",
        "x-gbk",
        "cp936",
        "gb18030",
        "utf8",
        "quoted-padded",
        "big5",
        "latin1",
        "unknown",
        "not-a-text-codec",
        "empty",
        "none",
    ],
)
def test_normalise_label(label: str | None, expected: str | None) -> None:
    assert normalise_label(label) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<?xml version="1.0" encoding="GBK"?><rss/>', "GBK"),
        (b"<?xml version='1.0' encoding='gb2312' standalone='yes'?>", "gb2312"),
        (b'\n  <?xml version="1.0"?><rss/>', None),
        (b'<rss><?xml version="1.0" encoding="GBK"?>', None),
        (b"<html></html>", None),
    ],
    ids=["double-quotes", "single-quotes-standalone", "no-encoding", "not-at-start", "no-prolog"],
)
def test_sniff_xml_encoding(head: bytes, expected: str | None) -> None:
    assert sniff_xml_encoding(head) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b'<meta charset="gbk">', "gbk"),
        (b"<META CHARSET=GB2312>", "GB2312"),
        (b'<meta http-equiv="Content-Type" content="text/html; charset=gb2312" />', "gb2312"),
        (b'<meta name="keywords" content="x"><meta charset=utf-8>', "utf-8"),
        (b" " * 5000 + b'<meta charset="gbk">', None),
        (b'<meta name="description" content="charset">', None),
    ],
    ids=["charset", "uppercase-unquoted", "http-equiv", "second-meta", "beyond-4kb", "no-label"],
)
def test_sniff_meta_charset(head: bytes, expected: str | None) -> None:
    assert sniff_meta_charset(head) == expected


def test_unlabelled_big5_is_detected() -> None:
    traditional = "關於印發《江西省政府網站管理辦法》的通知，請認真貫徹執行。"
    body = f"<html><body><p>{traditional}</p></body></html>".encode("big5")

    text, encoding = decode_body(body)

    assert encoding == "big5"
    assert traditional in text

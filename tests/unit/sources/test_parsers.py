"""Feeds, HTML list pages, JSON APIs and detail pages as government portals serve them."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest

from syndicator.sources.dates import SHANGHAI
from syndicator.sources.encoding import decode_body
from syndicator.sources.parsers import (
    HtmlListSpec,
    JsonSpec,
    ParseError,
    _parse_fast,
    _parse_with_feedparser,
    content_hash,
    entry_key,
    normalise_url,
    parse_detail_meta,
    parse_feed,
    parse_html_list,
    parse_json,
)
from syndicator.sources.types import DetailMeta, ParsedEntry, ParsedTime, Precision

NOW = datetime(2025, 1, 3, 4, 0, tzinfo=UTC)
TITLE = "关于印发《江西省政府网站管理办法》的通知"
DOC_NO = "赣府厅发〔2017〕43号"
FEED_URL = "https://www.jiangxi.gov.cn/rss/zcwj.xml"


def cst(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(UTC)


def at(*args: int) -> ParsedTime:
    return ParsedTime(at=cst(*args), precision=Precision.DATETIME)


def day(year: int, month: int, day_: int) -> ParsedTime:
    return ParsedTime(at=cst(year, month, day_), precision=Precision.DATE)


# -- feeds ---------------------------------------------------------------------------------------

RSS_GBK = f"""<?xml version="1.0" encoding="GBK"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
  <title>江西省人民政府 政策文件</title>
  <link>https://www.jiangxi.gov.cn/</link>
  <item>
    <title>  {TITLE}  </title>
    <link>https://www.jiangxi.gov.cn/art/2017/6/1/art_4975_1.html</link>
    <guid isPermaLink="false">art_4975_1</guid>
    <pubDate>Thu, 01 Jun 2017 10:30:00 +0800</pubDate>
    <description><![CDATA[<p>{DOC_NO}</p><p>各设区市人民政府：</p>]]></description>
  </item>
  <item>
    <title>江西省人民政府办公厅关于做好&lt;b&gt;2024&lt;/b&gt;年元旦春节期间有关工作的通知</title>
    <link>/art/2024/1/5/art_4975_2.html</link>
    <dc:date>2024-01-05</dc:date>
  </item>
  <item>
    <title>省政府常务会议</title>
    <guid>https://www.jiangxi.gov.cn/art/2024/1/6/art_4975_3.html</guid>
    <pubDate>2024-01-06 09:00:00</pubDate>
  </item>
</channel>
</rss>""".encode("gbk")

RSS_EXPECTED = [
    ParsedEntry(
        title=TITLE,
        url="https://www.jiangxi.gov.cn/art/2017/6/1/art_4975_1.html",
        guid="art_4975_1",
        published=at(2017, 6, 1, 10, 30),
        summary=f"{DOC_NO} 各设区市人民政府：",
    ),
    ParsedEntry(
        title="江西省人民政府办公厅关于做好2024年元旦春节期间有关工作的通知",
        url="https://www.jiangxi.gov.cn/art/2024/1/5/art_4975_2.html",
        published=day(2024, 1, 5),
    ),
    ParsedEntry(
        title="省政府常务会议",
        url="https://www.jiangxi.gov.cn/art/2024/1/6/art_4975_3.html",
        guid="https://www.jiangxi.gov.cn/art/2024/1/6/art_4975_3.html",
        published=at(2024, 1, 6, 9, 0),
    ),
]

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://www.gov.cn/zhengce/">
  <title>中国政府网 最新政策</title>
  <id>https://www.gov.cn/zhengce/</id>
  <updated>2024-01-05T10:30:00+08:00</updated>
  <entry>
    <title type="html">国务院关于&lt;em&gt;印发&lt;/em&gt;《2024年立法工作计划》的通知</title>
    <id>tag:www.gov.cn,2024:content_6912345</id>
    <link rel="self" href="/feeds/6912345.xml"/>
    <link rel="alternate" type="text/html" href="content/202401/content_6912345.htm"/>
    <published>2024-01-05T10:30:00+08:00</published>
    <updated>2024-01-06T08:00:00Z</updated>
    <summary>国发〔2024〕1号</summary>
  </entry>
  <entry>
    <title>国务院办公厅关于进一步优化政务服务的意见</title>
    <id>urn:uuid:6f1d2e3a-0000-4000-8000-000000000002</id>
    <link href="https://www.gov.cn/zhengce/content/202401/content_6912346.htm"/>
    <updated>2024-01-04T02:00:00Z</updated>
    <content type="html">&lt;p&gt;国办发〔2024〕2号&lt;/p&gt;&lt;p&gt;正文&lt;/p&gt;</content>
  </entry>
  <entry>
    <title>只有附件</title>
    <id>https://www.gov.cn/zhengce/content/202401/content_6912347.htm</id>
    <link rel="enclosure" href="/files/6912347.pdf"/>
  </entry>
</feed>""".encode()

ATOM_EXPECTED = [
    ParsedEntry(
        title="国务院关于印发《2024年立法工作计划》的通知",
        url="https://www.gov.cn/zhengce/content/202401/content_6912345.htm",
        guid="tag:www.gov.cn,2024:content_6912345",
        published=at(2024, 1, 5, 10, 30),
        summary="国发〔2024〕1号",
    ),
    ParsedEntry(
        title="国务院办公厅关于进一步优化政务服务的意见",
        url="https://www.gov.cn/zhengce/content/202401/content_6912346.htm",
        guid="urn:uuid:6f1d2e3a-0000-4000-8000-000000000002",
        published=ParsedTime(
            at=datetime(2024, 1, 4, 2, 0, tzinfo=UTC), precision=Precision.DATETIME
        ),
        summary="国办发〔2024〕2号 正文",
    ),
    ParsedEntry(
        title="只有附件",
        url="https://www.gov.cn/files/6912347.pdf",
        guid="https://www.gov.cn/zhengce/content/202401/content_6912347.htm",
    ),
]

RDF = """<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
         xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://www.sz.gov.cn/">
    <title>深圳政府在线</title>
    <link>https://www.sz.gov.cn/</link>
    <items><rdf:Seq><rdf:li rdf:resource="https://www.sz.gov.cn/a/1.html"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://www.sz.gov.cn/a/1.html">
    <title>深圳市人民政府关于印发有关规定的通知</title>
    <link>https://www.sz.gov.cn/a/1.html</link>
    <description>深府〔2024〕1号</description>
    <dc:date>2024-01-05T10:30:00+08:00</dc:date>
  </item>
  <item rdf:about="https://www.sz.gov.cn/a/2.html">
    <title>第二条</title>
    <link>a/2.html</link>
  </item>
</rdf:RDF>""".encode()

RDF_EXPECTED = [
    ParsedEntry(
        title="深圳市人民政府关于印发有关规定的通知",
        url="https://www.sz.gov.cn/a/1.html",
        guid="https://www.sz.gov.cn/a/1.html",
        published=at(2024, 1, 5, 10, 30),
        summary="深府〔2024〕1号",
    ),
    ParsedEntry(
        title="第二条",
        url="https://www.sz.gov.cn/feeds/a/2.html",
        guid="https://www.sz.gov.cn/a/2.html",
    ),
]


@pytest.mark.parametrize(
    ("body", "base_url", "expected"),
    [
        (RSS_GBK, FEED_URL, RSS_EXPECTED),
        (ATOM, "https://www.gov.cn/feeds/zhengce.xml", ATOM_EXPECTED),
        (RDF, "https://www.sz.gov.cn/feeds/rdf.xml", RDF_EXPECTED),
    ],
    ids=["rss2-gbk-prolog", "atom", "rss1-rdf"],
)
def test_parse_feed(body: bytes, base_url: str, expected: list[ParsedEntry]) -> None:
    assert parse_feed(body, base_url=base_url, now=NOW) == expected


def test_gbk_feed_with_gb2312_header() -> None:
    entries = parse_feed(
        RSS_GBK, base_url=FEED_URL, content_type="application/rss+xml; charset=gb2312", now=NOW
    )

    assert entries == RSS_EXPECTED


def test_declared_encoding_overrides_wrong_prolog() -> None:
    body = RSS_GBK.replace(b'encoding="GBK"', b'encoding="utf-8"')

    entries = parse_feed(body, base_url=FEED_URL, declared_encoding="gbk", now=NOW)

    assert entries == RSS_EXPECTED


EQUIVALENCE_FEEDS = {
    "rss-gbk": decode_body(RSS_GBK)[0],
    "atom": ATOM.decode(),
    "rdf": RDF.decode(),
    "rss-cdata-whitespace-entities": """<?xml version="1.0"?>
        <rss version="2.0"><channel><title>t</title>
        <item><title><![CDATA[ 关于 &amp; 通知 ]]></title>
          <link>
            https://www.jiangxi.gov.cn/art/2024/1/5/art_1.html?a=1&amp;b=2
          </link>
          <pubDate>2024-01-05 10:30:00</pubDate>
          <description><![CDATA[<p>第一段</p><script>track()</script><p>第二段&nbsp;结束</p>]]></description>
        </item>
        <item><title>A&#x4E2D;&#20013; &amp;amp; x</title><guid>https://x.gov.cn/2.htm</guid></item>
        <item><title>只有 guid</title><guid>12345</guid></item>
        <item><title>无链接</title><description>plain &amp;amp; text</description></item>
        </channel></rss>""",
    "rss-atom-link-and-dc-date": """<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom"
            xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>
        <atom:link rel="self" href="https://x.gov.cn/feed"/>
        <item><title>I</title><atom:link href="rel/1.htm"/><guid>g1</guid></item>
        <item><title>J</title><link>j.htm</link><guid>g2</guid><dc:date>2024-01-05</dc:date></item>
        </channel></rss>""",
    "atom-xhtml-and-relative-base": """<feed xmlns="http://www.w3.org/2005/Atom"
            xml:base="https://www.gov.cn/news/"><title>t</title>
        <entry xml:base="2024/"><title type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
          x <b>y</b></div></title><id>b1</id><link href="a.htm"/>
          <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>p1</p><p>p2</p></div>
          </content></entry>
        <entry><title>E3</title><id>urn:3</id><link rel="self" href="/self"/>
          <link rel="alternate" type="application/pdf" href="/3.pdf"/></entry>
        </feed>""",
}


@pytest.mark.parametrize("text", EQUIVALENCE_FEEDS.values(), ids=EQUIVALENCE_FEEDS.keys())
def test_fast_path_and_feedparser_agree(text: str) -> None:
    fast = _parse_fast(text.lstrip(), base_url=FEED_URL, now=NOW)
    slow = _parse_with_feedparser(text.lstrip(), base_url=FEED_URL, now=NOW)

    assert fast is not None
    assert fast
    assert fast == slow


MALFORMED_RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>中国政府网 最新政策</title>
<item>
  <title>国务院办公厅关于印发 R&D 经费管理办法的通知</title>
  <link>https://www.gov.cn/zhengce/content/202401/content_6912345.htm?a=1&b=2</link>
  <pubDate>Fri, 05 Jan 2024 10:30:00 +0800</pubDate>
  <description>摘要<br>第二行</description>
</item>
<item>
  <title>关于做好2024年元旦春节期间有关工作的通知</title>
  <link>https://www.gov.cn/zhengce/content/202401/content_6912346.htm</link>
  <pubDate>Thu, 04 Jan 2024 09:00:00 +0800</pubDate>
</item>
</channel></rss>""".encode()


def test_malformed_feed_goes_through_feedparser() -> None:
    with pytest.raises(ET.ParseError):
        _parse_fast(MALFORMED_RSS.decode(), base_url=FEED_URL, now=NOW)

    entries = parse_feed(MALFORMED_RSS, base_url="https://www.gov.cn/rss.xml", now=NOW)

    assert entries == [
        ParsedEntry(
            title="国务院办公厅关于印发 R&D 经费管理办法的通知",
            url="https://www.gov.cn/zhengce/content/202401/content_6912345.htm?a=1&b=2",
            published=at(2024, 1, 5, 10, 30),
            summary="摘要 第二行",
        ),
        ParsedEntry(
            title="关于做好2024年元旦春节期间有关工作的通知",
            url="https://www.gov.cn/zhengce/content/202401/content_6912346.htm",
            published=at(2024, 1, 4, 9, 0),
        ),
    ]


def test_bare_ampersands_and_html_entities_are_repaired_for_the_fast_path() -> None:
    body = (
        '<rss version="2.0"><channel><title>t</title><item>'
        "<title>科技&amp;创新 R&D&nbsp;计划&hellip;</title>"
        "<link>https://x.gov.cn/a.htm?id=1&type=2</link></item></channel></rss>"
    ).encode()

    assert parse_feed(body, base_url=FEED_URL, now=NOW) == [
        ParsedEntry(title="科技&创新 R&D 计划…", url="https://x.gov.cn/a.htm?id=1&type=2")
    ]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            "<!DOCTYPE html><html><head><title>安全验证</title></head><body><p>请稍候</body>",
            "expected an RSS/Atom feed, got an HTML document titled '安全验证'",
        ),
        (
            '<?xml version="1.0"?><html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
            "expected an RSS/Atom feed, got an HTML document",
        ),
        (
            '<?xml version="1.0"?><error code="500"><msg>系统繁忙</msg></error>',
            "expected an RSS/Atom feed: <error> is not an <rss>, <feed> or <rdf:RDF> root element",
        ),
        (
            "系统维护中，请稍后访问",
            "expected an RSS/Atom feed, got text that is not XML: '系统维护中，请稍后访问'",
        ),
        (
            '<?xml version="1.0"?>\n<data><row>x</data>',
            "expected an RSS/Atom feed: not well-formed XML, mismatched tag (at line 2, column 14)",
        ),
        ("   ", "expected an RSS/Atom feed, got an empty body"),
    ],
    ids=["html-page", "xhtml-page", "other-xml", "plain-text", "broken-beyond-repair", "empty"],
)
def test_not_a_feed(body: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body.encode(), base_url=FEED_URL, now=NOW)

    assert str(caught.value) == message


def test_empty_channel_is_no_entries_not_an_error() -> None:
    body = b'<rss version="2.0"><channel><title>t</title></channel></rss>'

    assert parse_feed(body, base_url=FEED_URL, now=NOW) == []


# -- HTML list pages -----------------------------------------------------------------------------

GOV_LIST = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>最新政策_中国政府网</title></head>
<body>
<div class="nav"><a href="/index.htm">首页</a></div>
<ul class="list">
  <li><a href="./content_6912345.htm" title="国务院关于印发《2024年国务院立法工作计划》的通知"
         target="_blank">国务院关于印发《2024年国务院立法...</a>
      <span class="date">2024-01-05</span></li>
  <li><a href="../202312/content_6911111.htm">国务院办公厅关于2023年12月31日前完成清理工作的通知</a>
      <span class="date">2023-12-28</span></li>
  <li><a href="https://www.gov.cn/zhengce/zhengceku/202401/content_6912300.htm" title="短">
      国务院关于进一步优化政务服务提升行政效能的意见</a><span class="date">[01-02]</span></li>
  <li><a href="/zhuanti/2024lh/index.htm">2024年全国两会专题</a>
      <span class="date">2024-01-04</span></li>
  <li><a href="javascript:void(0)">无效链接</a><span class="date">2024-01-04</span></li>
  <li><a href="#">占位</a></li>
  <li><a href="content_6912346.htm">   </a><span class="date">2024-01-04</span></li>
  <li><span>没有链接</span></li>
</ul>
</body></html>"""
GOV_LIST_URL = "https://www.gov.cn/zhengce/zuixin/202401/index.htm"


def test_gov_cn_list_with_link_pattern() -> None:
    spec = HtmlListSpec(item="ul.list li", link_pattern=r"content_\d+\.htm$")

    entries = parse_html_list(GOV_LIST, spec, base_url=GOV_LIST_URL, now=NOW)

    assert entries == [
        ParsedEntry(
            title="国务院关于印发《2024年国务院立法工作计划》的通知",
            url="https://www.gov.cn/zhengce/zuixin/202401/content_6912345.htm",
            published=day(2024, 1, 5),
        ),
        ParsedEntry(
            title="国务院办公厅关于2023年12月31日前完成清理工作的通知",
            url="https://www.gov.cn/zhengce/zuixin/202312/content_6911111.htm",
            published=day(2023, 12, 28),
        ),
        ParsedEntry(
            title="国务院关于进一步优化政务服务提升行政效能的意见",
            url="https://www.gov.cn/zhengce/zhengceku/202401/content_6912300.htm",
            published=day(2025, 1, 2),
        ),
    ]


def test_list_without_link_pattern_keeps_other_links_but_not_javascript_or_hash() -> None:
    spec = HtmlListSpec(item="ul.list li", date="span.date")

    entries = parse_html_list(GOV_LIST, spec, base_url=GOV_LIST_URL, now=NOW)

    assert [(e.url, e.published) for e in entries] == [
        ("https://www.gov.cn/zhengce/zuixin/202401/content_6912345.htm", day(2024, 1, 5)),
        ("https://www.gov.cn/zhengce/zuixin/202312/content_6911111.htm", day(2023, 12, 28)),
        ("https://www.gov.cn/zhengce/zhengceku/202401/content_6912300.htm", day(2025, 1, 2)),
        ("https://www.gov.cn/zhuanti/2024lh/index.htm", day(2024, 1, 4)),
    ]


def test_gbk_list_page() -> None:
    page = f"""<html><head>
        <meta http-equiv="Content-Type" content="text/html; charset=gb2312">
        <base href="https://www.jiangxi.gov.cn/col/col4975/">
        </head><body><div id="list">
        <div class="item"><a href="art_1.html">{TITLE}（{DOC_NO}）</a>
            <em>2017年6月1日</em></div>
        <div class="item"><a href="/art/2.html" title="{TITLE}">关于印发…</a>
            <em>发布日期：2017-06-02 15:20</em></div>
        </div></body></html>""".encode("gbk")
    text, encoding = decode_body(page, content_type="text/html")
    spec = HtmlListSpec(item="#list .item")

    entries = parse_html_list(text, spec, base_url="https://www.jiangxi.gov.cn/x/", now=NOW)

    assert encoding == "gb18030"
    assert entries == [
        ParsedEntry(
            title=f"{TITLE}（{DOC_NO}）",
            url="https://www.jiangxi.gov.cn/col/col4975/art_1.html",
            published=day(2017, 6, 1),
        ),
        ParsedEntry(
            title=TITLE,
            url="https://www.jiangxi.gov.cn/art/2.html",
            published=at(2017, 6, 2, 15, 20),
        ),
    ]


def test_relative_base_href_resolves_against_page_url() -> None:
    page = '<head><base href="/sub/dir/"></head><ul><li><a href="a.htm">标题</a></li></ul>'

    entries = parse_html_list(
        page, HtmlListSpec(item="li"), base_url="https://www.gov.cn/other/x.htm", now=NOW
    )

    assert [e.url for e in entries] == ["https://www.gov.cn/sub/dir/a.htm"]


def test_items_that_are_anchors_and_explicit_title_selector() -> None:
    page = """<div class="news">
      <a class="row" href="/a/1.htm"><span class="t">第一条新闻</span>
        <span class="d">2024-01-05</span></a>
      <a class="row" href="/a/2.htm"><span class="t">第二条新闻</span>
        <span class="d">01-02</span></a>
    </div>"""
    spec = HtmlListSpec(item="div.news a.row", title="span.t")

    entries = parse_html_list(page, spec, base_url="https://www.gov.cn/", now=NOW)

    assert entries == [
        ParsedEntry(
            title="第一条新闻", url="https://www.gov.cn/a/1.htm", published=day(2024, 1, 5)
        ),
        ParsedEntry(
            title="第二条新闻", url="https://www.gov.cn/a/2.htm", published=day(2025, 1, 2)
        ),
    ]


def test_selector_that_matches_nothing_gives_no_entries() -> None:
    assert (
        parse_html_list(GOV_LIST, HtmlListSpec(item="ul.news li"), base_url=GOV_LIST_URL, now=NOW)
        == []
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (HtmlListSpec(item="ul[[[li"), "invalid CSS selector in item: 'ul[[[li'"),
        (HtmlListSpec(item="li", link="a:::x"), "invalid CSS selector in link: 'a:::x'"),
        (HtmlListSpec(item="li", date="span["), "invalid CSS selector in date: 'span['"),
        (
            HtmlListSpec(item="li", link_pattern="content_(\\d+"),
            "invalid link_pattern 'content_(\\\\d+'",
        ),
    ],
    ids=["item", "link", "date", "link-pattern"],
)
def test_invalid_selectors_are_parse_errors(spec: HtmlListSpec, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_html_list(GOV_LIST, spec, base_url=GOV_LIST_URL, now=NOW)

    assert str(caught.value).startswith(message)


# -- JSON APIs -----------------------------------------------------------------------------------

JSON_BODY = json.dumps(
    {
        "code": 200,
        "data": {
            "total": 3,
            "list": [
                {
                    "id": 6912345,
                    "title": TITLE,
                    "link": "/art/2024/1/5/art_1.html",
                    "pub": {"time": 1704421800000},
                    "wh": DOC_NO,
                },
                {
                    "id": 6912346,
                    "title": "关于<em>优化</em>政务服务的意见",
                    "link": "https://www.jiangxi.gov.cn/art/2.html",
                    "pub": {"time": "2024-01-04 09:00"},
                    "wh": "",
                },
                {"id": 6912347, "title": "", "link": "/art/3.html"},
                "not an object",
                {"id": 6912348, "title": "秒级时间戳", "pub": {"time": 1704421800}},
            ],
        },
    },
    ensure_ascii=False,
).encode()
JSON_SPEC = JsonSpec(
    items="data.list", title="title", url="link", published="pub.time", guid="id", doc_no="wh"
)


def test_parse_json_nested_path_and_epochs() -> None:
    entries = parse_json(
        JSON_BODY, JSON_SPEC, base_url="https://www.jiangxi.gov.cn/api/list", now=NOW
    )

    exact = ParsedTime(at=datetime(2024, 1, 5, 2, 30, tzinfo=UTC), precision=Precision.DATETIME)
    assert entries == [
        ParsedEntry(
            title=TITLE,
            url="https://www.jiangxi.gov.cn/art/2024/1/5/art_1.html",
            guid="6912345",
            published=exact,
            doc_no=DOC_NO,
        ),
        ParsedEntry(
            title="关于优化政务服务的意见",
            url="https://www.jiangxi.gov.cn/art/2.html",
            guid="6912346",
            published=at(2024, 1, 4, 9, 0),
        ),
        ParsedEntry(title="秒级时间戳", guid="6912348", published=exact),
    ]


def test_parse_json_root_list_gbk_and_jsonp() -> None:
    body = f'callback_123([{{"title": "{TITLE}", "url": "a.htm", "published": "[01-02]"}}]);'
    entries = parse_json(
        body.encode("gbk"),
        JsonSpec(items=""),
        base_url="https://www.jiangxi.gov.cn/api/",
        now=NOW,
        content_type="application/javascript; charset=GBK",
    )

    assert entries == [
        ParsedEntry(
            title=TITLE, url="https://www.jiangxi.gov.cn/api/a.htm", published=day(2025, 1, 2)
        )
    ]


@pytest.mark.parametrize(
    ("body", "items", "message"),
    [
        (
            JSON_BODY,
            "data.rows",
            "JSON path 'data.rows': no key 'rows' in data (keys there: list, total)",
        ),
        (
            JSON_BODY,
            "result.list",
            "JSON path 'result.list': no key 'result' in the root (keys there: code, data)",
        ),
        (JSON_BODY, "data.total", "JSON path 'data.total' leads to the number 3, not a list"),
        (JSON_BODY, "data", "JSON path 'data' leads to an object, not a list"),
        (
            JSON_BODY,
            "code.list",
            "JSON path 'code.list': cannot take 'list' from code, which is the number 200",
        ),
        (JSON_BODY, "data.list.9", "JSON path 'data.list.9': index 9 is past the end of data.list"),
        (JSON_BODY, "", "the JSON root is an object, not a list; set items to its path"),
        (b'{"data": [1, 2,]}', "data", "invalid JSON: Expecting value (at line 1, column 16)"),
        (
            b"<html><body>502 Bad Gateway</body></html>",
            "data",
            "expected JSON, got an HTML document",
        ),
    ],
    ids=[
        "missing-last-segment",
        "missing-first-segment",
        "leads-to-number",
        "leads-to-object",
        "descend-into-number",
        "index-out-of-range",
        "root-not-list",
        "invalid-json",
        "html-instead",
    ],
)
def test_parse_json_errors_name_the_failing_segment(body: bytes, items: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_json(body, JsonSpec(items=items), base_url="https://x.gov.cn/", now=NOW)

    assert str(caught.value).startswith(message)


# -- detail pages --------------------------------------------------------------------------------

GOV_CN_DETAIL = f"""<!DOCTYPE html><html><head>
<meta charset="utf-8">
<title>{TITLE}_政策文件_中国政府网</title>
<meta name="ArticleTitle" content="{TITLE}">
<meta name="PubDate" content="2024-01-05 10:30">
<meta name="firstpublishedtime" content="2024-01-05-10:30:15">
<meta name="lastmodifiedtime" content="2024-01-06-08:00:00">
<meta name="ContentSource" content="中国政府网">
<meta name="manuscriptId" content="6912345">
</head><body><h1>{TITLE}</h1></body></html>"""


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        (
            GOV_CN_DETAIL,
            DetailMeta(
                title=TITLE,
                published=at(2024, 1, 5, 10, 30, 15),
                source="中国政府网",
                manuscript_id="6912345",
            ),
        ),
        (
            """<head><META NAME="articletitle" CONTENT=" 通知 "><meta name="PUBDATE"
               content="2024-01-05"><meta name="contentsource" content="江西省人民政府办公厅">
               </head>""",
            DetailMeta(title="通知", published=day(2024, 1, 5), source="江西省人民政府办公厅"),
        ),
        (
            """<head><title> 关于印发通知
               _江西省人民政府 </title><meta name="PubDate" content="2024年1月5日">
               <meta name="firstpublishedtime" content="2024-01-05 10:30:15"></head>""",
            DetailMeta(title="关于印发通知 _江西省人民政府", published=at(2024, 1, 5, 10, 30, 15)),
        ),
        ("<html><body>无元数据</body></html>", DetailMeta()),
    ],
    ids=["gov-cn", "case-insensitive-date-only", "title-fallback-finer-time-wins", "nothing"],
)
def test_parse_detail_meta(page: str, expected: DetailMeta) -> None:
    assert parse_detail_meta(page, now=NOW) == expected


# -- keys ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.gov.cn/a/b.htm", "https://www.gov.cn/a/b.htm"),
        ("HTTP://WWW.GOV.CN/Zhengce/Content_1.htm", "https://www.gov.cn/Zhengce/Content_1.htm"),
        ("http://www.gov.cn:80/a.htm", "https://www.gov.cn/a.htm"),
        ("https://www.gov.cn:443/a.htm", "https://www.gov.cn/a.htm"),
        ("https://www.gov.cn:8080/a.htm", "https://www.gov.cn:8080/a.htm"),
        ("https://www.gov.cn/a.htm#top", "https://www.gov.cn/a.htm"),
        (
            "https://www.gov.cn/a.htm?utm_source=wx&b=2&spm=1.2&a=1&from=timeline&UTM_medium=x",
            "https://www.gov.cn/a.htm?a=1&b=2",
        ),
        ("https://www.gov.cn", "https://www.gov.cn/"),
        ("https://app.gov.cn/#/detail?id=1", "https://app.gov.cn/#/detail?id=1"),
        ("  https://www.gov.cn/a.htm  ", "https://www.gov.cn/a.htm"),
        ("mailto:x@gov.cn", "mailto:x@gov.cn"),
    ],
    ids=[
        "unchanged",
        "scheme-host-lowercase-path-kept",
        "http-default-port",
        "https-default-port",
        "other-port-kept",
        "fragment-dropped",
        "tracking-dropped-sorted",
        "empty-path",
        "spa-route-fragment-kept",
        "whitespace",
        "not-http",
    ],
)
def test_normalise_url(url: str, expected: str) -> None:
    assert normalise_url(url) == expected


def test_entry_key_prefers_guid_then_url_then_title() -> None:
    by_guid = ParsedEntry(title="a", url="https://www.gov.cn/1.htm", guid="art_1")
    by_url = ParsedEntry(title="a", url="http://www.gov.cn/1.htm?utm_source=x")
    same_url = ParsedEntry(title="b (edited)", url="https://WWW.gov.cn/1.htm#comments")
    by_title = ParsedEntry(title="  关于 印发\n通知 ")
    same_title = ParsedEntry(title="关于 印发 通知")

    keys = {entry_key(e) for e in (by_guid, by_url, by_title)}

    assert len(keys) == 3
    assert all(len(k) == 64 and int(k, 16) >= 0 for k in keys)
    assert entry_key(by_url) == entry_key(same_url)
    assert entry_key(by_title) == entry_key(same_title)
    assert entry_key(by_guid) == entry_key(ParsedEntry(title="other", guid=" art_1 "))


def test_content_hash_tracks_title_url_and_time() -> None:
    entry = ParsedEntry(title=TITLE, url="https://www.gov.cn/1.htm", published=day(2024, 1, 5))

    variants = [
        ParsedEntry(title=TITLE + "（修订）", url=entry.url, published=entry.published),
        ParsedEntry(title=TITLE, url="https://www.gov.cn/2.htm", published=entry.published),
        ParsedEntry(title=TITLE, url=entry.url, published=at(2024, 1, 5, 10, 30)),
        ParsedEntry(title=TITLE, url=entry.url),
    ]

    assert content_hash(entry) == content_hash(
        ParsedEntry(title=TITLE, url=entry.url, published=entry.published, summary="changed")
    )
    assert len(content_hash(entry)) == 64
    assert len({content_hash(v) for v in [entry, *variants]}) == 5

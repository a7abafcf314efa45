from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from syndicator.db.models import SourceKind, SourceRole
from syndicator.sources.config import (
    DEFAULT_INTERVAL,
    Problem,
    SourcesConfigError,
    check_sources,
    load_sources,
    parse_interval,
)

Writer = Callable[[str], Path]

EXAMPLE = Path(__file__).parents[3] / "examples" / "sources.jiangxi.toml"

# Lines 1-5; every case below starts on line 6.
HEAD = """\
[[site]]
id = "ganzhou"
name = "赣州市人民政府"
level = "city"

"""

# A valid downstream source on lines 6-13, for cases that append to it.
SOURCE = """\
[[source]]
id = "ganzhou-zwgk"
site = "ganzhou"
role = "downstream"
kind = "html_list"
url = "https://www.ganzhou.gov.cn/"
column = "notice"
html = { item = "li" }
"""


def _source(**changes: str | None) -> str:
    """SOURCE with fields replaced in place (same line) or dropped (None) at the end."""
    lines = SOURCE.splitlines()
    for name, value in changes.items():
        index = next((i for i, line in enumerate(lines) if line.startswith(f"{name} =")), None)
        if index is None:
            assert value is not None
            lines.append(f"{name} = {value}")
        elif value is None:
            lines[index] = "# removed"
        else:
            lines[index] = f"{name} = {value}"
    return "\n".join(lines) + "\n"


@pytest.fixture
def write(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Writer:
    """Write a sources file and return its path as the user would type it."""
    monkeypatch.chdir(tmp_path)

    def _write(text: str) -> Path:
        (tmp_path / "sources.toml").write_text(text, encoding="utf-8")
        return Path("sources.toml")

    return _write


S = 'sources.toml:{} source "ganzhou-zwgk": '

BROKEN = [
    pytest.param(
        HEAD + _source(html='{ item = "" }'),
        [S.format(13) + 'selector "item" is empty'],
        id="html-item-empty",
    ),
    pytest.param(
        HEAD + _source(html='{ item = "li", link = "a[" }'),
        [S.format(13) + 'selector "link": "a[" is not valid CSS'],
        id="html-selector-invalid-css",
    ),
    pytest.param(
        HEAD + _source(html="""{ item = "li", link_pattern = 'content_(\\d+' }"""),
        [
            S.format(13) + "field \"html.link_pattern\": 'content_(\\d+' is not a valid regular "
            "expression (missing ), unterminated subpattern at position 8)"
        ],
        id="html-link-pattern-invalid",
    ),
    pytest.param(
        HEAD + _source(html='{ item = "li", date = "" }'),
        [S.format(13) + 'selector "date" is empty (remove it)'],
        id="html-optional-selector-empty",
    ),
    pytest.param(
        HEAD + _source(html='{ item = "li", itme = "a" }'),
        [S.format(13) + 'unknown field "html.itme" (did you mean "html.item"?)'],
        id="html-unknown-field",
    ),
    pytest.param(
        HEAD + _source(html='{ link = "a" }'),
        [
            S.format(13) + 'selector "item" is required (the CSS selector of one list entry, '
            'e.g. "ul.list li")'
        ],
        id="html-item-missing",
    ),
    pytest.param(
        HEAD + _source(html=None),
        [
            S.format(6) + 'field "html" is required for kind = "html_list" '
            '(e.g. html = { item = "ul.list li", link = "a" })'
        ],
        id="html-missing-for-html-list",
    ),
    pytest.param(
        HEAD + _source(html=None) + '[source.html]\nlink = "a"\nitem = ""\n',
        [S.format(16) + 'selector "item" is empty'],
        id="subtable-item-empty",
    ),
    pytest.param(
        HEAD + _source(html=None) + '[source.html]\nitem = "li"\ninterval = "10m"\n',
        [
            S.format(16) + 'unknown field "html.interval" '
            '("interval" belongs to the source: move it above [source.html])'
        ],
        id="subtable-swallows-source-field",
    ),
    pytest.param(
        HEAD + _source(html=None) + '[source.html]\nlink = "a"\n',
        [
            S.format(14) + 'selector "item" is required (the CSS selector of one list entry, '
            'e.g. "ul.list li")'
        ],
        id="subtable-item-missing",
    ),
    pytest.param(
        HEAD + _source(kind='"rss"'),
        [
            S.format(13)
            + 'field "html" is only used by kind = "html_list" (this source is "rss"); '
            "remove it"
        ],
        id="html-on-rss",
    ),
    pytest.param(
        HEAD + _source(kind='"json"', html='{ item = "li" }'),
        [
            S.format(6) + 'field "json" is required for kind = "json" '
            '(e.g. json = { items = "data.list", title = "title", url = "url" })',
            S.format(13) + 'field "html" is only used by kind = "html_list" (this source is '
            '"json"); remove it',
        ],
        id="json-kind-without-json",
    ),
    pytest.param(
        HEAD + _source(kind='"json"', html=None, json='{ title = "t", url = "", guid = "a..b" }'),
        [
            S.format(14) + 'field "json.url" is empty (remove it)',
            S.format(14) + 'field "json.guid": "a..b" has an empty part between dots',
            S.format(14) + 'field "json.items" is required (the dotted path to the list, e.g. '
            '"data.list", or "" when the document itself is the list)',
        ],
        id="json-mapping-problems",
    ),
    pytest.param(
        HEAD + _source(interval='"5s"'),
        [S.format(14) + 'field "interval": "5s" is below the 60 s minimum'],
        id="interval-below-minimum",
    ),
    pytest.param(
        HEAD + _source(interval="30"),
        [S.format(14) + 'field "interval": 30 is below the 60 s minimum'],
        id="interval-int-below-minimum",
    ),
    pytest.param(
        HEAD + _source(interval='"2d"'),
        [S.format(14) + 'field "interval": "2d" is above the 1 day (86400 s) maximum'],
        id="interval-above-maximum",
    ),
    pytest.param(
        HEAD + _source(interval="true"),
        [
            S.format(14) + 'field "interval": expected seconds (an integer) or a duration such '
            'as "10m", got boolean true'
        ],
        id="interval-wrong-type",
    ),
    pytest.param(
        HEAD + _source(interval='"10 minutes"'),
        [
            S.format(14) + 'field "interval": "10 minutes" is not a duration: write seconds '
            '(600) or a number with a unit s, m, h or d ("90s", "10m", "2h", "1h30m")'
        ],
        id="interval-unparsable",
    ),
    pytest.param(
        HEAD + _source(intervall='"10m"'),
        [S.format(14) + 'unknown field "intervall" (did you mean "interval"?)'],
        id="unknown-field-typo",
    ),
    pytest.param(
        HEAD + _source(item='"li"'),
        [S.format(14) + 'unknown field "item" ("item" belongs inside html = { item = … })'],
        id="selector-outside-html",
    ),
    pytest.param(
        HEAD + _source(site='"nanchang"'),
        [S.format(8) + 'field "site": unknown site "nanchang" (declared sites: ganzhou)'],
        id="unknown-site",
    ),
    pytest.param(
        HEAD + _source(site='"ganzou"'),
        [S.format(8) + 'field "site": unknown site "ganzou" (did you mean "ganzhou"?)'],
        id="unknown-site-typo",
    ),
    pytest.param(
        _source(),
        [
            'sources.toml:3 source "ganzhou-zwgk": field "site": unknown site "ganzhou" '
            "(no [[site]] tables are declared)"
        ],
        id="no-sites-at-all",
    ),
    pytest.param(
        HEAD + _source(role='"up"'),
        [S.format(9) + 'field "role": "up" is not one of upstream, downstream'],
        id="role-invalid",
    ),
    pytest.param(
        HEAD + _source(kind='"html"'),
        [
            S.format(10) + 'field "kind": "html" is not one of rss, atom, html_list, json '
            '(did you mean "html_list"?)'
        ],
        id="kind-invalid",
    ),
    pytest.param(
        HEAD + _source(column=None),
        [
            S.format(6) + 'field "column" is required for downstream sources '
            "(one of dynamic, notice, policy, home, repost)"
        ],
        id="column-missing-downstream",
    ),
    pytest.param(
        HEAD + _source(column='"polcy"'),
        [
            S.format(12) + 'field "column": "polcy" is not one of dynamic, notice, policy, home, '
            'repost (did you mean "policy"?)'
        ],
        id="column-invalid",
    ),
    pytest.param(
        HEAD + _source(role='"upstream"'),
        [
            S.format(12) + 'field "column" is only for downstream sources (this one is '
            "upstream); remove it"
        ],
        id="column-on-upstream",
    ),
    pytest.param(
        HEAD + _source(key="true"),
        [S.format(14) + 'field "key" is only for upstream sources (this one is downstream)'],
        id="key-on-downstream",
    ),
    pytest.param(
        HEAD + _source(detail='"yes"'),
        [S.format(14) + 'field "detail": expected true or false, got string "yes"'],
        id="detail-wrong-type",
    ),
    pytest.param(
        HEAD + _source(encoding='"gbk2312"'),
        [S.format(14) + 'field "encoding": unknown encoding "gbk2312" (did you mean "gb2312"?)'],
        id="encoding-unknown",
    ),
    pytest.param(
        HEAD + _source(encoding='"base64"'),
        [S.format(14) + 'field "encoding": "base64" is not a text encoding'],
        id="encoding-not-text",
    ),
    pytest.param(
        HEAD + _source(url='"www.ganzhou.gov.cn/c100023/list.shtml"'),
        [
            S.format(11) + 'field "url": "www.ganzhou.gov.cn/c100023/list.shtml" is not an '
            "absolute http(s) URL (start it with https:// or http://)"
        ],
        id="url-without-scheme",
    ),
    pytest.param(
        HEAD + _source(url='"ftp://ganzhou.gov.cn/"'),
        [
            S.format(11) + 'field "url": "ftp://ganzhou.gov.cn/" is not an absolute http(s) URL '
            "(start it with https:// or http://)"
        ],
        id="url-not-http",
    ),
    pytest.param(
        HEAD + _source(url='"https://www.ganzhou.gov.cn/通知 公告/"'),
        [
            S.format(11) + 'field "url": "https://www.ganzhou.gov.cn/通知 公告/" contains '
            "spaces; remove them (or write %20)"
        ],
        id="url-with-space",
    ),
    pytest.param(
        HEAD + _source(name="5"),
        [S.format(14) + 'field "name": expected a string, got integer 5'],
        id="name-wrong-type",
    ),
    pytest.param(
        HEAD + _source(id='"Gan Zhou"'),
        [
            'sources.toml:7 source "Gan Zhou": field "id": "Gan Zhou" is not a valid id '
            '(1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit)'
        ],
        id="id-invalid",
    ),
    pytest.param(
        HEAD + _source(id=None),
        ['sources.toml:6 source #1: field "id" is required'],
        id="id-missing",
    ),
    pytest.param(
        HEAD + SOURCE + "\n" + SOURCE,
        [
            'sources.toml:16 source "ganzhou-zwgk": field "id": source "ganzhou-zwgk" is already '
            "declared at line 7"
        ],
        id="duplicate-source-id",
    ),
    pytest.param(
        HEAD + HEAD + SOURCE,
        ['sources.toml:7 site "ganzhou": field "id": site "ganzhou" is already declared at line 2'],
        id="duplicate-site-id",
    ),
    pytest.param(
        HEAD.replace('level = "city"', 'level = "city"\nparent = "jiangxi"') + SOURCE,
        [
            'sources.toml:5 site "ganzhou": field "parent": unknown site "jiangxi" '
            "(declared sites: ganzhou)"
        ],
        id="parent-unknown",
    ),
    pytest.param(
        HEAD.replace('level = "city"', 'level = "city"\nparent = "ganzhou"') + SOURCE,
        ['sources.toml:5 site "ganzhou": field "parent": a site cannot be its own parent'],
        id="parent-self",
    ),
    pytest.param(
        '[[site]]\nid = "a"\nname = "A"\nlevel = "city"\nparent = "c"\n'
        '[[site]]\nid = "b"\nname = "B"\nlevel = "city"\nparent = "a"\n'
        '[[site]]\nid = "c"\nname = "C"\nlevel = "city"\nparent = "b"\n'
        '[[site]]\nid = "d"\nname = "D"\nlevel = "county"\nparent = "c"\n'
        + SOURCE.replace('"ganzhou"', '"d"'),
        ['sources.toml:5 site "a": field "parent": the site hierarchy has a cycle: a → c → b → a'],
        id="parent-cycle-reported-once",
    ),
    pytest.param(
        HEAD.replace('"city"', '"prefecture"') + SOURCE,
        [
            'sources.toml:4 site "ganzhou": field "level": "prefecture" is not one of national, '
            "province, city, county, district, township, department"
        ],
        id="site-level-invalid",
    ),
    pytest.param(
        '[[site]]\nid = "ganzhou"\nlevel = "city"\nurl = "ganzhou.gov.cn"\n' + SOURCE,
        [
            'sources.toml:1 site "ganzhou": field "name" is required',
            'sources.toml:4 site "ganzhou": field "url": "ganzhou.gov.cn" is not an absolute '
            "http(s) URL (start it with https:// or http://)",
        ],
        id="site-name-missing-url-invalid",
    ),
    pytest.param(
        'interval = "10m"\n' + HEAD + SOURCE,
        ['sources.toml:1: unknown top-level key "interval" (put it inside [defaults])'],
        id="top-level-key-belongs-in-defaults",
    ),
    pytest.param(
        HEAD + SOURCE + '[[sources]]\nid = "x"\n',
        ["sources.toml:14: unknown table [[sources]] (did you mean [[source]]?)"],
        id="top-level-table-typo",
    ),
    pytest.param(
        '[defaults]\ninterval = "5s"\nencodng = "gbk"\n' + HEAD + SOURCE,
        [
            'sources.toml:2 [defaults]: field "interval": "5s" is below the 60 s minimum',
            'sources.toml:3 [defaults]: unknown field "encodng" (did you mean "encoding"?)',
        ],
        id="defaults-problems",
    ),
    pytest.param(
        HEAD + '[source]\nid = "x"\n',
        [
            'sources.toml:6: "source" must be an array of tables: write [[source]] (double '
            "brackets) once for each source",
        ],
        id="single-bracket-source",
    ),
    pytest.param(
        HEAD,
        ["sources.toml: no sources declared: add at least one [[source]] table"],
        id="no-sources",
    ),
    pytest.param(
        HEAD + _source(html="""{ item = "li", link_pattern = "content_\\d+" }"""),
        [
            "sources.toml:13: TOML syntax error: unescaped '\\' in a string (column 49); write "
            "regular expressions in single quotes, e.g. link_pattern = 'content_\\d+\\.htm'"
        ],
        id="toml-backslash-in-basic-string",
    ),
    pytest.param(
        HEAD + SOURCE + "interval = \n",
        ["sources.toml:14: TOML syntax error: invalid value (column 12)"],
        id="toml-syntax-error",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BROKEN)
def test_broken_file_reports_exact_problems(write: Writer, text: str, expected: list[str]) -> None:
    path = write(text)
    assert [str(p) for p in check_sources(path)] == expected
    with pytest.raises(SourcesConfigError) as caught:
        load_sources(path)
    assert str(caught.value) == "\n".join(expected)


def test_every_problem_is_reported_at_once_sorted_by_line(write: Writer) -> None:
    text = (
        '[defaults]\ninterval = "1s"\n\n'  # 1-3
        + HEAD.replace('"city"', '"metropolis"')  # 4-8
        + _source(encoding='"nope"', html='{ item = "" }')  # 9-17
        + "\n"
        + _source(url='"ganzhou"', site='"gz"').replace("ganzhou-zwgk", "second")  # 19-26
    )
    problems = check_sources(write(text))
    assert [(p.line, p.subject) for p in problems] == [
        (2, "[defaults]"),
        (7, 'site "ganzhou"'),
        (16, 'source "ganzhou-zwgk"'),
        (17, 'source "ganzhou-zwgk"'),
        (21, 'source "second"'),
        (24, 'source "second"'),
    ]
    with pytest.raises(SourcesConfigError) as caught:
        load_sources(Path("sources.toml"))
    assert caught.value.problems == problems
    assert str(caught.value).count("\n") == len(problems) - 1


def test_problem_str_without_line_or_subject() -> None:
    assert str(Problem("a.toml", None, "", "x")) == "a.toml: x"
    assert str(Problem("a.toml", 3, "", "x")) == "a.toml:3: x"
    assert str(Problem("a.toml", None, 'site "s"', "x")) == 'a.toml site "s": x'
    assert str(Problem("a.toml", 42, 'source "s"', "x")) == 'a.toml:42 source "s": x'


def test_missing_file_and_non_utf8_file(write: Writer, tmp_path: Path) -> None:
    write("")
    assert [str(p) for p in check_sources(Path("absent.toml"))] == [
        "absent.toml: cannot read the file: No such file or directory"
    ]
    (tmp_path / "gbk.toml").write_bytes((HEAD + "# 通知公告\n").encode("gbk"))
    assert [str(p) for p in check_sources(Path("gbk.toml"))] == [
        "gbk.toml:3: the file is not UTF-8 (byte 0xb8); save it as UTF-8 "
        "(GBK/GB2312 files are not accepted)"
    ]


def test_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + (HEAD + SOURCE).encode("utf-8"))
    assert load_sources(path).sources[0].id == "ganzhou-zwgk"


def test_example_file_loads_without_problems() -> None:
    assert check_sources(EXAMPLE) == []
    config = load_sources(EXAMPLE)
    upstream = [s for s in config.sources if s.role is SourceRole.UPSTREAM]
    downstream = [s for s in config.sources if s.role is SourceRole.DOWNSTREAM]
    assert (len(config.sites), len(upstream), len(downstream)) == (9, 4, 11)
    assert {s.level for s in config.sites} >= {"national", "province", "city", "county"}
    assert config.site("ruijin").parent == "ganzhou"
    assert {s.column for s in downstream} == {"dynamic", "notice", "policy", "home"}
    assert all(s.column is None for s in upstream)

    zuixin = next(s for s in config.sources if s.id == "gov-cn-zuixin")
    assert zuixin.url == "https://www.gov.cn/zhengce/zuixin/"
    assert zuixin.kind is SourceKind.HTML_LIST and zuixin.key and zuixin.detail
    assert zuixin.html is not None and zuixin.html["link_pattern"] == r"content_\d+\.htm"
    assert re.search(zuixin.html["link_pattern"], "../content/202401/content_6925001.htm")
    # The [source.html] sub-table form.
    gwywj = next(s for s in config.sources if s.id == "gov-cn-gwywj")
    assert gwywj.html is not None and gwywj.html["date"] == "td:nth-child(5)"
    # [defaults] interval = "30m" applies where a source gives none.
    assert next(s for s in config.sources if s.id == "ganzhou-zwdt").interval_seconds == 1800

    # Every site reaches 中国政府网 through its parents.
    for site in config.sites:
        chain = [site.id]
        while (parent := config.site(chain[-1]).parent) is not None:
            chain.append(parent)
        assert chain[-1] == "gov-cn"


def test_example_commented_out_sources_are_valid_too(tmp_path: Path) -> None:
    """The commented templates (JSON alternative, repost column) stay loadable when enabled."""
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    enabled: list[str] = []
    for index, line in enumerate(lines):
        if line == "# [[source]]":
            block = lines[index:]
            end = next((i for i, b in enumerate(block) if not b.startswith("# ")), len(block))
            enabled.extend(b[2:] for b in block[:end])
    assert len([b for b in enabled if b == "[[source]]"]) == 2
    path = tmp_path / "enabled.toml"
    path.write_text("\n".join([*lines, *enabled]) + "\n", encoding="utf-8")
    config = load_sources(path)
    json_source = next(s for s in config.sources if s.kind is SourceKind.JSON)
    assert json_source.json == {
        "items": "",
        "title": "TITLE",
        "url": "URL",
        "published": "DOCRELPUBTIME",
    }
    assert any(s.column == "repost" for s in config.sources)


def test_defaults_apply_and_sources_override_them(write: Writer) -> None:
    text = (
        '[defaults]\ninterval = "2h"\nencoding = "gb18030"\n'
        + HEAD
        + SOURCE
        + _source(interval='"15m"', encoding='"utf-8"').replace("ganzhou-zwgk", "other")
    )
    first, second = load_sources(write(text)).sources
    assert (first.interval_seconds, first.encoding) == (7200, "gb18030")
    assert (second.interval_seconds, second.encoding) == (900, "utf-8")


def test_without_defaults_the_default_interval_applies(write: Writer) -> None:
    path = write(HEAD + SOURCE)
    (spec,) = load_sources(path).sources
    assert spec.interval_seconds == DEFAULT_INTERVAL
    assert spec.encoding is None and spec.key is False and spec.detail is False
    assert spec.line == 6 and spec.column == "notice" and spec.html == {"item": "li"}
    assert load_sources(str(path), default_interval=300).sources[0].interval_seconds == 300


def test_upstream_json_source_with_root_list(write: Writer) -> None:
    text = HEAD + _source(
        role='"upstream"',
        kind='"json"',
        column=None,
        html=None,
        json='{ items = "", title = "TITLE", url = "URL" }',
        key="true",
    )
    (spec,) = load_sources(write(text)).sources
    assert spec.role is SourceRole.UPSTREAM and spec.kind is SourceKind.JSON and spec.key
    assert spec.json == {"items": "", "title": "TITLE", "url": "URL"} and spec.html is None


def test_inline_array_form_falls_back_to_the_key_line(write: Writer) -> None:
    text = (
        'site = [{ id = "a", name = "A", level = "city" }]\n'
        'source = [{ id = "s", site = "a", role = "upstream", kind = "rss",'
        ' url = "https://a.gov.cn/rss.xml", interval = 5 }]\n'
    )
    assert [str(p) for p in check_sources(write(text))] == [
        'sources.toml:2 source "s": field "interval": 5 is below the 60 s minimum'
    ]


def test_site_lookup(write: Writer) -> None:
    config = load_sources(write(HEAD + SOURCE))
    assert config.site("ganzhou").name == "赣州市人民政府"
    assert config.site("ganzhou").line == 1
    with pytest.raises(KeyError):
        config.site("nanchang")


def test_multiline_strings_do_not_confuse_line_numbers(write: Writer) -> None:
    text = (
        HEAD
        + _source(name='"""\n[[source]]\ninterval = 1\n"""')  # lines 14-17
        + 'interval = "1s"\n'  # line 18
    )
    assert [str(p) for p in check_sources(write(text))] == [
        S.format(18) + 'field "interval": "1s" is below the 60 s minimum'
    ]


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (600, 600),
        ("600", 600),
        ("90s", 90),
        ("10m", 600),
        ("2h", 7200),
        ("1d", 86_400),
        ("1h30m", 5400),
        (" 1h 30m ", 5400),
        ("5s", 5),  # parsing only: the loader applies the 60 s minimum
        (-5, -5),
    ],
    ids=str,
)
def test_parse_interval(value: object, seconds: int) -> None:
    assert parse_interval(value) == seconds


@pytest.mark.parametrize(
    "value",
    ["", "m", "10 minutes", "1.5h", "10M", "h1", "-5m", True, 600.0, None, [600]],
    ids=repr,
)
def test_parse_interval_rejects(value: object) -> None:
    with pytest.raises(ValueError):
        parse_interval(value)

"""Rendering per channel: templates and fallback, escaping per format, limits and their rules."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar

import pytest

from channels.base import Channel, Format, LengthUnit, Limit, Message, Receipt, measure
from syndicator.content import (
    DEFAULT_POLICIES,
    KIND_LABELS,
    Content,
    LimitRule,
    PolicyError,
    RenderError,
    RenderPolicy,
    _fit,
    builtin_templates_dir,
    policies_from_config,
    policy_for,
    render,
    render_for,
    template_names,
)
from syndicator.content._dialects import cn_time, escape_markdown, escape_telegram

URL = "https://www.example.gov.cn/zwgk/2024/0105/a_1.html"
PUBLISHED = datetime(2024, 1, 5, 2, 30, tzinfo=UTC)  # 10:30 in Shanghai

# name, formats (preferred first), limit, title_limit: as the built-in adapters declare them
CHANNELS: dict[str, tuple[tuple[Format, ...], Limit | None, Limit | None]] = {
    "wechat_mp": (("html",), Limit(19_999), Limit(32)),
    "weibo": (("plain",), Limit(140, LengthUnit.WEIBO), None),
    "wecom_bot": (("plain", "markdown"), Limit(2048, LengthUnit.UTF8_BYTES), None),
    "dingtalk": (("plain", "markdown"), Limit(20_000, LengthUnit.UTF8_BYTES), None),
    "feishu": (("plain", "markdown"), None, None),
    "telegram": (("html", "plain"), Limit(4096, LengthUnit.UTF16_UNITS), None),
    "webhook": (("plain", "markdown", "html"), None, None),
    "email": (("html", "plain"), None, None),
}


def make(**overrides: Any) -> Content:
    fields: dict[str, Any] = {
        "kind": "rebuttal",
        "title": "关于网传某地自来水停供的不实信息",
        "body": "近日，网传某地将停水三天。\n经核实，该信息不实。",
        "summary": "网传停水不实，供水正常。",
        "url": URL,
        "issuer": "某市人民政府办公室",
        "published_at": PUBLISHED,
    }
    fields.update(overrides)
    return Content(**fields)


def on(channel: str, content: Content, **kw: Any) -> list[Message]:
    formats, limit, title_limit = CHANNELS[channel]
    kw.setdefault("limit", limit)
    kw.setdefault("title_limit", title_limit)
    return render(content, channel_name=channel, formats=formats, **kw)


def one(channel: str, content: Content, **kw: Any) -> Message:
    messages = on(channel, content, **kw)
    assert len(messages) == 1
    return messages[0]


def long_body(paragraphs: int, sentence: str = "各地要按照通知要求落实保障措施。") -> str:
    return "\n".join(f"第{i}段：" + sentence * 3 for i in range(1, paragraphs + 1))


def visible(body: str) -> str:
    return re.sub(r"<[^>]*>", "", body)


def shown(body: str, format: Format) -> str:
    """What a reader sees, roughly: tags, link targets and escapes removed."""
    if format == "html":
        return visible(body).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    if format == "markdown":
        return re.sub(r"\\(.)", r"\1", re.sub(r"\[((?:\\.|[^\]])*)\]\([^)]*\)", r"\1", body))
    return body


class _Balanced(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in ("br", "img", "hr"):
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}> in {self.stack}"
        self.stack.pop()


def assert_balanced(html: str) -> None:
    parser = _Balanced()
    parser.feed(html)
    parser.close()
    assert parser.stack == [], html


# -- templates ------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["interpretation", "rebuttal", "notice", "test"])
@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_every_kind_renders_on_every_builtin_channel(kind: str, channel: str) -> None:
    message = one(channel, make(kind=kind))

    assert message.kind == kind
    assert message.format == policy_for(channel).choose_format(channel, CHANNELS[channel][0])
    assert message.body == message.body.strip()
    if channel != "wechat_mp":  # an article's title is sent apart from its body
        assert KIND_LABELS[kind][1] + message.title in visible(message.body)
    assert URL in message.body


def test_builtin_templates_cover_each_kind_and_channel() -> None:
    root = builtin_templates_dir()
    for kind in ("interpretation", "rebuttal", "notice", "test"):
        names = {p.name for p in (root / kind).glob("*.j2")}
        assert {"default.j2", "wechat_mp.j2", "weibo.j2", "wecom_bot.j2", "telegram.j2"} <= names


def test_builtin_templates_are_the_top_level_directory() -> None:
    top = Path(__file__).resolve().parents[3] / "templates" / "messages"
    assert builtin_templates_dir().resolve() == top.resolve()


@pytest.fixture
def site(tmp_path: Path) -> Callable[[dict[str, str]], Path]:
    def write(files: dict[str, str]) -> Path:
        for name, text in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        return tmp_path

    return write


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        pytest.param("weibo", "W 关于网传某地自来水停供的不实信息", id="channel-template"),
        pytest.param("wecom_bot", r"D markdown wecom\_bot", id="falls-back-to-default"),
        pytest.param("telegram", "D html telegram", id="default-branches-on-format"),
    ],
)
def test_template_lookup_then_default(
    site: Callable[[dict[str, str]], Path], channel: str, expected: str
) -> None:
    root = site(
        {
            "rebuttal/weibo.j2": "W {{ title }}",
            "rebuttal/default.j2": "D {{ format }} {{ channel }}",
        }
    )
    assert one(channel, make(), templates_dir=root).body == expected


def test_edited_and_added_templates_are_used_without_a_restart(
    site: Callable[[dict[str, str]], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Staff edit the templates of a running worker: the file system is asked again at most
    # every RECHECK_SECONDS, so the change shows within that time (and not a render sooner).
    module = importlib.import_module("syndicator.content.render")  # the name is the function
    clock = [1000.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    root = site({"rebuttal/default.j2": "旧 {{ channel }}"})
    assert one("weibo", make(), templates_dir=root).body == "旧 weibo"

    site({"rebuttal/default.j2": "新的默认模板", "rebuttal/weibo.j2": "微博专用 {{ title }}"})
    clock[0] += module.RECHECK_SECONDS / 2
    assert one("weibo", make(), templates_dir=root).body == "旧 weibo"  # not asked yet
    clock[0] += module.RECHECK_SECONDS
    assert one("weibo", make(), templates_dir=root).body.startswith("微博专用 ")
    assert one("wecom_bot", make(), templates_dir=root).body == "新的默认模板"

    (root / "rebuttal" / "weibo.j2").unlink()  # removed: back to the default
    clock[0] += module.RECHECK_SECONDS * 2
    assert one("weibo", make(), templates_dir=root).body == "新的默认模板"


def test_template_names_order() -> None:
    assert template_names("notice", "dingtalk") == ["notice/dingtalk.j2", "notice/default.j2"]


def test_no_template_names_both_candidates(site: Callable[[dict[str, str]], Path]) -> None:
    root = site({"notice/default.j2": "x"})
    with pytest.raises(RenderError, match=r"rebuttal/weibo\.j2 或 rebuttal/default\.j2"):
        one("weibo", make(), templates_dir=root)


@pytest.mark.parametrize(
    ("template", "variable"),
    [
        pytest.param("标题 {{ title }}\n{{ undefined_name }}", "undefined_name", id="name"),
        pytest.param("{{ extra.missing_key }}", "missing_key", id="attribute"),
    ],
)
def test_undefined_variable_names_template_line_and_variable(
    site: Callable[[dict[str, str]], Path], template: str, variable: str
) -> None:
    root = site({"rebuttal/default.j2": template})
    with pytest.raises(RenderError) as caught:
        one("wecom_bot", make(), templates_dir=root)
    text = str(caught.value)
    assert "rebuttal/default.j2" in text and variable in text and "wecom_bot" in text
    if "\n" in template:
        assert "第 2 行" in text


def test_template_syntax_error_names_template_and_line(
    site: Callable[[dict[str, str]], Path],
) -> None:
    root = site({"rebuttal/default.j2": "ok\n{% if %}"})
    with pytest.raises(RenderError, match=r"rebuttal/default\.j2 第 2 行"):
        one("webhook", make(), templates_dir=root)


@pytest.mark.parametrize("name", ["../etc", "Weibo", "we ibo", ""])
def test_channel_name_cannot_leave_the_templates_dir(name: str) -> None:
    with pytest.raises(RenderError, match="渠道名"):
        render(make(), channel_name=name, formats=("plain",), limit=None)


# -- escaping -------------------------------------------------------------------------------

HOSTILE = '警惕<script>alert("x")</script>与 A&B 公司 *加粗* _斜体_ [点我](http://evil.example)'


def test_wechat_html_escapes_staff_markup() -> None:
    body = one("wechat_mp", make(body=HOSTILE)).body

    assert "<script" not in body
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in body
    assert "A&amp;B" in body
    assert "来源：某市人民政府办公室" in body and "阅读原文" in body
    assert f'<a href="{URL}">' in body
    assert_balanced(body)


@pytest.mark.parametrize("channel", ["wecom_bot", "dingtalk", "feishu"])
def test_robot_markdown_escapes_staff_text(channel: str) -> None:
    message = one(channel, make(body=HOSTILE + "\n# 不是标题\n> 不是引用\n1. 不是列表\n<@all>"))

    assert message.format == "markdown"
    body = message.body
    assert r"\*加粗\*" in body and r"\_斜体\_" in body
    assert r"\[点我\]\(http://evil.example\)" in body
    assert "[点我](" not in body
    assert r"\<script\>" in body and r"A\&B" in body
    assert "\n\\# 不是标题" in body and "\n\\> 不是引用" in body and "\n1\\. 不是列表" in body
    assert r"\<@all\>" in body
    assert body.startswith("## 【辟谣】") and f"[阅读原文]({URL})" in body


def test_telegram_escapes_only_amp_lt_gt() -> None:
    body = one("telegram", make(body="A&B <b>x</b> \"引号\" '单引号'")).body

    assert "A&amp;B &lt;b&gt;x&lt;/b&gt; \"引号\" '单引号'" in body
    assert body.startswith("<b>【辟谣】") and f'<a href="{URL}">阅读原文</a>' in body
    assert set(re.findall(r"</?([a-z]+)", body)) <= {"b", "i", "a", "code", "pre"}
    assert_balanced(body)


@pytest.mark.parametrize("channel", ["weibo", "webhook"])
def test_plain_is_not_escaped(channel: str) -> None:
    body = one(channel, make(summary=HOSTILE, body=HOSTILE)).body
    assert HOSTILE in body


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        pytest.param("telegram", 'href="https://x.gov.cn/a?q=&quot;1&quot;&amp;b=(2)"', id="html"),
        pytest.param("wecom_bot", '(https://x.gov.cn/a?q="1"&b=%282%29)', id="markdown"),
    ],
)
def test_url_is_encoded_for_the_link_syntax(channel: str, expected: str) -> None:
    body = one(channel, make(url='https://x.gov.cn/a?q="1"&b=(2)')).body
    assert expected in body


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("普通文字，没有符号", "普通文字，没有符号", id="cjk-untouched"),
        pytest.param("a*b_c`d", r"a\*b\_c\`d", id="emphasis-code"),
        pytest.param("[x](y)", r"\[x\]\(y\)", id="link"),
        pytest.param("<font color=red>", r"\<font color=red\>", id="wecom-font"),
        pytest.param("# 标题\n## 二级", "\\# 标题\n\\## 二级", id="heading-each-line"),
        pytest.param("2024-01-05 #3", "2024-01-05 #3", id="mid-line-hash-dash"),
        pytest.param("- 项\n+ 项", "\\- 项\n\\+ 项", id="list-markers"),
        pytest.param("    12. 条", "12\\. 条", id="ordered-and-indent"),
        pytest.param(r"C:\path", r"C:\\path", id="backslash"),
        pytest.param("&amp;", r"\&amp;", id="entity"),
    ],
)
def test_escape_markdown(text: str, expected: str) -> None:
    assert escape_markdown(text) == expected


def test_escape_telegram() -> None:
    assert escape_telegram('<a href="x">&\'') == '&lt;a href="x"&gt;&amp;\''


# -- limits: split --------------------------------------------------------------------------

SPLIT_CASES = [
    pytest.param("wecom_bot", Limit(300, LengthUnit.UTF8_BYTES), long_body(8), id="utf8-bytes-cjk"),
    pytest.param(
        "telegram",
        Limit(200, LengthUnit.UTF16_UNITS),
        long_body(6, "请点赞👍🏽并转告家人👨‍👩‍👧，国旗🇨🇳。"),
        id="utf16-emoji",
    ),
    pytest.param(
        "feishu", Limit(120, LengthUnit.CHARS), long_body(6, "Policy 政策 2024 版。"), id="chars"
    ),
    pytest.param(
        "webhook", Limit(90, LengthUnit.WEIBO), long_body(6, "half-width text 与中文。"), id="weibo"
    ),
]


@pytest.mark.parametrize(("channel", "limit", "body"), SPLIT_CASES)
def test_split_parts_fit_and_keep_every_character_once(
    channel: str, limit: Limit, body: str
) -> None:
    content = make(body=body)
    policy = RenderPolicy(rule=LimitRule.SPLIT)
    whole = one(channel, content, limit=None, policy=policy).body
    parts = on(channel, content, limit=limit, policy=policy)

    assert len(parts) > 2
    pieces = []
    for i, part in enumerate(parts, 1):
        assert limit.fits(part.body), (i, measure(part.body, limit.unit))
        mark = f"（{i}/{len(parts)}）"
        assert part.body.startswith(mark)
        assert part.title == content.title + mark
        pieces.append(part.body.removeprefix(mark))
    joined = "".join(visible(p) for p in pieces)
    assert re.sub(r"\s", "", joined) == re.sub(r"\s", "", visible(whole))
    for cluster in ("👍🏽", "👨‍👩‍👧", "🇨🇳"):
        assert joined.count(cluster) == whole.count(cluster)


@pytest.mark.parametrize(
    ("format", "body"),
    [
        pytest.param("plain", long_body(5), id="plain"),
        pytest.param("markdown", r"**重点** 见[链接](https://a.gov.cn/x) \* 说明。" * 20, id="md"),
    ],
)
def test_split_chunks_join_to_the_body_exactly(format: Format, body: str) -> None:
    chunks = _fit.split(body, format, Limit(97, LengthUnit.UTF8_BYTES))
    assert "".join(chunks) == body
    assert all(measure(c, LengthUnit.UTF8_BYTES) <= 97 for c in chunks)
    if format == "markdown":
        assert all(c.count("**") % 2 == 0 and c.count("[链接](") == c.count(")") for c in chunks)


def test_split_prefers_line_then_sentence_boundaries() -> None:
    body = "第一句。第二句。\n第三句，第四句。第五句。"
    chunks = _fit.split(body, "plain", Limit(10))
    assert chunks == ["第一句。第二句。\n", "第三句，第四句。", "第五句。"]


def test_split_html_closes_and_reopens_tags() -> None:
    body = "<b>" + "加粗的文字很长。" * 12 + "</b>\n<i>斜体</i>"
    chunks = _fit.split(body, "html", Limit(60))
    assert len(chunks) > 1
    for chunk in chunks:
        assert_balanced(chunk)
        assert measure(chunk, LengthUnit.CHARS) <= 60
    assert "".join(visible(c) for c in chunks) == visible(body)


def test_split_refuses_a_token_longer_than_the_limit() -> None:
    with pytest.raises(RenderError, match="无法在上限"):
        on(
            "telegram",
            make(url="https://www.example.gov.cn/" + "a" * 300),
            limit=Limit(200, LengthUnit.UTF16_UNITS),
        )


def test_split_numbers_up_to_two_digits() -> None:
    parts = on("wecom_bot", make(body=long_body(40)), limit=Limit(200, LengthUnit.UTF8_BYTES))
    assert len(parts) >= 10
    assert parts[-1].body.startswith(f"（{len(parts)}/{len(parts)}）")
    assert all(Limit(200, LengthUnit.UTF8_BYTES).fits(p.body) for p in parts)


# -- limits: truncate -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "limit", "ends", "keeps"),
    [
        pytest.param("weibo", Limit(140, LengthUnit.WEIBO), URL, "摘要。", id="weibo-plain"),
        pytest.param("dingtalk", Limit(400, LengthUnit.UTF8_BYTES), f"]({URL})", "第1段", id="md"),
        pytest.param(
            "telegram", Limit(300, LengthUnit.UTF16_UNITS), f"{URL}</a>", "第2段", id="html"
        ),
    ],
)
def test_truncate_fits_with_the_link_and_ends_with_the_url(
    channel: str, limit: Limit, ends: str, keeps: str
) -> None:
    content = make(body=long_body(10), summary="摘要。" * 80)
    policy = RenderPolicy(policy_for(channel).formats, LimitRule.TRUNCATE)
    message = one(channel, content, limit=limit, policy=policy)

    assert limit.fits(message.body), measure(message.body, limit.unit)
    assert message.body.endswith(ends)
    assert shown(message.body, message.format).endswith("…全文：" + URL)
    assert keeps in message.body
    if channel == "telegram":
        assert_balanced(message.body)


def test_truncate_cuts_at_a_sentence_end() -> None:
    body = "一二三四五六七八九十。" * 30
    message = one(
        "weibo",
        make(summary=None, body=body),
        limit=Limit(100, LengthUnit.WEIBO),
    )
    assert re.search(r"。…全文：", message.body)


def test_weibo_default_truncates() -> None:
    message = one("weibo", make(summary="网传停水不实。" * 40))
    assert Limit(140, LengthUnit.WEIBO).fits(message.body)
    assert message.body.startswith("【辟谣】关于网传") and message.body.endswith(URL)


def test_truncate_without_url_is_refused() -> None:
    with pytest.raises(RenderError, match="url"):
        one("weibo", make(url=None, summary="很长的摘要。" * 60))


# -- limits: refuse -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("limit", "unit_label"),
    [
        pytest.param(Limit(100), "字", id="chars"),
        pytest.param(Limit(100, LengthUnit.UTF8_BYTES), "字节(UTF-8)", id="utf8"),
        pytest.param(Limit(100, LengthUnit.UTF16_UNITS), "字(UTF-16)", id="utf16"),
        pytest.param(Limit(100, LengthUnit.WEIBO), "中文计1", id="weibo"),
    ],
)
def test_refuse_names_channel_length_limit_and_unit(limit: Limit, unit_label: str) -> None:
    content = make(body=long_body(3))
    body = one("wechat_mp", content, limit=None).body
    with pytest.raises(RenderError) as caught:
        one("wechat_mp", content, limit=limit)
    text = str(caught.value)
    assert "wechat_mp" in text
    assert f"{measure(body, limit.unit):g} " in text
    assert "100 " in text and unit_label in text


# -- titles ---------------------------------------------------------------------------------


def test_title_over_limit_is_refused_under_refuse() -> None:
    with pytest.raises(RenderError, match=r"标题 40 字，超过上限 32 字"):
        one("wechat_mp", make(title="标" * 40))


def test_title_over_limit_is_shortened_otherwise() -> None:
    limit = Limit(30, LengthUnit.UTF8_BYTES)
    message = one("wecom_bot", make(title="关于网传停水的不实信息说明"), title_limit=limit)
    assert limit.fits(message.title) and message.title.endswith("…")


def test_split_titles_keep_the_title_when_the_number_does_not_fit() -> None:
    title = "关于停水"
    parts = on(
        "wecom_bot",
        make(title=title, body=long_body(6)),
        limit=Limit(300, LengthUnit.UTF8_BYTES),
        title_limit=Limit(len(title.encode()), LengthUnit.UTF8_BYTES),
    )
    assert len(parts) > 1 and {p.title for p in parts} == {title}


# -- times ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("utc", "shown"),
    [
        pytest.param(datetime(2024, 1, 4, 16, 30, tzinfo=UTC), "2024年1月5日 00:30", id="next-day"),
        pytest.param(
            datetime(2023, 12, 31, 16, 0, tzinfo=UTC), "2024年1月1日 00:00", id="new-year"
        ),
        pytest.param(
            datetime(2023, 12, 31, 15, 59, tzinfo=UTC), "2023年12月31日 23:59", id="before-midnight"
        ),
        pytest.param(
            datetime(2024, 1, 5, 9, 0, tzinfo=timezone(timedelta(hours=-5))),
            "2024年1月5日 22:00",
            id="other-offset",
        ),
    ],
)
def test_times_are_shown_in_shanghai(utc: datetime, shown: str) -> None:
    assert cn_time(utc) == shown
    assert f"发布时间：{shown}" in one("wecom_bot", make(published_at=utc)).body


# -- policies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "format", "rule"),
    [
        ("wechat_mp", "html", LimitRule.REFUSE),
        ("weibo", "plain", LimitRule.TRUNCATE),
        ("wecom_bot", "markdown", LimitRule.SPLIT),
        ("dingtalk", "markdown", LimitRule.TRUNCATE),
        ("feishu", "markdown", LimitRule.SPLIT),
        ("telegram", "html", LimitRule.SPLIT),
        ("webhook", "plain", LimitRule.REFUSE),
        ("email", "html", LimitRule.REFUSE),
        ("rss", "html", LimitRule.REFUSE),
    ],
)
def test_default_policies(channel: str, format: Format, rule: LimitRule) -> None:
    policy = DEFAULT_POLICIES[channel]
    assert policy.rule is rule
    assert policy.choose_format(channel, ("plain", "markdown", "html")) == format


def test_unknown_adapter_gets_its_own_format_and_refuse() -> None:
    policy = policy_for("matrix")
    assert policy.rule is LimitRule.REFUSE
    assert policy.choose_format("matrix", ("markdown", "plain")) == "markdown"


def test_policy_falls_back_to_a_format_the_adapter_accepts() -> None:
    message = render(make(), channel_name="feishu", formats=("plain",), limit=None)[0]
    assert message.format == "plain" and message.body.startswith("【辟谣】")


def test_policy_format_the_adapter_refuses() -> None:
    with pytest.raises(RenderError, match="weibo 只接受 plain"):
        render(
            make(),
            channel_name="weibo",
            formats=("plain",),
            limit=None,
            policy=RenderPolicy(("html",)),
        )


def test_policies_from_config_override_defaults() -> None:
    policies = policies_from_config(
        {"weibo": {"rule": "refuse"}, "dingtalk": {"format": ["plain"], "rule": "split"}}
    )
    assert policies["weibo"] == RenderPolicy(("plain",), LimitRule.REFUSE)
    assert policies["dingtalk"] == RenderPolicy(("plain",), LimitRule.SPLIT)
    assert policies["telegram"] == DEFAULT_POLICIES["telegram"]
    with pytest.raises(RenderError, match="超过上限"):
        on("weibo", make(summary="长" * 200), policies=policies)
    assert one("dingtalk", make(), policies=policies).format == "plain"


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        pytest.param({"weibo": {"rule": "cut"}}, "weibo.rule", id="rule"),
        pytest.param({"weibo": {"format": "pdf"}}, "weibo.format", id="format"),
        pytest.param({"weibo": {"format": []}}, "weibo.format", id="no-format"),
        pytest.param({"weibo": {"limit": 1}}, "未知的键 limit", id="key"),
    ],
)
def test_policies_from_config_errors(config: dict[str, dict[str, Any]], fragment: str) -> None:
    with pytest.raises(PolicyError, match=re.escape(fragment)):
        policies_from_config(config)


# -- the adapter class as the source of name, formats and limits ---------------------------


class _Tiny(Channel):
    name = "tinybot"
    title = "测试机器人"
    formats: ClassVar[tuple[Format, ...]] = ("markdown",)
    limit: ClassVar[Limit | None] = Limit(120, LengthUnit.UTF8_BYTES)
    title_limit: ClassVar[Limit | None] = Limit(60, LengthUnit.UTF8_BYTES)

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        raise NotImplementedError


def test_render_for_reads_the_adapter_class() -> None:
    with pytest.raises(RenderError, match="tinybot"):
        render_for(make(), _Tiny)
    parts = render_for(make(), _Tiny, policy=RenderPolicy(rule=LimitRule.SPLIT))
    assert len(parts) > 1
    assert all(p.format == "markdown" and _Tiny.limit and _Tiny.limit.fits(p.body) for p in parts)


# -- content --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        pytest.param({"kind": "ad"}, "kind", id="kind"),
        pytest.param({"title": " "}, "标题", id="title"),
        pytest.param({"body": "\n"}, "正文", id="body"),
        pytest.param({"published_at": datetime(2024, 1, 5, 10, 30)}, "时区", id="naive"),
        pytest.param({"url": "javascript:alert(1)"}, "http", id="url"),
    ],
)
def test_content_is_checked(overrides: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        make(**overrides)


def test_content_keeps_utc_and_paragraphs() -> None:
    content = make(
        published_at=datetime(2024, 1, 5, 10, 30, tzinfo=timezone(timedelta(hours=8))),
        body="  第一段 \n\n\n第二段\n",
    )
    assert content.published_at == PUBLISHED and content.published_at.tzinfo is UTC
    assert content.paragraphs == ["第一段", "第二段"]


def test_extra_reaches_templates_and_the_message(site: Callable[[dict[str, str]], Path]) -> None:
    root = site({"notice/default.j2": "{{ extra.who }}：{{ title }}"})
    message = one("webhook", make(kind="notice", extra={"who": "值班室"}), templates_dir=root)
    assert message.body == "值班室：关于网传某地自来水停供的不实信息"
    assert message.extra == {"who": "值班室"}

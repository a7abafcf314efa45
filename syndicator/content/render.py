"""Rendering a push for one channel: a Jinja2 template, the channel's format, its length limit.

For a :class:`Content` and a channel, :func:`render` picks the format (the channel's
:class:`RenderPolicy`), renders the first template that exists of::

    templates/messages/<kind>/<channel>.j2      e.g. rebuttal/weibo.j2
    templates/messages/<kind>/default.j2        branches on the ``format`` variable

and applies the policy's :class:`LimitRule` when the body is over the channel's limit, measured
in the channel's own unit (:func:`channels.base.measure`): **split** into parts numbered
``（1/3）``; **truncate** at a sentence or character boundary and append ``…全文：<url>``, the
link inside the limit; **refuse** with a :class:`RenderError` naming the channel, the length,
the limit and its unit. An over-long title is refused under ``refuse`` and shortened with ``…``
otherwise.

Escaping follows the format (see :mod:`syndicator.content._dialects`): HTML templates are
autoescaped (Telegram's: ``& < >`` only); in markdown templates every ``{{ … }}`` is escaped for
the robots' markdown, so staff text can never become markup; plain templates are not escaped.
Templates write markup literally; ``|safe`` marks a value as markup already. Filters:
``url`` (a link target in the dialect), ``md`` (markdown escaping, explicit), ``cn_time``
(``2024年1月5日 10:30``, Asia/Shanghai) and ``cn_date``. Undefined variables are errors
(``StrictUndefined``); ``None`` prints as nothing.

Where the templates live: one copy, the repository's top-level ``templates/messages/``. The
package reaches it through ``syndicator/content/templates``, a symlink to it, which setuptools
copies as real files into a wheel (``content/templates/**`` in ``package-data``); a checkout
without symlinks (Windows) falls back to the top-level directory itself. ``templates_dir``
replaces the built-in set entirely (copy it and edit).

The body is measured as written (with its markup): conservative for Telegram, which counts the
text without tags.
"""

from __future__ import annotations

import enum
import os
import re
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cache, lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, get_args

import jinja2
from markupsafe import Markup

from channels.base import Format, LengthUnit, Limit, Message, measure
from syndicator.content import _fit
from syndicator.content._dialects import Dialect, cn_date, cn_time, dialect_for
from syndicator.content.errors import PolicyError, RenderError

if TYPE_CHECKING:
    from channels.base import Channel

__all__ = [
    "DEFAULT_POLICIES",
    "KIND_LABELS",
    "Content",
    "Kind",
    "LimitRule",
    "RenderPolicy",
    "builtin_templates_dir",
    "policies_from_config",
    "policy_for",
    "render",
    "render_for",
    "template_names",
]

Kind = Literal["interpretation", "rebuttal", "notice", "test"]
KINDS: tuple[Kind, ...] = get_args(Kind)
FORMATS: tuple[Format, ...] = get_args(Format)
_FORMAT: dict[str, Format] = {f: f for f in FORMATS}

KIND_LABELS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "interpretation": ("政策解读", "【解读】"),
        "rebuttal": ("辟谣", "【辟谣】"),
        "notice": ("通知", "【通知】"),
        "test": ("测试", "【测试】"),
    }
)
"""Kind → (its name for staff, the tag before a headline)."""

_CHANNEL_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*\Z")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
_UNIT_LABEL = {
    LengthUnit.CHARS: "字",
    LengthUnit.UTF8_BYTES: "字节(UTF-8)",
    LengthUnit.UTF16_UNITS: "字(UTF-16)",
    LengthUnit.WEIBO: "字(中文计1，其他计0.5)",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Content:
    """A push as staff wrote it, before any channel shapes it.

    Attributes:
        kind: ``interpretation`` (政策解读), ``rebuttal`` (辟谣), ``notice`` (内部通知) or
            ``test``.
        title: the headline, plain text.
        body: plain text, one paragraph a line (blank lines are ignored); the source of truth.
        published_at: when it was published, timezone-aware (kept as UTC; shown in Shanghai).
        summary: a short abstract (cards, Weibo, article digests).
        url: the full text on the government website (``http``/``https``).
        author: the byline.
        issuer: the issuing office (发布单位/发布机关).
        extra: values for templates, also passed on as the message's adapter options.

    Raises:
        ValueError: an unknown kind, an empty title or body, a naive time or a non-HTTP URL.
    """

    kind: Kind
    title: str
    body: str
    published_at: datetime
    summary: str | None = None
    url: str | None = None
    author: str | None = None
    issuer: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"未知的推送类型 kind={self.kind!r}；可选：{', '.join(KINDS)}")
        if not self.title.strip():
            raise ValueError("标题（title）不能为空")
        if not self.body.strip():
            raise ValueError("正文（body）不能为空")
        if self.published_at.tzinfo is None:
            raise ValueError("发布时间（published_at）必须带时区（UTC）")
        object.__setattr__(self, "published_at", self.published_at.astimezone(UTC))
        if self.url is not None and not re.match(r"https?://[^\s]+\Z", self.url):
            raise ValueError(f"全文链接（url）必须是 http(s) 地址：{self.url!r}")

    @property
    def paragraphs(self) -> list[str]:
        """The body's non-blank lines, stripped."""
        return [line.strip() for line in self.body.splitlines() if line.strip()]


class LimitRule(enum.StrEnum):
    """What to do with a body over the channel's limit."""

    SPLIT = "split"  # several messages, numbered （1/3）
    TRUNCATE = "truncate"  # cut, then "…全文：<url>" (the link within the limit)
    REFUSE = "refuse"  # RenderError: staff shorten it


@dataclass(frozen=True, slots=True)
class RenderPolicy:
    """How a channel type gets its messages.

    Attributes:
        formats: the formats to use, preferred first; the first the channel accepts wins.
            Empty: the channel's own order.
        rule: what to do with a body over the limit.
    """

    formats: tuple[Format, ...] = ()
    rule: LimitRule = LimitRule.REFUSE

    def choose_format(self, channel_name: str, accepted: Sequence[Format]) -> Format:
        """The format to render for a channel accepting *accepted* (preferred first).

        Raises:
            RenderError: the channel accepts none of the policy's formats.
        """
        if not accepted:
            raise RenderError(f"渠道 {channel_name} 没有声明可接受的格式（formats）")
        for format in self.formats or tuple(accepted):
            if format in accepted:
                return format
        raise RenderError(
            f"渠道 {channel_name} 只接受 {'、'.join(accepted)} 格式，"
            f"渲染策略要求 {'、'.join(self.formats)}；请修改该渠道的 render.format 配置"
        )


DEFAULT_POLICIES: Mapping[str, RenderPolicy] = MappingProxyType(
    {
        "wechat_mp": RenderPolicy(("html",), LimitRule.REFUSE),
        "weibo": RenderPolicy(("plain",), LimitRule.TRUNCATE),
        "wecom_bot": RenderPolicy(("markdown", "plain"), LimitRule.SPLIT),
        "dingtalk": RenderPolicy(("markdown", "plain"), LimitRule.TRUNCATE),
        "feishu": RenderPolicy(("markdown", "plain"), LimitRule.SPLIT),
        "telegram": RenderPolicy(("html", "plain"), LimitRule.SPLIT),
        "webhook": RenderPolicy(("plain",), LimitRule.REFUSE),
        "email": RenderPolicy(("html", "plain"), LimitRule.REFUSE),
        "rss": RenderPolicy(("html",), LimitRule.REFUSE),
    }
)
"""Built-in policies by adapter name; an adapter not listed gets ``RenderPolicy()``."""


def policy_for(
    channel_name: str, policies: Mapping[str, RenderPolicy] | None = None
) -> RenderPolicy:
    """The policy of the adapter *channel_name*: *policies* first, then the built-in table."""
    if policies is not None and channel_name in policies:
        return policies[channel_name]
    return DEFAULT_POLICIES.get(channel_name, RenderPolicy())


def policies_from_config(config: Mapping[str, Mapping[str, Any]]) -> dict[str, RenderPolicy]:
    """Policies from configuration, over the built-in ones.

    *config* maps an adapter name to ``format`` (one format or a list, preferred first) and/or
    ``rule`` (``split``, ``truncate``, ``refuse``); a key left out keeps the built-in value::

        {"weibo": {"rule": "refuse"}, "dingtalk": {"format": ["plain"], "rule": "split"}}

    Raises:
        PolicyError: an unknown key, format or rule; the message names the adapter and key.
    """
    policies = dict(DEFAULT_POLICIES)
    for name, entry in config.items():
        unknown = sorted(set(entry) - {"format", "rule"})
        if unknown:
            raise PolicyError(f"渲染策略 {name}：未知的键 {', '.join(unknown)}；可用：format、rule")
        base = policy_for(name)
        formats = base.formats
        if "format" in entry:
            raw = entry["format"]
            listed = [raw] if isinstance(raw, str) else list(raw)
            formats = tuple(_FORMAT[g] for g in listed if isinstance(g, str) and g in _FORMAT)
            if not listed or len(formats) != len(listed):
                raise PolicyError(
                    f"渲染策略 {name}.format：{raw!r} 无效；可选：{', '.join(FORMATS)}"
                )
        rule = base.rule
        if "rule" in entry:
            try:
                rule = LimitRule(entry["rule"])
            except ValueError:
                raise PolicyError(
                    f"渲染策略 {name}.rule：{entry['rule']!r} 无效；"
                    f"可选：{', '.join(r.value for r in LimitRule)}"
                ) from None
        policies[name] = RenderPolicy(formats, rule)
    return policies


@cache
def builtin_templates_dir() -> Path:
    """The built-in ``templates/messages`` directory (see the module docstring)."""
    packaged = Path(__file__).with_name("templates")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "templates" / "messages"


def template_names(kind: str, channel_name: str) -> list[str]:
    """The templates tried for *kind* on *channel_name*, in order."""
    return [f"{kind}/{channel_name}.j2", f"{kind}/default.j2"]


def _md_filter(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(dialect_for("", "markdown").escape(str(value)))


RECHECK_SECONDS = 2.0
"""How long a template file is taken as unchanged (and a missing one as missing) before the
file system is asked again: an edited template is used within this time, without a restart."""


class _RecheckingLoader(jinja2.FileSystemLoader):
    """A :class:`jinja2.FileSystemLoader` that asks the file system at most every
    :data:`RECHECK_SECONDS` per template whether it changed or appeared.

    Jinja asks on every use of a template (one ``stat`` per template and per template it
    extends) and looks again for every template that does not exist (``rebuttal/webhook.j2``
    before ``rebuttal/default.j2``, for every push): a worker rendering hundreds of pushes a
    second spent more time on that than on some of the rendering.
    """

    def __init__(self, root: str) -> None:
        super().__init__(root, encoding="utf-8")
        self._missing: dict[str, float] = {}  # one get, set or pop at a time: no lock needed

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        now = time.monotonic()
        missing_since = self._missing.get(template)
        if missing_since is not None and now - missing_since < RECHECK_SECONDS:
            raise jinja2.TemplateNotFound(template)
        try:
            source, filename, uptodate = super().get_source(environment, template)
        except jinja2.TemplateNotFound:
            self._missing[template] = now
            raise
        self._missing.pop(template, None)
        checked = now

        def rechecked() -> bool:
            nonlocal checked
            at = time.monotonic()
            if at - checked < RECHECK_SECONDS:
                return True
            checked = at
            return uptodate()

        return source, filename, rechecked


@lru_cache(maxsize=32)
def _environment(root: str, dialect: Dialect) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_RecheckingLoader(root),
        undefined=jinja2.StrictUndefined,
        autoescape=dialect.autoescape,
        finalize=dialect.finalize,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(
        url=lambda value: Markup(dialect.url(str(value))),
        md=_md_filter,
        cn_time=cn_time,
        cn_date=cn_date,
    )
    return env


def _template_error(exc: Exception, name: str) -> str:
    """Which template and line *exc* arose in: ``rebuttal/weibo.j2 第 3 行``."""
    lineno = getattr(exc, "lineno", None)
    where = getattr(exc, "name", None) or name
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.endswith(".j2"):
            where, lineno = os.path.basename(os.path.dirname(frame.filename)), frame.lineno
            where = f"{where}/{os.path.basename(frame.filename)}"
    return f"{where} 第 {lineno} 行" if lineno else where


def _render_body(
    content: Content, *, channel_name: str, format: Format, dialect: Dialect, root: Path
) -> str:
    env = _environment(str(root), dialect)
    names = template_names(content.kind, channel_name)
    try:
        template = env.select_template(names)
    except jinja2.TemplatesNotFound:
        raise RenderError(
            f"渠道 {channel_name}：找不到模板 {' 或 '.join(names)}（模板目录 {root}）"
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise RenderError(
            f"渠道 {channel_name}：模板 {exc.name or names[0]} 第 {exc.lineno} 行语法错误："
            f"{exc.message}"
        ) from exc
    label, tag = KIND_LABELS[content.kind]
    context = {
        "kind": content.kind,
        "label": label,
        "tag": tag,
        "title": content.title,
        "body": content.body,
        "paragraphs": content.paragraphs,
        "summary": content.summary,
        "url": content.url,
        "author": content.author,
        "issuer": content.issuer,
        "published_at": content.published_at,
        "extra": content.extra,
        "format": format,
        "channel": channel_name,
    }
    try:
        text = template.render(context)
    except jinja2.UndefinedError as exc:
        raise RenderError(
            f"渠道 {channel_name}：模板 {_template_error(exc, str(template.name))} "
            f"使用了未定义的变量：{exc.message}"
        ) from exc
    except jinja2.TemplateError as exc:
        raise RenderError(
            f"渠道 {channel_name}：模板 {_template_error(exc, str(template.name))} 出错：{exc}"
        ) from exc
    text = _BLANK_LINES.sub("\n\n", text.strip())
    if not text:
        raise RenderError(f"渠道 {channel_name}：模板 {template.name} 渲染结果为空")
    return text


def _amount(text: str, unit: LengthUnit) -> str:
    return f"{measure(text, unit):g} {_UNIT_LABEL[unit]}"


def _fit_title(title: str, *, channel_name: str, limit: Limit | None, rule: LimitRule) -> str:
    if limit is None or limit.fits(title):
        return title
    if rule is LimitRule.REFUSE:
        raise RenderError(
            f"渠道 {channel_name}：标题 {_amount(title, limit.unit)}，超过上限 {limit}；请缩短标题"
        )
    return _fit.cut_text(title, limit)


def _unsplittable(channel_name: str, limit: Limit, exc: _fit.Unsplittable) -> RenderError:
    return RenderError(
        f"渠道 {channel_name}：{exc.token[:40]!r} 一段就有 {_amount(exc.token, limit.unit)}，"
        f"无法在上限 {limit} 内拆分或截断；请缩短这一段"
    )


def render(
    content: Content,
    *,
    channel_name: str,
    formats: Sequence[Format],
    limit: Limit | None,
    title_limit: Limit | None = None,
    policy: RenderPolicy | None = None,
    policies: Mapping[str, RenderPolicy] | None = None,
    templates_dir: str | os.PathLike[str] | None = None,
) -> list[Message]:
    """Render *content* for the channel named *channel_name*.

    Args:
        content: the push.
        channel_name: the adapter's type name (``weibo``): picks templates, policy, dialect.
        formats: the formats the adapter accepts, preferred first (``Channel.formats``).
        limit: the body's limit (``Channel.limit``; ``None``: no limit). An adapter whose
            limit differs by format (WeCom: 2048 bytes as text, 4096 as markdown) may pass
            the one for the format its policy picks.
        title_limit: the title's limit (``Channel.title_limit``).
        policy: this channel's policy; default: ``policy_for(channel_name, policies)``.
        policies: a policy table by adapter name (see :func:`policies_from_config`).
        templates_dir: a directory replacing the built-in ``templates/messages``.

    Returns:
        One message, or several when the body was split (titles numbered when they fit).

    Raises:
        RenderError: the body or title is over its limit under ``refuse``; truncation without
            a URL; a missing template, an undefined variable or a template error.
    """
    if not _CHANNEL_NAME.match(channel_name):
        raise RenderError(f"渠道名 {channel_name!r} 无效：只能含小写字母、数字、_ 和 -")
    chosen = policy or policy_for(channel_name, policies)
    format = chosen.choose_format(channel_name, formats)
    dialect = dialect_for(channel_name, format)
    root = Path(templates_dir) if templates_dir is not None else builtin_templates_dir()
    body = _render_body(
        content, channel_name=channel_name, format=format, dialect=dialect, root=root
    )
    title = _fit_title(
        content.title, channel_name=channel_name, limit=title_limit, rule=chosen.rule
    )

    def message(text: str, title: str = title) -> Message:
        return Message(
            kind=content.kind,
            title=title,
            body=text,
            format=format,
            summary=content.summary,
            url=content.url,
            author=content.author,
            extra=content.extra,
        )

    if limit is None or limit.fits(body):
        return [message(body)]
    if chosen.rule is LimitRule.REFUSE:
        raise RenderError(
            f"渠道 {channel_name}：正文 {_amount(body, limit.unit)}，超过上限 {limit}；"
            "请缩短正文，或把该渠道的渲染规则改为 split（拆分）或 truncate（截断）"
        )
    if chosen.rule is LimitRule.TRUNCATE:
        if content.url is None:
            raise RenderError(
                f"渠道 {channel_name}：正文 {_amount(body, limit.unit)}，超过上限 {limit}，"
                "截断需要全文链接（url）；请补充链接或缩短正文"
            )
        suffix = "…全文：" + dialect.link(content.url)
        try:
            return [message(_fit.truncate(body, format, limit, suffix))]
        except _fit.Unsplittable as exc:
            raise _unsplittable(channel_name, limit, exc) from None
    return [
        message(text, t)
        for text, t in _split(body, title, format, limit, title_limit, channel_name)
    ]


def _split(
    body: str,
    title: str,
    format: Format,
    limit: Limit,
    title_limit: Limit | None,
    channel_name: str,
) -> list[tuple[str, str]]:
    sep = "\n\n" if format == "markdown" else "\n"
    for most in (9, 99, 999):
        reserve = measure(f"（{most}/{most}）{sep}", limit.unit)
        try:
            chunks = [c.strip() for c in _fit.split(body, format, limit, reserve)]
        except _fit.Unsplittable as exc:
            raise _unsplittable(channel_name, limit, exc) from None
        if len(chunks) <= most:
            break
    else:
        raise RenderError(f"渠道 {channel_name}：正文需拆成 {len(chunks)} 条以上，请缩短正文")
    parts = []
    for i, chunk in enumerate(chunks, 1):
        mark = f"（{i}/{len(chunks)}）"
        numbered = title + mark
        fits = title_limit is None or title_limit.fits(numbered)
        parts.append((mark + sep + chunk, numbered if fits else title))
    return parts


def render_for(
    content: Content,
    channel: type[Channel] | Channel,
    *,
    policy: RenderPolicy | None = None,
    policies: Mapping[str, RenderPolicy] | None = None,
    templates_dir: str | os.PathLike[str] | None = None,
) -> list[Message]:
    """:func:`render` with the name, formats and limits an adapter class declares (the
    limit of the format the policy picks: ``Channel.limit_for``)."""
    chosen = policy or policy_for(channel.name, policies)
    format = chosen.choose_format(channel.name, channel.formats)
    return render(
        content,
        channel_name=channel.name,
        formats=channel.formats,
        limit=channel.limit_for(format),
        title_limit=channel.title_limit,
        policy=chosen,
        templates_dir=templates_dir,
    )

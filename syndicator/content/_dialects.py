"""Markup dialects: how staff text and links are written in each channel's format.

=====================  ==========================================================================
dialect                staff text is escaped as
=====================  ==========================================================================
``plain``              not at all (the platform shows it as typed)
``html``               HTML: ``& < > " '`` (markupsafe; WeChat articles, e-mail, feeds)
``telegram_html``      Telegram's HTML parse mode: ``& < >`` only (its only required escapes)
``markdown``           backslash before markdown punctuation (WeCom, DingTalk, Feishu, others)
=====================  ==========================================================================

Markdown: the robots' dialects are subsets of CommonMark, where a backslash makes any ASCII
punctuation literal. Escaped everywhere: ``\\ ` * _ [ ] ( ) < > ~ | &`` (emphasis, links, code,
WeCom's ``<font>``/``<@userid>``, Feishu's ``<at>``, entities); escaped only at the start of a
line, where they start a block: ``# + - =`` and the ``.``/``)`` of ``1.``. Leading spaces are
dropped (four would make a code block). WeCom does not document backslash escapes; that it
honours CommonMark's is an inference, so the set is kept to characters that are markup.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape

from channels.base import Format

__all__ = [
    "SHANGHAI",
    "Dialect",
    "cn_date",
    "cn_time",
    "dialect_for",
    "escape_markdown",
    "escape_telegram",
]

SHANGHAI = ZoneInfo("Asia/Shanghai")

_MD_INLINE = re.compile(r"([\\`*_\[\]()<>~|&])")
_MD_ORDERED = re.compile(r"(\d+)([.)])")
_MD_URL_UNSAFE = re.compile(r"[\s()<>\\]")


def escape_markdown(text: str) -> str:
    """*text* made literal in the robots' markdown (see the module table)."""
    lines = []
    for raw in _MD_INLINE.sub(r"\\\1", text).split("\n"):
        line = raw.lstrip(" \t")
        if line[:1] in ("#", "+", "-", "="):
            line = "\\" + line
        elif match := _MD_ORDERED.match(line):
            line = f"{match[1]}\\{match[2]}{line[match.end() :]}"
        lines.append(line)
    return "\n".join(lines)


def escape_telegram(text: str) -> str:
    """*text* made literal in Telegram's HTML parse mode: ``&``, ``<`` and ``>`` only."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str) -> str:
    return text


def _html(text: str) -> str:
    return str(escape(text))


def _md_url(url: str) -> str:
    return _MD_URL_UNSAFE.sub(lambda m: quote(m[0], safe=""), url)


def _html_url(url: str) -> str:
    return html.escape(url, quote=True)


@dataclass(frozen=True, slots=True)
class Dialect:
    """One markup dialect.

    Attributes:
        name: ``plain``, ``html``, ``telegram_html`` or ``markdown``.
        format: the :data:`~channels.base.Format` it is written in.
        escape: staff text → the same text, literal in this dialect.
        url: a URL → the form it takes inside this dialect's link (``href`` or ``(…)``).
        autoescape: HTML: Jinja's own autoescaping is on.
    """

    name: str
    format: Format
    escape: Callable[[str], str]
    url: Callable[[str], str]
    autoescape: bool = False

    def link(self, url: str, text: str | None = None) -> str:
        """A link to *url* showing *text* (the URL itself by default), as markup."""
        shown = self.escape(text if text is not None else url)
        if self.format == "html":
            return f'<a href="{self.url(url)}">{shown}</a>'
        if self.format == "markdown":
            return f"[{shown}]({self.url(url)})"
        return url if text is None else f"{text} {url}"

    def finalize(self, value: object) -> object:
        """Jinja's ``finalize``: ``None`` prints as nothing; text is escaped unless ``Markup``."""
        if value is None:
            return ""
        if isinstance(value, Markup) or (self.autoescape and self.name == "html"):
            return value
        return Markup(self.escape(str(value)))


PLAIN = Dialect("plain", "plain", _plain, _plain)
HTML = Dialect("html", "html", _html, _html_url, autoescape=True)
TELEGRAM_HTML = Dialect("telegram_html", "html", escape_telegram, _html_url, autoescape=True)
MARKDOWN = Dialect("markdown", "markdown", escape_markdown, _md_url)


def dialect_for(channel_name: str, format: Format) -> Dialect:
    """The dialect a channel named *channel_name* reads in *format*."""
    if format == "html":
        return TELEGRAM_HTML if channel_name == "telegram" else HTML
    if format == "markdown":
        return MARKDOWN
    return PLAIN


def _local(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"时间 {value.isoformat()} 没有时区；请传入 UTC 时间")
    return value.astimezone(SHANGHAI)


def cn_time(value: datetime) -> str:
    """*value* in Asia/Shanghai as staff write it: ``2024年1月5日 10:30``."""
    local = _local(value)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def cn_date(value: datetime) -> str:
    """The Asia/Shanghai date of *value*: ``2024年1月5日``."""
    local = _local(value)
    return f"{local.year}年{local.month}月{local.day}日"

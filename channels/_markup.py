"""Markup conversions the adapters that publish HTML (e-mail, the Atom feed) share."""

from __future__ import annotations

import html
import re

__all__ = ["markdown_to_html"]


def markdown_to_html(text: str) -> str:
    """A small HTML rendering of a markdown body, for an adapter that publishes HTML.

    Only for a markdown body that reaches such an adapter although its ``formats`` do not ask
    for one: headings, paragraphs, line breaks, ``**bold**`` and ``[links](url)``; everything
    else stays text, HTML-escaped.
    """
    blocks = []
    for block in re.split(r"\n\s*\n", text.strip()):
        escaped = html.escape(block, quote=True)
        escaped = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", escaped)
        escaped = re.sub(r"\[([^\]]+)\]\((https?://[^)\s]+)\)", r'<a href="\2">\1</a>', escaped)
        heading = re.match(r"(#{1,6})\s+(.*)", escaped, re.DOTALL)
        if heading:
            level = len(heading.group(1))
            blocks.append(f"<h{level}>{heading.group(2)}</h{level}>")
        else:
            blocks.append("<p>" + escaped.replace("\n", "<br>\n") + "</p>")
    return "\n".join(blocks)

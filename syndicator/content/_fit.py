"""Fitting a rendered body into a channel's limit: cut it into parts, or truncate it.

The body is cut between tokens, never inside one: a user-perceived character (an emoji with its
modifiers and joiners, a flag, ``\\r\\n``), an HTML tag or entity, or a markdown construct that
only works whole (a link, ``**bold**``, a backslash escape, WeCom's ``<font>…</font>``). Of the
places where the longest prefix that fits could end, the best in its last 30 % wins: a line or
block end, else a sentence end (``。！？；``), else a comma or space, else anywhere.

HTML tags left open at a cut are closed at the end of the part and reopened at the start of the
next one, so every part is well formed; their cost counts against the limit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from channels.base import Format, LengthUnit, Limit, measure

__all__ = ["Unsplittable", "cut_text", "split", "truncate", "visible"]

_MARKS = "\u0300-\u036f\u200c\u20d0-\u20ff\ufe00-\ufe0f\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f"
_CLUSTER = rf"[\U0001f1e6-\U0001f1ff]{{2}}|\r\n|.[{_MARKS}]*(?:\u200d.[{_MARKS}]*)*"
_TOKEN: dict[Format, re.Pattern[str]] = {
    "plain": re.compile(_CLUSTER, re.S),
    "markdown": re.compile(
        rf"\[(?:\\.|[^\]\\\n])*\]\((?:\\.|[^()\s])*\)|<font\b[^>\n]*>[^\n]*?</font>|<@[^>\n]*>"
        rf"|\*\*(?:\\.|[^*\n])+?\*\*|\\.|{_CLUSTER}",
        re.S,
    ),
    "html": re.compile(rf"<[^<>]*>|&(?:#\d+|#[xX][0-9a-fA-F]+|[A-Za-z]\w*);|{_CLUSTER}", re.S),
}
_TAG = re.compile(r"<(/?)([A-Za-z][\w-]*)[^>]*?(/?)>\Z")
_VOID = frozenset({"area", "br", "col", "hr", "img", "input", "link", "meta", "source", "wbr"})
_BLOCK = frozenset(
    {"blockquote", "div", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ol", "p", "pre", "section"}
    | {"table", "tr", "ul"}
)
_SENTENCE_END = frozenset("。！？；!?;…")
_PAUSE = frozenset("，、,：:")
_ANY_TAG = re.compile(r"<[^<>]*>")
_WINDOW = 0.7  # a good boundary may give up at most the last 30 % of what would fit

Stack = tuple[tuple[str, str], ...]


class Unsplittable(Exception):
    """One token alone does not fit the limit (e.g. a link longer than the limit)."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.token = token


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    cost: float
    score: int  # how good a place to cut, right after this token: 0 (anywhere) … 3 (line end)
    stack: Stack  # the HTML tags open after this token


def _score(text: str) -> int:
    if "\n" in text:
        return 3
    tag = _TAG.match(text)
    if tag and ((tag[1] and tag[2].lower() in _BLOCK) or tag[2].lower() == "br"):
        return 3
    if text in _SENTENCE_END:
        return 2
    if text in _PAUSE or text.isspace():
        return 1
    return 0


def _tokens(body: str, format: Format, unit: LengthUnit) -> list[_Token]:
    tokens: list[_Token] = []
    stack: Stack = ()
    for match in _TOKEN[format].finditer(body):
        text = match[0]
        if format == "html" and (tag := _TAG.match(text)):
            name = tag[2].lower()
            if tag[1]:
                names = [n for n, _ in stack]
                if name in names:
                    stack = stack[: len(names) - 1 - names[::-1].index(name)]
            elif not tag[3] and name not in _VOID:
                stack = (*stack, (name, text))
        tokens.append(_Token(text, measure(text, unit), _score(text), stack))
    return tokens


def _closers(stack: Stack) -> str:
    return "".join(f"</{name}>" for name, _ in reversed(stack))


def _openers(stack: Stack) -> str:
    return "".join(tag for _, tag in stack)


def _cut(tokens: list[_Token], start: int, budget: float, unit: LengthUnit, spent: float) -> int:
    """Where the best chunk from *start* ends (exclusive) within *budget*; *start*: none fits."""
    closing: dict[Stack, float] = {}
    acc, end = spent, start
    reached = [spent]  # reached[k - start]: the text's cost when the chunk ends at k
    for j in range(start, len(tokens)):
        acc += tokens[j].cost
        stack = tokens[j].stack
        if stack not in closing:
            closing[stack] = measure(_closers(stack), unit)
        if acc + closing[stack] > budget:
            break
        end = j + 1
        reached.append(acc)
    else:
        return len(tokens)
    floor = spent + _WINDOW * (reached[-1] - spent)
    best, best_score = end, -1
    for k in range(end, start, -1):
        if reached[k - start] < floor:
            break
        if tokens[k - 1].score > best_score:
            best, best_score = k, tokens[k - 1].score
            if best_score == 3:
                break
    return best


def split(body: str, format: Format, limit: Limit, reserve: float = 0) -> list[str]:
    """*body* cut into chunks each within *limit* less *reserve* (room for a part number).

    For plain and markdown the chunks joined are *body* exactly; for HTML, tags open at a cut
    are closed and reopened, so the chunks' text without tags joined is *body*'s.

    Raises:
        Unsplittable: a token that alone exceeds the room.
    """
    tokens = _tokens(body, format, limit.unit)
    budget = limit.size - reserve
    chunks: list[str] = []
    start = 0
    stack: Stack = ()
    while start < len(tokens):
        opener = _openers(stack)
        end = _cut(tokens, start, budget, limit.unit, measure(opener, limit.unit))
        if end == start:
            raise Unsplittable(tokens[start].text)
        stack = tokens[end - 1].stack
        text = "".join(t.text for t in tokens[start:end])
        chunks.append(opener + text + _closers(stack))
        start = end
    return chunks


def truncate(body: str, format: Format, limit: Limit, suffix: str) -> str:
    """The best prefix of *body* that, with open tags closed and *suffix* after, fits *limit*.

    Cut at a line end, *suffix* goes on a line of its own.

    Raises:
        Unsplittable: not even the first token fits beside *suffix*.
    """
    tokens = _tokens(body, format, limit.unit)
    sep = "\n\n" if format == "markdown" else "\n"
    room = limit.size - measure(sep + suffix, limit.unit)
    end = _cut(tokens, 0, room, limit.unit, 0)
    if end == 0:
        raise Unsplittable(tokens[0].text if tokens else suffix)
    if end == len(tokens):
        return body + suffix
    last = tokens[end - 1]
    kept = "".join(t.text for t in tokens[:end]).rstrip()
    return kept + _closers(last.stack) + (sep if "\n" in last.text else "") + suffix


def cut_text(text: str, limit: Limit, ellipsis: str = "…") -> str:
    """Plain *text* shortened to fit *limit* with *ellipsis* at the end (as is, if it fits)."""
    if limit.fits(text):
        return text
    return truncate(text, "plain", limit, ellipsis)


def visible(body: str, format: Format) -> str:
    """The text a reader sees: HTML without tags (entities left as written)."""
    return _ANY_TAG.sub("", body) if format == "html" else body

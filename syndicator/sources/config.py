"""The sources file (TOML): which sites exist and which of their lists are polled.

A file declares ``[[site]]`` tables (the hierarchy: national → province → city → county, portal →
department) and ``[[source]]`` tables (one polled list each), with an optional ``[defaults]`` table.
The format is described in ``docs/sources.md``.

:func:`load_sources` turns a file into a :class:`SourcesConfig` or raises
:class:`SourcesConfigError` carrying **every** :class:`Problem` found, each naming the file, the
line, the site or source and the field, so one run of ``syndicator sources check`` lists everything
to fix. Nothing is started from a file that has a problem.

Error hierarchy::

    ValueError
     └── SourcesConfigError      .problems: list[Problem]

``tomllib`` reports no line numbers for values, so they are recovered from the raw text: the
N-th ``[[source]]`` header belongs to the N-th source, and within its block the line of ``key =``
(or of a ``[source.html]`` sub-table header) locates a field.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from selectolax.lexbor import LexborHTMLParser, SelectolaxError

from syndicator.db.models import SourceKind, SourceRole
from syndicator.rules.profiles import SITE_LEVELS as _RULE_LEVELS

__all__ = [
    "COLUMN_TYPES",
    "DEFAULT_INTERVAL",
    "MAX_INTERVAL",
    "MIN_INTERVAL",
    "SITE_LEVELS",
    "Problem",
    "SiteSpec",
    "SourceSpec",
    "SourcesConfig",
    "SourcesConfigError",
    "check_sources",
    "load_sources",
    "parse_interval",
]

SITE_LEVELS: Final = _RULE_LEVELS
"""Allowed ``level`` values of a site (the rules' own list, top down)."""

COLUMN_TYPES: Final = ("dynamic", "notice", "policy", "home", "repost")
"""Allowed ``column`` values of a downstream source (动态要闻, 通知公告, 政策文件, 首页, 转载)."""

MIN_INTERVAL: Final = 60
MAX_INTERVAL: Final = 86_400
DEFAULT_INTERVAL: Final = 600
"""Interval in seconds when neither the source nor ``[defaults]`` gives one."""

_ID_RE: Final = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
_ID_RULE: Final = '1-64 lowercase letters, digits, "-" or "_", starting with a letter or digit'

_TOP_LEVEL: Final = ("defaults", "site", "source")
_DEFAULTS_FIELDS: Final = ("interval", "encoding")
_SITE_FIELDS: Final = ("id", "name", "level", "parent", "url", "repost")
_SOURCE_FIELDS: Final = (
    "id",
    "site",
    "name",
    "role",
    "kind",
    "url",
    "encoding",
    "interval",
    "column",
    "key",
    "detail",
    "html",
    "json",
)
_HTML_FIELDS: Final = ("item", "link", "title", "date", "link_pattern")
_JSON_FIELDS: Final = ("items", "title", "url", "published", "guid", "doc_no")
_COLUMN_WHY: Final = " for downstream sources"

# Lengths of the matching database columns (syndicator.db.models), checked here so that a long
# value is a problem with a line number instead of a database error during `sources load`.
_MAX_NAME: Final = 200
_MAX_URL: Final = 2000

# Offered as "did you mean" for unknown encodings; any codec Python knows is accepted.
_COMMON_ENCODINGS: Final = (
    "utf-8",
    "gb18030",
    "gbk",
    "gb2312",
    "big5",
    "big5hkscs",
    "utf-16",
    "ascii",
    "latin-1",
    "windows-1252",
)

_DURATION_PART: Final = re.compile(r"(\d+)([smhd])")
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86_400}


# ---------------------------------------------------------------------------------------------
# Public types


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a sources file, located as precisely as the file allows.

    ``str(problem)`` reads ``sources.toml:42 source "ganzhou-zwgk": selector "item" is empty``:
    the path as the user gave it, the line (left out when unknown), the subject
    (``site "id"``, ``source "id"``, ``source #3`` when the id is unusable, ``[defaults]``, or
    empty for the file as a whole) and an English message naming the field and the fix.
    """

    path: str
    line: int | None
    subject: str
    message: str

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        if self.subject:
            return f"{where} {self.subject}: {self.message}"
        return f"{where}: {self.message}"


class SourcesConfigError(ValueError):
    """A sources file that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: list[Problem] = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteSpec:
    """A site (an organisation's website) as declared in the file."""

    id: str
    name: str
    level: str
    parent: str | None
    url: str | None
    line: int
    """Line of the site's ``[[site]]`` header."""
    repost: bool = True
    """False: not obliged to repost its superiors' key items (e.g. a department without a
    policy column)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceSpec:
    """A polled list as declared in the file, with ``[defaults]`` applied.

    ``html`` is set exactly when ``kind`` is ``html_list`` and ``json`` exactly when it is
    ``json``; ``column`` is set exactly for downstream sources; ``key`` is only ever true for
    upstream sources.
    """

    id: str
    site: str
    name: str | None
    role: SourceRole
    kind: SourceKind
    url: str
    encoding: str | None
    interval_seconds: int
    column: str | None
    key: bool
    detail: bool
    html: dict[str, str] | None
    json: dict[str, str] | None
    line: int
    """Line of the source's ``[[source]]`` header."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SourcesConfig:
    """A validated sources file: sites and sources in file order."""

    path: Path
    sites: tuple[SiteSpec, ...]
    sources: tuple[SourceSpec, ...]
    _sites_by_id: dict[str, SiteSpec] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_sites_by_id", {s.id: s for s in self.sites})

    def site(self, id: str) -> SiteSpec:
        """Return the site with this id.

        Raises:
            KeyError: no site has this id.
        """
        return self._sites_by_id[id]


def parse_interval(value: object) -> int:
    """Return the seconds in an interval as written in the file.

    Accepts an integer number of seconds, or a string of ``<number><unit>`` parts with units
    ``s``, ``m``, ``h`` and ``d`` (``"90s"``, ``"10m"``, ``"2h"``, ``"1h30m"``, ``"1d"``); a string
    of digits alone counts as seconds. The 60 s … 1 day range is checked by the loader, not here.

    Raises:
        ValueError: the value is not an interval; the message says what was expected.
    """
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(
            'expected seconds (an integer) or a duration such as "10m", got ' + _describe(value)
        )
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.isdigit():
        return int(text)
    if text and _DURATION_PART.sub("", text.replace(" ", "")) == "":
        return sum(
            int(n) * _UNIT_SECONDS[u] for n, u in _DURATION_PART.findall(text.replace(" ", ""))
        )
    raise ValueError(
        f"{_show(value)} is not a duration: write seconds (600) or a number with a unit s, m, h "
        'or d ("90s", "10m", "2h", "1h30m")'
    )


def load_sources(path: Path | str, *, default_interval: int = DEFAULT_INTERVAL) -> SourcesConfig:
    """Read and validate a sources file.

    Args:
        path: the file; problems name it exactly as given here.
        default_interval: seconds between checks for sources that give no interval when the file
            has no ``[defaults] interval`` (the ``scheduler.default_interval`` setting).

    Raises:
        SourcesConfigError: with every problem found, sorted by line.
    """
    config, problems = _load(Path(path), default_interval)
    if problems or config is None:
        raise SourcesConfigError(problems)
    return config


def check_sources(path: Path | str, *, default_interval: int = DEFAULT_INTERVAL) -> list[Problem]:
    """Return every problem of a sources file, sorted by line; empty when it can be loaded."""
    return _load(Path(path), default_interval)[1]


# ---------------------------------------------------------------------------------------------
# Rendering values in messages


def _show(value: object) -> str:
    """A value as it would be written in TOML, so messages quote what the user typed."""
    if isinstance(value, str):
        # Regular expressions are written as literal strings; echo them that way, unescaped.
        if "\\" in value and "'" not in value and "\n" not in value:
            return f"'{value}'"
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return _kind_of(value)


def _kind_of(value: object) -> str:
    match value:
        case bool():
            return "boolean"
        case int():
            return "integer"
        case float():
            return "float"
        case str():
            return "string"
        case dict():
            return "a table"
        case list():
            return "an array"
        case datetime() | date() | time():
            return "a date/time"
    return type(value).__name__


def _describe(value: object) -> str:
    if isinstance(value, bool | int | float | str):
        return f"{_kind_of(value)} {_show(value)}"
    return _kind_of(value)


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    matches = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return matches[0] if matches else None


def _unknown_field(
    name: str,
    allowed: tuple[str, ...],
    hint: Callable[[str], str | None],
    prefix: str = "",
) -> str:
    """``unknown field "x" (…)``: a placement hint first, else the closest name, else the list."""
    suggestion = _suggest(name, allowed)
    detail = (
        hint(name)
        or (f'did you mean "{prefix}{suggestion}"?' if suggestion else None)
        or f"allowed: {', '.join(allowed)}"
    )
    return f'unknown field "{prefix}{name}" ({detail})'


def _one_of(value: str, choices: Iterable[str]) -> str:
    options = list(choices)
    hint = _suggest(value, options)
    message = f"{_show(value)} is not one of {', '.join(options)}"
    return f'{message} (did you mean "{hint}"?)' if hint else message


def _listing(ids: list[str], limit: int = 8) -> str:
    shown = ", ".join(ids[:limit])
    return shown + ", …" if len(ids) > limit else shown


# ---------------------------------------------------------------------------------------------
# Line numbers from the raw text

_BARE_OR_QUOTED: Final = r"""[A-Za-z0-9_-]+|"[^"\\]*"|'[^']*'"""
_KEY_LINE: Final = re.compile(
    rf"^\s*((?:{_BARE_OR_QUOTED})(?:\s*\.\s*(?:{_BARE_OR_QUOTED}))*)\s*=(.*)$"
)
_HEADER_LINE: Final = re.compile(
    rf"^\s*(\[\[?)\s*((?:{_BARE_OR_QUOTED})(?:\s*\.\s*(?:{_BARE_OR_QUOTED}))*)\s*(\]\]?)\s*(?:#.*)?$"
)
_KEY_PART: Final = re.compile(_BARE_OR_QUOTED)


def _key_parts(dotted: str) -> list[str]:
    return [p[1:-1] if p[0] in "\"'" else p for p in _KEY_PART.findall(dotted)]


@dataclass(slots=True)
class _Lines:
    """Where a table and its keys are written: header line, ``key =`` lines, sub-tables."""

    header: int | None = None
    keys: dict[str, int] = field(default_factory=dict)
    subs: dict[str, _Lines] = field(default_factory=dict)

    def key(self, name: str) -> int | None:
        if name in self.keys:
            return self.keys[name]
        sub = self.subs.get(name)
        return sub.header if sub is not None else None

    def at(self, *path: str) -> int | None:
        """The most precise known line for the field at *path*, else the enclosing table's."""
        node, best = self, self.header
        for name in path:
            line = node.key(name)
            if line is not None:
                best = line
            sub = node.subs.get(name)
            if sub is None:
                break
            node = sub
        return best

    def sub(self, name: str) -> _Lines:
        return self.subs.setdefault(name, _Lines())


@dataclass(slots=True)
class _Layout:
    root: _Lines
    arrays: dict[str, list[_Lines]]

    def top(self, name: str) -> int | None:
        if self.arrays.get(name):
            return self.arrays[name][0].header
        return self.root.at(name)


def _scan(text: str) -> _Layout:
    """Find table headers and ``key =`` lines; tolerant, since tomllib already accepted the text."""
    root = _Lines()
    arrays: dict[str, list[_Lines]] = {}
    current = root
    closing: str | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        if closing is not None:
            if closing in line:
                closing = None
            continue
        header = _HEADER_LINE.match(line)
        if header and len(header.group(1)) == len(header.group(3)):
            parts = _key_parts(header.group(2))
            if header.group(1) == "[[" and len(parts) == 1:
                current = _Lines(header=number)
                arrays.setdefault(parts[0], []).append(current)
                continue
            # [source.html] extends the latest [[source]]; any other table hangs off the root.
            node = arrays[parts[0]][-1] if arrays.get(parts[0]) else root.sub(parts[0])
            for part in parts[1:]:
                node.header = node.header or number
                node = node.sub(part)
            node.header = node.header or number
            current = node
            continue
        key = _KEY_LINE.match(line)
        if key:
            parts = _key_parts(key.group(1))
            node = current
            for part in parts[:-1]:
                node.keys.setdefault(part, number)
                node = node.sub(part)
            node.keys.setdefault(parts[-1], number)
            value = key.group(2).lstrip()
            for quote in ('"""', "'''"):
                if value.startswith(quote) and quote not in value[3:]:
                    closing = quote
    return _Layout(root=root, arrays=arrays)


# ---------------------------------------------------------------------------------------------
# Validation


class _Report:
    def __init__(self, path: str) -> None:
        self.path = path
        self.problems: list[Problem] = []

    def add(self, line: int | None, subject: str, message: str) -> None:
        self.problems.append(Problem(self.path, line, subject, message))

    def sorted(self) -> list[Problem]:
        return sorted(self.problems, key=lambda p: (p.line is None, p.line or 0))


class _Table:
    """Typed reads of one table's fields; each bad field becomes a problem on its line."""

    def __init__(
        self,
        data: Mapping[str, Any],
        lines: _Lines,
        subject: str,
        report: _Report,
    ) -> None:
        self.data = data
        self.lines = lines
        self.subject = subject
        self.report = report
        self.ok = True

    def problem(self, path: tuple[str, ...], message: str) -> None:
        self.report.add(self.lines.at(*path), self.subject, message)
        self.ok = False

    def unknown_fields(
        self, allowed: tuple[str, ...], hint: Callable[[str], str | None] = lambda _: None
    ) -> None:
        for name in self.data:
            if name not in allowed:
                self.problem((name,), _unknown_field(name, allowed, hint))

    def string(self, name: str, *, required: bool = False, what: str = "") -> str | None:
        if name not in self.data:
            if required:
                self.problem((), f'field "{name}" is required{what}')
            return None
        value = self.data[name]
        if not isinstance(value, str):
            self.problem((name,), f'field "{name}": expected a string, got {_describe(value)}')
            return None
        if not value.strip():
            self.problem((name,), f'field "{name}" is empty')
            return None
        return value

    def boolean(self, name: str, *, default: bool = False) -> bool:
        value = self.data.get(name, default)
        if not isinstance(value, bool):
            self.problem((name,), f'field "{name}": expected true or false, got {_describe(value)}')
            return False
        return value

    def choice(
        self, name: str, choices: Iterable[str], *, required: bool = True, context: str = ""
    ) -> str | None:
        options = tuple(choices)
        value = self.string(
            name, required=required, what=f"{context} (one of {', '.join(options)})"
        )
        if value is not None and value not in options:
            self.problem((name,), f'field "{name}": {_one_of(value, options)}')
            return None
        return value

    def ident(self) -> str | None:
        value = self.string("id", required=True)
        if value is not None and not _ID_RE.fullmatch(value):
            self.problem(("id",), f'field "id": {_show(value)} is not a valid id ({_ID_RULE})')
            return None
        return value

    def name(self, *, required: bool) -> str | None:
        value = self.string("name", required=required)
        if value is not None and len(value) > _MAX_NAME:
            self.problem(("name",), f'field "name" is longer than {_MAX_NAME} characters')
            return None
        return value

    def url(self, *, required: bool) -> str | None:
        value = self.string("url", required=required)
        if value is None:
            return None
        message = _url_problem(value)
        if message:
            self.problem(("url",), f'field "url": {message}')
            return None
        return value

    def encoding(self) -> str | None:
        value = self.string("encoding")
        if value is None:
            return None
        message = _encoding_problem(value)
        if message:
            self.problem(("encoding",), f'field "encoding": {message}')
            return None
        return value

    def interval(self) -> int | None:
        if "interval" not in self.data:
            return None
        raw = self.data["interval"]
        try:
            seconds = parse_interval(raw)
        except ValueError as exc:
            self.problem(("interval",), f'field "interval": {exc}')
            return None
        if seconds < MIN_INTERVAL:
            self.problem(("interval",), f'field "interval": {_show(raw)} is below the 60 s minimum')
            return None
        if seconds > MAX_INTERVAL:
            self.problem(
                ("interval",),
                f'field "interval": {_show(raw)} is above the 1 day (86400 s) maximum',
            )
            return None
        return seconds


def _url_problem(value: str) -> str | None:
    if any(ch.isspace() for ch in value):
        return f"{_show(value)} contains spaces; remove them (or write %20)"
    if len(value) > _MAX_URL:
        return f"longer than {_MAX_URL} characters"
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https"):
        return f"{_show(value)} is not an absolute http(s) URL (start it with https:// or http://)"
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if not parts.hostname:
        return f"{_show(value)} has no host name"
    if not port_ok:
        return f"{_show(value)} has an invalid port"
    return None


def _encoding_problem(name: str) -> str | None:
    try:
        # bytes.decode rejects codecs that are not text encodings (base64, rot13…), which
        # codecs.lookup alone accepts; a non-empty input is needed for that check to run.
        b"a".decode(name)
    except LookupError as exc:
        if "not a text encoding" in str(exc):
            return f"{_show(name)} is not a text encoding"
        hint = _suggest(name.lower(), _COMMON_ENCODINGS)
        message = f"unknown encoding {_show(name)}"
        return f'{message} (did you mean "{hint}"?)' if hint else message
    except UnicodeError:
        return f"{_show(name)} cannot decode text"
    return None


@cache
def _css_probe() -> LexborHTMLParser:
    return LexborHTMLParser("<p></p>")


def _css_problem(selector: str) -> str | None:
    try:
        _css_probe().css(selector)
    except SelectolaxError:
        return f"{_show(selector)} is not valid CSS"
    return None


def _belongs_to_source(table: str) -> Callable[[str], str | None]:
    """Explain the TOML trap: keys written after ``[source.html]`` land in the sub-table."""

    def hint(name: str) -> str | None:
        if name in _SOURCE_FIELDS:
            return f'"{name}" belongs to the source: move it above [source.{table}]'
        return None

    return hint


def _belongs_in_subtable(name: str) -> str | None:
    """Explain list-parsing fields written directly in a ``[[source]]`` table."""
    places = [t for t, fields in (("html", _HTML_FIELDS), ("json", _JSON_FIELDS)) if name in fields]
    if not places:
        return None
    where = " or ".join(f"{t} = {{ {name} = … }}" for t in places)
    return f'"{name}" belongs inside {where}'


def _check_html(table: _Table, value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        table.problem(
            ("html",),
            f'field "html": expected a table such as {{ item = "ul.list li", link = "a" }}, '
            f"got {_describe(value)}",
        )
        return None
    spec: dict[str, str] = {}
    for name, selector in value.items():
        if name not in _HTML_FIELDS:
            message = _unknown_field(name, _HTML_FIELDS, _belongs_to_source("html"), "html.")
            table.problem(("html", name), message)
            continue
        label = f'field "html.{name}"' if name == "link_pattern" else f'selector "{name}"'
        if not isinstance(selector, str):
            table.problem(("html", name), f"{label}: expected a string, got {_describe(selector)}")
            continue
        if not selector.strip():
            fix = "remove it to accept every link" if name == "link_pattern" else "remove it"
            table.problem(
                ("html", name),
                f"{label} is empty" if name == "item" else f"{label} is empty ({fix})",
            )
            continue
        if name == "link_pattern":
            try:
                re.compile(selector)
            except re.error as exc:
                table.problem(
                    ("html", name),
                    f"{label}: {_show(selector)} is not a valid regular expression ({exc})",
                )
                continue
        else:
            invalid = _css_problem(selector)
            if invalid:
                table.problem(("html", name), f"{label}: {invalid}")
                continue
        spec[name] = selector
    if "item" not in value:
        table.problem(
            ("html",),
            'selector "item" is required (the CSS selector of one list entry, e.g. "ul.list li")',
        )
    return spec


def _check_json(table: _Table, value: object) -> dict[str, str] | None:
    if not isinstance(value, dict):
        table.problem(
            ("json",),
            f'field "json": expected a table such as {{ items = "data.list", title = "title" }}, '
            f"got {_describe(value)}",
        )
        return None
    spec: dict[str, str] = {}
    for name, path in value.items():
        label = f'field "json.{name}"'
        if name not in _JSON_FIELDS:
            message = _unknown_field(name, _JSON_FIELDS, _belongs_to_source("json"), "json.")
            table.problem(("json", name), message)
            continue
        if not isinstance(path, str):
            table.problem(("json", name), f"{label}: expected a string, got {_describe(path)}")
            continue
        if name != "items" and not path.strip():
            table.problem(("json", name), f"{label} is empty (remove it)")
            continue
        if path and any(not part.strip() for part in path.split(".")):
            table.problem(("json", name), f"{label}: {_show(path)} has an empty part between dots")
            continue
        spec[name] = path
    if "items" not in value:
        table.problem(
            ("json",),
            'field "json.items" is required (the dotted path to the list, e.g. "data.list", '
            'or "" when the document itself is the list)',
        )
    return spec


@dataclass(slots=True)
class _Defaults:
    interval: int
    encoding: str | None


def _check_defaults(
    data: dict[str, Any], layout: _Layout, report: _Report, fallback: int
) -> _Defaults:
    defaults = _Defaults(interval=fallback, encoding=None)
    if "defaults" not in data:
        return defaults
    raw = data["defaults"]
    lines = layout.root.subs.get("defaults") or _Lines(header=layout.top("defaults"))
    if not isinstance(raw, dict):
        report.add(layout.top("defaults"), "", '"defaults" must be a table: write [defaults]')
        return defaults
    table = _Table(raw, lines, "[defaults]", report)
    table.unknown_fields(_DEFAULTS_FIELDS)
    interval = table.interval()
    if interval is not None:
        defaults.interval = interval
    defaults.encoding = table.encoding()
    return defaults


def _tables(
    data: dict[str, Any], name: str, layout: _Layout, report: _Report
) -> list[tuple[dict[str, Any], _Lines]]:
    """The ``[[name]]`` tables with their line layout; a wrong shape is one problem."""
    if name not in data:
        return []
    raw = data[name]
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        report.add(
            layout.top(name),
            "",
            f'"{name}" must be an array of tables: write [[{name}]] (double brackets) '
            f"once for each {name}",
        )
        return []
    blocks = layout.arrays.get(name, [])
    if len(blocks) != len(raw):
        # Written as an inline array (`source = [{...}]`): only the key's line is known.
        blocks = [_Lines(header=layout.root.at(name)) for _ in raw]
    return list(zip(raw, blocks, strict=True))


def _subject(kind: str, data: Mapping[str, Any], index: int) -> str:
    value = data.get("id")
    if isinstance(value, str) and value.strip():
        return f"{kind} {_show(value)}"
    return f"{kind} #{index}"


def _check_duplicate(
    table: _Table, ident: str | None, first_lines: dict[str, int | None], kind: str
) -> None:
    if ident is None:
        return
    if ident in first_lines:
        first = first_lines[ident]
        where = f" at line {first}" if first is not None else ""
        table.problem(("id",), f'field "id": {kind} {_show(ident)} is already declared{where}')
    else:
        first_lines[ident] = table.lines.at("id")


def _check_sites(
    data: dict[str, Any], layout: _Layout, report: _Report
) -> tuple[list[SiteSpec], set[str]]:
    sites: list[SiteSpec] = []
    tables: list[_Table] = []
    first_lines: dict[str, int | None] = {}
    declared: set[str] = set()
    for index, (raw, lines) in enumerate(_tables(data, "site", layout, report), start=1):
        table = _Table(raw, lines, _subject("site", raw, index), report)
        table.unknown_fields(_SITE_FIELDS, _nested_table("site"))
        ident = table.ident()
        _check_duplicate(table, ident, first_lines, "site")
        name = table.name(required=True)
        level = table.choice("level", SITE_LEVELS)
        parent = table.string("parent")
        url = table.url(required=False)
        repost = table.boolean("repost", default=True)
        if ident is not None:
            declared.add(ident)
        tables.append(table)
        if table.ok and ident is not None and name is not None and level is not None:
            sites.append(
                SiteSpec(
                    id=ident,
                    name=name,
                    level=level,
                    parent=parent,
                    url=url,
                    line=lines.header or 0,
                    repost=repost,
                )
            )

    parents: dict[str, str] = {}
    for table in tables:
        ident, parent = table.data.get("id"), table.data.get("parent")
        if not isinstance(parent, str) or not parent.strip() or not isinstance(ident, str):
            continue
        if parent == ident:
            table.problem(("parent",), 'field "parent": a site cannot be its own parent')
        elif parent not in declared:
            table.problem(("parent",), f'field "parent": {_unknown_site(parent, declared)}')
        elif ident in declared and ident not in parents:
            parents[ident] = parent
    _check_cycles(tables, parents)
    return sites, declared


def _check_cycles(tables: list[_Table], parents: dict[str, str]) -> None:
    """Report each cycle of ``parent`` links once, on the first of its sites in the file."""
    reported: set[str] = set()
    for table in tables:
        start = table.data.get("id")
        if not isinstance(start, str) or start in reported or start not in parents:
            continue
        chain = [start]
        node = parents[start]
        while node in parents and node not in chain:
            chain.append(node)
            node = parents[node]
        if node == start:
            reported.update(chain)
            path = " → ".join([*chain, start])
            table.problem(("parent",), f'field "parent": the site hierarchy has a cycle: {path}')


def _unknown_site(ident: str, declared: set[str]) -> str:
    if not declared:
        return f"unknown site {_show(ident)} (no [[site]] tables are declared)"
    hint = _suggest(ident, sorted(declared))
    if hint:
        return f'unknown site {_show(ident)} (did you mean "{hint}"?)'
    return f"unknown site {_show(ident)} (declared sites: {_listing(sorted(declared))})"


def _check_sources(
    data: dict[str, Any],
    layout: _Layout,
    report: _Report,
    defaults: _Defaults,
    declared_sites: set[str],
) -> list[SourceSpec]:
    sources: list[SourceSpec] = []
    first_lines: dict[str, int | None] = {}
    for index, (raw, lines) in enumerate(_tables(data, "source", layout, report), start=1):
        table = _Table(raw, lines, _subject("source", raw, index), report)
        table.unknown_fields(
            _SOURCE_FIELDS, lambda n: _belongs_in_subtable(n) or _nested_table("source")(n)
        )
        ident = table.ident()
        _check_duplicate(table, ident, first_lines, "source")
        site = table.string("site", required=True)
        if site is not None and site not in declared_sites:
            table.problem(("site",), f'field "site": {_unknown_site(site, declared_sites)}')
        name = table.name(required=False)
        role = table.choice("role", [r.value for r in SourceRole])
        kind = table.choice("kind", [k.value for k in SourceKind])
        url = table.url(required=True)
        encoding = table.encoding()
        interval = table.interval()
        detail = table.boolean("detail")
        key = table.boolean("key")

        column: str | None = None
        if role == SourceRole.UPSTREAM and "column" in raw:
            table.problem(
                ("column",),
                'field "column" is only for downstream sources (this one is upstream); remove it',
            )
        elif role != SourceRole.UPSTREAM:
            column = table.choice(
                "column", COLUMN_TYPES, required=role == SourceRole.DOWNSTREAM, context=_COLUMN_WHY
            )
        if key and role == SourceRole.DOWNSTREAM:
            table.problem(
                ("key",), 'field "key" is only for upstream sources (this one is downstream)'
            )

        html = _check_html(table, raw["html"]) if "html" in raw else None
        json_spec = _check_json(table, raw["json"]) if "json" in raw else None
        for option, wanted in (("html", SourceKind.HTML_LIST), ("json", SourceKind.JSON)):
            if kind is None:
                break
            if kind == wanted and option not in raw:
                example = (
                    'html = { item = "ul.list li", link = "a" }'
                    if option == "html"
                    else 'json = { items = "data.list", title = "title", url = "url" }'
                )
                table.problem(
                    (), f'field "{option}" is required for kind = "{kind}" (e.g. {example})'
                )
            elif kind != wanted and option in raw:
                table.problem(
                    (option,),
                    f'field "{option}" is only used by kind = "{wanted}" '
                    f'(this source is "{kind}"); remove it',
                )

        if (
            table.ok
            and ident is not None
            and site is not None
            and role is not None
            and kind is not None
            and url is not None
        ):
            sources.append(
                SourceSpec(
                    id=ident,
                    site=site,
                    name=name,
                    role=SourceRole(role),
                    kind=SourceKind(kind),
                    url=url,
                    encoding=encoding if encoding is not None else defaults.encoding,
                    interval_seconds=interval if interval is not None else defaults.interval,
                    column=column,
                    key=key,
                    detail=detail,
                    html=html,
                    json=json_spec,
                    line=lines.header or 0,
                )
            )
    return sources


def _toml_error(exc: tomllib.TOMLDecodeError, text: str) -> tuple[int | None, str]:
    message = str(exc)
    line: int | None = None
    located = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if located:
        line = int(located.group(1))
        message = f"{message[: located.start()]} (column {located.group(2)})"
    elif message.endswith("(at end of document)"):
        line = max(text.count("\n") + (0 if text.endswith("\n") else 1), 1)
        message = message.removesuffix(" (at end of document)") + " (at the end of the file)"
    backslash = message.startswith("Unescaped '\\'")
    message = f"TOML syntax error: {message[:1].lower()}{message[1:]}"
    if backslash:
        message += (
            "; write regular expressions in single quotes, e.g. link_pattern = 'content_\\d+\\.htm'"
        )
    return line, message


def _load(path: Path, default_interval: int) -> tuple[SourcesConfig | None, list[Problem]]:
    report = _Report(os.fspath(path))
    try:
        raw = path.read_bytes()
    except OSError as exc:
        report.add(None, "", f"cannot read the file: {exc.strerror or exc}")
        return None, report.problems
    try:
        # utf-8-sig: Windows Notepad saves UTF-8 with a byte-order mark, which TOML rejects.
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        report.add(
            raw[: exc.start].count(b"\n") + 1,
            "",
            f"the file is not UTF-8 (byte 0x{raw[exc.start]:02x}); "
            "save it as UTF-8 (GBK/GB2312 files are not accepted)",
        )
        return None, report.problems
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        line, message = _toml_error(exc, text)
        report.add(line, "", message)
        return None, report.problems

    layout = _scan(text)
    for name, value in data.items():
        if name in _TOP_LEVEL:
            continue
        report.add(layout.top(name), "", _unknown_top_level(name, value))
    defaults = _check_defaults(data, layout, report, default_interval)
    sites, declared = _check_sites(data, layout, report)
    sources = _check_sources(data, layout, report, defaults, declared)
    if not data.get("source"):
        report.add(None, "", "no sources declared: add at least one [[source]] table")
    if report.problems:
        return None, report.sorted()
    return SourcesConfig(path=path, sites=tuple(sites), sources=tuple(sources)), []


def _unknown_top_level(name: str, value: object) -> str:
    if isinstance(value, dict):
        what, shown = "table", f"[{name}]"
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        what, shown = "table", f"[[{name}]]"
    else:
        what, shown = "top-level key", f'"{name}"'
    if what == "table":
        hint = _suggest(name, _TOP_LEVEL)
        if hint:
            return f"unknown {what} {shown} (did you mean {_table_header(hint)}?)"
        return f"unknown {what} {shown} (allowed: [defaults], [[site]], [[source]])"
    if name in _DEFAULTS_FIELDS:
        return f"unknown {what} {shown} (put it inside [defaults])"
    if name in _SOURCE_FIELDS or name in _SITE_FIELDS:
        return f"unknown {what} {shown} (put it inside a [[source]] or [[site]] table)"
    hint = _suggest(name, _DEFAULTS_FIELDS)
    if hint:
        return f'unknown {what} {shown} (did you mean "{hint}" inside [defaults]?)'
    return f"unknown {what} {shown} (allowed: [defaults], [[site]], [[source]])"


def _table_header(name: str) -> str:
    return "[defaults]" if name == "defaults" else f"[[{name}]]"


def _nested_table(kind: str) -> Callable[[str], str | None]:
    """Explain top-level names written after a ``[[site]]``/``[[source]]`` header."""

    def hint(name: str) -> str | None:
        if name in _TOP_LEVEL:
            return (
                f"keys after a [[{kind}]] header belong to that {kind}; "
                f"write {_table_header(name)} tables instead"
            )
        return None

    return hint

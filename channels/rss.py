"""RSS/Atom 订阅: approved pushes as entries of an Atom 1.0 feed file that websites serve.

Configuration::

    path                    the Atom file to write (its directory must exist and be writable)
    feed_url                the URL the file is served at (the feed's id and rel="self" link)
    title                   the feed's title
    max_entries = 50        the newest entries kept; older ones drop off
    author                  the feed's author name (default: the title)

The file is the only state. :meth:`RSSFeed.publish` reads it, puts the entry for the idempotency
key (``urn:syndicator:{key}``) first — replacing an entry with that id, so a repeat updates and
never duplicates — keeps the newest ``max_entries`` by ``updated``, and writes a temporary file
next to it that replaces it atomically: a reader sees the old feed or the new one, never half.
An advisory lock (``{path}.lock``, POSIX only) keeps two workers from losing each other's entry.

The adapter is :attr:`~channels.base.Channel.idempotent`. Errors: a path that cannot be read or
written, or a file there that is not a feed this adapter wrote, is :class:`Misconfigured` (it
never overwrites a foreign file); a full disk is :class:`Retryable`. The ``httpx.AsyncClient``
the base class hands in is not used.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import stat
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, NoReturn, Unpack

from channels._config import config_error, nonempty_string
from channels._markup import markdown_to_html
from channels.base import (
    Capability,
    Channel,
    ChannelOptions,
    Format,
    Message,
    Misconfigured,
    Receipt,
    Retryable,
)

if sys.platform != "win32":
    import fcntl

__all__ = ["ATOM_NS", "DEFAULT_MAX_ENTRIES", "RSSFeed", "entry_id", "rfc3339"]

ATOM_NS = "http://www.w3.org/2005/Atom"
DEFAULT_MAX_ENTRIES = 50

_QUALIFIED = f"{{{ATOM_NS}}}"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_GENERATOR = "syndicator"
# Characters XML 1.0 cannot carry at all; ElementTree would write them and break the feed.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_KIND_LABEL = {"interpretation": "政策解读", "rebuttal": "辟谣", "notice": "通知", "test": "测试"}
_TEMPORARY = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EAGAIN, errno.EINTR})


def entry_id(idempotency_key: str) -> str:
    """The Atom entry id for *idempotency_key*."""
    return f"urn:syndicator:{idempotency_key}"


def rfc3339(moment: datetime) -> str:
    """*moment* (an aware datetime) in UTC as RFC 3339, ``2026-11-26T01:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _clean(text: str) -> str:
    return _NOT_XML.sub("", text)


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = _clean(text)
    return element


class RSSFeed(Channel):
    """Publish pushes as entries of an Atom 1.0 feed file.

    Args:
        id: the channel instance's id.
        config: see the module.
        client: unused (the feed is a file); accepted for the common constructor.
        base_url: unused.
        clock: the wall clock for ``updated``/``published`` (aware datetimes).

    Raises:
        ChannelConfigError: a field has the wrong type.
    """

    name = "rss"
    title = "RSS/Atom 订阅"
    capabilities = frozenset({Capability.TEXT, Capability.HTML, Capability.LINK})
    formats: ClassVar[tuple[Format, ...]] = ("html", "plain")
    required_fields = ("path", "feed_url", "title")
    optional_fields = ("max_entries", "author")
    idempotent = True

    def __init__(
        self,
        id: str,
        config: Mapping[str, Any],
        *,
        clock: Callable[[], datetime] | None = None,
        **options: Unpack[ChannelOptions],
    ) -> None:
        super().__init__(id, config, **options)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.path = Path(nonempty_string(self, "path"))
        self.feed_url = nonempty_string(self, "feed_url")
        if not self.feed_url.startswith(("http://", "https://")):
            self._bad("feed_url", f"应为 http(s) 网址，而不是 {self.feed_url!r}")
        self.feed_title = nonempty_string(self, "title")
        self.author = (
            nonempty_string(self, "author") if self.config.get("author") else self.feed_title
        )
        limit = self.config.get("max_entries", DEFAULT_MAX_ENTRIES)
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            self._bad("max_entries", f"应为正整数，而不是 {limit!r}")
        self.max_entries = limit

    def _bad(self, field_name: str, why: str) -> NoReturn:
        raise config_error(self, f"{field_name} {why}")

    def __repr__(self) -> str:
        return f"RSSFeed(id={self.id!r}, path={str(self.path)!r}, feed_url={self.feed_url!r})"

    async def publish(self, message: Message, *, idempotency_key: str) -> Receipt:
        """Add (or update) the entry for *idempotency_key* and rewrite the feed file.

        Raises:
            Misconfigured: the path cannot be written, or holds something other than our feed.
            Retryable: the disk is full (or another temporary file-system error).
        """
        eid = entry_id(idempotency_key)
        now = self.clock()
        try:
            replaced, count = await asyncio.to_thread(self._update, message, eid, now)
        except OSError as exc:
            kind = Retryable if exc.errno in _TEMPORARY else Misconfigured
            raise kind(
                f"无法写入订阅源文件 {self.path}：{exc.strerror or exc}；"
                "请确认目录存在且运行 syndicator 的用户可写（path 配置项）",
                platform_code=exc.errno,
                raw={"path": str(self.path), "errno": exc.errno, "file": str(exc.filename)},
            ) from None
        verb = "已更新订阅源中的条目" if replaced else "已加入订阅源"
        return Receipt(
            status="published",
            external_id=eid,
            url=message.url or f"{self.feed_url}#{eid}",
            detail=f"{verb}（共 {count} 条）：{self.path}",
            raw={"path": str(self.path), "entry_id": eid, "replaced": replaced, "entries": count},
        )

    # -- the file, in a worker thread ------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        if sys.platform == "win32":
            yield
            return
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read(self) -> list[ET.Element]:
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return []
        try:
            root = ET.fromstring(data)
        except ET.ParseError as exc:
            line, column = exc.position
            raise Misconfigured(
                f"{self.path} 已存在但不是有效的 XML（第 {line} 行第 {column} 列），"
                "为免覆盖他人文件未写入；请换一个 path 或删除该文件",
                raw={"path": str(self.path)},
            ) from None
        # Elements are built unqualified under a literal xmlns (ElementTree's default_namespace
        # refuses unqualified attributes, and register_namespace is process-wide): unqualify.
        for element in root.iter():
            if element.tag.startswith(_QUALIFIED):
                element.tag = element.tag[len(_QUALIFIED) :]
        generator = root.find("generator")
        if root.tag != "feed" or generator is None or generator.text != _GENERATOR:
            raise Misconfigured(
                f"{self.path} 已存在但不是 syndicator 生成的 Atom 订阅源，为免覆盖未写入；"
                "请换一个 path 或删除该文件",
                raw={"path": str(self.path)},
            )
        return root.findall("entry")

    def _update(self, message: Message, eid: str, now: datetime) -> tuple[bool, int]:
        with self._locked():
            entries = self._read()
            published = rfc3339(now)
            replaced = False
            for old in entries:
                if old.findtext("id") == eid:
                    published = old.findtext("published") or published
                    replaced = True
            entries = [e for e in entries if e.findtext("id") != eid]
            entries.insert(0, self._entry(message, eid, published=published, updated=rfc3339(now)))
            # RFC 3339 UTC strings of one shape sort as the times do; the stable sort keeps
            # the file's order among equal times, and the new entry leads by construction.
            entries.sort(key=lambda e: e.findtext("updated") or "", reverse=True)
            entries = entries[: self.max_entries]
            self._write(self._feed(entries, now))
            return replaced, len(entries)

    def _entry(self, message: Message, eid: str, *, published: str, updated: str) -> ET.Element:
        entry = ET.Element("entry")
        _sub(entry, "id", eid)
        _sub(entry, "title", message.title, type="text")
        _sub(entry, "published", published)
        _sub(entry, "updated", updated)
        if message.url:
            _sub(entry, "link", rel="alternate", type="text/html", href=_clean(message.url))
        if message.author:
            _sub(_sub(entry, "author"), "name", message.author)
        label = _KIND_LABEL.get(message.kind)
        if label:
            _sub(entry, "category", term=message.kind, label=label)
        if message.summary:
            _sub(entry, "summary", message.summary, type="text")
        if message.format == "plain":
            _sub(entry, "content", message.body, type="text")
        else:
            body = message.body if message.format == "html" else markdown_to_html(message.body)
            _sub(entry, "content", body, type="html")
        return entry

    def _feed(self, entries: list[ET.Element], now: datetime) -> ET.Element:
        feed = ET.Element("feed", {"xmlns": ATOM_NS, _XML_LANG: "zh-CN"})
        _sub(feed, "id", self.feed_url)
        _sub(feed, "title", self.feed_title, type="text")
        newest = entries[0].findtext("updated") if entries else None
        _sub(feed, "updated", max(filter(None, [newest, rfc3339(now)])))
        _sub(feed, "link", rel="self", type="application/atom+xml", href=self.feed_url)
        _sub(_sub(feed, "author"), "name", self.author)
        _sub(feed, "generator", _GENERATOR)
        feed.extend(entries)
        return feed

    def _write(self, feed: ET.Element) -> None:
        ET.indent(feed)
        data = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
        directory = self.path.parent
        try:
            mode = stat.S_IMODE(self.path.stat().st_mode)
        except FileNotFoundError:
            mode = 0o644
        fd, temporary = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data + b"\n")
                out.flush()
                os.fsync(out.fileno())
            # mkstemp creates the file 0600: the web server must be able to read the feed.
            os.chmod(temporary, mode)
            os.replace(temporary, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise

"""The poll service: fetch sources, parse their lists, store entries, judge health, schedule.

One :class:`Poller` per process; the Celery task, the embedded runner and ``syndicator poll`` all go
through :meth:`Poller.poll`. Fetching is asynchronous and concurrent; parsing happens on the event
loop (the fast parsers take well under a millisecond per list); database writes are batched into
one transaction per ``scheduler.batch_size`` results (in a worker thread on PostgreSQL, on the loop
itself on SQLite, where the work is local and CPU-bound).

Nothing a source does can crash the poll of another: every failure is recorded as a
:class:`~syndicator.db.models.FetchAttempt` on that source.
"""

from __future__ import annotations

import asyncio
import collections
import hashlib
import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from syndicator import audit
from syndicator.clock import Clock
from syndicator.db.models import (
    Entry,
    FetchAttempt,
    FetchStatus,
    Item,
    Precision,
    Source,
    SourceHealth,
    SourceKind,
    SourceRole,
)
from syndicator.db.session import Database
from syndicator.settings import Settings
from syndicator.sources.encoding import decode_body
from syndicator.sources.fetcher import Fetcher, FetchRequest, FetchResult
from syndicator.sources.parsers import (
    HtmlListSpec,
    JsonSpec,
    ParseError,
    content_hash,
    entry_key,
    parse_detail_meta,
    parse_feed,
    parse_html_list,
    parse_json,
)
from syndicator.sources.schedule import judge_health, next_check_at
from syndicator.sources.types import ParsedEntry
from syndicator.text.classify import DEFAULT_KEY_RULES, KeyPolicyRules, classify_key

__all__ = ["PollOutcome", "Poller"]

log = logging.getLogger(__name__)

# Entries whose list date is older than this cannot affect an open deadline: no detail fetch.
DETAIL_HORIZON = timedelta(days=3)


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """What polling needs of a Source row, detached from any session."""

    id: str
    role: SourceRole
    kind: SourceKind
    url: str
    encoding: str | None
    spec: dict[str, Any]
    detail: bool
    is_key: bool
    interval: int
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    error_streak: int
    timeout_streak: int
    max_entry_count: int
    health: SourceHealth
    health_reason: str | None

    @classmethod
    def of(cls, row: Source) -> _Snapshot:
        return cls(
            id=row.id,
            role=row.role,
            kind=row.kind,
            url=row.url,
            encoding=row.encoding,
            spec=dict(row.spec or {}),
            detail=row.detail,
            is_key=row.is_key,
            interval=row.interval_seconds,
            etag=row.etag,
            last_modified=row.last_modified,
            body_hash=row.body_hash,
            error_streak=row.error_streak,
            timeout_streak=row.timeout_streak,
            max_entry_count=row.max_entry_count,
            health=row.health,
            health_reason=row.health_reason,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PollOutcome:
    """What one poll of one source did."""

    source_id: str
    status: FetchStatus
    http_status: int | None
    entries: int | None
    new_entries: int
    error: str | None
    health: SourceHealth
    health_reason: str | None
    health_changed: bool
    next_check_at: datetime
    duration_ms: float
    bytes: int
    encoding: str | None = None


@dataclass(slots=True)
class _Record:
    snap: _Snapshot
    result: FetchResult
    status: FetchStatus
    error: str | None
    parsed: list[ParsedEntry] | None = None
    size: int = 0
    encoding: str | None = None
    body_hash: str | None = None


class Poller:
    """Polls sources and stores what they list.

    Args:
        settings: the loaded settings (fetch and scheduler parts are used).
        db: the database.
        fetcher: a :class:`Fetcher` bound to the running event loop.
        clock: time source; tests pass a frozen clock.
        key_rules: the profile's key-policy rules, applied to upstream items as they are stored.
        rng: jitter source for scheduling.
    """

    def __init__(
        self,
        *,
        settings: Settings,
        db: Database,
        fetcher: Fetcher,
        clock: Clock,
        key_rules: KeyPolicyRules = DEFAULT_KEY_RULES,
        rng: random.Random | None = None,
    ) -> None:
        self._settings = settings
        self._key_rules = key_rules
        self._db = db
        self._fetcher = fetcher
        self._clock = clock
        self._rng = rng or random.Random()

    async def poll(
        self,
        source_ids: Sequence[str],
        *,
        on_outcome: Callable[[PollOutcome], None] | None = None,
    ) -> list[PollOutcome]:
        """Poll the given sources concurrently; unknown ids are ignored.

        Returns the outcomes in completion order; ``on_outcome`` is called as each one is stored.
        """
        snaps = _interleave_hosts(await asyncio.to_thread(self._load, list(source_ids)))
        if not snaps:
            return []
        batch_size = max(1, self._settings.scheduler.batch_size)
        outcomes: list[PollOutcome] = []
        buffer: list[_Record] = []
        pending = collections.deque(snaps)
        store_lock = asyncio.Lock()

        async def flush() -> None:
            async with store_lock:
                if not buffer:
                    return
                batch = list(buffer)
                buffer.clear()
                # Off the loop: a database lock wait must never stall the fetches in flight.
                stored = self._store(batch)
            outcomes.extend(stored)
            if on_outcome is not None:
                for outcome in stored:
                    on_outcome(outcome)

        async def worker() -> None:
            while pending:
                buffer.append(await self._poll_one(pending.popleft()))
                if len(buffer) >= batch_size:
                    await flush()

        # Enough workers to keep every global fetch slot busy while others wait out per-host
        # delays; finished results wait in ``buffer`` (bodies already dropped), not in tasks.
        count = min(len(snaps), self._settings.fetch.concurrency * 4)
        workers = [asyncio.ensure_future(worker()) for _ in range(count)]
        try:
            await asyncio.gather(*workers)
            await flush()
        finally:
            for task in workers:
                task.cancel()
        return outcomes

    async def aclose(self) -> None:
        await self._fetcher.aclose()

    # -- fetching and parsing (event loop) -------------------------------------------------

    async def _poll_one(self, snap: _Snapshot) -> _Record:
        try:
            result = await self._fetcher.fetch(
                FetchRequest(url=snap.url, etag=snap.etag, last_modified=snap.last_modified)
            )
        except Exception as exc:  # a bug must not take the other sources down with it
            log.exception("fetch of source %s failed unexpectedly", snap.id)
            result = FetchResult.failed(
                status=FetchStatus.ERROR,
                url=snap.url,
                error=f"{type(exc).__name__}: {exc}",
                started_at=self._clock.now(),
                elapsed=0.0,
            )
        record = _Record(
            snap=snap,
            result=replace(result, body=b""),  # the body is parsed here, never kept
            status=result.status,
            error=result.error,
            size=len(result.body),
        )
        if result.status is not FetchStatus.OK:
            return record
        record.body_hash = hashlib.sha256(result.body).hexdigest()
        if record.body_hash == snap.body_hash:
            record.status = FetchStatus.UNCHANGED
            return record
        try:
            record.parsed, record.encoding = self._parse(snap, result)
        except ParseError as exc:
            record.status, record.error = FetchStatus.PARSE_ERROR, str(exc)
            return record
        except Exception as exc:
            log.exception("parser failed on source %s", snap.id)
            record.status = FetchStatus.PARSE_ERROR
            record.error = f"{type(exc).__name__}: {exc}"
            return record
        if not record.parsed:
            record.status = FetchStatus.EMPTY
            record.error = "list parsed to 0 entries"
            return record
        if snap.detail:
            await self._enrich_from_details(record)
        return record

    def _parse(self, snap: _Snapshot, result: FetchResult) -> tuple[list[ParsedEntry], str | None]:
        now = self._clock.now()
        if snap.kind in (SourceKind.RSS, SourceKind.ATOM):
            entries = parse_feed(
                result.body,
                base_url=result.url,
                content_type=result.content_type,
                declared_encoding=snap.encoding,
                now=now,
            )
            return entries, None
        if snap.kind is SourceKind.HTML_LIST:
            text, encoding = decode_body(
                result.body, content_type=result.content_type, declared=snap.encoding
            )
            spec = HtmlListSpec(**snap.spec.get("html", {}))
            return parse_html_list(text, spec, base_url=result.url, now=now), encoding
        json_spec = JsonSpec(**snap.spec.get("json", {}))
        entries = parse_json(
            result.body, json_spec, base_url=result.url, now=now, content_type=result.content_type
        )
        return entries, None

    async def _enrich_from_details(self, record: _Record) -> None:
        """Read the exact publication time from detail pages when the list lacks it.

        Government lists often show only the day; the 12-hour rule needs the hour. Candidates are
        entries without a stored exact time whose list date is recent (older ones cannot matter to
        any open deadline), at most ``fetch.detail_fetch_limit`` per poll, newest first.
        """
        assert record.parsed is not None
        keys = [entry_key(e) for e in record.parsed]
        precise = await asyncio.to_thread(self._precise_keys, record.snap, keys)
        horizon = self._clock.now() - DETAIL_HORIZON
        wanted = [
            (i, e)
            for i, (e, k) in enumerate(zip(record.parsed, keys, strict=True))
            if k not in precise
            and e.url
            and (
                e.published is None
                or (e.published.precision is not Precision.DATETIME and e.published.at >= horizon)
            )
        ][: self._settings.fetch.detail_fetch_limit]
        if not wanted:
            return

        async def enrich(entry: ParsedEntry) -> ParsedEntry:
            assert entry.url is not None
            page = await self._fetcher.fetch(FetchRequest(url=entry.url))
            if page.status is not FetchStatus.OK:
                return entry
            try:
                text, _ = decode_body(page.body, content_type=page.content_type)
                meta = parse_detail_meta(text, now=self._clock.now())
            except Exception:
                log.warning("could not read detail page %s", entry.url, exc_info=True)
                return entry
            extra = dict(entry.meta)
            if meta.manuscript_id:
                extra["manuscript_id"] = meta.manuscript_id
            if meta.source:
                extra["content_source"] = meta.source
            published = entry.published
            if meta.published is not None and (
                published is None or published.precision is not Precision.DATETIME
            ):
                published = meta.published
            return replace(entry, published=published, meta=extra)

        enriched = await asyncio.gather(*(enrich(e) for _, e in wanted))
        for (index, _), entry in zip(wanted, enriched, strict=True):
            record.parsed[index] = entry

    # -- storage (worker thread) ------------------------------------------------------------

    def _load(self, ids: list[str]) -> list[_Snapshot]:
        with self._db.session() as session:
            rows = session.scalars(select(Source).where(Source.id.in_(ids))).all()
            return [_Snapshot.of(row) for row in rows]

    def _precise_keys(self, snap: _Snapshot, keys: list[str]) -> set[str]:
        """Keys among *keys* already stored with an exact publication time."""
        model = Item if snap.role is SourceRole.UPSTREAM else Entry
        with self._db.session() as session:
            return set(
                session.scalars(
                    select(model.key).where(
                        model.source_id == snap.id,
                        model.key.in_(keys),
                        model.published_precision == Precision.DATETIME,
                    )
                )
            )

    def _store(self, records: list[_Record]) -> list[PollOutcome]:
        # Core statements with executemany, one per table and shape: the ORM's per-object
        # bookkeeping cost more than the fetching itself at a few thousand sources per cycle.
        now = self._clock.now()
        outcomes: list[PollOutcome] = []
        attempts: list[dict[str, Any]] = []
        source_updates: list[dict[str, Any]] = []
        writes = _EntryWrites(now)
        changes: list[audit.Record] = []
        with self._db.begin() as session:
            known = _lookup_existing(session, records)
            for record in records:
                new = self._upsert_entries(record, known, now, writes) if record.parsed else 0
                outcome, row_update = self._judge(record, new, now)
                outcomes.append(outcome)
                source_updates.append(row_update)
                attempts.append(
                    {
                        "source_id": record.snap.id,
                        "started_at": record.result.started_at,
                        "duration_ms": record.result.elapsed * 1000.0,
                        "status": record.status,
                        "http_status": record.result.http_status,
                        "bytes": record.size,
                        "entries_seen": len(record.parsed or ()),
                        "new_entries": new,
                        "encoding": record.encoding,
                        "error": record.error,
                    }
                )
                if outcome.health_changed:
                    changes.append(
                        audit.Record(
                            at=now,
                            actor="system:poller",
                            action="source.health_changed",
                            subject=f"source:{record.snap.id}",
                            data={
                                "from": record.snap.health.value,
                                "to": outcome.health.value,
                                "reason": outcome.health_reason,
                            },
                        )
                    )
            writes.flush(session)
            audit.append_many(session, changes)
            session.execute(insert(FetchAttempt.__table__), attempts)
            _update_by_id(session, Source.__table__, source_updates)
        return outcomes

    def _judge(
        self, record: _Record, new: int, now: datetime
    ) -> tuple[PollOutcome, dict[str, Any]]:
        snap, result = record.snap, record.result
        entries = len(record.parsed) if record.parsed is not None else None
        if record.status is FetchStatus.EMPTY:
            entries = 0
        verdict = judge_health(
            status=record.status,
            max_entries_before=snap.max_entry_count,
            error_streak=snap.error_streak,
            timeout_streak=snap.timeout_streak,
            previous=snap.health,
            previous_reason=snap.health_reason,
            error=record.error,
            settings=self._settings.scheduler,
        )
        due = next_check_at(
            now=now,
            interval=snap.interval,
            status=record.status,
            error_streak=verdict.error_streak,
            settings=self._settings.scheduler,
            fresh_for=result.fresh_for,
            retry_after=result.retry_after,
            rng=self._rng,
        )
        changed = verdict.health is not snap.health
        row: dict[str, Any] = {
            "id": snap.id,
            "next_check_at": due,
            "claimed_until": None,
            "last_checked_at": now,
        }
        # Only what changed is written: most polls of a cycle change nothing but the times.
        if (verdict.error_streak, verdict.timeout_streak) != (
            snap.error_streak,
            snap.timeout_streak,
        ):
            row["error_streak"] = verdict.error_streak
            row["timeout_streak"] = verdict.timeout_streak
        if changed or verdict.reason != snap.health_reason:
            row["health"] = verdict.health
            row["health_reason"] = verdict.reason
        if changed:
            row["health_since"] = now
        if record.status in (FetchStatus.OK, FetchStatus.NOT_MODIFIED, FetchStatus.UNCHANGED):
            row["last_success_at"] = now
        if record.status is FetchStatus.OK:
            # A body is only remembered once it parsed, so a fixed parser re-reads it.
            row["body_hash"] = record.body_hash
            row["etag"] = result.etag
            row["last_modified"] = result.last_modified
        if entries is not None:
            row["last_entry_count"] = entries
            row["max_entry_count"] = max(snap.max_entry_count, entries)
        outcome = PollOutcome(
            source_id=snap.id,
            status=record.status,
            http_status=result.http_status,
            entries=entries,
            new_entries=new,
            error=record.error,
            health=verdict.health,
            health_reason=verdict.reason,
            health_changed=changed,
            next_check_at=due,
            duration_ms=result.elapsed * 1000.0,
            bytes=record.size,
            encoding=record.encoding,
        )
        return outcome, row

    def _upsert_entries(
        self, record: _Record, existing: _Known, now: datetime, writes: _EntryWrites
    ) -> int:
        """Queue inserts of new entries and refreshes of re-seen ones; return how many are new.

        Entries that left the list are kept: they are evidence for past obligations.
        """
        assert record.parsed is not None
        model = _model(record.snap)
        inserts, updates, seen = writes.for_model(model)
        new = 0
        for key, entry in _by_key(record.parsed).items():
            digest = content_hash(entry)
            known = existing.get((model, record.snap.id, key))
            if known is None:
                new += 1
                row = {
                    "source_id": record.snap.id,
                    "key": key,
                    "first_seen_at": now,
                    "last_seen_at": now,
                    **_entry_fields(entry, digest),
                }
                if model is Item:
                    verdict = classify_key(
                        entry.title,
                        rules=self._key_rules,
                        doc_no=entry.doc_no,
                        source_is_key=record.snap.is_key,
                    )
                    row["is_key"], row["key_reason"] = verdict.is_key, verdict.reason
                inserts.append(row)
            elif known[1] != digest:
                fields = _entry_fields(entry, digest)
                if entry.published is None and known[2] is not None:
                    # Never lose a time we already know because a later list omits it.
                    for name in ("published_at", "published_precision"):
                        fields.pop(name)
                if model is Entry:
                    fields["matched_at"] = None  # an edited entry is matched again
                updates.append({"id": known[0], "last_seen_at": now, **fields})
            else:
                seen.append(known[0])
        return new


# (model, source id, key) -> (row id, content hash, published_at) of stored entries.
_Known = dict[tuple[type[Item] | type[Entry], str, str], tuple[int, str, datetime | None]]
_LOOKUP_CHUNK = 500


def _model(snap: _Snapshot) -> type[Item] | type[Entry]:
    return Item if snap.role is SourceRole.UPSTREAM else Entry


def _by_key(parsed: list[ParsedEntry]) -> dict[str, ParsedEntry]:
    by_key: dict[str, ParsedEntry] = {}
    for entry in parsed:
        by_key.setdefault(entry_key(entry), entry)
    return by_key


def _lookup_existing(session: Session, records: list[_Record]) -> _Known:
    """Stored entries matching the batch's parsed keys, in a few queries for the whole batch
    (one per source cost more than the rest of storing a steady cycle)."""
    wanted: dict[type[Item] | type[Entry], set[str]] = {}
    for record in records:
        if record.parsed:
            wanted.setdefault(_model(record.snap), set()).update(_by_key(record.parsed))
    known: _Known = {}
    connection = session.connection()
    for model, keys in wanted.items():
        columns = model.__table__.c
        ordered = sorted(keys)
        for start in range(0, len(ordered), _LOOKUP_CHUNK):
            query = select(
                columns.source_id,
                columns.key,
                columns.id,
                columns.content_hash,
                columns.published_at,
            ).where(columns.key.in_(ordered[start : start + _LOOKUP_CHUNK]))
            for source_id, key, row_id, digest, published in connection.execute(query):
                known[(model, source_id, key)] = (row_id, digest, published)
    return known


class _EntryWrites:
    """Entry writes of one batch, per model, executed together at the end of the batch."""

    def __init__(self, seen_at: datetime) -> None:
        self.seen_at = seen_at
        self._by_model: dict[type[Item] | type[Entry], tuple[list[Any], list[Any], list[int]]] = {}

    def for_model(
        self, model: type[Item] | type[Entry]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[int]]:
        return self._by_model.setdefault(model, ([], [], []))

    def flush(self, session: Session) -> None:
        for model, (inserts, updates, seen) in self._by_model.items():
            table = model.__table__
            if inserts:
                session.execute(insert(table), inserts)
            _update_by_id(session, table, updates)
            for start in range(0, len(seen), 500):
                chunk = seen[start : start + 500]
                session.execute(
                    update(table).where(table.c.id.in_(chunk)).values(last_seen_at=self.seen_at)
                )


def _interleave_hosts(snaps: list[_Snapshot]) -> list[_Snapshot]:
    """Order sources round-robin by host, so the first requests go to as many hosts as possible
    instead of queueing behind one host's politeness delay."""
    by_host: dict[str, collections.deque[_Snapshot]] = {}
    for snap in snaps:
        by_host.setdefault(urlsplit(snap.url).netloc.lower(), collections.deque()).append(snap)
    queues = list(by_host.values())
    ordered: list[_Snapshot] = []
    while queues:
        ordered.extend(q.popleft() for q in queues)
        queues = [q for q in queues if q]
    return ordered


def _entry_fields(entry: ParsedEntry, digest: str) -> dict[str, Any]:
    return {
        "guid": entry.guid,
        "url": entry.url,
        "title": entry.title,
        "published_at": entry.published.at if entry.published else None,
        "published_precision": entry.published.precision if entry.published else Precision.NONE,
        "doc_no": entry.doc_no,
        "summary": entry.summary,
        "meta": dict(entry.meta),
        "content_hash": digest,
    }


def _update_by_id(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    """UPDATE … WHERE id = ? as one executemany per set of columns."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        columns = tuple(sorted(k for k in row if k != "id"))
        groups.setdefault(columns, []).append({"_id": row["id"], **row})
    for columns, params in groups.items():
        statement = (
            update(table)
            .where(table.c.id == bindparam("_id"))
            .values({name: bindparam(name) for name in columns})
        )
        session.execute(statement, params)

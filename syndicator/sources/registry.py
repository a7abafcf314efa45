"""Bring the database in line with a sources file.

Sites and sources are upserted; a source dropped from the file is deactivated, never deleted, so
its entries (evidence for past obligations) stay. Every change is written to the audit chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from syndicator import audit
from syndicator.clock import Clock
from syndicator.db.models import Site, Source
from syndicator.db.session import Database
from syndicator.sources.config import SourcesConfig, SourceSpec
from syndicator.sources.schedule import first_check_at

__all__ = ["SyncReport", "sync_sources"]

# Changing any of these invalidates what we remember about the last response.
_RESET_ON_CHANGE = ("url", "kind", "encoding", "spec")


@dataclass(slots=True)
class SyncReport:
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    sites: int = 0


def _source_values(spec: SourceSpec) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if spec.html is not None:
        extra["html"] = dict(spec.html)
    if spec.json is not None:
        extra["json"] = dict(spec.json)
    return {
        "site_id": spec.site,
        "name": spec.name,
        "role": spec.role,
        "kind": spec.kind,
        "url": spec.url,
        "encoding": spec.encoding,
        "interval_seconds": spec.interval_seconds,
        "column_type": spec.column,
        "is_key": spec.key,
        "detail": spec.detail,
        "spec": extra,
    }


def sync_sources(
    db: Database, config: SourcesConfig, *, clock: Clock, actor: str = "system:config"
) -> SyncReport:
    """Upsert the sites and sources of *config*; deactivate sources no longer listed."""
    now = clock.now()
    report = SyncReport(sites=len(config.sites))
    with db.begin() as session:
        sites = {s.id: s for s in session.scalars(select(Site))}
        # Parents first so foreign keys hold on every backend.
        for spec in _parents_first(config):
            site = sites.get(spec.id)
            site_values = {
                "name": spec.name,
                "level": spec.level,
                "parent_id": spec.parent,
                "url": spec.url,
                "repost": spec.repost,
            }
            if site is None:
                session.add(Site(id=spec.id, **site_values))
            else:
                for key, value in site_values.items():
                    setattr(site, key, value)
            session.flush()

        existing = {s.id: s for s in session.scalars(select(Source))}
        listed = set()
        for spec in config.sources:
            listed.add(spec.id)
            values = _source_values(spec)
            row = existing.get(spec.id)
            if row is None:
                session.add(
                    Source(
                        id=spec.id,
                        active=True,
                        next_check_at=first_check_at(spec.id, spec.interval_seconds, now),
                        **values,
                    )
                )
                report.added.append(spec.id)
                continue
            diff = {k: v for k, v in values.items() if getattr(row, k) != v}
            if not row.active:
                diff["active"] = True
            if not diff:
                continue
            if any(k in diff for k in _RESET_ON_CHANGE):
                row.etag = row.last_modified = row.body_hash = None
            if "interval_seconds" in diff or not row.active:
                row.next_check_at = first_check_at(spec.id, spec.interval_seconds, now)
            for key, value in diff.items():
                setattr(row, key, value)
            report.changed.append(spec.id)
        for source_id, stale in existing.items():
            if source_id not in listed and stale.active:
                stale.active = False
                report.deactivated.append(source_id)

        if report.added or report.changed or report.deactivated:
            audit.append(
                session,
                at=now,
                actor=actor,
                action="sources.synced",
                subject=f"file:{config.path.name}",
                data={
                    "added": report.added,
                    "changed": report.changed,
                    "deactivated": report.deactivated,
                },
            )
    return report


def _parents_first(config: SourcesConfig) -> list[Any]:
    ordered: list[Any] = []
    placed: set[str] = set()
    pending = list(config.sites)
    while pending:
        rest = []
        for spec in pending:
            if spec.parent is None or spec.parent in placed:
                ordered.append(spec)
                placed.add(spec.id)
            else:
                rest.append(spec)
        if len(rest) == len(pending):  # the loader rejects cycles; be safe anyway
            ordered.extend(rest)
            break
        pending = rest
    return ordered

"""Storage: SQLAlchemy 2 models, the session factory and Alembic migrations."""

from syndicator.db.migrate import current_revision, upgrade
from syndicator.db.models import (
    AuditEntry,
    Base,
    Entry,
    FetchAttempt,
    FetchStatus,
    Item,
    Notice,
    NoticeKind,
    NoticeStatus,
    Obligation,
    ObligationState,
    Precision,
    Site,
    Source,
    SourceHealth,
    SourceKind,
    SourceRole,
)
from syndicator.db.session import Database

__all__ = [
    "AuditEntry",
    "Base",
    "Database",
    "Entry",
    "FetchAttempt",
    "FetchStatus",
    "Item",
    "Notice",
    "NoticeKind",
    "NoticeStatus",
    "Obligation",
    "ObligationState",
    "Precision",
    "Site",
    "Source",
    "SourceHealth",
    "SourceKind",
    "SourceRole",
    "current_revision",
    "upgrade",
]

"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 17:45:58.481098
"""

import sqlalchemy as sa
from alembic import op

from syndicator.db.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_entry")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_entry_hash")),
        sa.UniqueConstraint("prev_hash", name=op.f("uq_audit_entry_prev_hash")),
    )
    op.create_table(
        "site",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=20), nullable=False),
        sa.Column("parent_id", sa.String(length=64), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["site.id"], name=op.f("fk_site_parent_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site")),
    )
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_site_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "source",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column(
            "role",
            sa.Enum("upstream", "downstream", name="sourcerole", native_enum=False, length=20),
            nullable=False,
        ),
        sa.Column(
            "kind",
            sa.Enum(
                "rss", "atom", "html_list", "json", name="sourcekind", native_enum=False, length=20
            ),
            nullable=False,
        ),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("encoding", sa.String(length=40), nullable=True),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("column_type", sa.String(length=20), nullable=True),
        sa.Column("is_key", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Boolean(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("next_check_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=100), nullable=True),
        sa.Column("body_hash", sa.String(length=64), nullable=True),
        sa.Column("last_checked_at", UTCDateTime(), nullable=True),
        sa.Column("last_success_at", UTCDateTime(), nullable=True),
        sa.Column("last_entry_count", sa.Integer(), nullable=True),
        sa.Column("max_entry_count", sa.Integer(), nullable=False),
        sa.Column("error_streak", sa.Integer(), nullable=False),
        sa.Column("timeout_streak", sa.Integer(), nullable=False),
        sa.Column(
            "health",
            sa.Enum(
                "unknown",
                "ok",
                "broken",
                "unreachable",
                name="sourcehealth",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("health_reason", sa.Text(), nullable=True),
        sa.Column("health_since", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_source_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_source")),
    )
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_source_next_check_at"), ["next_check_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_source_site_id"), ["site_id"], unique=False)

    op.create_table(
        "entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("guid", sa.String(length=1000), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column(
            "published_precision",
            sa.Enum("datetime", "date", "none", name="precision", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("doc_no", sa.String(length=100), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name=op.f("fk_entry_source_id_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_entry")),
        sa.UniqueConstraint("key", "source_id", name=op.f("uq_entry_key")),
    )
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.create_index("ix_entry_first_seen_at", ["first_seen_at"], unique=False)
        batch_op.create_index(
            "ix_entry_source_first_seen", ["source_id", "first_seen_at"], unique=False
        )

    op.create_table(
        "fetch_attempt",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "ok",
                "not_modified",
                "unchanged",
                "http_error",
                "timeout",
                "connect_error",
                "too_large",
                "too_many_redirects",
                "parse_error",
                "empty",
                "error",
                name="fetchstatus",
                native_enum=False,
                length=20,
            ),
            nullable=False,
        ),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("entries_seen", sa.Integer(), nullable=False),
        sa.Column("new_entries", sa.Integer(), nullable=False),
        sa.Column("encoding", sa.String(length=40), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name=op.f("fk_fetch_attempt_source_id_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fetch_attempt")),
    )
    with op.batch_alter_table("fetch_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fetch_attempt_source_started", ["source_id", "started_at"], unique=False
        )

    op.create_table(
        "item",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("source_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("guid", sa.String(length=1000), nullable=True),
        sa.Column("url", sa.String(length=2000), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("published_at", UTCDateTime(), nullable=True),
        sa.Column(
            "published_precision",
            sa.Enum("datetime", "date", "none", name="precision", native_enum=False, length=10),
            nullable=False,
        ),
        sa.Column("doc_no", sa.String(length=100), nullable=True),
        sa.Column("summary", sa.Text(), nullable=True),
        sa.Column("meta", sa.JSON(), nullable=False),
        sa.Column("first_seen_at", UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", UTCDateTime(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name=op.f("fk_item_source_id_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_item")),
        sa.UniqueConstraint("key", "source_id", name=op.f("uq_item_key")),
    )
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.create_index("ix_item_published_at", ["published_at"], unique=False)
        batch_op.create_index(
            "ix_item_source_published", ["source_id", "published_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_index("ix_item_published_at")

    op.drop_table("item")
    with op.batch_alter_table("fetch_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_fetch_attempt_source_started")

    op.drop_table("fetch_attempt")
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_first_seen_at")

    op.drop_table("entry")
    with op.batch_alter_table("source", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_source_site_id"))
        batch_op.drop_index(batch_op.f("ix_source_next_check_at"))

    op.drop_table("source")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_site_parent_id"))

    op.drop_table("site")
    op.drop_table("audit_entry")

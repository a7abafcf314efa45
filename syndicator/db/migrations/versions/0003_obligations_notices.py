"""Repost compliance: obligations, notices, and the markers the compliance tick keeps.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from syndicator.db.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _id() -> sa.types.TypeEngine:  # type: ignore[type-arg]
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _enum(*values: str, length: int = 20) -> sa.Enum:
    return sa.Enum(*values, native_enum=False, length=length)


def upgrade() -> None:
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("repost", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("obligations_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("matched_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_entry_matched_at", ["matched_at"], unique=False)

    op.create_table(
        "obligation",
        sa.Column("id", _id(), nullable=False),
        sa.Column("item_id", _id(), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=False),
        sa.Column("profile", sa.String(length=64), nullable=False),
        sa.Column("deadline_seconds", sa.Integer(), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("window_start", UTCDateTime(), nullable=False),
        sa.Column("published_latest", UTCDateTime(), nullable=False),
        sa.Column(
            "window_basis", _enum("published", "published_date", "first_seen"), nullable=False
        ),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column(
            "state",
            _enum("pending", "reposted", "reposted_late", "overdue", "unknown", "waived"),
            nullable=False,
        ),
        sa.Column("state_since", UTCDateTime(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("entry_id", _id(), nullable=True),
        sa.Column("reposted_earliest", UTCDateTime(), nullable=True),
        sa.Column("reposted_latest", UTCDateTime(), nullable=True),
        sa.Column("latency_seconds", sa.Float(), nullable=True),
        sa.Column("on_time", sa.Boolean(), nullable=True),
        sa.Column("match_score", sa.Float(), nullable=True),
        sa.Column("match_reason", sa.Text(), nullable=True),
        sa.Column("waived_by", sa.String(length=200), nullable=True),
        sa.Column("waived_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entry.id"], name=op.f("fk_obligation_entry_id_entry")
        ),
        sa.ForeignKeyConstraint(["item_id"], ["item.id"], name=op.f("fk_obligation_item_id_item")),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_obligation_site_id_site")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligation")),
        sa.UniqueConstraint("item_id", "site_id", name=op.f("uq_obligation_item_id")),
    )
    op.create_index("ix_obligation_state_due", "obligation", ["state", "due_at"], unique=False)
    op.create_index("ix_obligation_site_state", "obligation", ["site_id", "state"], unique=False)

    op.create_table(
        "notice",
        sa.Column("id", _id(), nullable=False),
        sa.Column("dedup_key", sa.String(length=300), nullable=False),
        sa.Column(
            "kind",
            _enum(
                "remind", "warn", "breach", "unknown", "unchecked", "digest", "stale_warn", "stale"
            ),
            nullable=False,
        ),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("site_id", sa.String(length=64), nullable=True),
        sa.Column("obligation_id", _id(), nullable=True),
        sa.Column("source_id", sa.String(length=64), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("status", _enum("pending", "sent", "failed"), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("claimed_until", UTCDateTime(), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.Column("deliveries", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["obligation_id"], ["obligation.id"], name=op.f("fk_notice_obligation_id_obligation")
        ),
        sa.ForeignKeyConstraint(["site_id"], ["site.id"], name=op.f("fk_notice_site_id_site")),
        sa.ForeignKeyConstraint(
            ["source_id"], ["source.id"], name=op.f("fk_notice_source_id_source")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_notice_dedup_key")),
    )
    op.create_index("ix_notice_status_next", "notice", ["status", "next_attempt_at"], unique=False)
    op.create_index(op.f("ix_notice_site_id"), "notice", ["site_id"], unique=False)
    op.create_index(op.f("ix_notice_obligation_id"), "notice", ["obligation_id"], unique=False)


def downgrade() -> None:
    op.drop_table("notice")
    op.drop_table("obligation")
    with op.batch_alter_table("entry", schema=None) as batch_op:
        batch_op.drop_index("ix_entry_matched_at")
        batch_op.drop_column("matched_at")
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_column("obligations_at")
    with op.batch_alter_table("site", schema=None) as batch_op:
        batch_op.drop_column("repost")

"""Pushes made by the system: ``push.origin`` names what made one (a notice for a target).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("push") as batch:
        batch.add_column(sa.Column("origin", sa.String(length=200), nullable=True))
        batch.create_unique_constraint("uq_push_origin", ["origin"])


def downgrade() -> None:
    with op.batch_alter_table("push") as batch:
        batch.drop_constraint("uq_push_origin", type_="unique")
        batch.drop_column("origin")

"""Key-policy verdict on items: is_key, key_reason, key_by (staff override).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_key", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(sa.Column("key_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("key_by", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item", schema=None) as batch_op:
        batch_op.drop_column("key_by")
        batch_op.drop_column("key_reason")
        batch_op.drop_column("is_key")

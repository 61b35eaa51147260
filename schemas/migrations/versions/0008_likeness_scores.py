"""likeness scores: one per headshot, the median per shoot

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-30 00:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("headshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("likeness", sa.Float(), nullable=True))
    with op.batch_alter_table("photoshoots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("likeness_median", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("photoshoots", schema=None) as batch_op:
        batch_op.drop_column("likeness_median")
    with op.batch_alter_table("headshots", schema=None) as batch_op:
        batch_op.drop_column("likeness")

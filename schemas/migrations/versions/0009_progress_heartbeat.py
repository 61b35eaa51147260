"""shoot progress, heartbeat and placement: the CLI, the web layer and the watchdog read them

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import schemas.models

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("photoshoots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("progress_step", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("progress_total", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(
            sa.Column("heartbeat_at", schemas.models.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("placement", sa.JSON(), server_default="{}", nullable=False))
        batch_op.create_index("ix_photoshoots_heartbeat_at", ["heartbeat_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("photoshoots", schema=None) as batch_op:
        batch_op.drop_index("ix_photoshoots_heartbeat_at")
        batch_op.drop_column("placement")
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("progress_total")
        batch_op.drop_column("progress_step")

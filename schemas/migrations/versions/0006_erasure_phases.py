"""erasure phases: a persisted, resumable sequence; scope; the subject held until signed

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phase", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("scope", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("erasure_subject", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.drop_column("erasure_subject")
        batch_op.drop_column("scope")
        batch_op.drop_column("phase")

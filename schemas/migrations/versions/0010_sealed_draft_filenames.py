"""sealed draft filenames: a waiting upload's file name is sealed under the customer's data key,
like every other photo filename (0005), so a backup holds no plaintext name of it

Existing drafts (at most ``draft_hours`` old) are sealed here with the master key, read the way
the app reads it. An empty table costs one COUNT and needs no key.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COLUMN = "draft_photos.filename"


def _seal_existing(conn: sa.Connection) -> None:
    if not conn.execute(sa.text("SELECT COUNT(*) FROM draft_photos")).scalar():
        return
    from headpix.privacy.crypto import KeyRing
    from headpix.sealed_columns import customer, seal_with
    from headpix.settings import get_settings

    ring = KeyRing(get_settings())
    keys: dict[str, bytes] = {}
    for photo_id, customer_id, filename in conn.execute(
        sa.text("SELECT id, customer_id, filename FROM draft_photos")
    ).all():
        if customer_id not in keys:
            keys[customer_id] = ring.data_key(customer_id, create=True)
        sealed = seal_with(keys[customer_id], customer(customer_id), COLUMN, filename)
        conn.execute(
            sa.text("UPDATE draft_photos SET filename_sealed = :f WHERE id = :id"),
            {"f": sealed, "id": photo_id},
        )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # the rebuilt table's old pages are zeroed
        op.execute("PRAGMA secure_delete=ON")
    with op.batch_alter_table("draft_photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filename_sealed", sa.LargeBinary(), nullable=True))
    _seal_existing(op.get_bind())
    with op.batch_alter_table("draft_photos", schema=None) as batch_op:
        batch_op.drop_column("filename")
        batch_op.alter_column("filename_sealed", existing_type=sa.LargeBinary(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("draft_photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filename", sa.String(255), server_default="", nullable=False))
        batch_op.drop_column("filename_sealed")

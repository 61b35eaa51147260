"""sealed personal values: names, emails, preferences, filenames, prompts, mail and request
contact fields sealed under the customer's data key; a blind index for lookup by email;
claim-then-send columns on the outbox

Existing plaintext rows are sealed here with the master key, read the way the app reads it
(headpix.settings and headpix.privacy.crypto). Empty tables cost one COUNT each and need no key.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

WITH_BODY = "body IS NOT NULL"
WITH_CONTENT = "content_sealed IS NOT NULL"


class _Keys:
    """Data keys looked up once per owner; the key ring is built only when a row needs it."""

    def __init__(self) -> None:
        self._ring: Any = None
        self._cache: dict[tuple[str, str], bytes] = {}

    def ring(self) -> Any:
        if self._ring is None:
            from headpix.privacy.crypto import KeyRing
            from headpix.settings import get_settings

            self._ring = KeyRing(get_settings())
        return self._ring

    def owner(self, kind: str, owner_id: str) -> Any:
        from headpix.sealed_columns import Owner

        return Owner(kind, owner_id)  # type: ignore[arg-type]

    def key(self, kind: str, owner_id: str, *, create: bool) -> bytes:
        if (kind, owner_id) not in self._cache:
            self._cache[(kind, owner_id)] = self.owner(kind, owner_id).key(self.ring(), create=create)
        return self._cache[(kind, owner_id)]

    def seal(self, kind: str, owner_id: str, column: str, value: str) -> bytes:
        from headpix.sealed_columns import seal_with

        key = self.key(kind, owner_id, create=True)
        return seal_with(key, self.owner(kind, owner_id), column, value)

    def open(self, kind: str, owner_id: str, column: str, sealed: bytes) -> str:
        from headpix.sealed_columns import open_with

        key = self.key(kind, owner_id, create=False)
        return open_with(key, self.owner(kind, owner_id), column, sealed)


def _rows(conn: sa.Connection, table: str) -> int:
    return int(conn.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar() or 0)


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def _add_columns() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("email_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("email_index", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("preferences_sealed", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("original_photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filename_sealed", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("headshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prompt_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("negative_prompt_sealed", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("request_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("ref_id", sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column("recipient_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("content_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changes_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("reply_to_sealed", sa.LargeBinary(), nullable=True))


def _seal_existing(conn: sa.Connection) -> None:
    keys = _Keys()
    if _rows(conn, "customers"):
        from headpix.sealed_columns import blind_index

        for cid, name, email, prefs in conn.execute(
            sa.text("SELECT id, name, email, preferences FROM customers")
        ).all():
            address = email.strip().lower()
            conn.execute(
                sa.text(
                    "UPDATE customers SET name_sealed = :n, email_sealed = :e, email_index = :i, "
                    "preferences_sealed = :p WHERE id = :id"
                ),
                {
                    "n": keys.seal("customer", cid, "customers.name", name),
                    "e": keys.seal("customer", cid, "customers.email", address),
                    "i": blind_index(keys.ring(), address),
                    "p": keys.seal(
                        "customer",
                        cid,
                        "customers.preferences",
                        json.dumps(_json(prefs) or {}, ensure_ascii=False, sort_keys=True),
                    ),
                    "id": cid,
                },
            )
    if _rows(conn, "original_photos"):
        for pid, cid, filename in conn.execute(
            sa.text(
                "SELECT p.id, s.customer_id, p.filename FROM original_photos p "
                "JOIN photoshoots s ON s.id = p.shoot_id"
            )
        ).all():
            conn.execute(
                sa.text("UPDATE original_photos SET filename_sealed = :f WHERE id = :id"),
                {"f": keys.seal("customer", cid, "original_photos.filename", filename), "id": pid},
            )
    if _rows(conn, "headshots"):
        for hid, cid, prompt, negative in conn.execute(
            sa.text(
                "SELECT h.id, s.customer_id, h.prompt, h.negative_prompt FROM headshots h "
                "JOIN photoshoots s ON s.id = h.shoot_id"
            )
        ).all():
            conn.execute(
                sa.text(
                    "UPDATE headshots SET prompt_sealed = :p, negative_prompt_sealed = :n WHERE id = :id"
                ),
                {
                    "p": keys.seal("customer", cid, "headshots.prompt", prompt),
                    "n": keys.seal("customer", cid, "headshots.negative_prompt", negative or ""),
                    "id": hid,
                },
            )
    if _rows(conn, "outbox"):
        for mid, dedup, cid, to, subject, body in conn.execute(
            sa.text(
                "SELECT id, dedup_key, customer_id, to_address, subject, body FROM outbox "
                "WHERE body IS NOT NULL AND to_address IS NOT NULL"
            )
        ).all():
            kind, owner = ("customer", cid) if cid else ("request", dedup.rsplit(":", 1)[-1])
            content = json.dumps({"subject": subject or "", "body": body}, ensure_ascii=False, sort_keys=True)
            conn.execute(
                sa.text(
                    "UPDATE outbox SET recipient_sealed = :r, content_sealed = :c, request_id = :q "
                    "WHERE id = :id"
                ),
                {
                    "r": keys.seal(kind, owner, "outbox.recipient", to),
                    "c": keys.seal(kind, owner, "outbox.content", content),
                    "q": None if cid else owner,
                    "id": mid,
                },
            )
    if _rows(conn, "privacy_requests"):
        for rid, cid, changes, reply_to in conn.execute(
            sa.text(
                "SELECT id, customer_id, changes, reply_to FROM privacy_requests "
                "WHERE changes IS NOT NULL OR reply_to IS NOT NULL"
            )
        ).all():
            kind, owner = ("customer", cid) if cid else ("request", rid)
            given = _json(changes)
            conn.execute(
                sa.text(
                    "UPDATE privacy_requests SET changes_sealed = :c, reply_to_sealed = :r WHERE id = :id"
                ),
                {
                    "c": keys.seal(kind, owner, "privacy_requests.changes", json.dumps(given, sort_keys=True))
                    if given
                    else None,
                    "r": keys.seal(kind, owner, "privacy_requests.reply_to", reply_to) if reply_to else None,
                    "id": rid,
                },
            )


def upgrade() -> None:
    if not _is_postgres():  # the rebuilt tables' old pages are zeroed, not left with plaintext
        op.execute("PRAGMA secure_delete=ON")
    _add_columns()
    _seal_existing(op.get_bind())
    with op.batch_alter_table("customers", schema=None) as batch_op:
        if _is_postgres():
            batch_op.drop_constraint("customers_email_key", type_="unique")
        batch_op.drop_column("name")
        batch_op.drop_column("email")
        batch_op.drop_column("preferences")
        batch_op.alter_column("name_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column("email_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column("email_index", existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column("preferences_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.create_unique_constraint("uq_customers_email_index", ["email_index"])
    with op.batch_alter_table("original_photos", schema=None) as batch_op:
        batch_op.drop_column("filename")
        batch_op.alter_column("filename_sealed", existing_type=sa.LargeBinary(), nullable=False)
    with op.batch_alter_table("headshots", schema=None) as batch_op:
        batch_op.drop_column("prompt")
        batch_op.drop_column("negative_prompt")
        batch_op.alter_column("prompt_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column("negative_prompt_sealed", existing_type=sa.LargeBinary(), nullable=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_with_body", postgresql_where=sa.text(WITH_BODY), sqlite_where=sa.text(WITH_BODY)
        )
        batch_op.drop_column("to_address")
        batch_op.drop_column("subject")
        batch_op.drop_column("body")
        batch_op.create_index(
            "ix_outbox_with_body",
            ["sent_at"],
            unique=False,
            postgresql_where=sa.text(WITH_CONTENT),
            sqlite_where=sa.text(WITH_CONTENT),
        )
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.drop_column("changes")
        batch_op.drop_column("reply_to")


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def downgrade() -> None:
    """Schema back to 0004; values whose key still exists are opened again, the rest stay empty."""
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("preferences", sa.JSON(), nullable=True))
    with op.batch_alter_table("original_photos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filename", sa.String(length=255), nullable=True))
    with op.batch_alter_table("headshots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("prompt", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("negative_prompt", sa.Text(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_outbox_with_body", postgresql_where=sa.text(WITH_CONTENT), sqlite_where=sa.text(WITH_CONTENT)
        )
        batch_op.add_column(sa.Column("to_address", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("subject", sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column("body", sa.Text(), nullable=True))
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("changes", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("reply_to", sa.String(length=320), nullable=True))
    _open_existing(op.get_bind())
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint("uq_customers_email_index", type_="unique")
        for column in ("name_sealed", "email_sealed", "email_index", "preferences_sealed"):
            batch_op.drop_column(column)
        batch_op.create_unique_constraint("customers_email_key", ["email"])
    with op.batch_alter_table("original_photos", schema=None) as batch_op:
        batch_op.drop_column("filename_sealed")
    with op.batch_alter_table("headshots", schema=None) as batch_op:
        batch_op.drop_column("prompt_sealed")
        batch_op.drop_column("negative_prompt_sealed")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        for column in (
            "request_id",
            "ref_id",
            "recipient_sealed",
            "content_sealed",
            "claimed_at",
            "next_attempt_at",
        ):
            batch_op.drop_column(column)
        batch_op.create_index(
            "ix_outbox_with_body",
            ["sent_at"],
            unique=False,
            postgresql_where=sa.text(WITH_BODY),
            sqlite_where=sa.text(WITH_BODY),
        )
    with op.batch_alter_table("privacy_requests", schema=None) as batch_op:
        batch_op.drop_column("changes_sealed")
        batch_op.drop_column("reply_to_sealed")


def _open_existing(conn: sa.Connection) -> None:
    keys = _Keys()
    if _rows(conn, "customers"):
        for cid, name, email, prefs in conn.execute(
            sa.text("SELECT id, name_sealed, email_sealed, preferences_sealed FROM customers")
        ).all():
            conn.execute(
                sa.text("UPDATE customers SET name = :n, email = :e, preferences = :p WHERE id = :id"),
                {
                    "n": keys.open("customer", cid, "customers.name", name),
                    "e": keys.open("customer", cid, "customers.email", email),
                    "p": keys.open("customer", cid, "customers.preferences", prefs),
                    "id": cid,
                },
            )
    if _rows(conn, "original_photos"):
        for pid, cid, sealed in conn.execute(
            sa.text(
                "SELECT p.id, s.customer_id, p.filename_sealed FROM original_photos p "
                "JOIN photoshoots s ON s.id = p.shoot_id"
            )
        ).all():
            conn.execute(
                sa.text("UPDATE original_photos SET filename = :f WHERE id = :id"),
                {"f": keys.open("customer", cid, "original_photos.filename", sealed), "id": pid},
            )
    if _rows(conn, "headshots"):
        for hid, cid, prompt, negative in conn.execute(
            sa.text(
                "SELECT h.id, s.customer_id, h.prompt_sealed, h.negative_prompt_sealed FROM headshots h "
                "JOIN photoshoots s ON s.id = h.shoot_id"
            )
        ).all():
            conn.execute(
                sa.text("UPDATE headshots SET prompt = :p, negative_prompt = :n WHERE id = :id"),
                {
                    "p": keys.open("customer", cid, "headshots.prompt", prompt),
                    "n": keys.open("customer", cid, "headshots.negative_prompt", negative),
                    "id": hid,
                },
            )
    # Outbox content and request contact fields are transient: a downgrade drops them.

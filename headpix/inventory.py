"""The data inventory: every column and storage prefix, its category, retention and erasure action.

A test fails when a table column or storage prefix is missing here, so nothing personal can
be added without deciding how long it lives and how it is erased.
"""

from __future__ import annotations

from dataclasses import dataclass

# Categories a legal hold can name (its scope); `None` marks data about no one.
CATEGORIES = (
    "profile",
    "preferences",
    "photos",
    "identity_models",
    "headshots",
    "mail",
    "requests",
    "exports",
    "sessions",
    "marketing",
    "consents",
)


@dataclass(frozen=True)
class Item:
    category: str | None  # None: not personal (ids, counts, timestamps of our own processes)
    retention: str
    erasure: str  # delete | delete_with_row | keep (pseudonymous) | shred (key destroyed)


def _row(category: str | None, retention: str, erasure: str = "delete_with_row") -> Item:
    return Item(category, retention, erasure)


PROFILE = _row("profile", "until erasure or 24 months inactive + 30 days")
SHOOT = _row("photos", "with the customer; photos themselves until processed")
MODEL = _row("identity_models", "settings: identity_model_days after delivery")
HEADSHOT = _row("headshots", "settings: headshot_days after delivery")
MAIL = _row("mail", "body deleted once sent; row with the customer")
REQUEST = _row("requests", "completed requests with the customer; personal fields cleared when done")
INTERNAL = _row(None, "with its row", "delete_with_row")
KEPT = Item(None, "kept: pseudonymous proof and audit", "keep")


def _table(item: Item, columns: str, overrides: dict[str, Item] | None = None) -> dict[str, Item]:
    table = {name.strip(): item for name in columns.split(",")}
    table.update(overrides or {})
    return table


COLUMNS: dict[str, dict[str, Item]] = {
    "customers": _table(
        PROFILE,
        "id, name, email, gender, policy_version, consented_at, consent_channel, created_at, "
        "last_active_at, inactivity_warned_at",
        {"preferences": _row("preferences", "until erasure")},
    ),
    "photoshoots": _table(
        SHOOT,
        "id, customer_id, status, status_detail, styles, images_per_style, seed, stage_seconds, "
        "compute_seconds, flow_run_id, attempt, created_at, updated_at, delivered_at, paused_from, "
        "progress_step, progress_total, heartbeat_at, placement",
    ),
    "original_photos": _table(
        SHOOT,
        "id, shoot_id, ordinal, filename, sha256, size_bytes, original_key, crop_key, verdict, "
        "reasons, width, height, face_box, uploaded_at, purged_at",
    ),
    "identity_models": _table(
        MODEL, "id, shoot_id, weights_key, base_model, steps, first_loss, final_loss, created_at"
    ),
    "headshots": _table(
        HEADSHOT, "id, shoot_id, ordinal, style, prompt, negative_prompt, seed, key, rendered_at"
    ),
    "gallery_links": _table(HEADSHOT, "id, shoot_id, token_hash, expires_at, created_at"),
    "outbox": _table(
        MAIL,
        "id, dedup_key, kind, category, customer_id, to_address, subject, body, status, "
        "provider_message_id, attempts, last_error, created_at, sent_at",
    ),
    "privacy_requests": _table(
        REQUEST,
        "id, type, status, customer_id, subject_ref, changes, reply_to, token_hash, token_expires_at, "
        "confirmed_at, due_at, completed_at, held_seconds, on_hold_since, outcome, created_at, updated_at",
    ),
    "audit_log": _table(KEPT, "id, at, actor, action, subject_ref, request_id, details"),
    "deletion_receipts": _table(KEPT, "id, request_id, subject_ref, receipt, created_at"),
    "data_exports": _table(
        _row("exports", "settings: export_days (7)"),
        "id, request_id, customer_id, key, token_hash, expires_at, created_at",
    ),
    "sign_in_tokens": _table(
        _row("sessions", "until expiry"), "id, customer_id, token_hash, expires_at, created_at"
    ),
    "marketing_suppressions": _table(
        _row("marketing", "until erasure"), "id, address_hash, customer_id, created_at"
    ),
    "restrictions": _table(
        _row("requests", "until lifted, then with the customer"),
        "id, customer_id, request_id, placed_at, lifted_at",
    ),
    "consents": _table(
        _row("consents", "with the customer"), "id, customer_id, policy_version, action, channel, at"
    ),
    "legal_holds": _table(
        Item(None, "kept while held; customer link cleared on erasure", "keep"),
        "id, customer_id, subject_ref, case_ref, scope, review_by, placed_at, released_at",
    ),
    "policy_versions": _table(
        Item(None, "kept: published policy texts", "keep"),
        "id, version, published_at, effective_at, text, text_sha256",
    ),
    "retention_incidents": _table(KEPT, "id, found_at, category, shoot_id, object_count"),
    "usage_events": _table(Item(None, "anonymous counts, kept", "keep"), "id, hour, event, count"),
    "alembic_version": _table(INTERNAL, "version_num"),
    "customer_data_keys": _table(
        Item("photos", "until erasure; key store backups 14 days at most", "shred"),
        "customer_id, wrapped_key, created_at",
    ),
}

# Storage prefixes (templates over ids), each with its category.
PREFIXES: dict[str, Item] = {
    "customers/{customer_id}/shoots/{shoot_id}/originals/": Item(
        "photos", "until the identity model is trained", "delete every version"
    ),
    "customers/{customer_id}/shoots/{shoot_id}/crops/": Item(
        "photos", "until the identity model is trained", "delete every version"
    ),
    "customers/{customer_id}/shoots/{shoot_id}/identity/": Item(
        "identity_models", "settings: identity_model_days after delivery", "delete every version"
    ),
    "customers/{customer_id}/shoots/{shoot_id}/headshots/": Item(
        "headshots", "settings: headshot_days after delivery", "delete every version"
    ),
    "customers/{customer_id}/exports/": Item("exports", "export_days (7)", "delete every version"),
}


def category_of_prefix(key: str) -> str | None:
    """The category of a storage key, from the prefix it sits under."""
    for template, item in PREFIXES.items():
        marker = template.rstrip("/").rsplit("/", 1)[-1]
        if f"/{marker}/" in key:
            return item.category
    return None

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
    # delete_with_row | unlink (customer link and personal fields cleared, row kept pseudonymous)
    # | keep (about no one) | shred (key destroyed) | sealed (under the owner's key: deleted with
    # the row, and every copy in a backup, WAL segment, replica or dump unreadable once the key is
    # shredded). headpix.privacy.erasure_scope.ROW_ACTIONS carries out the same per table.
    erasure: str


def _row(category: str | None, retention: str, erasure: str = "delete_with_row") -> Item:
    return Item(category, retention, erasure)


PROFILE = _row("profile", "until erasure or 24 months inactive + 30 days")
SHOOT = _row("photos", "with the customer; photos themselves until processed")
MODEL = _row("identity_models", "settings: identity_model_days after delivery")
HEADSHOT = _row("headshots", "settings: headshot_days after delivery")
MAIL = _row("mail", "body deleted once sent; row with the customer")
REQUEST = _row(
    "requests", "kept pseudonymous; customer link and personal fields cleared on erasure", "unlink"
)
INTERNAL = _row(None, "with its row", "delete_with_row")
SEALED = "sealed"  # see Item.erasure
BLIND_INDEX = "delete_with_row (keyed HMAC; the key is not in the database)"
KEPT = Item(None, "kept: pseudonymous proof and audit", "keep")


def _table(item: Item, columns: str, overrides: dict[str, Item] | None = None) -> dict[str, Item]:
    table = {name.strip(): item for name in columns.split(",")}
    table.update(overrides or {})
    return table


COLUMNS: dict[str, dict[str, Item]] = {
    "customers": _table(
        PROFILE,
        "id, gender, policy_version, consented_at, consent_channel, created_at, "
        "last_active_at, inactivity_warned_at",
        {
            "name_sealed": _row("profile", PROFILE.retention, SEALED),
            "email_sealed": _row("profile", PROFILE.retention, SEALED),
            "email_index": _row("profile", PROFILE.retention, BLIND_INDEX),
            "preferences_sealed": _row("preferences", "until erasure", SEALED),
        },
    ),
    "photoshoots": _table(
        SHOOT,
        "id, customer_id, status, status_detail, styles, images_per_style, seed, stage_seconds, "
        "compute_seconds, flow_run_id, attempt, created_at, updated_at, delivered_at, paused_from, "
        "likeness_median, progress_step, progress_total, heartbeat_at, placement",
    ),
    "original_photos": _table(
        SHOOT,
        "id, shoot_id, ordinal, sha256, size_bytes, original_key, crop_key, verdict, "
        "reasons, width, height, face_box, uploaded_at, purged_at",
        {"filename_sealed": _row("photos", SHOOT.retention, SEALED)},
    ),
    "identity_models": _table(
        MODEL, "id, shoot_id, weights_key, base_model, steps, first_loss, final_loss, created_at"
    ),
    "headshots": _table(
        HEADSHOT,
        "id, shoot_id, ordinal, style, seed, key, rendered_at, likeness",
        {
            "prompt_sealed": _row("headshots", HEADSHOT.retention, SEALED),
            "negative_prompt_sealed": _row("headshots", HEADSHOT.retention, SEALED),
        },
    ),
    "gallery_links": _table(HEADSHOT, "id, shoot_id, token_hash, expires_at, created_at"),
    "outbox": _table(
        MAIL,
        "id, dedup_key, kind, category, customer_id, request_id, ref_id, status, "
        "provider_message_id, attempts, last_error, created_at, claimed_at, next_attempt_at, sent_at",
        {
            # Under the customer's key, or the request's key (destroyed once the notice is sent).
            "recipient_sealed": _row("mail", "cleared once sent; row with the customer", SEALED),
            "content_sealed": _row("mail", "cleared once sent; row with the customer", SEALED),
        },
    ),
    "privacy_requests": _table(
        REQUEST,
        "id, type, status, customer_id, subject_ref, token_hash, token_expires_at, "
        "confirmed_at, due_at, completed_at, held_seconds, on_hold_since, outcome, phase, scope, "
        "erasure_subject, created_at, updated_at",
        {
            "changes_sealed": _row("requests", "cleared once applied or expired", SEALED),
            "reply_to_sealed": _row("requests", "cleared once the final notice is queued", SEALED),
        },
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
        Item(None, "kept while held; customer link cleared on erasure", "unlink"),
        "id, customer_id, subject_ref, case_ref, scope, review_by, placed_at, released_at",
    ),
    "policy_versions": _table(
        Item(None, "kept: published policy texts", "keep"),
        "id, version, published_at, effective_at, text, text_sha256",
    ),
    "retention_incidents": _table(KEPT, "id, found_at, category, shoot_id, object_count"),
    "usage_events": _table(Item(None, "anonymous counts, kept", "keep"), "id, hour, event, count"),
    "alembic_version": _table(INTERNAL, "version_num"),
    "web_accounts": _table(PROFILE, "customer_id, address_proven_at, created_at"),
    "draft_photos": _table(
        _row("photos", "settings: draft_hours (24) unless a shoot starts; deleted with the customer"),
        "id, customer_id, filename_sealed, sha256, size_bytes, phash, key, created_at",
    ),
    "customer_data_keys": _table(
        Item("photos", "until erasure; key store backups 14 days at most", "shred"),
        "customer_id, wrapped_key, created_at",
    ),
    "request_keys": _table(
        Item("requests", "until the request's final notice is handed to the provider", "shred"),
        "request_id, wrapped_key, created_at",
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
    # Holds the objects in IDENTITY_OBJECTS below: they live and go together.
    "customers/{customer_id}/shoots/{shoot_id}/identity/": Item(
        "identity_models", "settings: identity_model_days after delivery", "delete every version"
    ),
    "customers/{customer_id}/shoots/{shoot_id}/headshots/": Item(
        "headshots", "settings: headshot_days after delivery", "delete every version"
    ),
    "customers/{customer_id}/exports/": Item("exports", "export_days (7)", "delete every version"),
    "customers/{customer_id}/drafts/": Item(
        "photos", "settings: draft_hours (24), or until the shoot starts", "delete every version"
    ),
}

# The objects under the identity prefix, each declared on its own: the reference face template
# is biometric data and must not hide behind the identity model's entry. Per-photo face
# descriptors are never stored anywhere: they exist in the intake's memory only.
IDENTITY_OBJECTS: dict[str, Item] = {
    "customers/{customer_id}/shoots/{shoot_id}/identity/{model_id}.safetensors": Item(
        "identity_models",
        "settings: identity_model_days after delivery",
        "delete every version (the identity prefix)",
    ),
    # The shoot's reference face: the mean 128-d face descriptor of its accepted crops,
    # sealed under the customer's data key; never logged, put in a result or sent to Prefect.
    "customers/{customer_id}/shoots/{shoot_id}/identity/{model_id}.template": Item(
        "identity_models",
        "with its identity model: settings: identity_model_days after delivery",
        "delete every version (the identity prefix), with the identity model",
    ),
}
BIOMETRIC_OBJECTS = ("customers/{customer_id}/shoots/{shoot_id}/identity/{model_id}.template",)


def category_of_prefix(key: str) -> str | None:
    """The category of a storage key, from the prefix it sits under."""
    for template, item in PREFIXES.items():
        marker = template.rstrip("/").rsplit("/", 1)[-1]
        if f"/{marker}/" in key:
            return item.category
    return None

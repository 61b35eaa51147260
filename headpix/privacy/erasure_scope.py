"""What an erasure deletes: all of a customer, or a scope of it, row by row and prefix by prefix.

The policy promises erasure of "some or all" personal data. A scope names that part:
``shoot:<id>``, ``headshots``, ``identity_models``, ``preferences`` or ``marketing``; no scope
is everything. ``ROW_ACTIONS`` is what a full erasure does to each table, and a test holds it
equal to the data inventory's declarations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, delete, select, update
from sqlalchemy.orm import Session

from headpix import personal
from headpix.errors import UsageError
from headpix.privacy.crypto import KeyRing
from headpix.storage import Keys
from schemas.models import (
    Customer,
    GalleryLink,
    Headshot,
    IdentityModel,
    OriginalPhoto,
    OutboxMessage,
    Photoshoot,
)
from schemas.privacy import (
    Consent,
    DataExport,
    LegalHold,
    PrivacyRequest,
    Restriction,
    SignInToken,
    Suppression,
)
from schemas.web import DraftPhoto, WebAccount

SCOPES = ("headshots", "identity_models", "preferences", "marketing")
OBJECT_CATEGORIES = {"photos", "identity_models", "headshots", "exports"}
SHOOT_PREFIXES = {
    "photos": ("originals/", "crops/"),
    "identity_models": ("identity/",),
    "headshots": ("headshots/",),
}

# What a full erasure does to each table (the inventory declares the same; a test holds them).
ROW_ACTIONS = {
    "customers": "delete",
    "photoshoots": "delete",
    "original_photos": "delete",
    "identity_models": "delete",
    "headshots": "delete",
    "gallery_links": "delete",
    "outbox": "delete",
    "data_exports": "delete",
    "sign_in_tokens": "delete",
    "marketing_suppressions": "delete",
    "restrictions": "delete",
    "consents": "delete",
    "web_accounts": "delete",
    "draft_photos": "delete",
    "privacy_requests": "unlink",
    "legal_holds": "unlink",
    "customer_data_keys": "shred",
    "request_keys": "shred",  # an erasure's own, once its final notice is handed over
}


@dataclass(frozen=True)
class Scope:
    """A parsed scope; ``everything`` is the default erasure of the whole customer."""

    kind: str  # everything | shoot | headshots | identity_models | preferences | marketing
    shoot_id: str | None = None

    @property
    def everything(self) -> bool:
        return self.kind == "everything"

    @property
    def text(self) -> str | None:
        if self.everything:
            return None
        return f"shoot:{self.shoot_id}" if self.kind == "shoot" else self.kind

    @property
    def categories(self) -> set[str]:
        """Inventory categories this scope touches (a legal hold on any of them holds it)."""
        return {
            "everything": set(),
            "shoot": {"photos", "identity_models", "headshots", "mail"},
            "headshots": {"headshots"},
            "identity_models": {"identity_models"},
            "preferences": {"preferences"},
            "marketing": {"marketing", "mail"},
        }[self.kind]


def parse_scope(text: str | None) -> Scope:
    """``None``/``all`` → everything; refuse anything else with the list of scopes."""
    if text is None or text in ("", "all", "everything"):
        return Scope("everything")
    if text.startswith("shoot:") and len(text) > len("shoot:"):
        return Scope("shoot", text.split(":", 1)[1])
    if text in SCOPES:
        return Scope(text)
    raise UsageError(f"unknown erasure scope {text!r}: use shoot:ID, {', '.join(SCOPES)}, or all")


def check_scope(session: Session, request_type: str, text: str | None, customer_id: str | None) -> str | None:
    """The scope a request stores: refused for other types, and for a shoot of someone else."""
    scope = parse_scope(text)
    if scope.everything:
        return None
    if request_type != "erasure":
        raise UsageError("only an erasure request takes a scope")
    if scope.kind == "shoot" and customer_id is not None:
        owner = session.scalar(select(Photoshoot.customer_id).where(Photoshoot.id == scope.shoot_id))
        if owner != customer_id:
            raise UsageError(f"{scope.shoot_id} is not a shoot of this account; check the id")
    return scope.text


def _count(session: Session, statement: Any) -> int:
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)


def _customer_shoots(customer_id: str) -> Any:
    return select(Photoshoot.id).where(Photoshoot.customer_id == customer_id).scalar_subquery()


def _shoot_rows(shoot_ids: Any, held: set[str]) -> list[tuple[str, str, Any]]:
    return [
        ("gallery_links", "headshots", delete(GalleryLink).where(GalleryLink.shoot_id.in_(shoot_ids))),
        ("headshots", "headshots", delete(Headshot).where(Headshot.shoot_id.in_(shoot_ids))),
        (
            "identity_models",
            "identity_models",
            delete(IdentityModel).where(IdentityModel.shoot_id.in_(shoot_ids)),
        ),
        ("original_photos", "photos", delete(OriginalPhoto).where(OriginalPhoto.shoot_id.in_(shoot_ids))),
    ]


def delete_rows(
    session: Session, customer_id: str, scope: Scope, held: set[str], *, keys: KeyRing | None = None
) -> dict[str, int]:
    """DELETE the rows in scope, children first, keeping held categories and their parents."""
    counts: dict[str, int] = {}

    def run(name: str, category: str, statement: Any) -> None:
        if category not in held:
            counts[name] = counts.get(name, 0) + _count(session, statement)

    if scope.kind == "shoot":
        ids = (
            select(Photoshoot.id)
            .where(Photoshoot.id == scope.shoot_id, Photoshoot.customer_id == customer_id)
            .scalar_subquery()
        )
        run(
            "outbox", "mail", delete(OutboxMessage).where(OutboxMessage.dedup_key.like(f"%:{scope.shoot_id}"))
        )
        for name, category, statement in _shoot_rows(ids, held):
            run(name, category, statement)
        if not held & scope.categories:
            counts["photoshoots"] = _count(session, delete(Photoshoot).where(Photoshoot.id.in_(ids)))
        return counts
    shoots = _customer_shoots(customer_id)
    if scope.kind in ("headshots", "identity_models"):
        for name, category, statement in _shoot_rows(shoots, held):
            if category == scope.kind:
                run(name, category, statement)
        return counts
    if scope.kind == "preferences":
        customer = session.get(Customer, customer_id)
        if customer is not None and "preferences" not in held and keys is not None:
            personal.set_preferences(keys, customer, {})  # the old sealed value is overwritten
            counts["customers.preferences"] = 1
        return counts
    if scope.kind == "marketing":
        marketing = (OutboxMessage.customer_id == customer_id, OutboxMessage.category == "marketing")
        run("outbox", "marketing", delete(OutboxMessage).where(*marketing))
        return counts
    return _delete_everything(session, customer_id, held)


def _delete_everything(session: Session, customer_id: str, held: set[str]) -> dict[str, int]:
    counts: dict[str, int] = {}

    def step(name: str, category: str, statement: Any) -> None:
        if category not in held:
            counts[name] = counts.get(name, 0) + _count(session, statement)

    step("outbox", "mail", delete(OutboxMessage).where(OutboxMessage.customer_id == customer_id))
    step("sign_in_tokens", "sessions", delete(SignInToken).where(SignInToken.customer_id == customer_id))
    step("data_exports", "exports", delete(DataExport).where(DataExport.customer_id == customer_id))
    step(
        "marketing_suppressions",
        "marketing",
        delete(Suppression).where(Suppression.customer_id == customer_id),
    )
    step("consents", "consents", delete(Consent).where(Consent.customer_id == customer_id))
    step("restrictions", "requests", delete(Restriction).where(Restriction.customer_id == customer_id))
    step("draft_photos", "photos", delete(DraftPhoto).where(DraftPhoto.customer_id == customer_id))
    for name, category, statement in _shoot_rows(_customer_shoots(customer_id), held):
        step(name, category, statement)
    if not held & {"photos", "identity_models", "headshots"}:
        counts["photoshoots"] = _count(
            session, delete(Photoshoot).where(Photoshoot.customer_id == customer_id)
        )
    if not held:
        counts["legal_holds"] = _count(
            session, update(LegalHold).where(LegalHold.customer_id == customer_id).values(customer_id=None)
        )
        # Reply addresses go too, but an erasure's own (under its request key) carries its notice.
        session.execute(
            update(PrivacyRequest)
            .where(PrivacyRequest.customer_id == customer_id, PrivacyRequest.type != "erasure")
            .values(reply_to_sealed=None)
        )
        counts["privacy_requests"] = _count(
            session,
            update(PrivacyRequest)
            .where(PrivacyRequest.customer_id == customer_id)
            .values(customer_id=None, changes_sealed=None, token_hash=None),
        )
        counts["web_accounts"] = _count(
            session, delete(WebAccount).where(WebAccount.customer_id == customer_id)
        )
        counts["customers"] = _count(session, delete(Customer).where(Customer.id == customer_id))
    return counts


def object_prefixes(customer_id: str, shoot_ids: list[str], scope: Scope, held: set[str]) -> list[str]:
    """The storage prefixes an erasure deletes (every version under each)."""
    if scope.everything and not held & OBJECT_CATEGORIES:
        return [Keys.customer(customer_id)]
    if scope.kind == "shoot":
        assert scope.shoot_id is not None
        if held & scope.categories:
            return []
        return [Keys.shoot(customer_id, scope.shoot_id)] if scope.shoot_id in shoot_ids else []
    categories = [c for c in SHOOT_PREFIXES if c not in held]
    if not scope.everything:
        categories = [c for c in categories if c == scope.kind]
    prefixes = [
        Keys.shoot(customer_id, shoot_id) + prefix
        for category in categories
        for shoot_id in shoot_ids
        for prefix in SHOOT_PREFIXES[category]
    ]
    if scope.everything and "exports" not in held:
        prefixes.append(Keys.customer(customer_id) + "exports/")
    return prefixes


def rows_left(session: Session, customer_id: str, scope: Scope, *, keys: KeyRing | None = None) -> list[str]:
    """Rows of the scope still present (the bounded verification of a scoped erasure)."""
    checks: list[tuple[str, ColumnElement[bool], Any]] = []
    if scope.kind == "shoot":
        checks = [
            ("photoshoots", Photoshoot.id == scope.shoot_id, Photoshoot.id),
            ("headshots", Headshot.shoot_id == scope.shoot_id, Headshot.id),
            ("identity_models", IdentityModel.shoot_id == scope.shoot_id, IdentityModel.id),
            ("original_photos", OriginalPhoto.shoot_id == scope.shoot_id, OriginalPhoto.id),
            ("gallery_links", GalleryLink.shoot_id == scope.shoot_id, GalleryLink.id),
            ("outbox", OutboxMessage.dedup_key.like(f"%:{scope.shoot_id}"), OutboxMessage.id),
        ]
    elif scope.kind in ("headshots", "identity_models"):
        table = Headshot if scope.kind == "headshots" else IdentityModel
        checks = [(scope.kind, table.shoot_id.in_(_customer_shoots(customer_id)), table.id)]
    elif scope.kind == "marketing":
        checks = [
            (
                "outbox",
                (OutboxMessage.customer_id == customer_id) & (OutboxMessage.category == "marketing"),
                OutboxMessage.id,
            )
        ]
    elif scope.kind == "preferences":
        customer = session.get(Customer, customer_id)
        left = customer is not None and keys is not None and personal.preferences_of(keys, customer)
        return ["customers.preferences"] if left else []
    return [name for name, where, column in checks if session.scalar(select(column).where(where).limit(1))]

"""The audit log: append-only records of privacy-relevant actions, by pseudonymous subject id."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from schemas.privacy import AuditEvent

log = logging.getLogger(__name__)


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    subject_ref: str | None = None,
    request_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Append one event; ``details`` must hold counts and codes, never personal data."""
    session.add(
        AuditEvent(
            actor=actor, action=action, subject_ref=subject_ref, request_id=request_id, details=details or {}
        )
    )
    log.info("audit %s by %s (subject %s)", action, actor, subject_ref)

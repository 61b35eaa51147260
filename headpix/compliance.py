"""The compliance report for operators: open requests, overdue erasures, holds, leftovers, notices.

Nothing personal: requests and holds by their random ids, subjects by pseudonym, dates and counts.
The same report backs the sweep's Prefect artifacts and `headpix compliance report`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select

from headpix.outbox import SENDING_TIMEOUT
from headpix.retention import overdue_erasures
from headpix.services import Services
from schemas.models import OutboxMessage, Photoshoot
from schemas.privacy import LegalHold, PolicyVersion, PrivacyRequest, RetentionIncident

OPEN_STATUSES = (
    "received",
    "awaiting_confirmation",
    "confirmed",
    "in_progress",
    "on_hold",
    "needs_attention",
)
LEFTOVER_WINDOW_DAYS = 30


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


@dataclass
class ComplianceReport:
    as_of: str
    overdue: int
    open_requests: list[dict[str, Any]] = field(default_factory=list)
    holds: list[dict[str, Any]] = field(default_factory=list)
    leftovers: list[dict[str, Any]] = field(default_factory=list)
    policy_notices: list[dict[str, Any]] = field(default_factory=list)
    # Mail whose fate is unknown (a crash or timeout mid-send): `headpix mail resend ID`.
    mail_needs_attention: list[dict[str, Any]] = field(default_factory=list)
    sweep: dict[str, int] | None = None
    # Erasures whose verification failed, with what was found (table names and counts only).
    needs_attention: list[dict[str, Any]] = field(default_factory=list)
    # Sweep categories that failed this run (the others still ran), by name and error type.
    failed_categories: dict[str, str] = field(default_factory=dict)
    # Shoots that failed for good in the window: id, when, the customer's message, originals left.
    failed_shoots: list[dict[str, Any]] = field(default_factory=list)

    @property
    def holds_past_review(self) -> int:
        return sum(1 for h in self.holds if h["past_review"])

    def to_json(self) -> dict[str, Any]:
        data = dict(self.__dict__)
        data["holds_past_review"] = self.holds_past_review
        if self.sweep is None:
            data.pop("sweep")
        return data

    def table(self) -> list[dict[str, Any]]:
        """One row per item, for a Prefect table artifact."""
        rows: list[dict[str, Any]] = [
            {"section": "overdue erasures", "id": "", "detail": "", "date": self.as_of, "count": self.overdue}
        ]
        for r in self.open_requests:
            rows.append(
                {
                    "section": "open request",
                    "id": r["request_id"],
                    "detail": f"{r['type']} {r['status']}",
                    "date": r["due_at"],
                    "count": 1,
                }
            )
        for h in self.holds:
            detail = f"case {h['case_ref']}" + (" PAST REVIEW" if h["past_review"] else "")
            rows.append(
                {
                    "section": "legal hold",
                    "id": h["hold_id"],
                    "detail": detail,
                    "date": h["review_by"],
                    "count": 1,
                }
            )
        for x in self.leftovers:
            rows.append(
                {
                    "section": "leftover found",
                    "id": x["shoot_id"],
                    "detail": x["category"],
                    "date": x["found_at"],
                    "count": x["object_count"],
                }
            )
        for a in self.needs_attention:
            rows.append(
                {
                    "section": "erasure needs attention",
                    "id": a["request_id"],
                    "detail": ", ".join(a["found"]),
                    "date": a["due_at"],
                    "count": 1,
                }
            )
        for name, error in self.failed_categories.items():
            rows.append(
                {
                    "section": "sweep category failed",
                    "id": name,
                    "detail": error,
                    "date": self.as_of,
                    "count": 1,
                }
            )
        for f in self.failed_shoots:
            rows.append(
                {
                    "section": "shoot failed",
                    "id": f["shoot_id"],
                    "detail": f["detail"],
                    "date": f["failed_at"],
                    "count": f["originals_left"],
                }
            )
        for m in self.mail_needs_attention:
            rows.append(
                {
                    "section": "mail needs attention",
                    "id": m["message_id"],
                    "detail": f"{m['kind']} of {m.get('ref_id') or '-'}: "
                    f"headpix mail resend {m['message_id']}",
                    "date": m["claimed_at"],
                    "count": 1,
                }
            )
        for n in self.policy_notices:
            rows.append(
                {
                    "section": "policy notices",
                    "id": n["version"],
                    "detail": "sent",
                    "date": n["effective_at"],
                    "count": n["sent"],
                }
            )
        return rows

    def markdown(self) -> str:
        lines = [
            f"# Compliance report as of {self.as_of}",
            "",
            f"- overdue erasures: **{self.overdue}**",
            f"- open requests: {len(self.open_requests)}",
            f"- legal holds: {len(self.holds)} ({self.holds_past_review} past their review date)",
            f"- leftovers found in the last {LEFTOVER_WINDOW_DAYS} days: {len(self.leftovers)} "
            f"({sum(x['object_count'] for x in self.leftovers)} object versions)",
            f"- mail needing attention (fate unknown; `headpix mail resend ID`): "
            f"{len(self.mail_needs_attention)}",
        ]
        if self.needs_attention:
            lines.append(f"- erasures needing attention: **{len(self.needs_attention)}**")
        if self.failed_shoots:
            lines.append(
                f"- shoots failed in the last {LEFTOVER_WINDOW_DAYS} days: {len(self.failed_shoots)} "
                f"({sum(f['originals_left'] for f in self.failed_shoots)} with originals not yet purged)"
            )
        for name, error in self.failed_categories.items():
            lines.append(f"- sweep category **{name} failed** ({error}); the others ran")
        for n in self.policy_notices:
            lines.append(f"- policy {n['version']} (effective {n['effective_at']}): {n['sent']} notices sent")
        if self.sweep is not None:
            lines += ["", "| sweep category | count |", "|---|---|"]
            lines += [f"| {k} | {v} |" for k, v in self.sweep.items()]
        return "\n".join(lines) + "\n"


def build_report(services: Services, now: datetime) -> ComplianceReport:
    report = ComplianceReport(as_of=now.isoformat(), overdue=overdue_erasures(services, now))
    with services.db.session() as session:
        for r in session.scalars(
            select(PrivacyRequest)
            .where(PrivacyRequest.status.in_(OPEN_STATUSES))
            .order_by(PrivacyRequest.due_at)
        ):
            report.open_requests.append(
                {"request_id": r.id, "type": r.type, "status": r.status, "due_at": _iso(r.due_at)}
            )
            if r.status == "needs_attention":
                found = list((r.outcome or {}).get("attention", []))
                report.needs_attention.append({"request_id": r.id, "found": found, "due_at": _iso(r.due_at)})
        for h in session.scalars(
            select(LegalHold).where(LegalHold.released_at.is_(None)).order_by(LegalHold.review_by)
        ):
            report.holds.append(
                {
                    "hold_id": h.id,
                    "subject_ref": h.subject_ref,
                    "case_ref": h.case_ref,
                    "scope": list(h.scope) or ["all"],
                    "placed_at": _iso(h.placed_at),
                    "review_by": _iso(h.review_by),
                    "past_review": h.review_by < now,
                }
            )
        since = now - timedelta(days=LEFTOVER_WINDOW_DAYS)
        for x in session.scalars(
            select(RetentionIncident)
            .where(RetentionIncident.found_at > since, RetentionIncident.found_at <= now)
            .order_by(RetentionIncident.found_at)
        ):
            report.leftovers.append(
                {
                    "found_at": _iso(x.found_at),
                    "category": x.category,
                    "shoot_id": x.shoot_id,
                    "object_count": x.object_count,
                }
            )
        stuck = or_(
            OutboxMessage.status == "needs_attention",
            and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - SENDING_TIMEOUT),
        )
        for m in session.scalars(select(OutboxMessage).where(stuck).order_by(OutboxMessage.created_at)):
            report.mail_needs_attention.append(
                {
                    "message_id": m.id,
                    "kind": m.kind,
                    "ref_id": m.ref_id,  # the shoot or request it is about
                    "status": m.status,
                    "claimed_at": _iso(m.claimed_at),
                }
            )
        failed = select(Photoshoot).where(
            Photoshoot.status == "failed", Photoshoot.updated_at > since, Photoshoot.updated_at <= now
        )
        for s in session.scalars(failed.order_by(Photoshoot.updated_at)):
            report.failed_shoots.append(
                {
                    "shoot_id": s.id,
                    "failed_at": _iso(s.updated_at),
                    "detail": s.status_detail,  # the customer-facing message: written by us, no data
                    "originals_left": sum(1 for p in s.photos if p.original_key or p.crop_key),
                }
            )
        for p in session.scalars(select(PolicyVersion).order_by(PolicyVersion.published_at)):
            sent = session.scalar(
                select(func.count()).where(
                    OutboxMessage.dedup_key.like(f"policy:{p.version}:%"), OutboxMessage.status == "sent"
                )
            )
            report.policy_notices.append(
                {
                    "version": p.version,
                    "published_at": _iso(p.published_at),
                    "effective_at": _iso(p.effective_at),
                    "sent": int(sent or 0),
                }
            )
    return report

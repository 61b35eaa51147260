"""The sweep's residue audit: a leftover of one erased customer in a raw file opens an incident for
that erasure only, however many erasures it searches at once; saved base models are not read."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from headpix.privacy.erasure import run_erasure
from headpix.residue_audit import audit_erased_residue
from schemas.models import utcnow
from schemas.privacy import AuditEvent, RetentionIncident
from tests.e2e.erasure_support import RecordingLauncher, customer_with_objects, request_and_confirm


def test_a_leftover_in_a_file_is_pinned_on_its_own_erasure(make_services, fresh_postgres_url):
    services = make_services(database_url=fresh_postgres_url)
    services.use_launcher(RecordingLauncher())
    erased = {}
    for email in ("zq.first@example.com", "zq.second@example.com", "zq.third@example.com"):
        customer_with_objects(services, email)
        erased[email] = request_and_confirm(services, email)
        assert run_erasure(services, erased[email]) == "completed"
    # A log line that kept the second customer's address, flush against other bytes.
    (services.settings.state_dir / "worker.log").write_bytes(b"x\x01zq.second@example.com\x02y")
    # A saved base model holding the same bytes is public weights, never searched.
    model = services.settings.state_dir / "saved-base-model"
    model.mkdir(parents=True)
    (model / "model_index.json").write_text("{}")
    (model / "vocab.txt").write_bytes(b"zq.third@example.com")

    assert audit_erased_residue(services, utcnow() + timedelta(minutes=1)) == 1

    with services.db.session() as session:
        incidents = list(session.scalars(select(RetentionIncident)))
        found = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "erasure.residue_found")))
        audits = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "audit.residue")))
    assert [i.shoot_id for i in incidents] == [erased["zq.second@example.com"]]
    assert [e.request_id for e in found] == [erased["zq.second@example.com"]]
    assert found[0].details == {"found_in": ["file:worker.log"]}
    assert audits and audits[-1].details["requests"] == 3


def test_nothing_left_opens_no_incident(make_services):
    services = make_services()
    services.use_launcher(RecordingLauncher())
    customer_with_objects(services, "zq.clean@example.com")
    request_id = request_and_confirm(services, "zq.clean@example.com")
    assert run_erasure(services, request_id) == "completed"
    assert audit_erased_residue(services, utcnow() + timedelta(minutes=1)) == 0

"""The erasure engine's promises: phases resume, a failed verification is never signed, scopes
erase only their part, the sweep's categories fail alone, and the inventory matches the engine."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from headpix import retention
from headpix.inventory import COLUMNS
from headpix.privacy import requests
from headpix.privacy.erasure import run_erasure
from headpix.privacy.erasure_phases import ResidueFound
from headpix.privacy.erasure_scope import ROW_ACTIONS, delete_rows, parse_scope
from headpix.privacy.requests import RequestType
from headpix.services import Services
from headpix.storage import Keys
from schemas.models import Customer, IdentityModel, Photoshoot, utcnow
from schemas.privacy import DeletionReceipt, PrivacyRequest
from tests.e2e.erasure_support import (
    CLEAN,
    RecordingLauncher,
    customer_with_objects,
    nothing_left,
    request_and_confirm,
    status_of,
    token_for,
)


class LeakyStore:
    """A raw store whose deletes report success but leave one version behind while ``leaking``
    (a replica that lags, a bucket rule that re-creates): what verification exists to catch."""

    def __init__(self, inner, customer_id: str) -> None:
        self.inner = inner
        self.customer_id = customer_id
        self.leaking = True

    def delete_prefix(self, prefix: str) -> int:
        removed = self.inner.delete_prefix(prefix)
        if self.leaking and prefix.startswith(Keys.customer(self.customer_id)):
            self.inner.put(Keys.customer(self.customer_id) + "leftover", b"not really deleted")
        return removed

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def receipts_for(services: Services, request_id: str) -> int:
    with services.db.session() as session:
        return len(
            list(session.scalars(select(DeletionReceipt).where(DeletionReceipt.request_id == request_id)))
        )


def test_a_failed_verification_is_never_signed_however_often_retried(make_services):
    services = make_services()
    customer_id, _ = customer_with_objects(services, "zq.leaky@example.com")
    leaky = LeakyStore(services.raw_store, customer_id)
    services.__dict__["raw_store"] = leaky  # the adapter, chosen by the test
    services.use_launcher(RecordingLauncher())
    request_id = request_and_confirm(services, "zq.leaky@example.com")
    for _attempt in range(4):  # Prefect's retries, the sweep, an operator: none may sign it
        with pytest.raises(ResidueFound):
            run_erasure(services, request_id)
        assert status_of(services, request_id) == "needs_attention"
        assert receipts_for(services, request_id) == 0
    with services.db.session() as session:
        request = session.get(PrivacyRequest, request_id)
        assert request is not None and request.erasure_subject == customer_id  # the subject is never lost
        assert request.reply_to_sealed  # nor the address of the final notice (sealed under its own key)
    report = retention.sweep(services, utcnow())
    assert report.erasures == 0 and "erasures" not in report.failed  # still refused, reported, not fatal
    leaky.leaking = False
    assert run_erasure(services, request_id) == "completed"
    assert receipts_for(services, request_id) == 1
    assert nothing_left(services, customer_id) == CLEAN


def test_a_crashed_erasure_resumes_after_its_last_phase(make_services):
    services = make_services()
    customer_id, _ = customer_with_objects(services, "zq.resume@example.com")
    services.use_launcher(RecordingLauncher())
    request_id = request_and_confirm(services, "zq.resume@example.com")
    with services.db.session() as session:  # as a worker that died right after deleting the rows
        request = session.get(PrivacyRequest, request_id)
        assert request is not None
        request.erasure_subject, request.phase, request.status = customer_id, "delete_rows", "in_progress"
        from headpix import personal

        personal.set_reply_to(services.keys, request, "zq.resume@example.com")
        delete_rows(session, customer_id, parse_scope(None), held=set())
    assert services.raw_store.version_count(Keys.customer(customer_id)) > 0
    assert run_erasure(services, request_id) == "completed"
    assert nothing_left(services, customer_id) == CLEAN
    assert receipts_for(services, request_id) == 1


def test_scoped_erasure_of_one_shoot_leaves_the_rest(make_services):
    services = make_services()
    customer_id, first = customer_with_objects(services, "zq.scope@example.com")
    from headpix.samples import sample_photos
    from headpix.shoots import receive_shoot

    with services.db.session() as session:
        customer = session.get(Customer, customer_id)
        session.expunge(customer)
    second = receive_shoot(services, customer, sample_photos(2))
    view = requests.submit(services, RequestType.erasure, "zq.scope@example.com", scope=f"shoot:{first}")
    requests.confirm(services, view.request_id, token_for(services, view.request_id))
    assert status_of(services, view.request_id) == "completed"
    assert services.raw_store.version_count(Keys.shoot(customer_id, first)) == 0
    assert services.raw_store.version_count(Keys.shoot(customer_id, second)) > 0
    with services.db.session() as session:
        assert session.get(Photoshoot, first) is None
        assert session.get(Photoshoot, second) is not None
        assert session.get(Customer, customer_id) is not None
    assert services.keys.has_key(customer_id) and not services.fences.is_fenced(customer_id)
    assert receipts_for(services, view.request_id) == 1
    with services.db.session() as session:
        receipt = session.scalar(select(DeletionReceipt).where(DeletionReceipt.request_id == view.request_id))
        assert receipt is not None and receipt.receipt["receipt"]["scope"] == f"shoot:{first}"


@pytest.mark.parametrize("scope", ["identity_models", None])
def test_the_face_template_is_erased_with_the_identity_model(make_services, scope):
    """The shoot's reference face (biometric) goes with its identity model, scoped or whole."""
    services = make_services()
    customer_id, shoot_id = customer_with_objects(services, "zq.template@example.com")
    with services.db.session() as session:
        model = IdentityModel(
            shoot_id=shoot_id, weights_key="", base_model="tiny-sd", steps=1, first_loss=1.0, final_loss=0.5
        )
        session.add(model)
        session.flush()
        weights = model.weights_key = Keys.identity_model(customer_id, shoot_id, model.id)
        template = Keys.reference_template(customer_id, shoot_id, model.id)
    services.store.put(weights, b"lora")
    services.store.put(template, b"reference face")
    assert services.raw_store.version_count(template) == 1

    view = requests.submit(services, RequestType.erasure, "zq.template@example.com", scope=scope)
    requests.confirm(services, view.request_id, token_for(services, view.request_id))
    assert status_of(services, view.request_id) == "completed"
    assert services.raw_store.version_count(template) == 0, "the face template outlived the erasure"
    assert services.raw_store.version_count(Keys.shoot(customer_id, shoot_id) + "identity/") == 0
    with services.db.session() as session:
        assert session.scalar(select(IdentityModel)) is None
    if scope is None:
        assert nothing_left(services, customer_id) == CLEAN
    else:  # the rest of the shoot stays
        assert services.raw_store.version_count(Keys.headshot(customer_id, shoot_id, "h0")) > 0


def test_a_scope_of_another_customers_shoot_is_refused(make_services):
    services = make_services()
    customer_with_objects(services, "zq.owner@example.com")
    _, theirs = customer_with_objects(services, "zq.other@example.com")
    with pytest.raises(Exception, match="not a shoot of"):
        requests.submit(services, RequestType.erasure, "zq.owner@example.com", scope=f"shoot:{theirs}")


def test_one_failing_sweep_category_does_not_stop_the_others(make_services):
    services = make_services()
    customer_id, _ = customer_with_objects(services, "zq.sweepfail@example.com")
    services.use_launcher(RecordingLauncher())
    request_id = request_and_confirm(services, "zq.sweepfail@example.com")

    def broken(_services: Services, _now) -> int:
        raise RuntimeError("the receipt key's disk is gone")

    categories = tuple(
        (name, broken if name == "requests_expired" else fn) for name, fn in retention.CATEGORIES
    )
    result = retention.sweep(services, utcnow(), categories)
    assert result.failed == {"requests_expired": "RuntimeError"}
    assert result.erasures == 1  # the category after the broken one still ran
    assert status_of(services, request_id) == "completed" and nothing_left(services, customer_id) == CLEAN


def test_every_table_the_inventory_declares_is_handled_by_the_erasure():
    """The inventory's declared erasure action and what the engine does, table by table."""
    expected = {"delete": {"delete_with_row"}, "unlink": {"unlink"}, "shred": {"shred"}}
    personal = {t for t, columns in COLUMNS.items() if any(i.category for i in columns.values())}
    assert personal <= set(ROW_ACTIONS), personal - set(ROW_ACTIONS)
    for table, action in ROW_ACTIONS.items():
        declared = {item.erasure.split(" (")[0] for item in COLUMNS[table].values()}
        allowed = expected[action] | {"sealed"} | ({"keep"} if action == "unlink" else set())
        assert declared <= allowed, (table, declared)


def test_a_restriction_placed_during_training_keeps_the_originals(make_services):
    """Restriction means keep, don't process: the purge beside generation must not run."""
    from headpix import purge
    from headpix.privacy.restriction import is_restricted

    services = make_services()
    customer_id, shoot_id = customer_with_objects(services, "zq.restricted@example.com")
    services.use_launcher(RecordingLauncher())
    view = requests.submit(services, RequestType.restriction, "zq.restricted@example.com")
    requests.confirm(services, view.request_id, token_for(services, view.request_id))
    with services.db.session() as session:
        assert is_restricted(session, customer_id)
    originals = Keys.shoot(customer_id, shoot_id) + "originals/"
    before = services.raw_store.version_count(originals)
    assert before > 0
    assert purge.purge_after_training(services, shoot_id) == 0
    assert services.raw_store.version_count(originals) == before


def test_the_final_notice_is_queued_with_the_receipt_and_survives_a_crash(make_services, monkeypatch):
    """Receipt, ``completed`` and the final notice commit together; a process that dies before
    handing the notice over leaves it queued, and the sweep sends it once, then forgets it."""
    from datetime import timedelta

    from headpix.privacy import erasure
    from headpix.privacy.crypto import KeyDestroyed
    from schemas.models import OutboxMessage

    services = make_services()
    customer_id, _ = customer_with_objects(services, "zq.crashnotice@example.com")
    services.use_launcher(RecordingLauncher())
    request_id = request_and_confirm(services, "zq.crashnotice@example.com")
    monkeypatch.setattr(erasure, "notify", lambda _services, _notice: None)  # died right after signing
    assert run_erasure(services, request_id) == "completed"
    assert receipts_for(services, request_id) == 1

    def notices() -> list[str]:
        return [p.name for p in services.settings.mail_folder.glob("*.eml") if b"deleted" in p.read_bytes()]

    def has_request_key() -> bool:
        try:
            return bool(services.keys.request_key(request_id))
        except KeyDestroyed:
            return False

    with services.db.session() as session:
        [queued] = session.scalars(select(OutboxMessage).where(OutboxMessage.request_id == request_id))
        assert queued.status == "pending" and queued.customer_id is None
        request = session.get(PrivacyRequest, request_id)
        assert request is not None and request.reply_to_sealed is None  # the address lives in the notice only
    assert notices() == []
    assert has_request_key()
    retention.sweep(services, utcnow())  # within the grace: the run that queued it may still send it
    assert notices() == []
    retention.sweep(services, utcnow() + timedelta(minutes=11))
    retention.sweep(services, utcnow() + timedelta(minutes=12))  # and never twice
    assert len(notices()) == 1
    with services.db.session() as session:
        assert session.scalar(select(OutboxMessage).where(OutboxMessage.request_id == request_id)) is None
    assert not has_request_key()  # its key went with it
    assert nothing_left(services, customer_id) == CLEAN


def test_a_fence_that_cannot_be_lowered_keeps_the_erasure_open(make_services, monkeypatch):
    """The fence comes down before the receipt commits: a request is never ``completed`` (nor
    signed) with its fence still up, and the retry verifies again and finishes."""
    from headpix.sealing import Fences
    from headpix.storage import StorageError

    services = make_services()
    customer_id, _ = customer_with_objects(services, "zq.fenceup@example.com")
    services.use_launcher(RecordingLauncher())
    request_id = request_and_confirm(services, "zq.fenceup@example.com")

    def unreachable(_self: Fences, _customer_id: str) -> int:
        raise StorageError("the object store did not answer")

    with monkeypatch.context() as patch:
        patch.setattr(Fences, "lower", unreachable)
        with pytest.raises(StorageError):
            run_erasure(services, request_id)
    assert status_of(services, request_id) == "in_progress"
    assert receipts_for(services, request_id) == 0 and services.fences.is_fenced(customer_id)
    assert run_erasure(services, request_id) == "completed"
    assert receipts_for(services, request_id) == 1
    assert nothing_left(services, customer_id) == CLEAN

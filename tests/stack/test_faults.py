"""Faults production brings, injected into concurrent shoots on the stack; each ending checked.

Five tiny shoots start at once, with the eight shoots of the load test; each of the four carries
its own faults, aimed at it alone (S3 rules match its shoot id, mail faults its recipient), at
a named stage:

- ``s3_and_mail``: generate — headshot PUTs answer 500 twice per key, the identity model's GET
  is cut mid-body once; deliver — SendGrid answers 500 twice.
- ``purge_and_postgres``: purge — DeleteObjects answers 503 twice; every S3 call of the shoot
  is slowed; train — the stack's PostgreSQL restarts mid-training; deliver — SendGrid 429 with
  Retry-After.
- ``retries_spent``: generate — every headshot PUT answers 500: the shoot fails for good.
- ``mail_hang``: deliver — SendGrid records the message, then hangs past the client timeout.
- ``disk_full``: train to generate — the stack's state folder (a small disk of its own: logs,
  pids, secrets, Prefect homes) is filled to the last byte while every shoot of the batch runs,
  then freed once this shoot has left training.

Each test checks one shoot's ending: delivered with one delivery email, or failed with a
customer message and one failure email; originals gone; nothing half-written; nothing personal
in Prefect; and, where an operator must act, a trace by id.

Load: the eight other shoots have a seeded 10 % of their S3 and SendGrid requests fail; all eight
must be delivered with one email each. One batch of twelve, not two, to fit the time budget.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headpix.samples import sample_photos
from tests.conftest import require
from tests.fixtures_stack import Stack
from tests.stack.faults import (
    check_nothing_half_written,
    check_nothing_personal_in_prefect,
    mails_to,
)
from tests.stack.scenarios import DEADLINE_S, Outcome, engines, shoot_row, start, wait_delivered, wait_for

pytestmark = [pytest.mark.stack]


def arm_generate_faults(stack: Stack, outcome: Outcome) -> None:
    sid = outcome.shoot_id
    stack.add_s3_fault(
        {"name": "put500", "ops": ["PUT"], "match": f"{sid}/headshots/", "mode": "500", "first": 2}
    )
    stack.add_s3_fault(
        {"name": "getreset", "ops": ["GET"], "match": f"{sid}/identity/", "mode": "reset", "first": 1}
    )
    outcome.notes["status_at_arm"] = shoot_row(stack, sid)["status"]  # before generating, or too late


def wait_training(stack: Stack, sid: str) -> None:
    """Until the shoot's training has reported a step (or the shoot has ended)."""

    def training() -> bool:
        row = shoot_row(stack, sid)
        return (row["status"] == "training" and row["progress_step"] > 0) or row["status"] in (
            "failed",
            "delivered",
        )

    wait_for(training, timeout_s=DEADLINE_S, what="training under way")


def arm_purge_faults(stack: Stack, outcome: Outcome) -> None:
    sid = outcome.shoot_id
    stack.add_s3_fault({"name": "del503", "ops": ["DELETE_OBJECTS"], "match": sid, "mode": "503", "first": 2})
    stack.add_s3_fault(
        {
            "name": "slow",
            "ops": ["PUT", "GET"],
            "match": sid,
            "mode": "latency",
            "rate": 1.0,
            "latency_s": 0.3,
        }
    )

    wait_training(stack, sid)
    outcome.notes["status_at_pg_restart"] = shoot_row(stack, sid)["status"]
    stack.restart_postgres()


def arm_spent(stack: Stack, outcome: Outcome) -> None:
    sid = outcome.shoot_id
    stack.add_s3_fault(
        {"name": "spent", "ops": ["PUT"], "match": f"{sid}/headshots/", "mode": "500", "first": 10**6}
    )


def arm_disk_full(stack: Stack, outcome: Outcome) -> None:
    sid = outcome.shoot_id
    if not stack.small_disk:
        return  # the test reports it (the state folder is not a disk of its own here)

    wait_training(stack, sid)
    outcome.notes["status_at_fill"] = shoot_row(stack, sid)["status"]
    filled = time.monotonic()
    try:
        outcome.notes["free_after_fill"] = stack.fill_state_disk()
        # Full until this shoot has left training (at least 20 s): every shoot of the batch
        # runs meanwhile, and the workers' and server's log writes fail.
        wait_for(
            lambda: time.monotonic() - filled > 20 and shoot_row(stack, sid)["status"] != "training",
            timeout_s=DEADLINE_S,
            what="the shoot past training with a full disk",
        )
    finally:
        outcome.notes["full_for_s"] = round(time.monotonic() - filled, 1)
        stack.free_state_disk()


# The load: 8 more shoots at the same time, S3 and SendGrid failing a seeded 10 % of their
# requests (a hash of seed, operation, key and attempt decides); HEADPIX_LOAD_SEED replays a seed.
LOAD = [f"load-{i}" for i in range(8)]
RATE = 0.10
SEED = int(os.environ.get("HEADPIX_LOAD_SEED") or random.SystemRandom().randrange(1, 10**6))

SCENARIOS: dict[str, tuple[dict[str, Any] | None, Any]] = {
    # name: (mail fault armed before the shoot starts, S3 or PostgreSQL fault armed after)
    "s3_and_mail": ({"count": 2, "mode": "500"}, arm_generate_faults),
    "purge_and_postgres": ({"count": 1, "mode": "429", "retry_after": 2}, arm_purge_faults),
    "retries_spent": (None, arm_spent),
    "mail_hang": ({"count": 1, "mode": "hang", "hang_s": 40, "accept": True}, None),
    "disk_full": (None, arm_disk_full),
}


@pytest.fixture(scope="module")
def photos(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("selfies")
    for name, data in sample_photos(6):
        (folder / name).write_bytes(data)
    return folder


def arm_load_faults(stack: Stack, outcome: Outcome) -> None:
    """A load shoot: a seeded 10 % of its S3 writes answer 503 and of its reads are cut."""
    sid = outcome.shoot_id
    stack.add_s3_fault(
        {"name": "load-write", "ops": ["PUT", "DELETE_OBJECTS"], "match": sid, "mode": "503", "rate": RATE}
    )
    stack.add_s3_fault({"name": "load-read", "ops": ["GET"], "match": sid, "mode": "reset", "rate": RATE})


@pytest.fixture(scope="module")
def faulted(stack: Stack, photos: Path) -> Iterator[dict[str, Outcome]]:
    """The fault scenarios and the load shoots, all at once (one batch fits the time budget)."""
    results = {name: Outcome() for name in [*SCENARIOS, *LOAD]}
    stack.s3_faults([], seed=SEED)
    stack.mail_fault_rate(RATE, seed=SEED, prefix="stack.load-")

    def run(name: str) -> None:
        outcome, (mail_fault, arm) = results[name], SCENARIOS.get(name, (None, arm_load_faults))
        try:
            if mail_fault:
                stack.fail_mail(to=f"stack.fault-{name}@example.com", **mail_fault)
            start(stack, photos, outcome, name if name in LOAD else f"fault-{name}")
            if arm:
                arm(stack, outcome)
            outcome.notes["row"] = wait_delivered(stack, outcome.shoot_id, nudge_watchdog=True)
        except BaseException as error:  # reported by the scenario's own test
            outcome.error = f"{type(error).__name__}: {error}"

    threads = [threading.Thread(target=run, args=(name,), daemon=True) for name in results]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DEADLINE_S + 180)
        yield results
    finally:
        stack.s3_faults([])
        stack.mail_fault_rate(0.0, seed=0)
        for engine in engines.values():
            engine.dispose()


def fired(stack: Stack, rule: str) -> int:
    return int(stack.s3_stats()["by_rule"].get(rule, 0))


def delivered_once(stack: Stack, outcome: Outcome) -> dict[str, Any]:
    assert not outcome.error, outcome.error
    assert outcome.notes["row"]["status"] == "delivered", outcome.notes["row"]
    assert len(mails_to(stack, outcome.email, "ready")) == 1, "expected exactly one delivery email"
    end = check_nothing_half_written(stack, outcome.shoot_id)
    check_nothing_personal_in_prefect(stack, outcome.shoot_id, outcome.email)
    return end


def delivery_row(stack: Stack, outcome: Outcome) -> dict[str, Any]:
    [row] = [r for r in stack.outbox(outcome.shoot_id) if r["kind"] == "delivery"]
    return row


def test_s3_500s_and_a_cut_download_in_generate_and_sendgrid_500s_still_deliver_once(
    stack: Stack, faulted: dict[str, Outcome]
) -> None:
    outcome = faulted["s3_and_mail"]
    end = delivered_once(stack, outcome)
    armed = f"faults armed while the shoot was {outcome.notes.get('status_at_arm')}"
    assert fired(stack, "put500") >= 2 and fired(stack, "getreset") >= 1, (armed, stack.s3_stats())
    assert len(end["rendered"]) >= 2 and not end["unrendered"]
    mail = delivery_row(stack, outcome)
    assert mail["status"] == "sent" and mail["attempts"] == 3, mail  # two refusals, then accepted


def test_purge_503s_slow_s3_a_postgres_restart_mid_training_and_a_429_still_deliver_once(
    stack: Stack, faulted: dict[str, Outcome]
) -> None:
    outcome = faulted["purge_and_postgres"]
    delivered_once(stack, outcome)
    assert outcome.notes["status_at_pg_restart"] == "training", outcome.notes
    assert fired(stack, "del503") >= 2 and fired(stack, "slow") > 0, stack.s3_stats()
    mail = delivery_row(stack, outcome)
    assert mail["status"] == "sent" and mail["attempts"] == 2, mail  # refused once (429), then accepted


def test_a_shoot_whose_s3_retries_are_spent_fails_with_a_message_and_no_originals(
    stack: Stack, faulted: dict[str, Outcome]
) -> None:
    outcome = faulted["retries_spent"]
    assert not outcome.error, outcome.error
    assert outcome.notes["row"]["status"] == "failed", outcome.notes["row"]
    assert fired(stack, "spent") > 0
    end = check_nothing_half_written(stack, outcome.shoot_id)
    assert end["detail"] and "Traceback" not in end["detail"], end["detail"]
    assert mails_to(stack, outcome.email, "ready") == [], "a failed shoot got a gallery email"
    [failure] = mails_to(stack, outcome.email, "could not be completed")
    body = " ".join(str(part.get("value", "")) for part in failure.get("content", []))
    assert end["detail"] in body, "the failure email must carry the customer message"
    text = check_nothing_personal_in_prefect(stack, outcome.shoot_id, outcome.email)
    assert outcome.shoot_id in text  # the operator's trace: the failed run names the shoot
    report = stack.cli_json("compliance", "report")  # ... and the compliance report, by id
    listed = [f for f in report["failed_shoots"] if f["shoot_id"] == outcome.shoot_id]
    assert listed and listed[0]["detail"] == end["detail"] and listed[0]["originals_left"] == 0, listed


def test_sendgrid_hanging_after_accepting_gives_one_email_and_a_needs_attention_row_never_a_resend(
    stack: Stack, faulted: dict[str, Outcome]
) -> None:
    outcome = faulted["mail_hang"]
    assert not outcome.error, outcome.error
    assert outcome.notes["row"]["status"] == "delivered", outcome.notes["row"]
    assert len(mails_to(stack, outcome.email, "ready")) == 1, "the provider has it once; no resend"
    mail = delivery_row(stack, outcome)
    assert mail["status"] == "needs_attention" and mail["attempts"] == 1, mail
    check_nothing_half_written(stack, outcome.shoot_id)
    text = check_nothing_personal_in_prefect(stack, outcome.shoot_id, outcome.email)
    assert "gallery mail needs_attention" in text, "the run's state message must tell the operator"
    report = stack.cli_json("compliance", "report")
    flagged = [m for m in report["mail_needs_attention"] if m["message_id"] == mail["id"]]
    assert flagged and flagged[0]["ref_id"] == outcome.shoot_id, report["mail_needs_attention"]


def test_eight_shoots_at_once_under_ten_percent_s3_and_sendgrid_faults_all_deliver_once(
    stack: Stack, faulted: dict[str, Outcome]
) -> None:
    seed = f"seed {SEED} (replay: HEADPIX_LOAD_SEED={SEED})"
    loaded = [faulted[name] for name in LOAD]
    errors = [o.error for o in loaded if o.error]
    assert not errors, f"{seed}: {errors}"
    statuses = [o.notes["row"]["status"] for o in loaded]
    assert statuses == ["delivered"] * len(LOAD), f"{seed}: {statuses}"
    emails = {o.email: len(mails_to(stack, o.email, "ready")) for o in loaded}
    assert sorted(emails.values()) == [1] * len(LOAD), f"{seed}: delivery emails per shoot {emails}"
    for outcome in loaded:
        check_nothing_half_written(stack, outcome.shoot_id)
    s3, mail = stack.s3_stats(), stack.mail_stats()
    injected = s3["by_rule"].get("load-write", 0) + s3["by_rule"].get("load-read", 0) + int(mail["injected"])
    assert injected > 0, f"{seed}: no fault fired at all ({s3}, {mail}); the load ran unharmed"
    print(f"\nload: {seed}; S3 faults {s3['by_rule']}, mail refusals {mail['injected']}")


def test_a_full_state_disk_while_shoots_run_still_delivers_once(
    stack: Stack, faulted: dict[str, Outcome]
) -> None:
    """Nothing a shoot needs lives on a worker machine's disk: with the stack's state folder full
    (log writes failing in the server, the workers and their flow runs), this shoot and the
    batch around it are delivered, each with one email (the batch's own tests check theirs)."""
    require(stack.small_disk, "cannot mount a tmpfs for the stack's state folder here")
    outcome = faulted["disk_full"]
    delivered_once(stack, outcome)
    assert outcome.notes["status_at_fill"] == "training", outcome.notes
    assert outcome.notes["free_after_fill"] == 0, outcome.notes
    assert outcome.notes["full_for_s"] >= 20, outcome.notes

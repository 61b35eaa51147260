"""Load on the stack: 8 shoots at once while S3 and SendGrid fail a seeded 10 % of requests.

S3 (through the fault proxy): PUTs and DeleteObjects answer 503, GETs are cut mid-body; SendGrid
answers 500 or 429. Whether a request fails is a hash of (seed, operation, key, attempt): the
seed is printed in every assertion message. ``HEADPIX_LOAD_SEED`` replays a seed (S3 keys are
made of fresh ids, so a replay repeats the mail decisions exactly and the S3 ones in share).
"""

from __future__ import annotations

import os
import random
import threading
from collections.abc import Iterator

import pytest

from headpix.samples import sample_photos
from tests.fixtures_stack import Stack
from tests.stack.faults import check_nothing_half_written, mails_to
from tests.stack.scenarios import DEADLINE_S, Outcome, engines, start, wait_delivered

pytestmark = [pytest.mark.stack]

SHOOTS = 8
RATE = 0.10
SEED = int(os.environ.get("HEADPIX_LOAD_SEED") or random.SystemRandom().randrange(1, 10**6))


@pytest.fixture(scope="module")
def loaded(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Outcome]]:
    folder = tmp_path_factory.mktemp("selfies")
    for name, data in sample_photos(6):
        (folder / name).write_bytes(data)
    stack.s3_faults(
        [
            {"name": "load-write", "ops": ["PUT", "DELETE_OBJECTS"], "mode": "503", "rate": RATE},
            {"name": "load-read", "ops": ["GET"], "mode": "reset", "rate": RATE},
        ],
        seed=SEED,
    )
    stack.mail_fault_rate(RATE, seed=SEED)
    outcomes = [Outcome() for _ in range(SHOOTS)]

    def run(index: int) -> None:
        try:
            outcome = outcomes[index]
            start(stack, folder, outcome, f"load-{index}")
            outcome.notes["row"] = wait_delivered(stack, outcome.shoot_id, nudge_watchdog=True)
        except BaseException as error:
            outcomes[index].error = f"{type(error).__name__}: {error}"

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(SHOOTS)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=DEADLINE_S + 180)
        yield outcomes
    finally:
        stack.s3_faults([])
        stack.mail_fault_rate(0.0, seed=0)
        for engine in engines.values():
            engine.dispose()


def test_eight_shoots_at_once_under_ten_percent_s3_and_sendgrid_faults_all_deliver_once(
    stack: Stack, loaded: list[Outcome]
) -> None:
    seed = f"seed {SEED} (replay: HEADPIX_LOAD_SEED={SEED})"
    errors = [o.error for o in loaded if o.error]
    assert not errors, f"{seed}: {errors}"
    statuses = [o.notes["row"]["status"] for o in loaded]
    assert statuses == ["delivered"] * SHOOTS, f"{seed}: {statuses}"
    emails = {o.email: len(mails_to(stack, o.email, "ready")) for o in loaded}
    assert sorted(emails.values()) == [1] * SHOOTS, f"{seed}: delivery emails per shoot {emails}"
    for outcome in loaded:
        check_nothing_half_written(stack, outcome.shoot_id)
    s3, mail = stack.s3_stats(), stack.mail_stats()
    injected = sum(s3["by_rule"].values()) + int(mail["injected"])
    assert injected > 0, f"{seed}: no fault fired at all ({s3}, {mail}); the load ran unharmed"
    print(f"\nload: {seed}; S3 faults {s3['by_rule']}, mail refusals {mail['injected']}")

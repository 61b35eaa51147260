"""No false rejects: the demo's samples and a set of distinct selfie-like shots all pass."""

from __future__ import annotations

from headpix.intake import IntakeRules, PhotoInput, check_photos
from headpix.samples import sample_photos
from tests.unit import intake_corpus as corpus


def test_demo_samples_pass_every_rule() -> None:
    samples = sample_photos()
    assert [name for name, _ in samples] == [f"sample-{i:02d}.jpg" for i in range(1, 9)]
    assert samples == sample_photos()  # deterministic
    report = check_photos([PhotoInput(n, d, len(d)) for n, d in samples], IntakeRules())
    assert report.accepted, report.to_json()
    assert all(800 <= max(p.width or 0, p.height or 0) <= 1200 for p in report.photos)


def test_false_reject_rate_on_distinct_selfies_is_zero() -> None:
    shots = corpus.distinct_selfies(32)
    rules = IntakeRules(max_photos=32)
    report = check_photos([PhotoInput(f"{i}.jpg", d, len(d)) for i, d in enumerate(shots)], rules)
    rejected = [(p.file, p.reasons) for p in report.photos if not p.accepted]
    assert rejected == []
    assert report.accepted and len(report.usable) == 32

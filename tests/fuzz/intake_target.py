"""Coverage-guided fuzzing of the intake (atheris/libFuzzer), in a process of its own.

    python tests/fuzz/intake_target.py [--max-megapixels=N] [--seeds=DIR] [libFuzzer flags] CORPUS

Every input goes through ``check_photos``. The target fails (libFuzzer writes the input as
``crash-…``) when an exception escapes, when a reason outside the documented codes comes
back, or when the process's peak RSS grew by more than the intake's memory budget
(``IntakeRules.memory_budget_bytes``) over the baseline taken after a warm-up.
``--seeds=DIR`` first writes the seed corpus (built from tests/unit/intake_corpus.py) there.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

# Pillow's parsers (PNG chunks, EXIF, JPEG markers) are Python: instrumenting them guides the
# fuzzer through the container formats; the pixel codecs below them are C and run as they are.
with atheris.instrument_imports(include=["headpix.intake", "PIL"]):
    from headpix.intake import PHOTO_REASONS, IntakeRules, PhotoInput, check_photos

from tests.fuzz.seeds import write_seeds  # noqa: E402  (after the instrumented import)

DEFAULT_MAX_MEGAPIXELS = 2.0


class BudgetExceeded(AssertionError):
    """An input made the intake use more memory than its budget."""


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Target:
    def __init__(self, max_megapixels: float) -> None:
        self.rules = IntakeRules(min_photos=1, min_side_px=64, max_pixels=int(max_megapixels * 1_000_000))
        self.baseline = 0

    def warm_up(self, seeds: list[bytes]) -> None:
        """Run the seeds once (cascades, codecs, caches load) and take the RSS baseline."""
        for data in seeds:
            self(data, check_memory=False)
        self.baseline = peak_rss_bytes()

    def __call__(self, data: bytes, *, check_memory: bool = True) -> None:
        verdict = check_photos([PhotoInput("fuzz", data, len(data))], self.rules).photos[0]
        unknown = set(verdict.reasons) - PHOTO_REASONS
        if unknown:
            raise AssertionError(f"undocumented reason codes {sorted(unknown)}")
        if verdict.accepted == bool(verdict.reasons):
            raise AssertionError(f"accepted={verdict.accepted} with reasons {verdict.reasons}")
        grown = peak_rss_bytes() - self.baseline
        if check_memory and grown > self.rules.memory_budget_bytes:
            raise BudgetExceeded(
                f"peak RSS grew {grown / 2**20:.0f} MiB over the baseline; the intake's budget is "
                f"{self.rules.memory_budget_bytes / 2**20:.0f} MiB at {self.rules.max_pixels / 1e6:g} MP"
            )


def _take(argv: list[str], flag: str) -> str | None:
    for arg in list(argv):
        if arg.startswith(f"{flag}="):
            argv.remove(arg)
            return arg.split("=", 1)[1]
    return None


def main(argv: list[str]) -> None:
    megapixels = float(_take(argv, "--max-megapixels") or DEFAULT_MAX_MEGAPIXELS)
    seed_dir = _take(argv, "--seeds")
    seeds = write_seeds(Path(seed_dir)) if seed_dir else []
    target = Target(megapixels)
    target.warm_up([path.read_bytes() for path in seeds])
    print(
        f"intake fuzz: {megapixels:g} MP limit, memory budget "
        f"{target.rules.memory_budget_bytes / 2**20:.0f} MiB, baseline RSS {target.baseline / 2**20:.0f} MiB",
        flush=True,
    )
    atheris.Setup(argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main(list(sys.argv))

"""A real ClamAV scanner with the EICAR test signature rejects the file as malware."""

from __future__ import annotations

from pathlib import Path

import pytest

from headpix.intake import ClamAVScanner, IntakeRules, PhotoInput, check_photos
from headpix.settings import environment_flag, load_settings
from tests.unit import intake_corpus as corpus

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "clamav"


def find_scanner() -> ClamAVScanner | None:
    settings = load_settings()
    if settings.virus_scanner == "clamav" and Path(settings.clamscan_path).is_file():
        return ClamAVScanner(
            clamscan_path=settings.clamscan_path,
            database=settings.clamav_database or str(CACHE / "eicar.hdb"),
            library_path=settings.clamav_library_path,
        )
    clamscan = CACHE / "usr" / "bin" / "clamscan"
    if clamscan.is_file() and (CACHE / "eicar.hdb").is_file():
        return ClamAVScanner(
            clamscan_path=str(clamscan),
            database=str(CACHE / "eicar.hdb"),
            library_path=str(CACHE / "usr" / "lib" / "x86_64-linux-gnu"),
        )
    return None


@pytest.fixture(scope="module")
def scanner() -> ClamAVScanner:
    found = find_scanner()
    if found is None:
        message = "clamscan not installed: run scripts/install_clamav.sh"
        if environment_flag("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_eicar_is_rejected_as_malware_and_photos_pass(scanner: ClamAVScanner) -> None:
    photo = corpus.selfie(4)
    inputs = [PhotoInput("eicar.jpg", corpus.EICAR, 68), PhotoInput("me.jpg", photo, len(photo))]
    report = check_photos(inputs, IntakeRules(min_photos=1), scanner=scanner)
    assert report.photos[0].reasons == ["malware"]
    assert report.photos[1].accepted

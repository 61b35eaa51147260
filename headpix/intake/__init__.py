"""Photo intake (the validate stage): checks uploads, explains refusals, yields sanitised crops."""

from headpix.intake.check import (
    IntakeReport,
    PhotoInput,
    PhotoVerdict,
    check_photos,
    collect_files,
)
from headpix.intake.decode import sniff_format
from headpix.intake.rules import PHOTO_REASONS, SET_REASONS, IntakeRules
from headpix.intake.scan import (
    ClamAVScanner,
    NoScanner,
    ScannerError,
    VirusScanner,
    scanner_from_settings,
)

__all__ = [
    "PHOTO_REASONS",
    "SET_REASONS",
    "ClamAVScanner",
    "IntakeReport",
    "IntakeRules",
    "NoScanner",
    "PhotoInput",
    "PhotoVerdict",
    "ScannerError",
    "VirusScanner",
    "check_photos",
    "collect_files",
    "scanner_from_settings",
    "sniff_format",
]

"""A readable table of an intake report for the command line."""

from __future__ import annotations

from headpix.intake.check import IntakeReport, PhotoVerdict
from headpix.intake.feedback import refusal_lines
from headpix.intake.rules import IntakeRules


def _row(photo: PhotoVerdict) -> list[str]:
    size = f"{photo.width}x{photo.height}" if photo.width and photo.height else "-"
    face = "x".join(str(value) for value in photo.face_box[2:]) if photo.face_box else "-"
    return [
        photo.file,
        "ok" if photo.accepted else "REJECTED",
        size,
        face,
        ", ".join(photo.reasons) or "-",
    ]


def render_table(report: IntakeReport, rules: IntakeRules | None = None) -> str:
    """One line per photo (file, verdict, size, face size, reasons), a summary, and what to do."""
    header = ["file", "verdict", "size", "face", "reasons"]
    rows = [header, *(_row(photo) for photo in report.photos)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header) - 1)]
    lines = []
    for row in rows:
        padded = (cell.ljust(width) for cell, width in zip(row, widths, strict=False))
        lines.append("  ".join([*padded, row[-1]]))
    accepted = len(report.usable)
    summary = f"{accepted} of {len(report.photos)} photos accepted"
    if report.reasons:
        summary += "; set rejected: " + ", ".join(report.reasons)
    lines.append(summary)
    advice = refusal_lines(report, rules)
    if advice:
        lines += ["", "What to do:", *(f"  {line}" for line in advice)]
    return "\n".join(lines)

"""Every reason code has a customer sentence that says what to do."""

from __future__ import annotations

from headpix.app.runner import refusal_message
from headpix.intake import PHOTO_REASONS, SET_REASONS, IntakeRules, PhotoInput, check_photos
from headpix.intake.check import IntakeReport, PhotoVerdict
from headpix.intake.feedback import known_codes, refusal_lines, sentence
from headpix.intake.report import render_table
from tests.unit import intake_corpus as corpus


def test_every_reason_code_has_a_sentence() -> None:
    assert known_codes() >= PHOTO_REASONS | SET_REASONS
    for code in PHOTO_REASONS | SET_REASONS:
        text = sentence(code)
        assert " — " in text and "_" not in text and len(text) > 25, code


def test_sentences_say_what_to_do() -> None:
    assert sentence("multiple_faces").startswith("two or more faces — crop to just you")
    assert sentence("blurry") == "too blurry — hold still, use more light"
    duplicate = sentence("duplicate", other_file="/tmp/upload/IMG_4102.jpg")
    assert duplicate.startswith("duplicate of IMG_4102.jpg")
    assert "different person" in sentence("different_person")
    assert "upload only photos of yourself" in sentence("different_person")
    assert "at least 6" in sentence("too_few_photos", rules=IntakeRules(min_photos=6))
    assert "contact support" in sentence("no_such_code")


def test_a_duplicate_names_the_photo_it_copies() -> None:
    original = corpus.selfie(5)
    report = check_photos(
        [
            PhotoInput("IMG_4102.jpg", original, 1),
            PhotoInput("IMG_4103.jpg", corpus.recompressed(original), 1),
        ],
        IntakeRules(min_photos=1),
    )
    lines = refusal_lines(report)
    assert lines == [
        "IMG_4103.jpg: duplicate — duplicate of IMG_4102.jpg — keep one of them and add a different shot"
    ]


def test_cli_messages_carry_code_and_sentence() -> None:
    report = IntakeReport(
        photos=[PhotoVerdict(file="group.jpg", accepted=False, reasons=["multiple_faces", "blurry"])],
        reasons=["too_few_photos"],
    )
    message = refusal_message(report)
    assert "group.jpg: multiple_faces, blurry — two or more faces" in message
    assert "too blurry — hold still" in message and "(whole set): too_few_photos — too few" in message
    assert "What to do:" in render_table(report)

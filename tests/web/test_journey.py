"""The customer's whole journey in headless Chromium, from sign-up to a confirmed erasure."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from PIL import Image, ImageFilter
from playwright.sync_api import expect
from sqlalchemy import select

from headpix.intake.feedback import known_codes, sentence
from headpix.samples import sample_photos
from schemas.models import Headshot
from tests.web.conftest import WebServer

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("ray_local")]
EMAIL = "journey.customer@example.com"
AXE = Axe()


def check_accessible(page: Any, name: str) -> None:
    results = AXE.run(page)
    assert results.violations_count == 0, f"{name}: {results.generate_report()}"


def snap(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


def write_photos(folder: Path) -> tuple[list[Path], Path, Path]:
    """Three good selfies, one blurred copy of a fourth (refused), and the fourth itself (the fix)."""
    photos = sample_photos(4)
    good = []
    for name, data in photos[:3]:
        (folder / name).write_bytes(data)
        good.append(folder / name)
    name, data = photos[3]
    blurred = Image.open(io.BytesIO(data)).filter(ImageFilter.GaussianBlur(12))
    bad = folder / "IMG_4102.jpg"
    blurred.save(bad, format="JPEG", quality=90)
    fixed = folder / name
    fixed.write_bytes(data)
    return good, bad, fixed


def test_sign_up_upload_shoot_gallery_zip_and_erasure(page: Any, web: WebServer, shots: Path, tmp_path: Path):
    base = web.url
    # Sign up.
    page.goto(base + "/")
    check_accessible(page, "home")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip"
    page.fill("#name", "Jo Journey")
    page.fill("#email", EMAIL)
    page.check("input[name=gender][value=woman]")
    page.select_option("#attire", "business suit")
    page.select_option("#background", "office")
    page.check("input[name=consent]")
    snap(page, shots, "01-signup")
    page.click("#signup button[type=submit]")
    page.wait_for_url(base + "/upload")

    # The one cookie: the session, HttpOnly, SameSite=Lax (not Secure: plain loopback).
    cookies = page.context.cookies()
    assert [c["name"] for c in cookies] == ["hpx_session"]
    assert cookies[0]["httpOnly"] and cookies[0]["sameSite"] == "Lax" and not cookies[0]["secure"]

    # Upload a set with one bad photo; each verdict shows as it arrives.
    good, bad, fixed = write_photos(tmp_path)
    page.set_input_files("#picker", [str(p) for p in [*good, bad]])
    expect(page.locator("#results li.ok, #results li.bad")).to_have_count(4)
    refusal = page.inner_text("#results li.bad")
    assert "IMG_4102.jpg" in refusal
    assert any(sentence(code).split(" — ")[0] in refusal for code in known_codes()), refusal
    assert page.is_disabled("#start")
    check_accessible(page, "upload")
    snap(page, shots, "02-upload-feedback")

    # Fix it: add a good photo instead. The start still waits for the address to be proven.
    page.set_input_files("#picker", [str(fixed)])
    expect(page.locator("#results li.ok")).to_have_count(4)
    assert page.is_visible("#unproven")
    assert page.is_disabled("#start")

    # Open the link mailed to the address: it proves it and signs in.
    page.goto(web.link_in_mail(EMAIL, "/signin/"))
    page.click("#signin-button")
    page.wait_for_url(base + "/upload")
    assert not page.is_visible("#unproven")
    assert page.is_enabled("#start")
    snap(page, shots, "03-ready")
    page.click("#start")
    page.wait_for_url(base + "/shoots/*")
    shoot_id = page.url.rsplit("/", 1)[-1]
    check_accessible(page, "shoot")
    expect(page.locator("#stage")).not_to_have_text("Waiting to start", timeout=120_000)
    snap(page, shots, "04-progress")
    expect(page.locator("#stage")).to_have_text("Your headshots are ready", timeout=300_000)
    assert page.is_visible("#result a")
    snap(page, shots, "05-ready")

    # The emailed gallery link: thumbnails, full size, and a ZIP of every headshot.
    gallery = web.link_in_mail(EMAIL, "/g/")
    page.goto(gallery)
    check_accessible(page, "gallery")
    with web.services.db.session() as session:
        expected = session.scalars(
            select(Headshot).where(Headshot.shoot_id == shoot_id, Headshot.rendered_at.is_not(None))
        ).all()
        count = len(expected)
    assert count > 0 and page.locator(".gallery img").count() == count
    snap(page, shots, "06-gallery")
    first = page.request.get(base + (page.locator(".gallery a").first.get_attribute("href") or ""))
    assert first.status == 200 and first.headers["cache-control"] == "private, no-store"
    with page.expect_download() as download:
        page.click("#zip")
    archive = tmp_path / "headshots.zip"
    download.value.save_as(archive)
    with zipfile.ZipFile(archive) as zipped:
        names = zipped.namelist()
        assert len(names) == count
        for name in names:
            Image.open(io.BytesIO(zipped.read(name))).verify()

    # Request erasure from the privacy centre, confirm it from the email.
    page.goto(base + "/privacy")
    check_accessible(page, "privacy")
    assert page.input_value("#email-erasure") == EMAIL
    page.click("#erasure button[type=submit]")
    page.wait_for_selector("text=Request received")
    snap(page, shots, "07-erasure-requested")
    page.goto(web.link_in_mail(EMAIL, "/privacy/confirm/"))
    check_accessible(page, "confirm")
    snap(page, shots, "08-confirm")
    page.click("#confirm")
    page.wait_for_selector("text=Your data has been deleted")
    snap(page, shots, "09-deleted")

    # The account is gone and the gallery link is dead.
    with web.services.db.session() as session:
        from headpix import personal

        assert personal.find_by_email(session, web.services.keys, EMAIL) is None
    assert page.context.cookies() == []
    response = page.goto(base + "/account")
    assert response is not None and response.status == 401
    response = page.goto(gallery)
    assert response is not None and response.status == 404
    snap(page, shots, "10-gallery-gone")

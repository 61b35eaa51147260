"""`headpix demo`: one photoshoot for a demo customer on embedded defaults."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from headpix import gallery
from headpix.app import runner
from headpix.app.commands._common import add_json, photos_from_folder, services
from headpix.app.commands.shoot import render
from headpix.intake import PhotoInput
from headpix.settings import TINY_MODEL, TINY_XL_MODEL
from headpix.shoots import load_shoot, shoot_report
from schemas.api import CustomerSignup, Gender, Preferences

TINY_NOTE = (
    "Note: the default base model is a tiny random-weight model built offline, so the "
    "headshots are noise. Point HEADPIX_BASE_MODEL at a real Stable Diffusion 1.5- or "
    "SDXL-class model (a local folder, or a hub id with HEADPIX_OFFLINE=false) for real portraits."
)


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="run one demo photoshoot end to end")
    demo.add_argument("--photos", help="folder of selfies (default: built-in samples)")
    add_json(demo)
    demo.set_defaults(handler=run_demo)


def _sample_inputs() -> list[PhotoInput]:
    from headpix.samples import sample_photos

    return [PhotoInput(file=name, data=data, size=len(data)) for name, data in sample_photos()]


def run_demo(args: argparse.Namespace) -> int:
    svc = services()
    photos = photos_from_folder(args.photos, svc) if args.photos else _sample_inputs()
    signup = CustomerSignup(
        name="Demo Customer",
        email="demo@headpix.example",
        gender=Gender.woman,
        preferences=Preferences(attire="navy blazer", expression="warm smile"),
    )
    started = time.perf_counter()
    shoot_id = runner.start_shoot(svc, signup, photos, channel="demo")
    report = shoot_report(svc, shoot_id)
    folder = svc.settings.state_dir / "gallery" / shoot_id
    with svc.db.session() as session:
        written = gallery.export(load_shoot(session, shoot_id), svc.store, folder)
    tiny = svc.settings.base_model in (TINY_MODEL, TINY_XL_MODEL)
    if args.json:
        data = report.model_dump(mode="json")
        data.update(gallery_folder=str(folder), wall_seconds=round(time.perf_counter() - started, 2))
        if tiny:
            data["note"] = TINY_NOTE
        import json

        print(json.dumps(data))
    else:
        print(render(report))
        print(f"  gallery folder: {Path(folder).resolve()} ({len(written)} images)")
        print(f"  total: {time.perf_counter() - started:.1f}s")
        if tiny:
            print(TINY_NOTE)
    return 0 if report.status.value == "delivered" else 1

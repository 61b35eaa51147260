"""Rows and objects the web tests start from, written through the same sealed store as the app."""

from __future__ import annotations

import io

from PIL import Image

from headpix import personal
from headpix.storage import Keys
from schemas.models import Headshot, Photoshoot, utcnow
from tests.web.conftest import WebServer


def delivered_shoot_with_headshot(web: WebServer, customer_id: str) -> tuple[str, str]:
    """A delivered shoot of one studio headshot (a small PNG): (shoot id, headshot id)."""
    services = web.services
    png = io.BytesIO()
    Image.new("RGB", (32, 32), "teal").save(png, format="PNG")
    with services.db.session() as session:
        shoot = Photoshoot(customer_id=customer_id, status="delivered", styles=["studio"], images_per_style=1)
        session.add(shoot)
        session.flush()
        shot = Headshot(shoot_id=shoot.id, ordinal=0, style="studio", seed=1, key="", rendered_at=utcnow())
        personal.seal_prompts(services.keys, customer_id, shot, prompt="p", negative="")
        session.add(shot)
        session.flush()
        shot.key = Keys.headshot(customer_id, shoot.id, shot.id)
        services.store.put(shot.key, png.getvalue())
        return shoot.id, shot.id


def delivered_shoot(web: WebServer, customer_id: str) -> str:
    return delivered_shoot_with_headshot(web, customer_id)[0]

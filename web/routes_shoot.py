"""Upload page, starting and following a shoot, the signed-in gallery and deleting a shoot."""

from __future__ import annotations

import io
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from PIL import Image

from headpix import sessions
from headpix.services import Services
from headpix.settings import TINY_MODEL, TINY_XL_MODEL
from web import core, shooting, uploads
from web.deps import Ctx, Customer, Form, WebError, not_found, render
from web.zipstream import stream_zip

router = APIRouter(include_in_schema=False)  # pages; the JSON API is documented
PRIVATE = {"cache-control": "private, no-store"}
THUMB_SIDE = 256


def is_tiny(ctx: Ctx) -> bool:
    """The built-in demo model renders noise: say so where the customer sees it."""
    return ctx.services.settings.base_model in (TINY_MODEL, TINY_XL_MODEL)


def owned(ctx: Ctx, customer_id: str, shoot_id: str) -> None:
    """Every id in a URL is checked against the session: another customer's id is a 404."""
    if not core.own_shoot(ctx.services, customer_id, shoot_id):
        raise not_found()


def headshot_response(services: Services, shoot_id: str, headshot_id: str, size: str) -> Response:
    found = [h for h in core.headshots_of(services, shoot_id) if h["id"] == headshot_id]
    if not found:
        raise not_found()
    data = services.store.get(found[0]["key"])
    if size == "thumb":
        image = Image.open(io.BytesIO(data))
        if max(image.size) > THUMB_SIDE:
            image.thumbnail((THUMB_SIDE, THUMB_SIDE))
            out = io.BytesIO()
            image.save(out, format="PNG")
            data = out.getvalue()
    return Response(data, media_type="image/png", headers=PRIVATE)


def zip_response(services: Services, shoot_id: str) -> StreamingResponse:
    shots = core.headshots_of(services, shoot_id)
    if not shots:
        raise not_found()
    entries = [
        (f"{h['style']}-{h['ordinal'] + 1:02d}.png", lambda key=h["key"]: services.store.get(key))
        for h in shots
    ]
    headers = {**PRIVATE, "content-disposition": 'attachment; filename="headpix-headshots.zip"'}
    return StreamingResponse(stream_zip(entries), media_type="application/zip", headers=headers)


@router.get("/upload", name="upload")
def upload_page(request: Request, ctx: Ctx, customer_id: Customer) -> Any:
    proven = sessions.address_proven(ctx.services, customer_id)
    state = uploads.draft_state(ctx.services, customer_id, proven=proven)
    settings = ctx.services.settings
    return render(
        request,
        ctx,
        "upload.html",
        draft=state,
        min_photos=settings.min_photos,
        max_photos=settings.max_photos,
        max_file_mb=settings.max_file_mb,
    )


@router.post("/start", name="start")
def start(request: Request, ctx: Ctx, customer_id: Customer, form: Form) -> Any:
    shoot_id = shooting.start_shoot(ctx.services, customer_id)
    return RedirectResponse(f"/shoots/{shoot_id}", status_code=303)


@router.get("/shoots/{shoot_id}", name="shoot")
def shoot_page(request: Request, ctx: Ctx, customer_id: Customer, shoot_id: str) -> Any:
    owned(ctx, customer_id, shoot_id)
    return render(request, ctx, "shoot.html", shoot=shooting.shoot_view(ctx.services, shoot_id))


@router.post("/shoots/{shoot_id}/cancel", name="shoot_cancel")
def cancel(request: Request, ctx: Ctx, customer_id: Customer, shoot_id: str, form: Form) -> Any:
    owned(ctx, customer_id, shoot_id)
    shooting.cancel_shoot(ctx.services, shoot_id)
    return RedirectResponse(f"/shoots/{shoot_id}", status_code=303)


@router.post("/shoots/{shoot_id}/delete", name="shoot_delete")
def delete_shoot(request: Request, ctx: Ctx, customer_id: Customer, shoot_id: str, form: Form) -> Any:
    owned(ctx, customer_id, shoot_id)
    what = core.erasure_words(ctx.services, f"shoot:{shoot_id}")
    core.request_shoot_erasure(ctx.services, customer_id, shoot_id)
    return render(
        request,
        ctx,
        "message.html",
        title="Check your email",
        message=f"We've emailed you a link to confirm deleting {what}. Nothing is deleted until you confirm.",
    )


@router.get("/shoots/{shoot_id}/gallery", name="shoot_gallery")
def gallery(request: Request, ctx: Ctx, customer_id: Customer, shoot_id: str) -> Any:
    owned(ctx, customer_id, shoot_id)
    shots = core.headshots_of(ctx.services, shoot_id)
    if not shots:
        raise WebError(404, "not_found", "This photoshoot has no headshots (yet, or any more).")
    base = f"/shoots/{shoot_id}"
    return render(
        request,
        ctx,
        "gallery.html",
        shots=shots,
        base=base,
        shoot_id=shoot_id,
        owner=True,
        noise=is_tiny(ctx),
    )


@router.get("/shoots/{shoot_id}/headshots/{headshot_id}", name="shoot_headshot")
def headshot(
    ctx: Ctx, customer_id: Customer, shoot_id: str, headshot_id: str, size: str = "full"
) -> Response:
    owned(ctx, customer_id, shoot_id)
    return headshot_response(ctx.services, shoot_id, headshot_id, size)


@router.get("/shoots/{shoot_id}/zip", name="shoot_zip")
def shoot_zip(ctx: Ctx, customer_id: Customer, shoot_id: str) -> StreamingResponse:
    owned(ctx, customer_id, shoot_id)
    return zip_response(ctx.services, shoot_id)


@router.get("/g/{token}", name="token_gallery")
def token_gallery(request: Request, ctx: Ctx, token: str) -> Any:
    shoot_id = core.shoot_of_gallery_token(ctx.services, token)
    shots = core.headshots_of(ctx.services, shoot_id) if shoot_id else []
    if not shoot_id or not shots:
        raise not_found()
    return render(
        request, ctx, "gallery.html", shots=shots, base=f"/g/{token}", shoot_id=shoot_id, owner=False
    )


@router.get("/g/{token}/headshots/{headshot_id}", name="token_headshot")
def token_headshot(ctx: Ctx, token: str, headshot_id: str, size: str = "full") -> Response:
    shoot_id = core.shoot_of_gallery_token(ctx.services, token)
    if shoot_id is None:
        raise not_found()
    return headshot_response(ctx.services, shoot_id, headshot_id, size)


@router.get("/g/{token}/zip", name="token_zip")
def token_zip(ctx: Ctx, token: str) -> StreamingResponse:
    shoot_id = core.shoot_of_gallery_token(ctx.services, token)
    if shoot_id is None:
        raise not_found()
    return zip_response(ctx.services, shoot_id)

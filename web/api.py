"""The JSON API under /api: the same functions as the pages, bodies from schemas/web.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from headpix import drafts, sessions
from headpix.errors import HeadpixError
from schemas.web import (
    DraftOut,
    ErrorOut,
    GalleryOut,
    HeadshotOut,
    MessageOut,
    PhotoFeedbackOut,
    PrivacyRequestIn,
    RequestOut,
    ShootListOut,
    ShootOut,
    ShootStarted,
    ShootSummaryOut,
    SignInIn,
    SignupIn,
)
from web import core, routes_privacy, shooting, uploads
from web.deps import (
    Ctx,
    Customer,
    WebError,
    check_origin,
    limit,
    not_found,
    session_token,
    set_session_cookie,
)
from web.routes_account import sign_in, sign_up

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 409, 413, 415, 422, 429)
}
router = APIRouter(prefix="/api", responses=ERRORS)


def owned(ctx: Ctx, customer_id: str, shoot_id: str) -> None:
    if not core.own_shoot(ctx.services, customer_id, shoot_id):
        raise not_found()


@router.post("/signup", response_model=MessageOut)
def api_signup(request: Request, ctx: Ctx, body: SignupIn) -> Any:
    check_origin(request)
    token, message = sign_up(request, ctx, body)
    response = JSONResponse(MessageOut(message=message).model_dump())
    if token:
        set_session_cookie(response, ctx, token)
    return response


@router.post("/signin", response_model=MessageOut)
def api_signin(request: Request, ctx: Ctx, body: SignInIn) -> MessageOut:
    check_origin(request)
    return MessageOut(message=sign_in(request, ctx, body.email))


@router.post("/signout", response_model=MessageOut)
def api_signout(request: Request, ctx: Ctx, customer_id: Customer) -> MessageOut:
    check_origin(request)
    sessions.end_session(ctx.services, session_token(request))
    return MessageOut(message="Signed out.")


@router.get("/session", response_model=MessageOut)
def api_session(customer_id: Customer) -> MessageOut:
    """Only the session lookup: the benchmark's baseline for the status endpoint."""
    return MessageOut(message="signed in")


@router.get("/draft", response_model=DraftOut)
def api_draft(ctx: Ctx, customer_id: Customer) -> DraftOut:
    proven = sessions.address_proven(ctx.services, customer_id)
    return uploads.draft_state(ctx.services, customer_id, proven=proven)


PHOTO_BODY = {
    "requestBody": {
        "required": True,
        "description": "the photo's bytes (JPEG, PNG, WebP or HEIC), one photo per request",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.put("/draft/photos", response_model=PhotoFeedbackOut, openapi_extra=PHOTO_BODY)
async def api_upload(
    request: Request, ctx: Ctx, customer_id: Customer, name: str = "photo"
) -> PhotoFeedbackOut:
    check_origin(request)
    per_minute = ctx.services.settings.upload_rate_per_minute
    limit(request, ctx, "upload", account=customer_id, per_minute=per_minute)
    return await uploads.receive_photo(request, ctx.services, customer_id, name[:255])


@router.delete("/draft/photos/{photo_id}", response_model=DraftOut)
def api_remove_photo(request: Request, ctx: Ctx, customer_id: Customer, photo_id: str) -> DraftOut:
    check_origin(request)
    if not drafts.remove_photo(ctx.services, customer_id=customer_id, photo_id=photo_id):
        raise not_found()
    return api_draft(ctx, customer_id)


@router.post("/draft/start", response_model=ShootStarted)
async def api_start(request: Request, ctx: Ctx, customer_id: Customer) -> ShootStarted:
    check_origin(request)
    shoot_id = await run_in_threadpool(shooting.start_shoot, ctx.services, customer_id)
    return ShootStarted(shoot_id=shoot_id)


@router.get("/shoots/{shoot_id}", response_model=ShootOut)
def api_shoot(ctx: Ctx, customer_id: Customer, shoot_id: str, response: Response) -> ShootOut:
    owned(ctx, customer_id, shoot_id)
    response.headers["cache-control"] = "no-store"
    return shooting.shoot_view(ctx.services, shoot_id)


@router.post("/shoots/{shoot_id}/cancel", response_model=ShootOut)
def api_cancel(request: Request, ctx: Ctx, customer_id: Customer, shoot_id: str) -> ShootOut:
    check_origin(request)
    owned(ctx, customer_id, shoot_id)
    return shooting.cancel_shoot(ctx.services, shoot_id)


@router.post("/shoots/{shoot_id}/erasure", response_model=RequestOut)
def api_delete_shoot(request: Request, ctx: Ctx, customer_id: Customer, shoot_id: str) -> RequestOut:
    check_origin(request)
    owned(ctx, customer_id, shoot_id)
    view = core.request_shoot_erasure(ctx.services, customer_id, shoot_id)
    return RequestOut(
        request_id=view.request_id,
        type=view.type,
        status=view.status,
        message="We've emailed you a link to confirm the deletion.",
    )


@router.post("/privacy/requests", response_model=RequestOut)
def api_privacy_request(request: Request, ctx: Ctx, body: PrivacyRequestIn) -> RequestOut:
    check_origin(request)
    changes = {k: v for k, v in (("name", body.name), ("email", body.new_email)) if v}
    message = routes_privacy.submit(request, ctx, body.type, body.email, changes or None)
    # The same answer for every address: no request id, which would reveal that it is known.
    return RequestOut(request_id=None, type=body.type, status="received", message=message)


@router.get("/requests/{request_id}", response_model=RequestOut)
def api_request(ctx: Ctx, customer_id: Customer, request_id: str) -> RequestOut:
    view = core.own_request(ctx.services, customer_id, request_id)
    if view is None:
        raise not_found()
    return RequestOut(request_id=view.request_id, type=view.type, status=view.status, message=view.status)


@router.get("/shoots", response_model=ShootListOut)
def api_shoots(ctx: Ctx, customer_id: Customer, response: Response) -> ShootListOut:
    """The customer's shoots, newest first (the account page's list)."""
    response.headers["cache-control"] = "no-store"
    rows = core.customer_shoots(ctx.services, customer_id)
    return ShootListOut(
        shoots=[
            ShootSummaryOut(shoot_id=r["id"], status=r["status"], created_at=r["created_at"]) for r in rows
        ]
    )


def gallery_out(ctx: Ctx, shoot_id: str, base: str) -> GalleryOut:
    shots = core.headshots_of(ctx.services, shoot_id)
    if not shots:
        raise not_found()
    return GalleryOut(
        headshots=[
            HeadshotOut(
                headshot_id=h["id"],
                style=h["style"],
                number=h["ordinal"] + 1,
                url=f"{base}/headshots/{h['id']}",
                thumbnail_url=f"{base}/headshots/{h['id']}?size=thumb",
            )
            for h in shots
        ],
        zip_url=f"{base}/zip",
    )


@router.get("/shoots/{shoot_id}/headshots", response_model=GalleryOut)
def api_gallery(ctx: Ctx, customer_id: Customer, shoot_id: str, response: Response) -> GalleryOut:
    """The signed-in gallery: the owner's headshots of one shoot."""
    owned(ctx, customer_id, shoot_id)
    response.headers["cache-control"] = "private, no-store"
    return gallery_out(ctx, shoot_id, f"/shoots/{shoot_id}")


@router.get("/g/{token}", response_model=GalleryOut)
def api_token_gallery(ctx: Ctx, token: str, response: Response) -> GalleryOut:
    """The gallery from the emailed link; an expired or unknown token is a 404 like any other."""
    shoot_id = core.shoot_of_gallery_token(ctx.services, token)
    if shoot_id is None:
        raise not_found()
    response.headers["cache-control"] = "private, no-store"
    return gallery_out(ctx, shoot_id, f"/g/{token}")


@router.post("/policy/{version}/accept", response_model=MessageOut)
def api_policy_accept(request: Request, ctx: Ctx, customer_id: Customer, version: str) -> MessageOut:
    check_origin(request)
    if core.policy_version(ctx.services, version) is None:
        raise not_found()
    core.accept_policy(ctx.services, customer_id, version)
    return MessageOut(message=f"You accepted policy {version}.")


@router.post("/policy/{version}/withdraw", response_model=RequestOut)
def api_policy_withdraw(request: Request, ctx: Ctx, customer_id: Customer, version: str) -> RequestOut:
    """Withdrawing consent in the notice window is the erasure request, confirmed by mail."""
    check_origin(request)
    if core.policy_version(ctx.services, version) is None:
        raise not_found()
    try:
        request_id = core.withdraw_consent(ctx.services, customer_id, version)
    except HeadpixError:
        raise WebError(
            409, "outside_window", "Consent to this version can no longer be withdrawn here."
        ) from None
    return RequestOut(
        request_id=request_id,
        type="erasure",
        status="awaiting_confirmation",
        message="We've emailed you a link to confirm deleting your account before the new policy applies.",
    )

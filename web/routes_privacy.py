"""The privacy centre: six rights as forms, confirmation links, downloads, unsubscribe, policy notices."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from headpix.errors import HeadpixError
from headpix.privacy.requests import RequestType
from schemas.api import POLICY_VERSION
from web import core
from web.deps import (
    Ctx,
    Customer,
    Form,
    MaybeCustomer,
    WebContext,
    WebError,
    clear_session_cookie,
    limit,
    not_found,
    render,
)

router = APIRouter(include_in_schema=False)  # pages; the JSON API is documented
RIGHTS = [
    ("access", "Get a copy of your data", "We email you a link to download everything we hold about you."),
    ("portability", "Take your data elsewhere", "The same archive, in a documented machine-readable format."),
    ("rectification", "Correct your details", "Tell us the right name or address."),
    ("restriction", "Pause processing", "We stop processing your data until you lift the restriction."),
    ("objection", "No marketing", "We stop using your data for marketing, at once."),
    ("erasure", "Delete everything", "We delete all your data within 14 days of your confirmation."),
]
DONE_WORDS = {
    "completed": "Done.",
    "confirmed": "Confirmed. We're working on it.",
    "in_progress": "Confirmed. We're working on it.",
    "on_hold": "Confirmed. It is on hold while a legal obligation applies; we'll write to you.",
}

CHANGE_WORDS = {
    "name": "The corrected name must be 1 to 200 characters.",
    "email": "The corrected email address doesn't look like an email address (name@example.com).",
}
REFUSED = "We couldn't accept this request. Check the details and try again."


def submit(request: Request, ctx: WebContext, type_: str, email: str, changes: dict[str, Any] | None) -> str:
    """Create a request; the answer is the same whether or not we know the address."""
    try:
        kind = RequestType(type_)
    except ValueError:
        raise WebError(400, "unknown_right", "Choose one of the rights listed on the page.") from None
    if kind is RequestType.rectification and not changes:
        raise WebError(400, "invalid_request", "Tell us the corrected name or email address.")
    limit(request, ctx, "privacy", email=email)
    for field, value in (changes or {}).items():
        if not core.change_valid(field, value):
            raise WebError(400, "invalid_change", CHANGE_WORDS.get(field, REFUSED))
    try:
        core.submit_request(ctx.services, kind, email, changes=changes)
    except HeadpixError:  # its message is written for the CLI: the web says it in its own words
        raise WebError(400, "invalid_request", REFUSED) from None
    if kind is RequestType.objection:
        return "If that address has an account, it gets no more marketing mail from now on."
    return "If that address has an account, we've emailed it a link to confirm the request."


@router.get("/privacy", name="privacy")
def centre(request: Request, ctx: Ctx, customer_id: MaybeCustomer) -> Any:
    email = core.customer_summary(ctx.services, customer_id).get("email", "") if customer_id else ""
    return render(
        request,
        ctx,
        "privacy.html",
        rights=RIGHTS,
        email=email,
        erasure_days=ctx.services.settings.erasure_days,
    )


@router.post("/privacy/requests", name="privacy_request")
def request_post(request: Request, ctx: Ctx, form: Form) -> Any:
    changes = {k: form[f"new_{k}"].strip() for k in ("name", "email") if form.get(f"new_{k}", "").strip()}
    message = submit(request, ctx, form.get("type", ""), form.get("email", "")[:320], changes or None)
    return render(request, ctx, "message.html", title="Request received", message=message)


@router.get("/privacy/confirm/{request_id}/{token}", name="confirm")
def confirm_page(request: Request, ctx: Ctx, request_id: str, token: str) -> Any:
    pending = core.request_pending_confirmation(ctx.services, request_id, token)
    if pending is None:
        raise not_found()
    return render(
        request,
        ctx,
        "confirm.html",
        type=pending.type,
        what=core.erasure_words(ctx.services, pending.scope),
        shoot=(pending.scope or "").startswith("shoot:"),
        erasure_days=ctx.services.settings.erasure_days,
    )


@router.post("/privacy/confirm/{request_id}/{token}", name="confirm_post")
def confirm_post(request: Request, ctx: Ctx, request_id: str, token: str, form: Form) -> Any:
    limit(request, ctx, "confirm")
    pending = core.request_pending_confirmation(ctx.services, request_id, token)
    if pending is None:
        raise not_found()
    what = core.erasure_words(ctx.services, pending.scope)  # before the shoot is gone
    view = core.confirm_request(ctx.services, request_id, token)
    message = DONE_WORDS.get(view.status, "Confirmed.")
    if view.type != "erasure":
        return render(request, ctx, "message.html", title="Request confirmed", message=message)
    if what is not None:  # a scoped erasure (one shoot): the account stays, and so does the session
        if view.status == "completed":
            message = f"We've deleted {what}. Your account and everything else stay as they are."
        return render(request, ctx, "message.html", title="Deletion confirmed", message=message)
    if view.status == "completed":
        message = "Your data has been deleted. We've emailed you a receipt. Goodbye, and thank you."
    response = render(
        request, ctx, "message.html", title="Request confirmed", message=message, signed_in=False
    )
    clear_session_cookie(response, ctx)
    return response


@router.get("/requests/{request_id}", name="request_status")
def request_status(request: Request, ctx: Ctx, customer_id: Customer, request_id: str) -> Any:
    view = core.own_request(ctx.services, customer_id, request_id)
    if view is None:
        raise not_found()
    export = core.export_of_request(ctx.services, customer_id, request_id)
    return render(request, ctx, "request.html", req=view, has_export=export is not None)


@router.post("/requests/{request_id}/lift", name="request_lift")
def request_lift(request: Request, ctx: Ctx, customer_id: Customer, request_id: str, form: Form) -> Any:
    """End a restriction of processing the customer placed; paused shoots go on."""
    view = core.own_request(ctx.services, customer_id, request_id)
    if view is None:
        raise not_found()
    try:
        core.lift_restriction(ctx.services, request_id)
    except HeadpixError:
        raise WebError(409, "not_in_force", "This restriction is not in force.") from None
    return render(
        request, ctx, "message.html", title="Restriction lifted", message="We process your data again."
    )


@router.get("/requests/{request_id}/export", name="request_export")
def request_export(ctx: Ctx, customer_id: Customer, request_id: str) -> Response:
    row = core.export_of_request(ctx.services, customer_id, request_id)
    if row is None:
        raise not_found()
    return export_response(ctx, row.key, row.request_id)


@router.get("/exports/{token}", name="export_download")
def export_download(ctx: Ctx, token: str) -> Response:
    row = core.export_by_token(ctx.services, token)
    if row is None:
        raise not_found()
    return export_response(ctx, row.key, row.request_id)


def export_response(ctx: WebContext, key: str, request_id: str) -> Response:
    headers = {
        "cache-control": "private, no-store",
        "content-disposition": f'attachment; filename="headpix-export-{request_id}.zip"',
    }
    return Response(ctx.services.store.get(key), media_type="application/zip", headers=headers)


@router.get("/unsubscribe/{token}", name="unsubscribe")
def unsubscribe_page(request: Request, ctx: Ctx, token: str) -> Any:
    if core.customer_of_unsubscribe(ctx.services, token) is None:
        raise not_found()
    return render(request, ctx, "unsubscribe.html", token=token)


@router.post("/unsubscribe/{token}", name="unsubscribe_post")
def unsubscribe(request: Request, ctx: Ctx, token: str) -> Any:
    """RFC 8058 one-click: the mail client posts here without a page, so the token is the proof."""
    customer_id = core.customer_of_unsubscribe(ctx.services, token)
    if customer_id is None:
        raise not_found()
    core.object_to_marketing(ctx.services, customer_id)
    return render(
        request, ctx, "message.html", title="Unsubscribed", message="You'll get no more marketing mail."
    )


@router.get("/policy", name="policy")
def policy_current(request: Request, ctx: Ctx) -> Any:
    return render(request, ctx, "policy.html", version=POLICY_VERSION, notice=None)


@router.get("/policy/{version}", name="policy_notice")
def policy_notice(request: Request, ctx: Ctx, version: str, customer_id: MaybeCustomer) -> Any:
    notice = core.policy_version(ctx.services, version)
    if notice is None:
        raise not_found()
    return render(request, ctx, "policy.html", version=version, notice=notice)


@router.post("/policy/{version}/accept", name="policy_accept")
def policy_accept(request: Request, ctx: Ctx, customer_id: Customer, version: str, form: Form) -> Any:
    if core.policy_version(ctx.services, version) is None:
        raise not_found()
    core.accept_policy(ctx.services, customer_id, version)
    return render(request, ctx, "message.html", title="Thank you", message=f"You accepted policy {version}.")


@router.post("/policy/{version}/withdraw", name="policy_withdraw")
def policy_withdraw(request: Request, ctx: Ctx, customer_id: Customer, version: str, form: Form) -> Any:
    if core.policy_version(ctx.services, version) is None:
        raise not_found()
    try:
        core.withdraw_consent(ctx.services, customer_id, version)
    except HeadpixError as error:
        raise WebError(
            409, "outside_window", "Consent to this version can no longer be withdrawn here."
        ) from error
    return render(
        request,
        ctx,
        "message.html",
        title="Check your email",
        message="We've emailed you a link to confirm deleting your account before the new policy applies.",
    )

"""Sign-up, passwordless sign-in and sign-out, and the account page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from headpix import sessions
from headpix.privacy.requests import RequestView
from schemas.api import POLICY_VERSION, CustomerSignup, Gender, Preferences
from schemas.web import SignupIn
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
    render,
    session_token,
    set_session_cookie,
)

router = APIRouter(include_in_schema=False)  # pages; the JSON API is documented
LINK_GONE = "This sign-in link has expired or was used already. Ask for a new one."
PREFERENCE_CHOICES = {
    "attire": ["", "business suit", "smart casual", "blazer and open collar", "knitwear"],
    "background": ["", "office", "plain studio grey", "city street", "outdoors, greenery"],
    "expression": ["", "warm smile", "confident, neutral", "friendly, closed-mouth smile"],
    "age_range": ["", "20s", "30s", "40s", "50s", "60s+"],
}


def parse_signup(data: SignupIn) -> CustomerSignup:
    if not data.consent:
        raise WebError(400, "consent_required", "Please accept the privacy policy to continue.")
    try:
        prefs = Preferences(
            attire=data.attire or None,
            background=data.background or None,
            hair=data.hair or None,
            glasses=data.glasses,
            age_range=data.age_range or None,
            expression=data.expression or None,
        )
        return CustomerSignup(
            name=data.name, email=data.email, gender=Gender.parse(data.gender), preferences=prefs
        )
    except (ValidationError, ValueError) as error:
        field = "the form"
        if isinstance(error, ValidationError) and error.errors():
            field = str(error.errors()[0]["loc"][0]) if error.errors()[0]["loc"] else field
        raise WebError(400, "invalid_signup", f"Please check {field}: it doesn't look right.") from None
    except Exception as error:  # UsageError from Gender.parse
        raise WebError(400, "invalid_signup", getattr(error, "message", "Please check the form.")) from None


def sign_up(request: Request, ctx: WebContext, data: SignupIn) -> tuple[str | None, str]:
    """A new address gets an account and a session; a known one gets a sign-in link instead."""
    signup = parse_signup(data)
    limit(request, ctx, "signup", email=signup.email)
    existing = core.customer_id_by_email(ctx.services, signup.email)
    if existing is not None:
        core.mail_sign_in_link(ctx.services, customer_id=existing, first=False)
        return None, "This address already has an account: we've emailed it a sign-in link."
    customer_id = core.sign_up(ctx.services, signup)
    core.mail_sign_in_link(ctx.services, customer_id=customer_id, first=True)
    return sessions.create_session(ctx.services, customer_id=customer_id), "Welcome! Now add your photos."


def sign_in(request: Request, ctx: WebContext, email: str) -> str:
    limit(request, ctx, "signin", email=email)
    customer_id = core.customer_id_by_email(ctx.services, email)
    if customer_id is not None:
        core.mail_sign_in_link(ctx.services, customer_id=customer_id, first=False)
    minutes = ctx.services.settings.sign_in_link_minutes
    return (
        f"If that address has an account, a sign-in link is on its way. It works once, for {minutes} minutes."
    )


@router.get("/", name="home")
def home(request: Request, ctx: Ctx, customer_id: MaybeCustomer) -> Any:
    if customer_id:
        return RedirectResponse("/account", status_code=303)
    return render(request, ctx, "home.html", choices=PREFERENCE_CHOICES, policy_version=POLICY_VERSION)


@router.post("/signup", name="signup")
def signup_post(request: Request, ctx: Ctx, form: Form) -> Any:
    data = SignupIn(
        name=form.get("name", "")[:200] or "-",
        email=form.get("email", "")[:320] or "-@-",
        gender=form.get("gender", "")[:16],
        consent=form.get("consent") == "yes",
        attire=form.get("attire") or None,
        background=form.get("background") or None,
        hair=(form.get("hair") or "")[:80] or None,
        glasses={"yes": True, "no": False}.get(form.get("glasses", "")),
        age_range=form.get("age_range") or None,
        expression=form.get("expression") or None,
    )
    token, message = sign_up(request, ctx, data)
    if token is None:
        return render(request, ctx, "message.html", title="Check your email", message=message)
    response = RedirectResponse("/upload", status_code=303)
    set_session_cookie(response, ctx, token)
    return response


@router.get("/signin", name="signin")
def signin_page(request: Request, ctx: Ctx) -> Any:
    return render(request, ctx, "signin.html", link_minutes=ctx.services.settings.sign_in_link_minutes)


@router.post("/signin", name="signin_post")
def signin_post(request: Request, ctx: Ctx, form: Form) -> Any:
    message = sign_in(request, ctx, form.get("email", "")[:320])
    return render(request, ctx, "message.html", title="Check your email", message=message)


@router.get("/signin/{token}", name="signin_link")
def signin_link(request: Request, ctx: Ctx, token: str) -> Any:
    # Opening the link only shows a button: mail scanners that fetch links must not use it up.
    if not sessions.sign_in_link_valid(ctx.services, token):
        raise WebError(404, "not_found", LINK_GONE)
    return render(request, ctx, "signin_link.html", token=token)


@router.post("/signin/{token}", name="signin_link_post")
def signin_link_post(request: Request, ctx: Ctx, token: str, form: Form) -> Any:
    limit(request, ctx, "signin_link")
    customer_id = sessions.use_sign_in_link(ctx.services, token)
    if customer_id is None:
        raise WebError(
            404, "not_found", "This sign-in link has expired or was used already. Ask for a new one."
        )
    old = session_token(request)
    if old:
        sessions.end_session(ctx.services, old)
    response = RedirectResponse(
        "/upload" if not core.customer_shoots(ctx.services, customer_id) else "/account", 303
    )
    set_session_cookie(response, ctx, sessions.create_session(ctx.services, customer_id=customer_id))
    return response


@router.post("/signout", name="signout")
def signout(request: Request, ctx: Ctx, form: Form) -> Any:
    if session_token(request):
        sessions.end_session(ctx.services, session_token(request))
    response = RedirectResponse("/", status_code=303)
    clear_session_cookie(response, ctx)
    return response


@router.get("/account", name="account")
def account(request: Request, ctx: Ctx, customer_id: Customer) -> Any:
    requests: list[RequestView] = core.customer_requests(ctx.services, customer_id)
    return render(
        request,
        ctx,
        "account.html",
        me=core.customer_summary(ctx.services, customer_id),
        shoots=core.customer_shoots(ctx.services, customer_id),
        requests=requests,
        erasure_days=ctx.services.settings.erasure_days,
    )

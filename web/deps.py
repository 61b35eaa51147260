"""The web layer's state and typed dependencies, so that routes stay a dozen lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates

from headpix import analytics, sessions
from headpix.services import Services
from schemas.models import utcnow
from web.security import (
    ANON_CSRF_MAX_AGE_S,
    CSRF_MAX_AGE_S,
    RateLimiter,
    csrf_token,
    csrf_valid,
    is_loopback,
    keyed_hash,
)

COOKIE = "hpx_session"
FORM_LIMIT = 16 * 1024
TEMPLATES = Path(__file__).parent / "templates"
FOREIGN = "This form was sent from another site and was refused."


class WebError(Exception):
    """Shown to the customer as a page (or JSON under /api): a status, a code, plain words."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def not_found() -> WebError:
    return WebError(404, "not_found", "There is nothing here. The link may have expired.")


@dataclass
class WebContext:
    services: Services
    secret: bytes
    limiter: RateLimiter = field(default_factory=RateLimiter)
    templates: Jinja2Templates = field(default_factory=lambda: Jinja2Templates(directory=str(TEMPLATES)))

    @property
    def secure_cookie(self) -> bool:
        return not is_loopback(self.services.settings)


def context(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.ctx
    return ctx


Ctx = Annotated[WebContext, Depends(context)]


def session_token(request: Request) -> str:
    return request.cookies.get(COOKIE, "")


def optional_customer(request: Request, ctx: Ctx) -> str | None:
    """The signed-in customer's id, or None; the lookup is cached on the request."""
    if "customer_id" not in request.state._state:
        token = session_token(request)
        request.state.customer_id = sessions.session_customer(ctx.services, token) if token else None
    customer_id: str | None = request.state.customer_id
    return customer_id


MaybeCustomer = Annotated[str | None, Depends(optional_customer)]


def required_customer(request: Request, customer_id: MaybeCustomer) -> str:
    if customer_id is None:
        if request.url.path.startswith("/api/"):
            raise WebError(401, "signed_out", "Sign in first: request a sign-in link on /signin.")
        raise WebError(401, "signed_out", "Please sign in to see this page.")
    return customer_id


Customer = Annotated[str, Depends(required_customer)]


def client_key(request: Request, ctx: WebContext) -> str:
    """The client's address as a keyed hash (the address itself is never kept)."""
    host = request.client.host if request.client else "unknown"
    return keyed_hash(ctx.secret, host)


def limit(
    request: Request,
    ctx: WebContext,
    action: str,
    *,
    email: str | None = None,
    account: str | None = None,
    per_minute: int = 0,
) -> None:
    """Refuse with 429 when the client, the address or the account went over the action's limit."""
    allowed = per_minute or ctx.services.settings.rate_limit_per_minute
    keys = [client_key(request, ctx)]
    if email:
        keys.append(keyed_hash(ctx.secret, email.strip().lower()))
    if account:
        keys.append(keyed_hash(ctx.secret, "account:" + account))
    for key in keys:
        if not ctx.limiter.allow(action, key, limit=allowed):
            raise WebError(429, "rate_limited", "Too many attempts. Please wait a minute and try again.")


def csrf_binding(request: Request, ctx: WebContext) -> tuple[str, int]:
    """What a form's CSRF token is bound to, and for how long it holds.

    Signed in: the session. Signed out (sign-up, sign-in): the client's keyed address hash, so a
    token harvested by one client is no use to a page that makes another client post it, and it
    expires sooner.
    """
    token = session_token(request)
    if token:
        return sessions.token_hash("session", token), CSRF_MAX_AGE_S
    host = request.client.host if request.client else "unknown"
    return anonymous_binding(ctx.secret, host), ANON_CSRF_MAX_AGE_S


def anonymous_binding(secret: bytes, host: str) -> str:
    return "anon:" + keyed_hash(secret, host)


def csrf_for(request: Request, ctx: WebContext) -> str:
    return csrf_token(ctx.secret, csrf_binding(request, ctx)[0])


def check_origin(request: Request) -> None:
    """Unsafe methods from another site are refused.

    Browsers send ``Origin`` on every POST and ``Sec-Fetch-Site`` with it. Either one naming
    another site is refused. Under ``Referrer-Policy: no-referrer`` a browser sends our own form
    posts with ``Origin: null``, as it does from sandboxed frames and data: URLs, so a null origin
    passes only when ``Sec-Fetch-Site`` says same-origin. A client that sends neither header is
    not a browser, so not a CSRF vector.
    """
    origin = request.headers.get("origin")
    fetch_site = request.headers.get("sec-fetch-site")
    if origin is not None and origin != "null" and urlsplit(origin).netloc != request.headers.get("host", ""):
        raise WebError(403, "bad_origin", FOREIGN)
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        raise WebError(403, "bad_origin", FOREIGN)
    if origin == "null" and fetch_site is None:
        raise WebError(403, "bad_origin", FOREIGN)


async def read_form(request: Request, ctx: Ctx) -> dict[str, str]:
    """A small url-encoded form, read into memory under a limit, with its CSRF token checked."""
    check_origin(request)
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        raise WebError(415, "unsupported", "Send the form from the page.")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > FORM_LIMIT:
            raise WebError(413, "too_large", "The form is too large.")
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    binding, max_age_s = csrf_binding(request, ctx)
    if not csrf_valid(ctx.secret, binding, form.get("csrf", ""), max_age_s=max_age_s):
        raise WebError(403, "csrf", "This form has expired. Go back, reload the page and try again.")
    return form


Form = Annotated[dict[str, str], Depends(read_form)]


def render(request: Request, ctx: WebContext, name: str, status: int = 200, **values: Any) -> Any:
    """A page, with the CSRF token and sign-in state every layout needs."""
    values.setdefault("signed_in", bool(optional_customer(request, ctx)))
    values["csrf"] = csrf_for(request, ctx)
    route = request.scope.get("route")
    if status == 200 and route is not None:
        count_page_view(ctx, route.path)  # the path template ("/shoots/{shoot_id}"), never the URL
    response = ctx.templates.TemplateResponse(request, name, values, status_code=status)
    response.headers["cache-control"] = "no-store"
    return response


def count_page_view(ctx: WebContext, route_path: str) -> None:
    """Anonymous usage: a count per route and hour; no identifier, cookie or address."""
    with ctx.services.db.session() as session:
        analytics.count(session, analytics.PAGE_VIEW + route_path, utcnow())


def set_session_cookie(response: Any, ctx: WebContext, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=ctx.services.settings.session_absolute_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=ctx.secure_cookie,
        path="/",
    )


def clear_session_cookie(response: Any, ctx: WebContext) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax", secure=ctx.secure_cookie)

"""The FastAPI application: routers, security headers, errors in plain words, and `headpix web`."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from headpix.app.wiring import build_services
from headpix.errors import NotFound
from headpix.services import Services
from headpix.settings import get_settings
from web import api, routes_account, routes_privacy, routes_shoot
from web.deps import WebContext, WebError, render
from web.security import SecurityHeaders, resolve_secret

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
WORDS = {
    400: "That request didn't look right.",
    401: "Please sign in to see this page.",
    403: "That isn't allowed.",
    404: "There is nothing here. The link may have expired.",
    405: "That isn't allowed.",
    413: "That is too large.",
    415: "Send this from the page.",
    422: "Some of the details are missing or don't look right.",
    429: "Too many attempts. Please wait a minute and try again.",
    500: "Something went wrong on our side. Please try again in a moment.",
}


def create_app(services: Services) -> FastAPI:
    """The web application over the given services (tests hand in their own)."""
    services.migrate()
    app = FastAPI(
        title="Headpix", version="1", docs_url=None, redoc_url=None, openapi_url="/api/openapi.json"
    )
    app.state.ctx = WebContext(services=services, secret=resolve_secret(services.settings))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for router in (routes_account.router, routes_shoot.router, routes_privacy.router, api.router):
        app.include_router(router)
    app.add_middleware(SecurityHeaders)
    app.add_exception_handler(WebError, _web_error)
    app.add_exception_handler(NotFound, _not_found)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
    return app


def _respond(request: Request, status: int, code: str, message: str) -> Any:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": code, "message": message}, status_code=status)
    ctx: WebContext = request.app.state.ctx
    if status == 401:
        minutes = ctx.services.settings.sign_in_link_minutes
        return render(request, ctx, "signin.html", status=401, notice=message, link_minutes=minutes)
    return render(request, ctx, "error.html", status=status, message=message)


async def _web_error(request: Request, error: Exception) -> Any:
    assert isinstance(error, WebError)
    return _respond(request, error.status, error.code, error.message)


async def _not_found(request: Request, error: Exception) -> Any:
    return _respond(request, 404, "not_found", WORDS[404])


async def _invalid(request: Request, error: Exception) -> Any:
    assert isinstance(error, RequestValidationError)
    fields = sorted({str(e["loc"][-1]) for e in error.errors() if e.get("loc")})
    return _respond(request, 422, "invalid", WORDS[422] + (f" Check: {', '.join(fields)}." if fields else ""))


async def _http_error(request: Request, error: Exception) -> Any:
    assert isinstance(error, StarletteHTTPException)
    status = error.status_code if error.status_code in WORDS else 400
    return _respond(request, status, "http_" + str(status), WORDS[status])


async def _unexpected(request: Request, error: Exception) -> Any:
    log.error("unexpected %s on a %s request", type(error).__name__, request.method)  # no URL: tokens
    return _respond(request, 500, "internal", WORDS[500])


def build_app() -> FastAPI:
    """The application on the environment's settings (what `headpix web` and `make web` serve)."""
    return create_app(build_services(get_settings()))


def serve(*, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve on loopback; no access log (it would hold addresses and URLs with tokens)."""
    import uvicorn

    uvicorn.run(build_app(), host=host, port=port, access_log=False, server_header=False, log_level="warning")


if __name__ == "__main__":
    serve()

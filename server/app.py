"""The application factory: routes, middleware and lifespan, from one Settings object."""

import functools
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from server import db, metrics, metrics_http
from server.flows import account, two_factor
from server.limits import DeadlineMiddleware
from server.routes import routes
from server.security_headers import SecurityHeadersMiddleware, apply
from server.services import Services, open_services
from server.settings import Settings
from server.web import error_page

logger = logging.getLogger("mirox")

STATUS_MESSAGES = {
    400: "error.bad_request",
    404: "error.not_found",
    405: "error.method",
    413: "error.too_large",
}


def _allowed_methods(request: Request) -> str:
    """Every method some route at this path takes (Starlette's 405 names the first route's only)."""
    methods = {
        method
        for route in request.app.routes
        if isinstance(route, Route) and route.methods and route.matches(request.scope)[0] is not Match.NONE
        for method in route.methods
    }
    return ", ".join(sorted(methods))


def _announce(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


async def _refuse_missing_keys(svc: Services) -> None:
    """Refuse to serve when stored TOTP secrets use a key this server lacks: every 2FA user would be locked out."""
    missing = await two_factor.missing_key_ids(svc)
    if missing:
        text = (
            f"Stored TOTP secrets are encrypted with key id {', '.join(missing)}, which this server does not have, "
            "so their users could not sign in with a code. Add that key to MIROX_TOTP_KEYS (after the current one; "
            "a key's id is the first 8 hex digits of the SHA-256 of its 32 bytes) or to the key file, and start "
            "again. If the key is lost, turn 2FA off for those accounts with `run.py user reset-2fa NAME`."
        )
        logger.error(text)
        raise RuntimeError(text)


def create_app(
    settings: Settings,
    *,
    clock: Callable[[], float] = time.time,
    announce: Callable[[str], None] = _announce,
) -> Starlette:
    """Build the app. ``clock`` returns Unix seconds (tests inject one); ``announce`` prints start-up notes."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[dict[str, Services]]:
        async with open_services(settings, clock=clock) as svc:
            await _refuse_missing_keys(svc)
            await account.count_password_hashes(svc)
            setup_token = await account.issue_setup_token(svc)
            if setup_token:
                announce(
                    "No accounts yet. Create the first one (link valid once, for 24 hours): "
                    f"http://{settings.host}:{settings.port}{settings.root_path}/setup?token={setup_token}"
                )
            yield {"services": svc}
        metrics.process_exiting()

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        key = STATUS_MESSAGES.get(exc.status_code, "error.bad_request")
        headers = exc.headers
        if exc.status_code == 405:  # Starlette's Allow names one route's methods; StaticFiles' names none
            allowed = _allowed_methods(request) or (headers or {}).get("Allow") or "GET, HEAD"
            headers = {**(headers or {}), "Allow": allowed}
        return error_page(request, exc.status_code, key, headers=headers)

    async def database_down(request: Request, exc: Exception) -> Response:
        logger.warning("database unavailable (%s); answering 503", type(exc).__name__)
        return error_page(request, 503, "error.unavailable", headers={"Retry-After": "30"})

    async def server_error(request: Request, exc: Exception) -> Response:
        response = error_page(request, 500, "error.server")
        headers = MutableHeaders(raw=response.raw_headers)
        apply(headers, request.scope, settings.frame_ancestors, form_domains=settings.forward_auth_domains)
        return response

    handlers: dict[type[Exception] | int, Callable[[Request, Exception], object]] = {
        HTTPException: http_error,
        Exception: server_error,
    }
    for error in db.ERRORS:
        handlers[error] = database_down  # type: ignore[index]

    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(metrics_http.LatencyMiddleware),
            Middleware(
                SecurityHeadersMiddleware,
                frame_ancestors=settings.frame_ancestors,
                form_domains=settings.forward_auth_domains,
            ),
            Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts) or ["*"], www_redirect=False),
            # Inside the headers middleware (Starlette's own max_body_size sits outside it),
            # so the 413 it answers carries the security headers too.
            Middleware(RequestBodyLimitMiddleware, max_body_size=settings.max_body_bytes),
            # Inside the body limit, so the body it reads ahead is limited too.
            Middleware(
                DeadlineMiddleware, body_timeout=settings.body_timeout, request_timeout=settings.request_timeout
            ),
        ],
        exception_handlers=handlers,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    # "/profile/" would answer 307 to an absolute URL built from the Host header (an attacker's
    # name, behind a proxy that passes it on); no route ends in "/", so there is nothing to redirect to.
    app.router.redirect_slashes = False
    # Starlette searches the whole route table for every link; pages link a lot.
    app.state.route_path = functools.lru_cache(maxsize=1024)(
        lambda name, params: str(app.router.url_path_for(name, **dict(params)))
    )
    return app

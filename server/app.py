"""The application factory: routes, middleware and lifespan, from one Settings object."""

import functools
import hashlib
import hmac
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from starlette.applications import Starlette
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.body_limit import RequestBodyLimitMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route
from starlette.templating import Jinja2Templates

from server import store
from server.auth.crypto import Keyring, load_or_create_key_file, parse_keys
from server.auth.devices import summarize_user_agent
from server.auth.passwords import PasswordHasher
from server.flows import account
from server.routes import routes
from server.security_headers import SecurityHeadersMiddleware, apply
from server.settings import Settings
from server.web import Services, base_context, error_page

logger = logging.getLogger("mirox")

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

STATUS_MESSAGES = {
    400: "error.bad_request",
    404: "error.not_found",
    405: "error.method",
    413: "error.too_large",
}


def _keys(settings: Settings) -> list[bytes]:
    """The encryption keys (current first): from configuration, else from the key file."""
    if settings.totp_keys:
        return parse_keys(settings.totp_keys)
    return load_or_create_key_file(settings.resolved_key_file)


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=TEMPLATES_DIR, context_processors=[base_context])
    templates.env.auto_reload = False  # compiled once per process: no stat() of every template per render
    templates.env.filters.update(
        date=lambda t: datetime.fromtimestamp(t).strftime("%-d %b %Y") if t else "",
        datetime=lambda t: datetime.fromtimestamp(t).strftime("%-d %b %Y, %H:%M") if t else "",
        isodate=lambda t: datetime.fromtimestamp(t).date().isoformat() if t else "",
        device=summarize_user_agent,
    )
    return templates


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


@asynccontextmanager
async def open_services(settings: Settings, *, clock: Callable[[], float] = time.time) -> AsyncIterator[Services]:
    """Connect to the database (creating or upgrading the schema) and yield what requests need."""
    keys = _keys(settings)
    if settings.database_url == "":
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = store.open_database(settings.resolved_database_url, settings.database_schema)
    await db.connect()
    hasher = PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_kib,
        parallelism=settings.argon2_parallelism,
        limit=settings.hash_threads,
    )
    try:
        await store.upgrade_schema(db)
        yield Services(
            settings=settings,
            db=db,
            clock=clock,
            keyring=Keyring(keys),
            hasher=hasher,
            csrf_key=hmac.new(keys[0], b"mirox csrf token", hashlib.sha256).digest(),
            templates=_templates(),
        )
    finally:
        hasher.close()
        await store.close_database(db)


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
            setup_token = await account.issue_setup_token(svc)
            if setup_token:
                announce(
                    "No accounts yet. Create the first one (link valid once, for 24 hours): "
                    f"http://{settings.host}:{settings.port}{settings.root_path}/setup?token={setup_token}"
                )
            yield {"services": svc}

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
        apply(MutableHeaders(raw=response.raw_headers), request.scope, settings.frame_ancestors)
        return response

    handlers: dict[type[Exception] | int, Callable[[Request, Exception], object]] = {
        HTTPException: http_error,
        Exception: server_error,
    }
    for error in store.DB_ERRORS:
        handlers[error] = database_down  # type: ignore[index]

    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(SecurityHeadersMiddleware, frame_ancestors=settings.frame_ancestors),
            # Inside the headers middleware (Starlette's own max_body_size sits outside it),
            # so the 413 it answers carries the security headers too.
            Middleware(RequestBodyLimitMiddleware, max_body_size=settings.max_body_bytes),
        ],
        exception_handlers=handlers,  # type: ignore[arg-type]
        lifespan=lifespan,
    )
    # Starlette searches the whole route table for every link; pages link a lot.
    app.state.route_path = functools.lru_cache(maxsize=1024)(
        lambda name, params: str(app.router.url_path_for(name, **dict(params)))
    )
    return app

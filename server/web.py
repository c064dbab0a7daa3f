"""The HTTP plumbing every handler shares.

``guarded`` wraps each endpoint with session lookup, the access rule of its route
and CSRF checks; ``render`` answers htmx with the partial and everyone else with
the full page that includes it; ``redirect`` does the same for redirects.
"""

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from databases import Database
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from server import static, store
from server.auth.crypto import Keyring
from server.auth.passwords import PasswordHasher
from server.auth.tokens import csrf_ok, csrf_token, new_token, token_hash
from server.messages import message
from server.settings import Settings

Endpoint = Callable[[Request], Awaitable[Response]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_LIMITS = {"max_files": 0, "max_fields": 50, "max_part_size": 8 * 1024}


@dataclass(frozen=True)
class Services:
    """What a request needs from the running app (the lifespan state)."""

    settings: Settings
    db: Database
    clock: Callable[[], float]
    keyring: Keyring
    hasher: PasswordHasher
    csrf_key: bytes
    templates: Jinja2Templates


class Access(enum.Enum):
    """Who may open a route."""

    PUBLIC = "public"
    PENDING = "pending"
    USER = "user"


@dataclass(frozen=True)
class Client:
    """Where a request comes from, for sessions and the activity log."""

    ip: str
    user_agent: str


def services(request: Request) -> Services:
    svc: Services = request.state.services
    return svc


def client_of(request: Request) -> Client:
    ip = request.client.host if request.client else "unknown"
    return Client(ip=ip, user_agent=request.headers.get("user-agent", "")[:512])


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def over_https(request: Request) -> bool:
    """Whether the browser reached us over https (read from the scope: building ``request.url`` costs more)."""
    return request.scope.get("scheme") == "https"


def cookie_name(request: Request, base: str) -> str:
    """``__Host-`` names over https, so no subdomain or path can plant one."""
    return f"__Host-mirox_{base}" if over_https(request) else f"mirox_{base}"


def set_cookie(response: Response, request: Request, base: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        secure=over_https(request),
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, request: Request, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base),
        path="/",
        secure=over_https(request),
        httponly=True,
        samesite="lax",
    )


def href(request: Request, name: str, /, query: dict[str, str] | None = None, **params: Any) -> str:
    """The path of a named route, with the app's root path and an optional query."""
    scope = request.scope
    root = scope.get("app_root_path", scope.get("root_path", "")).rstrip("/")
    path = root + request.app.state.route_path(name, tuple(sorted(params.items())))
    return f"{path}?{urlencode(query)}" if query else path


def static_href(request: Request, name: str) -> str:
    """A static file's URL, versioned by its content so browsers may keep it for a year."""
    return f"{href(request, 'static', path=name)}?v={static.version(name)}"


async def read_form(request: Request) -> FormData:
    """The request's form, with limits; malformed forms answer 400, bodies over the limit 413.

    The whole body is read first, whatever its type: the body limit only acts on what the app
    reads, so a JSON or text body over it would otherwise be acted on and only then answered 413.
    """
    await request.body()
    return await request.form(**FORM_LIMITS)


def field(form: FormData, name: str, limit: int = 256) -> str:
    """One text field, '' when missing; uploads never reach here (max_files=0).

    NUL characters become U+FFFD: PostgreSQL text cannot hold them (a driver error, not bad input).
    """
    value = form.get(name)
    return value[:limit].replace("\x00", "\ufffd") if isinstance(value, str) else ""


# ---- rendering -------------------------------------------------------------------


def base_context(request: Request) -> dict[str, Any]:
    """Variables every template may use."""
    state = request.state
    return {
        "current_user": getattr(state, "user", None),
        "csrf_token": getattr(state, "csrf", ""),
        "htmx": is_htmx(request),
        "msg": message,
        "href": lambda name, query=None, **p: href(request, name, query, **p),
        "static": lambda path: static_href(request, path),
        "issuer": services(request).settings.issuer,
    }


def render(
    request: Request,
    page: str,
    partial: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The partial for htmx requests, the page (which includes it) for everyone else."""
    template = partial if is_htmx(request) else page
    response = services(request).templates.TemplateResponse(
        request, template, {**(context or {}), "partial": partial}, status_code=status, headers=headers
    )
    response.headers["Vary"] = "HX-Request, Cookie"
    return response


def redirect(request: Request, url: str) -> Response:
    """303 for browsers, ``HX-Redirect`` for htmx (which would otherwise follow and swap)."""
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url, "Vary": "HX-Request"})
    return RedirectResponse(url, status_code=303, headers={"Vary": "HX-Request"})


def error_page(request: Request, status: int, key: str, headers: Mapping[str, str] | None = None) -> Response:
    """A small error page that says what happened and what to do; a closable dialog for htmx."""
    if not hasattr(request.state, "services"):
        return Response(message(key), status_code=status, media_type="text/plain", headers=headers)
    context = {"status": status, "error": message(key)}
    return render_dialog(request, "partials/error.html", context, status, page="error.html", headers=headers)


# ---- the guard around every endpoint -------------------------------------------------


def _origin_ok(request: Request) -> bool:
    """Reject requests a browser marks as cross-site, or whose Origin is another site."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin == f"{request.url.scheme}://{request.url.netloc}"


def _csrf_binding(request: Request) -> str | None:
    for base in ("session", "pending", "pre"):
        value = request.cookies.get(cookie_name(request, base))
        if value:
            return value
    return None


def guarded(endpoint: Endpoint, access: Access) -> Endpoint:
    """Load the session, enforce the route's access rule and CSRF, then call ``endpoint``."""

    async def guard(request: Request) -> Response:
        async with services(request).db.connection():
            return await _guarded(request)

    async def _guarded(request: Request) -> Response:
        svc = services(request)
        if any("\x00" in str(value) for value in request.path_params.values()):
            return error_page(request, 404, "error.not_found")  # no id holds one; PostgreSQL would fail
        now = svc.clock()
        request.state.user = None
        request.state.session = None
        token = request.cookies.get(cookie_name(request, "session"))
        if token:
            found = await store.signed_in(svc.db, token_hash(token), now, svc.settings.idle_timeout)
            if found is not None:
                request.state.session, request.state.user = found

        binding = _csrf_binding(request)
        fresh_binding = None
        if binding is None:
            binding = fresh_binding = new_token()
        request.state.csrf = csrf_token(svc.csrf_key, binding)

        if request.method not in SAFE_METHODS:
            form = await read_form(request)
            presented = request.headers.get("x-csrf-token") or field(form, "csrf_token")
            if not _origin_ok(request) or not csrf_ok(svc.csrf_key, binding, presented):
                return error_page(request, 403, "error.csrf")

        if access is Access.USER and request.state.user is None:
            if await pending_signin_of(request) is not None:
                return redirect(request, href(request, "two_factor"))
            query = {"next": request.url.path} if request.method == "GET" else {}
            if token:
                query["m"] = "session_ended"
            response = redirect(request, href(request, "signin", query or None))
            if token:
                clear_cookie(response, request, "session")
            return response
        if access is Access.PENDING:
            request.state.pending = await pending_signin_of(request)
            if request.state.pending is None:
                target = href(request, "home") if request.state.user else href(request, "signin", {"m": "expired"})
                return redirect(request, target)

        response = await endpoint(request)
        if fresh_binding is not None:
            set_cookie(response, request, "pre", fresh_binding)
        return response

    guard.__name__ = endpoint.__name__
    guard.__doc__ = endpoint.__doc__
    return guard


async def pending_signin_of(request: Request) -> store.PendingSignin | None:
    """The valid half-finished sign-in of this browser (password accepted, code outstanding)."""
    token = request.cookies.get(cookie_name(request, "pending"))
    if not token:
        return None
    svc = services(request)
    return await store.get_pending_signin(svc.db, token_hash(token), svc.clock(), svc.settings.pending_signin_attempts)


def render_dialog(
    request: Request,
    body: str,
    context: dict[str, Any] | None = None,
    status: int = 200,
    *,
    page: str = "dialog_page.html",
    headers: Mapping[str, str] | None = None,
) -> Response:
    """A dialog step: a modal for htmx (always into ``#modal-root``), a plain page otherwise."""
    if is_htmx(request):
        headers = {**(headers or {}), "HX-Retarget": "#modal-root", "HX-Reswap": "innerHTML"}
    return render(request, page, "partials/dialog.html", {**(context or {}), "body": body}, status, headers)

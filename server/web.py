"""The HTTP plumbing every handler shares.

``guarded`` wraps each endpoint with session lookup, CSRF checks and the ``Rule`` of its
route (access, precondition, fresh); ``resume`` continues a fresh route after the password
prompt; ``render`` answers htmx with the partial and everyone else with the full page that
includes it; ``redirect`` does the same for redirects.
"""

import enum
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from server import static
from server.auth.policy import NOT_REQUIRED
from server.auth.tokens import csrf_ok, csrf_token, new_public_id, new_token
from server.flows import account, policy
from server.messages import message
from server.services import Client, Services
from server.store import PendingSignin

Endpoint = Callable[[Request], Awaitable[Response]]
Precondition = Callable[[Request], Awaitable[Response | None]]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_LIMITS = {"max_files": 0, "max_fields": 50, "max_part_size": 8 * 1024}


class Access(enum.Enum):
    """Who may open a route."""

    PUBLIC = "public"
    PENDING = "pending"
    USER = "user"
    FORWARD = "forward"
    """A reverse proxy's question about its browser: the endpoint reads the session itself (with
    the account's groups and standing, in one query); nothing is set, no CSRF, no redirect."""


@dataclass(frozen=True)
class Rule:
    """What the guard checks before a route's endpoint runs, in this order.

    ``access``: who may open it. ``precondition``: a check of the account's state whose
    answer (a response) comes before anything else, e.g. "2FA is off" on Disable, so that
    answer never waits behind a password prompt. ``fresh``: a sensitive action that needs
    the password within ``Settings.reauth_window``; a stale session gets the password prompt,
    which names this route, and after the password the guard continues with ``resume`` (the
    route that opens the action: a submit that needs a code reopens its prompt) or, when
    ``resume`` is None, with this route itself. ``while_overdue``: a USER route an account
    past its two-factor deadline may still reach (the setup of 2FA, the password prompt it
    needs, sign-out); every other USER route answers such an account with the setup page.
    """

    access: Access
    fresh: bool = False
    resume: str | None = None
    precondition: Precondition | None = None
    while_overdue: bool = False


class GuardedRoute(Route):
    """A route whose endpoint runs behind ``guarded`` with the route's ``Rule``."""

    def __init__(self, path: str, handler: Endpoint, name: str, rule: Rule, methods: tuple[str, ...]) -> None:
        super().__init__(path, guarded(handler, rule, name), name=name, methods=list(methods))
        self.handler = handler
        self.rule = rule


def services(request: Request) -> Services:
    svc: Services = request.state.services
    return svc


def client_of(request: Request) -> Client:
    # uvicorn 0.30 (our floor) reports host None when every X-Forwarded-For hop is a trusted proxy.
    ip = (request.client.host if request.client else None) or "unknown"
    device = request.cookies.get(cookie_name(request, "device"))
    return Client(ip=ip, user_agent=request.headers.get("user-agent", "")[:512], device=device)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def over_https(request: Request) -> bool:
    """Whether the browser reached us over https (read from the scope: building ``request.url`` costs more)."""
    return request.scope.get("scheme") == "https"


def _cookie_domain(request: Request, base: str) -> str | None:
    """``MIROX_COOKIE_DOMAIN`` for the session cookie (protected apps on sibling subdomains need it)."""
    return (services(request).settings.cookie_domain or None) if base == "session" else None


def cookie_name(request: Request, base: str) -> str:
    """``__Host-`` names over https, so no subdomain or path can plant one; a session cookie shared
    with a cookie domain is ``__Secure-`` (Secure, but subdomains of that domain can set it)."""
    if not over_https(request):
        return f"mirox_{base}"
    return f"__Secure-mirox_{base}" if _cookie_domain(request, base) else f"__Host-mirox_{base}"


def set_cookie(response: Response, request: Request, base: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(
        cookie_name(request, base),
        value,
        max_age=max_age,
        path="/",
        domain=_cookie_domain(request, base),
        secure=over_https(request),
        httponly=True,
        samesite="lax",
    )


def clear_cookie(response: Response, request: Request, base: str) -> None:
    response.delete_cookie(
        cookie_name(request, base),
        path="/",
        domain=_cookie_domain(request, base),
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
        "standing": getattr(state, "standing", NOT_REQUIRED),
        "csrf_token": getattr(state, "csrf", ""),
        "htmx": is_htmx(request),
        "msg": message,
        "href": lambda name, query=None, **p: href(request, name, query, **p),
        "static": lambda path: static_href(request, path),
        "issuer": services(request).settings.issuer,
        "new_submission": new_public_id,
        "help_contact": services(request).settings.help_contact,
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
    template = services(request).templates.get_template(partial if is_htmx(request) else page)
    html = template.render({**base_context(request), **(context or {}), "partial": partial})
    response = HTMLResponse(html, status_code=status, headers=headers)
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


def browser_binding(request: Request) -> str:
    """What ties a signed-out browser's ceremony to it: the cookie its CSRF token is bound to ('' if none)."""
    return _csrf_binding(request) or ""


def _return_to(request: Request) -> str | None:
    """Where sign-in should lead back to: the page asked for, or the page the person was on.

    An htmx request (a session that ended while the Profile page stayed open) and a plain form's
    POST come from a page of this app; its address arrives as ``HX-Current-URL`` or ``Referer``.
    Sign-in checks ``next`` again (``_safe_next``): only paths of this app are followed.
    """
    if request.method == "GET" and not is_htmx(request):
        return request.url.path
    source = request.headers.get("hx-current-url" if is_htmx(request) else "referer", "")
    parts = urlsplit(source)
    if parts.netloc != request.url.netloc or not parts.path.startswith("/"):
        return None
    return parts.path


def guarded(endpoint: Endpoint, rule: Rule, name: str) -> Endpoint:
    """Load the session, enforce CSRF and the route's rule, then call ``endpoint``."""
    access = rule.access

    async def guard(request: Request) -> Response:
        svc = services(request)
        if any("\x00" in str(value) for value in request.path_params.values()):
            return error_page(request, 404, "error.not_found")  # no id holds one; PostgreSQL would fail
        now = svc.clock()
        request.state.user = None
        request.state.session = None
        request.state.standing = NOT_REQUIRED
        if access is Access.FORWARD:
            return await endpoint(request)  # it reads the session itself, with what it needs, in one query
        token = request.cookies.get(cookie_name(request, "session"))
        if token:
            found = await account.signed_in(svc, token, now)
            if found is not None:
                request.state.session, request.state.user = found

        binding = _csrf_binding(request)
        fresh_binding = None
        if binding is None:
            binding = fresh_binding = new_token()
        request.state.csrf = csrf_token(svc.csrf_key, binding)

        if access is Access.PENDING:
            # Before the CSRF check: the token of an expired sign-in's form is bound to a cookie the
            # browser has dropped, and the answer (back to the password step) changes nothing.
            request.state.pending = await pending_signin_of(request)
            if request.state.pending is None:
                return await _signin_gone(request)

        if request.method not in SAFE_METHODS:
            form = await read_form(request)
            presented = request.headers.get("x-csrf-token") or field(form, "csrf_token")
            if not _origin_ok(request) or not csrf_ok(svc.csrf_key, binding, presented):
                return error_page(request, 403, "error.csrf")

        if access is Access.USER and request.state.user is None:
            if await pending_signin_of(request) is not None:
                return redirect(request, href(request, "two_factor"))
            back = _return_to(request)
            query = {"next": back} if back else {}
            if token:
                query["m"] = "session_ended"
            response = redirect(request, href(request, "signin", query or None))
            if token:
                clear_cookie(response, request, "session")
            return response
        if access is Access.USER:
            request.state.standing = await policy.standing(svc, request.state.user)
            if request.state.standing.confined and not rule.while_overdue:
                return redirect(request, href(request, "two_factor_setup"))
        if rule.precondition is not None and (refusal := await rule.precondition(request)) is not None:
            return refusal
        if rule.fresh and account.needs_reauth(svc, request.state.session):
            if request.method in SAFE_METHODS or is_htmx(request):
                return reauth_prompt(request, name)
            # A plain form: the prompt is a page of its own, so Back and reload do not post again.
            return redirect(request, href(request, "reauth_page", {"then": name}))

        response = await endpoint(request)
        if fresh_binding is not None:
            set_cookie(response, request, "pre", fresh_binding)
        return response

    guard.__name__ = endpoint.__name__
    guard.__doc__ = endpoint.__doc__
    return guard


async def _signin_gone(request: Request) -> Response:
    """A page or form of a pending sign-in that no longer exists: home when signed in, else the
    sign-in page saying it took too long, with the username the form carried filled in."""
    if request.state.user is not None:
        return redirect(request, href(request, "home"))
    query = {"m": "expired"}
    if request.method not in SAFE_METHODS and (username := field(await read_form(request), "username", 64)):
        query["username"] = username
    response = redirect(request, href(request, "signin", query))
    clear_cookie(response, request, "pending")
    return response


async def pending_signin_of(request: Request) -> PendingSignin | None:
    """The valid half-finished sign-in of this browser (password accepted, code outstanding)."""
    token = request.cookies.get(cookie_name(request, "pending"))
    return await account.pending_signin(services(request), token) if token else None


def reauth_prompt(request: Request, then: str, error: str | None = None, status: int = 403, wait: int = 0) -> Response:
    """The password prompt in front of the fresh route named ``then``."""
    headers = {"Retry-After": str(wait)} if wait else None
    context = {"then": then, "error": error, "wait": wait}
    return render_dialog(request, "partials/reauth.html", context, status, headers=headers)


def fresh_route(request: Request, name: str) -> GuardedRoute | None:
    """The fresh route called ``name``: the only places a password prompt may continue to."""
    for candidate in request.app.routes:
        if isinstance(candidate, GuardedRoute) and candidate.name == name and candidate.rule.fresh:
            return candidate
    return None


async def resume(request: Request, refused: GuardedRoute) -> Response:
    """Continue the action ``refused`` asked the password for (the session is fresh now)."""
    target = refused
    if refused.rule.resume is not None:
        target = next(r for r in request.app.routes if isinstance(r, GuardedRoute) and r.name == refused.rule.resume)
    if request.state.standing.confined and not target.rule.while_overdue:
        return redirect(request, href(request, "two_factor_setup"))  # the prompt is no way around the setup
    precondition = target.rule.precondition
    if precondition is not None and (refusal := await precondition(request)) is not None:
        return refusal
    return await target.handler(request)


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

"""``GET /auth/verify``: a reverse proxy asks, for every request to a protected app, whether to let it through;
``GET /auth/forbidden``: the page a browser outside the app's groups is sent to."""

from starlette.requests import Request
from starlette.responses import Response

from server.flows import forward_auth as flow
from server.flows.outcomes import Status
from server.handlers.common import refusal
from server.messages import message
from server.targets import protected_app
from server.web import cookie_name, error_page, href, render_dialog, services

NEVER_STORE = {"Cache-Control": "no-store"}


def _original_url(request: Request) -> str:
    """The URL the browser asked the proxy for: nginx sends ``X-Original-URL``, Traefik and Caddy
    ``X-Forwarded-Proto/Host/Uri``. Anyone may send these; it is only ever a return address the
    sign-in checks again (``rd=``)."""
    headers = request.headers
    if original := headers.get("x-original-url"):
        return original
    proto, host, uri = (headers.get(f"x-forwarded-{part}") for part in ("proto", "host", "uri"))
    return f"{proto}://{host}{uri}" if proto and host and uri else ""


def _refused(request: Request, redirect: bool, status: int, page: str) -> Response:
    """A refusal naming ``page`` (a page of this app), which the proxy turns into a redirect; with
    ``?redirect=yes`` the redirect itself, to ``page`` on ``MIROX_PUBLIC_URL`` when that is set."""
    status = flow.refusal_status(status, redirect, request.headers.get("x-forwarded-method", ""))
    location = services(request).settings.public_url.rstrip("/") + page if redirect else page
    return Response(status_code=status, headers={**NEVER_STORE, "Location": location})


async def verify(request: Request) -> Response:
    """200 with ``Remote-User`` and ``Remote-Groups`` for a live, fully signed-in session that the
    2FA policy lets through and that is in one of ``?groups=`` (when given). Otherwise the refusal
    names the page to send the browser to: 401 the sign-in (``rd=`` the original URL, when it is a
    protected app's) or, 2FA overdue, the setup page (Enable); 403 the group page. ``?redirect=yes``
    turns each refusal into a 302/303 to the same page (400 for any other value)."""
    redirect = flow.redirect_wanted(request.query_params.get("redirect"))
    if redirect is None:
        return error_page(request, 400, "forward.bad_redirect", NEVER_STORE)
    token = request.cookies.get(cookie_name(request, "session"), "")
    wanted = request.query_params.get("groups", "")[:512]
    outcome = await flow.decide(services(request), token, flow.wanted_groups(wanted)) if token else None
    if outcome is None or outcome.user is None:
        original = _original_url(request)
        return _refused(
            request,
            redirect,
            401,
            href(request, "signin", {"rd": original} if protected_app(request, original) else None),
        )
    if outcome.status is Status.OK:
        headers = {**NEVER_STORE, "Remote-User": outcome.user.username, "Remote-Groups": ",".join(outcome.groups)}
        return Response(headers=headers)
    _, status = refusal(outcome.status, "forward")
    target = href(request, "two_factor_setup") if status == 401 else href(request, "auth_forbidden", {"groups": wanted})
    return _refused(request, redirect, status, target)


async def forbidden(request: Request) -> Response:
    """403: signed in, but not in the groups the protected app asks for (they are named, the user's own are not)."""
    groups = ", ".join(sorted(flow.wanted_groups(request.query_params.get("groups", "")[:512]))) or "another group"
    key, status = refusal(Status.OUTSIDE_GROUP, "forward")
    text = message(key, user=request.state.user.username, groups=groups)
    return render_dialog(request, "partials/error.html", {"status": status, "error": text}, status, page="error.html")

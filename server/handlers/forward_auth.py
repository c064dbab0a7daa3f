"""``GET /auth/verify``: a reverse proxy asks, for every request to a protected app, whether to let it through."""

from starlette.requests import Request
from starlette.responses import Response

from server.targets import protected_app
from server.web import href

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


async def verify(request: Request) -> Response:
    """200 with ``Remote-User`` for a live, fully signed-in session; 401 with the sign-in path
    (``rd=`` the original URL, when it is a protected app's) in ``Location`` otherwise."""
    user = request.state.user
    if user is None:
        original = _original_url(request)
        query = {"rd": original} if protected_app(request, original) else None
        return Response(status_code=401, headers={**NEVER_STORE, "Location": href(request, "signin", query)})
    return Response(headers={**NEVER_STORE, "Remote-User": user.username})

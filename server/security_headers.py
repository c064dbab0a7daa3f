"""Security headers on every response, as a pure ASGI middleware."""

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def csp(frame_ancestors: tuple[str, ...], form_domains: tuple[str, ...] = ()) -> str:
    """A strict Content-Security-Policy: no inline scripts, no eval.

    ``form_domains`` (``MIROX_FORWARD_AUTH_DOMAINS``) join ``form-action``: browsers apply it to the
    redirect after a form too, and the sign-in form's redirect goes back to a protected app. No
    scheme: on an https page that means https only, as ``rd=`` allows.
    """
    ancestors = " ".join(frame_ancestors) if frame_ancestors else "'none'"
    forms = "".join(f" {domain}:* *.{domain}:*" for domain in form_domains)
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"object-src 'none'; base-uri 'none'; form-action 'self'{forms}; connect-src 'self'; "
        f"frame-ancestors {ancestors}"
    )


def apply(
    headers: MutableHeaders,
    scope: Scope,
    frame_ancestors: tuple[str, ...],
    static: bool | None = None,
    form_domains: tuple[str, ...] = (),
) -> None:
    """Add the security headers to one response.

    ``static`` says whether the request was for a static file; pass it when ``scope`` may
    already have been rewritten by routing (a ``Mount`` moves its prefix into ``root_path``).
    """
    headers["Content-Security-Policy"] = csp(frame_ancestors, form_domains)
    # Marks the app's own answers: the page's script shows an error dialog instead of swapping in
    # anything without it (a proxy's 502 page, uvicorn's plain 503).
    headers["X-Mirox-App"] = "1"
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(), payment=()"
    if not frame_ancestors:
        headers["X-Frame-Options"] = "DENY"
    if scope.get("scheme") == "https":
        headers["Strict-Transport-Security"] = "max-age=31536000"
    if static is None:
        static = _is_static(scope)
    if static:
        headers.setdefault("Cache-Control", "no-cache")
    else:
        headers["Cache-Control"] = "no-store"


def _is_static(scope: Scope) -> bool:
    path: str = scope.get("path", "")
    root: str = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :]
    return path.startswith("/static/")


class SecurityHeadersMiddleware:
    """Wraps ``send`` so every response, errors included, carries the headers."""

    def __init__(self, app: ASGIApp, frame_ancestors: tuple[str, ...] = (), form_domains: tuple[str, ...] = ()) -> None:
        self.app = app
        self.frame_ancestors = frame_ancestors
        self.form_domains = form_domains

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        static = _is_static(scope)  # now: routing rewrites root_path and path in place

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                apply(MutableHeaders(scope=message), scope, self.frame_ancestors, static, self.form_domains)
            await send(message)

        await self.app(scope, receive, send_with_headers)

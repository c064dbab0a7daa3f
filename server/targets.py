"""Where a sign-in may return to: ``next=`` (a path inside this app) or ``rd=`` (a protected app's URL).

One check for both: anything else leads to the start page, so no link can turn the sign-in
into an open redirect.
"""

import re
from urllib.parse import unquote, urlsplit

from starlette.requests import Request

from server.web import href, over_https, services

_DECODE_ROUNDS = 4
"""How many layers of percent-encoding a target may carry before it is refused."""

_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9.-]*[a-z0-9])?")


def _has_dot_segment(target: str) -> bool:
    """Whether the path part holds a "." or ".." segment, percent-encoded (even repeatedly) or not.

    Browsers resolve "/security/%2e%2e/x" to "/x": a prefix check alone would let ``next``
    leave the root path. Undecodable nesting counts as a dot segment.
    """
    path = target.split("?", 1)[0].split("#", 1)[0]
    for _ in range(_DECODE_ROUNDS):
        if any(segment in (".", "..") for segment in re.split(r"[/\\]", path)):
            return True
        decoded = unquote(path)
        if decoded == path:
            return False
        path = decoded
    return True


def _plain(target: str) -> bool:
    """Printable ASCII without backslashes: browsers drop tabs and newlines from URLs ("/\\t/evil"
    becomes "//evil") and read "\\" as "/", and ``HX-Redirect`` carries the value unquoted."""
    return target.isascii() and target.isprintable() and "\\" not in target and " " not in target


def _local(request: Request, target: str) -> bool:
    root = request.scope.get("root_path", "")
    return target.startswith(root + "/") and not target.startswith("//") and not _has_dot_segment(target)


def protected_app(request: Request, target: str) -> bool:
    """Whether ``target`` is an absolute URL of a protected app: a host in ``MIROX_FORWARD_AUTH_DOMAINS``
    (or below one), https (http only while this app itself is served over http), no user info."""
    domains = services(request).settings.forward_auth_domains
    if not domains or not _plain(target) or _has_dot_segment(target):
        return False
    try:
        url = urlsplit(target)
        _ = url.port  # raises on a port that is not a number
    except ValueError:
        return False
    schemes = ("https",) if over_https(request) else ("https", "http")
    host = url.hostname or ""
    if url.scheme not in schemes or "@" in url.netloc or not _HOST_NAME.fullmatch(host):
        return False
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def safe_target(request: Request, target: str) -> str:
    """``target`` when it is a path inside this app or a protected app's URL; else the start page."""
    if _plain(target) and (_local(request, target) or protected_app(request, target)):
        return target
    return href(request, "home")

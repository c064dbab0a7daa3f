"""The web side of the metrics: request latency per route, and ``/metrics`` for operators only."""

import functools
import hmac
import ipaddress
import time

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from server import metrics


class LatencyMiddleware:
    """Times every request under its route's name (never the path: ids would make endless series)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            route = scope.get("route")
            name = getattr(route, "name", None) or "unmatched"
            metrics.REQUEST_SECONDS.labels(name, scope["method"]).observe(time.perf_counter() - started)
            state = scope.get("state") or {}
            if "services" in state:
                metrics.sample_pool(state["services"].db)


@functools.lru_cache(maxsize=16)
def _networks(allowed: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in allowed)


def address_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in _networks(allowed) if network.version == address.version)


def token_ok(header: str, token: str) -> bool:
    """A configured bearer token, compared in constant time; no token configured admits nobody."""
    if not token:
        return False
    scheme, _, presented = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(presented.strip().encode(), token.encode())


async def endpoint(request: Request) -> Response:
    """``/metrics``: for the configured addresses, or anyone presenting the configured token."""
    settings = request.state.services.settings
    host = (request.client.host if request.client else None) or ""
    allowed = address_allowed(host, settings.metrics_allow) or token_ok(
        request.headers.get("authorization", ""), settings.metrics_token
    )
    if not allowed:
        return PlainTextResponse("Forbidden", status_code=403)
    metrics.sample_pool(request.state.services.db)
    return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})

"""Helpers several attack modules share (fixtures are in ``conftest.py``)."""

import re
from contextlib import AsyncExitStack

import httpx
from sqlalchemy import func, select
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from server.flows.throttling import SECOND_FACTOR_KEY
from server.services import Services
from server.settings import Settings
from server.tables import sessions
from tests.peek import throttle_failures
from tests.utils import alice_id, browser, isolated_state, signin_csrf, start_signin

PARALLEL = 20


async def session_count(svc: Services) -> int:
    row = await svc.db.fetch_one(
        select(func.count()).select_from(sessions).where(sessions.c.user_id == await alice_id(svc))
    )
    assert row is not None
    return int(row[0])


async def second_factor_failures(svc: Services, name: str = "alice") -> int:
    """The account's shared second-factor counter, straight from the database."""
    return await throttle_failures(svc.db, SECOND_FACTOR_KEY.format(await alice_id(svc, name)))


async def half_signed_in_browsers(
    stack: AsyncExitStack, app: object, count: int
) -> list[tuple[httpx.AsyncClient, str]]:
    """``count`` browsers, each past the password step of alice, each with its CSRF token ready."""
    result = []
    for i in range(count):
        b = await stack.enter_async_context(browser(app, ip=f"10.1.{i // 250}.{i % 250 + 1}"))
        await start_signin(b)
        result.append((b, await signin_csrf(b)))
    return result


def wait_of(html_text: str) -> int:
    """The wait a page asks for, in seconds (long waits read in whole minutes)."""
    match = re.search(r"Wait (\d+) (second|minute)s?\b", html_text)
    assert match, "no wait time on the page"
    return int(match.group(1)) * (60 if match.group(2) == "minute" else 1)


def behind_proxy_layer(app: object, settings: Settings, ip: str, headers: dict[str, str]) -> httpx.AsyncClient:
    """A browser at ``ip`` talking to the app through the proxy-header layer ``run.py`` serves it with.

    uvicorn believes ``X-Forwarded-For`` only from ``settings.trusted_proxies`` (see ``server/cli.py``).
    """
    layer = ProxyHeadersMiddleware(isolated_state(app), trusted_hosts=settings.trusted_proxies)  # type: ignore[arg-type]
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=layer, client=(ip, 5555)),
        base_url="http://testserver",
        headers=headers,
        follow_redirects=False,
    )

"""2FA bypass: after the password step (or before it) no route but the code step lets anyone in."""

from urllib.parse import urlsplit

import httpx
import pytest
from starlette.convertors import IntegerConvertor
from starlette.routing import Route

from server import store
from server.routes import routes
from tests.utils import (
    PASSWORD,
    PROFILE,
    TWO_FACTOR,
    add_user,
    alice_id,
    browser,
    code,
    db_snapshot,
    sign_in,
    signin_csrf,
    start_signin,
    submit_code,
)

ALLOWED_BEFORE_SECOND_FACTOR = {
    "signin",
    "signin_submit",
    "two_factor",
    "two_factor_submit",
    "backup_code",
    "backup_code_submit",
    "cancel_signin",
    "setup",
    "setup_submit",
    "healthz",
    "readyz",
    "metrics",  # operators' addresses or token, no account data (tests/http/test_metrics.py)
    "help_two_factor",  # the help text, the same for everyone (tests/http/test_two_factor_policy.py)
    "auth_verify",  # 401 to anyone not fully signed in (tests/security/test_forward_auth_attacks.py)
}
HTMX = [False, True]
HTMX_IDS = ["browser", "htmx"]


def user_routes() -> list[Route]:
    """Every route of the app's route table except sign-in, setup, health and static files."""
    found = [r for r in routes() if isinstance(r, Route) and r.name not in ALLOWED_BEFORE_SECOND_FACTOR]
    assert len(found) >= 14, [r.name for r in found]
    return found


def fill(route: Route, session_id: int) -> str:
    params = {
        name: session_id if isinstance(convertor, IntegerConvertor) else "AAAAAAAAAAAAAAAA"
        for name, convertor in route.param_convertors.items()
    }
    if "step" in params:
        params["step"] = "scan"
    return str(route.url_path_for(route.name, **params))


async def crawl(
    client: httpx.AsyncClient, session_id: int, data: dict[str, str], htmx: bool
) -> list[tuple[str, httpx.Response]]:
    """Every method of every user route, with the form ``data`` on the POSTs."""
    headers = {"HX-Request": "true"} if htmx else {}
    answers = []
    for route in user_routes():
        path = fill(route, session_id)
        for method in sorted(route.methods or ()):
            if method == "POST":
                response = await client.post(path, data=data, headers=headers)
            else:
                response = await client.request(method, path, headers=headers)
            answers.append((f"{method} {path}", response))
    assert len(answers) >= 20
    return answers


def redirect_target(response: httpx.Response, htmx: bool) -> str:
    """Where an empty redirect answer sends the browser (path only)."""
    assert response.content == b""
    if htmx:
        assert response.status_code == 200
        return urlsplit(response.headers["HX-Redirect"]).path
    assert response.status_code == 303
    return urlsplit(response.headers["location"]).path


@pytest.mark.parametrize("htmx", HTMX, ids=HTMX_IDS)
async def test_half_signed_in_user_reaches_no_user_route(client, other_client, svc, signed_out_with_2fa, clock, htmx):
    """Every user route, GET and POST, sends a half-signed-in browser to the two-factor screen."""
    await start_signin(other_client)
    assert (await submit_code(other_client, code(signed_out_with_2fa.secret, clock))).status_code == 303
    other_session = next(iter(await store.list_sessions(svc.db, await alice_id(svc), clock(), 3600)))
    await start_signin(client)
    token = await signin_csrf(client)
    before = await db_snapshot(svc)
    data = {"csrf_token": token, "code": code(signed_out_with_2fa.secret, clock), "password": PASSWORD}
    for where, response in await crawl(client, other_session.id, data, htmx):
        assert redirect_target(response, htmx) == TWO_FACTOR, where
        assert not client.cookies.get("mirox_session"), where
    assert await db_snapshot(svc) == before
    assert (await other_client.get(PROFILE)).status_code == 200
    assert (await submit_code(client, code(signed_out_with_2fa.secret, clock, 1))).status_code == 303


@pytest.mark.parametrize("htmx", HTMX, ids=HTMX_IDS)
async def test_signed_out_browser_reaches_no_user_route(app, client, svc, signed_out_with_2fa, clock, htmx):
    """Without any sign-in step every user route, GET and POST, sends the browser to the password step."""
    await start_signin(client)
    assert (await submit_code(client, code(signed_out_with_2fa.secret, clock))).status_code == 303
    mine = next(iter(await store.list_sessions(svc.db, await alice_id(svc), clock(), 3600)))
    before = await db_snapshot(svc)
    async with browser(app, ip="192.0.2.7") as stranger:
        data = {"csrf_token": await signin_csrf(stranger), "code": code(signed_out_with_2fa.secret, clock)}
        for where, response in await crawl(stranger, mine.id, data, htmx):
            assert redirect_target(response, htmx) == "/signin", where
            assert not stranger.cookies.get("mirox_session"), where
    assert await db_snapshot(svc) == before
    assert (await client.get(PROFILE)).status_code == 200


async def test_pending_cookie_of_one_user_is_no_session_for_another(client, svc, signed_out_with_2fa):
    """A pending token is not a session: pages still ask for the code, not for bob's data."""
    await add_user(svc, "bob")
    await start_signin(client)
    page = await client.get("/")
    assert page.status_code == 303
    assert page.headers["location"] == TWO_FACTOR


async def test_password_alone_gives_no_session_cookie(client, signed_out_with_2fa):
    """After the password, the browser holds only a pending token, never a session cookie."""
    response = await sign_in(client)
    assert response.status_code == 303
    assert response.headers["location"].startswith(TWO_FACTOR)
    assert not client.cookies.get("mirox_session")
    assert client.cookies.get("mirox_pending")
    set_cookies = response.headers.get_list("set-cookie")
    pending = next(c for c in set_cookies if c.startswith("mirox_pending="))
    assert "HttpOnly" in pending and "SameSite=lax" in pending
    assert "Max-Age=300" in pending


async def test_code_without_password_step_is_refused(client, signed_out_with_2fa, clock):
    """Posting a code without a pending sign-in leads back to the password step."""
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?")
    assert not client.cookies.get("mirox_session")

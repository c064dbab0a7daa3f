"""CSRF: every POST route refuses forged and cross-site requests and changes nothing; GET on them is 405."""

import pytest
from starlette.convertors import IntegerConvertor
from starlette.routing import Route

from server.routes import routes
from server.web import Access
from tests.utils import (
    PASSWORD,
    PROFILE,
    add_user,
    browser,
    click_enable,
    code,
    csrf,
    db_snapshot,
    enrollment_path,
    session_id_of,
    shows,
    sign_in,
    signin_csrf,
    start_signin,
    user_row,
)

POST_ROUTES = [r for r in routes() if isinstance(r, Route) and r.methods and "POST" in r.methods]
GET_PATHS = {r.path for r in routes() if isinstance(r, Route) and r.methods and "GET" in r.methods}
POST_ONLY = [r for r in POST_ROUTES if r.path not in GET_PATHS]
FORM = {
    "username": "alice",
    "password": PASSWORD,
    "confirm": PASSWORD,
    "code": "123456",
    "then": "signout_others",
    "token": "x",
    "next": "/profile",
}


def path_of(route: Route, values: dict[str, object]) -> str:
    """The route's path, path parameters filled from ``values`` or with dummies."""
    params = {
        name: values.get(name, 1 if isinstance(convertor, IntegerConvertor) else "dummy")
        for name, convertor in route.param_convertors.items()
    }
    return str(route.url_path_for(route.name, **params))


@pytest.fixture
async def victim(client, other_client, svc):
    """alice signed in on ``client`` (with an Enable dialog open) and on ``other_client``.

    Returns real values for the path parameters, so a request that got through would do harm.
    """
    assert POST_ROUTES, "no POST routes found"
    await add_user(svc)
    await sign_in(client)
    await sign_in(other_client)
    step1 = await click_enable(client)
    enrollment = enrollment_path(step1.text).rsplit("/", 1)[1]
    return {"session_id": await session_id_of(svc, "10.0.0.9"), "enrollment": enrollment}


PENDING_ROUTES = {r.name for r in POST_ROUTES if getattr(r, "rule", None) and r.rule.access is Access.PENDING}


async def assert_refused(response, route: Route) -> None:
    """403, except on a form of a pending sign-in this browser does not have: that only leads
    away (to sign-in, or home), before the CSRF check, so an expired sign-in never reads as an attack."""
    if route.name in PENDING_ROUTES:
        assert response.status_code == 303, (route.name, response.status_code, response.text[:300])
        assert response.headers["location"].split("?")[0] in ("/", "/signin"), route.name
        return
    assert response.status_code == 403, (route.name, response.status_code, response.text[:300])
    assert shows(response.text, "error.csrf"), route.name


@pytest.mark.parametrize("attack", ["wrong token", "cross-site Origin"])
async def test_forms_of_a_live_pending_signin_check_csrf(client, signed_out_with_2fa, clock, attack):
    """While a pending sign-in lives, its forms refuse forged requests (403) and a valid code is not spent."""
    await start_signin(client)
    fields, headers = ATTACKS[attack]
    token = await signin_csrf(client)
    data = {
        "code": code(signed_out_with_2fa.secret, clock),
        **(fields if fields is not None else {"csrf_token": token}),
    }
    for route in POST_ROUTES:
        if route.name in PENDING_ROUTES:
            response = await client.post(path_of(route, {}), data=data, headers=headers)
            assert response.status_code == 403, route.name
            assert shows(response.text, "error.csrf"), route.name
    assert (await client.get("/signin/two-factor")).status_code == 200
    assert not client.cookies.get("mirox_session")


@pytest.mark.parametrize("route", POST_ROUTES, ids=[r.name for r in POST_ROUTES])
async def test_post_without_token_is_refused_and_changes_nothing(client, other_client, svc, victim, route):
    """A signed-in browser's POST without a CSRF token gets 403 and leaves the database as it was."""
    before = await db_snapshot(svc)
    response = await client.post(path_of(route, victim), data=FORM)
    await assert_refused(response, route)
    assert await db_snapshot(svc) == before
    assert (await other_client.get("/profile")).status_code == 200


async def test_post_without_token_is_refused_when_signed_out(app, svc):
    """Signed-out browsers (login CSRF, setup, two-factor steps) are refused just the same."""
    await add_user(svc)
    before = await db_snapshot(svc)
    async with browser(app) as anonymous:
        await anonymous.get("/signin")
        for route in POST_ROUTES:
            await assert_refused(await anonymous.post(path_of(route, {}), data=FORM), route)
    assert await db_snapshot(svc) == before


ATTACKS = {
    "wrong token": ({"csrf_token": "A" * 43}, {}),
    "non-ASCII token": ({"csrf_token": "é" * 43}, {}),
    "wrong header token": ({}, {"X-CSRF-Token": "A" * 43}),
    "cross-site Origin": (None, {"Origin": "https://evil.example"}),
    "null Origin": (None, {"Origin": "null"}),
    "other scheme Origin": (None, {"Origin": "https://testserver"}),
    "Sec-Fetch-Site cross-site": (None, {"Sec-Fetch-Site": "cross-site"}),
    "Sec-Fetch-Site same-site": (None, {"Sec-Fetch-Site": "same-site"}),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_forged_requests_are_refused_on_every_route(client, other_client, svc, victim, attack):
    """Wrong tokens, and valid tokens sent from another site, get 403 on every POST route."""
    fields, headers = ATTACKS[attack]
    token = await csrf(client, "/profile")
    data = {**FORM, **(fields if fields is not None else {"csrf_token": token})}
    before = await db_snapshot(svc)
    for route in POST_ROUTES:
        await assert_refused(await client.post(path_of(route, victim), data=data, headers=headers), route)
    assert await db_snapshot(svc) == before
    assert (await other_client.get("/profile")).status_code == 200


async def test_token_of_another_session_is_refused(client, other_client, svc, victim):
    """A token is bound to its session: another browser's valid token does not work here."""
    theirs = await csrf(other_client, "/profile")
    assert theirs != await csrf(client, "/profile")
    before = await db_snapshot(svc)
    for route in POST_ROUTES:
        response = await client.post(path_of(route, victim), data={**FORM, "csrf_token": theirs})
        await assert_refused(response, route)
    assert await db_snapshot(svc) == before


async def test_token_from_before_sign_in_stops_working(client, svc):
    """The token of the signed-out page is not accepted once the browser has a session."""
    await add_user(svc)
    before_sign_in = await csrf(client, "/signin")
    await client.post("/signin", data={"csrf_token": before_sign_in, "username": "alice", "password": PASSWORD})
    response = await client.post("/signout", data={"csrf_token": before_sign_in})
    assert response.status_code == 403
    assert (await client.get("/profile")).status_code == 200


async def test_header_token_is_accepted_like_the_form_field(client, other_client, svc, victim):
    """htmx sends the token as X-CSRF-Token; that alone is enough."""
    token = await csrf(client, "/profile")
    response = await client.post(
        f"/sessions/{victim['session_id']}/signout", headers={"X-CSRF-Token": token, "HX-Request": "true"}
    )
    assert response.status_code == 200
    assert shows(response.text, "sessions.signed_out_one")
    assert (await other_client.get("/profile")).status_code == 303


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://testserver"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "none"},
        {"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin"},
    ],
    ids=["same Origin", "same-origin fetch", "user-initiated fetch", "both"],
)
async def test_same_origin_requests_with_token_are_accepted(client, svc, headers):
    """What a real browser sends for the app's own forms goes through."""
    await add_user(svc)
    token = await csrf(client, "/signin")
    response = await client.post(
        "/signin", data={"csrf_token": token, "username": "alice", "password": PASSWORD}, headers=headers
    )
    assert response.status_code == 303
    assert (await client.get("/profile")).status_code == 200


async def test_get_on_every_post_only_route_is_405_and_changes_nothing(client, svc, victim):
    """A link or image pointing at an action (GET) is refused with 405 and does nothing."""
    assert len(POST_ONLY) >= 6, [r.name for r in POST_ONLY]
    before = await db_snapshot(svc)
    for route in POST_ONLY:
        response = await client.get(path_of(route, victim) + "?csrf_token=x&code=123456")
        assert response.status_code == 405, (route.name, response.status_code)
        assert "POST" in response.headers["allow"], route.name
        assert shows(response.text, "error.method"), route.name
    assert await db_snapshot(svc) == before


async def test_disable_without_csrf_token_is_refused(client, svc, clock, signed_in_with_2fa):
    """A forged form without the CSRF token cannot turn 2FA off, even with a valid code."""
    response = await client.post("/profile/2fa/disable", data={"code": code(signed_in_with_2fa.secret, clock)})
    assert response.status_code == 403
    assert shows(response.text, "error.csrf")
    assert (await user_row(svc))["totp_secret_sealed"] is not None


async def test_disable_from_another_origin_is_refused(client, svc, clock, signed_in_with_2fa):
    """A cross-site request is refused even with a valid token and code."""
    token = await csrf(client, PROFILE)
    response = await client.post(
        "/profile/2fa/disable",
        data={"csrf_token": token, "code": code(signed_in_with_2fa.secret, clock)},
        headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert (await user_row(svc))["totp_secret_sealed"] is not None

"""Re-authentication is declared in the route table: every fresh route refuses a stale session."""

import re

import pytest
from starlette.routing import Route

from server.handlers.common import disable_allowed, two_factor_off, two_factor_on
from server.messages import message
from server.routes import routes
from server.web import GuardedRoute
from tests.utils import (
    PASSWORD,
    db_snapshot,
    post,
    shows,
    signed_in_without_two_factor,
    user_with_two_factor,
)


async def state(svc) -> dict[str, object]:
    """What a sensitive action could change: every table but the activity marks of the sessions."""
    snapshot = await db_snapshot(svc)
    snapshot["sessions"] = [row[:1] for row in snapshot["sessions"]]
    return snapshot


FRESH = [r for r in routes() if isinstance(r, GuardedRoute) and r.rule.fresh]


def test_the_sensitive_actions_are_fresh_and_check_2fa_is_not():
    """Enable, New Backup Codes, Disable, signing out the others and the security-key actions need the password;
    Check 2FA does not."""
    assert {r.name for r in FRESH} == {
        "security_keys",
        "key_options",
        "key_add",
        "key_remove",
        "enable_2fa",
        "new_backup_code",
        "new_backup_code_submit",
        "disable_2fa",
        "disable_2fa_submit",
        "sessions_signout_others",
    }
    assert {method for r in FRESH for method in r.methods or ()} >= {"GET", "POST"}


def test_a_fresh_submit_resumes_at_a_route_that_opens_its_action():
    """A submit that needs a code continues, after the password, at a fresh GET route of the same path
    (or of the section it belongs to: the security-key actions reopen the Security keys section)."""
    by_name = {r.name: r for r in routes() if isinstance(r, Route)}
    for route in FRESH:
        if route.rule.resume is not None:
            target = by_name[route.rule.resume]
            assert isinstance(target, GuardedRoute) and target.rule.fresh
            assert route.path.startswith(target.path) and target.methods and "GET" in target.methods


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
@pytest.mark.parametrize("route", FRESH, ids=[r.name for r in FRESH])
async def test_every_fresh_route_refuses_a_stale_session(client, svc, clock, route, htmx):
    """Eleven minutes after sign-in each fresh route answers the password prompt (naming the user, the action
    and, for password managers, the username), and changes nothing."""
    assert not route.param_convertors, "a fresh route with URL parameters needs its own test"
    if route.rule.precondition is two_factor_off:
        await signed_in_without_two_factor(client, svc)
    else:
        await user_with_two_factor(client, svc, clock)
    clock.advance(11 * 60)
    before = await state(svc)
    method = "GET" if route.methods and "GET" in route.methods else "POST"
    headers = {"HX-Request": "true"} if htmx else {}
    expected = 403
    if method == "GET":
        response = await client.get(route.path, headers=headers)
    else:
        response = await post(client, route.path, {"code": "123456"}, htmx=htmx)
        if not htmx:  # a plain form is redirected to the prompt's own page (Back and reload stay harmless)
            assert response.status_code == 303, response.text[:300]
            assert response.headers["location"] == f"/profile/reauth?then={route.name}"
            response, expected = await client.get(response.headers["location"]), 200
    assert response.status_code == expected, response.text[:300]
    assert shows(response.text, "reauth.needed")
    action = message(f"reauth.action.{route.name}")
    assert shows(response.text, "reauth.for", action=action, user="alice"), "the prompt names the user and the action"
    assert re.search(
        r'<input[^>]*name="username"[^>]*autocomplete="username"[^>]*value="alice"[^>]*readonly', response.text
    )
    assert f'name="then" value="{route.name}"' in response.text
    assert 'type="password"' in response.text
    assert (response.headers.get("HX-Retarget") == "#modal-root") is htmx
    assert await state(svc) == before


@pytest.mark.parametrize(
    "route", [r for r in FRESH if r.rule.precondition in (two_factor_on, disable_allowed)], ids=lambda r: r.name
)
async def test_two_factor_off_is_said_before_the_password_prompt(client, svc, clock, route):
    """With 2FA off, a stale session hears "2FA is off" on New Backup Codes and Disable, not the prompt."""
    await signed_in_without_two_factor(client, svc)
    clock.advance(11 * 60)
    if route.methods and "GET" in route.methods:
        response = await client.get(route.path, headers={"HX-Request": "true"})
    else:
        response = await post(client, route.path, {"code": "123456"}, htmx=True)
    assert response.status_code == 200
    assert shows(response.text, "card.not_on")
    assert not shows(response.text, "reauth.needed")


@pytest.mark.parametrize("then", ["check_2fa_submit", "signout", "profile", "/profile/2fa/disable", "", "x" * 100])
async def test_the_password_prompt_continues_only_to_fresh_routes(client, svc, clock, then):
    """A ``then`` that is not a fresh route's name is refused with 400 before the password is even checked."""
    await user_with_two_factor(client, svc, clock)
    clock.advance(11 * 60)
    before = await state(svc)
    response = await post(client, "/profile/reauth", {"password": PASSWORD, "then": then})
    assert response.status_code == 400
    assert shows(response.text, "error.bad_request")
    assert await state(svc) == before

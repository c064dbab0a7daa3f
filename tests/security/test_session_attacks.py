"""Session attacks: fixation, revocation, expiry, and other people's sessions."""

from urllib.parse import parse_qs, urlsplit

import pytest

from server import store
from server.flows import account
from tests.utils import (
    PASSWORD,
    PROFILE,
    add_user,
    browser_with_cookie,
    code,
    cookie_attributes,
    post,
    session_cookie,
    session_id_of,
    shows,
    sign_in,
    signed_in,
    start_signin,
    submit_backup_code,
    submit_code,
)

PLANTED = "attacker-chosen-value-0123456789abcdefghijkl"


def sign_in_target(response) -> str:
    """Where a redirect to the sign-in page will return to (its ``next``)."""
    location = urlsplit(response.headers["location"])
    assert location.path == "/signin"
    return parse_qs(location.query)["next"][0]


def asks_for_password(response, then: str) -> bool:
    return (
        response.status_code == 403
        and shows(response.text, "reauth.needed")
        and f'name="then" value="{then}"' in response.text
        and 'type="password"' in response.text
    )


# ---- fixation: a new token at every authentication step ---------------------------------------


@pytest.mark.parametrize("second_factor", ["app code", "backup code"])
async def test_planted_session_cookie_is_replaced_at_each_two_factor_step(
    app, client, signed_out_with_2fa, clock, second_factor
):
    """A cookie planted before sign-in is dropped at the password step, and the code step issues a new one."""
    client.cookies.set("mirox_session", PLANTED, domain="testserver.local")  # planted for this very host
    password_step = await sign_in(client)
    assert password_step.status_code == 303
    assert cookie_attributes(password_step, "mirox_session")["value"] in ("", '""')
    pending = client.cookies.get("mirox_pending")
    assert pending and pending != PLANTED
    if second_factor == "app code":
        response = await submit_code(client, code(signed_out_with_2fa.secret, clock))
    else:
        response = await submit_backup_code(client, signed_out_with_2fa.backup_code)
    assert response.status_code == 303
    issued = cookie_attributes(response, "mirox_session")["value"]
    assert issued not in (PLANTED, pending, "")
    assert await signed_in(client)
    for stale in (PLANTED, pending):
        async with browser_with_cookie(app, stale) as attacker:
            assert not await signed_in(attacker)


async def test_planted_session_cookie_is_never_reused(app, client, svc):
    """A session cookie set before sign-in (session fixation) is replaced and never becomes valid."""
    await add_user(svc)
    planted = "attacker-chosen-value-0123456789abcdefghijkl"
    client.cookies.set("mirox_session", planted)
    response = await sign_in(client)
    assert response.status_code == 303
    issued = cookie_attributes(response, "mirox_session")["value"]
    assert issued and issued != planted
    async with browser_with_cookie(app, planted) as attacker:
        assert not await signed_in(attacker)


async def test_session_expires_after_thirty_idle_minutes(client, svc, clock):
    """Activity keeps a session alive; 30 minutes without any ends it."""
    await add_user(svc)
    await sign_in(client)
    for _ in range(3):
        clock.advance(29 * 60)
        assert await signed_in(client)
    clock.advance(30 * 60 + 1)
    response = await client.get("/profile")
    assert response.status_code == 303
    assert sign_in_target(response) == "/profile"
    clock.advance(-20 * 60)
    assert not await signed_in(client), "an expired session does not come back"


async def test_session_ends_twelve_hours_after_sign_in_however_active(client, svc, clock):
    """Even a session in constant use ends 12 hours after its sign-in."""
    await add_user(svc)
    await sign_in(client)
    for _ in range(28):
        clock.advance(25 * 60)
        assert await signed_in(client)
    clock.advance(12 * 60 * 60 - 28 * 25 * 60 - 1)
    assert await signed_in(client)
    clock.advance(1)
    assert not await signed_in(client)


async def test_remote_sign_out_from_the_session_list(client, other_client, svc):
    """Signing out another browser from the list sends that browser to sign-in on its next request."""
    await add_user(svc)
    await sign_in(client)
    await sign_in(other_client)
    other_id = await session_id_of(svc, "10.0.0.9")
    response = await post(client, f"/sessions/{other_id}/signout", htmx=True)
    assert response.status_code == 200
    assert shows(response.text, "sessions.signed_out_one")
    assert "10.0.0.9" not in response.text
    refused = await other_client.get("/profile")
    assert refused.status_code == 303
    assert sign_in_target(refused) == "/profile"
    assert await signed_in(client)


async def test_pending_signin_expires_after_5_minutes(client, signed_out_with_2fa, clock):
    """Five minutes after the password the code no longer helps: back to the password step."""
    await start_signin(client)
    clock.advance(5 * 60 + 1)
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?")
    assert not client.cookies.get("mirox_session")
    page = await client.get(response.headers["location"])
    assert shows(page.text, "signin.expired")
    assert (await client.get(PROFILE)).headers["location"].startswith("/signin")


async def test_reauthentication_is_per_session(client, other_client, clock, signed_in_with_2fa):
    """Confirming the password in one browser does not unlock another browser's session."""
    await start_signin(other_client)
    assert (await submit_code(other_client, code(signed_in_with_2fa.secret, clock))).status_code == 303
    clock.advance(11 * 60)
    assert (await post(client, "/profile/reauth", {"password": PASSWORD, "then": "disable_2fa"})).status_code == 200
    response = await other_client.get("/profile/2fa/disable")
    assert asks_for_password(response, "disable_2fa")


async def test_new_password_ends_sessions_and_half_finished_signins(
    client, other_client, svc, clock, signed_in_with_2fa
):
    """Setting a new password (the remedy for a stolen one) ends every session and pending sign-in."""
    await start_signin(other_client)  # the thief, with the old password
    user = await store.get_user_by_key(svc.db, "alice")
    assert user is not None
    assert await account.set_password(svc, user, "a brand new passphrase") is None
    ended = await client.get("/profile")
    assert ended.status_code == 303
    assert ended.headers["location"].startswith("/signin")
    response = await submit_code(other_client, code(signed_in_with_2fa.secret, clock))
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?m=expired"
    assert session_cookie(other_client) is None


# ---- revocation -------------------------------------------------------------------------------


async def test_copy_of_a_signed_out_devices_cookie_is_refused_at_once(app, client, other_client, svc):
    """A stolen copy of a cookie dies with the session it belongs to, on the very next request."""
    await add_user(svc)
    await sign_in(client)
    await sign_in(other_client)
    stolen = session_cookie(other_client)
    async with browser_with_cookie(app, stolen) as thief:
        assert await signed_in(thief)
        other_id = await session_id_of(svc, "10.0.0.9")
        assert (await post(client, f"/sessions/{other_id}/signout", htmx=True)).status_code == 200
        assert not await signed_in(thief)
    assert not await signed_in(other_client)
    assert await signed_in(client)


# ---- other people's sessions --------------------------------------------------------------------


@pytest.mark.parametrize("htmx", [False, True], ids=["browser", "htmx"])
async def test_cannot_sign_out_another_users_session(client, other_client, svc, htmx):
    """Someone else's session id answers 404, like one that never existed, and that session keeps working."""
    await add_user(svc)
    await add_user(svc, "bob")
    await sign_in(client)
    await sign_in(other_client, "bob")
    bobs = await session_id_of(svc, "10.0.0.9")
    for session_id in (bobs, bobs + 1000):
        response = await post(client, f"/sessions/{session_id}/signout", htmx=htmx)
        assert response.status_code == 404
        assert shows(response.text, "sessions.not_found")
    assert await signed_in(other_client)
    assert await signed_in(client)

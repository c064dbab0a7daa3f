"""Sessions: fresh tokens, cookie attributes, sign-out and Managing Your Sessions (attacks: tests/security)."""

import html
import re

import pytest
from sqlalchemy import select

from server import store
from server.messages import message
from server.tables import security_events, sessions
from tests.utils import (
    PASSWORD,
    add_user,
    browser,
    browser_with_cookie,
    cookie_attributes,
    csrf,
    post,
    session_cookie,
    session_id_of,
    shows,
    sign_in,
    signed_in,
    try_password,
)

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


# ---- the token ------------------------------------------------------------------------


async def test_every_sign_in_issues_a_new_token(client, svc):
    """Signing in again, or after signing out, never hands out a token seen before."""
    await add_user(svc)
    seen = set()
    for _ in range(3):
        response = await sign_in(client)
        assert response.status_code == 303
        seen.add(session_cookie(client))
        token = await csrf(client, "/profile")
        again = await client.post("/signin", data={"csrf_token": token, "username": "alice", "password": PASSWORD})
        assert again.status_code == 303
        seen.add(session_cookie(client))
        await post(client, "/signout", page="/profile")
    assert len(seen) == 6


async def test_cookie_is_http_only_lax_and_site_wide(client, svc):
    """Over http the session cookie is HttpOnly, SameSite=Lax, Path=/ (and cannot be Secure)."""
    await add_user(svc)
    response = await sign_in(client)
    cookie = cookie_attributes(response, "mirox_session")
    assert "httponly" in cookie
    assert cookie["samesite"].lower() == "lax"
    assert cookie["path"] == "/"
    assert "domain" not in cookie
    assert "secure" not in cookie


async def test_cookie_over_https_is_host_prefixed_and_secure(app, svc):
    """Over https the cookie is ``__Host-mirox_session``: Secure, HttpOnly, SameSite=Lax, Path=/, no Domain."""
    await add_user(svc)
    async with browser(app, https=True) as b:
        token = await csrf(b, "/signin")
        assert "mirox_pre" not in b.cookies
        response = await b.post("/signin", data={"csrf_token": token, "username": "alice", "password": PASSWORD})
        assert response.status_code == 303
        cookie = cookie_attributes(response, "__Host-mirox_session")
        assert "secure" in cookie
        assert "httponly" in cookie
        assert cookie["samesite"].lower() == "lax"
        assert cookie["path"] == "/"
        assert "domain" not in cookie
        assert not any(h.startswith("mirox_session=") for h in response.headers.get_list("set-cookie"))
        assert (await b.get("/profile")).status_code == 200


# ---- expiry ----------------------------------------------------------------------------------


async def test_idle_expiry_stays_exact_to_the_second_when_requests_come_fast(client, svc, clock):
    """Requests less than a second apart are not each written, yet 30 idle minutes still count from the last one."""
    await add_user(svc)
    await sign_in(client)
    for _ in range(5):
        clock.advance(0.3)
        assert await signed_in(client)
    clock.advance(30 * 60 - 1)
    assert await signed_in(client), "the burst of requests kept the session alive"
    clock.advance(30 * 60 + 1)
    assert not await signed_in(client)


async def test_signed_out_session_is_refused_at_once_between_activity_writes(app, client, svc, clock):
    """A stolen copy of the cookie stops working the moment its owner signs out, within the same second."""
    await add_user(svc)
    await sign_in(client)
    token = session_cookie(client)
    clock.advance(0.2)
    assert await signed_in(client)
    assert (await post(client, "/signout", page="/profile")).status_code == 303
    async with browser_with_cookie(app, token) as thief:
        assert not await signed_in(thief)


# ---- signing out ------------------------------------------------------------------------------


async def test_sign_out_ends_the_session(app, client, svc):
    """Sign out clears the cookie, says so, and the old token no longer works anywhere."""
    await add_user(svc)
    await sign_in(client)
    token = session_cookie(client)
    response = await post(client, "/signout", page="/profile")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?m=signed_out"
    cleared = cookie_attributes(response, "mirox_session")
    assert cleared["value"] in ("", '""')
    assert cleared["max-age"] == "0"
    page = await client.get(response.headers["location"])
    assert shows(page.text, "signin.signed_out")
    assert not await signed_in(client)
    async with browser_with_cookie(app, token) as replay:
        assert not await signed_in(replay)
    assert await svc.db.fetch_all(select(sessions)) == []


# ---- Managing Your Sessions ------------------------------------------------------------------


async def test_session_list_shows_device_address_and_this_device(client, other_client, svc):
    """Each session shows its device summary and address; only the current one is marked This device."""
    await add_user(svc)
    await sign_in(client)
    await sign_in(other_client)
    page = (await client.get("/profile")).text
    section = re.search(r'<section id="sessions".*?</section>', page, re.S).group(0)
    entries = re.findall(r'<li class="session.*?</li>', section, re.S)
    assert len(entries) == 2
    firefox = next(e for e in entries if "10.0.0.9" in e)
    mine = next(e for e in entries if e is not firefox)
    assert "Firefox 121 on Linux" in firefox
    assert "This device" not in firefox
    assert "This device" in mine
    assert "127.0.0.1" in mine
    assert page.count("This device") == 1


async def test_signing_out_this_device_from_the_list_signs_out(client, svc):
    """The This device entry's Sign out ends the current session."""
    await add_user(svc)
    await sign_in(client)
    mine = await session_id_of(svc, "127.0.0.1")
    response = await post(client, f"/sessions/{mine}/signout")
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?m=signed_out"
    assert not await signed_in(client)


async def test_sign_out_all_other_sessions(app, client, other_client, svc):
    """Sign out all other sessions ends every other browser, keeps this one, and is logged."""
    await add_user(svc)
    await sign_in(client)
    await sign_in(other_client)
    async with browser(app, ip="10.0.0.77", user_agent=FIREFOX) as third:
        await sign_in(third)
        page = await client.get("/profile")
        assert "Sign out all other sessions" in page.text
        response = await post(client, "/sessions/signout-others")
        assert response.status_code == 303
        assert not await signed_in(other_client)
        assert not await signed_in(third)
    profile = await client.get("/profile")
    assert shows(profile.text, "sessions.signed_out_others")
    assert profile.text.count('<li class="session') == 1
    kinds = [row["kind"] for row in await svc.db.fetch_all(select(security_events.c.kind))]
    assert "sessions.signed_out_others" in kinds


async def test_sign_out_others_asks_for_the_password_after_a_while(client, other_client, svc, clock):
    """Ten minutes after sign-in, signing out the others first asks for the password again."""
    await add_user(svc)
    await sign_in(client)
    await sign_in(other_client)
    clock.advance(11 * 60)
    asked = await post(client, "/sessions/signout-others", htmx=True)
    assert asked.status_code == 403
    assert shows(asked.text, "reauth.needed")
    assert await signed_in(other_client)
    wrong = await post(client, "/profile/reauth", {"password": "not it", "then": "sessions_signout_others"}, htmx=True)
    assert wrong.status_code == 422
    assert await signed_in(other_client)
    done = await post(client, "/profile/reauth", {"password": PASSWORD, "then": "sessions_signout_others"}, htmx=True)
    assert done.status_code == 200
    assert html.escape(message("sessions.signed_out_others")) in done.text
    assert not await signed_in(other_client)
    assert await signed_in(client)


async def test_no_other_sessions_to_sign_out(client, svc):
    """With only this browser signed in, the list says there is nothing to sign out."""
    await add_user(svc)
    await sign_in(client)
    page = await client.get("/profile")
    assert "Sign out all other sessions" not in page.text
    response = await post(client, "/sessions/signout-others", htmx=True)
    assert response.status_code == 200
    assert shows(response.text, "sessions.none_other")


async def test_expired_sessions_leave_the_list(client, other_client, svc, clock):
    """A browser idle for 30 minutes disappears from the list of the others."""
    await add_user(svc)
    await sign_in(other_client)
    clock.advance(20 * 60)
    await sign_in(client)
    assert (await client.get("/profile")).text.count('<li class="session') == 2
    clock.advance(11 * 60)
    assert (await client.get("/profile")).text.count('<li class="session') == 1
    alice = await store.get_user_by_key(svc.db, "alice")
    assert len(await store.list_sessions(svc.db, alice.id, clock(), 30 * 60)) == 1


async def test_a_session_id_of_thousands_of_digits_is_not_found(client, svc):
    """A session id too long to be one (past Python's 4,300-digit int limit) is a 404, not a server error."""
    await add_user(svc)
    await sign_in(client)
    token = await csrf(client, "/profile")
    response = await client.post(f"/sessions/{'9' * 5000}/signout", data={"csrf_token": token})
    assert response.status_code == 404
    assert (await client.get("/profile")).status_code == 200


@pytest.mark.parametrize("htmx", [True, False], ids=["htmx", "plain"])
async def test_an_action_after_the_idle_timeout_leads_to_sign_in_and_back_to_the_page(client, svc, clock, htmx):
    """Clicking Enable on a Profile page left open past the idle timeout leads to the sign-in URL with next=/profile."""
    await add_user(svc)
    await sign_in(client)
    token = await csrf(client, "/profile")
    clock.advance(30 * 60 + 1)
    headers = {"HX-Request": "true", "HX-Current-URL": "https://testserver/profile"} if htmx else {}
    headers["Referer"] = "https://testserver/profile"
    response = await client.post("/profile/2fa/enable", data={"csrf_token": token}, headers=headers)
    target = response.headers["hx-redirect"] if htmx else response.headers["location"]
    assert target == "/signin?next=%2Fprofile&m=session_ended"
    page = await client.get(target)
    assert shows(page.text, "signin.session_ended") and 'name="next" value="/profile"' in page.text
    signed_in = await try_password(client, "alice", PASSWORD, next="/profile")
    assert signed_in.headers["location"] == "/profile"


async def test_a_foreign_referer_is_not_a_way_back(client, svc, clock):
    """Only a page of this app is remembered: another site's address in Referer gives no next."""
    await add_user(svc)
    await sign_in(client)
    token = await csrf(client, "/profile")
    clock.advance(30 * 60 + 1)
    response = await client.post(
        "/profile/2fa/enable", data={"csrf_token": token}, headers={"Referer": "https://evil.example/profile"}
    )
    assert response.headers["location"] == "/signin?m=session_ended"

"""``GET /auth/verify`` (forward auth) and the ``rd=`` return to a protected app after sign-in."""

import dataclasses
from html import escape
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from asgi_lifespan import LifespanManager

from server import store
from server.app import create_app
from server.services import open_services
from server.settings import Settings
from tests.utils import (
    PASSWORD,
    FakeClock,
    add_user,
    browser,
    code,
    csrf,
    csrf_of,
    post,
    sign_out,
    signed_in_without_two_factor,
    submit_code,
)

VERIFY = "/auth/verify"
APP_URL = "https://grafana.plant.example/d/line-3?from=now-6h&to=now"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, forward_auth_domains=("plant.example",))


async def _signin_from(client: httpx.AsyncClient, rd: str) -> httpx.Response:
    """Open the sign-in page as forward auth sends a browser there, and submit the password."""
    page = await client.get("/signin", params={"rd": rd})
    assert f'name="next" value="{escape(rd)}"' in page.text
    data = {"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD, "next": rd}
    return await client.post("/signin", data=data)


async def test_a_signed_in_browser_passes_with_its_username(client, svc):
    """A live, fully signed-in session: 200 with ``Remote-User``, never cacheable, no cookie set."""
    await signed_in_without_two_factor(client, svc)
    response = await client.get(VERIFY)
    assert response.status_code == 200
    assert response.headers["remote-user"] == "alice"
    assert response.headers["cache-control"] == "no-store"
    assert "set-cookie" not in response.headers
    assert response.content == b""


async def test_a_browser_without_a_session_gets_401_and_the_way_to_sign_in(client):
    """No session: 401, not cacheable, no cookie, no user; ``Location`` names the sign-in page."""
    response = await client.get(VERIFY)
    assert response.status_code == 401
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["location"] == "/signin"
    assert "remote-user" not in response.headers
    assert "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Original-URL": APP_URL},
        {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Host": "grafana.plant.example",
            "X-Forwarded-Uri": "/d/line-3?from=now-6h&to=now",
        },
    ],
    ids=["nginx", "traefik-caddy"],
)
async def test_the_401_carries_the_original_url_as_rd(client, headers):
    """The original URL the proxy names (nginx's or Traefik/Caddy's headers) comes back percent-encoded in ``rd=``."""
    location = (await client.get(VERIFY, headers=headers)).headers["location"]
    path, query = location.split("?", 1)
    assert path == "/signin"
    assert parse_qs(query) == {"rd": [APP_URL]}


async def test_signing_out_stops_access_on_the_next_request(client, svc):
    """Sign-out in Mirox: the very next question about that browser is answered 401."""
    await signed_in_without_two_factor(client, svc)
    assert (await client.get(VERIFY)).status_code == 200
    await sign_out(client)
    assert (await client.get(VERIFY)).status_code == 401


async def test_a_session_ended_elsewhere_or_by_an_administrator_stops_access(client, other_client, svc):
    """Signed out from the sessions list of another browser, or the account disabled: 401 at once."""
    await signed_in_without_two_factor(client, svc)
    assert (await _signin_plain(other_client)).status_code == 303
    sessions = await store.list_sessions(svc.db, (await store.get_user_by_key(svc.db, "alice")).id, svc.clock(), 1800)
    theirs = next(s for s in sessions if s.ip == "10.0.0.9")
    assert (await post(client, f"/sessions/{theirs.id}/signout", page="/profile")).status_code in (200, 303)
    assert (await other_client.get(VERIFY)).status_code == 401
    user = await store.get_user_by_key(svc.db, "alice")
    await store.disable_user(svc.db, user.id, svc.clock())
    assert (await client.get(VERIFY)).status_code == 401


async def _signin_plain(b: httpx.AsyncClient) -> httpx.Response:
    token = await csrf(b, "/signin")
    return await b.post("/signin", data={"csrf_token": token, "username": "alice", "password": PASSWORD})


async def test_an_idle_session_stops_passing(client, svc, clock: FakeClock):
    """A session past the idle timeout is refused like no session."""
    await signed_in_without_two_factor(client, svc)
    clock.advance(svc.settings.idle_timeout + 1)
    assert (await client.get(VERIFY)).status_code == 401


async def test_verify_takes_only_get(client, svc):
    """Forward auth is a question, not an action: other methods are 405 (the README's nginx config sends GET)."""
    await signed_in_without_two_factor(client, svc)
    assert (await client.post(VERIFY)).status_code == 405


async def test_rd_returns_to_the_protected_app_after_the_password(client, svc):
    """Without 2FA, the password leads straight back to the protected app's URL."""
    await add_user(svc)
    response = await _signin_from(client, APP_URL)
    assert response.status_code == 303
    assert response.headers["location"] == APP_URL


async def test_rd_returns_to_the_protected_app_after_the_code(client, svc, signed_out_with_2fa, clock):
    """With 2FA, ``rd=`` survives the password step and the 6-digit code leads back to the app."""
    response = await _signin_from(client, APP_URL)
    assert response.status_code == 303
    two_factor = response.headers["location"]
    assert parse_qs(urlsplit(two_factor).query) == {"next": [APP_URL]}
    page = await client.get(two_factor)
    assert f'name="next" value="{escape(APP_URL)}"' in page.text
    done = await submit_code(client, code(signed_out_with_2fa.secret, clock), next=APP_URL)
    assert done.status_code == 303
    assert done.headers["location"] == APP_URL


async def test_the_domain_itself_and_its_subdomains_are_protected_apps(client, svc):
    """A listed domain covers itself and every name below it, on any port."""
    await add_user(svc)
    for target in ("https://plant.example/", "https://a.b.plant.example:8443/x"):
        response = await _signin_from(client, target)
        assert response.headers["location"] == target
        await sign_out(client)


async def test_without_forward_auth_domains_rd_leads_to_the_start_page(settings, clock):
    """With ``MIROX_FORWARD_AUTH_DOMAINS`` empty (the default), no absolute URL is a return address."""
    plain = dataclasses.replace(settings, forward_auth_domains=())
    async with (
        LifespanManager(create_app(plain, clock=clock, announce=lambda _: None)) as manager,
        browser(manager) as b,
        open_services(plain, clock=clock) as services,
    ):
        await add_user(services)
        response = await _signin_from(b, APP_URL)
        assert response.headers["location"] == "/"


@pytest.fixture
async def shared_cookie_app(settings, clock):
    """The app with ``MIROX_COOKIE_DOMAIN=plant.example``, for protected apps on sibling subdomains."""
    shared = dataclasses.replace(settings, cookie_domain="plant.example")
    async with LifespanManager(create_app(shared, clock=clock, announce=lambda _: None)) as manager:
        async with open_services(shared, clock=clock) as services:
            await add_user(services)
        yield manager


async def test_a_cookie_domain_makes_the_session_cookie_secure_prefixed_with_that_domain(shared_cookie_app):
    """With a cookie domain, the session cookie is ``__Secure-`` with ``Domain=``; the others stay ``__Host-``."""
    async with browser(shared_cookie_app, https=True, host="security.plant.example") as b:
        page = await b.get("/signin")
        assert "__Host-mirox_pre=" in page.headers["set-cookie"]
        data = {"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD}
        response = await b.post("/signin", data=data)
        session = next(c for c in response.headers.get_list("set-cookie") if "mirox_session=" in c)
        assert session.startswith("__Secure-mirox_session=")
        assert "Domain=plant.example" in session and "Secure" in session and "HttpOnly" in session
        assert (await b.get(VERIFY)).headers["remote-user"] == "alice"
        signout = await post(b, "/signout", page="/profile")
        cleared = next(c for c in signout.headers.get_list("set-cookie") if "mirox_session=" in c)
        assert cleared.startswith('__Secure-mirox_session="";') and "Domain=plant.example" in cleared
        assert (await b.get(VERIFY)).status_code == 401


async def test_without_a_cookie_domain_the_session_cookie_stays_host_only(app, svc):
    """The default: ``__Host-`` over https, no ``Domain=``, so no other host ever receives it."""
    await add_user(svc)
    async with browser(app, https=True) as b:
        page = await b.get("/signin")
        data = {"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD}
        response = await b.post("/signin", data=data)
        session = next(c for c in response.headers.get_list("set-cookie") if "mirox_session=" in c)
        assert session.startswith("__Host-mirox_session=") and "Domain" not in session
        assert (await b.get(VERIFY)).headers["remote-user"] == "alice"


async def test_the_csp_lets_sign_in_forms_redirect_to_protected_apps_only(client):
    """``form-action`` (which browsers apply to a form's redirect) adds the listed domains, any port, no other host."""
    policy = (await client.get("/signin")).headers["content-security-policy"]
    assert "form-action 'self' plant.example:* *.plant.example:*;" in policy

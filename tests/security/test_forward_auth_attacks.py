"""Forward auth: ``rd=`` never returns a sign-in to a foreign site, and a half sign-in never passes ``/auth/verify``."""

import dataclasses
from urllib.parse import parse_qs, urlsplit

import pytest
from asgi_lifespan import LifespanManager

from server import store
from server.app import create_app
from server.settings import Settings
from tests.security.helpers import behind_proxy_layer
from tests.utils import PASSWORD, add_user, alice_id, browser, code, csrf_of, start_signin, submit_code

VERIFY = "/auth/verify"

FOREIGN = [
    "https://evil.example/",
    "https://evil.example/?https://app.plant.example/",
    "//evil.example/",
    "https://plant.example.evil.example/",
    "https://evilplant.example/",
    "https://app.plant.example.evil.example/",
    "https://app.plant-example.com/",
    "https://app.plant.examp1e/",
    "https://plant.example@evil.example/",
    "https://app.plant.example:443@evil.example/",
    "https://user:pw@app.plant.example/",
    "https://evil.example#@app.plant.example/",
    "https://evil.example\\@app.plant.example/",
    "https://evil.example%2f.plant.example/",
    "https://evil.example%40app.plant.example/",
    "https://evil。example/.plant.example",
    "https://app.plant.example%00.evil.example/",
    "https://app.plant.example:99999/",
    "https://app.plant.example:x/",
    "https://[::1]/",
    "javascript:alert(1)//app.plant.example",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://app.plant.example/",
    "http://app.plant.example/",
    "https:/evil.example/",
    "https:evil.example",
    "https:///evil.example/",
    "https:\\\\evil.example/",
    "/\\evil.example/",
    "\t//evil.example/",
    "https://app.plant.example\t.evil.example/",
    " https://app.plant.example/",
    "https://app.plant.example/../../evil",
    "https://app.plant.example/%2e%2e/admin",
]


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, forward_auth_domains=("plant.example",))


@pytest.fixture
async def https_client(app):
    """A browser that reached the app over https (as behind the TLS proxy)."""
    async with browser(app, https=True) as b:
        yield b


async def _password_with(b, rd: str):
    page = await b.get("/signin", params={"rd": rd})
    data = {"csrf_token": csrf_of(page.text), "username": "alice", "password": PASSWORD, "next": rd}
    return await b.post("/signin", data=data)


@pytest.mark.parametrize("rd", FOREIGN)
async def test_rd_to_anything_but_a_listed_domain_over_https_leads_to_the_start_page(https_client, svc, rd):
    """Foreign hosts, lookalikes, user info, scheme tricks, control characters, plain http over https: the start page."""
    await add_user(svc)
    response = await _password_with(https_client, rd)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.parametrize("rd", ["https://evil.example/", "https://plant.example@evil.example/"])
async def test_rd_to_a_foreign_site_is_refused_after_the_code_too(client, signed_out_with_2fa, clock, rd):
    """The code step checks ``next`` again: a tampered hidden field still lands on the start page."""
    await start_signin(client)
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock), next=rd)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Original-URL": "https://evil.example/"},
        {"X-Original-URL": "https://plant.example@evil.example/"},
        {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "X-Forwarded-Uri": "/"},
        {"X-Forwarded-Proto": "javascript", "X-Forwarded-Host": "app.plant.example", "X-Forwarded-Uri": "/"},
    ],
)
async def test_forged_original_url_headers_never_become_a_foreign_rd(client, headers):
    """Whoever sends ``X-Original-URL`` / ``X-Forwarded-*`` to ``/auth/verify``: a foreign URL is dropped from ``rd=``."""
    response = await client.get(VERIFY, headers=headers)
    assert response.status_code == 401
    assert response.headers["location"] == "/signin"


@pytest.mark.parametrize("original", [url for url in FOREIGN if url.isascii()])
async def test_behind_the_redirect_form_a_foreign_original_url_is_dropped_from_rd_too(https_client, original):
    """``?redirect=yes`` (Traefik): the same check of the original URL, so the redirect is to the sign-in without ``rd=``."""
    for headers in (
        {"X-Original-URL": original},
        {"X-Forwarded-Proto": "https", "X-Forwarded-Host": original, "X-Forwarded-Uri": "/"},
    ):
        response = await https_client.get(VERIFY, params={"redirect": "yes"}, headers=headers)
        assert response.status_code == 302
        assert response.headers["location"] == "/signin"


async def test_the_redirect_form_never_leads_off_the_public_url(settings, clock):
    """With ``MIROX_PUBLIC_URL``, a forged ``X-Forwarded-Host`` or ``Host`` changes neither the redirect's host nor ``rd=``."""
    public = dataclasses.replace(settings, public_url="https://security.plant.example")
    async with (
        LifespanManager(create_app(public, clock=clock, announce=lambda _: None)) as manager,
        browser(manager) as b,
    ):
        forged = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example", "X-Forwarded-Uri": "/"}
        for headers in (forged, {**forged, "Host": "evil.example", "X-Forwarded-Method": "POST"}):
            response = await b.get(VERIFY, params={"redirect": "yes"}, headers=headers)
            assert response.status_code in (302, 303)
            assert response.headers["location"] == "https://security.plant.example/signin"


async def test_forged_forwarding_headers_do_not_make_a_browser_signed_in(client):
    """``Remote-User`` or ``X-Forwarded-User`` sent by the client count for nothing: 401, no user named."""
    headers = {"Remote-User": "alice", "X-Forwarded-User": "alice", "X-Remote-User": "alice"}
    response = await client.get(VERIFY, headers=headers)
    assert response.status_code == 401
    assert "remote-user" not in response.headers


async def test_a_half_signed_in_browser_does_not_pass_verify(client, signed_out_with_2fa):
    """After the password but before the code (a pending sign-in): 401, and no ``Remote-User``."""
    await start_signin(client)
    response = await client.get(VERIFY)
    assert response.status_code == 401
    assert "remote-user" not in response.headers
    assert parse_qs(urlsplit(response.headers["location"]).query) == {}


async def test_x_forwarded_headers_from_an_untrusted_address_are_not_believed(app, settings, svc):
    """A browser at an address that is no trusted proxy claims https and another address: the app
    answers it as the plain-http client it is (no ``__Host-`` session cookie, its own address recorded)."""
    await add_user(svc)
    forged = {
        "X-Forwarded-Proto": "https",
        "X-Forwarded-For": "10.0.4.7",
        "X-Original-URL": "https://app.plant.example/",
    }
    async with behind_proxy_layer(app, settings, "203.0.113.7", forged) as hostile:
        response = await _password_with(hostile, "https://app.plant.example/")
        assert response.status_code == 303
        assert response.headers["set-cookie"].startswith("mirox_session=")
        assert (await hostile.get(VERIFY)).headers["remote-user"] == "alice"
    sessions = await store.list_sessions(svc.db, await alice_id(svc), svc.clock(), settings.idle_timeout)
    assert [s.ip for s in sessions] == ["203.0.113.7"]

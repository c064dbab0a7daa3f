"""``GET /auth/verify?redirect=yes`` (for Traefik, which hands refusals to the browser as they are):
every refusal is the redirect itself, to the same page on ``MIROX_PUBLIC_URL``; a pass is unchanged."""

import dataclasses
from urllib.parse import parse_qs, urlsplit

import pytest
from asgi_lifespan import LifespanManager

from server.app import create_app
from server.auth.policy import Scope
from server.flows import admin
from server.settings import Settings
from tests.utils import browser, shows, signed_in_without_two_factor

VERIFY = "/auth/verify"
MIROX = "https://security.plant.example"
APP_URL = "https://grafana.plant.example/d/line-3?from=now-6h&to=now"
TRAEFIK = {
    "X-Forwarded-Method": "GET",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "grafana.plant.example",
    "X-Forwarded-Uri": "/d/line-3?from=now-6h&to=now",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, forward_auth_domains=("plant.example",), public_url=MIROX + "/")


async def test_signed_out_the_answer_is_a_302_to_sign_in_on_the_public_url_with_rd(client):
    """No session: 302 to the sign-in on ``MIROX_PUBLIC_URL`` with ``rd=`` the app's URL; not cacheable, no cookie, no user, no body."""
    response = await client.get(VERIFY, params={"redirect": "yes"}, headers=TRAEFIK)
    assert response.status_code == 302
    location = response.headers["location"]
    assert location.startswith(MIROX + "/signin?")
    assert parse_qs(urlsplit(location).query) == {"rd": [APP_URL]}
    assert response.headers["cache-control"] == "no-store"
    assert "remote-user" not in response.headers
    assert "set-cookie" not in response.headers
    assert response.content == b""


@pytest.mark.parametrize(
    ("method", "status"),
    [("GET", 302), ("HEAD", 302), ("get", 302), ("POST", 303), ("PUT", 303), ("DELETE", 303), ("PATCH", 303)],
)
async def test_the_browsers_method_decides_between_302_and_303(client, method, status):
    """A refused GET or HEAD is a 302; any other method a 303, so the browser follows with a GET and never resends a form."""
    response = await client.get(VERIFY, params={"redirect": "yes"}, headers={**TRAEFIK, "X-Forwarded-Method": method})
    assert response.status_code == status
    assert response.headers["location"].startswith(MIROX + "/signin?rd=")


async def test_without_the_parameter_the_refusal_stays_a_401_with_the_path(client):
    """nginx's and Caddy's form is unchanged: 401 and the page's path, whatever the public URL."""
    response = await client.get(VERIFY, headers=TRAEFIK)
    assert response.status_code == 401
    assert response.headers["location"].startswith("/signin?rd=")


async def test_a_signed_in_browser_still_passes_with_its_name_and_groups(client, svc):
    """A live, fully signed-in session: 200 with ``Remote-User`` and ``Remote-Groups``, exactly as without the parameter."""
    await signed_in_without_two_factor(client, svc)
    await admin.add_to_group(svc, "operators", ["alice"])
    response = await client.get(VERIFY, params={"redirect": "yes", "groups": "operators"}, headers=TRAEFIK)
    assert response.status_code == 200
    assert response.headers["remote-user"] == "alice"
    assert response.headers["remote-groups"] == "operators"
    assert response.headers["cache-control"] == "no-store"
    assert "location" not in response.headers


async def test_outside_the_group_the_redirect_leads_to_the_group_page(client, svc):
    """Signed in but in none of ``?groups=``: 302 to the group page on the public URL; no user named."""
    await signed_in_without_two_factor(client, svc)
    response = await client.get(VERIFY, params={"redirect": "yes", "groups": "operators"}, headers=TRAEFIK)
    assert response.status_code == 302
    assert response.headers["location"] == MIROX + "/auth/forbidden?groups=operators"
    assert "remote-user" not in response.headers


async def test_overdue_for_two_factor_the_redirect_leads_to_the_setup_page(client, svc, clock):
    """2FA required, grace over, 2FA off: 302 to the setup page on the public URL."""
    await signed_in_without_two_factor(client, svc)
    await admin.set_policy(svc, Scope.EVERYONE, grace_days=0)
    clock.advance(1)
    response = await client.get(VERIFY, params={"redirect": "yes"}, headers=TRAEFIK)
    assert response.status_code == 302
    assert response.headers["location"] == MIROX + "/profile/2fa/required"


@pytest.mark.parametrize("value", ["", "no", "YES", "true", "1", "yes ", "x" * 5000])
async def test_any_other_value_of_redirect_is_refused_as_bad_input(client, svc, value):
    """``redirect=`` other than ``yes``: 400 saying the proxy's address is wrong, signed in or not; never a pass or a 500."""
    for signed_in in (False, True):
        if signed_in:
            await signed_in_without_two_factor(client, svc)
        response = await client.get(VERIFY, params={"redirect": value}, headers=TRAEFIK)
        assert response.status_code == 400
        assert shows(response.text, "forward.bad_redirect")
        assert response.headers["cache-control"] == "no-store"
        assert "location" not in response.headers
        assert "remote-user" not in response.headers


async def test_without_a_public_url_the_redirect_names_the_page_by_its_path(settings, clock):
    """``MIROX_PUBLIC_URL`` unset: the redirect's ``Location`` is the same path as the 401's."""
    plain = dataclasses.replace(settings, public_url="")
    async with (
        LifespanManager(create_app(plain, clock=clock, announce=lambda _: None)) as manager,
        browser(manager) as b,
    ):
        response = await b.get(VERIFY, params={"redirect": "yes"}, headers=TRAEFIK)
    assert response.status_code == 302
    assert response.headers["location"].startswith("/signin?rd=")

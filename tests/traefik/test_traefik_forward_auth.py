"""Forward auth through a real Traefik running the README's configuration: sign-in, return, groups,
sign-out, forged headers."""

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.caddy.harness import OPEN_APP_HOST
from tests.nginx.harness import MIROX_HOST, Stack, password, to_signin
from tests.servers import submit
from tests.traefik.harness import traefik_stack

__all__ = ["traefik_stack"]

FORGED = {"Remote-User": "admin", "Remote-Groups": "admins", "Remote-Email": "admin@plant.example"}


async def _signed_in(b: httpx.AsyncClient, s: Stack, name: str) -> None:
    """Through the app's redirect to sign-in and back: the app greets ``name``."""
    response = await password(b, await to_signin(b, s, "/"), name)
    assert response.status_code == 303, response.text
    assert f'id="greeting">Hello, {name}<' in (await b.get(s.app_url + "/")).text


async def test_signed_out_the_app_redirects_to_sign_in_and_the_password_returns_to_its_full_url(traefik_stack):
    """Signed out: a 302 (not Mirox's bare 401) to Mirox's sign-in with ``rd=`` the exact URL; the password returns there."""
    traefik_stack.add_user("nora")
    async with traefik_stack.browser() as b:
        original = traefik_stack.app_url + "/d/line-3?from=now-6h&to=now"
        response = await b.get(original)
        assert response.status_code == 302
        assert response.headers["cache-control"] == "no-store"
        signin_url = response.headers["location"]
        assert signin_url.startswith(f"{traefik_stack.mirox_url}/signin?")
        assert parse_qs(urlsplit(signin_url).query) == {"rd": [original]}
        back = await password(b, signin_url, "nora")
        assert back.status_code == 303
        assert back.headers["location"] == original
        page = await b.get(original)
        assert page.status_code == 200
        assert 'id="greeting">Hello, nora<' in page.text
        assert "remote-groups: <span>operators</span>" in page.text


async def test_a_signed_out_post_is_sent_to_sign_in_with_a_303(traefik_stack):
    """Signed out, a form's POST to the app: a 303 to the sign-in (the browser follows with a GET); the app gets nothing."""
    async with traefik_stack.browser() as b:
        response = await b.post(traefik_stack.app_url + "/api/save", content=b"x" * 1000)
    assert response.status_code == 303
    assert response.headers["location"].startswith(f"{traefik_stack.mirox_url}/signin?")
    assert "greeting" not in response.text


async def test_signing_out_in_mirox_closes_the_app_on_the_next_request(traefik_stack):
    """After sign-out in Mirox, the app's next request is refused with the redirect to sign-in."""
    traefik_stack.add_user("pia")
    async with traefik_stack.browser() as b:
        await _signed_in(b, traefik_stack, "pia")
        signed_out = await submit(b, traefik_stack.mirox_url + "/profile", traefik_stack.mirox_url + "/signout", {})
        assert signed_out.status_code == 303
        await to_signin(b, traefik_stack, "/")


async def test_an_upload_reaches_the_app_whole_and_mirox_is_not_sent_it(traefik_stack):
    """A signed-in POST of 1 MB (far over Mirox's own body limit): the app receives every byte."""
    traefik_stack.add_user("uli")
    async with traefik_stack.browser() as b:
        await _signed_in(b, traefik_stack, "uli")
        response = await b.post(traefik_stack.app_url + "/upload", content=b"x" * 1_000_000)
        assert response.status_code == 200
        assert '<p id="body">1000000 bytes</p>' in response.text


async def test_an_account_outside_the_apps_group_is_sent_to_the_403_page(traefik_stack):
    """Signed in but not in ``operators``: a redirect to Mirox's group page, which answers 403 and says why."""
    traefik_stack.add_user("vic", group=None)
    async with traefik_stack.browser() as b:
        assert (await password(b, await to_signin(b, traefik_stack, "/"), "vic")).status_code == 303
        refused = await b.get(traefik_stack.app_url + "/")
        assert refused.status_code == 302
        assert refused.headers["location"] == f"{traefik_stack.mirox_url}/auth/forbidden?groups=operators"
        page = await b.get(refused.headers["location"])
        assert page.status_code == 403
        assert "You are signed in as vic, but this app is only for members of operators." in page.text


async def test_a_forged_remote_user_or_group_never_reaches_the_app(traefik_stack):
    """A signed-in member sending ``Remote-User: admin``, ``Remote-Groups: admins`` (any spelling, underscores
    too): the app receives only the real name and groups, and no other ``Remote-*`` header."""
    traefik_stack.add_user("rita")
    async with traefik_stack.browser() as b:
        await _signed_in(b, traefik_stack, "rita")
        spellings = ({"remote-user": "admin"}, {"REMOTE-USER": "admin"}, {"Remote_User": "admin"}, FORGED)
        for forged in (*spellings, {"Remote_Groups": "admins"}, {"remote_email": "admin"}):
            page = await b.get(traefik_stack.app_url + "/", headers=forged)
            assert 'id="greeting">Hello, rita<' in page.text
            assert "remote-groups: <span>operators</span>" in page.text
            assert "admin" not in page.text


async def test_on_an_app_for_every_account_a_forged_group_never_fills_an_empty_remote_groups(traefik_stack):
    """The app router without ``groups=``: an account in no group gets in with an empty ``Remote-Groups``,
    never the ``Remote-Groups: admins`` it sent."""
    traefik_stack.add_user("ida", group=None)
    open_app = f"https://{OPEN_APP_HOST}:{traefik_stack.port}/"
    async with traefik_stack.browser() as b:
        assert (await password(b, await to_signin(b, traefik_stack, "/"), "ida")).status_code == 303
        page = await b.get(open_app, headers=FORGED)
        assert page.status_code == 200
        assert 'id="greeting">Hello, ida<' in page.text
        assert "admin" not in page.text


async def test_a_signed_out_client_with_forged_headers_is_sent_to_sign_in(traefik_stack):
    """No session plus ``Remote-User: admin``: Traefik never passes the request to the app."""
    async with traefik_stack.browser(**FORGED) as b:
        for url in (traefik_stack.app_url + "/", f"https://{OPEN_APP_HOST}:{traefik_stack.port}/"):
            response = await b.get(url)
            assert response.status_code == 302
            assert response.headers["location"].startswith(f"{traefik_stack.mirox_url}/signin")


async def test_the_return_address_is_the_real_url_whatever_the_client_claims(traefik_stack):
    """A client's ``X-Original-URL`` or ``X-Forwarded-Proto/Host/Uri/Method`` does not change ``rd=``: it is the URL it opened."""
    forged = {
        "X-Original-URL": "https://grafana.plant.example/evil",
        "X-Forwarded-Host": "other.plant.example",
        "X-Forwarded-Uri": "/evil",
        "X-Forwarded-Proto": "http",
        "X-Forwarded-Method": "POST",
    }
    async with traefik_stack.browser(**forged) as b:
        signin_url = await to_signin(b, traefik_stack, "/reports?week=48")
    assert parse_qs(urlsplit(signin_url).query) == {"rd": [traefik_stack.app_url + "/reports?week=48"]}


async def test_the_app_host_has_no_way_around_forward_auth(traefik_stack):
    """Every path and method of the protected app's host asks Mirox first."""
    async with traefik_stack.browser() as b:
        for path in ("/", "/static/x.js", "/a/%2e%2e/b", "/auth/verify", "/index.html?Remote-User=x"):
            assert (await b.get(traefik_stack.app_url + path)).status_code == 302, path
        assert (await b.post(traefik_stack.app_url + "/api", content=b"x" * 1000)).status_code == 303


async def test_mirox_behind_traefik_sees_https_and_the_browsers_address(traefik_stack):
    """Mirox's site: ``__Host-`` pre-sign-in cookie, ``Secure``, HSTS; the sessions list shows the browser's address."""
    traefik_stack.add_user("sami")
    async with traefik_stack.browser("127.0.0.2", **{"X-Forwarded-For": "10.9.9.9"}) as b:
        page = await b.get(traefik_stack.mirox_url + "/signin")
        assert page.status_code == 200
        assert page.headers["set-cookie"].startswith("__Host-mirox_pre=") and "Secure" in page.headers["set-cookie"]
        assert "max-age=" in page.headers["strict-transport-security"]
        await _signed_in(b, traefik_stack, "sami")
        sessions = (await b.get(traefik_stack.mirox_url + "/profile")).text
        assert "127.0.0.2" in sessions and "10.9.9.9" not in sessions


async def test_plain_http_is_sent_to_https(traefik_stack):
    """The README's web entry point: plain http to Mirox's host goes to https (on Traefik's https port)."""
    async with httpx.AsyncClient(follow_redirects=False) as b:
        response = await b.get(f"http://127.0.0.1:{traefik_stack.http_port}/signin", headers={"Host": MIROX_HOST})
    assert response.status_code in (301, 308)
    assert response.headers["location"] == f"https://{MIROX_HOST}:{traefik_stack.port}/signin"

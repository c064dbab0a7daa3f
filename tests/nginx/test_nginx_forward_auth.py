"""Forward auth through a real nginx running the README's configuration: sign-in, return, sign-out."""

from urllib.parse import parse_qs, urlsplit

import httpx

from tests.nginx.harness import MIROX_HOST, password, signed_in_outside_the_group, stack, to_signin
from tests.servers import code_for, enable_two_factor, step_now, submit

__all__ = ["stack"]


async def test_the_demo_app_leads_to_sign_in_and_back_with_its_full_url(stack):
    """Signed out: the app redirects to Mirox with ``rd=`` its exact URL (query intact); the password returns there."""
    stack.add_user("nora")
    async with stack.browser() as b:
        original = stack.app_url + "/d/line-3?from=now-6h&to=now"
        signin_url = await to_signin(b, stack, "/d/line-3?from=now-6h&to=now")
        assert parse_qs(urlsplit(signin_url).query) == {"rd": [original]}
        response = await password(b, signin_url, "nora")
        assert response.status_code == 303
        assert response.headers["location"] == original
        cookie = next(c for c in response.headers.get_list("set-cookie") if "mirox_session=" in c)
        assert cookie.startswith("__Secure-mirox_session=") and "Domain=plant.example" in cookie
        page = await b.get(original)
        assert page.status_code == 200
        assert 'id="greeting">Hello, nora<' in page.text


async def test_with_two_factor_the_code_returns_to_the_demo_app(stack):
    """Password, then the 6-digit code, then back on the demo app, which greets the user."""
    stack.add_user("omar")
    async with stack.browser() as b:
        signin_url = await to_signin(b, stack, "/")
        assert (await password(b, signin_url, "omar")).status_code == 303
        enrolled = await enable_two_factor(b, stack.mirox_url)
        await submit(b, stack.mirox_url + "/profile", stack.mirox_url + "/signout", {})
        signin_url = await to_signin(b, stack, "/reports")
        step = await password(b, signin_url, "omar")
        assert step.headers["location"].startswith("/signin/two-factor?next=")
        code_page = stack.mirox_url + step.headers["location"]
        code = code_for(enrolled.secret, max(step_now(), enrolled.step + 1))
        rd = parse_qs(urlsplit(code_page).query)["next"][0]
        done = await submit(b, code_page, stack.mirox_url + "/signin/two-factor", {"code": code, "next": rd})
        assert done.status_code == 303
        assert done.headers["location"] == stack.app_url + "/reports"
        assert 'id="greeting">Hello, omar<' in (await b.get(stack.app_url + "/reports")).text


async def test_signing_out_in_mirox_closes_the_demo_app_on_the_next_request(stack):
    """After sign-out in Mirox, the demo app's next request leads to sign-in again."""
    stack.add_user("pia")
    async with stack.browser() as b:
        assert (await password(b, await to_signin(b, stack, "/"), "pia")).status_code == 303
        assert (await b.get(stack.app_url + "/")).status_code == 200
        signed_out = await submit(b, stack.mirox_url + "/profile", stack.mirox_url + "/signout", {})
        assert signed_out.status_code == 303
        await to_signin(b, stack, "/")


async def test_mirox_behind_the_tls_config_sets_host_cookies_and_hsts(stack):
    """The README's TLS server: the app sees https (``__Host-`` pre-sign-in cookie, ``Secure``, HSTS)."""
    async with stack.browser() as b:
        page = await b.get(stack.mirox_url + "/signin")
        assert page.status_code == 200
        assert page.headers["set-cookie"].startswith("__Host-mirox_pre=") and "Secure" in page.headers["set-cookie"]
        assert "max-age=" in page.headers["strict-transport-security"]


async def test_plain_http_is_sent_to_https(stack):
    """The README's port-80 server redirects to https."""
    async with httpx.AsyncClient(follow_redirects=False) as b:
        response = await b.get(f"http://127.0.0.1:{stack.http_port}/signin", headers={"Host": MIROX_HOST})
    assert response.status_code == 301
    assert response.headers["location"] == f"https://{MIROX_HOST}/signin"


async def test_the_app_host_has_no_way_around_forward_auth(stack):
    """Every path of the protected app's host asks first, ``/mirox-verify`` itself included (internal: 404)."""
    async with stack.browser() as b:
        for path in ("/", "/static/x.js", "/a/%2e%2e/b", "/index.html?Remote-User=x"):
            assert (await b.get(stack.app_url + path)).status_code == 302, path
        assert (await b.get(stack.app_url + "/mirox-verify")).status_code == 404


async def test_the_app_receives_the_groups_and_refuses_non_members_with_a_clear_page(stack):
    """Members get ``Remote-Groups``; a signed-in account outside ``operators`` is sent to Mirox's 403 page."""
    stack.add_user("uma")
    stack.add_user("vic", group=None)
    async with stack.browser() as member:
        assert (await password(member, await to_signin(member, stack, "/"), "uma")).status_code == 303
        assert "remote-groups: <span>operators</span>" in (await member.get(stack.app_url + "/")).text
    async with stack.browser() as outsider:
        await signed_in_outside_the_group(outsider, stack, "vic")

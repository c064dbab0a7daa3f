"""Forward auth through a real nginx with the README's configuration: what a hostile client sends is not believed."""

from urllib.parse import parse_qs, urlsplit

from tests.nginx.harness import stack
from tests.servers import PASSWORD, enable_two_factor, submit

__all__ = ["stack"]

FORGED_USER = {"Remote-User": "admin", "Remote-Groups": "admins", "X-Forwarded-User": "admin"}


async def _signed_in(b, s, name: str) -> None:
    signin = f"{s.mirox_url}/signin"
    response = await submit(b, signin, signin, {"username": name, "password": PASSWORD})
    assert response.status_code == 303, response.text


async def test_a_forged_remote_user_never_reaches_the_app(stack):
    """A signed-in client sending ``Remote-User: admin`` or ``Remote-Groups: admins`` (any spelling): the app
    receives only its real name and groups."""
    stack.add_user("rita")
    async with stack.browser() as b:
        await _signed_in(b, stack, "rita")
        for forged in ({"Remote-User": "admin"}, {"remote-user": "admin"}, {"REMOTE-USER": "admin"}, FORGED_USER):
            page = await b.get(stack.app_url + "/", headers=forged)
            assert 'id="greeting">Hello, rita<' in page.text
            assert "remote-groups: <span>operators</span>" in page.text
            assert "admin" not in page.text
        underscore = await b.get(stack.app_url + "/", headers={"Remote_User": "admin"})
        assert "admin" not in underscore.text


async def test_a_signed_out_client_with_a_forged_remote_user_is_sent_to_sign_in(stack):
    """No session plus ``Remote-User: admin``: nginx never passes the request to the app."""
    async with stack.browser(**FORGED_USER) as b:
        response = await b.get(stack.app_url + "/")
    assert response.status_code == 302
    assert response.headers["location"].startswith(f"{stack.mirox_url}/signin")


async def test_forwarding_headers_from_the_client_are_replaced_or_outvoted(stack):
    """A client at 127.0.0.2 claiming ``X-Forwarded-Proto: http`` and another address: Mirox still sees
    https (``__Secure-``/``Secure`` cookie) and records the real address, not the claimed one."""
    stack.add_user("sami")
    forged = {"X-Forwarded-Proto": "http", "X-Forwarded-For": "10.9.9.9", "X-Forwarded-Host": "evil.example"}
    async with stack.browser("127.0.0.2", **forged) as b:
        signin = f"{stack.mirox_url}/signin"
        response = await submit(b, signin, signin, {"username": "sami", "password": PASSWORD})
        cookie = next(c for c in response.headers.get_list("set-cookie") if "mirox_session=" in c)
        assert cookie.startswith("__Secure-mirox_session=") and "Secure" in cookie
        sessions = (await b.get(stack.mirox_url + "/profile")).text
        assert "127.0.0.2" in sessions and "10.9.9.9" not in sessions
        assert 'id="greeting">Hello, sami<' in (await b.get(stack.app_url + "/x")).text


async def test_a_half_signed_in_browser_does_not_reach_the_app(stack):
    """After the password of a 2FA account, before the code: the app still leads to sign-in."""
    stack.add_user("tara")
    async with stack.browser() as b:
        await _signed_in(b, stack, "tara")
        await enable_two_factor(b, stack.mirox_url)
        await submit(b, stack.mirox_url + "/profile", stack.mirox_url + "/signout", {})
        signin = f"{stack.mirox_url}/signin"
        half = await submit(b, signin, signin, {"username": "tara", "password": PASSWORD})
        assert half.headers["location"].startswith("/signin/two-factor")
        response = await b.get(stack.app_url + "/")
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert location.path == "/signin" and parse_qs(location.query) == {"rd": [stack.app_url + "/"]}

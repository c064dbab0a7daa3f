"""Bad input and failures: clear 4xx/503 pages with the app's messages, never a 500."""

import sqlite3

import asyncpg
import pytest

from server import store
from server.messages import message
from tests.utils import PASSWORD, add_user, browser, csrf, db_snapshot, post, shows, sign_in


def assert_error_page(response, status: int, key: str) -> None:
    """A full HTML page with the status and the message of ``key``, and nothing from a traceback."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text
    assert shows(response.text, key)
    assert "Traceback" not in response.text
    assert "Error" not in response.text.replace(f"Error {status}", "")


# ---- 404 and 405 ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/no/such/page", "/profile/nothing", "/sessions/abc/signout", "/static/missing.css"])
async def test_unknown_address_is_a_404_page(client, path):
    """An address that does not exist gets the app's 404 page."""
    assert_error_page(await client.get(path), 404, "error.not_found")


async def test_404_for_htmx_is_a_fragment(client):
    """htmx gets the 404 message as a fragment to swap, not a whole page."""
    response = await client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert "<html" not in response.text
    assert shows(response.text, "error.not_found")


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", "/signout", {"POST"}),
        ("GET", "/sessions/signout-others", {"POST"}),
        ("DELETE", "/profile", {"GET"}),
        ("PUT", "/signin", {"GET", "POST"}),
        ("PATCH", "/setup", {"GET", "POST"}),
        ("POST", "/", {"GET"}),
        ("POST", "/static/app.js", {"GET", "HEAD"}),
        ("DELETE", "/healthz", {"GET"}),
    ],
)
async def test_wrong_method_is_a_405_with_allow(client, method, path, allowed):
    """A method the address does not take gets 405 and an Allow header listing the ones it does."""
    response = await client.request(method, path)
    assert_error_page(response, 405, "error.method")
    assert allowed <= {m.strip() for m in response.headers["allow"].split(",")}


# ---- bad bodies ---------------------------------------------------------------------------------

BOUNDARY = "xYzZY"


def multipart(*parts: str) -> bytes:
    body = "".join(f"--{BOUNDARY}\r\n{part}\r\n" for part in parts) + f"--{BOUNDARY}--\r\n"
    return body.encode()


def field_part(name: str, value: str) -> str:
    return f'Content-Disposition: form-data; name="{name}"\r\n\r\n{value}'


MALFORMED = {
    "multipart without boundary": ("multipart/form-data", b"--x\r\n\r\n"),
    "part without a name": (
        f"multipart/form-data; boundary={BOUNDARY}",
        multipart("Content-Disposition: form-data\r\n\r\nalice"),
    ),
    "file upload": (
        f"multipart/form-data; boundary={BOUNDARY}",
        multipart('Content-Disposition: form-data; name="username"; filename="a.txt"\r\n\r\nalice'),
    ),
    "multipart field over 8 KiB": (
        f"multipart/form-data; boundary={BOUNDARY}",
        multipart(field_part("username", "a" * 9000)),
    ),
    "too many multipart fields": (
        f"multipart/form-data; boundary={BOUNDARY}",
        multipart(*(field_part(f"f{i}", "1") for i in range(60))),
    ),
    "too many urlencoded fields": (
        "application/x-www-form-urlencoded",
        "&".join(f"f{i}=1" for i in range(60)).encode(),
    ),
    "urlencoded field over 8 KiB": ("application/x-www-form-urlencoded", b"password=" + b"a" * 9000),
}


@pytest.mark.parametrize("kind", list(MALFORMED))
async def test_malformed_form_is_a_400(client, svc, kind):
    """A form that cannot be read within the limits gets 400, before anything else happens."""
    await add_user(svc)
    content_type, body = MALFORMED[kind]
    await csrf(client)
    before = await db_snapshot(svc)
    response = await client.post("/signin", content=body, headers={"Content-Type": content_type})
    assert_error_page(response, 400, "error.bad_request")
    assert await db_snapshot(svc) == before


async def test_oversized_body_is_a_413(client, svc, settings):
    """A body over the configured limit gets 413 with the security headers, declared length or not."""
    await add_user(svc)
    token = await csrf(client)
    big = {"csrf_token": token, "username": "alice", "password": "x" * settings.max_body_bytes}
    declared = await client.post("/signin", data=big)

    async def chunks():
        for _ in range(4):
            yield b"&" * (settings.max_body_bytes // 2)

    streamed = await client.post(
        "/signin", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    for response in (declared, streamed):
        assert response.status_code == 413
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" in response.headers
    assert (await client.get("/profile")).status_code == 303


async def test_oversized_body_of_any_type_is_refused_before_it_acts(client, svc, settings):
    """A body over the limit is refused whatever its content type: a valid CSRF header does not make it act."""
    await add_user(svc)
    await sign_in(client)
    token = await csrf(client, "/profile")
    for content_type in ("application/json", "text/plain"):
        response = await client.post(
            "/signout",
            content=b"x" * (settings.max_body_bytes + 1),
            headers={"X-CSRF-Token": token, "Content-Type": content_type},
        )
        assert response.status_code == 413
    assert (await client.get("/profile")).status_code == 200


async def test_odd_requests_never_cause_a_500(app, svc):
    """Strange but possible requests get an ordinary answer, never a server error."""
    await add_user(svc)
    async with browser(app, raise_app_exceptions=False) as b:
        await sign_in(b)
        token = await csrf(b, "/profile")
        statuses = {}

        async def check(label, method, path, **kwargs):
            response = await b.request(method, path, **kwargs)
            statuses[label] = response.status_code

        await check("huge session id", "POST", "/sessions/99999999999999999999999/signout", data={"csrf_token": token})
        await check("zero session id", "POST", "/sessions/0/signout", data={"csrf_token": token})
        await check("huge enrollment id", "GET", "/profile/2fa/setup/" + "x" * 5000 + "/scan")
        await check("odd enrollment id", "GET", "/profile/2fa/setup/%00%ff%e2%82/scan")
        await check("odd step", "GET", "/profile/2fa/setup/abc/%F0%9F%92%A9")
        await check(
            "non-UTF-8 form",
            "POST",
            "/profile/reauth",
            content=b"csrf_token=" + token.encode() + b"&password=%ff%fe&then=%80",
        )
        await check("non-ASCII CSRF header", "POST", "/signout", headers={"X-CSRF-Token": "é".encode()})
        await check("odd content type", "POST", "/signout", content=b"\x00\x01", headers={"Content-Type": "text/plain"})
        await check("odd setup token", "GET", "/setup?token=%ff%00" + "a" * 5000)
        await check("odd next", "GET", "/signin?next=%ff%0d%0aLocation:%20//evil")
        await check("NUL in a form field", "POST", "/profile/reauth", data={"csrf_token": token, "password": "\x00"})
        await check("long path", "GET", "/" + "a" * 10000)
        await check("OPTIONS", "OPTIONS", "/signin")
        b.cookies.clear()
        odd_cookies = {"Cookie": "mirox_session=\u00e9\u00ff; mirox_pre=".encode() + b"x" * 4000}
        await check("odd cookies", "GET", "/profile", headers=odd_cookies)
        await check("odd cookies POST", "POST", "/signin", data={"csrf_token": "x"}, headers=odd_cookies)
    assert all(status < 500 for status in statuses.values()), statuses


@pytest.mark.parametrize("name", ["a\x00b", "\x00", "ali\x00ce"])
async def test_nul_in_the_username_is_a_wrong_password(client, svc, name):
    """A NUL character in the name is just a name that does not exist (PostgreSQL text cannot hold it)."""
    await add_user(svc)
    token = await csrf(client)
    response = await client.post("/signin", data={"csrf_token": token, "username": name, "password": PASSWORD})
    assert response.status_code == 422
    assert shows(response.text, "signin.invalid")


# ---- the database or the app failing ---------------------------------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        sqlite3.OperationalError("database is locked"),
        ConnectionRefusedError("connection refused"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
    ],
    ids=lambda error: type(error).__name__,
)
async def test_database_failure_is_a_503_page(client, svc, monkeypatch, error):
    """When the database cannot be reached, pages say so with 503 and Retry-After, for signed-in and new visitors."""
    await add_user(svc)
    await sign_in(client)

    async def unavailable(*args, **kwargs):
        raise error

    monkeypatch.setattr(store, "signed_in", unavailable)
    monkeypatch.setattr(store, "claim_attempt", unavailable)
    response = await client.get("/profile")
    assert_error_page(response, 503, "error.unavailable")
    assert int(response.headers["retry-after"]) > 0
    assert str(error) not in response.text
    assert response.headers["cache-control"] == "no-store"
    client.cookies.clear()
    fresh = await client.post(
        "/signin", data={"csrf_token": await csrf(client), "username": "alice", "password": PASSWORD}
    )
    assert_error_page(fresh, 503, "error.unavailable")
    monkeypatch.undo()
    assert (await sign_in(client)).status_code == 303


async def test_unexpected_error_is_a_500_page_without_details(app, svc, monkeypatch):
    """A bug shows the generic error page with the security headers, and no traceback."""
    await add_user(svc)

    async def broken(*args, **kwargs):
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(store, "recent_events", broken)
    async with browser(app, raise_app_exceptions=False) as b:
        await sign_in(b)
        response = await b.get("/profile")
    assert response.status_code == 500
    assert shows(response.text, "error.server")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


async def test_error_pages_use_the_messages(client, svc):
    """The 403 page for a forged form tells the user what to do."""
    await add_user(svc)
    await sign_in(client)
    response = await post(client, "/signout", page="/profile")
    assert response.status_code == 303
    refused = await client.post("/signin", data={"csrf_token": "forged"})
    assert_error_page(refused, 403, "error.csrf")
    assert "another site" not in message("error.csrf")

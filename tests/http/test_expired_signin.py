"""An expired pending sign-in: every form of it leads back to the sign-in page, never to a CSRF refusal."""

import re

from server.messages import message
from tests.utils import (
    BACKUP,
    TWO_FACTOR,
    code,
    shows,
    start_signin,
)


def username_field(html: str) -> str:
    match = re.search(r'<input id="username"[^>]*value="([^"]*)"', html)
    assert match, "no username field"
    return match.group(1)


async def form_token(client) -> str:
    page = await client.get(TWO_FACTOR)
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]*)"', page.text)
    assert match
    return match.group(1)


async def test_code_after_the_cookie_expired_goes_to_sign_in_with_the_username(client, signed_out_with_2fa, clock):
    """A code sent after the browser dropped the pending cookie: "took too long", username filled in, not 403."""
    await start_signin(client)
    token = await form_token(client)
    clock.advance(5 * 60 + 1)
    client.cookies.delete("mirox_pending")  # the browser drops it at its max-age
    response = await client.post(
        TWO_FACTOR,
        data={"csrf_token": token, "code": code(signed_out_with_2fa.secret, clock), "username": "alice"},
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin?")
    page = await client.get(response.headers["location"])
    assert page.status_code == 200
    assert shows(page.text, "signin.expired")
    assert not shows(page.text, "error.csrf")
    assert username_field(page.text) == "alice"


async def test_every_form_of_an_expired_signin_goes_to_sign_in(client, signed_out_with_2fa, clock):
    """Backup code and Cancel of an expired pending sign-in also land on sign-in, username filled in."""
    for path in (BACKUP, "/signin/cancel"):
        await start_signin(client)
        token = await form_token(client)
        clock.advance(5 * 60 + 1)
        client.cookies.delete("mirox_pending")
        response = await client.post(path, data={"csrf_token": token, "code": "ABCD-EFGH", "username": "alice"})
        assert response.status_code == 303, path
        page = await client.get(response.headers["location"])
        assert shows(page.text, "signin.expired"), path
        assert username_field(page.text) == "alice", path


async def test_server_side_expiry_keeps_the_username(client, signed_out_with_2fa, clock):
    """The pending sign-in expired on the server while the cookie lived: the same page, username filled in."""
    await start_signin(client)
    token = await form_token(client)
    clock.advance(5 * 60 + 1)
    response = await client.post(
        TWO_FACTOR, data={"csrf_token": token, "code": code(signed_out_with_2fa.secret, clock), "username": "alice"}
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert shows(page.text, "signin.expired")
    assert username_field(page.text) == "alice"
    assert not client.cookies.get("mirox_session")


async def test_code_forms_carry_the_username(client, signed_out_with_2fa):
    """The code and backup-code forms carry the username, so an expired sign-in can name it."""
    await start_signin(client)
    for path in (TWO_FACTOR, BACKUP):
        page = await client.get(path)
        assert re.search(r'<input type="hidden" name="username" value="alice"', page.text), path


def test_csrf_message_does_not_suggest_an_attack():
    """The generic refused-form message blames neither the person nor another site."""
    text = message("error.csrf")
    assert "another site" not in text
    assert "Reload the page" in text

"""Passkey sign-in (MIROX_PASSKEY_SIGNIN): a discoverable key with its PIN replaces password and code."""

import pytest

from server.settings import Settings
from tests.keys import add_key, with_keys
from tests.soft_key import SoftKey
from tests.utils import browser, csrf, event_kinds, session_cookie, shows, sign_out, signed_in_without_two_factor


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_keys(settings, passkey_signin=True)


async def passkey_options(client) -> dict:
    response = await client.post("/signin/passkey/options", data={"csrf_token": await csrf(client)})
    assert response.status_code == 200, response.text
    return response.json()["publicKey"]


async def passkey_signin(client, credential: str):
    return await client.post("/signin/passkey", data={"csrf_token": await csrf(client), "credential": credential})


async def alice_with_passkey(client, svc) -> SoftKey:
    await signed_in_without_two_factor(client, svc)
    key = SoftKey(verified=True)
    assert (await add_key(client, key)).status_code == 200
    await sign_out(client)
    return key


async def test_a_passkey_with_its_pin_signs_in_without_password_or_code(client, svc):
    """With the setting on, a registered key verified by its PIN starts a session from the sign-in page."""
    key = await alice_with_passkey(client, svc)
    page = await client.get("/signin")
    assert "Sign in with a security key" in page.text
    options = await passkey_options(client)
    assert options["userVerification"] == "required" and not options.get("allowCredentials")
    response = await passkey_signin(client, key.get(options))
    assert response.status_code == 303 and session_cookie(client)
    assert "signin" in await event_kinds(svc)


async def test_a_passkey_without_user_verification_is_refused(client, svc):
    """A key that did not check its PIN (no user verification) does not sign in."""
    key = await alice_with_passkey(client, svc)
    key.verified = False
    response = await passkey_signin(client, key.get(await passkey_options(client)))
    assert response.status_code == 422 and shows(response.text, "key.invalid") and not session_cookie(client)


async def test_a_passkey_challenge_belongs_to_the_browser_that_asked(app, client, svc):
    """An answer to a challenge issued to another browser is refused (a relayed ceremony)."""
    key = await alice_with_passkey(client, svc)
    options = await passkey_options(client)
    async with browser(app, ip="10.0.0.9") as other:
        response = await passkey_signin(other, key.get(options))
        assert response.status_code == 409 and not session_cookie(other)


async def test_an_unregistered_passkey_is_refused(client, svc):
    """A key this server never registered gets no session."""
    await alice_with_passkey(client, svc)
    stranger = SoftKey(verified=True, user_handle=b"\x01" * 32)
    response = await passkey_signin(client, stranger.get(await passkey_options(client)))
    assert response.status_code == 422 and not session_cookie(client)


async def test_passkeys_are_off_by_default(app, settings, clock):
    """Without MIROX_PASSKEY_SIGNIN the sign-in page offers no passkey and its routes refuse."""
    import dataclasses

    from asgi_lifespan import LifespanManager

    from server.app import create_app

    off = dataclasses.replace(settings, passkey_signin=False)
    async with LifespanManager(create_app(off, clock=clock)) as other, browser(other) as b:
        page = await b.get("/signin")
        assert "Sign in with a security key" not in page.text
        refused = await b.post("/signin/passkey/options", data={"csrf_token": await csrf(b)})
        assert refused.status_code == 409

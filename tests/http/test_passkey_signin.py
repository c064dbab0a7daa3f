"""Passkey sign-in (MIROX_PASSKEY_SIGNIN): a discoverable key with its PIN replaces password and code."""

import pytest

from server.flows.security_keys import mechanism
from server.settings import Settings
from tests.keys import add_key, with_keys
from tests.soft_key import SoftKey
from tests.utils import (
    browser,
    csrf,
    event_kinds,
    session_cookie,
    shows,
    sign_out,
    signed_in_without_two_factor,
    try_password,
)


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


def address_limit(settings: Settings) -> int:
    return settings.password_free_attempts * 4


async def test_failed_passkey_answers_from_one_address_are_throttled(app, client, svc, settings, clock, monkeypatch):
    """Failed passkey answers count on the address: past its free attempts the next is refused before any signature check,
    with the address's wait, while a browser at another address still signs in."""
    key = await alice_with_passkey(client, svc)
    stranger = SoftKey(verified=True, user_handle=b"\x01" * 32)
    async with browser(app, ip="203.0.113.7") as guesser:
        statuses = [
            (await passkey_signin(guesser, stranger.get(await passkey_options(guesser)))).status_code
            for _ in range(address_limit(settings))
        ]
        assert statuses == [422] * address_limit(settings)
        checked = []
        monkeypatch.setattr(mechanism, "verify_assertion", lambda *a, **k: checked.append(a) or None)
        refused = await passkey_signin(guesser, key.get(await passkey_options(guesser)))
        assert refused.status_code == 429 and not session_cookie(guesser) and checked == []
        wait = int(refused.headers["Retry-After"])
        assert shows(refused.text, "signin.throttled_address", seconds=wait)
    monkeypatch.undo()
    async with browser(app, ip="203.0.113.8") as owner:
        assert (await passkey_signin(owner, key.get(await passkey_options(owner)))).status_code == 303


async def test_passkey_and_password_failures_share_the_address_count(app, client, svc, settings):
    """A guesser cannot double the guesses of one address by switching between passwords and passkeys."""
    await alice_with_passkey(client, svc)
    stranger = SoftKey(verified=True, user_handle=b"\x01" * 32)
    half = address_limit(settings) // 2
    async with browser(app, ip="203.0.113.7") as guesser:
        for n in range(half):
            assert (await try_password(guesser, f"user{n}")).status_code == 422
        for _ in range(address_limit(settings) - half):
            assert (await passkey_signin(guesser, stranger.get(await passkey_options(guesser)))).status_code == 422
        assert (await try_password(guesser, "someone")).status_code == 429
        assert (await passkey_signin(guesser, stranger.get(await passkey_options(guesser)))).status_code == 429


async def test_a_users_own_passkey_signins_do_not_add_up_at_the_address(client, svc, settings):
    """Many successful passkey sign-ins from one shared workstation are never throttled."""
    key = await alice_with_passkey(client, svc)
    for _ in range(address_limit(settings) + 5):
        assert (await passkey_signin(client, key.get(await passkey_options(client)))).status_code == 303
        await sign_out(client)

"""Sign-in with a security key after the password, over HTTP with a software key."""

import pytest

from server.settings import Settings
from tests.keys import add_key, stored_keys, with_keys
from tests.soft_key import SoftKey
from tests.utils import (
    TWO_FACTOR,
    add_user,
    browser,
    code,
    event_kinds,
    session_cookie,
    shows,
    sign_in,
    sign_out,
    signed_in_without_two_factor,
    signin_csrf,
    start_signin,
    submit_backup_code,
    user_row,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_keys(settings)


async def key_options(client) -> dict:
    response = await client.post("/signin/key/options", data={"csrf_token": await signin_csrf(client)})
    assert response.status_code == 200, response.text
    return response.json()["publicKey"]


async def submit_key(client, credential: str):
    data = {"csrf_token": await signin_csrf(client), "credential": credential}
    return await client.post("/signin/key", data=data)


async def alice_with_key(client, svc) -> tuple[SoftKey, str]:
    """alice has 2FA with one key only (and its backup code), and is signed out."""
    await signed_in_without_two_factor(client, svc)
    key = SoftKey()
    page = await add_key(client, key)
    from tests.utils import BACKUP_DISPLAY

    backup = BACKUP_DISPLAY.search(page.text)
    assert backup
    await sign_out(client)
    return key, backup.group(0)


async def test_a_registered_key_signs_in_after_the_password(client, svc):
    """After the password, the account's key (one touch) starts the session; the code field is not offered."""
    key, _ = await alice_with_key(client, svc)
    await start_signin(client)
    page = await client.get(TWO_FACTOR)
    assert "Use security key" in page.text and 'name="code"' not in page.text
    response = await submit_key(client, key.get(await key_options(client)))
    assert response.status_code == 303 and session_cookie(client)
    assert (await stored_keys(svc))[0]["last_used_at"] is not None
    assert "signin" in await event_kinds(svc)


async def test_an_unregistered_key_is_refused(client, svc):
    """A key not registered to the account gets no session, and costs an attempt."""
    await alice_with_key(client, svc)
    await start_signin(client)
    response = await submit_key(client, SoftKey().get(await key_options(client)))
    assert response.status_code == 422 and shows(response.text, "key.invalid")
    assert not session_cookie(client)


async def test_another_users_key_is_refused(app, client, svc):
    """Bob's registered key does not finish alice's sign-in."""
    await alice_with_key(client, svc)
    await add_user(svc, "bob")
    bobs = SoftKey()
    async with browser(app, ip="10.0.0.8") as bob:
        assert (await sign_in(bob, "bob")).status_code == 303
        await add_key(bob, bobs)
    await start_signin(client)
    response = await submit_key(client, bobs.get(await key_options(client)))
    assert response.status_code == 422 and not session_cookie(client)


async def test_a_removed_key_no_longer_signs_in(client, svc, signed_in_with_2fa, clock):
    """After Remove, the key is refused at sign-in (the app's code still works)."""
    key = SoftKey()
    assert (await add_key(client, key, code=code(signed_in_with_2fa.secret, clock))).status_code == 303
    clock.advance(30)
    key_id = (await stored_keys(svc))[0]["id"]
    from tests.utils import post

    removed = await post(
        client, "/profile/keys/remove", {"key": str(key_id), "code": code(signed_in_with_2fa.secret, clock)}
    )
    assert removed.status_code == 303
    await sign_out(client)
    await start_signin(client)
    page = await client.get(TWO_FACTOR)
    assert "Use security key" not in page.text and 'name="code"' in page.text
    refused = await client.post("/signin/key/options", data={"csrf_token": await signin_csrf(client)})
    assert refused.status_code == 409


async def test_an_assertion_cannot_be_replayed_nor_used_by_another_pending_signin(app, client, svc):
    """An assertion is good once, and only for the pending sign-in its challenge was issued to."""
    key, _ = await alice_with_key(client, svc)
    await start_signin(client)
    options = await key_options(client)
    async with browser(app, ip="10.0.0.9") as thief:
        await start_signin(thief)
        stolen = await submit_key(thief, key.get(options))
        assert stolen.status_code == 422 and not session_cookie(thief)
    answer = key.get(options)
    assert (await submit_key(client, answer)).status_code == 303
    await sign_out(client)
    await start_signin(client)
    assert (await submit_key(client, answer)).status_code == 422


async def test_the_backup_code_turns_app_and_keys_off(client, svc):
    """Use Backup Code signs in and turns 2FA off, keys included."""
    _, backup = await alice_with_key(client, svc)
    await start_signin(client)
    response = await submit_backup_code(client, backup)
    assert response.status_code == 303
    assert await stored_keys(svc) == []
    row = await user_row(svc)
    assert row["keys_enabled_at"] is None and row["backup_code_hash"] is None


@pytest.mark.parametrize("payload", ["", "{}", "x" * 20000, '{"id": "a", "response": {"clientDataJSON": "e30"}}'])
async def test_malformed_key_answers_at_signin_get_a_clear_4xx(client, svc, payload):
    """A malformed or oversized key answer at sign-in is a 4xx without a session, never a 5xx."""
    await alice_with_key(client, svc)
    await start_signin(client)
    await key_options(client)
    response = await submit_key(client, payload)
    assert 400 <= response.status_code < 500 and not session_cookie(client)

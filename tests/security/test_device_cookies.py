"""Device cookies: the owner's browser gets past the lock a guesser keeps re-arming, and nothing else does."""

import httpx
import pytest
from asgi_lifespan import LifespanManager

from server import store
from server.auth import device_cookie
from server.flows import account, notices, two_factor
from server.services import Client, Services
from server.settings import Settings
from tests.utils import (
    PASSWORD,
    TWO_FACTOR,
    add_user,
    alice_id,
    browser,
    code,
    cookie_attributes,
    db_snapshot,
    post,
    sign_in,
    submit_code,
    try_password,
)

DEVICE = "mirox_device"


async def lock_the_account(app: LifespanManager, settings: Settings, name: str = "alice") -> None:
    """A guesser on many addresses fails until the account's password step is closed to unknown browsers."""
    for n in range(settings.password_free_attempts + 1):
        async with browser(app, ip=f"203.0.113.{n}") as guesser:
            await try_password(guesser, name)
    async with browser(app, ip="203.0.113.250") as stranger:
        assert (await try_password(stranger, name, PASSWORD)).status_code == 429


async def signs_in(b: httpx.AsyncClient, name: str = "alice", password: str = PASSWORD) -> int:
    """The status of a sign-in's password step."""
    return (await try_password(b, name, password)).status_code


async def cookie_of_a_browser_at(app: LifespanManager, ip: str, name: str = "alice") -> str:
    """``name`` signs in from a browser of its own at ``ip``: the device cookie it is given."""
    async with browser(app, ip=ip) as b:
        assert (await sign_in(b, name)).status_code == 303
        return b.cookies[DEVICE]


async def status_with_cookie(app: LifespanManager, ip: str, cookie: str, password: str = PASSWORD) -> int:
    """What alice's sign-in from a browser at ``ip`` holding ``cookie`` answers."""
    async with browser(app, ip=ip) as b:
        b.cookies.set(DEVICE, cookie)
        return await signs_in(b, password=password)


async def test_a_completed_sign_in_leaves_a_long_lived_httponly_device_cookie(client, svc, settings):
    """After the last factor the browser gets <user>.<token>.<HMAC>, HttpOnly, SameSite=Lax, for the set lifetime."""
    await add_user(svc)
    response = await sign_in(client)
    assert response.status_code == 303
    cookie = cookie_attributes(response, DEVICE)
    assert "httponly" in cookie and cookie["samesite"].lower() == "lax" and cookie["path"] == "/"
    assert int(cookie["max-age"]) == int(settings.device_cookie_lifetime)
    user_id, token, _ = cookie["value"].split(".")
    assert int(user_id) == await alice_id(svc)
    assert token not in str(await db_snapshot(svc)), "only a hash of the token is stored"


async def test_the_password_step_alone_leaves_no_device_cookie(app, svc, clock, signed_out_with_2fa):
    """A browser that passed the password but not the second factor is not remembered."""
    async with browser(app, ip="192.0.2.7") as newcomer:
        response = await sign_in(newcomer)
        assert response.headers["location"].startswith(TWO_FACTOR)
        assert DEVICE not in newcomer.cookies
        response = await submit_code(newcomer, code(signed_out_with_2fa.secret, clock))
        assert response.status_code == 303 and newcomer.cookies.get(DEVICE)


async def test_the_owners_browser_gets_past_the_lock_a_guesser_keeps_closed(app, client, svc, settings):
    """With the account locked by guesses from many addresses, the browser that signed in before still signs in."""
    await add_user(svc)
    assert (await sign_in(client)).status_code == 303
    await post(client, "/signout", page="/profile")
    await lock_the_account(app, settings)
    assert await signs_in(client) == 303


async def test_a_device_cookie_does_not_skip_the_password(app, client, svc, settings):
    """A known browser with a wrong password is refused like anyone, and its failures close its own way in."""
    await add_user(svc)
    assert (await sign_in(client)).status_code == 303
    await post(client, "/signout", page="/profile")
    statuses = [await signs_in(client, password="wrong password!") for _ in range(settings.password_free_attempts + 1)]
    assert statuses == [422] * settings.password_free_attempts + [429]
    async with browser(app, ip="192.0.2.99") as elsewhere:  # the account itself is not locked by the owner's typos
        assert await signs_in(elsewhere) == 303


async def test_a_device_cookie_does_not_skip_the_second_factor(app, client, svc, clock, signed_out_with_2fa, settings):
    """With 2FA on, a known browser past the lock is still asked for a code; no session before it."""
    await lock_the_account(app, settings)
    response = await sign_in(client)
    assert response.status_code == 303 and response.headers["location"].startswith(TWO_FACTOR)
    assert not client.cookies.get("mirox_session")


async def test_forged_altered_foreign_and_expired_device_cookies_count_as_unknown(app, client, svc, clock, settings):
    """A cookie with a wrong HMAC, another account's, an expired or a made-up one does not get past the lock."""
    await add_user(svc)
    await add_user(svc, "bob")
    assert (await sign_in(client)).status_code == 303
    alice_cookie = client.cookies[DEVICE]
    bob_cookie = await cookie_of_a_browser_at(app, "192.0.2.20", "bob")
    user_id, token, mac = alice_cookie.split(".")
    made_up, _ = device_cookie.issue(b"k" * 32, int(user_id))
    await lock_the_account(app, settings)
    for value in (f"{user_id}.{token}.{mac[:-1]}{'A' if mac[-1] != 'A' else 'B'}", bob_cookie, made_up, "x" * 500):
        assert await status_with_cookie(app, "192.0.2.30", value) == 429, value
    clock.advance(settings.device_cookie_lifetime + 1)
    await lock_the_account(app, settings)
    assert await status_with_cookie(app, "192.0.2.31", alice_cookie) == 429


async def test_changing_the_password_forgets_every_browser(app, client, svc, settings):
    """After Change password, a device cookie from before no longer opens the lock."""
    await add_user(svc)
    old_cookie = await cookie_of_a_browser_at(app, "192.0.2.40")
    assert (await sign_in(client)).status_code == 303
    new_password = "a brand new passphrase"
    data = {"current_password": PASSWORD, "new_password": new_password, "confirm_password": new_password}
    assert (await post(client, "/profile/password", data)).status_code == 303
    await lock_the_account(app, settings)
    assert await status_with_cookie(app, "192.0.2.40", old_cookie, password=new_password) == 429
    assert "devices.forgotten" in [e.kind for e in await account.recent_activity(svc, await alice(svc))]


async def alice(svc: Services) -> store.User:
    user = await store.get_user_by_key(svc.db, "alice")
    assert user is not None
    return user


@pytest.mark.parametrize("command", ["set-password", "reset-2fa"])
async def test_administrator_commands_forget_every_browser(app, client, svc, settings, command):
    """run.py user set-password and reset-2fa revoke the account's device cookies (disable refuses the account)."""
    await add_user(svc)
    assert (await sign_in(client)).status_code == 303
    await post(client, "/signout", page="/profile")
    if command == "set-password":
        assert await account.set_password(svc, await alice(svc), PASSWORD) is None
    else:
        await two_factor.admin_reset(svc, await alice(svc))
    await lock_the_account(app, settings)
    assert await signs_in(client) == 429


async def test_this_wasnt_me_forgets_every_browser(app, client, svc, settings):
    """Answering a notice "This wasn't me" revokes the device cookies of the account, the intruder's included."""
    await add_user(svc)
    intruders_cookie = await cookie_of_a_browser_at(app, "198.51.100.66")
    assert (await sign_in(client)).status_code == 303
    user = await alice(svc)
    (session, *_) = await account.sessions_of(svc, user)
    await notices.disown(svc, user, session, 0, Client("127.0.0.1", "test"))
    await lock_the_account(app, settings)
    assert await status_with_cookie(app, "198.51.100.66", intruders_cookie) == 429

"""Attacks found in review: throttle resets, odd usernames, and what a changed password must end."""

from server import store
from server.flows import account
from tests.utils import (
    PASSWORD,
    add_user,
    code,
    new_browser,
    post,
    session_cookie,
    shows,
    sign_in,
    start_signin,
    submit_code,
    try_password,
    user_with_two_factor,
)

# ---- the per-address limit on failed passwords ------------------------------------------------


async def test_signing_in_to_ones_own_account_buys_no_extra_guesses(app, client, svc, settings):
    """An insider guessing other people's passwords cannot reset the address limit with their own sign-ins."""
    await add_user(svc, "mallory")
    free = settings.password_free_attempts * 4
    guesses = 0
    async with new_browser(app) as own:  # same address as ``client``
        while guesses < 3 * free:
            response = await try_password(client, f"user{guesses}")
            if response.status_code == 429:
                break
            assert response.status_code == 422
            guesses += 1
            if guesses % 5 == 0:
                assert (await sign_in(own, "mallory")).status_code in (303, 429)
                own.cookies.clear()
    assert guesses == free


async def test_failed_password_prompts_buy_no_extra_guesses(app, client, svc, settings):
    """Failing the password prompt of one's own session, then signing in, does not wipe the address's failures."""
    await add_user(svc, "mallory")
    free = settings.password_free_attempts * 4
    async with new_browser(app) as own:  # same address as ``client``
        assert (await sign_in(own, "mallory")).status_code == 303
        for n in range(free - 5):
            assert (await try_password(client, f"user{n}")).status_code == 422
        for _ in range(4):
            response = await post(own, "/profile/reauth", {"password": "not my password", "then": "enable"})
            assert response.status_code == 422
        own.cookies.clear()
        assert (await sign_in(own, "mallory")).status_code == 303
    statuses = [(await try_password(client, f"more{n}")).status_code for n in range(6)]
    assert statuses == [422] * 5 + [429], "the 15 guesses before must still count"


async def test_a_users_own_typos_are_forgiven_at_the_address(client, svc, settings):
    """Typos that end in a successful sign-in do not pile up against the address (shared workstations)."""
    await add_user(svc)
    for _ in range(settings.password_free_attempts * 4):
        for _ in range(settings.password_free_attempts - 1):
            assert (await try_password(client)).status_code == 422
        assert (await sign_in(client)).status_code == 303
        client.cookies.clear()


# ---- odd usernames -------------------------------------------------------------------------


async def test_name_that_grows_when_case_folded_is_a_wrong_password(client, svc):
    """64 "ﬃ" fold to 192 characters: still a wrong password, throttled like any name, never a 503."""
    await add_user(svc)
    responses = [await try_password(client, "\ufb03" * 64, PASSWORD) for _ in range(6)]
    assert [r.status_code for r in responses] == [422] * 5 + [429]
    assert shows(responses[0].text, "signin.invalid")


# ---- a new password ------------------------------------------------------------------------


async def test_new_password_ends_sessions_and_half_finished_signins(client, other_client, svc, clock):
    """Setting a new password (the remedy for a stolen one) ends every session and pending sign-in."""
    enrolled = await user_with_two_factor(client, svc, clock)
    await start_signin(other_client)  # the thief, with the old password
    user = await store.get_user_by_key(svc.db, "alice")
    assert user is not None
    assert await account.set_password(svc, user, "a brand new passphrase") is None
    ended = await client.get("/profile")
    assert ended.status_code == 303
    assert ended.headers["location"].startswith("/signin")
    response = await submit_code(other_client, code(enrolled.secret, clock))
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?m=expired"
    assert session_cookie(other_client) is None

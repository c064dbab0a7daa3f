"""Brute force: the password and second-factor limits hold across fresh sign-ins and spoofed addresses."""

from server.auth.throttle import Policy, delay_after
from server.settings import Settings
from tests.security.helpers import behind_proxy_layer, second_factor_failures, wait_of
from tests.utils import (
    PASSWORD,
    PROFILE,
    add_user,
    browser,
    code,
    post,
    session_id_of,
    shows,
    sign_in,
    start_signin,
    submit_code,
    try_password,
    wrong_code,
)

HOUR = 3600.0
UNTRUSTED = "203.0.113.9"


def guesses_per_hour(settings: Settings) -> int:
    """N: the most second-factor guesses one account can have evaluated within an hour.

    A guesser who tries again the moment the throttle allows, from a clean counter, makes the
    most guesses: the free attempts at once, then one after each delay (base, doubling, capped
    at the maximum). The counter only grows until a correct code, so no hour holds more
    (the owner's own successful sign-ins reset it; that is not the attacker's to trigger).
    """
    policy = Policy(
        settings.second_factor_free_attempts, settings.throttle_base_delay, settings.second_factor_max_delay
    )
    elapsed, guesses = 0.0, 0
    while elapsed < HOUR:
        guesses += 1
        elapsed += delay_after(policy, guesses)
    return guesses


def spoofed(n: int) -> dict[str, str]:
    """Headers that claim another client address each time."""
    return {
        "X-Forwarded-For": f"198.51.100.{n % 250 + 1}",
        "Forwarded": f"for=198.51.{n % 250}.7",
        "X-Real-IP": f"192.0.2.{n % 250 + 1}",
    }


# ---- the second factor ----------------------------------------------------------------------


async def test_code_guessing_across_fresh_signins_and_spoofed_addresses_stays_under_the_hourly_bound(
    app, svc, signed_out_with_2fa, clock, settings
):
    """At most N evaluated code guesses per hour (N = 24 with the defaults: 5 free, then 1, 2 … 256 s, then 300 s).

    Each guess is a new sign-in (new pending sign-in, new cookie jar) from an untrusted address
    with spoofed ``X-Forwarded-For``/``Forwarded`` headers; the per-account counter persists.
    """
    bound = guesses_per_hour(settings)
    assert bound == 24, "the test settings keep the default throttle, for which the docstring states N"
    start = clock()
    evaluated = refused = 0
    while clock() < start + HOUR:
        async with behind_proxy_layer(app, settings, UNTRUSTED, spoofed(evaluated + refused)) as attacker:
            await start_signin(attacker)
            response = await submit_code(attacker, wrong_code(signed_out_with_2fa.secret, clock))
        if response.status_code == 429:
            assert shows(response.text, "code.throttled", seconds=wait_of(response.text))
            refused += 1
            clock.advance(int(response.headers["Retry-After"]))
        else:
            assert response.status_code == 422, response.status_code
            assert shows(response.text, "code.invalid")
            evaluated += 1
    assert evaluated <= bound
    assert evaluated > settings.second_factor_free_attempts and refused > 0, "the hour must reach the delays"
    assert await second_factor_failures(svc) == evaluated


async def test_failures_across_different_checks_share_one_throttle(client, other_client, clock, signed_in_with_2fa):
    """Five wrong codes spread over sign-in, Check 2FA, New Backup Codes and Disable: the next must wait."""
    bad = wrong_code(signed_in_with_2fa.secret, clock)
    await start_signin(other_client)
    assert (await submit_code(other_client, bad)).status_code == 422
    assert (await post(client, "/profile/2fa/check", {"code": bad})).status_code == 422
    assert (await post(client, "/profile/2fa/check", {"code": bad})).status_code == 422
    assert (await post(client, "/profile/2fa/backup-code", {"code": bad})).status_code == 422
    assert (await post(client, "/profile/2fa/disable", {"code": bad})).status_code == 422
    response = await post(client, "/profile/2fa/check", {"code": code(signed_in_with_2fa.secret, clock)})
    assert response.status_code == 429
    wait = wait_of(response.text)
    assert wait >= 1
    assert shows(response.text, "code.throttled", seconds=wait)
    clock.advance(wait)
    response = await post(client, "/profile/2fa/check", {"code": code(signed_in_with_2fa.secret, clock)})
    assert response.status_code == 303
    assert shows((await client.get(PROFILE)).text, "card.check_ok")


async def test_throttle_also_blocks_the_signin_code_step(client, other_client, clock, signed_in_with_2fa):
    """After five wrong codes on the card, even the right code at sign-in has to wait."""
    for _ in range(5):
        await post(client, "/profile/2fa/check", {"code": wrong_code(signed_in_with_2fa.secret, clock)})
    await start_signin(other_client)
    response = await submit_code(other_client, code(signed_in_with_2fa.secret, clock))
    assert response.status_code == 429
    assert shows(response.text, "code.throttled", seconds=wait_of(response.text))
    assert not other_client.cookies.get("mirox_session")


async def test_success_resets_the_throttle(client, clock, signed_in_with_2fa):
    """After a successful code the count starts again: five more wrong codes are all just wrong."""
    for _ in range(4):
        await post(client, "/profile/2fa/check", {"code": wrong_code(signed_in_with_2fa.secret, clock)})
    assert (
        await post(client, "/profile/2fa/check", {"code": code(signed_in_with_2fa.secret, clock)})
    ).status_code == 303
    for _ in range(5):
        response = await post(client, "/profile/2fa/check", {"code": wrong_code(signed_in_with_2fa.secret, clock)})
        assert response.status_code == 422
    response = await post(client, "/profile/2fa/check", {"code": wrong_code(signed_in_with_2fa.secret, clock)})
    assert response.status_code == 429


async def test_old_pending_token_is_dead_after_five_wrong_codes(client, other_client, signed_out_with_2fa, clock):
    """A copy of the pending cookie kept by an attacker stops working after the fifth wrong code."""
    await start_signin(client)
    stolen = client.cookies.get("mirox_pending")
    for _ in range(5):
        await submit_code(client, wrong_code(signed_out_with_2fa.secret, clock))
    other_client.cookies.set("mirox_pending", stolen)
    response = await submit_code(other_client, code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin")
    assert not other_client.cookies.get("mirox_session")


# ---- passwords ------------------------------------------------------------------------------


async def test_spoofed_forwarded_for_buys_no_extra_password_guesses(app, settings):
    """An untrusted client that claims a new address with every guess still meets its address limit."""
    free = settings.password_free_attempts * 4
    statuses = []
    for n in range(free + 1):
        async with behind_proxy_layer(app, settings, UNTRUSTED, spoofed(n)) as attacker:
            statuses.append((await try_password(attacker, f"user{n}")).status_code)
    assert statuses == [422] * free + [429]


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(app, svc, settings):
    """Sessions record the real address of an untrusted client, and the forwarded one only via the proxy."""
    await add_user(svc)
    async with behind_proxy_layer(app, settings, UNTRUSTED, {"X-Forwarded-For": "10.66.66.66"}) as direct:
        assert (await sign_in(direct)).status_code == 303
        page = (await direct.get(PROFILE)).text
    assert UNTRUSTED in page and "10.66.66.66" not in page
    assert await session_id_of(svc, UNTRUSTED)
    proxy = settings.trusted_proxies.split(",")[0]
    async with behind_proxy_layer(app, settings, proxy, {"X-Forwarded-For": "198.51.100.5"}) as proxied:
        assert (await sign_in(proxied)).status_code == 303
    assert await session_id_of(svc, "198.51.100.5")


async def test_signing_in_to_ones_own_account_buys_no_extra_guesses(app, client, svc, settings):
    """An insider guessing other people's passwords cannot reset the address limit with their own sign-ins."""
    await add_user(svc, "mallory")
    free = settings.password_free_attempts * 4
    guesses = 0
    async with browser(app) as own:  # same address as ``client``
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
    async with browser(app) as own:  # same address as ``client``
        assert (await sign_in(own, "mallory")).status_code == 303
        own.cookies.delete("mirox_device")  # its failures count on the account, as any unknown browser's
        for n in range(free - 5):
            assert (await try_password(client, f"user{n}")).status_code == 422
        for _ in range(4):
            response = await post(own, "/profile/reauth", {"password": "not my password", "then": "enable_2fa"})
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


async def test_name_that_grows_when_case_folded_is_a_wrong_password(client, svc):
    """64 "ﬃ" fold to 192 characters: still a wrong password, throttled like any name, never a 503."""
    await add_user(svc)
    responses = [await try_password(client, "\ufb03" * 64, PASSWORD) for _ in range(6)]
    assert [r.status_code for r in responses] == [422] * 5 + [429]
    assert shows(responses[0].text, "signin.invalid")

"""The per-address limit on failed passwords counts an IPv6 host by its /64."""

from tests.utils import browser, try_password


async def test_rotating_ipv6_addresses_within_a_64_buys_no_extra_guesses(app, settings):
    """A host that changes its IPv6 address inside its /64 for each guess still meets the address limit."""
    free = settings.password_free_attempts * 4
    statuses = []
    for n in range(free + 1):
        async with browser(app, ip=f"2001:db8:77:1::{n + 1:x}") as attacker:
            statuses.append((await try_password(attacker, f"user{n}")).status_code)
    assert statuses == [422] * free + [429]


async def test_another_64_has_its_own_address_limit(app, settings):
    """A neighbour in another /64 is not blocked by a guesser's failures."""
    for n in range(settings.password_free_attempts * 4):
        async with browser(app, ip=f"2001:db8:77:1::{n + 1:x}") as attacker:
            await try_password(attacker, f"user{n}")
    async with browser(app, ip="2001:db8:77:2::1") as neighbour:
        assert (await try_password(neighbour, "someone")).status_code == 422


async def test_long_address_waits_read_in_minutes(app, settings, clock):
    """A per-address wait past two minutes reads in minutes and names the computer or network, not the person."""
    from server.messages import message
    from tests.utils import shows

    free = settings.password_free_attempts * 4
    async with browser(app, ip="10.9.8.7") as guesser:
        for n in range(free + 8):  # delays 1, 2, 4 … 128 s: each waited out, then one more failure
            response = await try_password(guesser, f"user{n}")
            if response.status_code == 429:
                clock.advance(int(response.headers["retry-after"]))
                response = await try_password(guesser, f"user{n}")
        response = await try_password(guesser, "another")
    assert response.status_code == 429
    wait = int(response.headers["retry-after"])
    assert wait >= 120
    assert shows(response.text, "signin.throttled_address", seconds=wait)
    assert f"Wait {-(-wait // 60)} minutes, then try again." in message("signin.throttled_address", seconds=wait)

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

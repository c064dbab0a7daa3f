"""Broken logic: whose sign-in a code completes is decided by the server, never by the request."""

import pytest

from tests.security.helpers import second_factor_failures
from tests.utils import (
    PROFILE,
    Enrolled,
    FakeClock,
    add_user,
    alice_id,
    code,
    enable_two_factor,
    shows,
    sign_in,
    sign_out,
    start_signin,
    submit_code,
)


async def bob_with_two_factor(other_client, svc, clock: FakeClock) -> Enrolled:
    """bob has 2FA on too and is signed out."""
    await add_user(svc, "bob")
    assert (await sign_in(other_client, "bob")).status_code == 303
    enrolled = await enable_two_factor(other_client, clock)
    await sign_out(other_client)
    return enrolled


def distinct_step(first: Enrolled, second: Enrolled, clock: FakeClock) -> None:
    """Move the clock to a fresh step where the two accounts' codes differ (a collision is 1 in 10⁶)."""
    clock.advance(30)
    while code(first.secret, clock) == code(second.secret, clock):
        clock.advance(30)


async def signed_in_as(client) -> str:
    page = await client.get(PROFILE)
    assert page.status_code == 200
    return page.text[page.text.index("<dt>Username</dt>") :].split("<dd>", 1)[1].split("</dd>", 1)[0]


@pytest.mark.parametrize("where", ["form", "cookies"])
async def test_extra_user_fields_at_the_code_step_are_ignored(
    client, other_client, svc, signed_out_with_2fa, clock, where
):
    """``user``/``username``/``user_id`` sent with alice's code do not make the session bob's."""
    await add_user(svc, "bob")
    bob = await alice_id(svc, "bob")
    claims = {"user": "bob", "username": "bob", "user_id": str(bob), "uid": str(bob)}
    await start_signin(client)
    if where == "cookies":
        for name, value in claims.items():
            client.cookies.set(name, value)
            client.cookies.set(f"mirox_{name}", value)
        response = await submit_code(client, code(signed_out_with_2fa.secret, clock))
    else:
        response = await submit_code(client, code(signed_out_with_2fa.secret, clock), **claims)
    assert response.status_code == 303
    assert await signed_in_as(client) == "alice"
    assert "bob" not in (await client.get(PROFILE)).text


async def test_one_users_code_never_completes_anothers_signin(client, other_client, svc, signed_out_with_2fa, clock):
    """bob's valid code is just a wrong code at alice's code step, and the other way round."""
    bob = await bob_with_two_factor(other_client, svc, clock)
    distinct_step(signed_out_with_2fa, bob, clock)
    await start_signin(client)
    response = await submit_code(client, code(bob.secret, clock))
    assert response.status_code == 422
    assert shows(response.text, "code.invalid")
    assert not client.cookies.get("mirox_session")
    await start_signin(other_client, "bob")
    response = await submit_code(other_client, code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 422
    assert not other_client.cookies.get("mirox_session")
    assert await second_factor_failures(svc) == 1
    assert await second_factor_failures(svc, "bob") == 1
    assert (await submit_code(client, code(signed_out_with_2fa.secret, clock))).status_code == 303
    assert await signed_in_as(client) == "alice"


async def test_pending_cookies_swapped_between_users_complete_only_their_own(
    client, other_client, svc, signed_out_with_2fa, clock
):
    """A pending cookie belongs to one account: alice's code with bob's pending cookie does not sign in."""
    bob = await bob_with_two_factor(other_client, svc, clock)
    distinct_step(signed_out_with_2fa, bob, clock)
    await start_signin(other_client, "bob")
    await start_signin(client)
    client.cookies.clear()
    client.cookies.set("mirox_pending", other_client.cookies["mirox_pending"])
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 422
    assert not client.cookies.get("mirox_session")
    assert (await submit_code(other_client, code(bob.secret, clock))).status_code == 303
    assert await signed_in_as(other_client) == "bob"


async def test_next_cannot_point_to_another_site(client, signed_out_with_2fa, clock):
    """A next URL of another host is replaced by the start page (no open redirect)."""
    await start_signin(client)
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock), next="//evil.example/x")
    assert response.status_code == 303
    assert response.headers["location"] == "/"

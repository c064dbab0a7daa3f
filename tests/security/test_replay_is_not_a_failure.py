"""Replaying a used code (signing out and in again within 30 s on a shared PC) costs no attempt, and says why."""

from server.messages import message
from tests.security.helpers import second_factor_failures
from tests.utils import (
    PROFILE,
    alice_id,
    code,
    event_kinds,
    post,
    shows,
    sign_out,
    start_signin,
    submit_code,
    user_with_two_factor,
)


async def test_a_replayed_code_costs_no_attempt_and_says_to_wait(client, svc, settings, signed_out_with_2fa, clock):
    """The used code, typed again at once, counts neither on the pending sign-in nor on the account's throttle."""
    value = code(signed_out_with_2fa.secret, clock)
    await start_signin(client)
    assert (await submit_code(client, value)).status_code == 303
    await sign_out(client)
    await start_signin(client)
    for _ in range(settings.pending_signin_attempts + settings.second_factor_free_attempts + 2):
        response = await submit_code(client, value)
        assert response.status_code == 422
        assert shows(response.text, "code.reused")
        assert shows(response.text, "code.attempts_left", left=settings.pending_signin_attempts)
    assert await second_factor_failures(svc) == 0
    assert "signin.failed_code" not in await event_kinds(svc)
    clock.advance(30)
    assert (await submit_code(client, code(signed_out_with_2fa.secret, clock))).status_code == 303


async def test_the_replay_message_says_precisely_what_to_do():
    """The message names the cause and the wait: a new code every 30 seconds."""
    assert message("code.reused") == (
        "This code was already used. Wait for the next code in your app (a new one appears every 30 seconds)."
    )


async def test_a_replayed_code_in_card_actions_costs_no_attempt(client, svc, settings, clock):
    """Disable with the code that was just spent (at sign-in) is refused as reused, not as a wrong guess."""
    enrolled = await user_with_two_factor(client, svc, clock)
    value = code(enrolled.secret, clock, -1)  # the step the sign-in spent
    for _ in range(settings.second_factor_free_attempts + 2):
        response = await post(client, "/profile/2fa/disable", {"code": value}, page=PROFILE)
        assert response.status_code == 422
        assert shows(response.text, "code.reused")
    assert await second_factor_failures(svc) == 0
    assert await alice_id(svc)

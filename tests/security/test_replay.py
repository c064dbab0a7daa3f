"""Replay: a time step is accepted once, never again, and never after a later step was used."""

import asyncio
from contextlib import AsyncExitStack

import pytest

from tests.security.helpers import PARALLEL, half_signed_in_browsers, session_count
from tests.utils import (
    PROFILE,
    TWO_FACTOR,
    add_user,
    code,
    csrf,
    enable_two_factor,
    event_kinds,
    post,
    shows,
    sign_in,
    sign_out,
    start_signin,
    submit_code,
    user_row,
    user_with_two_factor,
)


async def test_same_code_cannot_sign_in_twice_in_one_browser(client, signed_out_with_2fa, clock):
    """Signing out and back in within the same 30 seconds needs a new code: the used one is spent."""
    value = code(signed_out_with_2fa.secret, clock)
    await start_signin(client)
    assert (await submit_code(client, value)).status_code == 303
    await sign_out(client)
    await start_signin(client)
    response = await submit_code(client, value)
    assert response.status_code == 422
    assert shows(response.text, "code.reused")
    assert not client.cookies.get("mirox_session")


async def test_previous_step_is_rejected_at_signin_after_a_later_one_was_used(
    client, other_client, signed_out_with_2fa, clock
):
    """Once the next step's code signed someone in, the current step's code no longer signs anyone in."""
    await start_signin(other_client)
    assert (await submit_code(other_client, code(signed_out_with_2fa.secret, clock, 1))).status_code == 303
    await start_signin(client)
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 422
    assert shows(response.text, "code.reused")
    assert not client.cookies.get("mirox_session")


async def test_code_used_to_enable_cannot_sign_in(client, svc, clock):
    """The code that switched 2FA on is spent: the same step does not complete a sign-in."""
    await add_user(svc)
    await sign_in(client)
    enrolled = await enable_two_factor(client, clock)
    await sign_out(client)
    await start_signin(client)
    response = await submit_code(client, code(enrolled.secret, clock))
    assert response.status_code == 422
    assert shows(response.text, "code.reused")
    assert not client.cookies.get("mirox_session")


async def test_code_used_at_signin_is_rejected_at_a_second_signin(client, other_client, signed_out_with_2fa, clock):
    """A code someone watched being typed cannot be used again in another browser."""
    value = code(signed_out_with_2fa.secret, clock)
    await start_signin(client)
    await start_signin(other_client)
    assert (await submit_code(client, value)).status_code == 303
    response = await submit_code(other_client, value)
    assert response.status_code == 422
    assert shows(response.text, "code.reused")
    assert not other_client.cookies.get("mirox_session")


@pytest.mark.parametrize("path", ["/profile/2fa/disable", "/profile/2fa/backup-code"])
async def test_code_used_at_signin_is_rejected_at_card_actions(client, svc, signed_out_with_2fa, clock, path):
    """The step spent at sign-in cannot turn 2FA off or issue a new backup code."""
    value = code(signed_out_with_2fa.secret, clock)
    await start_signin(client)
    assert (await submit_code(client, value)).status_code == 303
    before = await user_row(svc)
    response = await post(client, path, {"code": value})
    assert response.status_code == 422
    assert shows(response.text, "code.reused")
    after = await user_row(svc)
    assert after["totp_secret_sealed"] == before["totp_secret_sealed"]
    assert after["backup_code_hash"] == before["backup_code_hash"]


async def test_older_step_is_rejected_after_a_newer_one_was_used(client, svc, signed_out_with_2fa, clock):
    """After the next step's code was used, the current step's code is not accepted either."""
    await start_signin(client)
    assert (await submit_code(client, code(signed_out_with_2fa.secret, clock, 1))).status_code == 303
    response = await post(client, "/profile/2fa/disable", {"code": code(signed_out_with_2fa.secret, clock)})
    assert response.status_code == 422
    assert shows(response.text, "code.reused")
    assert (await user_row(svc))["totp_secret_sealed"] is not None


async def test_same_code_submitted_twenty_times_at_once_signs_in_once(app, svc, signed_out_with_2fa, clock):
    """Twenty browsers racing with one code: exactly one gets a session."""
    value = code(signed_out_with_2fa.secret, clock)
    async with AsyncExitStack() as stack:
        browsers = await half_signed_in_browsers(stack, app, PARALLEL)
        responses = await asyncio.gather(
            *(b.post(TWO_FACTOR, data={"csrf_token": token, "code": value}) for b, token in browsers)
        )
        winners = [b for b, _ in browsers if b.cookies.get("mirox_session")]
    assert sum(r.status_code == 303 for r in responses) == 1, [r.status_code for r in responses]
    assert len(winners) == 1
    assert {r.status_code for r in responses} <= {303, 422, 429}
    assert await session_count(svc) == 1


async def test_same_code_for_new_backup_codes_twenty_times_at_once_issues_one(racer, svc, clock):
    """Twenty parallel New Backup Codes requests with one code: exactly one code is issued."""
    enrolled = await user_with_two_factor(racer, svc, clock)
    token = await csrf(racer, PROFILE)
    value = code(enrolled.secret, clock)
    responses = await asyncio.gather(
        *(racer.post("/profile/2fa/backup-code", data={"csrf_token": token, "code": value}) for _ in range(PARALLEL))
    )
    issued = [r for r in responses if r.status_code == 200 and 'id="backup-code"' in r.text]
    assert len(issued) == 1, [r.status_code for r in responses]
    assert (await event_kinds(svc)).count("2fa.new_backup") == 1


async def test_same_code_for_disable_twenty_times_at_once_disables_once(racer, svc, clock):
    """Twenty parallel Disable requests with one code turn 2FA off exactly once."""
    enrolled = await user_with_two_factor(racer, svc, clock)
    token = await csrf(racer, PROFILE)
    value = code(enrolled.secret, clock)
    await asyncio.gather(
        *(racer.post("/profile/2fa/disable", data={"csrf_token": token, "code": value}) for _ in range(PARALLEL))
    )
    assert (await user_row(svc))["totp_secret_sealed"] is None
    assert (await event_kinds(svc)).count("2fa.disabled") == 1

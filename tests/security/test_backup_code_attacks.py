"""Backup code attacks: guessing shares the account's counter, one use wins, and it needs the password first."""

import asyncio
from contextlib import AsyncExitStack

from tests.security.helpers import PARALLEL, half_signed_in_browsers, second_factor_failures, session_count
from tests.utils import (
    another_backup_code,
    browser,
    code,
    enable_two_factor,
    event_kinds,
    shows,
    sign_out,
    start_signin,
    submit_backup_code,
    submit_code,
    wrong_code,
)


async def test_backup_code_guesses_share_the_account_counter_with_app_codes(
    app, client, svc, signed_out_with_2fa, clock, settings
):
    """Wrong backup codes from fresh sign-ins fill the same per-account counter: then even the right app code waits."""
    free = settings.second_factor_free_attempts
    for n in range(free):
        async with browser(app, ip=f"192.0.2.{n + 1}") as attacker:
            await start_signin(attacker)
            response = await submit_backup_code(attacker, another_backup_code(signed_out_with_2fa.backup_code))
            assert response.status_code == 422
            assert shows(response.text, "backup.invalid")
    assert await second_factor_failures(svc) == free
    await start_signin(client)
    response = await submit_code(client, code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 429
    assert not client.cookies.get("mirox_session")
    response = await submit_backup_code(client, signed_out_with_2fa.backup_code)
    assert response.status_code == 429
    assert await second_factor_failures(svc) == free


async def test_app_code_guesses_count_against_backup_code_attempts(app, client, signed_out_with_2fa, clock, settings):
    """Wrong app codes fill the counter a backup-code guesser then meets: the real backup code waits."""
    for n in range(settings.second_factor_free_attempts):
        async with browser(app, ip=f"192.0.2.{n + 1}") as attacker:
            await start_signin(attacker)
            assert (await submit_code(attacker, wrong_code(signed_out_with_2fa.secret, clock))).status_code == 422
    await start_signin(client)
    response = await submit_backup_code(client, signed_out_with_2fa.backup_code)
    assert response.status_code == 429
    assert shows(response.text, "code.throttled", seconds=int(response.headers["Retry-After"]))
    assert not client.cookies.get("mirox_session")


async def test_backup_code_is_single_use(client, other_client, signed_out_with_2fa):
    """A second browser that reached the code step cannot use the same backup code again."""
    await start_signin(client)
    await start_signin(other_client)
    assert (await submit_backup_code(client, signed_out_with_2fa.backup_code)).status_code == 303
    response = await submit_backup_code(other_client, signed_out_with_2fa.backup_code)
    assert response.status_code == 303  # 2FA is off now, which ended this half-finished sign-in
    assert response.headers["location"] == "/signin?m=expired"
    assert not other_client.cookies.get("mirox_session")


async def test_backup_and_app_code_failures_share_the_five_attempts(client, signed_out_with_2fa, clock):
    """Wrong backup codes and wrong app codes together use up the same 5 attempts."""
    await start_signin(client)
    for _ in range(2):
        assert (
            await submit_backup_code(client, another_backup_code(signed_out_with_2fa.backup_code))
        ).status_code == 422
    for _ in range(2):
        assert (await submit_code(client, wrong_code(signed_out_with_2fa.secret, clock))).status_code == 422
    response = await submit_backup_code(client, another_backup_code(signed_out_with_2fa.backup_code))
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?m=too_many_codes"
    response = await submit_backup_code(client, signed_out_with_2fa.backup_code)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin")
    assert not client.cookies.get("mirox_session")


async def test_backup_code_of_an_earlier_setup_does_not_work_after_enabling_again(client, signed_out_with_2fa, clock):
    """Enabling again issues a new backup code; the one already used stays dead."""
    await start_signin(client)
    await submit_backup_code(client, signed_out_with_2fa.backup_code)
    clock.advance(60)
    again = await enable_two_factor(client, clock)
    assert again.backup_code != signed_out_with_2fa.backup_code
    await sign_out(client)
    clock.advance(60)
    await start_signin(client)
    response = await submit_backup_code(client, signed_out_with_2fa.backup_code)
    assert response.status_code == 422
    response = await submit_backup_code(client, again.backup_code)
    assert response.status_code == 303


async def test_backup_code_page_needs_the_password_step_first(client, signed_out_with_2fa):
    """Without a pending sign-in the backup code form is not reachable and the code is not spent."""
    response = await client.get("/signin/backup-code")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin")
    response = await submit_backup_code(client, signed_out_with_2fa.backup_code)
    assert response.status_code == 303
    assert not client.cookies.get("mirox_session")
    await start_signin(client)
    assert (await submit_backup_code(client, signed_out_with_2fa.backup_code)).status_code == 303


async def test_authenticator_code_is_not_a_backup_code(client, signed_out_with_2fa, clock):
    """A 6-digit app code typed into the backup form does not sign in."""
    await start_signin(client)
    response = await submit_backup_code(client, code(signed_out_with_2fa.secret, clock))
    assert response.status_code == 422
    assert not client.cookies.get("mirox_session")


async def test_backup_code_used_twenty_times_at_once_gives_one_session(app, svc, signed_out_with_2fa):
    """Twenty browsers racing with the one backup code: exactly one gets a session."""
    async with AsyncExitStack() as stack:
        browsers = await half_signed_in_browsers(stack, app, PARALLEL)
        responses = await asyncio.gather(
            *(
                b.post("/signin/backup-code", data={"csrf_token": token, "code": signed_out_with_2fa.backup_code})
                for b, token in browsers
            )
        )
        winners = [b for b, _ in browsers if b.cookies.get("mirox_session")]
    to_profile = [r for r in responses if r.status_code == 303 and r.headers["location"] == "/profile"]
    assert len(to_profile) == 1, [(r.status_code, r.headers.get("location")) for r in responses]
    assert len(winners) == 1
    assert await session_count(svc) == 1
    assert (await event_kinds(svc)).count("2fa.backup_used") == 1

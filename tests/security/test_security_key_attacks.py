"""Guessing at the key step: wrong key answers meet the same account throttle as wrong codes."""

import httpx
import pytest

from server.settings import Settings
from tests.keys import add_key, with_keys
from tests.security.helpers import second_factor_failures, wait_of
from tests.soft_key import SoftKey
from tests.utils import (
    Enrolled,
    browser,
    code,
    session_cookie,
    shows,
    sign_out,
    signin_csrf,
    start_signin,
    submit_code,
    wrong_code,
)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return with_keys(settings)


async def wrong_key_answer(attacker: httpx.AsyncClient) -> httpx.Response:
    """Use security key with a key of the attacker's own: a validly signed answer to this pending sign-in's challenge."""
    token = await signin_csrf(attacker)
    options = await attacker.post("/signin/key/options", data={"csrf_token": token})
    assert options.status_code == 200, options.text
    answer = SoftKey().get(options.json()["publicKey"])
    return await attacker.post("/signin/key", data={"csrf_token": token, "credential": answer})


async def test_wrong_key_answers_across_pending_signins_meet_the_code_throttle(
    app, client, svc, clock, settings, signed_in_with_2fa: Enrolled
):
    """A password thief's wrong key answers over fresh sign-ins count like wrong codes: after 5, even the right code waits."""
    key = SoftKey()
    assert (await add_key(client, key, code=code(signed_in_with_2fa.secret, clock))).status_code == 303
    await sign_out(client)
    clock.advance(30)
    statuses = []
    for n in range(3):  # three fresh sign-ins, each below its own 5 attempts
        async with browser(app, ip=f"203.0.113.{n + 1}") as attacker:
            await start_signin(attacker)
            for _ in range(2 if n < 2 else 1):
                refused = await wrong_key_answer(attacker)
                assert shows(refused.text, "key.invalid") and not session_cookie(attacker)
                statuses.append(refused.status_code)
    assert statuses == [422] * settings.second_factor_free_attempts
    assert await second_factor_failures(svc) == settings.second_factor_free_attempts
    async with browser(app, ip="203.0.113.9") as attacker:
        await start_signin(attacker)
        throttled = await wrong_key_answer(attacker)
        assert throttled.status_code == 429 and not session_cookie(attacker)
        assert shows(throttled.text, "key.throttled", seconds=wait_of(throttled.text))
    await start_signin(client)
    right_code = await submit_code(client, code(signed_in_with_2fa.secret, clock))
    assert right_code.status_code == 429 and not session_cookie(client)
    clock.advance(wait_of(right_code.text))
    assert (await submit_code(client, code(signed_in_with_2fa.secret, clock))).status_code == 303


async def test_wrong_codes_and_wrong_key_answers_share_one_count(app, client, svc, clock, signed_in_with_2fa: Enrolled):
    """Three wrong codes, then two wrong key answers in another sign-in: the sixth guess, a key answer, must wait."""
    assert (await add_key(client, SoftKey(), code=code(signed_in_with_2fa.secret, clock))).status_code == 303
    await sign_out(client)
    async with browser(app, ip="203.0.113.1") as attacker:
        await start_signin(attacker)
        for _ in range(3):
            assert (await submit_code(attacker, wrong_code(signed_in_with_2fa.secret, clock))).status_code == 422
    async with browser(app, ip="203.0.113.2") as attacker:
        await start_signin(attacker)
        assert [(await wrong_key_answer(attacker)).status_code for _ in range(3)] == [422, 422, 429]

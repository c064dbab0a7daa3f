"""Counter races: parallel guesses are each counted once and never evaluated past the limit."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from asgi_lifespan import LifespanManager

from server.app import create_app
from server.settings import Settings
from tests.security.helpers import PARALLEL, half_signed_in_browsers, second_factor_failures
from tests.utils import (
    PROFILE,
    TWO_FACTOR,
    FakeClock,
    browser,
    code,
    csrf,
    event_kinds,
    shows,
    signin_csrf,
    start_signin,
    submit_code,
    user_with_two_factor,
    wrong_code,
)

BURST = 50


@asynccontextmanager
async def relaxed_app(settings: Settings, clock: FakeClock) -> AsyncIterator[LifespanManager]:
    """The app on the same database, with a shared throttle that lets a thousand guesses through."""
    relaxed = dataclasses.replace(settings, second_factor_free_attempts=1000)
    async with LifespanManager(create_app(relaxed, clock=clock, announce=lambda _: None)) as manager:
        yield manager


async def test_fifty_concurrent_wrong_codes_raise_the_counter_by_exactly_fifty(settings, svc, clock):
    """No lost update: 50 parallel wrong codes (all let through by a relaxed limit) count 50 failures."""
    async with relaxed_app(settings, clock) as manager, browser(manager, ip="10.0.0.20") as racer:
        enrolled = await user_with_two_factor(racer, svc, clock)
        token = await csrf(racer, PROFILE)
        bad = wrong_code(enrolled.secret, clock)
        before = await second_factor_failures(svc)
        responses = await asyncio.gather(
            *(racer.post("/profile/2fa/check", data={"csrf_token": token, "code": bad}) for _ in range(BURST))
        )
    assert [r.status_code for r in responses] == [422] * BURST
    assert await second_factor_failures(svc) == before + BURST
    assert (await event_kinds(svc)).count("2fa.check_failed") == BURST


async def test_fifty_concurrent_wrong_codes_at_signin_are_evaluated_only_within_the_limit(
    app, svc, signed_out_with_2fa, clock, settings
):
    """50 browsers past the password step guess at once: at most the free attempts are evaluated, the rest throttled."""
    bad = wrong_code(signed_out_with_2fa.secret, clock)
    async with AsyncExitStack() as stack:
        browsers = await half_signed_in_browsers(stack, app, BURST)
        responses = await asyncio.gather(
            *(b.post(TWO_FACTOR, data={"csrf_token": token, "code": bad}) for b, token in browsers)
        )
    throttled = [r for r in responses if r.status_code == 429]
    evaluated = [r for r in responses if r.status_code != 429]
    assert all(shows(r.text, "code.throttled", seconds=int(r.headers["Retry-After"])) for r in throttled)
    assert all(r.status_code == 422 and shows(r.text, "code.invalid") for r in evaluated)
    assert len(evaluated) <= settings.second_factor_free_attempts
    assert await second_factor_failures(svc) == len(evaluated)
    assert (await event_kinds(svc)).count("signin.failed_code") == len(evaluated)


async def test_parallel_wrong_codes_on_one_pending_signin_are_capped_at_five(settings, svc, signed_out_with_2fa, clock):
    """Twenty wrong codes at once through one pending sign-in: only five are ever checked."""
    # The shared throttle is relaxed here so that the per-sign-in limit alone has to hold.
    async with relaxed_app(settings, clock) as manager, browser(manager, ip="10.0.0.20") as b:
        await start_signin(b)
        pending = b.cookies.get("mirox_pending")
        token = await signin_csrf(b)
        bad = wrong_code(signed_out_with_2fa.secret, clock)
        responses = await asyncio.gather(
            *(b.post(TWO_FACTOR, data={"csrf_token": token, "code": bad}) for _ in range(PARALLEL))
        )
        assert all(r.status_code in (303, 422) for r in responses), [r.status_code for r in responses]
        assert (await event_kinds(svc)).count("signin.failed_code") == 5
        b.cookies.set("mirox_pending", pending)
        response = await submit_code(b, code(signed_out_with_2fa.secret, clock))
        assert response.status_code == 303
        assert response.headers["location"].startswith("/signin")
        assert not b.cookies.get("mirox_session")


async def test_parallel_wrong_guesses_cannot_slip_past_the_limit(app, svc, clock):
    """Twenty wrong codes at once: only the five free attempts are even checked."""
    async with browser(app, ip="10.0.0.20") as client:
        await wrong_guesses_race(client, svc, clock)


async def wrong_guesses_race(client, svc, clock):
    enrolled = await user_with_two_factor(client, svc, clock)
    token = await csrf(client, PROFILE)
    bad = wrong_code(enrolled.secret, clock)
    responses = await asyncio.gather(
        *(client.post("/profile/2fa/check", data={"csrf_token": token, "code": bad}) for _ in range(PARALLEL))
    )
    statuses = [r.status_code for r in responses]
    assert statuses.count(422) == 5, statuses
    assert statuses.count(429) == PARALLEL - 5
    assert (await event_kinds(svc)).count("2fa.check_failed") == 5

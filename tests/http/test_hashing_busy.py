"""Sign-in storms: when hashing is busy, password and backup-code steps answer 503 at once with Retry-After."""

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager

from server.app import create_app
from server.auth.admission import Pacer
from server.services import Services
from server.settings import Settings
from tests.peek import throttle_failures
from tests.utils import (
    BACKUP_DISPLAY,
    PASSWORD,
    FakeClock,
    add_user,
    app_services,
    browser,
    code,
    csrf,
    hashing_held,
    post,
    shows,
    sign_out,
    start_signin,
    submit_backup_code,
    try_password,
    user_with_two_factor,
)

LANE = 3


@pytest.fixture
async def small_queue(settings: Settings, clock: FakeClock) -> AsyncIterator[LifespanManager]:
    """Two hashing threads, a general lane of three, one place per address and account."""
    small = dataclasses.replace(settings, hash_threads=2, hash_queue=LANE, hash_share=1)
    async with LifespanManager(create_app(small, clock=clock, announce=lambda text: None)) as manager:
        app_services(manager).hash_queue.pacer = Pacer(clock=clock, sleep=pauses.record)
        yield manager


class Pauses:
    """The pacer's sleep in these tests: what a busy answer would have waited, without waiting."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def record(self, seconds: float) -> None:
        self.waits.append(seconds)


pauses = Pauses()


@pytest.fixture
async def owner(small_queue: LifespanManager) -> AsyncIterator[httpx.AsyncClient]:
    """alice's browser on the app with the small queue; alice has an account."""
    await add_user(app_services(small_queue))
    async with browser(small_queue, ip="192.0.2.10") as b:
        yield b


def retry_after(response: httpx.Response) -> int:
    return int(response.headers["Retry-After"])


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
async def test_a_sign_in_during_a_storm_is_told_busy_at_once(small_queue, owner, htmx):
    """With the hashing lane full, a sign-in gets 503, Retry-After and the busy message; the form stays usable."""
    svc = app_services(small_queue)
    async with hashing_held(svc.hash_queue, LANE):
        token = await csrf(owner)
        headers = {"HX-Request": "true"} if htmx else {}
        data = {"csrf_token": token, "username": "alice", "password": PASSWORD}
        response = await owner.post("/signin", data=data, headers=headers)
    assert response.status_code == 503
    assert retry_after(response) >= 1
    assert shows(response.text, "signin.busy", seconds=retry_after(response))
    assert 'name="username"' in response.text and 'value="alice"' in response.text
    assert ("<html" in response.text) is not htmx


async def test_a_busy_answer_costs_no_attempt(small_queue, owner):
    """Busy answers are not counted as failed attempts on the account or the address."""
    svc = app_services(small_queue)
    async with hashing_held(svc.hash_queue, LANE):
        for _ in range(8):
            assert (await try_password(owner)).status_code == 503
    assert await throttle_failures(svc.db, "password:account:alice") == 0
    assert await throttle_failures(svc.db, "password:address:192.0.2.10") == 0
    assert (await try_password(owner, password=PASSWORD)).status_code == 303


async def test_after_the_storm_sign_in_works_again(small_queue, owner):
    """Once the hashes in flight are done, the same sign-in goes through."""
    svc = app_services(small_queue)
    async with hashing_held(svc.hash_queue, LANE):
        assert (await try_password(owner, password=PASSWORD)).status_code == 503
    assert (await try_password(owner, password=PASSWORD)).status_code == 303
    assert svc.hash_queue.in_flight == 0


async def test_one_address_cannot_take_more_than_its_share(small_queue, owner):
    """An address already hashing is told busy; another address, with the lane not full, signs in."""
    svc = app_services(small_queue)
    async with hashing_held(svc.hash_queue, 1, ip="198.51.100.{}"):
        async with browser(small_queue, ip="198.51.100.0") as flooder:
            assert (await try_password(flooder, "mallory")).status_code == 503
        assert (await try_password(owner, password=PASSWORD)).status_code == 303


async def test_the_password_prompt_is_busy_too(small_queue, clock):
    """The password prompt of an unknown browser answers 503 with Retry-After, counting no failure."""
    svc: Services = app_services(small_queue)
    async with browser(small_queue) as b:
        await user_with_two_factor(b, svc, clock)
        b.cookies.delete("mirox_device")  # a browser the queue does not know
        clock.advance(11 * 60)
        async with hashing_held(svc.hash_queue, LANE):
            response = await post(b, "/profile/reauth", {"password": PASSWORD, "then": "disable_2fa"}, htmx=True)
        assert response.status_code == 503
        assert shows(response.text, "signin.busy", seconds=retry_after(response))
        assert await throttle_failures(svc.db, "password:account:alice") == 0


async def test_new_backup_codes_busy_does_not_spend_the_code(small_queue, clock):
    """New Backup Codes while hashing is busy: 503 with Retry-After, and the same code works afterwards."""
    svc: Services = app_services(small_queue)
    async with browser(small_queue) as b:
        enrolled = await user_with_two_factor(b, svc, clock)
        current = code(enrolled.secret, clock, 1)
        clock.advance(30)
        async with hashing_held(svc.hash_queue, LANE):
            busy = await post(b, "/profile/2fa/backup-code", {"code": current}, htmx=True)
        assert busy.status_code == 503
        assert shows(busy.text, "code.busy", seconds=retry_after(busy))
        done = await post(b, "/profile/2fa/backup-code", {"code": current}, htmx=True)
        assert done.status_code == 200
        assert BACKUP_DISPLAY.search(done.text)


async def test_the_backup_code_step_is_busy_without_costing_an_attempt(small_queue, clock):
    """Use Backup Code while hashing is busy: 503 with Retry-After; the code still signs in afterwards."""
    svc: Services = app_services(small_queue)
    async with browser(small_queue) as b:
        enrolled = await user_with_two_factor(b, svc, clock)
        await sign_out(b)
        await start_signin(b)
        async with hashing_held(svc.hash_queue, LANE):
            busy = await submit_backup_code(b, enrolled.backup_code)
        assert busy.status_code == 503
        assert shows(busy.text, "code.busy", seconds=retry_after(busy))
        assert (await submit_backup_code(b, enrolled.backup_code)).status_code == 303


async def test_a_known_browser_is_served_while_the_general_lane_is_full(small_queue, owner):
    """A browser that signed in to the account before queues in its own lane: a storm of strangers does not refuse it."""
    svc = app_services(small_queue)
    assert (await try_password(owner, password=PASSWORD)).status_code == 303
    owner.cookies.delete("mirox_session")
    async with hashing_held(svc.hash_queue, LANE):
        async with browser(small_queue, ip="192.0.2.11") as stranger:
            assert (await try_password(stranger, password=PASSWORD)).status_code == 503
        attempt = asyncio.create_task(try_password(owner, password=PASSWORD))
        async with asyncio.timeout(10):  # until the owner's sign-in waits in the known lane (or was answered)
            while svc.hash_queue.in_flight == LANE and not attempt.done():
                await asyncio.sleep(0.005)
        assert not attempt.done() and svc.hash_queue.in_flight == LANE + 1
    assert (await attempt).status_code == 303


async def test_a_client_ignoring_retry_after_gets_its_busy_answers_no_faster(small_queue, owner, clock):
    """The first busy answer comes at once; the same address back before its Retry-After waits out the rest."""
    svc = app_services(small_queue)
    pauses.waits.clear()
    async with hashing_held(svc.hash_queue, LANE):
        first = await try_password(owner)
        assert pauses.waits == []
        again = await try_password(owner)
        assert pauses.waits == [pytest.approx(retry_after(first))]
        clock.advance(retry_after(again) + 1)
        async with browser(small_queue, ip="192.0.2.77") as elsewhere:
            assert (await try_password(elsewhere)).status_code == 503
        assert (await try_password(owner)).status_code == 503
    assert len(pauses.waits) == 1

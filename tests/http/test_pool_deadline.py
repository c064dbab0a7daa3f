"""Every database connection taken for longer than the acquire deadline: a quick 503 page, never a hang.

A request takes a connection per statement, so what exhausts the pool here is other
holders (the test's own tasks); the request under test waits at most
``MIROX_DB_ACQUIRE_TIMEOUT`` and answers 503 with ``Retry-After``. ``/readyz`` says
"not ready" meanwhile while ``/healthz`` (liveness) stays 200, and both recover.
"""

import asyncio
import dataclasses
import os
import time
from collections.abc import AsyncIterator
from html import escape

import httpx
import pytest
from asgi_lifespan import LifespanManager

from server import db as database
from server import store
from server.app import create_app
from server.auth.crypto import Keyring, new_key_text, parse_keys
from server.messages import message
from server.services import Services
from server.settings import Settings
from server.tables import users
from tests.conftest import PG_URL_VARIABLE
from tests.servers import with_pool
from tests.utils import FakeClock, add_user, isolated_state, sign_in

POOL_SIZE = 2
ACQUIRE_TIMEOUT = 0.3


@pytest.fixture
def small_pool(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Two connections at most (on either backend) and a short acquire deadline."""
    monkeypatch.setattr(database, "MAX_SQLITE_CONNECTIONS", POOL_SIZE)
    url = settings.database_url
    if os.environ.get(PG_URL_VARIABLE):
        url = with_pool(url, 1, POOL_SIZE)
    return dataclasses.replace(settings, database_url=url, db_acquire_timeout=ACQUIRE_TIMEOUT)


@pytest.fixture
async def running(small_pool: Settings, clock: FakeClock) -> AsyncIterator[tuple[httpx.AsyncClient, Services]]:
    application = create_app(small_pool, clock=clock, announce=lambda text: None)
    async with LifespanManager(application) as manager:
        transport = httpx.ASGITransport(app=isolated_state(manager))  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client, manager._state["services"]


async def hold_every_connection(db: object, release: asyncio.Event) -> list[asyncio.Task[None]]:
    """POOL_SIZE tasks, each holding one of the app's connections until ``release`` is set."""
    taken = asyncio.Semaphore(0)

    async def hold() -> None:
        async with db.connection():  # type: ignore[attr-defined]
            await db.fetch_val("SELECT 1")  # type: ignore[attr-defined]
            taken.release()
            await release.wait()

    tasks = [asyncio.create_task(hold()) for _ in range(POOL_SIZE)]
    for _ in range(POOL_SIZE):
        await taken.acquire()
    return tasks


async def test_exhausted_pool_answers_503_within_the_acquire_deadline_and_recovers(running):
    """Pages answer 503 + Retry-After within the deadline; /readyz fails, /healthz stays up; then all is normal."""
    client, svc = running
    await add_user(svc)
    assert (await sign_in(client)).status_code == 303
    release = asyncio.Event()
    holders = await hold_every_connection(svc.db, release)

    started = time.monotonic()
    page = await client.get("/profile")
    waited = time.monotonic() - started
    assert page.status_code == 503, page.text[:300]
    assert page.headers["retry-after"] == "30"
    assert escape(message("error.unavailable")) in page.text
    assert waited < ACQUIRE_TIMEOUT + 2
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.text == "not ready: database"
    assert (await client.get("/healthz")).status_code == 200

    release.set()
    await asyncio.gather(*holders)
    assert (await client.get("/profile")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200


async def test_readyz_fails_while_the_keys_cannot_open_the_stored_secrets(running):
    """A deployment started with another key is alive but not ready: its 2FA sign-ins could not work."""
    client, svc = running
    await add_user(svc)
    assert (await client.get("/readyz")).text == "ready"
    user = await store.get_user_by_key(svc.db, "alice")
    assert user is not None
    foreign = Keyring(parse_keys(new_key_text())).seal("JBSWY3DPEHPK3PXP", f"totp:user:{user.id}")
    await svc.db.execute(users.update().where(users.c.id == user.id).values(totp_secret_sealed=foreign))
    ready = await client.get("/readyz")
    assert ready.status_code == 503
    assert ready.text == "not ready: keys"
    assert (await client.get("/healthz")).status_code == 200

"""When the database fails, people get a clear 503 page (never a traceback), and the app recovers by itself.

One test per kind of failure: a driver error of the backend in use (both backends),
the SQLite file disappearing (SQLite), and PostgreSQL ending the app's connections
(PostgreSQL). The multiprocess tests repeat this against a real server process.
"""

import asyncio
import os
import shutil
import sqlite3
from html import escape
from pathlib import Path

import asyncpg
import httpx
import pytest
from databases import Database

from server.db import Prepared
from server.messages import message
from server.settings import Settings
from tests.utils import add_user, sign_in

UNAVAILABLE = escape(message("error.unavailable"))


def assert_unavailable(response: httpx.Response) -> None:
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["retry-after"] == "30"
    assert UNAVAILABLE in response.text
    assert "Traceback" not in response.text


def driver_error(db: Database) -> Exception:
    """What the backend's driver raises when its database is gone."""
    if db.url.dialect == "postgresql":
        return asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")
    return sqlite3.OperationalError("disk I/O error")


async def test_driver_error_gives_503_page_and_fragment_then_recovers(client, svc, monkeypatch):
    await add_user(svc)
    assert (await sign_in(client)).status_code == 303
    error = driver_error(svc.db)

    async def fail(*args: object, **kwargs: object) -> None:
        raise error

    for method in ("fetch_one", "fetch_all", "execute"):
        monkeypatch.setattr(Database, method, fail)
        monkeypatch.setattr(Prepared, method, fail)  # the per-request statements run on the driver directly
    page = await client.get("/profile")
    assert_unavailable(page)
    assert page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text
    assert "default-src 'self'" in page.headers["content-security-policy"]
    fragment = await client.get("/profile", headers={"HX-Request": "true"})
    assert_unavailable(fragment)
    assert "<html" not in fragment.text
    assert (await client.get("/healthz")).status_code == 200

    monkeypatch.undo()
    assert (await client.get("/profile")).status_code == 200, "still signed in once the database is back"


async def test_sqlite_file_gone_gives_503_then_recovers(client, svc, settings: Settings, no_pg):
    """The volume holding the SQLite file goes away (here: a directory takes its place), then comes back."""
    await add_user(svc)
    assert (await sign_in(client)).status_code == 303
    path = Path(settings.resolved_database_url.removeprefix("sqlite:///"))
    aside = path.with_name("moved-away")
    aside.mkdir()
    files = [p for p in path.parent.iterdir() if p.name.startswith(path.name)]
    for p in files:
        shutil.move(p, aside / p.name)
    path.mkdir()
    try:
        assert_unavailable(await client.get("/profile"))
    finally:
        path.rmdir()
        for p in files:
            shutil.move(aside / p.name, p)
    assert (await client.get("/profile")).status_code == 200


async def test_postgres_ending_the_connections_costs_at_most_one_request(client, svc, settings: Settings):
    """PostgreSQL ends every connection of this process (as a restart or failover would); the pool replaces them."""
    if settings.database_schema is None:
        pytest.skip("PostgreSQL-only test")
    await add_user(svc)
    assert (await sign_in(client)).status_code == 303
    url = os.environ["MIROX_TEST_DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://")
    connection = await asyncpg.connect(url)
    try:
        ended = await connection.fetch(
            "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1",
            f"mirox-{os.getpid()}",
        )
        assert ended, "the app's connections carry the application name mirox-<pid>"
        await gone(connection, [row["pid"] for row in ended])
    finally:
        await connection.close()
    first = await client.get("/profile")
    if first.status_code != 200:
        assert_unavailable(first)
    for _ in range(3):
        assert (await client.get("/profile")).status_code == 200


async def gone(connection: asyncpg.Connection, pids: list[int]) -> None:
    """Wait until the ended server processes have exited (pg_terminate_backend only signals them)."""
    for _ in range(100):
        if not await connection.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", pids):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"PostgreSQL backends {pids} did not exit")

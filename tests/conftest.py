"""Shared fixtures: a fresh database per test (SQLite file, or a PostgreSQL schema), an injected clock."""

import os
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from asgi_lifespan import LifespanManager

from server.app import create_app
from server.auth.crypto import new_key_text
from server.services import Services, open_services
from server.settings import Settings
from tests.utils import (
    Enrolled,
    FakeClock,
    browser,
    signed_in_without_two_factor,
    user_with_two_factor,
    user_with_two_factor_signed_out,
)

PG_URL_VARIABLE = "MIROX_TEST_DATABASE_URL"
FIGURES = pytest.StashKey[list[str]]()
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"


def pytest_report_header() -> str:
    return f"database: {os.environ.get(PG_URL_VARIABLE) or 'SQLite (set ' + PG_URL_VARIABLE + ' for PostgreSQL)'}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Print the figures tests recorded (attacks refused, fuzz inputs, load and crash results)."""
    lines = config.stash.get(FIGURES, [])
    if lines:
        terminalreporter.section("figures")
        for line in lines:
            terminalreporter.write_line(line)


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Record one line for the run's "figures" summary, e.g. ``figures("fuzz: 4,000 inputs, 0 5xx")``."""
    return request.config.stash.setdefault(FIGURES, []).append


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[tuple[str, str | None]]:
    """A URL and schema nobody else uses; dropped afterwards."""
    pg_url = os.environ.get(PG_URL_VARIABLE)
    if not pg_url:
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}", None
        return
    schema = "t_" + secrets.token_hex(6)
    connection = await asyncpg.connect(pg_url.replace("postgresql+asyncpg://", "postgresql://"))
    await connection.execute(f"CREATE SCHEMA {schema}")
    try:
        yield pg_url, schema
    finally:
        await connection.execute(f"DROP SCHEMA {schema} CASCADE")
        await connection.close()


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch, database: tuple[str, str | None], tmp_path: Path) -> Settings:
    """MIROX_* variables for the test database, fast argon2 (for the command line); the Settings it will read."""
    for name in list(os.environ):
        if name.startswith("MIROX_") and name != PG_URL_VARIABLE:
            monkeypatch.delenv(name)
    url, schema = database
    monkeypatch.setenv("MIROX_DATABASE_URL", url)
    if schema:
        monkeypatch.setenv("MIROX_DATABASE_SCHEMA", schema)
    monkeypatch.setenv("MIROX_TOTP_KEYS", new_key_text())
    monkeypatch.setenv("MIROX_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("MIROX_ARGON2_MEMORY_KIB", "8")
    monkeypatch.setenv("MIROX_ARGON2_PARALLELISM", "1")
    monkeypatch.setenv("MIROX_DATA_DIR", str(tmp_path / "data"))
    return Settings.from_env(os.environ)


@pytest.fixture
def settings(tmp_path: Path, database: tuple[str, str | None]) -> Settings:
    url, schema = database
    return Settings(
        data_dir=tmp_path / "data",
        database_url=url,
        database_schema=schema,
        totp_keys=new_key_text(),
        argon2_time_cost=1,
        argon2_memory_kib=8,
        argon2_parallelism=1,
    )


@pytest.fixture
def announcements() -> list[str]:
    return []


@pytest.fixture
async def app(settings: Settings, clock: FakeClock, announcements: list[str]) -> AsyncIterator[LifespanManager]:
    application = create_app(settings, clock=clock, announce=announcements.append)
    async with LifespanManager(application) as manager:
        yield manager


@pytest.fixture
async def client(app: LifespanManager) -> AsyncIterator[httpx.AsyncClient]:
    async with browser(app) as c:
        yield c


@pytest.fixture
async def other_client(app: LifespanManager) -> AsyncIterator[httpx.AsyncClient]:
    """A second browser: another address, Firefox on Linux."""
    async with browser(app, ip="10.0.0.9", user_agent=FIREFOX) as c:
        yield c


@pytest.fixture
async def svc(app: LifespanManager, settings: Settings, clock: FakeClock) -> AsyncIterator[Services]:
    """Direct access to the same database, for arranging and inspecting state."""
    async with open_services(settings, clock=clock) as services:
        yield services


@pytest.fixture
async def signed_out_with_2fa(client: httpx.AsyncClient, svc: Services, clock: FakeClock) -> Enrolled:
    """alice has 2FA on and is signed out on ``client``; a minute has passed since she enabled it."""
    return await user_with_two_factor_signed_out(client, svc, clock)


@pytest.fixture
async def signed_in_with_2fa(client: httpx.AsyncClient, svc: Services, clock: FakeClock) -> Enrolled:
    """alice has 2FA on and has just signed in with a code on ``client`` (the clock is on a fresh step)."""
    return await user_with_two_factor(client, svc, clock)


@pytest.fixture
async def signed_in_without_2fa(client: httpx.AsyncClient, svc: Services) -> None:
    """alice has 2FA off and has just signed in on ``client`` (so Enable needs no password prompt)."""
    await signed_in_without_two_factor(client, svc)


@pytest.fixture
def no_pg() -> Iterator[None]:
    if os.environ.get(PG_URL_VARIABLE):
        pytest.skip("SQLite-only test")
    yield

"""A real server process loses PostgreSQL and gets it back: a clear 503 page meanwhile, then business as usual.

The server reaches PostgreSQL through a small TCP proxy owned by the test, so the
database can be cut off for this one server without touching the PostgreSQL that
other tests use. A second test ends the server's connections from the database
side (``pg_terminate_backend``, as a PostgreSQL restart or failover would).
"""

import asyncio
import time
from collections.abc import Iterator
from html import escape
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from server.auth.crypto import new_key_text
from server.messages import message
from tests.servers import (
    PASSWORD,
    DatabaseLink,
    app_env,
    browser,
    drop_schema,
    new_schema,
    run_cli,
    session_cookie,
    sign_in,
    sql,
    start_server,
    with_pool,
)
from tests.utils import csrf_of

pytestmark = pytest.mark.multiprocess

UNAVAILABLE = escape(message("error.unavailable"))


def through(url: str, port: int) -> str:
    """The same database URL, but to 127.0.0.1:port (the proxy)."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    return urlunsplit(parts._replace(netloc=(userinfo + "@" if userinfo else "") + f"127.0.0.1:{port}"))


@pytest.fixture
def link(pg_url: str) -> Iterator[DatabaseLink]:
    parts = urlsplit(pg_url)
    proxy = DatabaseLink(parts.hostname or "127.0.0.1", parts.port or 5432)
    try:
        yield proxy
    finally:
        proxy.close()


@pytest.fixture
def deployment(pg_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    """The environment of one server on a fresh schema, with the account "erin"."""
    schema = new_schema(pg_url)
    try:
        env = app_env(schema, new_key_text(), MIROX_DATA_DIR=str(tmp_path / "data"))
        run_cli("--database-url", pg_url, "user", "add", "erin", env=env, stdin=PASSWORD + "\n")
        yield env
    finally:
        drop_schema(pg_url, schema)


def assert_unavailable_page(response: httpx.Response) -> None:
    """The 503 a person sees: the app's page with what happened and what to do, never a traceback."""
    assert response.status_code == 503, (response.status_code, response.text[:300])
    assert response.headers["retry-after"] == "30"
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    assert UNAVAILABLE in response.text
    assert "Traceback" not in response.text
    assert "asyncpg" not in response.text and "Error:" not in response.text


async def test_database_unreachable_gives_503_page_then_recovers(
    pg_url: str, link: DatabaseLink, deployment: dict[str, str], tmp_path: Path
):
    url = with_pool(through(pg_url, link.port), 1, 4)
    server = start_server("outage", ["--database-url", url], deployment, tmp_path)
    try:
        server.wait_ready()
        base = server.url
        async with browser() as user, browser() as newcomer:
            assert (await sign_in(user, base, "erin")).status_code == 303
            assert (await user.get(base + "/profile")).status_code == 200

            link.cut()
            started = time.monotonic()
            assert_unavailable_page(await user.get(base + "/profile"))
            fragment = await user.get(base + "/profile", headers={"HX-Request": "true"})
            assert fragment.status_code == 503
            assert UNAVAILABLE in fragment.text and "<html" not in fragment.text
            # Someone signing in meanwhile: the form itself may still render; checking a password cannot.
            form = await newcomer.get(base + "/signin")
            if form.status_code == 200:
                form = await newcomer.post(
                    base + "/signin", data={"csrf_token": csrf_of(form.text), "username": "erin", "password": PASSWORD}
                )
            assert_unavailable_page(form)
            # Liveness stays up: restarting the app would not bring the database back.
            assert (await user.get(base + "/healthz")).status_code == 200
            assert time.monotonic() - started < 5, "errors must come fast, not after timeouts"

            link.restore()
            profile = await user.get(base + "/profile")
            assert profile.status_code == 200, "the pool reconnects on the first request after the outage"
            assert "erin" in profile.text
            assert (await sign_in(newcomer, base, "erin")).status_code == 303
        # Handled, not crashed: uvicorn logs this for an exception the app let through.
        # (asyncpg's own pool logs its failed reconnects with a traceback: that is expected.)
        assert "Exception in ASGI application" not in server.output()
    finally:
        server.stop()


async def test_connections_ended_by_postgresql_are_replaced(pg_url: str, deployment: dict[str, str], tmp_path: Path):
    """pg_terminate_backend on every connection of the server: at most one request fails (503), then all work."""
    server = start_server("terminated", ["--database-url", with_pool(pg_url, 2, 4)], deployment, tmp_path)
    try:
        server.wait_ready()
        base = server.url
        async with browser() as user:
            assert (await sign_in(user, base, "erin")).status_code == 303
            token = session_cookie(user)
            name = f"mirox-{server.process.pid}"
            ended = await sql(
                pg_url,
                "SELECT pid, pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1",
                name,
            )
            assert len(ended) >= 2, f"no connections named {name}"
            await backends_gone(pg_url, [row["pid"] for row in ended])

            first = await user.get(base + "/profile")
            if first.status_code != 200:
                assert_unavailable_page(first)
            for _ in range(5):
                profile = await user.get(base + "/profile")
                assert profile.status_code == 200
                assert "erin" in profile.text
            assert session_cookie(user) == token, "the session survived: it lives in the database"
            alive = await sql(pg_url, "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1", name)
            assert alive[0]["n"] >= 1
    finally:
        server.stop()


async def backends_gone(pg_url: str, pids: list[int]) -> None:
    """Wait until the ended PostgreSQL processes have exited (pg_terminate_backend only signals them)."""
    for _ in range(100):
        if not (await sql(pg_url, "SELECT pid FROM pg_stat_activity WHERE pid = ANY($1)", pids)):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"PostgreSQL backends {pids} did not exit")

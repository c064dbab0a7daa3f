"""Fixtures for the scale-out tests: PostgreSQL, a fresh schema, two real server processes.

CI runs ``pytest -m multiprocess tests/multiprocess`` with ``MIROX_TEST_DATABASE_URL``
set. Without it these tests skip on a developer machine and fail in CI (``CI`` set),
so a misconfigured pipeline cannot pass by skipping them.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from server.auth.crypto import new_key_text
from tests.servers import (
    PASSWORD,
    Server,
    app_env,
    drop_schema,
    new_schema,
    run_cli,
    start_server,
    with_pool,
)

PG_URL_VARIABLE = "MIROX_TEST_DATABASE_URL"


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL every server process of a test shares."""
    url = os.environ.get(PG_URL_VARIABLE, "")
    if not url:
        reason = (
            f"the multiprocess tests need PostgreSQL: set {PG_URL_VARIABLE}=postgresql://user@host:5432/db"
            " (they start several server processes against one PostgreSQL database)"
        )
        if in_ci():
            pytest.fail(f"CI is set but {reason}", pytrace=False)
        pytest.skip(reason)
    if not url.startswith(("postgresql://", "postgres://", "postgresql+asyncpg://")):
        pytest.fail(f"{PG_URL_VARIABLE} must be a postgresql:// URL, got {url!r}", pytrace=False)
    return url


@pytest.fixture(scope="module")
def schema(pg_url: str) -> Iterator[str]:
    """A schema nobody else uses, dropped afterwards (MIROX_DATABASE_SCHEMA of every process)."""
    name = new_schema(pg_url)
    try:
        yield name
    finally:
        drop_schema(pg_url, name)


@dataclass
class Cluster:
    """Two servers, A and B, on different ports, one database, one key."""

    a: Server
    b: Server
    env: dict[str, str]
    database_url: str

    def add_user(self, name: str) -> None:
        """``python run.py user add NAME`` with the password on stdin, as an administrator would."""
        run_cli("--database-url", self.database_url, "user", "add", name, env=self.env, stdin=PASSWORD + "\n")


@pytest.fixture(scope="module")
def cluster(pg_url: str, schema: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Start A and B together on the empty schema (both upgrade it: the schema lock serialises them)."""
    log_dir = tmp_path_factory.mktemp("servers")
    # A long first delay, so "the next attempt is refused" never depends on how fast this machine is.
    env = app_env(schema, new_key_text(), MIROX_DATA_DIR=str(log_dir / "data"), MIROX_THROTTLE_BASE_DELAY="60")
    url = with_pool(pg_url, 1, 10)
    servers = [start_server(name, ["--database-url", url], env, log_dir) for name in ("A", "B")]
    try:
        for server in servers:
            server.wait_ready()
        yield Cluster(a=servers[0], b=servers[1], env=env, database_url=url)
    finally:
        for server in servers:
            server.stop()

"""Fixtures for the soak tests: one deployment (a database and a key) served by real ``run.py`` processes.

The database is a fresh SQLite file, or a fresh PostgreSQL schema when
``MIROX_TEST_DATABASE_URL`` is set, so CI runs these tests once on each backend.
Sizes are small by default and grow through environment variables (see docs/security.md).
"""

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

from server.auth.crypto import new_key_text
from tests.servers import (
    PASSWORD,
    Server,
    app_env,
    drop_schema,
    new_schema,
    plain_dsn,
    run_async,
    run_cli,
    start_server,
    with_pool,
)

PG_URL_VARIABLE = "MIROX_TEST_DATABASE_URL"


def size(variable: str, default: int) -> int:
    """A size of a soak run: ``default`` unless the environment variable says otherwise."""
    return int(os.environ.get(variable, default))


@dataclass
class Deployment:
    """One database and key; start as many servers on it as a test needs, one after another or together."""

    database_url: str
    env: dict[str, str]
    log_dir: Path
    servers: list[Server] = field(default_factory=list)

    @property
    def backend(self) -> str:
        return "sqlite" if self.database_url.startswith("sqlite") else "postgresql"

    def start(self, name: str = "app", *args: str) -> Server:
        """``python run.py --database-url URL ARGS`` on a free port, started and answering /healthz."""
        server = start_server(name, ["--database-url", self.database_url, *args], self.env, self.log_dir)
        self.servers.append(server)
        server.wait_ready()
        return server

    def cli(self, *args: str, stdin: str = "") -> str:
        """``python run.py --database-url URL ARGS``: its standard output."""
        return run_cli("--database-url", self.database_url, *args, env=self.env, stdin=stdin).stdout

    def add_user(self, name: str, password: str = PASSWORD) -> None:
        self.cli("user", "add", name, stdin=password + "\n")

    def query(self, statement: str) -> list[tuple[object, ...]]:
        """Rows of a read-only SQL statement, straight from the database (not through the app)."""
        if self.backend == "sqlite":
            path = self.database_url.removeprefix("sqlite:///")
            with sqlite3.connect(path, timeout=30) as connection:
                return [tuple(row) for row in connection.execute(statement)]
        schema = self.env["MIROX_DATABASE_SCHEMA"]

        async def fetch() -> list[tuple[object, ...]]:
            connection = await asyncpg.connect(plain_dsn(self.database_url), server_settings={"search_path": schema})
            try:
                return [tuple(row) for row in await connection.fetch(statement)]
            finally:
                await connection.close()

        return run_async(fetch)


@pytest.fixture
def deployment(tmp_path: Path) -> Iterator[Deployment]:
    """A fresh database and key; every server started on it is stopped afterwards."""
    pg_url = os.environ.get(PG_URL_VARIABLE, "")
    schema = new_schema(pg_url) if pg_url else ""
    data_dir = tmp_path / "data"
    env = app_env(schema, new_key_text(), MIROX_DATA_DIR=str(data_dir))
    url = with_pool(pg_url, 1, 10) if pg_url else f"sqlite:///{tmp_path / 'soak.sqlite3'}"
    found = Deployment(database_url=url, env=env, log_dir=tmp_path)
    try:
        yield found
    finally:
        for server in found.servers:
            server.stop()
        if schema:
            drop_schema(pg_url, schema)

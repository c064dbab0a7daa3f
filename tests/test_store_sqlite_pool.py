"""The SQLite connections kept open between requests: reused, but never with an open transaction.

A deleted database file is covered by tests/http/test_database_outage.py (503, then recovery).
"""

from pathlib import Path

import pytest

from server.db import close_database, open_database, upgrade_schema


@pytest.fixture
async def db(tmp_path: Path, no_pg: None):
    database = open_database(f"sqlite:///{tmp_path / 'pool.sqlite3'}")
    await database.connect()
    await upgrade_schema(database)
    yield database
    await close_database(database)


async def test_connections_are_reused_between_uses(db):
    """A second use gets the connection the first one gave back, not a new one."""
    async with db.connection() as first:
        raw = first.raw_connection
    async with db.connection() as second:
        assert second.raw_connection is raw


async def test_a_connection_left_in_a_transaction_is_not_reused(db):
    """A connection given back inside a transaction is closed, so its transaction cannot leak into the next use."""
    async with db.connection() as first:
        raw = first.raw_connection
        await raw.execute("BEGIN")
    async with db.connection() as second:
        assert second.raw_connection is not raw
        assert not second.raw_connection.in_transaction

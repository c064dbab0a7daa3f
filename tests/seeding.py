"""Rows written straight into the tables of a database the app has created, bypassing the app.

The benchmark seeds a million accounts this way (``bench/seed.py``) and the migration tests
write the data of an old release (``tests/test_migrations.py``): one code path for both, on
SQLite (``executemany`` in one transaction) and PostgreSQL (``COPY``).
"""

import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

SESSION_COLUMNS = (
    "token_hash",
    "user_id",
    "created_at",
    "last_seen_at",
    "authenticated_at",
    "expires_at",
    "user_agent",
    "ip",
)
"""The columns of a session that every release has had (release 1 added ``notice``, later ones nothing)."""


@dataclass(frozen=True)
class TableRows:
    """Rows for one table: values in the order of ``columns``."""

    table: str
    columns: tuple[str, ...]
    rows: Iterable[Sequence[object]]


async def seed(url: str, schema: str | None, tables: Sequence[TableRows]) -> None:
    """Write ``tables`` in order into the database at ``url`` (a test or app URL; ``schema`` for PostgreSQL)."""
    if url.startswith("sqlite"):
        _seed_sqlite(url.split(":///", 1)[1], tables)
    else:
        dsn = url.replace("postgresql+asyncpg://", "postgresql://").split("?", 1)[0]
        await _seed_postgres(dsn, schema or "public", tables)


def _seed_sqlite(path: str, tables: Sequence[TableRows]) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    try:
        connection.execute("PRAGMA cache_size = -262144")
        connection.execute("BEGIN")
        for t in tables:
            marks = ", ".join("?" * len(t.columns))
            connection.executemany(f"INSERT INTO {t.table} ({', '.join(t.columns)}) VALUES ({marks})", t.rows)
        connection.execute("COMMIT")
    finally:
        connection.close()


async def _seed_postgres(dsn: str, schema: str, tables: Sequence[TableRows]) -> None:
    import asyncpg  # only here: the benchmark's load processes import the seeding and need no driver

    connection = await asyncpg.connect(dsn)
    try:
        for t in tables:
            records = (tuple(row) for row in t.rows)
            await connection.copy_records_to_table(t.table, records=records, columns=t.columns, schema_name=schema)
            if "id" in t.columns:  # COPY with explicit ids leaves the id sequence behind; the app inserts after it
                await connection.execute(
                    f"SELECT setval(pg_get_serial_sequence('{schema}.{t.table}', 'id'),"
                    f" (SELECT max(id) FROM {schema}.{t.table}))"
                )
        await connection.execute(f"ANALYZE {', '.join(f'{schema}.{t.table}' for t in tables)}")
    finally:
        await connection.close()

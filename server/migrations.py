"""Versioned, in-place schema upgrades.

A new database is built by the same path as an old one is upgraded: every step
from version 0 up to ``LATEST`` runs once, in order, inside one transaction that
holds the schema lock, so several processes starting together upgrade it once.
A released step never changes; a later release appends a new one.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from databases import Database
from sqlalchemy import Column, MetaData, Table, UniqueConstraint, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from server import tables

Step = Callable[[Database, Dialect], Awaitable[None]]

V1_USER_COLUMNS = ("id", "username", "username_key", "password_hash", "created_at", "disabled_at")
V2_USER_COLUMNS = ("totp_secret_sealed", "totp_enabled_at", "totp_last_step", "backup_code_hash")
V3_INDEX_NAMES = frozenset(index.name for index in tables.LOOKUP_INDEXES)


def dialect_of(db: Database) -> Dialect:
    """The SQLAlchemy dialect that matches the database URL."""
    return postgresql.dialect() if db.url.dialect == "postgresql" else sqlite.dialect()


async def _create(db: Database, table: Table) -> None:
    """A table with the indexes it had when first released (later ones come with their version)."""
    await db.execute(CreateTable(table))
    for index in table.indexes:
        if index.name not in V3_INDEX_NAMES:
            await db.execute(CreateIndex(index))


def _users_v1() -> Table:
    """The users table as release 1 created it (before two-factor columns)."""
    columns = [column._copy() for column in tables.users.c if column.name in V1_USER_COLUMNS]
    return Table("users", MetaData(), *columns, UniqueConstraint("username_key"))


async def _v1_foundation(db: Database, dialect: Dialect) -> None:
    await _create(db, _users_v1())
    for table in (tables.sessions, tables.throttle, tables.setup_tokens):
        await _create(db, table)


async def _v2_two_factor(db: Database, dialect: Dialect) -> None:
    for name in V2_USER_COLUMNS:
        column: Column[Any] = tables.users.c[name]
        await db.execute(text(f"ALTER TABLE users ADD COLUMN {name} {column.type.compile(dialect=dialect)}"))
    for table in (tables.pending_signins, tables.enrollments, tables.security_events):
        await _create(db, table)


async def _v3_lookup_indexes(db: Database, dialect: Dialect) -> None:
    for index in tables.LOOKUP_INDEXES:
        await db.execute(CreateIndex(index))


STEPS: tuple[Step, ...] = (_v1_foundation, _v2_two_factor, _v3_lookup_indexes)
LATEST = len(STEPS)


_CREATE_VERSION_TABLE = "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)"


async def current_version(db: Database) -> int:
    """The schema version recorded in the database (0 for an empty one)."""
    await db.execute(text(_CREATE_VERSION_TABLE))
    row = await db.fetch_one(select(tables.schema_version.c.version))
    return 0 if row is None else int(row["version"])


async def upgrade(db: Database, target: int = LATEST) -> int:
    """Bring the schema up to ``target``; return the version it was at before."""
    dialect = dialect_of(db)
    if dialect.name != "postgresql":
        await db.execute(text(_CREATE_VERSION_TABLE))
    async with db.transaction():
        if dialect.name == "postgresql":
            # Under the lock: PostgreSQL's CREATE TABLE IF NOT EXISTS is not safe against a
            # concurrent one (a unique violation in pg_type when two workers start together).
            await db.execute(text("SELECT pg_advisory_xact_lock(727274)"))
            await db.execute(text(_CREATE_VERSION_TABLE))
        else:
            await db.execute(update(tables.schema_version).values(version=tables.schema_version.c.version))
        row = await db.fetch_one(select(tables.schema_version.c.version))
        before = 0 if row is None else int(row["version"])
        if row is None:
            await db.execute(tables.schema_version.insert().values(version=0))
        for version in range(before + 1, target + 1):
            await STEPS[version - 1](db, dialect)
            await db.execute(update(tables.schema_version).values(version=version))
    return before

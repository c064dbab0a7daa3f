"""The database layer: opening and closing, connections, transactions, compiled statements, dialects.

``databases`` 0.9 (over SQLAlchemy Core, aiosqlite or asyncpg) is the driver; this is the only
module that knows its quirks, each handled here with the reason beside it, and the only one that
touches its private parts (the SQLite pool, the raw driver connection). ``server.store`` writes
the statements and runs them through the functions below.

Connections: a statement run outside a transaction takes a connection for itself and gives it
back at once; a transaction holds one until it ends. Nothing holds a connection for a whole
request (not while a body arrives, a password hash runs or a page renders). On SQLite the pool
keeps idle connections, so taking one per statement costs a list pop; on PostgreSQL it is
asyncpg's pool.
"""

import asyncio
import dataclasses
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiosqlite
import asyncpg
from databases import Database, DatabaseURL
from databases.backends.postgres import PostgresBackend
from databases.backends.sqlite import SQLitePool
from databases.interfaces import Record
from sqlalchemy import Table
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import asyncpg as asyncpg_dialect
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from server import migrations

DEFAULT_ACQUIRE_TIMEOUT = 3.0


class PoolExhausted(Exception):
    """No database connection became free within the acquire deadline."""


ERRORS: tuple[type[BaseException], ...] = (
    PoolExhausted,
    sqlite3.Error,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    # Raised when a query runs on a connection PostgreSQL has just ended (restart,
    # failover, pg_terminate_backend) before asyncpg noticed; the pool replaces it.
    asyncpg.InternalClientError,
    ConnectionError,
    OSError,
)
"""Driver errors that mean "the database is unavailable right now" (answered with 503).

``databases`` does not wrap driver exceptions, so both drivers' classes are listed."""


class _SQLiteConnection(sqlite3.Connection):
    """A SQLite connection with the pragmas the app relies on.

    ``databases`` passes URL query strings to ``connect`` as arguments, not as PRAGMAs,
    so they are set here, through the ``factory`` it hands to ``sqlite3.connect``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.execute("PRAGMA busy_timeout = 10000")
        self._use_wal()
        self.execute("PRAGMA synchronous = NORMAL")
        self.execute("PRAGMA foreign_keys = ON")

    def _use_wal(self) -> None:
        """Switch a new database file to WAL once; the mode sticks to the file.

        Switching ignores the busy timeout: two connections switching a new file at the same
        moment (two processes starting together) get "database is locked". Retry briefly.
        """
        for attempt in range(100):
            if self.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            try:
                self.execute("PRAGMA journal_mode = WAL")
                return
            except sqlite3.OperationalError:
                if attempt == 99:
                    raise
                time.sleep(0.01)


IDLE_SQLITE_CONNECTIONS = 8
MAX_SQLITE_CONNECTIONS = 32
"""Open SQLite connections (each an aiosqlite thread) per process; more wait, up to the acquire deadline."""


class _ReusingSQLitePool(SQLitePool):
    """``databases``' SQLite pool, keeping a few connections open between uses.

    ``databases`` opens a new SQLite connection, and aiosqlite a new thread, on every
    acquire: more than half the cost of a small page. Up to ``IDLE_SQLITE_CONNECTIONS``
    are kept instead. A connection left inside a transaction is closed, never reused, and
    so is one whose file was deleted or replaced since it was opened (a restored backup):
    the next use opens whatever file is at the path now. At most ``MAX_SQLITE_CONNECTIONS``
    are open at once; an acquire that waits longer than ``acquire_timeout`` raises ``PoolExhausted``.
    """

    def __init__(self, url: DatabaseURL, acquire_timeout: float = DEFAULT_ACQUIRE_TIMEOUT, **options: Any) -> None:
        super().__init__(url, **options)
        self._path = url.database
        self._idle: list[aiosqlite.Connection] = []
        self._files: dict[int, tuple[int, int]] = {}
        self._slots = asyncio.Semaphore(MAX_SQLITE_CONNECTIONS)
        self._acquire_timeout = acquire_timeout
        self.in_use = 0

    def _file(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self._path)
        except OSError:
            return None
        return found.st_dev, found.st_ino

    async def acquire(self) -> aiosqlite.Connection:
        try:
            async with asyncio.timeout(self._acquire_timeout):
                await self._slots.acquire()
        except TimeoutError:
            raise PoolExhausted from None
        try:
            connection = await self._acquire()
        except BaseException:
            self._slots.release()
            raise
        self.in_use += 1
        return connection

    async def _acquire(self) -> aiosqlite.Connection:
        file = self._file()
        while self._idle:
            connection = self._idle.pop()
            if file is not None and self._files.get(id(connection)) == file:
                return connection
            await self._close(connection)
        connection = await super().acquire()
        if (opened := self._file()) is not None:
            self._files[id(connection)] = opened
        return connection

    async def release(self, connection: aiosqlite.Connection) -> None:
        """Keep the connection for the next acquire (which checks its file) unless it is in a transaction."""
        self.in_use -= 1
        reusable = id(connection) in self._files and not connection.in_transaction
        try:
            if reusable and len(self._idle) < IDLE_SQLITE_CONNECTIONS:
                self._idle.append(connection)
            else:
                await self._close(connection)
        finally:
            self._slots.release()

    async def _close(self, connection: aiosqlite.Connection) -> None:
        self._files.pop(id(connection), None)
        await super().release(connection)

    async def close_idle(self) -> None:
        while self._idle:
            await self._close(self._idle.pop())


class _DeadlinePool:
    """An asyncpg pool whose ``acquire`` gives up after a deadline (``databases`` waits for ever)."""

    def __init__(self, pool: asyncpg.Pool, acquire_timeout: float) -> None:
        self.pool = pool
        self._acquire_timeout = acquire_timeout

    async def acquire(self) -> Any:
        try:
            return await self.pool.acquire(timeout=self._acquire_timeout)
        except TimeoutError:
            raise PoolExhausted from None

    async def release(self, connection: Any) -> None:
        await self.pool.release(connection)

    async def close(self) -> None:
        await self.pool.close()


class _DeadlinePostgresBackend(PostgresBackend):
    """``databases``' PostgreSQL backend with an acquire deadline on its pool."""

    acquire_timeout = DEFAULT_ACQUIRE_TIMEOUT

    async def connect(self) -> None:
        await super().connect()
        self._pool = _DeadlinePool(self._pool, self.acquire_timeout)  # type: ignore[assignment]


def open_database(url: str, schema: str | None = None, acquire_timeout: float = DEFAULT_ACQUIRE_TIMEOUT) -> Database:
    """A ``Database`` for ``url`` (not yet connected); ``schema`` sets the PostgreSQL search path.

    Taking a connection waits at most ``acquire_timeout`` seconds, then raises ``PoolExhausted``.
    """
    if url.startswith("sqlite"):
        db = Database(url, factory=_SQLiteConnection)
        # databases 0.9 has no option for its SQLite pool: replace it (the version is pinned).
        backend = db._backend
        backend._pool = _ReusingSQLitePool(backend._database_url, acquire_timeout, **backend._options)
        return db
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    # The application name lets an operator (or a test) find the connections of one
    # process in pg_stat_activity, e.g. to end them with pg_terminate_backend.
    server_settings = {"application_name": f"mirox-{os.getpid()}"}
    if schema:
        server_settings["search_path"] = schema
    db = Database(url, command_timeout=15, server_settings=server_settings)
    deadline_backend = _DeadlinePostgresBackend(db.url, **db.options)
    deadline_backend.acquire_timeout = acquire_timeout
    db._backend = deadline_backend
    return db


def pool_in_use(db: Database) -> int:
    """How many of this process's database connections are checked out right now."""
    pool = getattr(db._backend, "_pool", None)
    if isinstance(pool, _ReusingSQLitePool):
        return pool.in_use
    if isinstance(pool, _DeadlinePool):
        pool = pool.pool
    if isinstance(pool, asyncpg.Pool):
        return int(pool.get_size() - pool.get_idle_size())
    return 0


async def close_database(db: Database) -> None:
    """Close every connection: the idle SQLite ones kept between uses, and the pool."""
    pool = getattr(db._backend, "_pool", None)
    if isinstance(pool, _ReusingSQLitePool):
        await pool.close_idle()
    await db.disconnect()


@asynccontextmanager
async def opened(
    url: str, schema: str | None = None, acquire_timeout: float = DEFAULT_ACQUIRE_TIMEOUT
) -> AsyncIterator[Database]:
    """The database at ``url``, connected, its schema created or upgraded; closed on exit."""
    db = open_database(url, schema, acquire_timeout)
    await db.connect()
    try:
        await upgrade_schema(db)
        yield db
    finally:
        await close_database(db)


async def upgrade_schema(db: Database) -> int:
    """Create or upgrade the schema; return the version found before."""
    return await migrations.upgrade(db)


async def schema_version(db: Database) -> int:
    return await migrations.current_version(db)


@asynccontextmanager
async def transaction(db: Database) -> AsyncIterator[None]:
    """One transaction on one connection, held until it ends.

    SQLite starts it with a deferred ``BEGIN``, so its first statement must be a write (a read
    first takes a shared lock that cannot be upgraded under concurrency: "database is locked").
    ``databases`` ties the connection to the asyncio task: statements of child tasks are not in it.
    """
    async with db.transaction():
        yield


class Rollback(Exception):
    """Raised inside a transaction to undo it when a conditional step lost."""


def is_sqlite(db: Database) -> bool:
    return db.url.dialect != "postgresql"


def insert(db: Database, table: Table) -> Any:
    """An INSERT that can say ``on_conflict_do_nothing``/``_update`` (each dialect has its own class)."""
    return sqlite_insert(table) if is_sqlite(db) else pg_insert(table)


R = TypeVar("R")


def record(cls: type[R], row: Record | Mapping[str, Any], prefix: str = "") -> R:
    """A frozen record dataclass from a row: each field from the column of its name (after ``prefix``)."""
    return cls(**{f.name: row[prefix + f.name] for f in dataclasses.fields(cls)})  # type: ignore[arg-type]


class Prepared:
    """A statement compiled once per dialect and run on the driver directly.

    ``databases`` compiles every statement on every call (about a millisecond for the
    session lookup, more than the query itself); the statements every request runs are
    compiled once instead. They run on a connection taken from ``databases`` (the task's
    transaction's, if any), through its raw driver connection.
    """

    def __init__(self, statement: Any) -> None:
        self._statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...], dict[str, Any]]] = {}

    def _sql(self, db: Database, values: dict[str, Any]) -> tuple[str, list[Any]]:
        name = db.url.dialect
        if name not in self._compiled:
            dialect = asyncpg_dialect.dialect() if name == "postgresql" else sqlite.dialect(paramstyle="qmark")
            compiled = self._statement.compile(dialect=dialect)
            self._compiled[name] = (compiled.string, tuple(compiled.positiontup or ()), compiled.params)
        sql, names, defaults = self._compiled[name]
        return sql, [values[n] if n in values else defaults[n] for n in names]

    async def fetch_all(self, db: Database, **values: Any) -> list[dict[str, Any]]:
        sql, args = self._sql(db, values)
        async with db.connection() as connection:
            raw = connection.raw_connection
            if is_sqlite(db):
                async with raw.execute(sql, args) as cursor:
                    names = [d[0] for d in cursor.description]
                    return [dict(zip(names, row, strict=True)) for row in await cursor.fetchall()]
            return [dict(found) for found in await raw.fetch(sql, *args)]

    async def fetch_one(self, db: Database, **values: Any) -> dict[str, Any] | None:
        sql, args = self._sql(db, values)
        async with db.connection() as connection:
            raw = connection.raw_connection
            if is_sqlite(db):
                async with raw.execute(sql, args) as cursor:
                    row = await cursor.fetchone()
                    return None if row is None else dict(zip((d[0] for d in cursor.description), row, strict=True))
            found = await raw.fetchrow(sql, *args)
            return None if found is None else dict(found)

    async def execute(self, db: Database, **values: Any) -> None:
        sql, args = self._sql(db, values)
        async with db.connection() as connection:
            raw = connection.raw_connection
            if is_sqlite(db):
                async with raw.execute(sql, args):
                    return
            await raw.execute(sql, *args)

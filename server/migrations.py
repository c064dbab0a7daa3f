"""Versioned, in-place schema upgrades.

A new database is built by the same path as an old one is upgraded: every step
from version 0 up to ``LATEST`` runs once, in order, inside one transaction that
holds the schema lock, so several processes starting together upgrade it once.
A released step never changes; a later release appends a new one.
"""

from collections.abc import Awaitable, Callable
from typing import Any

from databases import Database
from sqlalchemy import Column, ForeignKey, Integer, MetaData, Table, UniqueConstraint, insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.schema import CreateIndex, CreateTable

from server import tables
from server.auth import audit_chain

Step = Callable[[Database, Dialect], Awaitable[None]]

V1_USER_COLUMNS = ("id", "username", "username_key", "password_hash", "created_at", "disabled_at")
V2_USER_COLUMNS = ("totp_secret_sealed", "totp_enabled_at", "totp_last_step", "backup_code_hash")
V4_USER_COLUMNS = ("notices_seen_seq", "flagged_at")
V2_EVENT_COLUMNS = ("id", "user_id", "kind", "at", "ip", "device")
V6_DEVICE_COLUMNS = ("id", "token_hash", "user_id", "created_at", "expires_at")
V3_INDEX_NAMES = frozenset(index.name for index in tables.LOOKUP_INDEXES)
LATER_INDEX_NAMES = V3_INDEX_NAMES | {index.name for index in tables.AUDIT_INDEXES}


def dialect_of(db: Database) -> Dialect:
    """The SQLAlchemy dialect that matches the database URL."""
    return postgresql.dialect() if db.url.dialect == "postgresql" else sqlite.dialect()


async def _create(db: Database, table: Table) -> None:
    """A table with the indexes it had when first released (later ones come with their version)."""
    await db.execute(CreateTable(table))
    for index in table.indexes:
        if index.name not in LATER_INDEX_NAMES:
            await db.execute(CreateIndex(index))


def _users_v1() -> Table:
    """The users table as release 1 created it (before two-factor columns)."""
    columns = [column._copy() for column in tables.users.c if column.name in V1_USER_COLUMNS]
    return Table("users", MetaData(), *columns, UniqueConstraint("username_key"))


def _security_events_v2() -> Table:
    """The activity table as release 2 created it (before the audit trail)."""
    columns = [column._copy() for column in tables.security_events.c if column.name in V2_EVENT_COLUMNS]
    columns[1] = Column(
        "user_id", Integer, ForeignKey(tables.users.c.id, ondelete="CASCADE"), nullable=False, index=True
    )
    return Table("security_events", MetaData(), *columns)


def _devices_v6() -> Table:
    """The devices table as release 6 created it (before labels and last use)."""
    columns = [column._copy() for column in tables.devices.c if column.name in V6_DEVICE_COLUMNS]
    columns[2] = Column(
        "user_id", Integer, ForeignKey(tables.users.c.id, ondelete="CASCADE"), nullable=False, index=True
    )
    return Table("devices", MetaData(), *columns)


async def _v1_foundation(db: Database, dialect: Dialect) -> None:
    await _create(db, _users_v1())
    for table in (tables.sessions, tables.throttle, tables.setup_tokens):
        await _create(db, table)


async def _v2_two_factor(db: Database, dialect: Dialect) -> None:
    for name in V2_USER_COLUMNS:
        column: Column[Any] = tables.users.c[name]
        await db.execute(text(f"ALTER TABLE users ADD COLUMN {name} {column.type.compile(dialect=dialect)}"))
    for table in (tables.pending_signins, tables.enrollments, _security_events_v2()):
        await _create(db, table)


async def _v3_lookup_indexes(db: Database, dialect: Dialect) -> None:
    for index in tables.LOOKUP_INDEXES:
        await db.execute(CreateIndex(index))


def _legacy_record(row: dict[str, Any], seq: int) -> dict[str, Any]:
    """An activity row written before the audit trail, as an audit record."""
    kind = row["kind"]
    return {
        "seq": seq,
        "at": row["at"],
        "kind": kind,
        "outcome": "failure" if "failed" in kind else "success",
        "factor": None,
        "username": row["username"],
        "actor": "admin" if kind == "2fa.reset_by_admin" else "user",
        "ip": row["ip"],
        "device": row["device"],
        "detail": "{}",
    }


async def _v4_audit_trail(db: Database, dialect: Dialect) -> None:
    """security_events becomes the audit trail (a nullable user, more fields, the hash chain); users get notices.

    The table is rebuilt (SQLite cannot drop a NOT NULL), its rows chained in their order.
    """
    events = tables.security_events
    columns = [column._copy() for column in events.c]
    columns[1] = Column("user_id", Integer, ForeignKey(tables.users.c.id, ondelete="SET NULL"))
    rebuilt = Table("security_events_v4", MetaData(), *columns)
    await db.execute(CreateTable(rebuilt))
    old = text(
        "SELECT e.id, e.user_id, e.kind, e.at, e.ip, e.device, u.username"
        " FROM security_events e LEFT JOIN users u ON u.id = e.user_id ORDER BY e.at, e.id"
    )
    previous = audit_chain.GENESIS
    seq = 0
    for row in await db.fetch_all(old):
        seq += 1
        record = _legacy_record(dict(row), seq)
        digest = audit_chain.link_hash(previous, record)
        await db.execute(
            insert(rebuilt).values(id=row["id"], user_id=row["user_id"], **record, prev_hash=previous, hash=digest)
        )
        previous = digest
    await db.execute(text("DROP TABLE security_events"))
    await db.execute(text("ALTER TABLE security_events_v4 RENAME TO security_events"))
    if dialect.name == "postgresql":
        await db.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('security_events', 'id'),"
                " COALESCE((SELECT MAX(id) FROM security_events), 0) + 1, false)"
            )
        )
    for index in events.indexes:
        await db.execute(CreateIndex(index))
    await _create(db, tables.audit_head)
    await db.execute(insert(tables.audit_head).values(id=1, seq=seq, hash=previous))
    await db.execute(text("ALTER TABLE users ADD COLUMN notices_seen_seq INTEGER NOT NULL DEFAULT 0"))
    await db.execute(
        text(f"ALTER TABLE users ADD COLUMN flagged_at {tables.users.c.flagged_at.type.compile(dialect=dialect)}")
    )
    # What happened before this release was seen on the activity list: no notices about it.
    await db.execute(update(tables.users).values(notices_seen_seq=seq))


async def _v5_groups_and_policy(db: Database, dialect: Dialect) -> None:
    """Groups, their members, the two-factor policy (one row, nobody required) and each account's standing."""
    for table in (tables.groups, tables.group_members, tables.two_factor_policy, tables.policy_groups):
        await _create(db, table)
    await _create(db, tables.policy_states)
    await db.execute(insert(tables.two_factor_policy).values(id=1, scope="nobody", changed_at=0.0))


async def _v6_devices(db: Database, dialect: Dialect) -> None:
    """Device cookies: the browsers that signed in to an account before."""
    await _create(db, _devices_v6())


async def _v7_submissions(db: Database, dialect: Dialect) -> None:
    """One-time form submissions, so a repeated submit gets the first one's result."""
    await _create(db, tables.submissions)


async def _v8_security_keys(db: Database, dialect: Dialect) -> None:
    """WebAuthn security keys and their challenges; users get when their keys made 2FA on."""
    column = tables.users.c.keys_enabled_at
    await db.execute(text(f"ALTER TABLE users ADD COLUMN keys_enabled_at {column.type.compile(dialect=dialect)}"))
    for table in (tables.security_keys, tables.key_challenges):
        await _create(db, table)


async def _v9_device_labels(db: Database, dialect: Dialect) -> None:
    """Remembered browsers: each device's browser and system, and when it last signed in.

    Devices remembered before have no User-Agent kept: "Unknown browser", last used when remembered.
    """
    label = tables.devices.c.label
    await db.execute(
        text(
            f"ALTER TABLE devices ADD COLUMN label {label.type.compile(dialect=dialect)}"
            f" NOT NULL DEFAULT '{tables.UNKNOWN_BROWSER}'"
        )
    )
    last_used = tables.devices.c.last_used_at
    await db.execute(text(f"ALTER TABLE devices ADD COLUMN last_used_at {last_used.type.compile(dialect=dialect)}"))
    await db.execute(update(tables.devices).values(last_used_at=tables.devices.c.created_at))


STEPS: tuple[Step, ...] = (
    _v1_foundation,
    _v2_two_factor,
    _v3_lookup_indexes,
    _v4_audit_trail,
    _v5_groups_and_policy,
    _v6_devices,
    _v7_submissions,
    _v8_security_keys,
    _v9_device_labels,
)
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

"""Schema upgrades in place: a release-1 database with data becomes the latest schema, data intact."""

import asyncio
from collections.abc import AsyncIterator

import pytest
from databases import Database
from sqlalchemy import column, insert, table, text

from server import audit_store, device_store, migrations, store
from server.auth import audit_chain
from server.auth.tokens import token_hash
from server.db import close_database, open_database, schema_version, upgrade_schema
from server.tables import metadata
from tests.seeding import SESSION_COLUMNS, TableRows, seed

NOW = 1_800_000_000.0
V1_TABLES = {"users", "sessions", "throttle", "setup_tokens"}
V2_TABLES = {"pending_signins", "enrollments", "security_events"}


@pytest.fixture
async def db(database) -> AsyncIterator[Database]:
    url, schema = database
    connection = open_database(url, schema)
    await connection.connect()
    try:
        yield connection
    finally:
        await close_database(connection)


async def table_names(db: Database) -> set[str]:
    if db.url.dialect == "postgresql":
        rows = await db.fetch_all(text("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"))
    else:
        rows = await db.fetch_all(text("SELECT name FROM sqlite_master WHERE type = 'table'"))
    return {row[0] for row in rows}


async def column_names(db: Database, name: str) -> set[str]:
    if db.url.dialect == "postgresql":
        rows = await db.fetch_all(
            text(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = :name"
            ).bindparams(name=name)
        )
        return {row[0] for row in rows}
    rows = await db.fetch_all(text(f"PRAGMA table_info({name})"))
    return {row[1] for row in rows}


SESSION_V1_COLUMNS = (*SESSION_COLUMNS, "notice")


async def insert_release_1_data(database: tuple[str, str | None]) -> None:
    """A user and a session written with release 1's columns only (by the benchmark's seeding path)."""
    url, schema = database
    user = (1, "Alice", "alice", "$argon2id$old", NOW, None)
    session = (token_hash("release-1-token"), 1, NOW, NOW, NOW, NOW + 3600, "Firefox", "192.0.2.1", None)
    await seed(
        url,
        schema,
        [
            TableRows("users", migrations.V1_USER_COLUMNS, [user]),
            TableRows("sessions", SESSION_V1_COLUMNS, [session]),
        ],
    )


async def insert_release_2_event(db: Database, kind: str, at: float = NOW) -> None:
    """An activity row written with release 2's columns only."""
    events_v2 = table("security_events", *(column(name) for name in migrations.V2_EVENT_COLUMNS[1:]))
    await db.execute(insert(events_v2).values(user_id=1, kind=kind, at=at, ip="192.0.2.1", device="Firefox"))


async def test_release_1_schema_has_no_two_factor_parts(db):
    """Upgrading to version 1 builds the first release's schema, without the later columns and tables."""
    assert await migrations.upgrade(db, target=1) == 0
    assert await migrations.current_version(db) == 1
    names = await table_names(db)
    assert names >= V1_TABLES
    assert not V2_TABLES & names
    assert await column_names(db, "users") == set(migrations.V1_USER_COLUMNS)


async def test_upgrade_keeps_data_and_adds_the_new_columns_and_tables(database, db):
    """A release-1 database with a user and a session upgrades in place; old data works, new parts are usable."""
    await migrations.upgrade(db, target=1)
    await insert_release_1_data(database)

    assert await migrations.upgrade(db) == 1
    assert await migrations.current_version(db) == migrations.LATEST
    assert {t.name for t in metadata.sorted_tables} <= await table_names(db)
    assert set(migrations.V2_USER_COLUMNS) <= await column_names(db, "users")

    user = await store.get_user(db, 1)
    assert user is not None
    assert (user.username, user.password_hash, user.created_at) == ("Alice", "$argon2id$old", NOW)
    assert not user.two_factor_on
    assert user.totp_last_step is None and user.backup_code_hash is None
    found = await store.signed_in(db, token_hash("release-1-token"), NOW + 60, 1800)
    assert found is not None
    session, _ = found
    assert session.user_id == 1 and session.ip == "192.0.2.1"

    await store.create_pending_signin(db, token_hash("pending"), 1, NOW, NOW + 300, "Firefox", "192.0.2.1")
    assert await store.get_pending_signin(db, token_hash("pending"), NOW, 5) is not None
    await store.start_enrollment(
        db,
        store.Enrollment(
            id="e1", user_id=1, session_id=session.id, secret_sealed="s", backup_code_sealed="b", expires_at=NOW + 900
        ),
        NOW,
    )
    enrollment = await store.get_enrollment(db, "e1", 1, session.id, NOW)
    assert enrollment is not None
    assert await store.complete_enrollment(db, enrollment, "sealed", "backup-hash", 42, NOW)
    assert await store.advance_totp_step(db, 1, 43)
    await audit_store.record_event(
        db, audit_store.AuditEntry(kind="2fa.enabled", at=NOW, outcome="success", user_id=1, ip="192.0.2.1")
    )
    upgraded = await store.get_user(db, 1)
    assert upgraded.two_factor_on and upgraded.totp_last_step == 43 and upgraded.backup_code_hash == "backup-hash"
    assert [e.kind for e in await store.recent_events(db, 1)] == ["2fa.enabled"]


async def index_names(db: Database) -> set[str]:
    if db.url.dialect == "postgresql":
        rows = await db.fetch_all(text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"))
    else:
        rows = await db.fetch_all(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
    return {row[0] for row in rows}


async def test_version_3_adds_an_index_on_every_lookup_path(database, db):
    """A version-2 database with data gains the lookup indexes; the data and its queries are unchanged."""
    await migrations.upgrade(db, target=1)
    await insert_release_1_data(database)
    await migrations.upgrade(db, target=2)
    assert not migrations.V3_INDEX_NAMES & await index_names(db)
    await insert_release_2_event(db, "2fa.enabled")

    assert await migrations.upgrade(db) == 2
    assert await index_names(db) >= migrations.V3_INDEX_NAMES
    assert [e.kind for e in await store.recent_events(db, 1)] == ["2fa.enabled"]
    assert await store.signed_in(db, token_hash("release-1-token"), NOW + 60, 1800) is not None


async def test_running_upgrade_again_changes_nothing(database, db):
    """Upgrading an up-to-date database is a no-op: same version, same data."""
    await migrations.upgrade(db, target=1)
    await insert_release_1_data(database)
    await migrations.upgrade(db)
    before = await store.get_user(db, 1)
    assert await migrations.upgrade(db) == migrations.LATEST
    assert await migrations.upgrade(db) == migrations.LATEST
    assert await migrations.current_version(db) == migrations.LATEST
    assert await store.get_user(db, 1) == before
    rows = await db.fetch_all(text("SELECT version FROM schema_version"))
    assert [row[0] for row in rows] == [migrations.LATEST]


async def test_new_database_goes_straight_to_the_latest_version(db):
    """An empty database is built by the same steps, up to the latest version."""
    assert await migrations.current_version(db) == 0
    assert await upgrade_schema(db) == 0
    assert await schema_version(db) == migrations.LATEST
    assert {t.name for t in metadata.sorted_tables} <= await table_names(db)


async def test_concurrent_upgrades_build_the_schema_once(database, db):
    """Two processes starting together on an empty database: one builds the schema, the other waits and finds it."""
    url, schema = database
    other = open_database(url, schema)
    await other.connect()
    try:
        results = await asyncio.gather(migrations.upgrade(db), migrations.upgrade(other))
    finally:
        await close_database(other)
    assert sorted(results) == [0, migrations.LATEST]
    assert await migrations.current_version(db) == migrations.LATEST
    rows = await db.fetch_all(text("SELECT version FROM schema_version"))
    assert [row[0] for row in rows] == [migrations.LATEST]


async def test_the_audit_trail_version_chains_the_activity_rows_already_there(database, db):
    """Activity rows written before the audit trail become its first records, chained in time order."""
    await migrations.upgrade(db, target=1)
    await insert_release_1_data(database)
    await migrations.upgrade(db, target=3)
    await insert_release_2_event(db, "signin.failed_code", NOW + 2)
    await insert_release_2_event(db, "signin", NOW + 1)

    await migrations.upgrade(db)
    assert set(migrations.V4_USER_COLUMNS) <= await column_names(db, "users")
    alice = await store.get_user(db, 1)
    assert alice.notices_seen_seq == 2 and alice.flagged_at is None, "older events raise no notices"
    head, records = await audit_store.audit_snapshot(db)
    assert [(r["seq"], r["kind"], r["outcome"], r["username"]) for r in records] == [
        (1, "signin", "success", "Alice"),
        (2, "signin.failed_code", "failure", "Alice"),
    ]
    assert head == (2, records[-1]["hash"])
    assert audit_chain.verify(records, head) is None
    await audit_store.record_event(db, audit_store.AuditEntry(kind="signin", at=NOW + 3, outcome="success", user_id=1))
    head, records = await audit_store.audit_snapshot(db)
    assert head[0] == 3 and audit_chain.verify(records, head) is None
    assert [e.kind for e in await store.recent_events(db, 1)] == ["signin", "signin.failed_code", "signin"]


async def test_version_9_labels_the_devices_remembered_before(db):
    """A device remembered at version 8 reads "Unknown browser", last used when remembered; new ones get a label."""
    await migrations.upgrade(db, target=8)
    assert await column_names(db, "devices") == set(migrations.V6_DEVICE_COLUMNS)
    await db.execute(
        insert(table("users", *(column(name) for name in migrations.V1_USER_COLUMNS[1:]))).values(
            username="Alice", username_key="alice", password_hash="$argon2id$old", created_at=NOW
        )
    )
    old_device = table("devices", *(column(name) for name in migrations.V6_DEVICE_COLUMNS[1:]))
    await db.execute(insert(old_device).values(token_hash="a" * 64, user_id=1, created_at=NOW, expires_at=NOW + 86400))

    assert await migrations.upgrade(db) == 8
    (device,) = await device_store.listed(db, 1, NOW + 60)
    assert (device.label, device.created_at, device.last_used_at) == ("Unknown browser", NOW, NOW)
    await device_store.remember(db, 1, "b" * 64, "Firefox 121 on Linux", NOW + 120, NOW + 86400)
    assert await device_store.used(db, 1, "a" * 64, "Chrome 120 on Windows 10", NOW + 180)
    listed = await device_store.listed(db, 1, NOW + 240)
    assert [(d.label, d.last_used_at) for d in listed] == [
        ("Chrome 120 on Windows 10", NOW + 180),
        ("Firefox 121 on Linux", NOW + 120),
    ]

"""Appending to the audit trail from several connections at once never forks the chain."""

import asyncio

from server import audit_store, db
from server.auth import audit_chain

NOW = 1_800_000_000.0


async def test_concurrent_appends_from_two_connections_form_one_chain(database):
    """Two database connections (as two server processes) append 25 records each at the same time: one chain of 50."""
    url, schema = database
    first, second = db.open_database(url, schema), db.open_database(url, schema)
    await first.connect()
    await second.connect()
    try:
        await db.upgrade_schema(first)

        async def append(db, who: str) -> None:  # type: ignore[no-untyped-def]
            for n in range(25):
                entry = audit_store.AuditEntry(kind="signin", at=NOW + n, outcome="success", ip=who)
                await audit_store.record_event(db, entry)

        await asyncio.gather(append(first, "192.0.2.1"), append(second, "192.0.2.2"))
        head, records = await audit_store.audit_snapshot(first)
    finally:
        await db.close_database(first)
        await db.close_database(second)
    assert [r["seq"] for r in records] == list(range(1, 51))
    assert head == (50, records[-1]["hash"])
    assert audit_chain.verify(records, head) is None

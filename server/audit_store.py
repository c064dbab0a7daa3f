"""The audit trail's statements: appending to and reading the hash chain, and the notices read from it."""

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from databases import Database
from sqlalchemy import delete, func, or_, select, text, update

from server.auth import audit_chain
from server.db import transaction
from server.tables import audit_head, pending_signins, security_events, sessions, users


@dataclass(frozen=True)
class AuditEntry:
    """One security event about to be recorded (the chain fields are added by ``record_event``)."""

    kind: str
    at: float
    outcome: str
    user_id: int | None = None
    username: str | None = None
    factor: str | None = None
    actor: str = "user"
    ip: str = ""
    device: str = ""
    detail: str = "{}"


async def record_event(db: Database, entry: AuditEntry) -> dict[str, Any]:
    """Append one record to the audit trail, chained to the one before; return it as stored.

    The transaction starts by taking the head row (a write: SQLite's write lock, PostgreSQL's
    row lock), so concurrent appends from any process queue there and each links to the last.
    """
    async with transaction(db):
        head = await db.fetch_one(
            update(audit_head)
            .where(audit_head.c.id == 1)
            .values(seq=audit_head.c.seq + 1)
            .returning(audit_head.c.seq, audit_head.c.hash)
        )
        if head is None:
            raise RuntimeError("the audit head row is missing: run `run.py db upgrade`")
        record: dict[str, Any] = {
            "seq": int(head["seq"]),
            "at": entry.at,
            "kind": entry.kind,
            "outcome": entry.outcome,
            "factor": entry.factor,
            "username": entry.username,
            "actor": entry.actor,
            "ip": entry.ip[:64],
            "device": entry.device[:200],
            "detail": entry.detail,
        }
        previous = str(head["hash"])
        digest = audit_chain.link_hash(previous, record)
        await db.execute(
            security_events.insert().values(user_id=entry.user_id, prev_hash=previous, hash=digest, **record)
        )
        await db.execute(update(audit_head).where(audit_head.c.id == 1).values(hash=digest))
    return {**record, "user_id": entry.user_id, "prev_hash": previous, "hash": digest}


AUDIT_FIELDS = (
    "seq",
    "at",
    "kind",
    "outcome",
    "factor",
    "username",
    "actor",
    "ip",
    "device",
    "detail",
    "prev_hash",
    "hash",
)


async def audit_records(
    db: Database, since: float | None = None, until: float | None = None, username: str | None = None
) -> AsyncIterator[dict[str, Any]]:
    """Audit records in chain order, optionally within [since, until) and of one username."""
    query = select(*(security_events.c[name] for name in AUDIT_FIELDS)).order_by(security_events.c.seq)
    if since is not None:
        query = query.where(security_events.c.at >= since)
    if until is not None:
        query = query.where(security_events.c.at < until)
    if username is not None:
        query = query.where(security_events.c.username == username)
    async for row in db.iterate(query):
        yield dict(row)


async def audit_snapshot(db: Database) -> tuple[tuple[int, str] | None, list[dict[str, Any]]]:
    """The head and every audit record, read in one transaction (one consistent view)."""
    async with transaction(db):
        if db.url.dialect == "postgresql":
            await db.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"))
        head = await db.fetch_one(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1))
        rows = [r async for r in audit_records(db)]
    return (None if head is None else (int(head["seq"]), str(head["hash"]))), rows


# ---- security notices: what an account's records say since the person last answered ------


NOTICE_KINDS = (
    "signin",
    "signin.failed_password",
    "signin.failed_code",
    "signin.failed_backup",
    "signin.throttled",
    "2fa.backup_used",
    "2fa.reset_by_admin",
    "2fa.new_backup",
    "admin.set_password",
    "password.changed",
)
NOTICE_LIMIT = 500
"""Records read for one account's notices (a flood of failures is counted up to this many)."""


async def signed_in_before(db: Database, user_id: int, device: str) -> tuple[bool, bool]:
    """(any earlier sign-in of the account, any from this device)."""
    row = await db.fetch_one(
        select(func.count(), func.count().filter(security_events.c.device == device)).where(
            security_events.c.user_id == user_id, security_events.c.kind == "signin"
        )
    )
    return (False, False) if row is None else (int(row[0]) > 0, int(row[1]) > 0)


async def records_for_notices(db: Database, user_id: int, after_seq: int) -> list[dict[str, Any]]:
    """The account's noteworthy records after ``after_seq``, oldest first."""
    query = (
        select(*(security_events.c[name] for name in AUDIT_FIELDS))
        .where(
            security_events.c.user_id == user_id,
            security_events.c.seq > after_seq,
            security_events.c.kind.in_(NOTICE_KINDS),
            # Of the sign-ins, only those from a new device are news.
            or_(security_events.c.kind != "signin", security_events.c.detail.like('%"new_device":true%')),
        )
        .order_by(security_events.c.seq.desc())
        .limit(NOTICE_LIMIT)
    )
    return [dict(row) for row in reversed(await db.fetch_all(query))]


async def answer_notices(db: Database, user_id: int, up_to_seq: int) -> None:
    """Mark the account's notices up to ``up_to_seq`` as answered (never moves backwards)."""
    await db.execute(
        update(users)
        .where(users.c.id == user_id, users.c.notices_seen_seq < up_to_seq)
        .values(notices_seen_seq=up_to_seq)
    )


async def set_flag(db: Database, user_id: int, at: float | None) -> bool:
    """Flag the account for the administrator (``at``), or clear the flag (None); False if no such account."""
    row = await db.fetch_one(update(users).where(users.c.id == user_id).values(flagged_at=at).returning(users.c.id))
    return row is not None


async def end_other_signins(db: Database, user_id: int, keep_session_id: int) -> int:
    """End every session but one and every pending sign-in of an account; how many sessions ended."""
    async with transaction(db):
        ended = await db.fetch_all(
            delete(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.id != keep_session_id)
            .returning(sessions.c.id)
        )
        await db.execute(delete(pending_signins).where(pending_signins.c.user_id == user_id))
    return len(ended)


TWO_FACTOR_CHANGES = ("2fa.enabled", "2fa.disabled", "2fa.backup_used", "2fa.reset_by_admin")


async def last_two_factor_change(db: Database, user_id: int) -> str | None:
    """The kind of the account's latest record that turned two-factor authentication on or off."""
    row = await db.fetch_one(
        select(security_events.c.kind)
        .where(security_events.c.user_id == user_id, security_events.c.kind.in_(TWO_FACTOR_CHANGES))
        .order_by(security_events.c.seq.desc())
        .limit(1)
    )
    return None if row is None else str(row["kind"])

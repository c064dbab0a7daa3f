"""The database statements of device cookies: remember a browser, recognize it, list and forget an account's browsers."""

from dataclasses import dataclass

from databases import Database
from sqlalchemy import delete, select, update

from server.db import insert
from server.tables import devices


@dataclass(frozen=True)
class Device:
    """A remembered browser of an account (its token only as a hash)."""

    id: int
    token_hash: str
    label: str
    created_at: float
    last_used_at: float


async def remember(db: Database, user_id: int, token_hash: str, label: str, now: float, expires_at: float) -> int:
    """Store a new device of the account (only its token's hash); drop the account's expired ones. Its id.

    SQLite gives a new row the id after the highest one left: a device forgotten last may pass its id on.
    """
    await db.execute(delete(devices).where(devices.c.user_id == user_id, devices.c.expires_at <= now))
    device_id = await db.fetch_val(
        insert(db, devices)
        .values(
            user_id=user_id, token_hash=token_hash, label=label, created_at=now, last_used_at=now, expires_at=expires_at
        )
        .returning(devices.c.id)
    )
    return int(device_id)


async def recognized(db: Database, user_id: int, token_hash: str, now: float) -> int | None:
    """The id of the account's unexpired device with this token hash, if there is one."""
    row = await db.fetch_one(
        select(devices.c.id).where(
            devices.c.token_hash == token_hash, devices.c.user_id == user_id, devices.c.expires_at > now
        )
    )
    return None if row is None else int(row["id"])


async def used(db: Database, user_id: int, token_hash: str, label: str, now: float) -> bool:
    """A sign-in completed on this unexpired device of the account: its label and last use now; whether it is one."""
    row = await db.fetch_one(
        update(devices)
        .where(devices.c.token_hash == token_hash, devices.c.user_id == user_id, devices.c.expires_at > now)
        .values(label=label, last_used_at=now)
        .returning(devices.c.id)
    )
    return row is not None


async def listed(db: Database, user_id: int, now: float) -> list[Device]:
    """The account's unexpired devices, the last used first."""
    rows = await db.fetch_all(
        select(devices.c.id, devices.c.token_hash, devices.c.label, devices.c.created_at, devices.c.last_used_at)
        .where(devices.c.user_id == user_id, devices.c.expires_at > now)
        .order_by(devices.c.last_used_at.desc(), devices.c.id.desc())
    )
    return [
        Device(
            id=int(row["id"]),
            token_hash=row["token_hash"],
            label=row["label"],
            created_at=float(row["created_at"]),
            last_used_at=float(row["last_used_at"] or row["created_at"]),
        )
        for row in rows
    ]


async def forget_one(db: Database, user_id: int, device_id: int) -> tuple[str, str] | None:
    """Revoke one device of the account: its (label, token hash), or None when the account has no such device."""
    row = await db.fetch_one(
        delete(devices)
        .where(devices.c.id == device_id, devices.c.user_id == user_id)
        .returning(devices.c.label, devices.c.token_hash)
    )
    return None if row is None else (row["label"], row["token_hash"])


async def forget_others(db: Database, user_id: int, keep_hash: str | None) -> int:
    """Revoke every device of the account but the one with ``keep_hash`` (all when None); how many."""
    scope = devices.c.user_id == user_id
    if keep_hash is not None:
        scope = scope & (devices.c.token_hash != keep_hash)
    rows = await db.fetch_all(delete(devices).where(scope).returning(devices.c.id))
    return len(rows)


async def forget_all(db: Database, user_id: int) -> int:
    """Revoke every device cookie of the account; how many were live or not yet purged."""
    rows = await db.fetch_all(delete(devices).where(devices.c.user_id == user_id).returning(devices.c.id))
    return len(rows)

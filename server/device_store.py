"""The database statements of device cookies: remember a browser, recognize it, forget an account's browsers."""

from databases import Database
from sqlalchemy import delete, select

from server.db import insert
from server.tables import devices


async def remember(db: Database, user_id: int, token_hash: str, now: float, expires_at: float) -> None:
    """Store a new device of the account (only its token's hash); drop the account's expired ones."""
    await db.execute(delete(devices).where(devices.c.user_id == user_id, devices.c.expires_at <= now))
    await db.execute(
        insert(db, devices).values(user_id=user_id, token_hash=token_hash, created_at=now, expires_at=expires_at)
    )


async def recognized(db: Database, user_id: int, token_hash: str, now: float) -> int | None:
    """The id of the account's unexpired device with this token hash, if there is one."""
    row = await db.fetch_one(
        select(devices.c.id).where(
            devices.c.token_hash == token_hash, devices.c.user_id == user_id, devices.c.expires_at > now
        )
    )
    return None if row is None else int(row["id"])


async def forget_all(db: Database, user_id: int) -> int:
    """Revoke every device cookie of the account; how many were live or not yet purged."""
    rows = await db.fetch_all(delete(devices).where(devices.c.user_id == user_id).returning(devices.c.id))
    return len(rows)

"""The statements of the administrator's view of accounts: last sign-ins, live sessions, delays, and
enabling, unlocking and signing out an account."""

from databases import Database
from sqlalchemy import bindparam, delete, func, select, update

from server.db import Prepared, transaction
from server.tables import devices, pending_signins, security_events, sessions, throttle, users

_LAST_SIGNINS = Prepared(
    select(security_events.c.user_id, func.max(security_events.c.at).label("at"))
    .where(security_events.c.kind == "signin", security_events.c.user_id.is_not(None))
    .group_by(security_events.c.user_id)
)


async def last_signins(db: Database) -> dict[int, float]:
    """When each account last completed a sign-in."""
    return {int(row["user_id"]): float(row["at"]) for row in await _LAST_SIGNINS.fetch_all(db)}


_LIVE_SESSIONS = Prepared(
    select(sessions.c.user_id, func.count().label("n"))
    .where(sessions.c.last_seen_at > bindparam("idle_since"), sessions.c.expires_at > bindparam("now"))
    .group_by(sessions.c.user_id)
)


async def live_session_counts(db: Database, now: float, idle_timeout: float) -> dict[int, int]:
    """How many sessions of each account are live (neither idle too long nor past their lifetime)."""
    rows = await _LIVE_SESSIONS.fetch_all(db, idle_since=now - idle_timeout, now=now)
    return {int(row["user_id"]): int(row["n"]) for row in rows}


async def device_ids(db: Database, user_id: int) -> list[int]:
    """The account's remembered browsers (each counts its failed passwords on its own counter)."""
    return [int(row["id"]) for row in await db.fetch_all(select(devices.c.id).where(devices.c.user_id == user_id))]


async def blocked_until(db: Database, keys: list[str], now: float) -> dict[str, float]:
    """The failure counters among ``keys`` that refuse attempts at ``now``, and until when."""
    rows = await db.fetch_all(
        select(throttle.c.key, throttle.c.next_allowed_at).where(
            throttle.c.key.in_(keys), throttle.c.next_allowed_at > now
        )
    )
    return {row["key"]: float(row["next_allowed_at"]) for row in rows}


async def clear_counters(db: Database, keys: list[str]) -> int:
    """Forget the failures of these counters; how many had any."""
    rows = await db.fetch_all(
        update(throttle)
        .where(throttle.c.key.in_(keys), (throttle.c.failures > 0) | (throttle.c.next_allowed_at > 0))
        .values(failures=0, next_allowed_at=0.0)
        .returning(throttle.c.key)
    )
    return len(rows)


async def enable_user(db: Database, user_id: int) -> bool:
    """Enable a disabled account; False when it was not disabled."""
    row = await db.fetch_one(
        update(users)
        .where(users.c.id == user_id, users.c.disabled_at.is_not(None))
        .values(disabled_at=None)
        .returning(users.c.id)
    )
    return row is not None


async def end_sessions(db: Database, user_id: int) -> tuple[int, int]:
    """End every session and half-finished sign-in of an account: (sessions, pending sign-ins) ended."""
    async with transaction(db):
        ended = await db.fetch_all(delete(sessions).where(sessions.c.user_id == user_id).returning(sessions.c.id))
        pending = await db.fetch_all(
            delete(pending_signins).where(pending_signins.c.user_id == user_id).returning(pending_signins.c.id)
        )
    return len(ended), len(pending)

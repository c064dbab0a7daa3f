"""What tests compute or read that the app itself never needs: the code an authenticator app shows,
and the count of a failure counter."""

import pyotp
from databases import Database
from sqlalchemy import select

from server.auth import totp
from server.tables import throttle


def code_at(secret: str, now: float) -> str:
    """The code an authenticator app shows at ``now`` for ``secret``."""
    return pyotp.TOTP(secret, digits=totp.DIGITS, interval=totp.STEP_SECONDS).at(now)


async def throttle_failures(db: Database, key: str) -> int:
    """The failures counted on the counter ``key`` (0 when it has none)."""
    row = await db.fetch_one(select(throttle.c.failures).where(throttle.c.key == key))
    return 0 if row is None else int(row["failures"])

"""Bulk seeding of accounts with 2FA on and live sessions, straight into the tables (not over HTTP).

Every account has the columns an account that went through Enable has: an argon2id password
hash (one hash with the production parameters, shared by all), its TOTP secret sealed with
AES-GCM for that user, the enabling time step, and a backup code hash. Which user is which:

- id 1, the *page user* (Profile page, Security card): 2FA on, a known session token, ten activity events;
- id 2: 2FA off (never enabled), a session with a known token, ten activity events;
- then the sign-in *pool* (known TOTP secrets) and the users of Check 2FA, New Backup Codes
  and Disable (known secrets and sessions signed in at seeding time);
- then everyone else, with a sealed secret and one live session each.
"""

import asyncio
import base64
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from server import audit_store
from server.audit_store import AuditEntry
from server.auth.crypto import Keyring, parse_keys
from server.db import close_database, open_database
from tests import seeding
from tests.seeding import TableRows, seed

PAGE_USER = 1
OFF_USER = 2
PASSWORD = "bench password, long enough"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
DAY = 24 * 60 * 60

USER_COLUMNS = (
    "id",
    "username",
    "username_key",
    "password_hash",
    "created_at",
    "totp_secret_sealed",
    "totp_enabled_at",
    "totp_last_step",
    "backup_code_hash",
)
SESSION_COLUMNS = ("id", *seeding.SESSION_COLUMNS)


@dataclass(frozen=True)
class Layout:
    """How many users and sessions, and which ids play which part."""

    users: int
    sessions: int
    pool: int
    check: int = 0
    backup: int = 0
    disable: int = 0

    def ids(self, part: str) -> range:
        """The user ids of ``pool``, ``check``, ``backup`` or ``disable``."""
        start = OFF_USER + 1
        for name in ("pool", "check", "backup", "disable"):
            size = getattr(self, name)
            if name == part:
                return range(start, start + size)
            start += size
        raise ValueError(part)

    def known_sessions(self) -> list[int]:
        """Users whose session token the load knows."""
        return [PAGE_USER, OFF_USER, *self.ids("check"), *self.ids("backup"), *self.ids("disable")]


@dataclass(frozen=True)
class World:
    """What the seeder and the load processes share: everything else derives from it."""

    salt: str
    totp_keys: str

    def totp_secret(self, user_id: int) -> str:
        return base64.b32encode(hashlib.sha256(f"{self.salt}:totp:{user_id}".encode()).digest()[:20]).decode()

    def session_token(self, user_id: int) -> str:
        return hashlib.sha256(f"{self.salt}:session:{user_id}".encode()).hexdigest()


def username(user_id: int) -> str:
    return f"user{user_id:07d}"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def user_rows(layout: Layout, world: World, password_hash: str, now: float) -> Iterator[tuple[object, ...]]:
    """Users the load signs in have their own secret sealed for them; everyone else gets one of
    a thousand sealed secrets (same length and format, never opened), which keeps seeding a
    million rows fast."""
    keyring = Keyring(parse_keys(world.totp_keys))
    step = int(now // 30) - 100
    known = layout.ids("disable").stop
    # The context binds a secret to its user, as server/flows/two_factor.py seals it.
    others = [keyring.seal(world.totp_secret(-i), f"totp:user:{-i}") for i in range(1000)]
    for uid in range(1, layout.users + 1):
        name = username(uid)
        if uid == OFF_USER:
            yield (uid, name, name, password_hash, now - DAY, None, None, None, None)
            continue
        sealed = keyring.seal(world.totp_secret(uid), f"totp:user:{uid}") if uid < known else others[uid % 1000]
        yield (uid, name, name, password_hash, now - DAY, sealed, now - DAY, step, password_hash)


def session_rows(layout: Layout, world: World, now: float) -> Iterator[tuple[object, ...]]:
    known = layout.known_sessions()
    others = range(OFF_USER + 1, layout.users + 1)
    for i in range(layout.sessions):
        if i < len(known):
            uid, token_hash = known[i], _token_hash(world.session_token(known[i]))
        else:
            uid = others[i % len(others)]
            token_hash = hashlib.sha256(f"{world.salt}:other:{i}".encode()).hexdigest()
        yield (i + 1, token_hash, uid, now - 60, now, now, now + DAY / 2 - 60, USER_AGENT, "127.0.0.1")


def event_entries(now: float) -> list[AuditEntry]:
    """Ten sign-ins each for the page user and the 2FA-off user, a day ago."""
    return [
        AuditEntry(
            kind="signin",
            at=now - DAY + i * 600,
            outcome="success",
            user_id=uid,
            factor="password",
            ip="127.0.0.1",
            device="Firefox on Linux",
        )
        for uid in (PAGE_USER, OFF_USER)
        for i in range(10)
    ]


async def _seed(url: str, schema: str | None, tables: list[TableRows], now: float) -> None:
    """The bulk rows, then the activity through the audit trail's own append (it keeps the hash chain)."""
    await seed(url, schema, tables)
    db = open_database(url, schema)
    await db.connect()
    try:
        for entry in event_entries(now):
            await audit_store.record_event(db, entry)
    finally:
        await close_database(db)


def seed_database(url: str, schema: str | None, layout: Layout, world: World, password_hash: str, now: float) -> None:
    """Bulk rows into a database the app has created (``run.py db upgrade``), by the tests' seeding path."""
    tables = [
        TableRows("users", USER_COLUMNS, user_rows(layout, world, password_hash, now)),
        TableRows("sessions", SESSION_COLUMNS, session_rows(layout, world, now)),
    ]
    asyncio.run(_seed(url, schema, tables, now))

"""Security keys' statements: the registered keys, their counters, and the single-use challenges.

A challenge is spent by one ``DELETE … RETURNING`` that also checks its purpose, its owner
(session, pending sign-in or browser) and its age: one request wins, from any process. A key's
counter moves forward by one conditional ``UPDATE``: a replayed or cloned counter never wins.
"""

from dataclasses import dataclass

from databases import Database
from sqlalchemy import and_, case, delete, exists, func, or_, select, update

from server.db import Rollback, insert, record, transaction
from server.tables import key_challenges, security_keys, users


@dataclass(frozen=True)
class SecurityKey:
    """One registered key."""

    id: int
    user_id: int
    credential_id: str
    public_key: str
    sign_count: int
    name: str
    user_handle: str
    created_at: float
    last_used_at: float | None


@dataclass(frozen=True)
class Challenge:
    """A spent challenge: the account it was issued for (None for a passkey sign-in), a new key's user handle."""

    challenge: str
    user_id: int | None
    user_handle: str | None = None


async def list_keys(db: Database, user_id: int) -> list[SecurityKey]:
    rows = await db.fetch_all(
        select(security_keys).where(security_keys.c.user_id == user_id).order_by(security_keys.c.id)
    )
    return [record(SecurityKey, row) for row in rows]


async def key_by_credential(db: Database, credential_id: str) -> SecurityKey | None:
    row = await db.fetch_one(select(security_keys).where(security_keys.c.credential_id == credential_id))
    return None if row is None else record(SecurityKey, row)


async def issue_challenge(
    db: Database, issued: Challenge, purpose: str, binding: str, now: float, expires_at: float
) -> None:
    """Store a new challenge, dropping every expired one (and this owner's earlier one of the same purpose)."""
    async with transaction(db):
        await db.execute(
            delete(key_challenges).where(
                or_(
                    key_challenges.c.expires_at <= now,
                    and_(key_challenges.c.binding == binding, key_challenges.c.purpose == purpose),
                )
            )
        )
        await db.execute(
            key_challenges.insert().values(
                challenge=issued.challenge,
                purpose=purpose,
                binding=binding,
                user_id=issued.user_id,
                user_handle=issued.user_handle,
                expires_at=expires_at,
            )
        )


async def spend_challenge(db: Database, challenge: str, purpose: str, binding: str, now: float) -> Challenge | None:
    """Spend the challenge issued to this owner for this purpose, if unexpired; exactly one caller wins."""
    row = await db.fetch_one(
        delete(key_challenges)
        .where(
            key_challenges.c.challenge == challenge,
            key_challenges.c.purpose == purpose,
            key_challenges.c.binding == binding,
            key_challenges.c.expires_at > now,
        )
        .returning(key_challenges.c.challenge, key_challenges.c.user_id, key_challenges.c.user_handle)
    )
    return None if row is None else record(Challenge, row)


async def add_key(
    db: Database, user_id: int, key: SecurityKey, now: float, first_backup_hash: str | None
) -> int | None:
    """Store a verified key and mark the account's keys on; its id, or None when the credential exists.

    ``first_backup_hash`` is given when this key turns 2FA on: the account gets its backup code in
    the same transaction, only if 2FA is still off (else nothing is stored).
    """
    try:
        async with transaction(db):
            if first_backup_hash is None:
                account = update(users).where(users.c.id == user_id)
                account = account.values(keys_enabled_at=func.coalesce(users.c.keys_enabled_at, now))
            else:
                account = update(users).where(
                    users.c.id == user_id, users.c.totp_secret_sealed.is_(None), users.c.keys_enabled_at.is_(None)
                )
                account = account.values(keys_enabled_at=now, backup_code_hash=first_backup_hash)
            if await db.fetch_one(account.returning(users.c.id)) is None:
                raise Rollback
            row = await db.fetch_one(
                insert(db, security_keys)
                .values(
                    user_id=user_id,
                    credential_id=key.credential_id,
                    public_key=key.public_key,
                    sign_count=key.sign_count,
                    name=key.name,
                    user_handle=key.user_handle,
                    created_at=now,
                    last_used_at=None,
                )
                .on_conflict_do_nothing(index_elements=[security_keys.c.credential_id])
                .returning(security_keys.c.id)
            )
            if row is None:
                raise Rollback
    except Rollback:
        return None
    return int(row["id"])


async def remove_key(db: Database, user_id: int, key_id: int) -> bool:
    """Delete one of the account's keys; with its last key gone, keys are off (and 2FA, without the app)."""
    async with transaction(db):
        row = await db.fetch_one(
            delete(security_keys)
            .where(security_keys.c.id == key_id, security_keys.c.user_id == user_id)
            .returning(security_keys.c.id)
        )
        if row is not None:
            no_keys = ~exists().where(security_keys.c.user_id == user_id)
            await db.execute(
                update(users)
                .where(users.c.id == user_id, no_keys)
                .values(
                    keys_enabled_at=None,
                    backup_code_hash=case((users.c.totp_secret_sealed.is_(None), None), else_=users.c.backup_code_hash),
                )
            )
    return row is not None


async def record_use(db: Database, key_id: int, signed_count: int, now: float) -> bool:
    """Move the key's counter to ``signed_count``; False when it is not past the stored one (0 stays 0)."""
    forward = security_keys.c.sign_count < signed_count if signed_count > 0 else security_keys.c.sign_count == 0
    row = await db.fetch_one(
        update(security_keys)
        .where(security_keys.c.id == key_id, forward)
        .values(sign_count=signed_count, last_used_at=now)
        .returning(security_keys.c.id)
    )
    return row is not None

"""Every database statement of the app, and the records they return.

Statements are SQLAlchemy Core over ``server.tables``, run through ``server.db`` (which owns
connections, transactions and the driver). Anything single-use or shared between server
processes is changed by one conditional statement whose ``RETURNING`` row says who won, so
it holds on SQLite and on PostgreSQL alike.
"""

from dataclasses import dataclass, replace
from typing import Any

from databases import Database
from sqlalchemy import Float, Integer, bindparam, case, cast, delete, func, literal, or_, select, update

from server.auth.throttle import Policy, delay_after
from server.db import ERRORS, Prepared, Rollback, insert, record, transaction
from server.tables import (
    enrollments,
    pending_signins,
    security_events,
    security_keys,
    sessions,
    setup_tokens,
    submissions,
    throttle,
    users,
)

# ---- users ------------------------------------------------------------------


@dataclass(frozen=True)
class User:
    """One account."""

    id: int
    username: str
    password_hash: str
    created_at: float
    disabled_at: float | None
    totp_secret_sealed: str | None
    totp_enabled_at: float | None
    totp_last_step: int | None
    backup_code_hash: str | None
    notices_seen_seq: int = 0
    flagged_at: float | None = None
    keys_enabled_at: float | None = None

    @property
    def totp_on(self) -> bool:
        """The authenticator app is set up."""
        return self.totp_secret_sealed is not None

    @property
    def two_factor_on(self) -> bool:
        """2FA is on: the authenticator app, at least one security key, or both."""
        return self.totp_secret_sealed is not None or self.keys_enabled_at is not None


async def create_user(db: Database, username: str, username_key: str, password_hash: str, now: float) -> bool:
    """Insert an account; False when the name is taken."""
    row = await db.fetch_one(
        insert(db, users)
        .values(username=username, username_key=username_key, password_hash=password_hash, created_at=now)
        .on_conflict_do_nothing(index_elements=[users.c.username_key])
        .returning(users.c.id)
    )
    return row is not None


async def create_first_user(
    db: Database, setup_hash: str, username: str, username_key: str, password_hash: str, now: float
) -> bool:
    """Spend every setup link (each start before setup printed one) and create the first account, or neither.

    The first statement deletes all links, so parallel submits, over one link or several, wait
    for each other (SQLite's write lock; PostgreSQL's row locks) and the later ones find none.
    "No account yet" is checked inside the same transaction.
    """
    try:
        async with transaction(db):
            spent = await db.fetch_all(
                delete(setup_tokens).returning(setup_tokens.c.token_hash, setup_tokens.c.expires_at)
            )
            if not any(row["token_hash"] == setup_hash and row["expires_at"] > now for row in spent):
                raise Rollback
            if await any_users(db) or not await create_user(db, username, username_key, password_hash, now):
                raise Rollback
    except Rollback:
        return False
    return True


async def get_user(db: Database, user_id: int) -> User | None:
    row = await db.fetch_one(select(users).where(users.c.id == user_id))
    return None if row is None else record(User, row)


UNAVAILABLE = ERRORS
"""What a statement raises while the database cannot serve (flows catch it without importing the db layer)."""


async def get_user_by_key(db: Database, username_key: str) -> User | None:
    row = await db.fetch_one(select(users).where(users.c.username_key == username_key))
    return None if row is None else record(User, row)


async def any_two_factor_user(db: Database) -> User | None:
    """One account with a stored TOTP secret (the most recently enabled), for the readiness check."""
    statement = select(users).where(users.c.totp_secret_sealed.is_not(None))
    row = await db.fetch_one(statement.order_by(users.c.totp_enabled_at.desc()).limit(1))
    return None if row is None else record(User, row)


async def list_users(db: Database) -> list[User]:
    rows = await db.fetch_all(select(users).order_by(users.c.username_key))
    return [record(User, row) for row in rows]


async def any_users(db: Database) -> bool:
    """Whether an account exists (one index probe, where a count would read every row)."""
    return await db.fetch_one(select(users.c.id).limit(1)) is not None


async def password_hash_prefixes(db: Database, tail_chars: int) -> dict[str, int]:
    """How many stored password hashes start with each prefix (all but their last ``tail_chars``)."""
    prefix = func.substr(users.c.password_hash, 1, func.length(users.c.password_hash) - tail_chars).label("prefix")
    rows = await db.fetch_all(select(prefix, func.count().label("n")).group_by(prefix))
    return {row["prefix"]: int(row["n"]) for row in rows}


async def set_password_hash(db: Database, user_id: int, password_hash: str) -> bool:
    row = await db.fetch_one(
        update(users).where(users.c.id == user_id).values(password_hash=password_hash).returning(users.c.id)
    )
    return row is not None


async def end_all_sessions(db: Database, user_id: int) -> None:
    """End every session and pending sign-in of an account (its password changed)."""
    async with transaction(db):
        await db.execute(delete(sessions).where(sessions.c.user_id == user_id))
        await db.execute(delete(pending_signins).where(pending_signins.c.user_id == user_id))


async def disable_user(db: Database, user_id: int, now: float) -> None:
    """Disable an account and end all of its sessions and pending sign-ins."""
    async with transaction(db):
        await db.execute(update(users).where(users.c.id == user_id).values(disabled_at=now))
        await end_all_sessions(db, user_id)


# ---- first-run setup token ---------------------------------------------------------


async def add_setup_token(db: Database, token_hash: str, now: float, expires_at: float) -> None:
    await db.execute(setup_tokens.insert().values(token_hash=token_hash, created_at=now, expires_at=expires_at))


async def setup_token_valid(db: Database, token_hash: str, now: float) -> bool:
    row = await db.fetch_one(
        select(setup_tokens.c.token_hash).where(
            setup_tokens.c.token_hash == token_hash, setup_tokens.c.expires_at > now
        )
    )
    return row is not None


# ---- sessions ----------------------------------------------------------------------


@dataclass(frozen=True)
class Session:
    """One signed-in browser."""

    id: int
    user_id: int
    created_at: float
    last_seen_at: float
    authenticated_at: float
    expires_at: float
    user_agent: str
    ip: str
    notice: str | None


@dataclass(frozen=True)
class NewSession:
    """The row of a session about to begin (what ``create_session`` takes)."""

    token_hash: str
    user_id: int
    now: float
    expires_at: float
    user_agent: str
    ip: str
    notice: str | None = None


async def create_session(db: Database, session: NewSession) -> int:
    row = await db.fetch_one(
        sessions.insert()
        .values(
            token_hash=session.token_hash,
            user_id=session.user_id,
            created_at=session.now,
            last_seen_at=session.now,
            authenticated_at=session.now,
            expires_at=session.expires_at,
            user_agent=session.user_agent[:512],
            ip=session.ip[:64],
            notice=session.notice,
        )
        .returning(sessions.c.id)
    )
    assert row is not None
    return int(row["id"])


TOUCH_GRANULARITY = 1.0
"""Seconds between two writes of a session's activity mark: idle expiry is exact to the second."""

SIGNED_IN_COLUMNS = (*(c.label(f"s_{c.name}") for c in sessions.c), *(c.label(f"u_{c.name}") for c in users.c))
"""The session (``s_``) and account (``u_``) columns of a live-session read."""
LIVE_SESSION = (
    sessions.c.token_hash == bindparam("token_hash"),
    sessions.c.last_seen_at > bindparam("idle_since"),
    sessions.c.expires_at > bindparam("now"),
    users.c.disabled_at.is_(None),
)
"""What makes a session live: its token, within the idle and absolute limits, an enabled account."""
_SIGNED_IN = Prepared(
    select(*SIGNED_IN_COLUMNS).select_from(sessions.join(users, users.c.id == sessions.c.user_id)).where(*LIVE_SESSION)
)
_TOUCH = Prepared(
    update(sessions)
    .where(sessions.c.id == bindparam("session_id"), sessions.c.last_seen_at <= bindparam("touched_before"))
    .values(last_seen_at=bindparam("now"))
)


async def signed_in(db: Database, token_hash: str, now: float, idle_timeout: float) -> tuple[Session, User] | None:
    """The live session for a token and its enabled account, its idle clock restarted; None otherwise.

    A read (one query for both) on every request; the activity mark is written by a
    conditional UPDATE only when it is at least ``TOUCH_GRANULARITY`` old, so a burst of
    requests costs one write per second instead of one each. Expiry is checked in the
    read, and signing out deletes the row, so an ended session is refused at once.
    """
    row = await _SIGNED_IN.fetch_one(db, token_hash=token_hash, idle_since=now - idle_timeout, now=now)
    return None if row is None else await live_session(db, row, now)


async def live_session(db: Database, row: dict[str, Any], now: float) -> tuple[Session, User]:
    """The session and account of a row read with ``SIGNED_IN_COLUMNS``; its activity mark written
    when at least ``TOUCH_GRANULARITY`` old."""
    session, user = record(Session, row, "s_"), record(User, row, "u_")
    if now - session.last_seen_at >= TOUCH_GRANULARITY:
        await _TOUCH.execute(db, session_id=session.id, touched_before=now - TOUCH_GRANULARITY, now=now)
        session = replace(session, last_seen_at=now)
    return session, user


_LIST_SESSIONS = Prepared(
    select(sessions)
    .where(
        sessions.c.user_id == bindparam("user_id"),
        sessions.c.last_seen_at > bindparam("idle_since"),
        sessions.c.expires_at > bindparam("now"),
    )
    .order_by(sessions.c.last_seen_at.desc(), sessions.c.id.desc())
)


async def list_sessions(db: Database, user_id: int, now: float, idle_timeout: float) -> list[Session]:
    rows = await _LIST_SESSIONS.fetch_all(db, user_id=user_id, idle_since=now - idle_timeout, now=now)
    return [record(Session, row) for row in rows]


async def delete_session(db: Database, session_id: int, user_id: int) -> bool:
    row = await db.fetch_one(
        delete(sessions).where(sessions.c.id == session_id, sessions.c.user_id == user_id).returning(sessions.c.id)
    )
    return row is not None


async def delete_other_sessions(db: Database, user_id: int, keep_session_id: int) -> int:
    rows = await db.fetch_all(
        delete(sessions).where(sessions.c.user_id == user_id, sessions.c.id != keep_session_id).returning(sessions.c.id)
    )
    return len(rows)


async def mark_reauthenticated(db: Database, session_id: int, now: float) -> None:
    await db.execute(update(sessions).where(sessions.c.id == session_id).values(authenticated_at=now))


async def set_notice(db: Database, session_id: int, notice: str) -> None:
    await db.execute(update(sessions).where(sessions.c.id == session_id).values(notice=notice))


async def take_notice(db: Database, session: Session) -> str | None:
    """Read and clear the one-time notice of a session."""
    if session.notice is None:
        return None
    row = await db.fetch_one(
        update(sessions)
        .where(sessions.c.id == session.id, sessions.c.notice == session.notice)
        .values(notice=None)
        .returning(sessions.c.id)
    )
    return session.notice if row is not None else None


THROTTLE_FORGET_AFTER = 24 * 60 * 60
"""Failure counters untouched this long (and not blocking) are dropped: guessing random
usernames must not grow the table forever."""


async def purge_expired(db: Database, now: float, idle_timeout: float) -> None:
    """Delete rows that can no longer be used by anyone."""
    await db.execute(
        delete(throttle).where(throttle.c.next_allowed_at <= now, throttle.c.updated_at <= now - THROTTLE_FORGET_AFTER)
    )
    await db.execute(
        delete(sessions).where(or_(sessions.c.expires_at <= now, sessions.c.last_seen_at <= now - idle_timeout))
    )
    await db.execute(delete(pending_signins).where(pending_signins.c.expires_at <= now))
    await db.execute(delete(enrollments).where(enrollments.c.expires_at <= now))
    await db.execute(delete(setup_tokens).where(setup_tokens.c.expires_at <= now))
    await db.execute(delete(submissions).where(submissions.c.expires_at <= now))


# ---- throttling ---------------------------------------------------------------------


async def claim_attempt(db: Database, key: str, now: float, policy: Policy) -> float | None:
    """Count one attempt for ``key`` before it is checked.

    Returns None when the attempt may go ahead, or the time at which the next one
    will be allowed. The count and the next delay change in one statement, so a
    burst of parallel guesses cannot slip past the limit.
    """
    await db.execute(
        insert(db, throttle)
        .values(key=key, failures=0, next_allowed_at=0.0, updated_at=now)
        .on_conflict_do_nothing(index_elements=[throttle.c.key])
    )
    attempts = throttle.c.failures + 1
    # A free attempt leaves next_allowed_at as it is (already <= now): setting it to this
    # request's ``now`` would block a concurrent request whose clock reading is a little older.
    steps = [(attempts < policy.free_attempts, throttle.c.next_allowed_at)]
    n = policy.free_attempts
    while delay_after(policy, n) < policy.max_delay:
        steps.append((attempts == n, _seconds(now + delay_after(policy, n))))
        n += 1
    row = await db.fetch_one(
        update(throttle)
        .where(throttle.c.key == key, throttle.c.next_allowed_at <= now)
        .values(
            failures=attempts,
            next_allowed_at=case(*steps, else_=_seconds(now + policy.max_delay)),
            updated_at=now,
        )
        .returning(throttle.c.failures)
    )
    if row is not None:
        return None
    blocked = await db.fetch_one(select(throttle.c.next_allowed_at).where(throttle.c.key == key))
    return float(blocked["next_allowed_at"]) if blocked is not None else None


async def clear_attempts(db: Database, key: str) -> None:
    await db.execute(update(throttle).where(throttle.c.key == key).values(failures=0, next_allowed_at=0.0))


async def settle_attempts(db: Database, account_key: str, address_key: str) -> None:
    """After a success: clear the account's counter and take what it counted off the address's.

    One transaction, so a failure counted on the account in between is never wiped
    without being forgiven (or the reverse). Its first statement is a write that
    reads the account's count (SQLite needs write-first transactions; PostgreSQL
    locks the row until the end).
    """
    async with transaction(db):
        row = await db.fetch_one(
            update(throttle)
            .where(throttle.c.key == account_key)
            .values(failures=throttle.c.failures)
            .returning(throttle.c.failures)
        )
        count = 0 if row is None else int(row["failures"])
        await clear_attempts(db, account_key)
        await forgive_attempts(db, address_key, count)


async def forgive_attempts(db: Database, key: str, count: int) -> None:
    """Take ``count`` attempts off ``key``'s counter (never below zero) and lift its wait."""
    await db.execute(
        update(throttle)
        .where(throttle.c.key == key)
        .values(
            failures=case((throttle.c.failures > count, throttle.c.failures - count), else_=0),
            next_allowed_at=0.0,
        )
    )


# ---- pending sign-ins (password accepted, second factor outstanding) ---------------


@dataclass(frozen=True)
class PendingSignin:
    id: int
    user_id: int
    expires_at: float
    attempts: int


async def create_pending_signin(
    db: Database, token_hash: str, user_id: int, now: float, expires_at: float, user_agent: str, ip: str
) -> None:
    await db.execute(
        pending_signins.insert().values(
            token_hash=token_hash,
            user_id=user_id,
            created_at=now,
            expires_at=expires_at,
            attempts=0,
            user_agent=user_agent[:512],
            ip=ip[:64],
        )
    )


async def get_pending_signin(db: Database, token_hash: str, now: float, max_attempts: int) -> PendingSignin | None:
    row = await db.fetch_one(
        select(pending_signins).where(
            pending_signins.c.token_hash == token_hash,
            pending_signins.c.expires_at > now,
            pending_signins.c.attempts < max_attempts,
        )
    )
    return None if row is None else record(PendingSignin, row)


async def claim_pending_attempt(db: Database, pending_id: int, now: float, max_attempts: int) -> int | None:
    """Count one code attempt; the attempt number, or None when none are left or it expired."""
    row = await db.fetch_one(
        update(pending_signins)
        .where(
            pending_signins.c.id == pending_id,
            pending_signins.c.attempts < max_attempts,
            pending_signins.c.expires_at > now,
        )
        .values(attempts=pending_signins.c.attempts + 1)
        .returning(pending_signins.c.attempts)
    )
    return None if row is None else int(row["attempts"])


async def consume_pending_signin(db: Database, pending_id: int) -> bool:
    """Spend a pending sign-in; exactly one caller gets True."""
    row = await db.fetch_one(
        delete(pending_signins).where(pending_signins.c.id == pending_id).returning(pending_signins.c.id)
    )
    return row is not None


# ---- two-factor state ------------------------------------------------------------------

_TWO_FACTOR_IS_ON = or_(users.c.totp_secret_sealed.is_not(None), users.c.keys_enabled_at.is_not(None))
"""2FA is on: the app, a security key, or both."""


async def advance_totp_step(db: Database, user_id: int, step: int) -> bool:
    """Record a used TOTP time step; False when it (or a later one) was used already."""
    row = await db.fetch_one(
        update(users)
        .where(
            users.c.id == user_id,
            users.c.totp_secret_sealed.is_not(None),
            or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
        )
        .values(totp_last_step=step)
        .returning(users.c.id)
    )
    return row is not None


async def replace_backup_code(db: Database, user_id: int, old_hash: str | None, new_hash: str) -> bool:
    """Swap the backup code hash, only if 2FA is still on and nobody changed it meanwhile."""
    condition = users.c.backup_code_hash.is_(None) if old_hash is None else users.c.backup_code_hash == old_hash
    row = await db.fetch_one(
        update(users)
        .where(users.c.id == user_id, _TWO_FACTOR_IS_ON, condition)
        .values(backup_code_hash=new_hash)
        .returning(users.c.id)
    )
    return row is not None


async def users_with_secrets(db: Database) -> list[User]:
    rows = await db.fetch_all(select(users).where(users.c.totp_secret_sealed.is_not(None)))
    return [record(User, row) for row in rows]


async def sealed_secret_prefixes(db: Database, length: int) -> set[str]:
    """The distinct first ``length`` characters of the stored TOTP secrets (they name the key)."""
    prefix = func.substr(users.c.totp_secret_sealed, 1, length)
    rows = await db.fetch_all(select(prefix.label("p")).where(users.c.totp_secret_sealed.is_not(None)).distinct())
    return {row["p"] for row in rows}


async def replace_sealed_secret(db: Database, user_id: int, old: str, new: str) -> bool:
    """Store a re-encrypted secret, unless the secret changed meanwhile."""
    row = await db.fetch_one(
        update(users)
        .where(users.c.id == user_id, users.c.totp_secret_sealed == old)
        .values(totp_secret_sealed=new)
        .returning(users.c.id)
    )
    return row is not None


_TWO_FACTOR_OFF = {
    "totp_secret_sealed": None,
    "totp_enabled_at": None,
    "totp_last_step": None,
    "backup_code_hash": None,
    "keys_enabled_at": None,
}


async def disable_two_factor(db: Database, user_id: int) -> bool:
    """Turn 2FA off (app and security keys) and end the account's half-finished sign-ins (they were waiting for it)."""
    async with transaction(db):
        row = await db.fetch_one(
            update(users)
            .where(users.c.id == user_id, _TWO_FACTOR_IS_ON)
            .values(**_TWO_FACTOR_OFF)
            .returning(users.c.id)
        )
        await db.execute(delete(security_keys).where(security_keys.c.user_id == user_id))
        await db.execute(delete(pending_signins).where(pending_signins.c.user_id == user_id))
    return row is not None


async def spend_backup_code(db: Database, user_id: int, seen_hash: str, pending_id: int, session: NewSession) -> bool:
    """Use the backup code whose hash was verified: turn 2FA off, end the pending sign-ins, begin ``session``.

    All happen in one transaction or none does (a crash in between must not leave the code
    spent and 2FA off without the session it paid for), and one caller only wins: the code
    is matched by the hash that was verified, the pending sign-in is deleted.

    The account row is locked first: every caller queues on it before touching any pending
    sign-in, so two callers never hold each other's pending row (a deadlock on PostgreSQL).
    """
    try:
        async with transaction(db):
            off = await db.fetch_one(
                update(users)
                .where(users.c.id == user_id, users.c.backup_code_hash == seen_hash)
                .values(**_TWO_FACTOR_OFF)
                .returning(users.c.id)
            )
            if off is None:
                raise Rollback
            await db.execute(delete(security_keys).where(security_keys.c.user_id == user_id))
            spent = await db.fetch_one(
                delete(pending_signins).where(pending_signins.c.id == pending_id).returning(pending_signins.c.id)
            )
            if spent is None:
                raise Rollback
            await db.execute(delete(pending_signins).where(pending_signins.c.user_id == user_id))
            await create_session(db, session)
    except Rollback:
        return False
    return True


# ---- enrollment (Enable dialog) ---------------------------------------------------------


@dataclass(frozen=True)
class Enrollment:
    id: str
    user_id: int
    session_id: int
    secret_sealed: str
    backup_code_sealed: str
    expires_at: float


async def start_enrollment(db: Database, enrollment: Enrollment, now: float) -> tuple[Enrollment, bool]:
    """The user's pending enrollment after Enable: the session's own unexpired one, kept (continue
    setup), or else ``enrollment``, replacing any earlier one of the user; and whether it replaced one.

    One upsert on the one-per-user key, so simultaneous clicks on Enable (double-click, two tabs)
    agree on one enrollment instead of replacing each other or failing on the unique constraint.
    """
    earlier = await db.fetch_one(select(enrollments.c.id).where(enrollments.c.user_id == enrollment.user_id))
    values = {
        "id": enrollment.id,
        "session_id": enrollment.session_id,
        "secret_sealed": enrollment.secret_sealed,
        "backup_code_sealed": enrollment.backup_code_sealed,
        "created_at": now,
        "expires_at": enrollment.expires_at,
    }
    row = await db.fetch_one(
        insert(db, enrollments)
        .values(user_id=enrollment.user_id, **values)
        .on_conflict_do_update(
            index_elements=[enrollments.c.user_id],
            set_=values,
            where=or_(enrollments.c.session_id != enrollment.session_id, enrollments.c.expires_at <= now),
        )
        .returning(enrollments.c.id)
    )
    if row is None:  # this session's setup goes on
        current = await db.fetch_one(select(enrollments).where(enrollments.c.user_id == enrollment.user_id))
        if current is not None:
            return record(Enrollment, current), False
    return enrollment, earlier is not None


async def get_enrollment(
    db: Database, enrollment_id: str, user_id: int, session_id: int, now: float
) -> Enrollment | None:
    row = await db.fetch_one(
        select(enrollments).where(
            enrollments.c.id == enrollment_id,
            enrollments.c.user_id == user_id,
            enrollments.c.session_id == session_id,
            enrollments.c.expires_at > now,
        )
    )
    return None if row is None else record(Enrollment, row)


async def session_enrollment(db: Database, user_id: int, session_id: int, now: float) -> Enrollment | None:
    """The pending enrollment this session started, if it has not expired or been replaced."""
    row = await db.fetch_one(
        select(enrollments).where(
            enrollments.c.user_id == user_id,
            enrollments.c.session_id == session_id,
            enrollments.c.expires_at > now,
        )
    )
    return None if row is None else record(Enrollment, row)


async def complete_enrollment(
    db: Database,
    enrollment: Enrollment,
    secret_sealed: str,
    backup_code_hash: str,
    step: int,
    now: float,
) -> bool:
    """Spend the enrollment and switch 2FA on, in one transaction; False if either already happened."""
    try:
        async with transaction(db):
            spent = await db.fetch_one(
                delete(enrollments)
                .where(enrollments.c.id == enrollment.id, enrollments.c.expires_at > now)
                .returning(enrollments.c.id)
            )
            if spent is None:
                raise Rollback
            enabled = await db.fetch_one(
                update(users)
                .where(users.c.id == enrollment.user_id, users.c.totp_secret_sealed.is_(None))
                .values(
                    totp_secret_sealed=secret_sealed,
                    totp_enabled_at=now,
                    totp_last_step=step,
                    backup_code_hash=backup_code_hash,
                )
                .returning(users.c.id)
            )
            if enabled is None:
                raise Rollback
    except Rollback:
        return False
    return True


async def cancel_enrollments(db: Database, user_id: int) -> None:
    await db.execute(delete(enrollments).where(enrollments.c.user_id == user_id))


# ---- security activity -----------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    kind: str
    at: float
    ip: str
    device: str


_RECENT_EVENTS = Prepared(
    select(security_events)
    .where(security_events.c.user_id == bindparam("user_id"))
    .order_by(security_events.c.at.desc(), security_events.c.id.desc())
    .limit(bindparam("limit", type_=Integer))
)


async def recent_events(db: Database, user_id: int, limit: int = 10) -> list[Event]:
    rows = await _RECENT_EVENTS.fetch_all(db, user_id=user_id, limit=limit)
    return [record(Event, row) for row in rows]


# ---- helpers ---------------------------------------------------------------------------


def _seconds(value: float) -> Any:
    """A typed time literal (asyncpg cannot infer the type of a bare parameter inside CASE)."""
    return cast(literal(value), Float)

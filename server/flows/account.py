"""Account actions outside two-factor: first start, users, re-authentication and sessions."""

import re

from server import audit, audit_store, store
from server.auth.passwords import TAIL_CHARS
from server.auth.tokens import new_token, token_hash
from server.flows import hashing, known_devices, throttling
from server.flows.outcomes import Outcome, Status
from server.services import Client, Services

USERNAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MIN_PASSWORD = 10


def username_key(username: str) -> str:
    """What makes two account names the same name."""
    return username.strip().casefold()


def account_problem(username: str, password: str, confirm: str | None = None) -> str | None:
    """The message key of what is wrong with a new account's name or password, if anything."""
    if not USERNAME_PATTERN.fullmatch(username):
        return "setup.username"
    if len(password) < MIN_PASSWORD:
        return "setup.password_short"
    if confirm is not None and confirm != password:
        return "setup.password_mismatch"
    return None


async def add_user(svc: Services, username: str, password: str) -> str | None:
    """Create an account; the message key of the problem, or None on success."""
    problem = account_problem(username, password)
    if problem:
        return problem
    password_hash = await svc.hasher.hash(password)
    created = await store.create_user(svc.db, username, username_key(username), password_hash, svc.clock())
    if not created:
        return "setup.taken"
    svc.hasher.stored_hash_changed(None, password_hash)
    return None


async def count_password_hashes(svc: Services) -> None:
    """At start: tell the hasher what the stored password hashes cost (its dummy for unknown names follows)."""
    svc.hasher.count_stored(await store.password_hash_prefixes(svc.db, TAIL_CHARS))


async def set_password(svc: Services, user: store.User, password: str) -> str | None:
    problem = account_problem(user.username, password)
    if problem:
        return problem
    new_hash = await svc.hasher.hash(password)
    if await store.set_password_hash(svc.db, user.id, new_hash):
        svc.hasher.stored_hash_changed(user.password_hash, new_hash)
    await store.end_all_sessions(svc.db, user.id)  # whoever knew the old password is signed out
    await known_devices.forget(svc, user)  # and their browsers are strangers again
    return None


async def issue_setup_token(svc: Services) -> str | None:
    """A one-time link token for creating the first account, only while there are no accounts."""
    if await store.any_users(svc.db):
        return None
    now = svc.clock()
    token = new_token()
    await store.add_setup_token(svc.db, token_hash(token), now, now + svc.settings.setup_token_ttl)
    return token


async def setup_token_valid(svc: Services, token: str) -> bool:
    """A setup link works only while there is no account (an older link may still be unexpired)."""
    if not token or await store.any_users(svc.db):
        return False
    return await store.setup_token_valid(svc.db, token_hash(token), svc.clock())


async def create_first_user(svc: Services, token: str, username: str, password: str, confirm: str) -> str | None:
    """Spend the setup link on the first account; the message key of the problem, or None."""
    if not await setup_token_valid(svc, token):
        return "setup.invalid_link"
    problem = account_problem(username, password, confirm)
    if problem:
        return problem
    password_hash = await svc.hasher.hash(password)
    created = await store.create_first_user(
        svc.db, token_hash(token), username, username_key(username), password_hash, svc.clock()
    )
    if not created:
        return "setup.invalid_link"
    svc.hasher.stored_hash_changed(None, password_hash)
    return None


async def signed_in(svc: Services, token: str, now: float) -> tuple[store.Session, store.User] | None:
    """The live session of a session cookie's token, and its account."""
    return await store.signed_in(svc.db, token_hash(token), now, svc.settings.idle_timeout)


async def pending_signin(svc: Services, token: str) -> store.PendingSignin | None:
    """The valid half-finished sign-in of a pending cookie's token."""
    return await store.get_pending_signin(svc.db, token_hash(token), svc.clock(), svc.settings.pending_signin_attempts)


def needs_reauth(svc: Services, session: store.Session) -> bool:
    """Sensitive actions need a full sign-in within the last few minutes."""
    return svc.clock() - session.authenticated_at > svc.settings.reauth_window


async def reauthenticate(
    svc: Services, user: store.User, session: store.Session, password: str, client: Client
) -> Outcome:
    """Confirm the password again for a sensitive action: OK, INVALID, THROTTLED or BUSY (with the wait).

    It counts on the same counters as sign-in, the address's included: a success forgives the
    address what the account counted, so failures here must have cost the address too.
    """
    now = svc.clock()
    key = username_key(user.username)
    device_id = await known_devices.recognize(svc, user, client.device)
    keys = throttling.password_keys(svc, key, client, device_id)
    ticket = hashing.ticket(client, key, known=device_id is not None)
    try:
        svc.hash_queue.check(ticket)  # busy before the attempt is counted
        refused = await throttling.claim_attempt(svc, keys, now, event="reauth", user=user, client=client)
        if refused is not None:
            return refused
        ok, _ = await hashing.verify(svc, ticket, user.password_hash, password)
    except hashing.Busy as busy:
        return Outcome(Status.BUSY, wait=await hashing.paced(svc, ticket, busy))
    if ok:
        await throttling.password_accepted(svc, keys)
        await store.mark_reauthenticated(svc.db, session.id, svc.clock())
    outcome = "success" if ok else "failure"
    await audit.record(svc, "reauth", user=user, client=client, outcome=outcome, factor="password")
    return Outcome(Status.OK if ok else Status.INVALID)


async def sessions_of(svc: Services, user: store.User) -> list[store.Session]:
    return await store.list_sessions(svc.db, user.id, svc.clock(), svc.settings.idle_timeout)


async def sign_out_session(svc: Services, user: store.User, session_id: int) -> bool:
    return await store.delete_session(svc.db, session_id, user.id)


async def sign_out_others(svc: Services, user: store.User, session: store.Session, client: Client) -> int:
    count = await store.delete_other_sessions(svc.db, user.id, session.id)
    await audit.record(svc, "sessions.signed_out_others", user=user, client=client, detail={"count": count})
    return count


async def sign_out(svc: Services, user: store.User, session: store.Session) -> None:
    await store.delete_session(svc.db, session.id, user.id)


async def current_user(svc: Services, user: store.User) -> store.User:
    """The account as the database has it now (an action may have just changed it)."""
    return await store.get_user(svc.db, user.id) or user


async def recent_activity(svc: Services, user: store.User) -> list[store.Event]:
    return await store.recent_events(svc.db, user.id)


async def leave_notice(svc: Services, session: store.Session, notice: str) -> None:
    """A one-time message for the next Profile page of this session (after a plain form's redirect)."""
    await store.set_notice(svc.db, session.id, notice)


async def take_notice(svc: Services, session: store.Session) -> str | None:
    return await store.take_notice(svc.db, session)


async def standing_card_notice(svc: Services, user: store.User) -> str | None:
    """The Security card's lasting notice: "2FA is off because you used your backup code", until 2FA is on again."""
    if user.two_factor_on:
        return None
    return (
        "card.backup_used" if await audit_store.last_two_factor_change(svc.db, user.id) == "2fa.backup_used" else None
    )

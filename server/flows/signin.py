"""Sign-in as a chain of steps: password, then (when 2FA is on) a second factor, then a session.

Nothing that identifies a signed-in user exists before ``begin_session``.
"""

from server import audit, store
from server.auth import backup_codes, totp
from server.auth.admission import Ticket
from server.auth.crypto import SealError
from server.auth.tokens import new_token, token_hash
from server.flows import hashing, known_devices, policy, throttling
from server.flows.account import username_key
from server.flows.outcomes import Outcome, Status
from server.flows.two_factor import open_secret, replayed, secret_unreadable
from server.services import Client, Services


async def check_password(svc: Services, username: str, password: str, client: Client) -> Outcome:
    """Step 1: the password. Unknown names cost the same and read the same as wrong passwords.

    A client that could not start hashing soon is told the service is busy before its attempt
    is counted (``Status.BUSY``), so a busy answer costs the person no free attempt. A browser
    with a device cookie of this account goes in the known lane and on its own counter.
    """
    now = svc.clock()
    key = username_key(username)
    ticket = hashing.ticket(client, key)
    try:
        if not known_devices.signed(svc, client.device):  # a stranger is told busy before any query
            svc.hash_queue.check(ticket)
        user = await store.get_user_by_key(svc.db, key)
        device_id = await known_devices.recognize(svc, user, client.device)
        ticket = hashing.ticket(client, key, known=device_id is not None)
        svc.hash_queue.check(ticket)
    except hashing.Busy as busy:
        return Outcome(Status.BUSY, wait=await hashing.paced(svc, ticket, busy))
    keys = throttling.password_keys(svc, key, client, device_id)
    refused = await throttling.claim_attempt(svc, keys, now, event="signin.throttled", user=user, client=client)
    if refused is not None:
        return refused
    usable = user is not None and user.disabled_at is None
    try:
        ok, needs_rehash = await hashing.verify(svc, ticket, user.password_hash if usable and user else None, password)
    except hashing.Busy as busy:
        return Outcome(Status.BUSY, wait=await hashing.paced(svc, ticket, busy))
    if not ok or user is None:
        # The name typed is recorded only when it is an account's: a mistyped password must not land in a log.
        account = "unknown" if user is None else ("disabled" if user.disabled_at else "known")
        await audit.record(
            svc,
            "signin.failed_password",
            user=user,
            client=client,
            outcome="failure",
            factor="password",
            detail={"account": account},
        )
        return Outcome(Status.INVALID)
    await throttling.password_accepted(svc, keys)
    if needs_rehash:
        await _rehash(svc, ticket, user, password)
    if user.two_factor_on:
        return Outcome(Status.NEEDS_SECOND_FACTOR, user=user)
    return Outcome(Status.OK, user=user)


async def _rehash(svc: Services, ticket: Ticket, user: store.User, password: str) -> None:
    """Store the password under today's parameters; when hashing is busy, at a later sign-in."""
    try:
        new_hash = await hashing.hash_secret(svc, ticket, password)
    except hashing.Busy:
        return
    if await store.set_password_hash(svc.db, user.id, new_hash):
        svc.hasher.stored_hash_changed(user.password_hash, new_hash)


async def begin_second_factor(svc: Services, user: store.User, client: Client) -> str:
    """Step 2 starts: a short-lived pending sign-in bound to this browser by a cookie token."""
    now = svc.clock()
    token = new_token()
    await store.create_pending_signin(
        svc.db,
        token_hash(token),
        user.id,
        now,
        now + svc.settings.pending_signin_ttl,
        client.user_agent,
        client.ip,
    )
    return token


def _new_session(svc: Services, user: store.User, client: Client, notice: str | None) -> tuple[str, store.NewSession]:
    """A new token (never a reused one) and the session row it stands for."""
    now = svc.clock()
    token = new_token()
    row = store.NewSession(
        token_hash(token), user.id, now, now + svc.settings.absolute_lifetime, client.user_agent, client.ip, notice
    )
    return token, row


async def _session_begun(
    svc: Services, session: store.NewSession, user: store.User, client: Client, factor: str, token: str
) -> Outcome:
    """After a session began: drop dead rows, record the sign-in and its last factor, remember the browser."""
    await store.purge_expired(svc.db, session.now, svc.settings.idle_timeout)
    await audit.record_signin(svc, user, client, factor)
    device = await known_devices.remember(svc, user, client)
    return Outcome(Status.OK, user=user, token=token, device_cookie=device)


async def begin_session(
    svc: Services, user: store.User, client: Client, notice: str | None = None, factor: str = "password"
) -> Outcome:
    """The last step: a new session with a new token (never a reused one), and a device cookie if new."""
    token, row = _new_session(svc, user, client, notice)
    await store.create_session(svc.db, row)
    return await _session_begun(svc, row, user, client, factor, token)


async def claim_second_factor_attempt(
    svc: Services, pending: store.PendingSignin, client: Client, factor: str
) -> Outcome | int:
    """Count the attempt on the pending sign-in and on the account: attempts left, or a refusal."""
    now = svc.clock()
    s = svc.settings
    attempt = await store.claim_pending_attempt(svc.db, pending.id, now, s.pending_signin_attempts)
    if attempt is None:
        return Outcome(Status.EXHAUSTED)
    wait = await throttling.claim_code_attempt(svc, pending.user_id, now)
    if wait is not None:
        user = await store.get_user(svc.db, pending.user_id)
        await audit.record(
            svc, "signin.throttled", user=user, client=client, outcome="throttled", factor=factor, detail={"wait": wait}
        )
        return Outcome(Status.THROTTLED, wait=wait)
    return s.pending_signin_attempts - attempt


async def pending_username(svc: Services, pending: store.PendingSignin) -> str:
    """The username a pending sign-in is for (its forms carry it, for the page after it expires)."""
    user = await store.get_user(svc.db, pending.user_id)
    return user.username if user is not None else ""


async def pending_account(svc: Services, pending: store.PendingSignin) -> store.User | Outcome:
    """The account a pending sign-in may still finish for; else it ends here.

    An account whose 2FA was turned off meanwhile (reset, Disable, backup code) is refused,
    not passed: the code step is what this pending sign-in was waiting for.
    """
    user = await store.get_user(svc.db, pending.user_id)
    if user is None or user.disabled_at is not None or not user.two_factor_on:
        await store.consume_pending_signin(svc.db, pending.id)
        return Outcome(Status.EXPIRED)
    return user


async def _attempt(
    svc: Services, pending: store.PendingSignin, code: str | None, client: Client, factor: str
) -> tuple[store.User, int, str] | Outcome:
    """Count one well-formed attempt and load the user: (user, attempts left, the code), or why not (busy included)."""
    if code is None:
        return Outcome(Status.FORMAT, attempts_left=svc.settings.pending_signin_attempts - pending.attempts)
    user = await pending_account(svc, pending)
    if isinstance(user, Outcome):
        return user
    ticket = hashing.ticket(client, username_key(user.username))
    try:  # busy before the attempt is counted
        svc.hash_queue.check(ticket)
    except hashing.Busy as busy:
        unused = svc.settings.pending_signin_attempts - pending.attempts
        return Outcome(Status.BUSY, wait=await hashing.paced(svc, ticket, busy), attempts_left=unused)
    left = await claim_second_factor_attempt(svc, pending, client, factor)
    if isinstance(left, Outcome):
        return left
    return user, left, code


async def _failed(svc: Services, user: store.User, left: int, client: Client, kind: str, factor: str) -> Outcome:
    await audit.record(svc, kind, user=user, client=client, outcome="failure", factor=factor)
    return Outcome(Status.INVALID, attempts_left=left) if left > 0 else Outcome(Status.EXHAUSTED)


async def complete_with_code(svc: Services, pending: store.PendingSignin, raw_code: str, client: Client) -> Outcome:
    """Step 2 with an authenticator code: accepted once per time step, then a session.

    A code of a step already used (the person signed out and in again within 30 seconds)
    is no guess: it is answered as such and costs no attempt. Only a code of a used step
    gets that answer, and such a code can never be used again, so it tells a guesser nothing.
    """
    code = totp.normalize_code(raw_code)
    unused_attempts = svc.settings.pending_signin_attempts - pending.attempts
    if code is None:
        return Outcome(Status.FORMAT, attempts_left=unused_attempts)
    user = await pending_account(svc, pending)
    if isinstance(user, Outcome):
        return user
    try:
        secret = open_secret(svc, user)
    except SealError as exc:
        secret_unreadable(user, exc)
        return Outcome(Status.MISCONFIGURED, attempts_left=unused_attempts)
    step = totp.matched_step(secret, code, svc.clock())
    if replayed(user, step):
        return Outcome(Status.REUSED, attempts_left=unused_attempts)
    left = await claim_second_factor_attempt(svc, pending, client, "totp")
    if isinstance(left, Outcome):
        return left
    if step is None:
        return await _failed(svc, user, left, client, "signin.failed_code", "totp")
    if not await store.advance_totp_step(svc.db, user.id, step):  # a parallel request used it first
        return Outcome(Status.REUSED, attempts_left=left) if left > 0 else Outcome(Status.EXHAUSTED)
    return await finish_second_factor(svc, pending, user, client)


async def complete_with_backup_code(
    svc: Services, pending: store.PendingSignin, raw_code: str, client: Client
) -> Outcome:
    """Step 2 with the backup code: signs in and turns 2FA off; one use wins."""
    code = backup_codes.normalize(raw_code)
    attempt = await _attempt(svc, pending, code, client, "backup_code")
    if isinstance(attempt, Outcome):
        return attempt
    user, left, code = attempt
    seen_hash = user.backup_code_hash
    ticket = hashing.ticket(client, username_key(user.username))
    try:
        ok, _ = await hashing.verify(svc, ticket, seen_hash, code)
    except hashing.Busy as busy:
        return Outcome(Status.BUSY, wait=await hashing.paced(svc, ticket, busy), attempts_left=left)
    token, session = _new_session(svc, user, client, "card.backup_used")
    if (
        not ok
        or seen_hash is None
        or not await store.spend_backup_code(svc.db, user.id, seen_hash, pending.id, session)
    ):
        return await _failed(svc, user, left, client, "signin.failed_backup", "backup_code")
    await audit.record(svc, "2fa.backup_used", user=user, client=client, factor="backup_code")
    await policy.two_factor_turned_off(svc, user)
    await throttling.code_accepted(svc, user.id)
    return await _session_begun(svc, session, user, client, "backup_code", token)


async def finish_second_factor(
    svc: Services, pending: store.PendingSignin, user: store.User, client: Client, factor: str = "totp"
) -> Outcome:
    """Spend the pending sign-in (one caller wins) and begin the session its second factor paid for."""
    if not await store.consume_pending_signin(svc.db, pending.id):
        return Outcome(Status.EXPIRED)
    return await _session_after_second_factor(svc, user, client, factor)


async def _session_after_second_factor(svc: Services, user: store.User, client: Client, factor: str) -> Outcome:
    await throttling.code_accepted(svc, user.id)
    return await begin_session(svc, user, client, factor=factor)


async def cancel_second_factor(svc: Services, pending: store.PendingSignin) -> None:
    """Drop a half-finished sign-in."""
    await store.consume_pending_signin(svc.db, pending.id)

"""One function per two-factor action of the Security card and the Enable dialog."""

import dataclasses
import logging
from dataclasses import dataclass

from markupsafe import Markup

from server import audit, store
from server.auth import backup_codes, totp
from server.auth.crypto import SEALED_PREFIX_LENGTH, SealError, key_id_of
from server.auth.qr import qr_svg
from server.auth.tokens import new_public_id
from server.flows import hashing, known_devices, policy, throttling
from server.flows.account import username_key
from server.flows.outcomes import Outcome, Status
from server.messages import message
from server.services import Client, Services

logger = logging.getLogger("mirox")


@dataclass(frozen=True)
class EnrollmentView:
    """What the three steps of the Enable dialog show."""

    id: str
    secret: str
    secret_grouped: str
    uri: str
    qr: Markup
    backup_code: str
    continued: bool = False
    """Enable reopened this session's pending setup: the same secret as before."""
    replaced: bool = False
    """A new secret replaced an earlier setup: any Mirox entry added from it is dead."""


def _secret_context(user_id: int) -> str:
    return f"totp:user:{user_id}"


def open_secret(svc: Services, user: store.User) -> str:
    """The user's TOTP secret, decrypted; raises SealError if it cannot be."""
    if user.totp_secret_sealed is None:
        raise SealError("two-factor authentication is off")
    return svc.keyring.open(user.totp_secret_sealed, _secret_context(user.id))


def secret_unreadable(user: store.User, exc: SealError) -> None:
    """Log, loudly, a secret this server cannot open: the operator's problem, never the user's failure."""
    kid = key_id_of(user.totp_secret_sealed or "")
    logger.error(
        "Cannot decrypt the TOTP secret of account %s (sealed with key id %s): %s. "
        "Every process needs that key in MIROX_TOTP_KEYS (or the key file); the user cannot sign in with a code.",
        user.id,
        kid,
        exc,
    )


async def missing_key_ids(svc: Services) -> list[str]:
    """Ids of keys that sealed stored TOTP secrets but that this server does not have."""
    prefixes = await store.sealed_secret_prefixes(svc.db, SEALED_PREFIX_LENGTH)
    ids = {key_id_of(prefix) for prefix in prefixes}
    return sorted(kid for kid in ids if kid is not None and not svc.keyring.has_key(kid))


def replayed(user: store.User, step: int | None) -> bool:
    """Whether ``step`` was already used on this account (or a later one was): a replay, not a guess."""
    return step is not None and user.totp_last_step is not None and step <= user.totp_last_step


async def _event(svc: Services, user: store.User, kind: str, client: Client, outcome: str = "success") -> None:
    await audit.record(svc, kind, user=user, client=client, outcome=outcome, factor="totp")


# ---- the Enable dialog -------------------------------------------------------------------


async def start_enrollment(svc: Services, user: store.User, session: store.Session) -> EnrollmentView | None:
    """Enable: this session's pending setup if it is still valid (Continue setup), else a fresh
    secret and backup code held server-side; the account does not change yet."""
    if user.two_factor_on:
        return None
    now = svc.clock()
    enrollment_id = new_public_id()
    secret = totp.new_secret()
    code = backup_codes.new_code()
    kept, replaced = await store.start_enrollment(
        svc.db,
        store.Enrollment(
            id=enrollment_id,
            user_id=user.id,
            session_id=session.id,
            secret_sealed=svc.keyring.seal(secret, f"enroll-secret:{user.id}:{enrollment_id}"),
            backup_code_sealed=svc.keyring.seal(code, f"enroll-backup:{user.id}:{enrollment_id}"),
            expires_at=now + svc.settings.enrollment_ttl,
        ),
        now,
    )
    if kept.id != enrollment_id:
        view = await load_enrollment(svc, kept.id, user, session)
        return None if view is None else dataclasses.replace(view, continued=True)
    return dataclasses.replace(_view(svc, user, enrollment_id, secret, code), replaced=replaced)


async def setup_enrollment(svc: Services, user: store.User, session: store.Session) -> EnrollmentView | None:
    """The Enable dialog of the setup page: this session's pending enrollment, else a new one.

    Reloading the page shows the same QR code (a new secret each time would strand an app that
    scanned the previous one).
    """
    if user.two_factor_on:
        return None
    pending = await store.session_enrollment(svc.db, user.id, session.id, svc.clock())
    if pending is not None and (view := await load_enrollment(svc, pending.id, user, session)) is not None:
        return view
    return await start_enrollment(svc, user, session)


def _view(svc: Services, user: store.User, enrollment_id: str, secret: str, code: str) -> EnrollmentView:
    uri = totp.provisioning_uri(secret, user.username, svc.settings.issuer)
    return EnrollmentView(
        id=enrollment_id,
        secret=secret,
        secret_grouped=totp.group_secret(secret),
        uri=uri,
        qr=Markup(qr_svg(uri, title=message("enroll.qr_title", issuer=svc.settings.issuer))),
        backup_code=backup_codes.display(code),
    )


async def load_enrollment(
    svc: Services, enrollment_id: str, user: store.User, session: store.Session
) -> EnrollmentView | None:
    """The pending enrollment of this user and session, if it has not expired or been replaced."""
    enrollment = await store.get_enrollment(svc.db, enrollment_id, user.id, session.id, svc.clock())
    if enrollment is None or user.two_factor_on:
        return None
    try:
        secret = svc.keyring.open(enrollment.secret_sealed, f"enroll-secret:{user.id}:{enrollment.id}")
        code = svc.keyring.open(enrollment.backup_code_sealed, f"enroll-backup:{user.id}:{enrollment.id}")
    except SealError:
        return None
    return _view(svc, user, enrollment.id, secret, code)


async def enrollment_backup_code(
    svc: Services, enrollment_id: str, user: store.User, session: store.Session
) -> str | None:
    """The backup code of this session's pending setup (step 2), to download or print."""
    view = await load_enrollment(svc, enrollment_id, user, session)
    return None if view is None else view.backup_code


async def confirm_enrollment(
    svc: Services, enrollment_id: str, user: store.User, session: store.Session, raw_code: str, client: Client
) -> Outcome:
    """Verify and Enable: only a code for the pending secret switches 2FA on."""
    if user.two_factor_on:
        return Outcome(Status.ALREADY_ON)
    view = await load_enrollment(svc, enrollment_id, user, session)
    if view is None:
        return Outcome(Status.EXPIRED)
    code = totp.normalize_code(raw_code)
    if code is None:
        return Outcome(Status.FORMAT)
    now = svc.clock()
    step = totp.matched_step(view.secret, code, now)
    if step is None:
        return Outcome(Status.INVALID)
    ticket = hashing.ticket(client, username_key(user.username))
    try:
        backup_hash = await hashing.hash_secret(svc, ticket, backup_codes.normalize(view.backup_code) or "")
    except hashing.Busy as busy:
        return Outcome(Status.BUSY, wait=await hashing.paced(svc, ticket, busy))
    enrollment = await store.get_enrollment(svc.db, enrollment_id, user.id, session.id, now)
    if enrollment is None:
        return Outcome(Status.EXPIRED)
    sealed = svc.keyring.seal(view.secret, _secret_context(user.id))
    if not await store.complete_enrollment(svc.db, enrollment, sealed, backup_hash, step, now):
        return Outcome(Status.EXPIRED)
    await throttling.code_accepted(svc, user.id)
    await _event(svc, user, "2fa.enabled", client)
    await policy.two_factor_turned_on(svc, user, client)
    return Outcome(Status.OK)


# ---- actions that need a current code ---------------------------------------------------


async def verify_current_code(
    svc: Services, user: store.User, raw_code: str, client: Client, *, consume: bool, failure_event: str
) -> Outcome:
    """Check a code against the account's secret, counting failures on the shared throttle.

    ``consume`` records the time step so the same code can never be used again; a code of a
    step already used is then refused as reused, without counting as a failure.
    """
    if not user.two_factor_on:
        return Outcome(Status.NOT_ON)
    code = totp.normalize_code(raw_code)
    if code is not None and not user.totp_on:  # 2FA with security keys only: no code is right
        return Outcome(Status.INVALID)
    if code is None:
        return Outcome(Status.FORMAT)
    now = svc.clock()
    try:
        secret = open_secret(svc, user)
    except SealError as exc:
        secret_unreadable(user, exc)
        return Outcome(Status.MISCONFIGURED)
    step = totp.matched_step(secret, code, now)
    if consume and replayed(user, step):
        return Outcome(Status.REUSED)
    wait = await throttling.claim_code_attempt(svc, user.id, now)
    if wait is not None:
        await audit.record(
            svc, "2fa.throttled", user=user, client=client, outcome="throttled", factor="totp", detail={"wait": wait}
        )
        return Outcome(Status.THROTTLED, wait=wait)
    if step is None:
        await _event(svc, user, failure_event, client, "failure")
        return Outcome(Status.INVALID)
    if consume and not await store.advance_totp_step(svc.db, user.id, step):
        return Outcome(Status.REUSED)
    await throttling.code_accepted(svc, user.id)
    return Outcome(Status.OK)


async def check_code(svc: Services, user: store.User, raw_code: str, client: Client) -> Outcome:
    """Check 2FA: a dry run; nothing on the account changes."""
    return await verify_current_code(svc, user, raw_code, client, consume=False, failure_event="2fa.check_failed")


async def rotate_backup_code(svc: Services, user: store.User, raw_code: str, client: Client) -> Outcome:
    """New Backup Codes: after a current code, a new backup code replaces the old one at once.

    Busy hashing is told before the code is checked, so the code is not spent in vain.
    """
    ticket = hashing.ticket(client, username_key(user.username))
    try:
        svc.hash_queue.check(ticket)
    except hashing.Busy as busy:
        return Outcome(Status.BUSY, wait=await hashing.paced(svc, ticket, busy))
    outcome = await verify_current_code(svc, user, raw_code, client, consume=True, failure_event="2fa.action_failed")
    if outcome.status is not Status.OK:
        return outcome
    return await issue_backup_code(svc, user, client)


async def issue_backup_code(svc: Services, user: store.User, client: Client) -> Outcome:
    """A new backup code replaces the old one at once (after a second factor the caller checked)."""
    code = backup_codes.new_code()
    ticket = hashing.ticket(client, username_key(user.username))
    try:
        new_hash = await hashing.hash_secret(svc, ticket, code)
    except hashing.Busy as busy:
        return Outcome(Status.BUSY, wait=await hashing.paced(svc, ticket, busy))
    if not await store.replace_backup_code(svc.db, user.id, user.backup_code_hash, new_hash):
        return Outcome(Status.NOT_ON)
    await _event(svc, user, "2fa.new_backup", client)
    return Outcome(Status.OK, backup_code=backup_codes.display(code))


async def disable(svc: Services, user: store.User, raw_code: str, client: Client) -> Outcome:
    """Disable: after a current code, the secret and backup code are deleted; never while the policy requires 2FA."""
    if (await policy.standing(svc, user)).required:
        return Outcome(Status.REQUIRED)
    outcome = await verify_current_code(svc, user, raw_code, client, consume=True, failure_event="2fa.action_failed")
    if outcome.status is not Status.OK:
        return outcome
    return await turn_off(svc, user, client)


async def turn_off(svc: Services, user: store.User, client: Client) -> Outcome:
    """The app, the security keys and the backup code are deleted (after a second factor the caller checked)."""
    if not await store.disable_two_factor(svc.db, user.id):
        return Outcome(Status.NOT_ON)
    await _event(svc, user, "2fa.disabled", client)
    return Outcome(Status.OK)


async def admin_reset(svc: Services, user: store.User) -> bool:
    """For an administrator: turn 2FA off for a user who lost phone and backup code.

    Under the policy the person gets a fresh grace period (``reset_grace_period``), so the
    reset does not confine them to the setup before they could sign in.
    """
    await store.cancel_enrollments(svc.db, user.id)
    changed = await store.disable_two_factor(svc.db, user.id)
    await audit.record(svc, "2fa.reset_by_admin", user=user, detail={"changed": changed})
    await known_devices.forget(svc, user)
    if changed:
        await policy.two_factor_turned_off(svc, user, fresh_grace=svc.settings.reset_grace_period)
    return changed


async def reseal_all(svc: Services) -> int:
    """Re-encrypt every stored TOTP secret with the current key (after adding a new key first)."""
    count = 0
    for user in await store.users_with_secrets(svc.db):
        old = user.totp_secret_sealed
        if old is None or not svc.keyring.needs_reseal(old):
            continue
        new = svc.keyring.seal(open_secret(svc, user), _secret_context(user.id))
        count += await store.replace_sealed_secret(svc.db, user.id, old, new)
    return count

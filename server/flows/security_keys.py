"""Security keys on the Profile page: list, add (the browser's ceremony), remove.

Adding and removing are sensitive: the route table asks for a recent password, and with 2FA
on these flows ask for a current second factor too (a code from the app, or one of the
account's keys). A key that turns 2FA on issues the backup code, as the Enable dialog does.
"""

import logging
from typing import Any

from server import audit, keys_store, store
from server.auth import backup_codes
from server.auth import security_keys as mechanism
from server.flows import hashing, policy
from server.flows.account import username_key
from server.flows.outcomes import Outcome, Status
from server.flows.two_factor import issue_backup_code, turn_off, verify_current_code
from server.services import Client, Services

logger = logging.getLogger("mirox")

NAME_LIMIT = 64
DEFAULT_NAME = "Security key"


def relying_party(svc: Services) -> mechanism.RelyingParty | None:
    """Who keys are registered to, from ``MIROX_PUBLIC_URL``; None when browsers would refuse keys there."""
    if mechanism.unavailable_reason(svc.settings.public_url) is not None:
        return None
    return mechanism.relying_party(svc.settings.public_url, svc.settings.issuer)


def unavailable_reason(svc: Services) -> str | None:
    """Why this server offers no keys ("unset" or "insecure"), or None."""
    return mechanism.unavailable_reason(svc.settings.public_url)


def session_binding(session: store.Session) -> str:
    return f"session:{session.id}"


async def keys_of(svc: Services, user: store.User) -> list[keys_store.SecurityKey]:
    return await keys_store.list_keys(svc.db, user.id)


async def _event(
    svc: Services, kind: str, user: store.User, client: Client, outcome: str = "success", **detail: int | str
) -> None:
    await audit.record(svc, kind, user=user, client=client, outcome=outcome, factor="security_key", detail=detail)


async def issue(svc: Services, purpose: str, binding: str, user_id: int | None, handle: str | None = None) -> str:
    """A new challenge for one ceremony of ``purpose``, stored for whichever process finishes it."""
    now = svc.clock()
    challenge = mechanism.new_challenge()
    issued = keys_store.Challenge(challenge, user_id, handle)
    await keys_store.issue_challenge(svc.db, issued, purpose, binding, now, now + svc.settings.key_challenge_ttl)
    return challenge


async def confirm_options(svc: Services, user: store.User, session: store.Session) -> dict[str, Any] | None:
    """Options to confirm a key action with one of the account's keys (None without keys)."""
    rp = relying_party(svc)
    keys = await keys_of(svc, user)
    if rp is None or not keys:
        return None
    challenge = await issue(svc, "confirm", session_binding(session), user.id)
    return mechanism.authentication_options(rp, challenge, [k.credential_id for k in keys], user_verification=False)


async def add_options(svc: Services, user: store.User, session: store.Session) -> dict[str, Any] | Outcome:
    """Add security key: the creation options, and the confirmation options when 2FA is on with keys."""
    rp = relying_party(svc)
    if rp is None:
        return Outcome(Status.UNAVAILABLE)
    keys = await keys_of(svc, user)
    handle = keys[0].user_handle if keys else mechanism.new_user_handle()
    challenge = await issue(svc, "register", session_binding(session), user.id, handle)
    passkey = svc.settings.passkey_signin
    existing = [k.credential_id for k in keys]
    create = mechanism.registration_options(rp, challenge, handle, user.username, existing, passkey=passkey)
    return {"publicKey": create, "confirm": await confirm_options(svc, user, session)}


async def verify_key(
    svc: Services,
    payload: str,
    purpose: str,
    binding: str,
    client: Client,
    *,
    user_verification: bool = False,
) -> keys_store.SecurityKey | Outcome:
    """An assertion for a challenge issued to ``binding``: the key that made it (its counter moved on), or why not.

    The challenge is spent first, whatever follows: a response is never accepted twice. The
    key must belong to the account the challenge was issued for (any account for a passkey
    sign-in, then the user handle must match). A counter that did not move forward under a
    valid signature is a cloned key: recorded and refused.
    """
    assertion = mechanism.assertion_of(payload)
    if assertion is None:
        return Outcome(Status.FORMAT)
    now = svc.clock()
    spent = await keys_store.spend_challenge(svc.db, assertion.challenge, purpose, binding, now)
    if spent is None:
        return Outcome(Status.EXPIRED)
    key = await keys_store.key_by_credential(svc.db, assertion.credential_id)
    owner = None if key is None else await store.get_user(svc.db, key.user_id)
    wanted = spent.user_id
    if key is None or owner is None or (wanted is not None and key.user_id != wanted):
        return await _refused(svc, wanted, client)
    if wanted is None and assertion.user_handle != key.user_handle:
        return await _refused(svc, None, client)
    rp = relying_party(svc)
    signed = None
    if rp is not None:
        signed = mechanism.verify_assertion(
            rp, payload, spent.challenge, key.public_key, user_verification=user_verification
        )
    if signed is None:
        return await _refused(svc, owner.id, client)
    if mechanism.counter_regressed(key.sign_count, signed) or not await keys_store.record_use(
        svc.db, key.id, signed, now
    ):
        logger.warning(
            "Security key %s of account %s signed counter %s after %s: cloned?",
            key.id,
            owner.id,
            signed,
            key.sign_count,
        )
        await _event(
            svc, "key.counter_regressed", owner, client, "failure", key=key.name, stored=key.sign_count, signed=signed
        )
        return Outcome(Status.INVALID)
    return key


async def _refused(svc: Services, user_id: int | None, client: Client) -> Outcome:
    user = None if user_id is None else await store.get_user(svc.db, user_id)
    await audit.record(svc, "key.failed", user=user, client=client, outcome="failure", factor="security_key")
    return Outcome(Status.INVALID)


async def confirm(
    svc: Services, user: store.User, session: store.Session, code: str, assertion: str, client: Client
) -> Outcome:
    """A current second factor for a key action: a code from the app, or one of the account's keys."""
    if not user.two_factor_on:
        return Outcome(Status.OK)
    if code.strip() and user.totp_on:
        return await verify_current_code(svc, user, code, client, consume=True, failure_event="2fa.action_failed")
    if assertion:
        found = await verify_key(svc, assertion, "confirm", session_binding(session), client)
        return found if isinstance(found, Outcome) else Outcome(Status.OK)
    return Outcome(Status.FORMAT)


def _name(raw: str) -> str:
    name = " ".join(raw.split())[:NAME_LIMIT]
    return name or DEFAULT_NAME


async def add_key(
    svc: Services,
    user: store.User,
    session: store.Session,
    form: dict[str, str],
    client: Client,
) -> Outcome:
    """Store the key the browser just created (``form``: name, credential, and code or confirmation).

    With 2FA off, this key turns it on: the outcome carries the backup code to show once.
    """
    rp = relying_party(svc)
    if rp is None:
        return Outcome(Status.UNAVAILABLE)
    payload = form["credential"]
    challenge = mechanism.signed_challenge(payload)
    if challenge is None:
        return Outcome(Status.FORMAT)
    confirmed = await confirm(svc, user, session, form["code"], form["confirmation"], client)
    if confirmed.status is not Status.OK:
        return confirmed
    now = svc.clock()
    spent = await keys_store.spend_challenge(svc.db, challenge, "register", session_binding(session), now)
    if spent is None or spent.user_id != user.id or spent.user_handle is None:
        return Outcome(Status.EXPIRED)
    new = mechanism.verify_registration(rp, payload, spent.challenge, passkey=svc.settings.passkey_signin)
    if new is None:
        await _event(svc, "key.add_failed", user, client, "failure")
        return Outcome(Status.INVALID)
    first = not user.two_factor_on
    code = backup_codes.new_code() if first else None
    ticket = hashing.ticket(client, username_key(user.username))
    try:
        backup_hash = None if code is None else await hashing.hash_secret(svc, ticket, code)
    except hashing.Busy as busy:
        return Outcome(Status.BUSY, wait=await hashing.paced(svc, ticket, busy))
    name = _name(form["name"])
    key = keys_store.SecurityKey(
        0, user.id, new.credential_id, new.public_key, new.sign_count, name, spent.user_handle, now, None
    )
    if await keys_store.add_key(svc.db, user.id, key, now, backup_hash) is None:
        return Outcome(Status.ALREADY_ON if first else Status.INVALID)
    await _event(svc, "key.added", user, client, key=name)
    if code is not None:
        await audit.record(svc, "2fa.enabled", user=user, client=client, factor="security_key")
        await policy.two_factor_turned_on(svc, user, client)  # the policy counts a key as 2FA
    return Outcome(Status.OK, backup_code=None if code is None else backup_codes.display(code))


async def remove_key(
    svc: Services, user: store.User, session: store.Session, key_id: int, form: dict[str, str], client: Client
) -> Outcome:
    """Remove one key after a current second factor; the last key of an account without the app turns 2FA off."""
    keys = {k.id: k for k in await keys_of(svc, user)}
    if key_id not in keys:
        return Outcome(Status.NOT_ON)
    if len(keys) == 1 and not user.totp_on and (await policy.standing(svc, user)).required:
        return Outcome(Status.REQUIRED)  # the last factor: removing it would turn 2FA off
    confirmed = await confirm(svc, user, session, form["code"], form["confirmation"], client)
    if confirmed.status is not Status.OK:
        return confirmed
    if not await keys_store.remove_key(svc.db, user.id, key_id):
        return Outcome(Status.NOT_ON)
    await _event(svc, "key.removed", user, client, key=keys[key_id].name)
    if len(keys) == 1 and not user.totp_on:
        await audit.record(svc, "2fa.disabled", user=user, client=client, factor="security_key")
        await policy.two_factor_turned_off(svc, user)
    return Outcome(Status.OK)


async def confirmed_card_action(
    svc: Services, user: store.User, session: store.Session, action: str, assertion: str, client: Client
) -> Outcome:
    """Check 2FA, New Backup Codes or Disable confirmed by one of the account's keys instead of a code."""
    if action == "disable" and (await policy.standing(svc, user)).required:
        return Outcome(Status.REQUIRED)
    found = await verify_key(svc, assertion, "confirm", session_binding(session), client)
    if isinstance(found, Outcome):
        return found
    if action == "backup":
        return await issue_backup_code(svc, user, client)
    if action == "disable":
        return await turn_off(svc, user, client)
    return Outcome(Status.OK)

"""Sign-in with a security key: after the password, one touch instead of the 6-digit code.

The challenge is bound to the pending sign-in (its cookie), so only the browser that typed
the password can finish with it; a failed key answer counts as one of the pending sign-in's
attempts, like a wrong code.
"""

from dataclasses import dataclass
from typing import Any

from server import keys_store, store
from server.auth import security_keys as mechanism
from server.auth.tokens import token_hash
from server.flows import signin, throttling
from server.flows.outcomes import Outcome, Status
from server.flows.security_keys import issue, relying_party, verify_key
from server.services import Client, Services


@dataclass(frozen=True)
class SecondFactors:
    """What the two-factor screen offers this pending sign-in."""

    app: bool
    keys: bool


def binding(pending: store.PendingSignin) -> str:
    return f"pending:{pending.id}"


async def factors(svc: Services, pending: store.PendingSignin) -> SecondFactors:
    """The app's code when it is set up; "Use security key" when the account has a key and keys work here."""
    user = await store.get_user(svc.db, pending.user_id)
    if user is None:
        return SecondFactors(app=True, keys=False)
    keys = relying_party(svc) is not None and bool(await keys_store.list_keys(svc.db, user.id))
    return SecondFactors(app=user.totp_on or not keys, keys=keys)


async def options(svc: Services, pending: store.PendingSignin) -> dict[str, Any] | Outcome:
    """Use security key: the request options for the account's keys."""
    rp = relying_party(svc)
    if rp is None:
        return Outcome(Status.UNAVAILABLE)
    keys = await keys_store.list_keys(svc.db, pending.user_id)
    if not keys:
        return Outcome(Status.NOT_ON)
    challenge = await issue(svc, "signin", binding(pending), pending.user_id)
    allowed = [k.credential_id for k in keys]
    return {"publicKey": mechanism.authentication_options(rp, challenge, allowed, user_verification=False)}


async def complete_with_key(svc: Services, pending: store.PendingSignin, payload: str, client: Client) -> Outcome:
    """Step 2 with a security key: a valid assertion by one of the account's keys, then a session."""
    unused = svc.settings.pending_signin_attempts - pending.attempts
    if mechanism.assertion_of(payload) is None:
        return Outcome(Status.FORMAT, attempts_left=unused)
    user = await signin.pending_account(svc, pending)
    if isinstance(user, Outcome):
        return user
    left = await signin.claim_second_factor_attempt(svc, pending, client, "security_key")
    if isinstance(left, Outcome):
        return left
    found = await verify_key(svc, payload, "signin", binding(pending), client)
    if isinstance(found, Outcome):
        if found.status is Status.EXPIRED:
            return Outcome(Status.EXPIRED) if left <= 0 else Outcome(Status.INVALID, attempts_left=left)
        return Outcome(Status.INVALID, attempts_left=left) if left > 0 else Outcome(Status.EXHAUSTED)
    return await signin.finish_second_factor(svc, pending, user, client, "security_key")


# ---- passkey sign-in (MIROX_PASSKEY_SIGNIN) ---------------------------------------------------


def passkeys_offered(svc: Services) -> bool:
    """Whether the sign-in page offers "Sign in with a security key" (the setting, and keys work here)."""
    return svc.settings.passkey_signin and relying_party(svc) is not None


def browser_binding(browser: str) -> str:
    """A passkey ceremony belongs to the browser that asked (its CSRF cookie, hashed)."""
    return f"browser:{token_hash(browser)}"


async def passkey_options(svc: Services, browser: str) -> dict[str, Any] | Outcome:
    """Sign in with a security key: any discoverable key of this server, with its PIN (user verification)."""
    rp = relying_party(svc)
    if rp is None or not svc.settings.passkey_signin or not browser:
        return Outcome(Status.UNAVAILABLE)
    challenge = await issue(svc, "passkey", browser_binding(browser), None)
    return {"publicKey": mechanism.authentication_options(rp, challenge, [], user_verification=True)}


async def complete_with_passkey(svc: Services, browser: str, payload: str, client: Client) -> Outcome:
    """Password and code in one: a verified key (PIN included) of an enabled account starts a session.

    Every well-formed answer counts on the address's sign-in counter before its signature is
    checked (one counter with passwords); a success forgives its own attempt.
    """
    if not passkeys_offered(svc) or not browser:
        return Outcome(Status.UNAVAILABLE)
    if mechanism.assertion_of(payload) is None:
        return Outcome(Status.FORMAT)
    refused = await throttling.claim_passkey_attempt(svc, client, svc.clock())
    if refused is not None:
        return refused
    found = await verify_key(svc, payload, "passkey", browser_binding(browser), client, user_verification=True)
    if isinstance(found, Outcome):
        return found
    user = await store.get_user(svc.db, found.user_id)
    if user is None or user.disabled_at is not None or not user.two_factor_on:
        return Outcome(Status.INVALID)
    await throttling.passkey_accepted(svc, client)
    return await signin.begin_session(svc, user, client, factor="passkey")

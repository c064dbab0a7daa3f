"""Every failure counter of the app: its key, its policy, and claiming and settling attempts.

Passwords count per account and per address (sign-in and the password prompt alike); passkey
sign-ins count on the same address counter; codes and key answers at the two-factor step
(at sign-in and on the Security card) count per account. An attempt is claimed before it is
checked, so parallel guesses cannot slip past a limit.
"""

from server import audit, store
from server.auth.throttle import Policy, address_bucket, wait_seconds
from server.flows.outcomes import Outcome, Status
from server.services import Client, Services
from server.store import User

Counter = tuple[str, Policy]
ThrottleKeys = tuple[Counter, Counter]
DEVICE_KEY = "password:device:{}"
"""The password counter of a remembered browser, by its device id."""


def password_policies(svc: Services) -> tuple[Policy, Policy]:
    """Per-account and per-address growing delays for failed passwords."""
    s = svc.settings
    return (
        Policy(s.password_free_attempts, s.throttle_base_delay, s.password_max_delay),
        Policy(s.password_free_attempts * 4, s.throttle_base_delay, s.address_max_delay),
    )


def password_keys(svc: Services, username_key: str, client: Client, device_id: int | None = None) -> ThrottleKeys:
    """The address and the account counter of a password attempt (sign-in and password prompt alike).

    A known browser (``device_id``, see ``known_devices``) counts on a counter of its own in
    place of the account's, with the account's policy: a guesser re-arming the account's
    delays does not close the password step to the owner's browser.

    Case folding can triple a 64-character name ("ﬃ" is "ffi"), past what the counter's key
    holds; no account has a key over 64 characters, so such a name counts as its first 64.
    """
    account_policy = password_policies(svc)[0]
    account_key = f"password:account:{username_key[:64]}" if device_id is None else DEVICE_KEY.format(device_id)
    return address_counter(svc, client), (account_key, account_policy)


def address_counter(svc: Services, client: Client) -> Counter:
    """The one counter of failed sign-ins from the client's network: passwords and passkeys alike.

    One counter, so a guesser cannot double an address's guesses by switching between the two.
    """
    return f"password:address:{address_bucket(client.ip)}", password_policies(svc)[1]


async def claim_attempt(
    svc: Services,
    keys: tuple[Counter, ...],
    now: float,
    *,
    event: str,
    user: User | None,
    client: Client,
    factor: str = "password",
) -> Outcome | None:
    """Count the attempt on each counter (the address's first): None when it may go ahead, else the refusal with its wait.

    A refusal by the address counter says so (``ADDRESS_THROTTLED``): everyone behind one NAT or
    terminal server shares it, so its message must not blame the person's own account. A refusal
    is recorded as audit ``event`` (sign-in, the password prompt and passkey sign-in alike).
    """
    for index, (throttle_key, policy) in enumerate(keys):
        blocked_until = await store.claim_attempt(svc.db, throttle_key, now, policy)
        if blocked_until is not None:
            status = Status.ADDRESS_THROTTLED if index == 0 else Status.THROTTLED
            refused = Outcome(status, wait=wait_seconds(blocked_until, now))
            await audit.record(
                svc,
                event,
                user=user,
                client=client,
                outcome="throttled",
                factor=factor,
                detail={"wait": refused.wait},
            )
            return refused
    return None


async def password_accepted(svc: Services, keys: ThrottleKeys) -> None:
    """Reset the account's counter; forgive the address only the attempts made on this account.

    Clearing the address counter as well would let anyone with an account of their own wipe
    the failures of guessing at other accounts with a successful sign-in of their own.
    """
    (address_key, _), (account_key, _) = keys
    await store.settle_attempts(svc.db, account_key, address_key)


async def claim_passkey_attempt(svc: Services, client: Client, now: float) -> Outcome | None:
    """Count a passkey answer on its address before any signature is checked (None: it may go ahead)."""
    counter = address_counter(svc, client)
    return await claim_attempt(
        svc, (counter,), now, event="signin.throttled", user=None, client=client, factor="passkey"
    )


async def passkey_accepted(svc: Services, client: Client) -> None:
    """Forgive the address this sign-in's own attempt, and only it (a shared workstation's passkeys never add up)."""
    await store.forgive_attempts(svc.db, address_counter(svc, client)[0], 1)


SECOND_FACTOR_KEY = "second-factor:user:{}"


def second_factor_policy(svc: Services) -> Policy:
    s = svc.settings
    return Policy(s.second_factor_free_attempts, s.throttle_base_delay, s.second_factor_max_delay)


async def claim_code_attempt(svc: Services, user_id: int, now: float) -> int | None:
    """Count a code attempt on the account: None when it may go ahead, else the seconds to wait."""
    blocked_until = await store.claim_attempt(svc.db, SECOND_FACTOR_KEY.format(user_id), now, second_factor_policy(svc))
    return None if blocked_until is None else wait_seconds(blocked_until, now)


async def code_accepted(svc: Services, user_id: int) -> None:
    """A right code (or Enable, or the backup code) resets the account's code counter."""
    await store.clear_attempts(svc.db, SECOND_FACTOR_KEY.format(user_id))

"""Change password, by the person on the Profile page.

The current password is asked in the form itself: that is the fresh re-authentication of
this sensitive action, counted on the sign-in throttles. Afterwards every other session and
pending sign-in of the account ends, and the change is recorded (a notice on other browsers).
"""

import enum
import functools
from dataclasses import dataclass
from pathlib import Path

from server import audit, audit_store, store
from server.flows import hashing, known_devices, outcomes
from server.flows.account import MIN_PASSWORD, reauthenticate, username_key
from server.services import Client, Services

COMMON_PASSWORDS = Path(__file__).resolve().parent.parent / "data" / "common-passwords.txt"
MAX_PASSWORD = 1024


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of very common passwords, case-folded."""
    lines = COMMON_PASSWORDS.read_text(encoding="utf-8").splitlines()
    return frozenset(line.casefold() for line in lines if line and not line.startswith("#"))


def new_password_problem(username: str, password: str, confirm: str) -> str | None:
    """The message key of what is wrong with a new password, if anything."""
    if len(password) < MIN_PASSWORD:
        return "setup.password_short"
    if len(password) > MAX_PASSWORD:
        return "password.too_long"
    if password != confirm:
        return "setup.password_mismatch"
    if username_key(password) == username_key(username):
        return "password.is_username"
    if password.casefold() in common_passwords():
        return "password.common"
    return None


class Status(enum.Enum):
    CHANGED = "changed"
    WRONG_CURRENT = "wrong_current"
    THROTTLED = "throttled"
    REFUSED = "refused"
    BUSY = "busy"


CHECK_REFUSALS = {
    outcomes.Status.INVALID: (Status.WRONG_CURRENT, "password.current_wrong"),
    outcomes.Status.THROTTLED: (Status.THROTTLED, "signin.throttled"),
    outcomes.Status.ADDRESS_THROTTLED: (Status.THROTTLED, "signin.throttled_address"),
    outcomes.Status.BUSY: (Status.BUSY, "signin.busy"),
}
"""How a refused check of the current password reads: wrong, refused by the account's counter
or by the address's, or hashing busy."""


@dataclass(frozen=True)
class Outcome:
    status: Status
    problem: str | None = None
    wait: int = 0
    sessions_ended: int = 0


async def change_password(
    svc: Services,
    user: store.User,
    session: store.Session,
    current: str,
    new: str,
    confirm: str,
    client: Client,
) -> Outcome:
    """Check the current password (throttled like sign-in), then the new one; store it and end the other sessions."""
    checked = await reauthenticate(svc, user, session, current, client)
    if checked.status in CHECK_REFUSALS:
        status, reason = CHECK_REFUSALS[checked.status]
        return Outcome(status, reason, wait=checked.wait)
    problem = new_password_problem(user.username, new, confirm)
    if problem:
        return Outcome(Status.REFUSED, problem)
    ticket = hashing.ticket(client, username_key(user.username))
    try:
        new_hash = await hashing.hash_secret(svc, ticket, new)
    except hashing.Busy as busy:
        return Outcome(Status.BUSY, "signin.busy", wait=await hashing.paced(svc, ticket, busy))
    await store.set_password_hash(svc.db, user.id, new_hash)
    ended = await audit_store.end_other_signins(svc.db, user.id, session.id)
    await known_devices.forget(svc, user, client)
    await audit.record(
        svc, "password.changed", user=user, client=client, factor="password", detail={"sessions_ended": ended}
    )
    return Outcome(Status.CHANGED, sessions_ended=ended)

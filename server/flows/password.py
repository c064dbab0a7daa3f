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
from server.flows import outcomes
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


THROTTLED_MESSAGES = {
    outcomes.Status.THROTTLED: "signin.throttled",
    outcomes.Status.ADDRESS_THROTTLED: "signin.throttled_address",
}
"""The message of a current password refused by the account's counter or by the address's."""


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
    ok, refused = await reauthenticate(svc, user, session, current, client)
    if refused is not None:
        return Outcome(Status.THROTTLED, THROTTLED_MESSAGES[refused.status], wait=refused.wait)
    if not ok:
        return Outcome(Status.WRONG_CURRENT, "password.current_wrong")
    problem = new_password_problem(user.username, new, confirm)
    if problem:
        return Outcome(Status.REFUSED, problem)
    await store.set_password_hash(svc.db, user.id, await svc.hasher.hash(new))
    ended = await audit_store.end_other_signins(svc.db, user.id, session.id)
    await audit.record(
        svc, "password.changed", user=user, client=client, factor="password", detail={"sessions_ended": ended}
    )
    return Outcome(Status.CHANGED, sessions_ended=ended)

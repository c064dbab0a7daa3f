"""What a flow decided: one vocabulary for every flow, read by the handlers."""

import enum
from dataclasses import dataclass

from server import store


class Status(enum.Enum):
    OK = "ok"
    NEEDS_SECOND_FACTOR = "needs_second_factor"
    FORMAT = "format"
    INVALID = "invalid"
    REUSED = "reused"
    THROTTLED = "throttled"
    ADDRESS_THROTTLED = "address_throttled"
    EXPIRED = "expired"
    EXHAUSTED = "exhausted"
    ALREADY_ON = "already_on"
    NOT_ON = "not_on"
    MISCONFIGURED = "misconfigured"
    REQUIRED = "required"  # the two-factor policy forbids it (Disable)
    BUSY = "busy"
    OUTSIDE_GROUP = "outside_group"  # forward auth: signed in, but in none of the groups the app needs
    SETUP_OVERDUE = "setup_overdue"  # forward auth: the 2FA policy's deadline has passed without 2FA


@dataclass(frozen=True)
class Outcome:
    """A status and what the next step needs: the user and session token of a sign-in, the seconds
    to wait when throttled or busy, the attempts left of a pending sign-in, a new backup code to show once,
    a new device cookie for the browser that just completed a sign-in, and the account's groups."""

    status: Status
    user: store.User | None = None
    token: str | None = None
    wait: int = 0
    attempts_left: int = 0
    backup_code: str | None = None
    device_cookie: str | None = None
    groups: tuple[str, ...] = ()

"""The two-factor policy's rules: whom it covers, their deadline, and where an account stands (``now`` passed in)."""

import enum
from dataclasses import dataclass

DAY = 24 * 60 * 60.0
DEFAULT_GRACE_DAYS = 7.0
"""The grace period when ``policy require-2fa`` names none: a week, so nobody is locked out overnight."""


class Scope(enum.Enum):
    """Whom 2FA is required of."""

    NOBODY = "nobody"
    EVERYONE = "everyone"
    GROUPS = "groups"


@dataclass(frozen=True)
class Policy:
    """The policy as the administrator set it: whom, and the grace period (a fixed end, or days from reaching)."""

    scope: Scope
    grace_days: float | None = None
    grace_until: float | None = None

    def covers(self, *, in_listed_group: bool) -> bool:
        """Whether it requires 2FA of an account (``in_listed_group``: a member of a group it names)."""
        return self.scope is Scope.EVERYONE or (self.scope is Scope.GROUPS and in_listed_group)

    def deadline(self, reached_at: float) -> float:
        """When the grace period of an account the policy reached at ``reached_at`` ends."""
        if self.grace_until is not None:
            return self.grace_until
        days = DEFAULT_GRACE_DAYS if self.grace_days is None else self.grace_days
        return reached_at + days * DAY


NO_POLICY = Policy(Scope.NOBODY)


class Requirement(enum.Enum):
    """Where an account stands with the policy."""

    NOT_REQUIRED = "not_required"
    MET = "met"  # required, and 2FA is on
    DUE = "due"  # required, off, the grace period still running: a banner on every page
    OVERDUE = "overdue"  # required, off, past the deadline: only the setup answers


@dataclass(frozen=True)
class Standing:
    """An account's requirement and, while 2FA is required, its deadline."""

    requirement: Requirement
    deadline: float | None = None

    @property
    def required(self) -> bool:
        """2FA is required of this account (Disable is refused)."""
        return self.requirement is not Requirement.NOT_REQUIRED

    @property
    def confined(self) -> bool:
        """The account may reach only the setup of 2FA, sign-out and the help text."""
        return self.requirement is Requirement.OVERDUE


NOT_REQUIRED = Standing(Requirement.NOT_REQUIRED)


def standing(
    policy: Policy,
    *,
    covered: bool,
    has_two_factor: bool,
    reached_at: float,
    extended_until: float | None,
    now: float,
) -> Standing:
    """Where an account stands at ``now``.

    The deadline is the policy's (read now, so a changed grace period applies at once) or the
    later one an administrator's reset gave (``extended_until``), whichever is later. At the
    deadline itself the account is overdue.
    """
    if not covered:
        return NOT_REQUIRED
    deadline = policy.deadline(reached_at)
    if extended_until is not None:
        deadline = max(deadline, extended_until)
    if has_two_factor:
        return Standing(Requirement.MET, deadline)
    return Standing(Requirement.DUE if now < deadline else Requirement.OVERDUE, deadline)

"""The two-factor policy's rules: whom it covers, the deadline, and an account's standing at a moment."""

import pytest

from server.auth.policy import DAY, DEFAULT_GRACE_DAYS, NO_POLICY, Policy, Requirement, Scope, standing

REACHED = 1_800_000_000.0


def stand(policy: Policy, now: float, *, covered: bool = True, on: bool = False, extended: float | None = None):
    return standing(policy, covered=covered, has_two_factor=on, reached_at=REACHED, extended_until=extended, now=now)


@pytest.mark.parametrize(
    ("scope", "in_group", "covered"),
    [
        (Scope.NOBODY, True, False),
        (Scope.EVERYONE, False, True),
        (Scope.GROUPS, True, True),
        (Scope.GROUPS, False, False),
    ],
)
def test_whom_the_policy_covers(scope, in_group, covered):
    """Nobody, everyone, or the members of the groups it names."""
    assert Policy(scope).covers(in_listed_group=in_group) is covered


def test_not_covered_is_not_required():
    """An account the policy does not cover is not required to use 2FA, whatever else holds."""
    result = stand(Policy(Scope.EVERYONE, grace_days=0), REACHED + 10 * DAY, covered=False)
    assert result.requirement is Requirement.NOT_REQUIRED and not result.required and not result.confined
    assert stand(NO_POLICY, REACHED, covered=False).deadline is None


def test_grace_days_count_from_when_the_policy_reached_the_account():
    """Due until reached + N days, overdue from that moment on."""
    policy = Policy(Scope.EVERYONE, grace_days=7)
    due = stand(policy, REACHED + 7 * DAY - 1)
    assert due.requirement is Requirement.DUE and due.deadline == REACHED + 7 * DAY and not due.confined
    overdue = stand(policy, REACHED + 7 * DAY)
    assert overdue.requirement is Requirement.OVERDUE and overdue.confined


def test_a_fixed_date_wins_over_when_it_was_reached():
    """With a fixed end, the deadline is that date for everyone."""
    policy = Policy(Scope.GROUPS, grace_until=REACHED + 3 * DAY)
    assert stand(policy, REACHED).deadline == REACHED + 3 * DAY


def test_default_grace_period():
    """A policy that names no grace period gives the default number of days."""
    assert stand(Policy(Scope.EVERYONE), REACHED).deadline == REACHED + DEFAULT_GRACE_DAYS * DAY


def test_zero_days_is_overdue_at_once():
    """``--grace-days 0`` confines the account from the moment the policy reaches it."""
    assert stand(Policy(Scope.EVERYONE, grace_days=0), REACHED).confined


def test_two_factor_on_meets_the_policy():
    """With 2FA on the account is required (Disable refused) but never confined, even after the deadline."""
    result = stand(Policy(Scope.EVERYONE, grace_days=0), REACHED + 100 * DAY, on=True)
    assert result.requirement is Requirement.MET and result.required and not result.confined


def test_an_administrators_reset_extends_a_passed_deadline():
    """A later deadline from a reset of 2FA wins over the policy's passed one; an earlier one does not shorten it."""
    policy = Policy(Scope.EVERYONE, grace_days=1)
    later = REACHED + 30 * DAY
    assert stand(policy, REACHED + 29 * DAY, extended=later).requirement is Requirement.DUE
    assert stand(policy, later, extended=later).requirement is Requirement.OVERDUE
    assert stand(policy, REACHED, extended=REACHED - DAY).deadline == REACHED + DAY

"""The two-factor policy as the rest of the app sees it: an account's standing, its groups, and the
moments the policy reaches an account, is met by it, and is lifted from it (each recorded).

``standing`` reads the policy on every call (one indexed read), so a change an administrator makes
applies at the next request in every server process; nothing is cached here.
"""

from server import audit, store, store_policy
from server.auth.policy import NOT_REQUIRED, Policy, Scope, Standing
from server.auth.policy import standing as standing_at
from server.services import Client, Services


def has_two_factor(user: store.User) -> bool:
    """Whether the account has a second factor the policy counts (an authenticator app today)."""
    return user.two_factor_on


def policy_of(row: store_policy.PolicyRow | store_policy.StandingRow) -> Policy:
    return Policy(Scope(row.scope), row.grace_days, row.grace_until)


async def standing(svc: Services, user: store.User, row: store_policy.StandingRow | None = None) -> Standing:
    """Where ``user`` stands with the policy now: not required, met, due by a deadline, or overdue.

    An account the policy covers but has not reached yet (it joined later than the last
    reconciliation, e.g. the first account created under an "everyone" policy) is reached now.
    ``row``: the standing's inputs when the caller read them already (forward auth reads them
    with the groups, in one statement).
    """
    row = row or await store_policy.standing_row(svc.db, user.id)
    policy = policy_of(row)
    if not policy.covers(in_listed_group=row.in_listed_group):
        return NOT_REQUIRED
    now = svc.clock()
    reached_at = row.reached_at
    if reached_at is None:
        await _reach(svc, user)
        reached_at = now
    return standing_at(
        policy,
        covered=True,
        has_two_factor=has_two_factor(user),
        reached_at=reached_at,
        extended_until=row.extended_until,
        now=now,
    )


async def setup_required(svc: Services, user: store.User) -> bool:
    """Whether the account, as it is now (2FA may have just gone off), must set up 2FA."""
    current = await store.get_user(svc.db, user.id) or user
    return not has_two_factor(current) and (await standing(svc, current)).required


async def groups_of(svc: Services, user: store.User) -> list[str]:
    """The names of the account's groups, sorted."""
    return (await store_policy.groups_by_user(svc.db, user.id)).get(user.id, [])


async def _reach(svc: Services, user: store.User) -> None:
    """The policy reaches an account now: recorded, and met at once when it has 2FA already."""
    on = has_two_factor(user)
    if await store_policy.start_state(svc.db, user.id, svc.clock(), met=on):
        await audit.record(svc, "policy.applied", user=user)
        if on:
            await audit.record(svc, "policy.met", user=user)


async def reconcile(svc: Services) -> tuple[int, int]:
    """After a change of the policy, of a group or of the accounts: reach every account the policy now
    covers and lift it from those it no longer does. Returns (reached, lifted)."""
    covered = await store_policy.covered_user_ids(svc.db)
    states = await store_policy.policy_states_of(svc.db)
    reached = lifted = 0
    for user_id in sorted(covered - states.keys()):
        user = await store.get_user(svc.db, user_id)
        if user is not None:
            await _reach(svc, user)
            reached += 1
    for user_id in sorted(states.keys() - covered):
        if await store_policy.end_state(svc.db, user_id):
            await audit.record(svc, "policy.lifted", user=await store.get_user(svc.db, user_id))
            lifted += 1
    return reached, lifted


async def two_factor_turned_on(svc: Services, user: store.User, client: Client) -> None:
    """2FA is on: a requirement the account was under is met (recorded once)."""
    if await store_policy.mark_met(svc.db, user.id, svc.clock()):
        await audit.record(svc, "policy.met", user=user, client=client)


async def two_factor_turned_off(svc: Services, user: store.User, *, fresh_grace: float | None = None) -> None:
    """2FA went off (backup code, administrator's reset): the requirement is open again, with a
    deadline no earlier than ``fresh_grace`` seconds from now when given."""
    until = None if fresh_grace is None else svc.clock() + fresh_grace
    await store_policy.mark_unmet(svc.db, user.id, until)

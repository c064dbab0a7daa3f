"""Forward auth: may this signed-in account use a protected app? (its groups, and the 2FA policy)."""

from server import store, store_forward_auth
from server.flows import policy
from server.flows.admin import group_key
from server.flows.outcomes import Outcome, Status
from server.services import Services


def wanted_groups(query: str) -> frozenset[str]:
    """The groups a protected app asks for (``?groups=a,b``: any one of them), compared case-insensitively."""
    return frozenset(group_key(name) for name in query.split(",") if name.strip())


async def decide(svc: Services, user: store.User, wanted: frozenset[str]) -> Outcome:
    """OK with the account's groups; SETUP_OVERDUE when the policy's deadline has passed without
    2FA; OUTSIDE_GROUP when the app asks for groups and the account is in none of them."""
    row, groups = await store_forward_auth.passport(svc.db, user.id)
    if (await policy.standing(svc, user, row)).confined:
        return Outcome(Status.SETUP_OVERDUE, user=user)
    if wanted and not wanted & {group_key(name) for name in groups}:
        return Outcome(Status.OUTSIDE_GROUP, user=user, groups=tuple(groups))
    return Outcome(Status.OK, user=user, groups=tuple(groups))

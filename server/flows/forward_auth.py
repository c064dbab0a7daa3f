"""Forward auth: may the browser with this session token use a protected app? (its session, its
groups, and the 2FA policy, from one read)."""

from server import store_forward_auth
from server.auth.tokens import token_hash
from server.flows import policy
from server.flows.admin import group_key
from server.flows.outcomes import Outcome, Status
from server.services import Services


def wanted_groups(query: str) -> frozenset[str]:
    """The groups a protected app asks for (``?groups=a,b``: any one of them), compared case-insensitively."""
    return frozenset(group_key(name) for name in query.split(",") if name.strip())


async def decide(svc: Services, token: str, wanted: frozenset[str]) -> Outcome:
    """INVALID without a live session; SETUP_OVERDUE when the policy's deadline has passed without
    2FA; OUTSIDE_GROUP when the app asks for groups and the account is in none of them; else OK
    with the account and its groups."""
    now = svc.clock()
    found = await store_forward_auth.passport(svc.db, token_hash(token), now, svc.settings.idle_timeout)
    if found is None:
        return Outcome(Status.INVALID)
    user = found.user
    if (await policy.standing(svc, user, found.standing)).confined:
        return Outcome(Status.SETUP_OVERDUE, user=user)
    if wanted and not wanted & {group_key(name) for name in found.groups}:
        return Outcome(Status.OUTSIDE_GROUP, user=user, groups=tuple(found.groups))
    return Outcome(Status.OK, user=user, groups=tuple(found.groups))

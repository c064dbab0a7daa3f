"""Forward auth: may the browser with this session token use a protected app? (its session, its
groups, and the 2FA policy, from one read)."""

from server import store_forward_auth
from server.auth.tokens import token_hash
from server.flows import policy
from server.flows.admin import group_key
from server.flows.outcomes import Outcome, Status
from server.services import Services


def redirect_wanted(value: str | None) -> bool | None:
    """``?redirect=``: absent, refusals are 401/403 for a proxy that turns them into redirects itself
    (nginx, Caddy); ``yes``, refusals are the redirect itself, for a proxy that hands them to the
    browser as they are (Traefik); None (bad input) for any other value."""
    return {None: False, "yes": True}.get(value)


def refusal_status(status: int, redirect: bool, method: str) -> int:
    """A refusal's status: ``status`` (401 or 403); with ``redirect``, 302 when the browser's request
    (``X-Forwarded-Method``) was a GET or HEAD, else 303, so that the browser follows with a GET."""
    if not redirect:
        return status
    return 302 if method.upper() in ("", "GET", "HEAD") else 303


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

"""What an administrator sees of the accounts (``user list``, ``user show``) and the account commands
that are not about passwords: enable, unlock, sign out everywhere. Each action is audited (actor admin)."""

from dataclasses import asdict, dataclass
from typing import Any

from server import audit, store, store_accounts, store_policy
from server.auth.policy import Scope
from server.flows import account, policy, throttling
from server.flows.account import username_key
from server.services import Services


@dataclass(frozen=True)
class AccountView:
    """One account as ``user list`` shows it."""

    username: str
    created_at: float
    groups: list[str]
    disabled_at: float | None
    two_factor: bool
    two_factor_since: float | None
    requirement: str  # not_required, met, due, overdue (server.auth.policy.Requirement)
    required_by: list[str]  # "everyone", or the groups named by the policy the account is in
    deadline: float | None
    last_signin: float | None
    locked_until: float | None
    live_sessions: int
    flagged_at: float | None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


async def _counter_keys(svc: Services, user: store.User) -> list[str]:
    """The failure counters of the account itself and of its remembered browsers (an address's
    counter is no one account's)."""
    devices = [throttling.DEVICE_KEY.format(device) for device in await store_accounts.device_ids(svc.db, user.id)]
    return [
        f"password:account:{username_key(user.username)[:64]}",
        throttling.SECOND_FACTOR_KEY.format(user.id),
        *devices,
    ]


async def overview(svc: Services, only: store.User | None = None) -> list[AccountView]:
    """Every account (or ``only`` one), sorted by name, with its groups, 2FA, the policy, activity and delays."""
    now = svc.clock()
    users = [only] if only is not None else await store.list_users(svc.db)
    groups = await store_policy.groups_by_user(svc.db, None if only is None else only.id)
    policy_row, policy_groups = await store_policy.get_policy(svc.db)
    listed = {name.casefold() for name in policy_groups}
    signins = await store_accounts.last_signins(svc.db)
    sessions = await store_accounts.live_session_counts(svc.db, now, svc.settings.idle_timeout)
    views = []
    for user in users:
        standing = await policy.standing(svc, user)
        mine = groups.get(user.id, [])
        required_by: list[str] = []
        if standing.required:
            everyone = policy_row.scope == Scope.EVERYONE.value
            required_by = ["everyone"] if everyone else [g for g in mine if g.casefold() in listed]
        blocked = await store_accounts.blocked_until(svc.db, await _counter_keys(svc, user), now)
        views.append(
            AccountView(
                username=user.username,
                created_at=user.created_at,
                groups=mine,
                disabled_at=user.disabled_at,
                two_factor=policy.has_two_factor(user),
                two_factor_since=user.totp_enabled_at,
                requirement=standing.requirement.value,
                required_by=required_by,
                deadline=standing.deadline,
                last_signin=signins.get(user.id),
                locked_until=max(blocked.values()) if blocked else None,
                live_sessions=sessions.get(user.id, 0),
                flagged_at=user.flagged_at,
            )
        )
    return views


async def add(svc: Services, name: str, password: str) -> str | None:
    """``user add``: create the account (recorded); under an "everyone" policy its grace period starts now.
    The message key of the problem, or None."""
    problem = await account.add_user(svc, name, password)
    user = await store.get_user_by_key(svc.db, username_key(name))
    if problem is None and user is not None:
        await audit.record(svc, "admin.user_add", user=user)
        await policy.standing(svc, user)
    return problem


async def enable(svc: Services, user: store.User) -> bool:
    """Enable a disabled account (the opposite of ``user disable``); False when it was not disabled."""
    changed = await store_accounts.enable_user(svc.db, user.id)
    if changed:
        await audit.record(svc, "admin.user_enable", user=user)
    return changed


async def unlock(svc: Services, user: store.User) -> int:
    """Clear the account's failed-attempt delays (passwords and codes); how many counters had failures."""
    cleared = await store_accounts.clear_counters(svc.db, await _counter_keys(svc, user))
    await audit.record(svc, "admin.user_unlock", user=user, detail={"cleared": cleared})
    return cleared


async def sign_out_everywhere(svc: Services, user: store.User) -> tuple[int, int]:
    """End every session and half-finished sign-in of the account: (sessions, pending sign-ins)."""
    ended, pending = await store_accounts.end_sessions(svc.db, user.id)
    await audit.record(svc, "admin.user_signout", user=user, detail={"sessions": ended, "pending": pending})
    return ended, pending


async def recent_activity(svc: Services, user: store.User, limit: int = 10) -> list[store.Event]:
    return await store.recent_events(svc.db, user.id, limit)
